//! The kernel's OOM-killer report and segfault line, in every format from 2.6.32 to 6.x.
//!
//! Sources: mm/oom_kill.c (`dump_header`, `dump_tasks`, `dump_oom_summary`, `__oom_kill_process`,
//! `oom_reap_task_mm`), mm/memcontrol.c (`mem_cgroup_print_oom_context`,
//! `mem_cgroup_print_oom_meminfo`), arch/x86/mm/fault.c (`show_signal_msg`). A report runs from
//! the trigger line (`X invoked oom-killer: gfp_mask=…`) to the victim line (`Killed process N
//! (comm) total-vm:…`); everything between enriches the victim's event. A victim line whose
//! header was rate-limited away still makes a full event from what it says.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

use super::event::{Event, Kind, SourceRef, TaskRow, Trigger};
use super::normalize::Line;

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("static regex"))
}

/// Lines a report may span before it is given up (memcg stats and task tables can be long).
const MAX_REPORT_LINES: usize = 20_000;

/// State of one report being read.
#[derive(Debug, Default)]
struct Report {
    trigger: Option<Trigger>,
    usage_kb: Option<u64>,
    limit_kb: Option<u64>,
    failcnt: Option<u64>,
    /// "Memory cgroup stats for X" / "Task in X killed as a result of limit of Y".
    stats_memcg: Option<String>,
    task_in: Option<(String, String)>,
    global: bool,
    columns: Option<Vec<String>>,
    tasks: Vec<Vec<i64>>,
    task_names: Vec<(i64, String)>,
    kv: Option<BTreeMap<String, String>>,
    /// "Kill process N (x) score S or sacrifice child".
    score: Option<(i64, String, i64)>,
    /// memory.oom.group fan-out: the group's cgroup.
    group: Option<String>,
    memcg_prefix: bool,
    evidence: Vec<String>,
    lines: usize,
    victims: usize,
}

/// Streaming parser of kernel OOM reports and segfault lines.
#[derive(Debug, Default)]
pub struct KernelParser {
    report: Option<Report>,
}

fn kb(s: Option<regex::Match<'_>>) -> Option<u64> {
    s.and_then(|m| m.as_str().parse().ok())
}

fn int(s: Option<regex::Match<'_>>) -> Option<i64> {
    s.and_then(|m| m.as_str().parse().ok())
}

