//! Trace readers. Every reader validates what it reads ([`super::bounds`]): timestamps must be
//! plausible (Unix seconds 1970..2200, or seconds since the start spanning under 100 years) and
//! increase, values must be finite, non-negative and at most 2^56 bytes (64 PiB), header
//! figures positive, and a unit must be the same on every row. Errors name the file and line
//! ([`crate::Error::Malformed`]). Only a torn last line of a JSON Lines trace (a recorder killed
//! mid-write) is tolerated, with a warning; Prometheus' `NaN`/`±Inf` values are skipped and
//! counted, with a warning.
//!
//! Inputs are streamed: JSON Lines and CSV line by line (a line is at most 1 MiB), a JSON
//! document parsed from the reader into typed records (at most 256 MiB); a trace file is at
//! most 1 GiB and one input keeps at most 10 million samples.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use super::bounds::{self, Capped, InputTooLarge, LineTooLong};
use super::document::{read_samples_doc, Doc};
use super::format::{EventLine, Header};
use super::prometheus;
use super::{Series, FORMAT_VERSION};
use crate::base::input;
use crate::error::{Error, Result};
use crate::sample::files::malformed;

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

/// Why the default metric `m` (a column name) was taken for a target of `kind`: one sentence
/// for the output's notes. Anon memory is the default because a leak is memory only the
/// program can give back; the other columns add pages that grow without any leak.
fn default_reason(m: &str, kind: Option<&str>) -> String {
    let target = match kind {
        Some("cgroup") => " for cgroups".to_string(),
        Some(k) => format!(" for {k} targets"),
        None => String::new(),
    };
    match m {
        "anon_bytes" if kind == Some("cgroup") => format!(
            "{m} (the default{target}): a leak is memory only the program can give back; the working set also counts active page cache, which grows with file I/O and is reclaimed under pressure"
        ),
        "anon_bytes" => format!(
            "{m} (the default{target}): a leak is memory only the program can give back; RSS also counts file-backed pages (code, mapped files) and shared memory, which grow with I/O and code loading without any leak"
        ),
        "rss_bytes" => format!(
            "{m} (the default{target} when the trace has no anon column): RSS also counts file-backed pages, so a trace with anon (as `clw-diag record` writes) gives fewer false alarms"
        ),
        "working_set_bytes" => format!(
            "{m} (the default{target} when the trace has no anon column): the working set counts active page cache, which grows with file I/O without any leak"
        ),
        _ => format!("{m} (the default{target}): the trace has no anon, RSS or working-set column"),
    }
}

pub(super) fn pick_metric(
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
            return Ok((m.to_string(), default_reason(m, kind)));
        }
    }
    match available.first() {
        Some(c) => Ok((c.clone(), format!("{c}: the only memory column"))),
        None => Err("the trace has no memory column".into()),
    }
}

/// How to go past the bound on a trace's size, for messages.
const TOO_LARGE_HINT: &str = "a trace: split it, or record it at a longer --interval";

/// Read every series of a trace file, which must be a regular file (a device such as
/// `/dev/zero` or a pipe has no end to read to; a FIFO without a writer does not block the
/// open). `metric` picks the column (else the default for the target kind).
///
/// Errors: [`Error::NotSupported`] for anything but a regular file; [`Error::Io`] /
/// [`Error::PermissionDenied`] when it cannot be read; [`Error::TooLarge`] past 1 GiB (a JSON
/// document past 256 MiB); [`Error::Malformed`] naming the line for an unknown format or
/// version, a line past 1 MiB, more than 10 million samples, or an implausible figure.
pub fn read_file(path: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    let f = input::open(path, input::Accept::Regular)?;
    if f.len.is_some_and(|l| l > bounds::MAX_TRACE_BYTES) {
        return Err(input::too_large(
            path,
            bounds::MAX_TRACE_BYTES,
            TOO_LARGE_HINT,
        ));
    }
    read_from(f.file, path, metric)
}

/// Read a trace from text (see [`read_file`]). A trace without samples is an error.
pub fn read_text(text: &str, path: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    read_from(text.as_bytes(), path, metric)
}

type In<R> = BufReader<Capped<R>>;

fn read_from<R: Read>(r: R, path: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    let mut r = BufReader::with_capacity(
        64 << 10,
        Capped::new(r, Some(bounds::MAX_LINE_BYTES), bounds::MAX_TRACE_BYTES),
    );
    let series = read_any(&mut r, path, metric)?;
    if series.iter().all(|s| s.v.is_empty()) {
        let skipped: usize = series.iter().map(|s| s.skipped_non_finite).sum();
        return Err(malformed(
            path,
            0,
            if skipped > 0 {
                format!("no usable samples ({skipped} NaN/Inf values skipped)")
            } else {
                "no samples (a header only?)".to_string()
            },
        ));
    }
    Ok(series)
}

