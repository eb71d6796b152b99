//! Address → function, file, line (with inline frames), the `addr2line` crate over DWARF, with
//! the separate debug files distributions ship found the way gdb finds them: by build ID
//! (`/usr/lib/debug/.build-id/xx/rest.debug`) and by `.gnu_debuglink` (CRC-checked) next to the
//! binary, in its `.debug/` and under `/usr/lib/debug/`. Without DWARF the symbol table
//! (`.symtab`, then `.dynsym`) names the function. Zlib and zstd compressed debug sections are
//! read (object's `compression` feature).

pub mod debuginfod;
mod dwarf;
pub mod names;
mod scopes;
mod sparse;
pub mod spelling;
pub mod text;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSegment};
use serde::Serialize;

use crate::error::{Error, Result};

/// One frame of a symbolized address; inline frames come first, the outermost last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// True for every frame but the last: it was inlined into the next one.
    pub inlined: bool,
}

struct Loaded {
    /// Lines and inline chains, over `debug`'s sections.
    ctx: Option<addr2line::Context<dwarf::Reader>>,
    /// When `ctx` sees only the units of these addresses (sorted), the addresses.
    only: Option<Vec<u64>>,
    /// The DWARF sections (of the separate debug file when there is one), also read for names.
    debug: dwarf::DebugData,
    /// The separate debug file used, when there is one.
    debug_file: Option<PathBuf>,
    /// Why debuginfod did not provide the debug file, when it was asked and failed.
    debuginfod_error: Option<String>,
    /// Symbols of the symbol table (`.symtab`, else `.dynsym`), by start.
    symbols: Vec<Sym>,
    /// (start, end, index) of the allocated sections.
    sections: Vec<(u64, u64, usize)>,
    /// (file offset, file size, address) of the PT_LOAD segments.
    segments: Vec<(u64, u64, u64)>,
}

struct Sym {
    start: u64,
    size: u64,
    section: Option<usize>,
    name: String,
    /// For local symbols, the source file of the preceding `STT_FILE` symbol.
    file: Option<String>,
}

/// Symbols and sections of an object file (see [`symbol_at`]).
fn symbol_table(data: &[u8]) -> (Vec<Sym>, Vec<(u64, u64, usize)>) {
    use object::ObjectSymbol;
    let Ok(f) = object::File::parse(data) else {
        return (Vec::new(), Vec::new());
    };
    let collect = |it: object::SymbolIterator<'_, '_>| -> Vec<Sym> {
        let mut file: Option<String> = None;
        let mut out = Vec::new();
        for s in it {
            if s.kind() == object::SymbolKind::File {
                file = s.name().ok().map(str::to_string);
                continue;
            }
            if !(s.is_definition() && s.address() != 0) {
                continue;
            }
            if !matches!(
                s.kind(),
                object::SymbolKind::Text | object::SymbolKind::Data | object::SymbolKind::Unknown
            ) {
                continue;
            }
            let Some(name) = s
                .name()
                .ok()
                .filter(|n| !n.is_empty() && !n.starts_with('$'))
            else {
                continue;
            };
            out.push(Sym {
                start: s.address(),
                size: s.size(),
                section: s.section_index().map(|i| i.0),
                name: name.to_string(),
                file: if s.is_local() { file.clone() } else { None },
            });
        }
        out
    };
    let mut v = collect(f.symbols());
    if v.is_empty() {
        v = collect(f.dynamic_symbols());
    }
    v.sort_by_key(|s| (s.start, std::cmp::Reverse(s.size)));
    let sections = f
        .sections()
        .filter(|s| s.address() != 0 && s.size() > 0)
        .map(|s| (s.address(), s.address() + s.size(), s.index().0))
        .collect();
    (v, sections)
}