/// Parse the comma-separated `key=value` list of the `oom-kill:` line. A value may itself contain
/// commas (a task name), so a comma splits only when `key=` follows it.
pub fn parse_kv(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut parts: Vec<String> = Vec::new();
    for piece in s.split(',') {
        let starts_key = piece
            .split_once('=')
            .map(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(false);
        if starts_key || parts.is_empty() {
            parts.push(piece.to_string());
        } else if let Some(last) = parts.last_mut() {
            last.push(',');
            last.push_str(piece);
        }
    }
    for p in parts {
        match p.split_once('=') {
            Some((k, v)) => out.insert(k.trim().to_string(), v.trim().to_string()),
            None => out.insert(p.trim().to_string(), String::new()),
        };
    }
    out
}

impl KernelParser {
    /// True while a report is open: every line must be seen, not only prefiltered ones.
    pub fn active(&self) -> bool {
        self.report.is_some()
    }

    /// Feed one normalised line. Returns true when the line belonged to a kernel report.
    pub fn line(&mut self, l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
        static TRIGGER: OnceLock<Regex> = OnceLock::new();
        static CPU: OnceLock<Regex> = OnceLock::new();
        static USAGE: OnceLock<Regex> = OnceLock::new();
        static STATS: OnceLock<Regex> = OnceLock::new();
        static TASK_IN: OnceLock<Regex> = OnceLock::new();
        static HEADER: OnceLock<Regex> = OnceLock::new();
        static ROW: OnceLock<Regex> = OnceLock::new();
        static SCORE: OnceLock<Regex> = OnceLock::new();
        static VICTIM: OnceLock<Regex> = OnceLock::new();
        static VICTIM_SHORT: OnceLock<Regex> = OnceLock::new();
        static REAPED: OnceLock<Regex> = OnceLock::new();
        static GROUP: OnceLock<Regex> = OnceLock::new();
        static SEGV: OnceLock<Regex> = OnceLock::new();
        let msg = l.msg.trim_start();
        let ev = |r: &mut Report| {
            if r.evidence.len() < 400 {
                r.evidence.push(format!("{src}: {msg}"));
            }
        };

        if let Some(i) = msg.find(" invoked oom-killer: ") {
            let rest = &msg[i + 21..];
            let kv: BTreeMap<&str, &str> = re(
                &TRIGGER,
                r"(gfp_mask|order|oom_score_adj)=([^,\s]+(?:\([^)]*\))?)",
            )
            .captures_iter(rest)
            .filter_map(|c| Some((c.get(1)?.as_str(), c.get(2)?.as_str())))
            .collect();
            let mut r = Report {
                trigger: Some(Trigger {
                    process: msg[..i].to_string(),
                    pid: None,
                    gfp_mask: kv.get("gfp_mask").map(|s| s.to_string()),
                    order: kv.get("order").and_then(|s| s.parse().ok()),
                    oom_score_adj: kv.get("oom_score_adj").and_then(|s| s.parse().ok()),
                }),
                ..Report::default()
            };
            ev(&mut r);
            self.flush(out);
            self.report = Some(r);
            return true;
        }
        if !msg.contains("segfault at") {
        } else if let Some(c) = re(&SEGV, r"^(.+?)\[(\d+)\]: segfault at ([0-9a-fA-F]+) ip ([0-9a-fA-F]+) sp ([0-9a-fA-F]+) error ([0-9a-fA-F]+)(?: in ([^\[\s]+)\[([0-9a-fA-F]+)\+([0-9a-fA-F]+)\])?").captures(msg) {
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
            return true;
        }
        let victim = re(
            &VICTIM,
            r"^(?:(Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: )?Killed process (\d+),? (?:UID (\d+), )?\((.*)\),? (?:UID (\d+), )?(?:total-vm|vsz):(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?(?:,? UID:(\d+))?(?: pgtables:(\d+)kB)?(?: oom_score_adj:(-?\d+))?",
        );
        let has_victim = msg.contains("illed process");
        if let Some(c) = has_victim.then(|| victim.captures(msg)).flatten() {
            let mut e = Event::new(Kind::KernelOomKill, msg, src.clone());
            fill_victim(&mut e, &c);
            let memcg_prefix = c.get(1).map(|m| m.as_str()) == Some("Memory cgroup out of memory");
            self.victim(e, memcg_prefix, msg, src, out);
            return true;
        }
        if !has_victim {
        } else if let Some(c) = re(&VICTIM_SHORT, r"^(?:(Out of memory|Memory cgroup out of memory): )?Killed process (\d+),? (?:UID (\d+), )?\((.*)\)\.?\s*$").captures(msg) {
            let mut e = Event::new(Kind::KernelOomKill, msg, src.clone());
            e.pid = int(c.get(2));
            e.uid = int(c.get(3));
            e.process = Some(c[4].to_string());
            let memcg_prefix = c.get(1).map(|m| m.as_str()) == Some("Memory cgroup out of memory");
            self.victim(e, memcg_prefix, msg, src, out);
            return true;
        }
        if !msg.starts_with("oom_reaper") {
        } else if let Some(c) = re(&REAPED, r"^oom_reaper: reaped process (\d+) \((.*)\), now anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?").captures(msg) {
            let mut e = Event::new(Kind::OomReaped, msg, src.clone());
            e.pid = int(c.get(1));
            e.process = Some(c[2].to_string());
            e.anon_rss_kb = kb(c.get(3));
            e.file_rss_kb = kb(c.get(4));
            e.shmem_rss_kb = kb(c.get(5));
            e.evidence.push(format!("{src}: {msg}"));
            out.push(e);
            return true;
        }
        if msg.contains("Out of memory and no killable processes") {
            let mut e = Event::new(Kind::OomNoVictim, msg, src.clone());
            if let Some(mut r) = self.report.take() {
                ev(&mut r);
                fill_from_report(&mut e, &r, None);
                e.evidence = r.evidence;
            } else {
                e.evidence.push(format!("{src}: {msg}"));
            }
            out.push(e);
            return true;
        }
        if let Some(kv) = msg.strip_prefix("oom-kill:") {
            let r = self.report.get_or_insert_with(Report::default);
            r.kv = Some(parse_kv(kv));
            ev(r);
            return true;
        }
        if !msg.starts_with("Tasks in ") {
        } else if let Some(c) = re(
            &GROUP,
            r"^Tasks in (\S+) are going to be killed due to memory\.oom\.group set",
        )
        .captures(msg)
        {
            let r = self.report.get_or_insert_with(Report::default);
            r.group = Some(c[1].to_string());
            ev(r);
            return true;
        }
        if !msg.contains("ill process") {
        } else if let Some(c) = re(&SCORE, r"^(Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: [Kk]ill process (\d+) \((.*)\) score (-?\d+) or (?:sacrifice child|a child)").captures(msg) {
            let r = self.report.get_or_insert_with(Report::default);
            r.score = Some((int(c.get(2)).unwrap_or(0), c[3].to_string(), int(c.get(4)).unwrap_or(0)));
            r.memcg_prefix |= &c[1] == "Memory cgroup out of memory";
            ev(r);
            return true;
        }
        let Some(r) = self.report.as_mut() else {
            // Lines that open a report whose trigger line was lost.
            if !msg.starts_with("memory: usage") {
            } else if let Some(c) = re(
                &USAGE,
                r"^memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)",
            )
            .captures(msg)
            {
                let mut r = Report {
                    usage_kb: kb(c.get(1)),
                    limit_kb: kb(c.get(2)),
                    failcnt: kb(c.get(3)),
                    ..Report::default()
                };
                ev(&mut r);
                self.report = Some(r);
                return true;
            }
            return false;
        };
        r.lines += 1;
        if r.lines > MAX_REPORT_LINES {
            self.flush(out);
            return false;
        }
        if let Some(c) = re(
            &CPU,
            r"^CPU: \d+ (?:UID: \d+ )?PID: (\d+) Comm: (.+?)(?: (?:Not tainted|Tainted:).*)?$",
        )
        .captures(msg)
        {
            if let Some(t) = r.trigger.as_mut() {
                t.pid = int(c.get(1));
            }
            ev(r);
            return true;
        }
        if let Some(c) = re(
            &USAGE,
            r"^memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)",
        )
        .captures(msg)
        {
            r.usage_kb = kb(c.get(1));
            r.limit_kb = kb(c.get(2));
            r.failcnt = kb(c.get(3));
            ev(r);
            return true;
        }
        if msg.starts_with("memory+swap: usage")
            || msg.starts_with("kmem: usage")
            || msg.starts_with("swap: usage")
        {
            ev(r);
            return true;
        }
        if let Some(c) = re(&STATS, r"^Memory cgroup stats for ([^:\s]+):?").captures(msg) {
            r.stats_memcg = Some(c[1].to_string());
            ev(r);
            return true;
        }
        if let Some(c) = re(
            &TASK_IN,
            r"^Task in (\S+) killed as a result of limit of (\S+)",
        )
        .captures(msg)
        {
            r.task_in = Some((c[1].to_string(), c[2].to_string()));
            ev(r);
            return true;
        }
        if msg.starts_with("Mem-Info:") {
            r.global = true;
            ev(r);
            return true;
        }
        if let Some(c) = re(&HEADER, r"^\[\s*pid\s*\]\s+(.*)$").captures(msg) {
            r.columns = Some(c[1].split_whitespace().map(str::to_string).collect());
            r.tasks.clear();
            r.task_names.clear();
            ev(r);
            return true;
        }
        if let (Some(cols), Some(c)) = (
            r.columns.as_ref(),
            re(&ROW, r"^\[\s*(\d+)\]\s+(.*)$").captures(msg),
        ) {
            let numeric = cols.len().saturating_sub(1);
            let toks: Vec<&str> = c[2].split_whitespace().collect();
            if toks.len() > numeric {
                let vals: Option<Vec<i64>> = toks[..numeric]
                    .iter()
                    .map(|t| t.parse::<i64>().ok())
                    .collect();
                if let Some(vals) = vals {
                    r.tasks.push(vals);
                    r.task_names
                        .push((int(c.get(1)).unwrap_or(0), toks[numeric..].join(" ")));
                    return true;
                }
            }
        }
        false
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
    /// excerpt) becomes an event from what it has; one with nothing naming a kill is dropped.
    fn flush(&mut self, out: &mut Vec<Event>) {
        let Some(r) = self.report.take() else { return };
        if r.victims > 0 {
            return;
        }
        let kv = r.kv.as_ref();
        let (pid, name) = match (kv, &r.score) {
            (Some(k), _) if k.contains_key("pid") => (
                k.get("pid").and_then(|p| p.parse().ok()),
                k.get("task").cloned(),
            ),
            (_, Some((pid, name, _))) => (Some(*pid), Some(name.clone())),
            _ if r.task_in.is_some() => (None, None),
            _ => return,
        };
        let Some(last) = r.evidence.last() else {
            return;
        };
        let (src, msg) = match last.split_once(": ") {
            Some((s, m)) => (s.to_string(), m.to_string()),
            None => (String::new(), last.clone()),
        };
        let (file, line) = match src.rsplit_once(':') {
            Some((f, l)) => (f.to_string(), l.parse().unwrap_or(0)),
            None => (src, 0),
        };
        let mut e = Event::new(Kind::KernelOomKill, &msg, SourceRef { file, line });
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

/// The kernel's victim line ("Killed process N (comm) total-vm:…") anywhere in `text`, as an
/// event of `kind` (used for lines that quote it, such as Kubernetes OOMKilling events).
pub fn victim_in(text: &str, kind: Kind, src: &SourceRef) -> Option<Event> {
    static ANY: OnceLock<Regex> = OnceLock::new();
    let i = text.find("Killed process")?;
    let start = text[..i]
        .rfind("Memory cgroup out of memory")
        .or_else(|| text[..i].rfind("Out of memory"))
        .unwrap_or(i);
    let c = re(&ANY, r"^(?:(Out of memory|Memory cgroup out of memory)(?: \(oom_kill_allocating_task\))?: )?Killed process (\d+),? (?:UID (\d+), )?\((.*)\),? (?:UID (\d+), )?(?:total-vm|vsz):(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB(?:, shmem-rss:(\d+)kB)?(?:,? UID:(\d+))?(?: pgtables:(\d+)kB)?(?: oom_score_adj:(-?\d+))?")
        .captures(&text[start..])?;
    let mut e = Event::new(kind, text.trim(), src.clone());
    fill_victim(&mut e, &c);
    Some(e)
}

/// Set the fields of a victim line's captures (see the VICTIM pattern's groups).
fn fill_victim(e: &mut Event, c: &regex::Captures<'_>) {
    e.pid = int(c.get(2));
    e.process = c.get(4).map(|m| m.as_str().to_string());
    e.uid = int(c.get(3)).or(int(c.get(5))).or(int(c.get(10)));
    e.total_vm_kb = kb(c.get(6));
    e.anon_rss_kb = kb(c.get(7));
    e.file_rss_kb = kb(c.get(8));
    e.shmem_rss_kb = kb(c.get(9));
    e.pgtables_kb = kb(c.get(11));
    e.oom_score_adj = int(c.get(12));
}

/// Page sizes a kernel may use; the task table is in pages.
const PAGE_SIZES: [u64; 4] = [4096, 16384, 65536, 8192];

fn fill_from_report(e: &mut Event, r: &Report, victim_pid: Option<i64>) {
    let kv = r.kv.as_ref();
    let kv_pid: Option<i64> = kv.and_then(|k| k.get("pid")).and_then(|p| p.parse().ok());
    let kv_matches =
        kv.is_some() && (victim_pid.is_none() || kv_pid.is_none() || kv_pid == victim_pid);
    if let (Some(kv), true) = (kv, kv_matches) {
        if let Some(m) = kv.get("task_memcg") {
            e.set_memcg(m);
        }
        if let Some(m) = kv.get("oom_memcg") {
            e.oom_memcg = Some(m.clone());
        }
        e.constraint = kv.get("constraint").cloned();
        if e.uid.is_none() {
            e.uid = kv.get("uid").and_then(|u| u.parse().ok());
        }
        if e.process.is_none() {
            e.process = kv.get("task").cloned();
        }
        if e.pid.is_none() {
            e.pid = kv_pid;
        }
    }
    if e.memcg.is_none() {
        if let Some((task, limit)) = &r.task_in {
            e.set_memcg(task);
            e.oom_memcg.get_or_insert_with(|| limit.clone());
        } else if let Some(m) = &r.stats_memcg {
            e.set_memcg(m);
        }
    }
    if e.oom_memcg.is_none() && r.usage_kb.is_some() {
        if let Some(m) = r
            .task_in
            .as_ref()
            .map(|t| t.1.clone())
            .or_else(|| r.stats_memcg.clone())
        {
            e.oom_memcg = Some(m);
        }
    }
    e.usage_kb = r.usage_kb;
    e.limit_kb = r.limit_kb;
    e.failcnt = r.failcnt;
    e.trigger = r.trigger.clone();
    if let Some((pid, name, score)) = &r.score {
        if victim_pid == Some(*pid) || e.process.as_deref() == Some(name) {
            e.badness_score = Some(*score);
        }
    }
    // Kind: trust oom_memcg= over constraint= (5.0-era kernels printed CONSTRAINT_NONE for
    // memcg OOMs); `global_oom` in place of oom_memcg marks a global OOM.
    let has_global_key = kv.is_some_and(|k| k.contains_key("global_oom"));
    e.kind = if r.group.is_some() {
        Kind::OomGroupKill
    } else if e.kind == Kind::OomNoVictim {
        Kind::OomNoVictim
    } else if kv.is_some_and(|k| k.contains_key("oom_memcg")) {
        Kind::CgroupOomKill
    } else if has_global_key {
        Kind::KernelOomKill
    } else if r.memcg_prefix
        || r.task_in.is_some()
        || r.stats_memcg.is_some()
        || (r.usage_kb.is_some() && !r.global)
        || kv
            .and_then(|k| k.get("constraint"))
            .is_some_and(|c| c == "CONSTRAINT_MEMCG")
    {
        Kind::CgroupOomKill
    } else {
        Kind::KernelOomKill
    };
    if r.group.is_some() {
        e.oom_memcg = e.oom_memcg.clone().or(r.group.clone());
    }
    // Task table: infer the page size from the victim's row, then the top consumers.
    if let Some(cols) = &r.columns {
        let idx = |name: &str| cols.iter().position(|c| c == name);
        let (i_rss, i_anon, i_vm, i_swap, i_adj) = (
            idx("rss"),
            idx("rss_anon"),
            idx("total_vm"),
            idx("swapents"),
            idx("oom_score_adj"),
        );
        let page = victim_pid
            .and_then(|pid| r.task_names.iter().position(|(p, _)| *p == pid))
            .and_then(|row| {
                let vals = &r.tasks[row];
                let page_count = |i: usize| vals.get(i).map(|&v| v.max(0) as u64);
                let (pages, kb) = match (i_anon, e.anon_rss_kb) {
                    (Some(a), Some(kb)) => (page_count(a)?, kb),
                    _ => {
                        let total = e.anon_rss_kb?
                            + e.file_rss_kb.unwrap_or(0)
                            + e.shmem_rss_kb.unwrap_or(0);
                        (page_count(i_rss?)?, total)
                    }
                };
                (pages > 0).then(|| kb * 1024 / pages)
            })
            .and_then(|est| {
                PAGE_SIZES
                    .iter()
                    .copied()
                    .find(|&p| est.abs_diff(p) * 10 <= p)
            })
            .unwrap_or(4096);
        e.page_size = Some(page);
        let to_kb = |pages: i64| pages.max(0) as u64 * page / 1024;
        let mut rows: Vec<TaskRow> = r
            .tasks
            .iter()
            .zip(&r.task_names)
            .map(|(vals, (pid, name))| TaskRow {
                pid: *pid,
                name: name.clone(),
                rss_kb: i_rss.and_then(|i| vals.get(i)).map(|&v| to_kb(v)),
                rss_anon_kb: i_anon.and_then(|i| vals.get(i)).map(|&v| to_kb(v)),
                total_vm_kb: i_vm.and_then(|i| vals.get(i)).map(|&v| to_kb(v)),
                swapents: i_swap.and_then(|i| vals.get(i)).map(|&v| v.max(0) as u64),
                oom_score_adj: i_adj.and_then(|i| vals.get(i)).copied(),
            })
            .collect();
        rows.sort_by_key(|t| std::cmp::Reverse(t.rss_kb.unwrap_or(0)));
        rows.truncate(5);
        e.top_consumers = rows;
    }
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
            let src = SourceRef {
                file: "t".into(),
                line: i as u64 + 1,
            };
            p.line(&l, &src, &mut out);
        }
        out
    }

    #[test]
    fn kv_values_with_commas() {
        let kv =
            parse_kv("constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,task=a,b,pid=5,uid=0");
        assert_eq!(kv["task"], "a,b");
        assert_eq!(kv["pid"], "5");
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
}
