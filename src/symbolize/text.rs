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

use object::{Object, ObjectSegment};
use regex::Regex;

use super::{Frame, Symbolizer};

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("static regex"))
}

/// One line of /proc/PID/maps with a file.
#[derive(Debug, Clone)]
pub struct MapEntry {
    pub start: u64,
    pub end: u64,
    pub offset: u64,
    pub path: PathBuf,
}

/// Parse /proc/PID/maps text; lines without a file path are skipped.
pub fn parse_maps(text: &str) -> Vec<MapEntry> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let range = it.next()?;
            let _perms = it.next()?;
            let offset = u64::from_str_radix(it.next()?, 16).ok()?;
            let _dev = it.next()?;
            let _inode = it.next()?;
            let path = it.collect::<Vec<_>>().join(" ");
            if !path.starts_with('/') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            Some(MapEntry {
                start: u64::from_str_radix(a, 16).ok()?,
                end: u64::from_str_radix(b, 16).ok()?,
                offset,
                path: PathBuf::from(path.trim_end_matches(" (deleted)")),
            })
        })
        .collect()
}

/// The file offset `off` of `path` as an address of the ELF file (through its PT_LOAD segments).
fn file_offset_to_vaddr(path: &Path, off: u64) -> Option<u64> {
    let data = std::fs::read(path).ok()?;
    let f = object::File::parse(&*data).ok()?;
    f.segments().find_map(|s| {
        let (fo, fs) = s.file_range();
        (fo <= off && off < fo + fs).then(|| off - fo + s.address())
    })
}

/// Symbol address by name in `path` (symtab, then dynsym).
fn symbol_address(path: &Path, name: &str) -> Option<u64> {
    use object::ObjectSymbol;
    let data = std::fs::read(path).ok()?;
    let f = object::File::parse(&*data).ok()?;
    f.symbols()
        .chain(f.dynamic_symbols())
        .find(|s| s.name() == Ok(name) && s.address() != 0)
        .map(|s| s.address())
}

fn describe(frames: &[Frame]) -> String {
    let one = |f: &Frame| {
        let func = f.function.as_deref().unwrap_or("??");
        match (&f.file, f.line) {
            (Some(file), Some(l)) => format!("{func} at {file}:{l}"),
            (Some(file), None) => format!("{func} at {file}"),
            _ => func.to_string(),
        }
    };
    frames
        .iter()
        .map(one)
        .collect::<Vec<_>>()
        .join(" (inlined by) ")
}

/// Rewrites text; keeps a symbolizer and the map between lines.
pub struct Rewriter {
    pub sym: Symbolizer,
    pub maps: Vec<MapEntry>,
    pub demangle: bool,
}

impl Rewriter {
    fn lookup(&mut self, module: &Path, vaddr: u64) -> Option<String> {
        let frames = self.sym.frames(module, vaddr, self.demangle).ok()?;
        (!frames.is_empty()
            && frames
                .iter()
                .any(|f| f.function.is_some() || f.file.is_some()))
        .then(|| describe(&frames))
    }

    fn absolute(&mut self, addr: u64) -> Option<String> {
        let m = self
            .maps
            .iter()
            .find(|m| m.start <= addr && addr < m.end)?
            .clone();
        let vaddr = file_offset_to_vaddr(&m.path, addr - m.start + m.offset)?;
        self.lookup(&m.path, vaddr)
            .map(|d| format!("{d} [{}]", m.path.display()))
    }

    /// The line with its symbolization appended (`  # …`), or unchanged.
    pub fn line(&mut self, line: &str) -> String {
        static GLIBC: OnceLock<Regex> = OnceLock::new();
        static SAN: OnceLock<Regex> = OnceLock::new();
        static ABSOLUTE: OnceLock<Regex> = OnceLock::new();
        let found = if let Some(c) = re(
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
                symbol_address(&module, &c[2])
            };
            // A return address: the call is the instruction before it.
            base.and_then(|b| self.lookup(&module, (b + off).saturating_sub(1)))
        } else if let Some(c) = re(
            &SAN,
            r"#\d+\s+0x[0-9a-fA-F]+\s+\(([^()\s]+)\+0x([0-9a-fA-F]+)\)",
        )
        .captures(line)
        {
            let off = u64::from_str_radix(&c[2], 16).unwrap_or(0);
            self.lookup(Path::new(&c[1]), off)
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
        };
        match found {
            Some(d) => format!("{line}  # {d}"),
            None => line.to_string(),
        }
    }
}
