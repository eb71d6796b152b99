//! The ELF symbol table (`.symtab`, else `.dynsym`; System V gABI "Symbol Table") as the two
//! tools users compare with name a function from it when there is no DWARF: binutils
//! (`addr2line`, the closest preceding symbol of the same section, `bfd/syms.c`
//! `_bfd_elf_find_function`) and gdb (a "minimal symbol", `gdb/minsyms.c`
//! `lookup_minimal_symbol_by_pc_section`).

use object::{Object, ObjectSection, ObjectSymbol};

/// One defined function or object symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sym {
    /// Address in the file's own address space.
    pub start: u64,
    /// `st_size` (bytes); 0 when the symbol has none.
    pub size: u64,
    /// Index of the section it is defined in.
    pub section: Option<usize>,
    pub name: String,
    /// For local symbols, the source file of the preceding `STT_FILE` symbol.
    pub file: Option<String>,
}

/// The symbols of an object file sorted by address, and its allocated sections.
#[derive(Debug, Default)]
pub(crate) struct SymbolTable {
    /// By start, the larger of two at one address first.
    symbols: Vec<Sym>,
    /// (start, end, index) of the allocated sections.
    sections: Vec<(u64, u64, usize)>,
}

impl SymbolTable {
    /// The symbol table of the ELF bytes `data` (`.symtab`, else `.dynsym`); empty when `data`
    /// is not an object file.
    pub(crate) fn parse(data: &[u8]) -> SymbolTable {
        let Ok(f) = object::File::parse(data) else {
            return SymbolTable::default();
        };
        let mut symbols = collect(f.symbols());
        if symbols.is_empty() {
            symbols = collect(f.dynamic_symbols());
        }
        let sections = f
            .sections()
            .filter(|s| s.address() != 0 && s.size() > 0)
            .map(|s| (s.address(), s.address() + s.size(), s.index().0))
            .collect();
        SymbolTable::new(symbols, sections)
    }

    fn new(mut symbols: Vec<Sym>, sections: Vec<(u64, u64, usize)>) -> SymbolTable {
        symbols.sort_by_key(|s| (s.start, std::cmp::Reverse(s.size)));
        SymbolTable { symbols, sections }
    }

    /// Keep the section table, take the symbols of `other` (a separate debug file keeps the
    /// full symbol table: `strip --strip-debug` drops `STT_FILE`) when it has any.
    pub(crate) fn prefer_symbols_of(&mut self, other: SymbolTable) {
        if !other.symbols.is_empty() {
            self.symbols = other.symbols;
        }
    }

    fn section_of(&self, addr: u64) -> Option<usize> {
        self.sections
            .iter()
            .find(|(a, b, _)| *a <= addr && addr < *b)
            .map(|s| s.2)
    }

    /// The function or object at `addr`, as binutils finds it: the closest preceding symbol of
    /// the same section (padding after a function counts as the function's), and for local
    /// symbols the source file named by the `STT_FILE` symbol before them.
    pub(crate) fn binutils_at(&self, addr: u64) -> Option<&Sym> {
        let section = self.section_of(addr)?;
        let i = self.symbols.partition_point(|s| s.start <= addr);
        self.symbols[..i]
            .iter()
            .rev()
            .find(|s| s.section == Some(section))
    }

    /// The raw name gdb prints for `addr` when no DWARF covers it (see
    /// [`crate::symbolize::Symbolizer::minimal_symbol`]).
    pub(crate) fn gdb_minimal_at(&self, addr: u64) -> Option<&str> {
        let section = self.section_of(addr)?;
        let i = self.symbols.partition_point(|s| s.start <= addr);
        let in_section = self.symbols[..i]
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
            let best = self.symbols[..i]
                .iter()
                .filter(|t| t.start == s.start && t.size != 0 && t.section == Some(section))
                .max_by(|a, b| a.name.cmp(&b.name))
                .unwrap_or(s);
            if addr >= best.start.saturating_add(best.size) {
                return zero_sized.map(|z| z.name.as_str());
            }
            return Some(best.name.as_str());
        }
        zero_sized.map(|z| z.name.as_str())
    }

    /// The address of the symbol `name`; versioned `.symtab` spellings (`name@@VERSION`,
    /// `name@VERSION`) match `name` too.
    pub(crate) fn address_of(&self, name: &str) -> Option<u64> {
        self.symbols
            .iter()
            .find(|s| {
                s.name
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('@'))
            })
            .map(|s| s.start)
    }
}

/// The defined text, data and untyped symbols with a name and an address, with the source file
/// of the `STT_FILE` symbol before each local one.
fn collect(it: object::SymbolIterator<'_, '_>) -> Vec<Sym> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(start: u64, size: u64, name: &str) -> Sym {
        Sym {
            start,
            size,
            section: Some(1),
            name: name.into(),
            file: None,
        }
    }

    fn table() -> SymbolTable {
        SymbolTable::new(
            vec![
                sym(0x1000, 0x10, "f"),
                sym(0x1000, 0x10, "f_alias"),
                sym(0x1020, 0, "label"),
                sym(0x1030, 0x8, "g"),
                sym(0x2000, 0x8, "other_section"),
                sym(0x1040, 0x8, "memcpy@@GLIBC_2.14"),
            ]
            .into_iter()
            .map(|mut s| {
                if s.start >= 0x2000 {
                    s.section = Some(2);
                }
                s
            })
            .collect(),
            vec![(0x1000, 0x1100, 1), (0x2000, 0x2100, 2)],
        )
    }

    #[test]
    fn binutils_takes_the_closest_preceding_symbol_of_the_section() {
        let t = table();
        assert_eq!(t.binutils_at(0x1004).map(|s| s.start), Some(0x1000));
        // Padding after f (0x1010..0x1020) is f's for binutils.
        assert_eq!(t.binutils_at(0x1018).map(|s| s.start), Some(0x1000));
        assert_eq!(t.binutils_at(0x1034).map(|s| s.name.as_str()), Some("g"));
        // Outside every section: nothing.
        assert_eq!(t.binutils_at(0x3000), None);
        assert_eq!(
            t.binutils_at(0x2004).map(|s| s.name.as_str()),
            Some("other_section")
        );
    }

    #[test]
    fn gdb_minimal_symbols() {
        let t = table();
        // Of two sized symbols at one address, the greatest name.
        assert_eq!(t.gdb_minimal_at(0x1004), Some("f_alias"));
        // Past f's end, no size-less symbol nearer: gdb prints ??.
        assert_eq!(t.gdb_minimal_at(0x1018), None);
        // A size-less symbol before the address names it.
        assert_eq!(t.gdb_minimal_at(0x1024), Some("label"));
        assert_eq!(t.gdb_minimal_at(0x1030), Some("g"));
    }

    #[test]
    fn versioned_names_match() {
        let t = table();
        assert_eq!(t.address_of("memcpy"), Some(0x1040));
        assert_eq!(t.address_of("g"), Some(0x1030));
        assert_eq!(t.address_of("mem"), None);
    }

    #[test]
    fn garbage_is_empty() {
        assert!(SymbolTable::parse(b"not elf").binutils_at(0).is_none());
    }
}
