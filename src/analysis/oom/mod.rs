//! Who the kernel's OOM killer would pick, and why: the kernel's badness recomputed from `/proc`
//! for the processes of a memory cgroup subtree (a cgroup OOM) or of the host (a global OOM).
//!
//! The kernel's rules (mm/oom_kill.c, Linux 6.x):
//!
//! - `oom_badness(p, totalpages)`: `LONG_MIN` (never chosen) for kernel threads and init, for
//!   `oom_score_adj == -1000` (`OOM_SCORE_ADJ_MIN`), for a process whose mm is already being
//!   reaped, or one in vfork; else `get_mm_rss(mm) + MM_SWAPENTS + mm_pgtables_bytes / PAGE_SIZE`
//!   (pages: resident anon + file + shmem, swap entries, page tables) plus
//!   `oom_score_adj × (totalpages / 1000)` (integer division first).
//! - `totalpages`: for a cgroup OOM `mem_cgroup_get_max()` of the cgroup whose limit was hit
//!   (its memory limit plus, when swap is accounted, the swap it may use, capped at the
//!   machine's swap); for a global OOM RAM + swap (`totalram_pages() + total_swap_pages`).
//! - `select_bad_process`: the highest badness wins; `memory.oom.group` (cgroup v2) on the
//!   cgroup of the victim or an ancestor up to the OOM domain kills that whole group.
//! - `/proc/PID/oom_score` (fs/proc/base.c `proc_oom_score`): the same badness with the global
//!   totalpages, scaled: `(1000 + badness × 1000 / totalpages) × 2 / 3`, 0 when unkillable.
//!   It is recomputed here from the same inputs and shown beside the kernel's value, as a
//!   check that the inputs were read right.
//!
//! Inputs per process come from `/proc/PID/status` (`RssAnon`, `RssFile`, `RssShmem`, `VmSwap`,
//! `VmPTE`, in kB, which the kernel prints from the same page counters), `oom_score_adj`,
//! `oom_score`, and `stat` (parent, start time, kernel-thread flag), read through the fast
//! reader [`crate::sample::pidfiles`]; pages are the machine's (sysconf), not an assumed 4 KiB.
//! A process that exits
//! while being read, or whose files cannot be read, is counted and left out; so is clw-diag
//! itself.
//!
//! Pages are this machine's (`sysconf(_SC_PAGESIZE)`, [`crate::base::page`]); a `--proc-root`
//! copied from a machine with another page size is converted with this one's (no override).

use std::path::PathBuf;

use serde::Serialize;

use crate::base::page;
use crate::error::Result;
use crate::identity::{Identity, Resolver};
use crate::sample::cgroup::memory_cgroup_of;
use crate::sample::cgroup::{CgroupVersion, MemoryHierarchy};
use crate::sample::files;
use crate::sample::pidfiles::{Miss, PidFiles};
use crate::sample::process;

/// `OOM_SCORE_ADJ_MIN`: never killed.
pub const OOM_SCORE_ADJ_MIN: i32 = -1000;

/// What to rank.
#[derive(Debug, Clone)]
pub struct Options {
    /// `/proc` (or a fixture tree).
    pub proc_root: PathBuf,
    /// The cgroup filesystem root, normally `/sys/fs/cgroup`.
    pub cgroup_root: PathBuf,
    /// A memory cgroup (as `/proc/PID/cgroup` prints it, an absolute directory, or a workload
    /// name, see [`MemoryHierarchy::find_workload`]): rank its subtree for a cgroup OOM.
    /// `None`: every process, for a global OOM.
    pub cgroup: Option<String>,
    /// Where the node's runtime and kubelet files are read to name each process's workload
    /// (`/` on the node itself).
    pub host_root: PathBuf,
}

/// The badness inputs of one process, in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadnessInput {
    /// Resident pages: anon + file + shmem (`get_mm_rss`).
    pub rss_pages: u64,
    /// Swap entries (`MM_SWAPENTS`).
    pub swap_pages: u64,
    /// Page-table pages (`mm_pgtables_bytes / PAGE_SIZE`).
    pub pgtables_pages: u64,
    /// `/proc/PID/oom_score_adj`, −1000 (never chosen) to 1000; adds `oom_score_adj ×
    /// (totalpages / 1000)` pages.
    pub oom_score_adj: i32,
}

