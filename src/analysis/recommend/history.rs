//! The history a policy is fitted on: per-interval peaks of raw samples (so a fast sampler does
//! not weigh more than a slow one), nearest-rank percentiles, the OOM kills seen, and the
//! warnings about a history as a whole (too short, capped by its limit, OOM kills).

use serde::Serialize;

use super::{mib, MIN_INTERVALS, SHORT_HISTORY_S, SHORT_INTERVALS};

/// The peak of one interval of the history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntervalPeak {
    /// Start of the interval, seconds since the first sample.
    pub start_s: f64,
    /// Largest sample of the interval, bytes.
    pub peak_bytes: f64,
    /// Time of that sample.
    pub peak_at_s: f64,
    /// First and last sample times of the interval.
    pub first_s: f64,
    /// Time of the interval's last sample, seconds since the first sample.
    pub last_s: f64,
    /// Samples in the interval.
    pub samples: usize,
}

/// An OOM kill seen in the history (trace `oom_kill` event, kube-state-metrics).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct OomEvent {
    /// Seconds since the first sample.
    pub t_s: f64,
    /// Kills at that time (a counter may rise by more than one between samples).
    pub count: u64,
}

/// What a policy is fitted on.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Interval peaks in time order.
    pub peaks: Vec<IntervalPeak>,
    /// Interval length, seconds.
    pub interval_s: f64,
    /// OOM kills in time order.
    pub ooms: Vec<OomEvent>,
    /// The memory limit in force while the history was recorded, bytes (memory at an OOM kill).
    pub limit_bytes: Option<f64>,
}

impl History {
    /// Build the history of raw samples `t` (seconds, increasing) and `v` (bytes).
    pub fn from_samples(t: &[f64], v: &[f64], interval_s: f64) -> History {
        History {
            peaks: interval_peaks(t, v, interval_s),
            interval_s,
            ..History::default()
        }
    }

    /// Raw samples behind the peaks.
    pub fn samples(&self) -> usize {
        self.peaks.iter().map(|p| p.samples).sum()
    }

    /// Seconds from the first to the last sample.
    pub fn span_s(&self) -> f64 {
        match (self.peaks.first(), self.peaks.last()) {
            (Some(a), Some(b)) => b.last_s - a.first_s,
            _ => 0.0,
        }
    }

    /// Largest interval peak, bytes.
    pub fn max_bytes(&self) -> Option<f64> {
        self.peaks.iter().map(|p| p.peak_bytes).reduce(f64::max)
    }

    /// Nearest-rank percentile (`p` in 0–1) of the interval peaks, bytes.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let mut v: Vec<f64> = self.peaks.iter().map(|p| p.peak_bytes).collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, p)
    }

    /// OOM kills in total.
    pub fn oom_kills(&self) -> u64 {
        self.ooms.iter().map(|o| o.count).sum()
    }

    /// The first `n` intervals (and the OOM kills before the next one), for back-testing.
    pub fn head(&self, n: usize) -> History {
        let n = n.min(self.peaks.len());
        let cut = self.peaks.get(n).map_or(f64::INFINITY, |p| p.start_s);
        History {
            peaks: self.peaks[..n].to_vec(),
            interval_s: self.interval_s,
            ooms: self.ooms.iter().filter(|o| o.t_s < cut).copied().collect(),
            limit_bytes: self.limit_bytes,
        }
    }

    /// Memory at each OOM kill: the limit in force when known, else the largest peak of the
    /// kill's interval and the one before it.
    pub(crate) fn memory_at_ooms(&self) -> Vec<(f64, u64)> {
        self.ooms
            .iter()
            .map(|o| {
                let around = self
                    .peaks
                    .iter()
                    .filter(|p| p.start_s <= o.t_s && o.t_s < p.start_s + 2.0 * self.interval_s)
                    .map(|p| p.peak_bytes)
                    .fold(0.0, f64::max);
                (self.limit_bytes.unwrap_or(0.0).max(around), o.count)
            })
            .collect()
    }
}

