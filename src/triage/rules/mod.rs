//! One-line (and small-block) rules for everything that is not the kernel's OOM report, one file
//! per source family: `systemd` (unit results and systemd-oomd), `earlyoom`, `kubernetes`
//! (`kubectl describe pod` text, node-problem-detector's events, go-template and JSON
//! fragments), `kubelet` (its OOM, eviction and memory-pressure wordings), `docker` (events and
//! `docker inspect` fragments), `runtimes` (JVM, Node, Go, Python, Rust, C++, jemalloc), `ci`
//! (exit codes and signals of shells, make, compilers and CI runners) and `openclaw` error
//! codes. The kernel's own report is [`super::kernel`].
//!
//! Exit 137 is SIGKILL, not proof of an OOM: exits are recorded as `*_exit` events with the
//! code and signal, and only [`super::correlate`] links them to an OOM record.
//!
//! Each rule checks a cheap literal before its regex; the first rule that claims a line ends the
//! search, in the order of `RULES` (which is the order the rules were written in when they were
//! one function, so the same line still makes the same event).

mod ci;
mod docker;
mod earlyoom;
mod kubelet;
mod kubernetes;
mod openclaw;
mod runtimes;
mod systemd;

use super::event::{Event, Kind, SourceRef};
use super::normalize::Line;

pub(crate) use kubelet::{eviction_container, memory_eviction};
pub(crate) use kubernetes::npd_oom;
pub use runtimes::runtime_oom;

/// A one-line rule: pushes the line's event(s) and returns true when the line is its own (the
/// later rules are then not tried), false to let the next rule look.
type Rule = fn(&Line<'_>, &SourceRef, &mut Vec<Event>) -> bool;

/// The rules, in the order they are tried (after the stateful `kubectl describe` reader).
const RULES: &[Rule] = &[
    systemd::unit_oom,
    systemd::main_process_exited,
    systemd::oomd_kill,
    earlyoom::kill,
    docker::daemon_event,
    kubernetes::node_oom,
    kubelet::system_oom,
    kubelet::eviction,
    kubelet::memory_pressure,
    kubernetes::go_template,
    docker::inspect_fragment,
    kubernetes::json_fragment,
    runtimes::out_of_memory,
    ci::exit_code,
    ci::killed_by_signal,
    openclaw::error_code,
];

/// Streaming parser for the non-kernel rules.
#[derive(Debug, Default)]
pub struct RuleParser {
    describe: kubernetes::Describe,
}

impl RuleParser {
    /// True while a block needs every line (a describe block waiting for its exit code).
    pub fn active(&self) -> bool {
        self.describe.active()
    }

    /// Feed one normalised line; events go to `out`.
    pub fn line(&mut self, l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) {
        if self.describe.line(l, src, out) {
            return;
        }
        for rule in RULES {
            if rule(l, src, out) {
                return;
            }
        }
    }

    /// End of input: flush a pending describe event.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.describe.finish(out);
    }
}

use crate::base::text::static_regex as re;

/// An event of `kind` made by the line `msg` at `src`, with that line as its evidence.
fn event(kind: Kind, msg: &str, src: &SourceRef) -> Event {
    let mut e = Event::new(kind, msg.trim(), src.clone());
    e.evidence.push(format!("{src}: {}", msg.trim()));
    e
}

/// Kind and signal of a signal name or number.
fn signal_kind(sig: &str) -> Option<(Kind, i64)> {
    Some(match sig {
        "KILL" | "SIGKILL" | "9" => (Kind::SigkillExit, 9),
        "ABRT" | "SIGABRT" | "6" => (Kind::AbortExit, 6),
        "SEGV" | "SIGSEGV" | "11" => (Kind::SegvExit, 11),
        "TERM" | "SIGTERM" | "15" => (Kind::TermExit, 15),
        _ => return None,
    })
}

/// Kind and signal of a shell-style exit code (128 + signal).
fn exit_kind(code: i64) -> Option<(Kind, i64)> {
    signal_kind(&(code - 128).to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::triage::normalize::{normalize, TimeContext};

    /// Every line of `text` through the rules, as the scanner would feed them.
    pub(crate) fn run(text: &str) -> Vec<Event> {
        let mut p = RuleParser::default();
        let mut out = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let l = normalize(raw, TimeContext { year: 2024 });
            let src = SourceRef::line("t", i as u64 + 1);
            p.line(&l, &src, &mut out);
        }
        p.finish(&mut out);
        out
    }

    pub(crate) fn kinds(ev: &[Event]) -> Vec<Kind> {
        ev.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn signals_and_exit_codes() {
        assert_eq!(signal_kind("SIGKILL"), Some((Kind::SigkillExit, 9)));
        assert_eq!(signal_kind("6"), Some((Kind::AbortExit, 6)));
        assert_eq!(signal_kind("HUP"), None);
        assert_eq!(exit_kind(139), Some((Kind::SegvExit, 11)));
        assert_eq!(exit_kind(143), Some((Kind::TermExit, 15)));
        assert_eq!(exit_kind(1), None);
    }

    #[test]
    fn the_first_rule_that_claims_a_line_wins() {
        // A docker `die` event names an exit code too: the docker rule, tried first, claims it
        // and keeps the container, which the generic exit-code rule would not know.
        let ev = run("2024-04-15T10:22:01.100000000Z container die 7f3c2a1b9d8e (exitCode=137, image=app:1, name=worker)");
        assert_eq!(kinds(&ev), vec![Kind::SigkillExit]);
        assert_eq!(ev[0].container.as_deref(), Some("worker"));
        assert_eq!(ev[0].container_id.as_deref(), Some("7f3c2a1b9d8e"));
    }
}
