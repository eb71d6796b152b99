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
        /// The file (or directory) whose read, open or listing failed.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The kernel refused access (EACCES/EPERM).
    #[error("{}: permission denied{}", path.display(), hint)]
    PermissionDenied {
        /// The file the kernel refused to open or read.
        path: PathBuf,
        /// Text appended to the message saying what access is needed (e.g. [`PTRACE_HINT`]);
        /// empty when there is nothing to add.
        hint: &'static str,
    },
    /// No process with this pid exists (or it exited before we opened it).
    #[error("no process with pid {pid} ({} does not exist)", path.display())]
    NoSuchProcess {
        /// The pid that was asked for.
        pid: i32,
        /// The `/proc/PID` path found missing.
        path: PathBuf,
    },
    /// The process exited while we were reading it.
    #[error("process {pid} exited while it was being read ({})", path.display())]
    Vanished {
        /// The pid of the process that exited.
        pid: i32,
        /// The `/proc/PID/...` file whose read failed with ENOENT or ESRCH.
        path: PathBuf,
    },
    /// A per-process file is missing although its process directory is there: a copied tree
    /// (`--proc-root`) made without it, or a kernel that does not provide it. Not an exited
    /// process, but counted with them by callers that walk many ([`Error::is_vanished`]).
    #[error(
        "{}: missing from the process directory, which is still there (a copied /proc tree \
         without this file, or a kernel without it)",
        path.display()
    )]
    MissingFile {
        /// The pid whose file is missing.
        pid: i32,
        /// The `/proc/PID/...` file that does not exist.
        path: PathBuf,
    },
    /// The pid belongs to a kernel thread, which has no user-space address space.
    #[error("pid {pid} ({name}) is a kernel thread: it has no user-space memory mappings")]
    KernelThread {
        /// The kernel thread's pid.
        pid: i32,
        /// Its command name (`comm`, e.g. `kworker/0:1`).
        name: String,
    },
    /// A live process cannot be attached with ptrace (permission, another tracer, a zombie);
    /// `why` says which and what would allow it.
    #[error("cannot attach to process {pid}: {why}")]
    Attach {
        /// The process asked for.
        pid: i32,
        /// One line: the reason, and what attaching needs.
        why: String,
    },
    /// A file's contents do not follow the kernel's format.
    #[error("{}: malformed: {msg}", location(path, *line))]
    Malformed {
        /// The file that could not be parsed.
        path: PathBuf,
        /// 1-based line number; 0 when the problem concerns the whole file.
        line: usize,
        /// What was expected and what was found, one line.
        msg: String,
    },
    /// A cgroup directory that was asked for does not exist.
    #[error("cgroup {requested:?} does not exist ({} not found)", path.display())]
    NoSuchCgroup {
        /// The cgroup as the user gave it (absolute directory or path relative to the hierarchy root).
        requested: String,
        /// The directory under the cgroup mount that was looked for.
        path: PathBuf,
    },
    /// A `--cgroup` that is neither a cgroup directory nor the name of exactly one workload
    /// (none matches, or several do: `msg` lists them).
    #[error("cgroup {requested:?} {msg}")]
    NoSuchWorkload {
        /// The path or workload name as the user gave it.
        requested: String,
        /// "does not exist: …" with what was tried, or "is ambiguous: …" with the candidates,
        /// one line.
        msg: String,
    },
    /// No memory cgroup hierarchy (v1 `memory` controller or v2 with `memory` enabled) was found.
    #[error("no memory cgroup hierarchy found under {}", path.display())]
    NoMemoryHierarchy {
        /// The cgroup mount root that was searched (normally `/sys/fs/cgroup`).
        path: PathBuf,
    },
    /// A file is not what the command reads: not an ELF core, a core of another architecture
    /// or class, a directory where a file was named. `what` says what it is instead.
    #[error("{}: {what}", path.display())]
    NotSupported {
        /// The file that was given.
        path: PathBuf,
        /// What the file is instead, one line.
        what: String,
    },
    /// An input is larger than the bound this reader keeps on it (bytes, lines, records,
    /// series or label size): reading on would grow without bound on a hostile or endless
    /// input. `what` names the bound and how to go past it where a flag allows.
    #[error("{}: {what}", path.display())]
    TooLarge {
        /// The file (or `-` for stdin) that exceeded the bound.
        path: PathBuf,
        /// One line: which bound, its value, and what to do instead.
        what: String,
    },
    /// A memory-mapped file shrank while it was being read (a log truncated by `copytruncate`,
    /// a binary rewritten in place): what was read from it cannot be trusted
    /// ([`crate::base::mmap::Map::check`]).
    #[error("{}: {SHRANK}", path.display())]
    Shrank {
        /// The file that was mapped.
        path: PathBuf,
    },
    /// BPF programs could not be loaded or attached (no permission, a kernel without uprobes
    /// or BPF): `why` says what is missing, one line.
    #[error("cannot trace with BPF: {why}")]
    Bpf {
        /// What failed and what it needs.
        why: String,
    },
    /// A command to run (`record -- CMD`) could not be started.
    #[error("cannot start {program:?}: {source}")]
    CannotStart {
        /// The program name or path as given after `--`.
        program: String,
        /// Why spawning failed: program not found, not executable...
        #[source]
        source: io::Error,
    },
    /// A plot could not be drawn or written (`--plot`): `reason` is one line (the drawing
    /// library's own error, or the I/O error of the output file).
    #[error("{}: cannot draw the plot: {reason}", path.display())]
    Plot {
        /// The output image file given to `--plot`.
        path: PathBuf,
        /// Why drawing or writing failed, one line.
        reason: String,
    },
    /// A record could not be encoded (a trace line, a report bundle entry).
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded: a trace line, a report bundle entry...
        what: &'static str,
        /// The encoder's error, one line.
        reason: String,
    },
    /// The request itself is invalid (bad pid, bad field name, `..` in a cgroup path...).
    #[error("{0}")]
    Usage(String),
    /// A remote server (Prometheus, debuginfod) could not be reached, timed out, or answered
    /// with an error or with nothing usable.
    #[error("{url}: {msg}")]
    Remote {
        /// The URL that was requested.
        url: String,
        /// What went wrong: connection error, timeout, HTTP status or unusable answer.
        msg: String,
    },
    /// The file is not an ELF core dump (not ELF, another ELF type, a directory); `why` says
    /// what it is instead.
    #[error("{}: {why}", path.display())]
    NotCore {
        /// The file given as a core dump.
        path: PathBuf,
        /// What the file is instead, one line.
        why: String,
    },
    /// The file is not an executable or library this tool can read (not an object file, a
    /// directory, unreadable debug information); `why` says what is wrong.
    #[error("{}: {why}", path.display())]
    NotObject {
        /// The file given as an executable or shared library.
        path: PathBuf,
        /// What is wrong with it, one line.
        why: String,
    },
    /// A well-formed file of an architecture or class this tool does not read (a 32-bit or
    /// aarch64 core).
    #[error("{}: {why}", path.display())]
    Unsupported {
        /// The file that was read.
        path: PathBuf,
        /// Which architecture or class it is, and that it is not supported.
        why: String,
    },
}

