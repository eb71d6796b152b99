//! `clw-diag coredumps`: the systemd-coredump store, on real cores made here.
//!
//! systemd-coredump itself cannot run on the test machines (PID 1 is not systemd, so nothing
//! starts it from `core_pattern`), so the store is made as it makes it: a C program crashes
//! with `ulimit -c unlimited`, its core is compressed by the `zstd`, `lz4` and `xz` tools (the
//! frame formats of systemd's `compress.c`) and named as `coredump.c`'s `make_filename()`
//! names it, `core.COMM.UID.BOOTID.PID.USEC[.zst|.lz4|.xz]`.
//!
//! The journal: a real journal file, written by systemd's own `systemd-journal-remote` from
//! journal export format, and read back by the real `journalctl -o json`. Its entries carry
//! the fields systemd-coredump sends (`COREDUMP_*`, `MESSAGE_ID=fc2e22bc…`), written by this
//! test, not by systemd-coredump; without `systemd-journal-remote` the journal test skips.

mod common;

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const BOOT: &str = "8f2c3a2d1e0b4c5d9e8f7a6b5c4d3e2f";
const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

fn must(c: &mut Command) {
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        o.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A real core: `tests/helpers/crash/crash.c` built with gcc and crashed with SIGSEGV in a
/// temporary directory (as tests/backtrace.rs makes its cores). `None`, with a SKIP line,
/// when gcc is missing or `core_pattern` pipes cores away.
struct Crash {
    _dir: tempfile::TempDir,
    core: PathBuf,
}

fn crash() -> Option<Crash> {
    if !have("gcc") {
        skip("gcc is not installed");
        return None;
    }
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.starts_with('|') {
        skip(&format!(
            "core_pattern pipes cores away ({})",
            pattern.trim()
        ));
        return None;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = d.path().join("crash");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/crash/crash.c");
    must(
        Command::new("gcc")
            .args(["-g", "-O0", "-pthread", "-o"])
            .arg(&exe)
            .arg(src),
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -c unlimited; exec \"$0\" segv")
        .arg(&exe)
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.signal(), Some(11), "{:?}", o.status);
    let core = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("core"))
        .expect("no core written");
    Some(Crash { _dir: d, core })
}

