//! Decoders for the notes of a Linux ELF core dump (x86-64 layouts). Each takes the note's
//! descriptor bytes exactly as the kernel wrote them and returns a typed value, or
//! [`NoteError`] when the descriptor is too short or inconsistent; none of them panics on any
//! input (they are fuzzed: `fuzz/fuzz_targets/core_notes.rs`).
//!
//! Layouts: `include/uapi/linux/elfcore.h` (`struct elf_prstatus`, `struct elf_prpsinfo`),
//! `arch/x86/include/asm/user_64.h` (`struct user_regs_struct`), `include/uapi/asm-generic/siginfo.h`
//! (`siginfo_t`), and `fs/binfmt_elf.c` (`fill_files_note` writes NT_FILE, `fill_auxv_note`
//! NT_AUXV).

use serde::Serialize;

/// `NT_PRSTATUS`: one per thread, the dumping (crashing) thread first.
pub const NT_PRSTATUS: u32 = 1;
/// `NT_PRPSINFO`: the process (command name, arguments).
pub const NT_PRPSINFO: u32 = 3;
/// `NT_AUXV`: the auxiliary vector.
pub const NT_AUXV: u32 = 6;
/// `NT_SIGINFO` ("CORE" name, 0x53494749): the signal that caused the dump.
pub const NT_SIGINFO: u32 = 0x5349_4749;
/// `NT_FILE` ("CORE" name, 0x46494c45): the file-backed mappings.
pub const NT_FILE: u32 = 0x4649_4c45;

/// `AT_PHDR`: address of the executable's program headers.
pub const AT_PHDR: u64 = 3;
/// `AT_ENTRY`: the executable's entry point.
pub const AT_ENTRY: u64 = 9;
/// `AT_SYSINFO_EHDR`: address of the vDSO's ELF header.
pub const AT_SYSINFO_EHDR: u64 = 33;
/// `AT_EXECFN`: address of the file name given to execve.
pub const AT_EXECFN: u64 = 31;

/// What is wrong with a note descriptor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{note}: {msg}")]
pub struct NoteError {
    /// The note type, e.g. "NT_PRSTATUS".
    pub note: &'static str,
    /// What is wrong with it, e.g. its size against the layout's.
    pub msg: String,
}

fn err(note: &'static str, msg: impl Into<String>) -> NoteError {
    NoteError {
        note,
        msg: msg.into(),
    }
}

fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(off..off + 2)?.try_into().ok()?))
}
fn i32_at(d: &[u8], off: usize) -> Option<i32> {
    Some(i32::from_le_bytes(d.get(off..off + 4)?.try_into().ok()?))
}
fn u64_at(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(off..off + 8)?.try_into().ok()?))
}

/// A C string in a fixed-size field: up to the first NUL, lossily decoded.
fn c_string(d: &[u8]) -> String {
    let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
    String::from_utf8_lossy(&d[..end]).into_owned()
}

/// The general-purpose registers of an x86-64 thread, in `struct user_regs_struct` order
/// (r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs,
/// eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserRegsX86_64(pub [u64; 27]);

impl UserRegsX86_64 {
    /// Index of `rbp` (the frame pointer) in `user_regs_struct`.
    pub const RBP: usize = 4;
    /// Index of `rbx` in `user_regs_struct`.
    pub const RBX: usize = 5;
    /// Index of `rax` in `user_regs_struct`.
    pub const RAX: usize = 10;
    /// Index of `rip` (the program counter) in `user_regs_struct`.
    pub const RIP: usize = 16;
    /// Index of `rsp` (the stack pointer) in `user_regs_struct`.
    pub const RSP: usize = 19;

    /// The registers in DWARF numbering (System V x86-64 psABI, figure 3.36): 0 rax, 1 rdx,
    /// 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8–15 r8–r15, 16 the return address (rip).
    pub fn to_dwarf(&self) -> [u64; 17] {
        let r = &self.0;
        [
            r[10], r[12], r[11], r[5], r[13], r[14], r[4], r[19], r[9], r[8], r[7], r[6], r[3],
            r[2], r[1], r[0], r[16],
        ]
    }
}

