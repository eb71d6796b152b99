//! Shared helpers of the integration tests: run the real binary, build the mapper helper, and
//! create memory cgroups.
#![allow(dead_code)]

pub mod runtimes;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;

/// Say that the running test skips its check, where people see it: libtest captures only
/// `print!`/`eprint!` of a passing test, so the line goes straight to the stderr file
/// descriptor (`io::stderr().write_all`, which the capture does not see) and shows in plain
/// `cargo test`; and it is recorded as `target/skips/<test>.txt`, which `.ci/run` counts
/// after the run.
pub fn skip(reason: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unknown-test");
    let line = format!("SKIP: {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|t| t.join("skips"))
        .unwrap_or_else(|| PathBuf::from("target/skips"));
    if std::fs::create_dir_all(&dir).is_ok() {
        let file = format!(
            "{}-{}.txt",
            env!("CARGO_CRATE_NAME"),
            test.replace("::", "-")
        );
        let _ = std::fs::write(dir.join(file), &line);
    }
}

/// Whether `cmd --version` runs (a tool a test needs is installed).
pub fn have(cmd: &str) -> bool {
    std::process::Command::new(cmd)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}

/// The shell command `line` run on a pseudo-terminal (util-linux `script -qec`): what the
/// terminal showed. `None`, with a SKIP line, when `script` is not installed.
pub fn on_pty(line: &str) -> Option<String> {
    if !have("script") {
        skip("util-linux script(1) is not installed");
        return None;
    }
    let o = std::process::Command::new("script")
        .args(["-qec", line, "/dev/null"])
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_clw-diag")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A command for the binary with a clean environment for stable output.
pub fn cmd() -> Command {
    let mut c = Command::new(bin());
    c.env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .env_remove("CLW_DIAG_PROC_ROOT")
        .env_remove("CLW_DIAG_CGROUP_ROOT")
        .env_remove("CLW_DIAG_HOST_ROOT");
    c
}

pub fn run(args: &[&str]) -> Output {
    cmd().args(args).output().expect("run clw-diag")
}

/// Run against a fixture tree (its `proc/` and `sys/fs/cgroup/`).
pub fn run_fixture(tree: &Path, args: &[&str]) -> Output {
    let proc_root = tree.join("proc");
    let cg_root = tree.join("sys/fs/cgroup");
    let mut all: Vec<&str> = vec![
        "--proc-root",
        proc_root.to_str().unwrap(),
        "--cgroup-root",
        cg_root.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(&all)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "exit {:?}, stderr: {}",
        o.status,
        stderr(o)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(o)))
}

/// Assert exit code 2 with a one-line error message containing every needle, and no panic.
pub fn assert_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "error must be one line: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "stderr {err:?} lacks {n:?}");
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Compile tests/helpers/mapper.c once per test binary.
pub fn mapper_bin() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let out =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mapper-{}", std::process::id()));
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/mapper.c");
        let ok = Command::new("gcc")
            .args(["-O2", "-pthread", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some(out)
    })
    .as_deref()
}

/// A running mapper; killed (stdin closed) on drop.
pub struct Mapper {
    pub child: Child,
    pub pid: i32,
    stdin: Option<ChildStdin>,
}

impl Mapper {
    /// Start the mapper, optionally moving it into a cgroup's `procs_file` before exec.
    pub fn start(args: &[&str], procs_file: Option<&Path>) -> Mapper {
        let bin = mapper_bin().expect("gcc is needed to build tests/helpers/mapper.c");
        let mut c = match procs_file {
            Some(f) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("echo $$ > '{}' && exec \"$0\" \"$@\"", f.display()))
                    .arg(bin)
                    .args(args);
                c
            }
            None => {
                let mut c = Command::new(bin);
                c.args(args);
                c
            }
        };
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn mapper");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid = line
            .strip_prefix("ready ")
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("mapper did not get ready: {line:?}"));
        let stdin = child.stdin.take();
        Mapper { child, pid, stdin }
    }

    pub fn stop(mut self) {
        self.stdin.take();
        let _ = self.child.wait();
    }
}

