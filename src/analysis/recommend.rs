//! Memory requests and limits from observed usage: `clw-diag recommend`.
//!
//! Every policy works on **per-interval peaks** (the maximum of the samples within each
//! interval, 5 minutes by default), not on raw samples, so a fast sampler does not weigh more
//! than a slow one and a short spike counts as what it is: the interval's peak. Sizes are bytes,
//! times are seconds since the first sample. Percentiles are nearest-rank (an observed value,
//! never an interpolation between two).
//!
//! Policies:
//!
//! - `seed`: the runbook rule, request = P95 × 1.1, limit = P95 × 1.5.
//! - `vpa`: the Kubernetes Vertical Pod Autoscaler's recommender
//!   (kubernetes/autoscaler, `vertical-pod-autoscaler/pkg/recommender`): one peak per 24 h
//!   window into a decaying histogram (exponential buckets from 10 MB growing by 5 %, weights
//!   halving every 24 h, `util/histogram.go`, `model/aggregations_config.go`); target = P90,
//!   lower bound = P50, upper bound = P95, each + 15 % safety margin and at least 250 MiB
//!   (`logic/recommender.go`); the upper bound × (1 + 1/confidence) and the lower bound
//!   × (1 + 0.001/confidence)^−2 where confidence = min(history in days, minutes covered by
//!   intervals / 1440)
//!   (`logic/estimator.go`, `getConfidence`, `WithConfidenceMultiplier(1.0, 1.0)` and
//!   `(0.001, -2.0)`); an OOM kill replaces its window's peak by max(used + 100 MiB, used × 1.2)
//!   (`model/container.go`, `RecordOOM`). Request = target, limit = upper bound. (The upper
//!   bound's exponent is +1 as in the VPA source, not 2: 24 h of history doubles it.)
//! - `krr`: Robusta krr's simple strategy for memory: request = limit = max × 1.15.
//! - `clw` (default): never a limit below the observed peak plus margin: limit =
//!   max(peak × 1.15, after each OOM kill max(m + 100 MiB, m × 1.2) where m is the memory at the
//!   kill: the limit then in force, else the peak around it); request = P95 × 1.1 (at most the
//!   limit).

use serde::Serialize;

pub const MIB: f64 = 1048576.0;
pub const GIB: f64 = 1073741824.0;
const DAY: f64 = 86400.0;

/// Fewer interval peaks than this: no recommendation (`insufficient-data`).
pub const MIN_INTERVALS: usize = 3;
/// Fewer interval peaks, or less history, than these: a "history too short" warning.
pub const SHORT_INTERVALS: usize = 20;
pub const SHORT_HISTORY_S: f64 = DAY;

/// A recommendation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Seed,
    Vpa,
    Krr,
    Clw,
}

impl Policy {
    pub const ALL: [Policy; 4] = [Policy::Seed, Policy::Vpa, Policy::Krr, Policy::Clw];

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Seed => "seed",
            Policy::Vpa => "vpa",
            Policy::Krr => "krr",
            Policy::Clw => "clw",
        }
    }
}

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
    fn memory_at_ooms(&self) -> Vec<(f64, u64)> {
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

/// The VPA's bump after an OOM kill at memory `m` bytes: max(m + 100 MiB, m × 1.2)
/// (`OOMMinBumpUp`, `OOMBumpUpRatio` in the VPA's `model/container.go`).
pub fn oom_bump(m: f64) -> f64 {
    (m + 100.0 * MIB).max(m * 1.2)
}

/// Whether a recommendation could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    InsufficientData,
}

/// One policy's answer for one target. Sizes in bytes, rounded up to whole bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Recommendation {
    pub policy: Policy,
    pub status: Status,
    /// `null` with `insufficient-data`.
    pub request_bytes: Option<u64>,
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

/// Round up to whole bytes, forgiving floating-point noise (100 MiB × 1.1 is 115343360, not
/// 115343361).
fn bytes(x: f64) -> u64 {
    (x.max(0.0) * (1.0 - 1e-12)).ceil() as u64
}

