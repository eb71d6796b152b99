//! The modules of a crashed process: the executable (the file whose mapping holds `AT_PHDR`),
//! the shared libraries of `NT_FILE` with their load bias, and the vDSO (read from the core's
//! memory at `AT_SYSINFO_EHDR`). With the default `coredump_filter` (0x33) only the first page of
//! each file-backed ELF mapping is in the core, so code, `.eh_frame` and symbols are read from the
//! files on disk, and each file's build ID is checked against the one in that dumped first page.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

pub(crate) use super::image::{dynsym_at, map_file, Bytes, Image};
use super::memory::AddressSpace;
use super::notes;

/// The debug-file search the modules and the unwinder need, seen through a trait this module
/// defines (as rust-minidump's unwinder sees a `SymbolProvider`), so that the core reader
/// depends on no symbolizer: the symbolizer's `DebugFiles` implements it.
pub trait DebugFileLookup: std::fmt::Debug + Send + Sync {
    /// The separate debug file of `file` (whose bytes are `data`) on this machine, for its
    /// `.debug_frame`; `None` when there is none.
    fn separate_debug_file(&self, file: &Path, data: &[u8]) -> Option<PathBuf>;

    /// A file missing on disk, fetched by its build ID (hex): `None` when fetching is not
    /// allowed (only when the user asked), else the fetched file or why it failed.
    fn fetch_executable(&self, build_id: &str) -> Option<Result<PathBuf, String>>;
}

/// Where the files named in the core are looked for.
#[derive(Debug, Clone, Default)]
pub struct FileSource {
    /// Use this file for the executable (`--exe`).
    pub exe: Option<PathBuf>,
    /// Look for every file under this root instead of `/` (`--sysroot`).
    pub sysroot: Option<PathBuf>,
    /// Separate debug files (`.debug_frame` for the unwinder) and files missing on disk
    /// fetched by the build ID in the core; `None`: neither is looked for.
    pub debug_files: Option<Arc<dyn DebugFileLookup>>,
}

/// One module (ELF object) mapped in the process.
#[derive(Debug, Serialize)]
pub struct Module {
    /// The path as the core names it (" (deleted)" removed), or `[vdso]`.
    pub path: String,
    /// The file that was read for it, when one was found.
    pub file: Option<PathBuf>,
    /// Whether the module's file (or for the vDSO, its image in the core) could be read.
    pub found: bool,
    /// Lowest and highest (exclusive) address of its mappings (bytes).
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub start: u64,
    /// Highest address of its mappings, exclusive (bytes; see `start`).
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub end: u64,
    /// Run-time address minus the address in the ELF file (bytes).
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub load_bias: u64,
    /// The main executable: its mappings hold the program headers `AT_PHDR` points to.
    pub is_executable: bool,
    /// The vDSO the kernel maps into every process (`AT_SYSINFO_EHDR`), read from the core.
    pub is_vdso: bool,
    /// The kernel marked the file deleted (replaced or removed after it was mapped).
    pub deleted: bool,
    /// Build ID (hex) of the file read from disk.
    pub build_id: Option<String>,
    /// Build ID (hex) found in the core's copy of the module's first page.
    pub build_id_in_core: Option<String>,
    /// Both build IDs are known and differ: the file on disk is not the one that ran.
    pub build_id_mismatch: bool,
    /// The separate debug file used for symbols, once looked up.
    pub debug_file: Option<PathBuf>,
    #[serde(skip)]
    pub(crate) image: Option<Image>,
}

/// A program header read from the core: (p_type, p_vaddr, p_filesz, p_align).
type Phdr = (u32, u64, u64, u64);

