//! Which functions of a process are probed: the allocator entry points its mapped modules
//! define (glibc's `malloc calloc realloc reallocarray posix_memalign aligned_alloc memalign
//! valloc pvalloc free`, jemalloc's `mallocx rallocx dallocx sdallocx`, each also under the
//! prefixes given with `--alloc-symbols`), found in each module's `.dynsym` (and `.symtab`
//! for the executable, which is how a static binary names them), as file offsets for the
//! uprobes. Aliases (glibc's `cfree` is `free`, `aligned_alloc` is `memalign`) are probed once.
//! C++'s `operator new`/`delete` are probed where a module defines them beside its own
//! `malloc` (jemalloc's do not call `malloc`); libstdc++'s call `malloc`/`free` and are seen
//! through them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSegment, ObjectSymbol};
use serde::Serialize;

use super::bpf::Program;
use super::probe;
use crate::coredump::modules::Module;

/// Allocator functions by name (without prefix) and the program that reads their arguments.
const FAMILY: &[(&str, Program)] = &[
    ("malloc", Program::Malloc),
    ("calloc", Program::Calloc),
    ("realloc", Program::Realloc),
    ("reallocarray", Program::Reallocarray),
    ("memalign", Program::Memalign),
    ("aligned_alloc", Program::Memalign),
    ("posix_memalign", Program::PosixMemalign),
    ("valloc", Program::Malloc),
    ("pvalloc", Program::Malloc),
    ("mallocx", Program::Malloc),
    ("rallocx", Program::Realloc),
    ("free", Program::Free),
    ("cfree", Program::Free),
    ("dallocx", Program::Free),
    ("sdallocx", Program::Free),
    ("free_sized", Program::Free),
    ("free_aligned_sized", Program::Free),
];

/// C++'s `operator new` and `operator delete` (Itanium ABI names: plain, array, nothrow,
/// sized, aligned). Probed only in a module that also defines `malloc`: an allocator library
/// (jemalloc, tcmalloc) whose own `operator new` does not go through `malloc`. libstdc++'s call
/// `malloc`/`free` and are seen through them (and not probed, or they would count twice).
const CXX: &[(&str, Program)] = &[
    ("_Znwm", Program::Malloc),
    ("_Znam", Program::Malloc),
    ("_ZnwmRKSt9nothrow_t", Program::Malloc),
    ("_ZnamRKSt9nothrow_t", Program::Malloc),
    ("_ZnwmSt11align_val_t", Program::Malloc),
    ("_ZnamSt11align_val_t", Program::Malloc),
    ("_ZnwmSt11align_val_tRKSt9nothrow_t", Program::Malloc),
    ("_ZnamSt11align_val_tRKSt9nothrow_t", Program::Malloc),
    ("_ZdlPv", Program::Free),
    ("_ZdaPv", Program::Free),
    ("_ZdlPvm", Program::Free),
    ("_ZdaPvm", Program::Free),
    ("_ZdlPvRKSt9nothrow_t", Program::Free),
    ("_ZdaPvRKSt9nothrow_t", Program::Free),
    ("_ZdlPvSt11align_val_t", Program::Free),
    ("_ZdaPvSt11align_val_t", Program::Free),
    ("_ZdlPvmSt11align_val_t", Program::Free),
    ("_ZdaPvmSt11align_val_t", Program::Free),
    ("_ZdlPvSt11align_val_tRKSt9nothrow_t", Program::Free),
    ("_ZdaPvSt11align_val_tRKSt9nothrow_t", Program::Free),
];

/// One function probed.
#[derive(Debug, Clone, Serialize)]
pub struct ProbedFunction {
    /// The module, as `/proc/PID/maps` names it.
    pub module: String,
    /// The symbol (with its prefix), and its aliases at the same address after a comma.
    pub symbol: String,
    /// Offset of the probe in the module's file, bytes.
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub file_offset: u64,
    /// Bytes past the function's first instruction (non-zero for `free` past its NULL test).
    pub offset_in_function: u64,
    /// Why the probe is where it is (for `free`-like functions), else empty.
    pub why: String,
    #[serde(skip)]
    pub(crate) program: Program,
    #[serde(skip)]
    pub(crate) file: PathBuf,
    /// The file offset of the function's entry (where its uretprobe goes).
    #[serde(skip)]
    pub(crate) entry_offset: u64,
}

/// The file offset of virtual address `addr` in `obj`: through the segment that maps it.
fn file_offset(obj: &object::File<'_>, addr: u64) -> Option<u64> {
    obj.segments().find_map(|s| {
        let (off, size) = s.file_range();
        let a = s.address();
        (addr >= a && addr < a + size).then(|| addr - a + off)
    })
}

