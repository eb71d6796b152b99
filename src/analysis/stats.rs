//! Statistics for leak detection: Mann–Kendall trend test with the Hamed–Rao correction for
//! serial correlation, Theil–Sen slope with Sen's confidence interval, least squares, and small
//! helpers. Distributions and quantiles come from statrs.
//!
//! Sources:
//! - H. B. Mann (1945), "Nonparametric tests against trend", Econometrica 13; M. G. Kendall
//!   (1975), *Rank Correlation Methods*: S = Σ_{i<j} sgn(x_j − x_i),
//!   Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 over tie groups t.
//! - K. H. Hamed and A. R. Rao (1998), "A modified Mann-Kendall trend test for autocorrelated
//!   data", J. Hydrology 204: Var*(S) = Var(S) · n/n*, with
//!   n/n* = 1 + 2/(n(n−1)(n−2)) Σ_{k=1}^{n−1} (n−k)(n−k−1)(n−k−2) ρ_k(R), ρ_k the lag-k
//!   autocorrelation of the ranks of the detrended series, counting only significant lags.
//! - H. Theil (1950); P. K. Sen (1968), "Estimates of the regression coefficient based on
//!   Kendall's tau", JASA 63: slope = median of (x_j − x_i)/(t_j − t_i); its 100(1−α) % interval
//!   is the pair of ordered slopes at ranks (N − C)/2 and (N + C)/2 + 1, C = z_{1−α/2} √Var(S).

use statrs::distribution::{ContinuousCDF, Normal};

/// Result of the Mann–Kendall test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// The statistic S: concordant minus discordant pairs (positive for an upward trend).
    pub s: f64,
    /// Var(S) before the correction.
    pub var_s: f64,
    /// Var(S) after the Hamed–Rao correction (equal to `var_s` when not applied).
    pub var_s_corrected: f64,
    /// n/n*: how much serial correlation inflates the variance.
    pub correction: f64,
    /// Standard normal score of S (continuity-corrected) with the corrected variance.
    pub z: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Kendall's tau.
    pub tau: f64,
}

fn std_normal() -> Normal {
    Normal::new(0.0, 1.0).expect("standard normal")
}

/// Standard normal quantile.
pub fn z_quantile(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

fn sign(d: f64) -> f64 {
    if d > 0.0 {
        1.0
    } else if d < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Mann–Kendall S and its variance with the tie correction. O(n²).
fn mk_s(x: &[f64]) -> (f64, f64) {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            s += sign(x[j] - x[i]);
        }
    }
    let mut sorted = x.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let mut ties = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        if t > 1.0 {
            ties += t * (t - 1.0) * (2.0 * t + 5.0);
        }
        i = j;
    }
    let nf = n as f64;
    (s, (nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0)
}

/// Ranks (1-based, ties get the mean rank).
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && x[idx[j]] == x[idx[i]] {
            j += 1;
        }
        let mean = (i + j + 1) as f64 / 2.0;
        for &k in &idx[i..j] {
            r[k] = mean;
        }
        i = j;
    }
    r
}

