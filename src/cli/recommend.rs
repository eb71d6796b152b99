//! `clw-diag recommend`: memory requests and limits from observed usage (traces, a live
//! cgroup, or a Prometheus server). Arguments → inputs read into histories → the policies of
//! `analysis::recommend` → table, JSON, an `--emit` snippet and an optional plot.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, ValueEnum};
use clw_diag::analysis::recommend::sources::{self, Plan, PrometheusSource, Request};
use clw_diag::analysis::recommend::Policy;
use clw_diag::base::duration;
use clw_diag::render::recommend::{emit, Emit};
use clw_diag::render::recommend_plot;

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
  clw-diag recommend --cgroup shop/web-5d8f7c9b4-x2x9z/hog
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
    /// A live memory cgroup: relative to the memory hierarchy, or absolute, or a workload
    /// (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of
    /// 6+ hex, a pod UID, a unit; e.g. labproj/hogsvc).
    #[arg(long, value_name = "PATH|NAME")]
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
    /// How far back to query Prometheus (30m, 1.5h, 7d, 1w; a bare number is seconds).
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
    /// The interval whose peaks the policies use (30s, 5m, 1.5h, 1d; a bare number is seconds) [default: 5m, or shorter for a
    /// history under 100 minutes: the longest of 1s…5m that still gives 20 intervals].
    #[arg(long, value_name = "DURATION", value_parser = parse_span)]
    pub interval: Option<f64>,
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

/// A span in the grammar of [`clw_diag::base::duration`] (`90s`, `5m`, `1.5h`, `7d`, `1w`, bare
/// seconds), 10 ms to 3660 days, as seconds.
fn parse_span(s: &str) -> Result<f64, duration::DurationError> {
    duration::parse_within(s, Duration::from_millis(10), duration::DAY * 3660)
        .map(|d| d.as_secs_f64())
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

pub fn run(a: RecommendArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let plan = Plan {
        policies: policies(a.policy),
        interval_s: a.interval,
        backtest: a.backtest,
        metric: a.metric.clone(),
        host_total_bytes: clw_diag::sample::host::read_host(&g.proc_root)
            .ok()
            .map(|h| h.total_bytes),
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
    let req = Request {
        files: a.files.clone(),
        cgroup: a.cgroup.clone().map(|c| (g.cgroup_root.clone(), c)),
        host_root: Some(g.host_root.clone()),
        prometheus: a.prometheus.clone().map(|url| PrometheusSource {
            url,
            selector: a.selector.clone(),
            query: a.query.clone(),
            since_s: a.since,
            timeout: Duration::from_secs_f64(a.timeout),
            oom_metric: a.oom_metric,
        }),
    };
    let report = match sources::run(&req, &plan) {
        Err(e @ clw_diag::Error::NoSuchCgroup { .. })
        | Err(e @ clw_diag::Error::NoSuchWorkload { .. })
        | Err(e @ clw_diag::Error::NoMemoryHierarchy { .. }) => {
            return Err(anyhow::Error::new(e).context(format!(
                "--cgroup {}",
                a.cgroup.as_deref().unwrap_or_default()
            )))
        }
        r => r?,
    };
    // A table's notes go to stderr through out.render; other outputs get the warnings here.
    let table = a.emit.is_none() && out.format == clw_diag::render::Format::Table;
    for t in report.targets.iter().filter(|_| !table) {
        for w in &t.warnings {
            out.note(&format!("{}: {w}", t.target));
        }
    }
    if let Some(p) = &a.plot {
        if let Some(t) = report.targets.iter().find(|t| !t.peaks.is_empty()) {
            recommend_plot::plot(t, p)?;
            out.detail(&format!("plot written to {}", p.display()));
        } else {
            bail!(
                "{}: nothing to plot (no target has interval peaks)",
                p.display()
            );
        }
    }
    let policy = (plan.policies.len() == 1).then(|| plan.policies[0]);
    if let (Some(k), Some(p)) = (emit_kind, policy) {
        // A snippet of comments only is no configuration: say so and fail.
        if k != Emit::Json && !report.targets.iter().any(|t| has_numbers(t, p)) {
            bail!(
                "nothing to --emit: no target has a {} recommendation (insufficient data{})",
                p.as_str(),
                report
                    .targets
                    .iter()
                    .flat_map(|t| t.warnings.iter())
                    .find(|w| w.contains("--interval"))
                    .map(|w| format!("; {w}"))
                    .unwrap_or_default()
            );
        }
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    match emit_kind {
        Some(k) => emit(&report, k, policy, &mut w)?,
        None => out.render(&report, None, &mut w)?,
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `t` has a request and a limit under `policy`.
fn has_numbers(t: &clw_diag::analysis::recommend::Target, policy: Policy) -> bool {
    t.recommendations
        .iter()
        .any(|r| r.policy == policy && r.request_bytes.is_some() && r.limit_bytes.is_some())
}
