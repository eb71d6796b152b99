//! `clw-diag recommend`: memory requests and limits from observed usage (traces, a live
//! cgroup, or a Prometheus server). Arguments → inputs read into histories → the policies of
//! `analysis::recommend` → table, JSON, an `--emit` snippet and an optional plot.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use clw_diag::analysis::leak::{self, LeakOptions, Verdict};
use clw_diag::analysis::recommend::{History, OomEvent, Policy, Source, Target};
use clw_diag::render::recommend::{emit, Emit, RecommendReport};
use clw_diag::render::{self, recommend_plot};
use clw_diag::sample::cgroup::MemoryHierarchy;
use clw_diag::trace::prometheus::{self, PromSeries, RangeQuery};
use clw_diag::trace::{read, Series};

use super::{GlobalArgs, Output};

pub const LONG_ABOUT: &str = "\
Recommend a memory request and limit from observed usage.

Inputs: trace files (the JSON Lines of `clw-diag record`, CSV, Prometheus query_range JSON), a \
live cgroup (--cgroup: its usage, peak and OOM kills; one point is not enough for a number, but \
the limit, the peak and OOM kills still give warnings), or a Prometheus server (--prometheus with \
--selector or --query; by default max_over_time(container_memory_working_set_bytes{SELECTOR}[5m]), \
grouped per namespace/pod/container).

The policies work on per-interval peaks (--interval, default 5 min), not raw samples:
  seed  request P95 × 1.1, limit P95 × 1.5 (the runbook rule)
  vpa   the Kubernetes VPA recommender: daily peaks in a decaying histogram (24 h half-life), \
target P90, bounds P50/P95, +15 %, bounds widened for short history, bump after OOM kills
  krr   request = limit = max × 1.15
  clw   (default) limit never below the observed peak × 1.15 (more after OOM kills), request P95 × 1.1

Warnings: a history shorter than 24 h or 20 intervals, a limit below an observed peak, request \
equal to limit, a leak in the trace (a bigger limit only delays the OOM kill). Too few points \
give 'insufficient-data', not a number. --backtest fits on the first part of the history and \
replays the rest.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag recommend memory-trace.json
  clw-diag recommend trace.json --policy all --backtest
  clw-diag recommend --cgroup /kubepods/burstable/pod1234
  clw-diag recommend --prometheus http://prometheus:9090 --selector 'namespace=\"shop\"' --emit k8s
  clw-diag recommend usage.csv --emit systemd --plot usage.svg";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    Seed,
    Vpa,
    Krr,
    Clw,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    K8s,
    Vpa,
    Compose,
    Systemd,
    Openclaw,
    Json,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).multiple(true).args(["files", "cgroup", "prometheus"])))]
pub struct RecommendArgs {
    /// Trace files: clw-diag record's JSON Lines, JSON with a "samples" array, CSV, Prometheus
    /// query_range JSON.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A live memory cgroup (relative to the memory hierarchy, or absolute).
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<String>,
    /// A Prometheus server's base URL (http://host:9090).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// Label selector for the default query, e.g. 'namespace="shop",container="web"'.
    #[arg(
        long,
        value_name = "LABELS",
        requires = "prometheus",
        conflicts_with = "query"
    )]
    pub selector: Option<String>,
    /// A PromQL query returning memory in bytes (instead of the default working-set query).
    #[arg(long, value_name = "PROMQL", requires = "prometheus")]
    pub query: Option<String>,
    /// How far back to query Prometheus (s, m, h, d, w).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_span)]
    pub since: f64,
    /// Also count OOM kills from kube-state-metrics'
    /// kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}.
    #[arg(long, requires = "prometheus")]
    pub oom_metric: bool,
    /// Timeout of each Prometheus request.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_span)]
    pub timeout: f64,
    /// The memory column of trace files (default: anon or RSS, working set for cgroups).
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// The interval whose peaks the policies use (s, m, h, d).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_span)]
    pub interval: f64,
    /// The policy, or all of them side by side.
    #[arg(long, value_enum, default_value_t = PolicyArg::Clw)]
    pub policy: PolicyArg,
    /// Fit on the first FRACTION of the history (default 0.7), replay the rest: intervals above
    /// the request and the limit, and the slack in GiB·hours.
    #[arg(long, value_name = "FRACTION", num_args = 0..=1, default_missing_value = "0.7", value_parser = parse_fraction)]
    pub backtest: Option<f64>,
    /// Print a configuration snippet instead of the table.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub emit: Option<EmitArg>,
    /// Draw the interval peaks' histogram with the request and limit lines (first target).
    #[arg(long, value_name = "OUT.svg|OUT.png")]
    pub plot: Option<PathBuf>,
}

