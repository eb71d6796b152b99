//! The report's sections: each runs the library call of one command (`sample`, `oom-rank`,
//! `triage`, `backtrace`, `coredumps`, `analyze` + `recommend`) and returns its typed data, the findings for
//! the summary, and the raw inputs for the bundle. A section that cannot read its input says
//! so in its notes; it never takes the report down (see `report::run`).

mod confined;
mod cores;
mod host;
mod logs;
mod stored;
mod traces;

pub use cores::cores;
pub use host::{oom_rank, snapshot};
pub use logs::{expand_glob, kernel_log, worker_logs};
pub use stored::{stored_crashes, MAX_BACKTRACED};
pub use traces::traces;

use super::bundle::Content;
use super::model::{Finding, FindingKind, SectionData, SectionId, Status};

/// What a section found, for the summary and the bundle.
#[derive(Debug, Default)]
pub struct Facts {
    /// Findings for the summary, oldest first (the summary shows the newest).
    pub findings: Vec<Finding>,
    /// Suggestions for the summary's next steps.
    pub next_steps: Vec<String>,
    /// (path in the bundle, its content: text, or a file read only when a bundle is written).
    pub raw: Vec<(String, Content)>,
    /// The identities of the cgroups the section names (triage events' memcgs, the snapshot's
    /// cgroups), for the bundle's `identity.json`.
    pub identities: Vec<crate::identity::Identity>,
}

impl Facts {
    /// Add a finding of `section`.
    pub fn find(&mut self, section: SectionId, kind: FindingKind, what: String, evidence: String) {
        self.findings.push(Finding {
            kind,
            what,
            evidence,
            section,
            cgroup: None,
            workload: None,
        });
    }
}

/// A section's result.
#[derive(Debug)]
pub struct Outcome {
    /// How the section went.
    pub status: Status,
    /// Why it failed or is empty, or which inputs it could not read.
    pub notes: Vec<String>,
    /// The section's data (`SectionData::None` when it read nothing).
    pub data: SectionData,
    /// Findings, next steps and raw inputs for the summary and the bundle.
    pub facts: Facts,
}

impl Outcome {
    /// A section that read something: status `ok`, no notes.
    pub fn ok(data: SectionData, facts: Facts) -> Outcome {
        Outcome {
            status: Status::Ok,
            notes: Vec::new(),
            data,
            facts,
        }
    }

    /// A section with nothing to read (no files match, no cores, no traces): status `empty`, `note`
    /// says why.
    pub fn empty(note: String) -> Outcome {
        Outcome {
            status: Status::Empty,
            notes: vec![note],
            data: SectionData::None,
            facts: Facts::default(),
        }
    }

    /// A section that could not read its input: status `failed`, no data, `note` says why.
    pub fn failed(note: String) -> Outcome {
        Outcome {
            status: Status::Failed,
            notes: vec![note],
            data: SectionData::None,
            facts: Facts::default(),
        }
    }
}

/// A path as one bundle entry name: `/var/log/x.log` → `var_log_x.log`.
fn slug(p: &std::path::Path) -> String {
    p.to_string_lossy()
        .trim_start_matches('/')
        .replace('/', "_")
}
