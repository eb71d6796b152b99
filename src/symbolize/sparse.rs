//! A DWARF view in which only the compilation units that hold some addresses are visible, for
//! a backtrace that needs a handful of units from a library with thousands (libc's debug file
//! has about 2,000): the other units are covered by stand-in unit headers whose root DIE is
//! null, which `addr2line` skips without parsing. Units are found by `.debug_aranges` (DWARF 5
//! section 6.1.2), else by their root DIEs' `DW_AT_low_pc`/`DW_AT_high_pc`/`DW_AT_ranges`;
//! cross-unit references (`DW_FORM_ref_addr`, section 7.5.5) pull their target units in.

use gimli::{EndianSlice, RunTimeEndian};

use super::dwarf::{DebugData, Reader, SectionBytes};

impl DebugData {
    /// A `gimli::Dwarf` in which only the compilation units holding `addrs` (file addresses)
    /// are visible to `addr2line`: every other run of units in `.debug_info` is covered by one
    /// stand-in unit header whose root DIE is null, which `addr2line` skips without parsing.
    /// Building a context over all units of libc's DWARF (about 2,000 units, each with its
    /// own abbreviation table and line-program header) costs more than inflating it; a
    /// backtrace needs a handful. Offsets are unchanged, so the units kept read exactly as in
    /// the full DWARF.
    ///
    /// The units are found by `.debug_aranges`, else (rustc's own units have no aranges) by
    /// their root DIEs' ranges; the units their `DW_FORM_ref_addr` attributes point into (an
    /// abstract origin in another unit, as gcc -flto and Rust's std write) are kept too, up to
    /// 64. `None` (build the full context instead) when that could change an answer: a root
    /// DIE cannot be decoded; no unit holds any address; a kept unit is not a plain
    /// DWARF 2–5 compilation unit; or a kept unit's abbreviations use another form that refers
    /// outside the unit (`DW_FORM_ref_sig8`, the `GNU_*_alt` and `*_sup` forms, or
    /// `DW_FORM_indirect`, whose form is only known per DIE).
    pub(crate) fn dwarf_for(&self, addrs: &[u64]) -> Option<gimli::Dwarf<Reader>> {
        let borrowed = self.borrowed();
        // Address → unit offset, from .debug_aranges.
        let mut sets: Vec<(u64, u64, usize)> = Vec::new();
        let mut headers = borrowed.debug_aranges.headers();
        while let Ok(Some(h)) = headers.next() {
            let unit = h.debug_info_offset().0;
            let mut entries = h.entries();
            while let Ok(Some(e)) = entries.next() {
                let r = e.range();
                sets.push((r.begin, r.end, unit));
            }
        }
        let mut keep: Vec<usize> = Vec::new();
        let mut missing: Vec<u64> = Vec::new();
        for &a in addrs {
            match sets.iter().find(|(b, e, _)| *b <= a && a < *e) {
                Some((_, _, unit)) => keep.push(*unit),
                None => missing.push(a),
            }
        }
        if !missing.is_empty() {
            // No or incomplete .debug_aranges (rustc's own units have none): the root DIEs'
            // ranges say which units hold the rest.
            keep.extend(units_by_root_ranges(&borrowed, &missing, self.endian)?);
        }
        keep.sort_unstable();
        keep.dedup();
        use gimli::Section as _;
        let info: &[u8] = borrowed.debug_info.reader().slice();
        let abbrev: &[u8] = borrowed.debug_abbrev.reader().slice();
        // The units of .debug_info in order: (offset, length including the length field).
        let mut units: Vec<(usize, usize)> = Vec::new();
        let mut it = borrowed.units();
        while let Ok(Some(h)) = it.next() {
            let o = h.offset().as_debug_info_offset()?.0;
            units.push((o, h.length_including_self()));
        }
        // Kept units, and (closure) the units their DW_FORM_ref_addr attributes point into.
        let mut stand_in_abbrev = None;
        let mut queue: Vec<(usize, bool)> = keep.iter().map(|&o| (o, true)).collect();
        let mut k = 0;
        while k < queue.len() {
            let (o, wanted) = queue[k];
            k += 1;
            let h = borrowed
                .debug_info
                .header_from_offset(gimli::DebugInfoOffset(o))
                .ok()?;
            let plain = match h.type_() {
                gimli::UnitType::Compilation => true,
                // dwz's partial units hold DIEs other units refer to.
                gimli::UnitType::Partial => !wanted,
                _ => false,
            };
            if !plain || !(2..=5).contains(&h.version()) {
                return None;
            }
            match refers_outside(abbrev, h.debug_abbrev_offset().0, self.endian)? {
                Outside::No => {}
                Outside::Other => return None,
                Outside::RefAddr => {
                    for target in ref_addr_targets(&borrowed, &h)? {
                        let i = units.partition_point(|u| u.0 <= target).checked_sub(1)?;
                        let u = units[i].0;
                        if !queue.iter().any(|q| q.0 == u) {
                            queue.push((u, false));
                        }
                    }
                    if queue.len() > MAX_REFERENCED_UNITS {
                        return None;
                    }
                }
            }
            stand_in_abbrev.get_or_insert((h.debug_abbrev_offset().0, h.address_size()));
        }
        let mut keep: Vec<usize> = queue.iter().map(|q| q.0).collect();
        keep.sort_unstable();
        let (abbrev_offset, address_size) = stand_in_abbrev?;
        let mut out = info.to_vec();
        let mut i = 0;
        while i < units.len() {
            if keep.binary_search(&units[i].0).is_ok() {
                i += 1;
                continue;
            }
            let start = units[i].0;
            let mut end = start;
            while i < units.len() && keep.binary_search(&units[i].0).is_err() {
                end = units[i].0 + units[i].1;
                i += 1;
            }
            // DWARF 4, 32-bit: unit_length, version, debug_abbrev_offset, address_size, then
            // a null root DIE; 12 bytes, no more than the smallest real unit.
            let length = end
                .checked_sub(start)
                .filter(|&n| n >= 12)
                .and_then(|n| u32::try_from(n - 4).ok())
                .filter(|&l| l < 0xffff_fff0)?;
            let mut h = Vec::with_capacity(12);
            let (l, v, a) = (length, 4u16, u32::try_from(abbrev_offset).ok()?);
            match self.endian {
                RunTimeEndian::Little => {
                    h.extend(l.to_le_bytes());
                    h.extend(v.to_le_bytes());
                    h.extend(a.to_le_bytes());
                }
                RunTimeEndian::Big => {
                    h.extend(l.to_be_bytes());
                    h.extend(v.to_be_bytes());
                    h.extend(a.to_be_bytes());
                }
            }
            h.push(address_size);
            h.push(0);
            out.get_mut(start..start + 12)?.copy_from_slice(&h);
        }
        let mut d = self
            .sections
            .borrow(|s| gimli::EndianReader::new(s.clone(), self.endian));
        d.debug_info = gimli::DebugInfo::from(gimli::EndianReader::new(
            SectionBytes::Owned(out.into()),
            self.endian,
        ));
        d.populate_abbreviations_cache(gimli::AbbreviationsCacheStrategy::Duplicates);
        Some(d)
    }
}

