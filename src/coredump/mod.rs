//! `clw-diag backtrace`: every thread of an ELF core dump unwound and symbolized, as gdb's
//! `thread apply all bt` would show it.
//!
//! Reading the core ([`core`]: program headers, notes decoded by [`notes`], memory of the
//! `PT_LOAD` segments) → modules and load biases ([`modules`]) → per-thread unwinding
//! ([`unwind`]) → symbolization with inline frames ([`crate::symbolize`]) → [`Backtrace`].

pub mod core;
pub mod modules;
pub mod notes;
pub mod unwind;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::base::hex::{hex, hex_opt};
use crate::error::Result;
use crate::symbolize::names::{demangle_minimal, QualifiedNames};
use crate::symbolize::Symbolizer;
use modules::{module_at, FileSource, Module};
use unwind::Method;

/// One frame as printed: a physical frame, or one of the functions inlined at its pc (those come
/// first, with `inline: true`, as gdb lists them).
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    /// Position in the thread's backtrace, 0 innermost (gdb's `#N`).
    pub index: usize,
    /// The pc: exact for frame 0 and frames a signal interrupted, else the return address
    /// (what gdb's `frame.pc()` shows); symbols are looked up at pc − 1 for those.
    #[serde(serialize_with = "hex")]
    pub pc: u64,
    /// Demangled function name as gdb prints it (no parameter list), when known.
    pub function: Option<String>,
    /// Source file as recorded in DWARF.
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    /// This function was inlined into the next frame (same pc).
    pub inline: bool,
    /// The module (path as in the core, or "[vdso]") the pc is in.
    pub module: Option<String>,
    /// pc minus the module's load bias: the address in the module's ELF file (bytes).
    #[serde(serialize_with = "hex_opt")]
    pub module_offset: Option<u64>,
    /// How the frame was found: context, cfi, signal, fp or scan (low trust).
    pub method: Method,
    /// This frame is a signal trampoline (gdb's `<signal handler called>`).
    pub signal_frame: bool,
}

/// One thread.
#[derive(Debug, Clone, Serialize)]
pub struct Thread {
    /// Thread id (LWP).
    pub tid: i32,
    /// The thread that caused the dump (the first `NT_PRSTATUS`).
    pub crashed: bool,
    /// The signal the thread stopped with (`pr_cursig`), 0 when none.
    pub signal: u16,
    pub frames: Vec<Frame>,
    /// Why unwinding stopped.
    pub stop_reason: String,
}

/// The signal that caused the dump.
#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    pub number: i32,
    pub name: String,
    /// `si_code`, and its name where standard (SEGV_MAPERR, SI_USER…).
    pub code: i32,
    pub code_name: Option<String>,
    /// The faulting address for SIGSEGV, SIGBUS, SIGILL, SIGFPE raised by the kernel.
    #[serde(serialize_with = "hex_opt")]
    pub fault_address: Option<u64>,
    /// The sender of a signal sent by a process (kill, abort → tgkill).
    pub sender_pid: Option<i32>,
}

/// The backtrace of a whole core.
#[derive(Debug, Serialize)]
pub struct Backtrace {
    pub core: PathBuf,
    /// The executable file read (the path from the core, or `--exe`).
    pub executable: Option<PathBuf>,
    /// `pr_fname` (at most 15 bytes).
    pub command: Option<String>,
    /// `pr_psargs` (the first 80 bytes of the command line).
    pub args: Option<String>,
    pub pid: Option<i32>,
    pub signal: Option<Signal>,
    /// One line for grouping crashes: the signal and the crashing thread's innermost functions in
    /// the program's own code.
    pub crash_signature: String,
    pub modules: Vec<Module>,
    pub threads: Vec<Thread>,
    pub warnings: Vec<String>,
}

/// Options of [`backtrace`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub files: FileSource,
    /// Extra directories searched for separate debug files.
    pub debug_dirs: Vec<PathBuf>,
}

/// The conventional name of a Linux x86-64 signal.
pub fn signal_name(n: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(n).ok().and_then(|i| NAMES.get(i)) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => format!("signal {n}"),
    }
}

/// `si_code` names (include/uapi/asm-generic/siginfo.h).
fn code_name(signo: i32, code: i32) -> Option<&'static str> {
    Some(match (signo, code) {
        (_, 0) => "SI_USER",
        (_, 0x80) => "SI_KERNEL",
        (_, -1) => "SI_QUEUE",
        (_, -6) => "SI_TKILL",
        (11, 1) => "SEGV_MAPERR",
        (11, 2) => "SEGV_ACCERR",
        (11, 3) => "SEGV_BNDERR",
        (11, 4) => "SEGV_PKUERR",
        (7, 1) => "BUS_ADRALN",
        (7, 2) => "BUS_ADRERR",
        (7, 3) => "BUS_OBJERR",
        (8, 1) => "FPE_INTDIV",
        (8, 2) => "FPE_INTOVF",
        (8, 3) => "FPE_FLTDIV",
        (4, 1) => "ILL_ILLOPC",
        (4, 2) => "ILL_ILLOPN",
        (4, 5) => "ILL_PRVOPC",
        (4, 8) => "ILL_BADSTK",
        _ => return None,
    })
}

