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

use std::borrow::Cow;
use std::collections::HashMap;

use gimli::{constants, AttributeValue, EndianSlice, RunTimeEndian, UnitSectionOffset};
use object::{Object, ObjectSection};

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
        let mut tree = Tree {
            units: Some(offsets),
            ..Tree::default()
        };
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

/// How gdb prints a function name that comes from the symbol table only (no DWARF), as in
/// `#3  0x... in std::terminate() ()`: C++ names fully demangled, parameters (and a template
/// function's return type) included; Rust legacy names (`_ZN...17h<hash>E`) without the hash,
/// v0 names (`_R...`) with their crates' disambiguators as libiberty prints them
/// (`<crash[bd18f341e4a6687b]::Store>::poke`). Anything else is returned unchanged.
pub fn demangle_minimal(name: &str) -> String {
    let lang = if name.starts_with("_R") || is_rust_legacy(name) {
        constants::DW_LANG_Rust
    } else if name.starts_with("_Z") {
        constants::DW_LANG_C_plus_plus
    } else {
        return name.to_string();
    };
    // libiberty prints v0 crate roots with their disambiguator hash (`crash[bd18f341e4a6687b]`)
    // and legacy paths without the trailing `::h…` hash: rustc-demangle's plain format for v0,
    // its alternate format (which addr2line uses) for legacy.
    if name.starts_with("_R") {
        if let Ok(d) = rustc_demangle::try_demangle(name) {
            return d.to_string();
        }
    }
    match addr2line::demangle(name, lang) {
        Some(d) if lang == constants::DW_LANG_C_plus_plus => libiberty_style(d),
        Some(d) => d,
        None => name.to_string(),
    }
}

/// `_ZN` ... `17h` + 16 hex digits + `E`, optionally followed by a `.suffix`: the legacy Rust
/// mangling, which libiberty recognises by that hash component.
fn is_rust_legacy(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("_ZN") else {
        return false;
    };
    let rest = rest.split('.').next().unwrap_or(rest);
    let Some(body) = rest.strip_suffix('E') else {
        return false;
    };
    body.len() >= 19
        && body[body.len() - 19..].starts_with("17h")
        && body[body.len() - 16..]
            .bytes()
            .all(|c| c.is_ascii_hexdigit())
}

/// How gdb forms a function's name in a unit of this language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    /// Demangled linkage name, parameters removed.
    Cplus,
    /// Enclosing scopes and `DW_AT_name`.
    Rust,
    /// As Rust, and a nested subprogram is prefixed with its parent subprogram's name.
    Fortran,
    /// Not qualified by gdb: not recorded.
    Other,
}

fn lang_of(l: gimli::DwLang) -> Lang {
    use constants as c;
    match l {
        c::DW_LANG_C_plus_plus
        | c::DW_LANG_C_plus_plus_03
        | c::DW_LANG_C_plus_plus_11
        | c::DW_LANG_C_plus_plus_14
        | c::DW_LANG_C_plus_plus_17
        | c::DW_LANG_C_plus_plus_20
        | c::DW_LANG_ObjC_plus_plus => Lang::Cplus,
        c::DW_LANG_Rust | c::DW_LANG_D => Lang::Rust,
        c::DW_LANG_Fortran77
        | c::DW_LANG_Fortran90
        | c::DW_LANG_Fortran95
        | c::DW_LANG_Fortran03
        | c::DW_LANG_Fortran08
        | c::DW_LANG_Fortran18 => Lang::Fortran,
        _ if l.0 == 0x9000 => Lang::Rust, // DW_LANG_Rust_old
        _ => Lang::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Namespace,
    /// Structure, class, union, interface, module.
    Type,
    Subprogram,
}

const NONE: u32 = u32::MAX;

/// A DIE that matters for naming: a scope or a subprogram.
struct Node<'a> {
    kind: Kind,
    lang: Lang,
    /// Index of the nearest enclosing node (DIEs of other tags are transparent), or NONE.
    parent: u32,
    name: Option<&'a [u8]>,
    linkage: Option<&'a [u8]>,
    /// `.debug_info` offsets of the DW_AT_specification / DW_AT_abstract_origin targets.
    spec: Option<usize>,
    origin: Option<usize>,
    /// 2: has code (low_pc or ranges), 1: a definition without code, 0: a declaration.
    rank: u8,
    low_pc: Option<u64>,
}

