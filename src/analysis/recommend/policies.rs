//! The four policies (`seed`, `vpa`, `krr`, `clw`; see the module doc of
//! [`super`]) and their answer for one history.

use serde::Serialize;

use super::history::History;
use super::vpa::vpa;
use super::{bytes, mib, Policy, MIB, MIN_INTERVALS};

/// The VPA's bump after an OOM kill at memory `m` bytes: max(m + 100 MiB, m × 1.2)
/// (`OOMMinBumpUp`, `OOMBumpUpRatio` in the VPA's `model/container.go`).
pub fn oom_bump(m: f64) -> f64 {
    (m + 100.0 * MIB).max(m * 1.2)
}

/// Whether a recommendation could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The policy gave numbers.
    Ok,
    /// Fewer than [`MIN_INTERVALS`] interval peaks (or a single live-cgroup point): no numbers.
    InsufficientData,
}

/// One policy's answer for one target. Sizes in bytes, rounded up to whole bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    /// The policy that made it.
    pub policy: Policy,
    /// Whether it could be made.
    pub status: Status,
    /// `null` with `insufficient-data`.
    pub request_bytes: Option<u64>,
    /// `null` with `insufficient-data`, and for `vpa` when its upper bound is unbounded.
    pub limit_bytes: Option<u64>,
    /// VPA only: its lower bound (the upper bound is `limit_bytes`; `null` elsewhere).
    pub lower_bound_bytes: Option<u64>,
    /// How the numbers were made, for people.
    pub basis: String,
    /// What to be careful about with this answer.
    pub warnings: Vec<String>,
}

fn insufficient(policy: Policy, h: &History) -> Recommendation {
    Recommendation {
        policy,
        status: Status::InsufficientData,
        request_bytes: None,
        limit_bytes: None,
        lower_bound_bytes: None,
        basis: format!(
            "{} interval peak(s); at least {MIN_INTERVALS} are needed",
            h.peaks.len()
        ),
        warnings: Vec::new(),
    }
}