fn compress(tool: &str, from: &Path, to: &Path) {
    let out = std::fs::File::create(to).unwrap();
    must(Command::new(tool).args(["-q", "-c"]).arg(from).stdout(out));
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// systemd-coredump's name of a core.
fn store_name(comm: &str, uid: u32, pid: i64, usec: i64, ext: &str) -> String {
    let mut n = format!("core.{comm}.{uid}.{BOOT}.{pid}.{usec}");
    if !ext.is_empty() {
        n.push('.');
        n.push_str(ext);
    }
    n
}

/// One stored core as the test made it.
struct Made {
    name: String,
    pid: i64,
    usec: i64,
    comm: &'static str,
    compression: &'static str,
}

/// A store holding the real core four ways (zst, lz4, xz, plain; the plain one 2 days old),
/// each under its own pid, plus a file that is not named as a core and one whose name is not
/// UTF-8.
fn store(c: &Crash) -> (tempfile::TempDir, PathBuf, Vec<Made>) {
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let dir = t.path().join("coredump");
    std::fs::create_dir(&dir).unwrap();
    let now = now_us();
    let made = vec![
        Made {
            name: store_name("crash", 0, 4101, now - 1_000_000, "zst"),
            pid: 4101,
            usec: now - 1_000_000,
            comm: "crash",
            compression: "zst",
        },
        Made {
            name: store_name("crash", 1000, 4102, now - 2_000_000, "lz4"),
            pid: 4102,
            usec: now - 2_000_000,
            comm: "crash",
            compression: "lz4",
        },
        // COMM escaped as systemd escapes it: "cr.sh w" is cr\x2esh\x20w.
        Made {
            name: store_name("cr\\x2esh\\x20w", 0, 4103, now - 3_000_000, "xz"),
            pid: 4103,
            usec: now - 3_000_000,
            comm: "cr.sh w",
            compression: "xz",
        },
        Made {
            name: store_name("crash", 0, 4104, now - 2 * 86_400_000_000, ""),
            pid: 4104,
            usec: now - 2 * 86_400_000_000,
            comm: "crash",
            compression: "none",
        },
    ];
    for m in &made {
        let to = dir.join(&m.name);
        match m.compression {
            "zst" => compress("zstd", &c.core, &to),
            "lz4" => compress("lz4", &c.core, &to),
            "xz" => compress("xz", &c.core, &to),
            _ => {
                std::fs::copy(&c.core, &to).unwrap();
            }
        }
    }
    std::fs::write(dir.join("core.garbage"), b"not a core").unwrap();
    let raw = [b"core.\xff\xfe.0.".as_slice(), BOOT.as_bytes(), b".7.1.zst"].concat();
    std::fs::write(dir.join(std::ffi::OsStr::from_bytes(&raw)), b"x").unwrap();
    (t, dir, made)
}

fn coredumps(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut c = cmd();
    c.arg("coredumps")
        .arg("--dir")
        .arg(dir)
        .args(["--json", "--no-journal"]);
    c.args(extra).output().unwrap()
}

fn pids(v: &Value) -> Vec<i64> {
    v["crashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].as_i64().unwrap())
        .collect()
}

#[test]
fn the_store_is_listed_from_its_file_names() {
    if !have("zstd") || !have("lz4") || !have("xz") {
        skip("zstd, lz4 and xz are needed to store cores as systemd-coredump does");
        return;
    }
    let Some(c) = crash() else { return };
    let (_t, dir, made) = store(&c);
    let o = coredumps(&dir, &[]);
    let v = json(&o);
    // Newest first: exactly the four cores, not the two other files.
    assert_eq!(pids(&v), [4101, 4102, 4103, 4104], "{v}");
    assert_eq!(v["skipped_files"], 2, "{v}");
    let notes = v["notes"].to_string();
    assert!(
        notes.contains("2 file(s)") && notes.contains("core.garbage"),
        "{notes}"
    );
    for (m, c) in made.iter().zip(v["crashes"].as_array().unwrap()) {
        let path = dir.join(&m.name);
        assert_eq!(c["pid"], m.pid, "{c}");
        assert_eq!(c["command"], m.comm, "{c}");
        assert_eq!(c["timestamp_us"], m.usec, "{c}");
        assert_eq!(c["boot_id"], BOOT);
        assert_eq!(c["file"]["path"], path.to_str().unwrap());
        assert_eq!(c["file"]["compression"], m.compression, "{c}");
        assert_eq!(c["file"]["compression_magic"], m.compression, "{c}");
        let len = std::fs::metadata(&path).unwrap().len();
        assert_eq!(c["file"]["stored_bytes"], len, "{c}");
        assert!(c["journal"].is_null());
        let t = c["timestamp"].as_str().unwrap();
        assert!(t.ends_with('Z') && t.starts_with("20"), "{t}");
    }
    assert_eq!(v["crashes"][1]["uid"], 1000);

    // MATCH: a pid, a command substring (the unescaped name).
    assert_eq!(pids(&json(&coredumps(&dir, &["4102"]))), [4102]);
    assert_eq!(pids(&json(&coredumps(&dir, &["sh w"]))), [4103]);
    assert_eq!(
        pids(&json(&coredumps(&dir, &["crash"]))),
        [4101, 4102, 4104]
    );
    // --since: by the time in the name, not the file's mtime (all were written just now).
    assert_eq!(
        pids(&json(&coredumps(&dir, &["--since", "1h"]))),
        [4101, 4102, 4103]
    );
    assert_eq!(pids(&json(&coredumps(&dir, &["--since", "3d"]))).len(), 4);
    // Nothing matches: an empty listing, said on stderr, exit 0.
    let o = coredumps(&dir, &["99999"]);
    let v = json(&o);
    assert_eq!(pids(&v), Vec::<i64>::new());
    assert!(
        stderr(&o).contains("no stored crashes matching \"99999\""),
        "{}",
        stderr(&o)
    );

    // The table at 80 columns: one line per crash, cells elided, never wrapped.
    let o = cmd()
        .args(["coredumps", "--no-journal", "--dir"])
        .arg(&dir)
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("(not shown"))
        .collect();
    assert_eq!(rows.len(), 5, "{out}");
    assert!(
        rows[1].contains("4101") && rows[1].contains(&made[0].comm[..5]),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");

    // The listed file is what backtrace reads: the same crash as the plain core.
    let sig = |p: &Path| {
        let o = run(&["backtrace", p.to_str().unwrap(), "--json"]);
        json(&o)["crash_signature"].as_str().unwrap().to_string()
    };
    assert_eq!(sig(&dir.join(&made[0].name)), sig(&c.core));

    // backtrace --coredump MATCH: the newest match, read straight from the store, named.
    let stored = |m: &str| {
        run(&[
            "backtrace",
            "--coredump",
            m,
            "--coredump-dir",
            dir.to_str().unwrap(),
            "--json",
        ])
    };
    let v = json(&stored("crash"));
    assert_eq!(
        v["core"],
        dir.join(&made[0].name).to_str().unwrap(),
        "{}",
        v["core"]
    );
    assert_eq!(v["crash_signature"].as_str().unwrap(), sig(&c.core));
    assert!(
        v["warnings"][0].as_str().unwrap().contains("newest of 3"),
        "{}",
        v["warnings"]
    );
    let v = json(&stored("4104"));
    assert_eq!(v["core"], dir.join(&made[3].name).to_str().unwrap());
    assert_error(&stored("99999"), &["no stored crash", "matches"]);
}

/// Append one entry in journal export format (`systemd/docs/JOURNAL_EXPORT_FORMATS.md`):
/// text fields as `NAME=value`, a binary field as its name, a 64-bit little-endian length and
/// the bytes.
fn export_entry(out: &mut Vec<u8>, realtime_us: i64, fields: &[(&str, &[u8])]) {
    writeln!(out, "__REALTIME_TIMESTAMP={realtime_us}").unwrap();
    writeln!(out, "__MONOTONIC_TIMESTAMP={}", realtime_us % 1_000_000_000).unwrap();
    writeln!(out, "_BOOT_ID={BOOT}").unwrap();
    writeln!(out, "MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1").unwrap();
    writeln!(out, "PRIORITY=2").unwrap();
    for (k, v) in fields {
        if v.iter().any(|b| *b == b'\n' || *b >= 0x80) {
            out.extend_from_slice(k.as_bytes());
            out.push(b'\n');
            out.extend_from_slice(&(v.len() as u64).to_le_bytes());
            out.extend_from_slice(v);
            out.push(b'\n');
        } else {
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v);
            out.push(b'\n');
        }
    }
    out.push(b'\n');
}

/// A real journal file written by systemd-journal-remote from `export`.
fn journal_file(dir: &Path, export: &[u8]) -> Option<PathBuf> {
    if !Path::new(JOURNAL_REMOTE).exists() || !have("journalctl") {
        skip("systemd-journal-remote (Debian package systemd-journal-remote) and journalctl are needed to write and read a real journal file");
        return None;
    }
    let file = dir.join("coredump.journal");
    let mut ch = Command::new(JOURNAL_REMOTE)
        .arg(format!("--output={}", file.display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ch.stdin.take().unwrap().write_all(export).unwrap();
    let o = ch.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(file)
}

#[test]
fn the_journal_is_joined_to_the_files() {
    if !have("zstd") || !have("lz4") || !have("xz") {
        skip("zstd, lz4 and xz are needed to store cores as systemd-coredump does");
        return;
    }
    let Some(c) = crash() else { return };
    let (t, dir, made) = store(&c);
    let now = now_us();
    let mut ex = Vec::new();
    let s = |x: &str| x.as_bytes().to_vec();
    let zst = &made[0];
    // The zst core, joined by COREDUMP_FILENAME (systemd's path, not this copy's); a field
    // that is not UTF-8 and a repeated one.
    let fname = format!("/var/lib/systemd/coredump/{}", zst.name);
    let f1: Vec<(&str, Vec<u8>)> = vec![
        ("COREDUMP_PID", s("4101")),
        ("COREDUMP_UID", s("0")),
        ("COREDUMP_SIGNAL", s("11")),
        ("COREDUMP_SIGNAL_NAME", s("SIGSEGV")),
        ("COREDUMP_TIMESTAMP", s(&zst.usec.to_string())),
        ("COREDUMP_COMM", s("crash")),
        ("COREDUMP_EXE", s("/opt/worker/bin/crash")),
        ("COREDUMP_CMDLINE", s("/opt/worker/bin/crash segv")),
        ("COREDUMP_CGROUP", s("/system.slice/worker.service")),
        ("COREDUMP_UNIT", s("worker.service")),
        ("COREDUMP_FILENAME", s(&fname)),
        ("COREDUMP_TRUNCATED", s("1")),
        ("COREDUMP_CONTAINER_CMDLINE", b"runc init \xff".to_vec()),
        ("COREDUMP_USER_UNIT", s("first.service")),
        ("COREDUMP_USER_UNIT", s("second.service")),
    ];
    // The lz4 core: no COREDUMP_FILENAME, joined by pid and time.
    let lz4 = &made[1];
    let f2: Vec<(&str, Vec<u8>)> = vec![
        ("COREDUMP_PID", s("4102")),
        ("COREDUMP_TIMESTAMP", s(&lz4.usec.to_string())),
        ("COREDUMP_COMM", s("crash")),
        ("COREDUMP_SIGNAL_NAME", s("SIGABRT")),
    ];
    // A core the store no longer has (vacuumed).
    let gone = store_name("gone", 0, 4200, now - 5_000_000, "zst");
    let f3: Vec<(&str, Vec<u8>)> = vec![
        ("COREDUMP_PID", s("4200")),
        ("COREDUMP_TIMESTAMP", s(&(now - 5_000_000).to_string())),
        ("COREDUMP_COMM", s("gone")),
        ("COREDUMP_EXE", s("/usr/bin/gone")),
        (
            "COREDUMP_FILENAME",
            s(&format!("/var/lib/systemd/coredump/{gone}")),
        ),
    ];
    // A crash that was never stored (Storage=none).
    let f4: Vec<(&str, Vec<u8>)> = vec![
        ("COREDUMP_PID", s("4300")),
        ("COREDUMP_TIMESTAMP", s(&(now - 6_000_000).to_string())),
        ("COREDUMP_COMM", s("unstored")),
    ];
    for (i, f) in [f1, f2, f3, f4].iter().enumerate() {
        let fields: Vec<(&str, &[u8])> = f.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        export_entry(&mut ex, now - 10_000_000 + i as i64 * 1000, &fields);
    }
    let Some(file) = journal_file(t.path(), &ex) else {
        return;
    };
    let o = cmd()
        .args(["coredumps", "--json", "--dir"])
        .arg(&dir)
        .arg("--journal-file")
        .arg(&file)
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(v["journal_available"], true, "{v}");
    assert_eq!(v["journal_entries"], 4, "{v}");
    assert_eq!(pids(&v), [4101, 4102, 4103, 4200, 4300, 4104], "{v}");
    let by = |pid: i64| {
        v["crashes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["pid"] == pid)
            .unwrap()
            .clone()
    };
    let a = by(4101);
    assert_eq!(a["exe"], "/opt/worker/bin/crash", "{a}");
    assert_eq!(a["signal_name"], "SIGSEGV");
    let j = &a["journal"];
    assert_eq!(j["unit"], "worker.service");
    assert_eq!(j["cgroup"], "/system.slice/worker.service");
    assert_eq!(j["cmdline"], "/opt/worker/bin/crash segv");
    assert_eq!(j["signal"], 11);
    assert_eq!(j["truncated"], true);
    assert_eq!(j["filename"], fname.as_str());
    assert_eq!(j["container_cmdline"], "runc init \u{fffd}", "{j}");
    assert_eq!(j["user_unit"], "first.service", "{j}");
    assert_eq!(a["file"]["compression"], "zst");
    let b = by(4102);
    assert_eq!(b["signal_name"], "SIGABRT", "{b}");
    assert!(b["file"].is_object());
    assert!(by(4103)["journal"].is_null());
    let g = by(4200);
    assert!(g["file"].is_null(), "{g}");
    assert_eq!(g["command"], "gone");
    let why = g["file_missing"].as_str().unwrap();
    assert!(why.contains(&gone) && why.contains("removed"), "{why}");
    let u = by(4300);
    assert!(u["file"].is_null());
    assert!(
        u["file_missing"].as_str().unwrap().contains("Storage=none"),
        "{u}"
    );

    // MATCH on the journal's executable path; --since passed to journalctl as well.
    let o = cmd()
        .args([
            "coredumps",
            "--json",
            "worker/bin",
            "--since",
            "1h",
            "--dir",
        ])
        .arg(&dir)
        .arg("--journal-file")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(pids(&json(&o)), [4101]);
}

#[test]
fn without_a_journal_the_file_names_are_enough() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("journal");
    std::fs::create_dir(&empty).unwrap();
    let dir = t.path().join("coredump");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(store_name("x", 0, 77, now_us(), "")), b"\x7fELF").unwrap();
    let o = cmd()
        .args(["coredumps", "--json", "--dir"])
        .arg(&dir)
        .arg("--journal-dir")
        .arg(&empty)
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(pids(&v), [77]);
    assert_eq!(v["journal_available"], false);
    let notes = v["notes"].to_string();
    if have("journalctl") {
        assert!(
            notes.contains("journal not available")
                && notes.contains("No journal files were found"),
            "{notes}"
        );
    } else {
        assert!(notes.contains("journalctl is not installed"), "{notes}");
    }
}

#[test]
fn bad_store_directories() {
    // A --dir that does not exist: one line, exit 2, naming it.
    let o = run(&["coredumps", "--dir", "/nonexistent/coredump"]);
    assert_error(&o, &["/nonexistent/coredump", "no such directory"]);
    // Only garbage in it: an empty listing that says so, exit 0.
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), PermissionsExt::from_mode(0o755)).unwrap();
    let dir = t.path().join("coredump");
    std::fs::create_dir(&dir).unwrap();
    for n in [
        "core",
        "core.a.b.c.d.e",
        "core.x.0.nothex.1.2.zst",
        ".#core.tmp",
    ] {
        std::fs::write(dir.join(n), b"junk").unwrap();
    }
    std::fs::create_dir(dir.join(store_name("adir", 0, 5, 1, ""))).unwrap();
    let o = coredumps(&dir, &[]);
    let v = json(&o);
    assert_eq!(v["crashes"].as_array().unwrap().len(), 0);
    assert_eq!(v["skipped_files"], 5);
    assert!(stderr(&o).contains("no stored crashes"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    // Unreadable as nobody (mode 0700 root, as systemd-coredump's store without ACLs).
    if !is_root() || !have("setpriv") {
        skip("needs root and setpriv to read the store as nobody");
        return;
    }
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o700)).unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()])
        .args(["coredumps", "--no-journal", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_error(
        &o,
        &[
            dir.to_str().unwrap(),
            "permission denied",
            "systemd-journal",
        ],
    );
}

#[test]
fn the_report_lists_the_store_and_backtraces_it() {
    if !have("zstd") || !have("lz4") || !have("xz") {
        skip("zstd, lz4 and xz are needed to store cores as systemd-coredump does");
        return;
    }
    let Some(c) = crash() else { return };
    let (t, dir, _made) = store(&c);
    let empty = t.path().join("journal");
    std::fs::create_dir(&empty).unwrap();
    let o = cmd()
        .args([
            "report",
            "--since",
            "1h",
            "--kmsg",
            "/nonexistent/kmsg",
            "--json",
        ])
        .arg("--coredump-dir")
        .arg(&dir)
        .arg("--coredump-journal-dir")
        .arg(&empty)
        .output()
        .unwrap();
    let v = json(&o);
    let s = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "stored_crashes")
        .unwrap()
        .clone();
    assert_eq!(s["status"], "ok", "{s}");
    let listed: Vec<i64> = s["data"]["listing"]["crashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].as_i64().unwrap())
        .collect();
    assert_eq!(
        listed,
        [4101, 4102, 4103],
        "the 2-day-old core is outside --since"
    );
    let plain = json(&run(&["backtrace", c.core.to_str().unwrap(), "--json"]));
    let sig = plain["crash_signature"].as_str().unwrap();
    let bts = s["data"]["backtraces"].as_array().unwrap();
    assert_eq!(bts.len(), 3);
    for bt in bts {
        assert_eq!(bt["crash_signature"], sig, "{bt}");
    }
    let findings = v["summary"]["findings"].to_string();
    assert!(findings.contains(sig), "{findings}");

    // The text report shows the table and the signature.
    let o = cmd()
        .args(["report", "--since", "1h", "--kmsg", "/nonexistent/kmsg"])
        .arg("--coredump-dir")
        .arg(&dir)
        .arg("--coredump-journal-dir")
        .arg(&empty)
        .output()
        .unwrap();
    let text = stdout(&o);
    assert!(
        text.contains("== Stored crashes (systemd-coredump)"),
        "{text}"
    );
    assert!(text.contains(sig), "{text}");

    // No store: one line, not a failure.
    let o = cmd()
        .args([
            "report",
            "--since",
            "1h",
            "--kmsg",
            "/nonexistent/kmsg",
            "--json",
        ])
        .args(["--coredump-dir", "/nonexistent/coredump"])
        .arg("--coredump-journal-dir")
        .arg(&empty)
        .output()
        .unwrap();
    let v = json(&o);
    let s = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "stored_crashes")
        .unwrap()
        .clone();
    assert_eq!(s["status"], "empty", "{s}");
    assert_eq!(
        s["notes"],
        serde_json::json!([
            "/nonexistent/coredump does not exist: systemd-coredump is not in use here"
        ])
    );
}
