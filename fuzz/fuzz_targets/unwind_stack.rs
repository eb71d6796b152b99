//! The stepper's memory reads: a minimal valid x86-64 ELF core is built around the input and
//! given to `clw_diag::coredump::backtrace`. The core has one thread (`NT_PRSTATUS`, registers
//! from the input), an `NT_FILE` note that maps the real `/lib/x86_64-linux-gnu/libc.so.6` at
//! [`LIBC_BASE`] with its own segment layout, and one `PT_LOAD` of stack memory (the rest of the
//! input) at [`STACK_BASE`]. The core is read, its modules found and its thread unwound as
//! `clw_diag::coredump::backtrace` does, without the symbolization. The CFI stepper thus runs the real libc `.eh_frame` over arbitrary
//! stack contents, and the frame-pointer chain and the stack scan follow arbitrary words.
//!
//! Input layout:
//! - bytes 0..216: the 27 registers of `struct user_regs_struct` (little-endian u64);
//! - byte 216: mode bits: 1 = rip into libc's code (rip % code size), 2 = rsp into the stack
//!   segment, 4 = rbp into the stack segment, 8 = stack words whose top byte is 0xaa become
//!   addresses in libc's code (so the fp chain and the scan find return addresses);
//! - the rest: the stack memory at `STACK_BASE`.
#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use clw_diag::coredump::{core::Core, modules, unwind};
use libfuzzer_sys::fuzz_target;
use object::read::elf::{FileHeader, ProgramHeader};

const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";
const LIBC_BASE: u64 = 0x7f00_0000_0000;
const STACK_BASE: u64 = 0x7ffd_0000_0000;

const RBP: usize = 4;
const RIP: usize = 16;
const RSP: usize = 19;

struct Libc {
    /// NT_FILE entries: (start, end, page offset).
    maps: Vec<(u64, u64, u64)>,
    /// Executable segments at run time: (start, end).
    code: Vec<(u64, u64)>,
}

fn libc() -> &'static Libc {
    static L: OnceLock<Libc> = OnceLock::new();
    L.get_or_init(|| {
        let data = std::fs::read(LIBC).expect("read libc");
        let h = object::elf::FileHeader64::<object::Endianness>::parse(&*data).expect("libc ELF");
        let e = h.endian().unwrap();
        let mut maps = Vec::new();
        let mut code = Vec::new();
        for ph in h.program_headers(e, &*data).unwrap() {
            if ph.p_type(e) != object::elf::PT_LOAD {
                continue;
            }
            let (va, off, fsz) = (ph.p_vaddr(e), ph.p_offset(e), ph.p_filesz(e));
            let start = LIBC_BASE + (va & !0xfff);
            let end = (LIBC_BASE + va + fsz + 0xfff) & !0xfff;
            maps.push((start, end, off >> 12));
            if ph.p_flags(e) & object::elf::PF_X != 0 {
                code.push((LIBC_BASE + va, LIBC_BASE + va + ph.p_memsz(e)));
            }
        }
        assert!(!code.is_empty(), "libc has no executable segment");
        Libc { maps, code }
    })
}

fn in_code(l: &Libc, v: u64) -> u64 {
    let total: u64 = l.code.iter().map(|(a, b)| b - a).sum();
    let mut k = v % total;
    for (a, b) in &l.code {
        if k < b - a {
            return a + k;
        }
        k -= b - a;
    }
    unreachable!()
}

