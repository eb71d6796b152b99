//! Writing the files the tool produces (`report --bundle`, `record -o`, `--plot`): one home for
//! "is this path ours to write, and how do we replace it".
//!
//! The tool runs as root on the machine it diagnoses, so a path given on the command line may
//! name something that is not a file of ours at all: `/dev/null`, `/dev/stdout` (a symlink), a
//! FIFO, a socket, a directory. Renaming a new file over any of those breaks the host (a root-only
//! regular file at `/dev/null` breaks every non-root process); writing through a symlink writes
//! wherever it points. So [`check`] refuses every existing entry that is not a regular file,
//! symlinks included (`lstat(2)`, never followed), **whatever `--force` says**, with one line
//! naming what it is; an existing regular file is replaced only when the caller allows it.
//!
//! [`create`] then writes to a temporary file in the same directory, created with
//! `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC` and the caller's mode (0600 for private outputs), and
//! [`Output::commit`] `fsync`s it and renames it over the target (`rename(2)` is atomic: a reader
//! sees the old file or the whole new one), with `RENAME_NOREPLACE` when nothing was there at the
//! check so that an entry created meanwhile is never clobbered. A streamed output (a trace that
//! must survive SIGKILL) commits right after its first line and goes on appending to the same
//! open file, now at the target path. An output dropped before [`Output::commit`] removes its
//! temporary file.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::base::input::Kind;
use crate::error::{Error, Result};

/// Mode of a private output (a report bundle): readable by its owner only.
pub const PRIVATE: u32 = 0o600;
/// Mode of an ordinary output (a trace, a plot): `0666` less the umask, as `open(2)` creates.
pub const ORDINARY: u32 = 0o666;

/// What [`check`] found at the target path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Nothing: the output will be created.
    Nothing,
    /// A regular file, which may be replaced (its device and inode, for callers that compare).
    Regular {
        /// `st_dev` of the file.
        dev: u64,
        /// `st_ino` of the file.
        ino: u64,
    },
}

