//! Memory traces: the format `record` writes (JSON Lines, DESIGN.md "The trace format") and
//! readers for it and for traces exported elsewhere (a JSON document with a `samples` array,
//! CSV with a header row, Prometheus `query_range` responses).

pub mod bounds;
mod document;
pub mod format;
pub mod lines;
pub mod prometheus;
pub mod read;
pub mod write;

use serde::Serialize;

pub use format::{Event, EventLine, Header, OomKill, Sample, TraceIdentity, TraceTarget};

/// Version of the JSON Lines trace format written by `record`.
pub const FORMAT_VERSION: u64 = 1;

/// One series read from a trace, reduced to what the analysis needs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Series {
    /// Input name (and the series label for multi-series inputs).
    pub name: String,
    /// The memory metric analysed (e.g. `anon_bytes`).
    pub metric: String,
    /// Why this metric (the default for the target kind, or asked for).
    pub metric_reason: String,
    /// `process`, `cgroup`, `command` or unknown.
    pub target_kind: Option<String>,
    /// The command line of a command `record` started (`record -- CMD`: the trace then begins
    /// when the program does); `None` for other targets and inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Seconds since the first sample.
    pub t: Vec<f64>,
    /// Bytes.
    pub v: Vec<f64>,
    /// The pid at each sample, when the trace has one (a change marks a restart).
    pub pid: Vec<Option<i64>>,
    /// Memory limit of the target (cgroup limit) in bytes, when the trace says.
    pub limit_bytes: Option<u64>,
    /// Host MemTotal when the trace says.
    pub host_total_bytes: Option<u64>,
    /// Event lines of the trace (the target's exit, OOM kills, the recorder's stats), in order.
    pub events: Vec<EventLine>,
    /// Things the reader tolerated (a torn last line).
    pub warnings: Vec<String>,
    /// Nominal sampling interval (header) in seconds.
    pub interval_s: Option<f64>,
    /// The series' labels when it came from a Prometheus answer (`namespace`, `pod`,
    /// `container`, or all of them when none of those is set); `None` for a trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// Points skipped because their value was `NaN` or `±Inf` (Prometheus answers).
    #[serde(skip)]
    pub skipped_non_finite: usize,
    /// The workload the trace's header names (`record --cgroup`); `None` for older traces
    /// and other inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<TraceIdentity>,
}

impl Series {
    /// The trace's OOM kills (`oom_kill` events), in order.
    pub fn oom_kills(&self) -> impl Iterator<Item = OomKill> + '_ {
        self.events.iter().filter_map(|e| match e.event {
            Event::OomKill { count, .. } => Some(OomKill { t: e.t, count }),
            _ => None,
        })
    }

    /// How the target ended, when the trace says: `(exit_code, signal)` of its
    /// `target_exited` event.
    pub fn exit(&self) -> Option<(Option<i32>, Option<i32>)> {
        self.events.iter().find_map(|e| match e.event {
            Event::TargetExited { exit_code, signal } => Some((exit_code, signal)),
            _ => None,
        })
    }
}