/// An error of reading `path`: a [`Capped`] bound (a line past 1 MiB names its line; the whole
/// input past its bound is [`Error::TooLarge`]), or the read itself.
fn read_error(path: &Path, e: io::Error) -> Error {
    if let Some(l) = e.get_ref().and_then(|i| i.downcast_ref::<LineTooLong>()) {
        return malformed(path, l.line, l.to_string());
    }
    if let Some(t) = e.get_ref().and_then(|i| i.downcast_ref::<InputTooLarge>()) {
        return input::too_large(path, t.cap, TOO_LARGE_HINT);
    }
    Error::io(path, e)
}

fn read_any<R: Read>(r: &mut In<R>, path: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    let head = r.fill_buf().map_err(|e| read_error(path, e))?;
    let Some(start) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
        if head.is_empty() {
            return Err(malformed(path, 0, "empty file"));
        }
        // 64 KiB of white space: read as CSV, which finds no header.
        return read_csv(r, path, metric).map(|s| vec![s]);
    };
    let rest = &head[start..];
    let first_line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
    if memchr::memmem::find(first_line, b"\"clw_trace\"").is_some() {
        return read_jsonl(r, path, metric).map(|s| vec![s]);
    }
    if rest[0] == b'{' || rest[0] == b'[' {
        // A JSON document may be one line: its bound is the document's size.
        r.get_mut().line_cap = None;
        r.get_mut().total_cap = bounds::MAX_DOCUMENT_BYTES;
        let doc = Doc::from_reader(&mut *r).map_err(|e| {
            if e.io_error_kind() == Some(io::ErrorKind::InvalidData) {
                input::too_large(
                    path,
                    bounds::MAX_DOCUMENT_BYTES,
                    "a JSON document: convert it to JSON Lines or CSV",
                )
            } else if e.is_io() {
                malformed(path, e.line(), format!("cannot read it: {e}"))
            } else if e.is_data() && e.to_string().contains("series in one answer") {
                malformed(path, e.line(), e.to_string())
            } else if e.is_data() {
                malformed(
                    path,
                    e.line(),
                    format!(
                        "JSON without a \"samples\" array or a Prometheus \"data.result\" ({e})"
                    ),
                )
            } else {
                malformed(path, e.line(), format!("not JSON: {e}"))
            }
        })?;
        if doc.data.is_some() || doc.status.is_some() {
            return read_prometheus(doc, path);
        }
        if doc.has_samples() {
            return read_samples_doc(&doc, path, metric).map(|s| vec![s]);
        }
        return Err(malformed(
            path,
            0,
            "JSON without a \"samples\" array or a Prometheus \"data.result\"",
        ));
    }
    read_csv(r, path, metric).map(|s| vec![s])
}

pub(super) struct Builder<'a> {
    path: &'a Path,
    pub(super) s: Series,
    t0: Option<f64>,
}

