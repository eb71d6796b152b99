//! Running the report: each section on its own thread with a time budget (a section that hangs
//! on a slow disk or a huge core is left out and says so; a panic in one is reported as an
//! internal error), in order, then the summary; the finished model is redacted once.

use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use super::model::{Options, Report, Section, SectionData, SectionId, Status};
use super::sections::{self, Facts, Outcome};
use super::summary::summarize;

/// Run `f` on its own thread for at most `budget`.
fn run_section(
    id: SectionId,
    budget: Duration,
    f: impl FnOnce() -> Outcome + Send + 'static,
) -> (Section, Facts) {
    let t0 = Instant::now();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("report-{}", id.as_str()))
        .spawn(move || {
            let _ = tx.send(f());
        });
    let outcome = match spawned {
        Err(e) => Outcome::failed(format!("cannot start a thread: {e}")),
        Ok(_) => match rx.recv_timeout(budget) {
            Ok(o) => o,
            Err(mpsc::RecvTimeoutError::Timeout) => Outcome {
                status: Status::Timeout,
                notes: vec![format!(
                    "did not finish within {} s; left out",
                    budget.as_secs_f64()
                )],
                data: SectionData::None,
                facts: Facts::default(),
            },
            // The thread panicked: a bug, reported as such rather than taking the report down.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Outcome::failed("internal error in this section (please report)".into())
            }
        },
    };
    (
        Section {
            id,
            title: id.title(),
            status: outcome.status,
            elapsed_ms: t0.elapsed().as_millis() as u64,
            notes: outcome.notes,
            data: outcome.data,
        },
        outcome.facts,
    )
}

/// The function that makes a section.
fn section_fn(id: SectionId) -> fn(&Options) -> Outcome {
    match id {
        SectionId::Snapshot => sections::snapshot,
        SectionId::OomRank => sections::oom_rank,
        SectionId::KernelLog => sections::kernel_log,
        SectionId::WorkerLogs => sections::worker_logs,
        SectionId::Cores => sections::cores,
        SectionId::StoredCrashes => sections::stored_crashes,
        SectionId::Traces => sections::traces,
    }
}

/// The bundle entry listing each cgroup the report names with its identity and the node files
/// it came from.
pub const IDENTITY_ENTRY: &str = "identity.json";

/// `identity.json`: `{"host_root": DIR, "read_at": RFC 3339, "cgroups": [{"cgroup", "workload",
/// "identity"}]}`, every name and path redacted as the bundle's other text.
fn identity_entry(o: &Options, ids: &[crate::identity::Identity]) -> super::bundle::Content {
    let cgroups: Vec<serde_json::Value> = ids
        .iter()
        .map(|i| {
            serde_json::json!({
                "cgroup": i.cgroup,
                "workload": i.workload(),
                "identity": i,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "host_root": o.host_root.display().to_string(),
        "read_at": crate::base::time::rfc3339(SystemTime::now()),
        "note": "names read from the node's files under host_root at read_at, not from the logs",
        "cgroups": cgroups,
    });
    super::bundle::Content::Text(serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// Build the report.
pub fn build(o: &Options) -> Report {
    build_with_progress(o, &|_| {})
}

/// [`build`], calling `progress` with each section's title as it starts (a terminal's progress
/// line; the library prints nothing itself).
pub fn build_with_progress(o: &Options, progress: &dyn Fn(&str)) -> Report {
    let mut sections = Vec::new();
    let mut findings = Vec::new();
    let mut next = Vec::new();
    let mut raw = Vec::new();
    let mut identities: Vec<crate::identity::Identity> = Vec::new();
    for id in SectionId::ALL {
        progress(id.title());
        let opts = o.clone();
        let f = section_fn(id);
        let (s, facts) = run_section(id, o.budget, move || f(&opts));
        findings.extend(facts.findings);
        next.extend(facts.next_steps);
        raw.extend(facts.raw);
        for i in facts.identities {
            if !identities.iter().any(|k| k.cgroup == i.cgroup) {
                identities.push(i);
            }
        }
        sections.push(s);
    }
    if !identities.is_empty() {
        raw.push((IDENTITY_ENTRY.to_string(), identity_entry(o, &identities)));
    }
    let summary = summarize(&findings, next, &sections);
    let read = |name: &str| {
        std::fs::read_to_string(o.proc_root.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let mut report = Report {
        generated_at: crate::base::time::rfc3339(SystemTime::now()),
        hostname: read("sys/kernel/hostname"),
        kernel: read("sys/kernel/osrelease"),
        since: crate::base::time::format_rfc3339(o.since_us),
        since_arg: o.since_label.clone(),
        sections,
        summary,
        raw,
        redacted: 0,
    };
    // The one pass over the model's strings, before anything lays them out (see
    // `redact::model`); the raw inputs are redacted as they enter the bundle.
    report.redacted = super::redact::redact_report(&mut report);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_over_its_budget_times_out_and_a_panic_is_an_internal_error() {
        let (s, _) = run_section(SectionId::Cores, Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_millis(500));
            Outcome::empty("late".into())
        });
        assert_eq!(s.status, Status::Timeout);
        assert!(s.notes[0].contains("did not finish"), "{:?}", s.notes);
        let (s, _) = run_section(SectionId::Traces, Duration::from_secs(5), || {
            panic!("planted")
        });
        assert_eq!(s.status, Status::Failed);
        assert!(s.notes[0].contains("internal error"), "{:?}", s.notes);
        assert_eq!((s.id, s.title), (SectionId::Traces, "Memory traces"));
    }
}
