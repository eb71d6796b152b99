//! Per-process memory readers: `/proc/PID/status`, `smaps_rollup`, `oom_score`,
//! `oom_score_adj`, `cmdline` and `cgroup`.
//!
//! Field meanings follow Documentation/filesystems/proc.rst (sections 1.1 "status" and
//! "smaps_rollup"). USS is `Private_Clean + Private_Dirty` from `smaps_rollup`, as smem
//! computes it. Reading `smaps_rollup` walks the target's page tables under its mmap lock, so it
//! is optional and callers read it only for the processes they show.
//!
//! Every file is opened as a regular file (a FIFO or device in a copied `--proc-root` tree is
//! refused at once, never waited on) and read to a bound stated per file; the text parsers are
//! the crate's own ([`crate::sample::pidfiles::parse_status`], [`parse_rollup`],
//! [`crate::sample::stat::parse`]), so a garbled copy is [`Error::Malformed`] naming the file.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::base::input::{self, Accept};
use crate::error::{Error, Result};
use crate::sample::cgroup::{memory_cgroup_of, CgroupVersion};
use crate::sample::files;
use crate::sample::pidfiles::{parse_status, Status};
use crate::sample::stat::read_proc_file;

/// Largest `status` read: 1 MiB. The kernel prints about 1.5 kB, but its `Groups:` line lists
/// every supplementary group (up to NGROUPS_MAX = 65,536, about 720 kB).
pub const MAX_STATUS_BYTES: u64 = 1 << 20;

/// Largest `smaps_rollup` read: 64 KiB (the kernel prints one header and about 25 lines, 1 kB).
pub const MAX_ROLLUP_BYTES: u64 = 64 * 1024;

/// Largest one-number file (`oom_score`, `oom_score_adj`) read: 4 KiB.
const MAX_NUMBER_BYTES: u64 = 4096;

/// Most of `cmdline` kept: 1 MiB (the argument area can reach a quarter of the stack limit,
/// 2 MiB by default); a longer command line is cut and ends in `…`.
pub const MAX_CMDLINE_BYTES: u64 = 1 << 20;

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
    /// Real uid: the first field of `Uid:` in status; `None` when status has no `Uid:` line.
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
    /// The workload of `memory_cgroup` ([`crate::identity`]); set by `sample`'s snapshot for
    /// the processes it shows, absent from JSON when not resolved (no cgroup, another reader).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::identity::Identity>,
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

/// The directory `proc_root/PID`, checked to exist.
///
/// Errors: [`Error::NoSuchProcess`] when it does not exist; [`Error::NotSupported`] when it is
/// not a directory (a copied tree); [`Error::Io`] otherwise.
pub fn open(proc_root: &Path, pid: i32) -> Result<PathBuf> {
    let dir = proc_root.join(pid.to_string());
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(dir),
        Ok(_) => Err(Error::NotSupported {
            path: dir,
            what: "is not a directory (a /proc/PID entry is one)".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::NoSuchProcess { pid, path: dir })
        }
        Err(e) => Err(Error::io(&dir, e)),
    }
}

/// Read and parse `dir/status` (at most [`MAX_STATUS_BYTES`]; a `Name:` that is not UTF-8 is
/// kept lossily).
///
/// Errors: those of [`read_proc_file`]; [`Error::Malformed`] when there is no `Name:` line or
/// a memory line is not `N kB`.
pub fn read_status(pid: i32, dir: &Path) -> Result<Status> {
    let path = dir.join("status");
    let bytes = read_proc_file(pid, &path, MAX_STATUS_BYTES, "a /proc/PID/status file")?;
    parse_status(&String::from_utf8_lossy(&bytes)).ok_or_else(|| {
        files::malformed(
            &path,
            0,
            "not a status file (it needs a Name: line, and Vm*/Rss* lines of \"N kB\")",
        )
    })
}

/// `dir/cmdline`, arguments joined by spaces (empty for kernel threads and zombies), at most
/// [`MAX_CMDLINE_BYTES`] of it (then cut, ending in `…`).
///
/// Errors: those of [`input::open`], and read errors.
pub fn read_cmdline(pid: i32, dir: &Path) -> Result<String> {
    let path = dir.join("cmdline");
    let inp = input::open(&path, Accept::Regular)
        .map_err(|e| crate::sample::stat::per_process(pid, e))?;
    let mut bytes = Vec::new();
    inp.file
        .take(MAX_CMDLINE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::process_io(pid, &path, e))?;
    let cut = bytes.len() as u64 == MAX_CMDLINE_BYTES;
    let text = String::from_utf8_lossy(&bytes);
    let mut s = text
        .trim_end_matches('\0')
        .split('\0')
        .collect::<Vec<_>>()
        .join(" ");
    if cut {
        s.push('…');
    }
    Ok(s)
}

/// A one-number file of `dir` (`oom_score`, `oom_score_adj`); `None` when it cannot be read or
/// is not a number.
fn read_number<T: std::str::FromStr>(pid: i32, path: &Path) -> Option<T> {
    let bytes = read_proc_file(pid, path, MAX_NUMBER_BYTES, "a one-number /proc file").ok()?;
    std::str::from_utf8(&bytes).ok()?.trim().parse().ok()
}

