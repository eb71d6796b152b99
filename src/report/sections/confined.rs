//! Opening a file found in a directory the user named (a log glob's directory, `--cores DIR`)
//! without being led out of it.
//!
//! The report runs as root during an incident, and whoever can write a log directory (the worker
//! itself) can plant `ln -s /etc/shadow /var/log/clw/shadow.log`; a bundle attached to a ticket
//! would then carry root's password hashes. So an entry is read only when the file it resolves to
//! (every symlink followed, `canonicalize`) lies in the named directory, or in a directory the
//! layout itself points into: kubelet's `/var/log/containers/*.log` are symlinks into
//! `/var/log/pods/`, so those targets are allowed for a `containers` directory. The resolved
//! file is opened with `O_NOFOLLOW|O_NONBLOCK` (a symlink swapped in after the check is refused,
//! a FIFO cannot block the open), `fstat`ed (regular files only), and the path the kernel gives
//! for the open descriptor (`/proc/self/fd/N`) is checked again, so a directory swapped for a
//! symlink between the check and the open is caught. Whatever is skipped is said, one line each,
//! for the section's notes.

use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::base::input::Kind;

/// A file of a named directory, resolved and open.
#[derive(Debug)]
pub struct Confined {
    /// The path to read it by: the entry itself when it is not a symlink (names in the report
    /// stay as found), else the resolved target.
    pub path: PathBuf,
    /// The open file (read-only, close-on-exec).
    pub file: File,
    /// Its size, bytes.
    pub len: u64,
    /// `(st_dev, st_ino)`: the same file reached by two names has one identity.
    pub id: (u64, u64),
}

/// The directories the targets of `dir`'s entries may lie in: `dir` itself (canonical), and
/// for a kubelet `…/var/log/containers` its sibling `…/var/log/pods`.
fn allowed(dir: &Path) -> Vec<PathBuf> {
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut out = vec![real.clone()];
    if real.ends_with("var/log/containers") {
        if let Some(p) = real.parent() {
            out.push(std::fs::canonicalize(p.join("pods")).unwrap_or_else(|_| p.join("pods")));
        }
    }
    out
}

/// Open `entry`, found in `dir`, if it stays inside; otherwise the note saying why it was
/// skipped ("skipped /var/log/clw/shadow.log: a symlink to /etc/shadow, outside /var/log/clw").
pub fn open_in(entry: &Path, dir: &Path) -> Result<Confined, String> {
    let skipped = |why: String| format!("skipped {}: {why}", entry.display());
    let lmeta = std::fs::symlink_metadata(entry).map_err(|e| skipped(e.to_string()))?;
    let is_link = lmeta.file_type().is_symlink();
    let target = std::fs::canonicalize(entry).map_err(|e| {
        skipped(if is_link {
            format!("a symlink that leads nowhere ({e})")
        } else {
            e.to_string()
        })
    })?;
    let roots = allowed(dir);
    let inside = |p: &Path| roots.iter().any(|r| p.starts_with(r) && p != r);
    if !inside(&target) {
        return Err(skipped(format!(
            "a symlink to {}, outside {}",
            target.display(),
            dir.display()
        )));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&target)
        .map_err(|e| {
            skipped(if e.raw_os_error() == Some(libc::ELOOP) {
                "it was replaced by a symlink while being opened".to_string()
            } else {
                e.to_string()
            })
        })?;
    let meta = file.metadata().map_err(|e| skipped(e.to_string()))?;
    if !meta.is_file() {
        return Err(skipped(format!(
            "{}, not a regular file",
            Kind::of(meta.file_type()).describe()
        )));
    }
    // What the descriptor really is, whatever was swapped between the check and the open.
    if let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", fd(&file))) {
        if !inside(&real) {
            return Err(skipped(format!(
                "it resolved to {}, outside {}, when opened",
                real.display(),
                dir.display()
            )));
        }
    }
    Ok(Confined {
        path: if is_link { target } else { entry.to_path_buf() },
        file,
        len: meta.len(),
        id: (meta.dev(), meta.ino()),
    })
}

fn fd(f: &File) -> i32 {
    use std::os::fd::AsRawFd;
    f.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_out_of_the_directory_and_special_files_are_skipped_with_a_note() {
        let t = tempfile::tempdir().unwrap();
        let logs = t.path().join("logs");
        std::fs::create_dir(&logs).unwrap();
        let secret = t.path().join("shadow");
        std::fs::write(&secret, "root:*:20228:0:99999:7:::\n").unwrap();
        std::fs::write(logs.join("app.log"), "ok\n").unwrap();
        symlink(&secret, logs.join("shadow.log")).unwrap();
        symlink(logs.join("app.log"), logs.join("alias.log")).unwrap();
        symlink(t.path().join("nothing"), logs.join("dangling.log")).unwrap();
        let c = std::ffi::CString::new(logs.join("fifo.log").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

        let ok = open_in(&logs.join("app.log"), &logs).unwrap();
        assert_eq!((ok.path, ok.len), (logs.join("app.log"), 3));
        let alias = open_in(&logs.join("alias.log"), &logs).unwrap();
        assert_eq!(
            alias.path,
            std::fs::canonicalize(logs.join("app.log")).unwrap()
        );
        let e = open_in(&logs.join("shadow.log"), &logs).unwrap_err();
        assert_eq!(
            e,
            format!(
                "skipped {}: a symlink to {}, outside {}",
                logs.join("shadow.log").display(),
                std::fs::canonicalize(&secret).unwrap().display(),
                logs.display()
            )
        );
        let e = open_in(&logs.join("dangling.log"), &logs).unwrap_err();
        assert!(e.contains("leads nowhere"), "{e}");
        let e = open_in(&logs.join("fifo.log"), &logs).unwrap_err();
        assert!(e.ends_with("a pipe or FIFO, not a regular file"), "{e}");
    }

    #[test]
    fn kubelet_container_logs_may_point_into_pods() {
        let t = tempfile::tempdir().unwrap();
        let containers = t.path().join("var/log/containers");
        let pod = t.path().join("var/log/pods/ns_pod_uid/app");
        std::fs::create_dir_all(&containers).unwrap();
        std::fs::create_dir_all(&pod).unwrap();
        std::fs::write(pod.join("0.log"), "line\n").unwrap();
        let link = containers.join("pod_ns_app-0123.log");
        symlink(pod.join("0.log"), &link).unwrap();
        let c = open_in(&link, &containers).unwrap();
        assert_eq!(c.path, std::fs::canonicalize(pod.join("0.log")).unwrap());
        // The exception is for the containers directory only.
        let other = t.path().join("var/log/other");
        std::fs::create_dir_all(&other).unwrap();
        symlink(pod.join("0.log"), other.join("x.log")).unwrap();
        assert!(open_in(&other.join("x.log"), &other).is_err());
    }
}
