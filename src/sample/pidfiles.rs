//! The fast process reader: the small `/proc/PID` files (`statm`, `status`, `smaps_rollup`,
//! `stat`, `oom_score`, `oom_score_adj`) read with as few system calls as the kernel allows,
//! into one reused buffer, for the commands that read many processes or one process many times:
//! `serve` (every process at every scrape) and `oom-rank`.
//!
//! The caller chooses what to read by calling only the readers it needs: `serve` reads `statm`
//! of every process and `status` of the top N only. No descriptor outlives a read (`serve`,
//! `oom-rank`: thousands of processes read once); `record`, which reads a few processes every
//! interval, keeps them open instead ([`crate::sample::kept`]) and shares these parsers.
//!
//! A process that exits while being read, or whose file cannot be read for permission, is data:
//! every reader returns a [`Miss`] the caller counts. Field meanings follow
//! Documentation/filesystems/proc.rst (table 1-2 "status", table 1-3 "statm", "smaps_rollup");
//! `statm`'s shared pages are file + shmem pages (`task_statm()` in fs/proc/task_mmu.c).
//! The `sample` command's full per-process model ([`crate::sample::process`]) opens each file
//! through `base::input` instead (kind checked, a bound per file) and shares these parsers;
//! its cost is dominated by `smaps_rollup` and `cmdline`. `stat` is parsed by
//! [`crate::sample::stat`], the crate's one parser of it.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Largest file [`PidFiles::read_bytes`] reads: [`crate::sample::files::SMALL_FILE_LIMIT`]
/// (4 MiB). The largest file it is used for is `cmdline` (the argument area, 2 MiB under the
/// default 8 MiB stack limit) and `status` (its `Groups:` line has at most 65,536 groups,
/// about 720 kB).
pub const MAX_FILE_BYTES: u64 = crate::sample::files::SMALL_FILE_LIMIT;

/// Why a file of a process could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// The process (or the file, in a copied tree) is not there: it exited, or the tree did not
    /// keep the file.
    NotFound,
    /// EACCES/EPERM: another user's process read without CAP_SYS_PTRACE (smaps_rollup), or
    /// `hidepid=` on the /proc mount.
    Denied,
    /// The process exited while the file was being read (ESRCH, or another read error).
    Gone,
    /// The text is not what the kernel prints (a garbled copy in a fixture tree, not UTF-8).
    Garbled,
}

impl Miss {
    /// True for a process that is gone (exited between the listing and the read).
    pub fn is_gone(self) -> bool {
        matches!(self, Miss::NotFound | Miss::Gone)
    }
}

pub use crate::sample::stat::Stat;

/// `/proc/PID/statm`, in bytes (pages × page size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statm {
    /// Resident pages: anon + file + shmem (the counters of `VmRSS`).
    pub resident_bytes: u64,
    /// Resident file and shmem pages.
    pub shared_bytes: u64,
}

impl Statm {
    /// Resident anonymous memory: resident − shared (what `RssAnon` shows).
    pub fn anon_bytes(&self) -> u64 {
        self.resident_bytes.saturating_sub(self.shared_bytes)
    }
}

/// The memory lines of `/proc/PID/status`, in bytes; `None` when the kernel did not print the
/// line (kernel threads and zombies print no `Vm*`/`Rss*` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `Name:` (the comm, at most 15 bytes); empty when read by [`parse_status_fields`]
    /// without it (`record`).
    pub name: String,
    /// `PPid:`.
    pub ppid: Option<i32>,
    /// Real uid: the first number of `Uid:`.
    pub uid: Option<u32>,
    /// `VmRSS`.
    pub rss_bytes: Option<u64>,
    /// `RssAnon`.
    pub anon_bytes: Option<u64>,
    /// `RssFile`.
    pub file_bytes: Option<u64>,
    /// `RssShmem`.
    pub shmem_bytes: Option<u64>,
    /// `VmSwap`.
    pub swap_bytes: Option<u64>,
    /// `VmPTE`: page tables.
    pub page_tables_bytes: Option<u64>,
    /// `VmHWM`: peak RSS.
    pub peak_rss_bytes: Option<u64>,
    /// `Threads:`: the number of threads.
    pub threads: Option<u32>,
}

impl Status {
    /// True when the process has a memory map (not a kernel thread, not a zombie).
    pub fn has_mm(&self) -> bool {
        self.rss_bytes.is_some()
    }
}

/// PSS and USS from `/proc/PID/smaps_rollup`, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PssUss {
    /// `Pss`.
    pub pss_bytes: u64,
    /// `Private_Clean + Private_Dirty` (smem's USS).
    pub uss_bytes: u64,
}

