//! Bad input: every case gets a clear one-line error and exit code 2, never a panic. Damaged
//! files are made from copies of the real fixture trees.

mod common;

use std::path::Path;

use common::*;

fn damaged(f: impl FnOnce(&Path)) -> tempfile::TempDir {
    let t = copy_tree(&fixtures().join("v1-hybrid"));
    f(t.path());
    t
}

const CG: &str = "sys/fs/cgroup/memory/clw-fixture";

#[test]
fn garbled_memory_stat_names_file_and_line() {
    let t = damaged(|d| {
        let p = d.join(CG).join("memory.stat");
        let mut s = std::fs::read_to_string(&p).unwrap();
        s = s.replacen("rss ", "rss twelve ", 1);
        std::fs::write(p, s).unwrap();
    });
    let o = run_fixture(t.path(), &["sample"]);
    assert_error(&o, &["memory.stat:", "malformed"]);
}

#[test]
fn non_utf8_cgroup_file() {
    let t =
        damaged(|d| std::fs::write(d.join(CG).join("memory.stat"), b"cache \xff\xfe\n").unwrap());
    assert_error(
        &run_fixture(t.path(), &["sample"]),
        &["memory.stat", "not UTF-8"],
    );
}

#[test]
fn garbage_limit_file() {
    let t = damaged(|d| {
        std::fs::write(d.join(CG).join("memory.limit_in_bytes"), "\x7fELF\x02\x01").unwrap()
    });
    assert_error(
        &run_fixture(t.path(), &["sample"]),
        &["memory.limit_in_bytes", "malformed"],
    );
}

#[test]
fn empty_usage_file() {
    let t = damaged(|d| std::fs::write(d.join(CG).join("memory.usage_in_bytes"), "").unwrap());
    assert_error(
        &run_fixture(t.path(), &["sample", "--cgroup", "clw-fixture"]),
        &["memory.usage_in_bytes", "empty"],
    );
}

#[test]
fn truncated_smaps() {
    let t = damaged(|d| {
        let p = d.join("proc/4242/smaps");
        let s = std::fs::read_to_string(&p).unwrap();
        // Cut inside the last mapping, before its Rss line.
        let last_header = s.rfind("\nffffffffff600000").unwrap_or(s.len() / 2);
        std::fs::write(&p, &s[..last_header + 40]).unwrap();
    });
    assert_error(
        &run_fixture(t.path(), &["vmmap", "4242"]),
        &["smaps:", "malformed"],
    );
}

#[test]
fn binary_garbage_smaps() {
    let t = damaged(|d| {
        let mut g = Vec::new();
        for i in 0..100_000u32 {
            g.push((i.wrapping_mul(2654435761) >> 24) as u8);
        }
        std::fs::write(d.join("proc/4242/smaps"), g).unwrap();
    });
    assert_error(
        &run_fixture(t.path(), &["vmmap", "4242"]),
        &["smaps:1", "malformed"],
    );
}

#[test]
fn huge_line_in_smaps() {
    let t = damaged(|d| std::fs::write(d.join("proc/4242/smaps"), "x".repeat(10 << 20)).unwrap());
    assert_error(
        &run_fixture(t.path(), &["vmmap", "4242"]),
        &["smaps:1", "longer than"],
    );
}

#[test]
fn garbled_psi() {
    let t =
        damaged(|d| std::fs::write(d.join("proc/pressure/memory"), "some avg10=lots\n").unwrap());
    assert_error(&run_fixture(t.path(), &["sample"]), &["pressure/memory:1"]);
}

#[test]
fn garbled_meminfo() {
    let t = damaged(|d| std::fs::write(d.join("proc/meminfo"), "MemTotal: many kB\n").unwrap());
    assert_error(&run_fixture(t.path(), &["sample"]), &["meminfo"]);
}

#[test]
fn garbled_status_of_an_explicit_pid() {
    let t = damaged(|d| std::fs::write(d.join("proc/4242/status"), "\u{0}\u{1}\u{2}").unwrap());
    assert_error(
        &run_fixture(t.path(), &["sample", "--pid", "4242"]),
        &["4242"],
    );
}

#[test]
fn cgroup_that_does_not_exist() {
    let o = run_fixture(
        &fixtures().join("v1-hybrid"),
        &["sample", "--cgroup", "/no/such/cgroup"],
    );
    assert_error(&o, &["cgroup \"/no/such/cgroup\" does not exist"]);
}

#[test]
fn cgroup_path_with_dotdot_is_refused() {
    let o = run_fixture(
        &fixtures().join("v1-hybrid"),
        &["sample", "--cgroup", "../../etc"],
    );
    assert_error(&o, &["must not contain"]);
}

#[test]
fn no_memory_hierarchy_with_explicit_cgroup() {
    let t = tempfile::tempdir().unwrap();
    let o = run(&[
        "--cgroup-root",
        t.path().to_str().unwrap(),
        "sample",
        "--cgroup",
        "x",
    ]);
    assert_error(&o, &["no memory cgroup hierarchy"]);
}

#[test]
fn nonexistent_pid() {
    // pid_max is at most 2^22: this pid cannot exist.
    assert_error(
        &run(&["vmmap", "99999999"]),
        &["no process with pid 99999999"],
    );
    assert_error(
        &run(&["sample", "--pid", "99999999"]),
        &["no process with pid 99999999"],
    );
}

#[test]
fn non_numeric_pid_is_a_usage_error() {
    let o = run(&["vmmap", "nginx"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is not a process id"), "{}", stderr(&o));
    let o = run(&["vmmap", "-5"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["sample", "--pid", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn bad_duration_and_unknown_flags() {
    let o = run(&["sample", "--watch", "soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a duration"));
    assert_eq!(run(&["sample", "--frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["vmmap"]).status.code(), Some(2));
}

#[test]
fn missing_proc_root() {
    let o = run(&["--proc-root", "/nonexistent/proc", "vmmap", "1"]);
    assert_error(&o, &["no process with pid 1"]);
    let o = run(&[
        "--proc-root",
        "/nonexistent/proc",
        "--cgroup-root",
        "/nonexistent",
        "sample",
    ]);
    assert_error(&o, &["/nonexistent/proc"]);
}
