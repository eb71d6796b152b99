//! `clw-diag record`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use clw_diag::base::size;
use clw_diag::record::{self, Options, Target};
use clw_diag::render::units::iec;
use clw_diag::render::Format;

use super::sample::{parse_duration, parse_interval};
use super::{GlobalArgs, Output, PidArg};

pub const LONG_ABOUT: &str = "\
Record a memory trace of a process, a memory cgroup, or a command started here.

The trace is JSON Lines (a header, one sample per interval, events such as the target's exit and \
OOM kills seen in the cgroup's memory.events), each line written as soon as it is complete: a \
recorder stopped at any moment, even by SIGKILL, leaves a valid trace up to the last sample. \
Analyse it with `clw-diag analyze memory-trace`.

Per sample, for processes: rss, anon, file, shmem, swap, and pss/uss from smaps_rollup (read at \
a lower rate when it is costly, as the header's pss_every says); for cgroups: usage, working set, \
anon, file, limit, memory.events counters, PSI.

`-- CMD ARGS..` starts the command and records it until it exits; with --memory-limit it runs in \
a new memory cgroup with that limit (to reproduce an OOM on purpose), removed afterwards. The \
recorder raises its own oom_score_adj to 1000 so it, not the workload, dies first under memory \
pressure (--keep-oom-score to opt out).

Exit status: with `-- CMD`, the command's failure is passed on so a CI step wrapped in record \
keeps it: the command's exit code when it exits non-zero, 128 + the signal number when a signal \
killed it (137 for SIGKILL, which is how the OOM killer ends it), as shells report it; the trace \
is complete either way. 0 when the command succeeded, when recording stopped first (-d, \
Ctrl-C; the command is then stopped) and for --pid and --cgroup targets. 2 for a usage error \
or a target that cannot be recorded. --format table and json are available (json prints a \
summary with failure_status); csv is not.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag record --pid 1234 -i 5s -d 1h
  clw-diag record --cgroup /kubepods/burstable/pod1234 -o pod.json
  clw-diag record --cgroup labproj/hogsvc -d 10m
  clw-diag record --memory-limit 256Mi -- python3 worker.py
  clw-diag record -- node server.js; clw-diag analyze memory-trace memory-trace.json";

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["pid", "cgroup", "command"])))]
pub struct RecordArgs {
    /// Record this process ('self' for clw-diag itself).
    #[arg(long, value_name = "PID", value_parser = super::parse_pid)]
    pub pid: Option<PidArg>,
    /// Include the process's descendants, summed.
    #[arg(long)]
    pub children: bool,
    /// Record this memory cgroup: relative to the memory hierarchy, or absolute, or a workload
    /// (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of
    /// 6+ hex, a pod UID, a unit; e.g. shop/web-5d8f7c9b4-x2x9z/hog). The header records the
    /// workload's identity.
    #[arg(long, value_name = "PATH|NAME")]
    pub cgroup: Option<String>,
    /// Run the command inside a new memory cgroup with this limit: 512Mi or 2Gi (powers of 1024),
    /// 500M or 2G (powers of 1000, as Kubernetes), or bytes.
    #[arg(long, value_name = "QUANTITY", value_parser = parse_quantity, requires = "command")]
    pub memory_limit: Option<u64>,
    /// Sampling interval (250ms, 1s, 1m; a bare number is seconds; at least 10ms).
    #[arg(short = 'i', long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Stop after this long (90s, 30m, 1.5h, 1d; default: until the target exits or Ctrl-C).
    #[arg(short = 'd', long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// The trace file to write (an existing regular file is replaced; a device, FIFO,
    /// directory or symlink there is refused).
    #[arg(
        short = 'o',
        long,
        value_name = "FILE",
        default_value = "memory-trace.json"
    )]
    pub output: PathBuf,
    /// Do not raise the recorder's own oom_score_adj to 1000.
    #[arg(long)]
    pub keep_oom_score: bool,
    /// The command to start and record.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `--memory-limit`: the size grammar of [`clw_diag::base::size`], at least 4 KiB.
fn parse_quantity(s: &str) -> Result<u64, String> {
    match size::parse(s) {
        Ok(b) if b >= 4096 => Ok(b),
        Ok(_) => Err(format!(
            "{s:?} is below the 4 KiB minimum of a memory limit"
        )),
        Err(e) => Err(e.to_string()),
    }
}

pub fn run(a: RecordArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // Refuse before starting anything (a command must not run unrecorded for a format error,
    // nor for an output that is a device, a FIFO, a directory or a symlink).
    clw_diag::base::output::check(&a.output, true)?;
    let target = if let Some(p) = a.pid {
        Target::Pid {
            pid: p.resolve(&g.proc_root)?,
            children: a.children,
        }
    } else if let Some(c) = &a.cgroup {
        Target::Cgroup { path: c.clone() }
    } else {
        Target::Command {
            argv: a.command.clone(),
            memory_limit: a.memory_limit,
            children: a.children,
        }
    };
    let stop = super::signals::stop_flag(true)?;
    let bar = super::progress::Progress::spinner(out, "record");
    let mut progress = |t: f64, v: Option<u64>, slope: Option<f64>| {
        if bar.is_visible() {
            bar.message(format!(
                "[{t:>6.0} s] {} {}",
                v.map(iec).unwrap_or_else(|| "-".into()),
                slope
                    .map(|s| format!("slope {:+.2} MiB/min", s * 60.0 / 1048576.0))
                    .unwrap_or_default()
            ));
        }
    };
    let summary = record::record(Options {
        target,
        interval: a.interval,
        duration: a.duration,
        output: a.output.clone(),
        keep_oom_score: a.keep_oom_score,
        proc_root: g.proc_root.clone(),
        cgroup_root: g.cgroup_root.clone(),
        host_root: g.host_root.clone(),
        stop: &stop,
        progress: Some(&mut progress),
    })?;
    drop(bar);
    for n in &summary.notes {
        out.note(n);
    }
    out.note(&format!(
        "{} samples in {:.0} s written to {} (stopped: {}{}{})",
        summary.samples,
        summary.duration_s,
        summary.output,
        summary.stopped_by,
        match (summary.exit_code, summary.signal) {
            (Some(c), _) => format!(", exit code {c}"),
            (None, Some(s)) => format!(", killed by signal {s}"),
            _ => String::new(),
        },
        if summary.oom_kills > 0 {
            format!(", {} OOM kill(s) in its cgroup", summary.oom_kills)
        } else {
            String::new()
        }
    ));
    if let Some(code) = summary.failure_status {
        out.note(&format!(
            "the command failed: exiting with {code}, as it did (128 + signal for a signal)"
        ));
    }
    if out.format == Format::Json {
        serde_json::to_writer_pretty(std::io::stdout().lock(), &summary)?;
        println!();
    }
    // The command's failure is ours (see LONG_ABOUT "Exit status").
    Ok(summary
        .failure_status
        .map_or(ExitCode::SUCCESS, ExitCode::from))
}
