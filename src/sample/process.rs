//! Per-process memory readers: `/proc/PID/status`, `smaps_rollup`, `oom_score`,
//! `oom_score_adj`, `cmdline` and `cgroup`, through the procfs crate.
//!
//! Field meanings follow Documentation/filesystems/proc.rst (sections 1.1 "status" and
//! "smaps_rollup"). USS is `Private_Clean + Private_Dirty` from `smaps_rollup`, as smem
//! computes it. Reading `smaps_rollup` walks the target's page tables under its mmap lock, so it
//! is optional and callers read it only for the processes they show.

use std::path::{Path, PathBuf};

use procfs::process::Process;
use procfs::ProcError;
use serde::Serialize;

use crate::error::{Error, Result, PTRACE_HINT};
use crate::sample::cgroup::{memory_cgroup_of, CgroupVersion};
use crate::sample::files;

/// `PF_KTHREAD` from include/linux/sched.h: the task is a kernel thread.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Memory of one process. Sizes in bytes; `None` when the kernel did not provide the value (a
/// kernel thread, an old kernel, or `smaps_rollup` not read).
#[derive(Debug, Clone, Serialize)]
pub struct ProcessMemory {
    /// Process id (thread-group id), as in `/proc/PID`.
    pub pid: i32,
    /// `Name:` of status (the kernel's comm, at most 15 bytes).
    pub name: String,
    /// The command line, arguments joined by spaces; empty for kernel threads and zombies.
    pub command: String,
    /// Real uid: the first field of `Uid:` in status (the reader always sets it).
    pub uid: Option<u32>,
    /// `VmRSS`: resident set size.
    pub rss_bytes: Option<u64>,
    /// `RssAnon`: resident anonymous memory.
    pub anon_bytes: Option<u64>,
    /// `RssFile`: resident file mappings.
    pub file_bytes: Option<u64>,
    /// `RssShmem`: resident shared memory (SysV, tmpfs, shared anonymous).
    pub shmem_bytes: Option<u64>,
    /// `VmSwap`: swapped-out anonymous memory.
    pub swap_bytes: Option<u64>,
    /// `VmPTE`: page tables.
    pub page_tables_bytes: Option<u64>,
    /// `VmHWM`: peak RSS.
    pub peak_rss_bytes: Option<u64>,
    /// From `smaps_rollup`, when read.
    #[serde(flatten)]
    pub rollup: Rollup,
    /// `/proc/PID/oom_score`: the kernel's scaled OOM badness (higher is killed first); `None` when
    /// it could not be read.
    pub oom_score: Option<u32>,
    /// `/proc/PID/oom_score_adj` (−1000 to 1000; −1000 = never killed); `None` when it could not be
    /// read.
    pub oom_score_adj: Option<i32>,
    /// Path of the process's memory cgroup relative to the hierarchy root.
    pub memory_cgroup: Option<String>,
}

/// The `smaps_rollup` figures. All `None` when it was not read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rollup {
    /// `Rss` as `smaps_rollup` counts it (should equal `VmRSS` within a page or two).
    pub rollup_rss_bytes: Option<u64>,
    /// `Pss`: proportional set size (each shared page divided among the processes mapping it),
    /// bytes.
    pub pss_bytes: Option<u64>,
    /// `Pss_Anon`: PSS of anonymous memory, bytes; `None` also on kernels without the line.
    pub pss_anon_bytes: Option<u64>,
    /// `Pss_File`: PSS of file-backed memory, bytes; `None` also on kernels without the line.
    pub pss_file_bytes: Option<u64>,
    /// `Pss_Shmem`: PSS of shared memory (shmem/tmpfs), bytes; `None` also on kernels without the
    /// line.
    pub pss_shmem_bytes: Option<u64>,
    /// Unique set size: `Private_Clean + Private_Dirty`.
    pub uss_bytes: Option<u64>,
    /// `Shared_Clean`: resident pages also mapped by other processes, unmodified, bytes.
    pub shared_clean_bytes: Option<u64>,
    /// `Shared_Dirty`: resident pages also mapped by other processes, modified, bytes.
    pub shared_dirty_bytes: Option<u64>,
    /// `Private_Clean`: resident pages mapped only by this process, unmodified, bytes.
    pub private_clean_bytes: Option<u64>,
    /// `Private_Dirty`: resident pages mapped only by this process, modified, bytes.
    pub private_dirty_bytes: Option<u64>,
    /// `SwapPss`: the process's proportional share of swapped-out pages (shared swap divided among
    /// the sharers), bytes.
    pub swap_pss_bytes: Option<u64>,
}

/// What to read besides `status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Read `smaps_rollup` (costly: walks page tables).
    pub rollup: bool,
    /// Resolve the memory cgroup in this hierarchy version.
    pub cgroup_version: Option<CgroupVersion>,
}

fn kb(v: Option<u64>) -> Option<u64> {
    v.map(|k| k.saturating_mul(1024))
}

/// Map a procfs error on `pid` to ours. `NotFound` after the process was opened means it exited.
fn proc_err(pid: i32, dir: &Path, e: ProcError) -> Error {
    match e {
        ProcError::NotFound(Some(p)) => Error::gone(pid, &p),
        ProcError::NotFound(None) => Error::Vanished {
            pid,
            path: dir.to_path_buf(),
        },
        ProcError::PermissionDenied(p) => Error::PermissionDenied {
            path: p.unwrap_or_else(|| dir.to_path_buf()),
            hint: PTRACE_HINT,
        },
        ProcError::Io(io, p) => Error::process_io(pid, &p.unwrap_or_else(|| dir.to_path_buf()), io),
        ProcError::Incomplete(p) => files::malformed(
            &p.unwrap_or_else(|| dir.to_path_buf()),
            0,
            "incomplete contents",
        ),
        other => files::malformed(dir, 0, parse_error_text(&other)),
    }
}

