//! The systemd-coredump section (`coredumps`, then `backtrace`): the crashes the store holds
//! from `--since` on (`coredump::store::list` on `--coredump-dir`, default
//! `/var/lib/systemd/coredump`, joined with the journal where there is one), and the crashing
//! thread of the newest few that still have their core file, by the same call as `--cores`.
//! A host without the store gets one line, not a failure.

use super::cores::backtrace_core;
use super::{Facts, Outcome};
use crate::coredump::store::{self, Query};
use crate::report::model::{Options, SectionData, SectionId, Status, StoredCrashes};

/// Stored cores backtraced at most (the newest; each can be gigabytes to decompress).
pub const MAX_BACKTRACED: usize = 5;

/// The stored crashes since `--since` and the backtraces of the newest.
pub fn stored_crashes(o: &Options) -> Outcome {
    let q = Query {
        dir: o.coredump_dir.clone(),
        dir_explicit: false,
        since_us: Some(o.since_us),
        matcher: None,
        journal: o.coredump_journal.clone(),
    };
    let listing = match store::list(&q) {
        Ok(l) => l,
        Err(e) => return Outcome::failed(e.to_string()),
    };
    if !listing.dir_exists && listing.crashes.is_empty() {
        return Outcome::empty(format!(
            "{} does not exist: systemd-coredump is not in use here",
            o.coredump_dir.display()
        ));
    }
    if listing.crashes.is_empty() {
        let mut out = Outcome::empty(format!(
            "no crashes stored in {} since {}",
            o.coredump_dir.display(),
            o.since_label
        ));
        out.notes.extend(listing.notes);
        return out;
    }
    let mut facts = Facts::default();
    let mut notes = listing.notes.clone();
    let mut backtraces = Vec::new();
    let with_file: Vec<_> = listing
        .crashes
        .iter()
        .filter_map(|c| c.file.as_ref().map(|f| f.path.clone()))
        .collect();
    for p in with_file.iter().take(MAX_BACKTRACED) {
        match backtrace_core(p, SectionId::StoredCrashes, &mut facts) {
            Ok(bt) => backtraces.push(bt),
            Err(e) => notes.push(e),
        }
    }
    if with_file.len() > MAX_BACKTRACED {
        notes.push(format!(
            "{} older stored core(s) not backtraced (`clw-diag backtrace FILE` reads one)",
            with_file.len() - MAX_BACKTRACED
        ));
    }
    for c in listing.crashes.iter().filter(|c| c.file.is_none()) {
        facts.find(
            SectionId::StoredCrashes,
            crate::report::model::FindingKind::Crash,
            format!(
                "{} (pid {}) crashed{}",
                c.command,
                c.pid,
                c.signal_name
                    .as_ref()
                    .map(|s| format!(" with {s}"))
                    .unwrap_or_default()
            ),
            format!("stored_crashes: journal entry at {}", c.timestamp),
        );
    }
    let mut out = Outcome::ok(
        SectionData::StoredCrashes(Box::new(StoredCrashes {
            listing,
            backtraces,
        })),
        facts,
    );
    out.status = Status::Ok;
    out.notes = notes;
    out
}
