//! The prefilter of the scanner ([`super::scan`]): 18 literals of at least four bytes found
//! by aho-corasick's packed (Teddy, SIMD) searcher, each with a cheap [`Gate`] on the bytes
//! around its hit, so that an ordinary log line rarely reaches the parsers
//! (docs/triage.md, "The prefilter"; `super::equivalence_tests` checks it drops nothing the
//! parsers would report).

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

/// What a keyword's hit must also show before its line is parsed (checked on the raw line,
/// before any decoding or normalising).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Every hit: the keyword is rare and means something on its own.
    Always,
    /// An exit word: the line names a code that means a signal (134, 137, 139, 143), a systemd
    /// "Main process exited, code=killed|dumped", or a `kubectl describe` "Exit Code:" field.
    Exit,
    /// "signal": "by signal", "with signal" (terminated/killed by|with signal N), "<word> signal
    /// terminated program" (gcc's driver, localised) or "signal: " followed by killed, aborted
    /// or segmentation fault (Go's os/exec).
    Signal,
    /// A `kubectl describe` field name: at the start of the line or after a blank, and followed
    /// by a blank.
    Field,
    /// "emory": the line holds one of [`MEMORY_WORDS`].
    Memory,
}

/// Literals at least one of which is on every line a rule or the kernel parser can start from,
/// each with its [`Gate`]. Chosen for the searcher: at least 4 bytes each (so Teddy compares
/// 4-byte fingerprints), few, and with rare first bytes; one literal covers many wordings
/// (every kernel kill line, `oom-kill`, OOMKilled/OOMKilling, earlyoom's "killing process", the
/// oomd and memory.oom.group kills and "Task in … killed as a result of limit" all hold
/// "kill" or "Kill"). Lines inside an open kernel report or describe block are all read anyway.
/// `equivalence_tests` checks on every fixture that this finds what reading every line finds.
///
/// The order is for speed only. Teddy has 8 buckets; literals whose first 4 bytes have the same
/// low nybbles share one ("Kill"/"kill", "exit"/"Exit", "OOM "/"oom "), and every other literal
/// goes to bucket `7 - index % 8` (aho-corasick 1.1, `packed/teddy/generic.rs`). A bucket
/// holding two unlike literals matches every mix of their nybbles, and each such false
/// candidate costs a verification, so the 15 distinct prefixes are placed in pairs that differ
/// in few nybbles ([`BUCKETS`], checked by a test): "segf"/"sign", "oom_" with "OOM ", "] Er",
/// "w on" and "g SI" (all "? ??"), "Name"/"Reas", "bad_"/"MESS", "clw-" with "Kill"; "emor" and
/// "exit", the commonest true hits, have a bucket each. On the benchmark logs this made the
/// search 5–15 % faster than the order the literals were written in (BENCHMARKS.md).
const KEYWORDS: &[(&str, Gate)] = &[
    ("] Error 1", Gate::Always),   // make: *** [target] Error 137
    ("Kill", Gate::Always), // Killed process, Kill process … score, OOMKilled, OOMKilling, "OOM Killed", Killed signal
    ("emory", Gate::Memory), // the memory wordings of the kernel, runtimes and kubelet
    ("exit", Gate::Exit), // exit code, exited with, exit status, exitCode=, exit_code, non-zero exit status, Main process exited
    ("OOM ", Gate::Always), // System OOM encountered, OOM killer
    ("segfault", Gate::Always), // segfault at
    ("bad_alloc", Gate::Always), // std::bad_alloc
    ("Name:", Gate::Field), // kubectl describe pod
    ("w on ", Gate::Always), // kubelet: low on resource, low on compute resources
    ("clw-", Gate::Always), // OpenClaw error codes
    ("oom ", Gate::Always), // kubelet: Got sys oom event; docker: container oom <id>
    ("Exit", Gate::Exit), // Exit Code, ExitCode
    ("oom_", Gate::Always), // oom_reaper: reaped process
    ("signal", Gate::Signal), // terminated by signal, with signal, Morto signal terminated program, signal: aborted
    ("MESSAGE\":[", Gate::Always), // journald JSON whose message is an array of bytes
    ("Reason:", Gate::Field), // kubectl describe pod excerpts without the Name: line
    ("g SIG", Gate::Always),  // earlyoom: sending SIGTERM|SIGKILL
    ("kill", Gate::Always), // oom-kill(er), kill process, killing process, killed by signal, signal: killed
];

