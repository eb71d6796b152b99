//! Where `recommend` gets its histories, and the one place that assembles them: trace files
//! (with the trace's own limit and its `oom_kill` events, and the leak check of `analyze`),
//! saved Prometheus answers, a live memory cgroup (usage, `memory.peak`, `memory.events`), and
//! a Prometheus server (chunked `query_range`, with OOM kills from kube-state-metrics' gauge).
//! `clw-diag recommend` and `clw-diag report --trace` both call [`from_file`], so they cannot
//! give different numbers for the same trace.

use std::path::{Path, PathBuf};

use serde::Serialize;

#[cfg(test)]
use super::bytes;
pub use super::cgroup::from_cgroup;
use super::history::{History, OomEvent};
pub use super::prometheus::{from_prometheus, oom_edges, PrometheusSource};
use super::target::{Source, Target};
use super::{mib, Policy, MIN_INTERVALS, SHORT_INTERVALS};
use crate::analysis::leak::{self, LeakOptions, LeakResult, Verdict};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::trace::{read, Series};

/// The default interval when the history is long enough for it: 5 minutes, as the VPA and
/// krr look at memory.
pub const DEFAULT_INTERVAL_S: f64 = 300.0;

/// Interval lengths [`auto_interval`] chooses from, seconds.
const NICE_INTERVALS_S: [f64; 11] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 180.0, 240.0, 300.0,
];

/// How the histories are cut and judged: the command's plan, without its flags.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The policies to run, in order.
    pub policies: Vec<Policy>,
    /// Interval length in seconds; `None` chooses one per history from its length
    /// ([`auto_interval`]).
    pub interval_s: Option<f64>,
    /// Back-test on this fraction (0–1) of the intervals, when set.
    pub backtest: Option<f64>,
    /// The memory column of trace files (`None`: the trace's default, see `trace::read`).
    pub metric: Option<String>,
    /// The host's memory in bytes (`MemTotal`), to warn about a limit above it; `None` when
    /// unknown.
    pub host_total_bytes: Option<u64>,
}

impl Plan {
    /// The interval used for a history spanning `span_s` seconds.
    pub fn interval_for(&self, span_s: f64) -> f64 {
        self.interval_s.unwrap_or_else(|| auto_interval(span_s))
    }
}

/// The interval for a history of `span_s` seconds when none was asked for: 5 minutes when the
/// history holds at least [`SHORT_INTERVALS`] of them, else the longest "nice" interval (1 s, 2 s,
/// 5 s … 5 min) that still cuts it into [`SHORT_INTERVALS`] intervals, or failing that into
/// [`MIN_INTERVALS`]; 1 s for anything shorter. A 10-minute trace gets 30 s intervals, not
/// `insufficient-data`.
pub fn auto_interval(span_s: f64) -> f64 {
    if !span_s.is_finite() || span_s <= 0.0 {
        return DEFAULT_INTERVAL_S;
    }
    for n in [SHORT_INTERVALS, MIN_INTERVALS] {
        if let Some(i) = NICE_INTERVALS_S
            .iter()
            .rev()
            .find(|&&i| i * n as f64 <= span_s)
        {
            return *i;
        }
    }
    NICE_INTERVALS_S[0]
}

/// The span of a series' samples, seconds (0 for fewer than two).
pub(super) fn span(t: &[f64]) -> f64 {
    match (t.first(), t.last()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    }
}

/// `1m`, `30s`, `2.5s`: an interval as `--interval` accepts it.
pub fn interval_arg(s: f64) -> String {
    if s >= 60.0 && (s / 60.0).fract() == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    }
}

/// The history of a trace series: its interval peaks, the trace's own limit, and its OOM
/// kills (`oom_kill` events; a counter that rose by `count` between two samples).
pub fn history_of(s: &Series, interval_s: f64) -> History {
    let mut h = History::from_samples(&s.t, &s.v, interval_s);
    h.limit_bytes = s.limit_bytes.map(|l| l as f64);
    h.ooms = s
        .oom_kills()
        .map(|k| OomEvent {
            t_s: k.t,
            count: k.count,
        })
        .collect();
    h
}

/// The leak analysis `analyze memory-trace` makes of `s` with no flags: against the trace's own
/// limit when it has one, with the default practical thresholds.
pub fn leak_of(s: &Series) -> LeakResult {
    leak::analyze(
        s,
        &LeakOptions {
            limit: s
                .limit_bytes
                .map(|l| (l, "the trace's cgroup limit".to_string())),
            ..LeakOptions::default()
        },
    )
}