/// `oom_badness()`: `None` when the process is never chosen (`oom_score_adj == -1000`).
/// `totalpages` in pages.
pub fn badness(i: BadnessInput, totalpages: u64) -> Option<i64> {
    if i.oom_score_adj <= OOM_SCORE_ADJ_MIN {
        return None;
    }
    // Saturating: the inputs come from files a copied tree may have garbled.
    let points = i
        .rss_pages
        .saturating_add(i.swap_pages)
        .saturating_add(i.pgtables_pages);
    let points = i64::try_from(points).unwrap_or(i64::MAX);
    let scale = i64::try_from(totalpages / 1000).unwrap_or(i64::MAX);
    Some(points.saturating_add(i64::from(i.oom_score_adj).saturating_mul(scale)))
}

/// `/proc/PID/oom_score` from a badness computed with the global totalpages (0 for a process
/// that is never chosen).
pub fn proc_oom_score(badness: Option<i64>, totalpages: u64) -> i64 {
    match badness {
        Some(b) if totalpages > 0 => {
            let total = i64::try_from(totalpages).unwrap_or(i64::MAX);
            1000i64
                .saturating_add(b.saturating_mul(1000) / total)
                .saturating_mul(2)
                / 3
        }
        _ => 0,
    }
}

/// One process, as the OOM killer sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The process id.
    pub pid: i32,
    /// `Name:` of `/proc/PID/status` (the comm).
    pub name: String,
    /// Command line (`/proc/PID/cmdline`, arguments joined by spaces); empty when unreadable.
    pub command: String,
    /// Parent pid (`/proc/PID/stat` field 4); `None` when not known.
    pub ppid: Option<i32>,
    /// Seconds since the process started.
    pub age_s: Option<f64>,
    /// Memory cgroup, relative to the hierarchy root.
    pub cgroup: Option<String>,
    /// The workload of `cgroup` (container, pod, compose service, unit; `null` fields where
    /// unknown); absent when the process's memory cgroup is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// Badness in this OOM's terms (pages); `None` when never chosen.
    pub badness_pages: Option<i64>,
    /// The same in bytes (pages × the page size, sysconf(_SC_PAGESIZE)).
    pub badness_bytes: Option<i64>,
    /// Resident memory the badness counts: `RssAnon` + `RssFile` + `RssShmem` of status, bytes
    /// (whole pages).
    pub rss_bytes: u64,
    /// Swapped-out memory: `VmSwap` of status, bytes (whole pages).
    pub swap_bytes: u64,
    /// Page tables: `VmPTE` of status, bytes (whole pages).
    pub page_tables_bytes: u64,
    /// `/proc/PID/oom_score_adj` (−1000 to 1000); 0 when it could not be read.
    pub oom_score_adj: i32,
    /// The kernel's `/proc/PID/oom_score` (global terms, scaled).
    pub kernel_oom_score: Option<i64>,
    /// `oom_score` recomputed from the inputs read here.
    pub computed_oom_score: i64,
    /// Never chosen: `oom_score_adj` −1000.
    pub unkillable: bool,
}

/// The ranking.
#[derive(Debug, Clone, Serialize)]
pub struct OomRank {
    /// `cgroup` or `host`.
    pub scope: &'static str,
    /// The cgroup asked about (its path, also when it was named by its workload).
    pub cgroup: Option<String>,
    /// The workload of the cgroup asked about; `null` for the host.
    pub identity: Option<Identity>,
    /// The cgroup whose limit an OOM would hit (the tightest limit of the cgroup and its
    /// ancestors), when there is one.
    pub oom_domain: Option<String>,
    /// The limit of the OOM domain, bytes.
    pub limit_bytes: Option<u64>,
    /// `totalpages` of this OOM (pages) and the global one (RAM + swap).
    pub totalpages: u64,
    /// RAM + swap in pages (MemTotal + SwapTotal of `/proc/meminfo` over the page size): the
    /// totalpages `/proc/PID/oom_score` uses.
    pub global_totalpages: u64,
    /// `memory.oom.group` set on the domain or a cgroup between it and the first victim.
    pub oom_group: Option<String>,
    /// Killable processes in kill order (highest badness first), then those never chosen.
    pub candidates: Vec<Candidate>,
    /// Processes that exited while being read.
    pub vanished: usize,
    /// Processes whose files could not be read for permission: the kernel ranks them too.
    pub permission_denied: usize,
    /// Findings for people (risky `oom_score_adj` inheritance, no limit, ...).
    pub warnings: Vec<String>,
    /// Why the kernel's `oom_score` can differ from the badness used for the ranking.
    pub notes: Vec<String>,
}

