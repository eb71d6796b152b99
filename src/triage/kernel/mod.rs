//! The kernel's OOM-killer report and segfault line, in every format from 2.6.32 to 6.x.
//!
//! Sources: mm/oom_kill.c (`dump_header`, `dump_tasks`, `dump_oom_summary`, `__oom_kill_process`,
//! `oom_reap_task_mm`), mm/memcontrol.c (`mem_cgroup_print_oom_context`,
//! `mem_cgroup_print_oom_meminfo`), arch/x86/mm/fault.c (`show_signal_msg`). A report runs from
//! the trigger line (`X invoked oom-killer: gfp_mask=…`) to the victim line (`Killed process N
//! (comm) total-vm:…`); everything between enriches the victim's event. A victim line whose
//! header was rate-limited away still makes a full event from what it says.
//!
//! This file is the state machine (which line opens, feeds or closes a report, and the lines
//! that stand alone: segfault, `oom_reaper`); `victim` reads the victim line and the
//! `oom-kill:` summary, `report` the lines inside a report and what they add to the victim.

mod report;
mod victim;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

use super::event::{Event, Kind, SourceRef, Trigger};
use super::normalize::Line;
use report::{fill_from_report, Report};
use victim::{fill_victim, int, kb};
pub use victim::{parse_kv, victim_in};

use crate::base::text::static_regex as re;

/// Lines a report may span before it is given up (memcg stats and task tables can be long).
const MAX_REPORT_LINES: usize = 20_000;

/// Streaming parser of kernel OOM reports and segfault lines.
#[derive(Debug, Default)]
pub struct KernelParser {
    report: Option<Report>,
}

impl KernelParser {
    /// True while a report is open: every line must be seen, not only prefiltered ones.
    pub fn active(&self) -> bool {
        self.report.is_some()
    }

    /// Feed one normalised line. Returns true when the line belonged to a kernel report.
    pub fn line(&mut self, l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
        let msg = l.msg.trim_start();
        if let Some(i) = msg.find(" invoked oom-killer: ") {
            let mut r = Report {
                trigger: Some(trigger(msg, i)),
                ..Report::default()
            };
            r.note(src, msg);
            self.flush(out);
            self.report = Some(r);
            return true;
        }
        if segfault(msg, src, out) || self.victim_line(msg, src, out) || reaped(msg, src, out) {
            return true;
        }
        if msg.contains("Out of memory and no killable processes") {
            let mut e = Event::new(Kind::OomNoVictim, msg, src.clone());
            if let Some(mut r) = self.report.take() {
                r.note(src, msg);
                fill_from_report(&mut e, &r, None);
                e.evidence = r.evidence;
            } else {
                e.evidence.push(format!("{src}: {msg}"));
            }
            out.push(e);
            return true;
        }
        if self.summary_line(msg, src) {
            return true;
        }
        // A memcg report whose trigger line was lost opens with the first of its own lines;
        // one after a global report's "Mem-Info:" (whose victim line never came) is the next
        // report, not that one's.
        let starts_next = self
            .report
            .as_ref()
            .is_some_and(|r| r.global && r.usage_kb.is_none() && msg.starts_with("memory: usage"));
        if starts_next {
            self.flush(out);
        }
        let Some(r) = self.report.as_mut() else {
            let Some(r) = Report::open_headless(msg, src) else {
                return false;
            };
            self.report = Some(r);
            return true;
        };
        r.lines += 1;
        if r.lines > MAX_REPORT_LINES {
            self.flush(out);
            return false;
        }
        r.line(msg, src)
    }

