//! `clw-diag sample`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use clw_diag::analysis::pressure::{self as snapshot, Previous};
use clw_diag::base::duration::{self, DurationError};
use clw_diag::identity::Resolver;
use clw_diag::render::{self, Format};
use clw_diag::sample::snapshot::{ProcessSort, SampleRequest};

use super::{GlobalArgs, Output, PidArg};

pub const LONG_ABOUT: &str = "\
Snapshot of memory: the host (total, used, available, swap, PSI, OOM kills), every memory cgroup \
that has a limit (the containers and pods: usage, working set, limit, peak, OOM kills) and the \
top processes by RSS (with PSS and USS from smaps_rollup, oom_score_adj and memory cgroup).

Each cgroup and the host get a pressure state: warning when the working set (usage minus \
inactive file, as kubelet computes it) reaches 85% of the limit, when PSI 'some' is rising, or \
when OOM kills were recorded; critical at 95%, or when the OOM-kill counter rises between two \
samples of --watch.

Each cgroup is named by its workload (WORKLOAD: namespace/pod/container, compose \
project/service, docker:NAME, a systemd unit; the cgroup path where nothing names it), read \
from the node's own runtime and kubelet files under --host-root; JSON has the path and the \
whole identity. Pod sandbox and conmon cgroups are left out unless --all.

With --pid or --cgroup only those are shown (a pid brings its memory cgroup along; a cgroup \
brings the processes inside it).";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag sample
  clw-diag sample --top 20 --sort pss
  clw-diag sample --pid 1234 --pid 5678
  clw-diag sample --cgroup /kubepods/burstable/pod1234 --json
  clw-diag sample --cgroup shop/web-5d8f7c9b4-x2x9z/hog
  clw-diag sample --cgroup labproj/hogsvc --host-root /host
  clw-diag sample --watch 2s";

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Only this process (repeatable; 'self' is clw-diag itself).
    #[arg(long, value_name = "PID", value_parser = super::parse_pid)]
    pub pid: Vec<PidArg>,
    /// Only this memory cgroup and its processes: a path relative to the memory hierarchy
    /// (/kubepods/pod1, as /proc/PID/cgroup prints it) or absolute (/sys/fs/cgroup/...), or a
    /// workload: ns/pod[/container], project/service, a container name (docker:NAME), an ID
    /// prefix (6+ hex), a pod UID, a unit (e.g. shop/web-5d8f7c9b4-x2x9z/hog). Repeatable.
    #[arg(long, value_name = "PATH|NAME")]
    pub cgroup: Vec<String>,
    /// Show every process, not only the top N, and the pod sandbox and conmon cgroups.
    #[arg(long)]
    pub all: bool,
    /// How many processes to show.
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub top: usize,
    /// Rank processes by this figure (pss and uss read smaps_rollup of every process: slower).
    #[arg(long, value_enum, default_value_t = SortArg::Rss)]
    pub sort: SortArg,
    /// With --format csv, the table to write (one CSV is one table): the processes, the
    /// memory cgroups or the host.
    #[arg(long, value_enum, value_name = "TABLE", default_value_t = CsvTable::Processes)]
    pub table: CsvTable,
    /// Refresh every DURATION (500ms, 2s, 1m; a bare number is seconds; at least 100ms) until
    /// Ctrl-C; JSON output becomes JSON Lines.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub watch: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CsvTable {
    Processes,
    Cgroups,
    Host,
}

impl CsvTable {
    fn name(self) -> &'static str {
        match self {
            CsvTable::Processes => "processes",
            CsvTable::Cgroups => "cgroups",
            CsvTable::Host => "host",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    Rss,
    Pss,
    Uss,
    Swap,
}

/// `--watch` and `record -d`: a duration in the grammar of [`clw_diag::base::duration`]
/// (`250ms 30s 5m 1.5h 2d 1w`, a bare number is seconds), at least 100 ms, at most a year.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    duration::parse_within(s, Duration::from_millis(100), duration::YEAR)
}

/// Like [`parse_duration`], with at least 10 ms (recording intervals).
pub fn parse_interval(s: &str) -> Result<Duration, DurationError> {
    duration::parse_within(s, Duration::from_millis(10), duration::YEAR)
}

pub fn run(a: SampleArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let mut pids = Vec::new();
    for p in &a.pid {
        pids.push(p.resolve(&g.proc_root)?);
    }
    let req = SampleRequest {
        proc_root: g.proc_root.clone(),
        cgroup_root: g.cgroup_root.clone(),
        host_root: g.host_root.clone(),
        pids,
        cgroups: a.cgroup.clone(),
        all: a.all,
        top: a.top,
        sort: match a.sort {
            SortArg::Rss => ProcessSort::Rss,
            SortArg::Pss => ProcessSort::Pss,
            SortArg::Uss => ProcessSort::Uss,
            SortArg::Swap => ProcessSort::Swap,
        },
    };
    out.detail(&format!(
        "reading processes from {} and cgroups from {}",
        req.proc_root.display(),
        req.cgroup_root.display()
    ));
    let stdout = std::io::stdout();
    // One resolver for the run: across --watch ticks it keeps what it read until the files
    // change.
    let mut resolver = Resolver::new(&g.host_root);
    let Some(every) = a.watch else {
        let t0 = Instant::now();
        let snap = snapshot::take_with(&req, None, &mut resolver)?;
        out.detail(&format!(
            "sampled in {:.1} ms",
            t0.elapsed().as_secs_f64() * 1000.0
        ));
        identity_details(&snap, out);
        if out.format != Format::Table {
            snap.notes.iter().for_each(|n| out.note(n));
        }
        let mut w = std::io::BufWriter::new(stdout.lock());
        out.render(&snap, Some(a.table.name()), &mut w)?;
        w.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    let interrupted = super::signals::stop_flag(false)?;
    let clear = out.format == Format::Table && stdout.is_terminal();
    let mut prev: Option<Previous> = None;
    let mut first = true;
    while !interrupted.load(Ordering::SeqCst) {
        resolver.refresh();
        let snap = snapshot::take_with(&req, prev.as_ref(), &mut resolver)?;
        let mut w = std::io::BufWriter::new(stdout.lock());
        match out.format {
            Format::Json => render::render_json_line(&snap, &mut w)?,
            _ => {
                if clear {
                    write!(w, "\x1b[H\x1b[2J")?;
                } else if !first {
                    writeln!(w)?;
                }
                if out.format == Format::Table {
                    writeln!(w, "clw-diag sample, every {:?} (Ctrl-C to stop)\n", every)?;
                }
                out.render(&snap, Some(a.table.name()), &mut w)?;
            }
        }
        w.flush()?;
        drop(w);
        first = false;
        prev = Some(Previous::from_snapshot(&snap));
        let until = Instant::now() + every;
        while Instant::now() < until && !interrupted.load(Ordering::SeqCst) {
            std::thread::sleep(
                Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `-v`: each named cgroup's path and the files its name came from (or why it is unresolved).
fn identity_details(snap: &clw_diag::analysis::pressure::Snapshot, out: &Output) {
    for c in &snap.cgroups {
        let id = &c.identity;
        let Some(w) = id.workload() else { continue };
        let from = match (&id.unresolved, id.source.is_empty()) {
            (Some(why), _) => format!("unresolved: {why}"),
            (None, true) => "from the path".to_string(),
            (None, false) => format!(
                "from {}",
                id.source
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        out.detail(&clw_diag::base::text::one_line(&format!(
            "{w}: cgroup {}, {from}",
            id.cgroup
        )));
    }
}
