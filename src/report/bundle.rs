//! The `.tar.gz` bundle of a report's raw inputs (log excerpts, `/proc` files, cgroup files...).
//!
//! Bundles leave the machine (attached to tickets), so everything text goes through
//! [`super::redact::redact`] on the way in, entry names too (the MANIFEST lists the redacted
//! names; a log called `password=hunter2.log` is stored as `…password=[REDACTED].log.tail`), and
//! the file is created readable by its owner only. Layout, for `Bundle::new("clw-diag-report-HOST")`:
//!
//! ```text
//! clw-diag-report-HOST/MANIFEST.txt     every file, its size and how many secrets were redacted
//! clw-diag-report-HOST/<path>           what add_text / add_bytes_unredacted stored
//! ```
//!
//! Every entry is a regular file with mode 0600, uid/gid 0 and the write time as mtime, so
//! unpacking the bundle as anyone never produces group- or world-readable copies. Entry paths are
//! sanitized (no `..`, no leading `/`, no empty or `.` components), so unpacking cannot escape the
//! root directory.
//!
//! [`Bundle::write`] never follows a symlink at the destination and never replaces a file unless
//! asked: without `force` the file is created with `O_CREAT|O_EXCL` (which also refuses an
//! existing symlink); with `force` the archive is written to a temporary file in the same
//! directory and renamed over the destination, so a reader never sees half an archive and a
//! symlink there is replaced rather than written through.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::redact::{numbered_file_name, redact, redact_file_name};
use crate::{Error, Result};

/// Name of the generated manifest entry (under the root directory).
pub const MANIFEST: &str = "MANIFEST.txt";

/// Mode of every entry in the archive and of the archive file itself.
const MODE: u32 = 0o600;

struct Entry {
    /// The sanitized path as the caller gave it (in memory only: it may hold a secret), the key
    /// for replacing an entry.
    key: String,
    /// The name in the archive and the MANIFEST: `key` redacted, numbered if that collides.
    path: String,
    data: Vec<u8>,
    /// Secrets redacted from this entry; None for bytes stored unredacted.
    redacted: Option<usize>,
}

/// An in-memory set of files to write as one `.tar.gz`.
pub struct Bundle {
    root: String,
    entries: Vec<Entry>,
}

impl Bundle {
    /// An empty bundle whose entries go under `root_name/` (sanitized like entry paths; `report`
    /// if nothing is left of it).
    pub fn new(root_name: &str) -> Bundle {
        let root = redact_file_name(&sanitize(root_name)).text;
        Bundle {
            root: if root.is_empty() {
                "report".to_string()
            } else {
                root
            },
            entries: Vec::new(),
        }
    }

    /// Store `text` at `path` after redacting its secrets, the path's too: its name in the
    /// archive keeps its extensions (`logs/password=[REDACTED].log.tail`), and two paths that
    /// read the same once redacted are numbered (`…[REDACTED]~2.log.tail`). Adding a path twice
    /// replaces the first entry.
    pub fn add_text(&mut self, path: &str, text: &str) {
        let r = redact(text);
        self.insert(path, r.text.into_bytes(), Some(r.count));
    }

    /// Store `bytes` at `path` as they are. Only for binary data that cannot hold secrets
    /// (a PNG plot, a compressed trace the report itself produced); anything that may contain
    /// text from the host (logs, `/proc` files, environment, command lines) must go through
    /// [`add_text`](Bundle::add_text).
    pub fn add_bytes_unredacted(&mut self, path: &str, bytes: Vec<u8>) {
        self.insert(path, bytes, None);
    }

