//! The DWARF scope tree gdb qualifies function names by (gdb 13, `gdb/dwarf2/read.c`:
//! `dwarf2_full_name`, `determine_prefix`, `dwarf2_attr`): the namespace, type and subprogram
//! DIEs of each unit, read without `gimli::Unit` (which would parse the line program header and
//! so inflate `.debug_line`), then resolved into names by linkage name, by entry address, and
//! for functions that exist only inlined. The rules by language are in [`super::names`].

use std::borrow::Cow;
use std::collections::HashMap;

use gimli::{constants, AttributeValue, EndianSlice, RunTimeEndian, UnitSectionOffset};

use super::spelling::cplus_frame_name;

type Slice<'a> = EndianSlice<'a, RunTimeEndian>;

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
pub(super) struct Tree<'a> {
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
    /// A tree that reads only the units at these `.debug_info` offsets (ascending).
    pub(super) fn for_units(units: Vec<usize>) -> Tree<'a> {
        Tree {
            units: Some(units),
            ..Tree::default()
        }
    }

    pub(super) fn read(&mut self, dwarf: &gimli::Dwarf<Slice<'a>>) {
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
    pub(super) fn resolve(
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
