//! The fast path for large plain-text files: the file is memory-mapped (no copy into our
//! buffers) and searched by two threads at once, in batches of segments; the parsers then see
//! the candidate lines in file order, one batch while the next is searched. Memory stays bounded: each batch's pages are dropped from
//! our address space (`MADV_DONTNEED`, [`crate::base::mmap::Map::release`]) once it is done.
//!
//! Only regular, uncompressed files larger than [`MIN_SIZE`] with `\n` line ends take this
//! path; everything else (stdin, `.gz`, `.zst`, CR-only files) is streamed by
//! [`super::scan::Scanner::scan`]. A file that shrinks while mapped (`copytruncate`) makes the
//! map fault; the map answers with zeros and says so ([`Map::faulted`]), and the scan checks it
//! after each batch is searched and after it is parsed: the read stops with an error and the
//! events of that batch, which may have been read from zeros, are dropped. The file's size is
//! also checked before each batch, to stop before reading zeros at all.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::prefilter::prefilter;
use super::scan::{count_newlines, Scanner, MAX_LINE};
use crate::base::mmap::{Map, SHRANK};

fn shrank() -> io::Error {
    io::Error::other(SHRANK)
}

/// Files smaller than this are streamed: 16 MiB.
pub const MIN_SIZE: u64 = 16 << 20;
/// Bytes per segment searched by one thread.
const SEGMENT: usize = 4 << 20;
/// Segments per batch: 16 MiB. Two batches are resident at most (one parsed while the next is
/// searched), plus a report's lines read past them.
const BATCH: usize = 4;

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
    let mut rel = 0u64;
    while pos < end {
        let Some((line, hit)) = pf.find_line(&d[pos..end]) else {
            break;
        };
        let (lstart, lend) = (pos + line.start, pos + line.end);
        rel += count_newlines(&d[pos..lstart]);
        if pf.worth_parsing_from(&d[lstart..lend], hit) {
            candidates.push((lstart, lend, rel));
        }
        if lend < end {
            rel += 1;
        }
        pos = lend + 1;
    }
    let newlines = if pos < end {
        rel + count_newlines(&d[pos..end])
    } else {
        rel
    };
    Found {
        newlines,
        candidates,
    }
}

/// Scan a regular file through a memory map, two threads searching. `s` receives the lines in
/// file order; the bytes of each batch searched are added to `progress`. Errors: the file could
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
    let segments = len.div_ceil(SEGMENT);
    let mut cursor = 0usize; // next unconsumed byte
    let mut lines_before_segment = 0u64;
    if map.shrank(f)? || map.faulted() {
        return Err(shrank());
    }
    // A pipeline: while this thread parses (and releases) batch k, a second thread searches
    // batch k + 1, and this one joins that search when its parsing is done.
    let mut found = search_batch(d, 0, BATCH.min(segments));
    let mut seg = 0;
    while seg < segments {
        let batch_end = (seg + BATCH).min(segments);
        let next_end = (batch_end + BATCH).min(segments);
        // Stop before reading a next batch that the file no longer holds.
        if next_end > batch_end && (map.shrank(f)? || map.faulted()) {
            return Err(shrank());
        }
        let next = AtomicUsize::new(batch_end);
        let work = || search_some(d, &next, next_end);
        let (parsed, next_found) = std::thread::scope(|sc| {
            let other = (next_end > batch_end).then(|| sc.spawn(work));
            let parsed = parse_batch(
                s,
                d,
                &map,
                &mut found,
                &mut cursor,
                &mut lines_before_segment,
            );
            if parsed.is_ok() {
                // From the batch before: the search of a segment reads the byte before it
                // (is it a line start?), which faults back the last page (with large folios
                // in the page cache, up to 2 MiB) of a batch released already.
                map.release(seg.saturating_sub(BATCH) * SEGMENT, batch_end * SEGMENT);
            }
            let mut mine = if parsed.is_ok() { work() } else { Vec::new() };
            if let Some(o) = other {
                mine.extend(o.join().unwrap_or_default());
            }
            (parsed, mine)
        });
        parsed?;
        if map.faulted() {
            return Err(shrank());
        }
        let batch_bytes = (batch_end * SEGMENT).min(len) - seg * SEGMENT;
        progress.fetch_add(batch_bytes as u64, Ordering::Relaxed);
        found = next_found;
        seg = batch_end;
    }
    // The last line has no newline: it is a line too.
    let unterminated = len > 0 && d[len - 1] != b'\n';
    if map.faulted() {
        return Err(shrank());
    }
    s.bytes += len as u64;
    s.lines = lines_before_segment + u64::from(unterminated);
    s.finish();
    Ok(())
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

/// Search segments `next..end` (taking them one at a time from the shared counter `next`).
fn search_some(d: &[u8], next: &AtomicUsize, end: usize) -> Vec<(usize, Found)> {
    let mut out = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= end {
            return out;
        }
        out.push((i, search(d, i)));
    }
}

/// Search segments `from..to` on two threads (this one and one more).
fn search_batch(d: &[u8], from: usize, to: usize) -> Vec<(usize, Found)> {
    let next = AtomicUsize::new(from);
    let work = || search_some(d, &next, to);
    std::thread::scope(|sc| {
        let other = sc.spawn(work);
        let mut mine = work();
        mine.extend(other.join().unwrap_or_default());
        mine
    })
}

/// Feed the candidate lines of one searched batch to `s`, in file order, reading every line
/// past a candidate while a report or block is open. Errors: the map read zeros (the file
/// shrank); the batch's events are then dropped.
fn parse_batch(
    s: &mut Scanner,
    d: &[u8],
    map: &Map,
    found: &mut [(usize, Found)],
    cursor: &mut usize,
    lines_before_segment: &mut u64,
) -> io::Result<()> {
    let len = d.len();
    if map.faulted() {
        return Err(shrank());
    }
    found.sort_by_key(|(i, _)| *i);
    let events_before = s.events.len();
    for (_, fs) in found.iter() {
        for &(start, end, rel) in &fs.candidates {
            if start < *cursor {
                continue; // already read line by line
            }
            s.lines = *lines_before_segment + rel + 1;
            feed(s, &d[start..end]);
            *cursor = end + 1;
            // A report or block is open: read every following line until it closes.
            while s.every_line() && *cursor < len {
                let lend = memchr::memchr(b'\n', &d[*cursor..]).map_or(len, |i| *cursor + i);
                s.lines += 1;
                feed(s, &d[*cursor..lend]);
                *cursor = lend + 1;
            }
        }
        *lines_before_segment += fs.newlines;
    }
    if map.faulted() {
        // Lines of this batch (or the report read on past it) may have been zeros.
        s.events.truncate(events_before);
        return Err(shrank());
    }
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
