//! Accuracy of the leak detector on seeded, labelled synthetic traces
//! (clw_diag::analysis::synth). Targets of issue 4: precision ≥ 0.95 and recall ≥ 0.9 for leaks
//! of at least 5 % growth, median slope error ≤ 10 %, 95 % interval coverage ≥ 90 %.
//! `benches/leak_accuracy.sh` runs this with more traces and prints the report.

use clw_diag::analysis::leak::{analyze, LeakOptions, Verdict};
use clw_diag::analysis::synth::{generate, Rng, SHAPES};

pub struct Report {
    pub precision: f64,
    pub recall: f64,
    pub median_slope_error: f64,
    pub coverage: f64,
    pub lines: Vec<String>,
}

pub fn evaluate(per_shape: usize, seed: u64) -> Report {
    let mut rng = Rng::new(seed);
    let (mut tp, mut fp, mut pos) = (0usize, 0usize, 0usize);
    let mut errors = Vec::new();
    let (mut covered, mut ci_total) = (0usize, 0usize);
    let mut lines = Vec::new();
    for shape in SHAPES {
        let mut verdicts = std::collections::BTreeMap::new();
        for _ in 0..per_shape {
            let l = generate(shape, &mut rng);
            let r = analyze(&l.series, &LeakOptions::default());
            *verdicts.entry(r.verdict.as_str()).or_insert(0usize) += 1;
            let called = r.verdict == Verdict::Leak;
            if l.leak {
                pos += 1;
            }
            if called && l.leak {
                tp += 1;
                if let (Some(s), Some([lo, hi])) = (r.slope_bytes_per_s, r.slope_ci_bytes_per_s) {
                    errors.push(((s - l.slope) / l.slope).abs());
                    if shape != "staircase" {
                        ci_total += 1;
                        covered += usize::from(lo <= l.slope && l.slope <= hi);
                    }
                }
            } else if called {
                fp += 1;
            }
        }
        lines.push(format!("{shape:>10}: {verdicts:?}"));
    }
    errors.sort_by(|a, b| a.total_cmp(b));
    Report {
        precision: tp as f64 / (tp + fp).max(1) as f64,
        recall: tp as f64 / pos.max(1) as f64,
        median_slope_error: errors.get(errors.len() / 2).copied().unwrap_or(1.0),
        coverage: covered as f64 / ci_total.max(1) as f64,
        lines,
    }
}

#[test]
fn accuracy_targets_on_synthetic_traces() {
    let r = evaluate(25, 42);
    for l in &r.lines {
        eprintln!("{l}");
    }
    eprintln!(
        "precision {:.3} recall {:.3} median slope error {:.3} coverage {:.3}",
        r.precision, r.recall, r.median_slope_error, r.coverage
    );
    assert!(r.precision >= 0.95, "precision {}", r.precision);
    assert!(r.recall >= 0.9, "recall {}", r.recall);
    assert!(
        r.median_slope_error <= 0.10,
        "median slope error {}",
        r.median_slope_error
    );
    assert!(r.coverage >= 0.90, "coverage {}", r.coverage);
}
