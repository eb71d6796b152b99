//! `clw-diag triage`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use clw_diag::render;
use clw_diag::triage::{self, Input, Request};

use super::progress::Progress;
use super::Output;

pub const LONG_ABOUT: &str = "\
Find every OOM kill, abnormal exit and crash in logs, and say exactly what the evidence shows.

Reads kernel logs (raw dmesg, dmesg -T, syslog, journald short/short-iso/JSON, /dev/kmsg) and \
parses the whole OOM-killer report of every kernel era from 2.6.32 to 6.x: trigger, memcg usage \
and limit, task table (top memory consumers), oom-kill: line, victim (global or cgroup OOM, \
memory.oom.group fan-out), oom_reaper; the segfault line; systemd and systemd-oomd, earlyoom, \
kubectl describe pod text, kubectl get pods/events -o json, docker inspect and docker events, \
Java/Node/Go/Python/Rust/C++/jemalloc out-of-memory messages, exit codes and signals in CI \
output (GitHub Actions, make, gcc), and OpenClaw error codes (clw-memory-oom, ...).

Exit 137 is SIGKILL, not proof of an OOM: an exit is linked to an OOM only when a kernel, memcg, \
Kubernetes or Docker OOM record matches it (same pid, container or pod, within 2 minutes); \
otherwise its cause is 'unknown'.

Each event names its workload (ns/pod/container, compose project/service, docker:name, unit): \
the log's own names first, else the memcg a kernel line prints resolved from the runtime and \
kubelet files under --host-root, read now (the event says which: the log may be another \
machine's); a runtime's OOMKilled flag is only noted beside the kernel's record.

Inputs: files (plain, .gz, .zst), '-' for stdin, --dmesg, --journal; several are read in \
parallel, each streamed.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag triage --dmesg
  clw-diag triage /var/log/kern.log /var/log/syslog.1.gz --since 2h
  journalctl -k -o json | clw-diag triage -
  kubectl get pods -A -o json > pods.json; clw-diag triage pods.json --json
  clw-diag triage build.log --fail-on oom --format github";

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Log files (plain, gzip or zstd; JSON from kubectl, docker or journalctl is recognised);
    /// '-' reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read the kernel ring buffer (/dev/kmsg), without blocking.
    #[arg(long)]
    pub dmesg: bool,
    /// Read the systemd journal (runs journalctl -o json).
    #[arg(long)]
    pub journal: bool,
    /// Only events at or after this time: a duration back from now (30m, 1.5h, 2d, 1w) or a
    /// timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00[:00]", UTC unless an offset such as
    /// +02:00 is given). Events without a time are kept.
    #[arg(long, value_name = "DURATION|TIMESTAMP", value_parser = clw_diag::base::time::parse_since)]
    pub since: Option<i64>,
    /// Exit with code 1 when events of this class are found (for CI).
    // An input that could not be read makes the exit code 2 even then, as ripgrep does (the
    // events of the inputs read are still printed): docs/json.md and the README say so, and the
    // main --help's exit codes ("2 … unreadable input").
    #[arg(long, value_enum, value_name = "CLASS")]
    pub fail_on: Option<FailOn>,
    /// The kernel log device read by --dmesg.
    #[arg(long, value_name = "PATH", default_value = "/dev/kmsg", hide = true)]
    pub kmsg: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any out-of-memory kill or report, or an exit linked to one.
    Oom,
    /// Segfaults, SIGSEGV and SIGABRT exits.
    Crash,
    /// Any event.
    Any,
}

pub fn run(a: TriageArgs, host_root: &std::path::Path, out: &Output) -> anyhow::Result<ExitCode> {
    let mut inputs: Vec<Input> = a
        .files
        .iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::File(f.clone())
            }
        })
        .collect();
    if a.dmesg {
        inputs.push(Input::Dmesg(a.kmsg.clone()));
    }
    if a.journal {
        inputs.push(Input::Journal);
    }
    if inputs.is_empty() {
        anyhow::bail!(
            "nothing to read: give log files, '-' for standard input, --dmesg or --journal"
        );
    }
    let req = Request {
        inputs,
        since_us: a.since,
        host_root: Some(host_root.to_path_buf()),
    };
    let mut report = run_with_progress(&req, out);
    report.verbose = out.verbose > 0;
    // Nothing could be read: there is no result to print, only the errors.
    if !report.nothing_read() {
        let stdout = std::io::stdout();
        let mut w = BufWriter::new(stdout.lock());
        render::render(&report, out.format, out.style, &mut w)?;
        w.flush()?;
    }
    let errors: Vec<String> = report.errors().map(|(_, e)| e.to_string()).collect();
    if !errors.is_empty() {
        // The events of the inputs read were printed; the run is still incomplete, whatever
        // --fail-on found (ripgrep's rule: an error is exit 2).
        for e in &errors {
            eprintln!("clw-diag: error: {e}");
        }
        return Ok(ExitCode::from(2));
    }
    let found = match a.fail_on {
        None => false,
        Some(FailOn::Any) => !report.events.is_empty(),
        Some(FailOn::Oom) => report
            .events
            .iter()
            .any(|e| e.kind.is_oom() || e.cause == Some(clw_diag::triage::event::Cause::Oom)),
        Some(FailOn::Crash) => report.events.iter().any(|e| e.kind.is_crash()),
    };
    if found {
        out.detail("--fail-on condition found: exit code 1");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Run the triage with progress on stderr (hidden off a terminal and with -q): a byte bar when
/// every input is a regular file of known size, else a spinner with the bytes read.
fn run_with_progress(req: &Request, out: &Output) -> triage::Report {
    let sizes: Option<u64> = req
        .inputs
        .iter()
        .map(|i| match i {
            Input::File(p) => std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
            _ => None,
        })
        .sum();
    let bar = match sizes {
        Some(total) => Progress::bytes(out, "triage", total),
        None => Progress::spinner(out, "triage"),
    };
    if !bar.is_visible() {
        return triage::triage(req);
    }
    let done = AtomicU64::new(0);
    std::thread::scope(|s| {
        let worker = s.spawn(|| triage::triage_with_progress(req, &done));
        while !worker.is_finished() {
            let n = done.load(Ordering::Relaxed);
            if sizes.is_some() {
                bar.set(n);
            } else {
                bar.message(format!("{} read", render::units::iec(n)));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        worker
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}