/// `90s`, `5m`, `2h`, `7d`, `1w` or bare seconds.
fn parse_span(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30s, 5m, 2h, 7d)"))?;
    let mul = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 7.0 * 86400.0,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {s:?} (use s, m, h, d or w)"
            ))
        }
    };
    let secs = v * mul;
    if !(secs.is_finite() && (0.01..=86400.0 * 3660.0).contains(&secs)) {
        return Err(format!("{s:?} is out of range (10ms to 10 years)"));
    }
    Ok(secs)
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f < 1.0 => Ok(f),
        _ => Err(format!(
            "{s:?} is not a fraction between 0 and 1 (e.g. 0.7)"
        )),
    }
}

fn policies(p: PolicyArg) -> Vec<Policy> {
    match p {
        PolicyArg::Seed => vec![Policy::Seed],
        PolicyArg::Vpa => vec![Policy::Vpa],
        PolicyArg::Krr => vec![Policy::Krr],
        PolicyArg::Clw => vec![Policy::Clw],
        PolicyArg::All => Policy::ALL.to_vec(),
    }
}

/// Options shared by every input.
struct Plan {
    policies: Vec<Policy>,
    interval_s: f64,
    backtest: Option<f64>,
}

impl Plan {
    fn target(&self, name: String, source: Source, metric: String, h: &History) -> Target {
        Target::assess(name, source, metric, h, &self.policies, self.backtest)
    }
}

/// The leak verdict of a raw series, and a warning when it leaks.
fn leak_check(s: &Series, t: &mut Target) {
    let r = leak::analyze(s, &LeakOptions::default());
    if r.verdict == Verdict::InsufficientData {
        return;
    }
    t.leak_verdict = Some(r.verdict.as_str().to_string());
    let rate = r
        .slope_bytes_per_s
        .map(|b| format!(" ({:+.2} MiB/h)", b * 3600.0 / 1048576.0))
        .unwrap_or_default();
    match r.verdict {
        Verdict::Leak => t.warnings.push(format!(
            "a leak was detected in the trace{rate}: a bigger limit only delays the OOM kill; fix the leak (see clw-diag analyze memory-trace)"
        )),
        Verdict::Suspected => t.warnings.push(format!(
            "a leak is suspected in the trace{rate}: check with clw-diag analyze memory-trace before trusting a limit"
        )),
        _ => {}
    }
}

fn history_of(s: &Series, interval_s: f64) -> History {
    let mut h = History::from_samples(&s.t, &s.v, interval_s);
    h.limit_bytes = s.limit_bytes.map(|l| l as f64);
    h.ooms = s
        .oom_kills()
        .map(|k| OomEvent {
            t_s: k.t,
            count: k.count,
        })
        .collect();
    h
}

fn from_file(
    path: &Path,
    a: &RecommendArgs,
    plan: &Plan,
    out: &mut Vec<Target>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).map_err(|e| clw_diag::Error::io(path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    // Prometheus answers: our own parser, which skips NaN/Inf (stale series) and counts them.
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') && trimmed.contains("\"result\"") {
        if let Ok(doc) = serde_json::from_str::<serde_json::Value>(trimmed) {
            if doc.pointer("/data/result").is_some() {
                let (series, skipped) = prometheus::parse_matrix(&doc)
                    .map_err(|m| anyhow::anyhow!("{}: malformed: {m}", path.display()))?;
                let (groups, _) = prometheus::group(series);
                if groups.iter().all(|g| g.v.is_empty()) {
                    bail!(
                        "{}: no usable samples (empty result{})",
                        path.display(),
                        if skipped.non_finite > 0 {
                            format!(", {} NaN/Inf values skipped", skipped.non_finite)
                        } else {
                            String::new()
                        }
                    );
                }
                for g in groups {
                    let name = format!("{} {}", path.display(), g.key());
                    let mut t = prom_target(g, name, "value".into(), plan, &[]);
                    t.skipped_non_finite = skipped.non_finite;
                    if skipped.non_finite > 0 {
                        t.warnings.push(format!(
                            "{} NaN/Inf values skipped in {}",
                            skipped.non_finite,
                            path.display()
                        ));
                    }
                    out.push(t);
                }
                return Ok(());
            }
        }
    }
    for s in read::read_text(&text, path, a.metric.as_deref())? {
        let h = history_of(&s, plan.interval_s);
        let mut t = plan.target(s.name.clone(), Source::File, s.metric.clone(), &h);
        t.warnings.extend(s.warnings.iter().cloned());
        leak_check(&s, &mut t);
        out.push(t);
    }
    Ok(())
}

