//! `clw-diag report`, also reached with the report flags and no subcommand (the runbook's
//! `clw-diag --worker-logs --cores=/tmp --since=1h > diag.txt`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use clw_diag::base::duration;
use clw_diag::base::output;
use clw_diag::render::{self, Format, Style};
use clw_diag::report::bundle::{Bundle, Limits, ENTRY_MAX};
use clw_diag::report::redact::{redact, redact_json};
use clw_diag::report::{Options, WORKER_LOG_GLOBS};

use super::{GlobalArgs, Output};

pub const LONG_ABOUT: &str = "\
One incident report, for pasting into a ticket: everything the next person needs, from one \
command run in a hurry. Sections (each with a time budget; one that fails or runs out of time \
says so and the others go on):

  Host and cgroups    host memory, PSI and the limited cgroups with pressure states (sample)
  OOM kill order      who the kernel would kill next and why (oom-rank)
  Kernel log          OOM kills, segfaults and kills in /dev/kmsg since --since (triage)
  Worker logs         the same in /var/log/clw/*.log and /var/log/claw/*.log (--worker-logs)
                      and in --logs GLOB files
  Core files          cores newer than --since in --cores DIR: crash signature and the
                      crashing thread's backtrace (backtrace)
  Stored crashes      crashes systemd-coredump stored since --since (--coredump-dir, default
                      /var/lib/systemd/coredump, and the journal's entries for them), and the
                      backtraces of the newest five (coredumps, backtrace)
  Memory traces       leak verdict and a limit recommendation for each --trace FILE

then a summary: what most likely happened, to which workload (ns/pod/container, compose \
service, docker:name, unit; from the logs, else the node's files under --host-root), the evidence \
(section and file:line), and what to do next. Secrets (Authorization headers, bearer tokens, passwords in URLs and key=value pairs, cloud \
access keys, private keys) are redacted from the output and the bundle; /proc/PID/environ is \
never included. Plain text when redirected; --json for machines; --bundle OUT.tar.gz keeps the \
raw inputs (log excerpts, smaps of the top processes, cgroup files, backtraces, and \
identity.json: each cgroup's workload and the --host-root files that named it), mode 0600, \
at most 8 MiB per file and --bundle-max in all. Log globs and --cores never follow a symlink \
out of their directory (kubelet's /var/log/containers into /var/log/pods excepted); what is \
skipped is named in the section's notes.

Exit code 0 when anything could be read, 2 when nothing at all could be.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag --worker-logs --cores=/tmp --since=1h > diag.txt     the runbook's command line
  clw-diag report --cgroup /kubepods/burstable/pod1234 --since 30m --bundle incident.tar.gz
  clw-diag report --logs '/srv/app/logs/*.log' --trace memory-trace.json --json";

/// The report's flags; also accepted with no subcommand.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Report options (also without a subcommand)")]
pub struct ReportArgs {
    /// Read the worker logs in their usual places: /var/log/clw/*.log, /var/log/claw/*.log.
    #[arg(long)]
    pub worker_logs: bool,
    /// Also read these log files (a glob: '*' and '?' in the file name; repeatable).
    #[arg(long, value_name = "GLOB")]
    pub logs: Vec<String>,
    /// Look for core files in DIR (repeatable).
    #[arg(long, value_name = "DIR")]
    pub cores: Vec<PathBuf>,
    /// systemd-coredump's store, read for the crashes since --since (with the journal's
    /// entries for them) [default: /var/lib/systemd/coredump].
    #[arg(long, value_name = "DIR")]
    pub coredump_dir: Option<PathBuf>,
    /// Join the store with the journal files in DIR instead of the system journal (for tests).
    #[arg(long, value_name = "DIR", hide = true)]
    pub coredump_journal_dir: Option<PathBuf>,
    /// The window: a duration back from now (30m, 1.5h, 2d) or a timestamp (2024-04-15T10:00:00Z,
    /// "2024-04-15 10:00", UTC unless an offset is given) [default: 1h].
    #[arg(long, value_name = "DURATION|TIMESTAMP")]
    pub since: Option<String>,
    /// A memory trace (clw-diag record, CSV, Prometheus JSON) for a leak verdict (repeatable).
    #[arg(long, value_name = "FILE")]
    pub trace: Vec<PathBuf>,
    /// The memory cgroup of the incident, for the snapshot and the OOM kill order.
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<String>,
    /// Also write the raw inputs, redacted, to OUT.tar.gz (mode 0600).
    #[arg(long, value_name = "OUT.tar.gz")]
    pub bundle: Option<PathBuf>,
    /// Replace an existing --bundle file (a regular file only: a device, FIFO, directory or
    /// symlink there is always refused).
    #[arg(long)]
    pub force: bool,
    /// Bound on what the bundle keeps, before compression (64Mi, 1Gi, 500M); each file also
    /// keeps at most 8 MiB and then says where it was cut.
    #[arg(long, value_name = "SIZE", default_value = "64Mi", value_parser = parse_bundle_max)]
    pub bundle_max: u64,
    /// Time budget of each section (500ms, 30s, 2m; a bare number is seconds; at most 1d).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_budget)]
    pub section_timeout: Duration,
    /// The kernel log device.
    #[arg(long, value_name = "PATH", default_value = "/dev/kmsg", hide = true)]
    pub kmsg: PathBuf,
    /// Replace the --worker-logs places (for tests).
    #[arg(long, value_name = "GLOB", hide = true)]
    pub worker_log_glob: Vec<String>,
}

/// `--section-timeout`: the duration grammar of [`clw_diag::base::duration`], more than 0 and up
/// to a day (a budget beyond that is no budget).
fn parse_budget(s: &str) -> Result<Duration, String> {
    let d = duration::parse(s).map_err(|e| e.to_string())?;
    if d.is_zero() || d > duration::DAY {
        return Err(format!("{s:?} is out of range (more than 0s, at most 1d)"));
    }
    Ok(d)
}

/// `--bundle-max`: the size grammar of [`clw_diag::base::size`], at least 64 KiB.
fn parse_bundle_max(s: &str) -> Result<u64, String> {
    match clw_diag::base::size::parse(s) {
        Ok(b) if b >= 64 << 10 => Ok(b),
        Ok(_) => Err(format!("{s:?} is below the 64 KiB minimum of a bundle")),
        Err(e) => Err(e.to_string()),
    }
}

impl ReportArgs {
    /// Whether any report flag was given (then no subcommand means `report`).
    pub fn any(&self) -> bool {
        self.worker_logs
            || !self.logs.is_empty()
            || !self.cores.is_empty()
            || self.coredump_dir.is_some()
            || self.since.is_some()
            || !self.trace.is_empty()
            || self.cgroup.is_some()
            || self.bundle.is_some()
    }
}

pub fn run(a: ReportArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let since_label = a.since.clone().unwrap_or_else(|| "1h".into());
    let since_us = clw_diag::base::time::parse_since(&since_label)
        .map_err(|e| anyhow::anyhow!("invalid value for --since: {e}"))?;
    if let Some(b) = &a.bundle {
        // Before any work: a device, FIFO, directory or symlink there is never ours to replace.
        output::check(b, a.force)?;
    }
    let budget = a.section_timeout;
    let opts = Options {
        proc_root: g.proc_root.clone(),
        cgroup_root: g.cgroup_root.clone(),
        host_root: g.host_root.clone(),
        worker_logs: a.worker_logs,
        worker_log_globs: if a.worker_log_glob.is_empty() {
            WORKER_LOG_GLOBS.iter().map(|s| s.to_string()).collect()
        } else {
            a.worker_log_glob.clone()
        },
        logs: a.logs.clone(),
        cores: a.cores.clone(),
        coredump_dir: a
            .coredump_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(clw_diag::coredump::store::DEFAULT_DIR)),
        coredump_journal: match &a.coredump_journal_dir {
            Some(d) => clw_diag::coredump::store::JournalSource::Directory(d.clone()),
            None => clw_diag::coredump::store::JournalSource::System,
        },
        since_us,
        since_label,
        traces: a.trace.clone(),
        cgroup: a.cgroup.clone(),
        kmsg: a.kmsg.clone(),
        budget,
    };
    let bar = super::progress::Progress::spinner(out, "report");
    let report =
        clw_diag::report::build_with_progress(&opts, &|title| bar.message(format!("{title}…")));
    drop(bar);
    let mut plain = Vec::new();
    render::render(&report, Format::Table, Style::default(), &mut plain)?;
    let text = redact(&String::from_utf8_lossy(&plain)).text;
    let mut json = serde_json::to_value(&report)?;
    redact_json(&mut json);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    match out.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, &json)?;
            writeln!(w)?;
        }
        _ => w.write_all(text.as_bytes())?,
    }
    w.flush()?;
    if let Some(path) = &a.bundle {
        let limits = Limits {
            entry_max: ENTRY_MAX.min(a.bundle_max),
            total_max: a.bundle_max,
        };
        let mut b = Bundle::create(path, a.force, "clw-diag-report", limits)?;
        b.add_text("report.txt", &text)?;
        b.add_text("report.json", &serde_json::to_string_pretty(&json)?)?;
        for (name, content) in &report.raw {
            b.add(name, content)?;
        }
        let w = b.finish()?;
        let mut cut = String::new();
        if w.truncated > 0 {
            cut.push_str(&format!(", {} cut at the size bound", w.truncated));
        }
        if w.left_out > 0 {
            cut.push_str(&format!(", {} left out (see MANIFEST.txt)", w.left_out));
        }
        out.note(&format!(
            "bundle written to {} ({} files, {} secret(s) redacted{cut})",
            path.display(),
            w.files,
            w.redacted + report.redacted
        ));
    }
    if report.read_anything() {
        Ok(ExitCode::SUCCESS)
    } else {
        out.note("nothing at all could be read");
        Ok(ExitCode::from(2))
    }
}