/// The function or object at `addr`, as binutils finds it: the closest preceding symbol of the
/// same section (padding after a function counts as the function's), and for local symbols the
/// source file named by the `STT_FILE` symbol before them.
fn symbol_at<'s>(symbols: &'s [Sym], sections: &[(u64, u64, usize)], addr: u64) -> Option<&'s Sym> {
    let section = sections
        .iter()
        .find(|(a, b, _)| *a <= addr && addr < *b)
        .map(|s| s.2)?;
    let i = symbols.partition_point(|s| s.start <= addr);
    symbols[..i]
        .iter()
        .rev()
        .find(|s| s.section == Some(section))
}

/// Caches one loaded binary per path.
#[derive(Default)]
pub struct Symbolizer {
    /// By path as given (an `OsString` hashes its bytes at once; a `Path` by components).
    loaded: HashMap<OsString, Loaded>,
    /// Directories searched for separate debug files (default `/usr/lib/debug`).
    pub debug_dirs: Vec<PathBuf>,
    /// Servers asked for a debug file by build ID when none is found locally (only when the
    /// user asked: `--debuginfod` or `DEBUGINFOD_URLS`).
    pub debuginfod: Option<debuginfod::Debuginfod>,
}

/// The build ID of an ELF file, hex.
pub fn build_id(data: &[u8]) -> Option<String> {
    let f = object::File::parse(data).ok()?;
    let id = f.build_id().ok()??;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// CRC-32 as `.gnu_debuglink` uses it (the IEEE polynomial, as gdb's gnu_debuglink_crc32).
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

fn has_dwarf(data: &[u8]) -> bool {
    object::File::parse(data).is_ok_and(|f| {
        f.section_by_name(".debug_info")
            .is_some_and(|s| s.size() > 0)
    })
}

impl Symbolizer {
    pub fn new() -> Symbolizer {
        Symbolizer {
            loaded: HashMap::new(),
            debug_dirs: vec![PathBuf::from("/usr/lib/debug")],
            debuginfod: None,
        }
    }

    /// The separate debug file of `bin`, if it has no DWARF of its own and one can be found
    /// locally, else (when configured) from debuginfod by build ID; with why debuginfod failed.
    fn find_debug_file(
        debug_dirs: &[PathBuf],
        server: Option<&debuginfod::Debuginfod>,
        bin: &Path,
        data: &[u8],
    ) -> (Option<PathBuf>, Option<String>) {
        if has_dwarf(data) {
            return (None, None);
        }
        if let Some(p) = Self::find_local_debug_file(debug_dirs, bin, data) {
            return (Some(p), None);
        }
        match (server, build_id(data)) {
            (Some(s), Some(id)) => match s.fetch(&id, debuginfod::Artifact::DebugInfo) {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(e)),
            },
            _ => (None, None),
        }
    }

    /// The separate debug file of `bin` (whose bytes are `data`) found on this machine: by
    /// build ID under each of `debug_dirs` (`.build-id/xx/rest.debug`), else by
    /// `.gnu_debuglink` (CRC-checked) beside the binary, in its `.debug/` and under each of
    /// `debug_dirs`. `None` when there is none.
    pub(crate) fn find_local_debug_file(
        debug_dirs: &[PathBuf],
        bin: &Path,
        data: &[u8],
    ) -> Option<PathBuf> {
        if let Some(id) = build_id(data).filter(|id| id.len() > 2) {
            for d in debug_dirs {
                let p = d
                    .join(".build-id")
                    .join(&id[..2])
                    .join(format!("{}.debug", &id[2..]));
                if p.is_file() {
                    return Some(p);
                }
            }
        }
        let f = object::File::parse(data).ok()?;
        let (name, crc) = f.gnu_debuglink().ok()??;
        let name = String::from_utf8_lossy(name).into_owned();
        let dir = bin.parent().unwrap_or(Path::new("."));
        let mut cands = vec![dir.join(&name), dir.join(".debug").join(&name)];
        for d in debug_dirs {
            let rel = dir.strip_prefix("/").unwrap_or(dir);
            cands.push(d.join(rel).join(&name));
        }
        cands
            .into_iter()
            .find(|c| std::fs::read(c).is_ok_and(|bytes| crc32(&bytes) == crc))
    }

    fn load(&mut self, bin: &Path) -> Result<&Loaded> {
        if !self.loaded.contains_key(bin.as_os_str()) {
            let l = Self::load_one(&self.debug_dirs, self.debuginfod.as_ref(), bin, None)?;
            self.loaded.insert(bin.as_os_str().to_owned(), l);
        }
        Ok(&self.loaded[bin.as_os_str()])
    }

    /// As [`Symbolizer::load`], with a context that sees the units of every one of `addrs`:
    /// one preloaded for a set of addresses is replaced by the full context when asked
    /// about another.
    fn load_for(&mut self, bin: &Path, addrs: &[u64]) -> Result<&Loaded> {
        self.load(bin)?;
        let l = self
            .loaded
            .get_mut(bin.as_os_str())
            .expect("loaded just above");
        if let Some(only) = &l.only {
            if addrs.iter().any(|a| only.binary_search(a).is_err()) {
                l.ctx = addr2line::Context::from_dwarf(l.debug.dwarf()).ok();
                l.only = None;
            }
        }
        Ok(l)
    }

    /// Load every file of `files` not loaded yet, each for the file addresses given with it
    /// (only their compilation units are made visible to the line and inline lookups, see
    /// `dwarf::DebugData::dwarf_for`; asking later about another address loads the rest),
    /// on up to two threads at once: loading is mostly inflating compressed debug sections,
    /// one file's work independent of another's. Files that cannot be loaded are left for
    /// [`Symbolizer::load`] to report when they are asked for.
    pub fn preload(&mut self, files: &[(&Path, &[u64])]) {
        let mut todo: Vec<(&Path, &[u64])> = files
            .iter()
            .copied()
            .filter(|(b, _)| !self.loaded.contains_key(b.as_os_str()))
            .collect();
        todo.sort_by_key(|(b, _)| *b);
        todo.dedup_by_key(|(b, _)| *b);
        let dirs = &self.debug_dirs;
        let server = self.debuginfod.as_ref();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(b, addrs)) = todo.get(i) else {
                    return out;
                };
                if let Ok(l) = Self::load_one(dirs, server, b, Some(addrs)) {
                    out.push((b.as_os_str().to_owned(), l));
                }
            }
        };
        let done: Vec<(OsString, Loaded)> = if todo.len() < 2 {
            work()
        } else {
            std::thread::scope(|s| {
                let other = s.spawn(work);
                let mut mine = work();
                mine.extend(other.join().unwrap_or_default());
                mine
            })
        };
        self.loaded.extend(done);
    }

    fn load_one(
        debug_dirs: &[PathBuf],
        server: Option<&debuginfod::Debuginfod>,
        bin: &Path,
        addrs: Option<&[u64]>,
    ) -> Result<Loaded> {
        if bin.is_dir() {
            return Err(Error::Usage(format!(
                "{}: is a directory, not an executable or library",
                bin.display()
            )));
        }
        let file = std::fs::File::open(bin).map_err(|e| Error::io(bin, e))?;
        let len = file.metadata().map_err(|e| Error::io(bin, e))?.len();
        let map = usize::try_from(len)
            .ok()
            .filter(|&n| n > 0)
            .map(|n| crate::triage::mapped::Map::new(&file, n))
            .transpose()
            .map_err(|e| Error::io(bin, e))?;
        let data: &[u8] = map.as_ref().map_or(&[], |m| m.bytes());
        let segments = object::File::parse(data)
            .map_err(|e| {
                Error::Usage(format!(
                    "{}: not an object file this tool can read: {e}",
                    bin.display()
                ))
            })?
            .segments()
            .map(|s| {
                let (off, size) = s.file_range();
                (off, size, s.address())
            })
            .collect();
        let (debug_file, debuginfod_error) = Self::find_debug_file(debug_dirs, server, bin, data);
        let target = debug_file.clone().unwrap_or_else(|| bin.to_path_buf());
        let debug = dwarf::DebugData::load(&target).map_err(|e| {
            Error::Usage(format!(
                "{}: cannot read its debug information: {e}",
                target.display()
            ))
        })?;
        let sparse = addrs.and_then(|a| Some((debug.dwarf_for(a)?, a)));
        let (ctx, only) = match sparse {
            Some((d, a)) => {
                let mut a = a.to_vec();
                a.sort_unstable();
                (addr2line::Context::from_dwarf(d).ok(), Some(a))
            }
            None => (addr2line::Context::from_dwarf(debug.dwarf()).ok(), None),
        };
        // The debug file keeps the full symbol table (strip --strip-debug drops STT_FILE).
        let (mut symbols, sections) = symbol_table(data);
        if let Some(d) = &debug_file {
            let from_debug = crate::coredump::modules::map_file(d)
                .map(|b| symbol_table(&b).0)
                .unwrap_or_default();
            if !from_debug.is_empty() {
                symbols = from_debug;
            }
        }
        Ok(Loaded {
            ctx,
            only,
            debug,
            debug_file,
            debuginfod_error,
            symbols,
            sections,
            segments,
        })
    }

    /// Load `bin` now (its debug file too), so a bad path is reported before any input is read.
    ///
    /// Errors: the file cannot be read or is not an object file.
    pub fn open(&mut self, bin: &Path) -> Result<()> {
        self.load(bin).map(|_| ())
    }

    /// The address in `bin`'s own address space of file offset `off` (bytes), through its
    /// PT_LOAD segments: how an address in a process's memory map becomes an ELF address.
    /// `None` when `bin` cannot be loaded or no segment holds `off`.
    pub fn file_offset_to_vaddr(&mut self, bin: &Path, off: u64) -> Option<u64> {
        let l = self.load(bin).ok()?;
        l.segments
            .iter()
            .find(|(fo, fs, _)| *fo <= off && off < fo + fs)
            .map(|(fo, _, addr)| off - fo + addr)
    }

    /// The address of the symbol `name` in `bin` (its symbol table, else its dynamic symbols,
    /// as loaded for lookups). A `.symtab` spells versioned symbols `name@@VERSION` or
    /// `name@VERSION` (glibc's `__libc_start_main@@GLIBC_2.34`); those match `name` too.
    /// `None` when `bin` cannot be loaded or has no such symbol.
    pub fn symbol_address(&mut self, bin: &Path, name: &str) -> Option<u64> {
        let l = self.load(bin).ok()?;
        l.symbols
            .iter()
            .find(|s| {
                s.name
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('@'))
            })
            .map(|s| s.start)
    }

    /// Function names as gdb prints them ([`names::QualifiedNames`]), read only from the
    /// compilation units of `bin`'s DWARF that hold one of `addrs` (file addresses): a
    /// backtrace needs a few names from a binary that may have thousands of units. Empty when
    /// `bin` cannot be loaded or no unit holds the addresses.
    pub(crate) fn qualified_names(&mut self, bin: &Path, addrs: &[u64]) -> names::QualifiedNames {
        let Ok(l) = self.load_for(bin, addrs) else {
            return names::QualifiedNames::default();
        };
        let Some(ctx) = &l.ctx else {
            return names::QualifiedNames::default();
        };
        let units: Vec<usize> = addrs
            .iter()
            .filter_map(|&a| {
                let unit = ctx.find_dwarf_and_unit(a).skip_all_loads()?;
                unit.header.offset().as_debug_info_offset().map(|o| o.0)
            })
            .collect();
        names::QualifiedNames::from_units(&l.debug.borrowed(), &units)
    }

    /// Why debuginfod could not provide `bin`'s debug file, when it was asked and failed.
    pub fn debuginfod_error(&self, bin: &Path) -> Option<&str> {
        self.loaded
            .get(bin.as_os_str())?
            .debuginfod_error
            .as_deref()
    }

    /// The separate debug file used for `bin`, once loaded.
    pub fn debug_file(&self, bin: &Path) -> Option<&Path> {
        self.loaded.get(bin.as_os_str())?.debug_file.as_deref()
    }

    /// The DWARF frames for `addr` (innermost inline frame first) with raw names (the linkage
    /// name where DWARF has one, else `DW_AT_name`), without the symbol-table fallback of
    /// [`Symbolizer::frames`]: empty when no DWARF function covers `addr`.
    ///
    /// Errors: the file cannot be read or parsed.
    pub fn dwarf_frames(&mut self, bin: &Path, addr: u64) -> Result<Vec<Frame>> {
        let l = self.load_for(bin, &[addr])?;
        let mut out = Vec::new();
        if let Some(Ok(mut it)) = l.ctx.as_ref().map(|c| c.find_frames(addr).skip_all_loads()) {
            while let Ok(Some(f)) = it.next() {
                let Some(function) = f
                    .function
                    .as_ref()
                    .and_then(|n| n.raw_name().ok().map(|s| s.into_owned()))
                else {
                    continue;
                };
                out.push(Frame {
                    function: Some(function),
                    file: f.location.as_ref().and_then(|l| l.file.map(str::to_string)),
                    line: f.location.as_ref().and_then(|l| l.line),
                    column: f.location.as_ref().and_then(|l| l.column),
                    inlined: true,
                });
            }
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
        }
        Ok(out)
    }

    /// The raw symbol-table name gdb prints for `addr` when no DWARF covers it (a "minimal
    /// symbol", gdb/minsyms.c `lookup_minimal_symbol_by_pc_section`): the closest symbol at or
    /// below `addr` in the same section, preferring one with a size; among several at one
    /// address the greatest name (gdb sorts equal addresses by name and takes the last); `None`
    /// when that symbol has a size and `addr` is past its end and no size-less symbol is nearer
    /// (gdb prints `??` there, where binutils names the preceding function).
    pub fn minimal_symbol(&mut self, bin: &Path, addr: u64) -> Option<String> {
        let l = self.load(bin).ok()?;
        let section = l
            .sections
            .iter()
            .find(|(a, b, _)| *a <= addr && addr < *b)
            .map(|s| s.2)?;
        let i = l.symbols.partition_point(|s| s.start <= addr);
        let in_section = l.symbols[..i]
            .iter()
            .rev()
            .filter(|s| s.section == Some(section));
        let mut zero_sized: Option<&Sym> = None;
        for s in in_section {
            if s.size == 0 {
                if zero_sized.is_none_or(|z| z.start == s.start && s.name > z.name) {
                    zero_sized = Some(s);
                }
                continue;
            }
            let best = l.symbols[..i]
                .iter()
                .filter(|t| t.start == s.start && t.size != 0 && t.section == Some(section))
                .max_by(|a, b| a.name.cmp(&b.name))
                .unwrap_or(s);
            if addr >= best.start.saturating_add(best.size) {
                return zero_sized.map(|z| z.name.clone());
            }
            return Some(best.name.clone());
        }
        zero_sized.map(|z| z.name.clone())
    }

    /// Frames for `addr` (an address in the ELF file's own address space, as `addr2line`
    /// takes), innermost inline frame first. `demangle` turns C++ and Rust names readable.
    ///
    /// Errors: the file cannot be read or parsed.
    pub fn frames(&mut self, bin: &Path, addr: u64, demangle: bool) -> Result<Vec<Frame>> {
        let l = self.load_for(bin, &[addr])?;
        let mut out = Vec::new();
        if let Some(Ok(mut it)) = l.ctx.as_ref().map(|c| c.find_frames(addr).skip_all_loads()) {
            while let Ok(Some(f)) = it.next() {
                let function = f.function.as_ref().and_then(|n| {
                    if demangle {
                        n.demangle().ok().map(|s| s.into_owned())
                    } else {
                        n.raw_name().ok().map(|s| s.into_owned())
                    }
                });
                out.push(Frame {
                    function,
                    file: f.location.as_ref().and_then(|l| l.file.map(str::to_string)),
                    line: f.location.as_ref().and_then(|l| l.line),
                    column: f.location.as_ref().and_then(|l| l.column),
                    inlined: true,
                });
            }
        }
        if out.is_empty() || out.iter().all(|f| f.function.is_none()) {
            let found = symbol_at(&l.symbols, &l.sections, addr);
            let sym = found.map(|s| {
                if demangle {
                    addr2line::demangle_auto(s.name.as_str().into(), None).into_owned()
                } else {
                    s.name.clone()
                }
            });
            let loc = l
                .ctx
                .as_ref()
                .and_then(|c| c.find_location(addr).ok().flatten());
            out = vec![Frame {
                function: sym,
                file: loc
                    .as_ref()
                    .and_then(|l| l.file.map(str::to_string))
                    .or_else(|| found.and_then(|s| s.file.clone())),
                line: loc.as_ref().and_then(|l| l.line),
                column: loc.as_ref().and_then(|l| l.column),
                inlined: false,
            }];
        }
        if let Some(last) = out.last_mut() {
            last.inlined = false;
        }
        Ok(out)
    }
}

