//! One scrape: host, memory cgroups and the top processes read into metric families.
//! Processes are read through the fast reader [`crate::sample::pidfiles`] (its `statm` parser
//! and its test moved there).
//!
//! The cost of a scrape is bounded: every process is read from `/proc/PID/statm` alone (one
//! line; no `cmdline`, no `smaps`, which take the target's mmap lock), only the `top` largest by
//! RSS are kept while walking (memory O(top), not O(processes)) and only those are read from
//! `status`, and `smaps_rollup` is read for
//! those only when asked (`pss`). Cgroups are the ones with a limit of their own (as `sample`
//! shows them) plus any asked for. A file that cannot be read costs its samples, not the scrape:
//! the failure is counted in `clw_scrape_errors` and described in the notes.
//!
//! Every cgroup series carries the workload labels of [`crate::serve::labels`] (cAdvisor's `id`,
//! `namespace`, `pod`, `container`, `image`, `name`), from the server's one
//! [`Resolver`], refreshed once per scrape: a container whose runtime file kept its mtime costs
//! one `stat` of it, a miss is retried after 30 s, so a warm scrape reads no runtime file.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::time::Instant;

use crate::identity::Resolver;
use crate::sample::cgroup::{CgroupMemory, CgroupVersion, MemoryHierarchy};
use crate::sample::files::Psi;
use crate::sample::host::{read_host, HostMemory};
use crate::sample::pidfiles::{Miss, PidFiles};
use crate::sample::process::list_pids;
use crate::serve::exposition::{Family, SharedLabels, Value};
use crate::serve::labels::{cgroup_labels, info_family};

/// What a scrape reads.
#[derive(Debug, Clone)]
pub struct ScrapeConfig {
    /// `/proc` (or a fixture tree).
    pub proc_root: PathBuf,
    /// `/sys/fs/cgroup` (or a fixture tree).
    pub cgroup_root: PathBuf,
    /// Per-process series for this many processes, the largest by RSS.
    pub top: usize,
    /// Read `smaps_rollup` of the top processes for PSS.
    pub pss: bool,
    /// Cgroups exported besides those with a limit of their own.
    pub cgroups: Vec<String>,
    /// The node's root for the runtime and kubelet files that name each cgroup's workload
    /// (`/`, `/host` in a DaemonSet); see [`crate::identity`].
    pub host_root: PathBuf,
}

/// The result of one scrape.
#[derive(Debug, Clone)]
pub struct Scrape {
    /// The metric families, in exposition order; a value the kernel does not provide is left out
    /// (no sample), never written as 0.
    pub families: Vec<Family>,
    /// What could not be read (also counted in `clw_scrape_errors`).
    pub notes: Vec<String>,
}

fn u(v: Option<u64>) -> Option<Value> {
    v.map(Value::Uint)
}

/// PSI families: `avg10` as a ratio (0–1) and `total` as seconds stalled, for `some` and `full`.
struct PsiFamilies {
    avg10: Family,
    total: Family,
}

impl PsiFamilies {
    /// The samples of `psi`, labelled `base` (a cgroup's labels; none for the host) and `kind`.
    fn push(&mut self, base: Option<&SharedLabels>, psi: &Psi) {
        let lines = [("some", Some(&psi.some)), ("full", psi.full.as_ref())];
        for (kind, line) in lines {
            let Some(line) = line else { continue };
            let labels = vec![("kind", kind.to_string())];
            let avg10 = Some(Value::Float(line.avg10_pct / 100.0));
            let total = Some(Value::Float(line.total_us as f64 / 1e6));
            match base {
                Some(b) => {
                    self.avg10.push_shared(b, labels.clone(), avg10);
                    self.total.push_shared(b, labels, total);
                }
                None => {
                    self.avg10.push(labels.clone(), avg10);
                    self.total.push(labels, total);
                }
            }
        }
    }
}