#[derive(Default)]
struct Tree<'a> {
    nodes: Vec<Node<'a>>,
    /// `.debug_info` offsets of the nodes, ascending (units and DIEs are read in order).
    offsets: Vec<usize>,
    /// Memoized full names of scope nodes.
    full: HashMap<u32, Option<String>>,
    /// Read only the units at these `.debug_info` offsets (ascending), when set.
    units: Option<Vec<usize>>,
}

/// What attribute values of a unit need to be read: string and address indexes are relative
/// to bases given by the unit's root DIE. (`gimli::Unit` would also parse the line program
/// header, for which `.debug_line` would have to be decompressed.)
struct UnitCtx<'a, 'h> {
    dwarf: &'h gimli::Dwarf<Slice<'a>>,
    header: &'h gimli::UnitHeader<Slice<'a>>,
    str_offsets_base: gimli::DebugStrOffsetsBase,
    addr_base: gimli::DebugAddrBase,
}

impl<'a> UnitCtx<'a, '_> {
    fn string(&self, v: AttributeValue<Slice<'a>>) -> Option<&'a [u8]> {
        let d = self.dwarf;
        let s = match v {
            AttributeValue::String(s) => s,
            AttributeValue::DebugStrRef(o) => d.debug_str.get_str(o).ok()?,
            AttributeValue::DebugLineStrRef(o) => d.debug_line_str.get_str(o).ok()?,
            AttributeValue::DebugStrOffsetsIndex(i) => {
                let format = self.header.format();
                let o = d
                    .debug_str_offsets
                    .get_str_offset(format, self.str_offsets_base, i)
                    .ok()?;
                d.debug_str.get_str(o).ok()?
            }
            _ => return None,
        };
        Some(s.slice())
    }

    fn address(&self, v: AttributeValue<Slice<'a>>) -> Option<u64> {
        match v {
            AttributeValue::Addr(a) => Some(a),
            AttributeValue::DebugAddrIndex(i) => {
                let size = self.header.address_size();
                self.dwarf
                    .debug_addr
                    .get_address(size, self.addr_base, i)
                    .ok()
            }
            _ => None,
        }
    }
}

/// Reference attribute → `.debug_info` offset (`base`: the unit's).
fn ref_offset(v: AttributeValue<Slice<'_>>, base: usize) -> Option<usize> {
    match v {
        AttributeValue::UnitRef(o) => base.checked_add(o.0),
        AttributeValue::DebugInfoRef(o) => Some(o.0),
        _ => None,
    }
}

impl<'a> Tree<'a> {
    fn read(&mut self, dwarf: &gimli::Dwarf<Slice<'a>>) {
        if let Some(offsets) = self.units.take() {
            for o in offsets {
                let Ok(header) = dwarf
                    .debug_info
                    .header_from_offset(gimli::DebugInfoOffset(o))
                else {
                    continue;
                };
                let Ok(abbrevs) = dwarf.abbreviations(&header) else {
                    continue;
                };
                let unit = UnitCtx {
                    dwarf,
                    header: &header,
                    str_offsets_base: gimli::DebugStrOffsetsBase(0),
                    addr_base: gimli::DebugAddrBase(0),
                };
                let _ = self.read_unit(unit, &abbrevs, o);
            }
            return;
        }
        let mut units = dwarf.units();
        while let Ok(Some(header)) = units.next() {
            let UnitSectionOffset::DebugInfoOffset(base) = header.offset() else {
                continue;
            };
            let Ok(abbrevs) = dwarf.abbreviations(&header) else {
                continue;
            };
            let unit = UnitCtx {
                dwarf,
                header: &header,
                str_offsets_base: gimli::DebugStrOffsetsBase(0),
                addr_base: gimli::DebugAddrBase(0),
            };
            // Errors end the unit; what was read of it is kept.
            let _ = self.read_unit(unit, &abbrevs, base.0);
        }
    }

