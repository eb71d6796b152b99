//! Leak detection on a memory trace. The method and its sources are written up in
//! `docs/leak-detection.md`; in short:
//!
//! 1. Split at restarts (a drop of ≥ 30 % and ≥ 32 MiB within one interval, or a pid change)
//!    and analyse the last incarnation (the longest when the last is too short).
//! 2. Take the lower envelope: per-window minima, the window at least 5 sample intervals and at
//!    least one sawtooth period, so garbage-collector sawtooth does not look like growth.
//! 3. Test the envelope for a monotonic trend with Mann–Kendall, its variance corrected for
//!    serial correlation (Hamed–Rao); estimate the rate with Theil–Sen and Sen's 95 % interval;
//!    report least squares and R² beside them.
//! 4. Look for a change point (warm-up then plateau) and a single level shift, and judge the
//!    last third of the envelope on its own.
//! 5. Project the time to the limit from the envelope trend plus the typical sawtooth height.

use serde::Serialize;

use super::stats::median;

mod decide;
mod runtime;
use crate::trace::Series;

/// Verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The envelope trends up (Mann–Kendall p < 0.01, Sen's interval above zero), the last
    /// third still grows, and the growth can reach the practical threshold.
    Leak,
    /// A significant upward trend (p < 0.05) that does not meet the rules of [`Verdict::Leak`]:
    /// small growth or weaker evidence.
    Suspected,
    /// Growth before a change point, then a flat last third: warm-up (caches filling), not a leak.
    WarmupPlateau,
    /// One step explains most of the envelope's variance and neither side trends.
    LevelShift,
    /// None of the above: no significant upward trend.
    NoLeak,
    /// Too little data: fewer than 20 samples, a span under 10 intervals, or fewer than 8
    /// envelope windows.
    InsufficientData,
}

impl Verdict {
    /// Stable key, as in JSON (`leak`, `warmup-plateau`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Leak => "leak",
            Verdict::Suspected => "suspected",
            Verdict::WarmupPlateau => "warmup-plateau",
            Verdict::LevelShift => "level-shift",
            Verdict::NoLeak => "no-leak",
            Verdict::InsufficientData => "insufficient-data",
        }
    }
}

/// Options of the analysis.
#[derive(Debug, Clone)]
pub struct LeakOptions {
    /// Memory limit to project against (bytes) and where it came from.
    pub limit: Option<(u64, String)>,
    /// Practical threshold: growth rate at least this many bytes per hour (default 1 MiB/h).
    pub min_rate_bytes_per_h: f64,
    /// Practical threshold: growth over the analysed span at least this percent (default 5).
    pub min_growth_pct: f64,
}

impl Default for LeakOptions {
    fn default() -> Self {
        LeakOptions {
            limit: None,
            min_rate_bytes_per_h: 1048576.0,
            min_growth_pct: 5.0,
        }
    }
}

