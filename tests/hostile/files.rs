//! See `main.rs` for what this module covers: D2 (outputs that are not ours), D11 (inputs that
//! lead out of their directory), D13 (record killed), D12 (no fake zeros), D10 (report's size).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Every entry of a `.tar.gz`: (name, contents).
fn untar(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

/// An empty file to stand for the kernel log, so the report does not read the real one.
fn empty_kmsg(dir: &Path) -> PathBuf {
    let p = dir.join("kmsg");
    std::fs::write(&p, "").unwrap();
    p
}

/// D2: `--bundle` (with `--force`), `record -o` and `analyze --plot` onto a character device
/// (1,3, made with mknod on a tmpfs in a private mount namespace, never the real /dev/null), a
/// FIFO, a symlink to a file, a symlink to the device (as /dev/stdout is one) and a directory
/// are refused with one line naming what is there, exit 2, and leave them as they were; no
/// temporary file is left behind; a regular file is still replaced with --force.
#[test]
fn d2_outputs_onto_device_fifo_symlink_directory_are_refused_even_with_force() {
    if !is_root() {
        return skip("mknod and a private mount namespace need root");
    }
    if !have("unshare") {
        return skip("util-linux unshare is not installed");
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("mnt");
    std::fs::create_dir(&d).unwrap();
    let kmsg = empty_kmsg(tmp.path());
    let trace = tmp.path().join("t.json");
    let o = cmd()
        .args(["record", "--pid", "self", "-d", "300ms", "-i", "50ms", "-o"])
        .arg(&trace)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let script = r#"
set -u
B=$1; D=$2; K=$3; T=$4
mount -t tmpfs -o size=16m,mode=0755 clw-hostile "$D" || { echo "MOUNT FAILED"; exit 0; }
mknod -m 666 "$D/null" c 1 3
mknod -m 666 "$D/null.svg" c 1 3
mkfifo "$D/fifo"
echo victim > "$D/file"
ln -s "$D/file" "$D/link-file"
ln -s "$D/null" "$D/link-dev"
mkdir "$D/dir"
for t in null fifo link-file link-dev dir; do
  timeout 60 "$B" report --kmsg "$K" --section-timeout 5s --bundle "$D/$t" --force >/dev/null 2>"$D/.err"
  echo "bundle $t $? $(tr '\n' '|' < "$D/.err")"
  timeout 60 "$B" record --pid $$ -d 100ms -i 50ms -o "$D/$t" >/dev/null 2>"$D/.err"
  echo "record $t $? $(tr '\n' '|' < "$D/.err")"
done
timeout 60 "$B" analyze memory-trace "$T" --plot "$D/null.svg" >/dev/null 2>"$D/.err"
echo "plot null.svg $? $(tr '\n' '|' < "$D/.err")"
rm -f "$D/.err"
for f in null null.svg fifo link-file link-dev dir file; do
  echo "after $f $(stat -c '%F %t,%T' "$D/$f") $(readlink "$D/$f")"
done
echo "file-content $(cat "$D/file")"
echo "entries $(ls -A "$D" | tr '\n' ' ')"
echo victim2 > "$D/plain"
timeout 60 "$B" report --kmsg "$K" --section-timeout 5s --bundle "$D/plain" --force >/dev/null 2>"$D/.err"
echo "plain $? $(head -c 2 "$D/plain" | od -An -tx1 | tr -d ' ')"
umount "$D"
"#;
    let o = Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            bin(),
        ])
        .arg(&d)
        .arg(&kmsg)
        .arg(&trace)
        .output()
        .unwrap();
    let out = stdout(&o);
    if out.contains("MOUNT FAILED") || !o.status.success() {
        return skip(&format!(
            "no private mount namespace with a tmpfs here: {}",
            stderr(&o)
        ));
    }
    let line = |prefix: &str| -> String {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {out}"))
            .to_string()
    };
    for (t, what) in [
        ("null", "is a character device"),
        ("fifo", "is a pipe or FIFO"),
        ("link-file", "is a symbolic link to "),
        ("link-dev", "is a symbolic link to "),
        ("dir", "is a directory"),
    ] {
        for cmd in ["bundle", "record"] {
            let l = line(&format!("{cmd} {t} "));
            let rest = l.split_once(&format!("{cmd} {t} ")).unwrap().1;
            let (code, err) = rest.split_once(' ').unwrap();
            assert_eq!(code, "2", "{l}");
            assert!(
                err.contains(what) && err.contains("even with --force"),
                "{l}"
            );
            // One line (the message) and nothing else on stderr.
            assert_eq!(err.trim_end_matches('|').matches('|').count(), 0, "{l}");
        }
    }
    let l = line("plot null.svg ");
    assert!(
        l.starts_with("plot null.svg 2 ") && l.contains("is a character device"),
        "{l}"
    );
    for (f, kind) in [
        ("null", "character special file 1,3"),
        ("null.svg", "character special file 1,3"),
        ("fifo", "fifo"),
        ("link-file", "symbolic link"),
        ("link-dev", "symbolic link"),
        ("dir", "directory"),
        ("file", "regular file"),
    ] {
        assert!(line(&format!("after {f} ")).contains(kind), "{f}: {out}");
    }
    assert_eq!(line("file-content "), "file-content victim");
    let entries = line("entries ");
    assert!(
        !entries.contains(".tmp."),
        "a temporary file is left: {entries}"
    );
    // A regular file is still ours to replace with --force: now a gzip stream (1f 8b).
    assert_eq!(line("plain "), "plain 0 1f8b");
}

