//! D3: a mapped file truncated while it is read (a log under `copytruncate`, a binary or debug
//! file rewritten in place) must end in a complete result or the one-line "shrank" error, never
//! SIGBUS (exit 135, no message). D15 and D17 (messages) are here too: one-line usage errors and
//! the misleading or lossy messages of the note.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
use crate::common::*;

const OOM: &[u8] = b"2024-04-14T22:05:47Z host kernel: Out of memory: Killed process 9 (x) \
    total-vm:1kB, anon-rss:2kB, file-rss:0kB\n";
const LAST_OOM: &[u8] = b"2024-04-14T23:05:47Z host kernel: Out of memory: Killed process 10 (y) \
    total-vm:1kB, anon-rss:2kB, file-rss:0kB\n";
const FILLER: &[u8] = b"2024-04-14T22:05:47Z host app[1]: ordinary line padding padding padding\n";
const SHRANK: &str = "the file shrank while it was being read (truncated by log rotation?)";

/// A log of about `mb` MB (above triage's 16 MiB mapped-scan threshold): an OOM kill on the
/// first and on the last line, ordinary lines between.
fn big_log(dir: &Path, mb: usize) -> (PathBuf, Vec<u8>) {
    let n = mb * 1_000_000 / FILLER.len();
    let mut data = Vec::with_capacity(n * FILLER.len() + 2 * OOM.len());
    data.extend_from_slice(OOM);
    for _ in 0..n {
        data.extend_from_slice(FILLER);
    }
    data.extend_from_slice(LAST_OOM);
    let p = dir.join("master.log");
    std::fs::write(&p, &data).unwrap();
    (p, data)
}

/// (lines, OOM events) of the first `len` bytes of the log, as triage counts them (a last line
/// without a newline is a line).
fn expected(data: &[u8], len: usize) -> (u64, u64) {
    let d = &data[..len];
    let lines = d.iter().filter(|&&b| b == b'\n').count() as u64
        + u64::from(!d.is_empty() && d[len - 1] != b'\n');
    let events = u64::from(len >= OOM.len()) + u64::from(len == data.len());
    (lines, events)
}

/// How one run under truncation ended.
#[derive(Debug, Default)]
struct Tally {
    complete: usize,
    shrank: usize,
}

/// Run `args` (the log at `log`, a fresh copy of `master` each time) `runs` times, each time
/// truncating the log to one of several sizes after a delay spread over 0..1.3× the time of a
/// whole run; `check` judges each output (after the common checks: never a signal, never a
/// panic, exit 0 or the one-line shrank error with exit 2).
fn truncation_loop(
    master: &Path,
    log: &Path,
    data: &[u8],
    runs: usize,
    args: &[&str],
    check: impl Fn(&Output, &[u8], usize) -> Result<(), String>,
) -> Tally {
    std::fs::copy(master, log).unwrap();
    let t0 = Instant::now();
    let whole = cmd().args(args).output().unwrap();
    let took = t0.elapsed();
    if let Err(e) = check(&whole, data, data.len()) {
        panic!(
            "the untruncated run is not complete: {e}; {:?} {}",
            whole.status,
            stderr(&whole)
        );
    }
    let sizes = [0, 1000, data.len() / 3, data.len() / 2 + 17];
    let mut tally = Tally::default();
    for i in 0..runs {
        std::fs::copy(master, log).unwrap();
        let to = sizes[i % sizes.len()];
        let delay = took.mul_f64(1.3 * i as f64 / runs as f64);
        let child = cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        std::fs::OpenOptions::new()
            .write(true)
            .open(log)
            .unwrap()
            .set_len(to as u64)
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        let what = format!(
            "run {i} (truncated to {to} after {delay:?}): {:?}, stderr: {err}",
            o.status
        );
        assert_eq!(o.status.signal(), None, "killed by a signal: {what}");
        assert!(!err.contains("panicked"), "{what}");
        match o.status.code() {
            Some(2) => {
                assert_eq!(err.trim_end().lines().count(), 1, "one line: {what}");
                assert_eq!(
                    err.trim_end(),
                    format!("clw-diag: error: {}: {SHRANK}", log.display()),
                    "{what}"
                );
                tally.shrank += 1;
            }
            Some(_) => {
                if let Err(e) = check(&o, data, to) {
                    panic!("not a complete result: {e}; {what}");
                }
                tally.complete += 1;
            }
            None => unreachable!(),
        }
    }
    tally
}

