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

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::sample::files::{clip, malformed};

/// Longest line accepted: pathnames are at most PATH_MAX (4096) bytes, so 64 KiB is generous.
pub const MAX_LINE: usize = 64 * 1024;

/// One mapping (VMA) of `/proc/PID/smaps`. Sizes in kB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    /// First address of the mapping (inclusive), from the header's `start-end`.
    pub start: u64,
    /// End address of the mapping (exclusive), from the header's `start-end`.
    pub end: u64,
    /// `rwxp` / `rwxs` as printed.
    pub perms: [u8; 4],
    /// Offset into the backing file, bytes (hex in the header); 0 for anonymous memory.
    pub offset: u64,
    /// `major:minor` of the backing device, `00:00` for anonymous memory.
    pub dev: String,
    /// Inode of the backing file; 0 for anonymous memory.
    pub inode: u64,
    /// Pathname or pseudo-name (`[heap]`, `[stack]`, `[vdso]`, `/memfd:x (deleted)`); empty
    /// for anonymous mappings. Non-UTF-8 bytes are replaced with U+FFFD.
    pub path: String,
    /// `Size`: virtual size of the mapping, kB.
    pub size_kb: u64,
    /// `KernelPageSize`: page size the kernel uses for the mapping, kB (4 on x86-64; e.g. 2048
    /// for 2 MiB hugetlb); 0 when the line is absent.
    pub kernel_page_kb: u64,
    /// `Rss`: resident in RAM, kB.
    pub rss_kb: u64,
    /// `Pss`: proportional set size (shared pages divided among the processes mapping them), kB.
    pub pss_kb: u64,
    /// `Shared_Clean`: resident, also mapped elsewhere, unmodified, kB.
    pub shared_clean_kb: u64,
    /// `Shared_Dirty`: resident, also mapped elsewhere, modified, kB.
    pub shared_dirty_kb: u64,
    /// `Private_Clean`: resident, mapped only here, unmodified, kB.
    pub private_clean_kb: u64,
    /// `Private_Dirty`: resident, mapped only here, modified, kB.
    pub private_dirty_kb: u64,
    /// `Anonymous`: resident pages not backed by a file (including CoW copies of file pages), kB.
    pub anonymous_kb: u64,
    /// `Swap`: swapped-out anonymous pages, kB.
    pub swap_kb: u64,
    /// `SwapPss`: proportional share of the swapped-out pages, kB.
    pub swap_pss_kb: u64,
    /// `Locked`: pages locked in RAM (`mlock`), kB.
    pub locked_kb: u64,
    /// `VmFlags:` two-letter codes, space separated (e.g. `rd wr mr mw me ac`).
    pub vm_flags: String,
    pub(crate) seen_rss: bool,
}

impl Mapping {
    /// Mapped readable (`r` in perms).
    pub fn readable(&self) -> bool {
        self.perms[0] == b'r'
    }
    /// Mapped writable (`w` in perms).
    pub fn writable(&self) -> bool {
        self.perms[1] == b'w'
    }
    /// Mapped executable (`x` in perms).
    pub fn executable(&self) -> bool {
        self.perms[2] == b'x'
    }
    /// A shared mapping (`s` in perms, `MAP_SHARED`); `p` (private, copy-on-write) otherwise.
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
    /// The permissions as printed (`"r-xp"`); `"????"` if they were not ASCII.
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
    let (mut m, path) = parse_maps_line(line)?;
    m.path = String::from_utf8_lossy(path).into_owned();
    Some(m)
}

/// One `/proc/PID/maps` line (the same as an smaps header line): the mapping with an empty
/// `path`, and the pathname's raw bytes (a file name need not be UTF-8; inner spaces are kept).
/// `None` when the line is not a maps line.
pub fn parse_maps_line(line: &[u8]) -> Option<(Mapping, &[u8])> {
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
    let m = Mapping {
        start,
        end,
        perms,
        offset,
        dev: String::from_utf8_lossy(dev).into_owned(),
        inode,
        ..Mapping::default()
    };
    Some((m, trim_start(rest)))
}

/// Size of the chunks read from the kernel. seq_file fills as much of a read as it can, so large
/// reads mean fewer system calls.
const CHUNK: usize = 256 * 1024;

/// Incremental parser state: the mapping being filled and the line count.
struct Parser<'p> {
    path: &'p Path,
    cur: Option<Mapping>,
    cur_line: usize,
    lineno: usize,
}

