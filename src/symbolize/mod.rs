//! Address → function, file, line (with inline frames), the `addr2line` crate over DWARF, with
//! the separate debug files distributions ship found the way gdb finds them: by build ID
//! (`/usr/lib/debug/.build-id/xx/rest.debug`) and by `.gnu_debuglink` (CRC-checked) next to the
//! binary, in its `.debug/` and under `/usr/lib/debug/`. Without DWARF the symbol table
//! (`.symtab`, then `.dynsym`) names the function. Zlib and zstd compressed debug sections are
//! read (object's `compression` feature).

pub mod backtrace;
pub mod batch;
pub mod debug_file;
pub mod debuginfod;
mod dwarf;
mod gdb_names;
pub mod names;
mod scopes;
mod signature;
mod sparse;
pub mod spelling;
mod symtab;
pub mod text;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSegment};
use serde::Serialize;

use crate::error::{Error, Result};
pub use debug_file::{build_id, DebugFiles};

/// One frame of a symbolized address; inline frames come first, the outermost last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// The function: its DWARF name, else the symbol-table name (demangled with `-C`); `None` when
    /// unknown (addr2line's `??`).
    pub function: Option<String>,
    /// The source file as DWARF records it; `None` when unknown (addr2line's `??`).
    pub file: Option<String>,
    /// The source line (DWARF line table); `None` when unknown (addr2line's `:0`).
    pub line: Option<u32>,
    /// The source column (DWARF line table); `None` when not recorded.
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
    /// The symbol table (`.symtab`, else `.dynsym`) and the allocated sections.
    symtab: symtab::SymbolTable,
    /// (file offset, file size, address) of the PT_LOAD segments.
    segments: Vec<(u64, u64, u64)>,
}

/// The line and inline context to ask about `addr`: none for the last address of the space,
/// which addr2line 0.25 cannot look up (its `find` adds 1 to the address: a panic in a debug
/// build) and where no code can be.
fn lookup_ctx(l: &Loaded, addr: u64) -> Option<&addr2line::Context<dwarf::Reader>> {
    l.ctx.as_ref().filter(|_| addr < u64::MAX)
}

/// Caches one loaded binary per path.
#[derive(Default)]
pub struct Symbolizer {
    /// By path as given (an `OsString` hashes its bytes at once; a `Path` by components).
    loaded: HashMap<OsString, Loaded>,
    /// Where separate debug files are looked for (default `/usr/lib/debug`), and the
    /// debuginfod servers asked by build ID when none is found locally (only when the user
    /// asked: `--debuginfod` or `DEBUGINFOD_URLS`).
    pub debug: DebugFiles,
}

impl Symbolizer {
    /// A symbolizer with nothing loaded, looking for debug files in `/usr/lib/debug` only,
    /// debuginfod off.
    pub fn new() -> Symbolizer {
        Symbolizer {
            loaded: HashMap::new(),
            debug: DebugFiles::default(),
        }
    }

