//! The stack unwinder: our own CFI stepper on gimli (`.eh_frame_hdr`/`.eh_frame` of the module
//! files, `.debug_frame` of the module or of its separate debug file), tracking every general-purpose register and
//! evaluating CFA and register expressions against the process's memory (a core's, or a live
//! process's through [`super::memory::AddressSpace`]). Signal frames: glibc's
//! `__restore_rt` unwinds through its own CFI (an FDE whose CIE has the `S` augmentation); any other
//! `rt_sigreturn` trampoline is recognised by its bytes and the interrupted registers are restored
//! from the `ucontext` on the stack. Without CFI: the frame-pointer chain, then a bounded stack scan
//! (low trust). Each frame records how it was found; each backtrace why it stopped.
//!
//! Registers use DWARF numbering (x86-64 psABI figure 3.36); [`Arch`] holds what differs between
//! architectures so that aarch64 can be added beside x86-64.

use gimli::{
    BaseAddresses, CfaRule, DebugFrame, EhFrame, EhFrameHdr, EndianSlice, LittleEndian,
    RegisterRule, UnwindContext, UnwindSection, UnwindTableRow,
};
use serde::Serialize;

use super::memory::AddressSpace;
use super::modules::{module_at, Image, Module};

mod cfi;

use cfi::cfi_step;
pub use cfi::{frame_pointer_frame, CachedRow};

/// How a frame was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The thread's registers in the core (frame 0).
    Context,
    /// Call frame information of the callee.
    Cfi,
    /// Restored from a signal frame (the registers the signal interrupted).
    Signal,
    /// The frame-pointer chain (no CFI for the callee).
    Fp,
    /// A return address found by scanning the stack: low trust.
    Scan,
}

/// What differs between architectures: register count and the numbers of the stack pointer,
/// the frame pointer and the return-address column, in DWARF numbering.
#[derive(Debug, Clone, Copy)]
pub struct Arch {
    /// How many DWARF registers the unwinder tracks (the size of [`Regs`]).
    pub regs: usize,
    /// DWARF number of the stack pointer (7, rsp, on x86-64).
    pub sp: usize,
    /// DWARF number of the frame pointer (6, rbp, on x86-64).
    pub fp: usize,
    /// DWARF number of the return-address column (16, rip, on x86-64).
    pub ra: usize,
}

/// x86-64: 0 rax … 7 rsp, 8–15 r8–r15, 16 the return address (rip).
pub const X86_64: Arch = Arch {
    regs: 17,
    sp: 7,
    fp: 6,
    ra: 16,
};

/// Register values of one frame; `None` where unknown.
pub type Regs = [Option<u64>; 17];

/// One physical frame.
#[derive(Debug, Clone)]
pub struct RawFrame {
    /// The pc: exact for frame 0 and frames interrupted by a signal, else the return address.
    pub pc: u64,
    /// Whether `pc` is exact (look it up as is) or a return address (look up pc − 1).
    pub exact: bool,
    /// How this frame's registers were recovered from its callee's.
    pub method: Method,
    /// The stack pointer of this frame.
    pub sp: Option<u64>,
    /// This frame is a signal trampoline (`__restore_rt` or the `rt_sigreturn` bytes).
    pub signal_trampoline: bool,
}

impl RawFrame {
    /// The address to look up for symbols and CFI.
    pub fn lookup_pc(&self) -> u64 {
        if self.exact {
            self.pc
        } else {
            self.pc.saturating_sub(1)
        }
    }
}

/// A thread's physical frames and why the unwinding stopped.
#[derive(Debug, Clone)]
pub struct Unwound {
    /// The physical frames, innermost first (at most [`MAX_FRAMES`]).
    pub frames: Vec<RawFrame>,
    /// Why unwinding stopped: `outermost frame …` is the normal end at `_start`/`clone3`.
    pub stop_reason: String,
}

/// Limits of one unwind.
pub const MAX_FRAMES: usize = 1024;
/// Words scanned above the stack pointer when nothing else finds the caller.
pub const SCAN_WORDS: u64 = 512;

/// `mov $15, %rax; syscall` — the x86-64 `rt_sigreturn` trampoline (glibc's `__restore_rt`, the
/// kernel's vDSO-less restorer, musl's `__restore_rt`).
const RT_SIGRETURN_X86_64: [u8; 9] = [0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05];

