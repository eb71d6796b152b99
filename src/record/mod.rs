//! `record`: writes a memory trace (see [`crate::trace`]) of a process (optionally with its
//! descendants), a memory cgroup, or a command it starts (optionally in a new memory cgroup with
//! a limit, to reproduce an OOM on purpose).
//!
//! - [`target`]: what is recorded, made ready (a pid checked, a cgroup resolved, a command
//!   started), and how a command's end maps to `record`'s exit status;
//! - [`cgroup`]: the cgroup created for `--memory-limit` (v1 or v2), cgroup figures and the
//!   OOM-kill counter;
//! - [`run`]: the loop, as `start / tick / finish`.
//!
//! The recorder is a guest on a sick machine: it raises its own `oom_score_adj` to 1000 so it,
//! not the workload, is the first OOM victim; it keeps O(1) state (running sums for the progress
//! slope); it reads processes through [`crate::sample::kept`] (each file opened once and read
//! again with `pread`, one buffer, no allocation per process per sample; a reused pid is never
//! read as the target), wakes once a second at most between samples, and reads
//! `smaps_rollup` (which walks page tables under the target's mmap lock) at a lower rate when
//! reading it costs more than 0.2 % of the interval. Its cost is measured beside `pidstat -r`
//! by `benches/record.sh` (BENCHMARKS.md).

pub mod cgroup;
pub mod run;
pub mod target;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;

pub use run::{Recorder, Stop};
pub use target::failure_status;

/// What to record.
#[derive(Debug, Clone)]
pub enum Target {
    /// A running process.
    Pid {
        /// The process id, as seen in `proc_root`; it must exist when recording starts.
        pid: i32,
        /// Sum its descendants in.
        children: bool,
    },
    /// A memory cgroup, as `/proc/PID/cgroup` prints it, a directory under the mount, or a
    /// workload name ([`crate::sample::cgroup::MemoryHierarchy::find_workload`]).
    Cgroup {
        /// The cgroup path relative to the hierarchy root (as in `/proc/PID/cgroup`), a
        /// directory under the cgroup mount, or a workload name (`ns/pod/container`, …).
        path: String,
    },
    /// A command to start (`argv[0]` looked up in `PATH`) and record until it exits.
    Command {
        /// The command and its arguments; `argv[0]` is looked up in `PATH`.
        argv: Vec<String>,
        /// Run it in a new memory cgroup with this limit, bytes.
        memory_limit: Option<u64>,
        /// Sum the command's descendants in (walked through the parents' `children` files every
        /// 10 samples, [`crate::sample::kept::KeptFiles::family`]).
        children: bool,
    },
}

/// Progress callback: (seconds since start, bytes of the main metric, slope in bytes/s).
pub type ProgressFn<'a> = dyn FnMut(f64, Option<u64>, Option<f64>) + 'a;

/// Recording options.
pub struct Options<'a> {
    /// What to record: a process, a memory cgroup or a command to start.
    pub target: Target,
    /// Time between two samples (the trace header's `interval_s`).
    pub interval: Duration,
    /// Stop after this long; `None`: until the target exits or `stop` is set.
    pub duration: Option<Duration>,
    /// The trace file to write (created or truncated).
    pub output: PathBuf,
    /// Do not raise the recorder's own `oom_score_adj`.
    pub keep_oom_score: bool,
    /// Where procfs is mounted (`/proc` unless `--proc-root` is given).
    pub proc_root: PathBuf,
    /// Where the cgroup hierarchies are mounted (`/sys/fs/cgroup` unless `--cgroup-root` is given).
    pub cgroup_root: PathBuf,
    /// Where the node's runtime and kubelet files are read to name the target's workload
    /// (`/` unless `--host-root` is given).
    pub host_root: PathBuf,
    /// Set (by a signal handler) to stop recording.
    pub stop: &'a AtomicBool,
    /// Called after each sample with (seconds, bytes of the main metric, slope bytes/s).
    pub progress: Option<&'a mut ProgressFn<'a>>,
}

/// What happened (`record --json` prints it; docs/json.md).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The trace file written.
    pub output: String,
    /// Sample lines written to the trace.
    pub samples: u64,
    /// Time from the start of recording to its end, seconds.
    pub duration_s: f64,
    /// The command's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that killed the command (9 for an OOM kill).
    pub signal: Option<i32>,
    /// OOM kills counted in the target's memory cgroup while recording.
    pub oom_kills: u64,
    /// Why recording stopped (text for people).
    pub stopped_by: String,
    /// The exit status `record` passes on for a command that failed (its exit code, or
    /// 128 + signal); `null` when it succeeded, was stopped by the recorder, or for a
    /// `--pid`/`--cgroup` target.
    pub failure_status: Option<u8>,
    /// What could not be done or read, and why (e.g. `oom_score_adj` not raised, PSS read every N
    /// samples), for people.
    pub notes: Vec<String>,
}

/// Record until the duration ends, the target exits or `stop` is set.
///
/// Errors: a pid that does not exist, a cgroup that does not exist, a command that cannot be
/// started, no permission to create a cgroup, an output file that cannot be written.
pub fn record(o: Options<'_>) -> Result<Summary> {
    let mut r = Recorder::start(o)?;
    let stop = loop {
        if let Some(stop) = r.tick()? {
            break stop;
        }
        r.wait();
    };
    r.finish(stop)
}
