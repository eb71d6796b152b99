//! The SIGBUS guard of [`super::Map`]: a file that shrinks while it is mapped makes every read
//! past its new end fault with SIGBUS (mmap(2), "SIGBUS: attempted access to a portion of the
//! buffer that does not correspond to the file"), which would kill the process with no message.
//!
//! One process-wide handler (`sigaction(2)` with `SA_SIGINFO | SA_ONSTACK`, installed the first
//! time a file is mapped) looks the fault address (`si_addr`) up in a fixed registry of the live
//! mappings. When it is inside one, the handler maps anonymous zero pages over the rest of that
//! mapping (`mmap(MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS)`, from the faulting page to the
//! mapping's end), marks the mapping faulted and returns: the read goes on, on zeros, and the
//! owner must ask [`super::Map::faulted`] / [`super::Map::check`] before it trusts anything it
//! read. A SIGBUS anywhere else (a real bug) restores the default action and re-raises, so it
//! still kills the process with its core.
//!
//! The handler allocates nothing and takes no lock: the registry is a static array of slots of
//! atomics, each published under a sequence counter (a seqlock: odd while its range is being
//! written), so a slot being reused by another thread is skipped, never misread. The one call it
//! makes, `mmap`, is a plain system call on Linux (as the JVM's and Go's fault handlers rely on);
//! `errno` is saved and restored around it.
//!
//! A mapping registers after `mmap` and unregisters before `munmap`, so a registered range is
//! always mapped by its owner.
//!
//! A parser that meets the zeros may panic (addr2line unwraps an abbreviation it indexed a
//! moment before, now read as code 0). [`quiet_while`] marks a read of one mapping on this
//! thread: the panic hook, wrapped once when the handler is installed, stays silent for a panic
//! raised there after that mapping faulted, so its owner can turn it into the "shrank" error;
//! every other panic is printed by the previous hook as before.

use std::cell::Cell;
use std::io;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// Live mappings that can be guarded at once (a core's modules, their debug files, logs).
pub(super) const SLOTS: usize = 4096;

struct Slot {
    /// Claimed by a live mapping.
    used: AtomicBool,
    /// Seqlock counter over `start`/`len`: odd while they are written.
    seq: AtomicUsize,
    /// First byte of the mapping (page-aligned, as `mmap` returns it).
    start: AtomicUsize,
    /// Bytes mapped; 0 for a free slot.
    len: AtomicUsize,
    /// A fault in the range was repaired with zero pages.
    faulted: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    used: AtomicBool::new(false),
    seq: AtomicUsize::new(0),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faulted: AtomicBool::new(false),
};

static REGISTRY: [Slot; SLOTS] = [FREE; SLOTS];
/// This machine's page size, read before the handler is installed (`sysconf` is not
/// async-signal-safe).
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();
/// The handler could not be installed (`sigaction` failed): mappings are unguarded.
static INSTALL_FAILED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The slot whose read [`quiet_while`] is running on this thread.
    static READING: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Run `f` with a panic raised in it after `g`'s mapping faulted kept quiet (see the module
/// docs); the caller catches the unwind.
pub(super) fn quiet_while<T>(g: &Guard, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            READING.with(|r| r.set(self.0));
        }
    }
    let _restore = Restore(READING.with(|r| r.replace(Some(g.slot))));
    f()
}

/// A registered range; unregistered on drop.
pub(super) struct Guard {
    slot: usize,
}

impl Guard {
    /// Register `[start, start + len)` (installing the handler the first time).
    ///
    /// Errors: every slot is taken ([`SLOTS`] files mapped at once), or the handler could not
    /// be installed.
    pub(super) fn register(start: usize, len: usize) -> io::Result<Guard> {
        install();
        if INSTALL_FAILED.load(Ordering::Relaxed) {
            return Err(io::Error::other(
                "cannot install the SIGBUS handler that guards mapped files",
            ));
        }
        for (i, s) in REGISTRY.iter().enumerate() {
            if s.used
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                write(s, start, len);
                s.faulted.store(false, Ordering::SeqCst);
                return Ok(Guard { slot: i });
            }
        }
        Err(io::Error::other(format!(
            "more than {SLOTS} files are mapped at once"
        )))
    }

    /// Whether a read of the range faulted and was answered with zeros.
    pub(super) fn faulted(&self) -> bool {
        REGISTRY[self.slot].faulted.load(Ordering::SeqCst)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let s = &REGISTRY[self.slot];
        write(s, 0, 0);
        s.used.store(false, Ordering::Release);
    }
}

/// Publish `start`/`len` in `s` under its sequence counter.
fn write(s: &Slot, start: usize, len: usize) {
    let q = s.seq.load(Ordering::Relaxed);
    s.seq.store(q.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    s.start.store(start, Ordering::Relaxed);
    s.len.store(len, Ordering::Relaxed);
    s.seq.store(q.wrapping_add(2), Ordering::Release);
}

/// The registered slot whose range holds `addr` (async-signal-safe: atomics only).
fn find(addr: usize) -> Option<(&'static Slot, usize, usize)> {
    for s in &REGISTRY {
        let q1 = s.seq.load(Ordering::Acquire);
        if q1 % 2 == 1 {
            continue; // being written: not the faulting mapping, whose slot is stable
        }
        let start = s.start.load(Ordering::Relaxed);
        let len = s.len.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if s.seq.load(Ordering::Relaxed) != q1 {
            continue;
        }
        if len > 0 && addr >= start && addr - start < len {
            return Some((s, start, len));
        }
    }
    None
}

fn install() {
    INSTALL.call_once(|| {
        PAGE.store(crate::base::page::size() as usize, Ordering::Relaxed);
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler has
        // the SA_SIGINFO signature and is async-signal-safe (see the module docs).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) != 0 {
                INSTALL_FAILED.store(true, Ordering::Relaxed);
            }
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let quiet = READING
                .try_with(Cell::get)
                .ok()
                .flatten()
                .is_some_and(|slot| REGISTRY[slot].faulted.load(Ordering::SeqCst));
            if !quiet {
                previous(info);
            }
        }));
    });
}

/// The SIGBUS handler (see the module docs).
extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler; everything below is
    // atomics, `mmap`, `sigaction` and `raise`, all plain system calls.
    unsafe {
        let errno = *libc::__errno_location();
        let addr = if info.is_null() {
            0
        } else {
            (*info).si_addr() as usize
        };
        if let Some((slot, start, len)) = find(addr) {
            let page = PAGE.load(Ordering::Relaxed);
            let from = addr & !(page - 1);
            let end = (start + len).div_ceil(page) * page;
            let r = libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            );
            if r != libc::MAP_FAILED {
                slot.faulted.store(true, Ordering::SeqCst);
                *libc::__errno_location() = errno;
                return;
            }
        }
        // Not a mapped file of ours (or it could not be repaired): the default action, so a
        // real bug still dies with SIGBUS. The signal is blocked while we run: it is delivered
        // as soon as we return.
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
        libc::raise(sig);
        *libc::__errno_location() = errno;
    }
}
