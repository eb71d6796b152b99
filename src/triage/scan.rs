//! The streaming scanner: reads an input in chunks (never whole), skips to the next line that
//! can matter with a multi-literal prefilter (aho-corasick), and hands such lines, normalised,
//! to the kernel and rule parsers. While a kernel report or a `kubectl describe` block is open,
//! every line is read.
//!
//! Bad bytes never stop it: lines are decoded lossily, CRLF and CR-only line ends are
//! accepted, and a line longer than [`MAX_LINE`] is cut (what fits is still searched).

use std::io::{self, Read};

use super::event::{Event, SourceRef};
use super::kernel::KernelParser;
use super::normalize::{normalize, unescape_rsyslog, Line, TimeContext};
use super::prefilter::prefilter;
use super::rules::RuleParser;
use super::structured::journal_entry;
use crate::base::time::format_rfc3339;

/// Bytes read per chunk.
const CHUNK: usize = 1 << 20;
/// Longest line kept whole; the rest of a longer line is skipped.
pub const MAX_LINE: usize = 1 << 20;

/// Whether a line looks like a kernel record cut in two (its rest on the next line, without a
/// prefix): a victim or segfault line that did not parse, an `oom-kill:` line without `uid=`.
fn needs_continuation(msg: &str, parsed: bool) -> bool {
    let m = msg.trim_start();
    (!parsed && (m.contains("Killed process") || m.contains("segfault at")))
        || (m.starts_with("oom-kill:") && !m.contains(",uid="))
}

/// Newlines in `b`: `bytecount` (as ripgrep counts lines), AVX2 or SSE2 chosen at run time.
pub(crate) fn count_newlines(b: &[u8]) -> u64 {
    bytecount::count(b, b'\n') as u64
}

/// How lines of an input are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plain text log lines.
    Text,
    /// One journald JSON object per line.
    JournalJson,
}

/// Scans one input.
pub struct Scanner {
    file: String,
    mode: Mode,
    ctx: TimeContext,
    kernel: KernelParser,
    rules: RuleParser,
    /// A line that looked like a kernel victim line but did not parse: maybe wrapped.
    partial: Option<(String, SourceRef)>,
    /// Events found so far, in input order.
    pub events: Vec<Event>,
    /// Lines fed so far (for `/dev/kmsg`, records).
    pub lines: u64,
    /// Bytes fed so far (after decompression).
    pub bytes: u64,
    /// Lines cut at [`MAX_LINE`].
    pub long_lines: u64,
    /// Seconds since the epoch at boot, to date raw-dmesg times read from this machine's kernel.
    boot_us: Option<i64>,
    /// The `/dev/kmsg` sequence number of the record being fed.
    kmsg_seq: Option<u64>,
    /// Test-only: every line goes to the parsers, the prefilter is not used (the oracle of
    /// `equivalence_tests`).
    pub(crate) no_prefilter: bool,
}

