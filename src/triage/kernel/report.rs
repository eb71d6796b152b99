//! One OOM report being read, between its trigger line and its victim line, and what it adds to
//! the victim's event: the memcg's usage and limit (mm/memcontrol.c
//! `mem_cgroup_print_oom_meminfo`), the cgroup names ("Task in … killed as a result of limit of
//! …", "Memory cgroup stats for …", `oom-kill:` `task_memcg=`/`oom_memcg=`), global or memcg
//! kind, and the task table (mm/oom_kill.c `dump_tasks`: "[  pid  ]   uid  tgid total_vm rss
//! …", in pages) with its page size inferred from the victim's row.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

use super::re;
use super::victim::{int, kb};
use crate::triage::event::{Event, Kind, SourceRef, TaskRow, Trigger};

/// Evidence lines kept per report (a task table can have thousands of rows).
const MAX_EVIDENCE: usize = 400;

/// Page sizes a kernel may use; the task table is in pages.
const PAGE_SIZES: [u64; 4] = [4096, 16384, 65536, 8192];

/// State of one report being read.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub(super) trigger: Option<Trigger>,
    pub(super) usage_kb: Option<u64>,
    pub(super) limit_kb: Option<u64>,
    pub(super) failcnt: Option<u64>,
    /// "Memory cgroup stats for X" / "Task in X killed as a result of limit of Y".
    pub(super) stats_memcg: Option<String>,
    pub(super) task_in: Option<(String, String)>,
    pub(super) global: bool,
    pub(super) columns: Option<Vec<String>>,
    pub(super) tasks: Vec<Vec<i64>>,
    pub(super) task_names: Vec<(i64, String)>,
    pub(super) kv: Option<BTreeMap<String, String>>,
    /// "Kill process N (x) score S or sacrifice child".
    pub(super) score: Option<(i64, String, i64)>,
    /// memory.oom.group fan-out: the group's cgroup.
    pub(super) group: Option<String>,
    pub(super) memcg_prefix: bool,
    pub(super) evidence: Vec<String>,
    /// Where the last evidence line came from, and its text.
    pub(super) last: Option<(SourceRef, String)>,
    pub(super) lines: usize,
    pub(super) victims: usize,
}

impl Report {
    /// Keep `msg` at `src` as evidence (up to [`MAX_EVIDENCE`] lines).
    pub(super) fn note(&mut self, src: &SourceRef, msg: &str) {
        if self.evidence.len() < MAX_EVIDENCE {
            self.evidence.push(format!("{src}: {msg}"));
            self.last = Some((src.clone(), msg.to_string()));
        }
    }

    /// A report whose trigger line was lost, opened by the first of its memcg lines that the
    /// prefilter passes: `memory: usage …`, "Task in X killed as a result of limit of Y",
    /// "Memory cgroup stats for X". `None` for any other line.
    pub(super) fn open_headless(msg: &str, src: &SourceRef) -> Option<Report> {
        if !(msg.starts_with("memory: usage")
            || msg.starts_with("Task in ")
            || msg.starts_with("Memory cgroup stats for "))
        {
            return None;
        }
        let mut r = Report::default();
        r.line(msg, src).then_some(r)
    }

    /// `memory: usage NkB, limit NkB, failcnt N`.
    pub(super) fn usage(msg: &str) -> Option<(Option<u64>, Option<u64>, Option<u64>)> {
        static USAGE: OnceLock<Regex> = OnceLock::new();
        if !msg.starts_with("memory: usage") {
            return None;
        }
        let c = re(
            &USAGE,
            r"^memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)",
        )
        .captures(msg)?;
        Some((kb(c.get(1)), kb(c.get(2)), kb(c.get(3))))
    }

