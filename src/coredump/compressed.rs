//! Compressed cores, as systemd-coredump stores them in `/var/lib/systemd/coredump/`
//! (`core.COMM.UID.BOOTID.PID.USEC.zst`, `.lz4` or `.xz`, whichever compression systemd was
//! built with; `src/coredump/coredump.c` and `src/basic/compress.c` in systemd): recognised by
//! their magic bytes, not their names, and decompressed into an unlinked temporary file
//! (`$TMPDIR`) that [`super::core::Core`] then reads like any core.
//!
//! The output is bounded (a decompression bomb stops with an error, not a full disk), and a
//! compressed file that ends early is not an error: what was decompressed is read as a core
//! that is itself truncated, and a warning says so.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// The largest core decompressed by default: 64 GiB.
pub const DEFAULT_MAX: u64 = 64 << 30;

/// A compression systemd-coredump writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Zstandard frames (magic `28 b5 2f fd`).
    Zstd,
    /// LZ4 frames (magic `04 22 4d 18`), systemd's LZ4F stream.
    Lz4,
    /// xz (magic `fd 37 7a 58 5a 00`).
    Xz,
}

impl Compression {
    /// The compression whose magic bytes `head` (the file's first bytes) starts with.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
            Some(Compression::Lz4)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else {
            None
        }
    }

    /// Its usual name: `zstd`, `lz4`, `xz`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::Xz => "xz",
        }
    }
}

/// A decompressed core: the temporary file holding it (already unlinked) and what to warn.
pub struct Decompressed {
    /// The core's bytes, from offset 0.
    pub file: File,
    /// Bytes decompressed.
    pub bytes: u64,
    /// Set when the compressed stream ended early or was damaged past its start: what was
    /// decompressed before is kept.
    pub warning: Option<String>,
}

/// Decompress `file` (the compressed core at `path`, read from its start) into a temporary
/// file, at most `max` bytes.
///
/// Errors: the temporary file cannot be made or written ([`Error::Io`], e.g. a full `$TMPDIR`);
/// the output would exceed `max` ([`Error::Malformed`]: a decompression bomb, or a core larger
/// than the limit, which the message names); the stream is not valid from its first bytes
/// ([`Error::Malformed`]).
pub fn decompress(path: &Path, file: File, kind: Compression, max: u64) -> Result<Decompressed> {
    let tmp = std::env::temp_dir();
    let mut out = Capped {
        file: tempfile::tempfile().map_err(|e| Error::io(&tmp, e))?,
        written: 0,
        max,
        failed: None,
    };
    let input = BufReader::with_capacity(1 << 16, file);
    let res: io::Result<()> = match kind {
        Compression::Zstd => ruzstd::decoding::StreamingDecoder::new(input)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
            .and_then(|mut d| copy(&mut d, &mut out)),
        Compression::Lz4 => copy(&mut lz4_flex::frame::FrameDecoder::new(input), &mut out),
        Compression::Xz => {
            let mut input = input;
            lzma_rs::xz_decompress(&mut input, &mut out).map_err(|e| match e {
                lzma_rs::error::Error::IoError(e) => e,
                e => io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")),
            })
        }
    };
    let bytes = out.written;
    if let Some(e) = out.failed.take() {
        // Our side failed (a full or read-only $TMPDIR), not the compressed stream.
        return Err(Error::io(&tmp, e));
    }
    let malformed = |msg: String| Error::Malformed {
        path: path.to_path_buf(),
        line: 0,
        msg,
    };
    let warning = match res {
        Ok(()) => None,
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            return Err(malformed(format!(
                "the {} core decompresses to more than {max} bytes (a decompression bomb, or a \
                 core larger than the limit: raise it with --max-core-size)",
                kind.name()
            )))
        }
        Err(e) if bytes < 64 => {
            return Err(malformed(format!(
                "not a valid {} stream: {e}",
                kind.name()
            )))
        }
        Err(e) => Some(format!(
            "the {} stream ends early or is damaged after {bytes} decompressed bytes ({e}): \
             what was decompressed is read as the core",
            kind.name()
        )),
    };
    let mut file = out.file;
    file.flush().map_err(|e| Error::io(path, e))?;
    file.rewind().map_err(|e| Error::io(path, e))?;
    Ok(Decompressed {
        file,
        bytes,
        warning,
    })
}

/// `io::copy`, but an error in the middle leaves what was written before it.
fn copy(r: &mut impl Read, w: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
    }
}

/// A writer that refuses to grow past `max` bytes (`ErrorKind::FileTooLarge`), and keeps the
/// error of a failed write (`failed`), so that it is not taken for a damaged stream.
struct Capped {
    file: File,
    written: u64,
    max: u64,
    failed: Option<io::Error>,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written.saturating_add(buf.len() as u64) > self.max {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "decompressed core too large",
            ));
        }
        match self.file.write(buf) {
            Ok(n) => {
                self.written += n as u64;
                Ok(n)
            }
            Err(e) => {
                let kind = e.kind();
                if kind != io::ErrorKind::Interrupted {
                    self.failed = Some(e);
                }
                Err(io::Error::new(kind, "writing the decompressed core"))
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(
            Compression::detect(&[0x04, 0x22, 0x4d, 0x18, 0x64]),
            Some(Compression::Lz4)
        );
        assert_eq!(
            Compression::detect(b"\xfd7zXZ\x00\x00"),
            Some(Compression::Xz)
        );
        assert_eq!(Compression::detect(b"\x7fELF"), None);
        assert_eq!(Compression::detect(b""), None);
    }
}
