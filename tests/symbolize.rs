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
        skip("needs gcc, g++ and binutils (addr2line, objdump, objcopy)");
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
        skip("needs gcc");
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
        skip("needs gcc and addr2line");
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

/// Function names (`QualifiedNames`, `demangle_minimal`) compared with gdb's on real compiled programs: for every text symbol of the program
/// (from `nm`), gdb's `Frame.name()` (what `bt` prints, `find_frame_funname`) with the pc set
/// to the symbol's address in a started process, against `QualifiedNames::get`, else
/// `get_by_entry`, else `demangle_minimal`.
mod names_against_gdb {
    use crate::common::skip;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Instant;

    use clw_diag::symbolize::names::{demangle_minimal, QualifiedNames};

    const CPP: &str = r#"
#include <cstdio>
#include <vector>
namespace app {
template <typename T> struct Box {
  T v;
  T get() const;
  T peek() const { return v; }
};
template <typename T> T Box<T>::get() const { return v; }
struct Op {
  int k;
  int operator()(int x) const { return x + k; }
  bool operator<(const Op &o) const { return k < o.k; }
};
template <typename T> T twice(T x) { return x + x; }
namespace inner { int deep(unsigned long a, const char *s) { return (int)a + s[0]; } }
class Widget {
public:
  Widget(int x) : w(x) {}
  ~Widget() { std::puts("bye"); }
  static int make(int);
  struct Nested { void go(); };
  int w;
};
int Widget::make(int x) { return x * 3; }
void Widget::Nested::go() { std::puts("go"); }
}
namespace {
int hidden(int x) { return x - 1; }
struct Local { int f(int x) { return x; } };
}
template <typename T> unsigned long long sizer(const T *p, unsigned short n) { return sizeof(*p) * n; }
extern "C" int plain_c(int x) { return x + 1; }
int main() {
  app::Box<long> b{4};
  app::Box<unsigned long> c{5};
  app::Op op{2}, op2{3};
  std::vector<int> v{1, 2};
  app::Widget::Nested n; n.go();
  app::Widget w(3);
  Local l;
  auto lam = [&](int z) { return z + (int)v.size(); };
  return (int)(b.get() + b.peek() + c.get() + op(1) + (op < op2) + app::twice(3) + app::twice<short>(2) +
               hidden(2) + l.f(1) + app::inner::deep(1, "x") + app::Widget::make(1) + sizer("abc", 2) +
               sizer<char const*>(nullptr, 1) + lam(1) + plain_c(1) + w.w);
}
"#;

    const RUST: &str = r#"
use std::fmt::Display;
trait Speak { fn speak(&self) -> String; fn twice(&self) -> String { self.speak() + &self.speak() } }
struct Dog { name: String }
impl Speak for Dog { fn speak(&self) -> String { format!("{} woofs", self.name) } }
impl Dog { fn new(n: &str) -> Dog { Dog { name: n.to_string() } } }
struct Pair<T>(T, T);
impl<T: Display> Pair<T> { fn show(&self) -> String { format!("{}/{}", self.0, self.1) } }
mod zoo { pub fn show<T: std::fmt::Display>(t: T) -> String { format!("<{t}>") } }
#[inline(never)]
fn apply<F: Fn(i32) -> i32>(f: F, x: i32) -> i32 { f(x) }
fn main() {
    let d = Dog::new("rex");
    let k = 3;
    let y = apply(|v| v + k, 4);
    let p = Pair(1u8, 2u8);
    println!("{} {} {} {} {}", d.speak(), d.twice(), zoo::show(y), zoo::show("s"), p.show());
}
"#;