    /// The victim line, long or short form.
    fn victim_line(&mut self, msg: &str, src: &SourceRef, out: &mut Vec<Event>) -> bool {
        static VICTIM: OnceLock<Regex> = OnceLock::new();
        static VICTIM_SHORT: OnceLock<Regex> = OnceLock::new();
        if !msg.contains("illed process") {
            return false;
        }
        let mut e = Event::new(Kind::KernelOomKill, msg, src.clone());
        let prefix = if let Some(c) = re(&VICTIM, victim::VICTIM).captures(msg) {
            fill_victim(&mut e, &c);
            c.get(1).map(|m| m.as_str())
        } else if let Some(c) = re(&VICTIM_SHORT, victim::VICTIM_SHORT).captures(msg) {
            e.pid = int(c.get(2));
            e.uid = int(c.get(3));
            e.process = Some(c[4].to_string());
            c.get(1).map(|m| m.as_str())
        } else {
            return false;
        };
        let memcg_prefix = prefix == Some("Memory cgroup out of memory");
        self.victim(e, memcg_prefix, msg, src, out);
        true
    }

    /// Lines that belong to a report without opening it when it is missing: the `oom-kill:`
    /// summary, memory.oom.group's "Tasks in … are going to be killed", the pre-4.19 "Kill
    /// process N (x) score S or sacrifice child".
    fn summary_line(&mut self, msg: &str, src: &SourceRef) -> bool {
        static GROUP: OnceLock<Regex> = OnceLock::new();
        static SCORE: OnceLock<Regex> = OnceLock::new();
        if let Some(kv) = msg.strip_prefix("oom-kill:") {
            let r = self.report.get_or_insert_with(Report::default);
            r.kv = Some(parse_kv(kv));
            r.note(src, msg);
            return true;
        }
        if msg.starts_with("Tasks in ") {
            if let Some(c) = re(
                &GROUP,
                r"^Tasks in (\S+) are going to be killed due to memory\.oom\.group set",
            )
            .captures(msg)
            {
                let r = self.report.get_or_insert_with(Report::default);
                r.group = Some(c[1].to_string());
                r.note(src, msg);
                return true;
            }
        }
        if !msg.contains("ill process") {
            return false;
        }
        let Some(c) = re(&SCORE, r"^(Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: [Kk]ill process (\d+) \((.*)\) score (-?\d+) or (?:sacrifice child|a child)").captures(msg) else {
            return false;
        };
        let r = self.report.get_or_insert_with(Report::default);
        r.score = Some((
            int(c.get(2)).unwrap_or(0),
            c[3].to_string(),
            int(c.get(4)).unwrap_or(0),
        ));
        r.memcg_prefix |= &c[1] == "Memory cgroup out of memory";
        r.note(src, msg);
        true
    }

    fn victim(
        &mut self,
        mut e: Event,
        memcg_prefix: bool,
        msg: &str,
        src: &SourceRef,
        out: &mut Vec<Event>,
    ) {
        let line = format!("{src}: {msg}");
        // An open report whose `oom-kill:` summary names another victim is another kill's,
        // whose victim line was lost: it is closed as that kill, not lent to this one.
        let other_victim = self.report.as_ref().is_some_and(|r| {
            r.group.is_none()
                && r.kv
                    .as_ref()
                    .and_then(|k| k.get("pid")?.parse::<i64>().ok())
                    .is_some_and(|p| Some(p) != e.pid)
        });
        if other_victim {
            self.flush(out);
        }
        match self.report.as_mut() {
            Some(r) => {
                r.evidence.push(line);
                r.memcg_prefix |= memcg_prefix;
                r.victims += 1;
                let pid = e.pid;
                fill_from_report(&mut e, r, pid);
                e.evidence = r.evidence.clone();
                // A memory.oom.group fan-out kills more tasks after this line: keep the report.
                if r.group.is_none() {
                    self.report = None;
                }
            }
            None => {
                e.evidence.push(line);
                if memcg_prefix {
                    e.kind = Kind::CgroupOomKill;
                } else if !msg.starts_with("Out of memory") {
                    // Kernels before 4.19 print the victim line without its prefix, for a
                    // global and a memcg OOM alike; the lines that tell are not in the input.
                    e.notes.push(
                        "global or memory-cgroup OOM unknown: the input has only the victim line, which says neither"
                            .into(),
                    );
                }
            }
        }
        out.push(e);
    }

