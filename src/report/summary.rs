//! The closing summary: the newest findings of each category (OOM kills, crashes, kills nobody
//! explains, the rest), capped per category; one sentence for what most likely happened; and
//! next steps that name the cgroup of the OOM kill. Categories come from the findings' typed
//! [`FindingKind`], never from their text.

use super::model::{Finding, FindingKind, Section, SectionId, Status, Summary};

/// Findings shown per category; older ones are counted.
const PER_CATEGORY: usize = 5;

/// The summary's categories, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Oom,
    Crash,
    Unknown,
    Other,
}

impl Category {
    const ALL: [Category; 4] = [
        Category::Oom,
        Category::Crash,
        Category::Unknown,
        Category::Other,
    ];

    fn of(kind: FindingKind) -> Category {
        match kind {
            FindingKind::OomKill => Category::Oom,
            FindingKind::Crash => Category::Crash,
            FindingKind::UnknownKill => Category::Unknown,
            _ => Category::Other,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Category::Oom => "oom",
            Category::Crash => "crash",
            Category::Unknown => "unknown",
            Category::Other => "other",
        }
    }
}

/// The findings to show: per category, newest first (sections list them oldest first), at most
/// [`PER_CATEGORY`], a core's crash (with its signature) before a log line's.
fn shown(all: &[Finding]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for cat in Category::ALL {
        let mut of: Vec<&Finding> = all
            .iter()
            .filter(|f| Category::of(f.kind) == cat)
            .rev()
            .collect();
        if cat == Category::Crash {
            of.sort_by_key(|f| !matches!(f.section, SectionId::Cores | SectionId::StoredCrashes));
        }
        let hidden = of.len().saturating_sub(PER_CATEGORY);
        findings.extend(of.iter().take(PER_CATEGORY).map(|f| (*f).clone()));
        if hidden > 0 {
            let last = of[PER_CATEGORY];
            findings.push(Finding {
                kind: last.kind,
                what: format!(
                    "and {hidden} earlier finding(s) of this kind ({})",
                    cat.as_str()
                ),
                evidence: "see the sections below".into(),
                section: last.section,
                cgroup: None,
                workload: None,
            });
        }
    }
    findings
}

/// The summary of `all` findings with the sections' own `next` steps.
pub fn summarize(all: &[Finding], mut next: Vec<String>, sections: &[Section]) -> Summary {
    let findings = shown(all);
    let first = |cat: Category| findings.iter().find(|f| Category::of(f.kind) == cat);
    let (oom, crash, unknown) = (
        first(Category::Oom),
        first(Category::Crash),
        first(Category::Unknown),
    );
    let verdict = match (oom, crash, unknown) {
        (Some(o), Some(c), _) => format!(
            "an out-of-memory kill and a crash: {}; and {}",
            o.what, c.what
        ),
        (Some(o), None, _) => format!("most likely an out-of-memory kill: {}", o.what),
        (None, Some(c), _) => format!("most likely a crash: {}", c.what),
        (None, None, Some(u)) => {
            format!("a process was killed and the cause is unknown: {}", u.what)
        }
        _ if findings.is_empty() => {
            "nothing found: no OOM kill, crash or pressure in what could be read".to_string()
        }
        _ => findings[0].what.clone(),
    };
    if let Some(o) = oom {
        let cg = o.cgroup.as_deref().unwrap_or("CGROUP");
        next.push(format!(
            "see who the kernel will kill next and whether a long-lived parent is the victim: \
             `clw-diag oom-rank --cgroup {cg}`"
        ));
        next.push(format!(
            "size the limit from history rather than by rule of thumb: `clw-diag record \
             --cgroup {cg}`, then `clw-diag recommend memory-trace.json --policy all --backtest`"
        ));
    }
    if crash.is_some() {
        next.push(
            "read every thread of the core: `clw-diag backtrace CORE` (add --debuginfod for \
             missing debug files)"
                .into(),
        );
    }
    if unknown.is_some() {
        next.push(
            "a SIGKILL with no kernel OOM record: look for a supervisor or a person that \
             killed it (systemd, kubelet eviction, `kill -9`); read the kernel log as root"
                .into(),
        );
    }
    for s in sections {
        if matches!(s.status, Status::Failed | Status::Timeout) {
            let note = s.notes.first().cloned().unwrap_or_default();
            // Root helps only where the kernel refused access, not with a file that shrank
            // or is malformed.
            let what = if note.contains("permission denied") {
                "run the report again as root, or the matching command on its own"
            } else {
                "run the matching command on its own"
            };
            next.push(format!(
                "the {} section could not be read ({note}): {what}",
                s.id.as_str(),
            ));
        }
    }
    next.dedup();
    Summary {
        verdict,
        findings,
        next_steps: next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: FindingKind, what: &str, section: SectionId) -> Finding {
        Finding {
            kind,
            what: what.into(),
            evidence: format!("{}: x", section.as_str()),
            section,
            cgroup: (kind == FindingKind::OomKill).then(|| "/kubepods/pod1".to_string()),
            workload: None,
        }
    }

    #[test]
    fn an_oom_kill_and_a_crash_make_the_verdict_and_name_the_cgroup() {
        let all = vec![
            f(
                FindingKind::Pressure,
                "host under pressure",
                SectionId::Snapshot,
            ),
            f(
                FindingKind::OomKill,
                "the kernel OOM-killed python",
                SectionId::KernelLog,
            ),
            f(FindingKind::Crash, "crash in a log", SectionId::WorkerLogs),
            f(
                FindingKind::Crash,
                "crash: SIGSEGV in fault_here",
                SectionId::Cores,
            ),
        ];
        let s = summarize(&all, Vec::new(), &[]);
        assert!(
            s.verdict.starts_with("an out-of-memory kill and a crash"),
            "{}",
            s.verdict
        );
        // The core's crash comes before the log's, though the log's is newer.
        assert!(s.verdict.contains("fault_here"), "{}", s.verdict);
        assert!(
            s.next_steps
                .iter()
                .any(|n| n.contains("--cgroup /kubepods/pod1")),
            "{:?}",
            s.next_steps
        );
        assert_eq!(s.findings.len(), 4);
    }

    #[test]
    fn a_finding_is_classified_by_its_kind_not_its_words() {
        // Text that mentions "OOM-killed" and "crashed" but is pressure: no OOM verdict.
        let all = vec![f(
            FindingKind::Pressure,
            "cgroup OOM-killed crashed cause unknown",
            SectionId::Snapshot,
        )];
        let s = summarize(&all, Vec::new(), &[]);
        assert_eq!(s.verdict, "cgroup OOM-killed crashed cause unknown");
        assert!(!s.next_steps.iter().any(|n| n.contains("oom-rank")));
    }

    #[test]
    fn findings_are_capped_per_category_newest_first() {
        let all: Vec<Finding> = (0..8)
            .map(|i| {
                f(
                    FindingKind::OomKill,
                    &format!("kill {i}"),
                    SectionId::KernelLog,
                )
            })
            .collect();
        let s = summarize(&all, Vec::new(), &[]);
        assert_eq!(s.findings.len(), PER_CATEGORY + 1);
        assert_eq!(s.findings[0].what, "kill 7");
        assert!(s.findings[PER_CATEGORY]
            .what
            .contains("3 earlier finding(s)"));
        assert!(s.verdict.contains("kill 7"));
    }

    #[test]
    fn nothing_found_is_said() {
        let s = summarize(&[], Vec::new(), &[]);
        assert!(s.verdict.starts_with("nothing found"));
    }
}