/// Record `r`'s verdict on `t`, with a warning when it leaks.
pub(super) fn note_leak(r: &LeakResult, t: &mut Target) {
    if r.verdict == Verdict::InsufficientData {
        return;
    }
    t.leak_verdict = Some(r.verdict);
    let rate = r
        .slope_bytes_per_s
        .map(|b| format!(" ({:+.2} MiB/h)", b * 3600.0 / 1048576.0))
        .unwrap_or_default();
    match r.verdict {
        Verdict::Leak => t.warnings.push(format!(
            "a leak was detected in the trace{rate}: a bigger limit only delays the OOM kill; fix the leak (see clw-diag analyze memory-trace)"
        )),
        Verdict::Suspected => t.warnings.push(format!(
            "a leak is suspected in the trace{rate}: check with clw-diag analyze memory-trace before trusting a limit"
        )),
        _ => {}
    }
}

/// Warnings that need the whole plan: a limit above the host's memory (the VPA's upper bound
/// on a short history), and the interval that would have given an answer.
pub(super) fn plan_warnings(t: &mut Target, plan: &Plan, span_s: f64) {
    let ceiling = [
        plan.host_total_bytes.map(|b| (b, "the host's MemTotal")),
        t.current_limit_bytes.map(|b| (b, "the cgroup's limit")),
    ];
    for r in &t.recommendations {
        let Some(l) = r.limit_bytes else { continue };
        // A limit above the cgroup's own limit is the point after OOM kills; above the host,
        // it is no limit at all.
        if let Some((c, what)) = ceiling[0] {
            if l > c {
                t.warnings.push(format!(
                    "{}: limit {} is above {what} {}: it limits nothing on this host",
                    r.policy.as_str(),
                    mib(l as f64),
                    mib(c as f64)
                ));
            }
        }
        if let (Some((c, what)), Policy::Vpa, 0) = (ceiling[1], r.policy, t.oom_kills) {
            if l > c {
                t.warnings.push(format!(
                    "vpa: limit {} is above {what} {} with no OOM kill in the history (the VPA widens its upper bound on a short history)",
                    mib(l as f64),
                    mib(c as f64)
                ));
            }
        }
    }
    if t.intervals < MIN_INTERVALS && span_s > 0.0 {
        let would = auto_interval(span_s);
        if would < t.interval_s && (span_s / would) as usize >= MIN_INTERVALS {
            t.warnings.push(format!(
                "{} interval(s) of {} in {:.0} s of history: --interval {} would give {} intervals",
                t.intervals,
                interval_arg(t.interval_s),
                span_s,
                interval_arg(would),
                (span_s / would) as usize
            ));
        }
    }
}

/// Everything the policies say about one trace series, and the leak analysis behind its leak
/// verdict (`None` when the series has too few samples for one).
pub fn assess_series(s: &Series, plan: &Plan) -> (Target, LeakResult) {
    let span_s = span(&s.t);
    let h = history_of(s, plan.interval_for(span_s));
    let mut t = Target::assess(
        s.name.clone(),
        Source::File,
        s.metric.clone(),
        &h,
        &plan.policies,
        plan.backtest,
    );
    t.warnings.extend(s.warnings.iter().cloned());
    let r = leak_of(s);
    note_leak(&r, &mut t);
    plan_warnings(&mut t, plan, span_s);
    (t, r)
}

/// The targets of one input file: each series of a trace (JSON Lines, a JSON document with
/// `samples`, CSV), or each grouped series of a saved Prometheus `query_range` answer (NaN and
/// ±Inf values skipped and counted).
///
/// Errors: those of [`read::read_file`], the one reader `analyze` uses too:
/// [`Error::Io`]/[`Error::PermissionDenied`] when the file cannot be read,
/// [`Error::NotSupported`] when it is not a regular file, [`Error::TooLarge`] past the trace
/// bounds, [`Error::Malformed`] when it is not a trace or a Prometheus answer, or holds no
/// usable samples.
pub fn from_file(path: &Path, plan: &Plan) -> Result<Vec<Target>> {
    Ok(from_file_with_leaks(path, plan)?
        .into_iter()
        .map(|(t, _)| t)
        .collect())
}

/// [`from_file`] with each target's leak analysis (`None` for Prometheus answers, which carry
/// no trace to analyse beyond the samples).
pub fn from_file_with_leaks(path: &Path, plan: &Plan) -> Result<Vec<(Target, Option<LeakResult>)>> {
    // One reader for `analyze` and `recommend`: the same file gives the same series (and the
    // same errors) to both.
    Ok(read::read_file(path, plan.metric.as_deref())?
        .iter()
        .map(|s| {
            let (mut t, r) = assess_series(s, plan);
            if let Some(id) = &s.identity {
                if let Some(w) = &id.workload {
                    t.target = format!("{} {w}", t.target);
                }
                t.set_trace_identity(id.clone());
            }
            match &s.labels {
                Some(labels) => {
                    t.source = Source::Prometheus;
                    t.labels = labels.clone();
                    t.skipped_non_finite = s.skipped_non_finite;
                    (t, None)
                }
                None => (t, Some(r)),
            }
        })
        .collect())
}

pub(super) fn skipped_note(n: usize) -> String {
    if n > 0 {
        format!(", {n} NaN/Inf values skipped")
    } else {
        String::new()
    }
}