fn host_families(h: &HostMemory, out: &mut Vec<Family>) {
    let gauges: [(&'static str, &'static str, Option<u64>); 8] = [
        (
            "clw_host_memory_total_bytes",
            "MemTotal of /proc/meminfo.",
            Some(h.total_bytes),
        ),
        (
            "clw_host_memory_available_bytes",
            "MemAvailable of /proc/meminfo: what can be allocated without swapping.",
            h.available_bytes,
        ),
        (
            "clw_host_memory_free_bytes",
            "MemFree of /proc/meminfo.",
            Some(h.free_bytes),
        ),
        (
            "clw_host_memory_buffers_bytes",
            "Buffers of /proc/meminfo.",
            Some(h.buffers_bytes),
        ),
        (
            "clw_host_memory_cached_bytes",
            "Cached of /proc/meminfo (page cache, including shmem).",
            Some(h.cached_bytes),
        ),
        (
            "clw_host_memory_shmem_bytes",
            "Shmem of /proc/meminfo (tmpfs, SysV and shared anonymous memory).",
            h.shmem_bytes,
        ),
        (
            "clw_host_swap_total_bytes",
            "SwapTotal of /proc/meminfo.",
            Some(h.swap_total_bytes),
        ),
        (
            "clw_host_swap_free_bytes",
            "SwapFree of /proc/meminfo.",
            Some(h.swap_free_bytes),
        ),
    ];
    for (name, help, v) in gauges {
        let mut f = Family::gauge(name, help);
        f.push(vec![], u(v));
        out.push(f);
    }
    let mut oom = Family::counter(
        "clw_host_oom_kill_total",
        "OOM kills since boot, all cgroups (oom_kill of /proc/vmstat).",
    );
    oom.push(vec![], u(h.oom_kill_count));
    out.push(oom);
    let mut psi = PsiFamilies {
        avg10: Family::gauge(
            "clw_host_memory_pressure_avg10_ratio",
            "Share of the last 10 s in which some (or all, kind=full) tasks stalled on memory (/proc/pressure/memory).",
        ),
        total: Family::counter(
            "clw_host_memory_pressure_stalled_seconds_total",
            "Time some (or all, kind=full) tasks stalled on memory since boot (/proc/pressure/memory total).",
        ),
    };
    if let Some(p) = &h.psi {
        psi.push(None, p);
    }
    out.push(psi.avg10);
    out.push(psi.total);
}

