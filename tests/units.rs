//! One duration grammar, one instant parser and one size grammar in every flag (issue 12,
//! "Three duration grammars" and "Units"), through the real binary. The oracles: `date(1)` for
//! the instants, the Kubernetes definition of `G` (10^9) and `Gi` (2^30) for sizes.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `date -u` of a moment relative to now, in the given format (GNU date is the oracle).
fn date(relative: &str, format: &str) -> String {
    let o = Command::new("date")
        .args(["-u", "-d", relative, format])
        .output()
        .expect("date(1)");
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o).trim().to_string()
}

fn kill_line(time: &str, pid: u32) -> String {
    format!(
        "{time} node kernel: Out of memory: Killed process {pid} (worker) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB\n"
    )
}

fn triage_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut c = cmd()
        .arg("triage")
        .arg("-")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    c.wait_with_output().unwrap()
}

fn pids(o: &std::process::Output) -> Vec<i64> {
    json(o)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pid"].as_i64().unwrap())
        .collect()
}

/// Regression: `triage --since 1.5h` was refused (its own grammar took whole numbers only).
#[test]
fn triage_since_fractional_hours_is_accepted() {
    let f = "+%Y-%m-%dT%H:%M:%SZ";
    let input = kill_line(&date("2 hours ago", f), 1) + &kill_line(&date("1 hour ago", f), 2);
    let o = triage_stdin(&["--since", "1.5h", "--json"], &input);
    assert_eq!(pids(&o), [2], "{}", stdout(&o));
    let o = triage_stdin(&["--since", "150m", "--json"], &input);
    assert_eq!(pids(&o), [1, 2]);
}

/// Instants: RFC 3339 with an offset, and `YYYY-MM-DD HH:MM:SS` read as UTC.
#[test]
fn triage_since_timestamps_with_and_without_offset() {
    let input = kill_line("2024-04-15T10:00:00Z", 1) + &kill_line("2024-04-15T11:00:00Z", 2);
    for (since, want) in [
        ("2024-04-15T12:30:00+02:00", vec![2]), // 10:30 UTC
        ("2024-04-15 10:30:00", vec![2]),       // UTC: no offset given
        ("2024-04-15 10:00", vec![1, 2]),
        ("2024-04-15T07:00:00-04:00", vec![2]), // 11:00 UTC, inclusive
        ("2024-04-15", vec![1, 2]),
    ] {
        let o = triage_stdin(&["--since", since, "--json"], &input);
        assert_eq!(pids(&o), want, "--since {since}");
    }
    let o = triage_stdin(&["--since", "2024-02-30"], &input);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a valid time"), "{}", stderr(&o));
}

/// `record -d DURATION -i 50ms -- sleep SLEEP`: its output, the trace and how long it took.
fn record_for(duration: &str, sleep: &str) -> (std::process::Output, String, Duration) {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("t.json");
    let t0 = Instant::now();
    let o = run(&[
        "-q",
        "record",
        "-d",
        duration,
        "-i",
        "50ms",
        "-o",
        out.to_str().unwrap(),
        "--",
        "sleep",
        sleep,
    ]);
    let took = t0.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    (o, std::fs::read_to_string(&out).unwrap(), took)
}

/// Regression: `record -d 1d` was refused (record's grammar had no days).
#[test]
fn record_duration_in_days_is_accepted() {
    let (_, text, _) = record_for("1d", "0.3");
    let header: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["interval_s"], 0.05);
    assert!(text.lines().count() >= 3, "{text}");
}

/// A fractional `-d` stops the recording when it says (the target would run for 30 s).
#[test]
fn record_fractional_duration_stops_in_time() {
    let (_, _, took) = record_for("0.008m", "30");
    // 0.008 min = 480 ms.
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

/// Every command line fails with exit 2 and `want` in its error.
fn all_refused_with(cases: &[&[&str]], want: &str) {
    for args in cases {
        let o = run(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

/// The same error text for a bad duration in every flag that takes one.
#[test]
fn one_duration_error_everywhere() {
    all_refused_with(
        &[
            &["sample", "--watch", "soon"],
            &["record", "-d", "soon", "--", "true"],
            &["record", "-i", "soon", "--", "true"],
            &["recommend", "x.csv", "--interval", "soon"],
            &["recommend", "x.csv", "--timeout", "soon"],
            &["recommend", "x.csv", "--since", "soon"],
            &["report", "--section-timeout", "soon"],
        ],
        "\"soon\" is not a duration (e.g. 250ms, 30s, 5m, 1.5h, 2d, 1w; a bare number is seconds)",
    );
    all_refused_with(
        &[
            &["sample", "--watch", "3y"],
            &["recommend", "x.csv", "--interval", "3y"],
            &["triage", "-", "--since", "3y"],
            &["report", "--since", "3y"],
        ],
        "unknown unit \"y\" in \"3y\" (use ms, s, m, h, d or w)",
    );
    // Each flag keeps its own bounds, said the same way.
    all_refused_with(
        &[&["sample", "--watch", "5ms"]],
        "\"5ms\" is out of range (100ms to 365d)",
    );
    all_refused_with(
        &[&["record", "-i", "1ms", "--", "true"]],
        "\"1ms\" is out of range (10ms to 365d)",
    );
    all_refused_with(
        &[&["report", "--section-timeout", "2d"]],
        "\"2d\" is out of range (more than 0s, at most 1d)",
    );
}

fn analyzed_limit(limit: &str) -> serde_json::Value {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("t.csv");
    let mut text = String::from("time,rss_kb\n");
    for i in 0..200 {
        text.push_str(&format!("{},{}\n", i * 5, 100_000 + i * 50));
    }
    std::fs::write(&p, text).unwrap();
    let o = run(&[
        "analyze",
        "memory-trace",
        p.to_str().unwrap(),
        "--limit",
        limit,
        "--json",
    ]);
    json(&o)["results"][0]["limit_bytes"].clone()
}

/// Regression: `--limit 2G` was 2 GiB; like Kubernetes, `G` is 10^9 and `Gi` is 2^30.
#[test]
fn limit_2g_is_decimal_and_2gi_binary() {
    assert_eq!(analyzed_limit("2G"), 2_000_000_000u64);
    assert_eq!(analyzed_limit("2GB"), 2_000_000_000u64);
    assert_eq!(analyzed_limit("64M"), 64_000_000u64);
    assert_eq!(analyzed_limit("2Gi"), 2_147_483_648u64);
    assert_eq!(analyzed_limit("2GiB"), 2_147_483_648u64);
    assert_eq!(analyzed_limit("1.5Mi"), 1_572_864u64);
    assert_eq!(analyzed_limit("1048576"), 1_048_576u64);
    let o = run(&["analyze", "memory-trace", "x.csv", "--limit", "2 parsecs"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown unit \"parsecs\""),
        "{}",
        stderr(&o)
    );
}

/// The help of every size flag says which suffixes are decimal and which binary.
#[test]
fn size_flags_say_their_units() {
    for (args, flag) in [
        (&["analyze", "memory-trace", "--help"][..], "--limit"),
        (&["analyze", "memory-trace", "--help"], "--min-rate"),
        (&["record", "--help"], "--memory-limit"),
    ] {
        let help = stdout(&run(args));
        let at = help
            .find(&format!("{flag} <"))
            .unwrap_or_else(|| panic!("{flag}"));
        let text: String = help[at..].lines().take(4).collect::<Vec<_>>().join(" ");
        assert!(text.contains("Gi") || text.contains("Mi"), "{flag}: {text}");
        assert!(
            text.contains("1000") || text.contains("10^"),
            "{flag}: {text}"
        );
    }
}
