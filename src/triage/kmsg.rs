//! The kernel log read from `/dev/kmsg` (Documentation/ABI/testing/dev-kmsg): one record per
//! `read`, `prio,seq,ts_usec,flags[,…];message\n`, possibly followed by dictionary lines that
//! start with a space (` SUBSYSTEM=…`). Non-printable bytes of the message are escaped as `\xNN`.
//!
//! The device is read without blocking, so the read ends at the newest record. A regular file
//! holding such records one per line (a capture, a fixture) is read the same way.
//!
//! Evidence names a record by its **sequence number** (`/dev/kmsg:seq=426`), which the kernel
//! assigns once and which stays the same across reads, while the record's position in the ring
//! buffer moves as older records are overwritten.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::event::Event;
use super::scan::{Mode, Scanner};
use super::InputSummary;

/// Bytes per read: at least the largest record (the kernel refuses a smaller buffer with
/// EINVAL; records are at most about 8 KiB with their dictionary).
const RECORD_BUF: usize = 16 * 1024;

/// One record's header fields and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's sequence number (64-bit, increasing, never reused during a boot).
    pub seq: u64,
    /// Microseconds since boot.
    pub ts_usec: u64,
    /// The message, `\xNN` escapes undone.
    pub msg: String,
}

/// Parse one record line (without its dictionary lines). `None` for a line that is not a
/// record: a dictionary line, a comment of a capture, garbage.
pub fn parse_record(line: &[u8]) -> Option<Record> {
    let semi = memchr::memchr(b';', line)?;
    let mut fields = line[..semi].split(|&b| b == b',');
    let num = |f: Option<&[u8]>| -> Option<u64> { std::str::from_utf8(f?).ok()?.parse().ok() };
    let _prio = num(fields.next())?;
    let seq = num(fields.next())?;
    let ts_usec = num(fields.next())?;
    let end = memchr::memchr(b'\n', &line[semi + 1..]).map_or(line.len(), |i| semi + 1 + i);
    Some(Record {
        seq,
        ts_usec,
        msg: unescape(&line[semi + 1..end]),
    })
}

/// kmsg escapes non-printable bytes as `\xNN`.
fn unescape(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            if let Ok(v) = u8::from_str_radix(&String::from_utf8_lossy(&b[i + 2..i + 4]), 16) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Boot time, µs since the epoch, from /proc/uptime.
fn boot_time_us() -> Option<i64> {
    let up: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_micros() as i64;
    Some(now - (up * 1e6) as i64)
}

/// A one-line error for `name`, saying what reading the kernel log needs.
pub(super) fn error_message(name: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "{name}: permission denied (reading the kernel log needs CAP_SYSLOG, or kernel.dmesg_restrict=0)"
        ),
        io::ErrorKind::NotFound => format!("{name}: no such device (no kernel log here?)"),
        _ => format!("{name}: {e}"),
    }
}

/// Read the kernel log from `path` without blocking. Times are dated with this machine's boot
/// time (the records say microseconds since boot).
pub(super) fn scan(path: &Path, progress: &AtomicU64) -> (Vec<Event>, InputSummary) {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.display().to_string();
    let mut summary = InputSummary::new(&name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let f = match f {
        Ok(f) => f,
        Err(e) => {
            return (
                Vec::new(),
                InputSummary::failed(&name, error_message(&name, &e)),
            )
        }
    };
    let mut s = Scanner::new(&name, Mode::Text);
    if let Some(b) = boot_time_us() {
        s = s.with_boot_time(b);
    }
    if let Err(e) = scan_records(&mut s, f, progress) {
        summary.error = Some(error_message(&name, &e));
    }
    s.finish();
    summary.bytes = s.bytes;
    summary.lines = s.lines;
    summary.events = s.events.len();
    (s.events, summary)
}

/// Feed every record of `f` to `s` as a raw-dmesg line (`[  323.147087] msg`), with its
/// sequence number as the evidence pointer. `lines` counts records.
fn scan_records(s: &mut Scanner, f: File, progress: &AtomicU64) -> io::Result<()> {
    let mut r = BufReader::with_capacity(RECORD_BUF, f);
    let mut rec = Vec::with_capacity(RECORD_BUF);
    loop {
        rec.clear();
        match r.read_until(b'\n', &mut rec) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                s.bytes += n as u64;
                progress.fetch_add(n as u64, Ordering::Relaxed);
                let Some(record) = parse_record(&rec) else {
                    continue;
                };
                let line = format!(
                    "[{:>5}.{:06}] {}",
                    record.ts_usec / 1_000_000,
                    record.ts_usec % 1_000_000,
                    record.msg
                );
                s.lines += 1;
                s.set_kmsg_seq(Some(record.seq));
                s.feed_line(line.as_bytes());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // EPIPE: records were overwritten while reading; go on from the next one.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_what_is_not_one() {
        // From tests/fixtures/triage-live/kmsg-6.18-cgroup-v1-oom.records.
        let r = parse_record(b"3,426,389447927,-;Memory cgroup out of memory: Killed process 13316 (python3) total-vm:82372kB\n").unwrap();
        assert_eq!((r.seq, r.ts_usec), (426, 389447927));
        assert!(r
            .msg
            .starts_with("Memory cgroup out of memory: Killed process 13316"));
        assert!(!r.msg.ends_with('\n'));
        // Continuation records and extra header fields (caller id on newer kernels).
        let r = parse_record(b"6,1000,5,c,caller=T12;tab\\x09here\n").unwrap();
        assert_eq!((r.seq, r.msg.as_str()), (1000, "tab\there"));
        assert_eq!(parse_record(b" SUBSYSTEM=pci\n"), None);
        assert_eq!(
            parse_record(b"# Captured on the development machine; the raw\n"),
            None
        );
        assert_eq!(parse_record(b"x,y,z;msg\n"), None);
    }

    #[test]
    fn evidence_names_the_sequence_number_not_the_position() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/triage-live/kmsg-6.18-cgroup-v1-oom.records"
        );
        let all = std::fs::read(path).unwrap();
        // The same records after the ring buffer dropped the first 40 of them.
        let mut lines: Vec<&[u8]> = all.split_inclusive(|&b| b == b'\n').collect();
        let rotated: Vec<u8> = lines.drain(3..43).flatten().copied().collect::<Vec<_>>();
        let rest: Vec<u8> = lines.concat();
        assert!(!rotated.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kmsg");
        let victim = |bytes: &[u8]| {
            std::fs::write(&p, bytes).unwrap();
            let (ev, sum) = scan(&p, &AtomicU64::new(0));
            assert_eq!(sum.error, None);
            let e = ev.into_iter().find(|e| e.pid == Some(13316)).unwrap();
            (e.source, e.evidence)
        };
        let (whole, evidence) = victim(&all);
        let (cut, _) = victim(&rest);
        assert_eq!(whole.kmsg_seq, Some(426));
        assert_eq!(cut.kmsg_seq, Some(426));
        assert_ne!(
            whole.line, cut.line,
            "positions move, sequence numbers do not"
        );
        assert_eq!(whole.to_string(), cut.to_string());
        assert!(whole.to_string().ends_with(":seq=426"), "{whole}");
        assert!(evidence.iter().any(|l| l.starts_with(&format!(
            "{}:seq=347: python3 invoked oom-killer",
            whole.file
        ))));
    }
}