/// A target of one grouped Prometheus series (times are Unix seconds).
fn prom_target(
    g: PromSeries,
    name: String,
    metric: String,
    plan: &Plan,
    ooms: &[(f64, u64)],
) -> Target {
    let t0 = g.t.first().copied().unwrap_or(0.0);
    let s = Series {
        name: name.clone(),
        metric: metric.clone(),
        t: g.t.iter().map(|t| t - t0).collect(),
        v: g.v.clone(),
        pid: vec![None; g.t.len()],
        ..Series::default()
    };
    let mut h = History::from_samples(&s.t, &s.v, plan.interval_s);
    h.ooms = ooms
        .iter()
        .map(|&(t, count)| OomEvent { t_s: t - t0, count })
        .collect();
    let mut t = plan.target(name, Source::Prometheus, metric, &h);
    t.labels = g.labels;
    leak_check(&s, &mut t);
    t
}

fn from_cgroup(rel: &str, g: &GlobalArgs, plan: &Plan) -> anyhow::Result<Target> {
    let hier = MemoryHierarchy::detect(&g.cgroup_root)?;
    let m = hier.read(rel)?;
    let current = m.working_set_bytes.or(m.usage_bytes);
    let metric = if m.working_set_bytes.is_some() {
        "working_set_bytes"
    } else {
        "usage_bytes"
    };
    // One point: the policies answer insufficient-data, the warnings still speak.
    let h = History {
        peaks: current
            .map(|c| {
                vec![clw_diag::analysis::recommend::IntervalPeak {
                    start_s: 0.0,
                    peak_bytes: c as f64,
                    peak_at_s: 0.0,
                    first_s: 0.0,
                    last_s: 0.0,
                    samples: 1,
                }]
            })
            .unwrap_or_default(),
        interval_s: plan.interval_s,
        ooms: Vec::new(),
        limit_bytes: m.limit_bytes.map(|l| l as f64),
    };
    let mut t = plan.target(m.path.clone(), Source::Cgroup, metric.into(), &h);
    t.current_bytes = current;
    t.peak_bytes = m.peak_bytes.or(current);
    t.oom_kills = m.oom_kill_count.unwrap_or(0);
    t.current_limit_bytes = m.limit_bytes;
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1048576.0);
    match m.limit_bytes {
        None => t.warnings.push(format!(
            "cgroup {} has no memory limit of its own ({}): nothing stops it but the host",
            m.path,
            m.effective_limit_bytes
                .map(|e| format!("an ancestor limits it to {}", mib(e)))
                .unwrap_or_else(|| "unlimited".into())
        )),
        Some(l) => {
            if let Some(p) = m.peak_bytes {
                if p as f64 >= 0.95 * l as f64 {
                    t.warnings.push(format!(
                        "the peak {} reached {:.0} % of the limit {}",
                        mib(p),
                        p as f64 * 100.0 / l as f64,
                        mib(l)
                    ));
                }
            }
        }
    }
    if t.oom_kills > 0 {
        t.warnings.push(format!(
            "{} OOM kill(s) in this cgroup (memory.events oom_kill): the limit {} is too small for this workload",
            t.oom_kills,
            m.limit_bytes.map(mib).unwrap_or_else(|| "-".into())
        ));
    }
    if let Some(p) = t.peak_bytes {
        let mut floor = p as f64 * 1.15;
        if t.oom_kills > 0 {
            if let Some(l) = m.limit_bytes {
                floor = floor.max(clw_diag::analysis::recommend::oom_bump(l as f64));
            }
        }
        t.warnings.push(format!(
            "whatever limit is chosen should be at least {} (peak × 1.15{}); record a trace (clw-diag record --cgroup {}) for a recommendation",
            mib(floor as u64),
            if t.oom_kills > 0 { ", bumped after OOM kills" } else { "" },
            m.path
        ));
    }
    Ok(t)
}

