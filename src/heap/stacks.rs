//! The stacks of sampled allocations: a frame-pointer stack from the kernel's stack map, or a
//! copy of the registers and the top of the user stack unwound here with the CFI unwinder
//! ([`crate::coredump::unwind`]) over a [`Snapshot`]. Either is cut where it stops being
//! trustworthy, and marked truncated with the reason, rather than given a wrong caller.

use crate::coredump::live::Process;
use crate::coredump::memory::AddressSpace;
use crate::coredump::modules::Module;
use crate::coredump::notes::FileMapping;
use crate::coredump::unwind::{self, Method, RawFrame, Unwound};

use super::bpf::Alloc;

/// A sampled allocation's copied stack over the live process's file-backed mappings (code,
/// read-only data). Reads of anything else fail: the process has run on since the copy, so
/// its stack beyond the copy, and its heap, are not what they were.
pub struct Snapshot<'a> {
    process: &'a Process,
    start: u64,
    bytes: &'a [u8],
}

impl<'a> Snapshot<'a> {
    /// The stack bytes `bytes` copied from address `start` of `process`.
    pub fn new(process: &'a Process, start: u64, bytes: &'a [u8]) -> Snapshot<'a> {
        Snapshot {
            process,
            start,
            bytes,
        }
    }

    fn file_backed(&self, addr: u64, len: u64) -> bool {
        self.process
            .files()
            .iter()
            .any(|m| addr >= m.start && addr.saturating_add(len) <= m.end)
    }
}

impl AddressSpace for Snapshot<'_> {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let end = self.start + self.bytes.len() as u64;
        match addr.checked_add(buf.len() as u64) {
            Some(e) if addr >= self.start && e <= end => {
                let o = (addr - self.start) as usize;
                buf.copy_from_slice(&self.bytes[o..o + buf.len()]);
                true
            }
            Some(_) if self.file_backed(addr, buf.len() as u64) => self.process.read(addr, buf),
            _ => false,
        }
    }

    fn is_executable(&self, addr: u64) -> bool {
        self.process.is_executable(addr)
    }

    fn readable_end(&self, addr: u64) -> Option<u64> {
        let end = self.start + self.bytes.len() as u64;
        if addr >= self.start && addr < end {
            return Some(end);
        }
        self.file_backed(addr, 1)
            .then(|| self.process.readable_end(addr))
            .flatten()
    }

    fn files(&self) -> &[FileMapping] {
        self.process.files()
    }

    fn aux(&self, key: u64) -> Option<u64> {
        self.process.aux(key)
    }

    fn kind(&self) -> &'static str {
        "the stack copy"
    }
}

/// Unwind a sampled allocation's copied stack from its registers at the allocator's return.
/// Frame 0 is the allocator's caller at the return address (looked up at pc − 1).
pub fn unwind_copy(process: &Process, modules: &[Module], a: &Alloc<'_>) -> Unwound {
    let mut regs: unwind::Regs = [None; 17];
    let [ip, sp, bp, bx, r12, r13, r14, r15] = a.regs;
    regs[16] = Some(ip);
    regs[7] = Some(sp);
    regs[6] = Some(bp);
    regs[3] = Some(bx);
    regs[12] = Some(r12);
    regs[13] = Some(r13);
    regs[14] = Some(r14);
    regs[15] = Some(r15);
    let mem = Snapshot::new(process, sp, a.stack);
    let mut u = unwind::unwind(&mem, modules, regs);
    if let Some(f) = u.frames.first_mut() {
        f.exact = false;
    }
    u
}

/// A frame-pointer stack (return addresses, innermost first) as frames.
pub fn fp_frames(ips: &[u64]) -> Unwound {
    Unwound {
        frames: ips
            .iter()
            .map(|&pc| RawFrame {
                pc,
                exact: false,
                method: Method::Fp,
                sp: None,
                signal_trampoline: false,
            })
            .collect(),
        stop_reason: String::new(),
    }
}

/// The kernel's frame-pointer walk stops after this many frames (`PERF_MAX_STACK_DEPTH`).
pub const FP_MAX_FRAMES: usize = 127;

/// Cut `u` where its frames stop being trustworthy; the reason when it was cut or did not
/// reach the bottom of the stack as far as can be told before naming (`None`: complete so far).
///
/// - A frame-pointer stack: frame i's caller came from `%rbp`; that is right only where frame
///   i's CFI says the CFA is rbp + 16 ([`unwind::frame_pointer_frame`]). Where the CFI says
///   otherwise (code built with `-fomit-frame-pointer`), the rest is cut.
/// - A CFI stack: frames found by stack scanning, or by the frame-pointer chain where the
///   callee's CFI exists but could not be followed (the copy ended), are cut.
pub fn trust(u: &mut Unwound, modules: &[Module], fp: bool, copied: usize) -> Option<String> {
    let n = u.frames.len();
    for i in 0..n {
        let lookup = u.frames[i].lookup_pc();
        if fp {
            if i + 1 < n && unwind::frame_pointer_frame(modules, lookup) == Some(false) {
                u.frames.truncate(i + 1);
                return Some(
                    "the frame-pointer chain cannot be followed past this frame: its code keeps \
                     no frame pointer (built with -fomit-frame-pointer); --unwind cfi unwinds it"
                        .to_string(),
                );
            }
        } else if i > 0 {
            let m = u.frames[i].method;
            let callee = u.frames[i - 1].lookup_pc();
            let unsure = m == Method::Scan
                || (m == Method::Fp
                    && unwind::frame_pointer_frame(modules, callee).is_some_and(|t| !t));
            if unsure {
                u.frames.truncate(i);
                return Some(format!(
                    "the unwinder could not follow the CFI past this frame (the stack copy, \
                     {copied} bytes, ends before its caller's frame, or the caller's code is \
                     not mapped from a file)"
                ));
            }
        }
    }
    if fp {
        if n >= FP_MAX_FRAMES {
            return Some(format!(
                "the kernel's frame-pointer walk stops after {FP_MAX_FRAMES} frames"
            ));
        }
        return None;
    }
    let s = &u.stop_reason;
    if s.starts_with("outermost") || s.starts_with("end of stack") {
        None
    } else if s.contains("could not be read") {
        Some(format!(
            "the stack copy ({copied} bytes) ends before the next caller's frame: {s}"
        ))
    } else {
        Some(s.clone())
    }
}

/// The functions a thread's stack starts in: a stack that ends in one of them is complete.
pub const BOTTOM: &[&str] = &[
    "_start",
    "__libc_start_main",
    "__libc_start_main_impl",
    "__libc_start_call_main",
    "start_thread",
    "clone",
    "clone3",
    "__clone",
    "__clone3",
    "__GI___clone3",
    "__GI___clone",
];
