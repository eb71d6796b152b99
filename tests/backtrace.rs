//! `clw-diag backtrace CORE` against gdb on core dumps made here. The programs in
//! `tests/helpers/crash/` (C, C++, Rust) park three threads (two for C++ and Rust) in different
//! blocking calls and crash the main thread; each is compiled with several flag sets (-O0, -O2,
//! -fomit-frame-pointer, DWARF 4 and 5, zlib- and zstd-compressed debug sections (zstd written
//! by tests/helpers/zstd_debug.py: Debian 12's toolchain cannot), -static,
//! -no-pie, stripped, debug information in a separate file found through `.gnu_debuglink`) and
//! run in a temporary directory with `ulimit -c unlimited`, so the kernel writes `core` there.
//! gdb reads the same core through `tests/helpers/gdb_frames.py`, and for every thread both must
//! list the same frames: the same pc, function, file name and line, and the same inline frames.
//!
//! How gdb is run, and what it does at the ends of a stack (gdb 13, glibc 2.36):
//! - `set backtrace past-main on`: without it gdb stops at `main`; with it the main thread ends
//!   `main`, `__libc_start_call_main`, `__libc_start_main_impl`, `_start`. `_start` is the last
//!   frame because its CFI marks the return address undefined (`.cfi_undefined rip`), and gdb
//!   says "outermost"; `set backtrace past-entry` changes nothing, so it is left at its default.
//! - Other threads end `start_thread`, `clone3`; `clone3` also has `.cfi_undefined rip`.
//! - gdb invents `TAILCALL_FRAME`s from DWARF call-site information (in libc with libc6-dbg,
//!   e.g. `__pthread_kill_internal` between `__pthread_kill_implementation` and `raise`). They
//!   are not on the stack: they are dropped before comparing.
//! - The frame of the signal trampoline is a `SIGTRAMP_FRAME`, printed by `bt` as
//!   `<signal handler called>`; its pc is the handler's return address, which is the first
//!   instruction of `__restore_rt`, and `frame.name()` is `__restore_rt` when a symbol table
//!   has it (libc6-dbg, -static). Rule for that frame: the same pc; our function is gdb's name,
//!   `__restore_rt`, or null; no file or line (gdb has none); and the frame or the next one (the
//!   interrupted frame, whose registers come from the signal frame) has method "signal".
//! - Function names are compared with gdb's `frame.name()`, or `frame.function().name` where
//!   they differ (C++ functions with DWARF: `app::dispatch` and `app::dispatch(char const*)`).

mod common;

use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

const SIGABRT: i64 = 6;
const SIGSEGV: i64 = 11;
/// The address the programs write to in their SIGSEGV modes (the signal-handler mode writes to
/// NULL).
const FAULT: u64 = 0xdead_beef;

fn helpers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers")
}

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether cores can be made and read here; prints why not.
fn can_test(tools: &[&str]) -> bool {
    for t in tools {
        if !tool(t) {
            skip(&format!("{t} is not installed"));
            return false;
        }
    }
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.starts_with('|') {
        skip(&format!(
            "core_pattern pipes cores to a program ({}), no core file to read",
            pattern.trim()
        ));
        return false;
    }
    true
}

fn must(c: &mut Command) {
    let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        o.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// What is done to a binary after linking.
#[derive(Clone, Copy, PartialEq)]
enum Post {
    None,
    /// `strip`: no symbol table, no DWARF; .eh_frame stays.
    Strip,
    /// DWARF moved to `NAME.debug` beside the binary, found through `.gnu_debuglink`.
    SplitDebug,
    /// `.debug_*` sections compressed with zstd (tests/helpers/zstd_debug.py).
    Zstd,
}

/// Compile `tests/helpers/crash/SRC` into `dir/name`.
fn build_c(
    dir: &Path,
    name: &str,
    src: &str,
    compiler: &str,
    flags: &[&str],
    post: Post,
) -> PathBuf {
    let out = dir.join(name);
    must(
        Command::new(compiler)
            .args(flags)
            .arg("-pthread")
            .arg("-o")
            .arg(&out)
            .arg(helpers().join("crash").join(src)),
    );
    match post {
        Post::None => {}
        Post::Strip => must(Command::new("strip").arg(&out)),
        Post::Zstd => {
            let plain = dir.join(format!("{name}.plain"));
            std::fs::rename(&out, &plain).unwrap();
            must(
                Command::new("python3")
                    .arg(helpers().join("zstd_debug.py"))
                    .arg(&plain)
                    .arg(&out),
            );
            std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            let t = Command::new("readelf")
                .arg("-t")
                .arg(&out)
                .output()
                .unwrap();
            assert!(
                String::from_utf8_lossy(&t.stdout).contains("ZSTD"),
                "no zstd-compressed section in {}",
                out.display()
            );
        }
        Post::SplitDebug => {
            let dbg = dir.join(format!("{name}.debug"));
            must(
                Command::new("objcopy")
                    .arg("--only-keep-debug")
                    .arg(&out)
                    .arg(&dbg),
            );
            must(Command::new("strip").arg("--strip-debug").arg(&out));
            // objcopy finds the file by its name relative to the current directory.
            must(
                Command::new("objcopy")
                    .current_dir(dir)
                    .arg(format!("--add-gnu-debuglink={name}.debug"))
                    .arg(name),
            );
        }
    }
    out
}

fn build_rust(dir: &Path, name: &str, opt: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    must(
        Command::new("rustc")
            .args(["--edition", "2021", "-g", "-C", "panic=abort", "-C"])
            .arg(format!("opt-level={opt}"))
            .args(extra)
            .arg("-o")
            .arg(&out)
            .arg(helpers().join("crash/crash.rs")),
    );
    out
}

/// Run `exe mode` in a new temporary directory with unlimited core size; the core is `core`
/// there (core_pattern is a plain file name on the test machines).
fn crash(exe: &Path, mode: &str, signal: i64) -> (tempfile::TempDir, PathBuf) {
    crash_limited(exe, mode, signal, "unlimited")
}

/// [`crash`] with the core size limit `ulimit -c LIMIT` (1 KiB blocks, or `unlimited`): the
/// kernel stops writing the core at the limit.
fn crash_limited(exe: &Path, mode: &str, signal: i64, limit: &str) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -c {limit}; exec \"$0\" \"$1\""))
        .arg(exe)
        .arg(mode)
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.signal().map(i64::from),
        Some(signal),
        "{} {mode}: {:?}, stderr: {}",
        exe.display(),
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let mut core = d.path().join(pattern.trim());
    if !core.exists() {
        // core_uses_pid, or a pattern with %p
        core = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("core"))
            .unwrap_or_else(|| {
                panic!(
                    "{} {mode}: no core in {} (core_pattern {:?}, core dumped: {})",
                    exe.display(),
                    d.path().display(),
                    pattern.trim(),
                    o.status.core_dumped()
                )
            });
    }
    (d, core)
}

