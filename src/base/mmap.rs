//! A read-only memory map of a whole file, over memmap2 (`MAP_PRIVATE`, `PROT_READ`), with the
//! two pieces of `madvise(2)` advice the readers use: `MADV_SEQUENTIAL` when mapped (large logs
//! are read front to back) and `MADV_DONTNEED` to drop a range that has been read from our
//! address space (it stays in the page cache), which keeps a multi-gigabyte log's scan bounded.
//!
//! Used by triage's mapped scan of large logs and by `backtrace`/`symbolize` for binaries and
//! debug files: only the pages of the sections used are touched.
//!
//! A mapped file that shrinks makes reads past its new end fault (SIGBUS). Every `Map` is
//! guarded (a process-wide SIGBUS handler and a lock-free registry of the live maps, in
//! `mmap/guard.rs`): such a fault is answered with zero pages and the map is marked
//! [`Map::faulted`], so the process never dies of it; whoever read the bytes asks
//! [`Map::check`] before it trusts what it read (after each batch, before returning a result),
//! and a log reader may also stop early when [`Map::shrank`] says the file is already shorter.

mod guard;

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

/// What a read of a file that shrank under its mapping is told (after the file's name).
pub use crate::error::SHRANK;

/// A read-only private mapping of the first `len` bytes of a file, guarded against the file
/// shrinking (see the module docs), unmapped on drop.
pub struct Map {
    // Declared first, so dropped first: unregistered before it is unmapped.
    guard: guard::Guard,
    map: Mmap,
}

