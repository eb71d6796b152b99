//! The DWARF sections of one object file, read once and shared by the line/inline lookups
//! (`addr2line::Context`) and the qualified-name reader ([`super::names`]).
//!
//! The file is memory-mapped. A section stored plain is used in place (only its touched pages
//! are read); a compressed one (`SHF_COMPRESSED`, zlib or zstd, ELF gABI "Section
//! Compression") is decompressed once, on its own thread when it is large, so that the biggest
//! (`.debug_info`, 5.8 MB in Debian's libc6-dbg) and the rest inflate on two cores at once.
//! Sections no lookup reads (`.debug_loc`, `.debug_loclists`, `.debug_types`, `.debug_macro`)
//! are never decompressed.
//!
//! A compressed section is inflated only when its declared size (`ch_size` of its
//! `Elf64_Chdr`) is believable ([`check_compressed`]): at most [`MAX_RATIO`](crate::base::inflate::MAX_RATIO) times its compressed
//! bytes, and all the sections of one file together at most [`MAX_INFLATED`](crate::base::inflate::MAX_INFLATED) bytes. Otherwise the
//! file's debug information is not loaded and the error names the section and the file
//! (binutils' addr2line inflates as it reads, so a bomb costs it nothing; we inflate whole
//! sections, so the claim is checked first).
//!
//! A view of only some compilation units, for a backtrace's few addresses, is
//! [`super::sparse`].

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use gimli::{EndianSlice, RunTimeEndian, SectionId};
use object::{Object, ObjectSection};

use crate::base::mmap::Map;

/// The bytes of one section: a range of the mapped file, or the decompressed copy.
#[derive(Clone)]
pub(crate) enum SectionBytes {
    Mapped(Arc<Map>, usize, usize),
    Owned(Arc<[u8]>),
    Empty,
}

impl Deref for SectionBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SectionBytes::Mapped(m, start, end) => &m.bytes()[*start..*end],
            SectionBytes::Owned(v) => v,
            SectionBytes::Empty => &[],
        }
    }
}

impl std::fmt::Debug for SectionBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SectionBytes({} bytes)", self.len())
    }
}

// SAFETY: the bytes behind a `SectionBytes` live in an `Arc` (the mapping or the decompressed
// buffer) that is never mutated, so their address is stable across moves and clones.
unsafe impl stable_deref_trait::StableDeref for SectionBytes {}
// SAFETY: as above; a clone shares the same `Arc`, hence the same address.
unsafe impl stable_deref_trait::CloneStableDeref for SectionBytes {}

/// The reader `addr2line::Context` is built on: owns its bytes, so the context can live in a
/// cache beside the mapping.
pub(crate) type Reader = gimli::EndianReader<RunTimeEndian, SectionBytes>;

/// The sections a lookup of functions, inline chains, lines and names reads.
const NEEDED: [SectionId; 10] = [
    SectionId::DebugAbbrev,
    SectionId::DebugAddr,
    SectionId::DebugAranges,
    SectionId::DebugInfo,
    SectionId::DebugLine,
    SectionId::DebugLineStr,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugRanges,
    SectionId::DebugRngLists,
];

/// A compressed section at least this big (bytes, compressed) gets a thread of its own.
const OWN_THREAD: u64 = 256 << 10;

pub(crate) use crate::base::inflate::check_compressed;

/// One object file's DWARF, loaded.
pub(crate) struct DebugData {
    pub(super) sections: gimli::DwarfSections<SectionBytes>,
    pub(super) endian: RunTimeEndian,
    /// The file and its mapping, asked after each lookup whether a read faulted ([`Self::check`]).
    path: std::path::PathBuf,
    map: Arc<Map>,
}

