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
    let (master, data) = big_log(dir.path(), 30);
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

/// A C program with DWARF, built into `dir` (gcc), `None` with a SKIP line without gcc.
fn c_program(dir: &Path) -> Option<PathBuf> {
    if !have("gcc") {
        skip("gcc is not installed");
        return None;
    }
    let src = dir.join("p.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint helper(int x) { return x * 3 + 1; }\n\
         int main(int argc, char **argv) { printf(\"%d\\n\", helper(argc)); return 0; }\n",
    )
    .unwrap();
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
    let Some(exe) = c_program(dir.path()) else {
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
