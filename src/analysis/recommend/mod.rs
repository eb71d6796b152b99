//! Memory requests and limits from observed usage: `clw-diag recommend`.
//!
//! Every policy works on **per-interval peaks** (the maximum of the samples within each
//! interval, 5 minutes by default), not on raw samples, so a fast sampler does not weigh more
//! than a slow one and a short spike counts as what it is: the interval's peak. Sizes are bytes,
//! times are seconds since the first sample. Percentiles are nearest-rank (an observed value,
//! never an interpolation between two).
//!
//! Policies:
//!
//! - `seed`: the runbook rule, request = P95 × 1.1, limit = P95 × 1.5.
//! - `vpa`: the Kubernetes Vertical Pod Autoscaler's recommender
//!   (kubernetes/autoscaler, `vertical-pod-autoscaler/pkg/recommender`): one peak per 24 h
//!   window into a decaying histogram (exponential buckets from 10 MB growing by 5 %, weights
//!   halving every 24 h, `util/histogram.go`, `model/aggregations_config.go`); target = P90,
//!   lower bound = P50, upper bound = P95, each + 15 % safety margin and at least 250 MiB
//!   (`logic/recommender.go`); the upper bound × (1 + 1/confidence) and the lower bound
//!   × (1 + 0.001/confidence)^−2 where confidence = min(history in days, minutes covered by
//!   intervals / 1440)
//!   (`logic/estimator.go`, `getConfidence`, `WithConfidenceMultiplier(1.0, 1.0)` and
//!   `(0.001, -2.0)`); an OOM kill replaces its window's peak by max(used + 100 MiB, used × 1.2)
//!   (`model/container.go`, `RecordOOM`). Request = target, limit = upper bound. (The upper
//!   bound's exponent is +1 as in the VPA source, not 2: 24 h of history doubles it.)
//! - `krr`: Robusta krr's simple strategy for memory: request = limit = max × 1.15.
//! - `clw` (default): never a limit below the observed peak plus margin: limit =
//!   max(peak × 1.15, after each OOM kill max(m + 100 MiB, m × 1.2) where m is the memory at the
//!   kill: the limit then in force, else the peak around it); request = P95 × 1.1 (at most the
//!   limit).
//!
//! The files: [`history`] (interval peaks, percentiles, history warnings), [`policies`] (the
//! four policies), [`vpa`](mod@vpa) (the VPA recommender's histogram), [`backtest`](mod@backtest), [`target`] (all a
//! command says about one target) and [`sources`] (histories assembled from traces, a live
//! cgroup or Prometheus, with their limits, OOM kills and leak check: the one place `recommend`
//! and `report` both get their numbers from).

pub mod backtest;
pub mod cgroup;
pub mod history;
pub mod policies;
pub mod prometheus;
pub mod sources;
pub mod target;
pub mod vpa;

use serde::Serialize;

pub use backtest::{backtest, Backtest, BacktestPolicy};
pub use history::{history_warnings, interval_peaks, percentile, History, IntervalPeak, OomEvent};
pub use policies::{oom_bump, recommend, Recommendation, Status};
pub use sources::{Plan, RecommendReport};
pub use target::{Source, Target};
pub use vpa::{vpa, vpa_bucket, vpa_bucket_start, VpaEstimate};

/// Bytes in a mebibyte (2^20).
pub const MIB: f64 = 1048576.0;
/// Bytes in a gibibyte (2^30).
pub const GIB: f64 = 1073741824.0;
pub(crate) const DAY: f64 = 86400.0;

/// Fewer interval peaks than this: no recommendation (`insufficient-data`).
pub const MIN_INTERVALS: usize = 3;
/// Fewer interval peaks, or less history, than these: a "history too short" warning.
pub const SHORT_INTERVALS: usize = 20;
/// History shorter than this, seconds (one day), draws the "history too short" warning.
pub const SHORT_HISTORY_S: f64 = DAY;

/// A recommendation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// The runbook rule: request = P95 × 1.1, limit = P95 × 1.5 of the interval peaks.
    Seed,
    /// The Kubernetes VPA recommender: request = its target (P90 + 15 %), limit = its upper bound.
    Vpa,
    /// Robusta krr's simple strategy: request = limit = max peak × 1.15.
    Krr,
    /// clw-diag's own (the default): limit = max(peak × 1.15, the VPA's bump after each OOM
    /// kill), request = P95 × 1.1 capped at the limit.
    Clw,
}

impl Policy {
    /// Every policy, in report order.
    pub const ALL: [Policy; 4] = [Policy::Seed, Policy::Vpa, Policy::Krr, Policy::Clw];

    /// Stable key, as in JSON and `--policy`: `seed`, `vpa`, `krr` or `clw`.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Seed => "seed",
            Policy::Vpa => "vpa",
            Policy::Krr => "krr",
            Policy::Clw => "clw",
        }
    }
}

/// Round up to whole bytes, forgiving floating-point noise (100 MiB × 1.1 is 115343360, not
/// 115343361).
pub(crate) fn bytes(x: f64) -> u64 {
    (x.max(0.0) * (1.0 - 1e-12)).ceil() as u64
}

/// `123.4 MiB`, for the policies' explanations.
pub(crate) fn mib(x: f64) -> String {
    format!("{:.1} MiB", x / MIB)
}