/// Lag-k autocorrelation of `x` (biased estimator, as in the Hamed–Rao paper).
pub fn autocorrelation(x: &[f64], k: usize) -> f64 {
    let n = x.len();
    if k >= n {
        return 0.0;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let den: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    if den == 0.0 {
        return 0.0;
    }
    let num: f64 = (0..n - k).map(|i| (x[i] - mean) * (x[i + k] - mean)).sum();
    num / den
}

/// Mann–Kendall test on equally spaced `x`, with the Hamed–Rao variance correction when
/// `correct` is set. Needs at least 3 points; returns `None` otherwise.
pub fn mann_kendall(x: &[f64], correct: bool) -> Option<MannKendall> {
    let n = x.len();
    if n < 3 {
        return None;
    }
    let (s, var_s) = mk_s(x);
    let mut correction = 1.0;
    if correct && n >= 10 {
        // Detrend with the Theil–Sen slope, rank, and sum the significant rank autocorrelations.
        let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let slope = theil_sen_slope(&t, x).unwrap_or(0.0);
        let detrended: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| v - slope * i as f64)
            .collect();
        let r = ranks(&detrended);
        let nf = n as f64;
        let bound = z_quantile(0.975) / nf.sqrt();
        let mut sum = 0.0;
        // Lags beyond n/3 are too noisy to estimate; significant ones only.
        for k in 1..(n / 3).max(2) {
            let rho = autocorrelation(&r, k);
            if rho.abs() > bound {
                let kf = k as f64;
                sum += (nf - kf) * (nf - kf - 1.0) * (nf - kf - 2.0) * rho;
            }
        }
        correction = (1.0 + 2.0 / (nf * (nf - 1.0) * (nf - 2.0)) * sum).max(1.0);
    }
    let var_c = var_s * correction;
    let z = if s > 0.0 {
        (s - 1.0) / var_c.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var_c.sqrt()
    } else {
        0.0
    };
    let p = 2.0 * (1.0 - std_normal().cdf(z.abs()));
    let pairs = (n * (n - 1)) as f64 / 2.0;
    Some(MannKendall {
        s,
        var_s,
        var_s_corrected: var_c,
        correction,
        z,
        p,
        tau: s / pairs,
    })
}

