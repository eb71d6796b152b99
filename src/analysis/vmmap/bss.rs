//! Where a mapped ELF file's `.bss` ends, from its program headers (read with `object`).
//!
//! The kernel's ELF loader (`fs/binfmt_elf.c`, `elf_load` / `padzero`) maps each `PT_LOAD`
//! segment's `p_filesz` bytes from the file and backs the rest up to `p_memsz` — the `.bss` —
//! with anonymous memory, directly after the file mapping. That anonymous mapping carries no
//! name in `/proc/PID/smaps`, and the kernel merges it with an adjacent anonymous mapping of
//! the same protection (a malloc arena, an `mmap` placed after it): only its first
//! `page_up(end of p_memsz) − start` bytes are the file's `.bss`, the rest is anonymous memory.
//!
//! The resident part of each side is counted from `/proc/PID/pagemap` (bit 63 present, bit 62
//! swapped; Documentation/admin-guide/mm/pagemap.rst), which the owner of a process may read.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSegment, SegmentFlags};

use crate::base::input::{self, Accept};
use crate::sample::smaps::Mapping;

/// One `PT_LOAD` segment: file offset, virtual address, file and memory sizes, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `p_offset`: where the segment's bytes start in the file.
    pub offset: u64,
    /// `p_vaddr`: its virtual address before the load bias is added.
    pub vaddr: u64,
    /// `p_filesz`: bytes mapped from the file (`.data`).
    pub filesz: u64,
    /// `p_memsz`: bytes in memory; the part beyond `p_filesz` is the zero-filled `.bss`.
    pub memsz: u64,
}

/// The writable `PT_LOAD` segments of the ELF file at `path`; `None` when it cannot be read
/// or is not ELF (only the headers are read, through a read cache, not the whole file).
pub fn writable_segments(path: &Path) -> Option<Vec<Segment>> {
    // A regular file only: in a copied tree a FIFO here would block the open forever.
    let file = input::open(path, Accept::Regular).ok()?.file;
    let cache = object::ReadCache::new(file);
    let obj = object::File::parse(&cache).ok()?;
    let segs = obj
        .segments()
        .filter(|s| matches!(s.flags(), SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_W != 0))
        .map(|s| {
            let (offset, filesz) = s.file_range();
            Segment {
                offset,
                vaddr: s.address(),
                filesz,
                memsz: s.size(),
            }
        })
        .collect();
    Some(segs)
}

fn page_down(x: u64, page: u64) -> u64 {
    x - x % page
}

fn page_up(x: u64, page: u64) -> u64 {
    x.div_ceil(page) * page
}

/// The address where the `.bss` of the segment mapped by the file mapping
/// `[start, end)` at file offset `offset` ends, page-aligned up; `None` when no writable
/// segment covers that file range.
pub fn bss_end(segs: &[Segment], start: u64, end: u64, offset: u64, page: u64) -> Option<u64> {
    let len = end.checked_sub(start)?;
    let seg = segs.iter().find(|s| {
        // Checked: the ELF headers are the mapped file's, which may be anything.
        let lo = page_down(s.offset, page);
        let Some(hi) = s
            .offset
            .checked_add(s.filesz)
            .and_then(|x| x.checked_next_multiple_of(page))
        else {
            return false;
        };
        lo <= offset && offset.saturating_add(len) <= hi.max(lo.saturating_add(page))
    })?;
    // The mapping puts file offset `offset` at `start`; the segment's file offset p_offset is
    // at p_vaddr + bias.
    let bias = (start as i128) - (offset as i128) + (seg.offset as i128) - (seg.vaddr as i128);
    let mem_end = bias + seg.vaddr as i128 + seg.memsz as i128;
    u64::try_from(mem_end).ok().map(|e| page_up(e, page))
}

/// Looks up the `.bss` end of the file behind a mapping, reading each file's headers once.
#[derive(Default)]
pub struct BssFinder {
    /// `PID/root` of the target: its paths are in its own mount namespace.
    root: Option<PathBuf>,
    cache: HashMap<String, Option<Vec<Segment>>>,
    pagemap: Option<File>,
}

impl BssFinder {
    /// A finder for the process whose `/proc` directory is `pid_dir`; `None` disables the
    /// lookup (every anonymous mapping after file data is then its `.bss`, as before).
    pub fn new(pid_dir: Option<&Path>) -> BssFinder {
        BssFinder {
            root: pid_dir.map(|d| d.join("root")),
            cache: HashMap::new(),
            pagemap: pid_dir
                .and_then(|d| input::open(&d.join("pagemap"), Accept::Regular).ok())
                .map(|i| i.file),
        }
    }

    /// The `.bss` end for the writable file mapping `file`, if its ELF headers can be read.
    pub fn bss_end(&mut self, file: &Mapping) -> Option<u64> {
        let root = self.root.as_ref()?;
        let path = file.path.strip_suffix(" (deleted)").unwrap_or(&file.path);
        if !path.starts_with('/') {
            return None;
        }
        let segs = self
            .cache
            .entry(path.to_string())
            .or_insert_with(|| writable_segments(&root.join(path.trim_start_matches('/'))))
            .as_ref()?;
        bss_end(segs, file.start, file.end, file.offset, page_of(file))
    }

