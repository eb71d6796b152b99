//! `/proc/PID/stat`: the one parser of it in the crate (`vmmap`, `record`, `oom-rank`, `serve`
//! and `sample` all read through it).
//!
//! Format: Documentation/filesystems/proc.rst, table 1-4, printed by `do_task_stat()` in
//! fs/proc/array.c: `pid (comm) state ppid pgrp ...`, one line. The comm is whatever the task
//! named itself (`prctl(PR_SET_NAME)`, up to 15 bytes, or 63 for a kernel thread's full name):
//! it may hold spaces, parentheses and bytes that are not UTF-8, so it runs from the first `(`
//! to the **last** `)`, and the fields after it are split on spaces. A copied `--proc-root`
//! tree may hold anything in this file, so every field is checked and a file that is not what
//! the kernel prints is [`Error::Malformed`] naming it, never a panic.

use std::path::Path;

use crate::base::input::{self, Accept};
use crate::error::{Error, Result};
use crate::sample::files::{clip, malformed};

/// Largest `stat` read: 64 KiB. The kernel prints 52 numbers of at most 20 digits and a comm of
/// at most 64 bytes (about 1.2 KiB); anything far larger is not a stat file.
pub const MAX_STAT_BYTES: u64 = 64 * 1024;

/// `PF_KTHREAD` of include/linux/sched.h: the task is a kernel thread.
pub const PF_KTHREAD: u64 = 0x0020_0000;

/// `PF_EXITING` of include/linux/sched.h: the task is in `do_exit()` (set before its memory
/// is released, so it shows while the task is not a zombie yet).
pub const PF_EXITING: u64 = 0x0000_0004;

/// The fields of `/proc/PID/stat` the crate uses (proc.rst table 1-4; field numbers 1-based as
/// in `proc_pid_stat(5)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Field 1, `pid`.
    pub pid: i32,
    /// Field 2, `comm`, without its parentheses; bytes that are not UTF-8 become U+FFFD.
    pub comm: String,
    /// Field 3, `state`: `R`, `S`, `D`, `Z` (zombie), `X` (dead), `T`, `t`, `I`...
    pub state: char,
    /// Field 4, `ppid`.
    pub ppid: i32,
    /// Field 9, `flags` (`PF_*` of include/linux/sched.h).
    pub flags: u64,
    /// Field 22, `starttime`: clock ticks after boot (see [`ticks_per_second`]).
    pub starttime_ticks: u64,
}

impl Stat {
    /// `PF_KTHREAD`: a kernel thread, which has no user-space memory.
    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// A task that is exiting (`PF_EXITING`) or has exited (a zombie `Z`, or dead `X`): its
    /// memory is gone or going.
    pub fn has_exited(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x') || self.flags & PF_EXITING != 0
    }
}

/// Parse the text of a `stat` file; `path` names it in errors.
///
/// Errors: [`Error::Malformed`] (line 1) when there is no `pid (comm)`, when fewer than the 22
/// fields this reader needs follow, or when one of them is not a number.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Stat> {
    let bad = |msg: String| malformed(path, 1, msg);
    let open = memchr::memchr(b'(', bytes)
        .ok_or_else(|| bad("no \"(comm)\" after the pid (not a /proc/PID/stat file)".into()))?;
    let close = memchr::memrchr(b')', bytes)
        .filter(|&c| c > open)
        .ok_or_else(|| bad("the command name has no closing \")\"".into()))?;
    let pid_text = String::from_utf8_lossy(&bytes[..open]);
    let pid = pid_text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| bad(format!("field 1 (pid) is not a pid: {:?}", clip(&pid_text))))?;
    let comm = String::from_utf8_lossy(&bytes[open + 1..close]).into_owned();
    let rest = &bytes[close + 1..];
    // `rest` starts at field 3 (state): field k is fields[k - 3]. Only the first 22 fields are
    // kept (no allocation: `serve` reads every process's stat at each scrape).
    const NEEDED: usize = 22;
    let mut fields: [&[u8]; NEEDED - 2] = [&[]; NEEDED - 2];
    let mut count = 0;
    for f in rest
        .split(|c| c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .take(NEEDED - 2)
    {
        fields[count] = f;
        count += 1;
    }
    if count < NEEDED - 2 {
        return Err(bad(format!(
            "{count} field(s) after the command name, expected at least {} (proc.rst table 1-4)",
            NEEDED - 2
        )));
    }
    let field = |k: usize| fields[k - 3];
    let state = match field(3) {
        [c] if c.is_ascii_alphabetic() => *c as char,
        other => {
            return Err(bad(format!(
                "field 3 (state) is not one letter: {:?}",
                clip(&String::from_utf8_lossy(other))
            )))
        }
    };
    fn number<T: std::str::FromStr>(f: &[u8], k: usize, name: &str, path: &Path) -> Result<T> {
        std::str::from_utf8(f)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                malformed(
                    path,
                    1,
                    format!(
                        "field {k} ({name}) is not a number: {:?}",
                        clip(&String::from_utf8_lossy(f))
                    ),
                )
            })
    }
    Ok(Stat {
        pid,
        comm,
        state,
        ppid: number(field(4), 4, "ppid", path)?,
        flags: number(field(9), 9, "flags", path)?,
        starttime_ticks: number(field(22), 22, "starttime", path)?,
    })
}