/// One line saying why procfs could not parse a file. procfs reports unparsable input as an
/// "internal error" over several lines; keep only the reason.
pub(crate) fn parse_error_text(e: &ProcError) -> String {
    let text = e.to_string();
    let reason = text
        .lines()
        .find_map(|l| l.strip_prefix("Internal Unwrap Error: "))
        .unwrap_or_else(|| text.lines().next().unwrap_or_default());
    match reason {
        "NoneError" => "unexpected contents (a required field is missing or garbled)".to_string(),
        r => format!("unexpected contents: {}", files::clip(r)),
    }
}

/// Open `/proc/PID` under `proc_root`.
///
/// Errors: [`Error::NoSuchProcess`] when it does not exist.
pub fn open(proc_root: &Path, pid: i32) -> Result<Process> {
    let dir = proc_root.join(pid.to_string());
    Process::new_with_root(dir.clone()).map_err(|e| match e {
        ProcError::NotFound(_) => Error::NoSuchProcess { pid, path: dir },
        ProcError::Io(io, _) if io.kind() == std::io::ErrorKind::NotFound => {
            Error::NoSuchProcess { pid, path: dir }
        }
        other => proc_err(pid, &dir, other),
    })
}

/// True when the task is a kernel thread (PF_KTHREAD in `/proc/PID/stat`).
pub fn is_kernel_thread(p: &Process) -> bool {
    p.stat().map(|s| s.flags & PF_KTHREAD != 0).unwrap_or(false)
}

/// Read one process's memory.
///
/// Errors: [`Error::NoSuchProcess`] (no such pid), [`Error::Vanished`] (it exited while being
/// read), [`Error::PermissionDenied`] (`smaps_rollup` of another user's process without
/// CAP_SYS_PTRACE), [`Error::Malformed`] (a garbled file in a fixture tree).
pub fn read_process(proc_root: &Path, pid: i32, opts: ReadOptions) -> Result<ProcessMemory> {
    let dir: PathBuf = proc_root.join(pid.to_string());
    let p = open(proc_root, pid)?;
    let st = p.status().map_err(|e| proc_err(pid, &dir, e))?;
    let command = p.cmdline().map(|v| v.join(" ")).unwrap_or_default();
    let rollup = if opts.rollup && st.vmrss.is_some() {
        read_rollup(&p, pid, &dir)?
    } else {
        Rollup::default()
    };
    let oom_score = p.oom_score().ok().map(u32::from);
    let oom_score_adj = p.oom_score_adj().ok().map(i32::from);
    let memory_cgroup = match opts.cgroup_version {
        Some(v) => files::read_optional(&dir.join("cgroup"))
            .ok()
            .flatten()
            .and_then(|t| memory_cgroup_of(&t, v)),
        None => None,
    };
    Ok(ProcessMemory {
        pid,
        name: st.name,
        command,
        uid: Some(st.ruid),
        rss_bytes: kb(st.vmrss),
        anon_bytes: kb(st.rssanon),
        file_bytes: kb(st.rssfile),
        shmem_bytes: kb(st.rssshmem),
        swap_bytes: kb(st.vmswap),
        page_tables_bytes: kb(st.vmpte),
        peak_rss_bytes: kb(st.vmhwm),
        rollup,
        oom_score,
        oom_score_adj,
        memory_cgroup,
    })
}

/// Read `smaps_rollup` (Linux 4.14+).
fn read_rollup(p: &Process, pid: i32, dir: &Path) -> Result<Rollup> {
    let r = p
        .smaps_rollup()
        .map_err(|e| proc_err(pid, &dir.join("smaps_rollup"), e))?;
    let Some(m) = r.memory_map_rollup.0.first() else {
        return Ok(Rollup::default());
    };
    let g = |k: &str| m.extension.map.get(k).copied();
    let uss = match (g("Private_Clean"), g("Private_Dirty")) {
        (Some(a), Some(b)) => Some(a + b),
        _ => None,
    };
    Ok(Rollup {
        rollup_rss_bytes: g("Rss"),
        pss_bytes: g("Pss"),
        pss_anon_bytes: g("Pss_Anon"),
        pss_file_bytes: g("Pss_File"),
        pss_shmem_bytes: g("Pss_Shmem"),
        uss_bytes: uss,
        shared_clean_bytes: g("Shared_Clean"),
        shared_dirty_bytes: g("Shared_Dirty"),
        private_clean_bytes: g("Private_Clean"),
        private_dirty_bytes: g("Private_Dirty"),
        swap_pss_bytes: g("SwapPss"),
    })
}

/// The numeric entries of `proc_root`, ascending.
///
/// Errors: [`Error::Io`] when `proc_root` cannot be listed.
pub fn list_pids(proc_root: &Path) -> Result<Vec<i32>> {
    let rd = std::fs::read_dir(proc_root).map_err(|e| Error::io(proc_root, e))?;
    let mut pids: Vec<i32> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .filter(|&p| p > 0)
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// The pid the kernel calls "self" for this process under `proc_root` (the caller's own pid when
/// `proc_root` is the real `/proc`).
pub fn self_pid(proc_root: &Path) -> Result<i32> {
    let link = proc_root.join("self");
    let target = std::fs::read_link(&link).map_err(|e| Error::io(&link, e))?;
    target
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| files::malformed(&link, 0, "does not point at a pid"))
}