/// The analysis of one series. Rates in bytes per second, times in seconds since the trace's
/// first sample, sizes in bytes.
#[derive(Debug, Clone, Serialize)]
pub struct LeakResult {
    /// The input file (and the series label for inputs with several series).
    pub file: String,
    /// The memory metric analysed, e.g. `anon_bytes`.
    pub metric: String,
    /// Why this metric: the default for the target kind, or asked for.
    pub metric_reason: String,
    /// The workload the trace's header names (`record --cgroup NAME` or a process in a
    /// container: `workload`, `cgroup`, names, `source`); absent when the trace names none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::trace::TraceIdentity>,
    /// The verdict (docs/leak-detection.md, "Verdict").
    pub verdict: Verdict,
    /// 0–1: how strongly the data support the verdict (see docs/leak-detection.md).
    pub confidence: f64,
    /// Theil–Sen slope of the envelope.
    pub slope_bytes_per_s: Option<f64>,
    /// Sen's 95 % interval of the slope, corrected for serial correlation.
    pub slope_ci_bytes_per_s: Option<[f64; 2]>,
    /// Least-squares slope of the envelope, bytes/s, for comparison only (never decides the
    /// verdict); `None` when the trend was not estimated (insufficient data).
    pub ols_slope_bytes_per_s: Option<f64>,
    /// R² of that least-squares fit (0–1); `None` as for the slope.
    pub r_squared: Option<f64>,
    /// Mann–Kendall two-sided p-value (Hamed–Rao corrected) and Kendall's tau.
    pub mk_p_value: Option<f64>,
    /// Kendall's tau of the envelope against time (−1–1); `None` when not tested.
    pub mk_tau: Option<f64>,
    /// Samples in the series (all incarnations).
    pub samples: usize,
    /// Envelope points and their effective number after the serial-correlation correction.
    pub envelope_points: usize,
    /// Envelope points divided by the Hamed–Rao variance correction; `None` when not tested.
    pub effective_samples: Option<f64>,
    /// Median interval between samples of the analysed incarnation, seconds; `None` when there
    /// were too few samples to look.
    pub interval_s: Option<f64>,
    /// Width of the lower-envelope windows, seconds (at least 5 intervals and one sawtooth
    /// period); `None` when no envelope was taken.
    pub envelope_window_s: Option<f64>,
    /// Analysed window [start, end].
    pub window_s: Option<[f64; 2]>,
    /// Warm-up excluded, seconds: the growth before a plateau (warmup-plateau), or the
    /// warm-up of a runtime started with the recording (a JVM's first 2 minutes).
    pub warmup_excluded_s: Option<f64>,
    /// Times of the restarts found.
    pub restarts_s: Vec<f64>,
    /// Growth of the envelope over the analysed window, bytes and percent.
    pub growth_bytes: Option<f64>,
    /// The same growth as a percentage of the fitted level at the window's start.
    pub growth_pct: Option<f64>,
    /// Typical sawtooth height above the envelope.
    pub sawtooth_bytes: Option<f64>,
    /// The limit the time to limit is projected against, bytes ([`LeakOptions::limit`]);
    /// `None` when no limit is known.
    pub limit_bytes: Option<u64>,
    /// Where that limit came from (`--limit`, the trace's cgroup limit, MemTotal), for people.
    pub limit_source: Option<String>,
    /// Seconds from the last sample until the peaks reach the limit; `null` unless leaking.
    pub time_to_limit_s: Option<f64>,
    /// Interval from the slope's confidence interval (upper is `null` when unbounded).
    pub time_to_limit_interval_s: Option<[Option<f64>; 2]>,
    /// OOM kills the trace recorded (its `oom_kill` events, summing their counts); `null` when
    /// the trace carries no events at all (CSV, Prometheus), so the count is unknown.
    pub oom_kill_count: Option<u64>,
    /// Seconds since the start of each `oom_kill` event.
    pub oom_kills_s: Vec<f64>,
    /// The trace ends in an OOM kill: the target was killed by SIGKILL right after an
    /// `oom_kill` event (or a kill came after the last sample); `null` without events.
    pub ended_in_oom_kill: Option<bool>,
    /// Practical thresholds not met, and other caveats.
    pub flags: Vec<String>,
    /// What the analysis did and found, for people: restarts, the change point, why the data
    /// are insufficient.
    pub notes: Vec<String>,
    /// Envelope and fitted line, for plots (not in JSON).
    #[serde(skip)]
    pub envelope: Vec<(f64, f64)>,
    /// The Theil–Sen line through the envelope as (slope bytes/s, intercept bytes at t = 0),
    /// for plots (not in JSON); `None` when no trend was estimated.
    #[serde(skip)]
    pub fit: Option<(f64, f64)>,
}

const RESTART_DROP_FRAC: f64 = 0.30;
const RESTART_DROP_BYTES: f64 = 32.0 * 1048576.0;
/// Envelope points are capped so the O(n²) tests stay fast.
const MAX_ENVELOPE: usize = 600;
const MIN_SAMPLES: usize = 20;
const MIN_ENVELOPE: usize = 8;

