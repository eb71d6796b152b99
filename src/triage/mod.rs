//! `triage`: OOM kills, abnormal exits, crashes and OpenClaw errors in kernel, container,
//! service-manager, runtime and CI logs.
//!
//! Inputs are read in parallel and streamed ([`scan`]); each yields events ([`event`]) from
//! the kernel report parser ([`kernel`]), the other rules ([`rules`]) or structured documents
//! ([`structured`]); [`correlate`] then deduplicates and links exits to OOM records. A failed
//! input is reported with what it yielded before the failure; it never stops the others.

pub mod correlate;
pub mod event;
pub mod kernel;
pub mod normalize;
pub mod rules;
pub mod scan;
pub mod structured;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Serialize;

use event::{Event, Kind};
use scan::{Mode, Scanner};

/// One input of a triage run.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file: plain, gzip or zstd (detected from its first bytes); a JSON document
    /// (`kubectl … -o json`, `docker inspect`) or journald JSON lines are recognised.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// The kernel ring buffer through this device (normally `/dev/kmsg`), read without blocking.
    Dmesg(PathBuf),
    /// `journalctl -o json` (with `--since` when given).
    Journal,
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Stdin => "<stdin>".into(),
            Input::Dmesg(p) => p.display().to_string(),
            Input::Journal => "journalctl".into(),
        }
    }
}

/// What to triage.
#[derive(Debug, Clone)]
pub struct Request {
    pub inputs: Vec<Input>,
    /// Drop events dated before this time (µs since the epoch). Events without a time are kept.
    pub since_us: Option<i64>,
}

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    pub name: String,
    /// Bytes read (after decompression).
    pub bytes: u64,
    pub lines: u64,
    pub events: usize,
    /// Lines longer than 1 MiB, cut for searching.
    pub long_lines: u64,
    /// Why the input could not be read (fully); events found before the error are kept.
    pub error: Option<String>,
}

/// Counts over the events.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub events: usize,
    pub oom: usize,
    pub crash: usize,
    /// Exits by SIGKILL with no OOM record that explains them.
    pub sigkill_cause_unknown: usize,
    pub by_kind: BTreeMap<&'static str, usize>,
    /// Events dropped by `--since`.
    pub before_since: usize,
    /// Events without a wall-clock time (kept by `--since`).
    pub without_time: usize,
}

/// The result of a triage run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub events: Vec<Event>,
    pub summary: Summary,
    pub inputs: Vec<InputSummary>,
    /// Show evidence lines in the table (`-v`).
    #[serde(skip)]
    pub verbose: bool,
}

impl InputSummary {
    /// Nothing read yet.
    fn new(name: &str) -> InputSummary {
        InputSummary {
            name: name.to_string(),
            bytes: 0,
            lines: 0,
            events: 0,
            long_lines: 0,
            error: None,
        }
    }

    /// An input that could not be read at all.
    fn failed(name: &str, error: String) -> InputSummary {
        InputSummary {
            error: Some(error),
            ..InputSummary::new(name)
        }
    }
}

impl Report {
    /// Inputs that failed.
    pub fn errors(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inputs
            .iter()
            .filter_map(|i| Some((i.name.as_str(), i.error.as_deref()?)))
    }
}

/// Largest JSON document read whole: 256 MiB.
const MAX_DOCUMENT: u64 = 256 << 20;

/// Open a file, undoing gzip or zstd compression (recognised by magic bytes, not extension).
fn open_decoded(path: &PathBuf) -> io::Result<Box<dyn BufRead + Send>> {
    let f = File::open(path)?;
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
        io::ErrorKind::UnexpectedEof => {
            format!("{name}: truncated (unexpected end of compressed data)")
        }
        _ => format!("{name}: {e}"),
    }
}

