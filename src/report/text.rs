//! The report as people read it: a header line, the summary, then each section under a
//! `== Title (N ms) ==` heading with the table of the command it ran (the same renderers as
//! the commands: `render::render` in table format), its notes, and why it is empty, failed or
//! timed out. Plain text, no colour (it is pasted into tickets). The model it lays out is
//! already redacted (`report::build`); the caller redacts the finished text once more.

use super::model::{Report, Section, SectionData, Status};
use crate::render::{self, Format, Style};

/// Events of a log section shown in the text (the JSON has them all).
const EVENTS_SHOWN: usize = 20;

fn table_text<R: render::Report + ?Sized>(r: &R) -> String {
    let mut out = Vec::new();
    let _ = render::render(r, Format::Table, Style::default(), &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The triage table: the most recent events only.
fn triage_text(rep: &crate::triage::Report) -> String {
    if rep.events.len() <= EVENTS_SHOWN {
        return table_text(rep);
    }
    let mut short = rep.clone();
    let hidden = short.events.len() - EVENTS_SHOWN;
    short.events.drain(..hidden);
    format!(
        "{}({hidden} earlier event(s) not shown here; --json or `clw-diag triage` has them all)\n",
        table_text(&short)
    )
}

/// A recommended size as `recommend` and its `--emit` write it: whole MiB, rounded up.
fn quantity(b: Option<u64>) -> String {
    b.map_or("-".into(), |b| format!("{} MiB", render::units::mib_up(b)))
}

/// A section's body for its status.
fn body(s: &Section) -> String {
    let mut t = String::new();
    match s.status {
        Status::Ok => {
            match &s.data {
                SectionData::Snapshot(x) => t.push_str(&table_text(x.as_ref())),
                SectionData::OomRank(x) => t.push_str(&table_text(x.as_ref())),
                SectionData::Triage(x) => t.push_str(&triage_text(x)),
                SectionData::Cores(bts) => {
                    for bt in bts {
                        let mut out = Vec::new();
                        let _ = render::write_backtrace(bt, Style::default(), &mut out);
                        t.push_str(&String::from_utf8_lossy(&out));
                        t.push('\n');
                    }
                }
                SectionData::StoredCrashes(sc) => {
                    t.push_str(&table_text(&sc.listing));
                    for bt in &sc.backtraces {
                        t.push('\n');
                        let mut out = Vec::new();
                        let _ = render::write_backtrace(bt, Style::default(), &mut out);
                        t.push_str(&String::from_utf8_lossy(&out));
                    }
                }
                SectionData::Traces(ts) => {
                    for a in ts {
                        let rec = a.recommendation.as_ref();
                        t.push_str(&format!(
                            "{} ({}): leak verdict {}; clw recommendation: request {}, limit {}\n",
                            a.target.target,
                            a.target.metric,
                            a.leak.as_ref().map_or("-".to_string(), |l| format!(
                                "{} (confidence {:.0} %)",
                                l.verdict.as_str(),
                                l.confidence * 100.0
                            )),
                            quantity(rec.and_then(|r| r.request_bytes)),
                            quantity(rec.and_then(|r| r.limit_bytes)),
                        ));
                    }
                }
                SectionData::None => {}
            }
            for n in &s.notes {
                t.push_str(&format!("note: {n}\n"));
            }
        }
        Status::Failed => {
            for n in &s.notes {
                t.push_str(&format!("could not be read: {n}\n"));
            }
        }
        Status::Empty | Status::Timeout => {
            for n in &s.notes {
                t.push_str(&format!("{n}\n"));
            }
        }
    }
    t
}

/// The report as plain text (no colour), from the model as `report::build` redacted it; the
/// caller redacts the text once more before it leaves the process.
pub fn to_text(r: &Report) -> String {
    let mut t = String::new();
    t.push_str(&format!(
        "clw-diag report: host {}, kernel {}, generated {}, since {} ({})\n\n",
        r.hostname.as_deref().unwrap_or("?"),
        r.kernel.as_deref().unwrap_or("?"),
        r.generated_at,
        r.since,
        r.since_arg
    ));
    t.push_str("== Summary ==\n");
    t.push_str(&r.summary.verdict);
    t.push('\n');
    for f in &r.summary.findings {
        t.push_str(&format!("- {} [{}]\n", f.what, f.evidence));
    }
    if !r.summary.next_steps.is_empty() {
        t.push_str("Next:\n");
        for n in &r.summary.next_steps {
            t.push_str(&format!("- {n}\n"));
        }
    }
    for s in &r.sections {
        let status = match s.status {
            Status::Ok => "",
            Status::Empty => ", nothing to read",
            Status::Failed => ", FAILED",
            Status::Timeout => ", TIMED OUT",
        };
        t.push_str(&format!(
            "\n== {} ({} ms{status}) ==\n",
            s.title, s.elapsed_ms
        ));
        t.push_str(&body(s));
    }
    t
}

impl render::Report for Report {
    /// The report is a document, not tables: see [`render::Report::text`].
    fn tables(&self) -> Vec<render::Table> {
        Vec::new()
    }

    fn text(&self) -> Option<String> {
        Some(to_text(self))
    }
}