fn empty(s: &Series, verdict: Verdict, note: &str) -> LeakResult {
    LeakResult {
        file: s.name.clone(),
        metric: s.metric.clone(),
        metric_reason: s.metric_reason.clone(),
        identity: s.identity.clone(),
        verdict,
        confidence: 0.0,
        slope_bytes_per_s: None,
        slope_ci_bytes_per_s: None,
        ols_slope_bytes_per_s: None,
        r_squared: None,
        mk_p_value: None,
        mk_tau: None,
        samples: s.v.len(),
        envelope_points: 0,
        effective_samples: None,
        interval_s: None,
        envelope_window_s: None,
        window_s: None,
        warmup_excluded_s: None,
        restarts_s: Vec::new(),
        growth_bytes: None,
        growth_pct: None,
        sawtooth_bytes: None,
        limit_bytes: None,
        limit_source: None,
        time_to_limit_s: None,
        time_to_limit_interval_s: None,
        oom_kill_count: None,
        oom_kills_s: Vec::new(),
        ended_in_oom_kill: None,
        flags: Vec::new(),
        notes: vec![note.to_string()],
        envelope: Vec::new(),
        fit: None,
    }
}

/// Split points: indices where a new incarnation starts.
///
/// A pid change is always a restart. A drop of ≥ 30 % and ≥ 32 MiB within one interval is one
/// too, except when such drops recur at regular intervals (three or more, gaps varying by less
/// than half their mean): that is a garbage collector's sawtooth, not a process starting over.
fn restarts(s: &Series) -> Vec<usize> {
    let mut pids = Vec::new();
    let mut drops = Vec::new();
    for i in 1..s.v.len() {
        let drop = s.v[i - 1] - s.v[i];
        if matches!((s.pid[i - 1], s.pid[i]), (Some(a), Some(b)) if a != b) {
            pids.push(i);
        } else if drop >= RESTART_DROP_FRAC * s.v[i - 1] && drop >= RESTART_DROP_BYTES {
            drops.push(i);
        }
    }
    if drops.len() >= 3 {
        let gaps: Vec<f64> = drops.windows(2).map(|w| s.t[w[1]] - s.t[w[0]]).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        if sd < 0.5 * mean {
            drops.clear();
        }
    }
    pids.extend(drops);
    pids.sort_unstable();
    pids
}

/// Lower envelope: (time of the minimum, minimum) per window, and the median window height.
/// Windows start at `t0` + k·`w` (`t0` at or before the first sample).
fn envelope(t: &[f64], v: &[f64], w: f64, t0: f64) -> (Vec<(f64, f64)>, f64) {
    let mut env = Vec::new();
    let mut heights = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let k = ((t[i] - t0) / w).floor();
        let end_t = t0 + (k + 1.0) * w;
        let (mut mi, mut mx) = (i, v[i]);
        // The window always takes sample i (rounding can put t[i] at end_t), so the walk
        // always advances.
        let mut j = i;
        while j < t.len() && (j == i || t[j] < end_t) {
            if v[j] < v[mi] {
                mi = j;
            }
            mx = mx.max(v[j]);
            j += 1;
        }
        env.push((t[mi], v[mi]));
        heights.push(mx - v[mi]);
        i = j;
    }
    (env, median(&heights).unwrap_or(0.0))
}

/// Times (seconds) of the significant drops of `v`: falls between consecutive samples of more
/// than five times the median absolute change and 2 % of the median level (a collection that
/// returned memory, or a restart).
pub(super) fn drops(t: &[f64], v: &[f64]) -> Vec<f64> {
    let diffs: Vec<f64> = v.windows(2).map(|w| w[1] - w[0]).collect();
    let abs: Vec<f64> = diffs.iter().map(|d| d.abs()).collect();
    let (Some(typical), Some(level)) = (median(&abs), median(v)) else {
        return Vec::new();
    };
    let thr = (5.0 * typical).max(0.02 * level);
    diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| -**d > thr)
        .map(|(i, _)| t[i + 1])
        .collect()
}

/// The sawtooth period: median time between significant drops, if there are several.
fn sawtooth_period(t: &[f64], v: &[f64]) -> Option<f64> {
    let drops = drops(t, v);
    if drops.len() < 3 {
        return None;
    }
    let gaps: Vec<f64> = drops.windows(2).map(|w| w[1] - w[0]).collect();
    median(&gaps)
}