/// The literals meant to share each of Teddy's 8 buckets (see [`KEYWORDS`]).
#[cfg(test)]
const BUCKETS: [&[&str]; 8] = [
    &["] Error 1", "w on ", "g SIG"],
    &["Kill", "kill", "clw-"],
    &["emory"],
    &["exit", "Exit"],
    &["OOM ", "oom ", "oom_"],
    &["segfault", "signal"],
    &["bad_alloc", "MESSAGE\":["],
    &["Name:", "Reason:"],
];

/// Around a hit of "emory" ([`Gate::Memory`]): what must come before it (ending with the "m"
/// or "M" of "memory") or after it. Out of memory (kernel, runtimes, jemalloc, V8's heap), memory allocation
/// of (Rust), MemoryError / OutOfMemoryError, `memory: usage` and "Memory cgroup stats for" (a
/// memcg report whose trigger line was lost), kubelet's MemoryPressure, Insufficient memory and
/// "attempting to reclaim memory".
const MEMORY_BEFORE: &[&[u8]] = &[
    b"of m",
    b"nsufficientM",
    b"nsufficient m",
    b"eclaim m",
    b"resourceName=\"m",
];
const MEMORY_AFTER: &[&[u8]] = &[
    b" allocation of",
    b"Error",
    b": usage",
    b" cgroup stats",
    b"Pressure",
];

/// The prefilter: Teddy (SIMD) where the CPU has it, else an Aho-Corasick automaton.
pub(crate) enum Prefilter {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Prefilter {
    /// The first keyword hit in `hay`.
    fn find_hit(&self, hay: &[u8]) -> Option<Hit> {
        let (start, end, keyword) = match self {
            Prefilter::Packed(s) => s
                .find(hay)
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))?,
            Prefilter::Automaton(a) => a
                .find(hay)
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))?,
        };
        Some(Hit {
            start,
            end,
            keyword,
        })
    }

    /// True when some keyword hit on `line` passes its [`Gate`]: the line is worth decoding,
    /// normalising and handing to the parsers.
    #[cfg(test)]
    pub(crate) fn worth_parsing(&self, line: &[u8]) -> bool {
        self.next_candidate(line).is_some()
    }

    /// The bounds (`hay[range]`, without the newline) of the first line of `hay` worth
    /// parsing: one with a keyword hit that passes its [`Gate`]. The search runs on from each
    /// hit that fails its gate (the next hit may be on the same line or a later one), so a
    /// line is searched once, and line bounds are found only around hits.
    pub(crate) fn next_candidate(&self, hay: &[u8]) -> Option<std::ops::Range<usize>> {
        let mut from = 0;
        let mut line = 0..0; // the line of the last hit that failed its gate
        while let Some(h) = self.find_hit(&hay[from..]) {
            let (start, end) = (from + h.start, from + h.end);
            if line.is_empty() || start >= line.end {
                let lstart = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |i| i + 1);
                let lend = memchr::memchr(b'\n', &hay[start..]).map_or(hay.len(), |i| start + i);
                line = lstart..lend;
            }
            if passes(
                h.keyword,
                &hay[line.clone()],
                start - line.start,
                end - line.start,
            ) {
                return Some(line);
            }
            from = start + 1;
        }
        None
    }
}

/// One keyword found: its bytes `start..end` and its index in [`KEYWORDS`].
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    keyword: usize,
}

/// Whether the hit of keyword `k` at `line[start..end]` passes its gate.
fn passes(k: usize, line: &[u8], start: usize, end: usize) -> bool {
    let Some(&(_, gate)) = KEYWORDS.get(k) else {
        return true;
    };
    let before = &line[..start];
    let after = &line[end..];
    match gate {
        Gate::Always => true,
        Gate::Exit => {
            names_signal_code(line)
                || after.starts_with(b" Code:")
                || after.starts_with(b"ed, code=killed")
                || after.starts_with(b"ed, code=dumped")
        }
        Gate::Signal => {
            before.ends_with(b"by ")
                || before.ends_with(b"with ")
                || after.starts_with(b" terminated")
                || after.starts_with(b": killed")
                || after.starts_with(b": aborted")
                || after.starts_with(b": segmentation")
        }
        // `before` ends with the "m" or "M" of "memory".
        Gate::Memory => {
            MEMORY_BEFORE.iter().any(|w| before.ends_with(w))
                || MEMORY_AFTER.iter().any(|w| after.starts_with(w))
        }
        Gate::Field => {
            before.last().is_none_or(|c| c.is_ascii_whitespace())
                && after.first().is_some_and(|c| c.is_ascii_whitespace())
        }
    }
}

