//! Small helpers for reading kernel text files and the flat formats they share.
//!
//! Kernel pseudo-files are small, but a fixture tree (or a hostile file) may be huge, binary or
//! not UTF-8; every helper here bounds what it reads and returns [`Error::Malformed`] with the
//! line number instead of panicking.
//!
//! Formats follow Documentation/admin-guide/cgroup-v2.rst ("Interface Files": flat keyed,
//! single value, "max") and Documentation/accounting/psi.rst.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::Serialize;

use crate::base::input::{self, Accept};
use crate::error::{Error, Result};

/// Largest pseudo-file we read whole: 4 MiB (a `memory.stat` is about 2 KiB).
pub const SMALL_FILE_LIMIT: u64 = 4 << 20;

/// Read a small text file. Returns `Ok(None)` when the file does not exist (an interface file the
/// running kernel does not have), `Err` on permission problems, I/O errors, a file that is not
/// a regular file ([`Error::NotSupported`]: a FIFO or device in a copied tree), a file larger
/// than [`SMALL_FILE_LIMIT`] ([`Error::TooLarge`]), or contents that are not UTF-8 text.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    // A regular file only (kernfs, procfs and sysfs files are regular files of size 0): a FIFO
    // or device in a copied tree is refused at once, never waited on or read forever.
    let buf = match input::read_capped(
        path,
        Accept::Regular,
        SMALL_FILE_LIMIT,
        "a kernel text file",
    ) {
        Ok(b) => b,
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    String::from_utf8(buf).map(Some).map_err(|e| {
        malformed(
            path,
            0,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Like [`read_optional`], but a missing file is an error.
pub fn read_required(path: &Path) -> Result<String> {
    read_optional(path)?.ok_or_else(|| Error::io(path, io::Error::from(io::ErrorKind::NotFound)))
}

pub(crate) fn malformed(path: &Path, line: usize, msg: impl Into<String>) -> Error {
    Error::Malformed {
        path: path.to_path_buf(),
        line,
        msg: msg.into(),
    }
}

/// A limit value: bytes, or the kernel's "no limit".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A limit in bytes, as the file printed it.
    Bytes(u64),
    /// No limit: `max` (v2), or a v1 value at or above [`V1_UNLIMITED_THRESHOLD`] (the page-counter
    /// maximum).
    Unlimited,
}

impl Limit {
    /// The limit in bytes, `None` when unlimited.
    pub fn bytes(self) -> Option<u64> {
        match self {
            Limit::Bytes(b) => Some(b),
            Limit::Unlimited => None,
        }
    }
}

/// cgroup v1 reports "no limit" as `PAGE_COUNTER_MAX * PAGE_SIZE` (9223372036854771712 on
/// x86-64 with 4 KiB pages). Anything at or above 2^62 bytes is treated as unlimited.
pub const V1_UNLIMITED_THRESHOLD: u64 = 1 << 62;

/// Parse a single-value file: a decimal integer, or `max` (cgroup v2) meaning unlimited.
pub fn parse_limit(text: &str, path: &Path) -> Result<Limit> {
    let t = text.trim();
    if t == "max" {
        return Ok(Limit::Unlimited);
    }
    let v = parse_u64(t, path, 1)?;
    Ok(if v >= V1_UNLIMITED_THRESHOLD {
        Limit::Unlimited
    } else {
        Limit::Bytes(v)
    })
}

/// Parse a single decimal value (the whole file, surrounding whitespace ignored).
pub fn parse_u64(text: &str, path: &Path, line: usize) -> Result<u64> {
    let t = text.trim();
    if t.is_empty() {
        return Err(malformed(path, line, "empty file (expected a number)"));
    }
    t.parse::<u64>().map_err(|_| {
        malformed(
            path,
            line,
            format!("expected a non-negative integer, found {:?}", clip(t)),
        )
    })
}

/// Parse a "flat keyed" file (`key value` per line), as `memory.stat`, `memory.events`,
/// `memory.oom_control` and `/proc/vmstat` are. Unknown keys are kept; a line that is not
/// `key <u64>` is an error naming the line.
pub fn parse_flat_keyed(text: &str, path: &Path) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let (Some(k), Some(v), None) = (it.next(), it.next(), it.next()) else {
            return Err(malformed(
                path,
                i + 1,
                format!("expected \"key value\", found {:?}", clip(line)),
            ));
        };
        let v = v.parse::<u64>().map_err(|_| {
            malformed(
                path,
                i + 1,
                format!(
                    "value of {k:?} is not a non-negative integer: {:?}",
                    clip(v)
                ),
            )
        })?;
        out.insert(k.to_string(), v);
    }
    Ok(out)
}

/// One line of a PSI file (Documentation/accounting/psi.rst): share of wall time, in percent,
/// during which some (or all) tasks stalled on memory, averaged over 10 s, 60 s and 300 s;
/// `total_us` is the cumulative stall time in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PsiLine {
    /// Share of wall time the line's tasks stalled on memory, percent (0–100), averaged over
    /// 10 s (`avg10=`).
    pub avg10_pct: f64,
    /// Share of wall time the line's tasks stalled on memory, percent (0–100), averaged over
    /// 60 s (`avg60=`).
    pub avg60_pct: f64,
    /// Share of wall time the line's tasks stalled on memory, percent (0–100), averaged over
    /// 300 s (`avg300=`).
    pub avg300_pct: f64,
    /// Cumulative stall time since boot (or since the cgroup was created), µs (`total=`).
    pub total_us: u64,
}

