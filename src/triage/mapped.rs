//! The fast path for large plain-text files: the file is memory-mapped (no copy into our
//! buffers) and searched by two threads at once, one segment at a time; the parsers then see
//! the candidate lines in file order. The two threads form a pipeline without a barrier: a
//! helper thread searches segments ahead, and this thread parses each segment as soon as its
//! search is done, searching segments itself whenever the next one to parse is not ready. The
//! search may run at most `WINDOW` (24) segments ahead of the parsing, and the pages parsed are
//! dropped from our address space (`MADV_DONTNEED`, [`crate::base::mmap::Map::release`]) behind
//! it, so memory stays bounded whatever the file's size.
//!
//! Only regular, uncompressed files larger than [`MIN_SIZE`] with `\n` line ends take this
//! path; everything else (stdin, `.gz`, `.zst`, CR-only files) is streamed by
//! [`super::scan::Scanner::scan`]. A file that shrinks while mapped (`copytruncate`) makes the
//! map fault; the map answers with zeros and says so ([`Map::faulted`]), and the scan checks it
//! after each segment is parsed: the read stops with an error and the events of that segment,
//! which may have been read from zeros, are dropped. The file's size is also checked every
//! `RELEASE_EVERY` (8) segments, to stop before reading zeros at all.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use super::prefilter::prefilter;
use super::scan::{count_newlines, Scanner, MAX_LINE};
use crate::base::mmap::{Map, SHRANK};

fn shrank() -> io::Error {
    io::Error::other(SHRANK)
}

/// Files smaller than this are streamed: 16 MiB.
pub const MIN_SIZE: u64 = 16 << 20;
/// Bytes per segment searched by one thread at a time: 1 MiB (small, so that neither thread
/// waits long for the other's segment).
const SEGMENT: usize = 1 << 20;
/// How many segments the search may run ahead of the parsing: 24 MiB.
const WINDOW: usize = 24;
/// The parsed pages are released, and the file's size checked, every this many segments
/// (8 MiB). At most about `WINDOW + RELEASE_EVERY + 1` segments (33 MiB) of the file are
/// mapped at once, plus a report's lines read past them.
const RELEASE_EVERY: usize = 8;

/// What one thread found in one segment.
struct Found {
    /// Newlines in `[first, end)`.
    newlines: u64,
    /// Candidate lines: start, end (without the newline), lines before it in the segment.
    candidates: Vec<(usize, usize, u64)>,
}

/// Start of the line that follows position `at - 1`, i.e. the first line start at or after `at`.
fn line_start_at_or_after(d: &[u8], at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    if at >= d.len() {
        return d.len();
    }
    memchr::memchr(b'\n', &d[at - 1..]).map_or(d.len(), |i| at + i)
}

fn search(d: &[u8], seg: usize) -> Found {
    let pf = prefilter();
    let first = line_start_at_or_after(d, seg * SEGMENT);
    let end = line_start_at_or_after(d, (seg + 1) * SEGMENT).max(first);
    let mut candidates = Vec::new();
    let mut pos = first;
    // Newlines in `first..counted` are `rel`: counted only up to each candidate (few), not
    // up to each keyword hit (many).
    let (mut counted, mut rel) = (first, 0u64);
    while pos < end {
        let Some(line) = pf.next_candidate(&d[pos..end]) else {
            break;
        };
        let (lstart, lend) = (pos + line.start, pos + line.end);
        rel += count_newlines(&d[counted..lstart]);
        counted = lstart;
        candidates.push((lstart, lend, rel));
        pos = lend + 1;
    }
    Found {
        newlines: rel + count_newlines(&d[counted..end]),
        candidates,
    }
}

/// Scan a regular file through a memory map, two threads searching. `s` receives the lines in
/// file order; the bytes of each segment parsed are added to `progress`. Errors: the file could
/// not be mapped, or it shrank while being read.
pub fn scan_file(s: &mut Scanner, f: &File, progress: &AtomicU64) -> io::Result<()> {
    let len = f.metadata()?.len() as usize;
    if len == 0 {
        // Truncated between the size check that chose this path and the open: empty now.
        s.finish();
        return Ok(());
    }
    let map = Map::new(f, len)?;
    let d = map.bytes();
    if s.no_prefilter {
        return every_line(s, &map, len);
    }
    if map.shrank(f)? || map.faulted() {
        return Err(shrank());
    }
    let segments = len.div_ceil(SEGMENT);
    let pipe = Pipeline {
        segments,
        state: Mutex::new(State {
            next: 0,
            parsed: 0,
            found: (0..WINDOW).map(|_| None).collect(),
            stop: false,
            helper_gone: segments < 2,
        }),
        changed: Condvar::new(),
    };
    let lines = std::thread::scope(|sc| {
        if segments >= 2 {
            sc.spawn(|| pipe.help(d));
        }
        // Whatever way the parse ends, the helper stops before the scope joins it.
        let _stop = StopOnDrop(&pipe);
        parse_all(s, d, &map, f, &pipe, progress)
    })?;
    // The last line has no newline: it is a line too.
    let unterminated = d[len - 1] != b'\n';
    if map.faulted() {
        return Err(shrank());
    }
    s.bytes += len as u64;
    s.lines = lines + u64::from(unterminated);
    s.finish();
    Ok(())
}

/// What the two threads share: which segments are claimed, searched and parsed.
struct Pipeline {
    segments: usize,
    state: Mutex<State>,
    /// Signalled when a search result is stored, a segment is parsed, or the scan stops.
    changed: Condvar,
}

