//! Reading one input of a triage: a file (plain, gzip or zstd, recognised by magic bytes; a
//! large plain file through [`super::mapped`]), standard input, the kernel log
//! ([`super::kmsg`]) or `journalctl -o json`; text, journald JSON lines or a whole JSON document
//! (`kubectl … -o json`, `docker inspect`, read by [`super::structured`]).
//!
//! Every byte taken from an input (before decompression) is added to the caller's progress
//! counter as it is read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use super::event::Event;
use super::scan::{Mode, Scanner};
use super::{kmsg, mapped, structured, Input, InputSummary};
use crate::base::input::TextGuard;

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

/// Undo gzip or zstd compression of an opened file (recognised by magic bytes, not extension).
fn open_decoded<'a>(
    file: File,
    progress: &'a AtomicU64,
) -> io::Result<Box<dyn BufRead + Send + 'a>> {
    let f = Counting::new(file, progress);
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
/// by two threads ([`mapped`]). Reads the head with `pread`, so `f`'s offset stays at 0.
pub(crate) fn mappable(f: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let Ok(meta) = f.metadata() else { return false };
    if !meta.is_file() || meta.len() < mapped::MIN_SIZE {
        return false;
    }
    let mut head = vec![0u8; 64 * 1024];
    let n = f.read_at(&mut head, 0).unwrap_or(0);
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
    use crate::base::input::{self as base_input, Accept, Kind};
    let name = input.name();
    match input {
        Input::File(p) => {
            // Opened without blocking (a FIFO without a writer reads as empty, not a hang); a
            // file, a pipe, or the kernel log's device; other devices have no end.
            let opened = match base_input::open(p, Accept::Any) {
                Ok(o) => o,
                Err(crate::error::Error::Io { source, .. }) => {
                    return (
                        Vec::new(),
                        InputSummary::failed(&name, io_message(&name, &source)),
                    )
                }
                Err(e) => return (Vec::new(), InputSummary::failed(&name, e.to_string())),
            };
            match opened.kind {
                Kind::Regular => scan_file(&name, opened.file, progress),
                Kind::Fifo => scan_stream(&name, opened.file, progress),
                Kind::CharDevice if is_dev_null(&opened.file) => {
                    scan_stream(&name, opened.file, progress)
                }
                Kind::CharDevice if is_kmsg(&opened.file) => {
                    drop(opened);
                    kmsg::scan(p, progress)
                }
                k => (
                    Vec::new(),
                    InputSummary::failed(
                        &name,
                        format!(
                            "{name}: is {}, not a log file, a pipe or /dev/kmsg (a device has no end to read to); save it to a file first",
                            k.describe()
                        ),
                    ),
                ),
            }
        }
        Input::Opened { file, .. } => {
            use std::io::{Seek, SeekFrom};
            let mut f = match file.try_clone() {
                Ok(f) => f,
                Err(e) => {
                    return (
                        Vec::new(),
                        InputSummary::failed(&name, io_message(&name, &e)),
                    )
                }
            };
            if let Err(e) = f.seek(SeekFrom::Start(0)) {
                return (
                    Vec::new(),
                    InputSummary::failed(&name, io_message(&name, &e)),
                );
            }
            scan_file(&name, f, progress)
        }
        Input::Stdin => {
            if let Err(e) = base_input::stdin(Accept::Stream) {
                return (Vec::new(), InputSummary::failed(&name, e.to_string()));
            }
            let stdin = Counting::new(io::stdin(), progress);
            let mut r = BufReader::with_capacity(1 << 16, stdin);
            let head = r.fill_buf().map(|h| h.to_vec()).unwrap_or_default();
            // The guard watches the text, after decompression.
            let (boxed, stopped): (Box<dyn BufRead + Send + '_>, _) =
                if head.starts_with(&[0x1f, 0x8b]) {
                    let g = TextGuard::new(flate2::read::MultiGzDecoder::new(r));
                    let flag = g.flag();
                    (Box::new(BufReader::new(g)), flag)
                } else {
                    let g = TextGuard::new(ReadBuf(r));
                    let flag = g.flag();
                    (Box::new(BufReader::new(g)), flag)
                };
            let (ev, mut summary) = scan_reader(&name, boxed);
            if stopped.load(Ordering::Relaxed) && summary.error.is_none() {
                summary.error = Some(TextGuard::<()>::note(&name));
            }
            (ev, summary)
        }
        Input::Dmesg(p) => kmsg::scan(p, progress),
        Input::Journal => scan_journal(since_us, progress),
    }
}

/// `/dev/null`, which reads as empty.
fn is_dev_null(f: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    f.metadata()
        .is_ok_and(|m| crate::base::input::is_dev_null(m.rdev()))
}

/// `/dev/kmsg` (character device 1:11, `Documentation/admin-guide/devices.txt`), whatever its
/// path.
fn is_kmsg(f: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    f.metadata()
        .is_ok_and(|m| libc::major(m.rdev()) == 1 && libc::minor(m.rdev()) == 11)
}

/// A reader that passes `inner` through (a `BufReader` whose buffered head must not be lost).
struct ReadBuf<R>(R);

impl<R: BufRead> Read for ReadBuf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// A FIFO or pipe named on the command line: decompressed when it is gzip or zstd, ended after
/// [`crate::base::input::MAX_BINARY_WINDOW`] bytes of mostly binary data (with a note).
fn scan_stream(name: &str, file: File, progress: &AtomicU64) -> (Vec<Event>, InputSummary) {
    let (ev, mut summary, stopped) = match open_decoded(file, progress) {
        Ok(r) => {
            let g = TextGuard::new(ReadBuf(r));
            let flag = g.flag();
            let (ev, summary) = scan_reader(name, Box::new(BufReader::new(g)));
            (ev, summary, flag.load(Ordering::Relaxed))
        }
        Err(e) => (
            Vec::new(),
            InputSummary::failed(name, io_message(name, &e)),
            false,
        ),
    };
    if stopped && summary.error.is_none() {
        summary.error = Some(TextGuard::<()>::note(name));
    }
    (ev, summary)
}

/// A regular file: mapped when it is large plain text, else read (and decompressed) as a stream.
pub(crate) fn scan_file(
    name: &str,
    file: File,
    progress: &AtomicU64,
) -> (Vec<Event>, InputSummary) {
    if !mappable(&file) {
        return match open_decoded(file, progress) {
            Ok(r) => scan_reader(name, r),
            Err(e) => (Vec::new(), InputSummary::failed(name, io_message(name, &e))),
        };
    }
    let mut s = Scanner::new(name, Mode::Text);
    let res = mapped::scan_file(&mut s, &file, progress);
    let summary = InputSummary {
        name: name.to_string(),
        bytes: s.bytes,
        lines: s.lines,
        events: s.events.len(),
        long_lines: s.long_lines,
        error: res.err().map(|e| io_message(name, &e)),
        read: true,
    };
    (s.events, summary)
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

    #[test]
    fn an_opened_input_reads_its_descriptor_not_the_path_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        let secret = dir.path().join("shadow");
        std::fs::write(
            &log,
            b"Out of memory: Killed process 9 (x) total-vm:1kB, anon-rss:2kB, file-rss:0kB\n",
        )
        .unwrap();
        std::fs::write(&secret, b"root:*:20228:0:99999:7:::\n").unwrap();
        let file = std::sync::Arc::new(std::fs::File::open(&log).unwrap());
        // The path is swapped for a symlink after it was checked and opened.
        std::fs::remove_file(&log).unwrap();
        std::os::unix::fs::symlink(&secret, &log).unwrap();
        let done = AtomicU64::new(0);
        let input = Input::Opened {
            path: log.clone(),
            file: file.clone(),
        };
        let (ev, sum) = scan_input(&input, None, &done);
        assert_eq!((ev.len(), sum.error), (1, None));
        assert_eq!(sum.lines, 1);
        // Read again from the start (the offset is shared with the caller's descriptor).
        let (ev, _) = scan_input(&input, None, &done);
        assert_eq!(ev.len(), 1);
    }
}
