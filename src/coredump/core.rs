//! The ELF core file itself: its program headers (object crate), its notes (decoded by
//! [`super::notes`]) and its memory (the `PT_LOAD` segments, read on demand with `pread` through a
//! small page cache, so a core of many GiB costs only what is read).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use object::elf;
use object::read::elf::{FileHeader, NoteIterator, ProgramHeader};
use object::Endianness;

use super::notes::{self, FileMapping, PrPsInfo, PrStatus, SigInfo};
use crate::error::{Error, Result};

/// A `PT_LOAD` segment of the core: `memsz` bytes at `vaddr`, of which the first `filesz` are
/// in the file at `offset` (the rest were not dumped, see `coredump_filter` in
/// Documentation/filesystems/proc.rst).
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// The segment's first virtual address in the crashed process (`p_vaddr`).
    pub vaddr: u64,
    /// The segment's size in memory, bytes (`p_memsz`).
    pub memsz: u64,
    /// Where the dumped bytes start in the core file, bytes (`p_offset`).
    pub offset: u64,
    /// How many bytes were dumped (`p_filesz`): 0 for a mapping `coredump_filter` left out.
    pub filesz: u64,
    /// `p_flags`: `PF_R` (4), `PF_W` (2), `PF_X` (1), as the mapping's permissions.
    pub flags: u32,
}

/// A parsed core dump.
pub struct Core {
    /// The core file.
    pub path: PathBuf,
    file: File,
    /// The file's size in bytes; segments that reach past it were cut (a truncated core).
    pub file_len: u64,
    /// The `PT_LOAD` segments: the process's memory, in program-header order.
    pub loads: Vec<Load>,
    /// One per thread, the thread that caused the dump first (as the kernel writes them).
    pub threads: Vec<PrStatus>,
    /// `NT_PRPSINFO`: command name and arguments; `None` when the note is missing or malformed.
    pub psinfo: Option<PrPsInfo>,
    /// The first `NT_SIGINFO`: the signal that caused the dump; `None` when missing or malformed.
    pub siginfo: Option<SigInfo>,
    /// `NT_AUXV` as (`AT_*` key, value) pairs; empty when the note is missing or malformed.
    pub auxv: Vec<(u64, u64)>,
    /// `NT_FILE`: the file-backed mappings; empty when the note is missing or malformed.
    pub files: Vec<FileMapping>,
    /// Set when the file ends before the memory its program headers say was dumped.
    pub truncation: Option<Truncation>,
    /// Problems found while reading the core that do not stop the backtrace.
    pub warnings: Vec<String>,
    cache: RefCell<HashMap<u64, Option<Rc<[u8]>>>>,
}

/// A core that ends before the memory it says was dumped: the kernel stopped writing at the
/// core size limit (`RLIMIT_CORE`, `ulimit -c`, counted in 1 KiB blocks; `fs/coredump.c`
/// `dump_emit`), or systemd-coredump stopped storing at `ProcessSizeMax=`/`ExternalSizeMax=`
/// (coredump.conf(5)), or the file was cut later. The kernel writes the notes first and memory
/// in address order, so the highest mappings (the stacks) are the first to go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Truncation {
    /// The file's size, bytes.
    pub file_bytes: u64,
    /// The size a whole core would have: the end of the last `PT_LOAD`'s file range, bytes.
    pub needed_bytes: u64,
    /// Dumped memory missing from the file, bytes (at most `needed_bytes - file_bytes`: the
    /// program headers' gaps are not memory).
    pub missing_bytes: u64,
    /// `PT_LOAD` segments with data that are cut or wholly missing, of `segments` with data.
    pub segments_cut: usize,
    /// `PT_LOAD` segments with data (`p_filesz` > 0).
    pub segments: usize,
    /// What limits a core stored where this one is, and how far to raise it, for a person to
    /// act on ("ulimit -c 2048 (KiB) or unlimited, …").
    pub raise: String,
}

