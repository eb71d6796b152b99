//! `clw-diag analyze memory-trace`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use clw_diag::analysis::analyze;
use clw_diag::base::size;
use clw_diag::render::plot;

use super::{GlobalArgs, Output};

pub const LONG_ABOUT: &str = "\
Analyse memory traces: is it leaking, how fast, and when will it hit the limit?

Reads the JSON Lines traces of `clw-diag record`, JSON documents with a \"samples\" array, CSV \
with a header row (a time column in seconds, Unix epoch or RFC 3339; memory columns in bytes or \
with the unit in the header such as rss_kb or \"rss (MiB)\"), and Prometheus query_range \
responses.

The verdict does not rest on a least-squares line through raw samples, which garbage-collector \
sawtooth, warm-up, restarts and autocorrelated noise all fool. The trace is split at restarts, \
reduced to its lower envelope (per-window minima), tested for a trend with Mann-Kendall \
corrected for serial correlation (Hamed-Rao), and the rate estimated with Theil-Sen and its 95% \
interval; least squares and R² are reported beside them. Verdicts: leak, suspected, \
warmup-plateau, level-shift, no-leak, insufficient-data. See docs/leak-detection.md.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag analyze memory-trace memory-trace.json
  clw-diag analyze memory-trace trace.json --limit 2Gi --plot leak.svg
  clw-diag analyze memory-trace prom.json --json --fail-on-leak";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_limit_is_refused() {
        assert!(parse_limit("0").is_err());
        assert!(parse_limit("0Mi").is_err());
        assert_eq!(parse_limit("1Ki"), Ok(1024));
    }
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(subcommand)]
    pub what: AnalyzeWhat,
}

#[derive(Debug, Subcommand)]
pub enum AnalyzeWhat {
    /// Leak verdict, leak rate with a confidence interval, and time to the memory limit.
    #[command(long_about = LONG_ABOUT, after_help = AFTER_HELP)]
    MemoryTrace(TraceArgs),
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Trace files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Run the leak detection (the default analysis; kept for the runbooks' command line).
    #[arg(long)]
    pub leak_detection: bool,
    /// The memory column to analyse, as the trace names it (anon_bytes) or as the source's
    /// header does (rss_kb in a CSV or pidstat export); default: anon or RSS for processes,
    /// anon or working set for cgroups.
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,
    /// The memory limit to project against: 2048Mi or 2Gi (powers of 1024), 2G (10^9, as
    /// Kubernetes), or bytes more than 0 (default: the trace's cgroup limit, else the host's MemTotal).
    #[arg(long, value_name = "QUANTITY", value_parser = parse_limit)]
    pub limit: Option<u64>,
    /// Draw memory over time, the envelope, the trend with its band, the limit and the projected
    /// crossing into this .svg or .png file (with several traces, the first).
    #[arg(long, value_name = "OUT.svg|OUT.png")]
    pub plot: Option<PathBuf>,
    /// Exit with code 1 when any verdict is leak.
    #[arg(long)]
    pub fail_on_leak: bool,
    /// Growth over the analysed window below which a trend is only "suspected", percent.
    #[arg(long, value_name = "PCT", default_value_t = 5.0)]
    pub min_growth: f64,
    /// Growth rate below which a leak is flagged as slow, in bytes per hour (1Mi = 2^20, 1M =
    /// 10^6, or bytes).
    #[arg(long, value_name = "QUANTITY", value_parser = parse_quantity, default_value = "1Mi")]
    pub min_rate: u64,
}

/// `--limit` and `--min-rate`: the size grammar of [`clw_diag::base::size`].
fn parse_quantity(s: &str) -> Result<u64, size::SizeError> {
    size::parse(s)
}

/// A limit of 0 bytes would make every trace "already above the limit".
fn parse_limit(s: &str) -> Result<u64, String> {
    match parse_quantity(s).map_err(|e| e.to_string())? {
        0 => Err("a limit of 0 bytes projects nothing: give the limit (e.g. 2Gi, 512Mi)".into()),
        l => Ok(l),
    }
}

pub fn run(a: AnalyzeArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let AnalyzeWhat::MemoryTrace(a) = a.what;
    let report = analyze::run(&analyze::Request {
        files: a.files.clone(),
        metric: a.metric.clone(),
        limit_bytes: a.limit,
        min_rate_bytes_per_h: a.min_rate as f64,
        min_growth_pct: a.min_growth,
        host_total_bytes: clw_diag::sample::host::read_host(&g.proc_root)
            .ok()
            .map(|h| h.total_bytes),
    })?;
    if let Some(p) = &a.plot {
        if let (Some(s), Some(r)) = (report.series.first(), report.results.first()) {
            let scale = if report.host_only_limit[0] {
                plot::Scale::Data
            } else {
                plot::Scale::Limit
            };
            plot::plot(s, r, p, scale)?;
            out.detail(&format!("plot written to {}", p.display()));
        }
    }
    for w in &report.warnings {
        out.note(w);
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    out.render(&report, None, &mut w)?;
    w.flush()?;
    Ok(if a.fail_on_leak && report.any_leak() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