/// One input's summary is the whole file as it was when read: all of it, or all of its
/// truncated first `to` bytes, with the lines and events those bytes hold.
fn complete_input(input: &serde_json::Value, data: &[u8], to: usize) -> Result<(), String> {
    let bytes = input["bytes"].as_u64().unwrap_or(u64::MAX) as usize;
    if input["error"] != serde_json::Value::Null || (bytes != data.len() && bytes != to) {
        return Err(format!("input {input}"));
    }
    let (lines, events) = expected(data, bytes);
    if input["lines"].as_u64() == Some(lines) && input["events"].as_u64() == Some(events) {
        Ok(())
    } else {
        Err(format!(
            "input {input}, expected {lines} lines, {events} events"
        ))
    }
}

fn parse(o: &Output) -> Result<serde_json::Value, String> {
    if o.status.code() != Some(0) {
        return Err(format!("exit {:?}", o.status));
    }
    serde_json::from_slice(&o.stdout).map_err(|e| format!("bad JSON: {e}"))
}

#[test]
fn d3_triage_log_truncated_while_mapped_never_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let (master, data) = big_log(dir.path(), 30);
    let log = dir.path().join("app.log");
    let tally = truncation_loop(
        &master,
        &log,
        &data,
        50,
        &["--json", "triage", log.to_str().unwrap()],
        |o, data, to| {
            let v = parse(o)?;
            complete_input(&v["inputs"][0], data, to)?;
            let events = v["events"].as_array().map_or(0, Vec::len) as u64;
            if Some(events) != v["inputs"][0]["events"].as_u64() {
                return Err(format!("{events} events listed"));
            }
            Ok(())
        },
    );
    eprintln!("d3 triage: {tally:?}");
    // The delays cover the whole read: some runs must have been cut in the middle of it.
    assert!(
        tally.shrank >= 5,
        "too few runs truncated mid-read: {tally:?}"
    );
}

#[test]
fn d3_report_log_truncated_never_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    // Smaller than triage's (report's other sections take most of a run), still mapped.
    let (master, data) = big_log(dir.path(), 20);
    let log = dir.path().join("app.log");
    let logs = log.to_str().unwrap().to_string();
    let shrank_note = format!("{logs}: {SHRANK}");
    let noted = std::sync::atomic::AtomicUsize::new(0);
    let tally = truncation_loop(
        &master,
        &log,
        &data,
        50,
        &[
            "--json",
            "report",
            "--logs",
            &logs,
            "--section-timeout",
            "2m",
        ],
        |o, data, to| {
            // The report is always whole: its worker-logs section is complete or says the log
            // shrank (and does not send the reader to run as root for it).
            let v = parse(o)?;
            let Some(s) = v["sections"]
                .as_array()
                .and_then(|a| a.iter().find(|s| s["id"] == "worker_logs"))
            else {
                return Err("no worker_logs section".into());
            };
            let input = &s["data"]["inputs"][0];
            if input["error"] == serde_json::Value::Null {
                return complete_input(input, data, to);
            }
            noted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let next = v["summary"]["next_steps"].to_string();
            let ok = input["error"] == shrank_note.as_str()
                && s["notes"][0] == shrank_note.as_str()
                && !(next.contains("worker_logs") && next.contains("as root"));
            if ok {
                Ok(())
            } else {
                Err(format!("section {s}, next steps {next}"))
            }
        },
    );
    let noted = noted.into_inner();
    eprintln!("d3 report: {tally:?}, {noted} with the shrank note");
    assert_eq!(tally.shrank, 0, "report itself never fails for one log");
    assert!(noted >= 5, "too few runs truncated mid-read: {noted}");
}