impl Parser<'_> {
    fn finish(&self, m: Mapping) -> Result<Mapping> {
        if !m.seen_rss {
            return Err(malformed(
                self.path,
                self.cur_line,
                "mapping has no Rss line (truncated file?)",
            ));
        }
        Ok(m)
    }

    /// Parse one line (without its newline); returns a completed mapping when a header starts a
    /// new one.
    fn line(&mut self, line: &[u8]) -> Result<Option<Mapping>> {
        self.lineno += 1;
        let Some(&first) = line.first() else {
            return Ok(None);
        };
        // Field keys start with an upper-case letter; headers with a hex digit.
        if first.is_ascii_uppercase() {
            let Some(colon) = memchr::memchr(b':', line) else {
                return Err(self.bad_line(line));
            };
            let Some(m) = self.cur.as_mut() else {
                return Err(malformed(
                    self.path,
                    self.lineno,
                    "field line before any mapping header",
                ));
            };
            let key = &line[..colon];
            let rest = &line[colon + 1..];
            if key == b"VmFlags" {
                m.vm_flags = String::from_utf8_lossy(trim_start(rest))
                    .trim_end()
                    .to_string();
                return Ok(None);
            }
            let (num, unit) = token(rest);
            let Some(v) = parse_dec(num) else {
                return Err(self.bad_field(key, line));
            };
            if !matches!(trim_start(unit), b"kB" | b"") {
                return Err(self.bad_field(key, line));
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
            return Ok(None);
        }
        let Some(m) = parse_header(line) else {
            return Err(self.bad_line(line));
        };
        let done = match self.cur.replace(m) {
            Some(prev) => Some(self.finish(prev)?),
            None => None,
        };
        self.cur_line = self.lineno;
        Ok(done)
    }

    fn bad_line(&self, line: &[u8]) -> Error {
        malformed(
            self.path,
            self.lineno,
            format!(
                "not an smaps mapping header or field: {:?}",
                clip(&String::from_utf8_lossy(line))
            ),
        )
    }

    fn bad_field(&self, key: &[u8], line: &[u8]) -> Error {
        malformed(
            self.path,
            self.lineno,
            format!(
                "expected \"{}: N kB\", found {:?}",
                String::from_utf8_lossy(key),
                clip(&String::from_utf8_lossy(line))
            ),
        )
    }
}

/// Splits arriving chunks into lines without copying them; only a line that straddles two
/// chunks is copied (into `carry`).
struct Lines {
    carry: Vec<u8>,
}

fn too_long(path: &Path, lineno: usize) -> Error {
    malformed(
        path,
        lineno + 1,
        format!("line longer than {MAX_LINE} bytes"),
    )
}

impl Lines {
    fn feed(
        &mut self,
        mut data: &[u8],
        p: &mut Parser<'_>,
        f: &mut dyn FnMut(Mapping) -> Result<()>,
    ) -> Result<()> {
        if !self.carry.is_empty() {
            match memchr::memchr(b'\n', data) {
                Some(nl) => {
                    self.carry.extend_from_slice(&data[..nl]);
                    if self.carry.len() > MAX_LINE {
                        return Err(too_long(p.path, p.lineno));
                    }
                    let line = std::mem::take(&mut self.carry);
                    if let Some(m) = p.line(&line)? {
                        f(m)?;
                    }
                    self.carry = line;
                    self.carry.clear();
                    data = &data[nl + 1..];
                }
                None => {
                    self.carry.extend_from_slice(data);
                    if self.carry.len() > MAX_LINE {
                        return Err(too_long(p.path, p.lineno));
                    }
                    return Ok(());
                }
            }
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', data) {
            let line = &data[start..nl];
            if line.len() > MAX_LINE {
                return Err(too_long(p.path, p.lineno));
            }
            if let Some(m) = p.line(line)? {
                f(m)?;
            }
            start = nl + 1;
        }
        let rest = &data[start..];
        if rest.len() > MAX_LINE {
            return Err(too_long(p.path, p.lineno));
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    fn finish(
        &mut self,
        p: &mut Parser<'_>,
        f: &mut dyn FnMut(Mapping) -> Result<()>,
    ) -> Result<()> {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            if let Some(m) = p.line(&line)? {
                f(m)?;
            }
        }
        if let Some(m) = p.cur.take() {
            f(p.finish(m)?)?;
        }
        Ok(())
    }
}

fn parser(path: &Path) -> (Parser<'_>, Lines) {
    (
        Parser {
            path,
            cur: None,
            cur_line: 0,
            lineno: 0,
        },
        Lines { carry: Vec::new() },
    )
}

/// Read until `buf` is full or end of file; returns the bytes read. The kernel hands out smaps
/// about a page per read, so this batches many reads.
fn fill<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Stream the mappings of an smaps file, calling `f` for each in address order.
///
/// `path` is used only in error messages. Errors: [`Error::Malformed`] (with the 1-based line)
/// for input that is not smaps; [`Error::Io`] for read errors; whatever `f` returns.
pub fn for_each_mapping<R: Read>(
    mut r: R,
    path: &Path,
    mut f: impl FnMut(Mapping) -> Result<()>,
) -> Result<()> {
    let (mut p, mut lines) = parser(path);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = fill(&mut r, &mut buf).map_err(|e| Error::io(path, e))?;
        lines.feed(&buf[..n], &mut p, &mut f)?;
        if n < buf.len() {
            break;
        }
    }
    lines.finish(&mut p, &mut f)
}

/// Like [`for_each_mapping`], but reads on a second thread while this one parses, so the
/// kernel's work of generating smaps (done on each read) overlaps with ours.
pub fn for_each_mapping_pipelined<R: Read + Send>(
    r: R,
    path: &Path,
    mut f: impl FnMut(Mapping) -> Result<()>,
) -> Result<()> {
    use std::sync::mpsc::sync_channel;
    // Full chunks go to the parser; emptied ones come back to be refilled, so only a few chunks
    // ever exist.
    let (full_tx, full_rx) = sync_channel::<std::io::Result<(Vec<u8>, usize)>>(2);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(4);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut r = r;
            loop {
                let mut chunk = empty_rx.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
                match fill(&mut r, &mut chunk) {
                    Ok(n) => {
                        // A send fails when the parser stopped (an error): stop reading too.
                        if full_tx.send(Ok((chunk, n))).is_err() || n < CHUNK {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let (mut p, mut lines) = parser(path);
        for msg in full_rx {
            let (chunk, n) = msg.map_err(|e| Error::io(path, e))?;
            lines.feed(&chunk[..n], &mut p, &mut f)?;
            let _ = empty_tx.try_send(chunk);
        }
        lines.finish(&mut p, &mut f)
    })
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
