//! Holding a live process's threads: `PTRACE_SEIZE` + `PTRACE_INTERRUPT` (ptrace(2),
//! "Attaching and detaching"), the registers and the stack copied while a thread is held, and
//! the detach on every path ([`capture`]).

use std::path::Path;
use std::time::{Duration, Instant};

use super::{permission_hint, tracer, Process};
use crate::coredump::memory::AddressSpace;
use crate::coredump::notes::{FileMapping, UserRegsX86_64};
use crate::error::{Error, Result};
use crate::sample::stat;

/// How much of a thread's stack above its stack pointer is copied while it is held (bytes): a
/// deeper stack is read from the live process for the frames past it.
pub const STACK_COPY: u64 = 1 << 20;

/// The x86-64 red zone below the stack pointer, copied with the stack (bytes; psABI 3.2.2).
const RED_ZONE: u64 = 128;

/// How long a thread may take to reach its ptrace stop before it is given up (a thread in
/// uninterruptible sleep, `D`, stops only when it leaves the kernel).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(1);

/// What was taken of one thread while it was held.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The thread id.
    pub tid: i32,
    /// `comm` of the thread (`/proc/PID/task/TID/comm`, as `pthread_setname_np` set it).
    pub name: Option<String>,
    /// The scheduler state before the attach (`R`, `S`, `D`, `T`…: `/proc/TID/stat` field 3).
    pub state: Option<char>,
    /// The general-purpose registers (`PTRACE_GETREGS`).
    pub regs: UserRegsX86_64,
    /// Address of the first byte of `stack`.
    pub stack_start: u64,
    /// The stack from 128 bytes below the stack pointer up to the end of its mapping, at most
    /// [`STACK_COPY`] bytes; empty when it could not be read.
    pub stack: Vec<u8>,
    /// How long the thread was held: from `PTRACE_INTERRUPT` to `PTRACE_DETACH`, microseconds.
    pub paused_us: u64,
    /// The thread was already in a group stop (`SIGSTOP`, `T`) and is left in it.
    pub was_stopped: bool,
}

impl Captured {
    /// The thread's memory as the unwinder reads it: the copied stack, else the live process.
    pub fn memory<'a>(&'a self, process: &'a Process) -> ThreadMemory<'a> {
        ThreadMemory {
            process,
            thread: self,
        }
    }
}

/// A thread's copied stack over the live process's memory.
#[derive(Debug)]
pub struct ThreadMemory<'a> {
    process: &'a Process,
    thread: &'a Captured,
}

impl AddressSpace for ThreadMemory<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let t = self.thread;
        let end = t.stack_start + t.stack.len() as u64;
        match addr.checked_add(buf.len() as u64) {
            Some(e) if addr >= t.stack_start && e <= end => {
                let o = (addr - t.stack_start) as usize;
                buf.copy_from_slice(&t.stack[o..o + buf.len()]);
                true
            }
            _ => self.process.read_live(addr, buf),
        }
    }

    fn is_executable(&self, addr: u64) -> bool {
        self.process.is_executable(addr)
    }

    fn readable_end(&self, addr: u64) -> Option<u64> {
        self.process.readable_end(addr)
    }

    fn files(&self) -> &[FileMapping] {
        self.process.files()
    }

    fn aux(&self, key: u64) -> Option<u64> {
        self.process.aux(key)
    }
}

/// Why a thread could not be captured (it is left out, with this reason).
#[derive(Debug, Clone)]
pub struct Missed {
    /// The thread id.
    pub tid: i32,
    /// One line: exited, did not stop within [`STOP_TIMEOUT`]…
    pub why: String,
}

/// An attached thread; detached when dropped (with the signal it was stopped with, if any,
/// so that no signal is lost).
struct Seized {
    tid: i32,
    stopped: bool,
    inject: i32,
    interrupted_at: Option<Instant>,
}

impl Drop for Seized {
    fn drop(&mut self) {
        // SAFETY: plain system calls on a thread id; failure (the thread is gone) is harmless.
        unsafe {
            if !self.stopped {
                // Not in a ptrace stop: PTRACE_DETACH would fail with ESRCH. Interrupt it, wait
                // briefly, and detach; if it still does not stop, the kernel detaches it when
                // this process exits.
                libc::ptrace(libc::PTRACE_INTERRUPT, self.tid, 0, 0);
                if wait_stop(self, Duration::from_millis(100)).is_err() {
                    return;
                }
            }
            libc::ptrace(
                libc::PTRACE_DETACH,
                self.tid,
                0,
                self.inject as libc::c_long,
            );
        }
    }
}