/// The C program `source` with DWARF, built into `dir` (gcc) as `p`; `None` with a SKIP line
/// without gcc.
fn c_program(dir: &Path, source: &str) -> Option<PathBuf> {
    if !have("gcc") {
        skip("gcc is not installed");
        return None;
    }
    let src = dir.join("p.c");
    std::fs::write(&src, source).unwrap();
    let exe = dir.join("p");
    let o = std::process::Command::new("gcc")
        .args(["-g", "-O0", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(exe)
}

/// The address of symbol `name` in `exe` (its own address space), from `nm`.
fn symbol(exe: &Path, name: &str) -> String {
    let o = std::process::Command::new("nm").arg(exe).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[2] == name).then(|| format!("0x{}", f[0]))
        })
        .unwrap_or_else(|| panic!("no {name} in {}", exe.display()))
}

#[test]
fn d3_symbolize_binary_truncated_between_lookups_never_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let source = "#include <stdio.h>\nint helper(int x) { return x * 3 + 1; }\n\
        int main(int argc, char **argv) { printf(\"%d\\n\", helper(argc)); return 0; }\n";
    let Some(exe) = c_program(dir.path(), source) else {
        return;
    };
    if !have("nm") {
        return skip("nm (binutils) is not installed");
    }
    let main = symbol(&exe, "main");
    let helper = symbol(&exe, "helper");
    // Answers are flushed per batch of standard input: one address, its answer, then the
    // binary is truncated under the mapping the symbolizer keeps, then a second address.
    let mut child = cmd()
        .args(["symbolize", "-f", "-e", exe.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, "{main}").unwrap();
    stdin.flush().unwrap();
    let (mut function, mut line) = (String::new(), String::new());
    out.read_line(&mut function).unwrap();
    out.read_line(&mut line).unwrap();
    assert_eq!(
        function.trim(),
        "main",
        "the first answer, before the truncation"
    );
    assert!(line.trim().ends_with("p.c:3"), "{line}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&exe)
        .unwrap()
        .set_len(0)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    writeln!(stdin, "{helper}").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(Instant::now() < deadline);
    assert_eq!(
        o.status.signal(),
        None,
        "killed by a signal: {:?}",
        o.status
    );
    assert_error(&o, &[&format!("{}: {SHRANK}", exe.display())]);
    assert_eq!(rest, "", "nothing read from zeros is printed");
}

/// `o` is a usage error on one line of stderr (exit 2, no panic) that ends with the `--help` of
/// `command` to read and contains `needle`.
fn one_line_usage(o: &Output, command: &str, needle: &str) {
    assert_error(o, &[needle]);
    let err = stderr(o);
    assert!(
        err.trim_end()
            .ends_with(&format!("(see '{command} --help')")),
        "{err}"
    );
    assert!(err.starts_with("clw-diag: error: "), "{err}");
}

#[test]
fn d15_usage_errors_are_one_line_with_the_help_to_read() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::copy(crate::common::bin(), &bin).unwrap();
    let bin = bin.to_str().unwrap();
    one_line_usage(
        &run(&["vmmap", "abc"]),
        "clw-diag vmmap",
        "invalid value 'abc' for '<PID>'",
    );
    one_line_usage(
        &run(&["triage", "--since", "-5m", "x"]),
        "clw-diag triage",
        "unexpected argument '-5' found (tip: ",
    );
    one_line_usage(
        &run(&["symbolize", "-e", bin, "-1"]),
        "clw-diag symbolize",
        "unexpected argument '-1' found",
    );
    one_line_usage(
        &run(&["serve", "--listen", "127.0.0.1:99999"]),
        "clw-diag serve",
        "invalid value '127.0.0.1:99999' for '--listen <ADDR:PORT>'",
    );
    // A missing argument names it; a missing subcommand lists them; nested subcommands and
    // global flags before them are followed.
    one_line_usage(
        &run(&["vmmap"]),
        "clw-diag vmmap",
        "the following required arguments were not provided: <PID>",
    );
    one_line_usage(
        &run(&["analyze"]),
        "clw-diag analyze",
        "needs a subcommand: memory-trace",
    );
    one_line_usage(
        &run(&["--json", "analyze", "memory-trace", "--nope"]),
        "clw-diag analyze memory-trace",
        "unexpected argument '--nope'",
    );
    one_line_usage(
        &run(&["--bogus"]),
        "clw-diag",
        "unexpected argument '--bogus'",
    );
    // --help and --version are unchanged: stdout, exit 0.
    for args in [&["vmmap", "--help"][..], &["--version"], &["triage", "-h"]] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stdout(&o).is_empty() && stderr(&o).is_empty(), "{args:?}");
    }
    assert!(stdout(&run(&["vmmap", "--help"])).lines().count() > 5);
}

