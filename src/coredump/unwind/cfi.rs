//! Finding the CFI row for a pc: the FDE in `.eh_frame` (through `.eh_frame_hdr`), the
//! binary's own `.debug_frame` or its separate debug file's, the row computed once per image
//! and SVMA and cached there, and the frame-pointer question the heap profiler asks of a row.

use super::*;

/// The FDE covering `svma`, with the section it was found in.
pub(super) enum Fde<'a> {
    Eh(
        EhFrame<Slice<'a>>,
        BaseAddresses,
        gimli::FrameDescriptionEntry<Slice<'a>>,
    ),
    Debug(
        DebugFrame<Slice<'a>>,
        BaseAddresses,
        gimli::FrameDescriptionEntry<Slice<'a>>,
    ),
}

/// Find the FDE of `svma` in `img`: `.eh_frame` (through `.eh_frame_hdr` when present), then
/// the binary's own `.debug_frame`, then its separate debug file's.
pub(super) fn find_fde(img: &Image, svma: u64) -> Option<Fde<'_>> {
    let data: &[u8] = &img.data;
    if let Some((addr, range)) = &img.eh_frame {
        let eh = EhFrame::new(&data[range.clone()], LittleEndian);
        let mut bases = BaseAddresses::default().set_eh_frame(*addr);
        if let Some(t) = img.text {
            bases = bases.set_text(t);
        }
        let mut fde = None;
        if let Some((haddr, hrange)) = &img.eh_frame_hdr {
            bases = bases.set_eh_frame_hdr(*haddr);
            if let Ok(hdr) = EhFrameHdr::new(&data[hrange.clone()], LittleEndian).parse(&bases, 8) {
                if let Some(t) = hdr.table() {
                    fde = t
                        .fde_for_address(&eh, &bases, svma, EhFrame::cie_from_offset)
                        .ok();
                }
            }
        }
        if fde.is_none() {
            fde = eh
                .fde_for_address(&bases, svma, EhFrame::cie_from_offset)
                .ok();
        }
        if let Some(fde) = fde {
            return Some(Fde::Eh(eh, bases, fde));
        }
    }
    let own = img.debug_frame.as_ref().map(|r| &data[r.clone()]);
    let separate = || {
        img.separate_debug_frame()
            .map(|f| &f.bytes[f.range.clone()])
    };
    for section in std::iter::once(own).chain(std::iter::once_with(separate)) {
        let Some(section) = section else { continue };
        let mut df = DebugFrame::new(section, LittleEndian);
        df.set_address_size(8);
        let bases = BaseAddresses::default();
        if let Ok(fde) = df.fde_for_address(&bases, svma, DebugFrame::cie_from_offset) {
            return Some(Fde::Debug(df, bases, fde));
        }
    }
    None
}

/// Which section a cached row came from (its expressions are read from there).
#[derive(Debug, Clone, Copy)]
pub(super) enum RowSection {
    Eh,
    Debug,
    SeparateDebug,
}

/// A CFI row the unwinder computed for one SVMA of an image, kept for the next unwind through
/// the same pc; `None` where no FDE covers it.
#[derive(Debug, Clone)]
pub struct CachedRow(Option<(UnwindTableRow<usize>, bool, RowSection)>);

/// The row for `svma`, from the image's cache or computed (and cached).
pub(super) fn row_for(
    img: &Image,
    svma: u64,
    ctx: &mut UnwindContext<usize>,
) -> Result<CachedRow, String> {
    if let Some(hit) = img.rows.lock().ok().and_then(|m| m.get(&svma).cloned()) {
        return Ok(hit);
    }
    let row = match find_fde(img, svma) {
        None => CachedRow(None),
        Some(Fde::Eh(eh, bases, fde)) => {
            let signal = fde.cie().is_signal_trampoline();
            let r = fde
                .unwind_info_for_address(&eh, &bases, ctx, svma)
                .map_err(|e| format!("bad CFI at {svma:#x}: {e}"))?;
            CachedRow(Some((r.clone(), signal, RowSection::Eh)))
        }
        Some(Fde::Debug(df, bases, fde)) => {
            let signal = fde.cie().is_signal_trampoline();
            let r = fde
                .unwind_info_for_address(&df, &bases, ctx, svma)
                .map_err(|e| format!("bad CFI at {svma:#x}: {e}"))?;
            let own = img.debug_frame.as_ref().map(|r| &img.data[r.clone()]);
            let which = if own.is_some_and(|o| o.as_ptr() == df_ptr(&df)) {
                RowSection::Debug
            } else {
                RowSection::SeparateDebug
            };
            CachedRow(Some((r.clone(), signal, which)))
        }
    };
    if let Ok(mut m) = img.rows.lock() {
        // Bounded: a profiler over a huge program must not grow without end.
        if m.len() < 1 << 16 {
            m.insert(svma, row.clone());
        }
    }
    Ok(row)
}