/// `PTRACE_SEIZE` the thread (it runs on) and `PTRACE_INTERRUPT` it.
fn seize(pid: i32, tid: i32) -> std::result::Result<Seized, SeizeError> {
    // SAFETY: plain system call; no memory is passed.
    let r = unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, 0, 0) };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ESRCH) => SeizeError::Gone,
            // The kernel refuses to attach to a task in do_exit() with EPERM too.
            Some(libc::EPERM) if exiting(tid) => SeizeError::Gone,
            Some(libc::EPERM) => match tracer(tid) {
                Some((t, comm)) => SeizeError::Fatal(Error::Attach {
                    pid,
                    why: format!(
                        "it is already traced by pid {t} ({comm}); a thread has one tracer: \
                         detach the debugger first"
                    ),
                }),
                None => SeizeError::Fatal(Error::Attach {
                    pid,
                    why: format!("permission denied: {}", permission_hint()),
                }),
            },
            _ => SeizeError::Fatal(Error::Attach {
                pid,
                why: format!("PTRACE_SEIZE of thread {tid}: {e}"),
            }),
        });
    }
    let mut s = Seized {
        tid,
        stopped: false,
        inject: 0,
        interrupted_at: None,
    };
    s.interrupted_at = Some(Instant::now());
    // SAFETY: as above.
    if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0) } != 0 {
        return Err(SeizeError::Gone);
    }
    Ok(s)
}

enum SeizeError {
    /// The thread exited first.
    Gone,
    /// Attaching is not possible at all (permission, another tracer).
    Fatal(Error),
}

/// Wait until the seized thread is in a ptrace stop; records a signal to re-inject.
/// `Err(why)` when it exited or did not stop within `timeout`.
fn wait_stop(s: &mut Seized, timeout: Duration) -> std::result::Result<(), String> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer for the call.
        let r = unsafe { libc::waitpid(s.tid, &mut status, libc::__WALL | libc::WNOHANG) };
        if r == s.tid {
            if libc::WIFSTOPPED(status) {
                s.stopped = true;
                let sig = libc::WSTOPSIG(status);
                let event = (status >> 16) & 0xff;
                if event == 0 && sig != libc::SIGTRAP {
                    // A signal-delivery stop came first: deliver the signal on detach.
                    s.inject = sig;
                }
                return Ok(());
            }
            s.stopped = true; // exited: nothing to detach
            return Err("it exited".into());
        }
        if r < 0 {
            s.stopped = true;
            return Err("it exited".into());
        }
        if start.elapsed() >= timeout {
            return Err(format!(
                "it did not stop within {} ms (uninterruptible sleep in the kernel?)",
                timeout.as_millis()
            ));
        }
        // Most threads stop within microseconds once scheduled: yield the CPU to them for the
        // first 2 ms, then poll every 100 µs.
        if start.elapsed() < Duration::from_millis(2) {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
}

/// The task has exited, is exiting, or is gone.
fn exiting(tid: i32) -> bool {
    stat::read(Path::new("/proc"), tid).map_or(true, |s| s.has_exited())
}

/// The state letter of a thread.
fn thread_state(tid: i32) -> Option<char> {
    stat::read(Path::new("/proc"), tid).ok().map(|s| s.state)
}

fn thread_name(pid: i32, tid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

/// Registers and stack of a held thread.
fn take(
    process: &Process,
    s: &Seized,
) -> std::result::Result<(UserRegsX86_64, u64, Vec<u8>), String> {
    let mut regs = [0u64; 27];
    // SAFETY: PTRACE_GETREGS writes one `struct user_regs_struct` (27 u64 on x86-64) to the
    // buffer, which has exactly that size.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            s.tid,
            0,
            regs.as_mut_ptr() as *mut libc::c_void,
        )
    };
    if r != 0 {
        return Err(format!(
            "PTRACE_GETREGS: {}",
            std::io::Error::last_os_error()
        ));
    }
    let regs = UserRegsX86_64(regs);
    let sp = regs.0[UserRegsX86_64::RSP];
    let start = sp.saturating_sub(RED_ZONE);
    let mut stack = Vec::new();
    if let Some(end) = process.readable_end(sp) {
        let end = end.min(sp.saturating_add(STACK_COPY));
        let from = process.map_at(start).map_or(sp, |_| start);
        stack = vec![0u8; (end - from) as usize];
        if !process.read_live(from, &mut stack) {
            stack.clear();
        }
        return Ok((regs, from, stack));
    }
    Ok((regs, sp, stack))
}

