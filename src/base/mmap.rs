//! A read-only memory map of a whole file, over memmap2 (`MAP_PRIVATE`, `PROT_READ`), with the
//! two pieces of `madvise(2)` advice the readers use: `MADV_SEQUENTIAL` when mapped (large logs
//! are read front to back) and `MADV_DONTNEED` to drop a range that has been read from our
//! address space (it stays in the page cache), which keeps a multi-gigabyte log's scan bounded.
//!
//! Used by triage's mapped scan of large logs and by `backtrace`/`symbolize` for binaries and
//! debug files: only the pages of the sections used are touched.
//!
//! A mapped file that shrinks makes reads past its new end fault (SIGBUS): callers that read a
//! file that may be truncated under them (logs) check its size before each batch
//! ([`Map::shrank`]).

use std::fs::File;
use std::io;

use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

/// A read-only private mapping of the first `len` bytes of a file, unmapped on drop.
pub struct Map {
    map: Mmap,
}

impl Map {
    /// Map `len` bytes of `f` (opened for reading) from offset 0, advised `MADV_SEQUENTIAL`.
    ///
    /// Errors: `mmap(2)` failed (`len` is 0, the file is not mappable, out of address space).
    pub fn new(f: &File, len: usize) -> io::Result<Map> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot map an empty file",
            ));
        }
        // SAFETY: a private read-only mapping of a file we opened. The one hazard memmap2
        // leaves to us, the file being changed underneath, is handled where it matters: a log
        // that may shrink is checked before each batch (`shrank`); binaries and debug files
        // are not rewritten in place by their tools (they are replaced by rename).
        let map = unsafe { MmapOptions::new().len(len).map_copy_read_only(f)? };
        // Advice only; a failure changes nothing but speed.
        let _ = map.advise(Advice::Sequential);
        Ok(Map { map })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Length of the mapping, bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the mapping is empty (never: [`Map::new`] refuses a zero length).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Whether `f`'s size is now below the mapped length (reading past it would fault).
    /// Errors: `fstat` failed.
    pub fn shrank(&self, f: &File) -> io::Result<bool> {
        Ok(f.metadata()?.len() < self.map.len() as u64)
    }

    /// Drop the pages of `[from, to)` (bytes, rounded out to pages at the start and clipped to
    /// the mapping) from our address space with `MADV_DONTNEED`; they stay in the page cache
    /// and a later read faults them back in unchanged.
    pub fn release(&self, from: usize, to: usize) {
        let page = crate::base::page::size() as usize;
        let start = from / page * page;
        let end = to.min(self.map.len());
        if end > start {
            // SAFETY: MADV_DONTNEED on a private, read-only, never-written file mapping only
            // drops clean pages: a later access re-reads the same file bytes, so no slice
            // borrowed from `bytes()` can observe a change.
            let _ = unsafe {
                self.map
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut t = tempfile::NamedTempFile::new().unwrap();
        t.write_all(bytes).unwrap();
        t.flush().unwrap();
        let f = File::open(t.path()).unwrap();
        (t, f)
    }

    #[test]
    fn maps_the_file_bytes() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (_t, f) = file_of(&data);
        let m = Map::new(&f, data.len()).unwrap();
        assert_eq!(m.len(), data.len());
        assert_eq!(m.bytes(), &data[..]);
        // Released pages read back the same bytes (they come back from the file).
        m.release(1, 90_000);
        m.release(50_000, usize::MAX);
        assert_eq!(m.bytes(), &data[..]);
    }

    #[test]
    fn empty_length_is_an_error() {
        let (_t, f) = file_of(b"");
        assert!(Map::new(&f, 0).is_err());
    }

    #[test]
    fn a_shrinking_file_is_detected() {
        let (t, f) = file_of(&[7u8; 20_000]);
        let m = Map::new(&f, 20_000).unwrap();
        assert!(!m.shrank(&f).unwrap());
        std::fs::OpenOptions::new()
            .write(true)
            .open(t.path())
            .unwrap()
            .set_len(100)
            .unwrap();
        assert!(m.shrank(&f).unwrap());
    }
}