/// The program headers of an ELF image whose first page is in the core at `base` (the ELF
/// header's `e_phoff`, `e_phentsize`, `e_phnum`); `None` when it is not dumped or not ELF.
fn phdrs_in_core(core: &dyn AddressSpace, base: u64) -> Option<Vec<Phdr>> {
    let mut eh = [0u8; 64];
    if !core.read(base, &mut eh) || &eh[..4] != b"\x7fELF" {
        return None;
    }
    let phoff = u64::from_le_bytes(eh[32..40].try_into().ok()?);
    let phentsize = u16::from_le_bytes(eh[54..56].try_into().ok()?) as u64;
    let phnum = u16::from_le_bytes(eh[56..58].try_into().ok()?) as u64;
    if phentsize < 56 || phnum > 256 {
        return None;
    }
    let mut out = Vec::new();
    for i in 0..phnum {
        let mut ph = [0u8; 56];
        let at = base
            .wrapping_add(phoff)
            .wrapping_add(i.wrapping_mul(phentsize));
        if !core.read(at, &mut ph) {
            return None;
        }
        let u64_at = |o: usize| u64::from_le_bytes(ph[o..o + 8].try_into().unwrap_or([0; 8]));
        let p_type = u32::from_le_bytes(ph[0..4].try_into().unwrap_or([0; 4]));
        out.push((p_type, u64_at(16), u64_at(32), u64_at(48)));
    }
    Some(out)
}

/// The lowest PT_LOAD address (page-aligned) among `phdrs`: what the mapping at file offset 0
/// corresponds to.
fn first_load(phdrs: &[Phdr]) -> Option<u64> {
    phdrs
        .iter()
        .filter(|p| p.0 == object::elf::PT_LOAD)
        .map(|p| p.1 & !0xfff)
        .min()
}

/// Build ID (hex) from the notes of the ELF image whose first page is in the core at `base`.
fn build_id_from_memory(core: &dyn AddressSpace, base: u64) -> Option<String> {
    let phdrs = phdrs_in_core(core, base)?;
    let first_vaddr = first_load(&phdrs)?;
    for &(_, vaddr, size, align) in phdrs.iter().filter(|p| p.0 == object::elf::PT_NOTE) {
        if size > 64 << 10 {
            continue;
        }
        let mut data = vec![0u8; size as usize];
        let Some(at) = vaddr
            .checked_sub(first_vaddr)
            .and_then(|d| base.checked_add(d))
        else {
            continue;
        };
        if !core.read(at, &mut data) {
            continue;
        }
        let Ok(mut it) = object::read::elf::NoteIterator::<
            object::elf::FileHeader64<object::Endianness>,
        >::new(object::Endianness::Little, align.max(4), &data) else {
            continue;
        };
        while let Ok(Some(n)) = it.next() {
            if n.name() == b"GNU"
                && n.n_type(object::Endianness::Little) == object::elf::NT_GNU_BUILD_ID
            {
                return Some(n.desc().iter().map(|b| format!("{b:02x}")).collect());
            }
        }
    }
    None
}

