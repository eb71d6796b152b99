//! The memory cgroups of `record`: the one it creates for `record --memory-limit -- CMD` (cgroup
//! v1 `memory.limit_in_bytes` or v2 `memory.max`, removed when recording ends), the figures of a
//! cgroup target per sample, and the OOM-kill counter it watches (`oom_kill` of v2
//! `memory.events` or v1 `memory.oom_control`, Linux 4.13+; Documentation/admin-guide/cgroup-v2.rst
//! and cgroup-v1/memory.rst).
//!
//! A recorder killed by SIGKILL (the OOM killer takes it first, by design: its `oom_score_adj`
//! is 1000) cannot remove its cgroup. So the cgroup's name says who owns it,
//! `clw-record-<pid>-<start>` with the owner's start time (`/proc/PID/stat` field 22, clock
//! ticks after boot, so a reused pid is not taken for the owner), and every `record` start
//! looks for such cgroups whose owner is gone ([`reap_stale`]): the tasks still in one are the
//! remains of a killed recording (the command's descendants; the command itself dies with the
//! recorder by `PR_SET_PDEATHSIG`), so they are killed with SIGKILL and the cgroup removed, with
//! one note each.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::base::input::Accept;
use crate::error::{Error, Result};
use crate::sample::cgroup::{CgroupVersion, MemoryHierarchy};
use crate::sample::pidfiles::PidFiles;
use crate::trace::Sample;

/// A memory cgroup created for a command, removed on drop: what still runs in it (the
/// command's descendants) is SIGKILLed, and the removal retried for 5 s while the kernel
/// finishes tearing down the last task.
pub struct OwnedCgroup {
    /// Its directory under the hierarchy's mount.
    pub dir: PathBuf,
    /// Its path relative to the hierarchy root, as `/proc/PID/cgroup` prints it.
    pub rel: String,
}

impl Drop for OwnedCgroup {
    fn drop(&mut self) {
        // What the command left running in it (its own children) goes with it.
        kill_tasks(&self.dir);
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

/// The prefix of the cgroups `record` creates.
const PREFIX: &str = "clw-record-";

/// `(pid, start time in clock ticks)` of a process, from `/proc/PID/stat`.
fn identity(pid: i32) -> Option<(i32, u64)> {
    PidFiles::new(Path::new("/proc"))
        .stat(pid)
        .ok()
        .map(|s| (pid, s.starttime_ticks))
}

/// The owner a `clw-record-…` name records: `(pid, Some(start))`, or `(pid, None)` for the
/// names of earlier versions (`clw-record-<pid>`).
fn owner_of(name: &str) -> Option<(i32, Option<u64>)> {
    let rest = name.strip_prefix(PREFIX)?;
    match rest.split_once('-') {
        Some((pid, start)) => Some((pid.parse().ok()?, Some(start.parse().ok()?))),
        None => Some((rest.parse().ok()?, None)),
    }
}

/// Whether the recorder that owns a cgroup of this name still runs: its pid is alive with the
/// start time in the name (for a name without one, a live process called `clw-diag`).
fn owner_alive(name: &str) -> bool {
    let Some((pid, start)) = owner_of(name) else {
        return true; // not ours to judge
    };
    match start {
        Some(t) => identity(pid).is_some_and(|(_, now)| now == t),
        None => std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim_end().starts_with("clw-diag")),
    }
}

/// Whether `dir` is on a cgroup file system (v1 or v2), not a copied tree given as
/// `--cgroup-root`: the pids a copy lists are not processes to kill.
fn on_cgroupfs(dir: &Path) -> bool {
    const CGROUP_SUPER_MAGIC: i64 = 0x27e0eb;
    const CGROUP2_SUPER_MAGIC: i64 = 0x63677270;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs with a NUL-terminated path and a zeroed out-struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return false;
    }
    matches!(st.f_type as i64, CGROUP_SUPER_MAGIC | CGROUP2_SUPER_MAGIC)
}

