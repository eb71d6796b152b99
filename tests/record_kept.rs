//! `record`'s kept descriptors (`sample::kept`) on real processes: a kept file read again at
//! offset 0 sees the process grow (and agrees with a fresh open), without opening anything; an
//! exited target is a zombie, then gone, never a stale value; a pid reused by another process
//! (made with clone3's `set_tid`, root only) is not read as the target, neither by the reader
//! nor by `record --pid`; the family follows children that come and go.

mod common;

use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clw_diag::sample::kept::KeptFiles;
use clw_diag::sample::pidfiles::{Miss, PidFiles};
use common::{have, is_root, skip};

const MIB: u64 = 1 << 20;

/// A python3 that touches 32 MiB more for each line it reads, answering "ok".
fn grower() -> Child {
    let prog = "import sys\nb = []\nprint('ready', flush=True)\nfor _ in sys.stdin:\n    x = bytearray(32 << 20)\n    for i in range(0, len(x), 4096): x[i] = 1\n    b.append(x)\n    print('ok', flush=True)\n";
    Command::new("python3")
        .args(["-c", prog])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn answer(c: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(c.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line
}

#[test]
fn a_kept_descriptor_sees_the_process_grow_without_opening_anything() {
    if !have("python3") {
        skip("python3 not installed");
        return;
    }
    let mut c = grower();
    assert_eq!(answer(&mut c).trim(), "ready");
    let pid = c.id() as i32;
    let mut f = KeptFiles::new(Path::new("/proc"));
    f.adopt(pid).unwrap();
    let read = |f: &mut KeptFiles| {
        let m = f.statm(pid).unwrap().unwrap();
        let s = f.status(pid).unwrap();
        let r = f.rollup(pid).unwrap().unwrap();
        (m.resident_bytes, s.rss_bytes.unwrap(), r.pss_bytes)
    };
    let before = read(&mut f);
    let opens = f.opens();
    let mut fresh = PidFiles::new(Path::new("/proc"));
    for step in 1..=3u64 {
        writeln!(c.stdin.as_mut().unwrap(), "more").unwrap();
        assert_eq!(answer(&mut c).trim(), "ok");
        let now = read(&mut f);
        for (what, b, n) in [
            ("statm", before.0, now.0),
            ("status", before.1, now.1),
            ("smaps_rollup", before.2, now.2),
        ] {
            assert!(
                n >= b + step * 30 * MIB,
                "{what}: {b} then {n} after {step} x 32 MiB"
            );
        }
        // The process waits on stdin: a file opened now says the same.
        let by_path = fresh.statm(pid).unwrap().unwrap().resident_bytes;
        assert_eq!(now.0, by_path, "kept statm vs a fresh open");
        assert_eq!(f.opens(), opens, "a sample opens nothing");
    }
    let _ = c.kill();
    let _ = c.wait();
}

#[test]
fn an_exited_target_is_a_zombie_then_gone_never_a_stale_value() {
    let mut c = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = c.id() as i32;
    let mut f = KeptFiles::new(Path::new("/proc"));
    f.adopt(pid).unwrap();
    assert!(f.statm(pid).unwrap().is_some());
    assert!(f.status(pid).unwrap().has_mm());
    c.kill().unwrap();
    // Not reaped yet: a zombie, which has no memory map.
    let t0 = Instant::now();
    while f.statm(pid) != Ok(None) {
        assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", f.statm(pid));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!f.status(pid).unwrap().has_mm());
    c.wait().unwrap();
    let gone = f.statm(pid).unwrap_err();
    assert!(gone.is_gone(), "{gone:?}");
    assert!(!f.is_kept(pid), "forgotten once gone");
    assert_eq!(f.statm(pid), Err(Miss::NotFound));
    assert_eq!(f.rollup(pid), Err(Miss::NotFound));
}

/// Start `argv` (an absolute program path) as a new process with pid `pid`: clone3(2) with
/// `set_tid` (Linux 5.5+, CAP_SYS_ADMIN). `None` when the kernel refuses.
fn spawn_with_pid(pid: i32, argv: &[&str]) -> Option<i32> {
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    let args: Vec<CString> = argv.iter().map(|a| CString::new(*a).unwrap()).collect();
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let tid = [pid as libc::pid_t];
    let ca = CloneArgs {
        exit_signal: libc::SIGCHLD as u64,
        set_tid: tid.as_ptr() as u64,
        set_tid_size: 1,
        ..Default::default()
    };
    // SAFETY: clone3 without CLONE_VM is a fork; the child only calls execv and _exit.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &ca as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if r == 0 {
        // SAFETY: in the child: exec, or leave at once.
        unsafe {
            libc::execv(ptrs[0], ptrs.as_ptr());
            libc::_exit(127);
        }
    }
    (r > 0).then_some(r as i32)
}

fn kill_and_reap(pid: i32) {
    // SAFETY: our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// A `sleep 30` with its pid, started by fork+exec so this test may reap it itself.
fn sleeper() -> i32 {
    let c = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = c.id() as i32;
    std::mem::forget(c);
    pid
}

#[test]
fn a_reused_pid_is_not_read_as_the_target() {
    if !is_root() {
        skip("needs root (clone3 set_tid, to give a new process the old pid)");
        return;
    }
    let a = sleeper();
    let mut f = KeptFiles::new(Path::new("/proc"));
    let start = f.adopt(a).unwrap().starttime_ticks;
    assert!(f.statm(a).unwrap().is_some());
    kill_and_reap(a);
    std::thread::sleep(Duration::from_millis(20));
    let Some(b) = spawn_with_pid(a, &["/bin/sleep", "30"]) else {
        skip("clone3 with set_tid refused (kernel before 5.5, or no CAP_SYS_ADMIN)");
        return;
    };
    assert_eq!(b, a);
    // Another process has the number now: a fresh open by path reads it.
    let t0 = Instant::now();
    let other = loop {
        if let Ok(st) = PidFiles::new(Path::new("/proc")).stat(a) {
            if st.comm == "sleep" {
                break st;
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "the new process");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_ne!(other.starttime_ticks, start, "a new process, a later start");
    assert!(f.statm(a).unwrap_err().is_gone(), "the target is gone");
    assert!(!f.is_kept(a));
    assert_eq!(
        f.status(a).unwrap_err(),
        Miss::NotFound,
        "never reopened by path"
    );
    kill_and_reap(b);
}

#[test]
fn record_stops_when_the_target_exits_even_if_its_pid_is_reused_at_once() {
    if !is_root() || !have("python3") {
        skip("needs root (clone3 set_tid) and python3");
        return;
    }
    let a = sleeper();
    let d = tempfile::tempdir().unwrap();
    let trace = d.path().join("t.json");
    let mut rec = common::cmd()
        .args(["-q", "--format", "json", "record", "--pid", &a.to_string()])
        .args(["-i", "500ms", "-d", "20s", "-o", trace.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Two samples of the sleep, then it exits and, within a millisecond, a python3 holding
    // 100 MiB takes its pid, before the recorder's next sample.
    let trace_lines = || {
        std::fs::read_to_string(&trace)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let t0 = Instant::now();
    while trace_lines() < 3 {
        assert!(t0.elapsed() < Duration::from_secs(10), "record started");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_and_reap(a);
    let python = Command::new("sh")
        .args(["-c", "command -v python3"])
        .output()
        .unwrap();
    let python = String::from_utf8_lossy(&python.stdout).trim().to_string();
    let prog = "b = bytearray(100 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nimport time; time.sleep(30)";
    let Some(b) = spawn_with_pid(a, &[&python, "-c", prog]) else {
        let _ = rec.kill();
        let _ = rec.wait();
        skip("clone3 with set_tid refused (kernel before 5.5, or no CAP_SYS_ADMIN)");
        return;
    };
    let o = rec.wait_with_output().unwrap();
    kill_and_reap(b);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        summary["stopped_by"]
            .as_str()
            .is_some_and(|s| s.contains("process exited")),
        "{summary}"
    );
    assert!(summary["duration_s"].as_f64().unwrap() < 10.0, "{summary}");
    let text = std::fs::read_to_string(&trace).unwrap();
    for line in text.lines().skip(1) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(rss) = v["rss_bytes"].as_u64() {
            assert!(
                rss < 50 * MIB,
                "a sample of the process that took the pid: {v}"
            );
        }
    }
    assert!(text.contains("\"event\":\"target_exited\""), "{text}");
}

#[test]
fn the_family_follows_children_that_come_and_go() {
    let mut sh = Command::new("sh")
        .args(["-c", "sleep 30 & sleep 30 & wait"])
        .spawn()
        .unwrap();
    let root = sh.id() as i32;
    let mut f = KeptFiles::new(Path::new("/proc"));
    f.adopt(root).unwrap();
    let mut fam = Vec::new();
    let t0 = Instant::now();
    loop {
        // Threads unknown: the task directory is listed.
        f.family(root, &mut fam);
        if fam.len() == 3 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{fam:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(fam[0], root);
    // One thread (from status): the main thread's kept children file.
    assert_eq!(f.status(root).unwrap().threads, Some(1));
    let mut again = Vec::new();
    f.family(root, &mut again);
    assert_eq!(again, fam);
    for &c in &fam[1..] {
        assert!(f.is_kept(c));
        let st = PidFiles::new(Path::new("/proc")).stat(c).unwrap();
        assert_eq!(st.ppid, root, "a child of the shell");
        assert_eq!(f.start_ticks(c), Some(st.starttime_ticks));
    }
    let victim = fam[1];
    // SAFETY: a child of our child.
    unsafe { libc::kill(victim, libc::SIGKILL) };
    let t0 = Instant::now();
    loop {
        f.family(root, &mut fam);
        if fam.len() == 2 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{fam:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!fam.contains(&victim) && !f.is_kept(victim), "{fam:?}");
    let _ = sh.kill();
    let _ = sh.wait();
    for &c in &fam[1..] {
        // SAFETY: the shell's other child, orphaned now.
        unsafe { libc::kill(c, libc::SIGKILL) };
    }
}

#[test]
fn without_children_files_the_family_comes_from_every_parent() {
    // A copied tree of real processes' files (no task/TID/children in it, as on a kernel
    // without CONFIG_PROC_CHILDREN): the shell, its two children and this test.
    let mut sh = Command::new("sh")
        .args(["-c", "sleep 30 & sleep 30 & wait"])
        .spawn()
        .unwrap();
    let root = sh.id() as i32;
    let kids_file = format!("/proc/{root}/task/{root}/children");
    let t0 = Instant::now();
    let kids: Vec<i32> = loop {
        let k: Vec<i32> = std::fs::read_to_string(&kids_file)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if k.len() == 2 {
            break k;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{k:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    let d = tempfile::tempdir().unwrap();
    let me = std::process::id() as i32;
    for p in [root, kids[0], kids[1], me] {
        let dir = d.path().join(p.to_string());
        std::fs::create_dir(&dir).unwrap();
        for name in ["stat", "statm"] {
            std::fs::copy(format!("/proc/{p}/{name}"), dir.join(name)).unwrap();
        }
    }
    let mut f = KeptFiles::new(d.path());
    f.adopt(root).unwrap();
    let mut fam = Vec::new();
    f.family(root, &mut fam);
    let mut want = vec![root, kids[0], kids[1]];
    want[1..].sort_unstable();
    assert_eq!(fam, want);
    assert!(!f.is_kept(me));
    assert!(f.statm(kids[0]).unwrap().unwrap().resident_bytes > 0);
    for k in kids {
        // SAFETY: the shell's children.
        unsafe { libc::kill(k, libc::SIGKILL) };
    }
    let _ = sh.kill();
    let _ = sh.wait();
}
