//! Opening and reading input files that may be hostile or endless: one home for "what kind of
//! file is this, and how much of it will we read".
//!
//! Every command that reads a file the user names (traces, logs, maps, binaries, `--proc-root`
//! trees) opens it through [`open`]: with `O_NONBLOCK` so a FIFO without a writer cannot block
//! the open forever (`open(2)`, "FIFOs"; the flag is cleared again afterwards, and a read of a
//! FIFO that no writer holds open returns end of file), with `O_CLOEXEC`, and then `fstat`ed so
//! the caller's [`Accept`] policy is applied to what the path really is (after symlinks).
//! [`read_capped`] reads a whole file but never more than a stated number of bytes.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// What a path turned out to be, from `fstat(2)` of the opened file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (`/proc` files are regular files of size 0).
    Regular,
    /// A pipe or FIFO (stdin from a pipe, `<(zcat log)`).
    Fifo,
    /// A character device (`/dev/zero`, `/dev/urandom`, `/dev/kmsg`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// A directory.
    Directory,
}

impl Kind {
    /// The kind of a `std::fs::FileType` (from `fstat` or `lstat`; a symlink is not a kind
    /// here: `lstat` callers check for it first).
    pub fn of(ft: std::fs::FileType) -> Kind {
        if ft.is_file() {
            Kind::Regular
        } else if ft.is_dir() {
            Kind::Directory
        } else if ft.is_fifo() {
            Kind::Fifo
        } else if ft.is_char_device() {
            Kind::CharDevice
        } else if ft.is_block_device() {
            Kind::BlockDevice
        } else {
            Kind::Socket
        }
    }

    /// A few words for messages: "a directory", "a character device", ...
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Regular => "a regular file",
            Kind::Fifo => "a pipe or FIFO",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Socket => "a socket",
            Kind::Directory => "a directory",
        }
    }
}

/// Which kinds of file a reader takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Regular files only: the reader needs an end (a whole-file parse, a mapping).
    Regular,
    /// Regular files, pipes/FIFOs (a stream the reader bounds itself) and `/dev/null`; other
    /// devices refused.
    Stream,
    /// Anything but a directory (the caller knows the device it wants, e.g. `/dev/kmsg`).
    Any,
}

/// An opened input: the file, what it is, and its size when it is a regular file (bytes; 0
/// for `/proc` files, which do not report one).
#[derive(Debug)]
pub struct Input {
    /// The open file, blocking again (`O_NONBLOCK` cleared), close-on-exec.
    pub file: File,
    /// What `fstat` says it is.
    pub kind: Kind,
    /// `st_size` of a regular file, bytes; `None` for anything else.
    pub len: Option<u64>,
}

/// Open `path` for reading and check its kind against `accept`.
///
/// Errors: [`Error::Io`] / [`Error::PermissionDenied`] when it cannot be opened (ENOENT keeps
/// its kind, so callers can tell a vanished `/proc` file); [`Error::NotSupported`] naming what
/// the file is when `accept` refuses it (a directory is always refused).
pub fn open(path: &Path, accept: Accept) -> Result<Input> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    let kind = Kind::of(meta.file_type());
    let ok = match (accept, kind) {
        (_, Kind::Directory) => false,
        (_, Kind::Regular) => true,
        (Accept::Stream, Kind::Fifo) => true,
        (Accept::Stream, Kind::CharDevice) => {
            is_dev_null(std::os::unix::fs::MetadataExt::rdev(&meta))
        }
        (Accept::Any, _) => true,
        _ => false,
    };
    if !ok {
        return Err(Error::NotSupported {
            path: path.to_path_buf(),
            what: refusal(kind, accept),
        });
    }
    clear_nonblock(&file).map_err(|e| Error::io(path, e))?;
    let len = (kind == Kind::Regular).then_some(meta.len());
    Ok(Input { file, kind, len })
}