impl Truncation {
    /// The truncation of a core at `path` (`compressed` as systemd-coredump stores them) of
    /// `file_len` bytes (decompressed) with these `PT_LOAD`s; `None` when every segment's file
    /// range is in the file.
    pub fn of(path: &Path, compressed: bool, file_len: u64, loads: &[Load]) -> Option<Truncation> {
        let with_data = loads.iter().filter(|l| l.filesz > 0);
        let needed = with_data
            .clone()
            .map(|l| l.offset.saturating_add(l.filesz))
            .max()?;
        if needed <= file_len {
            return None;
        }
        let missing = with_data
            .clone()
            .map(|l| {
                (l.offset.saturating_add(l.filesz))
                    .saturating_sub(file_len.max(l.offset))
                    .min(l.filesz)
            })
            .fold(0u64, u64::saturating_add);
        let segments_cut = with_data
            .clone()
            .filter(|l| l.offset.saturating_add(l.filesz) > file_len)
            .count();
        Some(Truncation {
            file_bytes: file_len,
            needed_bytes: needed,
            missing_bytes: missing,
            segments_cut,
            segments: with_data.count(),
            raise: raise_advice(path, compressed, needed),
        })
    }

    /// The one-line warning: what is missing and which setting to raise.
    pub fn message(&self) -> String {
        format!(
            "the core is truncated: the file has {} bytes of the {} its program headers need \
             ({} bytes of dumped memory missing, {} of {} memory segments cut; the stacks are \
             written last, so frames past the registers may be lost); raise {}",
            self.file_bytes,
            self.needed_bytes,
            self.missing_bytes,
            self.segments_cut,
            self.segments,
            self.raise
        )
    }
}

/// The setting that limits a core stored at `path`, raised to hold `needed` bytes: systemd-
/// coredump's for a core in its store or compressed as it compresses them, else the core size
/// limit of the crashing process.
fn raise_advice(path: &Path, compressed: bool, needed: u64) -> String {
    let kib = needed.div_ceil(1024);
    let mib = needed.div_ceil(1 << 20);
    let in_store = compressed
        || path
            .parent()
            .is_some_and(|d| d.ends_with("systemd/coredump"));
    if in_store {
        format!(
            "systemd-coredump's ProcessSizeMax= and ExternalSizeMax= (coredump.conf) to at \
             least {mib}M (the whole core is {needed} bytes before compression)"
        )
    } else {
        format!(
            "the crashing process's core size limit (RLIMIT_CORE) to {kib} KiB, the whole \
             core's size: `ulimit -c {kib}` or `ulimit -c unlimited` in its shell, LimitCORE= \
             for a systemd unit, `docker run --ulimit core=-1` for a container"
        )
    }
}

const PAGE: u64 = 4096;

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        line: 0,
        msg: msg.into(),
    }
}

/// The name of an ELF machine for messages.
fn machine_name(m: u16) -> String {
    match m {
        elf::EM_386 => "i386".into(),
        elf::EM_ARM => "arm".into(),
        elf::EM_AARCH64 => "aarch64".into(),
        elf::EM_RISCV => "riscv".into(),
        elf::EM_PPC64 => "ppc64".into(),
        elf::EM_S390 => "s390".into(),
        elf::EM_X86_64 => "x86-64".into(),
        other => format!("machine {other}"),
    }
}

impl Core {
    /// Open and parse a core dump: ELF64 little-endian, `ET_CORE`, x86-64.
    ///
    /// Errors: the file cannot be read ([`Error::Io`], [`Error::PermissionDenied`]); it is not an
    /// ELF core ([`Error::NotCore`]), or is one of another architecture or class
    /// ([`Error::Unsupported`]); its headers or notes are cut or garbled ([`Error::Malformed`]). A core
    /// whose memory is cut short is not an error: the missing memory reads as unavailable and a
    /// warning says so.
    pub fn open(path: &Path) -> Result<Core> {
        Core::open_with(path, super::compressed::DEFAULT_MAX)
    }

