//! The verdict on one lower envelope (docs/leak-detection.md, steps 3–6): the trend test, the
//! rate, the shape tests (last third, change point, level shift, deceleration) and the rules
//! that turn them into a [`Verdict`]. [`super::analyze`] runs it on several alignments of the
//! envelope windows and keeps the verdict most of them give.

use super::{LeakOptions, LeakResult, Verdict};
use crate::analysis::stats::{mann_kendall, median, ols, theil_sen, MannKendall};

/// Fewest envelope points for a `warmup-plateau` (its last third then has at least four): a
/// plateau is a claim that memory stopped growing, which a handful of points cannot support.
pub(super) const MIN_PLATEAU_ENVELOPE: usize = 12;
/// The last third is "evidently flat" when the upper bound of its Sen interval is below this
/// share of the growth before the change point.
const FLAT_SHARE: f64 = 0.25;
/// Growth "slows down" when the last third's upper bound is below this share of the first
/// third's rate.
const SLOWING_SHARE: f64 = 0.5;

/// A staircase's flat end counts as "between steps" while it is at most this share of the
/// median spacing of its steps.
const STAIR_TAIL_SHARE: f64 = 1.5;
/// Fewest upward steps for a staircase.
const MIN_STAIRS: usize = 3;

/// Upward steps of the envelope `et`/`ev` (seconds, bytes): rises between consecutive points
/// of more than five times the median absolute change and 2 % of `level`. With at least
/// [`MIN_STAIRS`] of them, the median time between steps and the time of the last; `None`
/// otherwise. A heap that a collector expands a region at a time (G1) grows like this.
fn staircase(et: &[f64], ev: &[f64], level: f64) -> Option<(f64, f64)> {
    let diffs: Vec<f64> = ev.windows(2).map(|w| w[1] - w[0]).collect();
    let typical = median(&diffs.iter().map(|d| d.abs()).collect::<Vec<_>>())?;
    let thr = (5.0 * typical).max(0.02 * level);
    let steps: Vec<f64> = diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| **d > thr)
        .map(|(i, _)| et[i + 1])
        .collect();
    if steps.len() < MIN_STAIRS {
        return None;
    }
    let gaps: Vec<f64> = steps.windows(2).map(|w| w[1] - w[0]).collect();
    Some((median(&gaps)?, *steps.last()?))
}

/// Mann–Kendall and Theil–Sen with Sen's 95 % interval: (test, slope, low, high), bytes/s.
pub(super) fn mk_ts(t: &[f64], v: &[f64]) -> Option<(MannKendall, f64, f64, f64)> {
    let mk = mann_kendall(v, true)?;
    let (slope, lo, hi) = theil_sen(t, v, mk.var_s_corrected, 0.05)?;
    Some((mk, slope, lo, hi))
}

