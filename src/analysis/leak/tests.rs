//! Unit tests of the parent module, kept apart so the module stays one concept to read.

use super::*;

/// A series of `t` (seconds) and `v` (bytes), for the analyses' tests.
pub(crate) fn series(t: Vec<f64>, v: Vec<f64>) -> Series {
    let n = v.len();
    Series {
        name: "t".into(),
        metric: "rss_bytes".into(),
        t,
        v,
        pid: vec![None; n],
        ..Series::default()
    }
}

#[test]
fn the_limit_is_reported_even_with_too_few_samples() {
    let s = series(vec![0.0, 1.0], vec![1.0, 2.0]);
    let r = analyze(
        &s,
        &LeakOptions {
            limit: Some((1 << 20, "--limit".into())),
            ..Default::default()
        },
    );
    assert_eq!(r.verdict, Verdict::InsufficientData);
    assert_eq!(r.limit_bytes, Some(1 << 20));
}

#[test]
fn linear_leak_with_sawtooth() {
    let t: Vec<f64> = (0..3600).map(|i| i as f64).collect();
    let v: Vec<f64> = t
        .iter()
        .map(|&x| 100e6 + 2000.0 * x + ((x as i64 % 60) as f64) * 1e6)
        .collect();
    let r = analyze(
        &series(t, v),
        &LeakOptions {
            limit: Some((400_000_000, "test".into())),
            ..Default::default()
        },
    );
    assert_eq!(r.verdict, Verdict::Leak, "{r:?}");
    let s = r.slope_bytes_per_s.unwrap();
    assert!((s - 2000.0).abs() / 2000.0 < 0.1, "slope {s}");
    let [lo, hi] = r.slope_ci_bytes_per_s.unwrap();
    assert!(lo <= 2000.0 && 2000.0 <= hi);
    assert!(r.time_to_limit_s.is_some());
}

#[test]
fn stable_plateau_and_restart() {
    let t: Vec<f64> = (0..2000).map(|i| i as f64).collect();
    let flat: Vec<f64> = t.iter().map(|&x| 200e6 + ((x * 7.0).sin() * 1e6)).collect();
    assert_eq!(
        analyze(&series(t.clone(), flat), &LeakOptions::default()).verdict,
        Verdict::NoLeak
    );
    let warm: Vec<f64> = t
        .iter()
        .map(|&x| 100e6 + 100e6 * (1.0 - (-x / 150.0).exp()) + (x * 3.0).sin() * 2e5)
        .collect();
    assert_eq!(
        analyze(&series(t.clone(), warm), &LeakOptions::default()).verdict,
        Verdict::WarmupPlateau
    );
    let restart: Vec<f64> = t
        .iter()
        .map(|&x| {
            if x < 1000.0 {
                100e6 + 1e5 * x
            } else {
                100e6 + ((x * 5.0).sin() * 1e5)
            }
        })
        .collect();
    let r = analyze(&series(t, restart), &LeakOptions::default());
    assert_eq!(r.restarts_s, vec![1000.0]);
    assert_eq!(r.verdict, Verdict::NoLeak);
}

#[test]
fn too_short_is_insufficient() {
    let r = analyze(
        &series(vec![0.0, 1.0], vec![1.0, 2.0]),
        &LeakOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::InsufficientData);
}
