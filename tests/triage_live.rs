//! triage on the real kernel log: OOM kills caused here, inside small memory cgroups, must be
//! reported with exactly the pid, name and memcg the kernel printed.

mod common;

use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const MIB: u64 = 1 << 20;

fn kernel_comm(bin: &std::path::Path) -> String {
    // The kernel's comm is the executable's file name, cut to 15 bytes.
    bin.file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .take(15)
        .collect()
}

fn victims_in(cg_rel: &str) -> Vec<Value> {
    let o = run(&["triage", "--dmesg", "--json"]);
    let j = json(&o);
    j["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["memcg"] == cg_rel)
        .cloned()
        .collect()
}

fn can_read_kmsg() -> bool {
    std::fs::File::open("/dev/kmsg").is_ok()
}

#[test]
fn dmesg_reports_the_pid_name_and_memcg_the_kernel_printed() {
    if !can_read_kmsg() {
        eprintln!("SKIP: /dev/kmsg not readable (needs CAP_SYSLOG)");
        return;
    }
    let Some(cg) = TestCgroup::create("clw-test-triage", 32 * MIB) else {
        return;
    };
    let Some(bin) = mapper_bin() else {
        eprintln!("SKIP: gcc not available");
        return;
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}' && exec '{}' 64 0 - 0 0 0 </dev/null",
            cg.procs().display(),
            bin.display()
        ))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // `exec` keeps the shell's pid: the mapper is this pid.
    let pid = child.id() as i64;
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "expected an OOM kill: {status:?}");
    let v = victims_in(&cg.rel);
    assert_eq!(v.len(), 1, "one victim in {}: {v:?}", cg.rel);
    let e = &v[0];
    assert_eq!(e["kind"], "cgroup_oom_kill");
    assert_eq!(e["pid"], pid);
    assert_eq!(e["process"], kernel_comm(bin).as_str());
    assert_eq!(e["oom_memcg"], cg.rel.as_str());
    assert_eq!(e["limit_kb"], 32 * 1024);
    assert!(e["anon_rss_kb"].as_u64().unwrap() > 16 * 1024);
    assert_eq!(e["trigger"]["pid"], pid);
    assert!(e["timestamp"].is_string());
    // The same kill in the kernel's own words: `dmesg` prints the victim line.
    let dmesg = Command::new("dmesg")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if let Ok(text) = dmesg {
        let line = text
            .lines()
            .rev()
            .find(|l| l.contains(&format!("Killed process {pid} (")))
            .expect("dmesg has the victim line");
        assert!(
            line.contains(&format!("anon-rss:{}kB", e["anon_rss_kb"])),
            "{line}"
        );
    }
}

#[test]
fn dmesg_names_the_larger_process_as_victim_not_the_allocating_one() {
    if !can_read_kmsg() {
        eprintln!("SKIP: /dev/kmsg not readable (needs CAP_SYSLOG)");
        return;
    }
    let Some(cg) = TestCgroup::create("clw-test-triage2", 48 * MIB) else {
        return;
    };
    if mapper_bin().is_none() {
        eprintln!("SKIP: gcc not available");
        return;
    }
    // The big one holds 28 MiB; the small one then asks for 24 MiB: the limit is hit while the
    // small one allocates, and the kernel kills the largest task, the big one.
    let big = Mapper::start(&["28", "0", "-", "0", "0", "0"], Some(&cg.procs()));
    let bin = mapper_bin().unwrap();
    let small = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > '{}' && exec '{}' 24 0 - 0 0 0 </dev/null",
            cg.procs().display(),
            bin.display()
        ))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let small_pid = small.id() as i64;
    let mut small = small;
    let _ = small.wait();
    let big_pid = big.pid as i64;
    let v = victims_in(&cg.rel);
    assert!(!v.is_empty(), "no OOM kill recorded for {}", cg.rel);
    let e = &v[0];
    assert_eq!(e["pid"], big_pid, "the larger task is the victim: {e}");
    assert_eq!(
        e["trigger"]["pid"], small_pid,
        "the allocating task triggered it"
    );
    let top = e["top_consumers"].as_array().unwrap();
    assert_eq!(top[0]["pid"], big_pid, "task table's largest is the victim");
    assert!(top.iter().any(|t| t["pid"] == small_pid));
    drop(big);
}

#[test]
fn dmesg_without_permission_names_what_is_needed() {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("SKIP: needs root and setpriv to run as nobody");
        return;
    }
    let restricted = std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict")
        .map(|s| s.trim() == "1")
        .unwrap_or(false);
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin(),
            "triage",
            "--dmesg",
        ])
        .output()
        .unwrap();
    if restricted {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("CAP_SYSLOG") && err.contains("dmesg_restrict"),
            "{err}"
        );
    } else {
        eprintln!("SKIP: kernel.dmesg_restrict=0 here, so nobody may read the log");
    }
}
