//! Trace readers. Every reader validates what it reads: timestamps must increase, values must
//! be finite, non-negative and below 2^56 bytes (64 PiB), and a unit must be the same on every
//! row. Errors name the file and line ([`crate::Error::Malformed`]). Only a torn last line of
//! a JSON Lines trace (a recorder killed mid-write) is tolerated, with a warning.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::format::{EventLine, Header};
use super::{Series, FORMAT_VERSION};
use crate::error::{Error, Result};
use crate::sample::files::malformed;

/// Largest plausible memory value: 64 PiB.
const ABSURD: f64 = (1u64 << 56) as f64;

/// Default metric preference for a target kind.
fn default_metrics(kind: Option<&str>) -> &'static [&'static str] {
    match kind {
        Some("cgroup") => &["anon_bytes", "working_set_bytes", "usage_bytes"],
        _ => &[
            "anon_bytes",
            "rss_bytes",
            "working_set_bytes",
            "usage_bytes",
            "value_bytes",
        ],
    }
}

fn pick_metric(
    available: &[String],
    asked: Option<&str>,
    kind: Option<&str>,
) -> std::result::Result<(String, String), String> {
    if let Some(a) = asked {
        let want = [a.to_string(), format!("{a}_bytes")];
        return match available.iter().find(|c| want.contains(c)) {
            Some(c) => Ok((c.clone(), "asked for with --metric".into())),
            None => Err(format!(
                "no metric {a:?} in the trace (it has: {})",
                available.join(", ")
            )),
        };
    }
    for m in default_metrics(kind) {
        if available.iter().any(|c| c == m) {
            let why = match kind {
                Some("cgroup") => format!("{m}: the default for cgroups (anon, else working set)"),
                Some(k) => format!("{m}: the default for {k} targets (anon, else RSS)"),
                None => format!("{m}: the default (anon, else RSS, else working set)"),
            };
            return Ok((m.to_string(), why));
        }
    }
    match available.first() {
        Some(c) => Ok((c.clone(), format!("{c}: the only memory column"))),
        None => Err("the trace has no memory column".into()),
    }
}

/// The whole of a trace file, which must be a regular file: a device (`/dev/zero`,
/// `/dev/urandom`) or a pipe has no end to read to, and the reader would grow until the
/// machine it is diagnosing runs out of memory.
///
/// Errors: [`Error::NotSupported`] for anything but a regular file (after symlinks);
/// [`Error::Io`]/[`Error::PermissionDenied`] when it cannot be opened or read.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    use crate::base::input;
    let mut f = input::open(path, input::Accept::Regular)?.file;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Read every series of a trace file. `metric` picks the column (else the default for the
/// target kind). Errors: unreadable file, unknown format or version, malformed content.
pub fn read_file(path: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    let bytes = read_bytes(path)?;
    // No copy for valid UTF-8; invalid bytes are replaced (and then fail to parse, with a line).
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    read_text(&text, path, metric)
}

/// Read a trace from text (see [`read_file`]). A trace without samples is an error.
pub fn read_text(text: &str, path: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    let series = read_any(text, path, metric)?;
    if series.iter().all(|s| s.v.is_empty()) {
        return Err(malformed(path, 0, "no samples (a header only?)"));
    }
    Ok(series)
}

fn read_any(text: &str, path: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(malformed(path, 0, "empty file"));
    }
    let first_line = trimmed.lines().next().unwrap_or("");
    if first_line.contains("\"clw_trace\"") {
        return read_jsonl(text, path, metric).map(|s| vec![s]);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let v: Value = serde_json::from_str(trimmed)
            .map_err(|e| malformed(path, e.line(), format!("not JSON: {e}")))?;
        if v.pointer("/data/result").is_some() {
            return read_prometheus(&v, path);
        }
        if let Some(samples) = v.get("samples").and_then(Value::as_array) {
            return read_samples_doc(&v, samples, path, metric).map(|s| vec![s]);
        }
        return Err(malformed(
            path,
            0,
            "JSON without a \"samples\" array or a Prometheus \"data.result\"",
        ));
    }
    read_csv(text, path, metric).map(|s| vec![s])
}

/// `target.kind` of a trace header or samples document ("process", "cgroup", "command").
fn target_kind(doc: &Value) -> Option<String> {
    doc.pointer("/target/kind")
        .and_then(Value::as_str)
        .map(str::to_string)
}

struct Builder<'a> {
    path: &'a Path,
    s: Series,
    t0: Option<f64>,
}

