//! The bytes of a module's ELF file (mapped read-only from disk, or for the vDSO copied out of
//! the core) and what the unwinder reads from it in the file's own addresses (SVMA): the
//! `.eh_frame_hdr`/`.eh_frame`/`.debug_frame` ranges (System V x86-64 psABI section 4.2.4,
//! LSB "Exception Frames"), the executable `PT_LOAD` segments, the vDSO's dynamic symbols;
//! and the `.debug_frame` of a separate debug file, found through
//! [`super::modules::DebugFileLookup`] only when the module's own CFI has no FDE for a pc.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SegmentFlags};

use super::modules::DebugFileLookup;

/// A module's bytes: a file mapped read-only, or (the vDSO) a copy out of the core.
pub(crate) enum Bytes {
    Mapped(crate::base::mmap::Map),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m.bytes(),
            Bytes::Owned(v) => v,
        }
    }
}

impl Bytes {
    /// Whether a read of the mapped file faulted because it shrank (its bytes from there on
    /// read as zeros, [`crate::base::mmap::Map::faulted`]); never for a copy.
    pub(crate) fn faulted(&self) -> bool {
        matches!(self, Bytes::Mapped(m) if m.faulted())
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.len())
    }
}

/// Map the file at `path` (empty files and unreadable ones: `None`).
pub(crate) fn map_file(path: &Path) -> Option<Bytes> {
    // Not a FIFO or a device named in a core's file list: opened without blocking, refused.
    let f = crate::base::input::open(path, crate::base::input::Accept::Regular)
        .ok()?
        .file;
    let len = usize::try_from(f.metadata().ok()?.len()).ok()?;
    if len == 0 {
        return None;
    }
    crate::base::mmap::Map::new(&f, len).ok().map(Bytes::Mapped)
}

/// The bytes of a module's ELF file (from disk, or for the vDSO from the core) and what the
/// unwinder needs from it, in the file's own addresses (SVMA).
#[derive(Debug)]
pub(crate) struct Image {
    pub data: Arc<Bytes>,
    /// (svma, file range) of `.eh_frame`, `.eh_frame_hdr`, `.debug_frame`, `.text`.
    pub eh_frame: Option<(u64, std::ops::Range<usize>)>,
    pub eh_frame_hdr: Option<(u64, std::ops::Range<usize>)>,
    pub debug_frame: Option<std::ops::Range<usize>>,
    pub text: Option<u64>,
    /// (svma start, svma end, file offset) of the executable PT_LOAD segments.
    pub exec: Vec<(u64, u64, u64)>,
    /// Dynamic symbols (start, size, name), sorted, for the vDSO.
    pub dynsyms: Vec<(u64, u64, String)>,
    /// The lowest PT_LOAD address, page-aligned (what file offset 0 is mapped as).
    pub first_vaddr: Option<u64>,
    /// `e_entry`.
    pub entry: u64,
    /// The build ID, hex.
    pub build_id: Option<String>,
    /// The file the image was read from and the directories to look for its separate debug
    /// file in, when there may be one (not for the vDSO).
    pub debug_lookup: Option<(PathBuf, Arc<dyn DebugFileLookup>)>,
    /// `.debug_frame` of the separate debug file: looked up the first time the image's own
    /// CFI has no FDE for a pc (a binary built without `.eh_frame`, split with
    /// `objcopy --only-keep-debug`), so that other modules never pay for it.
    pub separate_debug_frame: std::sync::OnceLock<Option<FrameData>>,
    /// The unwinder's CFI rows by SVMA, computed once each: a profiler unwinds the same
    /// return addresses over and over (`crate::coredump::unwind`).
    pub rows: std::sync::Mutex<std::collections::HashMap<u64, crate::coredump::unwind::CachedRow>>,
}

/// The bytes of a `.debug_frame` section (inflated when it was compressed).
#[derive(Debug)]
pub(crate) struct FrameData {
    pub bytes: Arc<Bytes>,
    pub range: std::ops::Range<usize>,
}

