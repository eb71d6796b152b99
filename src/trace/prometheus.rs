//! A small Prometheus HTTP API client for `recommend --prometheus`: range queries
//! (`/api/v1/query_range`, <https://prometheus.io/docs/prometheus/latest/querying/api/>) split
//! into chunks of at most 11,000 points per series (the server refuses more: "exceeded maximum
//! resolution of 11,000 points per timeseries"), and the parsing of `matrix` results shared with
//! saved `query_range` responses. Series are grouped per container (`namespace`, `pod`,
//! `container` labels); series of one container (cAdvisor's per-image or per-id duplicates) are
//! merged by taking the larger value at each time. `NaN` and `±Inf` values (stale or broken
//! series) are skipped and counted, never read as memory sizes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

/// Labels kept for a container, and its points (time in ms → the larger value).
type Group = (BTreeMap<String, String>, BTreeMap<u64, f64>);

/// Most points Prometheus returns per series for one range query.
pub const MAX_POINTS: u64 = 11_000;

/// One series (or container, after [`group`]) of a range query. Times are Unix seconds, values
/// as the query returned them (bytes for memory metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromSeries {
    /// The series' label set (`metric` of the result: `namespace`, `pod`, `container`…); after
    /// [`group`], the labels of the container.
    pub labels: BTreeMap<String, String>,
    /// Sample times, Unix seconds, ascending; same length as `v`.
    pub t: Vec<f64>,
    /// Sample values, as the query returned them (bytes for memory metrics); NaN, ±Inf and negative
    /// values are left out, with their times.
    pub v: Vec<f64>,
}

impl PromSeries {
    /// `namespace/pod/container` (the parts known), or every label when none of them is.
    pub fn key(&self) -> String {
        let parts: Vec<&str> = ["namespace", "pod", "container"]
            .iter()
            .filter_map(|l| self.labels.get(*l).map(String::as_str))
            .collect();
        if !parts.is_empty() {
            return parts.join("/");
        }
        let all: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        format!("{{{}}}", all.join(","))
    }
}

/// What a matrix held besides the usable points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// `NaN`, `+Inf` or `-Inf` values, or negative ones.
    pub non_finite: usize,
}

/// Parse the `data.result` of a `query_range` response (`resultType` `matrix`). Errors are
/// messages for people: `status` not `success` (with Prometheus' own `error`), not a matrix,
/// a malformed point.
pub fn parse_matrix(doc: &Value) -> Result<(Vec<PromSeries>, Skipped), String> {
    if let Some(status) = doc.get("status").and_then(Value::as_str) {
        if status != "success" {
            let err = doc.get("error").and_then(Value::as_str).unwrap_or("");
            return Err(format!("Prometheus answered {status}: {err}"));
        }
    }
    if let Some(rt) = doc.pointer("/data/resultType").and_then(Value::as_str) {
        if rt != "matrix" {
            return Err(format!(
                "the result is a {rt}, not a matrix (a range query is needed)"
            ));
        }
    }
    let result = doc
        .pointer("/data/result")
        .and_then(Value::as_array)
        .ok_or("no data.result array (not a query_range response)")?;
    let mut skipped = Skipped::default();
    let mut out = Vec::with_capacity(result.len());
    for (k, s) in result.iter().enumerate() {
        let labels = s
            .get("metric")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let values = s
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("data.result[{k}] has no \"values\" array"))?;
        let mut ps = PromSeries {
            labels,
            ..PromSeries::default()
        };
        for (i, pair) in values.iter().enumerate() {
            let t = pair.get(0).and_then(Value::as_f64);
            let v = pair.get(1).and_then(Value::as_str).map(str::parse::<f64>);
            let (Some(t), Some(Ok(v))) = (t, v) else {
                return Err(format!(
                    "data.result[{k}].values[{i}] is not [time, \"value\"]"
                ));
            };
            if !t.is_finite() {
                return Err(format!("data.result[{k}].values[{i}]: time {t}"));
            }
            if !v.is_finite() || v < 0.0 {
                skipped.non_finite += 1;
                continue;
            }
            ps.t.push(t);
            ps.v.push(v);
        }
        out.push(ps);
    }
    Ok((out, skipped))
}

