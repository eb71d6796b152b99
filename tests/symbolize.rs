//! `clw-diag symbolize -e BIN` against binutils `addr2line` on programs compiled here: inline
//! chains at -O2, -O0 with DWARF 4, DWARF 5 with zlib-compressed debug sections, C++ templates,
//! a binary without debug information (symbol table only) and a stripped binary whose DWARF is
//! in a separate file found through `.gnu_debuglink`. Every instruction address of the program
//! must give the same output as binutils, except binutils' "(discriminator N)" suffixes, which
//! are not printed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

const C: &str = r#"
#include <stdio.h>
static inline int leaf(int x) { return x * 3 + (x >> 2); }
static inline int mid(int x) { return leaf(x) + leaf(x + 1); }
__attribute__((noinline)) int outer(int x) { return mid(x) * 2; }
int recurse(int n) { return n <= 0 ? 0 : 1 + recurse(n - 1); }
int main(int argc, char **argv) { printf("%d %d\n", outer(argc), recurse(argc)); return 0; }
"#;

const CXX: &str = r#"
#include <cstdio>
#include <vector>
namespace app {
template <typename T> struct Box { T v; __attribute__((noinline)) T get() const { return v * 2; } };
inline int helper(std::vector<int>& v) { int s = 0; for (int x : v) s += x; return s; }
}
int main(int argc, char**) { std::vector<int> v(argc, 3); app::Box<long> b{argc}; std::printf("%d %ld\n", app::helper(v), b.get()); }
"#;

fn build(dir: &Path, name: &str, src: &str, compiler: &str, ext: &str, flags: &[&str]) -> PathBuf {
    let s = dir.join(format!("{name}.{ext}"));
    std::fs::write(&s, src).unwrap();
    let out = dir.join(name);
    let st = Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(&s)
        .status()
        .unwrap();
    assert!(st.success(), "{compiler} {flags:?}");
    out
}

/// Every instruction address of the binary's code, as objdump lists them.
fn addresses(bin: &Path) -> Vec<String> {
    let o = Command::new("objdump").arg("-d").arg(bin).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let (addr, rest) = t.split_once(":\t")?;
            (addr.chars().all(|c| c.is_ascii_hexdigit()) && !rest.is_empty())
                .then(|| addr.to_string())
        })
        .collect()
}

fn same_as_binutils(bin: &Path, flags: &[&str]) {
    let addrs = addresses(bin);
    assert!(
        addrs.len() > 50,
        "{} has {} addresses",
        bin.display(),
        addrs.len()
    );
    let theirs = Command::new("addr2line")
        .args(flags)
        .arg("-e")
        .arg(bin)
        .args(&addrs)
        .output()
        .unwrap();
    let theirs: String = String::from_utf8_lossy(&theirs.stdout)
        .lines()
        .map(|l| l.split(" (discriminator ").next().unwrap_or(l).to_string() + "\n")
        .collect();
    let mut args = vec!["symbolize"];
    args.extend_from_slice(flags);
    let b = bin.to_str().unwrap();
    args.extend_from_slice(&["-e", b]);
    args.extend(addrs.iter().map(String::as_str));
    let ours = stdout(&run(&args));
    let (t, o): (Vec<&str>, Vec<&str>) = (theirs.lines().collect(), ours.lines().collect());
    assert_eq!(
        t.len(),
        o.len(),
        "{} {flags:?}: line counts differ",
        bin.display()
    );
    for (i, (a, b)) in t.iter().zip(&o).enumerate() {
        assert_eq!(
            a,
            b,
            "{} {flags:?}: line {} differs (addr2line vs clw-diag)",
            bin.display(),
            i + 1
        );
    }
}