/// Whether `path` may be written: refuse anything there that is not a regular file (a
/// device, FIFO, socket, directory or symlink, even when `replace` is true), and an existing
/// regular file unless `replace` (the command's `--force`, or a command that always replaces).
///
/// Errors: [`Error::NotSupported`] naming what is there ("is a character device"; "is a symbolic
/// link to /dev/null"), [`Error::Usage`] "exists; pass --force to replace it" for a regular file
/// without `replace`, [`Error::Io`] when the path cannot be examined (a missing directory).
pub fn check(path: &Path, replace: bool) -> Result<Found> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // The directory must exist: say so now, before any work is done.
            let dir = parent(path);
            return match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => Ok(Found::Nothing),
                Ok(_) => Err(Error::NotSupported {
                    path: path.to_path_buf(),
                    what: format!("cannot be created: {} is not a directory", dir.display()),
                }),
                Err(e) => Err(Error::io(path, e)),
            };
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        let to = std::fs::read_link(path)
            .map(|t| format!(" to {}", t.display()))
            .unwrap_or_default();
        return Err(refuse(path, &format!("a symbolic link{to}")));
    }
    if !ft.is_file() {
        return Err(refuse(path, Kind::of(ft).describe()));
    }
    if !replace {
        return Err(Error::Usage(format!(
            "{}: exists; pass --force to replace it",
            path.display()
        )));
    }
    Ok(Found::Regular {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

fn refuse(path: &Path, what: &str) -> Error {
    Error::NotSupported {
        path: path.to_path_buf(),
        what: format!(
            "is {what}, not a regular file: refusing to write over it (even with --force); \
             name a new file"
        ),
    }
}

/// The directory an output is created in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// An output being written: a temporary file beside the target until [`commit`](Output::commit).
#[derive(Debug)]
pub struct Output {
    file: Option<File>,
    tmp: PathBuf,
    target: PathBuf,
    found: Found,
    replace: bool,
}

/// [`check`] `path`, then create the temporary file it will be written to, with `mode` (less
/// the umask; [`PRIVATE`] or [`ORDINARY`]).
///
/// Errors: those of [`check`]; [`Error::Io`] / [`Error::PermissionDenied`] naming `path` when the
/// temporary file cannot be created in its directory.
pub fn create(path: &Path, replace: bool, mode: u32) -> Result<Output> {
    let found = check(path, replace)?;
    let dir = parent(path);
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    for n in 0..100u32 {
        let tmp = dir.join(format!(".{name}.tmp.{pid}.{n}"));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        match opened {
            Ok(file) => {
                return Ok(Output {
                    file: Some(file),
                    tmp,
                    target: path.to_path_buf(),
                    found,
                    replace,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Err(Error::io(
        path,
        io::Error::other("no free temporary file name beside it"),
    ))
}

impl Output {
    /// The target path (what the output will be called once committed).
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// The open file (the temporary one until committed).
    pub fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("an output is open until committed")
    }

    /// `fsync` the file, rename it over the target and `fsync` the directory; the file stays
    /// open and is returned, so a streamed output goes on appending at the target path.
    ///
    /// Errors: [`Error::Io`] naming the target when writing out fails;
    /// [`Error::NotSupported`] when what is at the target changed since [`check`] into
    /// something that is not ours to replace (the temporary file is removed).
    pub fn commit(mut self) -> Result<File> {
        let file = self.file.take().expect("an output is committed once");
        file.sync_all().map_err(|e| Error::io(&self.target, e))?;
        // What is there now must still be something we may replace (not swapped for a device
        // or a symlink meanwhile).
        check(&self.target, self.replace)?;
        let noreplace = self.found == Found::Nothing && !self.replace;
        rename(&self.tmp, &self.target, noreplace).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::Usage(format!(
                    "{}: appeared while it was being written; pass --force to replace it",
                    self.target.display()
                ))
            } else {
                Error::io(&self.target, e)
            }
        })?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = File::open(parent(&self.target)) {
            let _ = d.sync_all();
        }
        self.tmp = PathBuf::new();
        Ok(file)
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// `rename(2)`, or `renameat2(2)` with `RENAME_NOREPLACE` (Linux 3.15+; EEXIST when something is
/// there). Where the file system does not support the flag (EINVAL), plain rename after a
/// final existence check.
fn rename(from: &Path, to: &Path, noreplace: bool) -> io::Result<()> {
    if noreplace {
        let c = |p: &Path| {
            CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::other("NUL in path"))
        };
        let (f, t) = (c(from)?, c(to)?);
        // SAFETY: renameat2 with two NUL-terminated paths relative to the working directory.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
        if std::fs::symlink_metadata(to).is_ok() {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
    }
    std::fs::rename(from, to)
}

/// [`create`], write `bytes`, [`Output::commit`]: a whole output at once.
///
/// Errors: those of both, and [`Error::Io`] when writing fails.
pub fn write_all(path: &Path, replace: bool, mode: u32, bytes: &[u8]) -> Result<()> {
    let mut out = create(path, replace, mode)?;
    out.write_all(bytes).map_err(|e| Error::io(path, e))?;
    out.commit().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn what_is_not_a_regular_file_is_refused_even_when_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "victim").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for (p, what) in [
            (&fifo, "is a pipe or FIFO"),
            (&sub, "is a directory"),
            (&link, "is a symbolic link to "),
        ] {
            for replace in [false, true] {
                let e = write_all(p, replace, ORDINARY, b"x").unwrap_err();
                let msg = e.to_string();
                assert!(matches!(e, Error::NotSupported { .. }), "{msg}");
                assert!(
                    msg.contains(what) && msg.contains("even with --force"),
                    "{msg}"
                );
                assert!(!msg.contains('\n'), "{msg}");
            }
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "victim");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // Nothing left behind but what was there.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn a_regular_file_is_replaced_only_when_allowed_and_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out");
        write_all(&p, false, PRIVATE, b"first").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let e = write_all(&p, false, PRIVATE, b"second").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: exists; pass --force to replace it", p.display())
        );
        write_all(&p, true, PRIVATE, b"second").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_streamed_output_appends_after_commit_and_a_dropped_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trace");
        let mut out = create(&p, true, ORDINARY).unwrap();
        out.write_all(b"header\n").unwrap();
        assert!(!p.exists(), "not at the target before commit");
        let mut f = out.commit().unwrap();
        f.write_all(b"sample\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"header\nsample\n");

        let q = dir.path().join("dropped");
        drop(create(&q, false, ORDINARY).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Something created meanwhile is not clobbered.
        let out = create(&q, false, ORDINARY).unwrap();
        std::fs::write(&q, "theirs").unwrap();
        assert!(out.commit().is_err());
        assert_eq!(std::fs::read_to_string(&q).unwrap(), "theirs");
        let e = create(&dir.path().join("no/such/x"), true, ORDINARY).unwrap_err();
        assert!(e.to_string().contains("no/such/x"), "{e}");
    }
}