    /// Pages of `[start, end)` that are present and swapped, from pagemap; `None` when it
    /// cannot be read.
    fn pages(&self, start: u64, end: u64, page: u64) -> Option<(u64, u64)> {
        /// Entries read per pread (8 bytes each: 64 KiB).
        const CHUNK: u64 = 8192;
        /// Most entries looked at: 2^24 pages (64 GiB of 4 KiB pages); past it the split is
        /// by virtual size (a huge merged reservation, or a copied tree's absurd range).
        const MAX_PAGES: u64 = 1 << 24;
        let f = self.pagemap.as_ref()?;
        let first = start / page;
        let n = end.saturating_sub(start) / page;
        if n > MAX_PAGES {
            return None;
        }
        let mut buf = vec![0u8; (n.min(CHUNK) * 8) as usize];
        let (mut present, mut swapped) = (0, 0);
        let mut done = 0;
        while done < n {
            let k = (n - done).min(CHUNK);
            let chunk = &mut buf[..(k * 8) as usize];
            f.read_exact_at(chunk, first.checked_add(done)?.checked_mul(8)?)
                .ok()?;
            for e in chunk.chunks_exact(8) {
                let v = u64::from_le_bytes(e.try_into().ok()?);
                present += (v >> 63) & 1;
                swapped += (v >> 62) & 1;
            }
            done += k;
        }
        Some((present, swapped))
    }

    /// Split the anonymous mapping `m` at `at` into the `.bss` part `[start, at)` and the rest.
    /// Sizes are divided by the pages each side has resident (pagemap); without pagemap, by
    /// virtual size. Each pair of fields sums to the original.
    pub fn split(&self, m: &Mapping, at: u64) -> (Mapping, Mapping) {
        let page = page_of(m);
        let virt = |a: u64, b: u64| b.saturating_sub(a) / 1024;
        let (res, swp) = match (self.pages(m.start, at, page), self.pages(at, m.end, page)) {
            (Some((p1, s1)), Some((p2, s2))) => ((p1, p1 + p2), (s1, s1 + s2)),
            _ => {
                let v = (virt(m.start, at), virt(m.start, m.end));
                (v, v)
            }
        };
        let share = |x: u64, (part, whole): (u64, u64)| -> u64 {
            if whole == 0 {
                0
            } else {
                (x as u128 * part as u128 / whole as u128) as u64
            }
        };
        let mut a = m.clone();
        let mut b = m.clone();
        a.end = at;
        b.start = at;
        a.size_kb = virt(m.start, at);
        // Saturating: a copied tree's `Size` may disagree with its address range.
        b.size_kb = m.size_kb.saturating_sub(a.size_kb);
        for (fa, fb, x, by) in [
            (&mut a.rss_kb, &mut b.rss_kb, m.rss_kb, res),
            (&mut a.pss_kb, &mut b.pss_kb, m.pss_kb, res),
            (
                &mut a.shared_clean_kb,
                &mut b.shared_clean_kb,
                m.shared_clean_kb,
                res,
            ),
            (
                &mut a.shared_dirty_kb,
                &mut b.shared_dirty_kb,
                m.shared_dirty_kb,
                res,
            ),
            (
                &mut a.private_clean_kb,
                &mut b.private_clean_kb,
                m.private_clean_kb,
                res,
            ),
            (
                &mut a.private_dirty_kb,
                &mut b.private_dirty_kb,
                m.private_dirty_kb,
                res,
            ),
            (
                &mut a.anonymous_kb,
                &mut b.anonymous_kb,
                m.anonymous_kb,
                res,
            ),
            (&mut a.locked_kb, &mut b.locked_kb, m.locked_kb, res),
            (&mut a.swap_kb, &mut b.swap_kb, m.swap_kb, swp),
            (&mut a.swap_pss_kb, &mut b.swap_pss_kb, m.swap_pss_kb, swp),
        ] {
            *fa = share(x, by).min(x);
            *fb = x - *fa;
        }
        (a, b)
    }
}

/// The mapping's page size (KernelPageSize), 4 KiB when smaps did not say.
fn page_of(m: &Mapping) -> u64 {
    if m.kernel_page_kb > 0 {
        m.kernel_page_kb.saturating_mul(1024)
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bss_end_of_a_pie_data_segment() {
        // readelf -l of a gcc PIE with `static char big[8 << 20]`: LOAD RW at offset 0x2df0,
        // vaddr 0x3df0, filesz 0x228, memsz 0x800240.
        let segs = [Segment {
            offset: 0x2df0,
            vaddr: 0x3df0,
            filesz: 0x228,
            memsz: 0x800240,
        }];
        let bias = 0x5555_5555_4000u64;
        // The rw-p file mapping after RELRO: file offset 0x3000 at bias + 0x4000.
        let end = bss_end(&segs, bias + 0x4000, bias + 0x5000, 0x3000, 4096).unwrap();
        assert_eq!(end, bias + page_up(0x3df0 + 0x800240, 4096));
        // A file range no writable segment covers.
        assert_eq!(bss_end(&segs, bias, bias + 0x1000, 0x20000, 4096), None);
    }

    #[test]
    fn split_keeps_the_sums() {
        let m = Mapping {
            start: 0x10000,
            end: 0x20000,
            size_kb: 64,
            rss_kb: 40,
            pss_kb: 40,
            private_dirty_kb: 40,
            anonymous_kb: 40,
            ..Mapping::default()
        };
        let (a, b) = BssFinder::default().split(&m, 0x14000);
        assert_eq!(
            (a.start, a.end, b.start, b.end),
            (0x10000, 0x14000, 0x14000, 0x20000)
        );
        assert_eq!((a.size_kb, b.size_kb), (16, 48));
        // Without pagemap: by virtual size.
        assert_eq!((a.rss_kb, b.rss_kb), (10, 30));
        assert_eq!(a.private_dirty_kb + b.private_dirty_kb, 40);
    }
}
