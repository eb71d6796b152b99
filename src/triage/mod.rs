//! `triage`: OOM kills, abnormal exits, crashes and OpenClaw errors in kernel, container,
//! service-manager, runtime and CI logs.
//!
//! Inputs are read in parallel and streamed ([`scan`]); each yields events ([`event`]) from
//! the kernel report parser ([`kernel`]), the other rules ([`rules`]) or structured documents
//! ([`structured`]); [`correlate`] then deduplicates and links exits to OOM records. A failed
//! input is reported with what it yielded before the failure; it never stops the others.

pub mod correlate;
#[cfg(test)]
mod equivalence_tests;
pub mod event;
pub mod identify;
mod input;
pub mod kernel;
pub mod kmsg;
pub mod mapped;
pub mod normalize;
mod prefilter;
pub mod rules;
pub mod scan;
pub mod structured;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use serde::Serialize;

use event::{Event, Kind};

/// One input of a triage run.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file: plain, gzip or zstd (detected from its first bytes); a JSON document
    /// (`kubectl … -o json`, `docker inspect`) or journald JSON lines are recognised.
    File(PathBuf),
    /// A regular file the caller has opened and checked already (`report`'s logs, confined to
    /// their directory), read through that descriptor so the path cannot be swapped for a
    /// symlink between the check and the read; `path` is the name reports use.
    Opened {
        /// The name of the file in reports (where it was found).
        path: PathBuf,
        /// The open file, read from offset 0 (its offset is shared with the caller's).
        file: std::sync::Arc<std::fs::File>,
    },
    /// Standard input.
    Stdin,
    /// The kernel ring buffer through this device (normally `/dev/kmsg`), read without blocking.
    Dmesg(PathBuf),
    /// `journalctl -o json` (with `--since` when given).
    Journal,
}

impl Input {
    /// The name reports use for the input: its path, `<stdin>`, the kmsg device's path, or
    /// `journalctl`; control characters in a path (a log named `new\nline.log`) escaped, so
    /// that a message or evidence line citing it stays one line ([`crate::base::text::one_line`]).
    pub fn name(&self) -> String {
        use crate::base::text::one_line;
        match self {
            Input::File(p) | Input::Opened { path: p, .. } => one_line(&p.display().to_string()),
            Input::Stdin => "<stdin>".into(),
            Input::Dmesg(p) => one_line(&p.display().to_string()),
            Input::Journal => "journalctl".into(),
        }
    }
}

/// What to triage.
#[derive(Debug, Clone)]
pub struct Request {
    /// The inputs to read, in order (their events are merged and sorted by time).
    pub inputs: Vec<Input>,
    /// Drop events dated before this time (µs since the epoch). Events without a time are kept.
    pub since_us: Option<i64>,
    /// Name each event's workload from the node's files under this directory (`/` on the node,
    /// a copied tree): one [`crate::identity::Resolver`] for the run, read after the inputs.
    /// The files are read now, whatever machine the log came from: the events say so
    /// ([`event::IdentitySource`]). `None`: names only from the logs themselves.
    pub host_root: Option<PathBuf>,
}

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    /// The input's name (see [`Input::name`]).
    pub name: String,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// Lines read (for `/dev/kmsg`, records).
    pub lines: u64,
    /// Events found in this input.
    pub events: usize,
    /// Lines longer than 1 MiB, cut for searching.
    pub long_lines: u64,
    /// Why the input could not be read (fully); events found before the error are kept.
    pub error: Option<String>,
    /// False when nothing of the input could be read (missing, no permission, a directory):
    /// its zero counts are then no result, and no verdict is made about it.
    pub read: bool,
}

/// Counts over the events.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Events in the report (after `--since`).
    pub events: usize,
    /// Out-of-memory events ([`Kind::is_oom`]).
    pub oom: usize,
    /// Crashes: segfaults, SIGSEGV and SIGABRT exits ([`Kind::is_crash`]).
    pub crash: usize,
    /// Exits by SIGKILL with no OOM record that explains them.
    pub sigkill_cause_unknown: usize,
    /// Event count per kind, keyed by the kind's JSON name.
    pub by_kind: BTreeMap<&'static str, usize>,
    /// Events dropped by `--since`.
    pub before_since: usize,
    /// Events without a wall-clock time (kept by `--since`).
    pub without_time: usize,
    /// Inputs read (fully, or up to an error), whose events these are.
    pub inputs_read: usize,
    /// Inputs of which nothing could be read (see their `error`).
    pub inputs_not_read: usize,
}