/// Offset of `uc_mcontext` in `struct ucontext` (uc_flags, uc_link, uc_stack) on x86-64, and the
/// DWARF register of each `gregs` slot of `struct sigcontext_64` (r8 … r15, rdi, rsi, rbp, rbx,
/// rdx, rax, rcx, rsp, rip): arch/x86/include/uapi/asm/sigcontext.h.
const MCONTEXT: u64 = 40;
const SIGCONTEXT_DWARF: [usize; 17] = [8, 9, 10, 11, 12, 13, 14, 15, 5, 4, 6, 3, 1, 0, 2, 7, 16];

type Slice<'a> = EndianSlice<'a, LittleEndian>;

#[allow(clippy::large_enum_variant)] // one lives for one step
enum Step {
    /// The caller's registers; `signal` when the callee was a signal trampoline.
    Next { regs: Regs, signal: bool },
    /// The callee's CFI says there is no caller (return address undefined).
    Outermost,
    /// No CFI covers the pc.
    NoInfo,
    /// CFI exists but could not be evaluated (memory not in the core, bad expression).
    Failed(String),
}

/// Evaluate a DWARF expression of the CFI (the CFA pushed first when given).
fn eval(
    core: &dyn AddressSpace,
    expr: gimli::Expression<Slice<'_>>,
    regs: &Regs,
    cfa: Option<u64>,
) -> Option<u64> {
    let enc = gimli::Encoding {
        address_size: 8,
        format: gimli::Format::Dwarf32,
        version: 4,
    };
    let mut e = expr.evaluation(enc);
    e.set_max_iterations(10_000);
    if let Some(c) = cfa {
        e.set_initial_value(c);
    }
    let mut r = e.evaluate().ok()?;
    loop {
        r = match r {
            gimli::EvaluationResult::Complete => break,
            gimli::EvaluationResult::RequiresRegister { register, .. } => {
                let v = (*regs.get(register.0 as usize)?)?;
                e.resume_with_register(gimli::Value::Generic(v)).ok()?
            }
            gimli::EvaluationResult::RequiresMemory { address, size, .. } => {
                let mut b = [0u8; 8];
                let n = (size as usize).min(8);
                if !core.read(address, &mut b[..n]) {
                    return None;
                }
                e.resume_with_memory(gimli::Value::Generic(u64::from_le_bytes(b)))
                    .ok()?
            }
            gimli::EvaluationResult::RequiresRelocatedAddress(a) => {
                e.resume_with_relocated_address(a).ok()?
            }
            _ => return None,
        };
    }
    let pieces = e.result();
    match pieces.first()?.location {
        gimli::Location::Address { address } => Some(address),
        gimli::Location::Value { value } => value.to_u64(!0).ok(),
        _ => None,
    }
}

/// Apply one CFI row to the callee's registers.
fn apply_row<'a, S: UnwindSection<Slice<'a>>>(
    core: &dyn AddressSpace,
    section: &S,
    row: &UnwindTableRow<usize>,
    regs: &Regs,
) -> Step {
    let cfa = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } => {
            match regs.get(register.0 as usize).copied().flatten() {
                Some(v) => v.wrapping_add(*offset as u64),
                None => return Step::Failed(format!("CFA register {} unknown", register.0)),
            }
        }
        CfaRule::Expression(x) => match x.get(section).ok().and_then(|x| eval(core, x, regs, None))
        {
            Some(v) => v,
            None => return Step::Failed("CFA expression could not be evaluated".into()),
        },
    };
    // Registers without a rule keep their value (as gdb assumes); the stack pointer is the CFA.
    let mut next = *regs;
    next[X86_64.sp] = Some(cfa);
    let mut ra_rule_seen = false;
    for (reg, rule) in row.registers() {
        let i = reg.0 as usize;
        if i >= X86_64.regs {
            continue;
        }
        if i == X86_64.ra {
            ra_rule_seen = true;
        }
        next[i] = match rule {
            RegisterRule::Undefined => None,
            RegisterRule::SameValue => regs[i],
            RegisterRule::Offset(n) => core.read_u64(cfa.wrapping_add(*n as u64)),
            RegisterRule::ValOffset(n) => Some(cfa.wrapping_add(*n as u64)),
            RegisterRule::Register(r) => regs.get(r.0 as usize).copied().flatten(),
            RegisterRule::Expression(x) => x
                .get(section)
                .ok()
                .and_then(|x| eval(core, x, regs, Some(cfa)))
                .and_then(|a| core.read_u64(a)),
            RegisterRule::ValExpression(x) => x
                .get(section)
                .ok()
                .and_then(|x| eval(core, x, regs, Some(cfa))),
            RegisterRule::Constant(c) => Some(*c),
            _ => None,
        };
    }
    // gimli keeps no entry for a register whose rule is `DW_CFA_undefined`: a row without a
    // return-address rule is the outermost frame (`_start`, `clone3` mark it so).
    if !ra_rule_seen {
        return Step::Outermost;
    }
    if next[X86_64.ra].is_none() {
        return Step::Failed(format!(
            "the return address could not be read (stack memory at {cfa:#x} not in the core?)"
        ));
    }
    Step::Next {
        regs: next,
        signal: false,
    }
}

