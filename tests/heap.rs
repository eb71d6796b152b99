//! `clw-diag profile -- CMD` and `clw-diag leaks PID` on real programs with real BPF uprobes:
//! tests/helpers/heap/heapy.c leaks from known functions and prints how many blocks it leaked,
//! which is the second source every figure is checked against. Needs root (BPF); skips with
//! the reason otherwise.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{assert_error, cmd, have, json, skip, stderr};
use serde_json::Value;

const FLAGS: &[&str] = &[
    "-O2",
    "-g",
    "-fno-builtin",
    "-fno-optimize-sibling-calls",
    "-pthread",
];

fn helpers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers")
}

/// heapy built once per test binary: (no frame pointers, frame pointers).
fn heapy() -> Option<&'static (PathBuf, PathBuf)> {
    static BIN: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    BIN.get_or_init(|| {
        if !have("gcc") {
            return None;
        }
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("heapy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut out = Vec::new();
        for (name, fp) in [
            ("heapy-nofp", "-fomit-frame-pointer"),
            ("heapy-fp", "-fno-omit-frame-pointer"),
        ] {
            let exe = dir.join(name);
            let o = Command::new("gcc")
                .args(FLAGS)
                .arg(fp)
                .arg("-o")
                .arg(&exe)
                .arg(helpers().join("heap/heapy.c"))
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            out.push(exe);
        }
        Some((out[0].clone(), out[1].clone()))
    })
    .as_ref()
}

/// Whether BPF uprobes can be used here: root, and a first profile of /bin/true works.
fn bpf() -> bool {
    static OK: OnceLock<Result<(), String>> = OnceLock::new();
    let r = OK.get_or_init(|| {
        if !common::is_root() {
            return Err("needs root for BPF uprobes".into());
        }
        let o = cmd()
            .args(["-q", "profile", "--", "true"])
            .output()
            .unwrap();
        if o.status.success() {
            Ok(())
        } else {
            Err(format!("BPF is not usable here: {}", stderr(&o).trim()))
        }
    });
    match r {
        Ok(()) => true,
        Err(e) => {
            skip(e);
            false
        }
    }
}

/// bcc registers its uprobes with a reference-counter offset the kernel then requires of every
/// other uprobe at the same place (dmesg: "ref_ctr_offset mismatch"): while memleak is
/// attached, the other tests' probes on libc's malloc would be refused. It runs alone.
static BCC: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn ready() -> Option<&'static (PathBuf, PathBuf)> {
    if !bpf() {
        return None;
    }
    let h = heapy();
    if h.is_none() {
        skip("needs gcc to build tests/helpers/heap/heapy.c");
    }
    h
}

fn profile(args: &[&str], command: &[&str]) -> (Value, String) {
    let o = cmd()
        .arg("profile")
        .arg("--json")
        .args(args)
        .arg("--")
        .args(command)
        .output()
        .unwrap();
    let err = stderr(&o);
    let p = json(&o);
    assert_eq!(p["lost"], 0, "events lost: {p:#}");
    (p, err)
}

