//! Function names the way gdb prints them in a backtrace.
//!
//! gdb does not name a frame's function by demangling the symbol; it names it from the DWARF
//! subprogram (gdb 13, `gdb/dwarf2/read.c` and `gdb/stack.c`):
//!
//! - Rust (and Fortran, D): the *qualified source name*: the names of the enclosing
//!   `DW_TAG_namespace` / structure / class / union / interface / module DIEs, an unnamed
//!   namespace spelled `(anonymous namespace)`, joined with `::`, then the subprogram's
//!   `DW_AT_name` (`dwarf2_full_name`). The linkage name is not used: `__rustc::__rust_abort`
//!   is printed `std::rt::__rust_abort`. The enclosing scopes are those of the DIE named by
//!   `DW_AT_specification` (else `DW_AT_abstract_origin`) when there is one
//!   (`determine_prefix`), and attributes the DIE lacks are looked up along that chain
//!   (`dwarf2_attr`). A subprogram parent resets the scope (a closure's name does not carry the
//!   enclosing function's scopes unless the producer put it in a namespace).
//! - C++: the symbol's name is the linkage name demangled with parameters and without the
//!   return type of a template function (`dwarf2_physname`, `DMGL_PARAMS | DMGL_RET_DROP`), and
//!   the frame shows it with the parameter list and its qualifiers removed
//!   (`find_frame_funname` → `cp_remove_params`): `app::Box<long>::get` for
//!   `_ZNK3app3BoxIlE3getEv`, although its DWARF scope is spelled `Box<long int>`.
//!
//! A function known only from the symbol table is printed with its minimal symbol's demangled
//! name, parameters included: [`demangle_minimal`].
//!
//! This file is the lookup ([`QualifiedNames`]); the DIE walk that builds it is
//! `super::scopes`, and the spelling of demangled names as libiberty prints them is
//! [`super::spelling`].

use std::borrow::Cow;
use std::collections::HashMap;

use gimli::{EndianSlice, RunTimeEndian};
use object::{Object, ObjectSection};

use super::scopes::Tree;
pub use super::spelling::demangle_minimal;

type Slice<'a> = EndianSlice<'a, RunTimeEndian>;

/// Qualified source names of the functions in an object file's DWARF, by linkage name: what gdb
/// prints for the function of a frame whose pc is in that subprogram (see the module
/// documentation for the rules by language).
#[derive(Debug, Default, Clone)]
pub struct QualifiedNames {
    by_linkage: HashMap<Box<str>, Box<str>>,
    /// Functions described only as abstract instances (inlined everywhere): the names of inline
    /// frames.
    inline_only: HashMap<Box<str>, Box<str>>,
    by_entry: HashMap<u64, Box<str>>,
}

impl QualifiedNames {
    /// As [`QualifiedNames::from_elf`], over DWARF already loaded, reading only the units at
    /// `unit_offsets` (`.debug_info` offsets of unit headers, as `addr2line` finds the unit of
    /// an address). Offsets that are not a readable unit header are skipped.
    pub(crate) fn from_units(
        dwarf: &gimli::Dwarf<Slice<'_>>,
        unit_offsets: &[usize],
    ) -> QualifiedNames {
        let mut offsets = unit_offsets.to_vec();
        offsets.sort_unstable();
        offsets.dedup();
        let mut tree = Tree::for_units(offsets);
        tree.read(dwarf);
        let (by_linkage, by_entry, inline_only) = tree.resolve();
        QualifiedNames {
            by_linkage,
            by_entry,
            inline_only,
        }
    }