/// Read one process's memory.
///
/// Errors: [`Error::NoSuchProcess`] (no such pid), [`Error::Vanished`] (it exited while being
/// read), [`Error::PermissionDenied`] (`smaps_rollup` of another user's process without
/// CAP_SYS_PTRACE), [`Error::Malformed`] (a garbled file in a fixture tree),
/// [`Error::NotSupported`] / [`Error::TooLarge`] (a device, FIFO or huge file in a copied tree).
pub fn read_process(proc_root: &Path, pid: i32, opts: ReadOptions) -> Result<ProcessMemory> {
    let dir = open(proc_root, pid)?;
    let st = read_status(pid, &dir)?;
    let command = read_cmdline(pid, &dir).unwrap_or_default();
    let rollup = if opts.rollup && st.rss_bytes.is_some() {
        read_rollup(pid, &dir)?
    } else {
        Rollup::default()
    };
    let oom_score = read_number(pid, &dir.join("oom_score"));
    let oom_score_adj = read_number(pid, &dir.join("oom_score_adj"));
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
        uid: st.uid,
        rss_bytes: st.rss_bytes,
        anon_bytes: st.anon_bytes,
        file_bytes: st.file_bytes,
        shmem_bytes: st.shmem_bytes,
        swap_bytes: st.swap_bytes,
        page_tables_bytes: st.page_tables_bytes,
        peak_rss_bytes: st.peak_rss_bytes,
        rollup,
        oom_score,
        oom_score_adj,
        memory_cgroup,
        identity: None,
    })
}

/// Read `dir/smaps_rollup` (Linux 4.14+), at most [`MAX_ROLLUP_BYTES`].
///
/// Errors: those of [`read_proc_file`] and [`parse_rollup`].
pub fn read_rollup(pid: i32, dir: &Path) -> Result<Rollup> {
    let path = dir.join("smaps_rollup");
    let bytes = read_proc_file(pid, &path, MAX_ROLLUP_BYTES, "a smaps_rollup file")?;
    parse_rollup(&bytes, &path)
}

/// Parse the text of `smaps_rollup`: an optional `start-end perms ... [rollup]` header, then
/// `Key:  N kB` lines (kB become bytes, saturating). An empty file (a task without a memory
/// map) gives a [`Rollup`] of `None`s; a missing line leaves its field `None`.
///
/// Errors: [`Error::Malformed`] naming the line when a line is neither the header nor
/// `Key: N [kB]`.
pub fn parse_rollup(bytes: &[u8], path: &Path) -> Result<Rollup> {
    let mut r = Rollup::default();
    let mut private = (None, None);
    for (i, line) in bytes.split(|&c| c == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if i == 0 && crate::sample::smaps::parse_maps_line(line).is_some() {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        let bad = || {
            files::malformed(
                path,
                i + 1,
                format!("expected \"Key: N kB\", found {:?}", files::clip(&text)),
            )
        };
        let (key, rest) = text.split_once(':').ok_or_else(bad)?;
        let mut it = rest.split_ascii_whitespace();
        let v: u64 = it.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        let bytes = match (it.next(), it.next()) {
            (Some("kB"), None) => v.saturating_mul(1024),
            (None, None) => v,
            _ => return Err(bad()),
        };
        let slot = match key.trim() {
            "Rss" => &mut r.rollup_rss_bytes,
            "Pss" => &mut r.pss_bytes,
            "Pss_Anon" => &mut r.pss_anon_bytes,
            "Pss_File" => &mut r.pss_file_bytes,
            "Pss_Shmem" => &mut r.pss_shmem_bytes,
            "Shared_Clean" => &mut r.shared_clean_bytes,
            "Shared_Dirty" => &mut r.shared_dirty_bytes,
            "Private_Clean" => &mut private.0,
            "Private_Dirty" => &mut private.1,
            "SwapPss" => &mut r.swap_pss_bytes,
            _ => continue,
        };
        *slot = Some(bytes);
    }
    r.private_clean_bytes = private.0;
    r.private_dirty_bytes = private.1;
    r.uss_bytes = match private {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        _ => None,
    };
    Ok(r)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollup_of_the_fixture_and_of_garbage() {
        let p = Path::new("smaps_rollup");
        let fixture = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v2/proc/31337/smaps_rollup"),
        )
        .unwrap();
        let r = parse_rollup(&fixture, p).unwrap();
        assert_eq!(r.rollup_rss_bytes, Some(54564 * 1024));
        assert_eq!(r.pss_anon_bytes, Some(47832 * 1024));
        assert_eq!(r.uss_bytes, Some((5104 + 47832) * 1024));
        // A task without a memory map: an empty file, every figure unknown.
        assert!(parse_rollup(b"", p).unwrap().pss_bytes.is_none());
        for bad in [&b"Rss 1 kB"[..], b"Rss: x kB", b"Rss: 1 MB", b"\xff\xfe"] {
            let e = parse_rollup(bad, p).unwrap_err().to_string();
            assert!(e.starts_with("smaps_rollup:1"), "{e}");
        }
        let huge = parse_rollup(b"Pss: 18446744073709551615 kB\n", p).unwrap();
        assert_eq!(huge.pss_bytes, Some(u64::MAX), "saturates");
    }

    #[test]
    fn this_process_reads_whole() {
        let me = std::process::id() as i32;
        let p = read_process(
            Path::new("/proc"),
            me,
            ReadOptions {
                rollup: true,
                cgroup_version: None,
            },
        )
        .unwrap();
        assert!(p.rss_bytes.unwrap() > 0 && p.rollup.pss_bytes.unwrap() > 0);
        assert!(!p.command.is_empty());
        // SAFETY: getuid has no preconditions.
        assert_eq!(p.uid, Some(unsafe { libc::getuid() }));
        assert!(matches!(
            read_process(Path::new("/proc"), i32::MAX, ReadOptions::default()),
            Err(Error::NoSuchProcess { .. })
        ));
    }
}