/// Analyse one series: the leak verdict, its rate, the time to the limit, and the OOM kills
/// the trace recorded.
pub fn analyze(s: &Series, opts: &LeakOptions) -> LeakResult {
    let mut r = analyze_trend(s, opts);
    if let Some((limit, src)) = &opts.limit {
        r.limit_bytes = Some(*limit);
        r.limit_source = Some(src.clone());
    }
    (r.oom_kill_count, r.oom_kills_s, r.ended_in_oom_kill) = super::oom_events::oom_kills(s);
    r
}

fn analyze_trend(s: &Series, opts: &LeakOptions) -> LeakResult {
    if s.v.len() < MIN_SAMPLES {
        return empty(
            s,
            Verdict::InsufficientData,
            &format!("{} samples; at least {MIN_SAMPLES} are needed", s.v.len()),
        );
    }
    // Segment at restarts; analyse the last incarnation, or the longest if the last is short.
    let cuts = restarts(s);
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(s.v.len());
    let segs: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let &(a, b) = segs
        .last()
        .filter(|(a, b)| b - a >= MIN_SAMPLES)
        .or_else(|| segs.iter().max_by_key(|(a, b)| b - a))
        .unwrap_or(&(0, s.v.len()));
    let mut r = empty(s, Verdict::NoLeak, "");
    r.notes.clear();
    // A runtime started with the recording: its warm-up is left out.
    let mut a = a;
    // A program started with the recording: its start-up (loading its runtime and libraries,
    // memory from nothing to its first working level) is not growth to judge.
    let mut startup = a == 0 && s.target_kind.as_deref() == Some("command");
    if let Some((warm, why)) = runtime::warmup(s, &s.t[..b], &s.v[..b]).filter(|_| a == 0) {
        startup = false;
        let skip = s.t.partition_point(|&x| x < s.t[0] + warm).min(b);
        let dt = s.interval_s.unwrap_or(1.0).max(1e-3);
        // Enough after the warm-up for a verdict: the samples, the span and the envelope
        // windows the checks below ask for.
        let need = warm + (MIN_SAMPLES as f64).max(5.0 * MIN_ENVELOPE as f64) * dt;
        let have = s.t[b - 1] - s.t[0];
        r.warmup_excluded_s = Some(warm.min(have));
        if b - skip < MIN_SAMPLES || have < need {
            r.verdict = Verdict::InsufficientData;
            r.notes.push(format!(
                "{why}; this trace spans {have:.0} s: record at least {} more minute(s) (at least {need:.0} s in all) for a verdict on what follows the warm-up",
                decide::minutes_up(need - have)
            ));
            r.window_s = Some([s.t[0], s.t[b - 1]]);
            return r;
        }
        r.notes.push(format!(
            "{why}: left out, the verdict rests on the {:.0} s after it",
            have - warm
        ));
        a = skip;
    }
    let mut t = &s.t[a..b];
    let mut v = &s.v[a..b];
    r.restarts_s = cuts.iter().map(|&i| s.t[i]).collect();
    if !cuts.is_empty() {
        r.notes.push(format!(
            "{} restart(s) found; analysed the incarnation from {:.0} s to {:.0} s",
            cuts.len(),
            t[0],
            t[t.len() - 1]
        ));
    }
    let diffs: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    let dt = median(&diffs).unwrap_or(1.0).max(1e-6);
    let span = t[t.len() - 1] - t[0];
    r.interval_s = Some(dt);
    r.window_s = Some([t[0], t[t.len() - 1]]);
    if b - a < MIN_SAMPLES || span < 10.0 * dt {
        r.verdict = Verdict::InsufficientData;
        r.notes.push(format!(
            "the analysed window has {} samples over {span:.0} s",
            b - a
        ));
        return r;
    }
    let period = sawtooth_period(t, v);
    // At least 5 intervals and one sawtooth period, at most span/16 (so there are windows
    // enough to test), and no more than MAX_ENVELOPE windows.
    let w = (5.0 * dt)
        .max(period.unwrap_or(0.0))
        .min(span / 16.0)
        .max(5.0 * dt)
        .max(span / MAX_ENVELOPE as f64);
    r.envelope_window_s = Some(w);
    let k = t.partition_point(|&x| x < t[0] + w);
    if startup && t.len() - k >= MIN_SAMPLES {
        r.notes.push(format!(
            "the first {w:.1} s (one envelope window: the program's start-up) left out"
        ));
        (t, v) = (&t[k..], &v[k..]);
    }
    let span = t[t.len() - 1] - t[0];
    // The verdict on three alignments of the windows (their edges shifted by a third of a
    // window each), so that no single alignment — one GC drop falling just inside or outside
    // a window — decides it: the verdict most alignments give wins, and its confidence is
    // scaled by the share that agree.
    let runs: Vec<LeakResult> = [0.0, 1.0 / 3.0, 2.0 / 3.0]
        .iter()
        .map(|f| {
            let mut ri = r.clone();
            let (env, saw) = envelope(t, v, w, t[0] - f * w);
            ri.sawtooth_bytes = Some(saw);
            ri.envelope_points = env.len();
            if env.len() < MIN_ENVELOPE {
                ri.verdict = Verdict::InsufficientData;
                ri.notes.push(format!(
                    "only {} envelope windows of {w:.0} s: record at least {} more minute(s) (at least {MIN_ENVELOPE} windows, i.e. {:.0} s)",
                    env.len(),
                    decide::minutes_up(w * MIN_ENVELOPE as f64 - span),
                    w * MIN_ENVELOPE as f64
                ));
            } else {
                decide::decide(t, &env, opts, &mut ri);
            }
            ri
        })
        .collect();
    let votes = |v: Verdict| runs.iter().filter(|x| x.verdict == v).count();
    // The verdict most alignments give; on a tie, the first alignment's (the unshifted one).
    let mut pos = 0;
    for (i, x) in runs.iter().enumerate() {
        if votes(x.verdict) > votes(runs[pos].verdict) {
            pos = i;
        }
    }
    // No majority (three different verdicts): when one of them claims growth, the weaker
    // claim, `suspected`, stands for them (from the alignment that gave it); otherwise the
    // unshifted alignment's.
    if votes(runs[pos].verdict) == 1 {
        pos = runs
            .iter()
            .position(|x| x.verdict == Verdict::Suspected)
            .unwrap_or(0);
    }
    let best = runs[pos].verdict;
    let agree = votes(best);
    let others: Vec<&str> = runs
        .iter()
        .filter(|x| x.verdict != best)
        .map(|x| x.verdict.as_str())
        .collect();
    let mut r = runs.into_iter().nth(pos).unwrap_or(r);
    if agree < 3 {
        r.confidence *= agree as f64 / 3.0;
        r.notes.push(format!(
            "{agree} of 3 alignments of the envelope windows give {} (the others: {}); confidence scaled by {agree}/3",
            best.as_str(),
            others.join(", ")
        ));
    }
    let (Some(slope), Some([lo, hi]), Some((_, intercept)), Some(saw)) = (
        r.slope_bytes_per_s,
        r.slope_ci_bytes_per_s,
        r.fit,
        r.sawtooth_bytes,
    ) else {
        return r;
    };
    // Time to limit.
    if let Some((limit, src)) = &opts.limit {
        r.limit_bytes = Some(*limit);
        r.limit_source = Some(src.clone());
        if matches!(r.verdict, Verdict::Leak | Verdict::Suspected) && slope > 0.0 {
            let t_last = t[t.len() - 1];
            let peak_now = intercept + slope * t_last + saw;
            let remaining = (*limit as f64 - peak_now).max(0.0);
            r.time_to_limit_s = Some(remaining / slope);
            r.time_to_limit_interval_s = Some([
                Some(remaining / hi.max(slope)),
                (lo > 0.0).then(|| remaining / lo),
            ]);
        }
    }
    r
}

#[cfg(test)]
pub(crate) mod tests;