    /// Walk every unit's DIE tree of the ELF file bytes `data` (a binary or its separate debug
    /// file; compressed debug sections are read) and record, for every `DW_TAG_subprogram` with
    /// a linkage name (`DW_AT_linkage_name` or `DW_AT_MIPS_linkage_name`) and a `DW_AT_name`,
    /// both possibly reached through `DW_AT_specification` / `DW_AT_abstract_origin`, the name
    /// gdb gives it. Units of languages gdb does not qualify (C, assembler, ...) are skipped: gdb
    /// names their functions by their linkage name, which the symbol table already has.
    ///
    /// Never panics: a file that is not ELF, has no DWARF or has malformed DWARF yields what
    /// could be read before the damage (possibly nothing).
    pub fn from_elf(data: &[u8]) -> QualifiedNames {
        let Ok(file) = object::File::parse(data) else {
            return QualifiedNames::default();
        };
        let endian = if file.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        // Only the sections the DIE walk reads: decompressing the others (line tables,
        // location lists) would cost more than the walk.
        // Declared sizes are checked as the DWARF loader checks them (a bomb is not inflated).
        let mut total = 0u64;
        let sections = gimli::DwarfSections::load(|id| -> Result<Cow<'_, [u8]>, ()> {
            use gimli::SectionId::*;
            if !matches!(
                id,
                DebugAbbrev
                    | DebugInfo
                    | DebugStr
                    | DebugLineStr
                    | DebugStrOffsets
                    | DebugAddr
                    | DebugRanges
                    | DebugRngLists
            ) {
                return Ok(Cow::Borrowed(&[]));
            }
            Ok(file
                .section_by_name(id.name())
                .filter(|s| super::dwarf::check_compressed(id.name(), s, &mut total).is_ok())
                .and_then(|s| s.uncompressed_data().ok())
                .unwrap_or(Cow::Borrowed(&[])))
        });
        let Ok(sections) = sections else {
            return QualifiedNames::default();
        };
        let dwarf = sections.borrow(|s| EndianSlice::new(s, endian));
        let mut tree = Tree::default();
        tree.read(&dwarf);
        let (by_linkage, by_entry, inline_only) = tree.resolve();
        QualifiedNames {
            by_linkage,
            by_entry,
            inline_only,
        }
    }

    /// The name gdb prints for the function whose linkage (mangled) name is `linkage_name`.
    ///
    /// A C++ constructor or destructor is also found by the name of its other variant (`C1` /
    /// `C2`, `D1` / `D2`): the compiler describes one of them in DWARF and makes the other an
    /// alias at the same address, and gdb prints the same name for both.
    pub fn get(&self, linkage_name: &str) -> Option<&str> {
        if let Some(name) = self.by_linkage.get(linkage_name) {
            return Some(name);
        }
        if !linkage_name.starts_with("_Z") {
            return None;
        }
        let b = linkage_name.as_bytes();
        for k in 1..b.len().saturating_sub(2) {
            if !matches!(b[k], b'C' | b'D')
                || !matches!(b[k + 1], b'1' | b'2' | b'4')
                || !matches!(b[k + 2], b'E' | b'I' | b'B')
            {
                continue;
            }
            for variant in ['1', '2', '4'] {
                if variant as u8 == b[k + 1] {
                    continue;
                }
                let other = format!("{}{variant}{}", &linkage_name[..=k], &linkage_name[k + 2..]);
                if let Some(name) = self.by_linkage.get(other.as_str()) {
                    return Some(name);
                }
            }
        }
        None
    }

    /// The name gdb prints for an inline frame of the function whose linkage name is
    /// `linkage_name`: as [`QualifiedNames::get`], and also for functions that exist only as
    /// inlined copies.
    pub fn get_inline(&self, linkage_name: &str) -> Option<&str> {
        self.get(linkage_name)
            .or_else(|| self.inline_only.get(linkage_name).map(|s| &**s))
    }

    /// The name gdb prints for a function that has no linkage name in the DWARF (a C++
    /// lambda's `operator()`, `main`), by its entry address (`DW_AT_low_pc`, file addresses).
    /// Functions of C units are not recorded: their symbol names are what gdb prints.
    pub fn get_by_entry(&self, address: u64) -> Option<&str> {
        self.by_entry.get(&address).map(|s| &**s)
    }

    /// Number of linkage names known.
    pub fn len(&self) -> usize {
        self.by_linkage.len()
    }

    /// True when no name is known (no DWARF, or only C).
    pub fn is_empty(&self) -> bool {
        self.by_linkage.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_empty() {
        assert!(QualifiedNames::from_elf(b"").is_empty());
        assert!(QualifiedNames::from_elf(b"\x7fELF garbage garbage garbage").is_empty());
    }
}
