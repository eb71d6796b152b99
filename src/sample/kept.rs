//! The process reader of `record`: a few processes read every interval, through descriptors
//! kept open between samples, so that a sample costs the kernel one `pread` per file and no
//! `openat`/`close` (which were a third of the recorder's cost).
//!
//! - Each process is **adopted** once ([`KeptFiles::adopt`]): its `/proc/PID` directory is
//!   opened `O_PATH` and its `stat` read through it (parent, start time). That descriptor is
//!   bound to the process (the kernel's `struct pid`), not to the number: once the process is
//!   reaped, everything opened through it fails with `ESRCH`/`ENOENT`, even after the number is
//!   reused. A reader is never opened again by path for an adopted pid, so a reused pid is
//!   never read as the target; the pids of `--children` come from the parents' own `children`
//!   files and are checked (the `stat` read through the new directory names that parent).
//! - `statm`, `status`, `smaps_rollup` and the main thread's `task/PID/children` are opened
//!   relative to that directory on first use and kept. A `pread` at offset 0 makes the kernel
//!   generate the file again (`seq_read_iter` in fs/seq_file.c restarts at a read from 0), and
//!   every one of them but `children` is a single record (`single_open`), so a read shorter
//!   than the buffer is the whole file: one system call per file per sample.
//! - A read that fails on a kept file is retried once on a file opened afresh through the
//!   directory (`smaps_rollup` keeps the address space it was opened on: after an `execve` it
//!   says `ESRCH` while the process lives). When that open fails too the process is gone: it is
//!   forgotten and every later read of its pid is [`Miss::NotFound`]. A file that is missing or
//!   cannot be read while the process lives (a copied tree without `statm`, a FIFO in its place)
//!   is [`Miss::Garbled`], never "gone": that would end a recording. A zombie (no memory map)
//!   reads as `statm` of zeros and a `status` without `Vm*` lines, as in [`PidFiles`].
//! - Descriptors are bounded: the soft `RLIMIT_NOFILE` less a reserve of 64. Past it the
//!   files of a process are opened, read and closed each time (its directory is still kept);
//!   a process that cannot even have its directory kept is not adopted and counted
//!   ([`KeptFiles::unkept`]).
//! - No allocation per process per sample: one buffer, grown to the largest file once;
//!   [`KeptFiles::family`] fills the caller's vector.
//!
//! Each kept `seq_file` holds a kernel buffer of a page or more until closed: about 16 KiB of
//! kernel memory per process recorded (four files), returned when it exits or leaves the family.
//!
//! [`PidFiles`]: crate::sample::pidfiles::PidFiles

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use crate::sample::pidfiles::{miss, parse_rollup, parse_statm, parse_status_fields};
use crate::sample::pidfiles::{Miss, PssUss, Statm};
use crate::sample::pidfiles::{Stat, Status, MAX_FILE_BYTES};

/// Descriptors left to the rest of the program under the soft `RLIMIT_NOFILE`.
const RESERVE_FDS: u64 = 64;

/// The files kept per process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum File {
    Statm = 0,
    Status = 1,
    Rollup = 2,
    /// `task/PID/children`: the children of the main thread.
    Children = 3,
}

/// One adopted process.
struct Kept {
    dir: OwnedFd,
    /// `stat` field 22 when adopted, clock ticks after boot.
    start_ticks: u64,
    fds: [Option<OwnedFd>; 4],
    /// `Threads:` of the last `status` read; `None` before one.
    threads: Option<u32>,
}

/// A reader of adopted processes under a procfs root (`/proc`, or a copied tree).
pub struct KeptFiles {
    root: PathBuf,
    procs: HashMap<i32, Kept>,
    buf: Vec<u8>,
    page_bytes: u64,
    /// Descriptors held (directories and files).
    open_fds: u64,
    /// Descriptors it may hold: the soft `RLIMIT_NOFILE` less the reserve, as it was when
    /// created or last walked.
    max_fds: u64,
    /// Whether the kernel has `task/TID/children` (CONFIG_PROC_CHILDREN); `None` until tried.
    children_file: Option<bool>,
    /// `openat` calls made (directories and files).
    opens: u64,
    unkept: u64,
    scratch: Vec<i32>,
}

