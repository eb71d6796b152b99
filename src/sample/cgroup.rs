//! Memory cgroup readers for cgroup v1, v2 and hybrid layouts.
//!
//! No maintained crate reads these well, so this is our own small module. Formats follow
//! Documentation/admin-guide/cgroup-v2.rst ("Memory Interface Files") and
//! Documentation/admin-guide/cgroup-v1/memory.rst. Working set is computed as kubelet and
//! cAdvisor do: usage − inactive file (`total_inactive_file` on v1, `inactive_file` on v2),
//! never below zero.
//!
//! Every reader takes the cgroup filesystem root (normally `/sys/fs/cgroup`) so tests can point
//! it at a fixture tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::identity::{self, Identity, Resolver};
use crate::sample::files::{self, parse_flat_keyed, parse_limit, parse_psi, parse_u64, Limit, Psi};

/// At most this many cgroup directories are walked to find a workload by name.
pub const MAX_WALKED: usize = 50_000;

/// How deep the walk for a workload name goes: kind's
/// `/kubelet.slice/kubelet-kubepods.slice/…-pod<uid>.slice/cri-containerd-<id>.scope` is 5
/// levels; rootless podman's `user.slice/…/libpod-<id>.scope` is 5.
pub const WORKLOAD_DEPTH: usize = 10;

/// Which cgroup interface the memory controller is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    /// cgroup v1: the memory controller has its own hierarchy (`memory.usage_in_bytes`,
    /// `memory.limit_in_bytes`, `memory.stat` with `total_*`).
    V1,
    /// cgroup v2: the unified hierarchy (`memory.current`, `memory.max`, `memory.events`,
    /// `memory.pressure`); also a hybrid host's `unified` mount when memory is enabled there.
    V2,
}

impl std::fmt::Display for CgroupVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CgroupVersion::V1 => "v1",
            CgroupVersion::V2 => "v2",
        })
    }
}

/// The mounted hierarchy that carries the memory controller.
#[derive(Debug, Clone)]
pub struct MemoryHierarchy {
    /// Which interface the hierarchy speaks, and so which files are read.
    pub version: CgroupVersion,
    /// Directory of the hierarchy's root cgroup, e.g. `/sys/fs/cgroup/memory` (v1 or hybrid) or
    /// `/sys/fs/cgroup` (v2).
    pub mount: PathBuf,
}

fn has_memory_controller(controllers_file: &Path) -> bool {
    matches!(files::read_optional(controllers_file), Ok(Some(t)) if t.split_whitespace().any(|c| c == "memory"))
}

impl MemoryHierarchy {
    /// Find the memory hierarchy under `cgroup_root` (normally `/sys/fs/cgroup`).
    ///
    /// A v1 `memory` directory wins (v1-only and hybrid layouts: on a hybrid host the unified
    /// hierarchy exists but has no memory controller). Otherwise the v2 hierarchy at the root or
    /// at `unified/` when its `cgroup.controllers` lists `memory`. Co-mounted v1 hierarchies
    /// (`cpu,memory`) are found by scanning the root's subdirectories.
    ///
    /// Errors: [`Error::NoMemoryHierarchy`] when none is found.
    pub fn detect(cgroup_root: &Path) -> Result<MemoryHierarchy> {
        let v1 = |p: PathBuf| p.join("memory.usage_in_bytes").is_file().then_some(p);
        if let Some(mount) =
            v1(cgroup_root.join("memory")).or_else(|| v1(cgroup_root.to_path_buf()))
        {
            return Ok(MemoryHierarchy {
                version: CgroupVersion::V1,
                mount,
            });
        }
        for cand in [cgroup_root.to_path_buf(), cgroup_root.join("unified")] {
            if has_memory_controller(&cand.join("cgroup.controllers")) {
                return Ok(MemoryHierarchy {
                    version: CgroupVersion::V2,
                    mount: cand,
                });
            }
        }
        if let Ok(rd) = std::fs::read_dir(cgroup_root) {
            let mut names: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            if let Some(mount) = names.into_iter().find_map(v1) {
                return Ok(MemoryHierarchy {
                    version: CgroupVersion::V1,
                    mount,
                });
            }
        }
        Err(Error::NoMemoryHierarchy {
            path: cgroup_root.to_path_buf(),
        })
    }

