//! The Prometheus text exposition format (version 0.0.4) and OpenMetrics 1.0.0 text format.
//!
//! Follows prometheus/docs `content/docs/instrumenting/exposition_formats.md` and the OpenMetrics
//! specification (`specification/OpenMetrics.md`, 1.0.0): one `# HELP` and one `# TYPE` line per
//! family, the samples of a family together, label values escaped (`\\`, `\"`, `\n`), counter
//! samples named `<family>_total`. In OpenMetrics the family name of a counter has no `_total`, a
//! `# UNIT` line names the unit the family name ends with, and the body ends with `# EOF`.

use std::fmt::Write;
use std::sync::Arc;

/// Content type of the Prometheus text format.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of the OpenMetrics text format.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpositionFormat {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl ExpositionFormat {
    /// The format a scraper asked for in its `Accept` header: OpenMetrics when it lists
    /// `application/openmetrics-text` (as Prometheus does), otherwise the 0.0.4 text format.
    pub fn negotiate(accept: Option<&str>) -> ExpositionFormat {
        let wants_om = accept.is_some_and(|a| {
            a.split(',').any(|part| {
                let mut it = part.split(';');
                let media = it.next().unwrap_or("").trim();
                // A media range with q=0 means "not acceptable".
                let refused = it.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f64>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            })
        });
        if wants_om {
            ExpositionFormat::OpenMetrics
        } else {
            ExpositionFormat::Text
        }
    }

    /// The `Content-Type` header value of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ExpositionFormat::Text => CONTENT_TYPE_TEXT,
            ExpositionFormat::OpenMetrics => CONTENT_TYPE_OPENMETRICS,
        }
    }
}

/// Metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A value that can go up and down (`# TYPE … gauge`): bytes, ratios, current counts.
    Gauge,
    /// A monotonically increasing count since boot or start (`# TYPE … counter`), named `…_total`.
    Counter,
}

/// A sample value: integers print exactly, floats in Go's `strconv` spelling for the special
/// values (`NaN`, `+Inf`, `-Inf`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A signed integer, printed exactly.
    Int(i64),
    /// An unsigned integer (byte and event counts), printed exactly.
    Uint(u64),
    /// A float (ratios, seconds); `NaN`, `+Inf` and `-Inf` spelled as Prometheus does.
    Float(f64),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Uint(v) => write!(f, "{v}"),
            Value::Float(v) if v.is_nan() => f.write_str("NaN"),
            Value::Float(v) if v.is_infinite() => {
                f.write_str(if v > 0.0 { "+Inf" } else { "-Inf" })
            }
            Value::Float(v) => write!(f, "{v}"),
        }
    }
}