    fn have(tool: &str) -> bool {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn compile(dir: &Path, lang: &str) -> Option<PathBuf> {
        let (tool, src, args): (&str, &str, &[&str]) = match lang {
            "c++" => ("g++", CPP, &["-g", "-O0", "-x", "c++"]),
            _ => (
                "rustc",
                RUST,
                &["-g", "--crate-name", "qnt", "--edition", "2021"],
            ),
        };
        if !have(tool) {
            skip(&format!("{tool} is not installed"));
            return None;
        }
        let src_path = dir.join(if lang == "c++" { "t.cpp" } else { "t.rs" });
        std::fs::write(&src_path, src).unwrap();
        let bin = dir.join(format!("t-{tool}"));
        let out = Command::new(tool)
            .args(args)
            .arg(&src_path)
            .arg("-o")
            .arg(&bin)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(bin)
    }

    /// (address, mangled name) of the defined text symbols.
    fn text_symbols(bin: &Path) -> Vec<(u64, String)> {
        let out = Command::new("nm")
            .arg("--defined-only")
            .arg(bin)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (a, t, n) = (f.next()?, f.next()?, f.next()?);
                matches!(t, "t" | "T" | "w" | "W")
                    .then(|| Some((u64::from_str_radix(a, 16).ok()?, n.to_string())))?
            })
            .collect()
    }

    const SCRIPT: &str = r#"
import gdb
gdb.execute("starti", to_string=True)
syms = [l.split() for l in open(INFILE)]
base = int(gdb.parse_and_eval("(long)&main")) - int([a for a, n in syms if n == "main"][0], 16)
out = open(OUTFILE, "w")
for a, n in syms:
    try:
        gdb.execute("set $pc = %d" % (base + int(a, 16)), to_string=True)
        f = gdb.selected_frame()
        while f.type() == gdb.INLINE_FRAME:
            f = f.older()
        out.write("%s\t%s\t%s\n" % (n, f.name(), "D" if f.function() is not None else "M"))
    except Exception as e:
        pass
out.close()
gdb.execute("kill", to_string=True)
"#;

    /// Mangled name → (gdb's frame name, whether gdb named it from DWARF).
    fn gdb_names(
        dir: &Path,
        bin: &Path,
        syms: &[(u64, String)],
    ) -> Option<HashMap<String, (String, bool)>> {
        if !have("gdb") {
            skip("gdb is not installed");
            return None;
        }
        let infile = dir.join("syms.txt");
        let outfile = dir.join("frames.txt");
        let script = dir.join("frames.py");
        let list: String = syms.iter().map(|(a, n)| format!("{a:x} {n}\n")).collect();
        std::fs::write(&infile, list).unwrap();
        std::fs::write(&script, SCRIPT).unwrap();
        let _ = Command::new("gdb")
            .args(["-batch", "-nx", "-ex"])
            .arg(format!(
                "python INFILE={:?}; OUTFILE={:?}",
                infile.display().to_string(),
                outfile.display().to_string()
            ))
            .arg("-ex")
            .arg(format!("source {}", script.display()))
            .arg(bin)
            .output()
            .unwrap();
        let Ok(text) = std::fs::read_to_string(&outfile) else {
            skip("gdb could not run the program (ptrace not permitted?)");
            return None;
        };
        Some(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split('\t');
                    let (n, name, d) = (f.next()?, f.next()?, f.next()?);
                    Some((n.to_string(), (name.to_string(), d == "D")))
                })
                .collect(),
        )
    }

    /// Functions (addresses) gdb names from DWARF: (agree, compared); and the number of the
    /// program's own functions (`own` of gdb's name) on which the names differ.
    fn compare(lang: &str, own: impl Fn(&str) -> bool) -> Option<((usize, usize), usize)> {
        let dir = tempfile::tempdir().unwrap();
        let bin = compile(dir.path(), lang)?;
        let syms = text_symbols(&bin);
        let gdb = gdb_names(dir.path(), &bin, &syms)?;
        let data = std::fs::read(&bin).unwrap();
        let t = Instant::now();
        let names = QualifiedNames::from_elf(&data);
        eprintln!(
            "{lang}: {} linkage names, read in {:?}",
            names.len(),
            t.elapsed()
        );
        // Symbols sharing an address (C1/C2 constructors, functions merged by the compiler)
        // are one frame for gdb: agreement when the name of one of them is gdb's.
        let mut by_addr: std::collections::BTreeMap<u64, Vec<&str>> = Default::default();
        for (addr, sym) in &syms {
            by_addr.entry(*addr).or_default().push(sym);
        }
        let (mut agree, mut total, mut own_bad, mut bad) = (0, 0, 0, Vec::new());
        let mut by_source = [(0, 0); 2]; // (agree, total) named by gdb from symtab, DWARF
        for (addr, aliases) in &by_addr {
            let Some((theirs, dwarf)) = aliases.iter().find_map(|s| gdb.get(*s)) else {
                continue;
            };
            let ours: Vec<String> = aliases
                .iter()
                .map(|sym| {
                    names
                        .get(sym)
                        .or_else(|| names.get_by_entry(*addr))
                        .map(str::to_string)
                        .unwrap_or_else(|| demangle_minimal(sym))
                })
                .collect();
            total += 1;
            by_source[*dwarf as usize].1 += 1;
            if ours.contains(theirs) {
                agree += 1;
                by_source[*dwarf as usize].0 += 1;
            } else {
                if own(theirs) {
                    own_bad += 1;
                }
                let how = if *dwarf { "dwarf" } else { "symtab" };
                bad.push((
                    aliases.join(" "),
                    ours.join(" | "),
                    format!("{theirs}  [{how}]"),
                ));
            }
        }
        eprintln!(
            "{lang}: named by gdb from DWARF: {} of {} agree; from the symbol table: {} of {}",
            by_source[1].0, by_source[1].1, by_source[0].0, by_source[0].1
        );
        eprintln!("{lang}: agree with gdb on {agree} of {total} functions (text addresses)");
        if let Ok(path) = std::env::var("CLW_NAMES_DUMP") {
            let text: String = bad
                .iter()
                .map(|(s, o, t)| format!("{s}\n    ours: {o}\n    gdb:  {t}\n"))
                .collect();
            let _ = std::fs::write(format!("{path}.{lang}"), text);
        }
        for (sym, ours, theirs) in bad.iter().take(60) {
            eprintln!("  {sym}\n    ours: {ours}\n    gdb:  {theirs}");
        }
        // Damaged copies of a real file must not panic.
        let _ = QualifiedNames::from_elf(&data[..data.len() / 2]);
        let mut damaged = data.clone();
        for k in (0..damaged.len()).step_by(331) {
            damaged[k] ^= 0x5a;
        }
        let _ = QualifiedNames::from_elf(&damaged);
        Some((by_source[1], own_bad))
    }

    #[test]
    fn cplus_names_match_gdb() {
        let own = |n: &str| !n.starts_with("std::") && !n.starts_with("__gnu_cxx::");
        let Some(((agree, total), own_bad)) = compare("c++", own) else {
            return;
        };
        assert!(total > 20, "{total}");
        assert_eq!(
            own_bad, 0,
            "names of the program's functions differ from gdb's"
        );
        assert!(agree * 100 >= total * 95, "{agree} of {total}");
    }

    #[test]
    fn rust_names_match_gdb() {
        let Some(((agree, total), own_bad)) = compare("rust", |n| n.contains("qnt::")) else {
            return;
        };
        assert!(total > 100, "{total}");
        assert_eq!(
            own_bad, 0,
            "names of the program's functions differ from gdb's"
        );
        assert!(agree * 100 >= total * 95, "{agree} of {total}");
    }
}