/// The modules of the process, sorted by start address, and warnings about files that could not
/// be found or do not match.
pub fn discover(core: &dyn AddressSpace, src: &FileSource) -> (Vec<Module>, Vec<String>) {
    let mut warnings = Vec::new();
    let phdr = core.aux(notes::AT_PHDR);
    // Group NT_FILE entries by path, in order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&notes::FileMapping>> = HashMap::new();
    for m in core.files() {
        if !groups.contains_key(&m.path) {
            order.push(m.path.clone());
        }
        groups.entry(m.path.clone()).or_default().push(m);
    }
    let mut modules = Vec::new();
    for name in order {
        let maps = &groups[&name];
        let Some(first) = maps.iter().find(|m| m.offset == 0) else {
            continue;
        };
        let (path, deleted) = match name.strip_suffix(" (deleted)") {
            Some(p) => (p.to_string(), true),
            None => (name.clone(), false),
        };
        let is_exe = phdr.is_some_and(|a| maps.iter().any(|m| m.start <= a && a < m.end));
        let mut head = [0u8; 4];
        let elf_in_core = core.read(first.start, &mut head) && &head == b"\x7fELF";
        let disk = if is_exe && src.exe.is_some() {
            src.exe.clone()
        } else {
            Some(match &src.sysroot {
                Some(root) => root.join(path.trim_start_matches('/')),
                None => PathBuf::from(&path),
            })
        };
        // A file deleted or replaced since it was mapped: a live process still holds it open.
        let disk = match (deleted, core.mapped_file(first)) {
            (true, Some(p)) if !(is_exe && src.exe.is_some()) => Some(p),
            _ => disk,
        };
        let mut data: Option<Arc<Bytes>> = disk
            .as_ref()
            .filter(|p| p.is_file())
            .and_then(|p| map_file(p))
            .filter(|d| d.starts_with(b"\x7fELF"))
            .map(Arc::new);
        let mut disk = disk;
        let mut fetch_error = None;
        if data.is_none() && elf_in_core {
            // Missing on disk: debuginfod has it by the build ID the core kept, when asked.
            let fetched = src
                .debug_files
                .as_ref()
                .zip(build_id_from_memory(core, first.start));
            if let Some((lookup, id)) = fetched {
                match lookup.fetch_executable(&id) {
                    None => {}
                    Some(Ok(p)) => {
                        data = map_file(&p)
                            .filter(|d| d.starts_with(b"\x7fELF"))
                            .map(Arc::new);
                        warnings.push(format!(
                            "{path}: not on disk; using {} from debuginfod (build ID {id})",
                            p.display()
                        ));
                        disk = Some(p);
                    }
                    Some(Err(e)) => fetch_error = Some(e),
                }
            }
        }
        if data.is_none() {
            // A file that is not an ELF object (a data file, a locale archive) is no module;
            // an executable mapping whose file is missing is one, shown as module+offset.
            let missing_code = !disk.as_ref().is_some_and(|p| p.exists())
                && maps.iter().any(|m| is_exec_mapping(core, m));
            if !elf_in_core && !missing_code {
                continue;
            }
            warnings.push(format!(
                "{}: not found{}; its frames are shown as module+offset{}",
                disk.as_ref()
                    .map_or(path.clone(), |p| p.display().to_string()),
                if deleted {
                    format!(" ({} says it was deleted)", core.kind())
                } else {
                    String::new()
                },
                fetch_error.map(|e| format!(" ({e})")).unwrap_or_default()
            ));
        }
        let mut image = data.clone().and_then(|d| Image::parse(d, false));
        if let (Some(img), Some(file)) = (&mut image, &disk) {
            img.debug_lookup = src.debug_files.clone().map(|l| (file.clone(), l));
        }
        // Load bias: the mapping at file offset 0 holds the segment at the lowest PT_LOAD
        // address (page-aligned).
        let first_vaddr = image
            .as_ref()
            .and_then(|i| i.first_vaddr)
            .or_else(|| {
                elf_in_core
                    .then(|| first_load_vaddr_in_core(core, first.start))
                    .flatten()
            })
            .unwrap_or(0);
        let bias = first.start.wrapping_sub(first_vaddr);
        // For the executable the kernel says it another way: AT_ENTRY − e_entry.
        if let (true, Some(img), Some(at_entry)) = (is_exe, &image, core.aux(notes::AT_ENTRY)) {
            let by_entry = at_entry.wrapping_sub(img.entry);
            if img.entry != 0 && by_entry != bias {
                warnings.push(format!(
                    "{path}: load bias {bias:#x} from the mappings but {by_entry:#x} from \
                     AT_ENTRY; the file on disk may not be the one that ran"
                ));
            }
        }
        let build_id = image.as_ref().and_then(|i| i.build_id.clone());
        let build_id_in_core = build_id_from_memory(core, first.start);
        let mismatch = matches!((&build_id, &build_id_in_core), (Some(a), Some(b)) if a != b);
        if mismatch {
            warnings.push(format!(
                "{}: build ID {} differs from the one in {} ({}): not the file that ran; \
                 its frames may be wrong (give the right one with --exe or --sysroot)",
                disk.as_ref()
                    .map_or(path.clone(), |p| p.display().to_string()),
                core.kind(),
                build_id.as_deref().unwrap_or("?"),
                build_id_in_core.as_deref().unwrap_or("?")
            ));
        }
        modules.push(Module {
            path,
            found: data.is_some(),
            file: data.as_ref().and(disk),
            start: maps.iter().map(|m| m.start).min().unwrap_or(first.start),
            end: maps.iter().map(|m| m.end).max().unwrap_or(first.end),
            load_bias: bias,
            is_executable: is_exe,
            is_vdso: false,
            deleted,
            build_id,
            build_id_in_core,
            build_id_mismatch: mismatch,
            debug_file: None,
            image,
        });
    }
    if let Some(v) = vdso(core) {
        modules.push(v);
    }
    if core.files().is_empty() {
        warnings.push(
            "the core has no NT_FILE note: shared libraries are unknown, frames in them are \
             shown as addresses"
                .into(),
        );
    }
    modules.sort_by_key(|m| m.start);
    (modules, warnings)
}

