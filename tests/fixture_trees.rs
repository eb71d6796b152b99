//! Readers on fixture trees captured from real systems (tests/fixtures/*/SOURCE says where
//! from): cgroup v1 in a hybrid layout, and cgroup v2.

mod common;

use common::*;
use serde_json::Value;

fn v1() -> std::path::PathBuf {
    fixtures().join("v1-hybrid")
}
fn v2() -> std::path::PathBuf {
    fixtures().join("v2")
}

fn read_num(path: std::path::PathBuf) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn stat_key(path: std::path::PathBuf, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{key} "))
                .map(|v| v.parse().unwrap())
        })
        .unwrap()
}

fn cgroup<'a>(j: &'a Value, path: &str) -> &'a Value {
    j["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
        .unwrap_or_else(|| panic!("no cgroup {path} in {j}"))
}

#[test]
fn v1_hybrid_sample_reads_limit_usage_working_set_and_oom_kills() {
    let j = json(&run_fixture(&v1(), &["sample", "--json"]));
    assert_eq!(j["cgroup_version"], "v1");
    let cg_dir = v1().join("sys/fs/cgroup/memory/clw-fixture");
    let c = cgroup(&j, "/clw-fixture");
    assert_eq!(c["limit_bytes"], 64u64 << 20);
    assert_eq!(c["limit_unlimited"], false);
    let usage = read_num(cg_dir.join("memory.usage_in_bytes"));
    assert_eq!(c["usage_bytes"], usage);
    // Working set = usage - total_inactive_file, as kubelet computes it.
    let inactive = stat_key(cg_dir.join("memory.stat"), "total_inactive_file");
    assert_eq!(c["working_set_bytes"], usage - inactive);
    assert_eq!(c["oom_kill_count"], 1);
    assert_eq!(
        c["limit_hit_count"],
        read_num(cg_dir.join("memory.failcnt"))
    );
    assert_eq!(
        c["peak_bytes"],
        read_num(cg_dir.join("memory.max_usage_in_bytes"))
    );
    assert_eq!(
        c["anon_bytes"],
        stat_key(cg_dir.join("memory.stat"), "total_rss")
    );
    // One OOM kill since creation: warning, and the reason says why.
    assert_eq!(c["pressure"]["state"], "warning");
    assert!(c["pressure"]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("1 OOM kill"));
    // The root cgroup is unlimited and so not listed.
    assert!(j["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["path"] != "/"));
    // Host figures from meminfo and vmstat.
    assert_eq!(
        j["host"]["oom_kill_count"],
        stat_key(v1().join("proc/vmstat"), "oom_kill")
    );
    let meminfo = std::fs::read_to_string(v1().join("proc/meminfo")).unwrap();
    let total_kb: u64 = meminfo
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(j["host"]["total_bytes"], total_kb * 1024);
}

#[test]
fn hybrid_layout_resolves_the_memory_line_not_the_unified_one() {
    // /proc/4242/cgroup has "4:memory:/clw-fixture" and "0::/": the memory cgroup is the former.
    let j = json(&run_fixture(&v1(), &["sample", "--pid", "4242", "--json"]));
    let p = &j["processes"][0];
    assert_eq!(p["pid"], 4242);
    assert_eq!(p["memory_cgroup"], "/clw-fixture");
    assert_eq!(j["cgroups"][0]["path"], "/clw-fixture");
    assert!(j["host"].is_null());
}

#[test]
fn process_figures_come_from_status_and_smaps_rollup() {
    let j = json(&run_fixture(&v1(), &["sample", "--pid", "4242", "--json"]));
    let p = &j["processes"][0];
    let status = std::fs::read_to_string(v1().join("proc/4242/status")).unwrap();
    let kb = |key: &str| kb_field(&status, key);
    assert_eq!(p["rss_bytes"], kb("VmRSS:"));
    assert_eq!(p["anon_bytes"], kb("RssAnon:"));
    assert_eq!(p["swap_bytes"], kb("VmSwap:"));
    assert_eq!(p["page_tables_bytes"], kb("VmPTE:"));
    let rollup = std::fs::read_to_string(v1().join("proc/4242/smaps_rollup")).unwrap();
    let rk = |key: &str| kb_field(&rollup, key);
    assert_eq!(p["pss_bytes"], rk("Pss:"));
    assert_eq!(p["uss_bytes"], rk("Private_Clean:") + rk("Private_Dirty:"));
    assert_eq!(p["oom_score_adj"], 0);
    assert!(p["command"].as_str().unwrap().contains("python3"));
}

#[test]
fn v2_lists_limited_cgroups_with_effective_limits_and_states() {
    let j = json(&run_fixture(&v2(), &["sample", "--json"]));
    assert_eq!(j["cgroup_version"], "v2");
    let paths: Vec<&str> = j["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    // kubepods-burstable.slice has memory.max = max: not listed; the root has no memory.max.
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert!(!paths
        .iter()
        .any(|p| p.ends_with("kubepods-burstable.slice")));
    let ctr = j["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["path"]
                .as_str()
                .unwrap()
                .ends_with("cri-containerd-4f9a2c1be07d.scope")
        })
        .unwrap();
    assert_eq!(ctr["limit_bytes"], 536870912);
    assert_eq!(ctr["effective_limit_bytes"], 536870912);
    assert_eq!(ctr["usage_bytes"], 511574016);
    assert_eq!(ctr["working_set_bytes"], 511574016 - 9900000);
    assert_eq!(ctr["oom_kill_count"], 3);
    assert_eq!(ctr["limit_hit_count"], 1423);
    assert_eq!(ctr["psi"]["some"]["avg10_pct"], 12.5);
    assert_eq!(ctr["pressure"]["state"], "warning");
    assert_eq!(ctr["pressure"]["reasons"].as_array().unwrap().len(), 3);
    assert_eq!(
        ctr["high_bytes"],
        Value::Null,
        "memory.high = max is unlimited"
    );
    let nginx = cgroup(&j, "/system.slice/nginx.service");
    assert_eq!(nginx["pressure"]["state"], "ok");
    assert_eq!(nginx["peak_bytes"], 52428800);
}

#[test]
fn v2_effective_limit_comes_from_the_tightest_ancestor() {
    // The burstable slice itself is unlimited, its parent kubepods.slice is not.
    let o = run_fixture(
        &v2(),
        &[
            "sample",
            "--cgroup",
            "/kubepods.slice/kubepods-burstable.slice",
            "--json",
        ],
    );
    let j = json(&o);
    let c = &j["cgroups"][0];
    assert_eq!(c["limit_unlimited"], true);
    assert_eq!(c["limit_bytes"], Value::Null);
    assert_eq!(c["effective_limit_bytes"], 16106127360u64);
}

#[test]
fn v2_pid_brings_its_cgroup_from_the_0_line() {
    let j = json(&run_fixture(&v2(), &["sample", "--pid", "31337", "--json"]));
    let cg = j["processes"][0]["memory_cgroup"].as_str().unwrap();
    assert!(cg.ends_with("cri-containerd-4f9a2c1be07d.scope"), "{cg}");
    assert_eq!(j["cgroups"][0]["path"], cg);
}

#[test]
fn cgroup_given_as_absolute_path_or_relative_is_the_same() {
    let abs = v2().join("sys/fs/cgroup/system.slice/nginx.service");
    let a = json(&run_fixture(
        &v2(),
        &["sample", "--cgroup", abs.to_str().unwrap(), "--json"],
    ));
    let b = json(&run_fixture(
        &v2(),
        &["sample", "--cgroup", "system.slice/nginx.service", "--json"],
    ));
    assert_eq!(a["cgroups"][0]["path"], "/system.slice/nginx.service");
    assert_eq!(a["cgroups"], b["cgroups"]);
}

#[test]
fn vmmap_of_a_fixture_reconciles_with_its_smaps_rollup() {
    let j = json(&run_fixture(
        &v1(),
        &["vmmap", "4242", "--verify", "--json"],
    ));
    let rss = j["totals"]["rss_bytes"].as_u64().unwrap();
    assert_eq!(Some(rss), j["rollup_rss_bytes"].as_u64());
    let pss = j["totals"]["pss_bytes"].as_u64().unwrap() as i64;
    let rollup_pss = j["rollup_pss_bytes"].as_u64().unwrap() as i64;
    let maps = j["totals"]["mappings"].as_i64().unwrap();
    assert!(
        (pss - rollup_pss).abs() <= maps * 1024,
        "pss {pss} vs {rollup_pss}"
    );
    // The python process holds 40 MiB of touched anonymous memory.
    let anon = j["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == "anon_private")
        .unwrap();
    assert!(anon["rss_bytes"].as_u64().unwrap() >= 40 << 20);
    assert_eq!(j["categories"].as_array().unwrap().len(), 10);
}

#[test]
fn vmmap_mappings_stream_and_collected_paths_agree() {
    // Address order streams rows as they are read; --sort collects them first. Same rows.
    let streamed = stdout(&run_fixture(
        &v1(),
        &["vmmap", "4242", "--mappings", "--format", "csv"],
    ));
    let collected = stdout(&run_fixture(
        &v1(),
        &[
            "vmmap",
            "4242",
            "--mappings",
            "--sort",
            "address",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(streamed, collected);
    let rows: Vec<&str> = streamed.split("\n\n").next().unwrap().lines().collect();
    assert!(rows[0].starts_with("start,end,perms,offset"));
    let j = json(&run_fixture(
        &v1(),
        &["vmmap", "4242", "--mappings", "--json"],
    ));
    assert_eq!(rows.len() - 1, j["mappings"].as_array().unwrap().len());
    assert_eq!(
        j["mappings"][0]["start"].as_str().unwrap(),
        rows[1].split(',').next().unwrap()
    );
    // The per-mapping RSS column sums to the total.
    let sum: u64 = j["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rss_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, j["totals"]["rss_bytes"].as_u64().unwrap());
}

#[test]
fn csv_has_a_header_row_and_raw_bytes() {
    // One CSV is one table (issue 12): the processes by default, the cgroups with --table.
    let o = run_fixture(&v1(), &["sample", "--pid", "4242", "--format", "csv"]);
    assert!(o.status.success());
    let procs = stdout(&o);
    assert!(procs.starts_with("pid,name,rss_bytes"), "{procs}");
    assert!(procs.lines().nth(1).unwrap().starts_with("4242,python3,"));
    assert!(
        !procs.contains("\n\n"),
        "one table, no second block: {procs}"
    );
    let o = run_fixture(
        &v1(),
        &[
            "sample", "--pid", "4242", "--format", "csv", "--table", "cgroups",
        ],
    );
    assert!(o.status.success());
    let cg = stdout(&o);
    assert!(
        cg.starts_with("path,usage_bytes,working_set_bytes,effective_limit_bytes"),
        "{cg}"
    );
    assert!(cg.contains(&format!(
        "/clw-fixture,{}",
        read_num(v1().join("sys/fs/cgroup/memory/clw-fixture/memory.usage_in_bytes"))
    )));
    assert_eq!(cg.lines().count(), 2, "{cg}");
}

#[test]
fn pure_v1_layout_without_a_unified_hierarchy() {
    // The same captured tree as a v1-only host prints it: no cgroup2 mount, no 0:: line.
    let t = copy_tree(&v1());
    std::fs::remove_dir_all(t.path().join("sys/fs/cgroup/unified")).unwrap();
    let cg = t.path().join("proc/4242/cgroup");
    let text = std::fs::read_to_string(&cg).unwrap();
    std::fs::write(
        &cg,
        text.lines()
            .filter(|l| !l.starts_with("0::"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let j = json(&run_fixture(
        t.path(),
        &["sample", "--pid", "4242", "--json"],
    ));
    assert_eq!(j["cgroup_version"], "v1");
    assert_eq!(j["processes"][0]["memory_cgroup"], "/clw-fixture");
    assert_eq!(j["cgroups"][0]["limit_bytes"], 64u64 << 20);
}

#[test]
fn v2_tree_with_only_the_unified_mount_under_the_root() {
    // A v2 host where the memory controller sits in /sys/fs/cgroup/unified (hybrid systemd
    // layout with memory moved to v2) is found too.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("sys/fs/cgroup");
    std::fs::create_dir_all(&root).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(v2().join("sys/fs/cgroup"))
        .arg(root.join("unified"))
        .status()
        .unwrap();
    assert!(status.success());
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(v2().join("proc"))
        .arg(t.path())
        .status()
        .unwrap();
    assert!(status.success());
    let j = json(&run_fixture(
        t.path(),
        &["sample", "--pid", "31337", "--json"],
    ));
    assert_eq!(j["cgroup_version"], "v2");
    assert_eq!(j["cgroups"][0]["oom_kill_count"], 3);
}