/// Merge series of the same container ([`PromSeries::key`]): the larger value at each time,
/// times sorted. cAdvisor's pod-level series (`container=""` or `"POD"`) are dropped when
/// container-level ones exist; the count of dropped series is returned.
pub fn group(series: Vec<PromSeries>) -> (Vec<PromSeries>, usize) {
    // Prometheus leaves out empty labels, so cAdvisor's pod-level series has a pod and no
    // container.
    let is_pod_level = |s: &PromSeries| match s.labels.get("container") {
        Some(c) => c.is_empty() || c == "POD",
        None => s.labels.contains_key("pod"),
    };
    let any_container = series
        .iter()
        .any(|s| s.labels.contains_key("container") && !is_pod_level(s));
    let mut dropped = 0;
    let mut by_key: BTreeMap<String, Group> = BTreeMap::new();
    for s in series {
        if any_container && is_pod_level(&s) {
            dropped += 1;
            continue;
        }
        let key = s.key();
        let entry = by_key.entry(key).or_insert_with(|| {
            let keep: BTreeMap<String, String> = s
                .labels
                .iter()
                .filter(|(k, _)| ["namespace", "pod", "container"].contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (
                if keep.is_empty() {
                    s.labels.clone()
                } else {
                    keep
                },
                BTreeMap::new(),
            )
        });
        for (t, v) in s.t.iter().zip(&s.v) {
            // Times as milliseconds (Prometheus' own resolution) so equal times merge.
            let ms = (t * 1000.0).round() as u64;
            let e = entry.1.entry(ms).or_insert(*v);
            *e = e.max(*v);
        }
    }
    let out = by_key
        .into_values()
        .map(|(labels, points)| PromSeries {
            labels,
            t: points.keys().map(|&ms| ms as f64 / 1000.0).collect(),
            v: points.into_values().collect(),
        })
        .collect();
    (out, dropped)
}

/// Split [start, end] (Unix seconds) at `step` into ranges of at most [`MAX_POINTS`] points.
pub fn chunks(start: f64, end: f64, step: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    if step.is_nan() || step <= 0.0 || end < start {
        return out;
    }
    let span = step * (MAX_POINTS - 1) as f64;
    let mut a = start;
    while a <= end {
        let b = (a + span).min(end);
        out.push((a, b));
        a = b + step;
    }
    out
}

/// A range query against a Prometheus server.
#[derive(Debug, Clone)]
pub struct RangeQuery {
    /// Base URL, e.g. `http://prometheus:9090` (a trailing `/` is fine).
    pub url: String,
    /// The PromQL expression, sent as `query` to `/api/v1/query_range`.
    pub query: String,
    /// Unix seconds.
    pub start: f64,
    /// End of the range, Unix seconds.
    pub end: f64,
    /// Resolution, seconds between points (sent as `step=Ns`); the range is split so that no
    /// request asks for more than [`MAX_POINTS`] points.
    pub step: f64,
    /// For each HTTP request, from connecting to the whole body.
    pub timeout: Duration,
}

/// Run `q` in chunks and return every series (not yet grouped) and what was skipped.
///
/// Errors (one line, naming the URL): the server cannot be reached or times out, answers with
/// an HTTP error or an `error` status (Prometheus' message is kept), or sends something that is
/// not a query_range response.
pub fn query_range(q: &RangeQuery) -> Result<(Vec<PromSeries>, Skipped), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(q.timeout))
        .http_status_as_error(false)
        .user_agent(concat!("clw-diag/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let endpoint = format!("{}/api/v1/query_range", q.url.trim_end_matches('/'));
    let mut all = Vec::new();
    let mut skipped = Skipped::default();
    for (a, b) in chunks(q.start, q.end, q.step) {
        let mut res = agent
            .get(&endpoint)
            .query("query", &q.query)
            .query("start", format!("{a:.3}"))
            .query("end", format!("{b:.3}"))
            .query("step", format!("{}s", q.step))
            .call()
            .map_err(|e| match e {
                ureq::Error::Timeout(_) => format!(
                    "{endpoint}: no answer within {:.0} s (--timeout)",
                    q.timeout.as_secs_f64()
                ),
                e => format!("{endpoint}: cannot reach Prometheus: {e}"),
            })?;
        let status = res.status().as_u16();
        let text = res
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_string()
            .map_err(|e| format!("{endpoint}: reading the answer: {e}"))?;
        let doc: Value = serde_json::from_str(&text).map_err(|_| {
            let head: String = text.chars().take(80).collect();
            format!(
                "{endpoint}: HTTP {status}, not a Prometheus API answer: {:?}",
                head.trim()
            )
        })?;
        let (series, s) = parse_matrix(&doc).map_err(|e| format!("{endpoint}: {e}"))?;
        if status != 200 {
            return Err(format!("{endpoint}: HTTP {status}"));
        }
        skipped.non_finite += s.non_finite;
        all.extend(series);
    }
    Ok((all, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_at_most_11000_points() {
        assert_eq!(chunks(0.0, 600.0, 300.0), vec![(0.0, 600.0)]);
        let c = chunks(0.0, 300.0 * 25_000.0, 300.0);
        assert_eq!(c.len(), 3);
        for (a, b) in &c {
            assert!((((b - a) / 300.0) as u64) < MAX_POINTS);
        }
        assert_eq!(c[1].0, c[0].1 + 300.0, "no point twice, none left out");
        assert_eq!(c[2].1, 300.0 * 25_000.0);
        assert!(chunks(10.0, 0.0, 1.0).is_empty());
        assert!(chunks(0.0, 10.0, 0.0).is_empty());
    }

    #[test]
    fn matrix_with_nan_and_errors() {
        let doc: Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"namespace":"a","pod":"p-1","container":"web","id":"/x"},"values":[[1,"10"],[2,"NaN"],[3,"+Inf"],[4,"30"]]},
            {"metric":{"namespace":"a","pod":"p-1","container":"web","id":"/y"},"values":[[1,"20"],[4,"5"]]},
            {"metric":{"namespace":"a","pod":"p-1","container":""},"values":[[1,"99"]]},
            {"metric":{"namespace":"a","pod":"p-1"},"values":[[1,"99"]]}]}}"#,
        )
        .unwrap();
        let (s, skipped) = parse_matrix(&doc).unwrap();
        assert_eq!(skipped.non_finite, 2);
        let (g, dropped) = group(s);
        assert_eq!(dropped, 2);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].key(), "a/p-1/web");
        assert_eq!(
            (g[0].t.clone(), g[0].v.clone()),
            (vec![1.0, 4.0], vec![20.0, 30.0])
        );
        let err: Value = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
        .unwrap();
        assert!(parse_matrix(&err).unwrap_err().contains("parse error"));
        let vector: Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        )
        .unwrap();
        assert!(parse_matrix(&vector).unwrap_err().contains("not a matrix"));
    }

    #[test]
    fn unreachable_server_is_an_error_within_the_timeout() {
        let q = RangeQuery {
            url: "http://127.0.0.1:1".into(),
            query: "up".into(),
            start: 0.0,
            end: 60.0,
            step: 60.0,
            timeout: Duration::from_secs(2),
        };
        let t = std::time::Instant::now();
        let e = query_range(&q).unwrap_err();
        assert!(e.contains("127.0.0.1:1"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
    }
}
