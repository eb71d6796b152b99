//! Tables of `analyze memory-trace`.

use super::units::{duration, iec};
use super::{col, Cell, Report, Table};
use crate::analysis::leak::{LeakResult, Verdict};

pub use crate::analysis::analyze::AnalyzeReport;

fn rate(b: f64) -> String {
    format!("{:+.2} MiB/h", b * 3600.0 / 1048576.0)
}

/// The TIME TO LIMIT cell: an OOM kill that ended the trace, a limit already reached, or the
/// projected time.
fn time_to_limit(r: &LeakResult) -> String {
    if r.ended_in_oom_kill == Some(true) {
        let at = r.oom_kills_s.last().copied().unwrap_or(0.0);
        return format!("OOM-killed at {}", duration(at));
    }
    match r.time_to_limit_s {
        Some(t) if t <= 0.0 => "already above the limit".into(),
        Some(t) => duration(t),
        None => "-".into(),
    }
}

impl Report for AnalyzeReport {
    fn tables(&self) -> Vec<Table> {
        let mut notes = Vec::new();
        for (i, r) in self.results.iter().enumerate() {
            let name = r.file.rsplit('/').next().unwrap_or(&r.file);
            // The workload the trace's header names (`record --cgroup NAME`).
            if let Some(id) = self.series.get(i).and_then(|s| s.identity.as_ref()) {
                if let Some(w) = &id.workload {
                    notes.push(super::one_line(&format!(
                        "{name}: workload {w} (cgroup {})",
                        id.cgroup.as_deref().unwrap_or("-")
                    )));
                }
            }
            notes.push(format!("{name}: metric {}", r.metric_reason));
            if let (Some(p), Some(n)) = (r.mk_p_value, r.effective_samples) {
                notes.push(format!(
                    "{name}: Mann-Kendall p = {p:.2e} on {} envelope points ({n:.0} effective after the serial-correlation correction), window {}",
                    r.envelope_points,
                    r.envelope_window_s.map(duration).unwrap_or_default()
                ));
            }
            // A plateau's warm-up (a runtime's or a start-up left out has its own note).
            if let Some(w) = r
                .warmup_excluded_s
                .filter(|_| r.verdict == Verdict::WarmupPlateau)
            {
                notes.push(format!(
                    "{name}: warm-up of {} before the plateau",
                    duration(w)
                ));
            }
            if let (Some(src), Some(l)) = (&r.limit_source, r.limit_bytes) {
                notes.push(format!("{name}: limit {} ({src})", iec(l)));
            }
            let at_limit =
                r.ended_in_oom_kill == Some(true) || r.time_to_limit_s.is_some_and(|t| t <= 0.0);
            if at_limit {
                // The table says "OOM-killed" or "already above the limit": no interval.
            } else if let Some([lo, hi]) = r.time_to_limit_interval_s {
                notes.push(format!(
                    "{name}: time to limit between {} and {}",
                    lo.map(duration).unwrap_or_else(|| "-".into()),
                    hi.map(duration)
                        .unwrap_or_else(|| "never (the interval includes no growth)".into())
                ));
            }
            match (r.oom_kill_count, r.ended_in_oom_kill) {
                (Some(n), Some(true)) => notes.push(format!(
                    "{name}: the trace ends in an OOM kill ({n} recorded, the last at {})",
                    duration(r.oom_kills_s.last().copied().unwrap_or(0.0))
                )),
                (Some(n), _) if n > 0 => {
                    notes.push(format!("{name}: {n} OOM kill(s) recorded in the trace"))
                }
                _ => {}
            }
            for f in r.flags.iter().chain(&r.notes) {
                notes.push(format!("{name}: {f}"));
            }
        }
        notes.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        notes.extend(self.next_steps.iter().map(|n| format!("next: {n}")));
        vec![Table {
            title: None,
            columns: vec![
                col("FILE", "file"),
                col("VERDICT", "verdict"),
                col("CONFIDENCE", "confidence"),
                col("SLOPE", "slope_bytes_per_s"),
                col("95% CI", "slope_ci_bytes_per_s"),
                col("OLS", "ols_slope_bytes_per_s"),
                col("R²", "r_squared"),
                col("GROWTH", "growth_pct"),
                col("TIME TO LIMIT", "time_to_limit_s"),
            ],
            rows: self
                .results
                .iter()
                .map(|r| {
                    vec![
                        Cell::text(r.file.rsplit('/').next().unwrap_or(&r.file)),
                        Cell::text(r.verdict.as_str()),
                        Cell::Pct(Some(r.confidence * 100.0)),
                        Cell::text(r.slope_bytes_per_s.map(rate).unwrap_or_else(|| "-".into())),
                        Cell::text(
                            r.slope_ci_bytes_per_s
                                .map(|[a, b]| format!("[{}, {}]", rate(a), rate(b)))
                                .unwrap_or_else(|| "-".into()),
                        ),
                        Cell::text(
                            r.ols_slope_bytes_per_s
                                .map(rate)
                                .unwrap_or_else(|| "-".into()),
                        ),
                        Cell::text(
                            r.r_squared
                                .map(|x| format!("{x:.3}"))
                                .unwrap_or_else(|| "-".into()),
                        ),
                        Cell::Pct(r.growth_pct),
                        Cell::text(time_to_limit(r)),
                    ]
                })
                .collect(),
            notes,
        }]
    }
}