impl Image {
    /// `.debug_frame` of the image's separate debug file, when it has one with that section.
    pub(crate) fn separate_debug_frame(&self) -> Option<&FrameData> {
        self.separate_debug_frame
            .get_or_init(|| {
                let (file, lookup) = self.debug_lookup.as_ref()?;
                let path = lookup.separate_debug_file(file, &self.data)?;
                let data = map_file(&path)?;
                let f = object::File::parse(&*data).ok()?;
                let s = f.section_by_name(".debug_frame")?;
                // A declared size past the bounds is not inflated: no CFI from it.
                crate::base::inflate::check_compressed(".debug_frame", &s, &mut 0).ok()?;
                match s.uncompressed_data().ok()? {
                    std::borrow::Cow::Borrowed(b) => {
                        let start = (b.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
                        let range = start..start.checked_add(b.len())?;
                        Some(FrameData {
                            bytes: Arc::new(data),
                            range,
                        })
                    }
                    std::borrow::Cow::Owned(v) => {
                        let range = 0..v.len();
                        Some(FrameData {
                            bytes: Arc::new(Bytes::Owned(v)),
                            range,
                        })
                    }
                }
            })
            .as_ref()
    }
}

impl Image {
    /// Whether a read of the image's file, or of its separate debug file's `.debug_frame`,
    /// faulted because the file shrank while mapped: what the unwinder read from it cannot be
    /// trusted.
    pub(crate) fn faulted(&self) -> bool {
        self.data.faulted()
            || self
                .separate_debug_frame
                .get()
                .and_then(Option::as_ref)
                .is_some_and(|d| d.bytes.faulted())
    }

    pub(crate) fn parse(data: Arc<Bytes>, want_dynsyms: bool) -> Option<Image> {
        let f = object::File::parse(&**data).ok()?;
        let range = |name: &str| {
            let s = f.section_by_name(name)?;
            let (off, size) = s.file_range()?;
            let end = off.checked_add(size)?;
            (end <= data.len() as u64).then_some((s.address(), off as usize..end as usize))
        };
        let exec = f
            .segments()
            .filter(|s| matches!(s.flags(), SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0))
            .map(|s| (s.address(), s.address().saturating_add(s.size()), s.file_range().0))
            .collect();
        let mut dynsyms: Vec<(u64, u64, String)> = if want_dynsyms {
            f.dynamic_symbols()
                .chain(f.symbols())
                .filter(|s| s.is_definition() && s.address() != 0)
                .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
                .collect()
        } else {
            Vec::new()
        };
        dynsyms.sort();
        let img = Image {
            eh_frame: range(".eh_frame"),
            eh_frame_hdr: range(".eh_frame_hdr"),
            debug_frame: range(".debug_frame").map(|r| r.1),
            text: f.section_by_name(".text").map(|s| s.address()),
            exec,
            dynsyms,
            first_vaddr: f.segments().map(|s| s.address() & !0xfff).min(),
            entry: f.entry(),
            build_id: f
                .build_id()
                .ok()
                .flatten()
                .map(|id| id.iter().map(|b| format!("{b:02x}")).collect()),
            data: data.clone(),
            debug_lookup: None,
            separate_debug_frame: std::sync::OnceLock::new(),
            rows: Default::default(),
        };
        Some(img)
    }

    /// Whether `svma` is in an executable segment.
    pub(crate) fn is_code(&self, svma: u64) -> bool {
        self.exec.iter().any(|(a, b, _)| *a <= svma && svma < *b)
    }

    /// `len` bytes of code at `svma`, from the file.
    pub(crate) fn code(&self, svma: u64, len: usize) -> Option<&[u8]> {
        let (a, _, off) = self.exec.iter().find(|(a, b, _)| *a <= svma && svma < *b)?;
        let start = usize::try_from(off.checked_add(svma - a)?).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }
}

/// The dynamic symbol holding `svma` in an image (vDSO).
pub(crate) fn dynsym_at(img: &Image, svma: u64) -> Option<&str> {
    let i = img.dynsyms.partition_point(|s| s.0 <= svma);
    let s = &img.dynsyms[i.checked_sub(1)?];
    (svma < s.0.saturating_add(s.1.max(1))).then_some(s.2.as_str())
}
