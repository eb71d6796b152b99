//! The report's model: what to put in it ([`Options`]), its sections (a typed [`SectionId`] and
//! the typed [`SectionData`] of the command each section runs), its findings (a typed
//! [`FindingKind`], never classified by searching their English text) and the summary. JSON is
//! the model itself (docs/json.md, "report"); text is laid out by `report::text`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::analysis::leak::LeakResult;
use crate::analysis::oom::OomRank;
use crate::analysis::pressure::Snapshot;
use crate::analysis::recommend::{Recommendation, Target};
use crate::symbolize::backtrace::Backtrace;

/// What to put in the report.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where process and kernel files are read: `/proc`, or a copied tree (`--proc-root`).
    pub proc_root: PathBuf,
    /// Where cgroup files are read: `/sys/fs/cgroup`, or a copied tree (`--cgroup-root`).
    pub cgroup_root: PathBuf,
    /// Where the node's runtime and kubelet files are read to name workloads: `/`, or a copied
    /// tree (`--host-root`).
    pub host_root: PathBuf,
    /// Read the usual worker logs (`/var/log/clw/*.log`, `/var/log/claw/*.log`).
    pub worker_logs: bool,
    /// The worker-log globs used with `worker_logs` (the defaults above; tests point them
    /// elsewhere).
    pub worker_log_globs: Vec<String>,
    /// More log globs (`--logs`).
    pub logs: Vec<String>,
    /// Directories searched for core files (`--cores`).
    pub cores: Vec<PathBuf>,
    /// systemd-coredump's store (`--coredump-dir`, default `/var/lib/systemd/coredump`).
    pub coredump_dir: PathBuf,
    /// The journal joined to the store (the system's; a directory or `Off` for tests).
    pub coredump_journal: crate::coredump::store::JournalSource,
    /// The start of the window, µs since the epoch, and how the user said it.
    pub since_us: i64,
    /// `--since` as the user gave it (`1h`, an RFC 3339 time, …), shown next to `since_us`.
    pub since_label: String,
    /// Memory traces for a leak verdict (`--trace`).
    pub traces: Vec<PathBuf>,
    /// The memory cgroup the incident is about (`--cgroup`), for the snapshot and `oom-rank`.
    pub cgroup: Option<String>,
    /// The kernel log device (`/dev/kmsg`).
    pub kmsg: PathBuf,
    /// Time budget of each section.
    pub budget: Duration,
}

/// The defaults of `--worker-logs`.
pub const WORKER_LOG_GLOBS: [&str; 2] = ["/var/log/clw/*.log", "/var/log/claw/*.log"];

/// The report's sections, in the order they are run and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionId {
    /// Host memory, PSI and the limited cgroups (`sample`).
    Snapshot,
    /// Who the kernel would kill next (`oom-rank`).
    OomRank,
    /// OOM kills and crashes in `/dev/kmsg` (`triage --dmesg`).
    KernelLog,
    /// The same in the worker logs and `--logs` files (`triage FILE..`).
    WorkerLogs,
    /// Core files newer than `--since` (`backtrace`).
    Cores,
    /// Crashes systemd-coredump stored since `--since` (`coredumps`, then `backtrace`).
    StoredCrashes,
    /// Leak verdict and clw recommendation of each `--trace` (`analyze`, `recommend`).
    Traces,
}

impl SectionId {
    /// Every section, in order.
    pub const ALL: [SectionId; 7] = [
        SectionId::Snapshot,
        SectionId::OomRank,
        SectionId::KernelLog,
        SectionId::WorkerLogs,
        SectionId::Cores,
        SectionId::StoredCrashes,
        SectionId::Traces,
    ];

    /// The stable id of JSON (`snapshot`, `oom_rank`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SectionId::Snapshot => "snapshot",
            SectionId::OomRank => "oom_rank",
            SectionId::KernelLog => "kernel_log",
            SectionId::WorkerLogs => "worker_logs",
            SectionId::Cores => "cores",
            SectionId::StoredCrashes => "stored_crashes",
            SectionId::Traces => "traces",
        }
    }

    /// The heading people read.
    pub fn title(self) -> &'static str {
        match self {
            SectionId::Snapshot => "Host and cgroups",
            SectionId::OomRank => "OOM kill order",
            SectionId::KernelLog => "Kernel log",
            SectionId::WorkerLogs => "Worker logs",
            SectionId::Cores => "Core files",
            SectionId::StoredCrashes => "Stored crashes (systemd-coredump)",
            SectionId::Traces => "Memory traces",
        }
    }
}

/// How a section went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Read and shown.
    Ok,
    /// Nothing to read (no files match, no cores, no traces given).
    Empty,
    /// Could not be read; `notes` says why.
    Failed,
    /// Did not finish within its budget.
    Timeout,
}

/// What `report --trace` says about one series: the leak analysis `analyze memory-trace` makes
/// and the clw recommendation `recommend --policy clw` makes of it (the same library calls).
#[derive(Debug, Clone, Serialize)]
pub struct TraceAssessment {
    /// The trace file.
    pub file: PathBuf,
    /// `null` for a saved Prometheus answer (no trace to analyse).
    pub leak: Option<LeakResult>,
    /// The clw policy's answer (also in `target.recommendations`).
    pub recommendation: Option<Recommendation>,
    /// Everything `recommend` says about the series.
    pub target: Target,
}

