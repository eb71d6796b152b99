//! A streaming parser of `/proc/PID/smaps`.
//!
//! Format: Documentation/filesystems/proc.rst, section 1.1 ("smaps") and fs/proc/task_mmu.c
//! (`show_smap`, `show_map_vma`). Each mapping is a header line
//! `start-end perms offset major:minor inode [pathname]` followed by `Key:  N kB` lines and a
//! final `VmFlags:` line. Sizes stay in kB (KiB) as the kernel prints them.
//!
//! The parser holds one mapping at a time, so memory does not grow with the number of mappings,
//! and it rejects input that is not smaps (binary garbage, a field before any header, a mapping
//! without `Rss`, a line longer than [`MAX_LINE`]) with [`Error::Malformed`] naming the line.

use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, Result};
use crate::sample::files::{clip, malformed};

/// Longest line accepted: pathnames are at most PATH_MAX (4096) bytes, so 64 KiB is generous.
pub const MAX_LINE: usize = 64 * 1024;

/// One mapping (VMA) of `/proc/PID/smaps`. Sizes in kB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    /// `rwxp` / `rwxs` as printed.
    pub perms: [u8; 4],
    pub offset: u64,
    /// `major:minor` of the backing device, `00:00` for anonymous memory.
    pub dev: String,
    pub inode: u64,
    /// Pathname or pseudo-name (`[heap]`, `[stack]`, `[vdso]`, `/memfd:x (deleted)`); empty
    /// for anonymous mappings. Non-UTF-8 bytes are replaced with U+FFFD.
    pub path: String,
    pub size_kb: u64,
    pub kernel_page_kb: u64,
    pub rss_kb: u64,
    pub pss_kb: u64,
    pub shared_clean_kb: u64,
    pub shared_dirty_kb: u64,
    pub private_clean_kb: u64,
    pub private_dirty_kb: u64,
    pub anonymous_kb: u64,
    pub swap_kb: u64,
    pub swap_pss_kb: u64,
    pub locked_kb: u64,
    /// `VmFlags:` two-letter codes, space separated (e.g. `rd wr mr mw me ac`).
    pub vm_flags: String,
    pub(crate) seen_rss: bool,
}

impl Mapping {
    pub fn readable(&self) -> bool {
        self.perms[0] == b'r'
    }
    pub fn writable(&self) -> bool {
        self.perms[1] == b'w'
    }
    pub fn executable(&self) -> bool {
        self.perms[2] == b'x'
    }
    pub fn shared(&self) -> bool {
        self.perms[3] == b's'
    }
    /// PROT_NONE: no access at all (guard pages, reservations).
    pub fn no_access(&self) -> bool {
        &self.perms[..3] == b"---"
    }
    /// Anonymous memory with no name at all (not even a `[...]` pseudo-name).
    pub fn is_anonymous(&self) -> bool {
        self.path.is_empty()
    }
    /// Backed by a file (path starting with `/`).
    pub fn is_file(&self) -> bool {
        self.path.starts_with('/')
    }
    pub fn perms_str(&self) -> &str {
        std::str::from_utf8(&self.perms).unwrap_or("????")
    }
    /// Unique set size of the mapping: Private_Clean + Private_Dirty, kB.
    pub fn uss_kb(&self) -> u64 {
        self.private_clean_kb + self.private_dirty_kb
    }
    /// Dirty pages, shared and private, kB.
    pub fn dirty_kb(&self) -> u64 {
        self.shared_dirty_kb + self.private_dirty_kb
    }
    /// True when `VmFlags` has the given two-letter flag (e.g. `ht` for hugetlb).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.vm_flags.split_ascii_whitespace().any(|f| f == flag)
    }
}

fn parse_hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        let d = (c as char).to_digit(16)?;
        v = (v << 4) | d as u64;
    }
    Some(v)
}