fn note(out: &mut Vec<u8>, ty: u32, desc: &[u8]) {
    out.extend_from_slice(&5u32.to_le_bytes());
    out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(b"CORE\0\0\0\0");
    out.extend_from_slice(desc);
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

fn phdr(
    out: &mut Vec<u8>,
    ty: u32,
    flags: u32,
    off: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
) {
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    for v in [off, vaddr, 0, filesz, memsz, align] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// The core file for one input.
fn build(data: &[u8]) -> Option<Vec<u8>> {
    let l = libc();
    let (regs_bytes, rest) = data.split_at_checked(27 * 8)?;
    let (&mode, stack_in) = rest.split_first()?;
    let mut regs = [0u64; 27];
    for (r, b) in regs.iter_mut().zip(regs_bytes.chunks_exact(8)) {
        *r = u64::from_le_bytes(b.try_into().unwrap());
    }
    let stack_len = stack_in.len().max(8) as u64;
    if mode & 1 != 0 {
        regs[RIP] = in_code(l, regs[RIP]);
    }
    if mode & 2 != 0 {
        regs[RSP] = STACK_BASE + regs[RSP] % stack_len;
    }
    if mode & 4 != 0 {
        regs[RBP] = STACK_BASE + regs[RBP] % stack_len;
    }
    let mut stack = stack_in.to_vec();
    if mode & 8 != 0 {
        for w in stack.chunks_exact_mut(8) {
            let v = u64::from_le_bytes(w.try_into().unwrap());
            if v >> 56 == 0xaa {
                w.copy_from_slice(&in_code(l, v & 0xff_ffff_ffff).to_le_bytes());
            }
        }
    }

    // Notes.
    let mut prstatus = vec![0u8; 336];
    prstatus[12..14].copy_from_slice(&11u16.to_le_bytes()); // pr_cursig SIGSEGV
    prstatus[32..36].copy_from_slice(&4242i32.to_le_bytes()); // pr_pid
    for (i, r) in regs.iter().enumerate() {
        prstatus[112 + i * 8..120 + i * 8].copy_from_slice(&r.to_le_bytes());
    }
    let mut file = Vec::new();
    file.extend_from_slice(&(l.maps.len() as u64).to_le_bytes());
    file.extend_from_slice(&4096u64.to_le_bytes());
    for (s, e, o) in &l.maps {
        for v in [s, e, o] {
            file.extend_from_slice(&v.to_le_bytes());
        }
    }
    for _ in &l.maps {
        file.extend_from_slice(LIBC.as_bytes());
        file.push(0);
    }
    let mut notes = Vec::new();
    note(&mut notes, 1, &prstatus);
    note(&mut notes, 0x4649_4c45, &file);

    // ELF header, 2 program headers, notes, stack (page-aligned).
    let ph_off = 64u64;
    let notes_off = ph_off + 2 * 56;
    let stack_off = (notes_off + notes.len() as u64 + 0xfff) & !0xfff;
    let mut out = Vec::with_capacity(stack_off as usize + stack.len());
    out.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    out.extend_from_slice(&object::elf::ET_CORE.to_le_bytes());
    out.extend_from_slice(&object::elf::EM_X86_64.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // e_version
    out.extend_from_slice(&0u64.to_le_bytes()); // e_entry
    out.extend_from_slice(&ph_off.to_le_bytes()); // e_phoff
    out.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for v in [64u16, 56, 2, 64, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        out.extend_from_slice(&v.to_le_bytes());
    }
    phdr(
        &mut out,
        object::elf::PT_NOTE,
        0,
        notes_off,
        0,
        notes.len() as u64,
        0,
        4,
    );
    let stack_mem = (stack.len() as u64 + 0xfff) & !0xfff;
    phdr(
        &mut out,
        object::elf::PT_LOAD,
        object::elf::PF_R | object::elf::PF_W,
        stack_off,
        STACK_BASE,
        stack.len() as u64,
        stack_mem,
        0x1000,
    );
    out.extend_from_slice(&notes);
    out.resize(stack_off as usize, 0);
    out.extend_from_slice(&stack);
    Some(out)
}

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        PathBuf::from(format!(
            "/dev/shm/clw-fuzz-unwind_stack-{}.core",
            std::process::id()
        ))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(core) = build(data) else {
        return;
    };
    let p = path();
    {
        let mut f = std::fs::File::create(p).expect("create the core file in /dev/shm");
        f.write_all(&core).expect("write the core file");
    }
    // What `backtrace` does before symbolizing (symbolizing libc's DWARF on every input would
    // cost ~0.5 s under ASan and fuzz nothing of the stepper).
    let core = Core::open(p).expect("a well-formed core must open");
    let _ = std::fs::remove_file(p);
    let (modules, _) = modules::discover(&core, &Default::default());
    assert!(modules.iter().any(|m| m.found), "libc not found");
    assert_eq!(core.threads.len(), 1);
    for t in &core.threads {
        let u = unwind::unwind(&core, &modules, t.regs.to_dwarf().map(Some));
        assert!(!u.frames.is_empty() && u.frames.len() <= unwind::MAX_FRAMES);
    }
});