    /// Turn a user-supplied cgroup path into (directory, path relative to the hierarchy root).
    ///
    /// Accepts an absolute directory inside the hierarchy (`/sys/fs/cgroup/memory/foo`), or a
    /// path relative to it as `/proc/PID/cgroup` prints it (`/foo` or `foo`).
    ///
    /// Errors: [`Error::NoSuchCgroup`] when the directory does not exist.
    pub fn resolve(&self, requested: &str) -> Result<(PathBuf, String)> {
        let req = Path::new(requested);
        let rel: PathBuf = match req.strip_prefix(&self.mount) {
            Ok(r) if req.is_absolute() => r.to_path_buf(),
            _ => req
                .components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .collect(),
        };
        if req
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(Error::Usage(format!(
                "cgroup path {requested:?} must not contain \"..\""
            )));
        }
        let dir = self.mount.join(&rel);
        if !dir.is_dir() {
            return Err(Error::NoSuchCgroup {
                requested: requested.to_string(),
                path: dir,
            });
        }
        let rel = format!("/{}", rel.to_string_lossy());
        Ok((dir, rel))
    }

    /// Every cgroup of the hierarchy (limited or not), as paths relative to its root (`/`,
    /// `/docker/<id>`), in path order: at most `max_depth` levels below the root and at most
    /// [`MAX_WALKED`] directories (a bound for a node with thousands of cgroups). A directory
    /// that disappears or cannot be listed during the walk is skipped.
    pub fn all_cgroups(&self, max_depth: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![(self.mount.clone(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            if out.len() >= MAX_WALKED {
                break;
            }
            let rel = dir.strip_prefix(&self.mount).unwrap_or(Path::new(""));
            out.push(format!("/{}", rel.to_string_lossy()));
            if depth >= max_depth {
                continue;
            }
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    stack.push((e.path(), depth + 1));
                }
            }
        }
        out.sort();
        out
    }

    /// `--cgroup` as users give it: a cgroup path ([`MemoryHierarchy::resolve`]: relative to
    /// the hierarchy as `/proc/PID/cgroup` prints it, or a directory under the mount) or, when
    /// no such directory exists, a workload name matched against the identity of every cgroup
    /// of the hierarchy ([`MemoryHierarchy::all_cgroups`], [`WORKLOAD_DEPTH`] levels) through
    /// [`identity::find`]: `ns/pod[/container]`, `project/service`, a container name (also
    /// `docker:name`), a container ID prefix of at least 6 hex digits, a pod UID, a unit.
    /// The one place a name becomes a cgroup, for `sample`, `oom-rank`, `recommend` and
    /// `record`. Returns (directory, path relative to the root, the cgroup's identity).
    ///
    /// Errors: [`Error::Usage`] for `..` in a path; [`Error::NoSuchWorkload`] when neither
    /// a directory nor a workload of that name exists, or when several workloads match (it
    /// lists up to five, with their paths).
    pub fn find_workload(
        &self,
        resolver: &mut Resolver,
        query: &str,
    ) -> Result<(PathBuf, String, Identity)> {
        let missing = match self.resolve(query) {
            Ok((dir, rel)) => {
                let id = resolver.resolve(&rel);
                return Ok((dir, rel, id));
            }
            Err(Error::NoSuchCgroup { path, .. }) => path,
            Err(e) => return Err(e),
        };
        let all = self.all_cgroups(WORKLOAD_DEPTH);
        let hits = identity::find(resolver, query, all.iter().map(String::as_str));
        match hits.as_slice() {
            [one] => {
                let (dir, rel) = self.resolve(&one.cgroup)?;
                Ok((dir, rel, one.clone()))
            }
            [] => Err(Error::NoSuchWorkload {
                requested: query.to_string(),
                msg: format!(
                    "does not exist: no cgroup {} and no workload of that name among the {} \
                     cgroups under {} \
                     (names: ns/pod[/container], project/service, a container name or \
                     docker:NAME, an ID prefix of 6+ hex digits, a pod UID, a unit; files read \
                     under --host-root {})",
                    missing.display(),
                    all.len(),
                    self.mount.display(),
                    resolver.host_root().display()
                ),
            }),
            many => {
                let listed: Vec<String> = many
                    .iter()
                    .take(5)
                    .map(|i| {
                        format!(
                            "{} ({})",
                            i.workload().unwrap_or_else(|| i.cgroup.clone()),
                            i.cgroup
                        )
                    })
                    .collect();
                Err(Error::NoSuchWorkload {
                    requested: query.to_string(),
                    msg: format!(
                        "is ambiguous: {} workloads match: {}{}; give a longer name or the \
                         cgroup path",
                        many.len(),
                        listed.join(", "),
                        if many.len() > 5 { ", …" } else { "" }
                    ),
                })
            }
        }
    }

    /// Read the memory files of the cgroup at `rel` (relative to the hierarchy root, as
    /// `/proc/PID/cgroup` prints it).
    ///
    /// Files the kernel does not provide (older kernels, the root cgroup) become `None`.
    /// Errors: [`Error::NoSuchCgroup`], [`Error::Malformed`] for a garbled file (naming it and
    /// the line), [`Error::PermissionDenied`].
    pub fn read(&self, rel: &str) -> Result<CgroupMemory> {
        let (dir, rel) = self.resolve(rel)?;
        match self.version {
            CgroupVersion::V1 => read_v1(&dir, rel),
            CgroupVersion::V2 => read_v2(self, &dir, rel),
        }
    }

    /// The cgroups of the hierarchy that have a memory limit of their own (containers, pods,
    /// systemd units with `MemoryMax=`), in path order, among [`MemoryHierarchy::all_cgroups`]
    /// (at most `max_depth` levels and [`MAX_WALKED`] directories).
    ///
    /// A cgroup that disappears during the walk is skipped.
    pub fn limited_cgroups(&self, max_depth: usize) -> Result<Vec<String>> {
        let limit_file = match self.version {
            CgroupVersion::V1 => "memory.limit_in_bytes",
            CgroupVersion::V2 => "memory.max",
        };
        let mut out = Vec::new();
        for rel in self.all_cgroups(max_depth) {
            let lf = self
                .mount
                .join(rel.trim_start_matches('/'))
                .join(limit_file);
            if let Some(text) = files::read_optional(&lf)? {
                if let Limit::Bytes(_) = parse_limit(&text, &lf)? {
                    out.push(rel);
                }
            }
        }
        Ok(out)
    }
}

