//! The names systemd-coredump gives the cores it stores:
//! `core.COMM.UID.BOOTID.PID.USEC[.zst|.lz4|.xz]`.
//!
//! Followed: systemd's `src/coredump/coredump.c`, `make_filename()` (the name) and
//! `save_external_coredump()` (the compression suffix appended to it, from
//! `default_compression_extension()` of `src/basic/compress.c`), and `src/basic/escape.c`,
//! `xescape_full()` (the escaping). Each of COMM, UID, PID and USEC goes through
//! `filename_escape(s)`, which is `xescape(s, "./ ")`: every byte below `0x20`, every byte from
//! `0x7f` up, the backslash and the three characters `.`, `/` and space are written `\xNN`
//! (two lowercase hex digits); all else is kept. BOOTID is `SD_ID128_FORMAT_STR`: 32 lowercase
//! hex digits. USEC is the kernel's `%t` (seconds) expanded to microseconds since the epoch:
//! the crash time.
//!
//! So a name systemd wrote is plain ASCII; it is parsed from the right (USEC, PID, BOOTID, UID,
//! then COMM is what is left, which is also how a literal dot in COMM, from a store copied by
//! hand, still parses), and COMM is unescaped back to its bytes.

use std::ffi::OsStr;

use serde::Serialize;

/// How a stored core is compressed, by the suffix systemd-coredump appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreCompression {
    /// `.zst`: Zstandard.
    Zst,
    /// `.lz4`: an LZ4 frame.
    Lz4,
    /// `.xz`: xz.
    Xz,
    /// No suffix: the plain ELF core (`Compress=no`).
    None,
}

impl StoreCompression {
    /// The name in JSON and in the table: `zst`, `lz4`, `xz`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreCompression::Zst => "zst",
            StoreCompression::Lz4 => "lz4",
            StoreCompression::Xz => "xz",
            StoreCompression::None => "none",
        }
    }

    /// What a file's first bytes say (`None` when they are no compression's magic: an ELF
    /// core, or anything else).
    pub fn of_magic(head: &[u8]) -> StoreCompression {
        use crate::coredump::compressed::Compression;
        match Compression::detect(head) {
            Some(Compression::Zstd) => StoreCompression::Zst,
            Some(Compression::Lz4) => StoreCompression::Lz4,
            Some(Compression::Xz) => StoreCompression::Xz,
            None => StoreCompression::None,
        }
    }
}

/// What a stored core's file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreName {
    /// COMM unescaped (the kernel's 15-byte `comm`; bytes that are not UTF-8 shown as U+FFFD).
    pub command: String,
    /// UID: the crashed process's user id, as the initial user namespace sees it (`%u`).
    pub uid: u32,
    /// BOOTID: the boot the crash happened in, 32 lowercase hex digits.
    pub boot_id: String,
    /// PID: as the initial pid namespace sees it (`%P`).
    pub pid: i32,
    /// USEC: the crash time, microseconds since the epoch.
    pub timestamp_us: i64,
    /// By the suffix.
    pub compression: StoreCompression,
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Parse a file name of the store; `None` when it is not one systemd-coredump writes
/// (another file, a temporary `.#core…` file being written, a name that is not UTF-8: the
/// escaping leaves none).
pub fn parse(name: &OsStr) -> Option<CoreName> {
    let name = name.to_str()?;
    let rest = name.strip_prefix("core.")?;
    let (rest, compression) = [
        (".zst", StoreCompression::Zst),
        (".lz4", StoreCompression::Lz4),
        (".xz", StoreCompression::Xz),
    ]
    .iter()
    .find_map(|(suffix, c)| rest.strip_suffix(suffix).map(|r| (r, *c)))
    .unwrap_or((rest, StoreCompression::None));
    let mut parts = rest.rsplitn(5, '.');
    let usec = parts.next()?;
    let pid = parts.next()?;
    let boot = parts.next()?;
    let uid = parts.next()?;
    let comm = parts.next()?;
    if !(digits(usec) && digits(pid) && digits(uid)) {
        return None;
    }
    let boot_ok = boot.len() == 32
        && boot
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !boot_ok || comm.is_empty() {
        return None;
    }
    Some(CoreName {
        command: unescape(comm)?,
        uid: uid.parse().ok()?,
        boot_id: boot.to_string(),
        pid: pid.parse().ok().filter(|p: &i32| *p > 0)?,
        timestamp_us: usec.parse().ok()?,
        compression,
    })
}

/// Undo `xescape`: `\xNN` back to its byte. `None` for what `xescape` never writes: a
/// control character, a `/`, or a backslash that does not start `\xNN`.
pub fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let hex = b.get(i + 1..i + 4)?;
                if hex[0] != b'x' {
                    return None;
                }
                let h = std::str::from_utf8(&hex[1..]).ok()?;
                out.push(u8::from_str_radix(h, 16).ok()?);
                i += 4;
            }
            c if c < 0x20 || c == 0x7f || c == b'/' => return None,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    const BOOT: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn names_as_systemd_writes_them() {
        let n = parse(OsStr::new(&format!(
            "core.crash\\x2ebin.1000.{BOOT}.4242.1713176521000000.zst"
        )))
        .unwrap();
        assert_eq!(n.command, "crash.bin");
        assert_eq!((n.uid, n.pid), (1000, 4242));
        assert_eq!(n.timestamp_us, 1_713_176_521_000_000);
        assert_eq!(n.compression, StoreCompression::Zst);
        let n = parse(OsStr::new(&format!("core.a\\x20b\\x5c.0.{BOOT}.7.1"))).unwrap();
        assert_eq!(
            (n.command.as_str(), n.compression),
            ("a b\\", StoreCompression::None)
        );
        // A literal dot (a store copied by hand) still parses from the right.
        let n = parse(OsStr::new(&format!("core.my.app.0.{BOOT}.7.1.lz4"))).unwrap();
        assert_eq!(n.command, "my.app");
        // Non-UTF-8 comm bytes, escaped as systemd escapes them.
        let n = parse(OsStr::new(&format!("core.\\xff\\xfe.0.{BOOT}.7.1.xz"))).unwrap();
        assert_eq!(n.command, "\u{fffd}\u{fffd}");
    }

    #[test]
    fn other_files_are_not_cores() {
        for bad in [
            "core".to_string(),
            "core.1234".to_string(),
            format!(".#core.a.0.{BOOT}.7.1.zst3f2a"),
            format!("core.a.0.{BOOT}.7.x.zst"),
            format!("core.a.0.{}.7.1", &BOOT[1..]),
            format!("core.a.0.{}.7.1", BOOT.to_uppercase()),
            format!("core..0.{BOOT}.7.1"),
            format!("core.a\\q.0.{BOOT}.7.1"),
            format!("core.a\\x4.0.{BOOT}.7.1"),
            format!("core.a.-1.{BOOT}.7.1"),
            format!("core.a.0.{BOOT}.0.1"),
            format!("core.a.0.{BOOT}.99999999999.1"),
            format!("core.a.0.{BOOT}.7.1.gz"),
            format!("core.a\tb.0.{BOOT}.7.1"),
        ] {
            assert_eq!(parse(OsStr::new(&bad)), None, "{bad}");
        }
        let raw = [b"core.\xff.0.".as_slice(), BOOT.as_bytes(), b".7.1"].concat();
        assert_eq!(parse(OsStr::from_bytes(&raw)), None);
    }
}
