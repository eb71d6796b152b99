//! See `main.rs` for what this module covers. Here: copied `--proc-root` trees whose files are
//! garbled (D5), endless or blocking (D6, D16), and a target that exits while `vmmap` reads it
//! (D7).

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;

/// The pid of the process in the `v2` fixture tree.
const PID: &str = "31337";

/// A copy of the `v2` fixture tree (proc and cgroup files of one python3 process).
fn tree() -> tempfile::TempDir {
    copy_tree(&fixtures().join("v2"))
}

fn pid_file(t: &tempfile::TempDir, name: &str) -> PathBuf {
    t.path().join("proc").join(PID).join(name)
}

/// How a bounded run ended.
struct Ended {
    code: Option<i32>,
    stderr: String,
    /// Peak RSS of the clw-diag process (wait4's ru_maxrss), KiB.
    max_rss_kb: i64,
    took: Duration,
}

/// Run clw-diag on tree `t` with `args`, killing it (and failing) if it runs past `limit`.
fn run_bounded(t: &tempfile::TempDir, args: &[&str], limit: Duration) -> Ended {
    let out_dir = tempfile::tempdir().unwrap();
    let err_path = out_dir.path().join("stderr");
    let proc_root = t.path().join("proc");
    let cg_root = t.path().join("sys/fs/cgroup");
    let mut child = cmd()
        .arg("--proc-root")
        .arg(&proc_root)
        .arg("--cgroup-root")
        .arg(&cg_root)
        .args(args)
        .current_dir(out_dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let Some(m) = wait_measured(&mut child, limit) else {
        panic!("clw-diag {args:?} still running after {limit:?}: it blocks or reads forever");
    };
    Ended {
        code: m.status.code(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        max_rss_kb: (m.peak_bytes / 1024) as i64,
        took: m.took,
    }
}

/// Assert exit 2 with a one-line error that names `needle`, and no panic.
fn assert_error_line(e: &Ended, what: &str, needle: &str) {
    assert_eq!(
        e.code,
        Some(2),
        "{what}: expected exit 2, stderr: {}",
        e.stderr
    );
    assert!(
        !e.stderr.contains("panicked"),
        "{what}: panic: {}",
        e.stderr
    );
    let errors: Vec<&str> = e
        .stderr
        .lines()
        .filter(|l| l.starts_with("clw-diag: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{what}: one error line: {}", e.stderr);
    assert!(
        errors[0].contains(needle),
        "{what}: error does not name {needle:?}: {}",
        errors[0]
    );
}

// ---------------------------------------------------------------------------------------------
// D5: a malformed /proc/PID/stat made procfs panic (exit 101) in vmmap and record --pid.

/// vmmap and record --pid on a tree whose stat holds `content`: exit 2, one line naming the
/// stat file, no panic.
fn malformed_stat(content: &[u8]) {
    let t = tree();
    let stat = pid_file(&t, "stat");
    std::fs::write(&stat, content).unwrap();
    let shown = stat.display().to_string();
    for args in [
        &["vmmap", PID][..],
        &["vmmap", "--verify", "--json", PID][..],
        &[
            "record", "--pid", PID, "-d", "1s", "-i", "200ms", "-o", "r.json",
        ][..],
    ] {
        let e = run_bounded(&t, args, Duration::from_secs(20));
        assert_error_line(&e, &format!("{args:?} on stat {content:?}"), &shown);
        assert!(e.stderr.contains("malformed"), "{}", e.stderr);
    }
}

#[test]
fn d5_malformed_stat_non_utf8_before_the_comm() {
    malformed_stat(b"\xff(x) S 1 2 3");
}

#[test]
fn d5_malformed_stat_no_pid() {
    malformed_stat(b"(x) S 1 2 3");
}

#[test]
fn d5_malformed_stat_nothing_after_the_comm() {
    malformed_stat(b"1 (x)");
}

#[test]
fn d5_malformed_stat_parentheses_reversed() {
    malformed_stat(b"1 )x( S 1 2");
}

#[test]
fn d5_malformed_stat_4_kib_of_random_bytes() {
    // Several random files, none starting with a pid: the same panic in procfs before.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..3 {
        let bytes: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        malformed_stat(&bytes);
    }
}

#[test]
fn d5_stat_with_a_non_utf8_comm_is_read() {
    // Not malformed: a comm may hold any bytes (prctl PR_SET_NAME). It is kept lossily.
    let t = tree();
    let stat = pid_file(&t, "stat");
    let real = std::fs::read(&stat).unwrap();
    let close = real.iter().rposition(|&c| c == b')').unwrap();
    let mut odd = b"4844 (py\xff) t)".to_vec();
    odd.extend_from_slice(&real[close + 1..]);
    std::fs::write(&stat, odd).unwrap();
    let e = run_bounded(&t, &["vmmap", PID], Duration::from_secs(20));
    assert_eq!(e.code, Some(0), "{}", e.stderr);
}

// ---------------------------------------------------------------------------------------------
// D6 and D16: a copied tree whose files are /dev/zero, or FIFOs without a writer, grew memory
// until OOM-killed, or blocked forever.

/// The commands of the note, and which of the tree's files each of them reads (then it must
/// fail naming the file; otherwise it must still end in time, with bounded memory).
const COMMANDS: &[(&[&str], &[&str])] = &[
    (&["sample"], &["status", "smaps_rollup"]),
    (&["sample", "--sort", "pss"], &["status", "smaps_rollup"]),
    (&["vmmap", PID], &["status", "stat", "smaps"]),
    (&["vmmap", "--verify", PID], &["status", "stat", "smaps"]),
    (
        &[
            "record", "--pid", PID, "-d", "1s", "-i", "200ms", "-o", "r.json",
        ],
        &["status", "stat"],
    ),
    (&["oom-rank"], &["status", "stat"]),
];

/// Peak RSS allowed, KiB: the debug binary on the intact tree peaks near 15 MiB.
const MAX_RSS_KB: i64 = 64 * 1024;

fn endless_files(make: impl Fn(&Path)) {
    for file in ["smaps", "status", "stat", "smaps_rollup", "maps"] {
        let t = tree();
        let path = pid_file(&t, file);
        let _ = std::fs::remove_file(&path);
        make(&path);
        for (args, reads) in COMMANDS {
            let what = format!("{args:?} with {file} replaced");
            let e = run_bounded(&t, args, Duration::from_secs(15));
            assert!(!e.stderr.contains("panicked"), "{what}: {}", e.stderr);
            assert!(
                e.max_rss_kb < MAX_RSS_KB,
                "{what}: peak RSS {} KiB",
                e.max_rss_kb
            );
            assert!(
                e.took < Duration::from_secs(10),
                "{what}: took {:?}",
                e.took
            );
            if reads.contains(&file) {
                assert_error_line(&e, &what, &path.display().to_string());
                // Refused by kind (`input::open`), or, in the per-process reader of oom-rank
                // and record (non-blocking, capped), found not to be what the kernel prints.
                assert!(
                    e.stderr.contains("not a regular file") || e.stderr.contains("malformed"),
                    "{what}: {}",
                    e.stderr
                );
            } else {
                assert!(
                    matches!(e.code, Some(0 | 2)),
                    "{what}: {:?} {}",
                    e.code,
                    e.stderr
                );
            }
        }
    }
}

#[test]
fn d6_proc_root_dev_zero_files_are_refused_in_bounded_time_and_memory() {
    // A symlink to /dev/zero, which is only opened (and fstat'ed), never written.
    endless_files(|p| symlink("/dev/zero", p).unwrap());
}

#[test]
fn d16_proc_root_fifo_without_a_writer_does_not_block() {
    endless_files(mkfifo);
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "{}",
        p.display()
    );
}

#[test]
fn d16_proc_root_fifo_mapped_files_and_pagemap_do_not_block_vmmap() {
    // vmmap reads the ELF headers of writable file mappings (under PID/root) and pagemap to
    // bound a .bss: FIFOs there must be skipped, not waited on.
    let t = tree();
    let dir = t.path().join("proc").join(PID);
    mkfifo(&dir.join("pagemap"));
    let smaps = std::fs::read_to_string(dir.join("smaps")).unwrap();
    let mut n = 0;
    for line in smaps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() == 6 && f[1] == "rw-p" && f[5].starts_with('/') {
            let p = dir.join("root").join(f[5].trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            if !p.exists() {
                mkfifo(&p);
                n += 1;
            }
        }
    }
    assert!(n > 5, "{n} writable file mappings in the fixture");
    let e = run_bounded(&t, &["vmmap", PID], Duration::from_secs(15));
    assert_eq!(e.code, Some(0), "{}", e.stderr);
    assert!(e.took < Duration::from_secs(10), "took {:?}", e.took);
}

#[test]
fn d6_proc_root_huge_regular_status_is_too_large() {
    // A regular file past the 1 MiB bound on status (a real one is about 1.5 kB): refused
    // while reading, not slurped.
    let t = tree();
    let status = pid_file(&t, "status");
    let mut text = std::fs::read(&status).unwrap();
    text.resize(3 << 20, b'x');
    std::fs::write(&status, text).unwrap();
    for args in [&["sample"][..], &["vmmap", PID][..]] {
        let e = run_bounded(&t, args, Duration::from_secs(15));
        assert_error_line(&e, &format!("{args:?}"), &status.display().to_string());
        assert!(e.stderr.contains("larger than 1 MiB"), "{}", e.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// D7: a target killed while vmmap read its mappings gave a truncated table, exit 0, no note.

#[test]
fn d7_vmmap_target_exits_mid_read_is_partial() {
    if mapper_bin().is_none() {
        skip("gcc is needed to build the mapper helper");
        return;
    }
    // 30,000 one-page mappings: well under vm.max_map_count (65,530), and a read of them takes
    // long enough for a kill to land in the middle.
    let maps = "30000";
    let baseline = {
        let m = Mapper::start(&["0", "0", "-", "0", "0", maps], None);
        let o = run(&["vmmap", "--json", &m.pid.to_string()]);
        let v = json(&o);
        assert_eq!(v["partial"], false);
        assert!(v["partial_reason"].is_null());
        m.stop();
        v["totals"]["mappings"].as_u64().unwrap()
    };
    assert!(baseline > 30_000, "{baseline} mappings");
    let mut cut = 0;
    for (i, delay_ms) in [2u64, 5, 10, 20, 40, 80].iter().enumerate() {
        let m = Mapper::start(&["0", "0", "-", "0", "0", maps], None);
        let pid = m.pid;
        let json_out = i % 2 == 0;
        let mut c = cmd();
        if json_out {
            c.arg("--json");
        }
        let child = c
            .args(["vmmap", "--verify", &pid.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*delay_ms));
        // SAFETY: kill our own child (the mapper) by its pid; Mapper's drop reaps it.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let o = child.wait_with_output().unwrap();
        drop(m);
        let err = stderr(&o);
        let what = format!(
            "run {i} (kill after {delay_ms} ms): exit {:?}, stderr {err}",
            o.status
        );
        assert!(!err.contains("panicked"), "{what}");
        match o.status.code() {
            Some(0) => {
                // Complete: every mapping, nothing marked.
                if json_out {
                    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                    assert_eq!(v["partial"], false, "{what}");
                    assert_eq!(v["totals"]["mappings"].as_u64(), Some(baseline), "{what}");
                } else {
                    let out = stdout(&o);
                    let total = out.lines().find(|l| l.trim_start().starts_with("TOTAL"));
                    let n: u64 = total
                        .and_then(|l| l.split_whitespace().last())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| panic!("{what}: no TOTAL count in {out}"));
                    assert_eq!(n, baseline, "{what}");
                    assert!(!out.contains("partial"), "{what}");
                }
            }
            Some(2) => {
                cut += 1;
                if o.stdout.is_empty() {
                    // Gone before the first mapping: an error, as for a zombie.
                    assert!(err.contains("exited"), "{what}");
                    continue;
                }
                if json_out {
                    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                    assert_eq!(v["partial"], true, "{what}");
                    let why = v["partial_reason"].as_str().unwrap_or_default();
                    assert!(why.contains("exited"), "{what}: {why}");
                    assert!(
                        v["totals"]["mappings"].as_u64().unwrap() < baseline,
                        "{what}"
                    );
                    assert!(err.contains("partial"), "{what}");
                } else {
                    let out = stdout(&o);
                    assert!(out.contains("TOTAL (partial"), "{what}: {out}");
                    assert!(err.contains("partial:"), "{what}");
                }
            }
            other => panic!("{what}: unexpected exit {other:?}"),
        }
    }
    if cut == 0 {
        skip("no kill landed while vmmap was reading (a machine this fast needs more mappings)");
    }
}
