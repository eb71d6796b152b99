//! Snapshots of `recommend` (table and JSON, on the captured Prometheus answer) and `report`
//! (text and JSON, on the v2 fixture tree, a captured kernel OOM report as a worker log, and a
//! trace made here), so any change in what users see shows in review. Times that change every
//! run (generation time, section durations) are masked.

mod common;

use common::*;

/// Mask what changes from run to run: `generated …`, `(N ms`, `"elapsed_ms": N`,
/// `"generated_at": "…"`, the temporary directory and the checkout's path.
fn mask(s: &str, tmp: &std::path::Path) -> String {
    let s = s
        .replace(&tmp.display().to_string(), "[tmp]")
        .replace(env!("CARGO_MANIFEST_DIR"), "[repo]");
    let res = [
        (r"generated \S+Z", "generated [time]"),
        (r"\(\d+ ms", "([n] ms"),
        (r#""elapsed_ms": \d+"#, r#""elapsed_ms": [n]"#),
        (r#""generated_at": "[^"]*""#, r#""generated_at": "[time]""#),
        (r#""timestamp_s": [0-9.]+"#, r#""timestamp_s": [time]"#),
        (r"since \S+Z \(", "since [time] ("),
        (r#""since": "[^"]*""#, r#""since": "[time]""#),
    ];
    let mut out = s;
    for (re, with) in res {
        out = regex::Regex::new(re)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

fn prom() -> std::path::PathBuf {
    fixtures().join("recommend/prometheus-query-range.json")
}

#[test]
fn recommend_table_of_a_prometheus_answer() {
    let o = run_fixture(
        &fixtures().join("v2"),
        &["recommend", prom().to_str().unwrap(), "--policy", "all"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The data on stdout, the notes on stderr.
    insta::assert_snapshot!(format!("{}--- stderr ---\n{}", stdout(&o), stderr(&o)));
}

#[test]
fn recommend_json_of_a_prometheus_answer() {
    let o = run_fixture(
        &fixtures().join("v2"),
        &["recommend", prom().to_str().unwrap(), "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!(stdout(&o).replace(env!("CARGO_MANIFEST_DIR"), "[repo]"));
}

/// A 10-minute trace of a process growing by 100 kB a second, one sample a second.
fn trace(dir: &std::path::Path) -> std::path::PathBuf {
    let mut t = String::from("t,rss_bytes\n");
    for i in 0..600u64 {
        t.push_str(&format!("{i},{}\n", 200_000_000 + i * 100_000));
    }
    let p = dir.join("grow.csv");
    std::fs::write(&p, t).unwrap();
    p
}

fn report(json: bool) -> String {
    let d = tempfile::tempdir().unwrap();
    let log = fixtures()
        .join("triage/k8s-56891-rhel7-3.10.0-327-dmesg-T-kubepods-memcg-sacrifice-child.log");
    let tr = trace(d.path());
    // An empty host root: the names must not depend on this machine's runtime files.
    let host = d.path().join("host");
    std::fs::create_dir(&host).unwrap();
    // No systemd-coredump store, and an empty journal directory: not this machine's.
    let store = d.path().join("no-coredump");
    let journal = d.path().join("journal");
    std::fs::create_dir(&journal).unwrap();
    let mut args = vec![
        "--host-root",
        host.to_str().unwrap(),
        "report",
        "--coredump-dir",
        store.to_str().unwrap(),
        "--coredump-journal-dir",
        journal.to_str().unwrap(),
        "--logs",
        log.to_str().unwrap(),
        "--trace",
        tr.to_str().unwrap(),
        "--since",
        "100000d",
        "--kmsg",
        "/nonexistent/kmsg",
    ];
    if json {
        args.push("--json");
    }
    let o = run_fixture(&fixtures().join("v2"), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    mask(&stdout(&o), d.path())
}

#[test]
fn report_text_on_fixtures() {
    insta::assert_snapshot!(report(false));
}

#[test]
fn report_json_on_fixtures() {
    insta::assert_snapshot!(report(true));
}