/// A per-process read as the ranking takes it: the value, or `None` after counting a process
/// that may not be read (`denied`) or is gone (`vanished`); `Err(())` for garbled contents.
fn counted<T>(
    r: std::result::Result<T, Miss>,
    denied: &mut usize,
    vanished: &mut usize,
) -> std::result::Result<Option<T>, ()> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Miss::Garbled) => Err(()),
        Err(Miss::Denied) => {
            *denied += 1;
            Ok(None)
        }
        Err(_) => {
            *vanished += 1;
            Ok(None)
        }
    }
}

/// Rank the processes of `opts.cgroup` (or the host) as the OOM killer would.
///
/// Errors: [`crate::Error::NoMemoryHierarchy`] / [`crate::Error::NoSuchCgroup`] for a cgroup that cannot be
/// found; [`crate::Error::Io`] when `/proc` cannot be listed or `/proc/meminfo` read.
pub fn rank(opts: &Options) -> Result<OomRank> {
    let meminfo = crate::sample::host::read_host(&opts.proc_root)?;
    // Bytes per page of this machine (sysconf), the unit of badness.
    let page = page::size();
    let global_totalpages = meminfo.total_bytes.saturating_add(meminfo.swap_total_bytes) / page;
    let swap_pages = meminfo.swap_total_bytes / page;
    let hierarchy = match (&opts.cgroup, MemoryHierarchy::detect(&opts.cgroup_root)) {
        (Some(_), Err(e)) => return Err(e),
        (_, h) => h.ok(),
    };
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut resolver = Resolver::new(&opts.host_root);
    let mut asked: Option<Identity> = None;
    let (scope, rel, domain, limit_bytes, totalpages, oom_group) = match (&opts.cgroup, &hierarchy)
    {
        (Some(c), Some(h)) => {
            let (_, rel, id) = h.find_workload(&mut resolver, c)?;
            asked = Some(id);
            let (domain, limit) = oom_domain(h, &rel)?;
            let totalpages = match (&domain, limit) {
                (Some(d), Some(l)) => l / page + swap_allowance_pages(h, d, l, swap_pages, page)?,
                _ => {
                    warnings.push(format!(
                        "{rel} and its ancestors have no memory limit: only a global OOM \
                         (the whole machine out of memory) can kill here, ranked with RAM + swap"
                    ));
                    global_totalpages
                }
            };
            (
                "cgroup",
                Some(rel.clone()),
                domain.clone(),
                limit,
                totalpages,
                domain.as_deref().and_then(|d| oom_group_of(h, d, &rel)),
            )
        }
        _ => ("host", None, None, None, global_totalpages, None),
    };

    // The kernel picks among every process of the OOM domain, which may be an ancestor of the
    // cgroup asked about (a pod whose limit is hit before its container's).
    let scan = domain.clone().or_else(|| rel.clone());
    if let (Some(d), Some(r)) = (&domain, &rel) {
        if d != r {
            notes.push(format!(
                "{d}, an ancestor of {r}, has the least headroom under its limit: an OOM there \
                 picks among all of its processes, so all of them are ranked"
            ));
        }
    }
    let version = hierarchy.as_ref().map(|h| h.version);
    let uptime_s = files::read_optional(&opts.proc_root.join("uptime"))?
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok());
    let ticks = crate::sample::stat::ticks_per_second() as f64;
    let mut candidates = Vec::new();
    let mut vanished = 0;
    let mut denied = 0;
    // clw-diag itself: gone long before any OOM it is asked about.
    let own = process::self_pid(&opts.proc_root).ok();
    let mut pf = PidFiles::new(&opts.proc_root);
    let pages = |b: Option<u64>| b.unwrap_or(0) / page;
    for pid in process::list_pids(&opts.proc_root)? {
        if Some(pid) == own {
            continue;
        }
        // A file not what the kernel prints (a damaged copy) is an error naming it; one that
        // vanished or may not be read is counted.
        let garbled = |name: &str| {
            files::malformed(
                &opts.proc_root.join(pid.to_string()).join(name),
                0,
                "unexpected contents (a required field is missing or garbled)",
            )
        };
        // Not ours to read (hidepid, a copied tree's permissions): counted, not fatal; the
        // kernel would still rank it, so say so. Gone: counted too.
        let Some(stat) =
            counted(pf.stat(pid), &mut denied, &mut vanished).map_err(|()| garbled("stat"))?
        else {
            continue;
        };
        // Kernel threads and init are never chosen (oom_unkillable_task).
        if stat.is_kernel_thread() || pid == 1 {
            continue;
        }
        let Some(st) =
            counted(pf.status(pid), &mut denied, &mut vanished).map_err(|()| garbled("status"))?
        else {
            continue;
        };
        if !st.has_mm() {
            continue; // no mm: a zombie
        }
        let memory_cgroup = version.and_then(|v| {
            let text = pf.read(pid, c"cgroup").ok()?;
            memory_cgroup_of(text, v)
        });
        if let Some(rel) = &scan {
            let inside = memory_cgroup.as_deref().is_some_and(|c| {
                c == rel
                    || rel == "/"
                    || c.strip_prefix(rel.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            });
            if !inside {
                continue;
            }
        }
        let adj = pf
            .number(pid, c"oom_score_adj")
            .ok()
            .and_then(|a| i32::try_from(a).ok())
            .unwrap_or(0);
        let kernel_oom_score = pf.number(pid, c"oom_score").ok();
        let command = pf.cmdline(pid).unwrap_or_default();
        let input = BadnessInput {
            rss_pages: pages(st.anon_bytes)
                .saturating_add(pages(st.file_bytes))
                .saturating_add(pages(st.shmem_bytes)),
            swap_pages: pages(st.swap_bytes),
            pgtables_pages: pages(st.page_tables_bytes),
            oom_score_adj: adj,
        };
        let b = badness(input, totalpages);
        let global = badness(input, global_totalpages);
        candidates.push(Candidate {
            pid,
            name: st.name,
            command,
            ppid: Some(stat.ppid),
            age_s: uptime_s.map(|u| (u - stat.starttime_ticks as f64 / ticks).max(0.0)),
            identity: memory_cgroup.as_deref().map(|c| resolver.resolve(c)),
            cgroup: memory_cgroup,
            badness_pages: b,
            badness_bytes: b.map(|b| b.saturating_mul(page as i64)),
            rss_bytes: input.rss_pages.saturating_mul(page),
            swap_bytes: input.swap_pages.saturating_mul(page),
            page_tables_bytes: input.pgtables_pages.saturating_mul(page),
            oom_score_adj: adj,
            kernel_oom_score,
            computed_oom_score: proc_oom_score(global, global_totalpages),
            unkillable: b.is_none(),
        });
    }
    // Kill order: highest badness first; never-chosen processes last.
    candidates.sort_by(|a, b| {
        b.badness_pages
            .unwrap_or(i64::MIN)
            .cmp(&a.badness_pages.unwrap_or(i64::MIN))
            .then(a.pid.cmp(&b.pid))
    });
    warnings.extend(inherited_adj_warnings(&candidates));
    if denied > 0 {
        warnings.push(format!(
            "{denied} process(es) could not be read (permission denied) and are missing from \
             the ranking; the kernel would rank them too: run as root"
        ));
    }
    if candidates.iter().all(|c| c.unkillable) {
        warnings.push(match &rel {
            Some(r) => format!("no killable process in {r}"),
            None => "no killable process".to_string(),
        });
    }
    let differ = candidates
        .iter()
        .filter(|c| {
            c.kernel_oom_score
                .is_some_and(|k| (k - c.computed_oom_score).abs() > 1)
        })
        .count();
    notes.push(format!(
        "badness = rss + swap + page tables (pages) + oom_score_adj × totalpages/1000; \
         totalpages {totalpages} ({}), the global one {global_totalpages} (RAM + swap)",
        if scope == "cgroup" && limit_bytes.is_some() {
            "the OOM domain's limit"
        } else {
            "RAM + swap"
        }
    ));
    notes.push(
        "the kernel's oom_score is the badness with the global totalpages, scaled to 0–1333 \
         ((1000 + badness × 1000 / totalpages) × 2 / 3): in a cgroup OOM the order can differ \
         from it when oom_score_adj is not 0, because the adjustment is scaled by the cgroup's \
         limit instead of the machine's memory"
            .to_string(),
    );
    if differ > 0 {
        notes.push(format!(
            "{differ} process(es) with oom_score differing from the recomputed one by more than 1: \
             their memory changed between the reads, or the kernel's per-CPU RSS counters were \
             not yet folded into the total it used"
        ));
    }
    Ok(OomRank {
        scope,
        cgroup: rel,
        identity: asked,
        oom_domain: domain,
        limit_bytes,
        totalpages,
        global_totalpages,
        oom_group,
        candidates,
        vanished,
        permission_denied: denied,
        warnings,
        notes,
    })
}