/// D11: a log glob's match that is a symlink to a file outside the glob's directory (standing
/// for /etc/shadow) is not read, not bundled and is named in the section's notes; a FIFO in the
/// directory is skipped with a note instead of hanging; a symlink inside the directory and
/// kubelet's /var/log/containers -> /var/log/pods layout still work.
#[test]
fn d11_log_glob_symlink_to_shadow_not_bundled() {
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("var/log/clw");
    std::fs::create_dir_all(&logs).unwrap();
    let shadow = tmp.path().join("etc-shadow");
    std::fs::write(&shadow, "root:PLANTEDshadowHash0123:20228:0:99999:7:::\n").unwrap();
    std::fs::write(
        logs.join("app.log"),
        "2026-12-02T01:00:00Z host app[1]: started ordinary-app-line\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(&shadow, logs.join("shadow.log")).unwrap();
    std::os::unix::fs::symlink(logs.join("app.log"), logs.join("alias.log")).unwrap();
    let fifo = std::ffi::CString::new(logs.join("fifo.log").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // kubelet: /var/log/containers/*.log are symlinks into /var/log/pods.
    let containers = tmp.path().join("var/log/containers");
    let pod = tmp.path().join("var/log/pods/shop_cart-7d9_0c1e/cart");
    std::fs::create_dir_all(&containers).unwrap();
    std::fs::create_dir_all(&pod).unwrap();
    std::fs::write(
        pod.join("0.log"),
        "2026-12-02T01:00:00.000000000Z stdout F kubelet-layout-line\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(
        pod.join("0.log"),
        containers.join("cart-7d9_shop_cart-abc.log"),
    )
    .unwrap();

    let kmsg = empty_kmsg(tmp.path());
    let bundle = tmp.path().join("b.tar.gz");
    let t0 = Instant::now();
    let o = cmd()
        .arg("report")
        .arg("--kmsg")
        .arg(&kmsg)
        .args(["--since", "3650d", "--section-timeout", "20s", "--json"])
        .arg("--logs")
        .arg(format!("{}/*.log", logs.display()))
        .arg("--logs")
        .arg(format!("{}/*.log", containers.display()))
        .arg("--bundle")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(60), "the FIFO hung it");
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&o);
    let section = j["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "worker_logs")
        .unwrap_or_else(|| panic!("no worker_logs section: {j}"));
    let notes: Vec<String> = section["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let real = |p: &Path| std::fs::canonicalize(p).unwrap();
    let expected = format!(
        "skipped {}: a symlink to {}, outside {}",
        logs.join("shadow.log").display(),
        real(&shadow).display(),
        logs.display()
    );
    assert!(notes.contains(&expected), "{expected:?} not in {notes:?}");
    assert!(
        notes.iter().any(|n| n.starts_with(&format!(
            "skipped {}: a pipe or FIFO, not a regular file",
            logs.join("fifo.log").display()
        ))),
        "{notes:?}"
    );
    assert_eq!(notes.len(), 2, "{notes:?}");
    // Not in the output, not in the bundle, under any name.
    assert!(!stdout(&o).contains("PLANTEDshadowHash"));
    let entries = untar(&bundle);
    let mut tails = Vec::new();
    for (name, data) in &entries {
        assert!(
            !String::from_utf8_lossy(data).contains("PLANTEDshadowHash"),
            "{name} holds the planted shadow line"
        );
        if name.ends_with(".tail") {
            tails.push((name.clone(), String::from_utf8_lossy(data).into_owned()));
        }
    }
    // app.log (once, though its alias inside the directory matches too) and the kubelet
    // container log are read.
    assert_eq!(
        tails
            .iter()
            .filter(|(_, t)| t.contains("ordinary-app-line"))
            .count(),
        1,
        "{tails:?}"
    );
    assert!(
        tails
            .iter()
            .any(|(n, t)| n.contains("pods_shop_cart-7d9_0c1e_cart_0.log")
                && t.contains("kubelet-layout-line")),
        "{tails:?}"
    );
}

/// D11 for `--cores DIR`: a symlink out of the directory is skipped and named in the notes,
/// never read as a core.
#[test]
fn d11_cores_dir_symlink_out_is_skipped_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let cores = tmp.path().join("cores");
    std::fs::create_dir(&cores).unwrap();
    let outside = tmp.path().join("elsewhere-core");
    std::fs::write(&outside, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x04\0").unwrap();
    std::os::unix::fs::symlink(&outside, cores.join("core.123")).unwrap();
    let kmsg = empty_kmsg(tmp.path());
    let o = cmd()
        .arg("report")
        .arg("--kmsg")
        .arg(&kmsg)
        .args(["--section-timeout", "20s", "--json", "--cores"])
        .arg(&cores)
        .output()
        .unwrap();
    let j = json(&o);
    let s = j["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "cores")
        .unwrap()
        .clone();
    let notes = s["notes"].to_string();
    let want = format!(
        "skipped {}: a symlink to {}, outside {}",
        cores.join("core.123").display(),
        std::fs::canonicalize(&outside).unwrap().display(),
        cores.display()
    );
    assert!(notes.contains(&want), "{want} not in {notes}");
    assert!(!notes.contains("could not be read"), "{notes}");
}

/// The pid's start time (stat field 22), to tell a process from a later one with its pid.
fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` still runs (a zombie does not).
fn running(pid: i32, start: u64) -> bool {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = s
        .rfind(')')
        .and_then(|i| s[i + 2..].chars().next())
        .unwrap_or('?');
    state != 'Z' && start_time(pid) == Some(start)
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// D13: `record -i 10ms --memory-limit 128Mi -- sh -c 'sleep 30'` SIGKILLed three times: each
/// time its direct child (`sh`) dies with it (PR_SET_PDEATHSIG); the `sleep`s and the
/// `clw-record-*` cgroups stay until the next `record` start, which kills those `sleep`s (checked
/// by pid and start time), removes the cgroups and says so, one note each.
#[test]
fn d13_record_sigkilled_leaves_no_orphan_or_cgroup() {
    let memory = Path::new("/sys/fs/cgroup/memory");
    if !is_root() || !memory.join("memory.usage_in_bytes").exists() {
        return skip("needs root and the v1 memory controller at /sys/fs/cgroup/memory");
    }
    let tmp = tempfile::tempdir().unwrap();
    // (cgroup dir, sleep pid and start) of each killed recording; killed and removed at the end
    // whatever happens.
    struct Leftovers(Vec<(PathBuf, Vec<(i32, u64)>)>);
    impl Drop for Leftovers {
        fn drop(&mut self) {
            for (dir, pids) in &self.0 {
                for &(p, start) in pids {
                    if running(p, start) {
                        // SAFETY: kill of a pid this test saw start, checked by start time.
                        unsafe { libc::kill(p, libc::SIGKILL) };
                    }
                }
                for _ in 0..50 {
                    if !dir.exists() || std::fs::remove_dir(dir).is_ok() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    let mut left = Leftovers(Vec::new());
    for i in 0..3 {
        let mut rec = cmd()
            .args(["record", "-i", "10ms", "--memory-limit", "128Mi", "-o"])
            .arg(tmp.path().join(format!("t{i}.json")))
            .args(["--", "sh", "-c", "sleep 30"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let r = rec.id() as i32;
        let rstart = start_time(r).unwrap();
        let dir = memory.join(format!("clw-record-{r}-{rstart}"));
        let procs = || -> Vec<i32> {
            std::fs::read_to_string(dir.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.parse().ok())
                .collect()
        };
        // sh and, once it forked, sleep.
        let ready = wait_until(Duration::from_secs(10), || {
            procs().iter().any(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c == "sleep\n")
            })
        });
        assert!(ready, "no sleep in {} ({:?})", dir.display(), procs());
        // (pid, start, ppid) of each task: the direct child is the one whose parent is the
        // recorder (sh, unless the shell exec'd sleep itself); the rest are its descendants.
        let tasks: Vec<(i32, u64, i32)> = procs()
            .into_iter()
            .filter_map(|p| {
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
                let ppid = stat[stat.rfind(')')? + 2..]
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()?;
                Some((p, start_time(p)?, ppid))
            })
            .collect();
        let sh = *tasks
            .iter()
            .find(|t| t.2 == r)
            .expect("the recorder's child");
        let sleeps: Vec<(i32, u64)> = tasks
            .iter()
            .filter(|t| t.2 != r)
            .map(|t| (t.0, t.1))
            .collect();
        left.0.push((dir.clone(), sleeps.clone()));
        if sleeps.is_empty() {
            let _ = rec.kill();
            let _ = rec.wait();
            return skip("this sh exec'd sleep itself: no descendant to leave behind");
        }
        rec.kill().unwrap();
        rec.wait().unwrap();
        assert!(
            wait_until(Duration::from_secs(5), || !running(sh.0, sh.1)),
            "the direct child sh (pid {}) outlived the SIGKILLed recorder",
            sh.0
        );
        assert!(
            dir.exists(),
            "the recorder was killed: its cgroup is still there"
        );
        assert!(sleeps.iter().all(|&(p, s)| running(p, s)));
    }
    // The next record start (any target) cleans up.
    let present: Vec<bool> = left.0.iter().map(|(d, _)| d.exists()).collect();
    let o = cmd()
        .args(["record", "--pid", "self", "-d", "100ms", "-o"])
        .arg(tmp.path().join("next.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    for ((dir, sleeps), was_there) in left.0.iter().zip(present) {
        assert!(!dir.exists(), "{} is still there; {err}", dir.display());
        for &(p, s) in sleeps {
            assert!(
                wait_until(Duration::from_secs(5), || !running(p, s)),
                "sleep {p} still runs"
            );
        }
        let name = dir.file_name().unwrap().to_str().unwrap();
        // Another test's record start may have cleaned it up first; then it says nothing here.
        if was_there {
            let note = format!("removed the memory cgroup {name} left by a recorder that was killed, and killed what was still running in it (pid {})", sleeps[0].0);
            assert_eq!(err.matches(&note).count(), 1, "{note:?} not once in {err}");
        }
    }
}

/// The header and samples of a trace file.
fn trace_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn assert_absent_not_zero(trace: &Path, err: &str, pid: i32) {
    let lines = trace_lines(trace);
    let samples: Vec<_> = lines
        .iter()
        .filter(|l| l.get("rss_bytes").is_some())
        .collect();
    assert!(samples.len() >= 2, "{lines:?}");
    for s in samples {
        assert!(s["rss_bytes"].as_u64().unwrap() > 0, "{s}");
        assert!(
            s.get("pss_bytes").is_none() && s.get("uss_bytes").is_none(),
            "{s}"
        );
    }
    let note = format!(
        "PSS and USS are not recorded (absent in the trace, not 0): /proc/{pid}/smaps_rollup: permission denied"
    );
    assert_eq!(err.matches(&note).count(), 1, "{note:?} not once in {err}");
}

/// D12: `record --pid` of a process whose `smaps_rollup` cannot be read (EACCES) writes PSS and
/// USS as absent, not 0, and says why once on stderr:
/// pid 1 as root (denied here), and a root process recorded as nobody (setpriv).
#[test]
fn d12_record_unreadable_smaps_rollup_is_absent_not_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ran = 0;
    let denied = std::fs::read_to_string("/proc/1/smaps_rollup")
        .err()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
    if denied {
        let t = tmp.path().join("pid1.json");
        let o = cmd()
            .args(["record", "--pid", "1", "-d", "400ms", "-i", "100ms", "-o"])
            .arg(&t)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_absent_not_zero(&t, &stderr(&o), 1);
        ran += 1;
    }
    if is_root() && have("setpriv") {
        // A root process; the recorder as nobody in a directory nobody may write.
        let mut target = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = target.id() as i32;
        let dir = tmp.path().join("nobody");
        std::fs::create_dir(&dir).unwrap();
        Command::new("chmod").arg("777").arg(&dir).status().unwrap();
        let _ = Command::new("chmod").arg("o+x").arg(tmp.path()).status();
        let t = dir.join("x.json");
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()])
            .args(["record", "--keep-oom-score", "--pid", &pid.to_string()])
            .args(["-d", "400ms", "-i", "100ms", "-o"])
            .arg(&t)
            .output()
            .unwrap();
        let _ = target.kill();
        let _ = target.wait();
        if o.status.success() {
            assert_absent_not_zero(&t, &stderr(&o), pid);
            ran += 1;
        } else {
            skip(&format!(
                "setpriv as nobody could not run the binary: {}",
                stderr(&o)
            ));
        }
    }
    if ran == 0 {
        skip("smaps_rollup of pid 1 is readable here and setpriv as nobody is not available");
    }
}

/// Restores `vm.max_map_count` on drop.
struct MapCount(Option<String>);
impl Drop for MapCount {
    fn drop(&mut self) {
        if let Some(v) = &self.0 {
            let _ = std::fs::write("/proc/sys/vm/max_map_count", v);
        }
    }
}

/// Run `args` with stdout to a file, and the peak RSS of that process (`ru_maxrss` of wait4 on
/// its pid, KiB -> bytes).
fn peak_rss(args: &[&std::ffi::OsStr], out: &Path) -> (i32, u64) {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let m = wait_measured(&mut child, std::time::Duration::from_secs(300)).expect("report ended");
    (m.status.code().unwrap_or(-1), m.peak_bytes)
}

/// D10: with a process of 200k mappings at the top of the OOM kill order, `report --bundle`
/// stays under 100 MiB of peak RSS (it was 590 MB) and stores its `smaps` cut at 8 MiB with a
/// "[truncated at N bytes of M]" line; `report` without `--bundle` never reads the smaps at all
/// and stays under 64 MiB (it was 158 MB).
#[test]
fn d10_report_with_200k_mappings_stays_bounded() {
    if !is_root() || mapper_bin().is_none() {
        return skip("needs root (vm.max_map_count, a memory cgroup) and gcc for the mapper");
    }
    let Some(cg) = TestCgroup::create("clw-hostile-d10", 1536 << 20) else {
        return;
    };
    let old = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap();
    let _restore = MapCount(Some(old.clone()));
    if old.trim().parse::<u64>().unwrap() < 210_000 {
        std::fs::write("/proc/sys/vm/max_map_count", "210000").unwrap();
    }
    let m = Mapper::start(&["0", "0", "-", "0", "0", "200000"], Some(&cg.procs()));
    std::fs::write(format!("/proc/{}/oom_score_adj", m.pid), "1000").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kmsg = empty_kmsg(tmp.path());
    let bundle = tmp.path().join("b.tar.gz");
    let os = |s: &str| std::ffi::OsString::from(s);
    let args: Vec<std::ffi::OsString> = vec![
        os("report"),
        os("--kmsg"),
        kmsg.clone().into(),
        os("--section-timeout"),
        os("60s"),
        os("--bundle"),
        bundle.clone().into(),
    ];
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (code, with_bundle) = peak_rss(&refs, &tmp.path().join("out.txt"));
    assert_eq!(code, 0);
    let (code, without) = peak_rss(&refs[..5], &tmp.path().join("out2.txt"));
    assert_eq!(code, 0);
    let smaps_bytes = {
        let mut f = std::fs::File::open(format!("/proc/{}/smaps", m.pid)).unwrap();
        std::io::copy(&mut f, &mut std::io::sink()).unwrap()
    };
    m.stop();
    eprintln!(
        "d10: smaps {smaps_bytes} bytes; peak RSS report --bundle {with_bundle}, report {without}"
    );
    assert!(smaps_bytes > 100 << 20, "only {smaps_bytes} bytes of smaps");
    assert!(
        with_bundle < 100 << 20,
        "report --bundle peak RSS {with_bundle}"
    );
    assert!(without < 64 << 20, "report peak RSS {without}");
    let entries = untar(&bundle);
    let (name, smaps) = entries
        .iter()
        .find(|(n, d)| n.ends_with("/smaps") && d.len() > 1 << 20)
        .unwrap_or_else(|| {
            panic!(
                "no large smaps entry: {:?}",
                entries
                    .iter()
                    .map(|e| (&e.0, e.1.len()))
                    .collect::<Vec<_>>()
            )
        });
    assert!(
        smaps.len() <= (8 << 20) + 100,
        "{name}: {} bytes",
        smaps.len()
    );
    let text = String::from_utf8_lossy(smaps);
    let last = text.lines().last().unwrap();
    let (n, m_total) = last
        .strip_prefix("[truncated at ")
        .and_then(|r| r.strip_suffix("]"))
        .and_then(|r| r.split_once(" bytes of "))
        .unwrap_or_else(|| panic!("{name} ends with {last:?}"));
    let (n, m_total): (u64, u64) = (n.parse().unwrap(), m_total.parse().unwrap());
    assert!(n <= 8 << 20 && n > (8 << 20) - 4096, "{last}");
    assert!(m_total > 100 << 20, "{last}");
    let total: usize = entries.iter().map(|e| e.1.len()).sum();
    assert!(total <= (64 << 20) + (1 << 20), "{total} bytes in all");
}