/// Registers restored from the `ucontext` of a signal frame whose trampoline is at `sp`.
fn sigcontext_regs(core: &dyn AddressSpace, sp: u64) -> Option<Regs> {
    let mut next: Regs = [None; 17];
    for (slot, &dw) in SIGCONTEXT_DWARF.iter().enumerate() {
        next[dw] = Some(core.read_u64(sp.wrapping_add(MCONTEXT + slot as u64 * 8))?);
    }
    Some(next)
}

/// Code bytes at an absolute address: from the module's file, else from the core.
fn code_at(core: &dyn AddressSpace, modules: &[Module], addr: u64, len: usize) -> Option<Vec<u8>> {
    if let Some(m) = module_at(modules, addr) {
        if let Some(img) = &m.image {
            if let Some(b) = img.code(addr.wrapping_sub(m.load_bias), len) {
                return Some(b.to_vec());
            }
        }
    }
    let mut b = vec![0u8; len];
    core.read(addr, &mut b).then_some(b)
}

/// Whether `addr` is in executable code of a known module.
fn is_code(core: &dyn AddressSpace, modules: &[Module], addr: u64) -> bool {
    match module_at(modules, addr) {
        Some(m) => match &m.image {
            Some(img) => img.is_code(addr.wrapping_sub(m.load_bias)),
            None => core.is_executable(addr),
        },
        None => false,
    }
}

/// Whether the instruction just before `ra` is a call (`e8 rel32`, or `ff /2` in its 2- to
/// 7-byte forms): a plausible return address.
fn follows_call(core: &dyn AddressSpace, modules: &[Module], ra: u64) -> bool {
    let Some(b) = ra.checked_sub(7).and_then(|a| code_at(core, modules, a, 7)) else {
        return false;
    };
    if b[2] == 0xe8 {
        return true;
    }
    (2..=7).any(|n| {
        let i = 7 - n;
        b[i] == 0xff && (b[i + 1] >> 3) & 7 == 2
    })
}

