//! Where to place the uprobe on `free`.
//!
//! A uprobe on an instruction the kernel cannot emulate is single-stepped out of line, which
//! costs about 5–6 µs per hit in this VM; one on an instruction it emulates (`push r64`, among
//! others: `arch/x86/kernel/uprobes.c`, `push_setup_xol_ops()`) costs about 0.6 µs
//! (`../shared/notes/heap-profiling.md` §2, measured on glibc 2.36's `free`). glibc's `free`
//! starts with the NULL test, `test %rdi,%rdi; je …`, which is not emulated; the first
//! instruction after it (`push %rbp` in glibc 2.36) is, and a probe there sees every call with
//! a non-NULL pointer, the only ones that free anything.
//!
//! The rule is deliberately narrow, because a probe in the middle of an instruction corrupts
//! the target: the function must start (after an optional `endbr64`) with exactly
//! `48 85 ff` (`test %rdi,%rdi`), then `74 rel8` or `0f 84 rel32` (`je`), then a `push r64`
//! (`50+r`, or `41 50+r` for r8–r15). Anything else is probed at its entry.

/// Where to probe a `free`-like function, and why there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeProbe {
    /// Offset from the function's first byte, bytes: 0 (the entry), or that of the first
    /// instruction after the NULL test.
    pub offset: u64,
    /// The NULL test was recognised and is skipped (calls with NULL are not seen; they free
    /// nothing).
    pub skips_null_test: bool,
    /// One line: the instructions recognised, or why the entry is used.
    pub why: String,
}

/// `endbr64`, which CET builds put first.
const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
/// `test %rdi,%rdi`.
const TEST_RDI: [u8; 3] = [0x48, 0x85, 0xff];

/// The length of the `push r64` at the start of `code` (1, or 2 with the REX.B prefix), when
/// it is one.
fn push_r64(code: &[u8]) -> Option<usize> {
    match code {
        [0x50..=0x57, ..] => Some(1),
        [0x41, 0x50..=0x57, ..] => Some(2),
        _ => None,
    }
}

/// Where to probe the function whose first bytes are `code` (at least the first 16 bytes of
/// the function; fewer only make the entry more likely).
pub fn free_probe(code: &[u8]) -> FreeProbe {
    let entry = |why: &str| FreeProbe {
        offset: 0,
        skips_null_test: false,
        why: why.to_string(),
    };
    let start = if code.starts_with(&ENDBR64) { 4 } else { 0 };
    let Some(rest) = code.get(start..).filter(|r| r.starts_with(&TEST_RDI)) else {
        return entry("it does not start with the NULL test (test %rdi,%rdi)");
    };
    let after_test = &rest[TEST_RDI.len()..];
    let je_len = match after_test {
        [0x74, _, ..] => 2,
        [0x0f, 0x84, _, _, _, _, ..] => 6,
        _ => return entry("test %rdi,%rdi is not followed by je"),
    };
    let at = start + TEST_RDI.len() + je_len;
    match code.get(at..).and_then(push_r64) {
        Some(_) => FreeProbe {
            offset: at as u64,
            skips_null_test: true,
            why: format!(
                "{}test %rdi,%rdi; je (rel{}); probed at the push after it (+{at}), which the \
                 kernel emulates",
                if start > 0 { "endbr64; " } else { "" },
                if je_len == 2 { 8 } else { 32 }
            ),
        },
        None => entry("the instruction after the NULL test is not a push the kernel emulates"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_2_36_free_pattern_is_probed_after_the_null_test() {
        // glibc 2.36 (Debian 12) free: test %rdi,%rdi; je rel32; push %rbp; lea -0x10(%rdi),%rsi
        let code = [
            0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0, 0, 0, 0x55, 0x48, 0x8d, 0x77, 0xf0, 0x53, 0x48,
        ];
        let p = free_probe(&code);
        assert_eq!(p.offset, 9, "{p:?}");
        assert!(p.skips_null_test);
    }

    #[test]
    fn other_shapes() {
        // je rel8, push %r12 (REX.B)
        let p = free_probe(&[0x48, 0x85, 0xff, 0x74, 0x10, 0x41, 0x54, 0x90]);
        assert_eq!((p.offset, p.skips_null_test), (5, true), "{p:?}");
        // endbr64 first
        let p = free_probe(&[0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0x74, 0x10, 0x55]);
        assert_eq!(p.offset, 9, "{p:?}");
        // the instruction after je is a mov (not emulated): the entry
        let p = free_probe(&[0x48, 0x85, 0xff, 0x74, 0x10, 0x48, 0x89, 0xe5]);
        assert_eq!((p.offset, p.skips_null_test), (0, false), "{p:?}");
        // jne instead of je, test of another register, cut short, empty: the entry
        for code in [
            &[0x48, 0x85, 0xff, 0x75, 0x10, 0x55][..],
            &[0x48, 0x85, 0xf6, 0x74, 0x10, 0x55][..],
            &[0x48, 0x85, 0xff, 0x0f, 0x84, 0x01][..],
            &[0x48, 0x85, 0xff, 0x74, 0x10][..],
            &[][..],
        ] {
            assert_eq!(free_probe(code).offset, 0, "{code:x?}");
        }
    }

    /// On the libc in this image: the offset chosen is the start of an instruction that
    /// objdump decodes as a push, right after the NULL test.
    #[test]
    fn the_libc_here() {
        use object::{Object, ObjectSection, ObjectSymbol};
        let path = "/lib/x86_64-linux-gnu/libc.so.6";
        let Ok(data) = std::fs::read(path) else {
            eprintln!("SKIP: the_libc_here: no {path}");
            return;
        };
        let obj = object::File::parse(&*data).unwrap();
        let sym = obj
            .dynamic_symbols()
            .find(|s| s.name() == Ok("free"))
            .expect("libc exports free");
        let text = obj.section_by_name(".text").unwrap();
        let off = (sym.address() - text.address()) as usize;
        let code = &text.data().unwrap()[off..off + 32];
        let p = free_probe(code);
        let dis = std::process::Command::new("objdump")
            .arg("-d")
            .arg(format!("--start-address={:#x}", sym.address()))
            .arg(format!("--stop-address={:#x}", sym.address() + 16))
            .arg(path)
            .output();
        let Ok(dis) = dis else {
            eprintln!("SKIP: the_libc_here: no objdump");
            return;
        };
        let text = String::from_utf8_lossy(&dis.stdout);
        let at = format!("{:x}:", sym.address() + p.offset);
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&at))
            .unwrap_or_else(|| panic!("{p:?}: no instruction starts at {at}\n{text}"));
        if p.skips_null_test {
            assert!(line.contains("push"), "{p:?}: {line}");
            assert!(text.contains("test   %rdi,%rdi"), "{text}");
        }
    }
}
