//! `sample`'s readings: one snapshot of host, cgroups and processes, raw (the pressure state of
//! each cgroup and of the host is a verdict: [`crate::analysis::pressure::take`] adds it).
//!
//! Processes are ranked from `status` alone (cheap); `smaps_rollup` (which walks page tables
//! under each target's mmap lock) is read only for the processes shown, or for all when the
//! sort key needs PSS or USS. Processes that exit or deny access during the walk are counted,
//! not fatal.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::identity::{Identity, Kind, Resolver};
use crate::sample::cgroup::{CgroupMemory, MemoryHierarchy};
use crate::sample::files;
use crate::sample::host::{read_host, HostMemory};
use crate::sample::process::{list_pids, read_process, ProcessMemory, ReadOptions};

/// Sort key for processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessSort {
    /// By `VmRSS` (`rss_bytes`), from `status`: cheap, no `smaps_rollup` needed to rank.
    #[default]
    Rss,
    /// By PSS (`pss_bytes`): `smaps_rollup` is read for every process to rank them.
    Pss,
    /// By USS (`Private_Clean + Private_Dirty`): `smaps_rollup` is read for every process to rank
    /// them.
    Uss,
    /// By `VmSwap` (`swap_bytes`), from `status`.
    Swap,
}

/// What to sample.
#[derive(Debug, Clone)]
pub struct SampleRequest {
    /// `/proc` (or a fixture tree).
    pub proc_root: PathBuf,
    /// `/sys/fs/cgroup` (or a fixture tree).
    pub cgroup_root: PathBuf,
    /// Where the node's runtime and kubelet files are read to name each cgroup's workload
    /// (`/`, a copied tree, `/host` in a DaemonSet): see [`crate::identity`].
    pub host_root: PathBuf,
    /// Explicit pids; when non-empty only these processes are shown.
    pub pids: Vec<i32>,
    /// Explicit cgroups; when non-empty only these cgroups (and their processes) are shown.
    /// Each is a path or a workload name ([`MemoryHierarchy::find_workload`]).
    pub cgroups: Vec<String>,
    /// Show every process instead of the top `top`, and the pod sandbox and conmon cgroups
    /// a default snapshot leaves out.
    pub all: bool,
    /// How many processes to show (largest first by `sort`), unless `all`.
    pub top: usize,
    /// The key processes are ranked by; a process without the value ranks as 0.
    pub sort: ProcessSort,
}

/// Counts of processes that could not be read during the walk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Skipped {
    /// Exited while being read.
    pub vanished: u32,
    /// Permission denied (needs the same uid or CAP_SYS_PTRACE).
    pub permission_denied: u32,
}

/// One snapshot as read, before any verdict.
#[derive(Debug, Clone)]
pub struct RawSnapshot {
    /// Seconds since the Unix epoch when the snapshot was taken.
    pub timestamp_s: f64,
    /// `None` when the sample was restricted to pids or cgroups.
    pub host: Option<HostMemory>,
    /// `None` when no memory cgroup hierarchy was found.
    pub cgroup_version: Option<crate::sample::cgroup::CgroupVersion>,
    /// Memory cgroups: with no pids or cgroups asked for, those with a limit of their own
    /// (without pod sandboxes and conmon cgroups unless `all`); else the cgroups asked for and
    /// those of the pids asked for. Each with its workload identity.
    pub cgroups: Vec<(CgroupMemory, Identity)>,
    /// Limited cgroups left out because they are pod sandboxes or conmon (`all` shows them).
    pub hidden_cgroups: usize,
    /// Processes, largest first by the sort key, at most `top` unless `all` (the count before the
    /// cut is `processes_total`).
    pub processes: Vec<ProcessMemory>,
    /// Processes considered before the top-N cut.
    pub processes_total: usize,
    /// Processes that vanished or denied access during the walk.
    pub skipped: Skipped,
    /// Notes about what could not be read.
    pub notes: Vec<String>,
}

fn sort_value(p: &ProcessMemory, key: ProcessSort) -> u64 {
    match key {
        ProcessSort::Rss => p.rss_bytes,
        ProcessSort::Pss => p.rollup.pss_bytes,
        ProcessSort::Uss => p.rollup.uss_bytes,
        ProcessSort::Swap => p.swap_bytes,
    }
    .unwrap_or(0)
}

/// Read one snapshot, naming workloads with a resolver of its own (under `req.host_root`).
///
/// Errors: see [`read_with`].
pub fn read(req: &SampleRequest) -> Result<RawSnapshot> {
    read_with(req, &mut Resolver::new(&req.host_root))
}