/// The sparse DWARF view a backtrace loads (`Symbolizer::preload`: only the compilation units
/// of the addresses asked about) answers exactly as the full view, on programs gcc compiles
/// here. (Moved from `src/symbolize/dwarf.rs`'s unit tests: they compile programs.)
mod sparse_units {
    use crate::common::skip;
    use std::path::Path;
    use std::process::Command;

    use clw_diag::symbolize::{Frame, Symbolizer};

    fn gcc(dir: &Path, out: &str, flags: &[&str], files: &[(&str, &str)]) -> Option<()> {
        if !super::tool("gcc") {
            skip("needs gcc");
            return None;
        }
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let o = Command::new("gcc")
            .current_dir(dir)
            .args(flags)
            .args(["-o", out])
            .args(files.iter().map(|f| f.0))
            .output()
            .expect("gcc runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Some(())
    }

    /// (name, line) of every frame, innermost first.
    fn named(frames: Vec<Frame>) -> Vec<(String, Option<u32>)> {
        frames
            .into_iter()
            .map(|f| (f.function.unwrap_or_default(), f.line))
            .collect()
    }

    /// Two compilation units (gcc emits .debug_aranges): the view preloaded for an address of
    /// one answers for it as the full view does, and an address in the other unit (hidden
    /// from that view) is still answered right: the full view replaces it.
    #[test]
    fn context_for_some_addresses_answers_as_the_full_one() {
        let d = tempfile::tempdir().unwrap();
        let built = gcc(
            d.path(),
            "two",
            &["-g", "-O1"],
            &[
                ("a.c", "int f_a(int x) { return x * 3 + 1; }\n"),
                (
                    "b.c",
                    "int f_a(int);\nint f_b(int x) { return f_a(x) - 2; }\nint main(void) { return f_b(1); }\n",
                ),
            ],
        );
        if built.is_none() {
            return;
        }
        let exe = d.path().join("two");
        let mut full = Symbolizer::new();
        let a = full.symbol_address(&exe, "f_a").unwrap();
        let b = full.symbol_address(&exe, "f_b").unwrap();
        let fa = named(full.dwarf_frames(&exe, a).unwrap());
        let fb = named(full.dwarf_frames(&exe, b).unwrap());
        assert_eq!(fa, vec![("f_a".to_string(), Some(1))]);
        assert_eq!(fb, vec![("f_b".to_string(), Some(2))]);
        let mut sparse = Symbolizer::new();
        sparse.preload(&[(exe.as_path(), &[a, 0x10][..])]);
        assert_eq!(named(sparse.dwarf_frames(&exe, a).unwrap()), fa);
        assert_eq!(named(sparse.dwarf_frames(&exe, b).unwrap()), fb);
        // An address no unit holds changes nothing.
        let mut stray = Symbolizer::new();
        stray.preload(&[(exe.as_path(), &[0x10][..])]);
        assert_eq!(named(stray.dwarf_frames(&exe, a).unwrap()), fa);
    }

    /// gcc -flto refers across units with DW_FORM_ref_addr (the function of the link-time unit
    /// names its abstract origin in the compile-time unit): the units referred to are kept too,
    /// and every address of f_b reads the same frames, named f_b, as in the full view.
    #[test]
    fn units_referred_to_by_ref_addr_are_kept() {
        let d = tempfile::tempdir().unwrap();
        let built = gcc(
            d.path(),
            "lto",
            &["-g", "-O2", "-flto"],
            &[
                ("a.c", "int f_a(int x) { return x * 3 + 1; }\n"),
                (
                    "b.c",
                    "int f_a(int);\n__attribute__((noinline)) int f_b(int x) { return f_a(x) - 2; }\n\
                     int main(int c, char **v) { (void)v; return f_b(c); }\n",
                ),
            ],
        );
        if built.is_none() {
            return;
        }
        let exe = d.path().join("lto");
        // binutils as the oracle that the case is there at all.
        let abbrev = Command::new("readelf")
            .arg("--debug-dump=abbrev")
            .arg(&exe)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&abbrev.stdout).contains("DW_FORM_ref_addr"),
            "this gcc wrote no DW_FORM_ref_addr with -flto"
        );
        let nm = Command::new("nm").arg("-S").arg(&exe).output().unwrap();
        let (start, size) = String::from_utf8_lossy(&nm.stdout)
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 4 && f[3] == "f_b").then(|| {
                    (
                        u64::from_str_radix(f[0], 16).unwrap(),
                        u64::from_str_radix(f[1], 16).unwrap(),
                    )
                })
            })
            .expect("nm lists f_b with its size");
        let addrs: Vec<u64> = (start..start + size).collect();
        let mut full = Symbolizer::new();
        let mut sparse = Symbolizer::new();
        sparse.preload(&[(exe.as_path(), &addrs[..])]);
        for a in addrs {
            let f = named(full.dwarf_frames(&exe, a).unwrap());
            assert_eq!(
                f.last().map(|f| f.0.as_str()),
                Some("f_b"),
                "at {a:#x}: {f:?}"
            );
            assert_eq!(named(sparse.dwarf_frames(&exe, a).unwrap()), f, "at {a:#x}");
        }
    }
}