#[cfg(test)]
thread_local! {
    /// Test-only: scanners made on this thread while it is set send every line to the parsers.
    pub(crate) static NO_PREFILTER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Scanner {
    /// A scanner for the input named `file` (the name its events' sources carry), with lines
    /// encoded as `mode`; syslog dates without a year get the current year.
    pub fn new(file: &str, mode: Mode) -> Scanner {
        Scanner {
            file: file.to_string(),
            mode,
            ctx: TimeContext::now(),
            kernel: KernelParser::default(),
            rules: RuleParser::default(),
            partial: None,
            events: Vec::new(),
            lines: 0,
            bytes: 0,
            long_lines: 0,
            boot_us: None,
            kmsg_seq: None,
            #[cfg(test)]
            no_prefilter: NO_PREFILTER.with(|f| f.get()),
            #[cfg(not(test))]
            no_prefilter: false,
        }
    }

    /// Date monotonic (`[  518.05]`) times with this boot time (µs since the epoch).
    pub fn with_boot_time(mut self, boot_us: i64) -> Scanner {
        self.boot_us = Some(boot_us);
        self
    }

    /// The `/dev/kmsg` sequence number of the next lines fed ([`super::kmsg`]).
    pub fn set_kmsg_seq(&mut self, seq: Option<u64>) {
        self.kmsg_seq = seq;
    }

    pub(crate) fn every_line(&self) -> bool {
        self.kernel.active() || self.rules.active() || self.partial.is_some()
    }

    /// Read everything from `r`, on a second thread so that the kernel's copying overlaps
    /// the search. Errors are read errors (a truncated `.gz`); the events found before the
    /// error are kept in [`Scanner::events`].
    pub fn scan<R: Read + Send>(&mut self, r: R) -> io::Result<()> {
        use std::sync::mpsc::sync_channel;
        // A fixed pool of buffers circulates between the reader and this thread: no
        // allocation (and no page faults) per chunk.
        const POOL: usize = 4;
        // The reader also counts each chunk's newlines, so this thread counts only up to the
        // last candidate line of a chunk.
        let (full_tx, full_rx) = sync_channel::<io::Result<(Vec<u8>, usize, u64)>>(POOL);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(POOL);
        for _ in 0..POOL {
            let _ = empty_tx.send(vec![0u8; CHUNK]);
        }
        let mut carry: Vec<u8> = Vec::new();
        let mut skipping = false;
        let mut cr_mode: Option<bool> = None;
        let result = std::thread::scope(|s| {
            s.spawn(move || {
                let mut r = r;
                loop {
                    let Ok(mut buf) = empty_rx.recv() else { return };
                    let mut n = 0;
                    let mut err = None;
                    while n < buf.len() {
                        match r.read(&mut buf[n..]) {
                            Ok(0) => break,
                            Ok(k) => n += k,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => {
                                err = Some(e);
                                break;
                            }
                        }
                    }
                    let done = n < CHUNK;
                    let nl = count_newlines(&buf[..n]);
                    if n > 0 && full_tx.send(Ok((buf, n, nl))).is_err() {
                        return;
                    }
                    if let Some(e) = err {
                        let _ = full_tx.send(Err(e));
                        return;
                    }
                    if done {
                        return;
                    }
                }
            });
            for msg in full_rx {
                match msg {
                    Ok((mut buf, n, nl)) => {
                        self.bytes += n as u64;
                        self.block_with_carry(
                            &mut buf[..n],
                            Some(nl),
                            &mut carry,
                            &mut skipping,
                            &mut cr_mode,
                        );
                        let _ = empty_tx.send(buf);
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        self.flush_carry(&mut carry, skipping);
        self.finish();
        result
    }

    fn flush_carry(&mut self, carry: &mut Vec<u8>, skipping: bool) {
        if !carry.is_empty() && !skipping {
            let line = std::mem::take(carry);
            self.lines += 1;
            self.feed_line(&line);
        }
    }

    /// `newlines`: the count of `\n` in `data`, when the caller already knows it.
    fn block_with_carry(
        &mut self,
        data: &mut [u8],
        newlines: Option<u64>,
        carry: &mut Vec<u8>,
        skipping: &mut bool,
        cr_mode: &mut Option<bool>,
    ) {
        if cr_mode.is_none() && !data.is_empty() {
            // Old Mac line ends: CR without any LF in the first chunk.
            *cr_mode = Some(
                memchr::memchr(b'\n', data).is_none() && memchr::memchr(b'\r', data).is_some(),
            );
        }
        let mut newlines = newlines;
        if *cr_mode == Some(true) {
            for b in data.iter_mut() {
                if *b == b'\r' {
                    *b = b'\n';
                }
            }
            newlines = None;
        }
        let data: &[u8] = data;
        let mut start = 0;
        if *skipping || !carry.is_empty() {
            match memchr::memchr(b'\n', data) {
                Some(nl) => {
                    // A line cut at MAX_LINE was counted when it was cut.
                    if !*skipping {
                        carry.extend_from_slice(&data[..nl]);
                        let line = std::mem::take(carry);
                        self.lines += 1;
                        self.feed_line(&line);
                    }
                    *skipping = false;
                    start = nl + 1;
                    newlines = newlines.map(|n| n - 1);
                }
                None => {
                    if !*skipping {
                        carry.extend_from_slice(data);
                        if carry.len() > MAX_LINE {
                            // Search what we have; drop the rest of this line.
                            let line = std::mem::take(carry);
                            self.long_lines += 1;
                            self.lines += 1;
                            self.feed_line(&line[..MAX_LINE]);
                            *skipping = true;
                        }
                    }
                    return;
                }
            }
        }
        let rest = &data[start..];
        let last_nl = memchr::memrchr(b'\n', rest);
        let (complete, tail) = match last_nl {
            Some(i) => (&rest[..=i], &rest[i + 1..]),
            None => (&rest[..0], rest),
        };
        self.block(complete, newlines);
        carry.extend_from_slice(tail);
        if carry.len() > MAX_LINE {
            let line = std::mem::take(carry);
            self.long_lines += 1;
            self.lines += 1;
            self.feed_line(&line[..MAX_LINE]);
            *skipping = true;
        }
    }

    /// Process a block of complete lines (each ending in `\n`); `newlines` is their number
    /// when known.
    fn block(&mut self, block: &[u8], newlines: Option<u64>) {
        let ac = prefilter();
        let mut pos = 0;
        let start_lines = self.lines;
        while pos < block.len() {
            if self.every_line() || self.no_prefilter {
                let end = memchr::memchr(b'\n', &block[pos..]).map_or(block.len(), |i| pos + i);
                self.lines += 1;
                self.feed_line(&block[pos..end]);
                pos = end + 1;
                continue;
            }
            match ac.next_candidate(&block[pos..]) {
                None => {
                    self.lines = match newlines {
                        Some(n) => start_lines + n,
                        None => self.lines + count_newlines(&block[pos..]),
                    };
                    pos = block.len();
                }
                Some(line) => {
                    let (lstart, end) = (pos + line.start, pos + line.end);
                    self.lines += count_newlines(&block[pos..lstart]);
                    self.lines += 1;
                    self.feed_line(&block[lstart..end]);
                    pos = end + 1;
                }
            }
        }
    }

    /// Process one raw line (without its newline); `self.lines` is its 1-based number.
    pub fn feed_line(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let src = SourceRef {
            file: self.file.clone(),
            line: self.lines,
            kmsg_seq: self.kmsg_seq,
        };
        match self.mode {
            Mode::Text => self.text_line(&text, src),
            Mode::JournalJson => {
                if let Some(j) = journal_entry(&text) {
                    let ident = if j.kernel {
                        Some("kernel")
                    } else {
                        j.ident.as_deref()
                    };
                    for msg in j.message.lines() {
                        let l = Line {
                            msg,
                            time_us: j.time_us,
                            monotonic_s: None,
                            ident,
                            ident_pid: j.pid,
                            has_prefix: true,
                        };
                        self.dispatch(&l, &src);
                    }
                }
            }
        }
    }

    fn text_line(&mut self, text: &str, src: SourceRef) {
        let l = normalize(text, self.ctx);
        // A wrapped record: the previous line looked like a victim line but did not parse.
        if let Some((prev, psrc)) = self.partial.take() {
            if !l.has_prefix && !l.msg.trim().is_empty() {
                // A segfault line wraps at a space; other records were cut mid-token.
                let sep = if prev.contains("segfault at") && !prev.ends_with(' ') {
                    " "
                } else {
                    ""
                };
                let joined = format!(
                    "{prev}{sep}{}",
                    l.msg.trim_start_matches(|c| sep == " " && c == ' ')
                );
                let jl = Line {
                    msg: &joined,
                    ..l.clone()
                };
                self.dispatch(&jl, &psrc);
                return;
            }
        }
        let msg = unescape_rsyslog(l.msg);
        if msg.contains('\n') {
            for part in msg.split('\n') {
                let pl = Line {
                    msg: part,
                    ..l.clone()
                };
                self.dispatch(&pl, &src);
            }
        } else {
            let n = self.events.len();
            self.dispatch(&l, &src);
            if needs_continuation(l.msg, self.events.len() > n) {
                self.partial = Some((l.msg.to_string(), src));
            }
        }
    }

    fn dispatch(&mut self, l: &Line<'_>, src: &SourceRef) {
        let n = self.events.len();
        if !self.kernel.line(l, src, &mut self.events) {
            self.rules.line(l, src, &mut self.events);
        }
        for e in &mut self.events[n..] {
            e.time_us = e.time_us.or(l.time_us).or_else(|| {
                let mono = l.monotonic_s?;
                Some(self.boot_us? + (mono * 1e6) as i64)
            });
            e.monotonic_s = e.monotonic_s.or(l.monotonic_s);
            e.timestamp = e.time_us.map(format_rfc3339);
        }
    }

    /// End of input.
    pub fn finish(&mut self) {
        // A victim-looking line that never completed stays unparsed.
        self.partial = None;
        self.kernel.finish(&mut self.events);
        self.rules.finish(&mut self.events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(bytes: &[u8]) -> Scanner {
        let mut s = Scanner::new("t", Mode::Text);
        s.scan(bytes).unwrap();
        s
    }

    #[test]
    fn newline_count_matches_naive() {
        let mut v = Vec::new();
        for i in 0..100_000u32 {
            v.push(if i % 7 == 0 || i % 13 == 0 {
                b'\n'
            } else {
                b'a'
            });
        }
        for len in [0, 1, 31, 32, 33, 8160, 8161, 100_000] {
            let naive = v[..len].iter().filter(|&&c| c == b'\n').count() as u64;
            assert_eq!(count_newlines(&v[..len]), naive, "len {len}");
        }
    }

    #[test]
    fn line_numbers_survive_the_prefilter() {
        let mut text = String::new();
        for i in 0..1000 {
            text.push_str(&format!("noise line {i}\n"));
        }
        text.push_str("[  1.0] Out of memory: Killed process 9 (x) total-vm:1kB, anon-rss:2kB, file-rss:0kB, shmem-rss:0kB\n");
        text.push_str("tail\n");
        let s = scan(text.as_bytes());
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].source.line, 1001);
        assert_eq!(s.lines, 1002);
    }

    #[test]
    fn crlf_cr_and_no_final_newline() {
        let v = b"Out of memory: Killed process 9 (x) total-vm:1kB, anon-rss:2kB, file-rss:0kB\r\nnext\r\n";
        assert_eq!(scan(v).events[0].process.as_deref(), Some("x"));
        let v =
            b"a\rOut of memory: Killed process 9 (x) total-vm:1kB, anon-rss:2kB, file-rss:0kB\rb";
        let s = scan(v);
        assert_eq!(s.events[0].source.line, 2);
        let v = b"Out of memory: Killed process 9 (x) total-vm:1kB, anon-rss:2kB, file-rss:0kB";
        assert_eq!(scan(v).events.len(), 1);
    }

    #[test]
    fn wrapped_victim_line_is_rejoined() {
        let v = b"[ 5.0] Out of memory: Killed process 9 (x) total-vm:1kB, anon-rss:\n2kB, file-rss:0kB, shmem-rss:0kB\n";
        let s = scan(v);
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].anon_rss_kb, Some(2));
        assert_eq!(s.events[0].source.line, 1);
    }

    #[test]
    fn huge_line_and_garbage_do_not_panic() {
        let mut v = vec![b'x'; 10 << 20];
        v.extend_from_slice(b" Killed process 1 (y) total-vm:1kB, anon-rss:1kB, file-rss:0kB\nOut of memory: Killed process 2 (z) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n");
        let s = scan(&v);
        assert_eq!(s.long_lines, 1);
        assert_eq!(s.events.len(), 1);
        assert_eq!(s.events[0].pid, Some(2));
        assert_eq!(s.events[0].source.line, 2);
        assert_eq!(s.lines, 2, "the cut line is a line");
        // Cut and without a newline at the end: still a line (not "in 0 lines").
        let s = scan(&vec![b'x'; 3 << 20]);
        assert_eq!((s.lines, s.long_lines), (1, 1));
        let mut v = vec![b'x'; 3 << 20];
        v.extend_from_slice(b" Out of memory: Killed process 3 (w) total-vm:1kB, anon-rss:1kB, file-rss:0kB\nnext\n");
        let s = scan(&v);
        assert_eq!(s.lines, 2);
        let garbage: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let _ = scan(&garbage);
    }
}