    /// Add or replace the entry for `path`. Its name in the archive is the sanitized path with
    /// its secrets redacted, extensions kept (`logs/password=[REDACTED].log.tail`); when two
    /// paths read the same once redacted, the later ones get `~2`, `~3`… before the extensions,
    /// so every entry keeps a unique, readable name. Secrets in the name count with the entry's.
    fn insert(&mut self, path: &str, data: Vec<u8>, redacted: Option<usize>) {
        let mut key = sanitize(path);
        if key.is_empty() {
            key = "unnamed".to_string();
        }
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == key) {
            let in_name = redact_file_name(&key).count;
            e.data = data;
            e.redacted = redacted.map(|n| n + in_name);
            return;
        }
        let name = redact_file_name(&key);
        let mut base = name.text;
        if base == MANIFEST {
            // The manifest is generated; keep the caller's file under another name.
            base = format!("_{MANIFEST}");
        }
        let mut path = base.clone();
        let mut n = 1;
        while self.entries.iter().any(|e| e.path == path) {
            n += 1;
            path = numbered_file_name(&base, n);
        }
        self.entries.push(Entry {
            key,
            path,
            data,
            redacted: redacted.map(|c| c + name.count),
        });
    }

    /// Total secrets redacted over all entries.
    pub fn redacted_count(&self) -> usize {
        self.entries.iter().filter_map(|e| e.redacted).sum()
    }

    /// The entries' sanitized paths (relative to the root, without the generated manifest), in
    /// the order they were added.
    pub fn entries(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.path.as_str()).collect()
    }

    /// The manifest text: one line per file with its size and redaction count.
    fn manifest(&self) -> String {
        let mut m = format!(
            "clw-diag report bundle {}\nfiles: {}, secrets redacted: {}\n\n{:>12}  {:>8}  path\n",
            self.root,
            self.entries.len(),
            self.redacted_count(),
            "size_bytes",
            "redacted",
        );
        for e in &self.entries {
            let redacted = match e.redacted {
                Some(n) => n.to_string(),
                None => "-".to_string(),
            };
            m.push_str(&format!(
                "{:>12}  {:>8}  {}\n",
                e.data.len(),
                redacted,
                e.path
            ));
        }
        m.push_str("\n\"-\": binary data stored as is (not text, not redacted)\n");
        m
    }

    /// Write the bundle to `out` (mode 0600). An existing `out` is an error unless `force`, in
    /// which case it is replaced atomically.
    pub fn write(&self, out: &Path, force: bool) -> Result<()> {
        if !force {
            let file = match create_0600(out) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(Error::Usage(format!(
                        "{}: exists; pass --force to replace it",
                        out.display()
                    )));
                }
                Err(e) => return Err(Error::io(out, e)),
            };
            return self.write_to(file).map_err(|e| {
                let _ = fs::remove_file(out);
                Error::io(out, e)
            });
        }
        let (tmp, file) = create_temp_beside(out).map_err(|e| Error::io(out, e))?;
        let written = self
            .write_to(file)
            .map_err(|e| Error::io(&tmp, e))
            .and_then(|()| fs::rename(&tmp, out).map_err(|e| Error::io(out, e)));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    fn write_to(&self, file: File) -> io::Result<()> {
        let mtime = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
        let manifest = self.manifest();
        let files = std::iter::once((MANIFEST, manifest.as_bytes()))
            .chain(self.entries.iter().map(|e| (e.path.as_str(), &e.data[..])));
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(MODE);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(mtime);
            header.set_size(data.len() as u64);
            tar.append_data(&mut header, format!("{}/{path}", self.root), data)?;
        }
        let mut file = tar.into_inner()?.finish()?;
        file.flush()?;
        file.sync_all()
    }
}

/// Create `path` exclusively (fails on any existing entry, symlinks included) with mode 0600.
fn create_0600(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(MODE)
        .open(path)
}