/// gdb's frames of every thread, from tests/helpers/gdb_frames.py.
fn gdb_frames(exe: &Path, core: &Path) -> Value {
    let out = core.with_file_name("gdb-frames.json");
    let o = Command::new("gdb")
        .args(["-batch", "-nx"])
        .args(["-ex", "set debuginfod enabled off"])
        .args(["-ex", "set backtrace past-main on"])
        .arg("-ex")
        .arg(format!(
            "source {}",
            helpers().join("gdb_frames.py").display()
        ))
        .arg(exe)
        .arg(core)
        .env("GDB_FRAMES_OUT", &out)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "gdb wrote no {} ({e}): {:?}\n{}",
            out.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn backtrace_json(core: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["backtrace", core.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    json(&run(&args))
}

fn hex(v: &Value) -> Option<u64> {
    let s = v.as_str()?;
    u64::from_str_radix(s.strip_prefix("0x").unwrap_or(s), 16).ok()
}

fn basename(v: &Value) -> Option<String> {
    v.as_str()
        .map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
}

/// One frame as both sides are compared.
struct Row {
    pc: Option<u64>,
    kind: String,
    name: Option<String>,
    /// gdb's `frame.function().name`, accepted as well as `frame.name()`.
    alt_name: Option<String>,
    file: Option<String>,
    line: Option<u64>,
}

impl Row {
    fn gdb(f: &Value) -> Row {
        Row {
            pc: hex(&f["pc"]),
            kind: f["type"].as_str().unwrap_or("?").to_string(),
            name: f["name"].as_str().map(str::to_string),
            alt_name: f["function"].as_str().map(str::to_string),
            file: basename(&f["file"]),
            line: f["line"].as_u64(),
        }
    }

    fn ours(f: &Value) -> Row {
        let method = f["method"].as_str().unwrap_or("?");
        Row {
            pc: hex(&f["pc"]),
            kind: if f["inline"] == true {
                format!("INLINE/{method}")
            } else {
                method.to_string()
            },
            name: f["function"].as_str().map(str::to_string),
            alt_name: None,
            file: basename(&f["file"]),
            line: f["line"].as_u64(),
        }
    }

    fn text(&self) -> String {
        let mut s = match self.pc {
            Some(pc) => format!("{pc:#x} {} ", self.kind),
            None => format!("(no pc) {} ", self.kind),
        };
        s += self.name.as_deref().unwrap_or("??");
        if let Some(f) = &self.file {
            let _ = write!(s, " {f}:{}", self.line.unwrap_or(0));
        }
        s
    }
}

/// Why our frame differs from gdb's, or None. `next` is our frame after `o`.
fn frame_diff(g: &Row, o: &Row, next: Option<&Row>) -> Option<String> {
    if g.pc != o.pc {
        return Some("pc".into());
    }
    if g.kind == "SIGTRAMP" {
        let name_ok =
            o.name.is_none() || o.name.as_deref() == Some("__restore_rt") || o.name == g.name;
        if !name_ok {
            return Some("function of the signal frame".into());
        }
        let signal = |r: &Row| r.kind.ends_with("signal");
        if !(signal(o) || next.is_some_and(signal)) {
            return Some("neither the signal frame nor the next has method \"signal\"".into());
        }
    } else {
        // One gdb quirk is not reproduced: a template instantiated on a lambda's closure type
        // gets a name gdb computes from DWARF with its own type printer
        // (`wait<app::park_cond()::<lambda()> >(std::unique_lock<std::mutex> &, struct {...})`);
        // there we require the demangled linkage name of the same function (`wait<…{lambda()#1}>`).
        let gdb_lambda_template = g.name.as_deref().is_some_and(|n| n.contains("<lambda"));
        let same_function = |ours: &str, gdb: &str| {
            let head = |s: &str| {
                s.split('<')
                    .next()
                    .unwrap_or("")
                    .rsplit("::")
                    .next()
                    .unwrap_or("")
                    .to_string()
            };
            head(ours) == head(gdb) && ours.contains("{lambda")
        };
        let name_ok = o.name == g.name
            || (g.alt_name.is_some() && o.name == g.alt_name)
            || (gdb_lambda_template
                && o.name
                    .as_deref()
                    .zip(g.name.as_deref())
                    .is_some_and(|(a, b)| same_function(a, b)));
        if !name_ok {
            return Some("function".into());
        }
        if (g.kind == "INLINE") != o.kind.starts_with("INLINE") {
            return Some("inline".into());
        }
    }
    if g.file != o.file {
        return Some("file".into());
    }
    if g.line != o.line {
        return Some("line".into());
    }
    None
}

/// Both backtraces side by side, differing rows marked.
fn side_by_side(g: &[Row], o: &[Row]) -> String {
    let mut s = format!("     {:<72} | clw-diag\n", "gdb");
    for i in 0..g.len().max(o.len()) {
        let (a, b) = (g.get(i), o.get(i));
        let bad = match (a, b) {
            (Some(a), Some(b)) => frame_diff(a, b, o.get(i + 1)),
            _ => Some("missing".into()),
        };
        let cell = |r: Option<&Row>| r.map(Row::text).unwrap_or_default();
        let _ = writeln!(
            s,
            "{}{i:>3} {:<72} | {}{}",
            if bad.is_some() { "*" } else { " " },
            cell(a),
            cell(b),
            bad.map(|w| format!("   <- {w}")).unwrap_or_default()
        );
    }
    s
}

/// The last `::` component of a function name without parameters or template arguments:
/// `app::Worker<long>::run` -> `run`, `crash::parse<u32>` -> `parse`.
fn short_name(name: &str) -> &str {
    let mut depth = 0;
    let mut end = name.len();
    for (i, c) in name.char_indices() {
        match c {
            '<' | '(' if depth == 0 => {
                end = i;
                break;
            }
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            _ => {}
        }
    }
    let base = &name[..end];
    base.rsplit("::").next().unwrap_or(base)
}

/// Compare one core's backtrace with gdb's; returns the differences (empty when equal).
fn compare(label: &str, exe: &Path, core: &Path, source: &str, signal: i64) -> Vec<String> {
    let gdb = gdb_frames(exe, core);
    let ours = backtrace_json(core, &["--exe", exe.to_str().unwrap()]);
    let mut errs = Vec::new();
    let mut err = |m: String| errs.push(format!("{label}: {m}"));

    // The signal, as the kernel's siginfo note has it.
    let sig = &ours["signal"];
    let gsig = &gdb["signal"];
    if sig["number"].as_i64() != Some(signal) || gsig["number"].as_i64() != Some(signal) {
        err(format!("signal: ours {sig}, gdb {gsig}, expected {signal}"));
    }
    let name = if signal == SIGSEGV {
        "SIGSEGV"
    } else {
        "SIGABRT"
    };
    if sig["name"] != name {
        err(format!("signal name {} (expected {name})", sig["name"]));
    }
    if sig["code"] != gsig["code"] {
        err(format!("si_code {} (gdb {})", sig["code"], gsig["code"]));
    }
    if signal == SIGSEGV {
        let expected = if label.contains("sighandler") {
            0
        } else {
            FAULT
        };
        let (a, g) = (hex(&sig["fault_address"]), hex(&gsig["fault_address"]));
        if a != Some(expected) || g != Some(expected) {
            err(format!(
                "fault_address {} (gdb {}, expected {expected:#x})",
                sig["fault_address"], gsig["fault_address"]
            ));
        }
    } else if !sig["fault_address"].is_null() {
        err(format!("fault_address {} for {name}", sig["fault_address"]));
    }

    // The executable's module.
    let modules = ours["modules"].as_array().cloned().unwrap_or_default();
    let exe_path = exe.canonicalize().unwrap();
    match modules
        .iter()
        .find(|m| m["path"].as_str().map(Path::new) == Some(&exe_path))
    {
        None => err(format!("no module {} in {modules:?}", exe_path.display())),
        Some(m) => {
            if m["found"] != true || m["build_id_mismatch"] != false {
                err(format!("executable's module: {m}"));
            }
            if m["build_id"].as_str() != build_id(exe).as_deref() {
                err(format!(
                    "build_id {} (readelf: {:?})",
                    m["build_id"],
                    build_id(exe)
                ));
            }
        }
    }

    // Threads: the same set of LWPs; the crashed one first, and it is the one gdb selects.
    let gthreads = gdb["threads"].as_array().unwrap();
    let othreads = ours["threads"].as_array().cloned().unwrap_or_default();
    let mut gtids: Vec<i64> = gthreads.iter().filter_map(|t| t["tid"].as_i64()).collect();
    let mut otids: Vec<i64> = othreads.iter().filter_map(|t| t["tid"].as_i64()).collect();
    gtids.sort_unstable();
    otids.sort_unstable();
    if gtids != otids {
        err(format!("thread ids: gdb {gtids:?}, ours {otids:?}"));
    }
    let crashed: Vec<&Value> = othreads.iter().filter(|t| t["crashed"] == true).collect();
    if crashed.len() != 1
        || othreads.first().map(|t| &t["tid"]) != Some(&gdb["selected_tid"])
        || othreads[0]["crashed"] != true
    {
        err(format!(
            "the first thread must be the crashed one, tid {} (gdb's selected thread); ours: {:?}",
            gdb["selected_tid"],
            othreads
                .iter()
                .map(|t| (&t["tid"], &t["crashed"]))
                .collect::<Vec<_>>()
        ));
    }

    for gt in gthreads {
        let tid = &gt["tid"];
        let Some(ot) = othreads.iter().find(|t| &t["tid"] == tid) else {
            continue;
        };
        let g: Vec<Row> = gt["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["type"] != "TAILCALL")
            .map(Row::gdb)
            .collect();
        let o: Vec<Row> = ot["frames"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(Row::ours)
            .collect();
        let first_bad = (0..g.len().max(o.len())).find(|&i| match (g.get(i), o.get(i)) {
            (Some(a), Some(b)) => frame_diff(a, b, o.get(i + 1)).is_some(),
            _ => true,
        });
        if let Some(i) = first_bad {
            err(format!(
                "thread {tid}{}: {} frames in gdb, {} in ours; frame {i} differs\n{}",
                if gt["tid"] == gdb["selected_tid"] {
                    " (crashed)"
                } else {
                    ""
                },
                g.len(),
                o.len(),
                side_by_side(&g, &o)
            ));
        }
        if let Some(f0) = ot["frames"].get(0) {
            if f0["method"] != "context" {
                err(format!("thread {tid}: frame 0 has method {}", f0["method"]));
            }
        }
        if gt["tid"] == gdb["selected_tid"] {
            // The signature names the innermost function of the program's own source (when
            // the binary has names at all).
            let signature = ours["crash_signature"].as_str().unwrap_or("");
            if signature.trim().is_empty() || signature.contains('\n') {
                err(format!("crash_signature {:?}", ours["crash_signature"]));
            }
            if let Some(key) = g
                .iter()
                .find(|r| r.file.as_deref() == Some(source))
                .and_then(|r| r.name.as_deref())
            {
                if !signature.contains(short_name(key)) {
                    err(format!(
                        "crash_signature {signature:?} does not name {:?} (innermost frame in {source})",
                        short_name(key)
                    ));
                }
            }
        }
    }
    errs
}

/// The build ID of an ELF file, as readelf prints it.
fn build_id(path: &Path) -> Option<String> {
    let o = Command::new("readelf").arg("-n").arg(path).output().ok()?;
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: ").map(str::to_string))
}

const C_MODES: &[(&str, i64)] = &[
    ("segv", SIGSEGV),
    ("inline", SIGSEGV),
    ("recurse", SIGSEGV),
    ("sighandler", SIGSEGV),
    ("abort", SIGABRT),
];

/// Crash every mode of a program and compare each core with gdb; fails with every difference.
fn same_as_gdb(exe: &Path, build: &str, source: &str, modes: &[(&str, i64)]) {
    let mut errs = Vec::new();
    for &(mode, signal) in modes {
        let (_dir, core) = crash(exe, mode, signal);
        errs.extend(compare(
            &format!("{build} {mode}"),
            exe,
            &core,
            source,
            signal,
        ));
    }
    assert!(
        errs.is_empty(),
        "{} difference(s) from gdb:\n\n{}",
        errs.len(),
        errs.join("\n\n")
    );
}

fn c_case(build: &str, flags: &[&str], post: Post) {
    if !can_test(&["gcc", "gdb", "readelf", "objcopy", "strip"]) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(d.path(), "crash", "crash.c", "gcc", flags, post);
    same_as_gdb(&exe, build, "crash.c", C_MODES);
    if post == Post::SplitDebug {
        // The DWARF came from the separate file: say which.
        let core_dir = crash(&exe, "segv", SIGSEGV);
        let ours = backtrace_json(&core_dir.1, &["--exe", exe.to_str().unwrap()]);
        let m = ours["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"].as_str().map(Path::new) == Some(&exe.canonicalize().unwrap()))
            .cloned()
            .unwrap_or(Value::Null);
        assert!(
            m["debug_file"]
                .as_str()
                .is_some_and(|f| f.ends_with("/crash.debug")),
            "debug_file of {}: {m}",
            exe.display()
        );
    }
}

#[test]
fn c_o0() {
    c_case("c -O0", &["-g", "-O0"], Post::None);
}

#[test]
fn c_o0_omit_frame_pointer() {
    c_case(
        "c -O0 -fomit-frame-pointer",
        &["-g", "-O0", "-fomit-frame-pointer"],
        Post::None,
    );
}

#[test]
fn c_o2() {
    c_case("c -O2", &["-g", "-O2"], Post::None);
}

#[test]
fn c_o2_dwarf4() {
    c_case("c -O2 -gdwarf-4", &["-g", "-O2", "-gdwarf-4"], Post::None);
}

#[test]
fn c_o2_dwarf5_zlib() {
    c_case(
        "c -O2 -gdwarf-5 -gz=zlib",
        &["-g", "-O2", "-gdwarf-5", "-gz=zlib"],
        Post::None,
    );
}

/// zstd-compressed debug sections (`ELFCOMPRESS_ZSTD`). Debian 12's gcc and binutils cannot
/// write them (`-gz=zstd` is refused, objcopy leaves the sections uncompressed), so
/// tests/helpers/zstd_debug.py compresses them as `ld --compress-debug-sections=zstd` would;
/// gdb 13 reads them.
#[test]
fn c_o2_zstd() {
    if !tool("zstd") || !tool("python3") {
        skip("zstd or python3 is not installed");
        return;
    }
    c_case(
        "c -O2 zstd sections",
        &["-g", "-O2", "-gdwarf-5"],
        Post::Zstd,
    );
}

#[test]
fn c_o2_no_pie() {
    c_case("c -O2 -no-pie", &["-g", "-O2", "-no-pie"], Post::None);
}

#[test]
fn c_o2_static() {
    c_case("c -O2 -static", &["-g", "-O2", "-static"], Post::None);
}

#[test]
fn c_o2_stripped() {
    c_case("c -O2 stripped", &["-g", "-O2"], Post::Strip);
}

#[test]
fn c_o2_separate_debug_file() {
    c_case("c -O2 .gnu_debuglink", &["-g", "-O2"], Post::SplitDebug);
}

/// No `.eh_frame` for the program's own code and no frame pointers: its CFI is only in
/// `.debug_frame`, which the split moves to the separate debug file (the stripped binary keeps
/// none), where the unwinder must find it as gdb does.
#[test]
fn c_o2_debug_frame_only_in_separate_debug_file() {
    c_case(
        "c -O2 .debug_frame in the .gnu_debuglink file",
        &[
            "-g",
            "-O2",
            "-fomit-frame-pointer",
            "-fno-asynchronous-unwind-tables",
            "-fno-unwind-tables",
        ],
        Post::SplitDebug,
    );
    if !can_test(&["gcc", "gdb", "readelf", "objcopy", "strip"]) {
        return;
    }
    // And the frames of the program were found by that CFI, not by a stack scan.
    let d = tempfile::tempdir().unwrap();
    let flags = [
        "-g",
        "-O2",
        "-fomit-frame-pointer",
        "-fno-asynchronous-unwind-tables",
        "-fno-unwind-tables",
    ];
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &flags,
        Post::SplitDebug,
    );
    let (_run, core) = crash(&exe, "segv", SIGSEGV);
    let v = backtrace_json(&core, &[]);
    let exe = exe.canonicalize().unwrap();
    let methods: Vec<(String, String)> = v["threads"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .filter(|f| f["module"].as_str().map(Path::new) == Some(exe.as_path()))
        .map(|f| {
            (
                f["function"].as_str().unwrap_or("?").to_string(),
                f["method"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    assert!(methods.len() >= 3, "{methods:?}");
    assert!(
        methods.iter().all(|(_, m)| m == "cfi"),
        "callers in the program not found by .debug_frame CFI: {methods:?}"
    );
}

const CXX_MODES: &[(&str, i64)] = &[("throw", SIGABRT), ("segv", SIGSEGV)];

#[test]
fn cxx_uncaught_exception_and_segv() {
    if !can_test(&["g++", "gdb", "readelf"]) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    for (name, opt) in [("crash_o0", "-O0"), ("crash_o2", "-O2")] {
        let exe = build_c(d.path(), name, "crash.cpp", "g++", &["-g", opt], Post::None);
        same_as_gdb(&exe, &format!("c++ {opt}"), "crash.cpp", CXX_MODES);
    }
}

const RUST_MODES: &[(&str, i64)] = &[("panic", SIGABRT), ("segv", SIGSEGV)];

#[test]
fn rust_panic_abort_and_segv() {
    if !tool("rustc") {
        skip("rustc is not installed");
        return;
    }
    if !can_test(&["gdb", "readelf"]) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    for opt in ["0", "2"] {
        let exe = build_rust(d.path(), &format!("crash_rs{opt}"), opt, &[]);
        same_as_gdb(
            &exe,
            &format!("rust opt-level={opt}"),
            "crash.rs",
            RUST_MODES,
        );
    }
}

/// The v0 symbol mangling (`_R...`), in the program's own symbols; std keeps legacy names.
#[test]
fn rust_v0_mangling() {
    if !tool("rustc") {
        skip("rustc is not installed");
        return;
    }
    if !can_test(&["gdb", "readelf"]) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_rust(
        d.path(),
        "crash_v0",
        "1",
        &["-C", "symbol-mangling-version=v0"],
    );
    same_as_gdb(&exe, "rust v0 mangling", "crash.rs", RUST_MODES);
    // Without DWARF the names come from the symbol table, demangled as gdb demangles them.
    must(Command::new("strip").arg("--strip-debug").arg(&exe));
    same_as_gdb(&exe, "rust v0 mangling, no DWARF", "crash.rs", RUST_MODES);
}

// ---- bad input ----

/// A -O0 build of crash.c and the core of its `segv` mode.
struct Sample {
    _build: tempfile::TempDir,
    _run: tempfile::TempDir,
    exe: PathBuf,
    core: PathBuf,
}

fn sample() -> Option<Sample> {
    if !can_test(&["gcc"]) {
        return None;
    }
    let b = tempfile::tempdir().unwrap();
    let exe = build_c(
        b.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O0"],
        Post::None,
    );
    let (r, core) = crash(&exe, "segv", SIGSEGV);
    Some(Sample {
        _build: b,
        _run: r,
        exe,
        core,
    })
}

fn backtrace(core: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["backtrace", core.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    run(&args)
}

/// ELF64 program headers of type PT_LOAD: (file offset, file size).
fn pt_loads(core: &[u8]) -> Vec<(usize, usize)> {
    let u16_at = |o: usize| u16::from_le_bytes(core[o..o + 2].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(core[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum)
        .map(|i| phoff + i * phentsize)
        .filter(|&h| u32::from_le_bytes(core[h..h + 4].try_into().unwrap()) == 1)
        .map(|h| (u64_at(h + 8), u64_at(h + 32)))
        .filter(|&(_, size)| size > 0)
        .collect()
}

#[test]
fn truncated_core_headers() {
    let Some(s) = sample() else { return };
    let data = std::fs::read(&s.core).unwrap();
    let cut = s.core.with_file_name("core.1000");
    std::fs::write(&cut, &data[..1000]).unwrap();
    assert_error(&backtrace(&cut, &[]), &["core.1000"]);
}

#[test]
fn core_cut_inside_memory_never_panics() {
    let Some(s) = sample() else { return };
    let data = std::fs::read(&s.core).unwrap();
    let loads = pt_loads(&data);
    assert!(loads.len() > 3, "{} PT_LOADs", loads.len());
    let (first, _) = loads[0];
    let end = loads.iter().map(|&(o, n)| o + n).max().unwrap();
    // Inside the first segment with data (the executable's headers), in the middle of all the
    // memory, and inside the last one (the stack or the vDSO, usually).
    let (last, last_len) = *loads.last().unwrap();
    for at in [
        first + loads[0].1 / 2,
        (first + end) / 2,
        last + last_len / 2,
    ] {
        let cut = s.core.with_file_name(format!("core.{at}"));
        std::fs::write(&cut, &data[..at]).unwrap();
        let o = backtrace(&cut, &["--exe", s.exe.to_str().unwrap()]);
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "cut at {at}: {err}");
        match o.status.code() {
            Some(0) => {
                let v = json(&o);
                assert!(v["threads"].is_array(), "cut at {at}: {v}");
                // Reported as truncated, with the whole core's size and the limit to raise.
                let t = &v["truncated"];
                assert_eq!(t["file_bytes"], at as u64, "cut at {at}: {t}");
                assert_eq!(t["needed_bytes"], end as u64, "cut at {at}: {t}");
                let missing = t["missing_bytes"].as_u64().unwrap();
                assert!(
                    missing > 0 && missing <= (end - at) as u64,
                    "cut at {at}: {t}"
                );
                let kib = (end as u64).div_ceil(1024);
                let raise = t["raise"].as_str().unwrap();
                assert!(raise.contains(&format!("ulimit -c {kib}")), "{raise}");
                assert!(err.contains("the core is truncated"), "cut at {at}: {err}");
            }
            Some(2) => assert_eq!(err.trim_end().lines().count(), 1, "cut at {at}: {err}"),
            c => panic!("cut at {at}: exit {c:?}, stderr: {err}"),
        }
    }
}

/// A core the kernel cut at the core size limit (`ulimit -c`), as a real crash under a low
/// limit leaves it: reported as truncated, with the limit that would have held the whole core;
/// a crash under that limit leaves a whole core with the full backtrace; and what the cut core
/// still holds (the registers of the crashing thread) gives its innermost frame, as gdb does.
#[test]
fn core_cut_by_the_size_limit_names_the_limit_that_holds_it() {
    let Some(s) = sample() else { return };
    let whole = backtrace_json(&s.core, &["--exe", s.exe.to_str().unwrap()]);
    assert!(whole["truncated"].is_null(), "{}", whole["truncated"]);
    let whole_fns = crashed_functions(&whole);
    let mut raise_to = None;
    // The sample's core is about 25 MB long but sparse (the threads' stacks are mostly holes):
    // the kernel writes about 170 KiB of it, and the limit counts what is written.
    for limit in ["64", "128"] {
        let (_run, core) = crash_limited(&s.exe, "segv", SIGSEGV, limit);
        let size = std::fs::metadata(&core).unwrap().len();
        let o = backtrace(&core, &["--exe", s.exe.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "limit {limit}: {}", stderr(&o));
        let v = json(&o);
        let t = &v["truncated"];
        assert_eq!(t["file_bytes"], size, "limit {limit}: {t}");
        let needed = t["needed_bytes"].as_u64().unwrap();
        assert!(needed > size, "limit {limit}: {t}");
        let kib = needed.div_ceil(1024);
        assert!(
            t["raise"]
                .as_str()
                .unwrap()
                .contains(&format!("ulimit -c {kib}")),
            "limit {limit}: {t}"
        );
        assert!(
            stderr(&o).contains(&format!("ulimit -c {kib}")),
            "{}",
            stderr(&o)
        );
        // The crashing thread's registers are in the notes, written first: its innermost
        // frame is there, and it is the whole core's.
        let frames = v["threads"][0]["frames"].as_array().unwrap();
        assert!(!frames.is_empty(), "limit {limit}: {v}");
        assert_eq!(frames[0]["function"], whole_fns[0], "limit {limit}");
        if can_test(&["gdb"]) {
            let gdb = gdb_frames(&s.exe, &core);
            let tid = &v["threads"][0]["tid"];
            let gt = gdb["threads"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| &t["tid"] == tid)
                .unwrap_or_else(|| panic!("gdb has no thread {tid}: {gdb}"));
            let g0 = &gt["frames"][0];
            assert_eq!(hex(&frames[0]["pc"]), hex(&g0["pc"]), "limit {limit}: {g0}");
        }
        raise_to = Some(kib);
    }
    // Raised as the advice says, the same crash leaves a whole core.
    let kib = raise_to.unwrap().to_string();
    let (_run, core) = crash_limited(&s.exe, "segv", SIGSEGV, &kib);
    let v = backtrace_json(&core, &["--exe", s.exe.to_str().unwrap()]);
    assert!(
        v["truncated"].is_null(),
        "ulimit -c {kib}: {}",
        v["truncated"]
    );
    assert_eq!(crashed_functions(&v), whole_fns);
    // Under a limit that cuts even the notes, no thread's registers are left: one line, exit
    // 2, and the same advice.
    let (_run, core) = crash_limited(&s.exe, "segv", SIGSEGV, "8");
    let o = backtrace(&core, &["--exe", s.exe.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("truncated core") && err.contains(&format!("ulimit -c {kib}")),
        "{err}"
    );
}

/// `CMD ARGS < input > output`, which must succeed.
fn filter(cmd: &str, args: &[&str], input: &Path, output: &Path) {
    let o = Command::new(cmd)
        .args(args)
        .stdin(std::fs::File::open(input).unwrap())
        .stdout(std::fs::File::create(output).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{cmd} {args:?}: {}", stderr(&o));
}

/// The function names of the first (crashing) thread's frames.
fn crashed_functions(v: &Value) -> Vec<Value> {
    v["threads"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].clone())
        .collect()
}

/// The parts of a backtrace that must not depend on how the core was stored.
fn same_backtrace(v: &Value) -> Value {
    serde_json::json!({
        "threads": v["threads"],
        "modules": v["modules"],
        "crash_signature": v["crash_signature"],
        "signal": v["signal"],
        "pid": v["pid"],
    })
}

/// Cores compressed as systemd-coredump stores them (the zstd, lz4 and xz tools write the same
/// frame formats as systemd's compress.c; systemd-coredump itself cannot run here, PID 1 is not
/// systemd), named as it names them, give the uncompressed core's backtrace. A core cut before
/// compression (what `ProcessSizeMax=` leaves) names systemd's limit; a compressed file cut in
/// the middle still gives what it holds; garbage and a decompression bomb are one-line errors.
#[test]
fn compressed_cores_as_systemd_coredump_stores_them() {
    if !can_test(&["zstd", "lz4", "xz"]) {
        return;
    }
    let Some(s) = sample() else { return };
    let exe = s.exe.to_str().unwrap();
    let plain = backtrace_json(&s.core, &["--exe", exe]);
    let store = tempfile::tempdir().unwrap();
    let dir = store.path().join("var/lib/systemd/coredump");
    std::fs::create_dir_all(&dir).unwrap();
    let pid = plain["pid"].as_i64().unwrap();
    let name = |ext: &str| {
        dir.join(format!(
            "core.crash.0.8f2c3a2d1e0b4c5d9e8f7a6b5c4d3e2f.{pid}.1764691200000000.{ext}"
        ))
    };
    for (cmd, args, ext) in [
        ("zstd", &["-q", "-c"][..], "zst"),
        ("lz4", &["-q", "-c"][..], "lz4"),
        ("xz", &["-q", "-c"][..], "xz"),
    ] {
        let c = name(ext);
        filter(cmd, args, &s.core, &c);
        let v = backtrace_json(&c, &["--exe", exe]);
        assert_eq!(same_backtrace(&v), same_backtrace(&plain), "{ext}");
        assert!(v["truncated"].is_null(), "{ext}: {}", v["truncated"]);
        assert_eq!(v["warnings"], plain["warnings"], "{ext}");
    }

    // Cut before compression, as systemd-coredump cuts at ProcessSizeMax=.
    let data = std::fs::read(&s.core).unwrap();
    let loads = pt_loads(&data);
    let end = loads.iter().map(|&(o, n)| o + n).max().unwrap();
    let at = loads[loads.len() / 2].0 + 4096;
    let cut_plain = store.path().join("cut");
    std::fs::write(&cut_plain, &data[..at]).unwrap();
    let c = name("zst");
    filter("zstd", &["-q", "-c"], &cut_plain, &c);
    let o = backtrace(&c, &["--exe", exe]);
    let v = json(&o);
    let t = &v["truncated"];
    assert_eq!(t["file_bytes"], at as u64, "{t}");
    assert_eq!(t["needed_bytes"], end as u64, "{t}");
    let raise = t["raise"].as_str().unwrap();
    let mib = (end as u64).div_ceil(1 << 20);
    assert!(
        raise.contains("ProcessSizeMax=") && raise.contains(&format!("{mib}M")),
        "{raise}"
    );
    assert_eq!(
        v["threads"][0]["frames"][0], plain["threads"][0]["frames"][0],
        "the crashing thread's innermost frame is in the notes"
    );

    // A compressed file cut in the middle of its stream.
    let whole = name("lz4");
    filter("lz4", &["-q", "-c"], &s.core, &whole);
    let z = std::fs::read(&whole).unwrap();
    for frac in [2, 4] {
        let cut = dir.join(format!("core.cut{frac}.lz4"));
        std::fs::write(&cut, &z[..z.len() * (frac - 1) / frac]).unwrap();
        let o = backtrace(&cut, &["--exe", exe]);
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{err}");
        match o.status.code() {
            Some(0) => {
                let v = json(&o);
                assert!(err.contains("lz4 stream ends early"), "{err}");
                assert!(!v["truncated"].is_null(), "{v}");
            }
            Some(2) => assert_eq!(err.trim_end().lines().count(), 1, "{err}"),
            c => panic!("lz4 cut at 1/{frac}: exit {c:?}: {err}"),
        }
    }

    // Garbage after a zstd magic, and a bomb: 256 MiB of zeros in a few kB.
    let garbage = dir.join("core.garbage.zst");
    let mut g = vec![0x28, 0xb5, 0x2f, 0xfd];
    g.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    std::fs::write(&garbage, &g).unwrap();
    assert_error(&backtrace(&garbage, &[]), &["core.garbage.zst", "zstd"]);
    let zeros = store.path().join("zeros");
    let f = std::fs::File::create(&zeros).unwrap();
    f.set_len(256 << 20).unwrap();
    let bomb = dir.join("core.bomb.zst");
    filter("zstd", &["-q", "-c"], &zeros, &bomb);
    assert!(std::fs::metadata(&bomb).unwrap().len() < 1 << 20);
    assert_error(
        &backtrace(&bomb, &["--max-core-size", "16Mi"]),
        &[
            "core.bomb.zst",
            "more than 16777216 bytes",
            "--max-core-size",
        ],
    );
}

#[test]
fn core_of_another_architecture() {
    let Some(s) = sample() else { return };
    let mut data = std::fs::read(&s.core).unwrap();
    data[18..20].copy_from_slice(&183u16.to_le_bytes()); // e_machine = EM_AARCH64
    let p = s.core.with_file_name("core.aarch64");
    std::fs::write(&p, &data).unwrap();
    let o = backtrace(&p, &[]);
    assert_error(&o, &[]);
    assert!(
        stderr(&o).to_lowercase().contains("unsupported"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn not_a_core() {
    let d = tempfile::tempdir().unwrap();
    let text = d.path().join("notes.txt");
    std::fs::write(&text, "this is not an ELF file\n").unwrap();
    assert_error(&backtrace(&text, &[]), &["notes.txt"]);
    let empty = d.path().join("empty-core");
    std::fs::write(&empty, "").unwrap();
    assert_error(&backtrace(&empty, &[]), &["empty-core"]);
    let missing = d.path().join("no-such-core");
    assert_error(&backtrace(&missing, &[]), &["no-such-core"]);
    // An ELF file that is not a core: the program itself.
    if let Some(s) = sample() {
        let o = backtrace(&s.exe, &[]);
        assert_error(&o, &[]);
        assert!(stderr(&o).to_lowercase().contains("core"), "{}", stderr(&o));
    }
}

#[test]
fn wrong_executable_is_a_warning() {
    let Some(s) = sample() else { return };
    let d = tempfile::tempdir().unwrap();
    let other = build_c(
        d.path(),
        "other",
        "crash.c",
        "gcc",
        &["-g", "-O2"],
        Post::None,
    );
    assert_ne!(build_id(&other), build_id(&s.exe));
    let v = json(&backtrace(&s.core, &["--exe", other.to_str().unwrap()]));
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap_or("").to_lowercase();
            w.contains("build id") || w.contains("build-id")
        }),
        "no build-ID warning: {warnings:?}"
    );
    assert!(
        v["modules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["build_id_mismatch"] == true),
        "{}",
        v["modules"]
    );
}

#[test]
fn executable_gone_still_prints_frames() {
    let Some(s) = sample() else { return };
    let exe = s.exe.canonicalize().unwrap();
    let exe_str = exe.to_str().unwrap().to_string();
    let moved = tempfile::tempdir().unwrap();
    std::fs::rename(&exe, moved.path().join("crash")).unwrap();
    let v = json(&backtrace(&s.core, &[]));
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap_or("").contains(&exe_str)),
        "no warning names {exe_str}: {warnings:?}"
    );
    let module = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == exe_str.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no module {exe_str}: {}", v["modules"]));
    assert_eq!(module["found"], false, "{module}");
    let frames = v["threads"][0]["frames"].as_array().unwrap();
    // fault_here, in the executable, is frame 0.
    let f0 = &frames[0];
    assert_eq!(f0["module"], exe_str.as_str(), "{f0}");
    assert_eq!(f0["method"], "context", "{f0}");
    assert_eq!(
        hex(&f0["module_offset"]),
        hex(&f0["pc"])
            .zip(hex(&module["load_bias"]))
            .map(|(p, b)| p - b),
        "module_offset = pc - load_bias: {f0}, {module}"
    );
    for f in frames.iter().filter(|f| f["module"] == exe_str.as_str()) {
        assert!(f["function"].is_null(), "{f}");
        assert!(hex(&f["module_offset"]).is_some(), "{f}");
    }
}

#[test]
fn sysroot_gives_the_same_backtrace() {
    let Some(s) = sample() else { return };
    let exe = s.exe.canonicalize().unwrap();
    let normal = json(&backtrace(&s.core, &[]));
    // Copy every module, its separate debug file and /usr/lib/debug/.build-id file into the
    // sysroot under the same path, then take the executable away from its own path.
    let root = tempfile::tempdir().unwrap();
    let copy = |p: &Path| {
        let to = root.path().join(p.strip_prefix("/").unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(p, &to).unwrap_or_else(|e| panic!("copy {}: {e}", p.display()));
    };
    for m in normal["modules"].as_array().unwrap() {
        for key in ["path", "debug_file"] {
            if let Some(p) = m[key].as_str().map(Path::new) {
                if p.is_file() {
                    copy(p);
                }
            }
        }
        if let Some(id) = m["build_id"].as_str().filter(|id| id.len() > 2) {
            let dbg = PathBuf::from(format!(
                "/usr/lib/debug/.build-id/{}/{}.debug",
                &id[..2],
                &id[2..]
            ));
            if dbg.is_file() {
                copy(&dbg);
            }
        }
    }
    let moved = tempfile::tempdir().unwrap();
    std::fs::rename(&exe, moved.path().join("crash")).unwrap();
    let v = json(&backtrace(
        &s.core,
        &["--sysroot", root.path().to_str().unwrap()],
    ));
    assert!(!v["executable"].is_null(), "{}", v["executable"]);
    assert_eq!(
        v["threads"], normal["threads"],
        "--sysroot gave other frames"
    );
    assert_eq!(v["signal"], normal["signal"]);
    assert_eq!(v["crash_signature"], normal["crash_signature"]);
}

/// `symbolize --text --core`: gdb-style `#N 0xPC in ?? ()` lines of the crashed thread, with
/// absolute addresses, resolved through the core's NT_FILE map, name the same functions as the
/// backtrace of that core (the outermost function at each pc).
#[test]
fn symbolize_text_takes_the_map_from_a_core() {
    if !can_test(&["gcc", "gdb", "readelf", "objcopy", "strip"]) {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2"],
        Post::None,
    );
    let (_dir, core) = crash(&exe, "segv", SIGSEGV);
    let bt = backtrace_json(&core, &[]);
    let mut text = String::new();
    let mut expect = Vec::new();
    let frames = bt["threads"][0]["frames"].as_array().unwrap();
    for (i, f) in frames.iter().enumerate() {
        // One line per pc: the last frame of an inline group is the real function.
        if frames.get(i + 1).is_some_and(|n| n["pc"] == f["pc"]) || f["signal_frame"] == true {
            continue;
        }
        let Some(name) = f["function"].as_str() else {
            continue;
        };
        text.push_str(&format!("#{i} {} in ?? ()\n", f["pc"].as_str().unwrap()));
        expect.push(name.to_string());
    }
    assert!(expect.len() >= 4, "too few frames: {bt}");
    let input = d.path().join("gdb.txt");
    std::fs::write(&input, &text).unwrap();
    let o = run(&[
        "symbolize",
        "--text",
        input.to_str().unwrap(),
        "--core",
        core.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), expect.len(), "{out}");
    for (line, name) in lines.iter().zip(&expect) {
        // C names: the rewriter and the backtrace agree exactly (gdb names these frames alike).
        assert!(
            line.contains(&format!("# {name} "))
                || line.contains(&format!("(inlined by) {name} "))
                || line.contains(&format!(" {name} at")),
            "{line:?} should name {name}\n{out}"
        );
    }
    // A core without NT_FILE cannot resolve anything: a clear error.
    let not_core = run(&[
        "symbolize",
        "--text",
        input.to_str().unwrap(),
        "--core",
        exe.to_str().unwrap(),
    ]);
    assert_error(&not_core, &["core"]);
}

/// A corrupted `.eh_frame` (the executable's copy overwritten with garbage, `--exe` pointing at
/// it): never a panic; frame 0 still comes from the registers, the frames the CFI cannot give are
/// found by the frame pointer or the scan (marked so), and libc's frames above are unaffected.
#[test]
fn corrupted_eh_frame_is_survived() {
    let Some(s) = sample() else { return };
    let out = Command::new("readelf")
        .args(["-SW"])
        .arg(&s.exe)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // "[Nr] Name Type Address Off Size ..." for .eh_frame
    let line = text
        .lines()
        .find(|l| l.contains(" .eh_frame ") || l.trim_end().ends_with(".eh_frame"))
        .unwrap_or_else(|| panic!("no .eh_frame in {text}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    let at = cols.iter().position(|c| *c == ".eh_frame").unwrap();
    let off = usize::from_str_radix(cols[at + 3], 16).unwrap();
    let size = usize::from_str_radix(cols[at + 4], 16).unwrap();
    let mut bytes = std::fs::read(&s.exe).unwrap();
    let mut x: u32 = 12345;
    for b in &mut bytes[off..off + size] {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        *b = (x >> 16) as u8;
    }
    let bad = s.exe.with_file_name("crash-bad-eh-frame");
    std::fs::write(&bad, &bytes).unwrap();
    let o = backtrace(&s.core, &["--exe", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"));
    let v = json(&o);
    let frames = v["threads"][0]["frames"].as_array().unwrap();
    assert_eq!(frames[0]["method"], "context", "{}", v["threads"][0]);
    assert_eq!(frames[0]["function"], "fault_here", "{}", v["threads"][0]);
    // Frame 1 (the caller of fault_here, -O0 keeps frame pointers) is found without CFI.
    let f1 = &frames[1];
    assert!(
        f1["method"] == "fp" || f1["method"] == "scan",
        "frame 1 should come from the frame pointer or the scan: {f1}"
    );
    assert!(
        frames.iter().any(|f| f["function"] == "main"),
        "main is reached through the frame-pointer chain: {}",
        v["threads"][0]
    );
}

/// A core the user may not read (mode 0600, owned by root, read as nobody) and a directory given
/// as the core: one line, exit 2.
#[test]
fn unreadable_core_and_directory() {
    assert_error(&run(&["backtrace", "/tmp"]), &["/tmp", "directory"]);
    if !is_root() || !tool("setpriv") {
        skip("needs root and setpriv to read a core as nobody");
        return;
    }
    let Some(s) = sample() else { return };
    let dir = tempfile::tempdir().unwrap();
    let core = dir.path().join("core");
    std::fs::copy(&s.core, &core).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&core, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin(),
            "backtrace",
        ])
        .arg(&core)
        .output()
        .unwrap();
    assert_error(&o, &["permission denied"]);
}

/// A process killed (by PID) and reaped when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// debuginfod, only when asked. A real elfutils `debuginfod` on loopback indexes a directory
/// holding the program stripped of its DWARF and the DWARF in a file of its own; the program
/// is taken away from the path it ran from. Without DEBUGINFOD_URLS nothing is fetched (the
/// program's frames have no names) and `--debuginfod` alone is a usage error (exit 2). With
/// DEBUGINFOD_URLS the executable and its debug file are fetched by the build IDs in the core,
/// cached as elfutils lays its cache out (`BUILDID/executable`, `BUILDID/debuginfo`), and the
/// backtrace is the one of the unstripped program in place. A second run reads the cache only
/// (the server is stopped first).
#[test]
fn debuginfod_only_when_asked() {
    if !can_test(&["gcc", "objcopy", "strip"]) {
        return;
    }
    if Command::new("debuginfod").arg("--help").output().is_err() {
        skip("debuginfod (Debian package debuginfod) is not installed");
        return;
    }
    let b = tempfile::tempdir().unwrap();
    let exe = build_c(
        b.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O0"],
        Post::None,
    );
    let (_run, core) = crash(&exe, "segv", SIGSEGV);
    let normal = json(&backtrace(&core, &[]));
    let id = build_id(&exe).expect("build ID");

    let served = tempfile::tempdir().unwrap();
    must(
        Command::new("objcopy")
            .arg("--only-keep-debug")
            .arg(&exe)
            .arg(served.path().join("crash.debug")),
    );
    std::fs::copy(&exe, served.path().join("crash")).unwrap();
    must(
        Command::new("strip")
            .arg("--strip-debug")
            .arg(served.path().join("crash")),
    );
    let away = tempfile::tempdir().unwrap();
    std::fs::rename(&exe, away.path().join("crash")).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let ours = |env: &[(&str, String)], extra: &[&str]| -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clw-diag"));
        c.args(["backtrace", core.to_str().unwrap(), "--json"])
            .args(extra)
            .env_remove("DEBUGINFOD_URLS")
            .env("DEBUGINFOD_CACHE_PATH", cache.path());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };

    // Not asked: nothing fetched.
    let o = ours(&[], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    let exe_path = normal["executable"].as_str().unwrap();
    for f in v["threads"][0]["frames"].as_array().unwrap() {
        if f["module"] == exe_path {
            assert!(f["function"].is_null() && f["line"].is_null(), "{f}");
        }
    }
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    let o = ours(&[], &["--debuginfod"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("DEBUGINFOD_URLS"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // A server on a free loopback port, its database in a temporary directory.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = tempfile::tempdir().unwrap();
    let server = Server(
        Command::new("debuginfod")
            .arg("-F")
            .arg(served.path())
            .arg("-p")
            .arg(port.to_string())
            .arg("-d")
            .arg(db.path().join("db.sqlite"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    // Ready when it has indexed the debug file.
    let probe = format!("{url}/buildid/{id}/debuginfo");
    let start = std::time::Instant::now();
    loop {
        let ok = ureq::get(&probe)
            .call()
            .is_ok_and(|r| r.status().as_u16() == 200);
        if ok {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "debuginfod did not serve {probe} within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    let env = [("DEBUGINFOD_URLS", url.clone())];
    let o = ours(&env, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&o);
    assert_eq!(
        v["threads"], normal["threads"],
        "the backtrace through debuginfod differs from the one with the program in place"
    );
    assert_eq!(v["crash_signature"], normal["crash_signature"]);
    assert!(cache.path().join(&id).join("executable").is_file());
    assert!(cache.path().join(&id).join("debuginfo").is_file());
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("from debuginfod"), "{warnings}");

    // From the cache alone.
    drop(server);
    let o = ours(&env, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["threads"], normal["threads"]);
}

/// Regression (issue 12, "`--format` means the same everywhere"): `--format github` is
/// refused with exit 2 before any work (the core is never opened), and `--format csv` is one
/// table: one header, then one row per frame of every thread with as many fields.
#[test]
fn backtrace_github_refused_before_work_and_csv_is_one_table() {
    let o = run(&["backtrace", "/nonexistent/core", "--format", "github"]);
    assert_error(&o, &["github is not available for backtrace"]);
    assert!(!stderr(&o).contains("/nonexistent"), "{}", stderr(&o));
    let Some(s) = sample() else { return };
    let o = run(&["backtrace", s.core.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut r = csv::ReaderBuilder::new().from_reader(o.stdout.as_slice());
    let header = r.headers().unwrap().clone();
    assert_eq!(&header[0], "tid");
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let json = json(&run(&["backtrace", s.core.to_str().unwrap(), "--json"]));
    let frames: usize = json["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["frames"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows.len(), frames);
    assert!(rows.iter().all(|x| x.len() == header.len()));
}

/// "Not an ELF core" is its own error, not a usage error (issue 12, typed errors).
#[test]
fn not_a_core_is_a_typed_error() {
    use clw_diag::coredump::core::Core;
    use clw_diag::error::Error;
    let d = tempfile::tempdir().unwrap();
    let text = d.path().join("notes.txt");
    std::fs::write(&text, "this is not an ELF file\n").unwrap();
    assert!(matches!(Core::open(&text), Err(Error::NotCore { .. })));
    assert!(matches!(Core::open(d.path()), Err(Error::NotCore { .. })));
    let exe = std::path::Path::new("/bin/true");
    if exe.is_file() {
        match Core::open(exe) {
            Err(Error::NotCore { why, .. }) => assert!(why.contains("not a core dump"), "{why}"),
            other => panic!("{:?}", other.err()),
        }
    }
}

/// Progress goes to stderr only on a terminal (issue 12, item 7): nothing when redirected, a
/// spinner naming the core under a pseudo-terminal (`script`).
#[test]
fn backtrace_progress_only_on_a_terminal() {
    let Some(s) = sample() else { return };
    let o = run(&["backtrace", s.core.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("backtrace: "), "{}", stderr(&o));
    let Some(tty) = on_pty(&format!("{} backtrace {}", bin(), s.core.display())) else {
        return;
    };
    assert!(
        tty.contains("clw-diag: backtrace: unwinding and symbolizing"),
        "no progress on a terminal:\n{tty}"
    );
    assert!(tty.contains("Signature: SIGSEGV"), "{tty}");
}

// ---------------------------------------------------------------------------------------------
// `backtrace --pid`: live processes, compared with `gdb -p PID` (gdb_frames.py attached).
// The crash programs' `hang` and `spin` modes park the helper threads as for the cores, then
// block (C: pause(); C++: a condition variable; Rust: a sleep) or spin in the main thread and
// print "ready". Blocked threads must match gdb frame for frame (pc, function, file, line,
// inline frames); a spinning thread moves between the two attaches, so its innermost physical
// frame is compared by function only, and the frames above it fully.
// ---------------------------------------------------------------------------------------------

/// A running helper program, killed and reaped on drop.
struct Parked {
    child: std::process::Child,
}

impl Parked {
    /// Start `exe mode` and wait (at most 20 s) for its "ready" line.
    fn start(exe: &Path, mode: &str) -> Parked {
        use std::io::BufRead;
        let mut child = Command::new(exe)
            .arg(mode)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_default();
        assert_eq!(
            line.trim(),
            "ready",
            "{} {mode} did not get ready",
            exe.display()
        );
        // Let the blocked call be entered after the line.
        std::thread::sleep(std::time::Duration::from_millis(100));
        Parked { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// gdb's frames of every thread of a live process (`gdb -p PID`, detached at the end).
fn gdb_live(pid: u32) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gdb-frames.json");
    let o = Command::new("gdb")
        .args(["-batch", "-nx"])
        .args(["-ex", "set debuginfod enabled off"])
        .args(["-ex", "set backtrace past-main on"])
        .arg("-ex")
        .arg(format!(
            "source {}",
            helpers().join("gdb_frames.py").display()
        ))
        .args(["-p", &pid.to_string()])
        .env("GDB_FRAMES_OUT", &out)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| {
        panic!(
            "gdb -p wrote no {} ({e}): {:?}\n{}",
            out.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
    });
    serde_json::from_str(&text).unwrap()
}

/// The state letter of every thread of `pid` (`/proc/PID/task/TID/stat` field 3).
fn thread_states(pid: u32) -> Vec<(String, char)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let e = e.unwrap();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.trim_start().chars().next())
            .unwrap_or('?');
        out.push((e.file_name().to_string_lossy().into_owned(), state));
    }
    out
}

/// The target runs on: no thread in a ptrace or group stop, no tracer left attached.
fn still_running(pid: u32) -> Result<(), String> {
    let states = thread_states(pid);
    if states.iter().any(|(_, s)| matches!(s, 't' | 'T')) {
        return Err(format!("threads left stopped: {states:?}"));
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let tracer = status
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))
        .map(str::trim);
    if tracer != Some("0") {
        return Err(format!("still traced: TracerPid {tracer:?}"));
    }
    Ok(())
}

/// Compare `backtrace --pid` (with `extra` flags) with gdb on a parked program; `spinning`:
/// the main thread is in a busy loop.
fn compare_live(
    label: &str,
    exe: &Path,
    mode: &str,
    spinning: bool,
    extra: &[&str],
) -> Vec<String> {
    let p = Parked::start(exe, mode);
    compare_pid(label, p.pid(), spinning, extra)
}

/// [`compare_live`] on a process already running.
fn compare_pid(label: &str, pid: u32, spinning: bool, extra: &[&str]) -> Vec<String> {
    let gdb = gdb_live(pid);
    let mut args = vec!["backtrace", "--pid"];
    let pid_s = pid.to_string();
    args.push(&pid_s);
    args.push("--json");
    args.extend_from_slice(extra);
    let o = run(&args);
    let mut errs = Vec::new();
    let mut err = |m: String| errs.push(format!("{label}: {m}"));
    if let Err(e) = still_running(pid) {
        err(format!("after backtrace --pid: {e}"));
    }
    if !o.status.success() {
        err(format!("backtrace --pid failed: {}", stderr(&o)));
        return errs;
    }
    let ours: Value = serde_json::from_slice(&o.stdout).unwrap();
    if ours["core"] != Value::Null || ours["live"].is_null() || ours["pid"] != pid {
        err(format!(
            "core {} live {} pid {}",
            ours["core"], ours["live"], ours["pid"]
        ));
    }
    let gthreads = gdb["threads"].as_array().unwrap();
    let othreads = ours["threads"].as_array().cloned().unwrap_or_default();
    let mut gtids: Vec<i64> = gthreads.iter().filter_map(|t| t["tid"].as_i64()).collect();
    let mut otids: Vec<i64> = othreads.iter().filter_map(|t| t["tid"].as_i64()).collect();
    if othreads.first().map(|t| &t["tid"]) != Some(&Value::from(pid)) {
        err(format!("the main thread must come first: {otids:?}"));
    }
    gtids.sort_unstable();
    otids.sort_unstable();
    if gtids != otids {
        err(format!("thread ids: gdb {gtids:?}, ours {otids:?}"));
    }
    // Each thread's pause is reported, and bounded (a loaded machine runs other tests).
    for t in &othreads {
        match t["paused_us"].as_u64() {
            Some(us) if us < 500_000 => {}
            other => err(format!("thread {}: paused_us {other:?}", t["tid"])),
        }
        if t["state"].as_str().is_none_or(str::is_empty) || t["location"].as_str().is_none() {
            err(format!(
                "thread {}: state {} location {}",
                t["tid"], t["state"], t["location"]
            ));
        }
    }
    for gt in gthreads {
        let tid = &gt["tid"];
        let Some(ot) = othreads.iter().find(|t| &t["tid"] == tid) else {
            continue;
        };
        let g: Vec<Row> = gt["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["type"] != "TAILCALL")
            .map(Row::gdb)
            .collect();
        let o: Vec<Row> = ot["frames"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(Row::ours)
            .collect();
        let (mut g, mut o) = (g, o);
        if spinning && tid.as_i64() == Some(pid as i64) {
            // The innermost physical frame moved on between the two attaches (its pc, and so
            // the functions inlined there): it must be the same function on both sides; the
            // frames above it are compared fully.
            let group = |v: &[Row]| {
                v.iter()
                    .take_while(|r| Some(r.pc) == v.first().map(|f| f.pc))
                    .count()
                    .max(1)
            };
            let (ng, no) = (group(&g), group(&o));
            let (gl, ol) = (&g[ng - 1], &o[no - 1]);
            if !(gl.name == ol.name || (gl.alt_name.is_some() && gl.alt_name == ol.name)) {
                err(format!(
                    "thread {tid}: spinning in {:?} (gdb) and {:?} (ours)",
                    gl.name, ol.name
                ));
            }
            g.drain(..ng);
            o.drain(..no);
        }
        let first_bad = (0..g.len().max(o.len())).find(|&i| match (g.get(i), o.get(i)) {
            (Some(a), Some(b)) => frame_diff(a, b, o.get(i + 1)).is_some(),
            _ => true,
        });
        if let Some(i) = first_bad {
            err(format!(
                "thread {tid}: {} frames in gdb, {} in ours; frame {i} differs\n{}",
                g.len(),
                o.len(),
                side_by_side(&g, &o)
            ));
        }
    }
    if let Err(e) = still_running(pid) {
        err(format!("at the end: {e}"));
    }
    errs
}

fn same_as_gdb_live(exe: &Path, build: &str, extra: &[&str]) {
    let mut errs = Vec::new();
    for (mode, spinning) in [("hang", false), ("spin", true)] {
        errs.extend(compare_live(
            &format!("{build} {mode}"),
            exe,
            mode,
            spinning,
            extra,
        ));
    }
    assert!(
        errs.is_empty(),
        "{} difference(s) from gdb -p:\n\n{}",
        errs.len(),
        errs.join("\n\n")
    );
}

fn can_attach() -> bool {
    if !tool("gdb") || !tool("gcc") {
        skip("needs gdb and gcc");
        return false;
    }
    true
}

#[test]
fn live_c_o0() {
    if !can_attach() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O0"],
        Post::None,
    );
    same_as_gdb_live(&exe, "C -O0", &[]);
}

#[test]
fn live_c_o2_omit_frame_pointer() {
    if !can_attach() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2", "-fomit-frame-pointer"],
        Post::None,
    );
    same_as_gdb_live(&exe, "C -O2 -fomit-frame-pointer", &[]);
}

#[test]
fn live_c_static_consistent() {
    if !can_attach() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2", "-static"],
        Post::None,
    );
    same_as_gdb_live(&exe, "C -O2 -static --consistent", &["--consistent"]);
}

#[test]
fn live_cxx_o2() {
    if !can_attach() || !tool("g++") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash_cxx",
        "crash.cpp",
        "g++",
        &["-g", "-O2"],
        Post::None,
    );
    same_as_gdb_live(&exe, "C++ -O2", &[]);
}

#[test]
fn live_rust() {
    if !can_attach() {
        return;
    }
    if !tool("rustc") {
        skip("rustc is not installed");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_rust(d.path(), "crash_rs", "1", &[]);
    same_as_gdb_live(&exe, "Rust -O1", &[]);
}

/// `--samples` on a spinning program: the spinning stack is seen in every snapshot, counts add
/// up, and `--folded` prints flamegraph.pl lines with the same counts.
#[test]
fn live_samples_fold_identical_stacks() {
    if !can_attach() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2"],
        Post::None,
    );
    let p = Parked::start(&exe, "spin");
    let pid = p.pid().to_string();
    let v = json(&run(&[
        "backtrace",
        "--pid",
        &pid,
        "--samples",
        "20",
        "--interval",
        "10ms",
        "--json",
    ]));
    assert_eq!(v["samples"], 20, "{v}");
    let stacks = v["stacks"].as_array().unwrap();
    let total: u64 = stacks.iter().map(|s| s["count"].as_u64().unwrap()).sum();
    assert_eq!(Some(total), v["thread_samples"].as_u64());
    // Four threads in each of 20 snapshots.
    assert_eq!(total, 80, "{v}");
    let spin = stacks
        .iter()
        .find(|s| s["functions"][0] == "spin_here")
        .unwrap_or_else(|| panic!("no stack with spin_here innermost: {v}"));
    assert_eq!(
        spin["count"], 20,
        "the spinning thread in every snapshot: {spin}"
    );
    let functions: Vec<&str> = spin["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        &functions[..6],
        &[
            "spin_here",
            "descend",
            "descend",
            "descend",
            "descend",
            "run"
        ],
        "{spin}"
    );
    assert!(
        spin["folded"]
            .as_str()
            .unwrap()
            .ends_with(";descend;spin_here"),
        "{spin}"
    );
    // The three parked threads: one stack each, 20 times.
    for key in ["park_cond", "park_sleep", "park_join"] {
        let s = stacks
            .iter()
            .find(|s| s["functions"].as_array().unwrap().iter().any(|f| f == key))
            .unwrap_or_else(|| panic!("no stack through {key}: {v}"));
        assert_eq!(s["count"], 20, "{s}");
    }
    // The table: data on stdout, the pauses' note on stderr (and gone with -q).
    let o = run(&[
        "backtrace",
        "--pid",
        &pid,
        "--samples",
        "2",
        "--interval",
        "10ms",
    ]);
    assert!(stdout(&o).contains("spin_here"), "{}", stdout(&o));
    assert!(!stdout(&o).contains("held for a median"), "{}", stdout(&o));
    assert!(stderr(&o).contains("held for a median"), "{}", stderr(&o));
    let o = run(&[
        "backtrace",
        "--pid",
        &pid,
        "--samples",
        "2",
        "--interval",
        "10ms",
        "-q",
    ]);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    let o = run(&[
        "backtrace",
        "--pid",
        &pid,
        "--samples",
        "5",
        "--interval",
        "10ms",
        "--folded",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let mut n = 0;
    for l in text.lines() {
        let (stack, count) = l.rsplit_once(' ').unwrap();
        assert!(stack.starts_with("crash;"), "{l}");
        n += count.parse::<u64>().unwrap();
    }
    assert_eq!(n, 20, "{text}");
    still_running(p.pid()).unwrap();
}

/// clw-diag killed with SIGKILL in the middle of its sampling: the kernel detaches the threads
/// it held, and the target runs on (its spinning thread keeps using CPU time).
#[test]
fn live_target_runs_on_when_clw_diag_is_killed() {
    if !can_attach() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2"],
        Post::None,
    );
    let p = Parked::start(&exe, "spin");
    let pid = p.pid();
    for round in 0..5 {
        let mut c = Command::new(bin())
            .args([
                "backtrace",
                "--pid",
                &pid.to_string(),
                "--consistent",
                "--samples",
                "100000",
                "--interval",
                "10ms",
                "-q",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150 + 37 * round));
        c.kill().unwrap();
        c.wait().unwrap();
        // The kernel detaches a dead tracer's tracees as part of its exit.
        std::thread::sleep(std::time::Duration::from_millis(50));
        if let Err(e) = still_running(pid) {
            panic!("round {round}: {e}");
        }
    }
    let utime = || -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/stat")).unwrap();
        let (_, rest) = s.rsplit_once(')').unwrap();
        rest.split_whitespace().nth(11).unwrap().parse().unwrap()
    };
    let before = utime();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        utime() > before,
        "the spinning thread got no CPU time after the kills"
    );
}

/// A process that exits while it is sampled: the snapshots taken are kept, with a warning,
/// exit 0; asked for again, it is a one-line error.
#[test]
fn live_process_exits_mid_walk() {
    if !can_attach() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2"],
        Post::None,
    );
    let mut p = Parked::start(&exe, "hang");
    let pid = p.pid().to_string();
    let c = Command::new(bin())
        .args([
            "backtrace",
            "--pid",
            &pid,
            "--samples",
            "1000",
            "--interval",
            "10ms",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    p.child.kill().unwrap();
    p.child.wait().unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = v["samples"].as_u64().unwrap();
    assert!(n > 0 && n < 1000, "{n} snapshots");
    assert!(
        v["warnings"].to_string().contains("exited after"),
        "{}",
        v["warnings"]
    );
    assert_error(&run(&["backtrace", "--pid", &pid]), &[&pid]);
}

/// Bad pids: one line, exit 2, never a panic.
#[test]
fn live_bad_pids() {
    // Nothing to read: the three ways are named.
    assert_error(
        &run(&["backtrace"]),
        &["core file", "--pid PID", "--coredump MATCH"],
    );
    // A pid that does not exist (above any default pid_max).
    assert_error(&run(&["backtrace", "--pid", "2147483647"]), &["2147483647"]);
    assert_error(&run(&["backtrace", "--pid", "0"]), &[]);
    assert_error(&run(&["backtrace", "--pid", "self"]), &["itself"]);
    // kthreadd
    let comm2 = std::fs::read_to_string("/proc/2/comm").unwrap_or_default();
    if comm2.trim() == "kthreadd" {
        assert_error(&run(&["backtrace", "--pid", "2"]), &["kernel thread"]);
    }
    // A zombie: `sh` forks `true` and execs `sleep`, which never reaps it.
    let mut parent = Command::new("sh")
        .args(["-c", "true & exec sleep 30"])
        .spawn()
        .unwrap();
    let ppid = parent.id();
    let mut zombie = None;
    for _ in 0..100 {
        let kids = std::fs::read_to_string(format!("/proc/{ppid}/task/{ppid}/children"))
            .unwrap_or_default();
        if let Some(z) = kids.split_whitespace().next() {
            let st = std::fs::read_to_string(format!("/proc/{z}/stat")).unwrap_or_default();
            if st.contains(") Z ") {
                zombie = Some(z.to_string());
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let z = zombie.expect("no zombie child appeared");
    assert_error(&run(&["backtrace", "--pid", &z]), &["zombie"]);
    let _ = parent.kill();
    let _ = parent.wait();
    // pid 1 as nobody: attaching is refused, and the message says what it needs.
    if !is_root() || !tool("setpriv") {
        skip("needs root and setpriv to attach as nobody");
        return;
    }
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin(),
            "backtrace",
            "--pid",
            "1",
        ])
        .output()
        .unwrap();
    assert_error(
        &o,
        &[
            "permission denied",
            "CAP_SYS_PTRACE",
            "kernel.yama.ptrace_scope",
        ],
    );
    still_running(1).unwrap();
}

/// A process in a real Docker container, whose executable and libc exist only in the
/// container's image (`/app/crash`, `/clibs/libc.so.6`, found through LD_LIBRARY_PATH): it is
/// symbolized through `/proc/PID/root` with the container's own files, the output says so, and
/// its frames equal gdb's (which reads the files in the process's mount namespace too).
#[test]
fn live_process_in_a_docker_container() {
    if !can_attach() {
        return;
    }
    let Some(d) = common::runtimes::Dockerd::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    for sub in ["app", "clibs", "lib64", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let exe = build_c(
        dir.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2"],
        Post::None,
    );
    std::fs::copy(&exe, root.join("app/crash")).unwrap();
    let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    std::fs::copy(libc, root.join("clibs/libc.so.6")).unwrap();
    std::fs::copy(
        "/lib64/ld-linux-x86-64.so.2",
        root.join("lib64/ld-linux-x86-64.so.2"),
    )
    .unwrap();
    let tar = dir.path().join("rootfs.tar");
    must(
        Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    );
    let image = "clw-live-bt:lab";
    let imp = d.docker(&["import", tar.to_str().unwrap(), image]);
    assert!(imp.status.success(), "{}", common::runtimes::said(&imp));
    let name = "clw-live-bt";
    let o = d.run(
        name,
        &[
            "-d",
            "--network",
            "none",
            "-e",
            "LD_LIBRARY_PATH=/clibs",
            image,
            "/app/crash",
            "hang",
        ],
    );
    assert!(o.status.success(), "{}", common::runtimes::said(&o));
    let mut pid = None;
    for _ in 0..100 {
        pid = d.host_pid(name);
        let threads = pid.map_or(0, |p| {
            std::fs::read_dir(format!("/proc/{p}/task")).map_or(0, |r| r.count())
        });
        if threads == 4 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = pid.expect("the container has no pid") as u32;
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!Path::new("/app/crash").exists() && !Path::new("/clibs").exists());
    let v = json(&run(&["backtrace", "--pid", &pid.to_string(), "--json"]));
    let root_dir = format!("/proc/{pid}/root");
    assert_eq!(v["live"]["root"], root_dir.as_str(), "{}", v["live"]);
    assert!(
        v["warnings"].to_string().contains(&root_dir),
        "the output must say the files came from the container: {}",
        v["warnings"]
    );
    for (path, file) in [("/app/crash", exe.as_path()), ("/clibs/libc.so.6", libc)] {
        let m = v["modules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"] == path)
            .unwrap_or_else(|| panic!("no module {path}: {}", v["modules"]));
        assert_eq!(m["found"], true, "{m}");
        assert_eq!(m["build_id_mismatch"], false, "{m}");
        assert_eq!(m["file"], format!("{root_dir}{path}").as_str(), "{m}");
        assert_eq!(m["build_id"].as_str(), build_id(file).as_deref(), "{m}");
    }
    let main = &v["threads"][0];
    assert!(
        main["location"]
            .as_str()
            .unwrap()
            .starts_with("hang_here < descend"),
        "{main}"
    );
    let errs = compare_pid("C -O2 in Docker", pid, false, &[]);
    assert!(errs.is_empty(), "{}", errs.join("\n\n"));
}

/// The executable deleted while it runs (a deploy that replaced it): the live process still
/// maps it, and it is read through `/proc/PID/map_files/…`, so the frames keep their names.
#[test]
fn live_executable_deleted_while_it_runs() {
    if !can_attach() {
        return;
    }
    if !is_root() {
        skip("/proc/PID/map_files needs root");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let exe = build_c(
        d.path(),
        "crash",
        "crash.c",
        "gcc",
        &["-g", "-O2"],
        Post::None,
    );
    let id = build_id(&exe);
    let p = Parked::start(&exe, "hang");
    std::fs::remove_file(&exe).unwrap();
    let v = json(&run(&[
        "backtrace",
        "--pid",
        &p.pid().to_string(),
        "--json",
    ]));
    let m = v["modules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["is_executable"] == true)
        .unwrap_or_else(|| panic!("no executable module: {}", v["modules"]));
    assert_eq!(m["deleted"], true, "{m}");
    assert_eq!(m["found"], true, "{m}");
    assert!(m["file"].as_str().unwrap().contains("/map_files/"), "{m}");
    assert_eq!(m["build_id"].as_str(), id.as_deref(), "{m}");
    assert!(
        v["threads"][0]["location"]
            .as_str()
            .unwrap()
            .starts_with("hang_here < descend"),
        "{}",
        v["threads"][0]
    );
    still_running(p.pid()).unwrap();
}

/// A process whose main thread called `pthread_exit()`: the leader is a zombie while the other
/// threads run on. It is read through a live thread; the leader is left out with its reason.
#[test]
fn live_process_whose_main_thread_exited() {
    if !can_attach() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("leader.c");
    std::fs::write(
        &src,
        r#"#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((noinline)) void wait_forever(void) { for (;;) pause(); }
__attribute__((noinline)) void *worker(void *a) { wait_forever(); return a; }
int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    printf("ready\n");
    fflush(stdout);
    pthread_exit(NULL);
}
"#,
    )
    .unwrap();
    let exe = d.path().join("leader");
    must(
        Command::new("gcc")
            .args(["-g", "-O1", "-pthread", "-o"])
            .arg(&exe)
            .arg(&src),
    );
    let p = Parked::start(&exe, "");
    let pid = p.pid();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert!(stat.contains(") Z "), "the leader is not a zombie: {stat}");
    let v = json(&run(&["backtrace", "--pid", &pid.to_string(), "--json"]));
    let threads = v["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 1, "{v}");
    assert!(
        threads[0]["location"]
            .as_str()
            .unwrap()
            .starts_with("wait_forever < worker"),
        "{}",
        threads[0]
    );
    let missed = &v["live"]["threads_missed"];
    assert_eq!(missed[0]["tid"], pid, "{missed}");
    still_running(pid).unwrap();
}
