//! A live process, read as the unwinder reads a core: its mappings from `/proc/PID/maps`
//! (Documentation/filesystems/proc.rst, "maps"), its auxiliary vector from `/proc/PID/auxv`,
//! its memory through `process_vm_readv(2)` (falling back to `/proc/PID/mem`), and each
//! thread's registers and the stack above its stack pointer taken while the thread is held in a
//! ptrace stop (`PTRACE_SEIZE` + `PTRACE_INTERRUPT`, ptrace(2) "Attaching and detaching"), one
//! thread at a time or all at once.
//!
//! A thread is held only while its registers and stack are copied (tens of microseconds); the
//! unwinding happens afterwards on the copy ([`Captured`]), reading the live process only for
//! what lies outside the copied stack. Every attached thread is detached on every path: by a
//! drop guard on return, error or panic, and by the kernel when clw-diag itself dies (a tracer's
//! exit detaches its tracees and resumes the ones in a ptrace stop: `exit_ptrace()` in
//! kernel/ptrace.c). A signal that arrived while a thread was held is delivered on detach.

use std::cell::Cell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

mod ptrace;

pub use ptrace::{capture, Captured, Hold, Missed, ThreadMemory, STACK_COPY, STOP_TIMEOUT};

use super::memory::AddressSpace;
use super::notes::{self, FileMapping};
use crate::error::{Error, Result};
use crate::sample::stat;

/// The message appended to a refused attach: what the kernel checks (ptrace(2), "Ptrace access
/// mode checking"; Documentation/admin-guide/LSM/Yama.rst).
fn permission_hint() -> String {
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .map(|s| s.trim().to_string());
    let yama = match scope.as_deref() {
        None => "kernel.yama.ptrace_scope is not set here (no Yama)".to_string(),
        Some("0") => "kernel.yama.ptrace_scope is 0".to_string(),
        Some("1") => "kernel.yama.ptrace_scope is 1: only an ancestor may attach without \
                      CAP_SYS_PTRACE (sysctl kernel.yama.ptrace_scope=0 allows any process of \
                      the same uid)"
            .to_string(),
        Some("2") => "kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE may attach".to_string(),
        Some(s) => format!("kernel.yama.ptrace_scope is {s}: no process may attach"),
    };
    format!(
        "attaching needs the target's uid and a dumpable process, or CAP_SYS_PTRACE (run as \
         root); {yama}"
    )
}

/// One line of `/proc/PID/maps`.
#[derive(Debug, Clone)]
struct Map {
    start: u64,
    end: u64,
    perms: [u8; 4],
}

/// A live process's address space: mappings, auxiliary vector, memory.
#[derive(Debug)]
pub struct Process {
    /// The process id (thread-group id).
    pub pid: i32,
    /// `comm` from `/proc/PID/stat`.
    pub command: String,
    /// `/proc/PID/cmdline` with NULs as spaces (empty when it cannot be read).
    pub args: String,
    /// `/proc/PID/root`: the process's root directory, through which its files are read (the
    /// container's own files for a process in a container).
    pub root: PathBuf,
    maps: Vec<Map>,
    files: Vec<FileMapping>,
    auxv: Vec<(u64, u64)>,
    mem: Option<File>,
    /// The thread whose view of the address space is read: the leader, or a live thread when
    /// the leader has exited.
    reader: i32,
    vm_readv: Cell<bool>,
}