/// The offsets of the compilation units whose root DIE's address ranges (`DW_AT_low_pc` with
/// `DW_AT_high_pc`, or `DW_AT_ranges`) hold one of `addrs` (an address no unit holds, in
/// code without DWARF such as `_start`, is one the full context would not find either);
/// `None` when a root DIE cannot be decoded. Only each unit's root DIE is decoded, with the one abbreviation
/// declaration it uses (a unit's full abbreviation table is what makes parsing every unit
/// slow).
fn units_by_root_ranges(
    d: &gimli::Dwarf<EndianSlice<'_, RunTimeEndian>>,
    addrs: &[u64],
    endian: RunTimeEndian,
) -> Option<Vec<usize>> {
    use gimli::{constants as c, AttributeValue, Reader as _, Section as _};
    let info = d.debug_info.reader().slice();
    let abbrev = d.debug_abbrev.reader().slice();
    let mut out = Vec::new();
    let mut units = d.units();
    while let Ok(Some(h)) = units.next() {
        if !matches!(h.type_(), gimli::UnitType::Compilation) {
            continue;
        }
        let o = h.offset().as_debug_info_offset()?.0;
        let mut r = EndianSlice::new(info.get(o + h.header_size()..)?, endian);
        let code = r.read_uleb128().ok()?;
        if code == 0 {
            continue;
        }
        let decl = abbreviation_bytes(abbrev, h.debug_abbrev_offset().0, code, endian)?;
        let mut table = decl.to_vec();
        table.push(0);
        let abbrevs = gimli::DebugAbbrev::new(&table, endian)
            .abbreviations(gimli::DebugAbbrevOffset(0))
            .ok()?;
        let mut entries = h.entries_raw(&abbrevs, None).ok()?;
        let root = entries.read_abbreviation().ok()??;
        let (mut low, mut high, mut size, mut ranges) = (None, None, None, None);
        let (mut addr_base, mut rnglists_base) =
            (gimli::DebugAddrBase(0), gimli::DebugRngListsBase(0));
        for spec in root.attributes() {
            let attr = entries.read_attribute(*spec).ok()?;
            match (attr.name(), attr.value()) {
                (c::DW_AT_low_pc, v) => low = Some(v),
                (c::DW_AT_high_pc, AttributeValue::Udata(n)) => size = Some(n),
                (c::DW_AT_high_pc, v) => high = Some(v),
                (c::DW_AT_ranges, v) => ranges = Some(v),
                (c::DW_AT_addr_base | c::DW_AT_GNU_addr_base, AttributeValue::DebugAddrBase(b)) => {
                    addr_base = b
                }
                (c::DW_AT_rnglists_base, AttributeValue::DebugRngListsBase(b)) => rnglists_base = b,
                _ => {}
            }
        }
        let address = |v: AttributeValue<EndianSlice<'_, RunTimeEndian>>| match v {
            AttributeValue::Addr(a) => Some(a),
            AttributeValue::DebugAddrIndex(i) => d
                .debug_addr
                .get_address(h.address_size(), addr_base, i)
                .ok(),
            _ => None,
        };
        let low = low.and_then(address);
        let mut spans: Vec<(u64, u64)> = Vec::new();
        if let Some(l) = low {
            if let Some(n) = size {
                spans.push((l, l.saturating_add(n)));
            } else if let Some(h) = high.and_then(address) {
                spans.push((l, h));
            }
        }
        if let Some(v) = ranges {
            let offset = match v {
                AttributeValue::RangeListsRef(o) => gimli::RangeListsOffset(o.0),
                AttributeValue::DebugRngListsIndex(i) => {
                    d.ranges.get_offset(h.encoding(), rnglists_base, i).ok()?
                }
                _ => return None,
            };
            let mut it = d
                .ranges
                .ranges(
                    offset,
                    h.encoding(),
                    low.unwrap_or(0),
                    &d.debug_addr,
                    addr_base,
                )
                .ok()?;
            loop {
                match it.next() {
                    Ok(Some(r)) => spans.push((r.begin, r.end)),
                    Ok(None) => break,
                    Err(_) => return None,
                }
            }
        }
        if addrs
            .iter()
            .any(|&a| spans.iter().any(|&(b, e)| b <= a && a < e))
        {
            out.push(o);
        }
    }
    Some(out)
}