/// Per-interval peaks of samples `t` (seconds, increasing) and `v` (bytes). Intervals are
/// `interval_s` long from the first sample; intervals without samples are left out.
pub fn interval_peaks(t: &[f64], v: &[f64], interval_s: f64) -> Vec<IntervalPeak> {
    let mut out: Vec<IntervalPeak> = Vec::new();
    let (Some(&t0), true) = (t.first(), interval_s > 0.0) else {
        return out;
    };
    let mut cur: Option<(f64, IntervalPeak)> = None;
    for (&ti, &vi) in t.iter().zip(v) {
        let k = ((ti - t0) / interval_s).floor();
        match &mut cur {
            Some((ck, p)) if *ck == k => {
                if vi > p.peak_bytes {
                    p.peak_bytes = vi;
                    p.peak_at_s = ti;
                }
                p.last_s = ti;
                p.samples += 1;
            }
            _ => {
                if let Some((_, p)) = cur.take() {
                    out.push(p);
                }
                cur = Some((
                    k,
                    IntervalPeak {
                        start_s: t0 + k * interval_s,
                        peak_bytes: vi,
                        peak_at_s: ti,
                        first_s: ti,
                        last_s: ti,
                        samples: 1,
                    },
                ));
            }
        }
    }
    out.extend(cur.map(|c| c.1));
    out
}

/// Nearest-rank percentile of `sorted` (ascending), `p` in 0–1: the smallest value with at
/// least `p` of the values at or below it.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Warnings about a history as a whole: too short, OOM kills, the peak at the limit.
pub fn history_warnings(h: &History) -> Vec<String> {
    let mut w = Vec::new();
    let span = h.span_s();
    if h.peaks.len() >= MIN_INTERVALS && (span < SHORT_HISTORY_S || h.peaks.len() < SHORT_INTERVALS)
    {
        let why = if span < SHORT_HISTORY_S {
            format!("{:.1} h of history, less than 24 h", span / 3600.0)
        } else {
            format!(
                "{} intervals of {:.0} s, fewer than {SHORT_INTERVALS}",
                h.peaks.len(),
                h.interval_s
            )
        };
        w.push(format!(
            "history is short ({why}): a daily or weekly peak may be missing from it"
        ));
    }
    if h.peaks.len() < MIN_INTERVALS {
        w.push(format!(
            "insufficient data: {} interval peak(s) of {:.0} s; at least {MIN_INTERVALS} are needed",
            h.peaks.len(),
            h.interval_s
        ));
    }
    let kills = h.oom_kills();
    if kills > 0 {
        w.push(format!(
            "{kills} OOM kill(s) in the history: the usage seen is a lower bound of what the workload wanted; limits are bumped (max(+100 MiB, × 1.2) of the memory at the kill) by clw and vpa"
        ));
    }
    if let (Some(l), Some(m)) = (h.limit_bytes, h.max_bytes()) {
        if m >= 0.95 * l {
            w.push(format!(
                "the observed peak {} reached {:.0} % of the limit {}: usage was probably capped by the limit (reclaim, OOM), so the real need may be higher",
                mib(m),
                m * 100.0 / l,
                mib(l)
            ));
        }
    }
    w
}

/// A history of one sample per interval (for the tests of the policies).
#[cfg(test)]
pub(crate) fn hist(v: &[f64], interval_s: f64) -> History {
    let t: Vec<f64> = (0..v.len()).map(|i| i as f64 * interval_s).collect();
    History::from_samples(&t, v, interval_s)
}

#[cfg(test)]
mod tests {
    use super::super::MIB;
    use super::*;

    #[test]
    fn peaks_per_interval() {
        let t = [0.0, 1.0, 2.0, 3.0, 4.0, 9.0];
        let v = [5.0, 7.0, 6.0, 1.0, 2.0, 3.0];
        let p = interval_peaks(&t, &v, 3.0);
        assert_eq!(p.len(), 3, "the empty interval [6, 9) is left out");
        assert_eq!(
            (p[0].peak_bytes, p[0].peak_at_s, p[0].samples),
            (7.0, 1.0, 3)
        );
        assert_eq!((p[1].start_s, p[1].peak_bytes), (3.0, 2.0));
        assert_eq!((p[2].start_s, p[2].peak_bytes), (9.0, 3.0));
        assert!(interval_peaks(&[], &[], 3.0).is_empty());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.95), Some(19.0));
        assert_eq!(percentile(&v, 0.5), Some(10.0));
        assert_eq!(percentile(&v, 1.0), Some(20.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn short_history_and_limit_warnings() {
        let mut h = hist(&[100.0 * MIB; 5], 300.0);
        h.limit_bytes = Some(100.0 * MIB);
        let w = history_warnings(&h);
        assert!(w.iter().any(|w| w.contains("history is short")), "{w:?}");
        assert!(w.iter().any(|w| w.contains("100 % of the limit")), "{w:?}");
    }
}
