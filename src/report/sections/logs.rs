//! The kernel log and worker log sections (`triage`): the events since `--since`, turned into
//! findings (OOM kills with their memory cgroup, runtime OOMs, crashes, SIGKILLs nothing
//! explains, worker errors) that cite the input and line, and the logs' tails for the bundle.

use std::path::{Path, PathBuf};

use super::{confined, slug, Facts, Outcome};
use crate::render;
use crate::report::bundle::Content;
use crate::report::model::{Finding, FindingKind, Options, SectionData, SectionId, Status};
use crate::triage::event::{Cause, Event, IdentitySource, Kind};

/// A log line shortened for the summary.
fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The finding of one triage event, `None` for events the summary leaves to the section.
fn finding(e: &Event, section: SectionId) -> Option<Finding> {
    let who = match (&e.process, e.pid) {
        (Some(p), Some(pid)) => format!("{p} (pid {pid})"),
        (Some(p), None) => p.clone(),
        (None, Some(pid)) => format!("pid {pid}"),
        _ => "a process".into(),
    };
    // The workload, and where its name came from when not from the log.
    let who = match (&e.workload, e.identity_source) {
        (Some(w), Some(IdentitySource::NodeFiles | IdentitySource::LogAndNodeFiles)) => {
            format!("{who} of {w} (named from this node's files now)")
        }
        (Some(w), _) => format!("{who} of {w}"),
        (None, _) => who,
    };
    let when = e.timestamp.clone().unwrap_or_else(|| "time unknown".into());
    let (kind, what) = if e.kind.is_kernel_victim() {
        let limit = e
            .limit_kb
            .map(|l| format!(", limit {}", render::units::iec(l * 1024)))
            .unwrap_or_default();
        let what = match (&e.oom_memcg, e.kind) {
            (Some(m), _) => format!(
                "the kernel OOM-killed {who} at {when}: memory cgroup {m} hit its limit{limit}"
            ),
            (None, Kind::KernelOomKill) => format!(
                "the kernel OOM-killed {who} at {when}: the whole machine ran out of memory"
            ),
            _ => format!("the kernel OOM-killed {who} at {when}{limit}"),
        };
        (FindingKind::OomKill, what)
    } else if e.kind.is_oom() {
        (
            FindingKind::RuntimeOom,
            format!(
                "{} reported an out-of-memory: {who} at {when}: {}",
                e.kind.as_str(),
                clip(&e.message)
            ),
        )
    } else if e.kind == Kind::ClwError {
        (
            FindingKind::WorkerError,
            format!(
                "worker error {} at {when}: {}",
                e.code.as_deref().unwrap_or("?"),
                clip(&e.message)
            ),
        )
    } else if e.kind.is_crash() {
        (
            FindingKind::Crash,
            format!("{who} crashed ({}) at {when}", e.kind.as_str()),
        )
    } else if e.kind == Kind::SigkillExit && e.cause == Some(Cause::Unknown) {
        (
            FindingKind::UnknownKill,
            format!(
                "{who} was killed by SIGKILL at {when}, cause unknown (no OOM record explains it)"
            ),
        )
    } else {
        return None;
    };
    Some(Finding {
        kind,
        what,
        // `file:line`, or `/dev/kmsg:seq=N` (stable while the ring buffer rotates).
        evidence: format!("{}: {}", section.as_str(), e.source),
        section,
        // The cgroup whose limit was hit, else the victim's: where `oom-rank` and `record` look.
        cgroup: e
            .oom_memcg
            .clone()
            .or_else(|| e.memcg.clone())
            .filter(|_| kind == FindingKind::OomKill),
        workload: e.workload.clone(),
    })
}

/// The findings of a triage report, and its evidence lines for the bundle.
fn triage_facts(rep: &crate::triage::Report, section: SectionId, facts: &mut Facts) {
    let mut excerpt = String::new();
    for e in &rep.events {
        for l in &e.evidence {
            excerpt.push_str(l);
            excerpt.push('\n');
        }
        facts.findings.extend(finding(e, section));
        facts.identities.extend(e.identity.as_deref().cloned());
    }
    if !excerpt.is_empty() {
        facts.raw.push((
            format!("logs/{}-evidence.log", section.as_str()),
            Content::Text(excerpt),
        ));
    }
}

/// OOM kills, crashes and kills in the kernel log since `--since`.
pub fn kernel_log(o: &Options) -> Outcome {
    use crate::triage::{triage, Input, Request};
    let rep = triage(&Request {
        inputs: vec![Input::Dmesg(o.kmsg.clone())],
        since_us: Some(o.since_us),
        host_root: Some(o.host_root.clone()),
    });
    if let Some(err) = rep.inputs.iter().find_map(|i| i.error.clone()) {
        if rep.inputs.iter().all(|i| i.lines == 0) {
            return Outcome::failed(format!(
                "{err} (reading the kernel log needs root or CAP_SYSLOG, or \
                 kernel.dmesg_restrict=0)"
            ));
        }
    }
    let mut facts = Facts::default();
    triage_facts(&rep, SectionId::KernelLog, &mut facts);
    Outcome::ok(SectionData::Triage(Box::new(rep)), facts)
}