impl DebugData {
    /// Map `path` and load its DWARF sections (see the module docs).
    ///
    /// Errors: the file cannot be opened or mapped (`std::io::Error`), or it is not an object
    /// file (`object::Error`, as text).
    pub(crate) fn load(path: &Path) -> Result<DebugData, String> {
        let f = crate::base::input::open(path, crate::base::input::Accept::Regular)
            .map_err(|e| e.to_string())?
            .file;
        let len = usize::try_from(f.metadata().map_err(|e| e.to_string())?.len())
            .map_err(|e| e.to_string())?;
        if len == 0 {
            return Err("empty file".into());
        }
        let map = Arc::new(Map::new(&f, len).map_err(|e| e.to_string())?);
        let bytes = map.bytes();
        let file = object::File::parse(bytes).map_err(|e| e.to_string())?;
        let endian = if file.is_little_endian() {
            RunTimeEndian::Little
        } else {
            RunTimeEndian::Big
        };
        let base = bytes.as_ptr() as usize;
        // Every claim is checked before anything is inflated.
        let mut total = 0u64;
        for id in NEEDED {
            if let Some(s) = file.section_by_name(id.name()) {
                check_compressed(id.name(), &s, &mut total)?;
            }
        }
        // Plain sections are ranges of the map; compressed ones are inflated, the large ones
        // on threads of their own.
        let section = |id: SectionId| -> SectionBytes {
            let Some(s) = file.section_by_name(id.name()) else {
                return SectionBytes::Empty;
            };
            match s.uncompressed_data() {
                Ok(std::borrow::Cow::Borrowed(b)) if !b.is_empty() => {
                    let start = b.as_ptr() as usize - base;
                    SectionBytes::Mapped(map.clone(), start, start + b.len())
                }
                Ok(std::borrow::Cow::Owned(v)) => SectionBytes::Owned(v.into()),
                _ => SectionBytes::Empty,
            }
        };
        // The largest compressed section inflates on a thread of its own while this thread
        // does the rest: two cores, and `.debug_info` is often as big as all others together.
        let compressed_size = |id: SectionId| {
            file.section_by_name(id.name())
                .filter(|s| {
                    s.compressed_data()
                        .is_ok_and(|c| c.format != object::CompressionFormat::None)
                })
                .and_then(|s| s.compressed_file_range().ok())
                .map_or(0, |r| r.compressed_size)
        };
        let largest = NEEDED
            .iter()
            .copied()
            .max_by_key(|&id| compressed_size(id))
            .filter(|&id| compressed_size(id) >= OWN_THREAD);
        let mut loaded: Vec<(SectionId, SectionBytes)> = Vec::with_capacity(NEEDED.len());
        std::thread::scope(|scope| {
            let section = &section;
            let handle = largest.map(|id| scope.spawn(move || (id, section(id))));
            for &id in NEEDED.iter().filter(|&&id| Some(id) != largest) {
                loaded.push((id, section(id)));
            }
            if let Some(h) = handle {
                // A panic while inflating (none is known) leaves the section empty.
                if let Ok(r) = h.join() {
                    loaded.push(r);
                }
            }
        });
        let sections = gimli::DwarfSections::load(|id| -> Result<SectionBytes, ()> {
            Ok(loaded
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, b)| b.clone())
                .unwrap_or(SectionBytes::Empty))
        })
        .unwrap_or_else(|()| unreachable!("the loader above never fails"));
        Ok(DebugData {
            sections,
            endian,
            path: path.to_path_buf(),
            map: map.clone(),
        })
    }

    /// `Ok` while no read of the file's mapping has faulted; else [`crate::Error::Shrank`]:
    /// the file shrank while mapped and anything looked up in it may have been read from zeros.
    pub(crate) fn check(&self) -> crate::error::Result<()> {
        self.map.check(&self.path)
    }

    /// Run `f`, a lookup that reads these sections: [`crate::Error::Shrank`] instead of its
    /// value when the file shrank under the mapping, also when the lookup panicked on the
    /// zeros it then reads ([`Map::guarded`]).
    pub(crate) fn guarded<T>(&self, f: impl FnOnce() -> T) -> crate::error::Result<T> {
        self.map.guarded(&self.path, f)
    }

    /// An owning `gimli::Dwarf`, for `addr2line::Context::from_dwarf`.
    pub(crate) fn dwarf(&self) -> gimli::Dwarf<Reader> {
        let mut d = self
            .sections
            .borrow(|s| gimli::EndianReader::new(s.clone(), self.endian));
        d.populate_abbreviations_cache(gimli::AbbreviationsCacheStrategy::Duplicates);
        d
    }

    /// A borrowing `gimli::Dwarf` over the same bytes, for the name reader.
    pub(crate) fn borrowed(&self) -> gimli::Dwarf<EndianSlice<'_, RunTimeEndian>> {
        self.sections.borrow(|s| EndianSlice::new(s, self.endian))
    }
}