fn mib(x: f64) -> String {
    format!("{:.1} MiB", x / MIB)
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

/// The VPA recommender's figures on `h` (bytes; `upper` is `None` when unbounded).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpaEstimate {
    pub target: f64,
    pub lower: f64,
    pub upper: Option<f64>,
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

/// A back-test of one policy: fitted on the head of the history, replayed on the rest.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestPolicy {
    pub policy: Policy,
    pub status: Status,
    pub request_bytes: Option<u64>,
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
    pub fit_intervals: usize,
    pub replayed_intervals: usize,
    /// Length of the replayed part, seconds (intervals × interval).
    pub replayed_s: f64,
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

/// Where a target's history came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    File,
    Cgroup,
    Prometheus,
}

/// Everything `recommend` says about one target (a trace series, a cgroup, a container).
/// Sizes in bytes, times in seconds.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// File name (and series), cgroup path, or `namespace/pod/container`.
    pub target: String,
    pub source: Source,
    /// The memory metric used (`anon_bytes`, `working_set_bytes`, the PromQL query...).
    pub metric: String,
    /// `namespace`, `pod`, `container` when known (Prometheus).
    pub labels: std::collections::BTreeMap<String, String>,
    /// Samples used, and values skipped because they were NaN, ±Inf or negative.
    pub samples: usize,
    pub skipped_non_finite: usize,
    pub interval_s: f64,
    /// Interval peaks the policies worked on.
    pub intervals: usize,
    /// From the first to the last sample.
    pub history_s: f64,
    /// Largest interval peak (or, for a live cgroup, its `memory.peak`).
    pub peak_bytes: Option<u64>,
    /// Nearest-rank percentiles of the interval peaks.
    pub p50_bytes: Option<u64>,
    pub p90_bytes: Option<u64>,
    pub p95_bytes: Option<u64>,
    /// Live cgroup only: usage now (working set when known).
    pub current_bytes: Option<u64>,
    /// The limit in force (trace header or live cgroup), `null` when none or unknown.
    pub current_limit_bytes: Option<u64>,
    pub oom_kills: u64,
    /// The leak verdict of `analyze memory-trace` on the same series (`null` when not run).
    pub leak_verdict: Option<String>,
    pub recommendations: Vec<Recommendation>,
    /// With `--backtest`.
    pub backtest: Option<Backtest>,
    pub warnings: Vec<String>,
    /// Interval peaks, for plots (not in JSON).
    #[serde(skip)]
    pub peaks: Vec<f64>,
}

impl Target {
    /// Run `policies` (and the back-test when `backtest` is a fraction) on `h`.
    pub fn assess(
        target: String,
        source: Source,
        metric: String,
        h: &History,
        policies: &[Policy],
        backtest_fraction: Option<f64>,
    ) -> Target {
        let q = |p: f64| h.percentile(p).map(bytes);
        let recommendations: Vec<Recommendation> =
            policies.iter().map(|&p| recommend(h, p)).collect();
        let mut warnings = history_warnings(h);
        for r in &recommendations {
            warnings.extend(
                r.warnings
                    .iter()
                    .map(|w| format!("{}: {w}", r.policy.as_str())),
            );
        }
        Target {
            target,
            source,
            metric,
            labels: Default::default(),
            samples: h.samples(),
            skipped_non_finite: 0,
            interval_s: h.interval_s,
            intervals: h.peaks.len(),
            history_s: h.span_s(),
            peak_bytes: h.max_bytes().map(bytes),
            p50_bytes: q(0.5),
            p90_bytes: q(0.9),
            p95_bytes: q(0.95),
            current_bytes: None,
            current_limit_bytes: h.limit_bytes.map(bytes),
            oom_kills: h.oom_kills(),
            leak_verdict: None,
            recommendations,
            backtest: backtest_fraction.map(|f| backtest(h, f, policies)),
            warnings,
            peaks: h.peaks.iter().map(|p| p.peak_bytes).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history of one sample per interval.
    fn hist(v: &[f64], interval_s: f64) -> History {
        let t: Vec<f64> = (0..v.len()).map(|i| i as f64 * interval_s).collect();
        History::from_samples(&t, v, interval_s)
    }

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

    #[test]
    fn short_history_and_limit_warnings() {
        let mut h = hist(&[100.0 * MIB; 5], 300.0);
        h.limit_bytes = Some(100.0 * MIB);
        let w = history_warnings(&h);
        assert!(w.iter().any(|w| w.contains("history is short")), "{w:?}");
        assert!(w.iter().any(|w| w.contains("100 % of the limit")), "{w:?}");
    }
}
