//! Reading one input of a triage: a file (plain, gzip or zstd, recognised by magic bytes; a
//! large plain file through [`super::mapped`]), standard input, the kernel log
//! ([`super::kmsg`]) or `journalctl -o json`; text, journald JSON lines or a whole JSON document
//! (`kubectl … -o json`, `docker inspect`, read by [`super::structured`]).
//!
//! Every byte taken from an input (before decompression) is added to the caller's progress
//! counter as it is read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use super::event::Event;
use super::scan::{Mode, Scanner};
use super::{kmsg, mapped, structured, Input, InputSummary};

/// A reader that adds the bytes it reads to a counter (for progress).
struct Counting<'a, R> {
    inner: R,
    done: &'a AtomicU64,
}

impl<'a, R> Counting<'a, R> {
    fn new(inner: R, done: &'a AtomicU64) -> Self {
        Counting { inner, done }
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Largest JSON document read whole: 256 MiB.
const MAX_DOCUMENT: u64 = 256 << 20;

/// Open a file, undoing gzip or zstd compression (recognised by magic bytes, not extension).
fn open_decoded<'a>(
    path: &Path,
    progress: &'a AtomicU64,
) -> io::Result<Box<dyn BufRead + Send + 'a>> {
    let f = Counting::new(File::open(path)?, progress);
    let mut r = BufReader::with_capacity(1 << 16, f);
    let head = r.fill_buf()?.to_vec();
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(r)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let d = ruzstd::decoding::StreamingDecoder::new(r)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        Box::new(BufReader::new(d))
    } else {
        Box::new(r)
    })
}

fn io_message(name: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("{name}: no such file"),
        io::ErrorKind::PermissionDenied => format!("{name}: permission denied"),
        io::ErrorKind::IsADirectory => format!("{name}: is a directory"),
        io::ErrorKind::UnexpectedEof => {
            format!("{name}: truncated (unexpected end of compressed data)")
        }
        _ => format!("{name}: {e}"),
    }
}

/// Scan a reader that may hold text, journald JSON lines or a JSON document.
fn scan_reader(name: &str, mut r: Box<dyn BufRead + Send + '_>) -> (Vec<Event>, InputSummary) {
    let mut summary = InputSummary::new(name);
    let head: Vec<u8> = match r.fill_buf() {
        Ok(h) => h.to_vec(),
        Err(e) => {
            summary.error = Some(io_message(name, &e));
            return (Vec::new(), summary);
        }
    };
    let first = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| head[i]);
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let trimmed = String::from_utf8_lossy(first_line).trim().to_string();
    let one_line_object = trimmed.starts_with('{') && trimmed.ends_with('}') && trimmed.len() > 2;
    // A JSON document: an array, pretty-printed JSON, or one line that is a Kubernetes or Docker
    // object. Other one-object-per-line input is journald JSON or JSON-lines logs, scanned.
    let document = first == Some(b'[')
        || (first == Some(b'{') && !one_line_object)
        || (one_line_object
            && serde_json::from_str::<serde_json::Value>(&trimmed).is_ok_and(|v| {
                v.get("apiVersion").is_some()
                    || v.get("items").is_some()
                    || (v.get("Id").is_some() && v.get("State").is_some())
            }));
    if document {
        let mut text = Vec::new();
        if let Err(e) = r.take(MAX_DOCUMENT).read_to_end(&mut text) {
            summary.error = Some(io_message(name, &e));
        }
        summary.bytes = text.len() as u64;
        let text = String::from_utf8_lossy(&text);
        summary.lines = text.lines().count() as u64;
        let mut events = structured::document(&text, name);
        if events.is_empty() {
            // Not a shape we know as JSON: search it as text.
            let mut s = Scanner::new(name, Mode::Text);
            let _ = s.scan(text.as_bytes());
            events = s.events;
        }
        for e in &mut events {
            structured::stamp(e);
        }
        summary.events = events.len();
        return (events, summary);
    }
    let journal =
        first == Some(b'{') && trimmed.contains("\"MESSAGE\"") || trimmed.contains("\"__CURSOR\"");
    let mut s = Scanner::new(
        name,
        if journal {
            Mode::JournalJson
        } else {
            Mode::Text
        },
    );
    if let Err(e) = s.scan(r) {
        summary.error = Some(io_message(name, &e));
    }
    summary.bytes = s.bytes;
    summary.lines = s.lines;
    summary.long_lines = s.long_lines;
    summary.events = s.events.len();
    (s.events, summary)
}