    /// A line inside the report (after its trigger). True when it belongs to the report.
    pub(super) fn line(&mut self, msg: &str, src: &SourceRef) -> bool {
        static CPU: OnceLock<Regex> = OnceLock::new();
        static STATS: OnceLock<Regex> = OnceLock::new();
        static TASK_IN: OnceLock<Regex> = OnceLock::new();
        if let Some(c) = re(
            &CPU,
            r"^CPU: \d+ (?:UID: \d+ )?PID: (\d+) Comm: (.+?)(?: (?:Not tainted|Tainted:).*)?$",
        )
        .captures(msg)
        {
            if let Some(t) = self.trigger.as_mut() {
                t.pid = int(c.get(1));
            }
        } else if let Some((usage, limit, failcnt)) = Report::usage(msg) {
            (self.usage_kb, self.limit_kb, self.failcnt) = (usage, limit, failcnt);
        } else if msg.starts_with("memory+swap: usage")
            || msg.starts_with("kmem: usage")
            || msg.starts_with("swap: usage")
        {
        } else if let Some(c) = re(&STATS, r"^Memory cgroup stats for ([^:\s]+):?").captures(msg) {
            self.stats_memcg = Some(c[1].to_string());
        } else if let Some(c) = re(
            &TASK_IN,
            r"^Task in (\S+) killed as a result of limit of (\S+)",
        )
        .captures(msg)
        {
            self.task_in = Some((c[1].to_string(), c[2].to_string()));
        } else if msg.starts_with("Mem-Info:") {
            self.global = true;
        } else {
            return self.task_table_line(msg, src);
        }
        self.note(src, msg);
        true
    }

    /// The task table's header (`[  pid  ]   uid  tgid total_vm      rss …`) or one of its
    /// rows. Rows are not kept as evidence.
    fn task_table_line(&mut self, msg: &str, src: &SourceRef) -> bool {
        static HEADER: OnceLock<Regex> = OnceLock::new();
        static ROW: OnceLock<Regex> = OnceLock::new();
        if let Some(c) = re(&HEADER, r"^\[\s*pid\s*\]\s+(.*)$").captures(msg) {
            self.columns = Some(c[1].split_whitespace().map(str::to_string).collect());
            self.tasks.clear();
            self.task_names.clear();
            self.note(src, msg);
            return true;
        }
        let (Some(cols), Some(c)) = (
            self.columns.as_ref(),
            re(&ROW, r"^\[\s*(\d+)\]\s+(.*)$").captures(msg),
        ) else {
            return false;
        };
        let numeric = cols.len().saturating_sub(1);
        let toks: Vec<&str> = c[2].split_whitespace().collect();
        if toks.len() <= numeric {
            return false;
        }
        let Some(vals) = toks[..numeric]
            .iter()
            .map(|t| t.parse::<i64>().ok())
            .collect::<Option<Vec<i64>>>()
        else {
            return false;
        };
        self.tasks.push(vals);
        self.task_names
            .push((int(c.get(1)).unwrap_or(0), toks[numeric..].join(" ")));
        true
    }
}

/// Everything the report knows, onto the victim's event `e` (`victim_pid` selects the
/// `oom-kill:` summary and the task-table row that are the victim's).
pub(super) fn fill_from_report(e: &mut Event, r: &Report, victim_pid: Option<i64>) {
    fill_summary(e, r, victim_pid);
    fill_memcg(e, r);
    e.usage_kb = r.usage_kb;
    e.limit_kb = r.limit_kb;
    e.failcnt = r.failcnt;
    e.trigger = r.trigger.clone();
    if let Some((pid, name, score)) = &r.score {
        if victim_pid == Some(*pid) || e.process.as_deref() == Some(name) {
            e.badness_score = Some(*score);
        }
    }
    e.kind = kind(e.kind, r, victim_pid);
    if r.group.is_some() {
        e.oom_memcg = e.oom_memcg.clone().or(r.group.clone());
    }
    if let Some(cols) = &r.columns {
        task_table(e, r, cols, victim_pid);
    }
}

