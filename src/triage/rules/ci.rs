//! Exit codes and signals as shells, make, compilers and CI runners print them: GitHub Actions
//! (`Process completed with exit code 137.`), make (`*** [target] Error 139`), Python's
//! subprocess (`returned non-zero exit status 137`), `exitCode=`/`exit_code:` fields, gcc's
//! driver (`Killed signal terminated program cc1plus`, localised), collect2 (`ld terminated
//! with signal 9`) and Go's os/exec (`signal: killed`).
//!
//! A code or signal becomes an exit event only when it means a signal of interest (SIGKILL,
//! SIGABRT, SIGSEGV, SIGTERM; codes 128 + N); exit 137 is not proof of an OOM.

use std::sync::OnceLock;

use regex::Regex;

use super::{event, exit_kind, re, signal_kind};
use crate::triage::event::{Event, SourceRef};
use crate::triage::normalize::Line;

/// `exit code 137`, `exited with status 139`, `exitCode: 134`, `Error 137`, `returned non-zero
/// exit status 143`.
pub(super) fn exit_code(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static EXIT_CODE: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !["xit", "XIT", "Error ", "exitcode", "non-zero"]
        .iter()
        .any(|n| msg.contains(n))
    {
        return false;
    }
    let Some(c) = re(
        &EXIT_CODE,
        r#"(?i)(?:exit(?:ed)?(?: with)? (?:code|status)[:= ]\s*|exit_?code"?\s*[=:]\s*|\] Error |returned non-zero exit status )(\d{1,3})\b"#,
    )
    .captures(msg) else {
        return false;
    };
    let code: i64 = c[1].parse().unwrap_or(0);
    if let Some((kind, sig)) = exit_kind(code) {
        let mut e = event(kind, msg, src);
        e.exit_code = Some(code);
        e.signal = Some(sig);
        out.push(e);
    }
    true
}

/// `terminated with signal 9`, `killed by signal SIGSEGV`, `<word> signal terminated program X`,
/// `signal: killed`.
pub(super) fn killed_by_signal(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static SIGNAL: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !msg.contains("signal") {
        return false;
    }
    let Some(c) = re(
        &SIGNAL,
        r"(?:(?:terminated|killed) (?:by|with) signal (\d+|SIG[A-Z]+)|\S+ signal terminated program (\S+)|signal: (killed|aborted|segmentation fault))",
    )
    .captures(msg) else {
        return false;
    };
    let sig = c
        .get(1)
        .map(|m| m.as_str())
        .unwrap_or(match c.get(3).map(|m| m.as_str()) {
            Some("aborted") => "6",
            Some("segmentation fault") => "11",
            _ => "9",
        });
    if let Some((kind, sig)) = signal_kind(sig) {
        let mut e = event(kind, msg, src);
        e.signal = Some(sig);
        e.process = c.get(2).map(|m| m.as_str().to_string());
        out.push(e);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::{kinds, run};
    use crate::triage::event::Kind;

    #[test]
    fn exits_are_signals_not_ooms() {
        // gha-freebsd-vm-81-…, ci-stellar-core-5308-…, make-rust-20577-…, node-unibest-235-….
        let ev = run("2024-04-14T22:05:47.7630307Z ##[error]The process '/usr/bin/bash' failed with exit code 137\n\
                      g++: fatal error: Killed signal terminated program cc1plus\n\
                      make: *** [x86_64-unknown-linux-gnu/stage0/lib/rustlib/x86_64-unknown-linux-gnu/lib/stamp.rustc] Error 137\n\
                      \x20ELIFECYCLE\x20 Command failed with exit code 134.\n\
                      Error: Process completed with exit code 0.");
        assert_eq!(
            kinds(&ev),
            vec![
                Kind::SigkillExit,
                Kind::SigkillExit,
                Kind::SigkillExit,
                Kind::AbortExit
            ]
        );
        assert_eq!((ev[0].exit_code, ev[0].signal), (Some(137), Some(9)));
        assert_eq!(ev[1].process.as_deref(), Some("cc1plus"));
        assert_eq!(ev[3].exit_code, Some(134));
        assert!(ev.iter().all(|e| !e.kind.is_oom()));
    }

    #[test]
    fn signals_in_words() {
        // bitbake-meta-oe-410-… and gcc-forgottenserver-3317-… (Portuguese gcc).
        let ev = run(
            "| collect2: fatal error: ld terminated with signal 9 [Killed]\n\
                      Morto signal terminated program lto1\n\
                      panic: signal: segmentation fault",
        );
        assert_eq!(
            kinds(&ev),
            vec![Kind::SigkillExit, Kind::SigkillExit, Kind::SegvExit]
        );
        assert_eq!(ev[1].process.as_deref(), Some("lto1"));
        assert_eq!(ev[2].signal, Some(11));
    }
}