/// Read and parse `proc_root/PID/stat`, opened as a regular file (a FIFO or device in a copied
/// tree is refused, not waited on) and read to at most [`MAX_STAT_BYTES`].
///
/// Errors: [`Error::Vanished`] (ENOENT/ESRCH: the process is gone), [`Error::PermissionDenied`],
/// [`Error::NotSupported`] (not a regular file), [`Error::TooLarge`], [`Error::Malformed`].
pub fn read(proc_root: &Path, pid: i32) -> Result<Stat> {
    let path = proc_root.join(pid.to_string()).join("stat");
    let bytes = read_proc_file(pid, &path, MAX_STAT_BYTES, "a /proc/PID/stat file")?;
    parse(&bytes, &path)
}

/// Read a per-process file as a regular file, at most `cap` bytes, with the errors of a
/// per-process file (ENOENT/ESRCH mean the process exited: [`Error::Vanished`]).
///
/// Errors: those of [`input::read_capped`], with I/O errors classified by
/// [`Error::process_io`].
pub fn read_proc_file(pid: i32, path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    input::read_capped(path, Accept::Regular, cap, what).map_err(|e| per_process(pid, e))
}

/// An error of [`input`] on a file of process `pid`, as [`Error::process_io`] classifies it:
/// ENOENT/ESRCH become [`Error::Vanished`], EACCES gets the ptrace hint.
pub fn per_process(pid: i32, e: Error) -> Error {
    match e {
        Error::Io { path, source } => Error::process_io(pid, &path, source),
        Error::PermissionDenied { path, .. } => Error::PermissionDenied {
            path,
            hint: crate::error::PTRACE_HINT,
        },
        other => other,
    }
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux), the unit of
/// [`Stat::starttime_ticks`].
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &[u8]) -> Result<Stat> {
        parse(s, Path::new("stat"))
    }

    #[test]
    fn fields_after_a_comm_with_parentheses_and_spaces() {
        // `cat /proc/self/stat` of a process named "a) b" (Linux 6.18).
        let st = p(
            b"4242 (a) b) S 4100 4242 4100 34816 4242 4194560 117 0 0 0 0 0 0 0 20 0 1 0 \
             123456 2342912 220 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0\n",
        )
        .unwrap();
        assert_eq!(st.pid, 4242);
        assert_eq!(st.comm, "a) b");
        assert_eq!(st.state, 'S');
        assert_eq!(st.ppid, 4100);
        assert_eq!(st.flags, 4194560);
        assert!(!st.is_kernel_thread());
        assert_eq!(st.starttime_ticks, 123456);
    }

    #[test]
    fn this_process_and_a_kernel_thread() {
        let me = std::process::id() as i32;
        let st = read(Path::new("/proc"), me).unwrap();
        assert_eq!(st.pid, me);
        assert_eq!(st.ppid, std::os::unix::process::parent_id() as i32);
        assert!(!st.is_kernel_thread() && !st.has_exited());
        if let Ok(k) = read(Path::new("/proc"), 2) {
            if k.comm == "kthreadd" {
                assert!(k.is_kernel_thread());
            }
        }
        assert!(read(Path::new("/proc"), i32::MAX)
            .unwrap_err()
            .is_vanished());
    }

    #[test]
    fn non_utf8_comm_is_kept_lossily() {
        let st = p(b"7 (\xff\xfex) R 1 7 7 0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0").unwrap();
        assert_eq!(st.comm, "\u{FFFD}\u{FFFD}x");
        assert_eq!(st.starttime_ticks, 99);
    }

    #[test]
    fn what_procfs_panicked_on_is_malformed() {
        // The stat contents of the reliability note (D5), and a few more.
        for bad in [
            &b"\xff(x) S 1 2 3"[..],
            b"(x) S 1 2 3",
            b"1 (x)",
            b"1 )x( S 1 2",
            b"",
            b"1 (x) S 1 2 3",
            b"1 (x) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
            b"1 (x) S y 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
            b"-1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
            b"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 \xff 20",
        ] {
            let e = p(bad).unwrap_err();
            assert!(
                matches!(e, Error::Malformed { .. }) && e.to_string().starts_with("stat:1"),
                "{bad:?}: {e}"
            );
        }
        // Random bytes never panic.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let bytes: Vec<u8> = (0..(x % 200) as usize)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    b"0123456789 ()SZ\xff-"[(x % 17) as usize]
                })
                .collect();
            let _ = p(&bytes);
        }
    }

    #[test]
    fn a_fifo_or_device_in_a_copied_tree_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let pd = dir.path().join("5");
        std::fs::create_dir(&pd).unwrap();
        std::os::unix::fs::symlink("/dev/zero", pd.join("stat")).unwrap();
        assert!(matches!(
            read(dir.path(), 5),
            Err(Error::NotSupported { .. })
        ));
        std::fs::remove_file(pd.join("stat")).unwrap();
        let c = std::ffi::CString::new(pd.join("stat").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read(dir.path(), 5),
            Err(Error::NotSupported { .. })
        ));
    }
}
