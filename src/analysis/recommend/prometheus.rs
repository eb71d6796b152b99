//! History from Prometheus: a server's `query_range` answers (chunked, with a timeout) and saved
//! answers in files, grouped per `namespace/pod/container`, with OOM kills from
//! kube-state-metrics' `last_terminated_reason` gauge.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::history::{History, OomEvent};
use super::sources::{
    leak_of, note_leak, plan_warnings, skipped_note, span, Plan, DEFAULT_INTERVAL_S,
};
use super::target::{Source, Target};
use crate::error::{Error, Result};
use crate::trace::prometheus::{self, PromSeries, RangeQuery};
use crate::trace::Series;

/// A Prometheus server to read history from.
#[derive(Debug, Clone)]
pub struct PrometheusSource {
    /// Base URL, e.g. `http://prometheus:9090`.
    pub url: String,
    /// Label selector of the default query (`namespace="shop"`, braces optional).
    pub selector: Option<String>,
    /// A PromQL query returning bytes, instead of the default working-set query.
    pub query: Option<String>,
    /// How far back from now, seconds.
    pub since_s: f64,
    /// Timeout of each HTTP request.
    pub timeout: Duration,
    /// Also read OOM kills from kube-state-metrics'
    /// `kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}`.
    pub oom_metric: bool,
}

fn prom_error(url: &str, msg: String) -> Error {
    Error::Remote {
        url: url.to_string(),
        msg,
    }
}

/// The targets of a Prometheus server: `max_over_time(container_memory_working_set_bytes{SEL}
/// [INTERVAL])` (or `query`) over `since_s`, grouped per `namespace/pod/container`, the step
/// being the interval (5 min unless asked). With `oom_metric`, an OOM kill where
/// kube-state-metrics' gauge turns 1.
///
/// Errors: [`Error::Remote`] when the server cannot be reached, times out, answers with an
/// error, or returns no samples.
pub fn from_prometheus(src: &PrometheusSource, plan: &Plan) -> Result<Vec<Target>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
        .floor();
    let selector = src
        .selector
        .as_deref()
        .map(|s| {
            s.trim()
                .trim_start_matches('{')
                .trim_end_matches('}')
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    // The step is the interval: Prometheus needs it before the history's length is known.
    let step = plan.interval_s.unwrap_or(DEFAULT_INTERVAL_S);
    let plan = &Plan {
        interval_s: Some(step),
        ..plan.clone()
    };
    let range = format!("{}s", step.round().max(1.0));
    let query = src.query.clone().unwrap_or_else(|| {
        format!("max_over_time(container_memory_working_set_bytes{{{selector}}}[{range}])")
    });
    let q = RangeQuery {
        url: src.url.clone(),
        query: query.clone(),
        start: now - src.since_s,
        end: now,
        step,
        timeout: src.timeout,
    };
    let (series, skipped) = prometheus::query_range(&q).map_err(|m| prom_error(&src.url, m))?;
    let (groups, _) = prometheus::group(series);
    if groups.iter().all(|g| g.v.is_empty()) {
        return Err(prom_error(
            &src.url,
            format!(
                "the query returned no samples (empty result{}): {query}",
                skipped_note(skipped.non_finite)
            ),
        ));
    }
    let mut ooms: BTreeMap<String, Vec<(f64, u64)>> = BTreeMap::new();
    if src.oom_metric {
        let sel = if selector.is_empty() {
            String::new()
        } else {
            format!(",{selector}")
        };
        let q = RangeQuery {
            query: format!(
                "max_over_time(kube_pod_container_status_last_terminated_reason{{reason=\"OOMKilled\"{sel}}}[{range}])"
            ),
            ..q.clone()
        };
        let (s, _) = prometheus::query_range(&q).map_err(|m| prom_error(&src.url, m))?;
        for g in prometheus::group(s).0 {
            ooms.entry(g.key()).or_default().extend(oom_edges(&g));
        }
    }
    Ok(groups
        .into_iter()
        .filter(|g| !g.v.is_empty())
        .map(|g| {
            let key = g.key();
            let o = ooms.get(&key).cloned().unwrap_or_default();
            let mut t = prom_target(g, key, query.clone(), plan, &o);
            t.skipped_non_finite = skipped.non_finite;
            t
        })
        .collect())
}

/// OOM kills in kube-state-metrics' `last_terminated_reason{reason="OOMKilled"}` gauge: where it
/// turns 1 (it stays 1 until the container's next termination). (Unix seconds, count.)
pub fn oom_edges(g: &PromSeries) -> Vec<(f64, u64)> {
    let mut prev = 0.0;
    let mut edges = Vec::new();
    for (t, v) in g.t.iter().zip(&g.v) {
        if *v >= 1.0 && prev < 1.0 {
            edges.push((*t, 1));
        }
        prev = *v;
    }
    edges
}

/// A target of one grouped Prometheus series (times are Unix seconds; `ooms` too).
fn prom_target(
    g: PromSeries,
    name: String,
    metric: String,
    plan: &Plan,
    ooms: &[(f64, u64)],
) -> Target {
    let t0 = g.t.first().copied().unwrap_or(0.0);
    let s = Series {
        name: name.clone(),
        metric: metric.clone(),
        t: g.t.iter().map(|t| t - t0).collect(),
        v: g.v.clone(),
        pid: vec![None; g.t.len()],
        ..Series::default()
    };
    let span_s = span(&s.t);
    let mut h = History::from_samples(&s.t, &s.v, plan.interval_for(span_s));
    h.ooms = ooms
        .iter()
        .map(|&(t, count)| OomEvent { t_s: t - t0, count })
        .collect();
    let mut t = Target::assess(
        name,
        Source::Prometheus,
        metric,
        &h,
        &plan.policies,
        plan.backtest,
    );
    t.labels = g.labels;
    note_leak(&leak_of(&s), &mut t);
    plan_warnings(&mut t, plan, span_s);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_edges_of_the_gauge() {
        let g = PromSeries {
            labels: Default::default(),
            t: vec![0.0, 1.0, 2.0, 3.0, 4.0],
            v: vec![0.0, 1.0, 1.0, 0.0, 1.0],
        };
        assert_eq!(oom_edges(&g), vec![(1.0, 1), (4.0, 1)]);
    }
}