#[test]
fn same_output_as_binutils_addr2line() {
    if !(tool("gcc") && tool("g++") && tool("addr2line") && tool("objdump") && tool("objcopy")) {
        eprintln!("SKIP: needs gcc, g++ and binutils (addr2line, objdump, objcopy)");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let bins = [
        build(dir, "o2", C, "gcc", "c", &["-g", "-O2"]),
        build(dir, "o0dw4", C, "gcc", "c", &["-g", "-O0", "-gdwarf-4"]),
        build(
            dir,
            "dw5z",
            C,
            "gcc",
            "c",
            &["-g", "-O2", "-gdwarf-5", "-gz=zlib"],
        ),
        build(dir, "nodebug", C, "gcc", "c", &["-O2"]),
        build(dir, "cxx", CXX, "g++", "cpp", &["-g", "-O2"]),
    ];
    // A stripped binary with its DWARF in a separate file, linked by .gnu_debuglink.
    let split = build(dir, "split", C, "gcc", "c", &["-g", "-O2"]);
    let dbg = dir.join("split.debug");
    assert!(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&split)
        .arg(&dbg)
        .status()
        .unwrap()
        .success());
    assert!(Command::new("objcopy")
        .arg("--strip-debug")
        .arg(format!("--add-gnu-debuglink={}", dbg.display()))
        .arg(&split)
        .status()
        .unwrap()
        .success());
    for b in bins.iter().chain(std::iter::once(&split)) {
        for flags in [
            &["-f", "-i"][..],
            &["-a", "-p", "-f", "-i"],
            &["-s", "-f"],
            &[],
        ] {
            same_as_binutils(b, flags);
        }
    }
    // Demangling matches binutils for the C++ names cpp_demangle handles; the program's own.
    let cxx = &bins[4];
    let sym = Command::new("nm").arg(cxx).output().unwrap();
    let get = String::from_utf8_lossy(&sym.stdout)
        .lines()
        .find(|l| l.contains("3BoxIlE3get"))
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .expect("Box<long>::get in the symbol table");
    let o = stdout(&run(&[
        "symbolize",
        "-f",
        "-C",
        "-e",
        cxx.to_str().unwrap(),
        &get,
    ]));
    assert!(o.starts_with("app::Box<long>::get() const\n"), "{o}");
}