/// Memory accounting of one cgroup. Byte counts are bytes; `None` means the kernel does not
/// provide the value (never a fake zero).
#[derive(Debug, Clone, Serialize)]
pub struct CgroupMemory {
    /// Path relative to the hierarchy root, as in `/proc/PID/cgroup`.
    pub path: String,
    /// Which interface the figures were read through (`"v1"` or `"v2"`).
    pub version: CgroupVersion,
    /// `memory.current` (v2) / `memory.usage_in_bytes` (v1).
    pub usage_bytes: Option<u64>,
    /// Own hard limit: `memory.max` (v2) / `memory.limit_in_bytes` (v1); `None` when unlimited.
    pub limit_bytes: Option<u64>,
    /// True when the cgroup's own limit is "max" (or the v1 page-counter maximum).
    pub limit_unlimited: bool,
    /// The tightest limit of this cgroup and its ancestors (v1: `hierarchical_memory_limit`).
    pub effective_limit_bytes: Option<u64>,
    /// `memory.high` (v2 only).
    pub high_bytes: Option<u64>,
    /// `memory.low` (v2 only).
    pub low_bytes: Option<u64>,
    /// `memory.peak` (v2, 5.19+) / `memory.max_usage_in_bytes` (v1).
    pub peak_bytes: Option<u64>,
    /// `memory.swap.current` (v2) / `memory.memsw.usage_in_bytes − memory.usage_in_bytes` (v1).
    pub swap_bytes: Option<u64>,
    /// usage − inactive_file, as kubelet computes it.
    pub working_set_bytes: Option<u64>,
    /// `anon` (v2) / `total_rss` (v1) from `memory.stat`.
    pub anon_bytes: Option<u64>,
    /// `file` (v2) / `total_cache` (v1) from `memory.stat`.
    pub file_bytes: Option<u64>,
    /// `shmem` (v2) / `total_shmem` (v1) from `memory.stat`.
    pub shmem_bytes: Option<u64>,
    /// `inactive_file` (v2) / `total_inactive_file` (v1).
    pub inactive_file_bytes: Option<u64>,
    /// OOM kills in this cgroup: `oom_kill` of `memory.events` (v2) / of `memory.oom_control`
    /// (v1, 4.13+).
    pub oom_kill_count: Option<u64>,
    /// Times the limit was hit: `max` of `memory.events` (v2) / `memory.failcnt` (v1).
    pub limit_hit_count: Option<u64>,
    /// v2 `memory.pressure`; `None` on v1.
    pub psi: Option<Psi>,
    /// The raw `memory.stat`, bytes for sizes, counts for events, as the kernel printed it.
    pub stat: BTreeMap<String, u64>,
    /// The raw `memory.events` (v2) or `memory.oom_control` plus `failcnt` (v1).
    pub events: BTreeMap<String, u64>,
}