    fn read_unit(
        &mut self,
        mut unit: UnitCtx<'a, '_>,
        abbrevs: &gimli::Abbreviations,
        base: usize,
    ) -> gimli::Result<()> {
        let mut entries = unit.header.entries_raw(abbrevs, None)?;
        // The root DIE: the language, and the bases of the string and address indexes.
        let Some(root) = entries.read_abbreviation()? else {
            return Ok(());
        };
        let mut lang = Lang::Other;
        for spec in root.attributes() {
            let attr = entries.read_attribute(*spec)?;
            match attr.value() {
                AttributeValue::Language(l) => lang = lang_of(l),
                AttributeValue::DebugStrOffsetsBase(b) => unit.str_offsets_base = b,
                AttributeValue::DebugAddrBase(b) => unit.addr_base = b,
                _ => {}
            }
        }
        if lang == Lang::Other {
            return Ok(());
        }
        // (depth, node index) of the enclosing nodes that have children.
        let mut stack: Vec<(isize, u32)> = Vec::new();
        while !entries.is_empty() {
            let depth = entries.next_depth();
            let offset = base + entries.next_offset().0;
            let Some(abbrev) = entries.read_abbreviation()? else {
                continue;
            };
            let kind = match abbrev.tag() {
                constants::DW_TAG_namespace => Kind::Namespace,
                constants::DW_TAG_structure_type
                | constants::DW_TAG_class_type
                | constants::DW_TAG_union_type
                | constants::DW_TAG_interface_type
                | constants::DW_TAG_module => Kind::Type,
                constants::DW_TAG_subprogram => Kind::Subprogram,
                _ => {
                    entries.skip_attributes(abbrev.attributes())?;
                    continue;
                }
            };
            while stack.last().is_some_and(|&(d, _)| d >= depth) {
                stack.pop();
            }
            let mut node = Node {
                kind,
                lang,
                parent: stack.last().map_or(NONE, |&(_, i)| i),
                name: None,
                linkage: None,
                spec: None,
                origin: None,
                rank: 1,
                low_pc: None,
            };
            for spec in abbrev.attributes() {
                let attr = entries.read_attribute(*spec)?;
                match attr.name() {
                    constants::DW_AT_name => node.name = unit.string(attr.value()),
                    constants::DW_AT_linkage_name | constants::DW_AT_MIPS_linkage_name => {
                        node.linkage = unit.string(attr.value())
                    }
                    constants::DW_AT_specification => node.spec = ref_offset(attr.value(), base),
                    constants::DW_AT_abstract_origin => {
                        node.origin = ref_offset(attr.value(), base)
                    }
                    constants::DW_AT_declaration
                        if !matches!(attr.value(), AttributeValue::Flag(false)) =>
                    {
                        node.rank = 0
                    }
                    constants::DW_AT_low_pc => {
                        node.rank = 2;
                        node.low_pc = unit.address(attr.value());
                    }
                    constants::DW_AT_ranges => node.rank = 2,
                    _ => {}
                }
            }
            let Ok(index) = u32::try_from(self.nodes.len()) else {
                return Ok(());
            };
            if abbrev.has_children() {
                stack.push((depth, index));
            }
            self.nodes.push(node);
            self.offsets.push(offset);
        }
        Ok(())
    }