/// Read one snapshot, naming each cgroup's (and each shown process's) workload through
/// `resolver` (`--watch` keeps one across ticks, [`Resolver::refresh`]ed per tick, so the
/// runtime files are read again only when they change).
///
/// Errors: an explicit pid that does not exist or cannot be read, an explicit cgroup that is
/// neither a cgroup nor one workload's name ([`MemoryHierarchy::find_workload`]), a malformed
/// host or cgroup file. Processes found by walking `/proc` that vanish or deny access are
/// counted in [`Skipped`].
pub fn read_with(req: &SampleRequest, resolver: &mut Resolver) -> Result<RawSnapshot> {
    let timestamp_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut notes = Vec::new();
    let hierarchy = match MemoryHierarchy::detect(&req.cgroup_root) {
        Ok(h) => Some(h),
        Err(e) => {
            if !req.cgroups.is_empty() {
                return Err(e);
            }
            notes.push(e.to_string());
            None
        }
    };
    let version = hierarchy.as_ref().map(|h| h.version);
    let explicit = !req.pids.is_empty() || !req.cgroups.is_empty();
    let needs_rollup_for_all = matches!(req.sort, ProcessSort::Pss | ProcessSort::Uss);
    let opts = ReadOptions {
        rollup: needs_rollup_for_all,
        cgroup_version: version,
    };

    let host = if explicit {
        None
    } else {
        Some(read_host(&req.proc_root)?)
    };

    let mut skipped = Skipped::default();
    let mut processes: Vec<ProcessMemory> = Vec::new();
    let mut cgroup_paths: Vec<String> = Vec::new();

    if !req.pids.is_empty() {
        for &pid in &req.pids {
            let p = read_process(
                &req.proc_root,
                pid,
                ReadOptions {
                    rollup: true,
                    ..opts
                },
            )?;
            if let Some(cg) = &p.memory_cgroup {
                if !cgroup_paths.contains(cg) {
                    cgroup_paths.push(cg.clone());
                }
            }
            processes.push(p);
        }
    }
    let mut asked_dirs = Vec::new();
    if let Some(h) = &hierarchy {
        for c in &req.cgroups {
            let (dir, rel, _) = h.find_workload(resolver, c)?;
            if !cgroup_paths.contains(&rel) {
                cgroup_paths.push(rel);
            }
            asked_dirs.push(dir);
        }
    }
    let candidate_pids: Vec<i32> = if !req.cgroups.is_empty() {
        let mut pids = Vec::new();
        for dir in &asked_dirs {
            pids.extend(cgroup_procs_recursive(dir)?);
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    } else if req.pids.is_empty() {
        list_pids(&req.proc_root)?
    } else {
        Vec::new()
    };
    for pid in candidate_pids {
        match read_process(&req.proc_root, pid, opts) {
            // Kernel threads have no VmRSS: not memory users.
            Ok(p) if p.rss_bytes.is_none() => {}
            Ok(p) => processes.push(p),
            Err(e) if e.is_vanished() => skipped.vanished += 1,
            Err(e) if e.is_permission() => skipped.permission_denied += 1,
            Err(e) => return Err(e),
        }
    }
    let processes_total = processes.len();
    if req.pids.is_empty() {
        processes.sort_by_key(|p| (std::cmp::Reverse(sort_value(p, req.sort)), p.pid));
        if !req.all {
            processes.truncate(req.top);
        }
        if !needs_rollup_for_all {
            // Read smaps_rollup only for the processes shown.
            let mut kept = Vec::with_capacity(processes.len());
            for p in processes {
                match read_process(
                    &req.proc_root,
                    p.pid,
                    ReadOptions {
                        rollup: true,
                        ..opts
                    },
                ) {
                    Ok(full) => kept.push(full),
                    Err(e) if e.is_vanished() => skipped.vanished += 1,
                    Err(e) if e.is_permission() => {
                        skipped.permission_denied += 1;
                        kept.push(p);
                    }
                    Err(e) => return Err(e),
                }
            }
            processes = kept;
        }
    }

    for p in &mut processes {
        p.identity = p.memory_cgroup.as_deref().map(|c| resolver.resolve(c));
    }
    let mut cgroups = Vec::new();
    let mut hidden_cgroups = 0;
    if let Some(h) = &hierarchy {
        if !explicit {
            cgroup_paths = h.limited_cgroups(32)?;
        }
        for path in &cgroup_paths {
            let id = resolver.resolve(path);
            // A sandbox holds the pod's namespaces, conmon watches a container: neither is
            // the workload, so a default snapshot counts them instead of listing them.
            if !explicit && !req.all && (id.sandbox || id.kind == Kind::Conmon) {
                hidden_cgroups += 1;
                continue;
            }
            match h.read(path) {
                Ok(m) => cgroups.push((m, id)),
                // A cgroup removed between listing and reading is data, not an error.
                Err(Error::NoSuchCgroup { .. }) if !explicit => {
                    notes.push(format!("cgroup {path} vanished"))
                }
                Err(e) => return Err(e),
            }
        }
    }
    if skipped.permission_denied > 0 {
        notes.push(format!(
            "{} process(es) could not be read: permission denied (needs the same uid or CAP_SYS_PTRACE)",
            skipped.permission_denied
        ));
    }
    Ok(RawSnapshot {
        timestamp_s,
        host,
        cgroup_version: version,
        cgroups,
        hidden_cgroups,
        processes,
        processes_total,
        skipped,
        notes,
    })
}

/// The pids in `dir` and its descendants (`cgroup.procs`).
fn cgroup_procs_recursive(dir: &Path) -> Result<Vec<i32>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let f = d.join("cgroup.procs");
        if let Some(text) = files::read_optional(&f)? {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                out.push(line.trim().parse::<i32>().map_err(|_| {
                    files::malformed(&f, i + 1, format!("not a pid: {:?}", files::clip(line)))
                })?);
            }
        }
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push(e.path());
                }
            }
        }
    }
    Ok(out)
}