/// The result of a triage run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The events, in time order; those without a wall-clock time follow, in input order.
    pub events: Vec<Event>,
    /// Counts over the events and inputs.
    pub summary: Summary,
    /// One entry per input, in the order given.
    pub inputs: Vec<InputSummary>,
    /// The host root whose files named the workloads (`"/"`: this machine's, read at the time of
    /// the run, not the log's); `None` when no node files were read.
    pub host_root: Option<String>,
    /// Show evidence lines in the table (`-v`).
    #[serde(skip)]
    pub verbose: bool,
}

impl InputSummary {
    /// Nothing read yet.
    fn new(name: &str) -> InputSummary {
        InputSummary {
            name: name.to_string(),
            bytes: 0,
            lines: 0,
            events: 0,
            long_lines: 0,
            error: None,
            read: true,
        }
    }

    /// An input that could not be read at all.
    fn failed(name: &str, error: String) -> InputSummary {
        InputSummary {
            error: Some(error),
            read: false,
            ..InputSummary::new(name)
        }
    }
}

impl Report {
    /// Inputs that failed, fully or part way: (name, one-line error).
    pub fn errors(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inputs
            .iter()
            .filter_map(|i| Some((i.name.as_str(), i.error.as_deref()?)))
    }

    /// True when there were inputs and not one of them could be read: there is no result, only
    /// errors.
    pub fn nothing_read(&self) -> bool {
        !self.inputs.is_empty() && self.inputs.iter().all(|i| !i.read)
    }
}

/// Run a triage: read every input (in parallel), then deduplicate, link and count.
///
/// Never fails as a whole: an input that cannot be read has its `error` set (and `read` false
/// when nothing of it was read), and the others are still read.
pub fn triage(req: &Request) -> Report {
    triage_with_progress(req, &AtomicU64::new(0))
}

/// [`triage`], adding every byte taken from the inputs (before decompression) to `bytes_read`
/// as it goes, from the reading threads, for a progress display.
pub fn triage_with_progress(req: &Request, bytes_read: &AtomicU64) -> Report {
    let results: Vec<(Vec<Event>, InputSummary)> = std::thread::scope(|s| {
        let handles: Vec<_> = req
            .inputs
            .iter()
            .map(|i| s.spawn(move || input::scan_input(i, req.since_us, bytes_read)))
            .collect();
        handles
            .into_iter()
            .zip(&req.inputs)
            .map(|(h, i)| {
                h.join().unwrap_or_else(|_| {
                    let name = i.name();
                    (
                        Vec::new(),
                        InputSummary::failed(
                            &name,
                            format!("{name}: internal error while reading (please report)"),
                        ),
                    )
                })
            })
            .collect()
    });
    let mut all = Vec::new();
    let mut inputs = Vec::new();
    let mut summary = Summary::default();
    for (ev, mut sum) in results {
        // Failed before the first byte (a directory, EIO on the first read): not read either.
        sum.read &= sum.error.is_none() || sum.bytes > 0;
        summary.inputs_read += usize::from(sum.read);
        summary.inputs_not_read += usize::from(!sum.read);
        // The first input's events are moved, not copied: a second buffer of 100k events
        // would double the peak.
        if all.is_empty() {
            all = ev;
        } else {
            all.extend(ev);
        }
        inputs.push(sum);
    }
    if let Some(cut) = req.since_us {
        let before = all.len();
        all.retain(|e| e.time_us.is_none_or(|t| t >= cut));
        summary.before_since = before - all.len();
    }
    let mut events = correlate::correlate(all);
    let mut resolver = req.host_root.as_deref().map(crate::identity::Resolver::new);
    for e in &mut events {
        identify::identify(e, resolver.as_mut());
    }
    summary.events = events.len();
    for e in &events {
        *summary.by_kind.entry(e.kind.as_str()).or_default() += 1;
        summary.oom += usize::from(e.kind.is_oom());
        summary.crash += usize::from(e.kind.is_crash());
        summary.sigkill_cause_unknown +=
            usize::from(e.kind == Kind::SigkillExit && e.cause == Some(event::Cause::Unknown));
        summary.without_time += usize::from(e.time_us.is_none());
    }
    Report {
        events,
        summary,
        inputs,
        host_root: req
            .host_root
            .as_ref()
            .map(|p| crate::base::text::one_line(&p.display().to_string())),
        verbose: false,
    }
}