    fn node(&self, i: u32) -> Option<&Node<'a>> {
        self.nodes.get(i as usize)
    }

    /// The node a reference attribute points at.
    fn target(&self, offset: Option<usize>) -> Option<u32> {
        let o = offset?;
        self.offsets.binary_search(&o).ok().map(|i| i as u32)
    }

    /// gdb's `dwarf2_attr`: the attribute of `i`, else of the DIE its specification or abstract
    /// origin names, and so on.
    fn chain_attr<T>(&self, mut i: u32, get: impl Fn(&Node<'a>) -> Option<T>) -> Option<T> {
        for _ in 0..16 {
            let n = self.node(i)?;
            if let Some(v) = get(n) {
                return Some(v);
            }
            i = self.target(n.spec.or(n.origin))?;
        }
        None
    }

    /// gdb's `die_specification`: the DW_AT_specification target found along the chain, else
    /// the DW_AT_abstract_origin one.
    fn specification(&self, i: u32) -> Option<u32> {
        let s = self.chain_attr(i, |n| n.spec);
        let s = s.or_else(|| self.chain_attr(i, |n| n.origin))?;
        self.target(Some(s))
    }

    fn name(&self, i: u32) -> Option<&'a [u8]> {
        self.chain_attr(i, |n| n.name)
    }

    /// gdb's `determine_prefix`: the qualified name of the scope of node `i` ("" for none).
    fn prefix(&mut self, i: u32, depth: u32) -> String {
        let Some(n) = self.node(i) else {
            return String::new();
        };
        let (lang, kind) = (n.lang, n.kind);
        let parent = match self.specification(i) {
            Some(s) => self.node(s).map_or(NONE, |s| s.parent),
            None => n.parent,
        };
        let Some(p) = self.node(parent) else {
            return String::new();
        };
        match p.kind {
            Kind::Namespace | Kind::Type => self.full_name(parent, depth + 1).unwrap_or_default(),
            Kind::Subprogram => {
                if lang == Lang::Fortran && kind == Kind::Subprogram {
                    self.name(parent)
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .unwrap_or_default()
                } else {
                    String::new()
                }
            }
        }
    }

    /// gdb's `dwarf2_full_name` of a node: prefix `::` name. None for a nameless type.
    fn full_name(&mut self, i: u32, depth: u32) -> Option<String> {
        if depth > 64 {
            return None;
        }
        let scope = self.node(i)?.kind != Kind::Subprogram;
        if scope {
            if let Some(known) = self.full.get(&i) {
                return known.clone();
            }
        }
        let name = match self.name(i) {
            Some(s) => Some(String::from_utf8_lossy(s)),
            None if self.node(i)?.kind == Kind::Namespace => {
                Some(Cow::Borrowed("(anonymous namespace)"))
            }
            None => None,
        };
        let full = name.map(|name| {
            let prefix = self.prefix(i, depth);
            if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}::{name}")
            }
        });
        if scope {
            self.full.insert(i, full.clone());
        }
        full
    }

    /// Linkage name → name gdb prints, from the subprogram with code when there is one; and
    /// entry address → name for the subprograms with code but no linkage name.
    #[allow(clippy::type_complexity)]
    fn resolve(
        mut self,
    ) -> (
        HashMap<Box<str>, Box<str>>,
        HashMap<u64, Box<str>>,
        HashMap<Box<str>, Box<str>>,
    ) {
        let mut best: HashMap<&'a [u8], (u8, u32)> = HashMap::new();
        let mut unnamed: Vec<(u64, u32)> = Vec::new();
        let mut no_linkage: Vec<u32> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind != Kind::Subprogram {
                continue;
            }
            let i = i as u32;
            let Some(linkage) = self.chain_attr(i, |n| n.linkage) else {
                if let Some(pc) = n.low_pc.filter(|&pc| pc != 0) {
                    unnamed.push((pc, i));
                } else if n.lang == Lang::Cplus {
                    no_linkage.push(i);
                }
                continue;
            };
            if self.name(i).is_none() {
                continue;
            }
            let e = best.entry(linkage).or_insert((n.rank, i));
            if n.rank > e.0 {
                *e = (n.rank, i);
            }
        }
        let mut out = HashMap::with_capacity(best.len());
        let mut inline_only = HashMap::new();
        for (linkage, (rank, i)) in best {
            let Ok(linkage) = std::str::from_utf8(linkage) else {
                continue;
            };
            let lang = self.nodes[i as usize].lang;
            let name = if lang == Lang::Cplus {
                match cplus_frame_name(linkage) {
                    Some(n) => Some(n),
                    None => self.full_name(i, 0),
                }
            } else {
                self.full_name(i, 0)
            };
            if let Some(name) = name {
                // Only a subprogram with code can be a frame's function for gdb; the others
                // (abstract instances) name inline frames.
                if rank < 2 {
                    inline_only.insert(linkage.into(), name.into());
                } else {
                    out.insert(linkage.into(), name.into());
                }
            }
        }
        let mut entries = HashMap::with_capacity(unnamed.len());
        for (pc, i) in unnamed {
            if let Some(name) = self.full_name(i, 0) {
                entries.entry(pc).or_insert_with(|| name.into());
            }
        }
        // C++ functions without a linkage name that are only inlined (a template instantiated on
        // a lambda's closure type): by their DW_AT_name, when it names one function only.
        let mut short: HashMap<Box<str>, Option<Box<str>>> = HashMap::new();
        for i in no_linkage {
            let (Some(name), Some(full)) = (self.name(i), self.full_name(i, 0)) else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            short
                .entry(name.into())
                .and_modify(|e| {
                    if e.as_deref() != Some(full.as_str()) {
                        *e = None;
                    }
                })
                .or_insert_with(|| Some(full.into()));
        }
        for (k, v) in short {
            if let Some(v) = v {
                inline_only.entry(k).or_insert(v);
            }
        }
        (out, entries, inline_only)
    }
}