impl Process {
    /// Open process `pid` under `proc_root` (normally `/proc`): its stat, maps and auxv.
    ///
    /// Errors: [`Error::Usage`] for clw-diag's own pid (a process cannot ptrace itself) or a
    /// pid that is not positive, [`Error::NoSuchProcess`], [`Error::KernelThread`],
    /// [`Error::Attach`] for a zombie or when its `/proc` files may not be read (naming what
    /// attaching needs: the uid, CAP_SYS_PTRACE, `kernel.yama.ptrace_scope`),
    /// [`Error::Vanished`] when it exits while being opened.
    pub fn open(proc_root: &Path, pid: i32) -> Result<Process> {
        if pid <= 0 {
            return Err(Error::Usage(format!("--pid {pid}: not a process id")));
        }
        let own = std::process::id() as i32;
        let own_thread = proc_root
            .join(format!("{own}/task/{pid}"))
            .symlink_metadata()
            .is_ok();
        if pid == own || own_thread {
            return Err(Error::Usage(format!(
                "--pid {pid} is clw-diag itself: a process cannot trace itself; run it from \
                 another process"
            )));
        }
        let st = stat::read(proc_root, pid)?;
        if st.is_kernel_thread() {
            return Err(Error::KernelThread { pid, name: st.comm });
        }
        // A leader that called pthread_exit() is a zombie while its other threads run on: the
        // process is read through one of those (the leader's mm is gone).
        let reader = if st.has_exited() {
            live_thread(proc_root, pid)
        } else {
            Some(pid)
        };
        let Some(reader) = reader else {
            return Err(Error::Attach {
                pid,
                why: format!(
                    "it has exited ({}, state {}): a zombie has no memory or stack left; its \
                     parent (pid {}) has not reaped it yet",
                    st.comm, st.state, st.ppid
                ),
            });
        };
        let tgid = tgid(proc_root, pid).unwrap_or(pid);
        if tgid != pid {
            return Err(Error::Usage(format!(
                "--pid {pid} is a thread of process {tgid}: give the process id ({tgid}); every \
                 thread is shown"
            )));
        }
        let dir = match reader == pid {
            true => proc_root.join(pid.to_string()),
            false => proc_root.join(format!("{pid}/task/{reader}")),
        };
        let read = |name: &str| -> Result<Vec<u8>> {
            let p = dir.join(name);
            std::fs::read(&p).map_err(|e| match Error::process_io(pid, &p, e) {
                Error::PermissionDenied { path, .. } => Error::Attach {
                    pid,
                    why: format!(
                        "permission denied reading {}: {}",
                        path.display(),
                        permission_hint()
                    ),
                },
                e => e,
            })
        };
        let maps_text = read("maps")?;
        let maps: Vec<Map> = maps_text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| crate::sample::smaps::parse_maps_line(l))
            .map(|(m, _)| Map {
                start: m.start,
                end: m.end,
                perms: m.perms,
            })
            .collect();
        let files = maps_text
            .split(|&b| b == b'\n')
            .filter_map(crate::sample::smaps::parse_maps_line)
            .filter(|(m, p)| m.inode != 0 && p.first() == Some(&b'/'))
            .map(|(m, p)| FileMapping {
                start: m.start,
                end: m.end,
                offset: m.offset,
                path: String::from_utf8_lossy(p).into_owned(),
            })
            .collect();
        if maps.is_empty() {
            return Err(Error::Attach {
                pid,
                why: format!("{} has no mappings (exiting?)", dir.join("maps").display()),
            });
        }
        let auxv_bytes = read("auxv")?;
        let whole = auxv_bytes.len() - auxv_bytes.len() % 16;
        let auxv = notes::auxv(&auxv_bytes[..whole]).unwrap_or_default();
        let args = read("cmdline")
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .trim_end_matches('\0')
                    .replace('\0', " ")
            })
            .unwrap_or_default();
        let mem = File::open(dir.join("mem")).ok();
        Ok(Process {
            pid,
            command: st.comm,
            args,
            root: dir.join("root"),
            maps,
            files,
            auxv,
            mem,
            reader,
            vm_readv: Cell::new(true),
        })
    }

    /// The thread ids of the process (`/proc/PID/task`), the main thread first.
    ///
    /// Errors: [`Error::Vanished`] when the process has exited.
    pub fn threads(&self, proc_root: &Path) -> Result<Vec<i32>> {
        let dir = proc_root.join(format!("{}/task", self.pid));
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::process_io(self.pid, &dir, e))?;
        let mut tids: Vec<i32> = rd
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        tids.sort_unstable_by_key(|&t| (t != self.pid, t));
        Ok(tids)
    }

    fn map_at(&self, addr: u64) -> Option<&Map> {
        let i = self.maps.partition_point(|m| m.start <= addr);
        let m = self.maps.get(i.checked_sub(1)?)?;
        (addr < m.end).then_some(m)
    }

    /// Read through `process_vm_readv`, else `/proc/PID/mem`.
    fn read_live(&self, addr: u64, buf: &mut [u8]) -> bool {
        if buf.is_empty() {
            return true;
        }
        if self.vm_readv.get() {
            let local = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let remote = libc::iovec {
                iov_base: addr as *mut libc::c_void,
                iov_len: buf.len(),
            };
            // SAFETY: `local` covers exactly `buf`, which outlives the call; the remote range
            // is only read by the kernel, in the other process.
            let n = unsafe { libc::process_vm_readv(self.reader, &local, 1, &remote, 1, 0) };
            if n >= 0 {
                return n as usize == buf.len();
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::ENOSYS) | Some(libc::EPERM) => self.vm_readv.set(false),
                _ => return false,
            }
        }
        match &self.mem {
            Some(f) => f.read_exact_at(buf, addr).is_ok(),
            None => false,
        }
    }
}

/// A thread of `pid` that has not exited, when there is one.
fn live_thread(proc_root: &Path, pid: i32) -> Option<i32> {
    let rd = std::fs::read_dir(proc_root.join(format!("{pid}/task"))).ok()?;
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&t| t != pid)
        .find(|&t| {
            std::fs::read(proc_root.join(format!("{pid}/task/{t}/stat")))
                .ok()
                .and_then(|b| stat::parse(&b, Path::new("stat")).ok())
                .is_some_and(|s| !s.has_exited())
        })
}

/// `Tgid:` of `/proc/PID/status`.
fn tgid(proc_root: &Path, pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(proc_root.join(format!("{pid}/status"))).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// `TracerPid:` of `/proc/PID/status`: the process already tracing `pid` (a debugger).
fn tracer(pid: i32) -> Option<(i32, String)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let t: i32 = s
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))?
        .trim()
        .parse()
        .ok()?;
    (t > 0).then(|| {
        let comm = std::fs::read_to_string(format!("/proc/{t}/comm")).unwrap_or_default();
        (t, comm.trim().to_string())
    })
}

impl AddressSpace for Process {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        self.read_live(addr, buf)
    }

    fn is_executable(&self, addr: u64) -> bool {
        self.map_at(addr).is_some_and(|m| m.perms[2] == b'x')
    }

    fn readable_end(&self, addr: u64) -> Option<u64> {
        self.map_at(addr)
            .filter(|m| m.perms[0] == b'r')
            .map(|m| m.end)
    }

    fn files(&self) -> &[FileMapping] {
        &self.files
    }

    fn aux(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn kind(&self) -> &'static str {
        "the process's memory"
    }

    fn mapped_file(&self, m: &FileMapping) -> Option<PathBuf> {
        let p = self
            .root
            .with_file_name("map_files")
            .join(format!("{:x}-{:x}", m.start, m.end));
        File::open(&p).is_ok().then_some(p)
    }
}
