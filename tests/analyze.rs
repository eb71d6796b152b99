//! `analyze memory-trace` defects of issue 12, each pinned on a real recorded trace where one
//! is needed (a Python program OOM-killed inside a 32 MiB cgroup by the kernel) and on small
//! CSV exports otherwise: the trace's own limit and OOM kill, the plot's scale and marks,
//! "already above the limit", `--limit 0`, `--metric` by the source's column name, and a plot
//! into a missing directory.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Grows by 1 MiB every 0.2 s until the cgroup's limit kills it.
const PY_GROW: &str = "import time\nkeep = []\nwhile True:\n    keep.append(bytearray(1 << 20))\n    time.sleep(0.2)\n";

/// A CSV trace: `n` samples every 5 s of `f(i)` kB in a column named `rss_kb`, and a flat
/// `anon_kb` column beside it.
fn csv_trace(dir: &Path, n: usize, f: impl Fn(usize) -> usize) -> PathBuf {
    let mut text = String::from("time,rss_kb,anon_kb\n");
    for i in 0..n {
        text.push_str(&format!("{},{},{}\n", i * 5, f(i), 50_000));
    }
    let p = dir.join("service.csv");
    std::fs::write(&p, text).unwrap();
    p
}

/// The numbers drawn as text in an SVG (axis tick labels among them).
fn svg_numbers(svg: &str) -> Vec<f64> {
    svg.split('>')
        .filter_map(|chunk| chunk.split('<').next())
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .collect()
}

#[test]
fn a_trace_that_ends_in_an_oom_kill_says_so() {
    if !is_root() || !have("python3") {
        skip("needs root (a memory cgroup for record --memory-limit) and python3");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let trace = d.path().join("oom.jsonl");
    let o = run(&[
        "-q",
        "record",
        "--memory-limit",
        "32Mi",
        "-i",
        "100ms",
        "-o",
        trace.to_str().unwrap(),
        "--",
        "python3",
        "-c",
        PY_GROW,
    ]);
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    if !text.contains("\"oom_kill\"") {
        skip(&format!(
            "no oom_kill event recorded (exit {:?}, {}): this kernel does not count OOM kills in the cgroup",
            o.status.code(),
            stderr(&o).trim()
        ));
        return;
    }
    let plot = d.path().join("oom.svg");
    let args = [
        "analyze",
        "memory-trace",
        trace.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ];
    let j = json(&run(&[&args[..], &["--json"]].concat()));
    let r = &j["results"][0];
    // The trace's own limit, not the host's memory.
    assert_eq!(r["limit_bytes"], 32u64 << 20, "{r:#}");
    assert_eq!(r["limit_source"], "the trace's cgroup limit");
    assert!(r["oom_kill_count"].as_u64().unwrap() >= 1, "{r:#}");
    assert_eq!(r["ended_in_oom_kill"], true, "{r:#}");
    let kill_at = r["oom_kills_s"][0].as_f64().unwrap();
    // The event is the kernel's: the growth takes about 32 × 0.2 s to reach the limit.
    assert!((2.0..=30.0).contains(&kill_at), "{kill_at}");
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(table.contains("OOM-killed at"), "{table}");
    assert!(stderr(&o).contains("ends in an OOM kill"), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.contains("OOM kill (ends the trace)"),
        "the plot marks the kill"
    );
    assert!(svg.contains("limit (the trace"), "the plot draws the limit");
}

#[test]
fn a_host_memtotal_limit_scales_the_plot_to_the_data() {
    // No limit in a CSV: the host's MemTotal is the limit of last resort. The plot used to
    // run its memory axis up to the host's memory, flattening the trace against the bottom.
    let d = tempfile::tempdir().unwrap();
    let p = csv_trace(d.path(), 400, |i| 100_000 + i * 200);
    let plot = d.path().join("p.svg");
    let o = run(&[
        "analyze",
        "memory-trace",
        p.to_str().unwrap(),
        "--metric",
        "rss_kb",
        "--plot",
        plot.to_str().unwrap(),
        "--json",
    ]);
    let j = json(&o);
    let r = &j["results"][0];
    assert!(
        r["limit_source"].as_str().unwrap().contains("MemTotal"),
        "{r:#}"
    );
    let host_mib = r["limit_bytes"].as_f64().unwrap() / 1048576.0;
    let svg = std::fs::read_to_string(&plot).unwrap();
    let top = svg_numbers(&svg).into_iter().fold(0.0, f64::max);
    // The data end near 176 MiB; the axis must be of that order, not the host's.
    assert!(top < 400.0 && top < host_mib / 4.0, "axis up to {top} MiB");
    assert!(top >= 150.0, "axis up to {top} MiB");
}

#[test]
fn already_above_the_limit_is_said_instead_of_0_s() {
    let d = tempfile::tempdir().unwrap();
    let p = csv_trace(d.path(), 400, |i| 100_000 + i * 200 + (i % 12) * 300);
    let o = run(&[
        "analyze",
        "memory-trace",
        p.to_str().unwrap(),
        "--metric",
        "rss_kb",
        "--limit",
        "64Mi",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("already above the limit"), "{out}");
    assert!(!out.contains(" 0 s"), "{out}");
    assert!(
        !stderr(&o).contains("between 0 s and 0 s"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn limit_0_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let p = csv_trace(d.path(), 40, |i| 100_000 + i);
    let o = run(&[
        "analyze",
        "memory-trace",
        p.to_str().unwrap(),
        "--limit",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("a limit of 0 bytes"), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn metric_accepts_the_source_column_name() {
    let d = tempfile::tempdir().unwrap();
    let p = csv_trace(d.path(), 40, |i| 100_000 + i);
    for (asked, metric) in [
        ("rss_kb", "rss_bytes"),
        ("rss_bytes", "rss_bytes"),
        ("rss", "rss_bytes"),
        ("anon_kb", "anon_bytes"),
    ] {
        let o = run(&[
            "analyze",
            "memory-trace",
            p.to_str().unwrap(),
            "--metric",
            asked,
            "--json",
        ]);
        assert_eq!(json(&o)["results"][0]["metric"], metric, "{asked}");
    }
    let o = run(&[
        "analyze",
        "memory-trace",
        p.to_str().unwrap(),
        "--metric",
        "swap_kb",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no metric \"swap_kb\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn plot_into_a_missing_directory_is_one_line() {
    let d = tempfile::tempdir().unwrap();
    let p = csv_trace(d.path(), 40, |i| 100_000 + i);
    let out = d.path().join("no-such-dir/plot.svg");
    let o = run(&[
        "analyze",
        "memory-trace",
        p.to_str().unwrap(),
        "--plot",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(out.to_str().unwrap()), "{err}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(
        !err.contains("BackendError") && !err.contains("Os {"),
        "{err}"
    );
    assert_eq!(stdout(&o), "", "no table before the error");
}
