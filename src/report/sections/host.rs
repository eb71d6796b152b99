//! The snapshot (`sample`: host, limited cgroups, top processes) and the OOM kill order
//! (`oom-rank`) sections, with the cgroup files and the top processes' smaps for the bundle.

use std::path::Path;

use super::{Facts, Outcome};
use crate::analysis::pressure::PressureState;
use crate::report::bundle::Content;
use crate::report::model::{FindingKind, Options, SectionData, SectionId};

/// Host memory, PSI and the limited cgroups, with pressure states.
pub fn snapshot(o: &Options) -> Outcome {
    use crate::analysis::pressure::take;
    use crate::sample::snapshot::{ProcessSort, SampleRequest};
    let req = SampleRequest {
        proc_root: o.proc_root.clone(),
        cgroup_root: o.cgroup_root.clone(),
        host_root: o.host_root.clone(),
        pids: Vec::new(),
        cgroups: o.cgroup.iter().cloned().collect(),
        all: false,
        top: 10,
        sort: ProcessSort::Rss,
    };
    let s = match take(&req, None) {
        Ok(s) => s,
        Err(e) => return Outcome::failed(e.to_string()),
    };
    let mut facts = Facts::default();
    let id = SectionId::Snapshot;
    if let Some(h) = &s.host {
        if h.pressure.state != PressureState::Ok {
            facts.find(
                id,
                FindingKind::Pressure,
                format!(
                    "the host is under memory pressure ({}): {}",
                    h.pressure.state.as_str(),
                    h.pressure.reasons.join("; ")
                ),
                "snapshot: host".into(),
            );
        }
    }
    let hierarchy = crate::sample::cgroup::MemoryHierarchy::detect(&o.cgroup_root).ok();
    // The sampled cgroups' workloads: sample resolved each (one resolver for the snapshot).
    for c in &s.cgroups {
        let workload = c.workload.clone();
        if c.identity.is_workload() {
            facts.identities.push(c.identity.clone());
        }
        if c.pressure.state == PressureState::Critical {
            let of = workload
                .as_ref()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default();
            facts.find(
                id,
                FindingKind::Pressure,
                format!(
                    "cgroup {}{of} is critical: {}",
                    c.memory.path,
                    c.pressure.reasons.join("; ")
                ),
                format!("snapshot: cgroup {}", c.memory.path),
            );
            if let Some(f) = facts.findings.last_mut() {
                f.cgroup = Some(c.memory.path.clone());
                f.workload = workload;
            }
        }
        // The cgroup's own files, for the bundle.
        if let Some(Ok((dir, _))) = hierarchy.as_ref().map(|h| h.resolve(&c.memory.path)) {
            facts.raw.extend(cgroup_files(&dir, &c.memory.path));
        }
    }
    Outcome::ok(SectionData::Snapshot(Box::new(s)), facts)
}

/// The `memory.*` files of a cgroup directory, for the bundle (read only when one is written).
fn cgroup_files(dir: &Path, rel: &str) -> Vec<(String, Content)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut names: Vec<String> = rd
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("memory.") || n == "cgroup.procs")
        // Write-only control files (v1 `memory.force_empty`) have nothing to read.
        .filter(|n| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(dir.join(n)).is_ok_and(|m| m.permissions().mode() & 0o444 != 0)
        })
        .collect();
    names.sort();
    let slug = rel.trim_start_matches('/').replace('/', "_");
    let slug = if slug.is_empty() { "root".into() } else { slug };
    for n in names {
        out.push((format!("cgroups/{slug}/{n}"), Content::File(dir.join(&n))));
    }
    out
}

/// Who the kernel would kill next; the top five candidates (the bundle has the top three's
/// `status`, `smaps_rollup` and `smaps`, read only when a bundle is written, and then at most
/// its per-entry bound of each: a `smaps` of 200k mappings is 147 MB).
pub fn oom_rank(o: &Options) -> Outcome {
    use crate::analysis::oom;
    let mut r = match oom::rank(&oom::Options {
        proc_root: o.proc_root.clone(),
        cgroup_root: o.cgroup_root.clone(),
        cgroup: o.cgroup.clone(),
        host_root: o.host_root.clone(),
    }) {
        Ok(r) => r,
        Err(e) => return Outcome::failed(e.to_string()),
    };
    let mut facts = Facts::default();
    for w in &r.warnings {
        if w.contains("long-lived parent") {
            facts.find(
                SectionId::OomRank,
                FindingKind::OomOrder,
                w.clone(),
                "oom_rank".into(),
            );
        }
    }
    for c in r.candidates.iter().take(3) {
        let dir = o.proc_root.join(c.pid.to_string());
        for f in ["status", "smaps_rollup", "smaps"] {
            facts.raw.push((
                format!("processes/{}/{f}", c.pid),
                Content::File(dir.join(f)),
            ));
        }
    }
    let hidden = r.candidates.len().saturating_sub(5);
    r.candidates.truncate(5);
    if hidden > 0 {
        r.notes
            .push(format!("{hidden} more candidate(s) not shown"));
    }
    Outcome::ok(SectionData::OomRank(Box::new(r)), facts)
}