#[test]
fn d17_truncated_log_in_report_does_not_say_run_as_root() {
    let dir = tempfile::tempdir().unwrap();
    // A gzip log cut short: the worker-logs section fails, for no lack of permission.
    let mut gz = flate2_like_gzip(b"2024-04-14T22:05:47Z host app[1]: ordinary\n");
    gz.truncate(20); // the header and a few bytes: not one line decodes
    let log = dir.path().join("app.log.gz");
    std::fs::write(&log, &gz).unwrap();
    let o = run(&["report", "--logs", log.to_str().unwrap()]);
    let text = stdout(&o);
    let next = text
        .lines()
        .find(|l| l.contains("the worker_logs section could not be read"))
        .unwrap_or_else(|| panic!("no next step for the failed section: {text}"));
    assert!(next.contains("truncated"), "{next}");
    assert!(!next.contains("as root"), "{next}");
    assert!(
        next.ends_with("run the matching command on its own"),
        "{next}"
    );
}

/// A gzip member of `data` (gzip(1), so the test needs no compression crate of its own).
fn flate2_like_gzip(data: &[u8]) -> Vec<u8> {
    let mut c = std::process::Command::new("gzip")
        .args(["-c", "-9"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let big: Vec<u8> = data.iter().copied().cycle().take(200_000).collect();
    stdin.write_all(&big).unwrap();
    drop(stdin);
    c.wait_with_output().unwrap().stdout
}

#[test]
fn d17_smaps_rollup_missing_from_a_copied_tree_is_not_an_exited_process() {
    let dir = tempfile::tempdir().unwrap();
    let pid = std::process::id().to_string();
    let root = dir.path().join("proc");
    std::fs::create_dir_all(root.join(&pid)).unwrap();
    std::fs::copy("/proc/meminfo", root.join("meminfo")).unwrap();
    for f in [
        "status",
        "stat",
        "statm",
        "cmdline",
        "comm",
        "oom_score",
        "oom_score_adj",
        "cgroup",
    ] {
        let _ = std::fs::copy(format!("/proc/self/{f}"), root.join(&pid).join(f));
    }
    let o = run(&[
        "--proc-root",
        root.to_str().unwrap(),
        "sample",
        "--pid",
        &pid,
    ]);
    let err = stderr(&o);
    assert_error(&o, &["smaps_rollup: missing from the process directory"]);
    assert!(!err.contains("exited"), "{err}");
    // A process that really exited is still said to have exited.
    std::fs::remove_dir_all(root.join(&pid)).unwrap();
    let o = run(&[
        "--proc-root",
        root.to_str().unwrap(),
        "sample",
        "--pid",
        &pid,
    ]);
    assert_error(&o, &[&pid]);
    assert!(!stderr(&o).contains("missing from the process directory"));
}

#[test]
fn d17_section_timeout_zero_states_the_range() {
    for v in ["0", "0s", "2d"] {
        let o = run(&["report", "--section-timeout", v]);
        one_line_usage(
            &o,
            "clw-diag report",
            "is out of range (more than 0s, at most 1d)",
        );
        assert!(!stderr(&o).contains("between 0"), "{}", stderr(&o));
    }
}

#[test]
fn d17_log_named_with_a_newline_is_read_and_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("new\nline.log");
    let since = "2024-04-14T00:00:00Z";
    std::fs::write(&name, OOM).unwrap();
    std::fs::write(dir.path().join("plain.log"), FILLER).unwrap();
    let glob = format!("{}/*", dir.path().display());
    let o = run(&["report", "--logs", &glob, "--since", since]);
    let text = stdout(&o);
    let escaped = format!("{}/new\\nline.log:1", dir.path().display());
    assert!(text.contains(&escaped), "{escaped} not in {text}");
    assert!(
        !text.lines().any(|l| l.starts_with("line.log")),
        "a name broke a line: {text}"
    );
    let v = json(&run(&[
        "--json", "report", "--logs", &glob, "--since", since,
    ]));
    let s = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "worker_logs")
        .unwrap();
    let names: Vec<&str> = s["data"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "both files are read: {names:?}");
    assert!(
        names.iter().any(|n| n.ends_with("/new\\nline.log")),
        "{names:?}"
    );
}