/// Check what standard input is against `accept`, as [`open`] checks a named file; a terminal
/// is always accepted (typed input ends with ^D). Returns the kind.
///
/// Errors: [`Error::NotSupported`] naming `<stdin>` when `accept` refuses it (`< /dev/zero`
/// under [`Accept::Stream`]); [`Error::Io`] when `fstat` fails.
pub fn stdin(accept: Accept) -> Result<Kind> {
    let name = Path::new("<stdin>");
    let fd = std::io::stdin().as_raw_fd();
    // SAFETY: fstat of a descriptor we do not close into a zeroed stat buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(Error::io(name, io::Error::last_os_error()));
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Kind::Regular,
        libc::S_IFDIR => Kind::Directory,
        libc::S_IFIFO => Kind::Fifo,
        libc::S_IFCHR => Kind::CharDevice,
        libc::S_IFBLK => Kind::BlockDevice,
        _ => Kind::Socket,
    };
    // SAFETY: isatty on a descriptor we hold.
    let tty = unsafe { libc::isatty(fd) } == 1;
    let ok = match (accept, kind) {
        (_, Kind::Directory) => false,
        (_, Kind::Regular) => true,
        (_, Kind::CharDevice) if tty => true,
        (Accept::Stream, Kind::CharDevice) => is_dev_null(st.st_rdev),
        (Accept::Stream, Kind::Fifo | Kind::Socket) => true,
        (Accept::Any, _) => true,
        _ => false,
    };
    if !ok {
        return Err(Error::NotSupported {
            path: name.to_path_buf(),
            what: refusal(kind, accept),
        });
    }
    Ok(kind)
}

/// Whether device number `rdev` (`st_rdev`) is `/dev/null` (character device 1:3): a device
/// with an end (it reads as empty), accepted as a stream (`< /dev/null`).
pub fn is_dev_null(rdev: u64) -> bool {
    libc::major(rdev) == 1 && libc::minor(rdev) == 3
}

fn refusal(kind: Kind, accept: Accept) -> String {
    match (kind, accept) {
        (Kind::Directory, _) => "is a directory, not a file".into(),
        (_, Accept::Regular) => format!(
            "is {}, not a regular file (a device, pipe or socket has no end to read to); save \
             it to a file first",
            kind.describe()
        ),
        _ => format!(
            "is {}, not a file or a pipe (a device has no end to read to); save it to a file \
             first",
            kind.describe()
        ),
    }
}

fn clear_nonblock(f: &File) -> io::Result<()> {
    let fd = f.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL take and return plain ints.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A stream whose bytes are mostly binary over this many bytes is taken to be no text
/// (`cat /dev/zero |`, `/dev/urandom` through a pipe): see [`TextGuard`].
pub const MAX_BINARY_WINDOW: u64 = 16 << 20;

/// A reader of a text stream (a log, a backtrace) that ends it, as if at end of file, after a
/// window of [`MAX_BINARY_WINDOW`] bytes in which more than half of the 64-byte blocks hold a
/// control byte: text (UTF-8 included) holds none but tabs, line ends, form feeds and escape
/// sequences; random bytes hold one in 99.9 % of blocks, NULs in all. [`TextGuard::flag`] says
/// afterwards whether it did (the guard itself is usually owned by a reader further in).
pub struct TextGuard<R> {
    inner: R,
    window: u64,
    binary: u64,
    stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<R> TextGuard<R> {
    /// Guard `inner`.
    pub fn new(inner: R) -> Self {
        TextGuard {
            inner,
            window: 0,
            binary: 0,
            stopped: Default::default(),
        }
    }

    /// Set once the guard has ended the stream.
    pub fn flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.stopped.clone()
    }

    /// The note for a stream `name` that the guard ended.
    pub fn note(name: &str) -> String {
        format!(
            "{name}: end of input assumed after {} MiB of mostly binary data (not text: a device or a binary file piped in?)",
            MAX_BINARY_WINDOW >> 20
        )
    }
}

/// A byte that text does not hold: controls other than tab, line ends, form feed and escape.
fn binary(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b)) || b == 0x7f
}

