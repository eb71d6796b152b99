//! The kernel log and worker log sections (`triage`): the events since `--since`, turned into
//! findings (OOM kills with their memory cgroup, runtime OOMs, crashes, SIGKILLs nothing
//! explains, worker errors) that cite the input and line, and the logs' tails for the bundle.

use std::path::{Path, PathBuf};

use super::{slug, Facts, Outcome};
use crate::render;
use crate::report::model::{Finding, FindingKind, Options, SectionData, SectionId, Status};
use crate::triage::event::{Cause, Event, Kind};

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
    }
    if !excerpt.is_empty() {
        facts
            .raw
            .push((format!("logs/{}-evidence.log", section.as_str()), excerpt));
    }
}

/// OOM kills, crashes and kills in the kernel log since `--since`.
pub fn kernel_log(o: &Options) -> Outcome {
    use crate::triage::{triage, Input, Request};
    let rep = triage(&Request {
        inputs: vec![Input::Dmesg(o.kmsg.clone())],
        since_us: Some(o.since_us),
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

/// Files matching a glob whose wildcards (`*`, `?`) are in the last component only.
pub fn expand_glob(pattern: &str) -> Vec<PathBuf> {
    let p = Path::new(pattern);
    let (Some(dir), Some(name)) = (p.parent(), p.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return if p.is_file() {
            vec![p.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    // `(?s)`: a name may hold a newline, and `*` matches it as the shell does.
    let mut re = String::from("(?s)^");
    for ch in name.chars() {
        match ch {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    let Ok(re) = regex::Regex::new(&re) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| re.is_match(n)))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// The same in the worker logs (`--worker-logs`) and `--logs GLOB` files, with each log's last
/// 500 lines for the bundle.
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
    let files: Vec<PathBuf> = globs.iter().flat_map(|g| expand_glob(g)).collect();
    if files.is_empty() {
        return Outcome::empty(format!("no files match {}", globs.join(", ")));
    }
    let rep = triage(&Request {
        inputs: files.iter().cloned().map(Input::File).collect(),
        since_us: Some(o.since_us),
    });
    let mut facts = Facts::default();
    triage_facts(&rep, SectionId::WorkerLogs, &mut facts);
    let notes: Vec<String> = rep.inputs.iter().filter_map(|i| i.error.clone()).collect();
    for f in &files {
        if let Ok(bytes) = std::fs::read(f) {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(500)..].join("\n");
            facts.raw.push((format!("logs/{}.tail", slug(f)), tail));
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
