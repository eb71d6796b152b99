//! Rewriting raw backtraces found in logs: each recognised frame line gets its function and
//! source location appended. Each format has its own address rule:
//!
//! - glibc `backtrace_symbols`: `path(+0xOFF)[0xADDR]` or `path(sym+0xOFF)[0xADDR]`. OFF is
//!   relative to the module's load base, i.e. an address in the ELF file's own space (for
//!   `sym+OFF`, the symbol's address plus OFF). These are return addresses: look up OFF − 1.
//! - Sanitizers: `#N 0xADDR (module+0xOFF)`: module-relative, already the call's pc − 1.
//! - gdb `#N 0xADDR in ?? ()` and Rust `RUST_BACKTRACE=full` `N: 0xADDR - <unknown>`: absolute
//!   addresses, resolved through a memory map (`--maps FILE` in /proc/PID/maps format, or
//!   `--pid PID`); return addresses except the innermost frame (`#0` / `0:`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use super::{Frame, Symbolizer};

use crate::base::text::static_regex as re;

/// One line of /proc/PID/maps with a file.
#[derive(Debug, Clone)]
pub struct MapEntry {
    /// First address of the mapping in the process.
    pub start: u64,
    /// End of the mapping, exclusive.
    pub end: u64,
    /// File offset of `start`, bytes.
    pub offset: u64,
    /// The mapped file, bytes as in the maps line, ` (deleted)` removed.
    pub path: PathBuf,
}

/// Parse /proc/PID/maps (Documentation/filesystems/proc.rst, "maps"); lines without a file path
/// and lines that are not maps lines are skipped. Paths are kept as bytes (not necessarily
/// UTF-8), with a trailing " (deleted)" removed.
pub fn parse_maps(text: &[u8]) -> Vec<MapEntry> {
    use std::os::unix::ffi::OsStrExt;
    text.split(|&c| c == b'\n')
        .filter_map(|l| {
            let (m, path) = crate::sample::smaps::parse_maps_line(l)?;
            if !path.starts_with(b"/") {
                return None;
            }
            let path = path.strip_suffix(b" (deleted)").unwrap_or(path);
            Some(MapEntry {
                start: m.start,
                end: m.end,
                offset: m.offset,
                path: PathBuf::from(std::ffi::OsStr::from_bytes(path)),
            })
        })
        .collect()
}

/// Which kind of backtrace line was recognised (see the module docs for each one's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LineFormat {
    /// glibc `backtrace_symbols`: `path(+0xOFF)[0xADDR]`, `path(sym+0xOFF)[0xADDR]`.
    Glibc,
    /// Sanitizer reports: `#N 0xADDR (module+0xOFF)`.
    Sanitizer,
    /// gdb `#N 0xADDR in ?? ()` and Rust `N: 0xADDR - <unknown>`: absolute addresses,
    /// resolved through the memory map.
    Absolute,
}

/// A frame line that was resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    /// The backtrace format recognised: `glibc`, `sanitizer` or `absolute`.
    pub format: LineFormat,
    /// The module the address is in.
    pub module: PathBuf,
    /// The address looked up, in the module's own address space (hex string): the call's
    /// pc − 1 for return addresses.
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub address: u64,
    /// Innermost inline frame first, the function they were inlined into last.
    pub frames: Vec<Frame>,
}

/// Rewrites text; keeps a symbolizer and the map between lines.
pub struct Rewriter {
    /// Resolves module addresses to functions and source lines; keeps the opened files between
    /// lines.
    pub sym: Symbolizer,
    /// The memory map `absolute` addresses are resolved through (`--maps FILE` or `--pid PID`);
    /// empty: such lines are left as they are.
    pub maps: Vec<MapEntry>,
    /// Demangle the names (`-C`).
    pub demangle: bool,
}

impl Rewriter {
    fn lookup(&mut self, format: LineFormat, module: &Path, vaddr: u64) -> Option<Resolution> {
        let frames = self.sym.frames(module, vaddr, self.demangle).ok()?;
        (!frames.is_empty()
            && frames
                .iter()
                .any(|f| f.function.is_some() || f.file.is_some()))
        .then(|| Resolution {
            format,
            module: module.to_path_buf(),
            address: vaddr,
            frames,
        })
    }

    fn absolute(&mut self, addr: u64) -> Option<Resolution> {
        let m = self
            .maps
            .iter()
            .find(|m| m.start <= addr && addr < m.end)?
            .clone();
        let vaddr = self
            .sym
            .file_offset_to_vaddr(&m.path, addr - m.start + m.offset)?;
        self.lookup(LineFormat::Absolute, &m.path, vaddr)
    }

    /// The frame of `line` resolved, when it is a recognised backtrace line whose address
    /// resolves (`render/symbolize.rs`'s `rewritten_line` appends it as `  # …`).
    pub fn line(&mut self, line: &str) -> Option<Resolution> {
        static GLIBC: OnceLock<Regex> = OnceLock::new();
        static SAN: OnceLock<Regex> = OnceLock::new();
        static ABSOLUTE: OnceLock<Regex> = OnceLock::new();
        if let Some(c) = re(
            &GLIBC,
            r"(/?[^\s()\[\]]+)\(([^()+\s]*)\+0x([0-9a-fA-F]+)\)\s*\[0x[0-9a-fA-F]+\]",
        )
        .captures(line)
        {
            let module = PathBuf::from(&c[1]);
            let off = u64::from_str_radix(&c[3], 16).unwrap_or(0);
            let base = if c[2].is_empty() {
                Some(0)
            } else {
                self.sym.symbol_address(&module, &c[2])
            };
            // A return address: the call is the instruction before it.
            base.and_then(|b| self.lookup(LineFormat::Glibc, &module, (b + off).saturating_sub(1)))
        } else if let Some(c) = re(
            &SAN,
            r"#\d+\s+0x[0-9a-fA-F]+\s+\(([^()\s]+)\+0x([0-9a-fA-F]+)\)",
        )
        .captures(line)
        {
            let off = u64::from_str_radix(&c[2], 16).unwrap_or(0);
            self.lookup(LineFormat::Sanitizer, Path::new(&c[1]), off)
        } else if let Some(c) = re(
            &ABSOLUTE,
            r"^\s*(?:#(\d+)\s+0x([0-9a-fA-F]+) in \?\? \(\)|(\d+):\s+0x([0-9a-fA-F]+) - <unknown>)",
        )
        .captures(line)
        {
            // gdb (#N) or Rust (N:) frame: the innermost frame's address is the pc itself,
            // the others are return addresses.
            let frame = c.get(1).or(c.get(3)).map_or("", |m| m.as_str());
            let addr = c
                .get(2)
                .or(c.get(4))
                .and_then(|m| u64::from_str_radix(m.as_str(), 16).ok())
                .unwrap_or(0);
            let pc = if frame == "0" {
                addr
            } else {
                addr.saturating_sub(1)
            };
            self.absolute(pc)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn maps_paths_are_bytes_with_inner_spaces_kept() {
        let text = b"55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234   /opt/a\xffb/two  spaces/bin (deleted)\n\
55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 1234   /usr/bin/x\n\
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]\n\
7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n\
garbage line\n";
        let m = parse_maps(text);
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[0].path.as_os_str().as_bytes(),
            b"/opt/a\xffb/two  spaces/bin"
        );
        assert_eq!(
            (m[0].start, m[0].end, m[0].offset),
            (0x55d0c0a00000, 0x55d0c0a01000, 0)
        );
        assert_eq!(m[1].path, Path::new("/usr/bin/x"));
        assert_eq!(m[1].offset, 0x1000);
    }
}