/// gdb's frame name for a C++ function with this linkage name: the demangled name without the
/// return type (`DMGL_RET_DROP`) and without the parameter list and its qualifiers
/// (`cp_remove_params`). A linkage name that is not mangled is its own name; None when a
/// mangled name does not demangle.
pub(crate) fn cplus_frame_name(linkage: &str) -> Option<String> {
    if !linkage.starts_with("_Z") {
        return Some(linkage.to_string());
    }
    let demangled = libiberty_style(addr2line::demangle(
        linkage,
        constants::DW_LANG_C_plus_plus,
    )?);
    // gdb's `cp_remove_params` cannot parse names with lambda closure types
    // (`…::{lambda(int)#1}::operator()(int) const`) and then keeps the whole name.
    let without = remove_params(&demangled)?;
    if demangled.contains("{lambda") {
        return Some(demangled[name_start(without)..].to_string());
    }
    Some(without[name_start(without)..].to_string())
}

/// Spell a demangled C++ name as GNU libiberty (gdb's demangler) does where the `cpp_demangle`
/// crate differs: integer template arguments as literals with suffixes (`(unsigned long)0` →
/// `0ul`, `(long)3600` → `3600l`, `(int)3` → `3`, `(bool)1` → `true`) and no separator left by
/// an empty parameter pack (`f<void, >` → `f<void>`).
pub(crate) fn libiberty_style(s: String) -> String {
    use std::sync::OnceLock;
    static LIT: OnceLock<regex::Regex> = OnceLock::new();
    if !s.contains('(') && !s.contains(", >") {
        return s;
    }
    let lit = LIT.get_or_init(|| {
        regex::Regex::new(
            r"\((unsigned long long|long long|unsigned long|long|unsigned int|int|bool)\)(-?[0-9]+)",
        )
        .expect("valid regex")
    });
    let out = lit.replace_all(&s, |c: &regex::Captures<'_>| {
        let (ty, n) = (&c[1], &c[2]);
        match ty {
            "bool" => (if n == "0" { "false" } else { "true" }).to_string(),
            "int" => n.to_string(),
            "unsigned int" => format!("{n}u"),
            "long" => format!("{n}l"),
            "unsigned long" => format!("{n}ul"),
            "long long" => format!("{n}ll"),
            _ => format!("{n}ull"),
        }
    });
    out.replace(", >", ">")
}