/// Files matching a glob whose wildcards (`*`, `?`) are in the last component only (regular
/// files, symlinks followed).
pub fn expand_glob(pattern: &str) -> Vec<PathBuf> {
    glob_entries(pattern)
        .map(|(_, v)| v.into_iter().filter(|p| p.is_file()).collect())
        .unwrap_or_default()
}

/// The directory of a glob and the names in it that match (whatever they are: symlinks and
/// special files included, directories left out), sorted; `None` when the directory cannot be
/// listed.
fn glob_entries(pattern: &str) -> Option<(PathBuf, Vec<PathBuf>)> {
    let p = Path::new(pattern);
    let (dir, name) = (p.parent()?, p.file_name()?.to_str()?);
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if !name.contains(['*', '?']) {
        let found = std::fs::symlink_metadata(p).is_ok_and(|m| !m.is_dir());
        return Some((
            dir.to_path_buf(),
            found.then(|| p.to_path_buf()).into_iter().collect(),
        ));
    }
    // `(?s)`: `*` and `?` match any character of a name, a newline too (as the shell's glob).
    let mut re = String::from("(?s)^");
    for ch in name.chars() {
        match ch {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    let re = regex::Regex::new(&re).ok()?;
    let rd = std::fs::read_dir(dir).ok()?;
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| re.is_match(n)))
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .map(|e| e.path())
        .collect();
    out.sort();
    Some((dir.to_path_buf(), out))
}

/// Lines of a log's tail kept for the bundle, and the bytes read back from its end at most.
const TAIL_LINES: usize = 500;
const TAIL_BYTES: u64 = 1 << 20;

/// The last [`TAIL_LINES`] lines of `f` (of `len` bytes), read from at most the last
/// [`TAIL_BYTES`] (a first line cut by that is dropped).
fn tail(f: &mut std::fs::File, len: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let from = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    f.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    let mut lines: Vec<&str> = text.lines().collect();
    if from > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    Ok(lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n"))
}

/// The same in the worker logs (`--worker-logs`) and `--logs GLOB` files, with each log's last
/// 500 lines for the bundle. A match is read only when it resolves inside its glob's directory
/// and is a regular file (`confined::open_in`); others are skipped and named in the notes.
pub fn worker_logs(o: &Options) -> Outcome {
    use crate::triage::{triage, Input, Request};
    let mut globs: Vec<String> = Vec::new();
    if o.worker_logs {
        globs.extend(o.worker_log_globs.iter().cloned());
    }
    globs.extend(o.logs.iter().cloned());
    if globs.is_empty() {
        return Outcome::empty("no logs asked for (--worker-logs, --logs GLOB)".into());
    }
    // Each match opened inside its glob's directory, or skipped with a note (a symlink out
    // of it, a FIFO, a device).
    let mut skipped = Vec::new();
    let mut files = Vec::new();
    for g in &globs {
        let Some((dir, entries)) = glob_entries(g) else {
            continue;
        };
        for e in entries {
            match confined::open_in(&e, &dir) {
                // The same file by two names (a symlink beside its target, two globs) is
                // read once.
                Ok(c) if files.iter().any(|f: &confined::Confined| f.id == c.id) => {}
                Ok(c) => files.push(c),
                Err(note) => skipped.push(note),
            }
        }
    }
    if files.is_empty() {
        let mut out = Outcome::empty(format!("no files match {}", globs.join(", ")));
        out.notes.extend(skipped);
        return out;
    }
    // Through the descriptors checked above: the path is not opened again (a log swapped for
    // a symlink after the check is not followed).
    let mut inputs = Vec::new();
    for c in &files {
        match c.file.try_clone() {
            Ok(file) => inputs.push(Input::Opened {
                path: c.path.clone(),
                file: std::sync::Arc::new(file),
            }),
            Err(e) => skipped.push(format!("skipped {}: {e}", c.path.display())),
        }
    }
    let rep = triage(&Request {
        inputs,
        since_us: Some(o.since_us),
        host_root: Some(o.host_root.clone()),
    });
    let mut facts = Facts::default();
    triage_facts(&rep, SectionId::WorkerLogs, &mut facts);
    let mut notes: Vec<String> = rep.inputs.iter().filter_map(|i| i.error.clone()).collect();
    notes.extend(skipped);
    for c in &mut files {
        // From the descriptor checked above, not the path again.
        if let Ok(t) = tail(&mut c.file, c.len) {
            facts
                .raw
                .push((format!("logs/{}.tail", slug(&c.path)), Content::Text(t)));
        }
    }
    let all_failed = rep.inputs.iter().all(|i| i.error.is_some() && i.lines == 0);
    let mut out = Outcome::ok(SectionData::Triage(Box::new(rep)), facts);
    if all_failed {
        out.status = Status::Failed;
    }
    out.notes = notes;
    out
}
