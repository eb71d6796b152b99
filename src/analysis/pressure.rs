//! The memory pressure state of a cgroup or host: the runbooks' `clw-memory-pressure` leading
//! indicator.
//!
//! - `critical`: working set at or above 95 % of the (effective) limit, or the OOM-kill counter
//!   rose since the previous sample (only known with `--watch`).
//! - `warning`: working set at or above 85 % of the limit, PSI `some` rising (10 s average at
//!   least 1 % and above the 60 s average), or OOM kills recorded since the cgroup was created.
//! - `ok` otherwise.
//!
//! The working set (usage − inactive file) is used rather than raw usage because the kernel
//! reclaims inactive page cache before it OOM-kills; kubelet evicts on the same figure.

use serde::Serialize;

use crate::sample::files::Psi;

/// Pressure state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PressureState {
    Ok,
    Warning,
    Critical,
}

impl PressureState {
    pub fn as_str(self) -> &'static str {
        match self {
            PressureState::Ok => "ok",
            PressureState::Warning => "warning",
            PressureState::Critical => "critical",
        }
    }
}

/// Percent of the limit at which the state becomes `warning`.
pub const WARNING_PCT: f64 = 85.0;
/// Percent of the limit at which the state becomes `critical`.
pub const CRITICAL_PCT: f64 = 95.0;

/// A state with the reasons that produced it.
#[derive(Debug, Clone, Serialize)]
pub struct Pressure {
    pub state: PressureState,
    /// Why, in words; empty when `ok`.
    pub reasons: Vec<String>,
}

/// What the assessment looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct PressureInput<'a> {
    /// Working set (or used memory for the host) as a percent of the limit.
    pub used_pct: Option<f64>,
    pub psi: Option<&'a Psi>,
    /// OOM-kill counter now.
    pub oom_kills: Option<u64>,
    /// OOM-kill counter at the previous sample (`--watch`); `None` for a one-shot sample.
    pub oom_kills_before: Option<u64>,
    /// What `used_pct` measures, for the reason text ("working set", "used memory").
    pub used_what: &'a str,
    /// Since when the OOM-kill counter counts ("boot" for the host, "cgroup creation").
    pub counted_since: &'a str,
}

/// Assess the pressure state.
pub fn assess(input: PressureInput<'_>) -> Pressure {
    let mut state = PressureState::Ok;
    let mut reasons = Vec::new();
    let mut raise = |s: PressureState, why: String| {
        state = state.max(s);
        reasons.push(why);
    };
    if let Some(p) = input.used_pct {
        if p >= CRITICAL_PCT {
            raise(
                PressureState::Critical,
                format!(
                    "{} at {p:.1}% of the limit (>= {CRITICAL_PCT}%)",
                    input.used_what
                ),
            );
        } else if p >= WARNING_PCT {
            raise(
                PressureState::Warning,
                format!(
                    "{} at {p:.1}% of the limit (>= {WARNING_PCT}%)",
                    input.used_what
                ),
            );
        }
    }
    if let Some(psi) = input.psi {
        if psi.rising() {
            raise(
                PressureState::Warning,
                format!(
                    "PSI some rising: avg10 {:.2}% > avg60 {:.2}%",
                    psi.some.avg10_pct, psi.some.avg60_pct
                ),
            );
        }
    }
    match (input.oom_kills, input.oom_kills_before) {
        (Some(now), Some(before)) if now > before => raise(
            PressureState::Critical,
            format!("{} new OOM kill(s)", now - before),
        ),
        (Some(now), None) if now > 0 => raise(
            PressureState::Warning,
            format!(
                "{now} OOM kill(s) since {} (use --watch to see new ones)",
                input.counted_since
            ),
        ),
        _ => {}
    }
    Pressure { state, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_and_oom_rise() {
        let s = |pct: f64| {
            assess(PressureInput {
                used_pct: Some(pct),
                ..Default::default()
            })
            .state
        };
        assert_eq!(s(84.9), PressureState::Ok);
        assert_eq!(s(85.0), PressureState::Warning);
        assert_eq!(s(95.0), PressureState::Critical);
        let p = assess(PressureInput {
            used_pct: Some(10.0),
            oom_kills: Some(3),
            oom_kills_before: Some(2),
            ..Default::default()
        });
        assert_eq!(p.state, PressureState::Critical);
        let p = assess(PressureInput {
            oom_kills: Some(3),
            ..Default::default()
        });
        assert_eq!(p.state, PressureState::Warning);
    }
}