fn location(path: &Path, line: usize) -> String {
    if line == 0 {
        path.display().to_string()
    } else {
        format!("{}:{line}", path.display())
    }
}

/// What a read of a file that shrank under its memory map is told, after the file's name
/// ([`Error::Shrank`]; triage's mapped scan says the same).
pub const SHRANK: &str = "the file shrank while it was being read (truncated by log rotation?)";

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

    /// Errors of a per-process file: ENOENT/ESRCH mean the process is gone ([`Error::gone`]),
    /// EACCES means we lack ptrace access to it.
    pub fn process_io(pid: i32, path: &Path, source: io::Error) -> Error {
        let gone =
            source.kind() == io::ErrorKind::NotFound || source.raw_os_error() == Some(libc::ESRCH);
        if gone {
            Error::gone(pid, path)
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

    /// A per-process file `path` (`ROOT/PID/FILE`) was not found: [`Error::Vanished`] when the
    /// process directory is gone too (the process exited), else [`Error::MissingFile`] (the
    /// directory is there: a copied tree without the file).
    pub fn gone(pid: i32, path: &Path) -> Error {
        let dir_there = path
            .parent()
            .is_some_and(|d| d.file_name().is_some() && d.is_dir());
        if dir_there {
            Error::MissingFile {
                pid,
                path: path.to_path_buf(),
            }
        } else {
            Error::Vanished {
                pid,
                path: path.to_path_buf(),
            }
        }
    }

    /// True when the process's data is not there to read: it no longer exists, or (a copied
    /// tree) the file is missing from its directory. Callers that walk many processes count it.
    pub fn is_vanished(&self) -> bool {
        matches!(
            self,
            Error::Vanished { .. } | Error::NoSuchProcess { .. } | Error::MissingFile { .. }
        )
    }

    /// True when the error is a permission problem.
    pub fn is_permission(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_an_exited_process_only_when_its_directory_is_gone() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("42")).unwrap();
        let e = Error::gone(42, &root.path().join("42/smaps_rollup"));
        assert!(matches!(e, Error::MissingFile { pid: 42, .. }), "{e}");
        assert!(e.to_string().contains("missing from the process directory"));
        assert!(e.is_vanished(), "walkers still count it and go on");
        let e = Error::gone(43, &root.path().join("43/smaps_rollup"));
        assert!(matches!(e, Error::Vanished { pid: 43, .. }), "{e}");
        let io = io::Error::from(io::ErrorKind::NotFound);
        let e = Error::process_io(42, &root.path().join("42/status"), io);
        assert!(matches!(e, Error::MissingFile { .. }), "{e}");
    }
}