/// The cgroup families; `labels[i]` are the labels of `cgroups[i]`.
fn cgroup_families(cgroups: &[CgroupMemory], labels: &[SharedLabels], out: &mut Vec<Family>) {
    type Get = fn(&CgroupMemory) -> Option<u64>;
    let gauges: [(&'static str, &'static str, Get); 11] = [
        (
            "clw_cgroup_memory_usage_bytes",
            "memory.current (v2) / memory.usage_in_bytes (v1).",
            |c| c.usage_bytes,
        ),
        (
            "clw_cgroup_memory_working_set_bytes",
            "Usage minus inactive file, as kubelet computes it.",
            |c| c.working_set_bytes,
        ),
        (
            "clw_cgroup_memory_limit_bytes",
            "Own hard limit: memory.max (v2) / memory.limit_in_bytes (v1); absent when unlimited.",
            |c| c.limit_bytes,
        ),
        (
            "clw_cgroup_memory_effective_limit_bytes",
            "Tightest limit of the cgroup and its ancestors.",
            |c| c.effective_limit_bytes,
        ),
        (
            "clw_cgroup_memory_high_bytes",
            "memory.high (v2); absent when unset.",
            |c| c.high_bytes,
        ),
        (
            "clw_cgroup_memory_peak_bytes",
            "memory.peak (v2, Linux 5.19+) / memory.max_usage_in_bytes (v1).",
            |c| c.peak_bytes,
        ),
        (
            "clw_cgroup_memory_swap_bytes",
            "memory.swap.current (v2) / memsw usage minus usage (v1).",
            |c| c.swap_bytes,
        ),
        (
            "clw_cgroup_memory_rss_bytes",
            "Anonymous memory: anon (v2) / total_rss (v1) of memory.stat.",
            |c| c.anon_bytes,
        ),
        (
            "clw_cgroup_memory_cache_bytes",
            "Page cache: file (v2) / total_cache (v1) of memory.stat.",
            |c| c.file_bytes,
        ),
        (
            "clw_cgroup_memory_shmem_bytes",
            "shmem (v2) / total_shmem (v1) of memory.stat.",
            |c| c.shmem_bytes,
        ),
        (
            "clw_cgroup_memory_inactive_file_bytes",
            "inactive_file (v2) / total_inactive_file (v1) of memory.stat.",
            |c| c.inactive_file_bytes,
        ),
    ];
    for (name, help, get) in gauges {
        let mut f = Family::gauge(name, help);
        for (c, l) in cgroups.iter().zip(labels) {
            f.push_shared(l, vec![], u(get(c)));
        }
        out.push(f);
    }
    let ev = |c: &CgroupMemory, k: &str| c.events.get(k).copied();
    let v2 = |c: &CgroupMemory| c.version == CgroupVersion::V2;
    let counters: [(&'static str, &'static str, Get); 4] = [
        ("clw_cgroup_memory_oom_kill_total", "Processes OOM-killed in the cgroup: oom_kill of memory.events (v2) / memory.oom_control (v1, Linux 4.13+).", |c| c.oom_kill_count),
        ("clw_cgroup_memory_max_total", "Times usage hit the limit: max of memory.events (v2) / memory.failcnt (v1).", |c| c.limit_hit_count),
        ("clw_cgroup_memory_oom_total", "Times the OOM killer was invoked for the cgroup: oom of memory.events (v2 only).", |c| if c.version == CgroupVersion::V2 { c.events.get("oom").copied() } else { None }),
        ("clw_cgroup_memory_high_total", "Times usage went over memory.high and was throttled: high of memory.events (v2 only).", |c| if c.version == CgroupVersion::V2 { c.events.get("high").copied() } else { None }),
    ];
    for (name, help, get) in counters {
        let mut f = Family::counter(name, help);
        for (c, l) in cgroups.iter().zip(labels) {
            f.push_shared(l, vec![], u(get(c)));
        }
        out.push(f);
    }
    let mut under = Family::gauge(
        "clw_cgroup_memory_under_oom",
        "1 while the cgroup is under OOM (under_oom of memory.oom_control, v1 only).",
    );
    for (c, l) in cgroups.iter().zip(labels).filter(|(c, _)| !v2(c)) {
        under.push_shared(l, vec![], u(ev(c, "under_oom")));
    }
    out.push(under);
    let mut psi = PsiFamilies {
        avg10: Family::gauge(
            "clw_cgroup_memory_pressure_avg10_ratio",
            "Share of the last 10 s in which some (or all) tasks of the cgroup stalled on memory (memory.pressure, v2).",
        ),
        total: Family::counter(
            "clw_cgroup_memory_pressure_stalled_seconds_total",
            "Time some (or all) tasks of the cgroup stalled on memory (memory.pressure total, v2).",
        ),
    };
    for (c, l) in cgroups.iter().zip(labels) {
        if let Some(p) = &c.psi {
            psi.push(Some(l), p);
        }
    }
    out.push(psi.avg10);
    out.push(psi.total);
}

/// One process in the top-N ranking.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    rss_bytes: u64,
    /// Lower pids first among equals.
    pid: Reverse<i32>,
    comm: String,
    swap_bytes: Option<u64>,
}

#[derive(Debug, Default)]
struct Walk {
    top: Vec<Ranked>,
    seen: u64,
    vanished: u64,
    denied: u64,
}

