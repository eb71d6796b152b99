//! Memory traces: the format `record` writes (JSON Lines, DESIGN.md "The trace format") and
//! readers for it and for traces exported elsewhere (a JSON document with a `samples` array,
//! CSV with a header row, Prometheus `query_range` responses).

pub mod prometheus;
pub mod read;
pub mod write;

use serde::Serialize;

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
    /// Seconds since the start at which the target exited, OOM kills seen, etc.
    pub events: Vec<TraceEvent>,
    /// Things the reader tolerated (a torn last line).
    pub warnings: Vec<String>,
    /// Nominal sampling interval (header) in seconds.
    pub interval_s: Option<f64>,
}

/// An event line of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TraceEvent {
    pub t: f64,
    pub event: String,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub signal: Option<i64>,
    #[serde(default)]
    pub count: Option<u64>,
}