/// The cgroup whose limit an OOM of `rel` would hit, and that limit (bytes): among `rel` and
/// its ancestors that have a limit, the one with the least headroom (limit − usage); on a tie
/// the deepest, because a charge is tried from the leaf up (mm/page_counter.c
/// `page_counter_try_charge`) and the first counter that fails is the OOM domain.
/// `(None, None)` when none has a limit.
fn oom_domain(h: &MemoryHierarchy, rel: &str) -> Result<(Option<String>, Option<u64>)> {
    let mut best: (Option<String>, Option<u64>, u64) = (None, None, u64::MAX);
    let mut path = rel.to_string();
    loop {
        let m = h.read(&path)?;
        if let Some(l) = m.limit_bytes {
            let headroom = l.saturating_sub(m.usage_bytes.unwrap_or(0));
            if best.1.is_none() || headroom < best.2 {
                best = (Some(path.clone()), Some(l), headroom);
            }
        }
        if path == "/" {
            break;
        }
        path = match path.rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(i) => path[..i].to_string(),
        };
    }
    Ok((best.0, best.1))
}

/// The swap (pages) a cgroup OOM's totalpages includes (`mem_cgroup_get_max`): on v1 the
/// `memsw` limit minus the memory limit, on v2 `memory.swap.max`; capped at the machine's
/// swap. 0 when the machine has no swap.
fn swap_allowance_pages(
    h: &MemoryHierarchy,
    domain: &str,
    limit: u64,
    swap_pages: u64,
    page: u64,
) -> Result<u64> {
    if swap_pages == 0 {
        return Ok(0);
    }
    let (dir, _) = h.resolve(domain)?;
    let read = |name: &str| -> Result<Option<u64>> {
        let p = dir.join(name);
        Ok(files::read_optional(&p)?.and_then(|t| {
            let t = t.trim();
            if t == "max" {
                Some(u64::MAX)
            } else {
                t.parse::<u64>().ok()
            }
        }))
    };
    let swap_bytes = match h.version {
        CgroupVersion::V1 => read("memory.memsw.limit_in_bytes")?.map(|m| m.saturating_sub(limit)),
        CgroupVersion::V2 => read("memory.swap.max")?,
    };
    Ok(swap_bytes.map_or(swap_pages, |b| (b / page).min(swap_pages)))
}