/// The `oom-kill:` summary, when it is the victim's (or names no pid).
fn fill_summary(e: &mut Event, r: &Report, victim_pid: Option<i64>) {
    let Some(kv) = r.kv.as_ref() else { return };
    let kv_pid: Option<i64> = kv.get("pid").and_then(|p| p.parse().ok());
    if !(victim_pid.is_none() || kv_pid.is_none() || kv_pid == victim_pid) {
        return;
    }
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

/// The victim's and the limited cgroup from the older lines, where the summary did not say.
fn fill_memcg(e: &mut Event, r: &Report) {
    if e.memcg.is_none() {
        if let Some((task, limit)) = &r.task_in {
            e.set_memcg(task);
            if limit != "/" {
                e.oom_memcg.get_or_insert_with(|| limit.clone());
            }
        } else if let Some(m) = &r.stats_memcg {
            e.set_memcg(m);
        }
    }
    if e.oom_memcg.is_none() && r.usage_kb.is_some() {
        if let Some(m) = r
            .task_in
            .as_ref()
            .map(|t| t.1.clone())
            .filter(|m| m != "/")
            .or_else(|| r.stats_memcg.clone())
        {
            e.oom_memcg = Some(m);
        }
    }
}

/// Global or memcg OOM, from whatever part of the report is in the input, most direct first:
/// the `oom-kill:` summary's `oom_memcg=` (trusted over `constraint=`: 5.0-era kernels printed
/// CONSTRAINT_NONE for memcg OOMs), the "Memory cgroup out of memory" prefix of the victim or
/// "Kill process" line (`__oom_kill_process` prints it exactly when the OOM is a memcg's), the
/// summary's `global_oom`, then the memcg's own lines: "Task in X killed as a result of limit
/// of Y" (Y not `/`), "Memory cgroup stats for", "memory: usage … failcnt" without a global
/// report's "Mem-Info:", `constraint=CONSTRAINT_MEMCG`. A summary that names another pid than
/// the victim's is not the victim's and is not read.
fn kind(current: Kind, r: &Report, victim_pid: Option<i64>) -> Kind {
    let kv = r.kv.as_ref().filter(|k| {
        let kv_pid = k.get("pid").and_then(|p| p.parse::<i64>().ok());
        victim_pid.is_none() || kv_pid.is_none() || kv_pid == victim_pid
    });
    let has_global_key = kv.is_some_and(|k| k.contains_key("global_oom"));
    if r.group.is_some() {
        Kind::OomGroupKill
    } else if current == Kind::OomNoVictim {
        Kind::OomNoVictim
    } else if kv.is_some_and(|k| k.contains_key("oom_memcg")) || r.memcg_prefix {
        Kind::CgroupOomKill
    } else if has_global_key {
        Kind::KernelOomKill
    } else if r.task_in.as_ref().is_some_and(|(_, limit)| limit != "/")
        || r.stats_memcg.is_some()
        || (r.usage_kb.is_some() && !r.global)
        || kv
            .and_then(|k| k.get("constraint"))
            .is_some_and(|c| c == "CONSTRAINT_MEMCG")
    {
        Kind::CgroupOomKill
    } else {
        Kind::KernelOomKill
    }
}

/// The page size from the victim's row (its pages against the kB of its victim line), else
/// 4096.
fn page_size(e: &Event, r: &Report, cols: &[String], victim_pid: Option<i64>) -> u64 {
    let idx = |name: &str| cols.iter().position(|c| c == name);
    let (i_rss, i_anon) = (idx("rss"), idx("rss_anon"));
    victim_pid
        .and_then(|pid| r.task_names.iter().position(|(p, _)| *p == pid))
        .and_then(|row| {
            let vals = &r.tasks[row];
            let page_count = |i: usize| vals.get(i).map(|&v| v.max(0) as u64);
            let (pages, kb) = match (i_anon, e.anon_rss_kb) {
                (Some(a), Some(kb)) => (page_count(a)?, kb),
                _ => {
                    let total =
                        e.anon_rss_kb? + e.file_rss_kb.unwrap_or(0) + e.shmem_rss_kb.unwrap_or(0);
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
        .unwrap_or(4096)
}

/// The page size and the five largest tasks by RSS, in kB.
fn task_table(e: &mut Event, r: &Report, cols: &[String], victim_pid: Option<i64>) {
    let idx = |name: &str| cols.iter().position(|c| c == name);
    let (i_rss, i_anon, i_vm, i_swap, i_adj) = (
        idx("rss"),
        idx("rss_anon"),
        idx("total_vm"),
        idx("swapents"),
        idx("oom_score_adj"),
    );
    let page = page_size(e, r, cols, victim_pid);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn src(line: u64) -> SourceRef {
        SourceRef::line("t", line)
    }

    /// A 6.x task table (`dump_tasks`) whose victim row says 16 KiB pages.
    fn report_with_rows(rows: &[&str]) -> Report {
        let mut r = Report::default();
        r.line("[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name", &src(1));
        for (i, row) in rows.iter().enumerate() {
            assert!(r.line(row, &src(i as u64 + 2)), "{row}");
        }
        r
    }

    #[test]
    fn page_size_from_the_victims_row() {
        let r = report_with_rows(&[
            "[    996]  1000   996   186982     7640     7639        1         0   303104        0             0 python",
            "[    512]     0   512     1500      100       90       10         0    40960        0             0 cron",
        ]);
        let mut e = Event::new(Kind::KernelOomKill, "x", src(9));
        e.anon_rss_kb = Some(122_224); // 7639 pages of 16 KiB
        fill_from_report(&mut e, &r, Some(996));
        assert_eq!(e.page_size, Some(16384));
        assert_eq!(e.top_consumers[0].pid, 996);
        assert_eq!(e.top_consumers[0].rss_kb, Some(7640 * 16));
        assert_eq!(e.top_consumers[1].name, "cron");
        // Without the victim's row the task table is read in 4 KiB pages.
        fill_from_report(&mut e, &r, Some(1));
        assert_eq!(e.page_size, Some(4096));
    }

    #[test]
    fn rows_are_not_evidence_and_unknown_lines_are_not_the_reports() {
        let mut r = report_with_rows(&[
            "[    996]  1000   996   186982     7640     7639        1         0   303104        0             0 python",
        ]);
        assert_eq!(r.evidence.len(), 1, "only the header");
        assert!(!r.line("Node 0 active_anon:122228kB inactive_anon:0kB", &src(5)));
        assert!(r.line("memory: usage 65536kB, limit 65536kB, failcnt 69", &src(6)));
        assert_eq!(
            (r.usage_kb, r.limit_kb, r.failcnt),
            (Some(65536), Some(65536), Some(69))
        );
        assert_eq!(r.last.as_ref().map(|l| l.0.line), Some(6));
    }

    #[test]
    fn memcg_kind_from_the_older_lines() {
        let mut r = Report::default();
        assert!(r.line(
            "Task in /docker/abc killed as a result of limit of /docker/abc",
            &src(1)
        ));
        let mut e = Event::new(Kind::KernelOomKill, "x", src(2));
        fill_from_report(&mut e, &r, None);
        assert_eq!(e.kind, Kind::CgroupOomKill);
        assert_eq!(
            (e.memcg.as_deref(), e.oom_memcg.as_deref()),
            (Some("/docker/abc"), Some("/docker/abc"))
        );
        let mut r = Report::default();
        r.line("Mem-Info:", &src(1));
        r.line("memory: usage 1kB, limit 2kB, failcnt 0", &src(2));
        let mut e = Event::new(Kind::KernelOomKill, "x", src(3));
        fill_from_report(&mut e, &r, None);
        assert_eq!(e.kind, Kind::KernelOomKill, "Mem-Info: a global report");
    }
}
