//! `clw-diag oom-rank` against the kernel's own choice: a real OOM kill inside a small memory
//! cgroup (never the machine). A long-lived parent holds 160 MiB and forks a child that holds
//! 40 MiB (tests/helpers/oom_family.py); `oom-rank --cgroup` is run while both are steady and
//! well below the 256 MiB limit; then the child grows until the kernel kills, and the victim the
//! kernel's log names must be the first candidate oom-rank predicted:
//!
//! - the child keeps the oom_score_adj it inherited (0): the parent, larger, is killed (the
//!   failure mode of the runbooks), and oom-rank says so with its warning;
//! - the child raises its own oom_score_adj to 1000: the child is killed.
//!
//! Also checked: the kernel's `/proc/PID/oom_score` equals the one recomputed from the same
//! inputs (both processes are steady when ranked), and bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;

const LIMIT: u64 = 256 << 20;

/// The family's processes, SIGKILLed (and the parent reaped) when dropped, before the cgroup
/// is removed.
struct Family {
    parent: Child,
    cg: TestCgroup,
}

impl Drop for Family {
    fn drop(&mut self) {
        for _ in 0..100 {
            let procs = std::fs::read_to_string(self.cg.procs()).unwrap_or_default();
            let pids: Vec<i32> = procs
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            if pids.is_empty() {
                break;
            }
            for p in pids {
                // SAFETY: kill(2) on pids of our own test cgroup.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.parent.kill();
        let _ = self.parent.wait();
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The kernel log as (seconds since boot, message) lines. The ring buffer is bounded and these
/// tests fill it with OOM reports, so lines are told apart by their time stamp, not their
/// position.
fn kernel_log() -> Vec<(f64, String)> {
    let o = Command::new("dmesg").output().expect("dmesg runs");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('[')?;
            let (ts, msg) = rest.split_once(']')?;
            Some((ts.trim().parse().ok()?, msg.to_string()))
        })
        .collect()
}

/// Start the family in a new cgroup and wait until the child is steady; (family, parent pid,
/// child pid, a scratch dir holding the go file).
fn start(name: &str, child_adj: &str) -> Option<(Family, i32, i32, tempfile::TempDir)> {
    let cg = TestCgroup::create(name, LIMIT)?;
    if Command::new("python3").arg("--version").output().is_err() {
        skip("python3 is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let go = dir.path().join("go");
    let parent = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/oom_family.py"))
        .arg(&cg.dir)
        .arg("160")
        .arg(child_adj)
        .arg(&ready)
        .arg(&go)
        .spawn()
        .unwrap();
    let parent_pid = parent.id() as i32;
    let fam = Family { parent, cg };
    wait_for("the child to be ready", Duration::from_secs(60), || {
        ready.exists()
    });
    let procs = std::fs::read_to_string(fam.cg.procs()).unwrap();
    let pids: Vec<i32> = procs
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let child = *pids
        .iter()
        .find(|&&p| p != parent_pid)
        .unwrap_or_else(|| panic!("no child in {pids:?}"));
    Some((fam, parent_pid, child, dir))
}

fn rank(cg: &TestCgroup) -> serde_json::Value {
    let o = run(&["oom-rank", "--cgroup", &cg.rel, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    json(&o)
}

/// Let the child grow; the pid the kernel's log says it killed.
fn provoke(fam: &Family, go: &Path, pids: [i32; 2]) -> i32 {
    let before = kernel_log().last().map_or(0.0, |l| l.0);
    std::fs::write(go, b"").unwrap();
    let mut victim = None;
    wait_for("the kernel to kill", Duration::from_secs(60), || {
        // The first kill of one of ours after the go.
        victim = kernel_log()
            .iter()
            .filter(|l| l.0 > before)
            .find_map(|(_, l)| {
                let rest = l.split("Killed process ").nth(1)?;
                let pid: i32 = rest.split_whitespace().next()?.parse().ok()?;
                pids.contains(&pid).then_some(pid)
            });
        victim.is_some()
    });
    let _ = fam;
    victim.unwrap()
}

fn check_scores(v: &serde_json::Value, pids: [i32; 2]) {
    for c in v["candidates"].as_array().unwrap() {
        if !pids.contains(&(c["pid"].as_i64().unwrap() as i32)) {
            continue;
        }
        let k = c["kernel_oom_score"].as_i64().unwrap();
        let ours = c["computed_oom_score"].as_i64().unwrap();
        assert!(
            (k - ours).abs() <= 1,
            "pid {}: kernel oom_score {k}, recomputed {ours}",
            c["pid"]
        );
    }
}

#[test]
fn inherited_adj_parent_is_the_first_victim() {
    let Some((fam, parent, child, dir)) = start("clw-oomrank-inherit", "inherit") else {
        return;
    };
    let v = rank(&fam.cg);
    let order: Vec<i64> = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(order, vec![i64::from(parent), i64::from(child)], "{v}");
    assert_eq!(v["oom_domain"], fam.cg.rel.as_str());
    assert_eq!(v["limit_bytes"], LIMIT);
    assert_eq!(v["totalpages"], LIMIT / 4096);
    let first = &v["candidates"][0];
    assert!(first["rss_bytes"].as_u64().unwrap() >= 160 << 20, "{first}");
    assert_eq!(first["oom_score_adj"], 0);
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("long-lived parent") && warnings.contains("oom_score_adj"),
        "{warnings}"
    );
    check_scores(&v, [parent, child]);
    let killed = provoke(&fam, &dir.path().join("go"), [parent, child]);
    assert_eq!(
        killed, parent,
        "oom-rank predicted {parent}, the kernel killed {killed}"
    );
}

#[test]
fn child_that_raises_its_adj_is_the_first_victim() {
    let Some((fam, parent, child, dir)) = start("clw-oomrank-raised", "1000") else {
        return;
    };
    let v = rank(&fam.cg);
    let first = &v["candidates"][0];
    assert_eq!(first["pid"], child, "{v}");
    assert_eq!(first["oom_score_adj"], 1000);
    // badness = rss + swap + page tables + 1000 × (65536 / 1000) pages
    let pages = (first["rss_bytes"].as_i64().unwrap()
        + first["swap_bytes"].as_i64().unwrap()
        + first["page_tables_bytes"].as_i64().unwrap())
        / 4096;
    assert_eq!(first["badness_pages"], pages + 1000 * 65);
    assert!(
        !v["warnings"].to_string().contains("long-lived parent"),
        "{}",
        v["warnings"]
    );
    check_scores(&v, [parent, child]);
    let killed = provoke(&fam, &dir.path().join("go"), [parent, child]);
    assert_eq!(
        killed, child,
        "oom-rank predicted {child}, the kernel killed {killed}"
    );
}

#[test]
fn bad_input() {
    let o = run(&["oom-rank", "--cgroup", "/no-such-cgroup-clw"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-cgroup-clw"), "{}", stderr(&o));
    let o = run(&["oom-rank", "--cgroup", "../etc"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let missing: PathBuf = tempfile::tempdir().unwrap().path().join("nope");
    let o = run(&["--proc-root", missing.to_str().unwrap(), "oom-rank"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    // github annotations are triage's: refused before reading (even a root that is missing).
    let o = run(&[
        "--proc-root",
        missing.to_str().unwrap(),
        "--format",
        "github",
        "oom-rank",
    ]);
    assert_error(&o, &["not available for oom-rank"]);
}

/// `--format csv` is one table: a header row with units in the keys and one row per candidate,
/// the same candidates as `--json`.
#[test]
fn csv_is_one_table() {
    let tree = fixtures().join("v2");
    let o = run_fixture(&tree, &["--format", "csv", "oom-rank"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("rank,pid,name,badness_bytes"),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(
        !rows.iter().any(|l| l.is_empty()),
        "one table only:\n{text}"
    );
    let j = json(&run_fixture(&tree, &["--json", "oom-rank"]));
    assert_eq!(
        rows.len(),
        j["candidates"].as_array().unwrap().len(),
        "{text}"
    );
}

/// The cgroup v2 fixture (a Kubernetes pod whose container runs pid 31337; see
/// tests/fixtures/v2/SOURCE): the pod has less headroom under the same 512 MiB limit than its
/// container, so it is the OOM domain; `memory.oom.group` set on the pod is reported; the
/// badness is RssAnon + RssFile + RssShmem + VmSwap + VmPTE of the fixture's status in pages,
/// and the recomputed oom_score equals the captured one (668).
#[test]
fn cgroup_v2_fixture_domain_and_oom_group() {
    let pod = "/kubepods.slice/kubepods-burstable.slice/\
               kubepods-burstable-pod0f1e2d3c_4b5a_6978_8877_665544332211.slice";
    let ctr = format!("{pod}/cri-containerd-4f9a2c1be07d.scope");
    let tree = copy_tree(&fixtures().join("v2"));
    std::fs::write(
        tree.path()
            .join(format!("sys/fs/cgroup{pod}/memory.oom.group")),
        "1\n",
    )
    .unwrap();
    let o = run_fixture(tree.path(), &["oom-rank", "--cgroup", &ctr, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["scope"], "cgroup");
    assert_eq!(v["cgroup"], ctr.as_str());
    assert_eq!(v["oom_domain"], pod);
    assert_eq!(v["limit_bytes"], 536_870_912u64);
    assert_eq!(v["totalpages"], 131_072);
    assert_eq!(v["global_totalpages"], 24_684_084 / 4);
    assert_eq!(v["oom_group"], pod);
    let c = &v["candidates"][0];
    assert_eq!(c["pid"], 31337);
    // (47832 + 6732 + 0) kB resident + 0 swap + 156 kB page tables, in 4 KiB pages.
    assert_eq!(c["badness_pages"], (47_832 + 6_732 + 156) / 4);
    assert_eq!(c["kernel_oom_score"], 668);
    assert_eq!(c["computed_oom_score"], 668);
    assert_eq!(v["candidates"].as_array().unwrap().len(), 1);
    // The table says the same for people.
    let o = run_fixture(tree.path(), &["oom-rank", "--cgroup", &ctr]);
    let text = stdout(&o);
    // Notes are on stderr, the table alone on stdout (issue 12).
    assert!(
        stderr(&o).contains("memory.oom.group is set on"),
        "{}",
        stderr(&o)
    );
    assert!(text.contains("31337"), "{text}");
}

/// Processes that exit while being ranked are counted, not fatal: rank the host 20 times while
/// short-lived processes come and go.
#[test]
fn processes_exiting_while_ranked() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let churn = std::thread::spawn(move || {
        while !s.load(std::sync::atomic::Ordering::Relaxed) {
            let _ = Command::new("sh").args(["-c", "sleep 0.01"]).status();
        }
    });
    for _ in 0..20 {
        let o = run(&["oom-rank", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v = json(&o);
        assert_eq!(v["scope"], "host");
        assert!(v["vanished"].as_u64().is_some());
        assert!(!v["candidates"].as_array().unwrap().is_empty());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
}

/// Damaged copies of the v2 fixture: a garbled status is a one-line error (exit 2) naming the
/// file; an absurd size saturates instead of overflowing; a status unreadable as nobody is
/// counted and said, not fatal.
#[test]
fn damaged_fixture_status() {
    let status = "proc/31337/status";
    let garbled = copy_tree(&fixtures().join("v2"));
    std::fs::write(
        garbled.path().join(status),
        b"\x00\xff garbage\nRssAnon: lots\n",
    )
    .unwrap();
    let o = run_fixture(garbled.path(), &["oom-rank"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("31337"), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));

    let huge = copy_tree(&fixtures().join("v2"));
    let p = huge.path().join(status);
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("RssAnon:\t   47832 kB", "RssAnon:\t18446744073709551615 kB");
    assert!(text.contains("18446744073709551615"));
    std::fs::write(&p, text).unwrap();
    let o = run_fixture(huge.path(), &["oom-rank", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(json(&o)["candidates"][0]["badness_pages"].as_i64().unwrap() > 0);

    if is_root() && Command::new("setpriv").arg("--version").output().is_ok() {
        let hidden = copy_tree(&fixtures().join("v2"));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            hidden.path().join(status),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        std::fs::set_permissions(hidden.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let proc_root = hidden.path().join("proc");
        let cg_root = hidden.path().join("sys/fs/cgroup");
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin())
            .arg("--proc-root")
            .arg(&proc_root)
            .arg("--cgroup-root")
            .arg(&cg_root)
            .args(["oom-rank", "--json"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v = json(&o);
        assert_eq!(v["permission_denied"], 1, "{v}");
        assert!(
            v["warnings"].to_string().contains("permission denied"),
            "{v}"
        );
    } else {
        skip("(part) not root or no setpriv; the unreadable status case is not run");
    }
}