/// Scan a reader that may hold text, journald JSON lines or a JSON document.
fn scan_reader(name: &str, mut r: Box<dyn BufRead + Send>) -> (Vec<Event>, InputSummary) {
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
fn mappable(p: &PathBuf) -> bool {
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

/// Read the kernel log from `/dev/kmsg` without blocking: one record per read,
/// `prio,seq,usec,flags;message` (Documentation/ABI/testing/dev-kmsg).
fn scan_kmsg(path: &PathBuf) -> (Vec<Event>, InputSummary) {
    use std::os::unix::fs::OpenOptionsExt;
    let name = path.display().to_string();
    let mut summary = InputSummary::new(&name);
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let mut f = match f {
        Ok(f) => f,
        Err(e) => {
            summary.error = Some(kmsg_error(&name, &e));
            return (Vec::new(), summary);
        }
    };
    let mut s = Scanner::new(&name, Mode::Text);
    if let Some(b) = boot_time_us() {
        s = s.with_boot_time(b);
    }
    let mut rec = vec![0u8; 16 * 1024];
    loop {
        match f.read(&mut rec) {
            Ok(0) => break,
            Ok(n) => {
                summary.bytes += n as u64;
                let r = &rec[..n];
                let Some(semi) = memchr::memchr(b';', r) else {
                    continue;
                };
                let fields: Vec<&[u8]> = r[..semi].split(|&b| b == b',').collect();
                let usec: u64 = fields
                    .get(2)
                    .and_then(|f| std::str::from_utf8(f).ok()?.parse().ok())
                    .unwrap_or(0);
                let msg_end = memchr::memchr(b'\n', &r[semi + 1..]).map_or(n, |i| semi + 1 + i);
                let msg = unescape_kmsg(&r[semi + 1..msg_end]);
                let line = format!("[{:>5}.{:06}] {}", usec / 1_000_000, usec % 1_000_000, msg);
                s.lines += 1;
                s.feed_line(line.as_bytes());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // EPIPE: records were overwritten while reading; go on from the next one.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
            Err(e) => {
                summary.error = Some(kmsg_error(&name, &e));
                break;
            }
        }
    }
    s.finish();
    summary.lines = s.lines;
    summary.events = s.events.len();
    (s.events, summary)
}

fn kmsg_error(name: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "{name}: permission denied (reading the kernel log needs CAP_SYSLOG, or kernel.dmesg_restrict=0)"
        ),
        io::ErrorKind::NotFound => format!("{name}: no such device (no kernel log here?)"),
        _ => format!("{name}: {e}"),
    }
}

/// kmsg escapes non-printable bytes as `\xNN`.
fn unescape_kmsg(b: &[u8]) -> String {
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

fn scan_journal(since_us: Option<i64>) -> (Vec<Event>, InputSummary) {
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
    let res = s.scan(BufReader::new(out));
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
    };
    (s.events, summary)
}

fn scan_input(input: &Input, since_us: Option<i64>) -> (Vec<Event>, InputSummary) {
    let name = input.name();
    match input {
        Input::File(p) if mappable(p) => {
            let mut s = Scanner::new(&name, Mode::Text);
            let res = File::open(p).and_then(|f| mapped::scan_file(&mut s, &f));
            let summary = InputSummary {
                name: name.clone(),
                bytes: s.bytes,
                lines: s.lines,
                events: s.events.len(),
                long_lines: s.long_lines,
                error: res.err().map(|e| io_message(&name, &e)),
            };
            (s.events, summary)
        }
        Input::File(p) => match open_decoded(p) {
            Ok(r) => scan_reader(&name, r),
            Err(e) => (
                Vec::new(),
                InputSummary::failed(&name, io_message(&name, &e)),
            ),
        },
        Input::Stdin => {
            let stdin = io::stdin();
            let mut r = BufReader::with_capacity(1 << 16, stdin);
            let head = r.fill_buf().map(|h| h.to_vec()).unwrap_or_default();
            let boxed: Box<dyn BufRead + Send> = if head.starts_with(&[0x1f, 0x8b]) {
                Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(r)))
            } else {
                Box::new(r)
            };
            scan_reader(&name, boxed)
        }
        Input::Dmesg(p) => scan_kmsg(p),
        Input::Journal => scan_journal(since_us),
    }
}

/// Run a triage: read every input (in parallel), then deduplicate, link and count.
pub fn triage(req: &Request) -> Report {
    let results: Vec<(Vec<Event>, InputSummary)> = std::thread::scope(|s| {
        let handles: Vec<_> = req
            .inputs
            .iter()
            .map(|i| s.spawn(move || scan_input(i, req.since_us)))
            .collect();
        handles
            .into_iter()
            .zip(&req.inputs)
            .map(|(h, i)| {
                h.join().unwrap_or_else(|_| {
                    let name = i.name();
                    (
                        Vec::new(),
                        InputSummary::failed(
                            &name,
                            format!("{name}: internal error while reading (please report)"),
                        ),
                    )
                })
            })
            .collect()
    });
    let mut all = Vec::new();
    let mut inputs = Vec::new();
    for (ev, sum) in results {
        all.extend(ev);
        inputs.push(sum);
    }
    let mut summary = Summary::default();
    if let Some(cut) = req.since_us {
        let before = all.len();
        all.retain(|e| e.time_us.is_none_or(|t| t >= cut));
        summary.before_since = before - all.len();
    }
    let events = correlate::correlate(all);
    summary.events = events.len();
    for e in &events {
        *summary.by_kind.entry(e.kind.as_str()).or_default() += 1;
        summary.oom += usize::from(e.kind.is_oom());
        summary.crash += usize::from(e.kind.is_crash());
        summary.sigkill_cause_unknown +=
            usize::from(e.kind == Kind::SigkillExit && e.cause == Some("unknown"));
        summary.without_time += usize::from(e.time_us.is_none());
    }
    Report {
        events,
        summary,
        inputs,
        verbose: false,
    }
}
pub mod mapped;