impl<R: Read> Read for TextGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::sync::atomic::Ordering;
        if self.stopped.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        for block in buf[..n].chunks(64) {
            self.window += block.len() as u64;
            if block.iter().any(|&b| binary(b)) {
                self.binary += block.len() as u64;
            }
        }
        if self.window >= MAX_BINARY_WINDOW {
            if self.binary * 2 > self.window {
                self.stopped.store(true, Ordering::Relaxed);
            }
            self.window = 0;
            self.binary = 0;
        }
        Ok(n)
    }
}

/// Read all of `r` but at most `cap` bytes. `path` names the input in errors and `what` says
/// what kind of input the bound is for ("a trace", "a maps file") and how to go past it.
///
/// Errors: [`Error::TooLarge`] when there is more than `cap` bytes (nothing is returned: a
/// reader that needs the whole input cannot work on a prefix); [`Error::Io`] on a read error.
pub fn read_to_end_capped(r: &mut impl Read, cap: u64, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    read_into_capped(r, &mut out, cap, path, what)?;
    Ok(out)
}

/// [`read_to_end_capped`] into `out` (its capacity used as it is: a buffer sized from
/// `st_size` is read in one `read(2)` and one at EOF).
fn read_into_capped(
    r: &mut impl Read,
    out: &mut Vec<u8>,
    cap: u64,
    path: &Path,
    what: &str,
) -> Result<()> {
    let got = r
        .take(cap.saturating_add(1))
        .read_to_end(out)
        .map_err(|e| Error::io(path, e))?;
    if got as u64 > cap {
        out.clear();
        return Err(too_large(path, cap, what));
    }
    Ok(())
}

/// [`open`] then [`read_to_end_capped`]: the whole of a file, at most `cap` bytes.
///
/// Errors: those of both.
pub fn read_capped(path: &Path, accept: Accept, cap: u64, what: &str) -> Result<Vec<u8>> {
    let mut input = open(path, accept)?;
    if let Some(len) = input.len {
        if len > cap {
            return Err(too_large(path, cap, what));
        }
    }
    // One byte more than st_size, so the read that finds EOF needs no second allocation.
    let hint = input
        .len
        .map_or(0, |l| l.saturating_add(1).min(cap) as usize);
    let mut bytes = Vec::with_capacity(hint);
    read_into_capped(&mut input.file, &mut bytes, cap, path, what)?;
    Ok(bytes)
}

/// The error for an input past a byte bound, with the bound in MiB or GiB.
pub fn too_large(path: &Path, cap: u64, what: &str) -> Error {
    Error::TooLarge {
        path: PathBuf::from(path),
        what: format!("larger than {} ({what})", human(cap)),
    }
}

fn human(bytes: u64) -> String {
    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The error a [`Capped`] reader gives for a line past its bound (its `io::Error` payload).
#[derive(Debug)]
pub struct LineTooLong {
    /// 1-based number of the line.
    pub line: usize,
    /// The bound, bytes.
    pub cap: u64,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line longer than {} MiB (not a trace line: binary data, or no line ends?)",
            self.cap >> 20
        )
    }
}

impl std::error::Error for LineTooLong {}

/// The error a [`Capped`] reader gives past its total bound.
#[derive(Debug)]
pub struct InputTooLarge {
    /// The bound, bytes.
    pub cap: u64,
}

impl std::fmt::Display for InputTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "larger than {} MiB", self.cap >> 20)
    }
}

impl std::error::Error for InputTooLarge {}

/// A reader that fails (with [`LineTooLong`] or [`InputTooLarge`] inside an
/// `io::ErrorKind::InvalidData`) once a line runs past `line_cap` bytes without a `\n`, or the
/// input past `total_cap` bytes. The line bound can be changed as the reader learns what the
/// input is (`None`: a JSON document, which may be one line).
pub struct Capped<R> {
    inner: R,
    /// Bytes since the last `\n`.
    run: u64,
    /// Lines ended so far.
    lines: usize,
    /// Bytes read so far.
    total: u64,
    /// The line bound, bytes; `None` for none.
    pub line_cap: Option<u64>,
    /// The bound on the whole input, bytes.
    pub total_cap: u64,
}