/// Rank processes by resident memory, keeping the `n` largest: every process costs one read of
/// `/proc/PID/statm` (one short line, no lock of the target's memory map); only the `n` kept
/// are then read from `status` (name, swap). `files` is the fast reader without kept
/// directories (thousands of processes, each read once).
fn top_processes(cfg: &ScrapeConfig, files: &mut PidFiles, n: usize) -> crate::Result<Walk> {
    let mut heap: BinaryHeap<Reverse<(u64, Reverse<i32>)>> = BinaryHeap::with_capacity(n + 1);
    let mut w = Walk::default();
    for pid in list_pids(&cfg.proc_root)? {
        let rss_bytes = match files.statm(pid) {
            Ok(Some(m)) => m.resident_bytes,
            Ok(None) => continue, // a kernel thread (or a zombie): no memory map
            Err(Miss::Denied) => {
                w.denied += 1;
                continue;
            }
            // No statm but the process is there (a captured tree that kept only status).
            Err(Miss::NotFound) => match files.status(pid) {
                Ok(st) => match st.rss_bytes {
                    Some(b) => b,
                    None => continue,
                },
                // Exited between the listing and the read.
                Err(_) => {
                    w.vanished += 1;
                    continue;
                }
            },
            Err(Miss::Gone) => {
                w.vanished += 1;
                continue;
            }
            // Not statm as the kernel prints it (a damaged copy): no figure to rank by.
            Err(Miss::Garbled) => continue,
        };
        w.seen += 1;
        heap.push(Reverse((rss_bytes, Reverse(pid))));
        if heap.len() > n {
            heap.pop();
        }
    }
    // Ascending order of Reverse = descending RSS.
    for Reverse((rss_bytes, pid)) in heap.into_sorted_vec() {
        let st = match files.status(pid.0) {
            Ok(st) => st,
            Err(Miss::Denied) => {
                w.denied += 1;
                continue;
            }
            Err(_) => {
                w.vanished += 1;
                continue;
            }
        };
        w.top.push(Ranked {
            rss_bytes: st.rss_bytes.unwrap_or(rss_bytes),
            pid,
            comm: st.name,
            swap_bytes: st.swap_bytes,
        });
    }
    w.top.sort_by(|a, b| b.cmp(a));
    Ok(w)
}

fn process_families(cfg: &ScrapeConfig, files: &mut PidFiles, w: &Walk, out: &mut Vec<Family>) {
    let mut rss = Family::gauge(
        "clw_process_rss_bytes",
        "VmRSS of /proc/PID/status, for the top processes by RSS.",
    );
    let mut swap = Family::gauge(
        "clw_process_swap_bytes",
        "VmSwap of /proc/PID/status, for the top processes by RSS.",
    );
    let mut adj = Family::gauge(
        "clw_process_oom_score_adj",
        "/proc/PID/oom_score_adj (-1000 never killed ... 1000 killed first).",
    );
    let mut score = Family::gauge(
        "clw_process_oom_score",
        "/proc/PID/oom_score: the kernel's current badness (higher is killed first).",
    );
    let mut pss = Family::gauge(
        "clw_process_pss_bytes",
        "Pss of /proc/PID/smaps_rollup (only with --pss).",
    );
    for p in &w.top {
        let pid = p.pid.0;
        let labels = vec![("pid", pid.to_string()), ("comm", p.comm.clone())];
        rss.push(labels.clone(), Some(Value::Uint(p.rss_bytes)));
        swap.push(labels.clone(), u(p.swap_bytes));
        adj.push(
            labels.clone(),
            files.number(pid, c"oom_score_adj").ok().map(Value::Int),
        );
        score.push(
            labels.clone(),
            files.number(pid, c"oom_score").ok().map(Value::Int),
        );
        if cfg.pss {
            if let Ok(r) = files.rollup(pid) {
                pss.push(labels, u(r.map(|r| r.pss_bytes)));
            }
        }
    }
    out.extend([rss, swap, adj, score, pss]);
}