fn functions(stack: &Value) -> Vec<String> {
    stack["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// The count heapy printed: "leaked N blocks …".
fn leaked(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("leaked ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("heapy printed no count: {stderr}"))
}

#[test]
fn profile_exact_names_the_leaking_chain_without_frame_pointers_and_counts_every_byte() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let (p, err) = profile(
        &["--sample-bytes", "1"],
        &[nofp.to_str().unwrap(), "leak", "300", "4096"],
    );
    let n = leaked(&err);
    assert_eq!(p["unwind"], "cfi", "{p:#}");
    assert_eq!(p["mode"], "launch");
    let top = &p["stacks"][0];
    let f = functions(top);
    assert_eq!(&f[..4], ["leak3", "leak2", "leak1", "main"], "{top:#}");
    assert!(top["truncated"].is_null(), "{top:#}");
    assert_eq!(top["bytes"].as_u64().unwrap(), n * 4096, "{top:#}");
    assert_eq!(top["allocations"].as_u64().unwrap(), n);
    assert_eq!(top["bytes_error"].as_u64().unwrap(), 0);
    // churn() frees everything it allocates: no stack goes through it.
    for s in p["stacks"].as_array().unwrap() {
        assert!(!functions(s).iter().any(|f| f == "churn"), "{s:#}");
    }
    // Every call was seen: 300 leaks + 300 × 20 churn pairs (and libc's own).
    assert!(p["calls"].as_u64().unwrap() >= 300 * 21, "{p:#}");
    assert!(p["frees"].as_u64().unwrap() >= 300 * 20, "{p:#}");
    assert!(
        p["exit_status"].as_str().unwrap().contains("exit status 0"),
        "{p:#}"
    );
}

#[test]
fn frame_pointer_stacks_are_complete_with_frame_pointers_and_truncated_without() {
    let Some((nofp, fp)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let (p, err) = profile(
        &["--sample-bytes", "1"],
        &[fp.to_str().unwrap(), "leak", "200", "4096"],
    );
    assert_eq!(
        p["unwind"], "fp",
        "auto picks fp for a frame-pointer build: {p:#}"
    );
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    assert!(top["truncated"].is_null(), "{top:#}");
    assert_eq!(top["bytes"].as_u64().unwrap(), leaked(&err) * 4096);
    // Without frame pointers the kernel's walk loses the caller: the stack is cut after
    // leak3 and says so, never naming a wrong caller.
    let (p, err) = profile(
        &["--sample-bytes", "1", "--unwind", "fp"],
        &[nofp.to_str().unwrap(), "leak", "200", "4096"],
    );
    let top = &p["stacks"][0];
    assert_eq!(functions(top), ["leak3"], "{top:#}");
    let why = top["truncated"].as_str().expect("marked truncated");
    assert!(why.contains("frame pointer"), "{why}");
    assert!(
        top["folded"].as_str().unwrap().starts_with("[truncated];"),
        "{top:#}"
    );
    assert_eq!(top["bytes"].as_u64().unwrap(), leaked(&err) * 4096);
}

#[test]
fn a_command_that_lives_milliseconds_is_fully_accounted() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    // 256 blocks of 4 KiB (1 MiB) and exit: a few milliseconds.
    let t = Instant::now();
    let o = Command::new(nofp)
        .args(["leak", "256", "4096"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let alone = t.elapsed();
    let (p, err) = profile(
        &["--sample-bytes", "1"],
        &[nofp.to_str().unwrap(), "leak", "256", "4096"],
    );
    assert_eq!(leaked(&err), 256);
    let top = &p["stacks"][0];
    assert_eq!(top["bytes"].as_u64().unwrap(), 1 << 20, "{top:#}");
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    eprintln!("the command alone ran {alone:?}");
}

#[test]
fn sampling_estimates_a_64_mib_leak_within_ten_percent() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let (p, _) = profile(
        &["--sample-bytes", "65536"],
        &[nofp.to_str().unwrap(), "leak", "16384", "4096"],
    );
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    let est = top["bytes"].as_f64().unwrap();
    let truth = 64.0 * 1024.0 * 1024.0;
    let err = (est - truth).abs() / truth;
    // About 1,000 samples: σ ≈ 3 %, so ±10 % is a 3σ bound.
    assert!(
        err < 0.10,
        "estimated {est} for {truth}: {:.1} % off; {top:#}",
        err * 100.0
    );
    let half = top["bytes_error"].as_f64().unwrap();
    assert!(half > 0.0 && half < 0.15 * truth, "95 % half-width {half}");
    let samples = top["samples"].as_u64().unwrap();
    assert!((700..1400).contains(&samples), "{samples} samples");
}

#[test]
fn every_entry_point_and_threads_are_counted() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let (p, _) = profile(
        &["--sample-bytes", "1", "--top", "0"],
        &[nofp.to_str().unwrap(), "mixed", "40"],
    );
    let find = |name: &str| {
        p["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| functions(s).first().map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("no stack from {name}: {p:#}"))
            .clone()
    };
    for (f, size) in [
        ("leak_calloc", 1000),
        ("leak_realloc", 1000),
        ("leak_posix_memalign", 1000),
        ("leak_aligned_alloc", 1024),
    ] {
        let s = find(f);
        assert_eq!(s["allocations"].as_u64().unwrap(), 40, "{s:#}");
        assert_eq!(s["bytes"].as_u64().unwrap(), 40 * size, "{s:#}");
    }
    // malloc, two reallocs that move it, free: nothing outstanding from balanced_realloc.
    for s in p["stacks"].as_array().unwrap() {
        assert!(
            !functions(s).iter().any(|f| f == "balanced_realloc"),
            "{s:#}"
        );
    }
    let (p, err) = profile(
        &["--sample-bytes", "1"],
        &[nofp.to_str().unwrap(), "threads", "100", "4096"],
    );
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..3],
        ["thread_leak", "thread_main", "start_thread"],
        "{top:#}"
    );
    assert!(top["truncated"].is_null(), "{top:#}");
    assert_eq!(top["bytes"].as_u64().unwrap(), leaked(&err) * 4096);
}

/// heapy forever: started, its pid read, waited for until it leaks.
fn forever(exe: &Path, delay_us: &str) -> (std::process::Child, i32) {
    let mut child = Command::new(exe)
        .args(["forever", "4096", delay_us])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let pid: i32 = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("pid ")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    std::thread::spawn(move || for _ in lines {});
    (child, pid)
}

#[test]
fn leaks_attaches_to_a_running_process_and_names_what_it_keeps() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let (mut child, pid) = forever(nofp, "5000");
    let o = cmd()
        .args([
            "leaks",
            &pid.to_string(),
            "--duration",
            "2s",
            "--sample-bytes",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let p = json(&o);
    assert!(child.try_wait().unwrap().is_none(), "the target still runs");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(p["mode"], "attach");
    assert_eq!(p["ended"], "duration");
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    let n = top["allocations"].as_u64().unwrap();
    assert_eq!(top["bytes"].as_u64().unwrap(), n * 4096);
    // One block per 5 ms plus the loop's own time, for 2 s.
    assert!((100..=400).contains(&n), "{n} blocks in 2 s");
    let first = top["first_s"].as_f64().unwrap();
    let last = top["last_s"].as_f64().unwrap();
    assert!(
        first < 0.2 && last > 1.7 && last <= 2.2,
        "first {first} last {last}"
    );
    assert!(
        stderr(&o).contains("since the probes were attached"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_process_that_exits_mid_profile_gives_its_results_so_far() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    // 100 blocks 10 ms apart: about a second, then it exits.
    let mut child = Command::new(nofp)
        .args(["leak", "100", "4096", "10000"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let o = cmd()
        .args([
            "leaks",
            &child.id().to_string(),
            "--duration",
            "30s",
            "--sample-bytes",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let p = json(&o);
    assert_eq!(p["ended"], "exited", "{p:#}");
    assert!(p["traced_s"].as_f64().unwrap() < 5.0);
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    let n = top["allocations"].as_u64().unwrap();
    assert!((50..=100).contains(&n), "{n}");
    assert!(
        p["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("exited")),
        "{p:#}"
    );
}

/// The first byte of `malloc` in `pid`'s libc, read through /proc/PID/mem: 0xcc while a uprobe
/// is installed there.
fn malloc_byte(pid: i32) -> Option<(u8, u8)> {
    use std::os::unix::fs::FileExt;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let libc = "/lib/x86_64-linux-gnu/libc.so.6";
    let nm = Command::new("nm").args(["-D", libc]).output().ok()?;
    let off = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .find(|l| l.ends_with(" malloc@@GLIBC_2.2.5"))
        .and_then(|l| u64::from_str_radix(l.split(' ').next()?, 16).ok())?;
    let addr = maps.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 6 || !f[5].ends_with("libc.so.6") {
            return None;
        }
        let (s, e) = f[0].split_once('-')?;
        let (s, e) = (
            u64::from_str_radix(s, 16).ok()?,
            u64::from_str_radix(e, 16).ok()?,
        );
        let mo = u64::from_str_radix(f[2], 16).ok()?;
        (off >= mo && off < mo + (e - s)).then(|| s + off - mo)
    })?;
    let mut b = [0u8; 1];
    std::fs::File::open(format!("/proc/{pid}/mem"))
        .ok()?
        .read_exact_at(&mut b, addr)
        .ok()?;
    let mut f = [0u8; 1];
    std::fs::File::open(libc)
        .ok()?
        .read_exact_at(&mut f, off)
        .ok()?;
    Some((b[0], f[0]))
}

#[test]
fn the_probes_go_when_clw_diag_is_killed() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    if !have("nm") {
        skip("needs nm (binutils)");
        return;
    }
    let (mut child, pid) = forever(nofp, "10000");
    let (before, file) = malloc_byte(pid).expect("malloc's first byte");
    assert_eq!(before, file, "no probe before attaching");
    let mut tracer = cmd()
        .args(["-q", "leaks", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut seen = false;
    while t.elapsed() < Duration::from_secs(10) {
        if malloc_byte(pid).map(|b| b.0) == Some(0xcc) {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(seen, "the uprobe's int3 never appeared at malloc");
    tracer.kill().unwrap(); // SIGKILL: no clean-up code runs
    tracer.wait().unwrap();
    let t = Instant::now();
    let mut after = 0xcc;
    while t.elapsed() < Duration::from_secs(5) {
        after = malloc_byte(pid).unwrap().0;
        if after == file {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(after, file, "malloc's first byte restored after SIGKILL");
    assert!(child.try_wait().unwrap().is_none(), "the target runs on");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn cpp_new_rust_and_jemalloc_are_seen_through_their_allocators() {
    let Some(_) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mut cxx_exe = None;
    if have("g++") {
        let src = dir.path().join("n.cpp");
        std::fs::write(
            &src,
            "#include <vector>\n#include <cstdio>\nstruct W { char b[512]; };\n\
             static std::vector<W*> kept;\n\
             __attribute__((noinline)) void make_widget() { kept.push_back(new W()); }\n\
             int main() { kept.reserve(1000); for (int i = 0; i < 300; i++) make_widget();\n\
             std::fprintf(stderr, \"leaked 300 blocks of 512 bytes\\n\"); }\n",
        )
        .unwrap();
        let exe = dir.path().join("n");
        let o = Command::new("g++")
            .args(["-O2", "-g", "-fno-optimize-sibling-calls", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (p, _) = profile(&["--sample-bytes", "1"], &[exe.to_str().unwrap()]);
        let s = p["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| functions(s).iter().any(|f| f == "make_widget"))
            .unwrap_or_else(|| panic!("{p:#}"))
            .clone();
        let f = functions(&s);
        assert!(f[0].starts_with("operator new"), "{s:#}");
        assert_eq!(&f[1..3], ["make_widget", "main"], "{s:#}");
        assert_eq!(s["bytes"].as_u64().unwrap(), 300 * 512);
        cxx_exe = Some(exe);
    } else {
        skip("needs g++ for the C++ case");
    }
    let rs = dir.path().join("r.rs");
    std::fs::write(
        &rs,
        "#[inline(never)] fn keep_buffers(v: &mut Vec<Vec<u8>>) { v.push(vec![7u8; 2048]); }\n\
         fn main() { let mut v = Vec::with_capacity(500); for _ in 0..400 { keep_buffers(&mut v); }\n\
         std::mem::forget(v); eprintln!(\"leaked 400 blocks of 2048 bytes\"); }\n",
    )
    .unwrap();
    let rexe = dir.path().join("r");
    let o = Command::new("rustc")
        .args(["-g", "-C", "opt-level=1", "-o"])
        .arg(&rexe)
        .arg(&rs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (p, _) = profile(&["--sample-bytes", "1"], &[rexe.to_str().unwrap()]);
    let s = p["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| functions(s).iter().any(|f| f.ends_with("keep_buffers")))
        .unwrap_or_else(|| panic!("{p:#}"))
        .clone();
    assert_eq!(s["bytes"].as_u64().unwrap(), 400 * 2048, "{s:#}");
    assert!(
        functions(&s).iter().any(|f| f.ends_with("r::main")),
        "{s:#}"
    );
    // jemalloc in place of glibc's malloc (LD_PRELOAD, inherited by the command and seen by
    // its loader's list): its own malloc is probed.
    let je = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    if !Path::new(je).exists() {
        skip("libjemalloc2 is not installed: the jemalloc case is not run");
        return;
    }
    let (nofp, _) = heapy().unwrap();
    let o = cmd()
        .env("LD_PRELOAD", je)
        .args(["profile", "--json", "--sample-bytes", "1", "--"])
        .arg(nofp)
        .args(["leak", "200", "4096"])
        .output()
        .unwrap();
    let p = json(&o);
    assert!(
        p["probes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["module"].as_str().unwrap().contains("jemalloc")),
        "{p:#}"
    );
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    assert_eq!(top["bytes"].as_u64().unwrap(), 200 * 4096);
    // jemalloc's own operator new does not call malloc: it is probed itself.
    if let Some(cxx) = cxx_exe {
        let o = cmd()
            .env("LD_PRELOAD", je)
            .args(["profile", "--json", "--sample-bytes", "1", "--"])
            .arg(&cxx)
            .output()
            .unwrap();
        let p = json(&o);
        let probed = p["probes"].as_array().unwrap().iter().any(|f| {
            f["module"].as_str().unwrap().contains("jemalloc")
                && f["symbol"]
                    .as_str()
                    .unwrap()
                    .split(',')
                    .any(|s| s == "_Znwm")
        });
        assert!(probed, "{:#}", p["probes"]);
        let s = p["stacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| functions(s).iter().any(|f| f == "make_widget"))
            .unwrap_or_else(|| panic!("{p:#}"))
            .clone();
        assert_eq!(s["bytes"].as_u64().unwrap(), 300 * 512, "{s:#}");
        assert_eq!(s["allocations"].as_u64().unwrap(), 300, "{s:#}");
    }
}

#[test]
fn an_allocator_under_its_own_prefix_is_probed_with_alloc_symbols() {
    let Some(_) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bump.c");
    // A bump allocator of its own (as tikv-jemallocator's _rjem_ names are its own): no
    // libc malloc involved.
    std::fs::write(
        &src,
        "#include <stdio.h>\n#include <stddef.h>\nstatic char arena[1 << 22]; static size_t used;\n\
         __attribute__((noinline)) void *my_malloc(size_t n) { void *p = arena + used; used += (n + 15) & ~15UL; return p; }\n\
         __attribute__((noinline)) void my_free(void *p) { (void)p; }\n\
         __attribute__((noinline)) void grow(void) { for (int i = 0; i < 100; i++) { void *p = my_malloc(64); my_free(my_malloc(32)); (void)p; } }\n\
         int main(void) { grow(); fprintf(stderr, \"leaked 100 blocks of 64 bytes\\n\"); return 0; }\n",
    )
    .unwrap();
    let exe = dir.path().join("bump");
    let o = Command::new("gcc")
        .args([
            "-O1",
            "-g",
            "-fno-builtin",
            "-fno-optimize-sibling-calls",
            "-o",
        ])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (p, _) = profile(
        &["--sample-bytes", "1", "--alloc-symbols", "my_"],
        &[exe.to_str().unwrap()],
    );
    let s = p["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| functions(s).first().map(String::as_str) == Some("grow"))
        .unwrap_or_else(|| panic!("{p:#}"))
        .clone();
    assert_eq!(s["bytes"].as_u64().unwrap(), 100 * 64, "{s:#}");
    assert_eq!(s["allocations"].as_u64().unwrap(), 100, "{s:#}");
}

#[test]
fn bad_targets_get_one_line_and_exit_2() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    // A command that does not exist.
    let o = cmd()
        .args(["profile", "--", "/nonexistent/prog"])
        .output()
        .unwrap();
    assert_error(&o, &["/nonexistent/prog"]);
    // No pid.
    let o = cmd()
        .args(["leaks", "999999999", "--duration", "1s"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A static binary stripped of its symbols: nothing to probe.
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("static");
    let o = Command::new("gcc")
        .args(["-static", "-O2", "-s", "-o"])
        .arg(&exe)
        .arg(helpers().join("heap/heapy.c"))
        .arg("-pthread")
        .output()
        .unwrap();
    if o.status.success() {
        let o = cmd()
            .args(["profile", "--"])
            .arg(&exe)
            .args(["leak", "10"])
            .output()
            .unwrap();
        assert_error(&o, &["no allocator function", "--alloc-symbols"]);
    } else {
        skip("gcc -static failed (no static libc): the static case is not run");
    }
    // No BPF permission: as nobody.
    if have("setpriv") {
        let o = Command::new("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--",
            ])
            .arg(common::bin())
            .args(["profile", "--sample-bytes", "1", "--"])
            .arg(nofp)
            .args(["leak", "10"])
            .output()
            .unwrap();
        assert_error(&o, &["BPF", "CAP_BPF"]);
    } else {
        skip("needs setpriv for the no-permission case");
    }
}

/// bcc's memleak's last report: (bytes, allocations, frames as `function`) per stack.
fn memleak_stacks(out: &str) -> Vec<(u64, u64, Vec<String>)> {
    let last = out.rfind("Top ").map_or(out, |i| &out[i..]);
    let mut v: Vec<(u64, u64, Vec<String>)> = Vec::new();
    for l in last.lines() {
        let t = l.trim();
        if let Some(rest) = t.strip_suffix(" allocations from stack") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            if let (Some(b), Some(n)) = (w.first(), w.get(3)) {
                v.push((b.parse().unwrap_or(0), n.parse().unwrap_or(0), Vec::new()));
            }
        } else if t.starts_with("0x") {
            // "0x000055aba88e95d9	leak2+0x9 [heapy-fp]"
            if let (Some(s), Some(f)) = (v.last_mut(), t.split_whitespace().nth(1)) {
                s.2.push(f.split('+').next().unwrap_or(f).to_string());
            }
        }
    }
    v
}

/// heapy onsignal: started, its pid read; leaks 300 × 4 KiB when sent SIGUSR1.
fn onsignal(
    exe: &Path,
) -> (
    std::process::Child,
    i32,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut child = Command::new(exe)
        .args(["onsignal", "300", "4096"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let pid: i32 = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("pid ")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    (child, pid, lines)
}

/// bcc's memleak attached to a fresh heapy onsignal before it leaks: its last report. The two
/// tools are run one after the other on two runs of the same deterministic program: the
/// kernel refuses the second one's uprobes (perf_event_open: EINVAL) while the other's are on
/// the same functions. `None` (with a SKIP line) when memleak does not start here.
fn memleak_run(exe: &Path) -> Option<Vec<(u64, u64, Vec<String>)>> {
    let (mut child, pid, mut lines) = onsignal(exe);
    let mut ml = Command::new("memleak-bpfcc")
        .args(["-p", &pid.to_string(), "1"])
        .env("PYTHONUNBUFFERED", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ml_out = BufReader::new(ml.stdout.take().unwrap());
    // Its first report comes a second after its probes are in.
    let mut text = String::new();
    let t = Instant::now();
    while !text.contains("Top ") && t.elapsed() < Duration::from_secs(60) {
        let mut l = String::new();
        if ml_out.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        text.push_str(&l);
    }
    if !text.contains("Top ") {
        let _ = ml.kill();
        let err = ml
            .wait_with_output()
            .map(|o| common::stderr(&o))
            .unwrap_or_default();
        let _ = child.kill();
        let _ = child.wait();
        skip(&format!(
            "bcc memleak did not start here: {}",
            err.lines().last().unwrap_or("")
        ));
        return None;
    }
    // SAFETY: signals our own child.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    assert!(lines.next().unwrap().unwrap().starts_with("leaked 300"));
    // Its second whole report after the leak (a report ends where the next begins).
    let mut reports = 0;
    let mut complete = String::new();
    text.clear();
    while reports < 3 {
        let mut l = String::new();
        if ml_out.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        if l.contains("Top ") {
            complete = std::mem::take(&mut text);
            reports += 1;
        }
        text.push_str(&l);
    }
    let text = complete;
    let mut rest = String::new();
    // SAFETY: SIGINT to our own child: it detaches and exits.
    unsafe { libc::kill(ml.id() as i32, libc::SIGINT) };
    let _ = std::io::Read::read_to_string(&mut ml_out, &mut rest);
    let _ = ml.wait();
    let _ = child.kill();
    let _ = child.wait();
    Some(memleak_stacks(&text))
}

/// clw-diag leaks attached to a fresh heapy onsignal before it leaks, stopped after it did.
fn ours_run(exe: &Path, unwind: &str) -> Value {
    let (mut child, pid, mut lines) = onsignal(exe);
    let mut ours = cmd()
        .args([
            "-v",
            "leaks",
            &pid.to_string(),
            "--sample-bytes",
            "1",
            "--unwind",
            unwind,
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(ours.stderr.take().unwrap()).lines();
    let attached = err
        .by_ref()
        .take(20)
        .any(|l| l.is_ok_and(|l| l.contains("probes attached")));
    assert!(attached, "clw-diag did not say it attached");
    std::thread::spawn(move || for _ in err {});
    // SAFETY: signals our own children.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    assert!(lines.next().unwrap().unwrap().starts_with("leaked 300"));
    unsafe { libc::kill(ours.id() as i32, libc::SIGINT) };
    let o = ours.wait_with_output().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(o.status.success(), "{o:?}");
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["ended"], "interrupted");
    p
}

#[test]
fn beside_bcc_memleak_the_same_stack_and_bytes_and_whole_stacks_where_it_has_one_frame() {
    let Some((nofp, fp)) = ready() else { return };
    let _alone = BCC.write().unwrap_or_else(|e| e.into_inner());
    if !have("memleak-bpfcc") && !Path::new("/usr/sbin/memleak-bpfcc").exists() {
        skip("bcc's memleak-bpfcc is not installed (Debian bpfcc-tools)");
        return;
    }
    let build = format!(
        "/lib/modules/{}/build",
        String::from_utf8_lossy(&Command::new("uname").arg("-r").output().unwrap().stdout).trim()
    );
    if !Path::new(&build).exists() {
        skip(&format!(
            "bcc needs kernel headers at {build} (see ../shared/notes/heap-profiling.md)"
        ));
        return;
    }
    // With frame pointers: memleak's top stack is ours, byte for byte.
    let Some(ml) = memleak_run(fp) else {
        return;
    };
    let p = ours_run(fp, "fp");
    let (bytes, n, frames) = ml
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("memleak printed no stack"));
    assert_eq!((bytes, n), (300 * 4096, 300), "memleak: {ml:?}");
    assert_eq!(
        &frames[..4],
        ["leak3", "leak2", "leak1", "main"],
        "memleak: {ml:?}"
    );
    let top = &p["stacks"][0];
    assert_eq!(top["bytes"].as_u64().unwrap(), bytes, "{top:#}");
    assert_eq!(&functions(top)[..4], &frames[..4], "{top:#}");
    // Without frame pointers memleak keeps one frame; clw-diag the whole chain.
    let Some(ml) = memleak_run(nofp) else {
        return;
    };
    let p = ours_run(nofp, "cfi");
    let (bytes, _, frames) = ml.first().cloned().unwrap();
    assert_eq!(bytes, 300 * 4096, "memleak: {ml:?}");
    assert_eq!(frames.len(), 1, "memleak without frame pointers: {ml:?}");
    let top = &p["stacks"][0];
    assert_eq!(top["bytes"].as_u64().unwrap(), bytes, "{top:#}");
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    assert!(top["truncated"].is_null(), "{top:#}");
}

#[test]
fn duration_stops_a_launched_command_and_output_keeps_its_stdout_apart() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.json");
    // heapy forever writes to stdout: the profile goes to --output.
    let o = cmd()
        .args([
            "profile",
            "--json",
            "--sample-bytes",
            "1",
            "--duration",
            "700ms",
            "-o",
        ])
        .arg(&file)
        .arg("--")
        .arg(nofp)
        .args(["forever", "4096", "5000"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        common::stdout(&o).starts_with("pid "),
        "the command's own output: {:?}",
        common::stdout(&o)
    );
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(p["ended"], "duration");
    assert_eq!(
        p["exit_status"], "killed by signal 15",
        "SIGTERM at the end: {p:#}"
    );
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    assert_eq!(
        top["bytes"].as_u64().unwrap(),
        top["allocations"].as_u64().unwrap() * 4096
    );
    // A path that cannot be written fails before anything runs.
    let o = cmd()
        .args(["profile", "-o", "/nonexistent/dir/p.json", "--"])
        .arg(nofp)
        .args(["leak", "1"])
        .output()
        .unwrap();
    assert_error(&o, &["/nonexistent/dir/p.json"]);
}

#[test]
fn a_static_binary_with_symbols_is_probed_in_its_own_malloc() {
    let Some(_) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("heapy-static");
    let o = Command::new("gcc")
        .args(FLAGS)
        .arg("-static")
        .arg("-o")
        .arg(&exe)
        .arg(helpers().join("heap/heapy.c"))
        .output()
        .unwrap();
    if !o.status.success() {
        skip("gcc -static failed (no static libc)");
        return;
    }
    let (p, err) = profile(
        &["--sample-bytes", "1"],
        &[exe.to_str().unwrap(), "leak", "100", "4096"],
    );
    assert!(
        p["probes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["module"].as_str().unwrap().ends_with("heapy-static")),
        "{p:#}"
    );
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    assert_eq!(top["bytes"].as_u64().unwrap(), leaked(&err) * 4096);
}

/// A process in a real Docker container whose executable and libc exist only in its image:
/// the probes go on the container's own libc (through `/proc/PID/root`), the stacks are named
/// from the container's files, and the output names the container.
#[test]
fn leaks_in_a_docker_container_names_the_container_and_its_stacks() {
    let Some((nofp, _)) = ready() else { return };
    let _shared = BCC.read().unwrap_or_else(|e| e.into_inner());
    let Some(d) = common::runtimes::Dockerd::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    for sub in ["app", "clibs", "lib64", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::copy(nofp, root.join("app/heapy")).unwrap();
    std::fs::copy(
        "/lib/x86_64-linux-gnu/libc.so.6",
        root.join("clibs/libc.so.6"),
    )
    .unwrap();
    std::fs::copy(
        "/lib64/ld-linux-x86-64.so.2",
        root.join("lib64/ld-linux-x86-64.so.2"),
    )
    .unwrap();
    let tar = dir.path().join("rootfs.tar");
    let o = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .output()
        .unwrap();
    assert!(o.status.success());
    let image = "clw-heap:lab";
    let imp = d.docker(&["import", tar.to_str().unwrap(), image]);
    assert!(imp.status.success(), "{}", common::runtimes::said(&imp));
    let name = "clw-heap-leaks";
    let o = d.run(
        name,
        &[
            "-d",
            "--network",
            "none",
            "-e",
            "LD_LIBRARY_PATH=/clibs",
            image,
            "/app/heapy",
            "forever",
            "4096",
            "5000",
        ],
    );
    assert!(o.status.success(), "{}", common::runtimes::said(&o));
    let mut pid = None;
    for _ in 0..100 {
        pid = d.host_pid(name);
        if pid.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = pid.expect("the container has no pid");
    std::thread::sleep(Duration::from_millis(300));
    let p = json(
        &cmd()
            .args([
                "leaks",
                &pid.to_string(),
                "--duration",
                "1500ms",
                "--sample-bytes",
                "1",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    let root_dir = format!("/proc/{pid}/root");
    assert!(
        p["probes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["module"] == "/clibs/libc.so.6"),
        "the container's own libc is probed: {:#}",
        p["probes"]
    );
    assert_eq!(p["workload"], format!("docker:{name}").as_str(), "{p:#}");
    let top = &p["stacks"][0];
    assert_eq!(
        &functions(top)[..4],
        ["leak3", "leak2", "leak1", "main"],
        "{top:#}"
    );
    assert!(top["truncated"].is_null(), "{top:#}");
    assert_eq!(
        top["bytes"].as_u64().unwrap(),
        top["allocations"].as_u64().unwrap() * 4096
    );
    assert!(
        p["warnings"].to_string().contains(&root_dir),
        "{:#}",
        p["warnings"]
    );
}

/// The embedded BPF object is what its committed source builds to (bpf/build.sh, Debian's
/// clang 14 and libbpf's headers): the two cannot drift apart.
#[test]
fn the_committed_bpf_object_is_built_from_its_source() {
    if !have("clang") || !Path::new("/usr/include/bpf/bpf_helpers.h").exists() {
        skip("needs clang and libbpf-dev (apt-get install clang libbpf-dev) to rebuild bpf/heap.bpf.o");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("heap.bpf.o");
    let o = Command::new("bash")
        .arg(root.join("bpf/build.sh"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "bpf/build.sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let built = std::fs::read(&out).unwrap();
    let committed = std::fs::read(root.join("bpf/heap.bpf.o")).unwrap();
    assert!(
        built == committed,
        "bpf/heap.bpf.o differs from what bpf/heap.bpf.c builds to ({} vs {} bytes): run bpf/build.sh and commit the object",
        built.len(),
        committed.len()
    );
}
