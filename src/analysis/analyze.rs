//! `clw-diag analyze memory-trace`: the one library call behind the command. Each input's
//! series (a trace's metric, also when asked by the source's own column name such as `rss_kb`),
//! the limit each is projected against (the flag, else the trace's cgroup limit, else the host
//! MemTotal the trace recorded, else this host's), and the leak analysis of each
//! ([`crate::analysis::leak`]).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::leak::{analyze, LeakOptions, LeakResult, Verdict};
use crate::error::Result;
use crate::trace::{read, Series};

/// What one `analyze memory-trace` run reads and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// Trace files (JSON Lines, JSON with `samples`, CSV, Prometheus `query_range` JSON).
    pub files: Vec<PathBuf>,
    /// The memory column; the trace's default when `None`.
    pub metric: Option<String>,
    /// A limit to project against, bytes (`--limit`).
    pub limit_bytes: Option<u64>,
    /// The practical thresholds (bytes per hour, percent of growth).
    pub min_rate_bytes_per_h: f64,
    /// Growth over the analysed window, percent, below which a trend is not a leak (`--min-growth`).
    pub min_growth_pct: f64,
    /// This host's MemTotal, bytes: the limit of last resort.
    pub host_total_bytes: Option<u64>,
}

/// The results of one `analyze memory-trace` run.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeReport {
    /// One leak analysis per series, in input order (a Prometheus answer may hold several).
    pub results: Vec<LeakResult>,
    /// What the readers tolerated (a torn last line).
    pub warnings: Vec<String>,
    /// The series analysed, in the order of `results` (for plots; not in JSON).
    #[serde(skip)]
    pub series: Vec<Series>,
    /// Per series: its only limit is a host's memory (a plot is then scaled to the data).
    #[serde(skip)]
    pub host_only_limit: Vec<bool>,
    /// What to run next: `clw-diag leaks PID` for a leaking process that still runs here.
    pub next_steps: Vec<String>,
}

impl AnalyzeReport {
    /// Whether any series leaks (`--fail-on-leak`).
    pub fn any_leak(&self) -> bool {
        self.results.iter().any(|r| r.verdict == Verdict::Leak)
    }
}

/// The trace's name for a metric given as a CSV header names the column (`rss_kb`,
/// `RSS (MiB)`): the CSV reader converts such a column to bytes under `<name>_bytes`.
fn metric_key(asked: &str) -> Option<String> {
    let l = asked.trim().to_ascii_lowercase();
    let unit = l
        .trim_end_matches(')')
        .rsplit(['_', ' ', '('])
        .next()
        .unwrap_or("");
    if !matches!(
        unit,
        "kb" | "kib" | "k" | "mb" | "mib" | "m" | "gb" | "gib" | "g" | "b"
    ) {
        return None;
    }
    let base = l.split(['_', ' ', '(']).next().filter(|b| !b.is_empty())?;
    Some(format!("{base}_bytes"))
}

/// Read `f`'s series for `metric`, accepting the source's column name too (see `metric_key`).
///
/// Errors: those of [`read::read_file`] for the metric as asked.
pub fn read_series(f: &Path, metric: Option<&str>) -> Result<Vec<Series>> {
    match read::read_file(f, metric) {
        Err(e) => match metric.and_then(metric_key) {
            Some(key) => read::read_file(f, Some(&key)).map_err(|_| e),
            None => Err(e),
        },
        ok => ok,
    }
}

/// The limit `s` is projected against and where it came from, and whether it is only a host's
/// memory.
pub fn limit_of(s: &Series, req: &Request) -> (Option<(u64, String)>, bool) {
    let host_only = req.limit_bytes.is_none() && s.limit_bytes.is_none();
    let limit = match (req.limit_bytes, s.limit_bytes, s.host_total_bytes) {
        (Some(l), ..) => Some((l, "--limit".to_string())),
        (None, Some(l), _) => Some((l, "the trace's cgroup limit".to_string())),
        (None, None, Some(h)) => Some((h, "host MemTotal recorded in the trace".to_string())),
        _ => req.host_total_bytes.map(|h| {
            (
                h,
                "MemTotal of this host (the trace has no limit)".to_string(),
            )
        }),
    };
    (limit, host_only)
}