/// `f<int>(int, char) const &` → `f<int>`; None when there is no trailing parameter list.
fn remove_params(s: &str) -> Option<&str> {
    let mut s = s.trim_end();
    // A clone suffix of a demangled `.cold` / `.isra.0` symbol.
    if s.ends_with(']') {
        if let Some(k) = s.rfind(" [clone ") {
            s = s[..k].trim_end();
        }
    }
    loop {
        let t = [
            " const",
            " volatile",
            " &&",
            " &",
            " restrict",
            " noexcept",
            " transaction_safe",
        ]
        .iter()
        .find_map(|q| s.strip_suffix(q));
        match t {
            Some(t) => s = t,
            None => break,
        }
    }
    let b = s.as_bytes();
    if b.last() != Some(&b')') {
        return None;
    }
    let mut depth = 0i32;
    for k in (0..b.len()).rev() {
        match b[k] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return (k > 0).then(|| &s[..k]);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_ident(c: Option<&u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Where the function name starts in `RET NAME` (a template function's demangled name has its
/// return type first): after the last space outside brackets, operator names excepted.
fn name_start(s: &str) -> usize {
    let b = s.as_bytes();
    let (mut depth, mut start, mut k) = (0i32, 0usize, 0usize);
    while k < b.len() {
        match b[k] {
            b'(' | b'<' | b'[' | b'{' => depth += 1,
            b')' | b'>' | b']' | b'}' => depth -= 1,
            // `operator< <int>` has a space before its template arguments.
            b' ' if depth == 0 && b.get(k + 1) != Some(&b'<') => start = k + 1,
            b'o' if s[k..].starts_with("operator")
                && (k == 0 || !is_ident(b.get(k - 1)))
                && !is_ident(b.get(k + 8)) =>
            {
                k += 8;
                let rest = &b[k..];
                if rest.starts_with(b"()") || rest.starts_with(b"[]") {
                    k += 2;
                } else if rest.first() == Some(&b' ') {
                    // `operator new`, `operator delete[]`, a conversion: the rest is the name.
                    return start;
                } else {
                    k += rest
                        .iter()
                        .take_while(|c| b"<>=!+-*/%^&|~,".contains(c))
                        .count();
                }
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_return_type_are_removed() {
        let f = |s: &str| {
            let w = remove_params(s).unwrap();
            w[name_start(w)..].to_string()
        };
        assert_eq!(f("app::Box<long>::get() const"), "app::Box<long>::get");
        assert_eq!(f("app::Op::operator()(int) const"), "app::Op::operator()");
        assert_eq!(
            f("unsigned long long sizer<char>(char const*, unsigned short)"),
            "sizer<char>"
        );
        assert_eq!(
            f("std::vector<int, std::allocator<int> >::size() const"),
            "std::vector<int, std::allocator<int> >::size"
        );
        assert_eq!(
            f("bool operator< <int>(A<int> const&, A<int> const&)"),
            "operator< <int>"
        );
        assert_eq!(f("A::operator<<(int)"), "A::operator<<");
        assert_eq!(f("A::operator->() const"), "A::operator->");
        assert_eq!(f("A::operator new(unsigned long)"), "A::operator new");
        assert_eq!(
            f("A::operator unsigned long() const"),
            "A::operator unsigned long"
        );
        assert_eq!(
            f("main::{lambda(int)#1}::operator()(int) const"),
            "main::{lambda(int)#1}::operator()"
        );
        assert_eq!(
            f("(anonymous namespace)::hidden(int)"),
            "(anonymous namespace)::hidden"
        );
        assert_eq!(f("foo::bar() [clone .cold]"), "foo::bar");
        assert_eq!(remove_params("main"), None);
    }

    #[test]
    fn minimal_names() {
        assert_eq!(demangle_minimal("_ZSt9terminatev"), "std::terminate()");
        assert_eq!(demangle_minimal("main"), "main");
        assert_eq!(
            demangle_minimal("_ZN3std2rt10lang_start17h0123456789abcdefE"),
            "std::rt::lang_start"
        );
        assert!(is_rust_legacy(
            "_ZN3std2rt10lang_start17h0123456789abcdefE.llvm.123"
        ));
        assert!(!is_rust_legacy("_ZN3app6Widget4makeEi"));
    }

    #[test]
    fn garbage_is_empty() {
        assert!(QualifiedNames::from_elf(b"").is_empty());
        assert!(QualifiedNames::from_elf(b"\x7fELF garbage garbage garbage").is_empty());
    }
}

/// Names compared with gdb's on real compiled programs: for every text symbol of the program
/// (from `nm`), gdb's `Frame.name()` (what `bt` prints, `find_frame_funname`) with the pc set
/// to the symbol's address in a started process, against `QualifiedNames::get`, else
/// `get_by_entry`, else `demangle_minimal`.
#[cfg(test)]
mod against_gdb {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Instant;

    use super::*;

    const CPP: &str = r#"
#include <cstdio>
#include <vector>
namespace app {
template <typename T> struct Box {
  T v;
  T get() const;
  T peek() const { return v; }
};
template <typename T> T Box<T>::get() const { return v; }
struct Op {
  int k;
  int operator()(int x) const { return x + k; }
  bool operator<(const Op &o) const { return k < o.k; }
};
template <typename T> T twice(T x) { return x + x; }
namespace inner { int deep(unsigned long a, const char *s) { return (int)a + s[0]; } }
class Widget {
public:
  Widget(int x) : w(x) {}
  ~Widget() { std::puts("bye"); }
  static int make(int);
  struct Nested { void go(); };
  int w;
};
int Widget::make(int x) { return x * 3; }
void Widget::Nested::go() { std::puts("go"); }
}
namespace {
int hidden(int x) { return x - 1; }
struct Local { int f(int x) { return x; } };
}
template <typename T> unsigned long long sizer(const T *p, unsigned short n) { return sizeof(*p) * n; }
extern "C" int plain_c(int x) { return x + 1; }
int main() {
  app::Box<long> b{4};
  app::Box<unsigned long> c{5};
  app::Op op{2}, op2{3};
  std::vector<int> v{1, 2};
  app::Widget::Nested n; n.go();
  app::Widget w(3);
  Local l;
  auto lam = [&](int z) { return z + (int)v.size(); };
  return (int)(b.get() + b.peek() + c.get() + op(1) + (op < op2) + app::twice(3) + app::twice<short>(2) +
               hidden(2) + l.f(1) + app::inner::deep(1, "x") + app::Widget::make(1) + sizer("abc", 2) +
               sizer<char const*>(nullptr, 1) + lam(1) + plain_c(1) + w.w);
}
"#;

    const RUST: &str = r#"
use std::fmt::Display;
trait Speak { fn speak(&self) -> String; fn twice(&self) -> String { self.speak() + &self.speak() } }
struct Dog { name: String }
impl Speak for Dog { fn speak(&self) -> String { format!("{} woofs", self.name) } }
impl Dog { fn new(n: &str) -> Dog { Dog { name: n.to_string() } } }
struct Pair<T>(T, T);
impl<T: Display> Pair<T> { fn show(&self) -> String { format!("{}/{}", self.0, self.1) } }
mod zoo { pub fn show<T: std::fmt::Display>(t: T) -> String { format!("<{t}>") } }
#[inline(never)]
fn apply<F: Fn(i32) -> i32>(f: F, x: i32) -> i32 { f(x) }
fn main() {
    let d = Dog::new("rex");
    let k = 3;
    let y = apply(|v| v + k, 4);
    let p = Pair(1u8, 2u8);
    println!("{} {} {} {} {}", d.speak(), d.twice(), zoo::show(y), zoo::show("s"), p.show());
}
"#;

    fn have(tool: &str) -> bool {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn compile(dir: &Path, lang: &str) -> Option<PathBuf> {
        let (tool, src, args): (&str, &str, &[&str]) = match lang {
            "c++" => ("g++", CPP, &["-g", "-O0", "-x", "c++"]),
            _ => (
                "rustc",
                RUST,
                &["-g", "--crate-name", "qnt", "--edition", "2021"],
            ),
        };
        if !have(tool) {
            eprintln!("skipped: {tool} is not installed");
            return None;
        }
        let src_path = dir.join(if lang == "c++" { "t.cpp" } else { "t.rs" });
        std::fs::write(&src_path, src).unwrap();
        let bin = dir.join(format!("t-{tool}"));
        let out = Command::new(tool)
            .args(args)
            .arg(&src_path)
            .arg("-o")
            .arg(&bin)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(bin)
    }

    /// (address, mangled name) of the defined text symbols.
    fn text_symbols(bin: &Path) -> Vec<(u64, String)> {
        let out = Command::new("nm")
            .arg("--defined-only")
            .arg(bin)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (a, t, n) = (f.next()?, f.next()?, f.next()?);
                matches!(t, "t" | "T" | "w" | "W")
                    .then(|| Some((u64::from_str_radix(a, 16).ok()?, n.to_string())))?
            })
            .collect()
    }

    const SCRIPT: &str = r#"
import gdb
gdb.execute("starti", to_string=True)
syms = [l.split() for l in open(INFILE)]
base = int(gdb.parse_and_eval("(long)&main")) - int([a for a, n in syms if n == "main"][0], 16)
out = open(OUTFILE, "w")
for a, n in syms:
    try:
        gdb.execute("set $pc = %d" % (base + int(a, 16)), to_string=True)
        f = gdb.selected_frame()
        while f.type() == gdb.INLINE_FRAME:
            f = f.older()
        out.write("%s\t%s\t%s\n" % (n, f.name(), "D" if f.function() is not None else "M"))
    except Exception as e:
        pass
out.close()
gdb.execute("kill", to_string=True)
"#;

    /// Mangled name → (gdb's frame name, whether gdb named it from DWARF).
    fn gdb_names(
        dir: &Path,
        bin: &Path,
        syms: &[(u64, String)],
    ) -> Option<HashMap<String, (String, bool)>> {
        if !have("gdb") {
            eprintln!("skipped: gdb is not installed");
            return None;
        }
        let infile = dir.join("syms.txt");
        let outfile = dir.join("frames.txt");
        let script = dir.join("frames.py");
        let list: String = syms.iter().map(|(a, n)| format!("{a:x} {n}\n")).collect();
        std::fs::write(&infile, list).unwrap();
        std::fs::write(&script, SCRIPT).unwrap();
        let _ = Command::new("gdb")
            .args(["-batch", "-nx", "-ex"])
            .arg(format!(
                "python INFILE={:?}; OUTFILE={:?}",
                infile.display().to_string(),
                outfile.display().to_string()
            ))
            .arg("-ex")
            .arg(format!("source {}", script.display()))
            .arg(bin)
            .output()
            .unwrap();
        let Ok(text) = std::fs::read_to_string(&outfile) else {
            eprintln!("skipped: gdb could not run the program (ptrace not permitted?)");
            return None;
        };
        Some(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split('\t');
                    let (n, name, d) = (f.next()?, f.next()?, f.next()?);
                    Some((n.to_string(), (name.to_string(), d == "D")))
                })
                .collect(),
        )
    }

    /// Functions (addresses) gdb names from DWARF: (agree, compared); and the number of the
    /// program's own functions (`own` of gdb's name) on which the names differ.
    fn compare(lang: &str, own: impl Fn(&str) -> bool) -> Option<((usize, usize), usize)> {
        let dir = tempfile::tempdir().unwrap();
        let bin = compile(dir.path(), lang)?;
        let syms = text_symbols(&bin);
        let gdb = gdb_names(dir.path(), &bin, &syms)?;
        let data = std::fs::read(&bin).unwrap();
        let t = Instant::now();
        let names = QualifiedNames::from_elf(&data);
        eprintln!(
            "{lang}: {} linkage names, {} by entry, read in {:?}",
            names.len(),
            names.by_entry.len(),
            t.elapsed()
        );
        // Symbols sharing an address (C1/C2 constructors, functions merged by the compiler)
        // are one frame for gdb: agreement when the name of one of them is gdb's.
        let mut by_addr: std::collections::BTreeMap<u64, Vec<&str>> = Default::default();
        for (addr, sym) in &syms {
            by_addr.entry(*addr).or_default().push(sym);
        }
        let (mut agree, mut total, mut own_bad, mut bad) = (0, 0, 0, Vec::new());
        let mut by_source = [(0, 0); 2]; // (agree, total) named by gdb from symtab, DWARF
        for (addr, aliases) in &by_addr {
            let Some((theirs, dwarf)) = aliases.iter().find_map(|s| gdb.get(*s)) else {
                continue;
            };
            let ours: Vec<String> = aliases
                .iter()
                .map(|sym| {
                    names
                        .get(sym)
                        .or_else(|| names.get_by_entry(*addr))
                        .map(str::to_string)
                        .unwrap_or_else(|| demangle_minimal(sym))
                })
                .collect();
            total += 1;
            by_source[*dwarf as usize].1 += 1;
            if ours.contains(theirs) {
                agree += 1;
                by_source[*dwarf as usize].0 += 1;
            } else {
                if own(theirs) {
                    own_bad += 1;
                }
                let how = if *dwarf { "dwarf" } else { "symtab" };
                bad.push((
                    aliases.join(" "),
                    ours.join(" | "),
                    format!("{theirs}  [{how}]"),
                ));
            }
        }
        eprintln!(
            "{lang}: named by gdb from DWARF: {} of {} agree; from the symbol table: {} of {}",
            by_source[1].0, by_source[1].1, by_source[0].0, by_source[0].1
        );
        eprintln!("{lang}: agree with gdb on {agree} of {total} functions (text addresses)");
        if let Ok(path) = std::env::var("CLW_NAMES_DUMP") {
            let text: String = bad
                .iter()
                .map(|(s, o, t)| format!("{s}\n    ours: {o}\n    gdb:  {t}\n"))
                .collect();
            let _ = std::fs::write(format!("{path}.{lang}"), text);
        }
        for (sym, ours, theirs) in bad.iter().take(60) {
            eprintln!("  {sym}\n    ours: {ours}\n    gdb:  {theirs}");
        }
        // Damaged copies of a real file must not panic.
        let _ = QualifiedNames::from_elf(&data[..data.len() / 2]);
        let mut damaged = data.clone();
        for k in (0..damaged.len()).step_by(331) {
            damaged[k] ^= 0x5a;
        }
        let _ = QualifiedNames::from_elf(&damaged);
        Some((by_source[1], own_bad))
    }

    #[test]
    fn cplus_names_match_gdb() {
        let own = |n: &str| !n.starts_with("std::") && !n.starts_with("__gnu_cxx::");
        let Some(((agree, total), own_bad)) = compare("c++", own) else {
            return;
        };
        assert!(total > 20, "{total}");
        assert_eq!(
            own_bad, 0,
            "names of the program's functions differ from gdb's"
        );
        assert!(agree * 100 >= total * 95, "{agree} of {total}");
    }

    #[test]
    fn rust_names_match_gdb() {
        let Some(((agree, total), own_bad)) = compare("rust", |n| n.contains("qnt::")) else {
            return;
        };
        assert!(total > 100, "{total}");
        assert_eq!(
            own_bad, 0,
            "names of the program's functions differ from gdb's"
        );
        assert!(agree * 100 >= total * 95, "{agree} of {total}");
    }
}