/// A large, regular, uncompressed text file with `\n` line ends: searched through a memory map
/// by two threads ([`mapped`]).
fn mappable(p: &Path) -> bool {
    let Ok(f) = File::open(p) else { return false };
    let Ok(meta) = f.metadata() else { return false };
    if !meta.is_file() || meta.len() < mapped::MIN_SIZE {
        return false;
    }
    let mut head = vec![0u8; 64 * 1024];
    let n = (&f).read(&mut head).unwrap_or(0);
    let head = &head[..n];
    let compressed = head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let json = head
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{' || b == b'[');
    !compressed && !json && memchr::memchr(b'\n', head).is_some()
}

/// `journalctl -o json` (since `since_us`), its output scanned as it comes.
fn scan_journal(since_us: Option<i64>, progress: &AtomicU64) -> (Vec<Event>, InputSummary) {
    let mut cmd = Command::new("journalctl");
    cmd.args(["-o", "json", "--no-pager", "-q"]);
    if let Some(us) = since_us {
        cmd.arg(format!("--since=@{}", us / 1_000_000));
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let summary = InputSummary::failed(
                "journalctl",
                if e.kind() == io::ErrorKind::NotFound {
                    "journalctl: not installed (give journal JSON files as inputs instead)".into()
                } else {
                    format!("journalctl: {e}")
                },
            );
            return (Vec::new(), summary);
        }
    };
    let Some(out) = child.stdout.take() else {
        let _ = child.wait();
        return (
            Vec::new(),
            InputSummary::failed("journalctl", "journalctl: no output".into()),
        );
    };
    let mut s = Scanner::new("journalctl", Mode::JournalJson);
    let res = s.scan(BufReader::new(Counting::new(out, progress)));
    let status = child.wait();
    let error = match (res, status) {
        (Err(e), _) => Some(format!("journalctl: {e}")),
        (_, Ok(st)) if !st.success() && s.lines == 0 => Some(format!("journalctl: exited with {st} (no journal, or no permission: needs root or the systemd-journal group)")),
        _ => None,
    };
    let summary = InputSummary {
        name: "journalctl".into(),
        bytes: s.bytes,
        lines: s.lines,
        events: s.events.len(),
        long_lines: s.long_lines,
        error,
        read: true,
    };
    (s.events, summary)
}

/// Read one input whole; failures are in the summary, never a panic or an early return.
pub(super) fn scan_input(
    input: &Input,
    since_us: Option<i64>,
    progress: &AtomicU64,
) -> (Vec<Event>, InputSummary) {
    let name = input.name();
    match input {
        Input::File(p) if mappable(p) => {
            let mut s = Scanner::new(&name, Mode::Text);
            let res = File::open(p).and_then(|f| mapped::scan_file(&mut s, &f, progress));
            let summary = InputSummary {
                name: name.clone(),
                bytes: s.bytes,
                lines: s.lines,
                events: s.events.len(),
                long_lines: s.long_lines,
                error: res.err().map(|e| io_message(&name, &e)),
                read: true,
            };
            (s.events, summary)
        }
        Input::File(p) => match open_decoded(p, progress) {
            Ok(r) => scan_reader(&name, r),
            Err(e) => (
                Vec::new(),
                InputSummary::failed(&name, io_message(&name, &e)),
            ),
        },
        Input::Stdin => {
            let stdin = Counting::new(io::stdin(), progress);
            let mut r = BufReader::with_capacity(1 << 16, stdin);
            let head = r.fill_buf().map(|h| h.to_vec()).unwrap_or_default();
            let boxed: Box<dyn BufRead + Send + '_> = if head.starts_with(&[0x1f, 0x8b]) {
                Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(r)))
            } else {
                Box::new(r)
            };
            scan_reader(&name, boxed)
        }
        Input::Dmesg(p) => kmsg::scan(p, progress),
        Input::Journal => scan_journal(since_us, progress),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_reader_counts_what_it_reads() {
        let done = AtomicU64::new(5);
        let mut r = Counting::new(&b"0123456789"[..], &done);
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).unwrap(), 4);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(done.load(Ordering::Relaxed), 15);
    }

    #[test]
    fn gzip_counts_compressed_bytes_and_reads_the_text() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.log.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for _ in 0..1000 {
            gz.write_all(b"Apr 15 10:22:01 n cron[1]: job done\n")
                .unwrap();
        }
        gz.write_all(
            b"Out of memory: Killed process 9 (x) total-vm:1kB, anon-rss:2kB, file-rss:0kB\n",
        )
        .unwrap();
        let bytes = gz.finish().unwrap();
        std::fs::write(&p, &bytes).unwrap();
        let done = AtomicU64::new(0);
        let (ev, sum) = scan_input(&Input::File(p), None, &done);
        assert_eq!((ev.len(), sum.error), (1, None));
        assert_eq!(done.load(Ordering::Relaxed), bytes.len() as u64);
        assert!(sum.bytes > bytes.len() as u64, "bytes counts the text");
    }
}