impl CgroupMemory {
    /// usage / effective limit, in percent; `None` when unlimited or unknown.
    pub fn usage_pct(&self) -> Option<f64> {
        pct(self.usage_bytes?, self.effective_limit_bytes?)
    }

    /// working set / effective limit, in percent.
    pub fn working_set_pct(&self) -> Option<f64> {
        pct(self.working_set_bytes?, self.effective_limit_bytes?)
    }
}

fn pct(v: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| v as f64 * 100.0 / of as f64)
}

fn opt_u64(dir: &Path, name: &str) -> Result<Option<u64>> {
    let p = dir.join(name);
    files::read_optional(&p)?
        .map(|t| parse_u64(&t, &p, 1))
        .transpose()
}

fn opt_limit(dir: &Path, name: &str) -> Result<Option<Limit>> {
    let p = dir.join(name);
    files::read_optional(&p)?
        .map(|t| parse_limit(&t, &p))
        .transpose()
}

fn opt_keyed(dir: &Path, name: &str) -> Result<BTreeMap<String, u64>> {
    let p = dir.join(name);
    Ok(files::read_optional(&p)?
        .map(|t| parse_flat_keyed(&t, &p))
        .transpose()?
        .unwrap_or_default())
}

fn read_v1(dir: &Path, path: String) -> Result<CgroupMemory> {
    let usage = opt_u64(dir, "memory.usage_in_bytes")?;
    let limit = opt_limit(dir, "memory.limit_in_bytes")?;
    let memsw = opt_u64(dir, "memory.memsw.usage_in_bytes")?;
    let stat = opt_keyed(dir, "memory.stat")?;
    let mut events = opt_keyed(dir, "memory.oom_control")?;
    let failcnt = opt_u64(dir, "memory.failcnt")?;
    if let Some(f) = failcnt {
        events.insert("failcnt".into(), f);
    }
    let inactive_file = stat.get("total_inactive_file").copied();
    let effective = stat
        .get("hierarchical_memory_limit")
        .copied()
        .filter(|&v| v < files::V1_UNLIMITED_THRESHOLD)
        .or(limit.and_then(Limit::bytes));
    Ok(CgroupMemory {
        version: CgroupVersion::V1,
        usage_bytes: usage,
        limit_bytes: limit.and_then(Limit::bytes),
        limit_unlimited: limit == Some(Limit::Unlimited),
        effective_limit_bytes: effective,
        high_bytes: None,
        low_bytes: None,
        peak_bytes: opt_u64(dir, "memory.max_usage_in_bytes")?,
        swap_bytes: match (memsw, usage) {
            (Some(m), Some(u)) => Some(m.saturating_sub(u)),
            _ => None,
        },
        working_set_bytes: working_set(usage, inactive_file),
        anon_bytes: stat.get("total_rss").copied(),
        file_bytes: stat.get("total_cache").copied(),
        shmem_bytes: stat.get("total_shmem").copied(),
        inactive_file_bytes: inactive_file,
        oom_kill_count: events.get("oom_kill").copied(),
        limit_hit_count: failcnt,
        psi: None,
        stat,
        events,
        path,
    })
}

fn read_v2(h: &MemoryHierarchy, dir: &Path, path: String) -> Result<CgroupMemory> {
    let usage = opt_u64(dir, "memory.current")?;
    let limit = opt_limit(dir, "memory.max")?;
    let stat = opt_keyed(dir, "memory.stat")?;
    let events = opt_keyed(dir, "memory.events")?;
    let psi_path = dir.join("memory.pressure");
    let psi = files::read_optional(&psi_path)?
        .map(|t| parse_psi(&t, &psi_path))
        .transpose()?;
    // Effective limit: the smallest memory.max of this cgroup and its ancestors.
    let mut effective = limit.and_then(Limit::bytes);
    let mut cur = dir.parent();
    while let Some(d) = cur {
        if !d.starts_with(&h.mount) {
            break;
        }
        if let Some(Limit::Bytes(b)) = opt_limit(d, "memory.max")? {
            effective = Some(effective.map_or(b, |e| e.min(b)));
        }
        cur = d.parent();
    }
    let inactive_file = stat.get("inactive_file").copied();
    Ok(CgroupMemory {
        version: CgroupVersion::V2,
        usage_bytes: usage,
        limit_bytes: limit.and_then(Limit::bytes),
        limit_unlimited: limit == Some(Limit::Unlimited),
        effective_limit_bytes: effective,
        high_bytes: opt_limit(dir, "memory.high")?.and_then(Limit::bytes),
        low_bytes: opt_u64(dir, "memory.low")?,
        peak_bytes: opt_u64(dir, "memory.peak")?,
        swap_bytes: opt_u64(dir, "memory.swap.current")?,
        working_set_bytes: working_set(usage, inactive_file),
        anon_bytes: stat.get("anon").copied(),
        file_bytes: stat.get("file").copied(),
        shmem_bytes: stat.get("shmem").copied(),
        inactive_file_bytes: inactive_file,
        oom_kill_count: events.get("oom_kill").copied(),
        limit_hit_count: events.get("max").copied(),
        psi,
        stat,
        events,
        path,
    })
}