#[test]
fn d17_symbolize_address_wider_than_64_bits_is_an_error() {
    let exe = crate::common::bin();
    let o = run(&["symbolize", "-e", exe, "0xffffffffffffffffffff"]);
    assert_error(
        &o,
        &["0xffffffffffffffffffff: not an address: more than 64 bits"],
    );
    assert!(stdout(&o).is_empty(), "no ??:0 answer: {}", stdout(&o));
    // The widest address that fits is still answered (addr2line 0.25 cannot look it up).
    let o = run(&["symbolize", "-e", exe, "0xffffffffffffffff"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "??:0");
}

#[test]
fn d17_single_line_bomb_is_one_line_not_zero() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bomb.log");
    std::fs::write(&p, vec![b'a'; 30 << 20]).unwrap();
    let o = run(&["triage", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("in 1 lines"), "{text}");
    let all = format!("{text}{}", stderr(&o));
    assert!(
        all.contains("1 line(s) longer than 1 MiB were cut"),
        "{all}"
    );
    let v = json(&run(&["--json", "triage", p.to_str().unwrap()]));
    assert_eq!(v["inputs"][0]["lines"], 1);
    assert_eq!(v["inputs"][0]["long_lines"], 1);
}

#[test]
fn d3_backtrace_executable_truncated_while_read_never_sigbus() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.starts_with('|') || pattern.contains('/') {
        return skip("core_pattern is not a plain file name: no core in the test directory");
    }
    // The program crashes (SIGSEGV through a null pointer) in its own code.
    let source = "int helper(int *p) { return *p; }\nint main(void) { return helper((int *)0); }\n";
    let Some(exe) = c_program(dir.path(), source) else {
        return;
    };
    let master = dir.path().join("p.master");
    std::fs::copy(&exe, &master).unwrap();
    std::process::Command::new("sh")
        .args(["-c", "ulimit -c unlimited; exec ./p"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    let Some(core) = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("core"))
    else {
        return skip("no core file was written");
    };
    let args = ["--json", "backtrace", core.to_str().unwrap()];
    let t0 = Instant::now();
    let whole = json(&run(&args));
    let took = t0.elapsed();
    assert_eq!(whole["threads"][0]["frames"][0]["function"], "helper");
    let (mut complete, mut shrank) = (0, 0);
    for i in 0..30 {
        std::fs::copy(&master, &exe).unwrap();
        let child = cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let delay = took.mul_f64(1.3 * i as f64 / 30.0);
        std::thread::sleep(delay);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&exe)
            .unwrap()
            .set_len(0)
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let what = format!("run {i} after {delay:?}: {:?} {}", o.status, stderr(&o));
        assert_eq!(o.status.signal(), None, "killed by a signal: {what}");
        if o.status.code() == Some(2) {
            assert_error(&o, &[&format!("{}: {SHRANK}", exe.display())]);
            shrank += 1;
        } else {
            // Read before the truncation, or after it (the executable then empty: its frames
            // unnamed); never a result read through a faulted mapping.
            let v = json(&o);
            assert!(v["threads"][0]["frames"].as_array().is_some(), "{what}");
            complete += 1;
        }
    }
    eprintln!("d3 backtrace: {complete} complete, {shrank} shrank");
}