impl Map {
    /// Map `len` bytes of `f` (opened for reading) from offset 0, advised `MADV_SEQUENTIAL`.
    ///
    /// Errors: `mmap(2)` failed (`len` is 0, the file is not mappable, out of address space),
    /// or the mapping cannot be guarded (more than 4096 files mapped at once, or the SIGBUS
    /// handler could not be installed).
    pub fn new(f: &File, len: usize) -> io::Result<Map> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot map an empty file",
            ));
        }
        // SAFETY: a private read-only mapping of a file we opened. The one hazard memmap2
        // leaves to us, the file being changed underneath, is handled by the guard: a read past
        // a new end gets zeros instead of SIGBUS, and the owner checks `faulted` before it
        // trusts the bytes; binaries and debug files are not rewritten in place by their tools
        // (they are replaced by rename), and a log that grows only appends.
        let map = unsafe { MmapOptions::new().len(len).map_copy_read_only(f)? };
        let guard = guard::Guard::register(map.as_ptr() as usize, map.len())?;
        // Advice only; a failure changes nothing but speed.
        let _ = map.advise(Advice::Sequential);
        Ok(Map { guard, map })
    }

    /// Whether a read of the mapping faulted because the file shrank under it (or its storage
    /// failed): the bytes from the faulting page to the end now read as zeros, and nothing read
    /// from the map since it was created may be trusted.
    pub fn faulted(&self) -> bool {
        self.guard.faulted()
    }

    /// `Ok` while no read of the mapping has faulted; else [`Error::Shrank`](crate::Error)
    /// naming `path` (the file this map was made of). Call it after reading, before using what
    /// was read.
    pub fn check(&self, path: &Path) -> crate::error::Result<()> {
        if self.faulted() {
            return Err(crate::error::Error::Shrank {
                path: path.to_path_buf(),
            });
        }
        Ok(())
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

    /// Run `f`, a read of this map (of the file `path`) by a parser that cannot expect the
    /// bytes to change under it: `Ok` with its value when no read of the map faulted;
    /// [`Error::Shrank`](crate::Error) when one did, whether `f` returned or panicked on the
    /// zeros (that panic is not printed). A panic while the map is intact goes on unwinding.
    pub fn guarded<T>(&self, path: &Path, f: impl FnOnce() -> T) -> crate::error::Result<T> {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            guard::quiet_while(&self.guard, f)
        }));
        match r {
            Ok(v) => self.check(path).map(|()| v),
            Err(_) if self.faulted() => Err(crate::error::Error::Shrank {
                path: path.to_path_buf(),
            }),
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// Whether `f`'s size is now below the mapped length (reading past it would fault): lets a
    /// long read stop early; [`Map::faulted`] is what says whether the bytes read can be
    /// trusted. Errors: `fstat` failed.
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

    fn truncate(p: &Path, len: u64) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    #[test]
    fn a_read_past_a_new_end_reads_zeros_and_marks_the_map() {
        let page = crate::base::page::size() as usize;
        let (t, f) = file_of(&vec![7u8; 64 * page]);
        let m = Map::new(&f, 64 * page).unwrap();
        let other = Map::new(&f, 64 * page).unwrap();
        assert_eq!(m.bytes()[10 * page], 7);
        assert!(!m.faulted());
        m.check(t.path()).unwrap();
        truncate(t.path(), (3 * page + 100) as u64);
        // Without the guard this read is SIGBUS and the test binary dies.
        let tail: u64 = m.bytes()[4 * page..].iter().map(|&b| u64::from(b)).sum();
        assert_eq!(tail, 0, "the pages past the new end read as zeros");
        assert_eq!(
            m.bytes()[page],
            7,
            "the pages before it still hold the file"
        );
        assert!(m.faulted());
        let e = m.check(t.path()).unwrap_err().to_string();
        assert_eq!(e, format!("{}: {SHRANK}", t.path().display()));
        // Only the map that faulted is marked; the other faults on its own first read.
        assert!(!other.faulted());
        assert_eq!(other.bytes()[63 * page], 0);
        assert!(other.faulted());
    }

    #[test]
    fn faults_in_many_threads_at_once_are_all_repaired() {
        let page = crate::base::page::size() as usize;
        let (t, f) = file_of(&vec![1u8; 256 * page]);
        let maps: Vec<Map> = (0..8).map(|_| Map::new(&f, 256 * page).unwrap()).collect();
        truncate(t.path(), 0);
        std::thread::scope(|s| {
            for m in &maps {
                s.spawn(move || {
                    let sum: u64 = m.bytes().iter().step_by(page).map(|&b| u64::from(b)).sum();
                    assert_eq!(sum, 0);
                });
            }
        });
        assert!(maps.iter().all(Map::faulted));
    }

    #[test]
    fn a_freed_slot_is_reused_unmarked() {
        let (t, f) = file_of(&[3u8; 20_000]);
        for _ in 0..(guard::SLOTS + 10) {
            let m = Map::new(&f, 20_000).unwrap();
            assert!(!m.faulted());
        }
        let m = Map::new(&f, 20_000).unwrap();
        truncate(t.path(), 0);
        assert_eq!(m.bytes()[19_999], 0);
        assert!(m.faulted());
        drop(m);
        truncate(t.path(), 20_000);
        let m = Map::new(&f, 20_000).unwrap();
        assert!(!m.faulted());
    }

    #[test]
    fn a_sigbus_outside_any_map_still_kills() {
        // In a child, so the default action can be seen: map, then raise SIGBUS by hand.
        if std::env::var_os("CLW_MMAP_SIGBUS_CHILD").is_some() {
            let (_t, f) = file_of(&[1u8; 100]);
            let _m = Map::new(&f, 100).unwrap();
            // SAFETY: raising a signal at ourselves; the handler must not swallow it.
            unsafe { libc::raise(libc::SIGBUS) };
            std::process::exit(0);
        }
        let st = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "base::mmap::tests::a_sigbus_outside_any_map_still_kills",
            ])
            .args(["--nocapture", "--test-threads=1"])
            .env("CLW_MMAP_SIGBUS_CHILD", "1")
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.status.signal(), Some(libc::SIGBUS), "{st:?}");
    }

    #[test]
    fn a_parser_that_panics_on_the_zeros_gives_the_shrank_error() {
        let page = crate::base::page::size() as usize;
        let (t, f) = file_of(&vec![9u8; 8 * page]);
        let m = Map::new(&f, 8 * page).unwrap();
        // Intact: the value, and a panic is the parser's own (it goes on unwinding).
        assert_eq!(m.guarded(t.path(), || m.bytes()[5 * page]).unwrap(), 9);
        let own = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = m.guarded(t.path(), || panic!("a bug of the parser"));
        }));
        assert!(own.is_err());
        truncate(t.path(), 0);
        let parse = || {
            let b = m.bytes()[5 * page];
            assert_ne!(b, 0, "an index read a moment ago no longer holds");
            b
        };
        let e = m.guarded(t.path(), parse).unwrap_err();
        assert!(matches!(e, crate::error::Error::Shrank { .. }), "{e}");
        // A read that returns but met zeros is refused as well.
        let e = m.guarded(t.path(), || m.bytes()[0]).unwrap_err();
        assert!(matches!(e, crate::error::Error::Shrank { .. }), "{e}");
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