struct State {
    /// The next segment no thread has claimed.
    next: usize,
    /// Segments parsed: a segment `i` may be claimed only while `i < parsed + WINDOW`.
    parsed: usize,
    /// The search results of the segments claimed and not yet parsed, segment `i` at
    /// `i % WINDOW` (a claim is never more than `WINDOW` segments past the parse, so no two
    /// share a slot): memory bounded whatever the file's size.
    found: Vec<Option<Found>>,
    /// The parse has ended (done, failed, or the file shrank): claim nothing more.
    stop: bool,
    /// The helper thread has left (or never ran): this thread searches what it needs itself.
    helper_gone: bool,
}

impl State {
    fn claim(&mut self, segments: usize) -> Option<usize> {
        let i = self.next;
        if self.stop || i >= segments || i >= self.parsed + WINDOW {
            return None;
        }
        self.next += 1;
        Some(i)
    }
}

impl Pipeline {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked while holding the lock left the state consistent (each
        // change is a single assignment): go on with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    fn store(&self, i: usize, found: Found) {
        self.lock().found[i % WINDOW] = Some(found);
        self.changed.notify_all();
    }

    /// The helper thread: search the segments it can claim until the scan stops or every
    /// segment is claimed.
    fn help(&self, d: &[u8]) {
        let _gone = GoneOnDrop(self);
        loop {
            let i = {
                let mut st = self.lock();
                loop {
                    if st.stop || st.next >= self.segments {
                        return;
                    }
                    if let Some(i) = st.claim(self.segments) {
                        break i;
                    }
                    st = self.wait(st);
                }
            };
            self.store(i, search(d, i));
        }
    }

    /// The search result of segment `p`, the next to parse: taken when stored, else this
    /// thread searches segments until it is (the helper's, or its own).
    fn take(&self, d: &[u8], p: usize) -> Found {
        let mut st = self.lock();
        loop {
            if let Some(found) = st.found[p % WINDOW].take() {
                return found;
            }
            if let Some(i) = st.claim(self.segments) {
                drop(st);
                let found = search(d, i);
                if i == p {
                    return found;
                }
                self.store(i, found);
                st = self.lock();
                continue;
            }
            if st.helper_gone {
                // The helper left without storing `p` (it can only have panicked).
                drop(st);
                return search(d, p);
            }
            st = self.wait(st);
        }
    }

    fn parsed(&self, p: usize) {
        self.lock().parsed = p;
        self.changed.notify_all();
    }
}

struct StopOnDrop<'a>(&'a Pipeline);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().stop = true;
        self.0.changed.notify_all();
    }
}

struct GoneOnDrop<'a>(&'a Pipeline);

impl Drop for GoneOnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().helper_gone = true;
        self.0.changed.notify_all();
    }
}

/// Parse the segments in file order as their searches complete, releasing the parsed pages
/// behind. Returns the number of newlines in the file. Errors: the file shrank (checked every
/// [`RELEASE_EVERY`] segments) or the map read zeros; the events of the segment being parsed
/// are then dropped.
fn parse_all(
    s: &mut Scanner,
    d: &[u8],
    map: &Map,
    f: &File,
    pipe: &Pipeline,
    progress: &AtomicU64,
) -> io::Result<u64> {
    let len = d.len();
    let mut cursor = 0usize; // next unconsumed byte
    let mut lines = 0u64; // newlines before the segment being parsed
    let mut released = 0usize;
    for p in 0..pipe.segments {
        let found = pipe.take(d, p);
        let events_before = s.events.len();
        for &(start, end, rel) in &found.candidates {
            if start < cursor {
                continue; // already read line by line
            }
            s.lines = lines + rel + 1;
            feed(s, &d[start..end]);
            cursor = end + 1;
            // A report or block is open: read every following line until it closes.
            while s.every_line() && cursor < len {
                let lend = memchr::memchr(b'\n', &d[cursor..]).map_or(len, |i| cursor + i);
                s.lines += 1;
                feed(s, &d[cursor..lend]);
                cursor = lend + 1;
            }
        }
        lines += found.newlines;
        if map.faulted() {
            // Lines of this segment (or the report read on past it) may have been zeros.
            s.events.truncate(events_before);
            return Err(shrank());
        }
        pipe.parsed(p + 1);
        let done = ((p + 1) * SEGMENT).min(len);
        progress.fetch_add((done - p * SEGMENT) as u64, Ordering::Relaxed);
        if (p + 1) % RELEASE_EVERY == 0 {
            // One segment of overlap: the search of a segment reads the byte before it (is it
            // a line start?), which can fault back the last page (with large folios in the
            // page cache, up to 2 MiB) of a range released already.
            map.release(released.saturating_sub(SEGMENT), done);
            released = done;
            // Stop before reading segments that the file no longer holds.
            if done < len && map.shrank(f)? {
                return Err(shrank());
            }
        }
    }
    Ok(lines)
}

/// Test-only oracle: every line of the map to the parsers, in order.
fn every_line(s: &mut Scanner, map: &Map, len: usize) -> io::Result<()> {
    let d = map.bytes();
    let mut pos = 0;
    while pos < len {
        let end = memchr::memchr(b'\n', &d[pos..]).map_or(len, |i| pos + i);
        s.lines += 1;
        feed(s, &d[pos..end]);
        pos = end + 1;
    }
    s.bytes += len as u64;
    s.finish();
    Ok(())
}

fn feed(s: &mut Scanner, line: &[u8]) {
    if line.len() > MAX_LINE {
        s.long_lines += 1;
        s.feed_line(&line[..MAX_LINE]);
    } else {
        s.feed_line(line);
    }
}