fn working_set(usage: Option<u64>, inactive_file: Option<u64>) -> Option<u64> {
    Some(usage?.saturating_sub(inactive_file?))
}

/// The memory cgroup of a process from the text of `/proc/PID/cgroup`
/// (Documentation/admin-guide/cgroup-v1/cgroups.rst, cgroup-v2.rst "Processes").
///
/// On v1 and hybrid hosts the line whose controller list contains `memory` is the one; the `0::`
/// line belongs to the unified hierarchy, which carries no memory controller there. On v2 only
/// the `0::` line exists. Returns `None` when no matching line exists.
pub fn memory_cgroup_of(proc_cgroup: &str, version: CgroupVersion) -> Option<String> {
    proc_cgroup.lines().find_map(|line| {
        let mut it = line.splitn(3, ':');
        let (id, ctrls, path) = (it.next()?, it.next()?, it.next()?);
        let hit = match version {
            CgroupVersion::V1 => ctrls.split(',').any(|c| c == "memory"),
            CgroupVersion::V2 => id == "0" && ctrls.is_empty(),
        };
        hit.then(|| path.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "9:name=systemd:/\n4:memory:/process_api/eb96\n3:cpuset:/\n0::/\n";

    #[test]
    fn find_workload_takes_a_path_first_then_one_name() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = ("ab12cd".repeat(10) + "0001", "ab12cd".repeat(10) + "0002");
        for d in [
            "memory".to_string(),
            format!("memory/docker/{a}"),
            format!("memory/docker/{b}"),
        ] {
            std::fs::create_dir_all(t.path().join(&d)).unwrap();
            std::fs::write(t.path().join(d).join("memory.usage_in_bytes"), "0\n").unwrap();
        }
        let host = t.path().join("host");
        let cfg = host.join(format!("var/lib/docker/containers/{a}/config.v2.json"));
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, r#"{"Name":"/web","Config":{"Image":"nginx"}}"#).unwrap();
        let h = MemoryHierarchy::detect(t.path()).unwrap();
        let mut r = Resolver::new(&host);
        // A path stays a path, named all the same.
        let (dir, rel, id) = h.find_workload(&mut r, &format!("/docker/{a}")).unwrap();
        assert_eq!(
            (rel.as_str(), dir.is_dir()),
            (format!("/docker/{a}").as_str(), true)
        );
        assert_eq!(id.workload().as_deref(), Some("docker:web"));
        // A name, docker:name and a long enough ID prefix.
        for q in ["web", "docker:web", b.as_str()] {
            let (_, rel, _) = h.find_workload(&mut r, q).unwrap();
            let want = if q.starts_with("ab") { &b } else { &a };
            assert_eq!(rel, format!("/docker/{want}"), "{q}");
        }
        // Nothing, several, and `..`: errors that say what was tried or who matched.
        let e = h.find_workload(&mut r, "nope").unwrap_err().to_string();
        assert!(
            e.contains("\"nope\"") && e.contains("no cgroup") && e.contains("4 cgroups"),
            "{e}"
        );
        let e = h.find_workload(&mut r, "ab12cd").unwrap_err().to_string();
        assert!(
            e.contains("2 workloads match") && e.contains(&a) && e.contains(&b),
            "{e}"
        );
        assert!(!e.contains('\n'));
        assert!(matches!(
            h.find_workload(&mut r, "/docker/../x"),
            Err(Error::Usage(_))
        ));
    }

    #[test]
    fn hybrid_uses_the_memory_line_not_0() {
        assert_eq!(
            memory_cgroup_of(HYBRID, CgroupVersion::V1).as_deref(),
            Some("/process_api/eb96")
        );
        assert_eq!(
            memory_cgroup_of(HYBRID, CgroupVersion::V2).as_deref(),
            Some("/")
        );
        assert_eq!(
            memory_cgroup_of("5:cpu,memory:/a/b\n", CgroupVersion::V1).as_deref(),
            Some("/a/b")
        );
        assert_eq!(memory_cgroup_of("garbage", CgroupVersion::V1), None);
    }
}