fn from_prometheus(url: &str, a: &RecommendArgs, plan: &Plan) -> anyhow::Result<Vec<Target>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
        .floor();
    let selector = a
        .selector
        .as_deref()
        .map(|s| {
            s.trim()
                .trim_start_matches('{')
                .trim_end_matches('}')
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    let range = format!("{}s", plan.interval_s.round().max(1.0));
    let query = a.query.clone().unwrap_or_else(|| {
        format!("max_over_time(container_memory_working_set_bytes{{{selector}}}[{range}])")
    });
    let q = RangeQuery {
        url: url.to_string(),
        query: query.clone(),
        start: now - a.since,
        end: now,
        step: plan.interval_s,
        timeout: Duration::from_secs_f64(a.timeout),
    };
    let (series, skipped) = prometheus::query_range(&q).map_err(|m| anyhow::anyhow!(m))?;
    let (groups, _) = prometheus::group(series);
    if groups.iter().all(|g| g.v.is_empty()) {
        bail!(
            "{url}: the query returned no samples (empty result): {query}{}",
            if skipped.non_finite > 0 {
                format!(" ({} NaN/Inf values skipped)", skipped.non_finite)
            } else {
                String::new()
            }
        );
    }
    let mut ooms: std::collections::BTreeMap<String, Vec<(f64, u64)>> = Default::default();
    if a.oom_metric {
        let sel = if selector.is_empty() {
            String::new()
        } else {
            format!(",{selector}")
        };
        let q = RangeQuery {
            query: format!(
                "max_over_time(kube_pod_container_status_last_terminated_reason{{reason=\"OOMKilled\"{sel}}}[{range}])"
            ),
            ..q.clone()
        };
        let (s, _) = prometheus::query_range(&q).map_err(|m| anyhow::anyhow!(m))?;
        for g in prometheus::group(s).0 {
            // An OOM kill where the gauge turns 1 (it stays 1 until the next termination).
            let mut prev = 0.0;
            let mut edges = Vec::new();
            for (t, v) in g.t.iter().zip(&g.v) {
                if *v >= 1.0 && prev < 1.0 {
                    edges.push((*t, 1));
                }
                prev = *v;
            }
            ooms.entry(g.key()).or_default().extend(edges);
        }
    }
    Ok(groups
        .into_iter()
        .filter(|g| !g.v.is_empty())
        .map(|g| {
            let key = g.key();
            let o = ooms.get(&key).cloned().unwrap_or_default();
            let mut t = prom_target(g, key, query.clone(), plan, &o);
            t.skipped_non_finite = skipped.non_finite;
            t
        })
        .collect())
}

pub fn run(a: RecommendArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let plan = Plan {
        policies: policies(a.policy),
        interval_s: a.interval,
        backtest: a.backtest,
    };
    let emit_kind = a.emit.map(|e| match e {
        EmitArg::K8s => Emit::K8s,
        EmitArg::Vpa => Emit::Vpa,
        EmitArg::Compose => Emit::Compose,
        EmitArg::Systemd => Emit::Systemd,
        EmitArg::Openclaw => Emit::Openclaw,
        EmitArg::Json => Emit::Json,
    });
    if matches!(emit_kind, Some(k) if k != Emit::Json) && a.policy == PolicyArg::All {
        bail!(
            "--emit {:?} needs one --policy (seed, vpa, krr or clw), not all",
            a.emit
                .unwrap_or(EmitArg::K8s)
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default()
        );
    }
    let mut targets = Vec::new();
    for f in &a.files {
        from_file(f, &a, &plan, &mut targets)?;
    }
    if let Some(c) = &a.cgroup {
        targets.push(from_cgroup(c, g, &plan).with_context(|| format!("--cgroup {c}"))?);
    }
    if let Some(url) = &a.prometheus {
        targets.extend(from_prometheus(url, &a, &plan)?);
    }
    // The table lists the warnings under it; other outputs get them on stderr.
    let table = a.emit.is_none() && out.format == clw_diag::render::Format::Table;
    for t in targets.iter().filter(|_| !table) {
        for w in &t.warnings {
            out.note(&format!("{}: {w}", t.target));
        }
    }
    if let Some(p) = &a.plot {
        if let Some(t) = targets.iter().find(|t| !t.peaks.is_empty()) {
            recommend_plot::plot(t, p)?;
            out.detail(&format!("plot written to {}", p.display()));
        } else {
            bail!(
                "{}: nothing to plot (no target has interval peaks)",
                p.display()
            );
        }
    }
    let report = RecommendReport {
        targets,
        warnings: Vec::new(),
    };
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    match emit_kind {
        Some(k) => emit(
            &report,
            k,
            (plan.policies.len() == 1).then(|| plan.policies[0]),
            &mut w,
        )?,
        None => render::render(&report, out.format, out.style, &mut w)?,
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
