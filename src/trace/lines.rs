//! The typed reader of `record`'s JSON Lines traces: every line back into the
//! [`crate::trace::format`] types the writer wrote ([`Header`], [`Sample`], [`EventLine`]), for
//! callers that need the whole trace rather than one metric's series ([`crate::trace::read`]
//! reduces a trace to one series, with a fast path for large traces).
//!
//! As the series reader, it tolerates only a torn last line (a recorder killed mid-write), with a
//! warning; any other line that is not a sample or an event is an error naming the line.

use std::path::Path;

use serde_json::Value;

use super::format::{EventLine, Header, Sample};
use super::FORMAT_VERSION;
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::sample::files::malformed;

/// A whole trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Line 1 of the trace: target, host, kernel, interval, limit and the metrics recorded.
    pub header: Header,
    /// Sample lines, in order.
    pub samples: Vec<Sample>,
    /// Event lines, in order.
    pub events: Vec<EventLine>,
    /// What was tolerated (a torn last line), as `file:line: why`.
    pub warnings: Vec<String>,
}

/// Read the trace file at `path`.
///
/// Errors: [`Error::Io`] when it cannot be read, [`Error::NotSupported`] when it is not a
/// regular file, [`Error::TooLarge`] past 1 GiB; [`Error::Malformed`] naming the line for a
/// header that is not a version-1 trace header, or a line that is neither a sample nor an event
/// (other than a torn last line).
pub fn read_trace(path: &Path) -> Result<Trace> {
    use crate::base::input;
    // A regular file of at most 1 GiB, as every trace reader takes (a FIFO does not block).
    let bytes = input::read_capped(
        path,
        input::Accept::Regular,
        super::bounds::MAX_TRACE_BYTES,
        "a trace: split it, or record it at a longer --interval",
    )?;
    let text =
        String::from_utf8(bytes).map_err(|e| malformed(path, 0, format!("not UTF-8 text: {e}")))?;
    parse_trace(&text, path)
}