/// All pairwise slopes (x_j − x_i)/(t_j − t_i) for t_j > t_i, sorted.
fn pair_slopes(t: &[f64], x: &[f64]) -> Vec<f64> {
    let n = t.len();
    let mut v = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dt = t[j] - t[i];
            if dt > 0.0 {
                v.push((x[j] - x[i]) / dt);
            }
        }
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn median_sorted(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Theil–Sen slope: the median pairwise slope.
pub fn theil_sen_slope(t: &[f64], x: &[f64]) -> Option<f64> {
    median_sorted(&pair_slopes(t, x))
}

/// Theil–Sen slope with Sen's two-sided `1 − alpha` interval, using `var_s` (the Mann–Kendall
/// variance, corrected for serial correlation when the caller has done so).
pub fn theil_sen(t: &[f64], x: &[f64], var_s: f64, alpha: f64) -> Option<(f64, f64, f64)> {
    let slopes = pair_slopes(t, x);
    let slope = median_sorted(&slopes)?;
    let n = slopes.len() as f64;
    let c = z_quantile(1.0 - alpha / 2.0) * var_s.sqrt();
    let lo_rank = ((n - c) / 2.0).floor().max(1.0) as usize;
    let hi_rank = ((n + c) / 2.0).ceil().min(n) as usize;
    let lo = slopes[lo_rank.saturating_sub(1).min(slopes.len() - 1)];
    let hi = slopes[hi_rank.saturating_sub(1).min(slopes.len() - 1)];
    Some((slope, lo, hi))
}

/// Ordinary least squares: (slope, intercept, R²).
pub fn ols(t: &[f64], x: &[f64]) -> Option<(f64, f64, f64)> {
    let n = t.len() as f64;
    if t.len() < 2 {
        return None;
    }
    let mt = t.iter().sum::<f64>() / n;
    let mx = x.iter().sum::<f64>() / n;
    let stt: f64 = t.iter().map(|v| (v - mt).powi(2)).sum();
    if stt == 0.0 {
        return None;
    }
    let stx: f64 = t.iter().zip(x).map(|(a, b)| (a - mt) * (b - mx)).sum();
    let slope = stx / stt;
    let intercept = mx - slope * mt;
    let sse: f64 = t
        .iter()
        .zip(x)
        .map(|(a, b)| (b - (intercept + slope * a)).powi(2))
        .sum();
    let sst: f64 = x.iter().map(|b| (b - mx).powi(2)).sum();
    let r2 = if sst > 0.0 { 1.0 - sse / sst } else { 0.0 };
    Some((slope, intercept, r2))
}

/// Median of unsorted values.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    median_sorted(&s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published worked example "A Mann-Kendall Example (By Hand)", J. Little, College of the
    /// Holy Cross (mathcs.holycross.edu/~little/Montserrat/MannKendallByHand.txt): 14 values,
    /// S = 54, V = (14)(13)(33)/18 − (2)(1)(9)/18 (one tie pair), Z = (S − 1)/√V = 2.9058,
    /// one-sided p ≈ 0.0018.
    #[test]
    fn mann_kendall_published_example() {
        let x = [
            12.9, 14.8, 13.2, 15.7, 13.8, 15.6, 12.9, 11.0, 17.3, 15.9, 19.0, 18.3, 20.1, 21.7,
        ];
        let mk = mann_kendall(&x, false).unwrap();
        assert_eq!(mk.s, 54.0);
        assert!((mk.var_s - (14.0 * 13.0 * 33.0 / 18.0 - 2.0 * 9.0 / 18.0)).abs() < 1e-9);
        assert!((mk.z - 2.9058).abs() < 1e-4, "z {}", mk.z);
        assert!(
            (mk.p / 2.0 - 0.0018).abs() < 0.0001,
            "one-sided p {}",
            mk.p / 2.0
        );
    }

    /// Theil–Sen by hand on five points: the ten pairwise slopes are 5, 5, 5/3, 5, 5, 0, 7.5,
    /// −5, 5, 15; their median is 5.
    #[test]
    fn theil_sen_by_hand() {
        let t = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [10.0, 15.0, 20.0, 15.0, 30.0];
        assert_eq!(theil_sen_slope(&t, &y), Some(5.0));
        let (s, var) = mk_s(&y);
        assert_eq!(s, 7.0, "8 increases, 1 decrease, 1 tie");
        assert!((var - (5.0 * 4.0 * 15.0 - 2.0 * 1.0 * 9.0) / 18.0).abs() < 1e-9);
    }

    /// Mann–Kendall on a strictly increasing series of n = 10: S = 45, Var = 125,
    /// z = 44/√125 = 3.9355, p ≈ 8.3e-5 (Gilbert 1987, *Statistical Methods for Environmental
    /// Pollution Monitoring*, §16.4 formulas).
    #[test]
    fn mann_kendall_monotone_series() {
        let x: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let mk = mann_kendall(&x, false).unwrap();
        assert_eq!(mk.s, 45.0);
        assert_eq!(mk.var_s, 125.0);
        assert!((mk.z - 3.9355).abs() < 1e-3);
        assert!(mk.p < 1e-4);
        assert_eq!(mk.tau, 1.0);
    }

    #[test]
    fn hamed_rao_inflates_variance_for_autocorrelated_noise() {
        // AR(1) with phi = 0.9 and no trend: the uncorrected test calls many false trends.
        let mut seed = 7u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut x = vec![0.0; 200];
        for i in 1..200 {
            x[i] = 0.9 * x[i - 1] + rnd();
        }
        let plain = mann_kendall(&x, false).unwrap();
        let hr = mann_kendall(&x, true).unwrap();
        assert!(hr.correction > 1.5, "correction {}", hr.correction);
        assert!(hr.p > plain.p);
    }

    #[test]
    fn sen_interval_covers_the_true_slope() {
        let t: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let x: Vec<f64> = t
            .iter()
            .map(|v| 2.0 * v + if (*v as i64) % 3 == 0 { 1.0 } else { -0.5 })
            .collect();
        let mk = mann_kendall(&x, false).unwrap();
        let (s, lo, hi) = theil_sen(&t, &x, mk.var_s, 0.05).unwrap();
        assert!(
            lo <= 2.0 && 2.0 <= hi && (s - 2.0).abs() < 0.1,
            "{lo} {s} {hi}"
        );
        let (b, _, r2) = ols(&t, &x).unwrap();
        assert!((b - 2.0).abs() < 0.05 && r2 > 0.99);
    }
}