impl KeptFiles {
    /// A reader of processes under `proc_root`, holding at most the soft `RLIMIT_NOFILE`
    /// (read now and at each [`KeptFiles::family`]) less 64 descriptors.
    pub fn new(proc_root: &Path) -> KeptFiles {
        KeptFiles {
            root: proc_root.to_path_buf(),
            procs: HashMap::new(),
            buf: vec![0; 16 * 1024],
            page_bytes: crate::base::page::size(),
            open_fds: 0,
            max_fds: max_fds(),
            children_file: None,
            opens: 0,
            unkept: 0,
            scratch: Vec::new(),
        }
    }

    /// How many `openat` calls this reader made (directories and files): constant once every
    /// process is adopted and read once.
    pub fn opens(&self) -> u64 {
        self.opens
    }

    /// Processes not adopted because the descriptor limit was reached.
    pub fn unkept(&self) -> u64 {
        self.unkept
    }

    /// Whether `pid` is adopted (read through its kept directory).
    pub fn is_kept(&self, pid: i32) -> bool {
        self.procs.contains_key(&pid)
    }

    /// The start time (`stat` field 22, clock ticks after boot) `pid` had when adopted.
    pub fn start_ticks(&self, pid: i32) -> Option<u64> {
        self.procs.get(&pid).map(|k| k.start_ticks)
    }