/// One declaration of an abbreviation table: its code, its bytes, and its attribute forms.
struct Declaration<'a> {
    code: u64,
    bytes: &'a [u8],
    forms: Vec<gimli::DwForm>,
}

/// Walk the abbreviation table at `offset` of `.debug_abbrev` (DWARF 5 section 7.5.3: code,
/// tag, children flag, then name/form pairs ending 0, 0; `DW_FORM_implicit_const` carries a
/// signed value in the table), calling `f` on each declaration until it returns `Some`.
/// `Ok(None)` when the table ends first; `Err(())` when it cannot be read (cut short,
/// garbled, or `offset` past the section).
fn find_declaration<'a, T>(
    abbrev: &'a [u8],
    offset: usize,
    endian: RunTimeEndian,
    mut f: impl FnMut(&Declaration<'a>) -> Option<T>,
) -> Result<Option<T>, ()> {
    use gimli::{constants as c, Reader as _};
    let table = abbrev.get(offset..).ok_or(())?;
    let mut r = EndianSlice::new(table, endian);
    loop {
        let start = table.len() - r.len();
        let code = r.read_uleb128().map_err(drop)?;
        if code == 0 {
            return Ok(None);
        }
        r.read_uleb128().map_err(drop)?; // tag
        r.read_u8().map_err(drop)?; // children
        let mut forms = Vec::new();
        loop {
            let name = r.read_uleb128().map_err(drop)?;
            let form = r.read_uleb128().map_err(drop)?;
            if name == 0 && form == 0 {
                break;
            }
            let form = c::DwForm(u16::try_from(form).map_err(drop)?);
            if form == c::DW_FORM_implicit_const {
                r.read_sleb128().map_err(drop)?;
            }
            forms.push(form);
        }
        let bytes = table.get(start..table.len() - r.len()).ok_or(())?;
        if let Some(t) = f(&Declaration { code, bytes, forms }) {
            return Ok(Some(t));
        }
    }
}