/// True when `line` contains 134, 137, 139 or 143.
fn names_signal_code(line: &[u8]) -> bool {
    line.windows(3).any(|w| {
        w[0] == b'1'
            && ((w[1] == b'3' && matches!(w[2], b'4' | b'7' | b'9'))
                || (w[1] == b'4' && w[2] == b'3'))
    })
}

pub(crate) fn prefilter() -> &'static Prefilter {
    static PF: OnceLock<Prefilter> = OnceLock::new();
    PF.get_or_init(
        || match aho_corasick::packed::Searcher::new(KEYWORDS.iter().map(|k| k.0)) {
            Some(s) => Prefilter::Packed(s),
            None => Prefilter::Automaton(
                AhoCorasick::new(KEYWORDS.iter().map(|k| k.0)).expect("static patterns"),
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_long_enough_for_4_byte_fingerprints() {
        assert!(KEYWORDS.iter().all(|(k, _)| k.len() >= 4), "{KEYWORDS:?}");
        assert!(KEYWORDS.len() <= 32, "past 32 aho-corasick uses fat Teddy");
    }

    /// Teddy's bucket of each keyword, as aho-corasick 1.1 assigns them (`packed/teddy/
    /// generic.rs`, `Teddy::new`): by the low nybbles of the first 4 bytes, else `7 - index % 8`.
    #[test]
    fn keywords_share_buckets_as_planned() {
        let mut by_prefix: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut bucket_of = Vec::new();
        for (id, (k, _)) in KEYWORDS.iter().enumerate() {
            let lo: Vec<u8> = k.bytes().take(4).map(|b| b & 0xf).collect();
            let b = match by_prefix.iter().find(|(p, _)| *p == lo) {
                Some(&(_, b)) => b,
                None => {
                    by_prefix.push((lo, 7 - id % 8));
                    7 - id % 8
                }
            };
            bucket_of.push((*k, b));
        }
        let bucket = |k: &str| bucket_of.iter().find(|(x, _)| *x == k).map(|x| x.1);
        let mut seen = Vec::new();
        for group in BUCKETS {
            let b: Vec<_> = group.iter().map(|k| bucket(k)).collect();
            assert!(
                b.iter().all(|x| x.is_some() && *x == b[0]),
                "{group:?}: {b:?}"
            );
            seen.push(b[0]);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 8, "{bucket_of:?}");
        assert_eq!(
            BUCKETS.iter().map(|g| g.len()).sum::<usize>(),
            KEYWORDS.len()
        );
    }

    #[test]
    fn gates_reject_the_common_lines_and_keep_the_rare_ones() {
        let pf = prefilter();
        for keep in [
            &b"runner: Process completed with exit code 137."[..],
            b"foo.service: Main process exited, code=killed, status=9/KILL",
            b"      Exit Code:    0",
            b"collect2: fatal error: ld terminated with signal 9 [Killed]",
            b"Morto signal terminated program cc1plus",
            b"error: signal: killed",
            b"signal: aborted (core dumped)",
            b"Name:         web-7d4",
            b"      Reason:       OOMKilled",
        ] {
            assert!(pf.worth_parsing(keep), "{}", String::from_utf8_lossy(keep));
        }
        for skip in [
            &b"runner: step 'test' finished: exit code 0"[..],
            b"foo.service: Main process exited, code=exited, status=1/FAILURE",
            b"received signal 15, shutting down",
            b"signal: hangup",
            b"DeviceName: vda",
        ] {
            assert!(!pf.worth_parsing(skip), "{}", String::from_utf8_lossy(skip));
        }
        assert!(names_signal_code(b"exit code 137") && !names_signal_code(b"exit code 1"));
    }
}
