//! Snapshots of what users see: tables, JSON and CSV on the fixture trees, and `--help`.
//! A change in output shows up in review as a snapshot diff.

mod common;

use common::*;

/// stdout, then the notes on stderr under a marker: the data and what people are told apart
/// (issue 12: notes go to stderr, stdout carries only the data).
fn both(o: &std::process::Output) -> String {
    format!("{}--- stderr ---\n{}", stdout(o), stderr(o))
}

/// A fixture tree read as a copied node: its `proc/`, `sys/fs/cgroup/` and (`--host-root`) the
/// runtime and kubelet files under it (none: its containers stay unresolved, with the reason),
/// so the snapshot never depends on this machine's own `/var/lib/docker` or `/var/log/pods`.
/// The tree's own path reads `<tree>`.
fn node(tree: &std::path::Path, args: &[&str]) -> (String, String) {
    let t = tree.to_str().unwrap();
    let mut all = vec!["--host-root", t];
    all.extend_from_slice(args);
    let o = run_fixture(tree, &all);
    assert!(o.status.success(), "{}", stderr(&o));
    (
        stdout(&o).replace(t, "<tree>"),
        stderr(&o).replace(t, "<tree>"),
    )
}

fn node_both(tree: &std::path::Path, args: &[&str]) -> String {
    let (out, err) = node(tree, args);
    format!("{out}--- stderr ---\n{err}")
}

/// The JSON timestamp changes every run.
fn redact_timestamp(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.trim_start().starts_with("\"timestamp_s\"") {
                "  \"timestamp_s\": \"[redacted]\",".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sample_table_v1_hybrid() {
    insta::assert_snapshot!(node_both(&fixtures().join("v1-hybrid"), &["sample"]));
}

#[test]
fn sample_table_v2() {
    insta::assert_snapshot!(node_both(&fixtures().join("v2"), &["sample"]));
}

#[test]
fn sample_json_v2() {
    let (out, _) = node(&fixtures().join("v2"), &["sample", "--json"]);
    insta::assert_snapshot!(redact_timestamp(&out));
}

#[test]
fn vmmap_table_fixture() {
    insta::assert_snapshot!(stdout(&run_fixture(
        &fixtures().join("v1-hybrid"),
        &["vmmap", "4242"]
    )));
}

#[test]
fn vmmap_mappings_sorted_by_rss() {
    let o = run_fixture(
        &fixtures().join("v1-hybrid"),
        &["vmmap", "4242", "--mappings", "--sort", "rss"],
    );
    let out = stdout(&o);
    let first: Vec<&str> = out.lines().take(8).collect();
    insta::assert_snapshot!(first.join("\n"));
}

#[test]
fn vmmap_json_fixture() {
    insta::assert_snapshot!(stdout(&run_fixture(
        &fixtures().join("v1-hybrid"),
        &["vmmap", "4242", "--json"]
    )));
}

#[test]
fn help_main() {
    insta::assert_snapshot!(stdout(&run(&["--help"])));
}

#[test]
fn help_sample() {
    insta::assert_snapshot!(stdout(&run(&["sample", "--help"])));
}

#[test]
fn help_coredumps() {
    insta::assert_snapshot!(stdout(&run(&["coredumps", "--help"])));
}

#[test]
fn help_leaks() {
    insta::assert_snapshot!(stdout(&run(&["leaks", "--help"])));
}

#[test]
fn help_profile() {
    insta::assert_snapshot!(stdout(&run(&["profile", "--help"])));
}

#[test]
fn help_triage() {
    insta::assert_snapshot!(stdout(&run(&["triage", "--help"])));
}

#[test]
fn triage_table_on_a_captured_report() {
    let f = fixtures().join("triage-live/kernel-6.18-cgroup-v1-oom.log");
    // An empty host root: the output must not depend on this machine's runtime files.
    let host = tempfile::tempdir().unwrap();
    let host = host.path().to_str().unwrap();
    insta::assert_snapshot!(stdout(&run(&[
        "--host-root",
        host,
        "triage",
        f.to_str().unwrap(),
        "-v"
    ]))
    .replace(env!("CARGO_MANIFEST_DIR"), "[repo]")
    .replace(host, "[host-root]"));
}

#[test]
fn help_record() {
    insta::assert_snapshot!(stdout(&run(&["record", "--help"])));
}

#[test]
fn help_analyze_memory_trace() {
    insta::assert_snapshot!(stdout(&run(&["analyze", "memory-trace", "--help"])));
}

#[test]
fn analyze_table_of_a_csv_trace() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::from("time,rss_kb\n");
    for i in 0..720 {
        text.push_str(&format!(
            "{},{}\n",
            i * 5,
            200_000 + i * 40 + (i % 12) * 300
        ));
    }
    let p = d.path().join("service.csv");
    std::fs::write(&p, text).unwrap();
    insta::assert_snapshot!(both(&run(&[
        "analyze",
        "memory-trace",
        p.to_str().unwrap(),
        "--limit",
        "2Gi"
    ])));
}

#[test]
fn help_vmmap() {
    insta::assert_snapshot!(stdout(&run(&["vmmap", "--help"])));
}

#[test]
fn help_analyze() {
    insta::assert_snapshot!(stdout(&run(&["analyze", "--help"])));
}

#[test]
fn help_oom_rank() {
    insta::assert_snapshot!(stdout(&run(&["oom-rank", "--help"])));
}

#[test]
fn help_recommend() {
    insta::assert_snapshot!(stdout(&run(&["recommend", "--help"])));
}

#[test]
fn help_report() {
    insta::assert_snapshot!(stdout(&run(&["report", "--help"])));
}

#[test]
fn help_backtrace() {
    insta::assert_snapshot!(stdout(&run(&["backtrace", "--help"])));
}

#[test]
fn help_symbolize() {
    insta::assert_snapshot!(stdout(&run(&["symbolize", "--help"])));
}

#[test]
fn help_serve() {
    insta::assert_snapshot!(stdout(&run(&["serve", "--help"])));
}

#[test]
fn help_completions() {
    insta::assert_snapshot!(stdout(&run(&["completions", "--help"])));
}

#[test]
fn help_man() {
    insta::assert_snapshot!(stdout(&run(&["man", "--help"])));
}

#[test]
fn oom_rank_table_v2() {
    insta::assert_snapshot!(node_both(&fixtures().join("v2"), &["oom-rank"]));
}

#[test]
fn oom_rank_table_v1_hybrid_cgroup() {
    insta::assert_snapshot!(node_both(
        &fixtures().join("v1-hybrid"),
        &["oom-rank", "--cgroup", "/clw-fixture"]
    ));
}

#[test]
fn oom_rank_json_v2() {
    let (out, _) = node(&fixtures().join("v2"), &["oom-rank", "--json"]);
    insta::assert_snapshot!(out);
}

#[test]
fn oom_rank_json_v1_hybrid_cgroup() {
    let (out, _) = node(
        &fixtures().join("v1-hybrid"),
        &["oom-rank", "--cgroup", "/clw-fixture", "--json"],
    );
    insta::assert_snapshot!(out);
}
