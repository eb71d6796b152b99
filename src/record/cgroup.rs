//! The memory cgroups of `record`: the one it creates for `record --memory-limit -- CMD` (cgroup
//! v1 `memory.limit_in_bytes` or v2 `memory.max`, removed when recording ends), the figures of a
//! cgroup target per sample, and the OOM-kill counter it watches (`oom_kill` of v2
//! `memory.events` or v1 `memory.oom_control`, Linux 4.13+; Documentation/admin-guide/cgroup-v2.rst
//! and cgroup-v1/memory.rst).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::sample::cgroup::{CgroupVersion, MemoryHierarchy};
use crate::sample::files;
use crate::trace::Sample;

/// A memory cgroup created for a command, removed on drop (retried for 5 s while the kernel
/// finishes tearing down the command's last task).
pub struct OwnedCgroup {
    /// Its directory under the hierarchy's mount.
    pub dir: PathBuf,
    /// Its path relative to the hierarchy root, as `/proc/PID/cgroup` prints it.
    pub rel: String,
}

impl Drop for OwnedCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The limit file of a hierarchy version.
fn limit_file(v: CgroupVersion) -> &'static str {
    match v {
        CgroupVersion::V2 => "memory.max",
        CgroupVersion::V1 => "memory.limit_in_bytes",
    }
}

/// Create `clw-record-PID` under the hierarchy's root with a hard limit of `limit` bytes.
///
/// Errors: [`Error::PermissionDenied`] without root (or a delegated cgroup), [`Error::Io`] when
/// the directory or its limit cannot be written.
pub fn create(h: &MemoryHierarchy, limit: u64) -> Result<OwnedCgroup> {
    let name = format!("clw-record-{}", std::process::id());
    let dir = h.mount.join(&name);
    if h.version == CgroupVersion::V2 {
        // The memory controller must be enabled for the root's children.
        let _ = std::fs::write(h.mount.join("cgroup.subtree_control"), "+memory");
    }
    std::fs::create_dir(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => Error::PermissionDenied {
            path: dir.clone(),
            hint:
                " (creating a memory cgroup for --memory-limit needs root, or a delegated cgroup)",
        },
        _ => Error::io(&dir, e),
    })?;
    let cg = OwnedCgroup {
        dir: dir.clone(),
        rel: format!("/{name}"),
    };
    let file = dir.join(limit_file(h.version));
    std::fs::write(&file, limit.to_string()).map_err(|e| Error::io(&file, e))?;
    Ok(cg)
}

/// Put the figures of cgroup `rel` into `s`: for a cgroup target (`as_target`) its anon and
/// file as `anon_bytes`/`file_bytes`, else as `cgroup_anon_bytes`/`cgroup_file_bytes` beside the
/// process figures. Returns the cgroup's OOM-kill counter; `None` (and `s` untouched) when the
/// cgroup cannot be read.
pub fn sample_into(h: &MemoryHierarchy, rel: &str, as_target: bool, s: &mut Sample) -> Option<u64> {
    let c = h.read(rel).ok()?;
    s.usage_bytes = c.usage_bytes;
    s.working_set_bytes = c.working_set_bytes;
    if as_target {
        s.anon_bytes = c.anon_bytes;
        s.file_bytes = c.file_bytes;
    } else {
        s.cgroup_anon_bytes = c.anon_bytes;
        s.cgroup_file_bytes = c.file_bytes;
    }
    s.limit_bytes = c.effective_limit_bytes;
    s.oom = c.events.get("oom").copied();
    s.max = c.limit_hit_count;
    s.psi_some_avg10 = c.psi.map(|p| p.some.avg10_pct);
    c.oom_kill_count
}

/// The OOM-kill counter of cgroup `rel` alone (for a process target, whose cgroup's figures are
/// not recorded): `oom_kill` of `memory.events` (v2) or `memory.oom_control` (v1).
pub fn oom_kill_count(h: &MemoryHierarchy, rel: &str) -> Option<u64> {
    let file = match h.version {
        CgroupVersion::V1 => "memory.oom_control",
        CgroupVersion::V2 => "memory.events",
    };
    let (dir, _) = h.resolve(rel).ok()?;
    parse_oom_kill(&files::read_optional(&dir.join(file)).ok()??)
}

/// The `oom_kill N` line of `memory.events` / `memory.oom_control`.
fn parse_oom_kill(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))?
        .trim()
        .parse()
        .ok()
}

/// Watches a cgroup's OOM-kill counter and says by how much it rose since the last reading.
#[derive(Debug, Default)]
pub struct OomWatch {
    last: Option<u64>,
}

impl OomWatch {
    /// Feed the counter read now (`None`: unreadable this time); the rise since the last
    /// reading, when it rose. The first reading is the baseline (kills before recording do not
    /// count).
    pub fn rise(&mut self, now: Option<u64>) -> Option<u64> {
        let rise = match (now, self.last) {
            (Some(n), Some(b)) if n > b => Some(n - b),
            _ => None,
        };
        self.last = now.or(self.last);
        rise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kill_lines_of_v1_and_v2() {
        // memory.oom_control (v1, Linux 6.1) and memory.events (v2) as the kernel prints them.
        assert_eq!(
            parse_oom_kill("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"),
            Some(3)
        );
        assert_eq!(
            parse_oom_kill("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n"),
            Some(2)
        );
        assert_eq!(parse_oom_kill("oom_kill_disable 0\nunder_oom 0\n"), None);
    }

    #[test]
    fn the_watch_counts_rises_after_the_baseline() {
        let mut w = OomWatch::default();
        assert_eq!(w.rise(Some(5)), None, "kills before recording are not ours");
        assert_eq!(w.rise(Some(5)), None);
        assert_eq!(
            w.rise(None),
            None,
            "an unreadable counter keeps the baseline"
        );
        assert_eq!(w.rise(Some(7)), Some(2));
        assert_eq!(w.rise(Some(7)), None);
    }
}