/// Recommend with `policy` on `h`. Fewer than [`MIN_INTERVALS`] peaks: `insufficient-data`.
pub fn recommend(h: &History, policy: Policy) -> Recommendation {
    if h.peaks.len() < MIN_INTERVALS {
        return insufficient(policy, h);
    }
    let n = h.peaks.len();
    let max = h.max_bytes().unwrap_or(0.0);
    let p95 = h.percentile(0.95).unwrap_or(0.0);
    let (request, limit, lower, basis) = match policy {
        Policy::Seed => (
            p95 * 1.1,
            p95 * 1.5,
            None,
            format!("P95 of {n} interval peaks {} × 1.1 and × 1.5", mib(p95)),
        ),
        Policy::Krr => (
            max * 1.15,
            max * 1.15,
            None,
            format!("max of {n} interval peaks {} × 1.15", mib(max)),
        ),
        Policy::Clw => {
            let mut limit = max * 1.15;
            let mut basis = format!(
                "request P95 {} × 1.1, limit peak {} × 1.15",
                mib(p95),
                mib(max)
            );
            for (m, _) in h.memory_at_ooms() {
                if oom_bump(m) > limit {
                    limit = oom_bump(m);
                    basis = format!(
                        "request P95 {} × 1.1, limit max(+100 MiB, × 1.2) of the {} at an OOM kill",
                        mib(p95),
                        mib(m)
                    );
                }
            }
            ((p95 * 1.1).min(limit), limit, None, basis)
        }
        Policy::Vpa => {
            let v = vpa(h);
            let basis = format!(
                "VPA: {} daily peak(s), confidence {:.2} d; target P90, bounds P50/P95, +15 %, at least 250 MiB",
                v.windows, v.confidence_days
            );
            (
                v.target,
                v.upper.unwrap_or(f64::INFINITY),
                Some(v.lower),
                basis,
            )
        }
    };
    let mut r = Recommendation {
        policy,
        status: Status::Ok,
        request_bytes: Some(bytes(request)),
        limit_bytes: limit.is_finite().then(|| bytes(limit)),
        lower_bound_bytes: lower.map(bytes),
        basis,
        warnings: Vec::new(),
    };
    if let Some(l) = r.limit_bytes {
        if (l as f64) < max {
            r.warnings.push(format!(
                "limit {} is below the observed peak {}: that peak would have been OOM-killed",
                mib(l as f64),
                mib(max)
            ));
        }
        if r.request_bytes == Some(l) {
            r.warnings.push(
                "request equals limit (Guaranteed QoS): no room to burst, any peak above it is an OOM kill"
                    .into(),
            );
        }
    } else {
        r.warnings
            .push("no upper bound: the history is too short for the VPA's confidence".into());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::history::{history_warnings, OomEvent};
    use super::super::{backtest, GIB, MIB};
    use super::*;

    use super::super::history::hist;

    #[test]
    fn seed_on_a_constant_series() {
        let h = hist(&[100.0 * MIB; 30], 300.0);
        let r = recommend(&h, Policy::Seed);
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.request_bytes, Some((110.0 * MIB).ceil() as u64));
        assert_eq!(r.limit_bytes, Some(150 * 1048576));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn krr_is_max_plus_15_percent_and_warns_request_equals_limit() {
        let mut v = vec![100.0 * MIB; 30];
        v[7] = 200.0 * MIB;
        let r = recommend(&hist(&v, 300.0), Policy::Krr);
        assert_eq!(r.request_bytes, Some((230.0 * MIB).ceil() as u64));
        assert_eq!(r.request_bytes, r.limit_bytes);
        assert!(r
            .warnings
            .iter()
            .any(|w| w.contains("request equals limit")));
    }

    #[test]
    fn seed_limit_below_a_rare_peak_is_flagged_clw_is_not() {
        // 40 intervals at 100 MiB, one at 400 MiB: P95 is 100 MiB, seed's limit 150 MiB.
        let mut v = vec![100.0 * MIB; 40];
        v[20] = 400.0 * MIB;
        let h = hist(&v, 300.0);
        let seed = recommend(&h, Policy::Seed);
        assert_eq!(seed.limit_bytes, Some(150 * 1048576));
        assert!(seed
            .warnings
            .iter()
            .any(|w| w.contains("below the observed peak")));
        let clw = recommend(&h, Policy::Clw);
        assert_eq!(clw.limit_bytes, Some((460.0 * MIB).ceil() as u64));
        assert_eq!(clw.request_bytes, Some((110.0 * MIB).ceil() as u64));
        assert!(clw.warnings.is_empty());
    }

    #[test]
    fn clw_bumps_after_an_oom_kill() {
        let mut h = hist(&[100.0 * MIB; 10], 60.0);
        h.ooms.push(OomEvent {
            t_s: 300.0,
            count: 1,
        });
        // Memory at the kill = the peak around it (no limit known): 100 MiB → +100 MiB.
        assert_eq!(recommend(&h, Policy::Clw).limit_bytes, Some(200 * 1048576));
        // With a known limit of 1 GiB: × 1.2 wins.
        h.limit_bytes = Some(GIB);
        assert_eq!(
            recommend(&h, Policy::Clw).limit_bytes,
            Some((1.2 * GIB).ceil() as u64)
        );
    }

    #[test]
    fn insufficient_data_is_an_answer_not_a_panic() {
        for v in [vec![], vec![5.0], vec![5.0, 6.0]] {
            let h = hist(&v, 300.0);
            for p in Policy::ALL {
                let r = recommend(&h, p);
                assert_eq!(r.status, Status::InsufficientData);
                assert_eq!((r.request_bytes, r.limit_bytes), (None, None));
            }
            assert!(history_warnings(&h)
                .iter()
                .any(|w| w.contains("insufficient data")));
            let b = backtest(&h, 0.7, &Policy::ALL);
            assert!(b.policies.iter().all(|p| p.slack_gib_hours.is_none()));
        }
    }
}