fn parse_dec(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

/// Split off the next space-separated token.
fn token(s: &[u8]) -> (&[u8], &[u8]) {
    let s = trim_start(s);
    let end = s.iter().position(|&c| c == b' ').unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &s[n..]
}

fn parse_header(line: &[u8]) -> Option<Mapping> {
    let (range, rest) = token(line);
    let dash = range.iter().position(|&c| c == b'-')?;
    let start = parse_hex(&range[..dash])?;
    let end = parse_hex(&range[dash + 1..])?;
    if end < start {
        return None;
    }
    let (perms, rest) = token(rest);
    let perms: [u8; 4] = perms.try_into().ok()?;
    if !perms.iter().all(|c| b"rwxps-".contains(c)) {
        return None;
    }
    let (offset, rest) = token(rest);
    let offset = parse_hex(offset)?;
    let (dev, rest) = token(rest);
    if !dev.contains(&b':') || !dev.iter().all(|c| c.is_ascii_hexdigit() || *c == b':') {
        return None;
    }
    let (inode, rest) = token(rest);
    let inode = parse_dec(inode)?;
    let path = String::from_utf8_lossy(trim_start(rest)).into_owned();
    Some(Mapping {
        start,
        end,
        perms,
        offset,
        dev: String::from_utf8_lossy(dev).into_owned(),
        inode,
        path,
        ..Mapping::default()
    })
}

/// Stream the mappings of an smaps file, calling `f` for each in address order.
///
/// `path` is used only in error messages. Errors: [`Error::Malformed`] (with the 1-based line)
/// for input that is not smaps; [`Error::Io`] for read errors; whatever `f` returns.
pub fn for_each_mapping<R: BufRead>(
    mut r: R,
    path: &Path,
    mut f: impl FnMut(Mapping) -> Result<()>,
) -> Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut cur: Option<Mapping> = None;
    let mut cur_line = 0usize;
    let mut lineno = 0usize;
    let finish = |m: Mapping, line: usize| -> Result<Mapping> {
        if !m.seen_rss {
            return Err(malformed(
                path,
                line,
                "mapping has no Rss line (truncated file?)",
            ));
        }
        Ok(m)
    };
    loop {
        buf.clear();
        let n = std::io::Read::take(&mut r, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            return Err(malformed(
                path,
                lineno,
                format!("line longer than {MAX_LINE} bytes"),
            ));
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if line.is_empty() {
            continue;
        }
        let (first, rest) = token(line);
        if first.last() == Some(&b':') {
            // A "Key: value [kB]" line of the current mapping.
            let Some(m) = cur.as_mut() else {
                return Err(malformed(
                    path,
                    lineno,
                    "field line before any mapping header",
                ));
            };
            let key = &first[..first.len() - 1];
            if key == b"VmFlags" {
                m.vm_flags = String::from_utf8_lossy(trim_start(rest))
                    .trim_end()
                    .to_string();
                continue;
            }
            let (num, unit) = token(rest);
            let bad = || {
                malformed(
                    path,
                    lineno,
                    format!(
                        "expected \"{}: N kB\", found {:?}",
                        String::from_utf8_lossy(key),
                        clip(&String::from_utf8_lossy(line))
                    ),
                )
            };
            let v = parse_dec(num).ok_or_else(bad)?;
            if !matches!(trim_start(unit), b"kB" | b"") {
                return Err(bad());
            }
            match key {
                b"Size" => m.size_kb = v,
                b"KernelPageSize" => m.kernel_page_kb = v,
                b"Rss" => {
                    m.rss_kb = v;
                    m.seen_rss = true;
                }
                b"Pss" => m.pss_kb = v,
                b"Shared_Clean" => m.shared_clean_kb = v,
                b"Shared_Dirty" => m.shared_dirty_kb = v,
                b"Private_Clean" => m.private_clean_kb = v,
                b"Private_Dirty" => m.private_dirty_kb = v,
                b"Anonymous" => m.anonymous_kb = v,
                b"Swap" => m.swap_kb = v,
                b"SwapPss" => m.swap_pss_kb = v,
                b"Locked" => m.locked_kb = v,
                _ => {}
            }
        } else {
            let Some(m) = parse_header(line) else {
                return Err(malformed(
                    path,
                    lineno,
                    format!(
                        "not an smaps mapping header or field: {:?}",
                        clip(&String::from_utf8_lossy(line))
                    ),
                ));
            };
            if let Some(prev) = cur.replace(m) {
                f(finish(prev, cur_line)?)?;
            }
            cur_line = lineno;
        }
    }
    if let Some(prev) = cur {
        f(finish(prev, cur_line)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "\
55d4c8a00000-55d4c8a21000 rw-p 00000000 00:00 0                          [heap]
Size:                132 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   8 kB
Pss:                   8 kB
Pss_Dirty:             8 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         8 kB
Referenced:            8 kB
Anonymous:             8 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd wr mr mw me ac sd
7f0000000000-7f0000001000 r-xp 00001000 fd:01 1234   /usr/lib/my lib (x).so
Size:                  4 kB
Rss:                   4 kB
Pss:                   2 kB
Shared_Clean:          4 kB
VmFlags: rd ex mr mw me sd
";

    fn parse(s: &str) -> Result<Vec<Mapping>> {
        let mut v = Vec::new();
        for_each_mapping(s.as_bytes(), Path::new("smaps"), |m| {
            v.push(m);
            Ok(())
        })?;
        Ok(v)
    }

    #[test]
    fn parses_headers_fields_and_paths_with_spaces() {
        let v = parse(TWO).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].path, "[heap]");
        assert_eq!(v[0].private_dirty_kb, 8);
        assert_eq!(v[0].size_kb, 132);
        assert!(v[0].has_flag("wr"));
        assert_eq!(v[1].path, "/usr/lib/my lib (x).so");
        assert_eq!(v[1].offset, 0x1000);
        assert_eq!(v[1].pss_kb, 2);
        assert!(v[1].executable());
    }

    #[test]
    fn rejects_garbage_truncation_and_orphans() {
        let e = parse("Rss: 4 kB\n").unwrap_err().to_string();
        assert!(
            e.contains("smaps:1") && e.contains("before any mapping"),
            "{e}"
        );
        let trunc = &TWO[..TWO.find("Rss").unwrap() - 1];
        assert!(parse(trunc).unwrap_err().to_string().contains("no Rss"));
        let e = parse("\u{0}\u{1}ELF garbage\n").unwrap_err().to_string();
        assert!(e.contains("smaps:1"), "{e}");
        let e = parse("Size: x kB\n").unwrap_err();
        assert!(matches!(e, Error::Malformed { .. }));
        let long = "a".repeat(MAX_LINE + 10);
        assert!(parse(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than"));
    }

    #[test]
    fn non_utf8_path_is_replaced_not_fatal() {
        let mut s =
            b"00400000-00401000 r--p 00000000 08:01 7 /tmp/\xff\xfe.bin\nRss: 4 kB\n".to_vec();
        s.extend_from_slice(b"Pss: 4 kB\n");
        let mut v = Vec::new();
        for_each_mapping(&s[..], Path::new("smaps"), |m| {
            v.push(m);
            Ok(())
        })
        .unwrap();
        assert!(v[0].path.starts_with("/tmp/") && v[0].path.contains('\u{FFFD}'));
    }
}