/// Empty and remove the `clw-record-…` cgroups under the hierarchy's root whose recorder is
/// gone (killed before it could remove them): their tasks are SIGKILLed (v2 `cgroup.kill`
/// where the kernel has it, else each pid of `cgroup.procs`), then the directory is removed.
/// One note per cgroup, saying what was done or why it could not be. Nothing is done on a
/// tree that is not a mounted cgroup file system.
pub fn reap_stale(h: &MemoryHierarchy) -> Vec<String> {
    let mut notes = Vec::new();
    if !on_cgroupfs(&h.mount) {
        return notes;
    }
    let Ok(rd) = std::fs::read_dir(&h.mount) else {
        return notes;
    };
    for e in rd.flatten() {
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if owner_of(&name).is_none() || owner_alive(&name) {
            continue;
        }
        let dir = e.path();
        let killed = kill_tasks(&dir);
        let removed = (0..50).any(|_| {
            let ok = std::fs::remove_dir(&dir).is_ok();
            if !ok {
                std::thread::sleep(Duration::from_millis(40));
            }
            ok
        });
        notes.push(if removed {
            format!(
                "removed the memory cgroup {name} left by a recorder that was killed{}",
                if killed.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", and killed what was still running in it (pid {})",
                        killed
                            .iter()
                            .map(|p| p.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )
        } else {
            format!(
                "the memory cgroup {name} was left by a recorder that was killed and could not \
                 be removed ({} still in it)",
                dir.join("cgroup.procs").display()
            )
        });
    }
    notes
}

/// SIGKILL every task of the cgroup `dir` and wait (up to 2 s) for it to be empty; the pids
/// killed.
fn kill_tasks(dir: &Path) -> Vec<i32> {
    let procs = dir.join("cgroup.procs");
    let read = || -> Vec<i32> {
        std::fs::read_to_string(&procs)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let pids = read();
    if pids.is_empty() {
        return pids;
    }
    if std::fs::write(dir.join("cgroup.kill"), "1").is_err() {
        for &p in &pids {
            // SAFETY: kill(2) of a pid listed in the cgroup's own cgroup.procs.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
    for _ in 0..50 {
        let left = read();
        if left.is_empty() {
            break;
        }
        // Tasks forked after the listing.
        for &p in &left {
            // SAFETY: as above.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    pids
}

/// Create `clw-record-PID-START` (this recorder's pid and start time) under the hierarchy's
/// root with a hard limit of `limit` bytes.
///
/// Errors: [`Error::PermissionDenied`] without root (or a delegated cgroup), [`Error::Io`] when
/// the directory or its limit cannot be written.
pub fn create(h: &MemoryHierarchy, limit: u64) -> Result<OwnedCgroup> {
    let me = std::process::id() as i32;
    let name = match identity(me) {
        Some((pid, start)) => format!("{PREFIX}{pid}-{start}"),
        None => format!("{PREFIX}{me}"),
    };
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

/// The OOM-kill counter of one cgroup alone (for a process target, whose cgroup's figures are
/// not recorded, and for a command's cgroup after it ended): `oom_kill` of `memory.events` (v2)
/// or `memory.oom_control` (v1), read every sample through a descriptor kept open (a kernfs
/// file is generated again at each read from offset 0, as a `seq_file`): one `pread` per
/// sample. The file is opened again, by path, when a read fails (the cgroup was removed and
/// perhaps created again).
#[derive(Debug, Default)]
pub struct OomKillFile {
    file: Option<std::fs::File>,
}

impl OomKillFile {
    /// The counter of cgroup `rel` now; `None` when it cannot be read.
    pub fn read(&mut self, h: &MemoryHierarchy, rel: &str) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        // memory.events is about 100 bytes, memory.oom_control about 60.
        let mut buf = [0u8; 4096];
        for _ in 0..2 {
            if self.file.is_none() {
                let name = match h.version {
                    CgroupVersion::V1 => "memory.oom_control",
                    CgroupVersion::V2 => "memory.events",
                };
                let (dir, _) = h.resolve(rel).ok()?;
                // A regular file only: a FIFO in a copied tree is refused, not waited on.
                let input = crate::base::input::open(&dir.join(name), Accept::Regular).ok()?;
                self.file = Some(input.file);
            }
            let f = self.file.as_ref()?;
            match f.read_at(&mut buf, 0) {
                Ok(n) if n < buf.len() => {
                    return parse_oom_kill(std::str::from_utf8(&buf[..n]).ok()?);
                }
                // Not what the kernel prints.
                Ok(_) => return None,
                Err(_) => self.file = None,
            }
        }
        None
    }
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
    fn owners_are_read_from_the_name() {
        assert_eq!(owner_of("clw-record-42-123456"), Some((42, Some(123456))));
        assert_eq!(owner_of("clw-record-42"), Some((42, None)));
        assert_eq!(owner_of("clw-record-x"), None);
        assert_eq!(owner_of("kubepods"), None);
        let (me, start) = identity(std::process::id() as i32).unwrap();
        assert!(owner_alive(&format!("clw-record-{me}-{start}")));
        assert!(
            !owner_alive(&format!("clw-record-{me}-{}", start + 1)),
            "a reused pid"
        );
        assert!(!owner_alive(&format!("clw-record-{}-1", i32::MAX)));
        assert!(!on_cgroupfs(Path::new("/tmp")));
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