impl<'a> Builder<'a> {
    /// A series of `path` for `metric` (chosen for `reason`); `t0` is the time origin when known.
    pub(super) fn new(
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

    pub(super) fn push(&mut self, line: usize, t: f64, v: f64, pid: Option<i64>) -> Result<()> {
        if let Some(why) = bounds::implausible_time(t) {
            return Err(malformed(self.path, line, why));
        }
        if let Some(why) = bounds::implausible_bytes(v) {
            return Err(malformed(
                self.path,
                line,
                format!("{} = {why}", self.s.metric),
            ));
        }
        if self.s.t.len() >= bounds::MAX_SAMPLES {
            return Err(malformed(
                self.path,
                line,
                format!(
                    "more than {} samples in one trace: split it, or resample it",
                    bounds::MAX_SAMPLES
                ),
            ));
        }
        let t0 = *self.t0.get_or_insert(t);
        let rel = t - t0;
        if rel > bounds::MAX_SPAN_S {
            return Err(malformed(
                self.path,
                line,
                format!(
                    "time {} s is {} s after the start: a trace spans less than 100 years",
                    bounds::show(t),
                    bounds::show(rel)
                ),
            ));
        }
        if let Some(&last) = self.s.t.last() {
            if rel <= last {
                return Err(malformed(
                    self.path,
                    line,
                    format!(
                        "time does not increase ({} s after {} s): duplicate or out-of-order sample",
                        bounds::show(rel),
                        bounds::show(last)
                    ),
                ));
            }
        }
        self.s.t.push(rel);
        self.s.v.push(v);
        self.s.pid.push(pid);
        Ok(())
    }
}

pub(super) fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A header figure in bytes (`limit_bytes`, `host_total_bytes`) must be more than 0 and at most
/// 64 PiB; `what` names it.
pub(super) fn header_bytes(
    path: &Path,
    line: usize,
    what: &str,
    v: Option<u64>,
) -> Result<Option<u64>> {
    match v {
        Some(b) if b == 0 || b as f64 > bounds::MAX_MEMORY_BYTES => Err(malformed(
            path,
            line,
            format!("{what} = {b} is not a plausible size (more than 0, at most 64 PiB)"),
        )),
        v => Ok(v),
    }
}

/// The next line of `r` into `buf` (without its end); `false` at the end of the input.
fn next_line<R: Read>(r: &mut In<R>, buf: &mut Vec<u8>, path: &Path) -> Result<bool> {
    buf.clear();
    let n = r.read_until(b'\n', buf).map_err(|e| read_error(path, e))?;
    if buf.last() == Some(&b'\n') {
        buf.pop();
    }
    Ok(n > 0)
}

fn read_jsonl<R: Read>(r: &mut In<R>, path: &Path, metric: Option<&str>) -> Result<Series> {
    let mut buf = Vec::new();
    let mut lineno = 0;
    // The header is the first line that is not blank.
    loop {
        if !next_line(r, &mut buf, path)? {
            return Err(malformed(path, 0, "empty file"));
        }
        lineno += 1;
        if !buf.trim_ascii().is_empty() {
            break;
        }
    }
    let first = String::from_utf8_lossy(buf.trim_ascii()).into_owned();
    let raw_header: Value = serde_json::from_str(&first)
        .map_err(|e| malformed(path, lineno, format!("bad trace header: {e}")))?;
    let version = raw_header.get("clw_trace").and_then(Value::as_u64);
    if version != Some(FORMAT_VERSION) {
        let shown = match raw_header["clw_trace"].as_f64() {
            Some(v) => bounds::show(v),
            None => raw_header["clw_trace"]
                .to_string()
                .chars()
                .take(40)
                .collect(),
        };
        return Err(malformed(
            path,
            lineno,
            format!(
                "unknown trace format version {shown} (this clw-diag reads version {FORMAT_VERSION})"
            ),
        ));
    }
    for what in ["limit_bytes", "host_total_bytes"] {
        if let Some(v) = raw_header.get(what).filter(|v| !v.is_null()) {
            if v.as_u64().is_none() {
                let shown = match v.as_f64() {
                    Some(f) => bounds::show(f),
                    None => v.to_string().chars().take(40).collect(),
                };
                return Err(malformed(
                    path,
                    lineno,
                    format!(
                        "{what} = {shown} is not a plausible size (more than 0, at most 64 PiB)"
                    ),
                ));
            }
        }
    }
    let header: Header = serde_json::from_value(raw_header)
        .map_err(|e| malformed(path, lineno, format!("bad trace header: {e}")))?;
    if let Some(i) = header.interval_s {
        if !(i > 0.0 && i <= bounds::MAX_INTERVAL_S) {
            return Err(malformed(
                path,
                lineno,
                format!(
                    "interval_s = {} is not a plausible sampling interval (more than 0, at most a week)",
                    bounds::show(i)
                ),
            ));
        }
    }
    let kind = header.target.kind().map(str::to_string);
    let (metric, reason) = pick_metric(&header.metrics, metric, kind.as_deref())
        .map_err(|m| malformed(path, lineno, m))?;
    let mut b = Builder::new(path, metric.clone(), reason, kind, Some(0.0));
    b.s.limit_bytes = header_bytes(path, lineno, "limit_bytes", header.limit_bytes)?;
    b.s.host_total_bytes = header_bytes(path, lineno, "host_total_bytes", header.host_total_bytes)?;
    b.s.interval_s = header.interval_s;
    b.s.identity = header.identity.clone();
    if let super::format::TraceTarget::Command { command, .. } = &header.target {
        b.s.command = command.clone();
    }
    let key = format!("\"{metric}\":");
    // A line that is not JSON is an error unless it is the last one that is not blank (a
    // recorder killed mid-write): the error waits for the next such line.
    let mut torn: Option<(usize, Error)> = None;
    while next_line(r, &mut buf, path)? {
        lineno += 1;
        let text = String::from_utf8_lossy(&buf);
        let line = text.trim();
        if line.is_empty() {
            continue;
        }
        if let Some((_, e)) = torn.take() {
            return Err(e);
        }
        // Fast path for our own flat sample lines: {"t":…,"<metric>":…,…}.
        if line.starts_with('{') && line.ends_with('}') && !line.contains("\"event\"") {
            if let (Some(t), Some(val)) = (field(line, "\"t\":"), field(line, &key)) {
                let pid = field(line, "\"pid\":").map(|p| p as i64);
                b.push(lineno, t, val, pid)?;
                continue;
            }
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                torn = Some((
                    lineno,
                    malformed(path, lineno, format!("not a JSON object: {e}")),
                ));
                continue;
            }
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
            .ok_or_else(|| malformed(path, lineno, "sample without \"t\""))?;
        let Some(val) = v.get(&metric).filter(|x| !x.is_null()) else {
            continue; // a sample without this metric (PSS read at a lower rate, or unknown)
        };
        let val = num(val).ok_or_else(|| {
            let shown: String = val.to_string().chars().take(40).collect();
            malformed(path, lineno, format!("{metric} is not a number: {shown}"))
        })?;
        let pid = v.get("pid").and_then(Value::as_i64);
        b.push(lineno, t, val, pid)?;
    }
    if let Some((at, _)) = torn {
        b.s.warnings.push(format!(
            "{}:{at}: torn last line ignored (the recorder was stopped mid-write)",
            path.display()
        ));
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
pub(super) fn time_value(v: &Value) -> Option<f64> {
    num(v).or_else(|| {
        let us = crate::base::time::parse_timestamp(v.as_str()?).ok()?;
        Some(us as f64 / 1e6)
    })
}

/// The series of a Prometheus `query_range` answer, read as `recommend` reads a server's
/// answer ([`prometheus::matrix`], then [`prometheus::group`] per container): one series per
/// `namespace/pod/container`, named `FILE KEY`, times from the first point, `NaN`/`±Inf`
/// values skipped and counted (with a warning), long label values elided (with a warning).
fn read_prometheus(doc: Doc, path: &Path) -> Result<Vec<Series>> {
    let resp = prometheus::Response {
        status: doc.status,
        error: doc.error,
        data: doc.data,
    };
    let (raw, skipped) = prometheus::matrix(resp).map_err(|m| malformed(path, 0, m))?;
    if raw.is_empty() {
        return Err(malformed(
            path,
            0,
            "the Prometheus answer has no series (empty result)",
        ));
    }
    let names: std::collections::BTreeSet<&str> = raw
        .iter()
        .filter_map(|s| s.labels.get("__name__").map(String::as_str))
        .collect();
    let metric = match names.len() {
        1 => names.into_iter().next().unwrap_or("value").to_string(),
        _ => "value".to_string(),
    };
    // cAdvisor's pod-level series are left out where the containers' own are there (as
    // `recommend --prometheus` does, silently: it is how cAdvisor's answers are read).
    let (groups, _pod_level) = prometheus::group(raw);
    let mut warnings = Vec::new();
    if skipped.non_finite > 0 {
        warnings.push(format!(
            "{} NaN/Inf values skipped in {}",
            skipped.non_finite,
            path.display()
        ));
    }
    if skipped.elided_labels > 0 {
        warnings.push(format!(
            "{}: {} label value(s) longer than {} bytes elided",
            path.display(),
            skipped.elided_labels,
            bounds::MAX_LABEL_BYTES
        ));
    }
    let mut out = Vec::new();
    for g in groups {
        let key = g.key();
        let reason = format!("{metric}: the Prometheus series' value");
        let mut b = Builder::new(path, metric.clone(), reason, None, None);
        // The name is repeated in every note: a long label shows its start only (the labels
        // keep up to MAX_LABEL_BYTES).
        b.s.name = format!("{} {}", path.display(), short(&key, MAX_NAME_CHARS));
        for (i, (t, v)) in g.t.iter().zip(&g.v).enumerate() {
            b.push(i + 1, *t, *v, None)?;
        }
        b.s.labels = Some(g.labels);
        b.s.skipped_non_finite = skipped.non_finite;
        b.s.warnings = warnings.clone();
        out.push(b.s);
    }
    Ok(out)
}

/// Longest series key shown in a series' name, characters.
const MAX_NAME_CHARS: usize = 120;

/// `s` cut to `max` characters, `…` marking the cut.
fn short(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

mod csv_table;
use csv_table::read_csv;

#[cfg(test)]
mod tests;