    /// [`Core::open`], a compressed core (systemd-coredump's `.zst`, `.lz4`, `.xz`, recognised
    /// by magic bytes) decompressed to at most `max_decompressed` bytes first
    /// ([`super::compressed`]). Errors: those of [`Core::open`] and of
    /// [`super::compressed::decompress`].
    pub fn open_with(path: &Path, max_decompressed: u64) -> Result<Core> {
        // Opened without blocking (a FIFO without a writer) and refused unless a regular file.
        let file = match crate::base::input::open(path, crate::base::input::Accept::Regular) {
            Ok(i) => i.file,
            Err(Error::NotSupported { .. }) if path.is_dir() => {
                return Err(Error::NotCore {
                    path: path.to_path_buf(),
                    why: "is a directory, not a core file".into(),
                })
            }
            Err(e) => return Err(e),
        };
        let mut head = [0u8; 8];
        let n = read_up_to(&file, 0, &mut head).map_err(|e| Error::io(path, e))?;
        let mut warnings = Vec::new();
        let compression = super::compressed::Compression::detect(&head[..n]);
        let file = match compression {
            Some(kind) => {
                let d = super::compressed::decompress(path, file, kind, max_decompressed)?;
                warnings.extend(d.warning);
                d.file
            }
            None => file,
        };
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::NotCore {
                path: path.to_path_buf(),
                why: "is a directory, not a core file".into(),
            });
        }
        let file_len = meta.len();
        let mut ident = [0u8; 64];
        let n = read_up_to(&file, 0, &mut ident).map_err(|e| Error::io(path, e))?;
        if n < 16 || &ident[..4] != b"\x7fELF" {
            return Err(Error::NotCore {
                path: path.to_path_buf(),
                why: "not an ELF file (a core dump starts with \\x7fELF)".into(),
            });
        }
        if ident[4] != elf::ELFCLASS64 || ident[5] != elf::ELFDATA2LSB {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                why: format!(
                    "unsupported core: {}-bit {}-endian ELF; this tool reads x86-64 cores",
                    if ident[4] == elf::ELFCLASS32 { 32 } else { 64 },
                    if ident[5] == elf::ELFDATA2MSB {
                        "big"
                    } else {
                        "little"
                    }
                ),
            });
        }
        if n < 64 {
            return Err(bad(path, "ELF header cut short (truncated core?)"));
        }
        let cache = object::ReadCache::new(&file);
        let header = elf::FileHeader64::<Endianness>::parse(&cache)
            .map_err(|e| bad(path, format!("ELF header: {e}")))?;
        let endian = header
            .endian()
            .map_err(|e| bad(path, format!("ELF header: {e}")))?;
        let e_type = header.e_type(endian);
        let machine = header.e_machine(endian);
        if e_type != elf::ET_CORE {
            return Err(Error::NotCore {
                path: path.to_path_buf(),
                why: format!(
                    "an ELF {} file, not a core dump (ET_CORE)",
                    match e_type {
                        elf::ET_EXEC => "executable",
                        elf::ET_DYN => "shared object or PIE executable",
                        elf::ET_REL => "relocatable object",
                        _ => "non-core",
                    }
                ),
            });
        }
        if machine != elf::EM_X86_64 {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                why: format!(
                    "unsupported architecture {}: this tool unwinds x86-64 cores",
                    machine_name(machine)
                ),
            });
        }
        let phdrs = header
            .program_headers(endian, &cache)
            .map_err(|e| bad(path, format!("program headers: {e} (truncated core?)")))?;
        let mut core = Core {
            path: path.to_path_buf(),
            file_len,
            loads: Vec::new(),
            threads: Vec::new(),
            psinfo: None,
            siginfo: None,
            auxv: Vec::new(),
            files: Vec::new(),
            truncation: None,
            warnings,
            cache: RefCell::new(HashMap::new()),
            file: file.try_clone().map_err(|e| Error::io(path, e))?,
        };
        let mut notes_seen = false;
        // The size of the whole core, for the advice when even the notes are cut.
        let whole = phdrs
            .iter()
            .map(|ph| ph.p_offset(endian).saturating_add(ph.p_filesz(endian)))
            .max()
            .unwrap_or(0);
        for ph in phdrs {
            match ph.p_type(endian) {
                elf::PT_LOAD => core.loads.push(Load {
                    vaddr: ph.p_vaddr(endian),
                    memsz: ph.p_memsz(endian),
                    offset: ph.p_offset(endian),
                    filesz: ph.p_filesz(endian),
                    flags: ph.p_flags(endian),
                }),
                elf::PT_NOTE => {
                    notes_seen = true;
                    let (off, size) = (ph.p_offset(endian), ph.p_filesz(endian));
                    if off.saturating_add(size) > file_len || size > 256 << 20 {
                        return Err(bad(
                            path,
                            format!(
                                "PT_NOTE at {off:#x} ({size} bytes) reaches past the end of the \
                                 file ({file_len} bytes): truncated core, not even the threads' \
                                 registers are in it; raise {}",
                                raise_advice(path, compression.is_some(), whole)
                            ),
                        ));
                    }
                    let mut data = vec![0u8; size as usize];
                    file.read_exact_at(&mut data, off)
                        .map_err(|e| Error::io(path, e))?;
                    core.read_notes(endian, ph.p_align(endian), &data)?;
                }
                _ => {}
            }
        }
        if !notes_seen || core.threads.is_empty() {
            return Err(bad(
                path,
                "no NT_PRSTATUS note: no thread registers in this core",
            ));
        }
        core.loads.sort_by_key(|l| l.vaddr);
        core.truncation = Truncation::of(path, compression.is_some(), file_len, &core.loads);
        if let Some(t) = &core.truncation {
            core.warnings.push(t.message());
        }
        Ok(core)
    }

    fn read_notes(&mut self, endian: Endianness, align: u64, data: &[u8]) -> Result<()> {
        let mut it = NoteIterator::<elf::FileHeader64<Endianness>>::new(endian, align, data)
            .map_err(|e| bad(&self.path, format!("notes: {e}")))?;
        loop {
            let note = match it.next() {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) => {
                    self.warnings
                        .push(format!("notes after a malformed one were skipped: {e}"));
                    break;
                }
            };
            if note.name() != b"CORE" {
                continue;
            }
            let desc = note.desc();
            let warn = |w: &mut Vec<String>, e: notes::NoteError| w.push(format!("{e}; skipped"));
            match note.n_type(endian) {
                notes::NT_PRSTATUS => match notes::prstatus(desc) {
                    Ok(p) => self.threads.push(p),
                    Err(e) => warn(&mut self.warnings, e),
                },
                notes::NT_PRPSINFO => match notes::prpsinfo(desc) {
                    Ok(p) => self.psinfo = Some(p),
                    Err(e) => warn(&mut self.warnings, e),
                },
                notes::NT_SIGINFO => match notes::siginfo(desc) {
                    Ok(s) if self.siginfo.is_none() => self.siginfo = Some(s),
                    Ok(_) => {}
                    Err(e) => warn(&mut self.warnings, e),
                },
                notes::NT_AUXV => match notes::auxv(desc) {
                    Ok(a) => self.auxv = a,
                    Err(e) => warn(&mut self.warnings, e),
                },
                notes::NT_FILE => match notes::file(desc) {
                    Ok(f) => self.files = f,
                    Err(e) => warn(&mut self.warnings, e),
                },
                _ => {}
            }
        }
        Ok(())
    }

    /// The value of auxiliary vector entry `key` (`AT_*`).
    pub fn aux(&self, key: u64) -> Option<u64> {
        self.auxv.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The core page (4 KiB, file offset aligned) holding file offset `off`, cached.
    fn page(&self, off: u64) -> Option<Rc<[u8]>> {
        let base = off & !(PAGE - 1);
        let mut cache = self.cache.borrow_mut();
        if cache.len() > 16384 {
            cache.clear();
        }
        cache
            .entry(base)
            .or_insert_with(|| {
                let mut buf = vec![0u8; PAGE as usize];
                let n = read_up_to(&self.file, base, &mut buf).ok()?;
                buf.truncate(n);
                Some(Rc::from(buf))
            })
            .clone()
    }

    /// Read `buf.len()` bytes of the process's memory at `addr` from the dumped segments.
    /// Returns false when any byte is not in the core (not dumped, cut off, or unmapped).
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let i = self.loads.partition_point(|l| l.vaddr <= a);
            let Some(l) = i.checked_sub(1).map(|i| &self.loads[i]) else {
                return false;
            };
            let rel = a - l.vaddr;
            if rel >= l.filesz {
                return false;
            }
            let Some(off) = l.offset.checked_add(rel) else {
                return false;
            };
            let Some(page) = self.page(off) else {
                return false;
            };
            let in_page = (off & (PAGE - 1)) as usize;
            let avail = page
                .len()
                .saturating_sub(in_page)
                .min((l.filesz - rel) as usize);
            if avail == 0 {
                return false;
            }
            let n = avail.min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&page[in_page..in_page + n]);
            done += n;
        }
        true
    }

    /// Read a little-endian u64 at `addr`, if dumped.
    pub fn read_u64(&self, addr: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.read(addr, &mut b).then(|| u64::from_le_bytes(b))
    }

    /// Whether `addr` lies in any `PT_LOAD` segment (dumped or not): mapped in the process.
    pub fn is_mapped(&self, addr: u64) -> bool {
        let i = self.loads.partition_point(|l| l.vaddr <= addr);
        i.checked_sub(1)
            .is_some_and(|i| addr - self.loads[i].vaddr < self.loads[i].memsz)
    }

    /// The segment holding `addr`.
    pub fn load_at(&self, addr: u64) -> Option<&Load> {
        let i = self.loads.partition_point(|l| l.vaddr <= addr);
        let l = &self.loads[i.checked_sub(1)?];
        (addr - l.vaddr < l.memsz).then_some(l)
    }
}