/// `NT_PRSTATUS` of one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrStatus {
    /// The signal the thread stopped with (`pr_cursig`); 0 for threads that were not signalled.
    pub cursig: u16,
    /// The thread id (LWP).
    pub pid: i32,
    /// The thread's general-purpose registers when it stopped (`pr_reg`).
    pub regs: UserRegsX86_64,
}

/// Size of `struct elf_prstatus` on x86-64.
pub const PRSTATUS_SIZE: usize = 336;
const PR_REG_OFFSET: usize = 112;

/// Decode `NT_PRSTATUS` (x86-64, 336 bytes).
///
/// Errors: the descriptor is shorter than `struct elf_prstatus`.
pub fn prstatus(desc: &[u8]) -> Result<PrStatus, NoteError> {
    if desc.len() < PR_REG_OFFSET + 27 * 8 {
        return Err(err(
            "NT_PRSTATUS",
            format!(
                "{} bytes, x86-64 elf_prstatus has {PRSTATUS_SIZE}",
                desc.len()
            ),
        ));
    }
    let mut regs = [0u64; 27];
    for (i, r) in regs.iter_mut().enumerate() {
        *r = u64_at(desc, PR_REG_OFFSET + i * 8).unwrap_or(0);
    }
    Ok(PrStatus {
        cursig: u16_at(desc, 12).unwrap_or(0),
        pid: i32_at(desc, 32).unwrap_or(0),
        regs: UserRegsX86_64(regs),
    })
}

/// `NT_PRPSINFO`: the process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrPsInfo {
    /// `pr_pid`: the process id.
    pub pid: i32,
    /// `pr_ppid`: the parent's process id.
    pub ppid: i32,
    /// `pr_uid`: the real user id.
    pub uid: u32,
    /// `pr_fname`: the command name (at most 15 bytes, as in /proc/PID/comm).
    pub fname: String,
    /// `pr_psargs`: the start of the command line, arguments separated by spaces (at most 80
    /// bytes).
    pub psargs: String,
}

/// Decode `NT_PRPSINFO` (x86-64, 136 bytes).
///
/// Errors: the descriptor is shorter than `struct elf_prpsinfo`.
pub fn prpsinfo(desc: &[u8]) -> Result<PrPsInfo, NoteError> {
    if desc.len() < 136 {
        return Err(err(
            "NT_PRPSINFO",
            format!("{} bytes, x86-64 elf_prpsinfo has 136", desc.len()),
        ));
    }
    Ok(PrPsInfo {
        uid: i32_at(desc, 16).unwrap_or(0) as u32,
        pid: i32_at(desc, 24).unwrap_or(0),
        ppid: i32_at(desc, 28).unwrap_or(0),
        fname: c_string(&desc[40..56]),
        psargs: c_string(&desc[56..136]).trim_end().to_string(),
    })
}

/// `NT_SIGINFO`: the signal that made the kernel dump core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SigInfo {
    /// `si_signo`: the signal number (11 for SIGSEGV).
    pub signo: i32,
    /// `si_errno`: an errno value the signal carries; usually 0.
    pub errno: i32,
    /// `si_code`: > 0 for a fault the kernel raised (e.g. SEGV_MAPERR 1), ≤ 0 for a signal a
    /// process sent (SI_USER 0, SI_TKILL −6).
    pub code: i32,
    /// `si_addr` for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGTRAP raised by the kernel (`code` >
    /// 0); the faulting address.
    pub fault_address: Option<u64>,
    /// `si_pid` for a signal sent by a process (`code` ≤ 0).
    pub sender_pid: Option<i32>,
}

/// Decode `NT_SIGINFO` (`siginfo_t`, 128 bytes; the first 24 are read).
///
/// Errors: fewer than 24 bytes.
pub fn siginfo(desc: &[u8]) -> Result<SigInfo, NoteError> {
    let (Some(signo), Some(errno), Some(code), Some(word)) = (
        i32_at(desc, 0),
        i32_at(desc, 4),
        i32_at(desc, 8),
        u64_at(desc, 16),
    ) else {
        return Err(err(
            "NT_SIGINFO",
            format!("{} bytes, siginfo_t has 128", desc.len()),
        ));
    };
    let fault = matches!(signo, 4 | 5 | 7 | 8 | 11) && code > 0;
    Ok(SigInfo {
        signo,
        errno,
        code,
        fault_address: fault.then_some(word),
        sender_pid: (code <= 0).then(|| i32_at(desc, 16).unwrap_or(0)),
    })
}