/// Everything one `recommend` run reads.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Trace files and saved Prometheus answers.
    pub files: Vec<PathBuf>,
    /// A live memory cgroup: (the cgroup root, the cgroup's path or workload name).
    pub cgroup: Option<(PathBuf, String)>,
    /// Where the node's runtime and kubelet files are read to name the cgroup's workload;
    /// `None` is `/`.
    pub host_root: Option<PathBuf>,
    /// A Prometheus server to query (`--prometheus`); `None` when not asked for.
    pub prometheus: Option<PrometheusSource>,
}

/// The results of one `recommend` run: the model `recommend` renders.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendReport {
    /// One per trace series, live cgroup, or Prometheus container, in input order.
    pub targets: Vec<Target>,
    /// What the readers tolerated or skipped.
    pub warnings: Vec<String>,
}

/// Read every input of `req` (files, then the cgroup, then Prometheus) and assess each target.
///
/// Errors: the first input that cannot be read (see [`from_file`], [`from_cgroup`],
/// [`from_prometheus`]); a cgroup error names the cgroup.
pub fn run(req: &Request, plan: &Plan) -> Result<RecommendReport> {
    let mut targets = Vec::new();
    for f in &req.files {
        targets.extend(from_file(f, plan)?);
    }
    if let Some((root, rel)) = &req.cgroup {
        let host = req.host_root.as_deref().unwrap_or(Path::new("/"));
        targets.push(from_cgroup(root, host, rel, plan)?);
    }
    if let Some(p) = &req.prometheus {
        targets.extend(from_prometheus(p, plan)?);
    }
    Ok(RecommendReport {
        targets,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Event, EventLine};

    #[test]
    fn auto_interval_fits_the_history() {
        // Long enough for 20 intervals of 5 min: 5 min.
        assert_eq!(auto_interval(100.0 * 60.0), 300.0);
        assert_eq!(auto_interval(7.0 * 86400.0), 300.0);
        // 10 minutes: 30 s gives 20 intervals.
        assert_eq!(auto_interval(600.0), 30.0);
        // 15 s: 20 intervals of 0.75 s are not nice; 3 of 5 s are.
        assert_eq!(auto_interval(15.0), 5.0);
        assert_eq!(auto_interval(2.0), 1.0);
        assert_eq!(auto_interval(0.0), DEFAULT_INTERVAL_S);
        assert_eq!(auto_interval(f64::NAN), DEFAULT_INTERVAL_S);
    }

    fn series(n: usize, dt: f64, v: f64) -> Series {
        Series {
            name: "t".into(),
            metric: "rss_bytes".into(),
            t: (0..n).map(|i| i as f64 * dt).collect(),
            v: vec![v; n],
            pid: vec![Some(1); n],
            ..Series::default()
        }
    }

    fn plan(interval_s: Option<f64>) -> Plan {
        Plan {
            policies: vec![Policy::Clw],
            interval_s,
            backtest: None,
            metric: None,
            host_total_bytes: None,
        }
    }

    #[test]
    fn a_short_trace_gets_a_recommendation_by_default() {
        // 500 s at 1 Hz: 5-minute intervals give 2 peaks (insufficient), auto gives 15 s × 33.
        let s = series(500, 1.0, 100.0 * 1048576.0);
        let (fixed, _) = assess_series(&s, &plan(Some(300.0)));
        assert!(fixed.recommendations[0].limit_bytes.is_none());
        assert!(
            fixed
                .warnings
                .iter()
                .any(|w| w.contains("--interval 15s would give 33 intervals")),
            "{:?}",
            fixed.warnings
        );
        let (auto, _) = assess_series(&s, &plan(None));
        assert_eq!(auto.interval_s, 15.0);
        assert_eq!(
            auto.recommendations[0].limit_bytes,
            Some(bytes(100.0 * 1048576.0 * 1.15))
        );
    }

    #[test]
    fn the_trace_limit_and_oom_kills_raise_the_clw_limit() {
        let mut s = series(601, 1.0, 500.0 * 1048576.0);
        s.limit_bytes = Some(600 * 1048576);
        s.events.push(EventLine {
            t: 300.0,
            event: Event::OomKill {
                count: 2,
                source: None,
            },
        });
        let (t, _) = assess_series(&s, &plan(None));
        assert_eq!(t.oom_kills, 2);
        assert_eq!(t.current_limit_bytes, Some(600 * 1048576));
        // max(600 MiB + 100 MiB, 600 MiB × 1.2) = 720 MiB.
        assert_eq!(
            t.recommendations[0].limit_bytes,
            Some(bytes(720.0 * 1048576.0))
        );
    }

    #[test]
    fn a_limit_above_the_host_is_said() {
        let s = series(601, 1.0, 100.0 * 1048576.0);
        let mut p = plan(None);
        p.host_total_bytes = Some(64 * 1048576);
        let (t, _) = assess_series(&s, &p);
        assert!(
            t.warnings
                .iter()
                .any(|w| w.contains("above the host's MemTotal")),
            "{:?}",
            t.warnings
        );
    }
}
