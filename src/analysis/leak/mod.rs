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

use super::stats::{mann_kendall, median, ols, theil_sen, MannKendall};
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
    /// Warm-up excluded before a plateau, seconds (warmup-plateau).
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
fn envelope(t: &[f64], v: &[f64], w: f64) -> (Vec<(f64, f64)>, f64) {
    let mut env = Vec::new();
    let mut heights = Vec::new();
    let t0 = t[0];
    let mut i = 0;
    while i < t.len() {
        let k = ((t[i] - t0) / w).floor();
        let end_t = t0 + (k + 1.0) * w;
        let (mut mi, mut mx) = (i, v[i]);
        let mut j = i;
        while j < t.len() && t[j] < end_t {
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

/// The sawtooth period: median time between significant drops, if there are several.
fn sawtooth_period(t: &[f64], v: &[f64]) -> Option<f64> {
    let diffs: Vec<f64> = v.windows(2).map(|w| w[1] - w[0]).collect();
    let abs: Vec<f64> = diffs.iter().map(|d| d.abs()).collect();
    let typical = median(&abs)?;
    let level = median(v)?;
    let thr = (5.0 * typical).max(0.02 * level);
    let drops: Vec<f64> = diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| -**d > thr)
        .map(|(i, _)| t[i + 1])
        .collect();
    if drops.len() < 3 {
        return None;
    }
    let gaps: Vec<f64> = drops.windows(2).map(|w| w[1] - w[0]).collect();
    median(&gaps)
}

fn mk_ts(t: &[f64], v: &[f64]) -> Option<(MannKendall, f64, f64, f64)> {
    let mk = mann_kendall(v, true)?;
    let (slope, lo, hi) = theil_sen(t, v, mk.var_s_corrected, 0.05)?;
    Some((mk, slope, lo, hi))
}

/// Intercept of the Theil–Sen line: the median of y − slope·t.
fn intercept_at(t: &[f64], v: &[f64], slope: f64) -> f64 {
    median(
        &t.iter()
            .zip(v)
            .map(|(x, y)| y - slope * x)
            .collect::<Vec<_>>(),
    )
    .unwrap_or(0.0)
}

/// Sum of squared errors of a least-squares line through the points.
fn sse_line(t: &[f64], v: &[f64]) -> f64 {
    match ols(t, v) {
        Some((b, a, _)) => t
            .iter()
            .zip(v)
            .map(|(x, y)| (y - (a + b * x)).powi(2))
            .sum(),
        None => 0.0,
    }
}

fn sse_mean(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
    v.iter().map(|x| (x - m).powi(2)).sum()
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
    let t = &s.t[a..b];
    let v = &s.v[a..b];
    let mut r = empty(s, Verdict::NoLeak, "");
    r.notes.clear();
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
    let (env, saw) = envelope(t, v, w);
    r.envelope_window_s = Some(w);
    r.sawtooth_bytes = Some(saw);
    r.envelope_points = env.len();
    if env.len() < MIN_ENVELOPE {
        r.verdict = Verdict::InsufficientData;
        r.notes.push(format!(
            "only {} envelope windows of {w:.0} s: record longer (at least {MIN_ENVELOPE} windows, i.e. {:.0} s)",
            env.len(),
            w * MIN_ENVELOPE as f64
        ));
        return r;
    }
    let et: Vec<f64> = env.iter().map(|p| p.0).collect();
    let ev: Vec<f64> = env.iter().map(|p| p.1).collect();
    let Some((mk, slope, lo, hi)) = mk_ts(&et, &ev) else {
        r.verdict = Verdict::InsufficientData;
        return r;
    };
    let (ob, _, r2) = ols(&et, &ev).unwrap_or((0.0, 0.0, 0.0));
    r.slope_bytes_per_s = Some(slope);
    r.slope_ci_bytes_per_s = Some([lo, hi]);
    r.ols_slope_bytes_per_s = Some(ob);
    r.r_squared = Some(r2);
    r.mk_p_value = Some(mk.p);
    r.mk_tau = Some(mk.tau);
    r.effective_samples = Some(env.len() as f64 / mk.correction);
    r.envelope = env.clone();
    let intercept = intercept_at(&et, &ev, slope);
    r.fit = Some((slope, intercept));
    // Growth over the analysed window, relative to the fitted level at its start; its upper
    // bound from the slope interval decides whether the practical growth threshold is met.
    let start_level = (intercept + slope * t[0]).max(1.0);
    let growth = slope * span;
    r.growth_bytes = Some(growth);
    r.growth_pct = Some(growth / start_level * 100.0);
    let growth_hi_pct = hi * span / start_level * 100.0;
    let level = median(&ev).unwrap_or(0.0).max(1.0);

    // Last third on its own.
    let third = env.len() - (env.len() / 3).max(3);
    let last = mk_ts(&et[third..], &ev[third..]);
    // Change point (two lines) and level shift (two means).
    let n = env.len();
    let (mut best_k, mut best_sse) = (0, f64::INFINITY);
    let (mut step_k, mut step_sse) = (0, f64::INFINITY);
    for k in (n / 5).max(3)..(n - (n / 5).max(3)).max((n / 5).max(3) + 1).min(n) {
        let s2 = sse_line(&et[..k], &ev[..k]) + sse_line(&et[k..], &ev[k..]);
        if s2 < best_sse {
            best_sse = s2;
            best_k = k;
        }
        let s1 = sse_mean(&ev[..k]) + sse_mean(&ev[k..]);
        if s1 < step_sse {
            step_sse = s1;
            step_k = k;
        }
    }
    let total_ss = sse_mean(&ev).max(f64::MIN_POSITIVE);
    let significant_up = mk.p < 0.01 && mk.s > 0.0 && lo > 0.0;
    let rate_h = slope * 3600.0;
    // The growth threshold decides between leak and suspected (the interval must reach it);
    // the rate threshold is a flag: slow leaks over long spans are still leaks.
    let big_enough = growth_hi_pct >= opts.min_growth_pct;
    if rate_h < opts.min_rate_bytes_per_h {
        r.flags.push(format!(
            "slow: rate {:.2} MiB/h below the practical threshold {:.2} MiB/h",
            rate_h / 1048576.0,
            opts.min_rate_bytes_per_h / 1048576.0
        ));
    }
    if r.growth_pct.unwrap_or(0.0) < opts.min_growth_pct {
        r.flags.push(format!(
            "growth {:.1}% over the window below the practical threshold {:.1}%",
            r.growth_pct.unwrap_or(0.0),
            opts.min_growth_pct
        ));
    }
    // Level shift: one step explains the envelope and neither side trends.
    let level_shift = step_k > 0 && {
        let left = mann_kendall(&ev[..step_k], true);
        let right = mann_kendall(&ev[step_k..], true);
        let flat = |m: Option<MannKendall>| m.is_none_or(|m| m.p > 0.05);
        let step = (ev[step_k..].iter().sum::<f64>() / (n - step_k) as f64)
            - (ev[..step_k].iter().sum::<f64>() / step_k as f64);
        1.0 - step_sse / total_ss >= 0.8 && flat(left) && flat(right) && step.abs() >= 0.05 * level
    };
    // Warm-up then plateau: growth concentrated before the change point, last third flat.
    let plateau = match (&last, best_k) {
        (Some((lm, ls, _, _)), k) if k > 0 => {
            let first_slope = ols(&et[..k], &ev[..k]).map(|x| x.0).unwrap_or(0.0);
            let flat_end = lm.p > 0.05 || *ls < 0.2 * slope.max(f64::MIN_POSITIVE);
            flat_end && first_slope > 0.0 && (*ls).abs() < 0.25 * first_slope
        }
        _ => false,
    };
    let last_growing = last
        .as_ref()
        .is_none_or(|(lm, ls, _, _)| lm.s > 0.0 && (lm.p < 0.1 || *ls >= 0.5 * slope));
    r.verdict = if level_shift && !(significant_up && last_growing) {
        r.confidence = 1.0 - step_sse / total_ss;
        r.notes
            .push(format!("one level shift at {:.0} s", et[step_k]));
        Verdict::LevelShift
    } else if mk.p < 0.05 && mk.s > 0.0 && plateau {
        r.warmup_excluded_s = Some(et[best_k] - t[0]);
        r.confidence = last.as_ref().map_or(0.5, |(lm, ..)| lm.p.clamp(0.5, 0.99));
        r.notes
            .push(format!("growth until {:.0} s, then flat", et[best_k]));
        Verdict::WarmupPlateau
    } else if significant_up && last_growing && big_enough {
        r.confidence = (1.0 - mk.p).clamp(0.5, 0.999);
        Verdict::Leak
    } else if mk.p < 0.05 && mk.s > 0.0 && slope > 0.0 {
        r.confidence = (1.0 - mk.p).clamp(0.5, 0.99);
        if !big_enough {
            r.notes
                .push("a statistically significant but small growth".into());
        }
        Verdict::Suspected
    } else {
        r.confidence = mk.p.clamp(0.5, 0.99);
        Verdict::NoLeak
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
