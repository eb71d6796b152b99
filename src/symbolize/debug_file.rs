//! Finding the separate debug file of a binary the way gdb does (gdb manual, "Debugging
//! Information in Separate Files"; gdb/build-id.c, gdb/symfile.c `find_separate_debug_file`):
//! by build ID under each debug directory (`.build-id/xx/rest.debug`), else by the
//! `.gnu_debuglink` name, checked against its CRC-32, beside the binary, in its `.debug/` and
//! under each debug directory; else, when the user allowed it, from debuginfod by build ID.
//!
//! [`DebugFiles`] is that search as the core reader sees it
//! ([`crate::coredump::modules::DebugFileLookup`]): the unwinder needs a separate file's
//! `.debug_frame` and a missing executable fetched, without depending on this module.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

use super::debuginfod::{self, Debuginfod};

/// The build ID of an ELF file, hex; `None` when `data` is not ELF or has no build-ID note.
pub fn build_id(data: &[u8]) -> Option<String> {
    let f = object::File::parse(data).ok()?;
    let id = f.build_id().ok()??;
    Some(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// The CRC-32 `.gnu_debuglink` records (the IEEE polynomial, as gdb's `gnu_debuglink_crc32`
/// and `objcopy --add-gnu-debuglink` compute it) of the file at `path`, read through a
/// read-only mapping; `None` when it cannot be read or shrank while it was read (an empty
/// file's is 0).
pub(crate) fn debuglink_crc(path: &Path) -> Option<u32> {
    let f = crate::base::input::open(path, crate::base::input::Accept::Regular)
        .ok()?
        .file;
    let len = usize::try_from(f.metadata().ok()?.len()).ok()?;
    if len == 0 {
        return Some(0);
    }
    let map = crate::base::mmap::Map::new(&f, len).ok()?;
    let crc = crc32fast::hash(map.bytes());
    (!map.faulted()).then_some(crc)
}

fn has_dwarf(data: &[u8]) -> bool {
    object::File::parse(data).is_ok_and(|f| {
        f.section_by_name(".debug_info")
            .is_some_and(|s| s.size() > 0)
    })
}

/// The separate debug file of `bin` (whose bytes are `data`) found on this machine: by build ID
/// under each of `debug_dirs` (`.build-id/xx/rest.debug`), else by `.gnu_debuglink`
/// (CRC-checked) beside the binary, in its `.debug/` and under each of `debug_dirs`. `None`
/// when there is none.
pub fn find_local(debug_dirs: &[PathBuf], bin: &Path, data: &[u8]) -> Option<PathBuf> {
    if let Some(id) = build_id(data).filter(|id| id.len() > 2) {
        for d in debug_dirs {
            let p = d
                .join(".build-id")
                .join(&id[..2])
                .join(format!("{}.debug", &id[2..]));
            if p.is_file() {
                return Some(p);
            }
        }
    }
    let f = object::File::parse(data).ok()?;
    let (name, crc) = f.gnu_debuglink().ok()??;
    let name = String::from_utf8_lossy(name).into_owned();
    let dir = bin.parent().unwrap_or(Path::new("."));
    let mut cands = vec![dir.join(&name), dir.join(".debug").join(&name)];
    for d in debug_dirs {
        let rel = dir.strip_prefix("/").unwrap_or(dir);
        cands.push(d.join(rel).join(&name));
    }
    cands
        .into_iter()
        .find(|c| c.is_file() && debuglink_crc(c) == Some(crc))
}

/// Where separate debug files are looked for, and the debuginfod servers to ask when the user
/// allowed it.
#[derive(Debug, Clone)]
pub struct DebugFiles {
    /// Directories searched (default `/usr/lib/debug`).
    pub dirs: Vec<PathBuf>,
    /// Servers asked by build ID when nothing is found locally (`--debuginfod` or
    /// `DEBUGINFOD_URLS`); `None`: never.
    pub debuginfod: Option<Debuginfod>,
}

impl Default for DebugFiles {
    fn default() -> DebugFiles {
        DebugFiles {
            dirs: vec![PathBuf::from("/usr/lib/debug")],
            debuginfod: None,
        }
    }
}

impl DebugFiles {
    /// The separate debug file of `bin` (bytes `data`), when it has no DWARF of its own: found
    /// locally, else (when configured) from debuginfod by build ID; with why debuginfod failed.
    pub(crate) fn find(&self, bin: &Path, data: &[u8]) -> (Option<PathBuf>, Option<String>) {
        if has_dwarf(data) {
            return (None, None);
        }
        if let Some(p) = find_local(&self.dirs, bin, data) {
            return (Some(p), None);
        }
        match (&self.debuginfod, build_id(data)) {
            (Some(s), Some(id)) => match s.fetch(&id, debuginfod::Artifact::DebugInfo) {
                Ok(p) => (Some(p), None),
                Err(e) => (None, Some(e)),
            },
            _ => (None, None),
        }
    }
}

impl crate::coredump::modules::DebugFileLookup for DebugFiles {
    fn separate_debug_file(&self, file: &Path, data: &[u8]) -> Option<PathBuf> {
        find_local(&self.dirs, file, data)
    }

    fn fetch_executable(&self, build_id: &str) -> Option<Result<PathBuf, String>> {
        let server = self.debuginfod.as_ref()?;
        Some(server.fetch(build_id, debuginfod::Artifact::Executable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_the_ieee_crc32() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        // The check value of CRC-32/ISO-HDLC (the IEEE polynomial, reflected, ~0 in and out).
        std::fs::write(&p, b"123456789").unwrap();
        assert_eq!(debuglink_crc(&p), Some(0xcbf4_3926));
        std::fs::write(&p, b"").unwrap();
        assert_eq!(debuglink_crc(&p), Some(0));
        assert_eq!(debuglink_crc(&d.path().join("missing")), None);
    }

    /// The CRC binutils writes into `.gnu_debuglink` for a file is the one computed here
    /// (objcopy as the oracle; skipped without binutils).
    #[test]
    fn crc_matches_what_objcopy_writes() {
        let d = tempfile::tempdir().unwrap();
        let dbg = d.path().join("prog.debug");
        // Any file serves as the "debug file": objcopy only hashes it.
        let content: Vec<u8> = (0..100_003u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&dbg, &content).unwrap();
        let exe = Path::new("/bin/true");
        let out = d.path().join("linked");
        let st = std::process::Command::new("objcopy")
            .arg("--remove-section=.gnu_debuglink")
            .arg(format!("--add-gnu-debuglink={}", dbg.display()))
            .arg(exe)
            .arg(&out)
            .status();
        if !st.is_ok_and(|s| s.success()) {
            eprintln!("SKIP: needs objcopy (binutils)");
            return;
        }
        let data = std::fs::read(&out).unwrap();
        let f = object::File::parse(&*data).unwrap();
        let (name, crc) = f.gnu_debuglink().unwrap().unwrap();
        assert_eq!(name, b"prog.debug");
        assert_eq!(debuglink_crc(&dbg), Some(crc));
        // And the lookup finds it beside the binary by that CRC.
        assert_eq!(
            find_local(&[], &out, &data),
            Some(d.path().join("prog.debug"))
        );
        std::fs::write(&dbg, b"changed").unwrap();
        assert_eq!(
            find_local(&[], &out, &data),
            None,
            "a CRC mismatch is no match"
        );
    }
}