/// Intercept of the Theil–Sen line: the median of y − slope·t.
pub(super) fn intercept_at(t: &[f64], v: &[f64], slope: f64) -> f64 {
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

/// Minutes, rounded up, for "record at least N more minutes".
pub(super) fn minutes_up(s: f64) -> u64 {
    (s / 60.0).ceil().max(1.0) as u64
}

/// Fill `r` with the trend, the rate and the verdict for the envelope `env` (time, bytes) of
/// the analysed window `t` (seconds). `env` has at least `MIN_ENVELOPE` points.
pub(super) fn decide(t: &[f64], env: &[(f64, f64)], opts: &LeakOptions, r: &mut LeakResult) {
    let et: Vec<f64> = env.iter().map(|p| p.0).collect();
    let ev: Vec<f64> = env.iter().map(|p| p.1).collect();
    let Some((mk, slope, lo, hi)) = mk_ts(&et, &ev) else {
        r.verdict = Verdict::InsufficientData;
        return;
    };
    let span = t[t.len() - 1] - t[0];
    let (ob, _, r2) = ols(&et, &ev).unwrap_or((0.0, 0.0, 0.0));
    r.slope_bytes_per_s = Some(slope);
    r.slope_ci_bytes_per_s = Some([lo, hi]);
    r.ols_slope_bytes_per_s = Some(ob);
    r.r_squared = Some(r2);
    r.mk_p_value = Some(mk.p);
    r.mk_tau = Some(mk.tau);
    r.effective_samples = Some(env.len() as f64 / mk.correction);
    r.envelope = env.to_vec();
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

    // First and last thirds on their own.
    let n = env.len();
    let third_n = (n / 3).max(3);
    let last = mk_ts(&et[n - third_n..], &ev[n - third_n..]);
    let first = mk_ts(&et[..third_n], &ev[..third_n]);
    // The last third's rise in level, % of the level: the mean of its last quarter less the
    // mean of its first quarter. Sen's slope is the median of pairwise slopes, so one step
    // inside the last third (a G1 heap expanding every minute) leaves it at zero; the rise
    // does not miss it.
    let last_rise_pct = {
        let lv = &ev[n - third_n..];
        let q = (lv.len() / 4).max(1);
        let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
        (mean(&lv[lv.len() - q..]) - mean(&lv[..q])) / level * 100.0
    };
    let last_rises = last_rise_pct >= opts.min_growth_pct;
    // A staircase whose flat tail is no longer than its steps' spacing is between two steps,
    // not on a plateau.
    let stairs = staircase(&et, &ev, level);
    let between_steps =
        stairs.is_some_and(|(gap, last_step)| et[n - 1] - last_step <= STAIR_TAIL_SHARE * gap);
    if between_steps {
        if let Some((gap, _)) = stairs {
            r.notes.push(format!(
                "a staircase: the envelope steps up every {gap:.0} s and its flat end is no longer than that"
            ));
        }
    }
    // Change point (two lines) and level shift (two means).
    let (mut best_k, mut best_sse) = (0, f64::INFINITY);
    let (mut step_k, mut step_sse) = (0, f64::INFINITY);
    let edge = (n / 5).max(3);
    for k in edge..(n - edge).max(edge + 1).min(n) {
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
    let up = mk.s > 0.0;
    let significant_up = mk.p < 0.01 && up && lo > 0.0;
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
    // Warm-up then plateau: growth concentrated before the change point, and a last third
    // that is evidently flat — the upper bound of its rate well below that growth, and too
    // small to reach the practical threshold over the whole window — not merely a trend too
    // short to be significant.
    let first_slope = (best_k > 0)
        .then(|| ols(&et[..best_k], &ev[..best_k]).map(|x| x.0))
        .flatten()
        .unwrap_or(0.0);
    let plateau_shape = match &last {
        Some((_, ls, _, lhi)) if best_k > 0 && first_slope > 0.0 => {
            ls.abs() < FLAT_SHARE * first_slope
                && *lhi < FLAT_SHARE * first_slope
                && lhi * span / level * 100.0 < opts.min_growth_pct
                && !last_rises
                && !between_steps
        }
        _ => false,
    };
    let last_growing = between_steps
        || last
            .as_ref()
            .is_none_or(|(lm, ls, _, _)| lm.s > 0.0 && (lm.p < 0.1 || *ls >= 0.5 * slope));
    // Slowing growth: the last third's rate, at its upper bound, under half the first third's.
    let slowing = match (&first, &last) {
        (Some((_, fs, flo, _)), Some((_, _, _, lhi))) => {
            *flo > 0.0 && *lhi < SLOWING_SHARE * fs && significant_up
        }
        _ => false,
    };
    // ...unless the last third, on its own, still grows like a leak.
    let still_leaking = between_steps
        || last.as_ref().is_some_and(|(lm, ls, llo, _)| {
            (lm.p < 0.01 && *llo > 0.0 && ls * span / start_level * 100.0 >= opts.min_growth_pct)
                || (lm.p < 0.05 && lm.s > 0.0 && last_rises)
        });
    r.verdict = if level_shift && !(significant_up && last_growing) {
        r.confidence = 1.0 - step_sse / total_ss;
        r.notes
            .push(format!("one level shift at {:.0} s", et[step_k]));
        Verdict::LevelShift
    } else if growth_hi_pct < opts.min_growth_pct / 5.0 {
        if mk.p < 0.05 && up && slope > 0.0 {
            r.notes.push(format!(
                "a statistically significant but negligible growth (at most {:.2} % over the window, under a fifth of the practical threshold {:.1} %)",
                growth_hi_pct, opts.min_growth_pct
            ));
        }
        r.confidence = mk.p.clamp(0.5, 0.99);
        Verdict::NoLeak
    } else if mk.p < 0.05 && up && plateau_shape && n >= MIN_PLATEAU_ENVELOPE {
        r.warmup_excluded_s = Some(et[best_k] - t[0]);
        r.confidence = last.as_ref().map_or(0.5, |(lm, ..)| lm.p.clamp(0.5, 0.99));
        r.notes
            .push(format!("growth until {:.0} s, then flat", et[best_k]));
        Verdict::WarmupPlateau
    } else if mk.p < 0.05 && up && plateau_shape {
        let w = (et[n - 1] - et[0]) / (n - 1).max(1) as f64;
        let more = w * (MIN_PLATEAU_ENVELOPE - n) as f64;
        r.notes.push(format!(
            "growth until {:.0} s, then it looks flat on only {} envelope windows: record at least {} more minute(s) to tell a warm-up from a leak",
            et[best_k],
            n - best_k,
            minutes_up(more)
        ));
        Verdict::InsufficientData
    } else if slowing && !still_leaking {
        let (fs, lhi) = (
            first.as_ref().map_or(0.0, |f| f.1),
            last.as_ref().map_or(0.0, |l| l.3),
        );
        r.notes.push(format!(
            "the growth slows down (the last third grows at most {:.1} MiB/h, {:.0} % of the first third's {:.1} MiB/h): a warm-up that has not settled, or a leak that slowed; record at least {} more minute(s) (three times this span) for a verdict",
            lhi * 3600.0 / 1048576.0,
            (lhi / fs * 100.0).max(0.0),
            fs * 3600.0 / 1048576.0,
            minutes_up(2.0 * span)
        ));
        Verdict::InsufficientData
    } else if significant_up && last_growing && big_enough {
        r.confidence = (1.0 - mk.p).clamp(0.5, 0.999);
        Verdict::Leak
    } else if mk.p < 0.05 && up && slope > 0.0 {
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
}
