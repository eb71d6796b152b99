//! earlyoom's kill notices (earlyoom's kill.c `kill_process`): `sending SIGTERM to process N
//! uid U "comm": badness B, VmRSS M MiB` (1.6 and later, `oom_score` in 1.7) and the older
//! `killing process N "comm" with signal 15: badness B, VmRSS M MiB`.

use std::sync::OnceLock;

use regex::Regex;

use super::{event, re, signal_kind};
use crate::triage::event::{Event, Kind, SourceRef};
use crate::triage::normalize::Line;

/// One kill notice: the signal, pid, uid, process, badness and RSS it names.
pub(super) fn kill(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static EARLYOOM: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !(msg.contains("sending SIG") || msg.contains("killing process")) {
        return false;
    }
    let Some(c) = re(
        &EARLYOOM,
        r#"(?:sending (SIGTERM|SIGKILL) to process (\d+) uid (\d+) ([^:]+?)|killing process (\d+) ("[^"]*"|\S+) with signal (\d+)): (?:badness|oom_score) (-?\d+), VmRSS (\d+) MiB"#,
    )
    .captures(msg) else {
        return false;
    };
    let mut e = event(Kind::EarlyoomKill, msg, src);
    e.signal = c
        .get(1)
        .or(c.get(7))
        .and_then(|m| signal_kind(m.as_str()))
        .map(|k| k.1);
    e.pid = c.get(2).or(c.get(5)).and_then(|m| m.as_str().parse().ok());
    e.uid = c.get(3).and_then(|m| m.as_str().parse().ok());
    e.process = c
        .get(4)
        .or(c.get(6))
        .map(|m| m.as_str().trim_matches('"').to_string());
    e.badness_score = c[8].parse().ok();
    e.code = Some(format!("VmRSS {} MiB", &c[9]));
    out.push(e);
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::{kinds, run};
    use super::*;

    // Lines from tests/fixtures/triage/earlyoom-205-v1.6-… and earlyoom-121-old-output-….
    #[test]
    fn new_and_old_wording() {
        let ev = run(
            "sending SIGTERM to process 397 uid 61876 \"earlyoom\": badness 0, VmRSS 1 MiB\n\
                      killing process 27541 \"bash\" with signal 15: badness 550, VmRSS 7609 MiB",
        );
        assert_eq!(kinds(&ev), vec![Kind::EarlyoomKill; 2]);
        assert_eq!(
            (ev[0].pid, ev[0].uid, ev[0].process.as_deref(), ev[0].signal),
            (Some(397), Some(61876), Some("earlyoom"), Some(15))
        );
        assert_eq!(ev[0].badness_score, Some(0));
        assert_eq!(ev[1].process.as_deref(), Some("bash"));
        assert_eq!((ev[1].pid, ev[1].signal), (Some(27541), Some(15)));
        assert_eq!(ev[1].code.as_deref(), Some("VmRSS 7609 MiB"));
    }

    #[test]
    fn the_threshold_notice_is_not_a_kill() {
        let ev = run("Jul 18 08:23:17 server.name earlyoom[2608931]: sending SIGTERM when mem <= 10.00% and swap <= 10.00%,");
        assert!(ev.is_empty(), "{ev:?}");
    }
}