    /// End of input: an unfinished report still says who was killed when it has the
    /// `oom-kill:` summary, a "Kill process" line or a "Task in … killed" line.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.flush(out);
    }

    /// Close the open report. One whose victim line never came (rate-limited, cut from an
    /// excerpt) becomes an event from what it has, dated and placed at its last evidence line;
    /// one with nothing naming a kill is dropped.
    fn flush(&mut self, out: &mut Vec<Event>) {
        let Some(r) = self.report.take() else { return };
        if r.victims > 0 {
            return;
        }
        let (pid, name) = match (r.kv.as_ref(), &r.score) {
            (Some(k), _) if k.contains_key("pid") => (
                k.get("pid").and_then(|p| p.parse().ok()),
                k.get("task").cloned(),
            ),
            (_, Some((pid, name, _))) => (Some(*pid), Some(name.clone())),
            _ if r.task_in.is_some() => (None, None),
            _ => return,
        };
        let Some((src, msg)) = r.last.clone() else {
            return;
        };
        let mut e = Event::new(Kind::KernelOomKill, &msg, src);
        e.pid = pid;
        e.process = name;
        fill_from_report(&mut e, &r, pid);
        e.evidence = r.evidence.clone();
        e.evidence.push(
            "(the victim line is missing: the kill is known from the report before it)".into(),
        );
        out.push(e);
    }
}

/// The allocating task of `X invoked oom-killer: gfp_mask=…, order=…, oom_score_adj=…`
/// (`at` is where " invoked oom-killer: " starts).
fn trigger(msg: &str, at: usize) -> Trigger {
    static TRIGGER: OnceLock<Regex> = OnceLock::new();
    let rest = &msg[at + 21..];
    let kv: BTreeMap<&str, &str> = re(
        &TRIGGER,
        r"(gfp_mask|order|oom_score_adj)=([^,\s]+(?:\([^)]*\))?)",
    )
    .captures_iter(rest)
    .filter_map(|c| Some((c.get(1)?.as_str(), c.get(2)?.as_str())))
    .collect();
    Trigger {
        process: msg[..at].to_string(),
        pid: None,
        gfp_mask: kv.get("gfp_mask").map(|s| s.to_string()),
        order: kv.get("order").and_then(|s| s.parse().ok()),
        oom_score_adj: kv.get("oom_score_adj").and_then(|s| s.parse().ok()),
    }
}

/// `comm[pid]: segfault at ADDR ip IP sp SP error N in module[base+size]`.
fn segfault(msg: &str, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static SEGV: OnceLock<Regex> = OnceLock::new();
    if !msg.contains("segfault at") {
        return false;
    }
    let Some(c) = re(&SEGV, r"^(.+?)\[(\d+)\]: segfault at ([0-9a-fA-F]+) ip ([0-9a-fA-F]+) sp ([0-9a-fA-F]+) error ([0-9a-fA-F]+)(?: in ([^\[\s]+)\[([0-9a-fA-F]+)\+([0-9a-fA-F]+)\])?").captures(msg) else {
        return false;
    };
    let mut e = Event::new(Kind::Segfault, msg, src.clone());
    e.process = Some(c[1].to_string());
    e.pid = int(c.get(2));
    e.fault_addr = Some(format!("0x{}", &c[3]));
    e.ip = Some(format!("0x{}", &c[4]));
    e.module = c.get(7).map(|m| m.as_str().to_string());
    e.signal = Some(11);
    e.code = Some(format!("error {}", &c[6]));
    e.evidence.push(format!("{src}: {msg}"));
    out.push(e);
    true
}