fn is_exec_mapping(core: &dyn AddressSpace, m: &notes::FileMapping) -> bool {
    core.is_executable(m.start)
}

/// The lowest PT_LOAD address (page-aligned) of an ELF image whose header is in the core at
/// `base`.
fn first_load_vaddr_in_core(core: &dyn AddressSpace, base: u64) -> Option<u64> {
    first_load(&phdrs_in_core(core, base)?)
}

/// The vDSO, read from the core's memory at `AT_SYSINFO_EHDR`.
fn vdso(core: &dyn AddressSpace) -> Option<Module> {
    let base = core.aux(notes::AT_SYSINFO_EHDR)?;
    let size = core.readable_end(base)?.checked_sub(base)?.min(1 << 20);
    let mut data = vec![0u8; size as usize];
    if !core.read(base, &mut data) {
        return None;
    }
    let data = Arc::new(Bytes::Owned(data));
    let image = Image::parse(data.clone(), true)?;
    let first = first_load_vaddr_in_core(core, base).unwrap_or(0);
    Some(Module {
        path: "[vdso]".into(),
        file: None,
        found: true,
        start: base,
        end: base.saturating_add(size),
        load_bias: base.wrapping_sub(first),
        is_executable: false,
        is_vdso: true,
        deleted: false,
        build_id: image.build_id.clone(),
        build_id_in_core: None,
        build_id_mismatch: false,
        debug_file: None,
        image: Some(image),
    })
}

/// The module holding `addr`.
pub fn module_at(modules: &[Module], addr: u64) -> Option<&Module> {
    let i = modules.partition_point(|m| m.start <= addr);
    let m = &modules[i.checked_sub(1)?];
    (addr < m.end).then_some(m)
}

impl Module {
    /// The file to symbolize with, when there is one.
    pub fn symbol_file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// One module for an ELF file that is not running yet (a command about to be launched), at
/// load bias 0 (addresses are the file's own): enough to ask its CFI. `None` when the file
/// cannot be read or parsed.
pub fn from_file(path: &Path) -> Option<Vec<Module>> {
    let data = std::sync::Arc::new(super::image::map_file(path)?);
    let image = Image::parse(data, false)?;
    Some(vec![Module {
        path: path.display().to_string(),
        file: Some(path.to_path_buf()),
        found: true,
        start: 0,
        end: u64::MAX,
        load_bias: 0,
        is_executable: true,
        is_vdso: false,
        deleted: false,
        build_id: image.build_id.clone(),
        build_id_in_core: None,
        build_id_mismatch: false,
        debug_file: None,
        image: Some(image),
    }])
}