    /// Adopt `pid`: open `proc_root/PID` (by path, this once) and read its `stat` through it;
    /// that `stat` (the caller checks the parent or start time it expects, and forgets the pid
    /// when they differ). Adopting a pid already adopted opens it again.
    ///
    /// Errors: [`Miss::NotFound`] / [`Miss::Gone`] when there is no such process (or it exited
    /// meanwhile), [`Miss::Denied`], [`Miss::Garbled`] for a `stat` that is not one, and
    /// [`Miss::Gone`] when the descriptor limit is reached (counted in [`KeptFiles::unkept`]).
    pub fn adopt(&mut self, pid: i32) -> Result<Stat, Miss> {
        self.forget(pid);
        if self.open_fds >= self.max_fds {
            self.unkept += 1;
            return Err(Miss::Gone);
        }
        let mut path = self.root.join(pid.to_string()).into_os_string().into_vec();
        path.push(0);
        // SAFETY: a NUL-terminated path; the descriptor is owned from here on.
        let fd = unsafe {
            libc::open(
                path.as_ptr() as *const libc::c_char,
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        self.opens += 1;
        if fd < 0 {
            return Err(miss(&std::io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just opened and is not owned elsewhere.
        let dir = unsafe { OwnedFd::from_raw_fd(fd) };
        let n = {
            let f = self
                .open_in(dir.as_raw_fd(), c"stat")
                .map_err(|e| miss(&e))?;
            read_whole(&f, &mut self.buf, false)?
        };
        let st = crate::sample::stat::parse(&self.buf[..n], Path::new("stat"))
            .map_err(|_| Miss::Garbled)?;
        // Not checked: `st.pid == pid`. Read through the directory of `pid`, the stat is that
        // process's; a tree copied from another machine may number its directories anew.
        self.open_fds += 1;
        self.procs.insert(
            pid,
            Kept {
                dir,
                start_ticks: st.starttime_ticks,
                fds: [None, None, None, None],
                threads: None,
            },
        );
        Ok(st)
    }

    /// Close everything kept for `pid`.
    pub fn forget(&mut self, pid: i32) {
        if let Some(k) = self.procs.remove(&pid) {
            self.open_fds -= 1 + k.fds.iter().flatten().count() as u64;
        }
    }

    /// Forget every adopted pid not in `keep`.
    pub fn retain(&mut self, keep: &[i32]) {
        let gone: Vec<i32> = self
            .procs
            .keys()
            .copied()
            .filter(|p| !keep.contains(p))
            .collect();
        for p in gone {
            self.forget(p);
        }
    }

    /// `statm`; `Ok(None)` for a task without a memory map (a zombie: all zeros).
    pub fn statm(&mut self, pid: i32) -> Result<Option<Statm>, Miss> {
        let page = self.page_bytes;
        let text = self.read(pid, File::Statm)?;
        parse_statm(text, page).ok_or(Miss::Garbled)
    }

    /// The memory lines of `status`, without the name (its `Threads:` is kept for
    /// [`KeptFiles::family`]).
    pub fn status(&mut self, pid: i32) -> Result<Status, Miss> {
        let st = parse_status_fields(self.read(pid, File::Status)?, false).ok_or(Miss::Garbled)?;
        if let Some(k) = self.procs.get_mut(&pid) {
            k.threads = st.threads;
        }
        Ok(st)
    }

    /// PSS and USS of `smaps_rollup`; `Ok(None)` when it has no `Pss` line.
    pub fn rollup(&mut self, pid: i32) -> Result<Option<PssUss>, Miss> {
        Ok(parse_rollup(self.read(pid, File::Rollup)?))
    }

    /// `root` and its descendants into `out` (cleared first), `root` first, then
    /// breadth-first; each new one adopted, and only when its `stat` names the parent it was
    /// listed under. Adopted pids that are no longer in the family are forgotten.
    ///
    /// The children of a process are its threads' `task/TID/children` (Linux 4.2+ with
    /// CONFIG_PROC_CHILDREN): the main thread's kept file when the last `status` read said one
    /// thread, else every thread of its `task` directory. Without those files, the parent of
    /// every process under the root is read instead (`stat`, one open each).
    pub fn family(&mut self, root: i32, out: &mut Vec<i32>) {
        self.max_fds = max_fds();
        out.clear();
        if !self.is_kept(root) {
            return;
        }
        out.push(root);
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut i = 0;
        while i < out.len() {
            let p = out[i];
            i += 1;
            scratch.clear();
            if self.children(p, &mut scratch).is_err() {
                continue;
            }
            for &c in &scratch {
                if c == p || out.contains(&c) {
                    continue;
                }
                if !self.is_kept(c) {
                    match self.adopt(c) {
                        Ok(st) if st.ppid == p => {}
                        // Exited, or the number reused by a process that is not p's child.
                        Ok(_) => {
                            self.forget(c);
                            continue;
                        }
                        Err(_) => continue,
                    }
                }
                out.push(c);
            }
        }
        if self.children_file == Some(false) {
            self.family_by_scan(root, out);
        }
        self.scratch = scratch;
        self.retain(out);
    }

    /// The family by the parent pid of every process under the root (no `children` files).
    fn family_by_scan(&mut self, root: i32, out: &mut Vec<i32>) {
        let mut files = crate::sample::pidfiles::PidFiles::new(&self.root);
        let parent: Vec<(i32, i32)> = crate::sample::process::list_pids(&self.root)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pid| Some((pid, files.ppid(pid).ok()?)))
            .collect();
        out.clear();
        for q in crate::sample::pidfiles::family_of(root, &parent) {
            let pp = parent.iter().find(|&&(c, _)| c == q).map(|&(_, pp)| pp);
            if q == root || self.is_kept(q) {
                out.push(q);
                continue;
            }
            match self.adopt(q) {
                Ok(st) if Some(st.ppid) == pp => out.push(q),
                Ok(_) => self.forget(q),
                Err(_) => {}
            }
        }
    }

    /// The children of `pid` (every thread's) into `out`, learning on the way whether the
    /// kernel has `children` files (`ENOENT` while the process is there: it has not).
    fn children(&mut self, pid: i32, out: &mut Vec<i32>) -> Result<(), Miss> {
        if self.children_file == Some(false) {
            return Err(Miss::NotFound);
        }
        let r = self.children_of(pid, out);
        match r {
            Ok(()) => self.children_file = Some(true),
            Err(Miss::NotFound | Miss::Garbled)
                if self.children_file.is_none() && self.alive(pid) =>
            {
                self.children_file = Some(false)
            }
            Err(_) => {}
        }
        r
    }

    fn children_of(&mut self, pid: i32, out: &mut Vec<i32>) -> Result<(), Miss> {
        let one_thread = self.procs.get(&pid).ok_or(Miss::NotFound)?.threads == Some(1);
        if one_thread {
            return self.read(pid, File::Children).map(|t| push_pids(t, out));
        }
        let dir = self.procs.get(&pid).ok_or(Miss::NotFound)?.dir.as_raw_fd();
        let task = self.open_in(dir, c"task").map_err(|e| miss(&e))?;
        // SAFETY: fdopendir takes the descriptor (closedir closes it); readdir's entries are
        // read before the next call.
        let d = unsafe { libc::fdopendir(task.as_raw_fd()) };
        if d.is_null() {
            return Err(miss(&std::io::Error::last_os_error()));
        }
        std::mem::forget(task);
        let mut tids = Vec::new();
        loop {
            // SAFETY: `d` is an open DIR stream.
            let e = unsafe { libc::readdir(d) };
            if e.is_null() {
                break;
            }
            // SAFETY: d_name is NUL-terminated within the entry.
            let name = unsafe { CStr::from_ptr((*e).d_name.as_ptr()) };
            if let Some(t) = name.to_str().ok().and_then(|s| s.parse::<i32>().ok()) {
                tids.push(t);
            }
        }
        // SAFETY: closes the stream and the descriptor fdopendir took.
        unsafe { libc::closedir(d) };
        let mut found = false;
        let mut last = Ok(());
        for t in tids {
            let name = format!("task/{t}/children\0");
            let name = CStr::from_bytes_with_nul(name.as_bytes()).map_err(|_| Miss::Garbled)?;
            let r = self.open_in(dir, name).map_err(|e| miss(&e)).and_then(|f| {
                let n = read_whole(&f, &mut self.buf, true)?;
                let text = std::str::from_utf8(&self.buf[..n]).map_err(|_| Miss::Garbled)?;
                push_pids(text, out);
                Ok(())
            });
            found |= r.is_ok();
            last = r;
        }
        if found {
            Ok(())
        } else {
            last
        }
    }

    /// Open `name` relative to the directory `dir` (not kept).
    fn open_in(&mut self, dir: RawFd, name: &CStr) -> std::io::Result<OwnedFd> {
        self.opens += 1;
        // SAFETY: openat relative to a directory descriptor we own, NUL-terminated name.
        let fd = unsafe {
            libc::openat(
                dir,
                name.as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is not owned elsewhere.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The text of file `f` of adopted `pid`, through its kept descriptor.
    fn read(&mut self, pid: i32, f: File) -> Result<&str, Miss> {
        let n = self.read_bytes(pid, f)?;
        std::str::from_utf8(&self.buf[..n]).map_err(|_| Miss::Garbled)
    }

    fn read_bytes(&mut self, pid: i32, f: File) -> Result<usize, Miss> {
        let many = f == File::Children;
        let k = self.procs.get_mut(&pid).ok_or(Miss::NotFound)?;
        if let Some(fd) = &k.fds[f as usize] {
            match read_whole(fd, &mut self.buf, many) {
                Ok(n) => return Ok(n),
                Err(Miss::Garbled) => return Err(Miss::Garbled),
                // Gone, or an smaps_rollup of the address space before an execve: open it
                // again through the directory.
                Err(_) => {
                    k.fds[f as usize] = None;
                    self.open_fds -= 1;
                }
            }
        }
        let dir = k.dir.as_raw_fd();
        let name_buf;
        let name: &CStr = match f {
            File::Statm => c"statm",
            File::Status => c"status",
            File::Rollup => c"smaps_rollup",
            File::Children => {
                name_buf = format!("task/{pid}/children\0");
                CStr::from_bytes_with_nul(name_buf.as_bytes()).map_err(|_| Miss::Garbled)?
            }
        };
        let fd = match self.open_in(dir, name) {
            Ok(fd) => fd,
            Err(e) => {
                // The directory itself says ESRCH/ENOENT once the process is reaped; a file
                // missing in a live process (an old kernel, a copied tree) is only a miss.
                if is_gone(&e) && !self.alive(pid) {
                    self.forget(pid);
                    return Err(Miss::Gone);
                }
                // Missing in a live process (a copied tree without it, an old kernel): not
                // "gone", which would end a recording.
                return Err(match miss(&e) {
                    Miss::NotFound | Miss::Gone => Miss::Garbled,
                    m => m,
                });
            }
        };
        let n = match read_whole(&fd, &mut self.buf, many) {
            Ok(n) => n,
            Err(m) => {
                if m.is_gone() && !self.alive(pid) {
                    self.forget(pid);
                    return Err(Miss::Gone);
                }
                // A read error of a file just opened in a live process is not the process
                // going away: the file is not what the kernel serves (a FIFO or a device in a
                // copied tree: ESPIPE, EAGAIN).
                return Err(if m == Miss::Gone { Miss::Garbled } else { m });
            }
        };
        if self.open_fds < self.max_fds {
            if let Some(k) = self.procs.get_mut(&pid) {
                k.fds[f as usize] = Some(fd);
                self.open_fds += 1;
            }
        }
        Ok(n)
    }

    /// Whether the process of kept `pid` still exists (its `stat` opens through the
    /// directory).
    fn alive(&mut self, pid: i32) -> bool {
        let Some(dir) = self.procs.get(&pid).map(|k| k.dir.as_raw_fd()) else {
            return false;
        };
        match self.open_in(dir, c"stat") {
            Ok(_) => true,
            // EMFILE and the like say nothing about the process.
            Err(e) => !is_gone(&e),
        }
    }
}

/// Read all of `fd` from offset 0 into `buf` (grown as needed, never shrunk); the length.
/// For a single-record file (`many` false) a read shorter than the buffer is the whole file;
/// else reads go on until one returns 0. [`Miss::Garbled`] past [`MAX_FILE_BYTES`].
fn read_whole(fd: &OwnedFd, buf: &mut Vec<u8>, many: bool) -> Result<usize, Miss> {
    let mut n = 0;
    loop {
        if n == buf.len() {
            if n as u64 >= MAX_FILE_BYTES {
                return Err(Miss::Garbled);
            }
            buf.resize(n * 2, 0);
        }
        // SAFETY: reading into the initialised tail of our own buffer, of that length.
        let k = unsafe {
            libc::pread(
                fd.as_raw_fd(),
                buf[n..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - n,
                n as libc::off_t,
            )
        };
        if k < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(miss(&e));
        }
        let k = k as usize;
        n += k;
        if k == 0 || (!many && n < buf.len()) {
            return Ok(n);
        }
    }
}

/// The pids of a `children` file ("12 345 ") appended to `out`; what is not a pid is skipped.
fn push_pids(text: &str, out: &mut Vec<i32>) {
    out.extend(
        text.split_ascii_whitespace()
            .filter_map(|t| t.parse::<i32>().ok()),
    );
}

/// ENOENT or ESRCH: what the kernel says of a reaped process's files.
fn is_gone(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH))
}

/// Descriptors this reader may hold: the soft `RLIMIT_NOFILE` now, less the reserve.
fn max_fds() -> u64 {
    nofile_soft().saturating_sub(RESERVE_FDS)
}

/// The soft `RLIMIT_NOFILE` (1024 when unknown).
fn nofile_soft() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return 1024;
    }
    r.rlim_cur
}

use std::os::unix::ffi::OsStringExt;