/// The bytes of the declaration of abbreviation `code` in the table at `offset`.
fn abbreviation_bytes(
    abbrev: &[u8],
    offset: usize,
    code: u64,
    endian: RunTimeEndian,
) -> Option<&[u8]> {
    find_declaration(abbrev, offset, endian, |d| {
        (d.code == code).then_some(d.bytes)
    })
    .ok()
    .flatten()
}

/// What forms of an abbreviation table refer outside their unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outside {
    No,
    /// `DW_FORM_ref_addr` only: offsets into `.debug_info`, whose units can be kept too.
    RefAddr,
    /// Type units, supplementary or alternate files, or `DW_FORM_indirect` (the form is only
    /// known per DIE): no sparse context.
    Other,
}

/// Units kept because kept units refer into them: more than this and the full context is
/// cheaper.
const MAX_REFERENCED_UNITS: usize = 64;

/// Which forms of the abbreviation table at `offset` of `.debug_abbrev` refer outside their
/// unit (see [`DebugData::dwarf_for`]). `None` when the table cannot be read.
fn refers_outside(abbrev: &[u8], offset: usize, endian: RunTimeEndian) -> Option<Outside> {
    use gimli::constants as c;
    let mut found = Outside::No;
    let other = find_declaration(abbrev, offset, endian, |d| {
        for &form in &d.forms {
            if form == c::DW_FORM_ref_addr {
                found = Outside::RefAddr;
            } else if matches!(
                form,
                c::DW_FORM_ref_sig8
                    | c::DW_FORM_GNU_ref_alt
                    | c::DW_FORM_GNU_strp_alt
                    | c::DW_FORM_ref_sup4
                    | c::DW_FORM_ref_sup8
                    | c::DW_FORM_strp_sup
                    | c::DW_FORM_indirect
            ) {
                return Some(());
            }
        }
        None
    });
    match other {
        Ok(Some(())) => Some(Outside::Other),
        Ok(None) => Some(found),
        Err(()) => None,
    }
}

/// The `.debug_info` offsets the `DW_FORM_ref_addr` attributes of unit `h` point at (every
/// DIE is read). `None` when the unit cannot be read to its end.
fn ref_addr_targets(
    d: &gimli::Dwarf<EndianSlice<'_, RunTimeEndian>>,
    h: &gimli::UnitHeader<EndianSlice<'_, RunTimeEndian>>,
) -> Option<Vec<usize>> {
    let abbrevs = d.abbreviations(h).ok()?;
    let mut entries = h.entries_raw(&abbrevs, None).ok()?;
    let mut out = Vec::new();
    while !entries.is_empty() {
        let Some(abbrev) = entries.read_abbreviation().ok()? else {
            continue;
        };
        for spec in abbrev.attributes() {
            let attr = entries.read_attribute(*spec).ok()?;
            if let gimli::AttributeValue::DebugInfoRef(o) = attr.raw_value() {
                out.push(o.0);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_that_refer_outside_the_unit() {
        let le = RunTimeEndian::Little;
        // code 1, DW_TAG_compile_unit, children, (DW_AT_name, DW_FORM_string), end; table end.
        let plain = [1, 0x11, 1, 0x03, 0x08, 0, 0, 0];
        assert_eq!(refers_outside(&plain, 0, le), Some(Outside::No));
        // code 1, DW_TAG_subprogram, no children, (DW_AT_abstract_origin, DW_FORM_ref_addr).
        let cross = [1, 0x2e, 0, 0x31, 0x10, 0, 0, 0];
        assert_eq!(refers_outside(&cross, 0, le), Some(Outside::RefAddr));
        // DW_FORM_ref_sig8 (a type unit).
        let sig8 = [1, 0x2e, 0, 0x49, 0x20, 0, 0, 0];
        assert_eq!(refers_outside(&sig8, 0, le), Some(Outside::Other));
        // DW_FORM_implicit_const carries its value in the table; then DW_FORM_ref4 (local).
        let implicit = [1, 0x2e, 0, 0x3a, 0x21, 0x05, 0x31, 0x13, 0, 0, 0];
        assert_eq!(refers_outside(&implicit, 0, le), Some(Outside::No));
        // Cut short, or an offset past the end: unknown.
        assert_eq!(refers_outside(&cross[..3], 0, le), None);
        assert_eq!(refers_outside(&plain, 100, le), None);
    }
}