/// The allocator functions `file` defines under `prefixes` (the empty prefix is glibc's own
/// names); the static symbol table too when `executable`.
fn in_file(
    module: &str,
    file: &Path,
    executable: bool,
    prefixes: &[String],
) -> std::io::Result<Vec<ProbedFunction>> {
    // Read, not mapped: a library replaced or truncated while it is read must not SIGBUS us
    // (a few MiB per module, once per attach).
    let map = crate::base::input::open(file, crate::base::input::Accept::Regular)
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|i| {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(i.file, 1 << 30), &mut v).map(|_| v)
        })?;
    let Ok(obj) = object::File::parse(&*map) else {
        return Ok(Vec::new());
    };
    let mut wanted: BTreeMap<String, Program> = prefixes
        .iter()
        .flat_map(|p| {
            FAMILY
                .iter()
                .map(move |(n, prog)| (format!("{p}{n}"), *prog))
        })
        .collect();
    wanted.extend(CXX.iter().map(|(n, p)| (n.to_string(), *p)));
    // By address: the names found there (aliases), and the program of the first.
    let mut at: BTreeMap<u64, (Vec<String>, Program)> = BTreeMap::new();
    let mut add = |sym: object::Symbol<'_, '_>| {
        if sym.is_undefined() || sym.kind() != object::SymbolKind::Text || sym.address() == 0 {
            return;
        }
        let Ok(name) = sym.name() else { return };
        let name = name.split('@').next().unwrap_or(name);
        if let Some(&prog) = wanted.get(name) {
            let e = at
                .entry(sym.address())
                .or_insert_with(|| (Vec::new(), prog));
            if !e.0.iter().any(|n| n == name) {
                e.0.push(name.to_string());
            }
        }
    };
    obj.dynamic_symbols().for_each(&mut add);
    if executable {
        obj.symbols().for_each(&mut add);
    }
    // operator new/delete only beside a malloc of the module's own (see CXX).
    let has_malloc = at
        .values()
        .any(|(names, p)| *p != Program::Free && names.iter().any(|n| !n.starts_with("_Z")));
    let mut out = Vec::new();
    for (addr, (mut names, prog)) in at {
        if !has_malloc && names.iter().all(|n| n.starts_with("_Z")) {
            continue;
        }
        let Some(entry) = file_offset(&obj, addr) else {
            continue;
        };
        names.sort_by_key(|n| (n.len(), n.clone()));
        let (offset_in_function, why) = if prog == Program::Free {
            let code = map.get(entry as usize..(entry as usize + 16).min(map.len()));
            let p = probe::free_probe(code.unwrap_or(&[]));
            (p.offset, p.why)
        } else {
            (0, String::new())
        };
        out.push(ProbedFunction {
            module: module.to_string(),
            symbol: names.join(","),
            file_offset: entry + offset_in_function,
            offset_in_function,
            why,
            program: prog,
            file: file.to_path_buf(),
            entry_offset: entry,
        });
    }
    Ok(out)
}

/// The allocator functions of `modules` to probe, and a note per module whose file could not
/// be read. Modules without a file (the vDSO) are skipped.
pub fn find(modules: &[Module], prefixes: &[String]) -> (Vec<ProbedFunction>, Vec<String>) {
    let files: Vec<(String, PathBuf, bool)> = modules
        .iter()
        .filter_map(|m| Some((m.path.clone(), m.file.clone()?, m.is_executable)))
        .collect();
    find_in_files(&files, prefixes)
}

/// As [`find`], for files named directly: (the name to show, the file, whether it is the
/// executable). Used before a launched command has mapped anything.
pub fn find_in_files(
    files: &[(String, PathBuf, bool)],
    prefixes: &[String],
) -> (Vec<ProbedFunction>, Vec<String>) {
    let mut all: Vec<String> = vec![String::new()];
    all.extend(prefixes.iter().filter(|p| !p.is_empty()).cloned());
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for (name, file, exe) in files {
        match in_file(name, file, *exe, &all) {
            Ok(v) => out.extend(v),
            Err(e) => notes.push(format!("{name}: not searched for allocator functions: {e}")),
        }
    }
    (out, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_images_libc_gives_one_probe_per_address_and_free_past_its_null_test() {
        let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        if !libc.exists() {
            eprintln!("SKIP: no {}", libc.display());
            return;
        }
        let v = in_file("libc.so.6", libc, false, &[String::new()]).unwrap();
        let by = |s: &str| v.iter().find(|f| f.symbol.split(',').any(|n| n == s));
        let malloc = by("malloc").expect("malloc");
        assert_eq!(malloc.program, Program::Malloc);
        assert_eq!(malloc.offset_in_function, 0);
        // cfree is an alias of free in glibc: one probe for both.
        let free = by("free").expect("free");
        assert!(free.symbol.contains("cfree"), "{}", free.symbol);
        assert_eq!(free.program, Program::Free);
        assert_eq!(
            free.file_offset,
            free.entry_offset + free.offset_in_function
        );
        let mut offsets: Vec<u64> = v.iter().map(|f| f.file_offset).collect();
        offsets.sort_unstable();
        offsets.dedup();
        assert_eq!(offsets.len(), v.len(), "one probe per address: {v:#?}");
        // The decoder's verdict on this libc's free, cross-checked with nm's address.
        let nm = std::process::Command::new("nm")
            .args(["-D"])
            .arg(libc)
            .output();
        if let Ok(o) = nm {
            let s = String::from_utf8_lossy(&o.stdout);
            let addr = s
                .lines()
                .find(|l| l.ends_with(" free@@GLIBC_2.2.5"))
                .and_then(|l| u64::from_str_radix(l.split(' ').next()?, 16).ok());
            if let Some(a) = addr {
                // libc's text segment maps file offset = vaddr.
                assert_eq!(free.entry_offset, a);
            }
        }
    }

    #[test]
    fn a_prefix_finds_nothing_where_nothing_has_it() {
        let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        if !libc.exists() {
            eprintln!("SKIP: no {}", libc.display());
            return;
        }
        let v = in_file("libc.so.6", libc, false, &["_rjem_".to_string()]).unwrap();
        assert!(v.is_empty(), "{v:#?}");
    }
}