impl super::memory::AddressSpace for Core {
    fn read(&self, addr: u64, buf: &mut [u8]) -> bool {
        Core::read(self, addr, buf)
    }

    fn is_executable(&self, addr: u64) -> bool {
        self.load_at(addr).is_some_and(|l| l.flags & elf::PF_X != 0)
    }

    fn readable_end(&self, addr: u64) -> Option<u64> {
        let l = self.load_at(addr)?;
        l.vaddr.checked_add(l.filesz).filter(|&e| e > addr)
    }

    fn files(&self) -> &[FileMapping] {
        &self.files
    }

    fn aux(&self, key: u64) -> Option<u64> {
        Core::aux(self, key)
    }
}

/// Read as many bytes as exist at `off` (short at end of file).
fn read_up_to(f: &File, off: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], off + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal x86-64 core: one NT_PRSTATUS and the given PT_LOADs (offset, vaddr, filesz,
    /// memsz).
    fn core_with_loads(loads: &[(u64, u64, u64, u64)]) -> Vec<u8> {
        let phnum = loads.len() + 1;
        let notes_off = 64 + 56 * phnum as u64;
        let mut notes = Vec::new();
        notes.extend_from_slice(&5u32.to_le_bytes());
        notes.extend_from_slice(&(notes::PRSTATUS_SIZE as u32).to_le_bytes());
        notes.extend_from_slice(&notes::NT_PRSTATUS.to_le_bytes());
        notes.extend_from_slice(b"CORE\0\0\0\0");
        notes.extend_from_slice(&[0u8; notes::PRSTATUS_SIZE]);
        let mut f = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
        f.extend_from_slice(&elf::ET_CORE.to_le_bytes());
        f.extend_from_slice(&elf::EM_X86_64.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        f.extend_from_slice(&64u64.to_le_bytes());
        f.extend_from_slice(&0u64.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        for v in [64u16, 56, phnum as u16, 64, 0, 0] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        let ph = |f: &mut Vec<u8>, ty: u32, v: [u64; 6]| {
            f.extend_from_slice(&ty.to_le_bytes());
            f.extend_from_slice(&elf::PF_R.to_le_bytes());
            for x in v {
                f.extend_from_slice(&x.to_le_bytes());
            }
        };
        ph(
            &mut f,
            elf::PT_NOTE,
            [notes_off, 0, 0, notes.len() as u64, 0, 4],
        );
        for &(off, vaddr, filesz, memsz) in loads {
            ph(&mut f, elf::PT_LOAD, [off, vaddr, 0, filesz, memsz, 0x1000]);
        }
        f.extend_from_slice(&notes);
        f
    }

    /// Found by fuzz/fuzz_targets/core_file.rs: segments whose file ranges reach far past the
    /// end of the file overflowed the sum of the missing bytes, and a segment at a file offset
    /// near 2^64 overflowed offset + address in `read`.
    #[test]
    fn huge_segment_offsets_and_sizes_do_not_overflow() {
        let data = core_with_loads(&[
            (0, 0x1000, u64::MAX, u64::MAX),
            (0, 0x10_0000_0000, u64::MAX, u64::MAX),
            (u64::MAX - 8, 0x20_0000_0000, 0x1000, 0x1000),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("core");
        std::fs::write(&p, &data).unwrap();
        let core = Core::open(&p).unwrap();
        assert_eq!(core.threads.len(), 1);
        assert!(core.warnings.iter().any(|w| w.contains("truncated")));
        let mut b = [0u8; 8];
        assert!(!core.read(0x20_0000_0000 + 0x100, &mut b));
        assert!(core.read(0x1000, &mut b[..4]));
        assert_eq!(&b[..4], b"\x7fELF");
    }
}