/// The process a leaking series ends with, when it still runs here: where `clw-diag leaks PID`
/// can attach to find the stacks holding the growth. `None` for other verdicts, a trace
/// without pids, a pid that exited or is a kernel thread, one that started after `file` was
/// last written (the pid was reused: the recorded process was older), and, when the trace
/// names the command it ran, a process of another program.
pub fn live_leaker(
    s: &Series,
    r: &crate::analysis::leak::LeakResult,
    file: &Path,
    proc_root: &Path,
) -> Option<i32> {
    use crate::analysis::leak::Verdict;
    if r.verdict != Verdict::Leak {
        return None;
    }
    let pid = i32::try_from(s.pid.iter().rev().find_map(|p| *p)?).ok()?;
    let st = crate::sample::stat::read(proc_root, pid).ok()?;
    if st.has_exited() || st.is_kernel_thread() {
        return None;
    }
    let btime: u64 = std::fs::read_to_string(proc_root.join("stat"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
    let started = btime + st.starttime_ticks / crate::sample::stat::ticks_per_second();
    let written = std::fs::metadata(file)
        .ok()?
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    if started > written {
        return None;
    }
    if let Some(cmd) = &s.command {
        let prog = cmd.split_whitespace().next()?.rsplit('/').next()?;
        if !prog.starts_with(st.comm.as_str()) {
            return None;
        }
    }
    Some(pid)
}

/// The next step for a leaking process that still runs.
pub fn leaks_step(name: &str, pid: i32) -> String {
    format!(
        "find what holds {name}'s growth: `clw-diag leaks {pid} --duration 5m` (pid {pid} \
         still runs; the call stacks of what it allocates and keeps, needs root or \
         CAP_BPF+CAP_PERFMON)"
    )
}

/// Analyse every series of every file of `req`.
///
/// Errors: the first file that cannot be read or holds no series (see [`read::read_file`]).
pub fn run(req: &Request) -> Result<AnalyzeReport> {
    let mut report = AnalyzeReport {
        results: Vec::new(),
        warnings: Vec::new(),
        series: Vec::new(),
        host_only_limit: Vec::new(),
        next_steps: Vec::new(),
    };
    for f in &req.files {
        for s in read_series(f, req.metric.as_deref())? {
            report.warnings.extend(s.warnings.iter().cloned());
            let (limit, host_only) = limit_of(&s, req);
            let opts = LeakOptions {
                limit,
                min_rate_bytes_per_h: req.min_rate_bytes_per_h,
                min_growth_pct: req.min_growth_pct,
            };
            let r = analyze(&s, &opts);
            if let Some(pid) = live_leaker(&s, &r, f, Path::new("/proc")) {
                let name = r.file.rsplit('/').next().unwrap_or(&r.file);
                report.next_steps.push(leaks_step(name, pid));
            }
            report.results.push(r);
            report.series.push(s);
            report.host_only_limit.push(host_only);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_keys_of_source_columns() {
        assert_eq!(metric_key("rss_kb").as_deref(), Some("rss_bytes"));
        assert_eq!(metric_key("RSS (MiB)").as_deref(), Some("rss_bytes"));
        assert_eq!(metric_key("anon_bytes"), None);
        assert_eq!(metric_key("working_set"), None);
    }

    #[test]
    fn the_limit_is_the_flag_then_the_trace_then_the_host() {
        let mut s = Series::default();
        let mut req = Request {
            files: Vec::new(),
            metric: None,
            limit_bytes: None,
            min_rate_bytes_per_h: 1048576.0,
            min_growth_pct: 5.0,
            host_total_bytes: Some(8 << 30),
        };
        assert_eq!(
            limit_of(&s, &req),
            (
                Some((
                    8 << 30,
                    "MemTotal of this host (the trace has no limit)".into()
                )),
                true
            )
        );
        s.host_total_bytes = Some(4 << 30);
        assert_eq!(limit_of(&s, &req).0.unwrap().0, 4 << 30);
        s.limit_bytes = Some(1 << 30);
        assert_eq!(
            limit_of(&s, &req),
            (Some((1 << 30, "the trace's cgroup limit".into())), false)
        );
        req.limit_bytes = Some(2 << 30);
        assert_eq!(limit_of(&s, &req).0.unwrap(), (2 << 30, "--limit".into()));
    }
}
