//! The prefilter's safety net: every fixture file under `tests/fixtures/triage*` is triaged with
//! the prefilter (streamed, and through the memory map of the large-file path) and with every
//! line sent to the parsers ([`super::scan::NO_PREFILTER`]); the events must be the same. A
//! keyword set or gate that drops a line some parser reads fails here, naming the file and the
//! first event that differs.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use super::input::scan_file;
use super::mapped;
use super::scan::{Mode, Scanner, NO_PREFILTER};

fn fixture_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("triage"))
        })
        .collect();
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("fixture dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The events of `p` as JSON lines (what a report would show of them) and the lines read.
fn events(p: &Path, every_line: bool) -> (Vec<String>, u64) {
    NO_PREFILTER.with(|f| f.set(every_line));
    let name = p.display().to_string();
    let (ev, summary) = scan_file(&name, File::open(p).expect("fixture"), &AtomicU64::new(0));
    NO_PREFILTER.with(|f| f.set(false));
    let ev = ev
        .iter()
        .map(|e| serde_json::to_string(e).expect("event serialises"))
        .collect();
    (ev, summary.lines)
}

/// The same through the memory-mapped path (which the fixtures, being small, do not take).
fn mapped_events(p: &Path, every_line: bool) -> (Vec<String>, u64) {
    NO_PREFILTER.with(|f| f.set(every_line));
    let name = p.display().to_string();
    let mut s = Scanner::new(&name, Mode::Text);
    NO_PREFILTER.with(|f| f.set(false));
    let f = File::open(p).expect("fixture");
    mapped::scan_file(&mut s, &f, &AtomicU64::new(0)).expect("mapped scan");
    let ev = s
        .events
        .iter()
        .map(|e| serde_json::to_string(e).expect("event serialises"))
        .collect();
    (ev, s.lines)
}

/// Plain `\n`-ended text that is not a JSON document: what the mapped path would take if large.
fn mappable_text(p: &Path) -> bool {
    let Ok(b) = std::fs::read(p) else {
        return false;
    };
    let compressed = b.starts_with(&[0x1f, 0x8b]) || b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let json = b
        .iter()
        .find(|c| !c.is_ascii_whitespace())
        .is_some_and(|&c| c == b'{' || c == b'[');
    !b.is_empty() && !compressed && !json && memchr::memchr(b'\n', &b).is_some()
}

/// The first event that differs, shortened to its kind, line and message (and the field that
/// differs first).
fn first_difference(a: &[String], b: &[String]) -> String {
    fn short(e: Option<&String>) -> String {
        let Some(v) = e.and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok()) else {
            return "none".into();
        };
        format!(
            "{} at line {} ({})",
            v["kind"], v["source"]["line"], v["message"]
        )
    }
    for i in 0..a.len().max(b.len()) {
        if a.get(i) != b.get(i) {
            let field = match (a.get(i), b.get(i)) {
                (Some(x), Some(y)) => {
                    let x: serde_json::Value = serde_json::from_str(x).unwrap_or_default();
                    let y: serde_json::Value = serde_json::from_str(y).unwrap_or_default();
                    x.as_object()
                        .and_then(|o| o.iter().find(|(k, v)| y.get(k.as_str()) != Some(v)))
                        .map(|(k, _)| format!(" (first differing field: {k})"))
                        .unwrap_or_default()
                }
                _ => String::new(),
            };
            return format!(
                "{} vs {} events; event {i}{field}:\n    prefilter:  {}\n    every line: {}",
                a.len(),
                b.len(),
                short(a.get(i)),
                short(b.get(i))
            );
        }
    }
    String::new()
}

#[test]
fn prefilter_finds_what_every_line_finds_in_every_fixture() {
    let files = fixture_files();
    assert!(files.len() > 50, "fixtures found: {}", files.len());
    let mut failures = Vec::new();
    let mut with_events = 0;
    for p in &files {
        let oracle = events(p, true);
        with_events += usize::from(!oracle.0.is_empty());
        let streamed = events(p, false);
        if streamed != oracle {
            failures.push(format!(
                "{} (streamed; lines {} vs {}): {}",
                p.display(),
                streamed.1,
                oracle.1,
                first_difference(&streamed.0, &oracle.0)
            ));
        }
        if mappable_text(p) {
            let m_oracle = mapped_events(p, true);
            let m = mapped_events(p, false);
            if m != m_oracle {
                failures.push(format!(
                    "{} (mapped; lines {} vs {}): {}",
                    p.display(),
                    m.1,
                    m_oracle.1,
                    first_difference(&m.0, &m_oracle.0)
                ));
            }
        }
    }
    assert!(with_events > 50, "fixtures with events: {with_events}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