/// Memory pressure stall information: `/proc/pressure/memory` or a v2 cgroup's
/// `memory.pressure`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Psi {
    /// The `some` line: at least one non-idle task stalled on memory.
    pub some: PsiLine,
    /// Absent on kernels that print only `some` (not the case for memory since 4.20).
    pub full: Option<PsiLine>,
}

/// Parse a PSI file: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` and an optional `full`
/// line.
pub fn parse_psi(text: &str, path: &Path) -> Result<Psi> {
    let mut some = None;
    let mut full = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut it = line.split_whitespace();
        let kind = it.next().unwrap_or_default();
        let mut vals = [None::<f64>; 3];
        let mut total = None;
        for field in it {
            let Some((k, v)) = field.split_once('=') else {
                return Err(malformed(
                    path,
                    i + 1,
                    format!("expected key=value, found {:?}", clip(field)),
                ));
            };
            let bad = || malformed(path, i + 1, format!("bad value for {k}: {:?}", clip(v)));
            match k {
                "avg10" => vals[0] = Some(v.parse::<f64>().map_err(|_| bad())?),
                "avg60" => vals[1] = Some(v.parse::<f64>().map_err(|_| bad())?),
                "avg300" => vals[2] = Some(v.parse::<f64>().map_err(|_| bad())?),
                "total" => total = Some(v.parse::<u64>().map_err(|_| bad())?),
                _ => {}
            }
        }
        let (Some(a10), Some(a60), Some(a300), Some(total_us)) = (vals[0], vals[1], vals[2], total)
        else {
            return Err(malformed(
                path,
                i + 1,
                "PSI line lacks avg10, avg60, avg300 or total",
            ));
        };
        let l = PsiLine {
            avg10_pct: a10,
            avg60_pct: a60,
            avg300_pct: a300,
            total_us,
        };
        match kind {
            "some" => some = Some(l),
            "full" => full = Some(l),
            other => {
                return Err(malformed(
                    path,
                    i + 1,
                    format!("unknown PSI line {:?}", clip(other)),
                ))
            }
        }
    }
    let some = some.ok_or_else(|| malformed(path, 0, "no \"some\" line"))?;
    Ok(Psi { some, full })
}

/// Shorten text quoted in error messages to keep them on one line.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_page_counter_max_is_unlimited() {
        let p = Path::new("memory.limit_in_bytes");
        assert_eq!(
            parse_limit("9223372036854771712\n", p).unwrap(),
            Limit::Unlimited
        );
        assert_eq!(parse_limit("max\n", p).unwrap(), Limit::Unlimited);
        assert_eq!(
            parse_limit("268435456\n", p).unwrap(),
            Limit::Bytes(268435456)
        );
        assert!(parse_limit("-1\n", p).is_err());
        assert!(parse_limit("", p).is_err());
    }

    #[test]
    fn flat_keyed_names_the_bad_line() {
        let p = Path::new("memory.stat");
        let e = parse_flat_keyed("anon 1\nfile two\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory.stat:2"), "{e}");
        assert!(parse_flat_keyed("anon 1 2\n", p).is_err());
        assert_eq!(parse_flat_keyed("anon 1\n\nfile 2\n", p).unwrap().len(), 2);
    }

    #[test]
    fn read_optional_refuses_fifos_and_devices_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("memory.stat");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read_optional(&fifo),
            Err(Error::NotSupported { .. })
        ));
        assert!(matches!(
            read_optional(Path::new("/dev/zero")),
            Err(Error::NotSupported { .. })
        ));
        assert_eq!(read_optional(&dir.path().join("absent")).unwrap(), None);
    }

    #[test]
    fn psi_parses() {
        let p = Path::new("memory.pressure");
        let psi = parse_psi(
            "some avg10=5.10 avg60=1.00 avg300=0.20 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n",
            p,
        )
        .unwrap();
        assert_eq!(psi.some.avg10_pct, 5.10);
        assert_eq!(psi.full.unwrap().total_us, 7);
        assert!(parse_psi("some avg10=x avg60=0 avg300=0 total=0\n", p).is_err());
        assert!(parse_psi("", p).is_err());
    }
}
