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

/// The flip of issue 15: a Python leaker recorded from its start for 15 s at 250 ms (a low
/// first sample before the interpreter loaded, then 2.5 MiB/s) was once `warmup-plateau`
/// because four points of a last third cannot show a trend.
#[test]
fn a_short_leak_with_a_startup_jump_is_a_leak() {
    let t: Vec<f64> = (0..60).map(|i| i as f64 * 0.25).collect();
    let v: Vec<f64> = t
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if i == 0 {
                2e6
            } else {
                9e6 + 2.5 * 1048576.0 * x + ((i * 7919) % 13) as f64 * 3e4
            }
        })
        .collect();
    let r = analyze(&series(t, v), &LeakOptions::default());
    assert_eq!(r.verdict, Verdict::Leak, "{:?}", r.notes);
}

/// Growth that slows (a warm-up still settling) is not a leak: `insufficient-data`, with how
/// long to record.
#[test]
fn slowing_growth_asks_for_a_longer_recording() {
    let t: Vec<f64> = (0..240).map(|i| i as f64 * 0.25).collect();
    let v: Vec<f64> = t
        .iter()
        .enumerate()
        .map(|(i, &x)| 50e6 + 80e6 * (1.0 - (-x / 10.0).exp()) + ((i * 7919) % 17) as f64 * 2e4)
        .collect();
    let r = analyze(&series(t, v), &LeakOptions::default());
    assert_ne!(r.verdict, Verdict::Leak, "{:?}", r.notes);
    assert_ne!(r.verdict, Verdict::Suspected, "{:?}", r.notes);
    if r.verdict == Verdict::InsufficientData {
        assert!(
            r.notes.iter().any(|n| n.contains("more minute")),
            "{:?}",
            r.notes
        );
    }
}

/// A plateau on fewer than 12 envelope points is not claimed.
#[test]
fn a_plateau_needs_enough_envelope_points() {
    // 10 windows of 5 samples: growth for 4 windows, then flat.
    let t: Vec<f64> = (0..50).map(|i| i as f64).collect();
    let v: Vec<f64> = t
        .iter()
        .map(|&x| 100e6 + 20e6 * (x.min(20.0) / 20.0) + (x * 1.7).sin() * 1e4)
        .collect();
    let r = analyze(&series(t, v), &LeakOptions::default());
    assert_ne!(r.verdict, Verdict::WarmupPlateau, "{:?}", r.notes);
    assert_ne!(r.verdict, Verdict::Leak, "{:?}", r.notes);
}

/// A JVM started with the recording: its first 2 minutes are its warm-up, left out; what
/// follows decides.
#[test]
fn a_jvm_warm_up_is_left_out() {
    let jvm = |cmd: &str, n: usize, f: &dyn Fn(f64) -> f64| {
        let t: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let v = t.iter().map(|&x| f(x)).collect();
        Series {
            target_kind: Some("command".into()),
            command: Some(cmd.into()),
            ..series(t, v)
        }
    };
    // Heap sizing: 17 MB/s for 60 s, then flat. 60 s of it is a straight line.
    let sizing = |x: f64| 60e6 + 17e6 * x.min(60.0) + (x * 1.3).sin() * 1e5;
    let r = analyze(
        &jvm("java -cp . Churn", 60, &sizing),
        &LeakOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::InsufficientData, "{:?}", r.notes);
    assert!(
        r.notes.iter().any(|n| n.contains("more minute")),
        "{:?}",
        r.notes
    );
    let r = analyze(
        &jvm("java -cp . Churn", 300, &sizing),
        &LeakOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::NoLeak, "{:?}", r.notes);
    // A leak that goes on after the warm-up is still one.
    let leak = |x: f64| 60e6 + 1.3e6 * x + (x * 1.3).sin() * 1e5;
    let r = analyze(
        &jvm("java -Xmx2g -cp . Leak", 300, &leak),
        &LeakOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::Leak, "{:?}", r.notes);
    // Not a JVM: the whole trace decides.
    let r = analyze(
        &jvm("python3 leak.py", 60, &sizing),
        &LeakOptions::default(),
    );
    assert_eq!(r.verdict, Verdict::Leak, "{:?}", r.notes);
}

/// Regression: 8.75 / 0.07 rounds to 124.999…, so the window of the sample at 8.75 s ended at
/// 125 × 0.07 = 8.75 s, the sample was not inside it, and the walk never advanced (on a real
/// 300 s Node trace the loop allocated 22 GiB before the kernel killed it). Each window must
/// take at least its first sample.
#[test]
fn the_envelope_walk_advances_when_rounding_puts_a_sample_on_its_window_end() {
    let w = 0.07;
    assert!(
        ((8.75f64 / w).floor() + 1.0) * w <= 8.75,
        "the rounding case"
    );
    let t = vec![8.70, 8.75, 8.80, 8.85];
    let v = vec![4.0, 3.0, 2.0, 1.0];
    let (env, _) = envelope(&t, &v, w, 0.0);
    assert!(!env.is_empty() && env.len() <= t.len(), "{env:?}");
    let covered: Vec<f64> = env.iter().map(|p| p.0).collect();
    assert!(
        covered.contains(&8.75),
        "the sample at 8.75 s has a window: {covered:?}"
    );
}

/// A heap that grows a step every 50 s (G1 expanding its committed heap under a retained
/// list) is a leak although its last 40 s are flat; three steps and then 230 s flat are a
/// warm-up that settled.
#[test]
fn a_staircase_is_a_leak_until_its_flat_end_outlasts_its_steps() {
    const MIB: f64 = 1048576.0;
    let t: Vec<f64> = (0..300).map(f64::from).collect();
    let stairs: Vec<f64> = t
        .iter()
        .map(|&x| 100.0 * MIB + 30.0 * MIB * ((x - 10.0) / 50.0).floor().max(0.0))
        .collect();
    let r = analyze(&series(t.clone(), stairs), &LeakOptions::default());
    assert_eq!(r.verdict, Verdict::Leak, "{:?}", r.notes);
    assert!(
        r.notes.iter().any(|n| n.contains("staircase")),
        "{:?}",
        r.notes
    );
    let settled: Vec<f64> = t
        .iter()
        .map(|&x| 100.0 * MIB + 30.0 * MIB * ((x - 10.0) / 30.0).floor().clamp(0.0, 3.0))
        .collect();
    let r = analyze(&series(t, settled), &LeakOptions::default());
    assert_ne!(r.verdict, Verdict::Leak, "{:?}", r.notes);
    assert_ne!(r.verdict, Verdict::Suspected, "{:?}", r.notes);
}