/// Decode `NT_AUXV`: (type, value) pairs up to `AT_NULL`.
///
/// Errors: the length is not a multiple of 16 bytes.
pub fn auxv(desc: &[u8]) -> Result<Vec<(u64, u64)>, NoteError> {
    if !desc.len().is_multiple_of(16) {
        return Err(err(
            "NT_AUXV",
            format!(
                "{} bytes, not a whole number of 16-byte entries",
                desc.len()
            ),
        ));
    }
    let mut out = Vec::new();
    for c in desc.chunks_exact(16) {
        let (Some(k), Some(v)) = (u64_at(c, 0), u64_at(c, 8)) else {
            break;
        };
        if k == 0 {
            break;
        }
        out.push((k, v));
    }
    Ok(out)
}

/// One entry of `NT_FILE`: a file-backed mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileMapping {
    /// Start address (bytes).
    pub start: u64,
    /// End address, exclusive (bytes).
    pub end: u64,
    /// Offset in the file (bytes; the note stores pages).
    pub offset: u64,
    /// The path as the kernel printed it (`d_path`), " (deleted)" included.
    pub path: String,
}

/// Decode `NT_FILE`: `count`, `page_size`, `count` × (start, end, page offset), then `count`
/// NUL-terminated paths.
///
/// Errors: the header, the table or the names are cut short, or the count cannot fit.
pub fn file(desc: &[u8]) -> Result<Vec<FileMapping>, NoteError> {
    let (Some(count), Some(page)) = (u64_at(desc, 0), u64_at(desc, 8)) else {
        return Err(err("NT_FILE", "shorter than its 16-byte header"));
    };
    let table_end = count
        .checked_mul(24)
        .and_then(|n| n.checked_add(16))
        .filter(|&n| n <= desc.len() as u64)
        .ok_or_else(|| {
            err(
                "NT_FILE",
                format!("{count} entries do not fit in {} bytes", desc.len()),
            )
        })? as usize;
    let mut names = desc[table_end..].split(|&b| b == 0);
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count as usize {
        let o = 16 + i * 24;
        let (Some(start), Some(end), Some(pgoff)) =
            (u64_at(desc, o), u64_at(desc, o + 8), u64_at(desc, o + 16))
        else {
            return Err(err("NT_FILE", "entry table cut short"));
        };
        let Some(name) = names.next() else {
            return Err(err("NT_FILE", format!("{count} entries but fewer names")));
        };
        if end < start {
            return Err(err(
                "NT_FILE",
                format!("entry {i}: end {end:#x} before start {start:#x}"),
            ));
        }
        out.push(FileMapping {
            start,
            end,
            offset: pgoff.saturating_mul(page),
            path: String::from_utf8_lossy(name).into_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_note_round_trip_and_truncation() {
        let mut d = Vec::new();
        for v in [2u64, 4096, 0x1000, 0x3000, 0, 0x5000, 0x6000, 2] {
            d.extend_from_slice(&v.to_le_bytes());
        }
        d.extend_from_slice(b"/bin/a\0/lib/b (deleted)\0");
        let f = file(&d).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].offset, 0x2000);
        assert_eq!(f[1].path, "/lib/b (deleted)");
        for cut in 0..d.len() - 1 {
            // Never a panic; short names or tables are errors.
            let _ = file(&d[..cut]);
        }
        assert!(file(&d[..30]).is_err());
        let mut huge = d.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(file(&huge).is_err());
    }

    #[test]
    fn short_descriptors_are_errors() {
        assert!(prstatus(&[0; 100]).is_err());
        assert!(prpsinfo(&[0; 100]).is_err());
        assert!(siginfo(&[0; 10]).is_err());
        assert!(auxv(&[0; 17]).is_err());
        assert_eq!(auxv(&[0; 32]).unwrap(), vec![]);
    }
}