/// Unwind one thread from its registers (DWARF numbering).
pub fn unwind(core: &dyn AddressSpace, modules: &[Module], regs: Regs) -> Unwound {
    let mut ctx: Box<UnwindContext<usize>> = Box::new(UnwindContext::new());
    let mut frames = Vec::new();
    let mut regs = regs;
    let mut method = Method::Context;
    let mut exact = true;
    let mut seen = std::collections::HashSet::new();
    let stop_reason;
    loop {
        let Some(pc) = regs[X86_64.ra] else {
            stop_reason = "the pc is unknown".to_string();
            break;
        };
        let sp = regs[X86_64.sp];
        if frames.len() >= MAX_FRAMES {
            stop_reason = format!("stopped after {MAX_FRAMES} frames");
            break;
        }
        if !seen.insert((pc, sp)) {
            stop_reason = format!("cycle: frame {pc:#x} with the same stack pointer seen before");
            break;
        }
        let mut frame = RawFrame {
            pc,
            exact,
            method,
            sp,
            signal_trampoline: false,
        };
        // A signal trampoline is looked up at its exact pc (the handler "returns" to its first
        // instruction), as gdb does for SIGTRAMP frames.
        let trampoline = code_at(core, modules, pc, RT_SIGRETURN_X86_64.len()).as_deref()
            == Some(&RT_SIGRETURN_X86_64[..]);
        if trampoline {
            frame.exact = true;
            frame.signal_trampoline = true;
        }
        let lookup = frame.lookup_pc();
        let module = module_at(modules, lookup);
        let mut step = match module.and_then(|m| m.image.as_ref().map(|i| (m, i))) {
            Some((m, img)) => {
                cfi_step(core, img, lookup.wrapping_sub(m.load_bias), &regs, &mut ctx)
            }
            None => Step::NoInfo,
        };
        // A trampoline without CFI (or one whose CFI we could not use): the rt_sigreturn bytes.
        if trampoline {
            match step {
                Step::Next { regs, .. } => {
                    step = Step::Next { regs, signal: true };
                }
                _ => {
                    if let Some(r) = sp.and_then(|sp| sigcontext_regs(core, sp)) {
                        step = Step::Next {
                            regs: r,
                            signal: true,
                        };
                    }
                }
            }
        }
        let (next, next_method, next_exact) = match step {
            Step::Next { regs: n, signal } => {
                frame.signal_trampoline |= signal;
                if signal {
                    (n, Method::Signal, true)
                } else {
                    (n, Method::Cfi, false)
                }
            }
            Step::Outermost => {
                frames.push(frame);
                stop_reason = "outermost frame (its CFI marks the return address undefined)".into();
                break;
            }
            Step::NoInfo | Step::Failed(_) => {
                let why = match &step {
                    Step::Failed(w) => w.clone(),
                    _ if module.is_none() => format!("pc {pc:#x} is in no known module"),
                    _ => format!(
                        "no CFI for {pc:#x} in {}",
                        module.map_or("?", |m| m.path.as_str())
                    ),
                };
                match fallback(core, modules, &regs, frames.is_empty()) {
                    Some((n, m)) => (n, m, false),
                    None => {
                        frames.push(frame);
                        stop_reason = format!("{why}; no frame pointer or return address found");
                        break;
                    }
                }
            }
        };
        let old_sp = frame.sp;
        let was_signal = frame.signal_trampoline;
        frames.push(frame);
        match next[X86_64.ra] {
            None => {
                stop_reason = "the return address is unknown".into();
                break;
            }
            Some(0) => {
                stop_reason = "end of stack (return address 0)".into();
                break;
            }
            Some(_) => {}
        }
        if !was_signal {
            if let (Some(a), Some(b)) = (old_sp, next[X86_64.sp]) {
                if b <= a && next_method != Method::Signal {
                    stop_reason =
                        format!("the stack pointer did not grow ({a:#x} -> {b:#x}): corrupt stack");
                    break;
                }
            }
        }
        regs = next;
        method = next_method;
        exact = next_exact;
    }
    Unwound {
        frames,
        stop_reason,
    }
}

/// Without usable CFI: at frame 0 with a pc outside any code (a call through a bad pointer), the
/// return address is at the stack pointer; otherwise the frame-pointer chain; otherwise a bounded
/// scan for a word that points just after a call instruction.
fn fallback(
    core: &dyn AddressSpace,
    modules: &[Module],
    regs: &Regs,
    innermost: bool,
) -> Option<(Regs, Method)> {
    let sp = regs[X86_64.sp]?;
    let pc = regs[X86_64.ra]?;
    if innermost && !is_code(core, modules, pc) {
        let ra = core.read_u64(sp)?;
        if is_code(core, modules, ra) {
            let mut n = *regs;
            n[X86_64.ra] = Some(ra);
            n[X86_64.sp] = Some(sp.wrapping_add(8));
            return Some((n, Method::Scan));
        }
    }
    if let Some(fp) = regs[X86_64.fp] {
        if fp >= sp && fp - sp < (64 << 20) && fp % 8 == 0 {
            if let (Some(ra), Some(caller_fp)) =
                (core.read_u64(fp.wrapping_add(8)), core.read_u64(fp))
            {
                if is_code(core, modules, ra) {
                    let mut n = *regs;
                    n[X86_64.ra] = Some(ra);
                    n[X86_64.sp] = Some(fp.wrapping_add(16));
                    n[X86_64.fp] = Some(caller_fp);
                    return Some((n, Method::Fp));
                }
            }
        }
    }
    for i in 0..SCAN_WORDS {
        let slot = sp.wrapping_add(i * 8);
        let Some(v) = core.read_u64(slot) else {
            break;
        };
        if is_code(core, modules, v) && follows_call(core, modules, v) {
            let mut n = *regs;
            n[X86_64.ra] = Some(v);
            n[X86_64.sp] = Some(slot.wrapping_add(8));
            return Some((n, Method::Scan));
        }
    }
    None
}