/// Output options, as binutils `addr2line` names them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Addr2lineStyle {
    /// -f: print function names.
    pub functions: bool,
    /// -i: print inlined callers.
    pub inlines: bool,
    /// -C: demangle.
    pub demangle: bool,
    /// -a: print the address first.
    pub addresses: bool,
    /// -p: one line per address.
    pub pretty: bool,
    /// -s: file base names only.
    pub basenames: bool,
}

/// Append `n` in decimal (without the formatting machinery: this runs for every frame).
fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| d as char));
}

/// Append "file:line" of `f` to `out`.
fn push_loc(out: &mut String, f: &Frame, basenames: bool) {
    match &f.file {
        Some(p) if basenames => out.push_str(p.rsplit('/').next().unwrap_or(p)),
        Some(p) => out.push_str(p),
        None => out.push_str("??"),
    }
    out.push(':');
    // binutils prints "??:?" when it knows the function but not the line, "??:0" when it knows
    // nothing.
    match (f.file.is_some(), f.line) {
        (_, Some(l)) if l > 0 => push_decimal(out, l),
        (true, _) => out.push('?'),
        (false, _) if f.function.is_some() => out.push('?'),
        (false, _) => out.push('0'),
    }
}

/// Format the frames of one address the way binutils `addr2line` does.
pub fn format_addr2line(addr: u64, frames: &[Frame], style: Addr2lineStyle) -> String {
    let mut out = String::new();
    write_addr2line(&mut out, addr, frames, style);
    out
}