#[test]
fn addresses_from_stdin_and_garbage() {
    if !tool("gcc") {
        eprintln!("SKIP: needs gcc");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = build(d.path(), "p", C, "gcc", "c", &["-g", "-O2"]);
    let mut child = cmd()
        .args(["symbolize", "-f", "-e", bin.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"zzz\n0xffffffffffff\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(stdout(&o), "??\n??:0\n??\n??:0\n");
    assert_error(
        &run(&["symbolize", "-e", "/nonexistent/bin", "0x10"]),
        &["/nonexistent/bin"],
    );
    let junk = d.path().join("junk");
    std::fs::write(&junk, b"not an elf file at all").unwrap();
    assert_error(
        &run(&["symbolize", "-e", junk.to_str().unwrap(), "0x10"]),
        &["not an object file"],
    );
    // A directory is refused before any address is read from stdin.
    let o = cmd()
        .args(["symbolize", "-e", d.path().to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_error(&o, &["is a directory"]);
}

const BT: &str = r##"
#include <execinfo.h>
#include <stdio.h>
#include <unistd.h>
static void __attribute__((noinline)) inner(void) { void *b[16]; int n = backtrace(b, 16); backtrace_symbols_fd(b, n, 2); }
static void __attribute__((noinline)) middle(void) { inner(); fflush(stdout); }
int main(void) {
    middle();
    printf("#0  %p in ?? ()\n#1  %p in ?? ()\n", (void *)inner, (void *)((char *)middle + 5));
    fflush(stdout);
    sleep(5);
    return 0;
}
"##;

/// A real glibc backtrace_symbols trace and gdb-style absolute frames of a live process.
#[test]
fn text_rewriting_of_glibc_gdb_and_sanitizer_frames() {
    if !(tool("gcc") && tool("addr2line")) {
        eprintln!("SKIP: needs gcc and addr2line");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = build(d.path(), "bt", BT, "gcc", "c", &["-g", "-O0"]);
    let mut child = Command::new(&bin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::{BufRead, Read};
    let mut gdb_lines = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..2 {
        out.read_line(&mut gdb_lines).unwrap();
    }
    let mut glibc = String::new();
    let mut err = child.stderr.take().unwrap();
    // backtrace_symbols_fd wrote before the printf: six or so lines are there already.
    let mut buf = [0u8; 4096];
    let n = err.read(&mut buf).unwrap();
    glibc.push_str(&String::from_utf8_lossy(&buf[..n]));
    let pid = child.id().to_string();
    // glibc frames: return addresses, module-relative; the function is addr2line's at OFF-1.
    let gl = d.path().join("glibc.txt");
    std::fs::write(&gl, &glibc).unwrap();
    let o = run(&["symbolize", "--text", gl.to_str().unwrap()]);
    let rewritten = stdout(&o);
    let names: Vec<&str> = rewritten
        .lines()
        .filter(|l| l.contains("/bt(+0x"))
        .filter_map(|l| l.split("  # ").nth(1))
        .collect();
    assert!(names.len() >= 3, "{rewritten}");
    assert!(
        names[0].starts_with("inner at ") && names[0].ends_with("bt.c:5"),
        "{names:?}"
    );
    assert!(names[1].starts_with("middle at "), "{names:?}");
    assert!(names[2].starts_with("main at "), "{names:?}");
    // libc's own frame is `sym+OFF` with a versioned symbol (`__libc_start_main@@GLIBC_2.34`
    // in .symtab): it is resolved too.
    if let Some(l) = rewritten
        .lines()
        .find(|l| l.contains("(__libc_start_main+0x"))
    {
        assert!(l.contains("  # __libc_start_"), "{l}");
    }
    for l in rewritten.lines().filter(|l| l.contains("/bt(+0x")) {
        let off = l.split("(+0x").nth(1).unwrap().split(')').next().unwrap();
        let pc = u64::from_str_radix(off, 16).unwrap() - 1;
        let a2l = Command::new("addr2line")
            .args(["-f", "-e"])
            .arg(&bin)
            .arg(format!("{pc:x}"))
            .output()
            .unwrap();
        let func = String::from_utf8_lossy(&a2l.stdout)
            .lines()
            .next()
            .unwrap()
            .to_string();
        let ours = l.split("  # ").nth(1).unwrap();
        assert!(
            ours == func || ours.starts_with(&format!("{func} ")) || func == "??",
            "{l} vs addr2line {func}"
        );
    }
    // gdb frames with absolute addresses, through the live process's map.
    let gdb = d.path().join("gdb.txt");
    std::fs::write(&gdb, &gdb_lines).unwrap();
    let o = run(&["symbolize", "--text", gdb.to_str().unwrap(), "--pid", &pid]);
    let g = stdout(&o);
    assert!(g.lines().next().unwrap().contains("# inner at "), "{g}");
    assert!(g.lines().nth(1).unwrap().contains("# middle at "), "{g}");
    // The same through a --maps file, from a binary whose directory name is not UTF-8 and
    // holds two spaces (maps paths are bytes).
    {
        use std::os::unix::ffi::OsStrExt;
        let odd = d.path().join(std::ffi::OsStr::from_bytes(b"b\xffin  dir"));
        std::fs::create_dir(&odd).unwrap();
        let copy = odd.join("bt");
        std::fs::copy(&bin, &copy).unwrap();
        let mut c2 = Command::new(&copy)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = String::new();
        let mut out2 = std::io::BufReader::new(c2.stdout.take().unwrap());
        for _ in 0..2 {
            out2.read_line(&mut lines).unwrap();
        }
        let maps = d.path().join("odd.maps");
        std::fs::copy(format!("/proc/{}/maps", c2.id()), &maps).unwrap();
        let _ = c2.kill();
        let _ = c2.wait();
        let frames = d.path().join("odd.txt");
        std::fs::write(&frames, &lines).unwrap();
        let o = run(&[
            "symbolize",
            "--text",
            frames.to_str().unwrap(),
            "--maps",
            maps.to_str().unwrap(),
        ]);
        let g = stdout(&o);
        assert!(g.lines().next().unwrap().contains("# inner at "), "{g}");
        assert!(g.lines().nth(1).unwrap().contains("# middle at "), "{g}");
        // A --maps file with no maps lines in it is an error, not silence.
        assert_error(
            &run(&[
                "symbolize",
                "--text",
                frames.to_str().unwrap(),
                "--maps",
                frames.to_str().unwrap(),
            ]),
            &["no /proc/PID/maps lines"],
        );
    }
    // A sanitizer frame: module-relative and already pc-1.
    let first_off = glibc
        .lines()
        .find(|l| l.contains("/bt(+0x"))
        .unwrap()
        .split("(+0x")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .to_string();
    let pc = u64::from_str_radix(&first_off, 16).unwrap() - 1;
    let san = d.path().join("asan.txt");
    std::fs::write(
        &san,
        format!("    #0 0x7f0000001234  ({}+0x{pc:x})\n", bin.display()),
    )
    .unwrap();
    let s = stdout(&run(&["symbolize", "--text", san.to_str().unwrap()]));
    assert!(s.contains("# inner at "), "{s}");
    // Lines that are not frames pass through unchanged.
    let plain = d.path().join("plain.txt");
    std::fs::write(&plain, "hello\n#3 not a frame\n").unwrap();
    assert_eq!(
        stdout(&run(&["symbolize", "--text", plain.to_str().unwrap()])),
        "hello\n#3 not a frame\n"
    );
    let _ = child.kill();
    let _ = child.wait();
}