/// Read everything once and build the metric families, naming each cgroup's workload through
/// `resolver` (kept by the caller across scrapes; [`Resolver::refresh`] is called here).
pub fn scrape(cfg: &ScrapeConfig, resolver: &mut Resolver) -> Scrape {
    let t0 = Instant::now();
    let mut families = Vec::new();
    let mut notes = Vec::new();
    let mut errors = 0u64;

    match read_host(&cfg.proc_root) {
        Ok(h) => host_families(&h, &mut families),
        Err(e) => {
            errors += 1;
            notes.push(format!("host: {e}"));
        }
    }

    let mut cgroups = Vec::new();
    match MemoryHierarchy::detect(&cfg.cgroup_root) {
        Ok(h) => {
            let mut paths = match h.limited_cgroups(32) {
                Ok(p) => p,
                Err(e) => {
                    errors += 1;
                    notes.push(format!("cgroups: {e}"));
                    Vec::new()
                }
            };
            for c in &cfg.cgroups {
                match h.resolve(c) {
                    Ok((_, rel)) if !paths.contains(&rel) => paths.push(rel),
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        notes.push(e.to_string());
                    }
                }
            }
            for p in &paths {
                match h.read(p) {
                    Ok(m) => cgroups.push(m),
                    // Removed between the walk and the read: gone, not an error.
                    Err(crate::Error::NoSuchCgroup { .. }) => {}
                    Err(e) => {
                        errors += 1;
                        notes.push(e.to_string());
                    }
                }
            }
        }
        Err(e) => notes.push(e.to_string()),
    }
    resolver.refresh();
    let ids: Vec<_> = cgroups
        .iter()
        .map(|c| {
            let id = resolver.resolve(&c.path);
            if let Some(why) = &id.unresolved {
                notes.push(format!("identity of {}: unresolved: {why}", c.path));
            }
            let labels: SharedLabels = cgroup_labels(&id).into();
            (id, labels)
        })
        .collect();
    let labels: Vec<SharedLabels> = ids.iter().map(|(_, l)| l.clone()).collect();
    cgroup_families(&cgroups, &labels, &mut families);
    families.push(info_family(&ids));

    let mut files = PidFiles::new(&cfg.proc_root);
    let walk = match top_processes(cfg, &mut files, cfg.top) {
        Ok(w) => w,
        Err(e) => {
            errors += 1;
            notes.push(format!("processes: {e}"));
            Walk::default()
        }
    };
    process_families(cfg, &mut files, &walk, &mut families);

    let mut seen = Family::gauge(
        "clw_scrape_processes",
        "Processes with memory (kernel threads left out) seen by this scrape.",
    );
    seen.push(vec![], Some(Value::Uint(walk.seen)));
    let mut skipped = Family::gauge(
        "clw_scrape_processes_skipped",
        "Processes this scrape could not read: exited while read (vanished) or permission denied.",
    );
    skipped.push(
        vec![("reason", "vanished".into())],
        Some(Value::Uint(walk.vanished)),
    );
    skipped.push(
        vec![("reason", "permission_denied".into())],
        Some(Value::Uint(walk.denied)),
    );
    let mut err = Family::gauge(
        "clw_scrape_errors",
        "Sources (host, cgroup, process listing) this scrape could not read; see the server's stderr with -v.",
    );
    err.push(vec![], Some(Value::Uint(errors)));
    let mut dur = Family::gauge(
        "clw_scrape_duration_seconds",
        "Time this scrape took to read the kernel's files.",
    );
    dur.push(vec![], Some(Value::Float(t0.elapsed().as_secs_f64())));
    let mut info = Family::gauge(
        "clw_build_info",
        "Always 1; the version of clw-diag serving.",
    );
    info.push(
        vec![("version", env!("CARGO_PKG_VERSION").to_string())],
        Some(Value::Uint(1)),
    );
    families.extend([seen, skipped, err, dur, info]);
    Scrape { families, notes }
}