/// Regression (issue 12, "`symbolize --json` prints addr2line text"): `--json` is JSON Lines,
/// one object per address with its frames, in input order, the same frames binutils prints
/// (addr2line -f -i as the oracle for the functions).
#[test]
fn symbolize_json_prints_frames_not_addr2line_text() {
    if !(tool("gcc") && tool("addr2line") && tool("nm")) {
        skip("needs gcc and binutils");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = build(d.path(), "p", C, "gcc", "c", &["-g", "-O2"]);
    let nm = Command::new("nm").arg(&bin).output().unwrap();
    let outer = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .find_map(|l| l.strip_suffix(" T outer").map(str::to_string))
        .expect("nm lists outer");
    let addr = format!("0x{}", outer.trim_start_matches('0'));
    let o = run(&[
        "symbolize",
        "-e",
        bin.to_str().unwrap(),
        "--json",
        &addr,
        "zz",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&o));
    assert_eq!(lines[0]["input"], addr.as_str());
    assert_eq!(
        lines[0]["address"].as_str(),
        Some(format!("{:#x}", u64::from_str_radix(&outer, 16).unwrap()).as_str())
    );
    let frames = lines[0]["frames"].as_array().unwrap();
    let binutils = Command::new("addr2line")
        .args(["-f", "-i", "-e"])
        .arg(&bin)
        .arg(&addr)
        .output()
        .unwrap();
    let theirs: Vec<String> = String::from_utf8_lossy(&binutils.stdout)
        .lines()
        .step_by(2)
        .map(str::to_string)
        .collect();
    let ours: Vec<&str> = frames
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("??"))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(frames.last().unwrap()["inlined"], false);
    assert!(frames.last().unwrap()["line"].as_u64().is_some());
    assert_eq!(lines[1]["input"], "zz");
    assert!(lines[1]["address"].is_null());
    assert_eq!(lines[1]["frames"].as_array().unwrap().len(), 0);

    // --text --json: every line, with its resolution when it is a resolved frame line.
    let text = d.path().join("log.txt");
    let off = u64::from_str_radix(&outer, 16).unwrap() + 1;
    std::fs::write(
        &text,
        format!("hello\n{}(+{off:#x})[0x55555555]\n", bin.display()),
    )
    .unwrap();
    let o = run(&["symbolize", "--json", "--text", text.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], "hello");
    assert!(lines[0]["format"].is_null());
    assert_eq!(lines[1]["format"], "glibc");
    assert_eq!(lines[1]["module"], bin.to_str().unwrap());
    assert_eq!(
        lines[1]["frames"].as_array().unwrap().last().unwrap()["function"],
        "outer"
    );
}