/// A section's data: the same JSON as the command it runs (`null` when it read nothing).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SectionData {
    /// Host memory, PSI and the limited cgroups: the JSON of `sample`.
    Snapshot(Box<Snapshot>),
    /// Who the OOM killer would pick, by badness: the JSON of `oom-rank`.
    OomRank(Box<OomRank>),
    /// The kernel log or the worker logs.
    Triage(Box<crate::triage::Report>),
    /// The cores' backtraces, their crashing thread only, newest first.
    Cores(Vec<Backtrace>),
    /// The crashes systemd-coredump stored: the JSON of `coredumps`, and the backtraces of the
    /// newest.
    StoredCrashes(Box<StoredCrashes>),
    /// One assessment per `--trace` file, in the order given.
    Traces(Vec<TraceAssessment>),
    /// The section read nothing (failed, timed out or empty): `null` in JSON.
    None,
}

/// What the report says of systemd-coredump's store.
#[derive(Debug, Serialize)]
pub struct StoredCrashes {
    /// The crashes since `--since`, newest first: the JSON of `coredumps --since`.
    pub listing: crate::coredump::store::Listing,
    /// The crashing thread of the newest crashes that still have their core file (at most
    /// five), newest first: the JSON of `backtrace --crashed-only`.
    pub backtraces: Vec<Backtrace>,
}

/// One section of the report.
#[derive(Debug, Serialize)]
pub struct Section {
    /// Stable id: `snapshot`, `oom_rank`, `kernel_log`, `worker_logs`, `cores`,
    /// `stored_crashes`, `traces`.
    pub id: SectionId,
    /// The heading people read ([`SectionId::title`]).
    pub title: &'static str,
    /// How the section went: read, empty, failed or over its budget.
    pub status: Status,
    /// Wall-clock time the section took, in milliseconds.
    pub elapsed_ms: u64,
    /// Why the section failed or is empty, or what it could not read.
    pub notes: Vec<String>,
    /// The section's data: the same JSON as the command it runs.
    pub data: SectionData,
}

/// What a finding is about: decides its place in the summary and the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The kernel's OOM killer killed a process (a memory cgroup's or the whole machine's).
    OomKill,
    /// A runtime reported running out of memory (JVM, Go, Node, …).
    RuntimeOom,
    /// A process crashed (a core's signature, or a crash in a log).
    Crash,
    /// A SIGKILL that no OOM record explains.
    UnknownKill,
    /// The worker logged an error code.
    WorkerError,
    /// The host is under memory pressure, or a cgroup is critical.
    Pressure,
    /// The OOM killer would kill a long-lived parent first.
    OomOrder,
    /// A trace is leaking.
    Leak,
}

/// A finding of the summary, with where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What the finding is about: decides its place in the summary and the verdict.
    pub kind: FindingKind,
    /// The finding in one line, for people.
    pub what: String,
    /// The section and the line, file or process it is based on.
    pub evidence: String,
    /// The section it comes from.
    pub section: SectionId,
    /// The memory cgroup it concerns, when known (an OOM kill's memcg).
    pub cgroup: Option<String>,
    /// The workload it concerns (`ns/pod/container`, `project/service`, `docker:name`, a unit,
    /// or `docker 4f9a2c1be07d (unresolved)`), from the triage event or the cgroup's identity;
    /// `None` when nothing names one.
    pub workload: Option<String>,
}

/// The closing summary.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// One sentence: what most likely happened.
    pub verdict: String,
    /// The findings shown: per category newest first, at most five (then an "and N earlier" line).
    pub findings: Vec<Finding>,
    /// What to look at or run next, one suggestion per string.
    pub next_steps: Vec<String>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// The host name from `/proc/sys/kernel/hostname`; `None` when it could not be read.
    pub hostname: Option<String>,
    /// The kernel release from `/proc/sys/kernel/osrelease`; `None` when it could not be read.
    pub kernel: Option<String>,
    /// The start of the window, RFC 3339, and as given.
    pub since: String,
    /// `--since` as given (`1h`, an RFC 3339 time, …).
    pub since_arg: String,
    /// The sections, in [`SectionId::ALL`] order.
    pub sections: Vec<Section>,
    /// The verdict, the findings and the next steps.
    pub summary: Summary,
    /// Raw inputs for `--bundle`: (path in the bundle, text or a file to read then).
    #[serde(skip)]
    pub raw: Vec<(String, super::bundle::Content)>,
    /// Secrets replaced in the model's strings by `report::build` (`redact::redact_report`),
    /// before layout; the raw inputs are counted by the bundle.
    #[serde(skip)]
    pub redacted: usize,
}

impl Report {
    /// True when at least one section read something (the exit code is 2 otherwise).
    pub fn read_anything(&self) -> bool {
        self.sections.iter().any(|s| s.status == Status::Ok)
    }
}