/// A new, exclusively created 0600 file next to `out`, for an atomic replace by rename.
fn create_temp_beside(out: &Path) -> io::Result<(PathBuf, File)> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = out
        .file_name()
        .map_or_else(|| "bundle".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    let mut last_err = None;
    for n in 0..100u32 {
        let tmp = dir.join(format!(".{name}.tmp.{pid}.{n}"));
        match create_0600(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no free temporary name")))
}

/// `a/../b//./c` → `a/b/c`: drop empty, `.` and `..` components and any leading `/`; control
/// characters become `_`.
fn sanitize(path: &str) -> String {
    path.split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != "." && *c != "..")
        .map(|c| {
            c.chars()
                .map(|ch| if ch.is_control() { '_' } else { ch })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    const SECRETS: &[&str] = &[
        "hunter2-db-pass",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "abc123def456ghi789",
    ];

    fn sample() -> Bundle {
        let mut b = Bundle::new("clw-diag-report-test");
        b.add_text(
            "logs/app.log",
            "start\nDB_PASSWORD=hunter2-db-pass\nkey AKIAIOSFODNN7EXAMPLE\nuser=alice pid=42\n",
        );
        b.add_text(
            "../../etc/headers.txt",
            "Authorization: Bearer abc123def456ghi789\ntoken: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n",
        );
        b.add_bytes_unredacted("/plots/rss.png", vec![0x89, b'P', b'N', b'G', 0, 1, 2]);
        b
    }

    /// (path, mode, uid, gid, contents) of every entry.
    fn read_back(path: &Path) -> Vec<(String, u32, u64, u64, Vec<u8>)> {
        let mut archive = tar::Archive::new(GzDecoder::new(File::open(path).unwrap()));
        let mut out = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let h = entry.header();
            assert_eq!(h.entry_type(), tar::EntryType::Regular);
            let (mode, uid, gid) = (h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap());
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.push((name, mode, uid, gid, data));
        }
        out
    }

    fn disk_mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report.tar.gz");
        let b = sample();
        assert_eq!(
            b.entries(),
            ["logs/app.log", "etc/headers.txt", "plots/rss.png"]
        );
        assert_eq!(b.redacted_count(), 4);
        b.write(&out, false).unwrap();
        assert_eq!(disk_mode(&out), 0o600);

        let entries = read_back(&out);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "clw-diag-report-test/MANIFEST.txt",
                "clw-diag-report-test/logs/app.log",
                "clw-diag-report-test/etc/headers.txt",
                "clw-diag-report-test/plots/rss.png",
            ]
        );
        for (name, mode, uid, gid, _) in &entries {
            assert_eq!((*mode & 0o7777, *uid, *gid), (0o600, 0, 0), "{name}");
        }
        let log = String::from_utf8(entries[1].4.clone()).unwrap();
        assert_eq!(
            log,
            "start\nDB_PASSWORD=[REDACTED]\nkey [REDACTED]\nuser=alice pid=42\n"
        );
        assert_eq!(entries[3].4, [0x89, b'P', b'N', b'G', 0, 1, 2]);
        let manifest = String::from_utf8(entries[0].4.clone()).unwrap();
        assert!(manifest.contains("secrets redacted: 4"), "{manifest}");
        for (path, size, redacted) in [
            ("logs/app.log", entries[1].4.len(), "2"),
            ("etc/headers.txt", entries[2].4.len(), "2"),
            ("plots/rss.png", 7, "-"),
        ] {
            let line = format!("{size:>12}  {redacted:>8}  {path}\n");
            assert!(manifest.contains(&line), "{line:?} not in {manifest}");
        }
    }

    #[test]
    fn no_planted_secret_in_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("b.tar.gz");
        sample().write(&out, false).unwrap();
        let mut raw = Vec::new();
        GzDecoder::new(File::open(&out).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        let raw = String::from_utf8_lossy(&raw);
        assert!(raw.contains("[REDACTED]"));
        for s in SECRETS {
            assert!(!raw.contains(s), "{s} is in the archive");
        }
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("exists.tar.gz");
        fs::write(&out, "precious").unwrap();
        let err = sample().write(&out, false).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Usage(_)), "{err:?}");
        assert_eq!(
            msg,
            format!("{}: exists; pass --force to replace it", out.display())
        );
        assert!(!msg.contains('\n'));
        assert_eq!(fs::read_to_string(&out).unwrap(), "precious");
    }

    #[test]
    fn does_not_follow_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "victim").unwrap();
        let link = dir.path().join("link.tar.gz");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = sample().write(&link, false).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{err:?}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "victim");

        // With force the link itself is replaced; the file it pointed to is untouched.
        sample().write(&link, true).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "victim");
        assert!(!fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(read_back(&link).len(), 4);
    }

    #[test]
    fn force_replaces_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("old.tar.gz");
        fs::write(&out, "old contents").unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(0o644)).unwrap();
        sample().write(&out, true).unwrap();
        assert_eq!(disk_mode(&out), 0o600);
        assert_eq!(read_back(&out).len(), 4);
        // No temporary file is left behind.
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn unwritable_destination_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/dir/out.tar.gz");
        let file = dir.path().join("plain");
        fs::write(&file, "").unwrap();
        let under_file = file.join("out.tar.gz");
        for force in [false, true] {
            for out in [&missing, &under_file] {
                let err = sample().write(out, force).unwrap_err();
                assert!(!matches!(err, Error::Usage(_)), "{err:?}");
                assert!(err.to_string().contains("out.tar.gz"), "{err}");
            }
        }
        // A read-only directory stops non-root users (root bypasses the mode bits).
        let ro = dir.path().join("ro");
        fs::create_dir(&ro).unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
        let res = sample().write(&ro.join("x.tar.gz"), false);
        if unsafe { libc::geteuid() } != 0 {
            assert!(res.unwrap_err().is_permission());
        }
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn names_are_redacted_unique_and_keep_their_extensions() {
        let mut b = Bundle::new("r");
        b.add_text("logs/password=PLANTEDone.log.tail", "a");
        b.add_text("logs/password=PLANTEDtwo.log.tail", "b");
        b.add_text("logs/password=PLANTEDone.log.tail", "a again");
        b.add_text("logs/app_glpat-PLANTEDgitlabTok12345.log.tail", "c");
        assert_eq!(
            b.entries(),
            [
                "logs/password=[REDACTED].log.tail",
                "logs/password=[REDACTED]~2.log.tail",
                "logs/app_[REDACTED].log.tail",
            ]
        );
        // The same path replaces its entry; the secret in a name is counted with the entry's.
        assert_eq!(b.entries[0].data, b"a again");
        assert_eq!(b.redacted_count(), 3);
        let m = b.manifest();
        assert!(!m.contains("PLANTED"), "{m}");
        assert!(m.contains("password=[REDACTED]~2.log.tail"), "{m}");
    }

    #[test]
    fn paths_are_sanitized() {
        assert_eq!(sanitize("/etc/passwd"), "etc/passwd");
        assert_eq!(sanitize("a/../../b//./c"), "a/b/c");
        assert_eq!(sanitize(".."), "");
        assert_eq!(sanitize("a\nb"), "a_b");
        let mut b = Bundle::new("../..");
        b.add_text("..", "x");
        b.add_text("MANIFEST.txt", "mine");
        b.add_text("dup", "first");
        b.add_text("dup", "second");
        assert_eq!(b.entries(), ["unnamed", "_MANIFEST.txt", "dup"]);
        assert_eq!(b.root, "report");
    }
}