/// [`format_addr2line`], appended to `out` (no allocation per address when `out` is reused).
pub fn write_addr2line(out: &mut String, addr: u64, frames: &[Frame], style: Addr2lineStyle) {
    use std::fmt::Write;
    // Without -i addr2line prints only the innermost frame (its function and location).
    let shown = if style.inlines {
        frames
    } else {
        &frames[..frames.len().min(1)]
    };
    fn func(f: &Frame) -> &str {
        f.function.as_deref().unwrap_or("??")
    }
    if style.pretty {
        if style.addresses {
            let _ = write!(out, "0x{addr:016x}: ");
        }
        for (i, f) in shown.iter().enumerate() {
            if i > 0 {
                out.push_str(" (inlined by) ");
            }
            if style.functions && f.function.is_some() {
                out.push_str(func(f));
                out.push_str(" at ");
            } else if style.functions {
                // binutils: "?? ??:0" when nothing is known.
                out.push_str("?? ");
            }
            push_loc(out, f, style.basenames);
            if i + 1 < shown.len() {
                out.push('\n');
            }
        }
        out.push('\n');
        return;
    }
    if style.addresses {
        let _ = writeln!(out, "0x{addr:016x}");
    }
    for f in shown {
        if style.functions {
            out.push_str(func(f));
            out.push('\n');
        }
        push_loc(out, f, style.basenames);
        out.push('\n');
    }
}
