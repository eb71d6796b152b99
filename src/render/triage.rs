//! Output of `triage`: the events table, the summary, evidence with `-v`, and GitHub Actions
//! annotations.

use super::units::iec;
use super::{col, one_line, Cell, Report, Table};
use crate::triage::event::{Event, IdentitySource, Kind};
use crate::triage::Report as TriageReport;

fn victim(e: &Event) -> String {
    match (&e.process, e.pid) {
        (Some(p), Some(pid)) => format!("{p}[{pid}]"),
        (Some(p), None) => p.clone(),
        (None, Some(pid)) => format!("pid {pid}"),
        (None, None) => e
            .container
            .clone()
            .or_else(|| e.unit.clone())
            .unwrap_or_else(|| "-".into()),
    }
}

fn place(e: &Event) -> String {
    if let Some(w) = &e.workload {
        return w.clone();
    }
    if let Some(m) = &e.memcg {
        return clip_left(m, 48);
    }
    let mut parts = Vec::new();
    if let Some(p) = &e.pod {
        parts.push(match &e.namespace {
            Some(ns) => format!("pod {ns}/{p}"),
            None => format!("pod {p}"),
        });
    }
    if let Some(c) = &e.container {
        parts.push(format!("container {c}"));
    } else if let Some(id) = &e.container_id {
        parts.push(format!("container {}", &id[..id.len().min(12)]));
    }
    if let Some(u) = &e.unit {
        parts.push(u.clone());
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

fn clip_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        format!("…{}", s.chars().skip(n - (max - 1)).collect::<String>())
    }
}

