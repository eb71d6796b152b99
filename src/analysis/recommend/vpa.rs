//! The Kubernetes VPA recommender's memory estimate (kubernetes/autoscaler,
//! `vertical-pod-autoscaler/pkg/recommender`): daily peaks in a decaying exponential-bucket
//! histogram, target P90 and bounds P50/P95 with a safety margin and a confidence multiplier.

use super::history::History;
use super::policies::oom_bump;
use super::{DAY, MIB};

/// The VPA recommender's figures on `h` (bytes; `upper` is `None` when unbounded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpaEstimate {
    /// P90 of the decaying histogram + 15 % margin, at least 250 MiB: the request, bytes.
    pub target: f64,
    /// P50 + 15 % margin × (1 + 0.001/confidence)^−2, at least 250 MiB, bytes.
    pub lower: f64,
    /// P95 + 15 % margin × (1 + 1/confidence), at least 250 MiB, bytes; `None` (unbounded) when
    /// the confidence is 0.
    pub upper: Option<f64>,
    /// `getConfidence`: min(history in days, minutes covered by intervals / 1440), days.
    pub confidence_days: f64,
    /// 24 h windows with a peak.
    pub windows: usize,
}

// The VPA's memory histogram (`model/aggregations_config.go`): exponential buckets up to 1 TB,
// the first 10 MB wide, each 5 % wider than the one before.
const VPA_FIRST_BUCKET: f64 = 1e7;
const VPA_RATIO: f64 = 1.05;
const VPA_MAX: f64 = 1e12;
const VPA_MIN_MEMORY: f64 = 250.0 * MIB;

fn vpa_num_buckets() -> usize {
    ((1.0 + VPA_MAX * (VPA_RATIO - 1.0) / VPA_FIRST_BUCKET).ln() / VPA_RATIO.ln()).ceil() as usize
        + 1
}

/// The VPA's `FindBucket` for an exponential histogram.
pub fn vpa_bucket(v: f64) -> usize {
    if v < VPA_FIRST_BUCKET {
        return 0;
    }
    let b = ((v * (VPA_RATIO - 1.0) / VPA_FIRST_BUCKET + 1.0).ln() / VPA_RATIO.ln()) as usize;
    b.min(vpa_num_buckets() - 1)
}

/// The VPA's `GetBucketStart`.
pub fn vpa_bucket_start(b: usize) -> f64 {
    if b == 0 {
        return 0.0;
    }
    VPA_FIRST_BUCKET * (VPA_RATIO.powi(b as i32) - 1.0) / (VPA_RATIO - 1.0)
}

/// The VPA's `Percentile` of a histogram given as (bucket, weight): the end of the first
/// bucket at which the cumulative weight reaches `p` of the total.
fn vpa_percentile(buckets: &[(usize, f64)], p: f64) -> f64 {
    let total: f64 = buckets.iter().map(|b| b.1).sum();
    let mut sorted: Vec<(usize, f64)> = buckets.iter().copied().filter(|b| b.1 > 0.0).collect();
    sorted.sort_by_key(|b| b.0);
    let Some(&(last, _)) = sorted.last() else {
        return 0.0;
    };
    let mut sum = 0.0;
    let mut at = last;
    for &(b, w) in &sorted {
        sum += w;
        if sum >= p * total {
            at = b;
            break;
        }
    }
    if at < vpa_num_buckets() - 1 {
        vpa_bucket_start(at + 1)
    } else {
        vpa_bucket_start(at)
    }
}

