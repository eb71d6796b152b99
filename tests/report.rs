//! `clw-diag report` on real inputs: a real OOM kill inside a small memory cgroup and a real
//! core of a crashed program, then the runbook's command line exactly as written
//! (`clw-diag --worker-logs --cores=DIR --since=10m`) must name both, the victim and the crash
//! signature; planted secrets in logs survive neither the text nor the bundle; and bad input
//! (missing directories, unreadable logs, a corrupted core, no kernel log) is reported per
//! section while the report is still written.

mod common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Build tests/helpers/crash/crash.c and crash it (segv) in `dir` with cores enabled; the core's
/// path. `None` (with the reason printed) when cores cannot be made here.
fn make_core(dir: &Path) -> Option<PathBuf> {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.starts_with('|') {
        skip("core_pattern pipes cores to a program");
        return None;
    }
    let exe = dir.join("crash");
    let o = Command::new("gcc")
        .args(["-g", "-O0", "-pthread", "-o"])
        .arg(&exe)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/crash/crash.c"))
        .output();
    if !o.as_ref().is_ok_and(|o| o.status.success()) {
        skip("gcc cannot build the crash helper");
        return None;
    }
    let _ = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c unlimited; exec \"$0\" segv")
        .arg(&exe)
        .current_dir(dir)
        .output()
        .unwrap();
    let core = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("core"))
        });
    if core.is_none() {
        skip(&format!("no core file was written in {}", dir.display()));
    }
    core
}

/// A process that joins `cg` and allocates until the kernel kills it; its pid.
fn oom_kill_in(cg: &TestCgroup) -> i32 {
    let script = format!(
        "import os\nopen('{}','w').write(str(os.getpid()))\na=[]\nwhile True: a.append(b'x'*(1<<20))\n",
        cg.procs().display()
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "the allocator was not OOM-killed: {status:?}"
    );
    pid
}

#[test]
fn runbook_command_names_the_oom_victim_and_the_crash() {
    let Some(cg) = TestCgroup::create("clw-report-oom", 64 << 20) else {
        return;
    };
    let cores = tempfile::tempdir().unwrap();
    let Some(core) = make_core(cores.path()) else {
        return;
    };
    let victim = oom_kill_in(&cg);
    let bt = run(&["backtrace", core.to_str().unwrap(), "--json"]);
    let signature = json(&bt)["crash_signature"].as_str().unwrap().to_string();
    assert!(signature.starts_with("SIGSEGV in "), "{signature}");

    // Exactly the runbook's form: flags, no subcommand.
    let cores_arg = format!("--cores={}", cores.path().display());
    let o = run(&["--worker-logs", &cores_arg, "--since=10m"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains('\x1b'), "colour codes in redirected output");
    let summary = text
        .split("== Summary ==")
        .nth(1)
        .and_then(|s| s.split("\n== ").next())
        .unwrap_or_else(|| panic!("no summary:\n{text}"));
    assert!(
        summary.contains(&format!("(pid {victim})")) && summary.contains("OOM-killed"),
        "the summary does not name the OOM victim {victim}:\n{summary}"
    );
    assert!(
        summary.contains(&cg.rel),
        "the summary does not name the cgroup {}:\n{summary}",
        cg.rel
    );
    assert!(
        summary.contains(&signature),
        "the summary does not give the crash signature {signature}:\n{summary}"
    );
    assert!(summary.contains(&core.display().to_string()), "{summary}");
    // The crashing thread's backtrace is in the cores section.
    let cores_section = text.split("== Core files").nth(1).unwrap();
    assert!(cores_section.contains("fault_here"), "{cores_section}");
    // Every section is there.
    for title in [
        "== Host and cgroups",
        "== OOM kill order",
        "== Kernel log",
        "== Worker logs",
        "== Core files",
        "== Memory traces",
    ] {
        assert!(text.contains(title), "no {title} section:\n{text}");
    }

    // The same as JSON.
    let o = run(&["report", &cores_arg, "--since", "10m", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    let ids: Vec<&str> = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "snapshot",
            "oom_rank",
            "kernel_log",
            "worker_logs",
            "cores",
            "stored_crashes",
            "traces"
        ]
    );
    let findings = v["summary"]["findings"].to_string();
    assert!(findings.contains(&format!("pid {victim}")), "{findings}");
    assert!(findings.contains(&signature), "{findings}");
}

const SECRETS: [&str; 6] = [
    "s3cr3tP4ssw0rd",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3b3JrZXIifQ.c2lnbmF0dXJlLXZhbHVl",
    "AKIAIOSFODNN7EXAMPLE",
    "hunter2-db-pass",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "Zm9vOmJhcg==",
];

/// A worker log whose lines triage reports (so they reach the summary, the JSON and the
/// bundle), with a secret of each kind planted in them.
fn planted_log(dir: &Path) -> PathBuf {
    let p = dir.join("worker.log");
    let log = format!(
        "2026-11-21T10:00:00Z worker[42]: level=error code=clw-memory-oom msg=\"db postgres://app:{}@db:5432/app\"\n\
         2026-11-21T10:00:01Z worker[42]: level=error code=clw-upstream-auth msg=\"Authorization: Bearer {}\"\n\
         2026-11-21T10:00:02Z worker[42]: java.lang.OutOfMemoryError: Java heap space AWS_ACCESS_KEY_ID={} DB_PASSWORD={}\n\
         2026-11-21T10:00:03Z worker[42]: level=error code=clw-git-fetch msg=\"GITHUB_TOKEN={} proxy Authorization: Basic {}\"\n",
        SECRETS[0], SECRETS[1], SECRETS[2], SECRETS[3], SECRETS[4], SECRETS[5]
    );
    std::fs::write(&p, log).unwrap();
    p
}

fn untar(path: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mode = e.header().mode().unwrap();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data, mode));
    }
    out
}