/// Parse trace text (see [`read_trace`]); `path` names it in errors.
pub fn parse_trace(text: &str, path: &Path) -> Result<Trace> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines
        .next()
        .ok_or_else(|| malformed(path, 0, "empty file"))?;
    let header: Header = serde_json::from_str(first)
        .map_err(|e| malformed(path, 1, format!("bad trace header: {e}")))?;
    if header.clw_trace != FORMAT_VERSION {
        return Err(malformed(
            path,
            1,
            format!(
                "unknown trace format version {} (this clw-diag reads version {FORMAT_VERSION})",
                header.clw_trace
            ),
        ));
    }
    let last = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .last()
        .map(|(i, _)| i);
    let mut t = Trace {
        header,
        samples: Vec::new(),
        events: Vec::new(),
        warnings: Vec::new(),
    };
    for (i, line) in lines {
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) if Some(i) == last => {
                t.warnings.push(format!(
                    "{}:{}: torn last line ignored (the recorder was stopped mid-write)",
                    path.display(),
                    i + 1
                ));
                break;
            }
            Err(e) => return Err(malformed(path, i + 1, format!("not a JSON object: {e}"))),
        };
        let bad = |e: serde_json::Error| malformed(path, i + 1, e.to_string());
        if v.get("event").is_some() {
            t.events.push(serde_json::from_value(v).map_err(bad)?);
        } else {
            t.samples.push(serde_json::from_value(v).map_err(bad)?);
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::format::{Event, TraceTarget};
    use crate::trace::write::TraceWriter;

    fn header() -> Header {
        Header {
            clw_trace: FORMAT_VERSION,
            target: TraceTarget::Command {
                pid: Some(42),
                command: Some("python3 -c pass".into()),
                children: false,
                memory_cgroup: Some("/clw-record-7".into()),
                memory_limit_bytes: Some(192 << 20),
            },
            host: Some("build".into()),
            kernel: None,
            interval_s: Some(0.05),
            limit_bytes: Some(192 << 20),
            host_total_bytes: Some(1 << 34),
            started_at: Some("2026-12-01T23:00:00.000000Z".into()),
            metrics: vec!["rss_bytes".into(), "anon_bytes".into(), "pss_bytes".into()],
            pss_every: Some(1),
            recorder: Some("clw-diag test".into()),
            identity: None,
        }
    }

    /// Writer → file → reader gives back the same header, samples and events.
    #[test]
    fn write_then_read_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.json");
        let samples = vec![
            Sample {
                t: 0.0,
                rss_bytes: Some(10 << 20),
                anon_bytes: Some(6 << 20),
                pss_bytes: Some(8 << 20),
                uss_bytes: Some(7 << 20),
                pid: Some(42),
                pids: Some(1),
                usage_bytes: Some(11 << 20),
                psi_some_avg10: Some(0.25),
                ..Sample::default()
            },
            // PSS not readable: absent, not 0.
            Sample {
                t: 0.05,
                rss_bytes: Some(12 << 20),
                anon_bytes: Some(8 << 20),
                pid: Some(42),
                pids: Some(1),
                ..Sample::default()
            },
        ];
        let events = vec![
            EventLine {
                t: 0.06,
                event: Event::OomKill {
                    count: 1,
                    source: Some("memory cgroup events".into()),
                },
            },
            EventLine {
                t: 0.07,
                event: Event::TargetExited {
                    exit_code: None,
                    signal: Some(9),
                },
            },
            EventLine {
                t: 0.08,
                event: Event::RecorderStats {
                    cpu_s: Some(0.01),
                    peak_rss_bytes: Some(4 << 20),
                    samples: Some(2),
                },
            },
        ];
        let mut w = TraceWriter::create(&p, &header()).unwrap();
        for s in &samples {
            w.sample(s).unwrap();
        }
        for e in &events {
            w.event(e.t, e.event.clone()).unwrap();
        }
        drop(w);
        let t = read_trace(&p).unwrap();
        assert_eq!(t.header, header());
        assert_eq!(t.samples, samples);
        assert_eq!(t.events, events);
        assert!(t.warnings.is_empty());
        let text = std::fs::read_to_string(&p).unwrap();
        let second = text.lines().nth(2).unwrap();
        assert!(
            !second.contains("pss_bytes") && !second.contains("null"),
            "a figure not read is absent: {second}"
        );
        // The series reader reads the same file: the metric, the limit and the OOM kill.
        let s = &crate::trace::read::read_file(&p, None).unwrap()[0];
        assert_eq!(s.metric, "anon_bytes");
        assert_eq!(s.v, vec![(6 << 20) as f64, (8 << 20) as f64]);
        assert_eq!(s.limit_bytes, Some(192 << 20));
        assert_eq!(s.oom_kills().map(|k| k.count).sum::<u64>(), 1);
        assert_eq!(s.exit(), Some((None, Some(9))));
        // PSS is in one sample only: the series of pss_bytes has one point, not a 0.
        let s = &crate::trace::read::read_file(&p, Some("pss")).unwrap()[0];
        assert_eq!(s.v, vec![(8 << 20) as f64]);
    }

    #[test]
    fn a_torn_last_line_is_a_warning_and_other_damage_an_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.json");
        let mut w = TraceWriter::create(&p, &header()).unwrap();
        w.sample(&Sample {
            t: 0.0,
            rss_bytes: Some(1),
            ..Sample::default()
        })
        .unwrap();
        drop(w);
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("{\"t\":0.05,\"rss_by");
        let t = parse_trace(&text, &p).unwrap();
        assert_eq!(t.samples.len(), 1);
        assert_eq!(t.warnings.len(), 1);
        assert!(
            t.warnings[0].contains(":3: torn last line"),
            "{:?}",
            t.warnings
        );
        // The same damage before the last line is an error with its line.
        let e = parse_trace(&(text.clone() + "\n{\"t\":1}\n"), &p).unwrap_err();
        assert!(e.to_string().contains(":3"), "{e}");
        // A sample whose figure is not a number is an error, not a 0.
        let e = parse_trace(
            &text.replace("{\"t\":0.05,\"rss_by", "{\"t\":1,\"rss_bytes\":\"x\"}\n"),
            &p,
        )
        .unwrap_err();
        assert!(e.to_string().contains(":3"), "{e}");
        let e = parse_trace("{\"clw_trace\":2}\n", &p).unwrap_err();
        assert!(e.to_string().contains("version 2"), "{e}");
    }
}