impl<'a> Builder<'a> {
    /// A series of `path` for `metric` (chosen for `reason`); `t0` is the time origin when known.
    fn new(
        path: &'a Path,
        metric: String,
        reason: String,
        kind: Option<String>,
        t0: Option<f64>,
    ) -> Builder<'a> {
        Builder {
            path,
            s: Series {
                name: path.display().to_string(),
                metric,
                metric_reason: reason,
                target_kind: kind,
                ..Series::default()
            },
            t0,
        }
    }

    fn push(&mut self, line: usize, t: f64, v: f64, pid: Option<i64>) -> Result<()> {
        if !t.is_finite() {
            return Err(malformed(
                self.path,
                line,
                format!("time {t} is not a number"),
            ));
        }
        if !v.is_finite() || !(0.0..=ABSURD).contains(&v) {
            return Err(malformed(
                self.path,
                line,
                format!(
                    "{} = {v} is not a plausible memory size in bytes",
                    self.s.metric
                ),
            ));
        }
        let t0 = *self.t0.get_or_insert(t);
        let rel = t - t0;
        if let Some(&last) = self.s.t.last() {
            if rel <= last {
                return Err(malformed(
                    self.path,
                    line,
                    format!("time does not increase ({} s after {} s): duplicate or out-of-order sample", rel, last),
                ));
            }
        }
        self.s.t.push(rel);
        self.s.v.push(v);
        self.s.pid.push(pid);
        Ok(())
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn read_jsonl(text: &str, path: &Path, metric: Option<&str>) -> Result<Series> {
    let mut lines = text.split('\n').enumerate();
    let (_, first) = lines.next().unwrap_or((0, ""));
    let raw_header: Value = serde_json::from_str(first.trim())
        .map_err(|e| malformed(path, 1, format!("bad trace header: {e}")))?;
    let version = raw_header.get("clw_trace").and_then(Value::as_u64);
    if version != Some(FORMAT_VERSION) {
        return Err(malformed(
            path,
            1,
            format!(
                "unknown trace format version {} (this clw-diag reads version {FORMAT_VERSION})",
                raw_header["clw_trace"]
            ),
        ));
    }
    let header: Header = serde_json::from_value(raw_header)
        .map_err(|e| malformed(path, 1, format!("bad trace header: {e}")))?;
    let kind = header.target.kind().map(str::to_string);
    let (metric, reason) =
        pick_metric(&header.metrics, metric, kind.as_deref()).map_err(|m| malformed(path, 1, m))?;
    let mut b = Builder::new(path, metric.clone(), reason, kind, Some(0.0));
    b.s.limit_bytes = header.limit_bytes;
    b.s.host_total_bytes = header.host_total_bytes;
    b.s.interval_s = header.interval_s;
    // The last non-empty line may be torn; find where it starts without collecting the lines.
    let body = text.trim_end();
    let last_start = body.rfind('\n').map_or(0, |i| i + 1);
    let key = format!("\"{metric}\":");
    for (i, raw) in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let is_last = raw.as_ptr() as usize - text.as_ptr() as usize >= last_start;
        // Fast path for our own flat sample lines: {"t":…,"<metric>":…,…}.
        if line.starts_with('{') && line.ends_with('}') && !line.contains("\"event\"") {
            if let (Some(t), Some(val)) = (field(line, "\"t\":"), field(line, &key)) {
                let pid = field(line, "\"pid\":").map(|p| p as i64);
                b.push(i + 1, t, val, pid)?;
                continue;
            }
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) if is_last => {
                b.s.warnings.push(format!(
                    "{}:{}: torn last line ignored (the recorder was stopped mid-write)",
                    path.display(),
                    i + 1
                ));
                break;
            }
            Err(e) => return Err(malformed(path, i + 1, format!("not a JSON object: {e}"))),
        };
        if v.get("event").is_some() {
            // An event line whose fields do not fit (a hand-edited trace) is not a sample.
            if let Ok(ev) = serde_json::from_value::<EventLine>(v) {
                b.s.events.push(ev);
            }
            continue;
        }
        let t = v
            .get("t")
            .and_then(num)
            .ok_or_else(|| malformed(path, i + 1, "sample without \"t\""))?;
        let Some(val) = v.get(&metric).filter(|x| !x.is_null()) else {
            continue; // a sample without this metric (PSS read at a lower rate, or unknown)
        };
        let val = num(val)
            .ok_or_else(|| malformed(path, i + 1, format!("{metric} is not a number: {val}")))?;
        let pid = v.get("pid").and_then(Value::as_i64);
        b.push(i + 1, t, val, pid)?;
    }
    Ok(b.s)
}