/// Label name/value pairs shared by many samples (every series of one cgroup carries the same
/// workload labels): cloning one is a reference count, not a copy of its strings.
pub type SharedLabels = Arc<[(&'static str, String)]>;

/// One sample of a family: label pairs and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Labels written first, shared with other samples ([`Family::push_shared`]); `None` for
    /// a sample with only its own labels.
    pub shared: Option<SharedLabels>,
    /// Label name/value pairs, in the order written (after `shared`); values are escaped when
    /// written.
    pub labels: Vec<(&'static str, String)>,
    /// The sample's value.
    pub value: Value,
}

/// A metric family. `name` is the full name as users query it: counters end in `_total`, and
/// `unit` (when set) is the suffix before it (`bytes`, `seconds`, `ratio`).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Full metric name as users query it (counters end in `_total`).
    pub name: &'static str,
    /// The `# HELP` text, one line.
    pub help: &'static str,
    /// Gauge or counter (the `# TYPE` line).
    pub kind: MetricType,
    /// The unit suffix of the name (`bytes`, `seconds`, `ratio`) for OpenMetrics' `# UNIT` line;
    /// `None` when the name ends in none of them.
    pub unit: Option<&'static str>,
    /// The family's samples, written together; a family with none is left out of the output.
    pub samples: Vec<Sample>,
}

impl Family {
    /// A family named `name`, its unit taken from the name's suffix; panics in debug builds if a
    /// counter does not end in `_total` or a gauge does.
    pub fn new(name: &'static str, kind: MetricType, help: &'static str) -> Family {
        debug_assert_eq!(
            kind == MetricType::Counter,
            name.ends_with("_total"),
            "{name}: counters, and only counters, end in _total"
        );
        let base = name.strip_suffix("_total").unwrap_or(name);
        let unit = ["bytes", "seconds", "ratio"]
            .into_iter()
            .find(|u| base.ends_with(&format!("_{u}")));
        Family {
            name,
            help,
            kind,
            unit,
            samples: Vec::new(),
        }
    }

    /// A gauge family ([`MetricType::Gauge`]).
    pub fn gauge(name: &'static str, help: &'static str) -> Family {
        Family::new(name, MetricType::Gauge, help)
    }

    /// A counter family ([`MetricType::Counter`]); `name` must end in `_total`.
    pub fn counter(name: &'static str, help: &'static str) -> Family {
        Family::new(name, MetricType::Counter, help)
    }

    /// Add a sample; `None` (the kernel does not provide the value) adds nothing.
    pub fn push(&mut self, labels: Vec<(&'static str, String)>, value: Option<Value>) {
        if let Some(value) = value {
            self.samples.push(Sample {
                shared: None,
                labels,
                value,
            });
        }
    }

    /// Add a sample whose labels are `shared` followed by `extra`; `None` adds nothing.
    pub fn push_shared(
        &mut self,
        shared: &SharedLabels,
        extra: Vec<(&'static str, String)>,
        value: Option<Value>,
    ) {
        if let Some(value) = value {
            self.samples.push(Sample {
                shared: Some(Arc::clone(shared)),
                labels: extra,
                value,
            });
        }
    }
}

/// Escape a label value: backslash, double quote and line feed (both formats).
pub fn escape_label_value(v: &str, out: &mut String) {
    // Most values (paths, names, IDs) need no escaping: copy them whole.
    if !v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escape HELP text: backslash and line feed; OpenMetrics also escapes double quotes.
fn escape_help(v: &str, format: ExpositionFormat, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if format == ExpositionFormat::OpenMetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// Write `families` in `format`. Families without samples are left out entirely.
pub fn encode(families: &[Family], format: ExpositionFormat) -> String {
    let mut out = String::with_capacity(families.len() * 256);
    for fam in families.iter().filter(|f| !f.samples.is_empty()) {
        let meta_name = match (format, fam.kind) {
            (ExpositionFormat::OpenMetrics, MetricType::Counter) => {
                fam.name.strip_suffix("_total").unwrap_or(fam.name)
            }
            _ => fam.name,
        };
        let kind = match fam.kind {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        };
        let _ = write!(out, "# HELP {meta_name} ");
        escape_help(fam.help, format, &mut out);
        let _ = writeln!(out, "\n# TYPE {meta_name} {kind}");
        if let (ExpositionFormat::OpenMetrics, Some(unit)) = (format, fam.unit) {
            let _ = writeln!(out, "# UNIT {meta_name} {unit}");
        }
        for s in &fam.samples {
            out.push_str(fam.name);
            let shared = s.shared.as_deref().unwrap_or(&[]);
            if !s.labels.is_empty() || !shared.is_empty() {
                out.push('{');
                for (i, (k, v)) in shared.iter().chain(&s.labels).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push_str("=\"");
                    escape_label_value(v, &mut out);
                    out.push('"');
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", s.value);
        }
    }
    if format == ExpositionFormat::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_families() -> Vec<Family> {
        let mut g = Family::gauge("clw_test_usage_bytes", "Usage \"now\".\nSecond \\ line.");
        g.push(
            vec![("cgroup", "/a\\b\"c\nd".to_string())],
            Some(Value::Uint(42)),
        );
        g.push(vec![("cgroup", "/x".to_string())], None);
        let mut c = Family::counter("clw_test_kills_total", "Kills.");
        c.push(vec![], Some(Value::Uint(3)));
        let shared: SharedLabels = Arc::from(vec![("cgroup", "/x".to_string())]);
        g.push_shared(
            &shared,
            vec![("kind", "some".to_string())],
            Some(Value::Uint(5)),
        );
        g.push_shared(&shared, vec![], Some(Value::Uint(6)));
        let empty = Family::gauge("clw_test_empty_bytes", "Nothing.");
        vec![g, c, empty]
    }

    #[test]
    fn text_format_escapes_and_names_counters_with_total() {
        let text = encode(&sample_families(), ExpositionFormat::Text);
        assert_eq!(
            text,
            "# HELP clw_test_usage_bytes Usage \"now\".\\nSecond \\\\ line.\n\
             # TYPE clw_test_usage_bytes gauge\n\
             clw_test_usage_bytes{cgroup=\"/a\\\\b\\\"c\\nd\"} 42\n\
             clw_test_usage_bytes{cgroup=\"/x\",kind=\"some\"} 5\n\
             clw_test_usage_bytes{cgroup=\"/x\"} 6\n\
             # HELP clw_test_kills_total Kills.\n\
             # TYPE clw_test_kills_total counter\n\
             clw_test_kills_total 3\n"
        );
    }

    #[test]
    fn openmetrics_has_units_counter_family_without_total_and_eof() {
        let text = encode(&sample_families(), ExpositionFormat::OpenMetrics);
        assert_eq!(
            text,
            "# HELP clw_test_usage_bytes Usage \\\"now\\\".\\nSecond \\\\ line.\n\
             # TYPE clw_test_usage_bytes gauge\n\
             # UNIT clw_test_usage_bytes bytes\n\
             clw_test_usage_bytes{cgroup=\"/a\\\\b\\\"c\\nd\"} 42\n\
             clw_test_usage_bytes{cgroup=\"/x\",kind=\"some\"} 5\n\
             clw_test_usage_bytes{cgroup=\"/x\"} 6\n\
             # HELP clw_test_kills Kills.\n\
             # TYPE clw_test_kills counter\n\
             clw_test_kills_total 3\n\
             # EOF\n"
        );
    }

    #[test]
    fn special_float_values() {
        assert_eq!(Value::Float(f64::NAN).to_string(), "NaN");
        assert_eq!(Value::Float(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Value::Float(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(Value::Float(0.25).to_string(), "0.25");
        assert_eq!(Value::Int(-1000).to_string(), "-1000");
    }

    #[test]
    fn accept_header_negotiation() {
        use ExpositionFormat::*;
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(ExpositionFormat::negotiate(Some(prom)), OpenMetrics);
        assert_eq!(ExpositionFormat::negotiate(None), Text);
        assert_eq!(ExpositionFormat::negotiate(Some("*/*")), Text);
        assert_eq!(ExpositionFormat::negotiate(Some("text/plain")), Text);
        assert_eq!(
            ExpositionFormat::negotiate(Some("application/openmetrics-text;q=0")),
            Text
        );
    }
}
