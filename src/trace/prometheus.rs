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

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::bounds::{self, MAX_LABEL_BYTES, MAX_SERIES};

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
    /// `NaN`, `+Inf` or `-Inf` values (Prometheus' stale markers, broken series).
    pub non_finite: usize,
    /// Label values longer than [`MAX_LABEL_BYTES`], kept elided.
    pub elided_labels: usize,
}

/// A `query_range` answer as Prometheus sends it (`status`, `error`, `data`), parsed into typed
/// records as it is read: no `serde_json::Value` of the whole document, at most [`MAX_SERIES`]
/// series, label values elided past [`MAX_LABEL_BYTES`].
#[derive(Debug, Default, Deserialize)]
pub struct Response {
    /// `success` or `error`.
    #[serde(default)]
    pub status: Option<String>,
    /// Prometheus' own message when `status` is `error`.
    #[serde(default)]
    pub error: Option<String>,
    /// The result.
    #[serde(default)]
    pub data: Option<Data>,
}

/// `data` of a [`Response`].
#[derive(Debug, Default, Deserialize)]
pub struct Data {
    /// `matrix` for a range query.
    #[serde(default, rename = "resultType")]
    pub result_type: Option<String>,
    /// The series.
    #[serde(default)]
    pub result: Option<SeriesList>,
}

/// `data.result`: at most [`MAX_SERIES`] series (a longer list is an error as soon as it is
/// seen, before it is held in memory).
#[derive(Debug, Default)]
pub struct SeriesList(Vec<RawSeries>);

/// One element of `data.result`.
#[derive(Debug, Default, Deserialize)]
pub struct RawSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Option<Vec<Point>>,
}

/// A series' labels, values past [`MAX_LABEL_BYTES`] elided.
#[derive(Debug, Default)]
struct Labels {
    map: BTreeMap<String, String>,
    elided: usize,
}

/// `[time, "value"]`; `None` where the element is not a number (or a string of one).
#[derive(Debug)]
struct Point {
    t: Option<f64>,
    v: Option<f64>,
}