/// A demangled name as gdb prints a frame's function: without the parameter list, cv-qualifiers
/// and (for template functions) the return type. `app::Box<long>::get() const` →
/// `app::Box<long>::get`; `int foo<int>(int)` → `foo<int>`; `Foo::operator()(int)` →
/// `Foo::operator()`.
pub fn gdb_function_name(name: &str) -> String {
    // gdb cannot take names with lambda closure types apart and prints them whole.
    if name.contains("{lambda") {
        return name.to_string();
    }
    let b = name.as_bytes();
    // Find the last top-level parenthesised group (the parameters).
    let (mut depth_angle, mut depth_paren) = (0i32, 0i32);
    let mut params_start = None;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'<' => depth_angle += 1,
            b'>' if depth_angle > 0 => depth_angle -= 1,
            b'(' => {
                if depth_paren == 0 && depth_angle == 0 {
                    // `operator()` itself is not the parameter list.
                    if !name[..i].ends_with("operator") {
                        params_start = Some(i);
                    }
                }
                depth_paren += 1;
            }
            b')' => depth_paren -= 1,
            _ => {}
        }
    }
    let Some(p) = params_start else {
        return name.to_string();
    };
    // Rust closures `{closure#0}` and anonymous namespaces `(anonymous namespace)` are
    // parenthesised names, not parameters: keep them when a `::` follows.
    if name[p..].contains(")::") {
        return name.to_string();
    }
    let head = &name[..p];
    // A return type before a template function's name: the last top-level space.
    let mut depth = 0i32;
    let mut cut = 0;
    for (i, c) in head.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ' ' if depth == 0
                && !head[..i].ends_with("operator")
                && !head[i..].starts_with(" const") =>
            {
                cut = i + 1
            }
            _ => {}
        }
    }
    head[cut..].to_string()
}

/// Functions of language runtimes and the C library, left out of the crash signature (the
/// program's own code is what tells crashes apart; a static binary carries libc in the
/// executable). Names starting with `__` or `_` + capital are reserved to the implementation in
/// C and C++.
const RUNTIME_PREFIXES: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "rust_panic",
    "panic_abort::",
    "panic_unwind::",
    "__gnu_cxx::",
    "_start",
    "_IO_",
    "_dl_",
    "raise",
    "abort",
    "pthread_",
    "start_thread",
    "clone",
    "gsignal",
];

