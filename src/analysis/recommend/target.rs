//! Everything `recommend` says about one target (a trace series, a cgroup, a container): its
//! history's figures, each policy's answer, the back-test and the warnings.

use serde::Serialize;

use super::backtest::{backtest, Backtest};
use super::history::{history_warnings, History};
use super::policies::{recommend, Recommendation};
use super::{bytes, Policy};
use crate::identity::Identity;
use crate::trace::TraceIdentity;

/// Where a target's history came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A trace file (a `record` trace, CSV, JSON) or a saved Prometheus answer.
    File,
    /// A live memory cgroup (`--cgroup`), read now.
    Cgroup,
    /// A Prometheus server queried over HTTP (`--prometheus`).
    Prometheus,
}

/// Everything `recommend` says about one target (a trace series, a cgroup, a container).
/// Sizes in bytes, times in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// File name (and series), cgroup path, or `namespace/pod/container`.
    pub target: String,
    /// Where the history came from.
    pub source: Source,
    /// The memory metric used (`anon_bytes`, `working_set_bytes`, the PromQL query...).
    pub metric: String,
    /// `namespace`, `pod`, `container` when known (Prometheus, or the identity of a live
    /// cgroup or of a trace's target).
    pub labels: std::collections::BTreeMap<String, String>,
    /// The workload of a live cgroup (`--cgroup`, every field `null` where unknown), or of a
    /// trace whose header names it (`record --cgroup`); `null` otherwise.
    pub identity: Option<TargetIdentity>,
    /// Samples used, and values skipped because they were NaN, ±Inf or negative.
    pub samples: usize,
    /// Values skipped as NaN, ±Inf or negative (Prometheus); 0 for other sources.
    pub skipped_non_finite: usize,
    /// Length of the intervals the peaks are taken over, seconds (300 unless `--interval` or a
    /// short history).
    pub interval_s: f64,
    /// Interval peaks the policies worked on.
    pub intervals: usize,
    /// From the first to the last sample.
    pub history_s: f64,
    /// Largest interval peak (or, for a live cgroup, its `memory.peak`).
    pub peak_bytes: Option<u64>,
    /// Nearest-rank percentiles of the interval peaks.
    pub p50_bytes: Option<u64>,
    /// P90 of the interval peaks, bytes; `None` without peaks.
    pub p90_bytes: Option<u64>,
    /// P95 of the interval peaks, bytes; `None` without peaks.
    pub p95_bytes: Option<u64>,
    /// Live cgroup only: usage now (working set when known).
    pub current_bytes: Option<u64>,
    /// The limit in force (trace header or live cgroup), `null` when none or unknown.
    pub current_limit_bytes: Option<u64>,
    /// OOM kills in the history: trace `oom_kill` events, the cgroup's `memory.events`
    /// `oom_kill`, or kube-state-metrics with `--oom-metric`.
    pub oom_kills: u64,
    /// The leak verdict of `analyze memory-trace` on the same series (`null` when not run).
    pub leak_verdict: Option<crate::analysis::leak::Verdict>,
    /// One answer per policy asked for, in the order asked.
    pub recommendations: Vec<Recommendation>,
    /// With `--backtest`.
    pub backtest: Option<Backtest>,
    /// History too short, OOM kills, peak at the limit, no limit, leak..., and each policy's
    /// warnings prefixed with its name.
    pub warnings: Vec<String>,
    /// Interval peaks, for plots (not in JSON).
    #[serde(skip)]
    pub peaks: Vec<f64>,
}

/// A target's workload: the live cgroup's [`Identity`], or the one a trace header recorded
/// ([`crate::trace::TraceIdentity`]).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum TargetIdentity {
    /// Resolved now, from the node's files.
    Live(Identity),
    /// As the trace's header recorded it when the trace was written.
    Trace(TraceIdentity),
}

impl Target {
    /// Name the target by `id`: the identity, and its `namespace`/`pod`/`container` as labels
    /// (what `--emit` writes into its comments and the VPA object).
    pub fn set_identity(&mut self, id: Identity) {
        for (k, v) in [
            ("namespace", &id.namespace),
            ("pod", &id.pod),
            ("container", &id.container_name),
        ] {
            if let Some(v) = v {
                if k != "container" || id.pod.is_some() {
                    self.labels.insert(k.to_string(), v.clone());
                }
            }
        }
        self.identity = Some(TargetIdentity::Live(id));
    }

    /// Name the target by a trace header's identity, as [`Target::set_identity`].
    pub fn set_trace_identity(&mut self, id: TraceIdentity) {
        for (k, v) in [
            ("namespace", &id.namespace),
            ("pod", &id.pod),
            ("container", &id.container_name),
        ] {
            if let Some(v) = v {
                if k != "container" || id.pod.is_some() {
                    self.labels.insert(k.to_string(), v.clone());
                }
            }
        }
        self.identity = Some(TargetIdentity::Trace(id));
    }

    /// Run `policies` (and the back-test when `backtest` is a fraction) on `h`.
    pub fn assess(
        target: String,
        source: Source,
        metric: String,
        h: &History,
        policies: &[Policy],
        backtest_fraction: Option<f64>,
    ) -> Target {
        let q = |p: f64| h.percentile(p).map(bytes);
        let recommendations: Vec<Recommendation> =
            policies.iter().map(|&p| recommend(h, p)).collect();
        let mut warnings = history_warnings(h);
        for r in &recommendations {
            warnings.extend(
                r.warnings
                    .iter()
                    .map(|w| format!("{}: {w}", r.policy.as_str())),
            );
        }
        Target {
            target,
            source,
            metric,
            labels: Default::default(),
            identity: None,
            samples: h.samples(),
            skipped_non_finite: 0,
            interval_s: h.interval_s,
            intervals: h.peaks.len(),
            history_s: h.span_s(),
            peak_bytes: h.max_bytes().map(bytes),
            p50_bytes: q(0.5),
            p90_bytes: q(0.9),
            p95_bytes: q(0.95),
            current_bytes: None,
            current_limit_bytes: h.limit_bytes.map(bytes),
            oom_kills: h.oom_kills(),
            leak_verdict: None,
            recommendations,
            backtest: backtest_fraction.map(|f| backtest(h, f, policies)),
            warnings,
            peaks: h.peaks.iter().map(|p| p.peak_bytes).collect(),
        }
    }
}