/// The number after `key` in a flat JSON line (`None` when absent, null or not a number).
fn field(line: &str, key: &str) -> Option<f64> {
    let at = line.find(key)? + key.len();
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// A time cell in seconds: a number, or a timestamp string as [`crate::base::time::parse_timestamp`]
/// reads it (RFC 3339, `YYYY-MM-DD HH:MM:SS` in UTC unless an offset is given).
fn time_value(v: &Value) -> Option<f64> {
    num(v).or_else(|| {
        let us = crate::base::time::parse_timestamp(v.as_str()?).ok()?;
        Some(us as f64 / 1e6)
    })
}

fn read_samples_doc(
    doc: &Value,
    samples: &[Value],
    path: &Path,
    metric: Option<&str>,
) -> Result<Series> {
    let kind = target_kind(doc);
    let available: Vec<String> = samples
        .iter()
        .find_map(Value::as_object)
        .map(|o| {
            o.keys()
                .filter(|k| k.ends_with("_bytes"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let (metric, reason) =
        pick_metric(&available, metric, kind.as_deref()).map_err(|m| malformed(path, 0, m))?;
    let mut b = Builder::new(path, metric.clone(), reason, kind, None);
    b.s.limit_bytes = doc.get("limit_bytes").and_then(Value::as_u64);
    for (i, smp) in samples.iter().enumerate() {
        let t = ["t", "time", "timestamp"]
            .iter()
            .find_map(|k| smp.get(*k).and_then(time_value))
            .ok_or_else(|| {
                malformed(
                    path,
                    0,
                    format!("samples[{i}] has no time (t, time or timestamp)"),
                )
            })?;
        let Some(val) = smp.get(&metric).and_then(num) else {
            continue;
        };
        b.push(i + 1, t, val, smp.get("pid").and_then(Value::as_i64))?;
    }
    Ok(b.s)
}

fn read_prometheus(v: &Value, path: &Path) -> Result<Vec<Series>> {
    let result = v
        .pointer("/data/result")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(path, 0, "Prometheus data.result is not an array"))?;
    let mut out = Vec::new();
    for (k, series) in result.iter().enumerate() {
        let labels = series.get("metric").and_then(Value::as_object);
        let label = labels
            .map(|m| {
                ["namespace", "pod", "container", "instance"]
                    .iter()
                    .filter_map(|l| {
                        m.get(*l)
                            .and_then(Value::as_str)
                            .map(|v| format!("{l}={v}"))
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let name = labels
            .and_then(|m| m.get("__name__"))
            .and_then(Value::as_str)
            .unwrap_or("value")
            .to_string();
        let reason = format!("{name}: the Prometheus series' value");
        let mut b = Builder::new(path, name.clone(), reason, None, None);
        b.s.name = if label.is_empty() {
            format!("{}#{k}", path.display())
        } else {
            format!("{}#{k} {{{label}}}", path.display())
        };
        let values = series
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                malformed(
                    path,
                    0,
                    format!("data.result[{k}] has no \"values\" (not a query_range response?)"),
                )
            })?;
        for (i, pair) in values.iter().enumerate() {
            let (Some(t), Some(val)) = (pair.get(0).and_then(num), pair.get(1).and_then(num))
            else {
                return Err(malformed(
                    path,
                    0,
                    format!("data.result[{k}].values[{i}] is not [time, \"value\"]"),
                ));
            };
            b.push(i + 1, t, val, None)?;
        }
        out.push(b.s);
    }
    if out.is_empty() {
        return Err(malformed(path, 0, "the Prometheus response has no series"));
    }
    Ok(out)
}

/// Bytes per unit named in a CSV header (`rss_kb`, `anon_bytes`, `rss (MiB)`, `MiB`).
fn header_unit(h: &str) -> Option<f64> {
    let l = h.to_ascii_lowercase();
    let l = l
        .trim()
        .trim_end_matches(')')
        .replace(['(', '[', ']', ' '], "_");
    let suffix = l.rsplit('_').next().unwrap_or(&l);
    Some(match suffix {
        "bytes" | "b" => 1.0,
        "kb" | "kib" | "k" => 1024.0,
        "mb" | "mib" | "m" => 1048576.0,
        "gb" | "gib" | "g" => 1073741824.0,
        _ => return None,
    })
}

fn read_csv(text: &str, path: &Path, metric: Option<&str>) -> Result<Series> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| malformed(path, 1, format!("not CSV: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.len() < 2 {
        return Err(malformed(
            path,
            1,
            "CSV needs a header row with a time column and at least one memory column",
        ));
    }
    let time_col = headers
        .iter()
        .position(|h| {
            matches!(
                h.to_ascii_lowercase().as_str(),
                "t" | "time"
                    | "timestamp"
                    | "ts"
                    | "seconds"
                    | "time_s"
                    | "date"
                    | "datetime"
                    | "elapsed_s"
            )
        })
        .unwrap_or(0);
    let mem_cols: Vec<(usize, String, Option<f64>)> = headers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != time_col)
        .map(|(i, h)| {
            let unit = header_unit(h);
            let base = h
                .to_ascii_lowercase()
                .split(['_', ' ', '('])
                .next()
                .unwrap_or("")
                .to_string();
            (
                i,
                format!("{}_bytes", if base.is_empty() { "value" } else { &base }),
                unit,
            )
        })
        .collect();
    let names: Vec<String> = mem_cols.iter().map(|c| c.1.clone()).collect();
    let (metric_name, reason) =
        pick_metric(&names, metric, None).map_err(|m| malformed(path, 1, m))?;
    let (col, _, unit) = mem_cols
        .iter()
        .find(|c| c.1 == metric_name)
        .cloned()
        .ok_or_else(|| malformed(path, 1, "no such column"))?;
    let reason = format!("{reason} (CSV column {:?})", headers[col]);
    let mut b = Builder::new(path, metric_name, reason, None, None);
    let mut cell_units: Option<bool> = None;
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| malformed(path, line, format!("bad CSV row: {e}")))?;
        let t_cell = rec.get(time_col).unwrap_or("").trim();
        let t = time_value(&Value::String(t_cell.to_string())).ok_or_else(|| {
            malformed(
                path,
                line,
                format!("time {t_cell:?} is neither seconds nor RFC 3339"),
            )
        })?;
        let cell = rec.get(col).unwrap_or("").trim();
        if cell.is_empty() {
            continue;
        }
        let has_unit = cell.parse::<f64>().is_err()
            && cell.chars().last().is_some_and(|c| c.is_ascii_alphabetic());
        if *cell_units.get_or_insert(has_unit) != has_unit {
            return Err(malformed(
                path,
                line,
                format!("mixed units in column {:?}: {cell:?}", headers[col]),
            ));
        }
        let val = if has_unit {
            crate::base::size::parse(cell)
                .ok()
                .map(|v| v as f64)
                .ok_or_else(|| malformed(path, line, format!("{cell:?} is not a size")))?
        } else {
            let n: f64 = cell
                .parse()
                .map_err(|_| malformed(path, line, format!("{cell:?} is not a number")))?;
            n * unit.unwrap_or(1.0)
        };
        b.push(line, t, val, None)?;
    }
    Ok(b.s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t")
    }

    #[test]
    fn jsonl_with_torn_last_line_and_events() {
        let t = "{\"clw_trace\":1,\"target\":{\"kind\":\"process\"},\"metrics\":[\"rss_bytes\",\"anon_bytes\"],\"interval_s\":1}\n\
                 {\"t\":0,\"rss_bytes\":10,\"anon_bytes\":5,\"pid\":3}\n\
                 {\"t\":1,\"rss_bytes\":11,\"anon_bytes\":6,\"pid\":3}\n\
                 {\"t\":1.5,\"event\":\"target_exited\",\"exit_code\":null,\"signal\":9}\n\
                 {\"t\":2,\"rss_bytes\":1";
        let s = &read_text(t, p(), None).unwrap()[0];
        assert_eq!(s.metric, "anon_bytes");
        assert_eq!(s.v, vec![5.0, 6.0]);
        assert_eq!(s.exit(), Some((None, Some(9))));
        assert_eq!(s.warnings.len(), 1);
        assert!(
            read_text(&t.replace("\"clw_trace\":1", "\"clw_trace\":7"), p(), None)
                .unwrap_err()
                .to_string()
                .contains("version 7")
        );
    }

    #[test]
    fn csv_units_and_validation() {
        let s = &read_text("time,rss_kb\n0,1024\n1,2048\n", p(), None).unwrap()[0];
        assert_eq!(s.v, vec![1048576.0, 2097152.0]);
        let s = &read_text(
            "timestamp,mem\n2024-04-15T10:00:00Z,1MiB\n2024-04-15T10:00:10Z,2MiB\n",
            p(),
            None,
        )
        .unwrap()[0];
        assert_eq!(s.t, vec![0.0, 10.0]);
        assert_eq!(s.v[1], 2097152.0);
        let e = read_text("t,rss_bytes\n0,1\n0,2\n", p(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("t:3") && e.contains("does not increase"), "{e}");
        assert!(read_text("t,rss_bytes\n0,NaN\n", p(), None).is_err());
        assert!(read_text("t,rss_bytes\n0,-5\n", p(), None).is_err());
        assert!(read_text("t,rss_bytes\n0,1e30\n", p(), None).is_err());
        assert!(read_text("t,mem\n0,1MiB\n1,2048\n", p(), None)
            .unwrap_err()
            .to_string()
            .contains("mixed units"));
        assert!(read_text("t,rss_bytes\n", p(), None)
            .unwrap_err()
            .to_string()
            .contains("no samples"));
        assert!(read_text("", p(), None).is_err());
    }

    #[test]
    fn prometheus_query_range() {
        let doc = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"container_memory_working_set_bytes","pod":"web","container":"app"},"values":[[1713175200,"100"],[1713175260,"200"]]}]}}"#;
        let s = &read_text(doc, p(), None).unwrap()[0];
        assert_eq!(s.t, vec![0.0, 60.0]);
        assert!(s.name.contains("pod=web"));
    }
}