fn is_runtime(name: &str) -> bool {
    let b = name.as_bytes();
    name.starts_with("__")
        || (b.len() > 1 && b[0] == b'_' && b[1].is_ascii_uppercase())
        || RUNTIME_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn crash_signature(sig: Option<&Signal>, thread: Option<&Thread>, modules: &[Module]) -> String {
    let sig = sig.map_or("no signal".to_string(), |s| s.name.clone());
    let Some(t) = thread else {
        return format!("{sig} (no threads)");
    };
    let exe = modules
        .iter()
        .find(|m| m.is_executable)
        .map(|m| m.path.as_str());
    let own: Vec<String> = t
        .frames
        .iter()
        .filter(|f| f.module.is_some() && f.module.as_deref() == exe)
        .filter_map(|f| f.function.clone())
        .filter(|n| !is_runtime(n))
        .fold(Vec::new(), |mut v: Vec<String>, n| {
            // Recursion depth does not tell crashes apart: one name per run of equal names.
            if v.last() != Some(&n) {
                v.push(n);
            }
            v
        })
        .into_iter()
        .take(3)
        .collect();
    if !own.is_empty() {
        return format!("{sig} in {}", own.join(" < "));
    }
    let any: Vec<String> = t
        .frames
        .iter()
        .take(3)
        .map(|f| {
            let module = f
                .module
                .as_deref()
                .map(|m| m.rsplit('/').next().unwrap_or(m).to_string())
                .unwrap_or_else(|| "?".into());
            match &f.function {
                Some(n) => format!("{module}!{n}"),
                None => format!("{module}+{:#x}", f.module_offset.unwrap_or(f.pc)),
            }
        })
        .collect();
    format!("{sig} in {}", any.join(" < "))
}

/// Whether a raw symbol name is mangled (Itanium C++ `_Z`, Rust v0 `_R`).
fn is_mangled(n: &str) -> bool {
    n.starts_with("_Z") || n.starts_with("_R")
}

/// Function names as gdb prints them in `bt`: for DWARF functions of C++ and Rust the qualified
/// source name ([`QualifiedNames`], built per module the first time a mangled name shows up);
/// for C the symbol name DWARF gives (the linkage name, e.g. `__GI_raise`); without DWARF gdb's
/// minimal symbol, demangled with its parameters.
#[derive(Default)]
struct GdbNames {
    by_file: std::collections::HashMap<PathBuf, QualifiedNames>,
    /// File addresses that will be looked up, per module file.
    wanted: std::collections::HashMap<PathBuf, Vec<u64>>,
}

impl GdbNames {
    fn qualified(&mut self, sym: &mut Symbolizer, file: &Path) -> &QualifiedNames {
        let addrs = self.wanted.get(file).map(Vec::as_slice).unwrap_or(&[]);
        self.by_file
            .entry(file.to_path_buf())
            .or_insert_with(|| sym.qualified_names(file, addrs))
    }

    /// Frames (innermost inline first) for `svma` in `file`, named as gdb names them.
    fn frames(
        &mut self,
        sym: &mut Symbolizer,
        file: &Path,
        svma: u64,
    ) -> Vec<crate::symbolize::Frame> {
        let mut frames = sym.dwarf_frames(file, svma).unwrap_or_default();
        if frames.is_empty() {
            let Some(raw) = sym.minimal_symbol(file, svma) else {
                return Vec::new();
            };
            return vec![crate::symbolize::Frame {
                function: Some(demangle_minimal(&raw)),
                file: None,
                line: None,
                column: None,
                inlined: false,
            }];
        }
        let n = frames.len();
        for (k, f) in frames.iter_mut().enumerate() {
            let Some(raw) = f.function.take() else {
                continue;
            };
            let name = if is_mangled(&raw) {
                let q = self.qualified(sym, file);
                let found = if k + 1 == n {
                    q.get(&raw)
                } else {
                    q.get_inline(&raw)
                };
                match found {
                    Some(n) => n.to_string(),
                    None => gdb_function_name(&demangle_minimal(&raw)),
                }
            } else if k + 1 == n {
                // A C++ function without a linkage name (a lambda's operator()): gdb prints the
                // minimal symbol at the pc, demangled with its parameters.
                match sym.minimal_symbol(file, svma) {
                    Some(m) if m.starts_with("_Z") => {
                        match crate::symbolize::names::cplus_frame_name(&m) {
                            Some(d) if d.contains("{lambda") || d.contains(raw.as_str()) => d,
                            _ => raw,
                        }
                    }
                    _ => raw,
                }
            } else if raw.contains('<') {
                // An inlined C++ template without a linkage name: its qualified DWARF name.
                let q = self.qualified(sym, file);
                q.get_inline(&raw).map(str::to_string).unwrap_or(raw)
            } else {
                raw
            };
            f.function = Some(name);
        }
        frames
    }
}

/// Unwind and symbolize every thread of the core at `path`.
///
/// Errors: the core cannot be read or is not an x86-64 ELF core (see [`core::Core::open`]).
/// Missing executables or libraries are not errors: their frames are printed as module+offset
/// and a warning names what is missing.
pub fn backtrace(path: &Path, opts: &Options) -> Result<Backtrace> {
    let core = core::Core::open(path)?;
    let mut sym = Symbolizer::new();
    if let Some(root) = &opts.files.sysroot {
        sym.debug_dirs.insert(0, root.join("usr/lib/debug"));
    }
    sym.debug_dirs.extend(opts.debug_dirs.iter().cloned());
    sym.debuginfod = opts.files.debuginfod.clone();
    let files = FileSource {
        debug_dirs: sym.debug_dirs.clone(),
        ..opts.files.clone()
    };
    let (mut modules, mut warnings) = modules::discover(&core, &files);
    warnings.splice(0..0, core.warnings.iter().cloned());

    let unwound: Vec<unwind::Unwound> = core
        .threads
        .iter()
        .map(|t| unwind::unwind(&core, &modules, t.regs.to_dwarf().map(Some)))
        .collect();
    // The addresses to name, per module: only their compilation units are read for names.
    let mut names = GdbNames::default();
    for raw in unwound.iter().flat_map(|u| &u.frames) {
        let lookup = raw.lookup_pc();
        if let Some(m) = module_at(&modules, lookup) {
            if let Some(f) = m.symbol_file() {
                names
                    .wanted
                    .entry(f.to_path_buf())
                    .or_default()
                    .push(lookup.wrapping_sub(m.load_bias));
            }
        }
    }
    // Load the files that hold frames two at a time (the Rust program's DWARF beside libc's
    // compressed debug file).
    let files: Vec<(&Path, &[u64])> = names
        .wanted
        .iter()
        .map(|(f, a)| (f.as_path(), a.as_slice()))
        .collect();
    sym.preload(&files);
    let mut threads = Vec::new();
    for (i, (t, u)) in core.threads.iter().zip(unwound).enumerate() {
        let mut frames = Vec::new();
        for raw in &u.frames {
            let lookup = raw.lookup_pc();
            let m = module_at(&modules, lookup);
            let svma = m.map(|m| lookup.wrapping_sub(m.load_bias));
            let mut symbolized = Vec::new();
            if let (Some(m), Some(svma)) = (m, svma) {
                if let Some(file) = m.symbol_file() {
                    symbolized = names.frames(&mut sym, file, svma);
                } else if let Some(img) = &m.image {
                    if let Some(n) = modules::dynsym_at(img, svma) {
                        symbolized.push(crate::symbolize::Frame {
                            function: Some(n.to_string()),
                            file: None,
                            line: None,
                            column: None,
                            inlined: false,
                        });
                    }
                }
            }
            if symbolized.is_empty() {
                symbolized.push(crate::symbolize::Frame {
                    function: None,
                    file: None,
                    line: None,
                    column: None,
                    inlined: false,
                });
            }
            let n = symbolized.len();
            for (k, s) in symbolized.into_iter().enumerate() {
                frames.push(Frame {
                    index: frames.len(),
                    pc: raw.pc,
                    function: s.function,
                    // gdb shows no file for a location without a line (a symbol-table name's
                    // STT_FILE, a line-0 entry).
                    file: s.file.filter(|_| s.line.is_some_and(|l| l > 0)),
                    line: s.line.filter(|&l| l > 0),
                    column: s.column.filter(|&c| c > 0),
                    inline: k + 1 < n,
                    module: m.map(|m| m.path.clone()),
                    module_offset: m.map(|m| raw.pc.wrapping_sub(m.load_bias)),
                    method: raw.method,
                    signal_frame: raw.signal_trampoline,
                });
            }
        }
        threads.push(Thread {
            tid: t.pid,
            crashed: i == 0,
            signal: t.cursig,
            frames,
            stop_reason: u.stop_reason,
        });
    }
    for m in &mut modules {
        if let Some(f) = &m.file {
            m.debug_file = sym.debug_file(f).map(Path::to_path_buf);
            if let Some(e) = sym.debuginfod_error(f) {
                warnings.push(format!("{}: no debug file: {e}", m.path));
            }
        }
    }
    let signal = core.siginfo.as_ref().map(|s| Signal {
        number: s.signo,
        name: signal_name(s.signo),
        code: s.code,
        code_name: code_name(s.signo, s.code).map(str::to_string),
        fault_address: s.fault_address,
        sender_pid: s.sender_pid,
    });
    let signal = signal.or_else(|| {
        let s = core.threads.first()?.cursig as i32;
        (s != 0).then(|| Signal {
            number: s,
            name: signal_name(s),
            code: 0,
            code_name: None,
            fault_address: None,
            sender_pid: None,
        })
    });
    let crash_signature = crash_signature(signal.as_ref(), threads.first(), &modules);
    Ok(Backtrace {
        core: path.to_path_buf(),
        executable: modules
            .iter()
            .find(|m| m.is_executable)
            .and_then(|m| m.file.clone()),
        command: core.psinfo.as_ref().map(|p| p.fname.clone()),
        args: core.psinfo.as_ref().map(|p| p.psargs.clone()),
        pid: core.psinfo.as_ref().map(|p| p.pid),
        signal,
        crash_signature,
        modules,
        threads,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::gdb_function_name as g;

    #[test]
    fn names_as_gdb_prints_them() {
        assert_eq!(g("main"), "main");
        assert_eq!(g("app::Box<long>::get() const"), "app::Box<long>::get");
        assert_eq!(g("int foo<int>(int)"), "foo<int>");
        assert_eq!(g("Foo::operator()(int)"), "Foo::operator()");
        assert_eq!(
            g("std::vector<int, std::allocator<int> >::size() const"),
            "std::vector<int, std::allocator<int> >::size"
        );
        assert_eq!(g("operator new(unsigned long)"), "operator new");
        assert_eq!(
            g("(anonymous namespace)::f(int)"),
            "(anonymous namespace)::f"
        );
        assert_eq!(
            g("std::rt::lang_start::{{closure}}"),
            "std::rt::lang_start::{{closure}}"
        );
    }
}