fn cause(e: &Event) -> String {
    match (e.kind, &e.linked_to, e.cause) {
        (_, Some(l), _) => format!("oom ({} at {}, by {})", l.kind.as_str(), l.source, l.by),
        (_, None, Some(c)) => c.as_str().to_string(),
        (Kind::RuntimeOom, _, _) => e.runtime.unwrap_or("").to_string(),
        (Kind::ClwError, _, _)
        | (Kind::OomdKill, _, _)
        | (Kind::EarlyoomKill, _, _)
        | (Kind::Segfault, _, _) => e.code.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn time(e: &Event) -> String {
    match (&e.timestamp, e.monotonic_s) {
        (Some(t), _) => t.clone(),
        (None, Some(m)) => format!("+{m:.3}s after boot"),
        (None, None) => "-".into(),
    }
}

/// A one-line description of an event, for annotations.
pub fn describe(e: &Event) -> String {
    let mut s = format!("{}: {}", e.kind.as_str(), one_line(&victim(e)));
    // Names from runtime files may hold newlines or control characters: one line, escaped.
    let p = one_line(&place(e));
    if p != "-" {
        s.push_str(&format!(" in {p}"));
    }
    if let Some(a) = e.anon_rss_kb {
        s.push_str(&format!(", anon-rss {}", iec(a * 1024)));
    }
    if let Some(l) = e.limit_kb {
        s.push_str(&format!(", limit {}", iec(l * 1024)));
    }
    if let Some(c) = e.exit_code {
        s.push_str(&format!(", exit code {c}"));
    }
    let c = cause(e);
    if !c.is_empty() {
        s.push_str(&format!(", cause {c}"));
    }
    s
}

/// Where the event's workload names came from, in one line ("named from … now; the log names
/// only the cgroup"), and why a container is not named; `None` when there is nothing to say.
pub fn provenance(e: &Event, host_root: Option<&str>) -> Option<String> {
    let root = host_root.unwrap_or("/");
    let id = e.identity.as_ref();
    let files = || {
        id.map(|i| {
            i.source
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
    };
    let cg = e.memcg.as_deref().or(e.oom_memcg.as_deref()).unwrap_or("-");
    match e.identity_source {
        Some(IdentitySource::NodeFiles) => Some(format!(
            "named from {} now (node files of {root}, read at this run); the log names only the cgroup {cg}",
            files()
        )),
        Some(IdentitySource::LogAndNodeFiles) => Some(format!(
            "named by the log, completed from {} now (node files of {root}, read at this run)",
            files()
        )),
        Some(IdentitySource::Log) => Some("named by the log itself".into()),
        None => id
            .and_then(|i| i.unresolved.as_ref())
            .map(|why| format!("not named: {why} (node files of {root}, now); the log names only the cgroup {cg}")),
    }
}

/// What the verdict is about: the inputs read (by name when few), and the others left out.
fn inputs_read(r: &TriageReport) -> String {
    let read: Vec<&str> = r
        .inputs
        .iter()
        .filter(|i| i.read)
        .map(|i| i.name.as_str())
        .collect();
    let not_read = r.inputs.len() - read.len();
    let mut s = if not_read == 0 {
        format!("{} input(s)", read.len())
    } else if read.len() <= 3 {
        read.join(", ")
    } else {
        format!("{} inputs", read.len())
    };
    if not_read > 0 {
        s.push_str(&format!(
            " ({not_read} input(s) could not be read and are not in this result)"
        ));
    }
    s
}

impl Report for TriageReport {
    fn tables(&self) -> Vec<Table> {
        let s = &self.summary;
        let total_lines: u64 = self.inputs.iter().map(|i| i.lines).sum();
        let mut notes = Vec::new();
        if self.events.is_empty() {
            notes.push(format!(
                "no OOM kills, abnormal exits or crashes found in {total_lines} lines of {}",
                inputs_read(self)
            ));
        } else {
            notes.push(format!(
                "{} event(s) in {total_lines} lines: {} out-of-memory, {} crash(es), {} SIGKILL exit(s) with cause unknown",
                s.events, s.oom, s.crash, s.sigkill_cause_unknown
            ));
            if s.inputs_not_read > 0 {
                notes.push(format!("read: {}", inputs_read(self)));
            }
            if s.sigkill_cause_unknown > 0 {
                notes.push("exit 137 / SIGKILL is not proof of an OOM: no kernel, memcg, Kubernetes or Docker OOM record correlates with those marked 'unknown'".into());
            }
        }
        if s.before_since > 0 {
            notes.push(format!(
                "{} event(s) before --since not shown",
                s.before_since
            ));
        }
        let from_files = self
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.identity_source,
                    Some(IdentitySource::NodeFiles | IdentitySource::LogAndNodeFiles)
                )
            })
            .count();
        if from_files > 0 {
            notes.push(format!(
                "{from_files} workload name(s) come from the node files of {}, read now, not from the log (-v: which files): right only when the log is this machine's",
                self.host_root.as_deref().unwrap_or("/")
            ));
        }
        for e in &self.events {
            for n in &e.notes {
                notes.push(format!("{}: {}", e.source, one_line(n)));
            }
        }
        // Errors are not repeated here: they go to stderr, once.
        for i in &self.inputs {
            if i.long_lines > 0 {
                notes.push(format!(
                    "{}: {} line(s) longer than 1 MiB were cut",
                    i.name, i.long_lines
                ));
            }
        }
        let mut tables = vec![Table {
            title: None,
            columns: vec![
                col("TIME", "timestamp"),
                col("KIND", "kind"),
                col("VICTIM", "victim"),
                col("WORKLOAD / CGROUP", "place"),
                col("ANON-RSS", "anon_rss_bytes"),
                col("LIMIT", "limit_bytes"),
                col("CAUSE", "cause"),
                col("EVIDENCE", "source"),
            ],
            rows: self
                .events
                .iter()
                .map(|e| {
                    vec![
                        Cell::text(time(e)),
                        Cell::text(e.kind.as_str()),
                        Cell::text(one_line(&victim(e))),
                        Cell::text(one_line(&place(e))),
                        Cell::Bytes(e.anon_rss_kb.map(|k| k * 1024)),
                        Cell::Bytes(e.limit_kb.map(|k| k * 1024)),
                        Cell::text(cause(e)),
                        Cell::text(e.source.to_string()),
                    ]
                })
                .collect(),
            notes,
        }];
        if self.verbose {
            for e in &self.events {
                let mut notes: Vec<String> = e
                    .evidence
                    .iter()
                    .map(|l| format!("  {}", one_line(l)))
                    .collect();
                if let Some(m) = e.memcg.as_ref().filter(|_| e.workload.is_some()) {
                    notes.push(format!("  cgroup: {}", one_line(m)));
                }
                if let Some(p) = provenance(e, self.host_root.as_deref()) {
                    notes.push(format!("  identity: {}", one_line(&p)));
                }
                for n in &e.notes {
                    notes.push(format!("  note: {}", one_line(n)));
                }
                if !e.top_consumers.is_empty() {
                    notes.push(format!(
                        "  largest tasks at the kill (page size {} B):",
                        e.page_size.unwrap_or(4096)
                    ));
                    for t in &e.top_consumers {
                        notes.push(format!(
                            "    {:>8} {:<20} rss {:>10}  oom_score_adj {}",
                            t.pid,
                            one_line(&t.name),
                            t.rss_kb
                                .map(|k| iec(k * 1024))
                                .unwrap_or_else(|| "-".into()),
                            t.oom_score_adj.map_or("-".into(), |a| a.to_string())
                        ));
                    }
                }
                tables.push(Table {
                    title: Some(format!("{} at {}", describe(e), e.source)),
                    notes,
                    ..Table::default()
                });
            }
        }
        tables
    }

    fn github(&self) -> Option<Vec<String>> {
        // https://docs.github.com/actions/reference/workflow-commands-for-github-actions
        let esc_data = |s: &str| {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let esc_prop = |s: &str| esc_data(s).replace(':', "%3A").replace(',', "%2C");
        Some(
            self.events
                .iter()
                .map(|e| {
                    let level = if e.kind.is_oom()
                        || e.kind.is_crash()
                        || e.cause == Some(crate::triage::event::Cause::Oom)
                    {
                        "error"
                    } else if e.kind.is_exit() {
                        "warning"
                    } else {
                        "notice"
                    };
                    format!(
                        "::{level} file={},line={},title={}::{}",
                        esc_prop(&e.source.file),
                        e.source.line,
                        esc_prop(&format!("clw-diag {}", e.kind.as_str())),
                        esc_data(&describe(e))
                    )
                })
                .collect(),
        )
    }
}