impl Drop for Mapper {
    fn drop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A memory cgroup created for a test (v1 here; v2 where the memory controller is on the unified
/// hierarchy), removed on drop. `None` with a printed reason when not possible.
pub struct TestCgroup {
    pub dir: PathBuf,
    /// Path relative to the hierarchy root, as /proc/PID/cgroup prints it.
    pub rel: String,
    pub v2: bool,
    /// Parent directories [`TestCgroup::create_at`] made, innermost first (removed after `dir`).
    pub parents: Vec<PathBuf>,
}

impl TestCgroup {
    pub fn create(name: &str, limit: u64) -> Option<TestCgroup> {
        Self::make(&format!("{name}-{}", std::process::id()), limit)
    }

    /// A memory cgroup at exactly `rel` (e.g. `/docker/<64 hex>`, a runtime's path shape), its
    /// missing parents created too and removed on drop (those that existed are left alone).
    pub fn create_at(rel: &str, limit: u64) -> Option<TestCgroup> {
        Self::make(rel.trim_start_matches('/'), limit)
    }

    fn make(rel: &str, limit: u64) -> Option<TestCgroup> {
        if !is_root() {
            skip("creating a memory cgroup needs root");
            return None;
        }
        let v1 = Path::new("/sys/fs/cgroup/memory");
        let v2 = Path::new("/sys/fs/cgroup");
        let (base, is_v2) = if v1.join("memory.usage_in_bytes").exists() {
            (v1, false)
        } else if std::fs::read_to_string(v2.join("cgroup.controllers"))
            .is_ok_and(|c| c.contains("memory"))
        {
            (v2, true)
        } else {
            skip("no writable memory cgroup hierarchy");
            return None;
        };
        let dir = base.join(rel);
        let mut parents = Vec::new();
        let mut p = dir.parent();
        while let Some(d) = p.filter(|d| *d != base && !d.exists()) {
            parents.push(d.to_path_buf());
            p = d.parent();
        }
        for d in parents.iter().rev() {
            if let Err(e) = std::fs::create_dir(d) {
                skip(&format!("cannot create {}: {e}", d.display()));
                parents.iter().for_each(|d| drop(std::fs::remove_dir(d)));
                return None;
            }
            if is_v2 {
                let _ = std::fs::write(d.join("cgroup.subtree_control"), "+memory");
            }
        }
        if let Err(e) = std::fs::create_dir(&dir) {
            skip(&format!("cannot create {}: {e}", dir.display()));
            parents.iter().for_each(|d| drop(std::fs::remove_dir(d)));
            return None;
        }
        let limit_file = if is_v2 {
            "memory.max"
        } else {
            "memory.limit_in_bytes"
        };
        std::fs::write(dir.join(limit_file), limit.to_string()).expect("set limit");
        Some(TestCgroup {
            dir,
            rel: format!("/{rel}"),
            v2: is_v2,
            parents,
        })
    }

    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    pub fn read_u64(&self, file: &str) -> u64 {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        for p in &self.parents {
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// Copy a fixture tree into a temporary directory so a test can damage it.
pub fn copy_tree(from: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", from.display()))
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    tmp
}

/// The value of a `Key:   N kB` line (status, smaps_rollup, meminfo), in bytes.
pub fn kb_field(text: &str, key: &str) -> u64 {
    let rest = text
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} line"));
    rest.split_whitespace()
        .next()
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// How a child measured by [`wait_measured`] ended.
pub struct Measured {
    /// Its exit status.
    pub status: std::process::ExitStatus,
    /// Its peak RSS, bytes: the largest `VmHWM` of `/proc/PID/status` read every 2 ms once it
    /// runs clw-diag's image. Not `wait4`'s `ru_maxrss`: the kernel carries the pre-exec
    /// address space's high-water mark (this test process's, large when other tests in the
    /// binary have grown it) into the child's.
    pub peak_bytes: u64,
    /// Wall time from the call to its exit.
    pub took: std::time::Duration,
}

/// Wait for `child` (a clw-diag started by the caller), reading its peak RSS while it runs;
/// kill it and return `None` past `limit`.
pub fn wait_measured(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<Measured> {
    let start = std::time::Instant::now();
    let status_file = format!("/proc/{}/status", child.id());
    let exe_file = format!("/proc/{}/exe", child.id());
    let ours = std::fs::canonicalize(bin()).unwrap();
    let mut peak_bytes = 0;
    loop {
        let exec_done = std::fs::read_link(&exe_file).is_ok_and(|e| e == ours);
        if let (true, Ok(st)) = (exec_done, std::fs::read_to_string(&status_file)) {
            if st.contains("VmHWM:") {
                peak_bytes = peak_bytes.max(kb_field(&st, "VmHWM:"));
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return Some(Measured {
                status,
                peak_bytes,
                took: start.elapsed(),
            });
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

pub mod prom;