/// A number, or a string holding one (`"NaN"` and `"+Inf"` included).
struct Num(Option<f64>);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().ok()))
            }
            fn visit_unit<E>(self) -> Result<Num, E> {
                Ok(Num(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
                Ok(Num(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Point, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Point;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("[time, \"value\"]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Point, A::Error> {
                let t = seq.next_element::<Num>()?.and_then(|n| n.0);
                let v = seq.next_element::<Num>()?.and_then(|n| n.0);
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Point { t, v })
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Labels;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a label set")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Labels, A::Error> {
                let mut out = Labels::default();
                while let Some(k) = m.next_key::<String>()? {
                    let Some(v) = m.next_value::<Option<String>>().ok().flatten() else {
                        continue;
                    };
                    let k = elide(k, &mut out.elided);
                    let v = elide(v, &mut out.elided);
                    out.map.insert(k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

/// `s` cut to [`MAX_LABEL_BYTES`] (at a character boundary) and marked with `…`; counts it.
fn elide(mut s: String, count: &mut usize) -> String {
    if s.len() > MAX_LABEL_BYTES {
        let mut cut = MAX_LABEL_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
        *count += 1;
    }
    s
}

impl<'de> Deserialize<'de> for SeriesList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SeriesList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SeriesList;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of series")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SeriesList, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<RawSeries>()? {
                    if out.len() == MAX_SERIES {
                        return Err(serde::de::Error::custom(too_many_series()));
                    }
                    out.push(s);
                }
                Ok(SeriesList(out))
            }
        }
        d.deserialize_seq(V)
    }
}

fn too_many_series() -> String {
    format!(
        "more than {MAX_SERIES} series in one answer: narrow the query (a --selector such as \
         namespace=\"shop\", or fewer labels kept by the query)"
    )
}

/// Parse a `query_range` answer from `text` (see [`matrix`]).
pub fn parse_matrix(text: &[u8]) -> Result<(Vec<PromSeries>, Skipped), String> {
    let resp: Response = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    matrix(resp)
}

/// The series of a parsed `query_range` answer (`resultType` `matrix`), checked as every trace
/// reader checks its samples ([`crate::trace::bounds`]): times plausible and increasing within
/// a series, values plausible memory sizes; `NaN` and `±Inf` values are skipped and counted.
/// Errors are messages for people: `status` not `success` (with Prometheus' own `error`), not a
/// matrix, more than [`MAX_SERIES`] series, a malformed or implausible point (naming
/// `data.result[K].values[I]`).
pub fn matrix(resp: Response) -> Result<(Vec<PromSeries>, Skipped), String> {
    if let Some(status) = resp.status.as_deref() {
        if status != "success" {
            let err = resp.error.as_deref().unwrap_or("");
            return Err(format!("Prometheus answered {status}: {err}"));
        }
    }
    let data = resp
        .data
        .ok_or("no data.result array (not a query_range response)")?;
    if let Some(rt) = data.result_type.as_deref() {
        if rt != "matrix" {
            return Err(format!(
                "the result is a {rt}, not a matrix (a range query is needed)"
            ));
        }
    }
    let result = data
        .result
        .ok_or("no data.result array (not a query_range response)")?;
    let mut skipped = Skipped::default();
    let mut out = Vec::with_capacity(result.0.len());
    for (k, s) in result.0.into_iter().enumerate() {
        skipped.elided_labels += s.metric.elided;
        let values = s
            .values
            .ok_or_else(|| format!("data.result[{k}] has no \"values\" array"))?;
        let mut ps = PromSeries {
            labels: s.metric.map,
            t: Vec::with_capacity(values.len()),
            v: Vec::with_capacity(values.len()),
        };
        for (i, p) in values.into_iter().enumerate() {
            let at = || format!("data.result[{k}].values[{i}]");
            let (Some(t), Some(v)) = (p.t, p.v) else {
                return Err(format!("{} is not [time, \"value\"]", at()));
            };
            if !(0.0..=bounds::MAX_TIME_S).contains(&t) {
                return Err(format!(
                    "{}: time {} is not a plausible Unix time in seconds (1970 to 2200)",
                    at(),
                    bounds::show(t)
                ));
            }
            if let Some(&last) = ps.t.last() {
                if t <= last {
                    return Err(format!(
                        "{}: time {} s does not increase (after {} s): duplicate or out-of-order point",
                        at(),
                        bounds::show(t),
                        bounds::show(last)
                    ));
                }
            }
            if v.is_nan() || v.is_infinite() {
                skipped.non_finite += 1;
                continue;
            }
            if let Some(why) = bounds::implausible_bytes(v) {
                return Err(format!("{}: value {why}", at()));
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
            .limit(bounds::MAX_DOCUMENT_BYTES)
            .read_to_vec()
            .map_err(|e| format!("{endpoint}: reading the answer: {e}"))?;
        let resp: Response = serde_json::from_slice(&text).map_err(|e| {
            if e.is_data() && e.to_string().contains("series in one answer") {
                return format!("{endpoint}: {e}");
            }
            let head: String = String::from_utf8_lossy(&text[..text.len().min(80)]).into_owned();
            format!(
                "{endpoint}: HTTP {status}, not a Prometheus API answer: {:?}",
                head.trim()
            )
        })?;
        let (series, s) = matrix(resp).map_err(|e| format!("{endpoint}: {e}"))?;
        if status != 200 {
            return Err(format!("{endpoint}: HTTP {status}"));
        }
        skipped.non_finite += s.non_finite;
        skipped.elided_labels += s.elided_labels;
        all.extend(series);
        if all.len() > MAX_SERIES {
            return Err(format!("{endpoint}: {}", too_many_series()));
        }
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
        let doc = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"namespace":"a","pod":"p-1","container":"web","id":"/x"},"values":[[1,"10"],[2,"NaN"],[3,"+Inf"],[4,"30"]]},
            {"metric":{"namespace":"a","pod":"p-1","container":"web","id":"/y"},"values":[[1,"20"],[4,"5"]]},
            {"metric":{"namespace":"a","pod":"p-1","container":""},"values":[[1,"99"]]},
            {"metric":{"namespace":"a","pod":"p-1"},"values":[[1,"99"]]}]}}"#;
        let (s, skipped) = parse_matrix(doc.as_bytes()).unwrap();
        assert_eq!(skipped.non_finite, 2);
        let (g, dropped) = group(s);
        assert_eq!(dropped, 2);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].key(), "a/p-1/web");
        assert_eq!(
            (g[0].t.clone(), g[0].v.clone()),
            (vec![1.0, 4.0], vec![20.0, 30.0])
        );
        let err = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert!(parse_matrix(err.as_bytes())
            .unwrap_err()
            .contains("parse error"));
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse_matrix(vector.as_bytes())
            .unwrap_err()
            .contains("not a matrix"));
        // One validation with every trace reader: a repeated time, u64::MAX, an absurd time.
        let one = |pts: &str| {
            parse_matrix(
                format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":[{pts}]}}]}}}}"#)
                    .as_bytes(),
            )
        };
        assert!(one(r#"[1,"1"],[1,"2"]"#)
            .unwrap_err()
            .contains("does not increase"));
        assert!(one(r#"[1,"18446744073709551615"]"#)
            .unwrap_err()
            .contains("plausible memory size"));
        let e = one(r#"[1e306,"1"]"#).unwrap_err();
        assert!(e.contains("1.000e306") && e.len() < 200, "{e}");
        // Label values are elided, counted.
        let long = "x".repeat(MAX_LABEL_BYTES * 3);
        let doc = format!(
            r#"{{"data":{{"result":[{{"metric":{{"pod":"{long}"}},"values":[[1,"1"]]}}]}}}}"#
        );
        let (s, skipped) = parse_matrix(doc.as_bytes()).unwrap();
        assert_eq!(skipped.elided_labels, 1);
        assert!(s[0].labels["pod"].len() <= MAX_LABEL_BYTES + 3);
    }

    #[test]
    fn more_series_than_the_bound_is_an_error() {
        let one = r#"{"metric":{"pod":"p"},"values":[[1,"1"]]}"#;
        let many = vec![one; MAX_SERIES + 1].join(",");
        let doc = format!(r#"{{"data":{{"result":[{many}]}}}}"#);
        let e = parse_matrix(doc.as_bytes()).unwrap_err();
        assert!(e.contains("more than 10000 series"), "{e}");
        let ok = vec![one; MAX_SERIES].join(",");
        let doc = format!(r#"{{"data":{{"result":[{ok}]}}}}"#);
        assert_eq!(parse_matrix(doc.as_bytes()).unwrap().0.len(), MAX_SERIES);
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