/// A reader of `/proc/PID` files under a root (`/proc`, or a copied tree).
pub struct PidFiles {
    root: PathBuf,
    buf: Vec<u8>,
    path: Vec<u8>,
    page_bytes: u64,
}

impl PidFiles {
    /// A reader of processes under `proc_root`.
    pub fn new(proc_root: &Path) -> PidFiles {
        PidFiles {
            root: proc_root.to_path_buf(),
            buf: Vec::new(),
            path: Vec::with_capacity(128),
            page_bytes: crate::base::page::size(),
        }
    }

    /// Bytes per page (sysconf(_SC_PAGESIZE)), the unit of `statm`.
    pub fn page_bytes(&self) -> u64 {
        self.page_bytes
    }

    /// The text of file `name` of `pid`, in one open and as few reads as the file needs;
    /// [`Miss::Garbled`] when it is not UTF-8.
    pub fn read(&mut self, pid: i32, name: &CStr) -> Result<&str, Miss> {
        let bytes = self.read_bytes(pid, name)?;
        std::str::from_utf8(bytes).map_err(|_| Miss::Garbled)
    }

    /// The bytes of file `name` of `pid`, at most [`MAX_FILE_BYTES`] ([`Miss::Garbled`] past
    /// it: a `/dev/zero` or a huge file in a copied tree, not what the kernel prints).
    ///
    /// Files are opened `O_NONBLOCK` and stay so: a FIFO without a writer in a copied tree
    /// reads as empty (or `EAGAIN`, a miss) instead of blocking; the kernel's own `/proc` files
    /// ignore the flag. No `fstat` per file (this runs for every process at each `serve`
    /// scrape): the flag and the cap already bound what a device or FIFO can do.
    pub fn read_bytes(&mut self, pid: i32, name: &CStr) -> Result<&[u8], Miss> {
        let fd = self.open_path(pid, name)?;
        // Straight into the reused buffer: one read for every file this reader knows (they
        // are a few kB), a second that returns 0.
        // The buffer keeps its length (initialised once) between reads: no memset per read.
        if self.buf.len() < 16 * 1024 {
            self.buf.resize(16 * 1024, 0);
        }
        let mut n = 0;
        loop {
            if n == self.buf.len() {
                if n as u64 > MAX_FILE_BYTES {
                    return Err(Miss::Garbled);
                }
                self.buf.resize(n * 2, 0);
            }
            // SAFETY: reading into the initialised tail of our own buffer, of that length.
            let k = unsafe {
                libc::read(
                    fd.as_raw_fd(),
                    self.buf[n..].as_mut_ptr() as *mut libc::c_void,
                    self.buf.len() - n,
                )
            };
            if k < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(miss(&e));
            }
            if k == 0 {
                break;
            }
            n += k as usize;
        }
        drop(fd);
        if n as u64 > MAX_FILE_BYTES {
            return Err(Miss::Garbled);
        }
        Ok(&self.buf[..n])
    }

    fn open_path(&mut self, pid: i32, name: &CStr) -> Result<OwnedFd, Miss> {
        self.path.clear();
        self.path
            .extend_from_slice(self.root.as_os_str().as_bytes());
        let _ = std::io::Write::write_fmt(&mut self.path, format_args!("/{pid}/"));
        self.path.extend_from_slice(name.to_bytes_with_nul());
        // SAFETY: a NUL-terminated path; the descriptor is owned from here on.
        let fd = unsafe {
            libc::open(
                self.path.as_ptr() as *const libc::c_char,
                libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if fd < 0 {
            return Err(miss(&std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just opened and is not owned elsewhere.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// `statm`; `Ok(None)` for a task without a memory map (a kernel thread, a zombie: all
    /// zeros).
    pub fn statm(&mut self, pid: i32) -> Result<Option<Statm>, Miss> {
        let page = self.page_bytes;
        parse_statm(self.read(pid, c"statm")?, page).ok_or(Miss::Garbled)
    }

    /// The memory lines of `status`; [`Miss::Garbled`] when a line it keeps is not a number or
    /// there is no `Name:`.
    pub fn status(&mut self, pid: i32) -> Result<Status, Miss> {
        parse_status(self.read(pid, c"status")?).ok_or(Miss::Garbled)
    }

    /// `stat`: parent, flags, start time ([`crate::sample::stat::parse`]; a comm that is not
    /// UTF-8 is kept lossily, not a miss).
    pub fn stat(&mut self, pid: i32) -> Result<Stat, Miss> {
        let bytes = self.read_bytes(pid, c"stat")?;
        crate::sample::stat::parse(bytes, Path::new("stat")).map_err(|_| Miss::Garbled)
    }

    /// `cmdline`, arguments joined by spaces (empty for kernel threads and zombies).
    pub fn cmdline(&mut self, pid: i32) -> Result<String, Miss> {
        let text = self.read(pid, c"cmdline")?;
        Ok(text
            .trim_end_matches('\0')
            .split('\0')
            .collect::<Vec<_>>()
            .join(" "))
    }

    /// PSS and USS of `smaps_rollup` (Linux 4.14+); `Ok(None)` when it has no `Pss` line (a
    /// task without a memory map prints none).
    pub fn rollup(&mut self, pid: i32) -> Result<Option<PssUss>, Miss> {
        Ok(parse_rollup(self.read(pid, c"smaps_rollup")?))
    }

    /// A one-number file (`oom_score`, `oom_score_adj`).
    pub fn number(&mut self, pid: i32, name: &CStr) -> Result<i64, Miss> {
        self.read(pid, name)?
            .trim()
            .parse()
            .map_err(|_| Miss::Garbled)
    }

    /// The parent pid from `stat`.
    pub fn ppid(&mut self, pid: i32) -> Result<i32, Miss> {
        self.stat(pid).map(|s| s.ppid)
    }
}

/// The [`Miss`] of an I/O error on a `/proc/PID` file.
pub(crate) fn miss(e: &std::io::Error) -> Miss {
    match e.raw_os_error() {
        Some(libc::ENOENT) => Miss::NotFound,
        Some(libc::EACCES) | Some(libc::EPERM) => Miss::Denied,
        _ => Miss::Gone,
    }
}

/// Parse `statm` ("size resident shared text lib data dt", pages). `Some(None)` for a task
/// without a memory map (size and resident 0), `None` for text that is not statm.
pub fn parse_statm(text: &str, page_bytes: u64) -> Option<Option<Statm>> {
    let mut it = text.split_ascii_whitespace();
    let size: u64 = it.next()?.parse().ok()?;
    let resident: u64 = it.next()?.parse().ok()?;
    let shared: u64 = it.next()?.parse().ok()?;
    if size == 0 && resident == 0 {
        return Some(None);
    }
    Some(Some(Statm {
        resident_bytes: resident.saturating_mul(page_bytes),
        shared_bytes: shared.saturating_mul(page_bytes),
    }))
}

/// Parse the lines of `status` this reader keeps (unknown lines ignored). `None` when one of
/// them is not a number or there is no `Name:` line: not what the kernel prints.
pub fn parse_status(text: &str) -> Option<Status> {
    parse_status_fields(text, true)
}

/// [`parse_status`] with the `Name:` line checked but kept only when `keep_name` (else
/// `name` is empty): `record` reads `status` of every process it sums and never shows names,
/// and this parse allocates nothing then.
pub fn parse_status_fields(text: &str, keep_name: bool) -> Option<Status> {
    let mut s = Status::default();
    let mut named = false;
    let mut garbled = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let rest = rest.trim();
        let mut kb = || {
            let v = rest
                .split_ascii_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .map(|k| k.saturating_mul(1024));
            garbled |= v.is_none();
            v
        };
        match key {
            "Name" => {
                if keep_name {
                    s.name = rest.to_string();
                }
                named = true;
            }
            "PPid" => s.ppid = rest.parse().ok(),
            "Uid" => {
                s.uid = rest
                    .split_ascii_whitespace()
                    .next()
                    .and_then(|u| u.parse().ok())
            }
            "VmRSS" => s.rss_bytes = kb(),
            "RssAnon" => s.anon_bytes = kb(),
            "RssFile" => s.file_bytes = kb(),
            "RssShmem" => s.shmem_bytes = kb(),
            "VmSwap" => s.swap_bytes = kb(),
            "VmPTE" => s.page_tables_bytes = kb(),
            "VmHWM" => s.peak_rss_bytes = kb(),
            "Threads" => s.threads = rest.parse().ok(),
            _ => {}
        }
    }
    (named && !garbled).then_some(s)
}

/// Parse `Pss`, `Private_Clean` and `Private_Dirty` of `smaps_rollup` (kB).
pub fn parse_rollup(text: &str) -> Option<PssUss> {
    let get = |k: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(k))?
            .split_ascii_whitespace()
            .next()?
            .parse::<u64>()
            .ok()
            .map(|v| v.saturating_mul(1024))
    };
    Some(PssUss {
        pss_bytes: get("Pss:")?,
        uss_bytes: get("Private_Clean:")?.saturating_add(get("Private_Dirty:")?),
    })
}

/// `root` and its descendants, given (pid, parent pid) pairs; `root` first, then breadth-first.
pub fn family_of(root: i32, parent: &[(i32, i32)]) -> Vec<i32> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(
            parent
                .iter()
                .filter(|&&(c, pp)| pp == p && c != p && !out.contains(&c))
                .map(|&(c, _)| c)
                .collect::<Vec<_>>(),
        );
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statm_fields_and_tasks_without_memory() {
        // `cat /proc/self/statm` on the Debian 12 / Linux 6.18 build machine.
        let s = parse_statm("765 432 404 5 0 123 0\n", 4096)
            .unwrap()
            .unwrap();
        assert_eq!(s.resident_bytes, 432 * 4096);
        assert_eq!(s.anon_bytes(), 28 * 4096);
        // A kernel thread or a zombie: no memory map, not a process with 0 bytes.
        assert_eq!(parse_statm("0 0 0 0 0 0 0\n", 4096), Some(None));
        // Mapped but nothing resident (all swapped out): a real 0.
        assert_eq!(
            parse_statm("1390 0 0 5 0 83 0\n", 4096)
                .unwrap()
                .unwrap()
                .resident_bytes,
            0
        );
        assert_eq!(parse_statm("", 4096), None);
        assert_eq!(parse_statm("garbage here x", 4096), None);
    }

    #[test]
    fn status_lines_and_zombies() {
        let s = parse_status(
            "Name:\tpython3\nState:\tS (sleeping)\nPPid:\t12\nVmHWM:\t   9000 kB\nVmRSS:\t   8000 kB\n\
             RssAnon:\t   5000 kB\nRssFile:\t   2000 kB\nRssShmem:\t   1000 kB\nVmPTE:\t  40 kB\nVmSwap:\t 0 kB\n",
        )
        .unwrap();
        assert_eq!(s.name, "python3");
        assert_eq!(s.ppid, Some(12));
        assert_eq!(s.rss_bytes, Some(8000 * 1024));
        assert_eq!(s.anon_bytes, Some(5000 * 1024));
        assert_eq!(s.swap_bytes, Some(0));
        assert!(s.has_mm());
        // A zombie's status has no memory lines.
        let z = parse_status("Name:\tsh\nState:\tZ (zombie)\nPPid:\t1\n").unwrap();
        assert!(!z.has_mm());
        assert_eq!(z.rss_bytes, None);
        // A garbled number, or no name: not what the kernel prints.
        assert_eq!(parse_status("Name:\tx\nVmRSS:\t 1x kB\n"), None);
        assert_eq!(parse_status("VmRSS:\t 1 kB\n"), None);
        assert_eq!(
            parse_status("Name:\tx\nVmRSS:\t18446744073709551615 kB\n")
                .unwrap()
                .rss_bytes,
            Some(u64::MAX),
            "absurd sizes saturate"
        );
    }

    #[test]
    fn rollup_pss_and_uss() {
        let r = parse_rollup(
            "55c0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 100 kB\nPss: 60 kB\n\
             Shared_Clean: 40 kB\nPrivate_Clean: 10 kB\nPrivate_Dirty: 50 kB\n",
        )
        .unwrap();
        assert_eq!(r.pss_bytes, 60 * 1024);
        assert_eq!(r.uss_bytes, 60 * 1024);
        assert_eq!(parse_rollup("Rss: 1 kB\n"), None);
    }

    #[test]
    fn family_walk() {
        let pairs = [(2, 1), (3, 2), (4, 2), (5, 9), (6, 3), (1, 0)];
        assert_eq!(family_of(2, &pairs), vec![2, 3, 4, 6]);
        assert_eq!(family_of(5, &pairs), vec![5]);
    }

    #[test]
    fn reads_this_process_and_counts_what_is_missing() {
        let me = std::process::id() as i32;
        {
            let mut r = PidFiles::new(Path::new("/proc"));
            let st = r.status(me).unwrap();
            assert!(st.rss_bytes.unwrap() > 0);
            let sm = r.statm(me).unwrap().unwrap();
            assert!(sm.resident_bytes > 0);
            assert!(r.rollup(me).unwrap().unwrap().pss_bytes > 0);
            assert!((-1000..=1000).contains(&r.number(me, c"oom_score_adj").unwrap()));
            assert_eq!(
                r.ppid(me).unwrap(),
                std::os::unix::process::parent_id() as i32
            );
            // No such process.
            assert_eq!(r.status(i32::MAX).unwrap_err(), Miss::NotFound);
        }
        // A kernel thread (kthreadd, pid 2) has no memory map.
        let mut r = PidFiles::new(Path::new("/proc"));
        if let Ok(st) = r.status(2) {
            if st.name == "kthreadd" {
                assert_eq!(r.statm(2), Ok(None));
            }
        }
    }
}