/// Detach a held thread; how long it was held, microseconds.
fn release(s: Seized) -> u64 {
    let at = s.interrupted_at;
    drop(s);
    at.map_or(0, |t| t.elapsed().as_micros() as u64)
}

/// What was taken of a held thread: in `got`, or in `missed` with why.
fn keep(
    tid: i32,
    name: Option<String>,
    state: Option<char>,
    paused_us: u64,
    taken: std::result::Result<(UserRegsX86_64, u64, Vec<u8>), String>,
    got: &mut Vec<Captured>,
    missed: &mut Vec<Missed>,
) {
    match taken {
        Ok((regs, stack_start, stack)) => got.push(Captured {
            tid,
            name,
            state,
            regs,
            stack_start,
            stack,
            paused_us,
            was_stopped: state == Some('T'),
        }),
        Err(why) => missed.push(Missed { tid, why }),
    }
}

/// How the threads are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// One thread at a time: each is held only for its own registers and stack.
    EachThread,
    /// All threads at once, released together: the stacks are one consistent moment.
    AllThreads,
}

/// Capture every thread of `process` (listed from `/proc/PID/task` under `proc_root`).
///
/// Returns the captured threads (main thread first) and those left out with the reason (a
/// thread that exited in between, one that did not stop in time).
///
/// Errors: [`Error::Attach`] when attaching is refused (permission with what it needs, another
/// tracer), [`Error::Vanished`] when the process exits before any thread is captured.
pub fn capture(
    process: &Process,
    proc_root: &Path,
    hold: Hold,
) -> Result<(Vec<Captured>, Vec<Missed>)> {
    let mut tids = process.threads(proc_root)?;
    let mut got = Vec::new();
    let mut missed = Vec::new();
    if process.reader != process.pid {
        tids.retain(|&t| t != process.pid);
        missed.push(Missed {
            tid: process.pid,
            why: "the main thread has exited (pthread_exit) while the others run on".into(),
        });
    }
    let info = |tid: i32| (thread_name(process.pid, tid), thread_state(tid));
    match hold {
        Hold::EachThread => {
            for tid in tids {
                let (name, state) = info(tid);
                let mut s = match seize(process.pid, tid) {
                    Ok(s) => s,
                    Err(SeizeError::Gone) => {
                        missed.push(Missed {
                            tid,
                            why: "it exited before it could be attached".into(),
                        });
                        continue;
                    }
                    Err(SeizeError::Fatal(e)) => return Err(e),
                };
                if let Err(why) = wait_stop(&mut s, STOP_TIMEOUT) {
                    missed.push(Missed { tid, why });
                    continue;
                }
                let taken = take(process, &s);
                let paused_us = release(s);
                keep(tid, name, state, paused_us, taken, &mut got, &mut missed);
            }
        }
        Hold::AllThreads => {
            let mut held = Vec::new();
            for tid in tids {
                let (name, state) = info(tid);
                match seize(process.pid, tid) {
                    Ok(s) => held.push((s, name, state)),
                    Err(SeizeError::Gone) => missed.push(Missed {
                        tid,
                        why: "it exited before it could be attached".into(),
                    }),
                    Err(SeizeError::Fatal(e)) => return Err(e),
                }
            }
            let mut stopped = Vec::new();
            for (mut s, name, state) in held {
                match wait_stop(&mut s, STOP_TIMEOUT) {
                    Ok(()) => {
                        let taken = take(process, &s);
                        stopped.push((s, name, state, taken));
                    }
                    Err(why) => missed.push(Missed { tid: s.tid, why }),
                }
            }
            // Release all, noting how long each was held.
            let mut released = Vec::new();
            for (s, name, state, taken) in stopped {
                let tid = s.tid;
                let paused_us = release(s);
                released.push((tid, paused_us, name, state, taken));
            }
            for (tid, paused_us, name, state, taken) in released {
                keep(tid, name, state, paused_us, taken, &mut got, &mut missed);
            }
        }
    }
    if got.is_empty() && exiting(process.pid) {
        return Err(Error::Vanished {
            pid: process.pid,
            path: proc_root.join(process.pid.to_string()),
        });
    }
    Ok((got, missed))
}