/// Regression (issue 12, "`--format` is ignored"): csv and github are refused with exit 2
/// before any work: the binary named is never opened (the message is about the format, not
/// the missing file) and standard input is never read.
#[test]
fn symbolize_csv_and_github_are_refused_before_any_work() {
    for (format, needle) in [
        ("csv", "csv is not available for symbolize; use --json"),
        ("github", "github is not available for symbolize"),
    ] {
        let o = cmd()
            .args(["symbolize", "--format", format, "-e", "/nonexistent/bin"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_error(&o, &[needle]);
        assert!(!stderr(&o).contains("/nonexistent"), "{}", stderr(&o));
        let o = run(&[
            "symbolize",
            "--format",
            format,
            "--text",
            "/nonexistent/log",
        ]);
        assert_error(&o, &[needle]);
    }
}

/// `--text` of a file shows a byte bar on a terminal only (issue 12, item 7): nothing on a
/// redirected stderr, `clw-diag: symbolize: rewriting backtraces` under a pseudo-terminal
/// (`script`), and the same rewritten lines either way.
#[test]
fn text_progress_only_on_a_terminal() {
    if !tool("gcc") {
        common::skip("needs gcc");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let bin = build(d.path(), "p", C, "gcc", "c", &["-g", "-O2"]);
    // Enough lines that the run outlasts the bar's first draw.
    let log = d.path().join("log.txt");
    let mut text = String::new();
    for i in 0..20_000u32 {
        text.push_str(&format!(
            "{}(+{:#x})[0x5555]\n",
            bin.display(),
            0x1000 + i % 64
        ));
    }
    std::fs::write(&log, text).unwrap();
    let o = run(&["symbolize", "--text", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "progress off a terminal");
    let Some(tty) = common::on_pty(&format!(
        "{} symbolize --text {} > /dev/null",
        common::bin(),
        log.display()
    )) else {
        return;
    };
    assert!(
        tty.contains("clw-diag: symbolize: rewriting backtraces"),
        "no progress on a terminal:\n{tty}"
    );
}