    fn load(&mut self, bin: &Path) -> Result<&Loaded> {
        if !self.loaded.contains_key(bin.as_os_str()) {
            let l = Self::load_one(&self.debug, bin, None)?;
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
                l.ctx = l
                    .debug
                    .guarded(|| addr2line::Context::from_dwarf(l.debug.dwarf()).ok())?;
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
    /// `Symbolizer::load` to report when they are asked for.
    pub fn preload(&mut self, files: &[(&Path, &[u64])]) {
        let mut todo: Vec<(&Path, &[u64])> = files
            .iter()
            .copied()
            .filter(|(b, _)| !self.loaded.contains_key(b.as_os_str()))
            .collect();
        todo.sort_by_key(|(b, _)| *b);
        todo.dedup_by_key(|(b, _)| *b);
        let debug = &self.debug;
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(b, addrs)) = todo.get(i) else {
                    return out;
                };
                if let Ok(l) = Self::load_one(debug, b, Some(addrs)) {
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

    fn load_one(debug: &DebugFiles, bin: &Path, addrs: Option<&[u64]>) -> Result<Loaded> {
        if bin.is_dir() {
            return Err(Error::NotObject {
                path: bin.to_path_buf(),
                why: "is a directory, not an executable or library".into(),
            });
        }
        // A FIFO or a device is no object file (and a FIFO without a writer must not hang).
        let file = crate::base::input::open(bin, crate::base::input::Accept::Regular)?.file;
        let len = file.metadata().map_err(|e| Error::io(bin, e))?.len();
        let map = usize::try_from(len)
            .ok()
            .filter(|&n| n > 0)
            .map(|n| crate::base::mmap::Map::new(&file, n))
            .transpose()
            .map_err(|e| Error::io(bin, e))?;
        let data: &[u8] = map.as_ref().map_or(&[], |m| m.bytes());
        let segments = object::File::parse(data)
            .map_err(|e| Error::NotObject {
                path: bin.to_path_buf(),
                why: format!("not an object file this tool can read: {e}"),
            })?
            .segments()
            .map(|s| {
                let (off, size) = s.file_range();
                (off, size, s.address())
            })
            .collect();
        let (debug_file, debuginfod_error) = debug.find(bin, data);
        let target = debug_file.clone().unwrap_or_else(|| bin.to_path_buf());
        let debug = dwarf::DebugData::load(&target).map_err(|e| Error::NotObject {
            path: target.clone(),
            why: format!("cannot read its debug information: {e}"),
        })?;
        let (ctx, only) = debug.guarded(|| {
            let sparse = addrs.and_then(|a| Some((debug.dwarf_for(a)?, a)));
            match sparse {
                Some((d, a)) => {
                    let mut a = a.to_vec();
                    a.sort_unstable();
                    (addr2line::Context::from_dwarf(d).ok(), Some(a))
                }
                None => (addr2line::Context::from_dwarf(debug.dwarf()).ok(), None),
            }
        })?;
        // The debug file keeps the full symbol table (strip --strip-debug drops STT_FILE).
        let mut symtab = symtab::SymbolTable::parse(data);
        if let Some(d) = &debug_file {
            if let Some(b) = crate::coredump::modules::map_file(d) {
                symtab.prefer_symbols_of(symtab::SymbolTable::parse(&b));
                if b.faulted() {
                    return Err(Error::Shrank { path: d.clone() });
                }
            }
        }
        // Nothing read from a file that shrank under its mapping is kept.
        if let Some(m) = &map {
            m.check(bin)?;
        }
        debug.check()?;
        Ok(Loaded {
            ctx,
            only,
            debug,
            debug_file,
            debuginfod_error,
            symtab,
            segments,
        })
    }

    /// `Ok` while no file loaded has shrunk under its mapping; else [`Error::Shrank`] naming
    /// it: what was looked up since may have been read from zeros and must not be reported.
    /// [`Symbolizer::frames`] and [`Symbolizer::dwarf_frames`] check their own file; a caller
    /// of the other lookups checks before it uses their answers.
    pub fn check(&self) -> Result<()> {
        self.loaded.values().try_for_each(|l| l.debug.check())
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
        l.symtab.address_of(name)
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
        // A file shrunk under its mapping gives no names; the caller's `check` says why.
        l.debug
            .guarded(|| {
                let units: Vec<usize> = addrs
                    .iter()
                    .filter_map(|&a| {
                        let unit = ctx.find_dwarf_and_unit(a).skip_all_loads()?;
                        unit.header.offset().as_debug_info_offset().map(|o| o.0)
                    })
                    .collect();
                names::QualifiedNames::from_units(&l.debug.borrowed(), &units)
            })
            .unwrap_or_default()
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
    /// Errors: the file cannot be read or parsed, or it shrank while mapped ([`Error::Shrank`]).
    pub fn dwarf_frames(&mut self, bin: &Path, addr: u64) -> Result<Vec<Frame>> {
        let l = self.load_for(bin, &[addr])?;
        // A lookup that met the zeros of a file shrunk under its mapping is the shrank error.
        l.debug.guarded(|| {
            let mut out = Vec::new();
            if let Some(Ok(mut it)) =
                lookup_ctx(l, addr).map(|c| c.find_frames(addr).skip_all_loads())
            {
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
            out
        })
    }

    /// The raw symbol-table name gdb prints for `addr` when no DWARF covers it (a "minimal
    /// symbol", gdb/minsyms.c `lookup_minimal_symbol_by_pc_section`): the closest symbol at or
    /// below `addr` in the same section, preferring one with a size; among several at one
    /// address the greatest name (gdb sorts equal addresses by name and takes the last); `None`
    /// when that symbol has a size and `addr` is past its end and no size-less symbol is nearer
    /// (gdb prints `??` there, where binutils names the preceding function).
    pub fn minimal_symbol(&mut self, bin: &Path, addr: u64) -> Option<String> {
        let l = self.load(bin).ok()?;
        l.symtab.gdb_minimal_at(addr).map(str::to_string)
    }

    /// Frames for `addr` (an address in the ELF file's own address space, as `addr2line`
    /// takes), innermost inline frame first. `demangle` turns C++ and Rust names readable.
    ///
    /// Errors: the file cannot be read or parsed, or it shrank while mapped ([`Error::Shrank`]).
    pub fn frames(&mut self, bin: &Path, addr: u64, demangle: bool) -> Result<Vec<Frame>> {
        let l = self.load_for(bin, &[addr])?;
        // A lookup that met the zeros of a file shrunk under its mapping is the shrank error.
        l.debug.guarded(|| {
            let mut out = Vec::new();
            if let Some(Ok(mut it)) =
                lookup_ctx(l, addr).map(|c| c.find_frames(addr).skip_all_loads())
            {
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
                let found = l.symtab.binutils_at(addr);
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
                    .filter(|_| addr < u64::MAX)
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
            out
        })
    }
}