/// `memory.oom.group` (v2): the highest cgroup from `rel` up to `domain` that has it set.
fn oom_group_of(h: &MemoryHierarchy, domain: &str, rel: &str) -> Option<String> {
    if h.version != CgroupVersion::V2 {
        return None;
    }
    let mut found = None;
    let mut path = rel.to_string();
    loop {
        let (dir, _) = h.resolve(&path).ok()?;
        if files::read_optional(&dir.join("memory.oom.group"))
            .ok()
            .flatten()
            .is_some_and(|t| t.trim() == "1")
        {
            found = Some(path.clone());
        }
        if path == domain || path == "/" {
            break;
        }
        path = match path.rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(i) => path[..i].to_string(),
        };
    }
    found
}

/// The failure mode of the runbooks: the likely first victim is a long-lived parent whose
/// children inherited its `oom_score_adj` (so nothing marks them as the cheaper victims).
fn inherited_adj_warnings(c: &[Candidate]) -> Vec<String> {
    let Some(first) = c.first().filter(|f| !f.unkillable) else {
        return Vec::new();
    };
    let children: Vec<&Candidate> = c
        .iter()
        .filter(|x| x.ppid == Some(first.pid) && !x.unkillable)
        .collect();
    if children.is_empty() {
        return Vec::new();
    }
    let same_adj = children
        .iter()
        .filter(|k| k.oom_score_adj == first.oom_score_adj)
        .count();
    let older = children.iter().all(|k| match (first.age_s, k.age_s) {
        (Some(a), Some(b)) => a >= b,
        _ => true,
    });
    if same_adj == 0 || !older {
        return Vec::new();
    }
    vec![format!(
        "the first victim would be {} (pid {}), the long-lived parent of {} child process(es), \
         {same_adj} of which share its oom_score_adj {} and would survive it: if the children \
         are the expendable ones, let each raise its own score before it runs, e.g. start them \
         through `sh -c 'echo 1000 > /proc/self/oom_score_adj; exec \"$0\" \"$@\"' CMD ARGS`, \
         or set systemd `OOMScoreAdjust=` on their unit, or a per-container oom_score_adj \
         (docker run --oom-score-adj); or lower the parent's (choom -n -500 -p {})",
        first.name,
        first.pid,
        children.len(),
        first.oom_score_adj,
        first.pid
    )]
}

impl OomRank {
    /// The process the kernel would kill first, if any.
    pub fn first_victim(&self) -> Option<&Candidate> {
        self.candidates.first().filter(|c| !c.unkillable)
    }
}

#[cfg(test)]
mod tests;