#[test]
fn planted_secrets_survive_neither_the_text_nor_the_bundle() {
    let d = tempfile::tempdir().unwrap();
    let log = planted_log(d.path());
    let bundle = d.path().join("incident.tar.gz");
    let o = run(&[
        "report",
        "--logs",
        log.to_str().unwrap(),
        "--since",
        "100000d",
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    // The lines reached the summary, with their secrets replaced.
    assert!(text.contains("clw-memory-oom"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
    for s in SECRETS {
        assert!(!text.contains(s), "{s} in the text:\n{text}");
    }
    let json_out = stdout(&run(&[
        "report",
        "--logs",
        log.to_str().unwrap(),
        "--since",
        "100000d",
        "--json",
    ]));
    assert!(json_out.contains("[REDACTED]"));
    for s in SECRETS {
        assert!(!json_out.contains(s), "{s} in the JSON");
    }
    let mode = std::fs::metadata(&bundle).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "bundle mode {mode:o}");
    let entries = untar(&bundle);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert!(names.iter().any(|n| n.ends_with("report.txt")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("worker.log")), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("environ")), "{names:?}");
    for (name, data, mode) in &entries {
        let t = String::from_utf8_lossy(data);
        for s in SECRETS {
            assert!(!t.contains(s), "{s} in {name}");
        }
        assert_eq!(mode & 0o777, 0o600, "{name} mode {mode:o}");
    }
    // Never overwritten without --force; replaced with it.
    let before = std::fs::read(&bundle).unwrap();
    let o = run(&[
        "report",
        "--logs",
        log.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&bundle).unwrap(), before);
    let o = run(&[
        "report",
        "--logs",
        log.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn bad_input_is_reported_per_section() {
    let d = tempfile::tempdir().unwrap();
    // A corrupted core: an ELF core header and nothing else.
    let cores = d.path().join("cores");
    std::fs::create_dir(&cores).unwrap();
    let mut hdr = vec![0u8; 64];
    hdr[..4].copy_from_slice(b"\x7fELF");
    hdr[4] = 2;
    hdr[5] = 1;
    hdr[16] = 4; // ET_CORE
    std::fs::write(cores.join("core.123"), &hdr).unwrap();
    let missing = d.path().join("no-such-dir");
    let o = run(&[
        "report",
        "--cores",
        cores.to_str().unwrap(),
        "--cores",
        missing.to_str().unwrap(),
        "--logs",
        "/no/such/dir/*.log",
        "--kmsg",
        "/no/such/kmsg",
        "--since",
        "1h",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("core.123: could not be read"), "{text}");
    assert!(text.contains(&missing.display().to_string()), "{text}");
    assert!(text.contains("no files match /no/such/dir/*.log"), "{text}");
    assert!(
        text.contains("== Kernel log") && text.contains("FAILED"),
        "{text}"
    );
    assert!(text.contains("== Host and cgroups"), "{text}");

    // An unreadable log, read as nobody (root reads everything).
    if is_root() && Command::new("setpriv").arg("--version").output().is_ok() {
        let secret = d.path().join("secret.log");
        std::fs::write(&secret, "worker: segfault at 0 ip 0 sp 0 error 4\n").unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin())
            .args(["report", "--logs"])
            .arg(&secret)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(text.contains("secret.log"), "{text}");
        assert!(
            text.to_lowercase().contains("permission denied"),
            "the unreadable log is not explained:\n{text}"
        );
        // The kernel log as nobody: read when dmesg_restrict is 0, else said why not.
        let restricted = std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict")
            .is_ok_and(|v| v.trim() == "1");
        let kernel = text.split("== Kernel log").nth(1).unwrap_or_default();
        let kernel = kernel.split("\n== ").next().unwrap_or_default();
        if restricted {
            assert!(
                kernel.contains("FAILED") && kernel.contains("CAP_SYSLOG"),
                "{kernel}"
            );
        }
    } else {
        skip("(part) not root or no setpriv; unreadable-log case not run");
    }

    // Nothing at all readable: exit 2, the report still written.
    let o = run(&[
        "--proc-root",
        missing.to_str().unwrap(),
        "--cgroup-root",
        missing.to_str().unwrap(),
        "report",
        "--kmsg",
        "/no/such/kmsg",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("== Summary"), "{}", stdout(&o));

    // Sections that run out of time are said to, and the report is still written.
    let o = run(&["report", "--section-timeout", "0.000001", "--since", "1h"]);
    let text = stdout(&o);
    assert!(text.contains("TIMED OUT"), "{text}");
    assert!(text.contains("== Summary"), "{text}");

    // A budget that is no number of seconds: a usage error, not a panic.
    for bad in ["1e30", "0", "nan", "inf"] {
        let o = run(&["report", "--section-timeout", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--section-timeout"), "{}", stderr(&o));
    }

    // No subcommand and no report flag: the help, exit 2.
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
}

/// Progress goes to stderr only on a terminal: none when redirected, a line per section under
/// a pseudo-terminal (`script`).
#[test]
fn progress_only_on_a_terminal() {
    let o = run(&["report", "--since", "1m"]);
    assert!(!stderr(&o).contains("report: "), "{}", stderr(&o));
    let Some(tty) = on_pty(&format!("{} report --since 1m", bin())) else {
        return;
    };
    assert!(
        tty.contains("clw-diag: report: Host and cgroups"),
        "no progress on a terminal:\n{tty}"
    );
}

/// The report's advice on a trace is `recommend --policy clw`'s, number for number: on a trace
/// recorded by `record --memory-limit` whose workload was OOM-killed twice, both say the same
/// request and limit, and the limit is above the one it was killed at (the report once made
/// its own, simpler history and advised a limit below it).
#[test]
fn report_and_recommend_agree_on_a_trace_that_ends_in_oom_kills() {
    let python = Command::new("python3").arg("--version").output();
    if !is_root() || !python.is_ok_and(|o| o.status.success()) {
        skip("needs root (a memory cgroup for record --memory-limit) and python3");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let trace = d.path().join("oom.json");
    let grow = "import time\nkeep = []\nwhile True:\n    keep.append(bytearray(2 << 20))\n    time.sleep(0.1)\n";
    let script = format!("for i in 1 2; do python3 -c '{grow}'; done");
    let o = cmd()
        .args([
            "-q",
            "record",
            "--children",
            "--memory-limit",
            "64Mi",
            "-i",
            "100ms",
            "-o",
        ])
        .arg(&trace)
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&trace).unwrap_or_else(|e| {
        panic!("no trace ({e}): {}", stderr(&o));
    });
    let kills: u64 = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "oom_kill")
        .map(|v| v["count"].as_u64().unwrap_or(1))
        .sum();
    assert!(
        kills >= 2,
        "two real OOM kills are recorded ({kills}):\n{text}"
    );

    let rec = json(&run(&[
        "recommend",
        trace.to_str().unwrap(),
        "--policy",
        "clw",
        "--json",
    ]));
    let r = &rec["targets"][0]["recommendations"][0];
    assert_eq!(r["status"], "ok", "{rec:#}");
    let o = run(&[
        "report",
        "--trace",
        trace.to_str().unwrap(),
        "--since",
        "1m",
        "--json",
    ]);
    let rep = json(&o);
    let traces = rep["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "traces")
        .unwrap();
    let q = &traces["data"][0]["recommendation"];
    assert_eq!(
        (&q["request_bytes"], &q["limit_bytes"]),
        (&r["request_bytes"], &r["limit_bytes"]),
        "report: {q:#}\nrecommend: {r:#}"
    );
    let limit = r["limit_bytes"].as_u64().unwrap();
    assert!(
        limit > 64 << 20,
        "after OOM kills at 64 MiB the limit is above it: {limit}"
    );
    // The text says the same limit.
    let o = run(&[
        "report",
        "--trace",
        trace.to_str().unwrap(),
        "--since",
        "1m",
    ]);
    let mib_up = |b: u64| format!("{} MiB", b.div_ceil(1 << 20));
    assert!(
        stdout(&o).contains(&format!("limit {}", mib_up(limit))),
        "{}",
        stdout(&o)
    );
}