/// The VPA recommender on `h` (see the module documentation).
pub fn vpa(h: &History) -> VpaEstimate {
    let t0 = h.peaks.first().map_or(0.0, |p| p.first_s);
    let t_end = h.peaks.last().map_or(0.0, |p| p.last_s);
    // One peak per 24 h window (the VPA's MemoryAggregationInterval), at the time it was seen.
    let mut windows: Vec<(f64, f64)> = Vec::new(); // (peak bytes, at)
    let window_of = |t: f64| ((t - t0) / DAY).floor() as usize;
    let mut idx: Vec<usize> = Vec::new();
    for p in &h.peaks {
        let w = window_of(p.peak_at_s);
        match idx.last() {
            Some(&last) if last == w => {
                let cur = windows.last_mut().expect("a window per index");
                if p.peak_bytes > cur.0 {
                    *cur = (p.peak_bytes, p.peak_at_s);
                }
            }
            _ => {
                idx.push(w);
                windows.push((p.peak_bytes, p.peak_at_s));
            }
        }
    }
    // An OOM kill raises its window's peak to the bumped memory (RecordOOM).
    for (o, (m, _)) in h.ooms.iter().zip(h.memory_at_ooms()) {
        let w = window_of(o.t_s);
        let need = oom_bump(m);
        match idx.iter().position(|&i| i == w) {
            Some(k) if windows[k].0 < need => windows[k] = (need, o.t_s),
            Some(_) => {}
            None => {
                let k = idx.partition_point(|&i| i < w);
                idx.insert(k, w);
                windows.insert(k, (need, o.t_s));
            }
        }
    }
    // Decaying weights: halve every 24 h back from the last sample.
    let buckets: Vec<(usize, f64)> = windows
        .iter()
        .map(|&(v, at)| (vpa_bucket(v), 2f64.powf((at - t_end) / DAY)))
        .collect();
    let days = (t_end - t0) / DAY;
    // getConfidence counts samples as if taken once a minute; a trace may be sampled faster
    // or (Prometheus) hold one point per interval, so count the minutes the intervals cover.
    let per_minute = (h.peaks.len() as f64 * h.interval_s / 60.0).min((t_end - t0) / 60.0 + 1.0);
    let confidence = days.min(per_minute / 1440.0).max(0.0);
    let margin = 1.15;
    let target = (vpa_percentile(&buckets, 0.9) * margin).max(VPA_MIN_MEMORY);
    let lower_raw = vpa_percentile(&buckets, 0.5) * margin;
    let upper_raw = vpa_percentile(&buckets, 0.95) * margin;
    let (lower, upper) = if confidence > 0.0 {
        (
            lower_raw * (1.0 + 0.001 / confidence).powf(-2.0),
            Some((upper_raw * (1.0 + 1.0 / confidence)).max(VPA_MIN_MEMORY)),
        )
    } else {
        (0.0, None)
    };
    VpaEstimate {
        target,
        lower: lower.max(VPA_MIN_MEMORY),
        upper,
        confidence_days: confidence,
        windows: windows.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::history::OomEvent;
    use super::super::{recommend, Policy};
    use super::*;

    use super::super::history::hist;

    #[test]
    fn vpa_histogram_buckets_match_the_vpa() {
        // First bucket [0, 10 MB), second [10 MB, 20.5 MB): start(b) = 1e7 (1.05^b − 1) / 0.05.
        assert_eq!(vpa_bucket(5e6), 0);
        assert_eq!(vpa_bucket(1e7), 1);
        assert!((vpa_bucket_start(2) - 2.05e7).abs() < 1.0);
        let b = vpa_bucket(1e9);
        assert!(vpa_bucket_start(b) <= 1e9 && 1e9 < vpa_bucket_start(b + 1));
        assert_eq!(vpa_bucket(1e15), vpa_num_buckets() - 1);
    }

    #[test]
    fn vpa_on_a_constant_week() {
        // 7 days of 1 GB, one sample a minute: every daily peak is 1 GB, so P50 = P90 = P95 =
        // the end of 1 GB's bucket; confidence = 7 days (lifespan just under 7 d).
        let n = 7 * 1440;
        let t: Vec<f64> = (0..n).map(|i| i as f64 * 60.0).collect();
        let v = vec![1e9; n];
        let h = History::from_samples(&t, &v, 300.0);
        let e = vpa(&h);
        let end = vpa_bucket_start(vpa_bucket(1e9) + 1);
        assert!((e.target - end * 1.15).abs() < 1.0, "{e:?}");
        let conf = (t[n - 1] - t[0]) / DAY;
        assert!((e.confidence_days - conf).abs() < 1e-9);
        let up = e.upper.unwrap();
        assert!((up - end * 1.15 * (1.0 + 1.0 / conf)).abs() < 1.0);
        assert!((e.lower - end * 1.15 * (1.0 + 0.001 / conf).powf(-2.0)).abs() < 1.0);
        assert_eq!(e.windows, 7);
        let r = recommend(&h, Policy::Vpa);
        assert_eq!(r.request_bytes, Some((end * 1.15).ceil() as u64));
    }

    #[test]
    fn vpa_bumps_the_window_of_an_oom_kill() {
        let n = 2 * 1440;
        let t: Vec<f64> = (0..n).map(|i| i as f64 * 60.0).collect();
        let v = vec![1e9; n];
        let mut h = History::from_samples(&t, &v, 300.0);
        let before = vpa(&h).target;
        // A kill in the second day at 1 GB: that day's peak becomes 1.2 GB; with two windows
        // and the later weighing more, P90 is in the bumped bucket.
        h.ooms.push(OomEvent {
            t_s: 1.5 * DAY,
            count: 1,
        });
        let after = vpa(&h);
        let end = vpa_bucket_start(vpa_bucket(1.2e9) + 1);
        assert!(
            (after.target - end * 1.15).abs() < 1.0,
            "{before} {after:?}"
        );
        assert!(after.target > before);
    }

    #[test]
    fn vpa_short_history_widens_the_upper_bound() {
        let h = hist(&[1e9; 12], 300.0); // 55 minutes at one sample per 5 min
        let e = vpa(&h);
        let conf = e.confidence_days;
        assert!((conf - 55.0 / 1440.0).abs() < 1e-9, "{conf}");
        assert!(e.upper.unwrap() > 20.0 * e.target);
    }
}