impl<R: Read> Capped<R> {
    /// `inner` bounded to lines of `line_cap` bytes and `total_cap` bytes in all.
    pub fn new(inner: R, line_cap: Option<u64>, total_cap: u64) -> Capped<R> {
        Capped {
            inner,
            run: 0,
            lines: 0,
            total: 0,
            line_cap,
            total_cap,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.total += n as u64;
        if self.total > self.total_cap {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                InputTooLarge {
                    cap: self.total_cap,
                },
            ));
        }
        let chunk = &buf[..n];
        match memchr::memrchr(b'\n', chunk) {
            Some(last) => {
                self.lines += memchr::memchr_iter(b'\n', chunk).count();
                self.run = (n - last - 1) as u64;
            }
            None => self.run += n as u64,
        }
        if let Some(cap) = self.line_cap {
            if self.run > cap {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    LineTooLong {
                        line: self.lines + 1,
                        cap,
                    },
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_directories_are_refused_as_the_policy_says() {
        let zero = Path::new("/dev/zero");
        assert!(matches!(
            open(zero, Accept::Regular),
            Err(Error::NotSupported { .. })
        ));
        assert!(matches!(
            open(zero, Accept::Stream),
            Err(Error::NotSupported { .. })
        ));
        assert_eq!(open(zero, Accept::Any).unwrap().kind, Kind::CharDevice);
        let e = open(Path::new("/"), Accept::Any).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }

    #[test]
    fn a_fifo_without_a_writer_does_not_block_the_open() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(open(&fifo, Accept::Regular).is_err());
        let mut input = open(&fifo, Accept::Stream).unwrap();
        assert_eq!(input.kind, Kind::Fifo);
        // No writer: end of file at once, not a hang.
        let bytes = read_to_end_capped(&mut input.file, 10, &fifo, "test").unwrap();
        assert!(bytes.is_empty());
    }

    #[test]
    fn the_text_guard_ends_binary_streams_and_passes_text() {
        use std::sync::atomic::Ordering;
        let zeros = io::repeat(0).take(64 << 20);
        let mut g = TextGuard::new(zeros);
        let flag = g.flag();
        let n = io::copy(&mut g, &mut io::sink()).unwrap();
        assert!(flag.load(Ordering::Relaxed));
        assert_eq!(n, MAX_BINARY_WINDOW);
        let line = b"Apr 15 10:22:01 n kernel: \x1b[1mOut of memory\x1b[0m\t\xc3\xa9\n";
        let text: Vec<u8> = line.iter().copied().cycle().take(40 << 20).collect();
        let mut g = TextGuard::new(&text[..]);
        let flag = g.flag();
        assert_eq!(io::copy(&mut g, &mut io::sink()).unwrap(), 40 << 20);
        assert!(!flag.load(Ordering::Relaxed));
    }

    #[test]
    fn the_cap_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_capped(&p, Accept::Regular, 10, "t").unwrap().len(), 10);
        let e = read_capped(&p, Accept::Regular, 9, "a test input")
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 9 bytes (a test input)"), "{e}");
        // /proc files report size 0: the bound is applied while reading.
        let mut f = std::fs::File::open("/proc/self/maps").unwrap();
        assert!(read_to_end_capped(&mut f, 16, Path::new("maps"), "m").is_err());
    }

    #[test]
    fn capped_reader_stops_long_lines_and_large_inputs() {
        let mut s = String::new();
        let mut r = Capped::new(&b"ab\ncd\nefghij"[..], Some(4), 100);
        let e = r.read_to_string(&mut s).unwrap_err();
        let inner = e.get_ref().unwrap().downcast_ref::<LineTooLong>().unwrap();
        assert_eq!(inner.line, 3);
        let mut r = Capped::new(&b"ab\ncd\n"[..], Some(4), 100);
        assert_eq!(r.read_to_string(&mut s).unwrap(), 6);
        let mut r = Capped::new(&b"0123456789"[..], None, 5);
        assert!(r.read_to_end(&mut Vec::new()).is_err());
    }
}
