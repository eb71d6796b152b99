//! systemd's own words about a unit's end (src/core/service.c `service_sigchld_event`, unit
//! results such as `oom-kill`) and systemd-oomd's kills (src/oom/oomd-util.c
//! `oomd_cgroup_kill`, and the "oomd attempting to kill" wording of its first versions).

use std::sync::OnceLock;

use regex::Regex;

use super::{event, exit_kind, re, signal_kind};
use crate::triage::event::{Event, Kind, SourceRef};
use crate::triage::normalize::Line;

/// `unit: A process of this unit has been killed by the OOM killer.` or `unit: Failed with
/// result 'oom-kill'.`
pub(super) fn unit_oom(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static UNIT_OOM: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !(msg.contains("OOM killer") || msg.contains("'oom-kill'")) {
        return false;
    }
    let Some(c) = re(&UNIT_OOM, r"^(\S+?): (?:A process of this unit has been killed by the OOM killer|Failed with result 'oom-kill')").captures(msg) else {
        return false;
    };
    let mut e = event(Kind::SystemdUnitOom, msg, src);
    e.unit = Some(c[1].to_string());
    out.push(e);
    true
}

/// `unit: Main process exited, code=killed, status=9/KILL` (or `code=exited, status=137/n/a`):
/// an exit event when the status is a signal of interest.
pub(super) fn main_process_exited(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static MAIN_EXIT: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !msg.contains("Main process exited") {
        return false;
    }
    let Some(c) = re(
        &MAIN_EXIT,
        r"^(\S+?): Main process exited, code=(killed|dumped|exited), status=(\d+)/([A-Z]+)",
    )
    .captures(msg) else {
        return false;
    };
    let by_signal = &c[2] != "exited";
    let kind = if by_signal {
        signal_kind(&c[4])
    } else {
        c[3].parse().ok().and_then(exit_kind)
    };
    if let Some((kind, sig)) = kind {
        let mut e = event(kind, msg, src);
        e.unit = Some(c[1].to_string());
        e.signal = Some(sig);
        if !by_signal {
            e.exit_code = c[3].parse().ok();
        }
        out.push(e);
    }
    true
}

/// systemd-oomd: `Killed /path.service due to memory pressure …` or `oomd attempting to kill
/// N with SIGKILL`.
pub(super) fn oomd_kill(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static OOMD: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if !(l.ident == Some("systemd-oomd")
        || msg.contains("systemd-oomd")
        || msg.contains("oomd attempting to kill"))
    {
        return false;
    }
    let Some(c) = re(
        &OOMD,
        r"Killed (/\S+) due to (.+?)(?:\.|$)|oomd attempting to kill (\d+) with (\w+)",
    )
    .captures(msg) else {
        return false;
    };
    let mut e = event(Kind::OomdKill, msg, src);
    if let Some(cg) = c.get(1) {
        e.set_memcg(cg.as_str());
    }
    e.code = c.get(2).or(c.get(4)).map(|m| m.as_str().to_string());
    e.pid = c.get(3).and_then(|m| m.as_str().parse().ok());
    out.push(e);
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::{kinds, run};
    use super::*;

    // Lines from tests/fixtures/triage/systemd-cloudpanel-333-…, systemd-oomd-pr-20690-… and
    // earlyoom-321-v1.7-….
    #[test]
    fn unit_killed_by_the_oom_killer_and_failed_with_oom_kill() {
        let ev = run("06:16:20 systemd[1]: mariadb.service: A process of this unit has been killed by the OOM killer.\n\
                      06:16:20 systemd[1]: mariadb.service: Failed with result 'oom-kill'.");
        assert_eq!(kinds(&ev), vec![Kind::SystemdUnitOom; 2]);
        assert!(ev
            .iter()
            .all(|e| e.unit.as_deref() == Some("mariadb.service")));
    }

    #[test]
    fn main_process_exited_by_signal() {
        let ev = run("Sep 10 14:59:49 image systemd[1]: testsuite-55-testbloat.service: Main process exited, code=killed, status=9/KILL\n\
                      Jul 18 08:23:18 server.name systemd[1]: earlyoom.service: Main process exited, code=dumped, status=31/SYS");
        // SIGSYS is not a signal of interest: no event, and no later rule reads the line.
        assert_eq!(kinds(&ev), vec![Kind::SigkillExit]);
        assert_eq!(
            ev[0].unit.as_deref(),
            Some("testsuite-55-testbloat.service")
        );
        assert_eq!((ev[0].signal, ev[0].exit_code), (Some(9), None));
    }

    #[test]
    fn oomd_kill_names_the_cgroup_and_the_reason() {
        // The journal pager cut this line (`be>`); the rule reads what is there.
        let ev = run("Sep 10 14:59:49 image systemd-oomd[34]: Killed /testsuite.slice/testsuite-55.slice/testsuite-55-workload.slice/testsuite-55-testbloat.service due to memory pressure for /testsuite.slice/testsuite-55.slice/testsuite-55-workload.slice be>");
        assert_eq!(kinds(&ev), vec![Kind::OomdKill]);
        assert_eq!(
            ev[0].memcg.as_deref(),
            Some("/testsuite.slice/testsuite-55.slice/testsuite-55-workload.slice/testsuite-55-testbloat.service")
        );
        assert!(ev[0]
            .code
            .as_deref()
            .unwrap()
            .starts_with("memory pressure for "));
        let ev =
            run("Sep 10 14:59:49 image systemd-oomd[34]: oomd attempting to kill 63 with KILL");
        assert_eq!((ev[0].pid, ev[0].code.as_deref()), (Some(63), Some("KILL")));
    }
}