/// `oom_reaper: reaped process N (comm), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB`.
fn reaped(msg: &str, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static REAPED: OnceLock<Regex> = OnceLock::new();
    if !msg.starts_with("oom_reaper") {
        return false;
    }
    let Some(c) = re(&REAPED, r"^oom_reaper: reaped process (\d+) \((.*)\), now anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?").captures(msg) else {
        return false;
    };
    let mut e = Event::new(Kind::OomReaped, msg, src.clone());
    e.pid = int(c.get(1));
    e.process = Some(c[2].to_string());
    e.anon_rss_kb = kb(c.get(3));
    e.file_rss_kb = kb(c.get(4));
    e.shmem_rss_kb = kb(c.get(5));
    e.evidence.push(format!("{src}: {msg}"));
    out.push(e);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::normalize::{normalize, TimeContext};

    fn run(text: &str) -> Vec<Event> {
        let mut p = KernelParser::default();
        let mut out = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let l = normalize(raw, TimeContext { year: 2024 });
            let src = SourceRef::line("t", i as u64 + 1);
            p.line(&l, &src, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn victim_names_with_parentheses_and_spaces() {
        let ev = run("Out of memory: Killed process 42 ((resolved)) total-vm:10kB, anon-rss:5kB, file-rss:1kB, shmem-rss:0kB\n\
                      Memory cgroup out of memory: Killed process 43 (GC Thread#9) total-vm:10kB, anon-rss:5kB, file-rss:1kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:1000");
        assert_eq!(ev[0].process.as_deref(), Some("(resolved)"));
        assert_eq!(ev[0].kind, Kind::KernelOomKill);
        assert_eq!(ev[1].process.as_deref(), Some("GC Thread#9"));
        assert_eq!(ev[1].kind, Kind::CgroupOomKill);
        assert_eq!(ev[1].oom_score_adj, Some(1000));
    }

    #[test]
    fn rhel6_uid_variant() {
        let ev = run("Killed process 2592, UID 500, (java) total-vm:2000000kB, anon-rss:1000kB, file-rss:12kB");
        assert_eq!(ev[0].pid, Some(2592));
        assert_eq!(ev[0].uid, Some(500));
        assert_eq!(ev[0].anon_rss_kb, Some(1000));
    }

    #[test]
    fn oom_memcg_wins_over_constraint_none() {
        let ev = run("x invoked oom-killer: gfp_mask=0x6000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=0\n\
                      oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=x,pid=7,uid=0\n\
                      Out of memory: Killed process 7 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB");
        assert_eq!(ev[0].kind, Kind::CgroupOomKill);
        assert_eq!(ev[0].memcg.as_deref(), Some("/a/b"));
        assert_eq!(ev[0].oom_memcg.as_deref(), Some("/a"));
        assert_eq!(ev[0].trigger.as_ref().unwrap().order, Some(0));
    }

    #[test]
    fn a_report_without_its_victim_line_is_placed_at_its_last_line() {
        // The head of tests/fixtures/triage/pitxu-kernel-6.12.62-rpi-…, cut after the summary.
        let ev = run("cron invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n\
                      CPU: 2 UID: 0 PID: 512 Comm: cron Not tainted 6.12.62+rpt-rpi-v8 #1 Debian 1:6.12.62-1+rpt1\n\
                      Mem-Info:\n\
                      oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/,task=python,pid=996,uid=1000");
        assert_eq!(ev.len(), 1);
        let e = &ev[0];
        assert_eq!(
            (e.kind, e.pid, e.process.as_deref()),
            (Kind::KernelOomKill, Some(996), Some("python"))
        );
        assert_eq!(e.source.line, 4);
        assert!(e.message.starts_with("oom-kill:constraint=CONSTRAINT_NONE"));
        assert_eq!(e.trigger.as_ref().and_then(|t| t.pid), Some(512));
        assert!(e
            .evidence
            .last()
            .unwrap()
            .contains("victim line is missing"));
    }

    #[test]
    fn segfault_and_reaper_stand_alone() {
        let ev = run("[ 3.1] a.out[4242]: segfault at 0 ip 000055d0c0a0113d sp 00007ffd5e0d1e90 error 6 in a.out[55d0c0a01000+1000]\n\
                      oom_reaper: reaped process 996 (python), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB");
        assert_eq!(ev[0].kind, Kind::Segfault);
        assert_eq!(
            (ev[0].pid, ev[0].ip.as_deref()),
            (Some(4242), Some("0x000055d0c0a0113d"))
        );
        assert_eq!(ev[0].module.as_deref(), Some("a.out"));
        assert_eq!((ev[1].kind, ev[1].pid), (Kind::OomReaped, Some(996)));
    }
}