pub(super) fn df_ptr(df: &DebugFrame<Slice<'_>>) -> *const u8 {
    use gimli::Section;
    df.reader().slice().as_ptr()
}

/// Step through the CFI of `img` for `svma` (its row cached in the image).
pub(super) fn cfi_step(
    core: &dyn AddressSpace,
    img: &Image,
    svma: u64,
    regs: &Regs,
    ctx: &mut UnwindContext<usize>,
) -> Step {
    let row = match row_for(img, svma, ctx) {
        Ok(CachedRow(Some(r))) => r,
        Ok(CachedRow(None)) => return Step::NoInfo,
        Err(e) => return Step::Failed(e),
    };
    let (row, signal, which) = row;
    let data: &[u8] = &img.data;
    let step = match which {
        RowSection::Eh => match &img.eh_frame {
            Some((_, range)) => apply_row(
                core,
                &EhFrame::new(&data[range.clone()], LittleEndian),
                &row,
                regs,
            ),
            None => Step::NoInfo,
        },
        RowSection::Debug => match &img.debug_frame {
            Some(range) => {
                let mut df = DebugFrame::new(&data[range.clone()], LittleEndian);
                df.set_address_size(8);
                apply_row(core, &df, &row, regs)
            }
            None => Step::NoInfo,
        },
        RowSection::SeparateDebug => match img.separate_debug_frame() {
            Some(f) => {
                let mut df = DebugFrame::new(&f.bytes[f.range.clone()], LittleEndian);
                df.set_address_size(8);
                apply_row(core, &df, &row, regs)
            }
            None => Step::NoInfo,
        },
    };
    match step {
        Step::Next { regs, .. } => Step::Next { regs, signal },
        other => other,
    }
}

/// Whether the frame-pointer chain is right at `pc`: its CFI row says the caller's
/// frame is found through `%rbp` (CFA = rbp + 16, the return address at CFA − 8 and the
/// caller's rbp at CFA − 16, as `push %rbp; mov %rsp,%rbp` leaves them). `Some(false)` when the
/// row finds the CFA some other way (code built with `-fomit-frame-pointer`, or a prologue not
/// yet done): a frame-pointer walk from there gives no caller, or a wrong one. `None` without
/// CFI for `pc` (an absolute address; look up pc − 1 for a return address).
pub fn frame_pointer_frame(modules: &[Module], pc: u64) -> Option<bool> {
    let m = module_at(modules, pc)?;
    let img = m.image.as_ref()?;
    let svma = pc.wrapping_sub(m.load_bias);
    let mut ctx: Box<UnwindContext<usize>> = Box::new(UnwindContext::new());
    let fp_row = |row: &UnwindTableRow<usize>| {
        let cfa = matches!(row.cfa(), CfaRule::RegisterAndOffset { register, offset }
            if register.0 as usize == X86_64.fp && *offset == 16);
        let rule = |r: usize| {
            row.registers()
                .find(|(reg, _)| reg.0 as usize == r)
                .map(|(_, rule)| rule.clone())
        };
        cfa && matches!(rule(X86_64.ra), Some(RegisterRule::Offset(-8)))
            && matches!(rule(X86_64.fp), Some(RegisterRule::Offset(-16)))
    };
    match find_fde(img, svma)? {
        Fde::Eh(eh, bases, fde) => fde
            .unwind_info_for_address(&eh, &bases, &mut ctx, svma)
            .ok()
            .map(fp_row),
        Fde::Debug(df, bases, fde) => fde
            .unwind_info_for_address(&df, &bases, &mut ctx, svma)
            .ok()
            .map(fp_row),
    }
}
