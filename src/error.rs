//! Typed library errors.
//!
//! Every error carries the path (and where it applies, the line) it concerns, so the binary can
//! print a one-line message naming the file, line or capability and exit with code 2
//! (DESIGN.md, "Exit codes"). A process that vanishes while we read it is its own variant so
//! callers that walk many processes can count it as data instead of failing.

use std::io;
use std::path::{Path, PathBuf};

/// Errors returned by the readers and analyses of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read for a reason other than the ones below.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The kernel refused access (EACCES/EPERM).
    #[error("{}: permission denied{}", path.display(), hint)]
    PermissionDenied { path: PathBuf, hint: &'static str },
    /// No process with this pid exists (or it exited before we opened it).
    #[error("no process with pid {pid} ({} does not exist)", path.display())]
    NoSuchProcess { pid: i32, path: PathBuf },
    /// The process exited while we were reading it.
    #[error("process {pid} exited while it was being read ({})", path.display())]
    Vanished { pid: i32, path: PathBuf },
    /// The pid belongs to a kernel thread, which has no user-space address space.
    #[error("pid {pid} ({name}) is a kernel thread: it has no user-space memory mappings")]
    KernelThread { pid: i32, name: String },
    /// A file's contents do not follow the kernel's format.
    #[error("{}: malformed: {msg}", location(path, *line))]
    Malformed {
        path: PathBuf,
        /// 1-based line number; 0 when the problem concerns the whole file.
        line: usize,
        msg: String,
    },
    /// A cgroup directory that was asked for does not exist.
    #[error("cgroup {requested:?} does not exist ({} not found)", path.display())]
    NoSuchCgroup { requested: String, path: PathBuf },
    /// No memory cgroup hierarchy (v1 `memory` controller or v2 with `memory` enabled) was found.
    #[error("no memory cgroup hierarchy found under {}", path.display())]
    NoMemoryHierarchy { path: PathBuf },
    /// A file is not what the command reads: not an ELF core, a core of another architecture
    /// or class, a directory where a file was named. `what` says what it is instead.
    #[error("{}: {what}", path.display())]
    NotSupported { path: PathBuf, what: String },
    /// A command to run (`record -- CMD`) could not be started.
    #[error("cannot start {program:?}: {source}")]
    CannotStart {
        program: String,
        #[source]
        source: io::Error,
    },
    /// A plot could not be drawn or written (`--plot`): `reason` is one line (the drawing
    /// library's own error, or the I/O error of the output file).
    #[error("{}: cannot draw the plot: {reason}", path.display())]
    Plot { path: PathBuf, reason: String },
    /// A record could not be encoded (a trace line, a report bundle entry).
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
    /// The request itself is invalid (bad pid, bad field name, `..` in a cgroup path...).
    #[error("{0}")]
    Usage(String),
    /// A remote server (Prometheus, debuginfod) could not be reached, timed out, or answered
    /// with an error or with nothing usable.
    #[error("{url}: {msg}")]
    Remote { url: String, msg: String },
    /// The file is not an ELF core dump (not ELF, another ELF type, a directory); `why` says
    /// what it is instead.
    #[error("{}: {why}", path.display())]
    NotCore { path: PathBuf, why: String },
    /// The file is not an executable or library this tool can read (not an object file, a
    /// directory, unreadable debug information); `why` says what is wrong.
    #[error("{}: {why}", path.display())]
    NotObject { path: PathBuf, why: String },
    /// A well-formed file of an architecture or class this tool does not read (a 32-bit or
    /// aarch64 core).
    #[error("{}: {why}", path.display())]
    Unsupported { path: PathBuf, why: String },
}

fn location(path: &Path, line: usize) -> String {
    if line == 0 {
        path.display().to_string()
    } else {
        format!("{}:{line}", path.display())
    }
}

/// Hint printed after "permission denied" on per-process files.
pub const PTRACE_HINT: &str =
    " (reading a process's memory maps needs ptrace access to it: the same uid \
     and a dumpable process, or CAP_SYS_PTRACE; run as that user or as root)";

impl Error {
    /// Classify an I/O error on `path`: permission problems and missing files get their own
    /// variants so the message can say what is needed.
    pub fn io(path: &Path, source: io::Error) -> Error {
        match source.kind() {
            io::ErrorKind::PermissionDenied => Error::PermissionDenied {
                path: path.to_path_buf(),
                hint: "",
            },
            _ => Error::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// Errors of a per-process file: ENOENT/ESRCH mean the process is gone, EACCES means we
    /// lack ptrace access to it.
    pub fn process_io(pid: i32, path: &Path, source: io::Error) -> Error {
        let gone =
            source.kind() == io::ErrorKind::NotFound || source.raw_os_error() == Some(libc::ESRCH);
        if gone {
            Error::Vanished {
                pid,
                path: path.to_path_buf(),
            }
        } else if source.kind() == io::ErrorKind::PermissionDenied {
            Error::PermissionDenied {
                path: path.to_path_buf(),
                hint: PTRACE_HINT,
            }
        } else {
            Error::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    /// True when the error means the process no longer exists.
    pub fn is_vanished(&self) -> bool {
        matches!(self, Error::Vanished { .. } | Error::NoSuchProcess { .. })
    }

    /// True when the error is a permission problem.
    pub fn is_permission(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
