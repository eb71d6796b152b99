//! Back-testing a policy: fitted on the head of a history, replayed on the rest (intervals above
//! the request and the limit, and the slack in GiB·hours).

use serde::Serialize;

use super::history::History;
use super::policies::{recommend, Status};
use super::{Policy, GIB};

/// A back-test of one policy: fitted on the head of the history, replayed on the rest.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestPolicy {
    /// The policy back-tested.
    pub policy: Policy,
    /// Whether the fit on the head gave a recommendation.
    pub status: Status,
    /// The request fitted on the head, bytes; `None` when the fit gave none.
    pub request_bytes: Option<u64>,
    /// The limit fitted on the head, bytes; `None` when the fit gave none (or, for `vpa`, the
    /// upper bound is unbounded).
    pub limit_bytes: Option<u64>,
    /// Replayed intervals whose peak is above the request (`null` without a request).
    pub intervals_above_request: Option<usize>,
    /// Replayed intervals whose peak is above the limit: would-be OOM kills.
    pub intervals_above_limit: Option<usize>,
    /// Over-provisioning: Σ max(0, limit − peak) × interval over the replayed intervals, GiB·h.
    pub slack_gib_hours: Option<f64>,
}

/// The back-test of every policy on one history.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    /// Share of the intervals fitted on (0–1).
    pub fit_fraction: f64,
    /// Interval peaks the policies were fitted on (the head).
    pub fit_intervals: usize,
    /// Interval peaks replayed against the fitted numbers (the rest).
    pub replayed_intervals: usize,
    /// Length of the replayed part, seconds (intervals × interval).
    pub replayed_s: f64,
    /// One back-test per policy, in the order asked.
    pub policies: Vec<BacktestPolicy>,
}

/// Fit each of `policies` on the first `fraction` of the intervals (rounded to the nearest
/// interval) and replay the rest.
pub fn backtest(h: &History, fraction: f64, policies: &[Policy]) -> Backtest {
    let n = h.peaks.len();
    let fit_n = ((fraction * n as f64).round() as usize).min(n);
    let fit = h.head(fit_n);
    let replay = &h.peaks[fit_n..];
    let policies = policies
        .iter()
        .map(|&p| {
            let r = recommend(&fit, p);
            let above = |x: Option<u64>| {
                x.map(|x| replay.iter().filter(|q| q.peak_bytes > x as f64).count())
            };
            BacktestPolicy {
                policy: p,
                status: r.status,
                request_bytes: r.request_bytes,
                limit_bytes: r.limit_bytes,
                intervals_above_request: above(r.request_bytes),
                intervals_above_limit: above(r.limit_bytes),
                slack_gib_hours: r.limit_bytes.map(|l| {
                    replay
                        .iter()
                        .map(|q| (l as f64 - q.peak_bytes).max(0.0) * h.interval_s)
                        .sum::<f64>()
                        / GIB
                        / 3600.0
                }),
            }
        })
        .collect();
    Backtest {
        fit_fraction: fraction,
        fit_intervals: fit_n,
        replayed_intervals: replay.len(),
        replayed_s: replay.len() as f64 * h.interval_s,
        policies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::history::hist;

    #[test]
    fn backtest_by_hand() {
        // 10 intervals of 1 h: seven at 1 GiB, then 1, 2, 0.5 GiB.
        let g = GIB;
        let v = [g, g, g, g, g, g, g, g, 2.0 * g, 0.5 * g];
        let h = hist(&v, 3600.0);
        let b = backtest(&h, 0.7, &[Policy::Seed, Policy::Krr]);
        assert_eq!((b.fit_intervals, b.replayed_intervals), (7, 3));
        assert_eq!(b.replayed_s, 3.0 * 3600.0);
        // seed: request 1.1 GiB, limit 1.5 GiB; above request: 2 GiB; above limit: 2 GiB.
        let s = &b.policies[0];
        assert_eq!(s.intervals_above_request, Some(1));
        assert_eq!(s.intervals_above_limit, Some(1));
        // slack: (1.5 − 1) + 0 + (1.5 − 0.5) = 1.5 GiB·h.
        assert!((s.slack_gib_hours.unwrap() - 1.5).abs() < 1e-6);
        // krr: 1.15 GiB both; slack 0.15 + 0 + 0.65 = 0.8 GiB·h.
        let k = &b.policies[1];
        assert_eq!(
            (k.intervals_above_request, k.intervals_above_limit),
            (Some(1), Some(1))
        );
        assert!((k.slack_gib_hours.unwrap() - 0.8).abs() < 1e-6);
    }
}
