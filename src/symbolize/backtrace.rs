//! `clw-diag backtrace`: every thread of an ELF core dump unwound and symbolized, as gdb's
//! `thread apply all bt` would show it. This composes the core reader and unwinder
//! (`crate::coredump`) with the symbolizer: core → modules and load biases → per-thread
//! unwinding → frames named as gdb names them (`super::gdb_names`) with inline frames →
//! [`Backtrace`], with its crash signature (`super::signature`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::debuginfod::Debuginfod;
use super::gdb_names::GdbNames;
use super::{DebugFiles, Symbolizer};
use crate::coredump::modules::{self, module_at, FileSource, Module};
use crate::coredump::unwind::{self, Method};
use crate::coredump::{core, store, Signal};
use crate::error::Result;

/// One frame as printed: a physical frame, or one of the functions inlined at its pc (those come
/// first, with `inline: true`, as gdb lists them).
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    /// Position in the thread's backtrace, 0 innermost (gdb's `#N`).
    pub index: usize,
    /// The pc: exact for frame 0 and frames a signal interrupted, else the return address
    /// (what gdb's `frame.pc()` shows); symbols are looked up at pc − 1 for those.
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub pc: u64,
    /// Demangled function name as gdb prints it (no parameter list), when known.
    pub function: Option<String>,
    /// Source file as recorded in DWARF.
    pub file: Option<String>,
    /// Source line (DWARF line table); `None` when no line is known.
    pub line: Option<u32>,
    /// Source column; `None` when DWARF records none (0) or no line is known.
    pub column: Option<u32>,
    /// This function was inlined into the next frame (same pc).
    pub inline: bool,
    /// The module (path as in the core, or `[vdso]`) the pc is in.
    pub module: Option<String>,
    /// pc minus the module's load bias: the address in the module's ELF file (bytes).
    #[serde(serialize_with = "crate::base::hex::hex_opt")]
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
    /// The frames, innermost first, inline frames before the physical frame they were inlined into.
    pub frames: Vec<Frame>,
    /// Why unwinding stopped.
    pub stop_reason: String,
    /// Where the thread is: its innermost functions in the program's own code, as in the crash
    /// signature (`park_cond < cond_thread`).
    pub location: String,
    /// The thread's name (`comm`, as `pthread_setname_np` sets it); live processes only.
    pub name: Option<String>,
    /// The scheduler state when it was attached (`R` running, `S` sleeping, `D`
    /// uninterruptible, `T` stopped); live processes only.
    pub state: Option<String>,
    /// How long the thread was held in a ptrace stop for its registers and stack,
    /// microseconds; live processes only.
    pub paused_us: Option<u64>,
}

/// The backtrace of a whole core, or of a live process.
#[derive(Debug, Serialize)]
pub struct Backtrace {
    /// The core file; `null` for a live process (`backtrace --pid`).
    pub core: Option<PathBuf>,
    /// How a live process was read; `null` for a core.
    pub live: Option<Live>,
    /// The executable file read (the path from the core, or `--exe`).
    pub executable: Option<PathBuf>,
    /// `pr_fname` (at most 15 bytes).
    pub command: Option<String>,
    /// `pr_psargs` (the first 80 bytes of the command line).
    pub args: Option<String>,
    /// The process id (`NT_PRPSINFO` `pr_pid`); `None` without that note.
    pub pid: Option<i32>,
    /// The signal that caused the dump (`NT_SIGINFO`); `None` without that note.
    pub signal: Option<Signal>,
    /// One line for grouping crashes: the signal and the crashing thread's innermost functions in
    /// the program's own code.
    pub crash_signature: String,
    /// The modules mapped in the process (`NT_FILE` and the vDSO), with their load biases and build
    /// IDs.
    pub modules: Vec<Module>,
    /// The crashing thread first (the first `NT_PRSTATUS`), then the others in core order.
    pub threads: Vec<Thread>,
    /// Set when the core file ends before the memory it says was dumped, with the setting to
    /// raise; `null` for a whole core.
    pub truncated: Option<core::Truncation>,
    /// Truncated core, missing files, build-ID mismatches, notes skipped.
    pub warnings: Vec<String>,
}

/// How a live process was attached and read (`backtrace --pid`).
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    /// `each-thread` (one thread held at a time) or `all-threads` (`--consistent`).
    pub hold: &'static str,
    /// Median time a thread was held, microseconds.
    pub paused_us_median: u64,
    /// Longest time a thread was held, microseconds.
    pub paused_us_max: u64,
    /// Threads left out and why (exited in between, did not stop in time).
    pub threads_missed: Vec<MissedThread>,
    /// The directory the process's files were read under: `/proc/PID/root` when its root is
    /// not ours (a container), else `null` (the files at their paths).
    pub root: Option<PathBuf>,
}

/// A thread of a live process that is not in the backtrace.
#[derive(Debug, Clone, Serialize)]
pub struct MissedThread {
    /// The thread id.
    pub tid: i32,
    /// Why it was left out, one line.
    pub why: String,
}

/// Options of [`backtrace`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The executable (`--exe`) and the root the core's paths are under (`--sysroot`).
    pub files: FileSource,
    /// Extra directories searched for separate debug files.
    pub debug_dirs: Vec<PathBuf>,
    /// Servers asked by build ID for debug files and for files missing on disk (only when the
    /// user asked: `--debuginfod` or `DEBUGINFOD_URLS`).
    pub debuginfod: Option<Debuginfod>,
    /// The largest size a compressed core may decompress to, bytes; 0 means the default
    /// ([`crate::coredump::compressed::DEFAULT_MAX`]).
    pub max_core_size: u64,
}

mod pid;

pub use pid::{backtrace_pid, sample_pid, FoldedStack, LiveOptions, LiveTarget, StackSamples};

/// Unwind and symbolize every thread of the core at `path`.
///
/// Errors: the core cannot be read or is not an x86-64 ELF core (see [`core::Core::open`]).
/// Missing executables or libraries are not errors: their frames are printed as module+offset
/// and a warning names what is missing.
pub fn backtrace(path: &Path, opts: &Options) -> Result<Backtrace> {
    let max = match opts.max_core_size {
        0 => crate::coredump::compressed::DEFAULT_MAX,
        m => m,
    };
    let core = core::Core::open_with(path, max)?;
    let (files, mut sym) = setup(opts, opts.files.sysroot.as_deref());
    let (mut modules, mut warnings) = modules::discover(&core, &files);
    warnings.splice(0..0, core.warnings.iter().cloned());

    let unwound: Vec<unwind::Unwound> = core
        .threads
        .iter()
        .map(|t| unwind::unwind(&core, &modules, t.regs.to_dwarf().map(Some)))
        .collect();
    let named = name_frames(&mut sym, &modules, &unwound.iter().collect::<Vec<_>>());
    let exe = exe_path(&modules);
    let mut threads = Vec::new();
    for (i, ((t, u), frames)) in core.threads.iter().zip(unwound).zip(named).enumerate() {
        threads.push(Thread {
            tid: t.pid,
            crashed: i == 0,
            signal: t.cursig,
            location: super::signature::location(&frames, exe.as_deref()),
            frames,
            stop_reason: u.stop_reason,
            name: None,
            state: None,
            paused_us: None,
        });
    }
    finish_modules(&sym, &mut modules, &mut warnings)?;
    let signal = Signal::of(&core);
    let crash_signature =
        super::signature::crash_signature(signal.as_ref(), threads.first(), exe.as_deref());
    Ok(Backtrace {
        core: Some(path.to_path_buf()),
        live: None,
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
        truncated: core.truncation.clone(),
        warnings,
    })
}

/// The newest crash systemd-coredump stored that `q` matches, unwound as [`backtrace`] does (the
/// core decompressed as it is read); a warning names the crash chosen.
///
/// Errors: what [`store::list`] returns for the store, [`crate::Error::Usage`] when no stored
/// crash with a core file matches (saying how many were looked at), then as [`backtrace`].
pub fn backtrace_stored(q: &store::Query, opts: &Options) -> Result<Backtrace> {
    let listing = store::list(q)?;
    let seen = listing.crashes.len();
    let Some(crash) = listing.crashes.into_iter().find(|c| c.file.is_some()) else {
        return Err(crate::Error::Usage(format!(
            "no stored crash with a core file matches in {} ({seen} listed{}; see `clw-diag \
             coredumps`)",
            q.dir.display(),
            if listing.dir_exists {
                ""
            } else {
                ", the directory does not exist"
            }
        )));
    };
    let path = crash
        .file
        .as_ref()
        .map(|f| f.path.clone())
        .unwrap_or_default();
    let mut bt = backtrace(&path, opts)?;
    bt.warnings.insert(
        0,
        format!(
            "the newest of {seen} matching stored crashes: {} (pid {}) at {}",
            crash.command, crash.pid, crash.timestamp
        ),
    );
    Ok(bt)
}

/// The debug-file search and the file source of one backtrace: `root` is where the mapped
/// files are read (`--sysroot`, or a container's `/proc/PID/root`).
fn setup(opts: &Options, root: Option<&Path>) -> (FileSource, Symbolizer) {
    let mut debug = DebugFiles::default();
    if let Some(root) = root {
        debug.dirs.insert(0, root.join("usr/lib/debug"));
    }
    debug.dirs.extend(opts.debug_dirs.iter().cloned());
    debug.debuginfod = opts.debuginfod.clone();
    let files = FileSource {
        debug_files: Some(Arc::new(debug.clone())),
        sysroot: root.map(Path::to_path_buf),
        ..opts.files.clone()
    };
    let mut sym = Symbolizer::new();
    sym.debug = debug;
    (files, sym)
}

/// The executable's module path.
fn exe_path(modules: &[Module]) -> Option<String> {
    modules
        .iter()
        .find(|m| m.is_executable)
        .map(|m| m.path.clone())
}

/// Debug files and debuginfod errors per module, then the check that no mapped file shrank.
fn finish_modules(
    sym: &Symbolizer,
    modules: &mut [Module],
    warnings: &mut Vec<String>,
) -> Result<()> {
    for m in modules.iter_mut() {
        if let Some(f) = &m.file {
            m.debug_file = sym.debug_file(f).map(Path::to_path_buf);
            if let Some(e) = sym.debuginfod_error(f) {
                warnings.push(format!("{}: no debug file: {e}", m.path));
            }
        }
    }
    // A module's file (or debug file) that shrank under its mapping was read as zeros from
    // there on: the stacks unwound and named through it cannot be reported.
    check_read(sym, modules)
}

/// Name every physical frame of `unwound` as gdb names it, inline frames first; each distinct
/// pc is looked up once.
fn name_frames(
    sym: &mut Symbolizer,
    modules: &[Module],
    unwound: &[&unwind::Unwound],
) -> Vec<Vec<Frame>> {
    // The addresses to name, per module: only their compilation units are read for names.
    let mut names = GdbNames::default();
    for raw in unwound.iter().flat_map(|u| &u.frames) {
        let lookup = raw.lookup_pc();
        if let Some(m) = module_at(modules, lookup) {
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
    let mut seen: std::collections::HashMap<u64, Vec<super::Frame>> = Default::default();
    let mut out = Vec::new();
    for u in unwound {
        let mut frames = Vec::new();
        for raw in &u.frames {
            let lookup = raw.lookup_pc();
            let m = module_at(modules, lookup);
            let symbolized = seen
                .entry(lookup)
                .or_insert_with(|| {
                    let svma = m.map(|m| lookup.wrapping_sub(m.load_bias));
                    let mut symbolized = Vec::new();
                    if let (Some(m), Some(svma)) = (m, svma) {
                        if let Some(file) = m.symbol_file() {
                            symbolized = names.frames(sym, file, svma);
                        } else if let Some(img) = &m.image {
                            if let Some(n) = modules::dynsym_at(img, svma) {
                                symbolized.push(super::Frame {
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
                        symbolized.push(super::Frame {
                            function: None,
                            file: None,
                            line: None,
                            column: None,
                            inlined: false,
                        });
                    }
                    symbolized
                })
                .clone();
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
        out.push(frames);
    }
    out
}

/// `Ok` while no file the unwinder or the symbolizer mapped (modules, their debug files) has
/// shrunk under its mapping; else [`crate::Error::Shrank`] naming the first that did.
fn check_read(sym: &Symbolizer, modules: &[Module]) -> Result<()> {
    sym.check()?;
    match modules
        .iter()
        .find(|m| m.image.as_ref().is_some_and(modules::Image::faulted))
    {
        Some(m) => Err(crate::error::Error::Shrank {
            path: m.file.clone().unwrap_or_else(|| m.path.clone().into()),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A C program that crashes, built and run in `dir` with unlimited core size; the path of
    /// the program and of its core, `None` (with a SKIP line) without gcc or a core file.
    fn crashed(dir: &Path) -> Option<(PathBuf, PathBuf)> {
        let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
        let gcc = Command::new("gcc").arg("--version").output().is_ok();
        if !gcc || pattern.starts_with('|') || pattern.contains('/') {
            eprintln!(
                "SKIP: needs gcc and a plain core_pattern (is {:?})",
                pattern.trim()
            );
            return None;
        }
        let src = dir.join("c.c");
        std::fs::write(
            &src,
            "int crash(int *p) { return *p; }\nint main(void) { return crash((int *)0); }\n",
        )
        .unwrap();
        let exe = dir.join("c");
        let o = Command::new("gcc")
            .args(["-g", "-O0", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Command::new("sh")
            .args(["-c", "ulimit -c unlimited; exec ./c"])
            .current_dir(dir)
            .status()
            .unwrap();
        let core = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("core"));
        if core.is_none() {
            eprintln!("SKIP: no core file was written in {}", dir.display());
        }
        Some((exe, core?))
    }

    #[test]
    fn an_executable_truncated_while_it_is_unwound_is_the_shrank_error() {
        let dir = tempfile::tempdir().unwrap();
        let Some((exe, core)) = crashed(dir.path()) else {
            return;
        };
        let core = core::Core::open(&core).unwrap();
        let (modules, _) = modules::discover(&core, &FileSource::default());
        let m = modules.iter().find(|m| m.is_executable).unwrap();
        assert_eq!(m.file.as_deref(), Some(exe.as_path()));
        let unwind_all = || {
            for t in &core.threads {
                unwind::unwind(&core, &modules, t.regs.to_dwarf().map(Some));
            }
        };
        unwind_all();
        let sym = Symbolizer::new();
        check_read(&sym, &modules).unwrap();
        // The executable is rewritten in place between discovery (mapped) and the unwind:
        // the unwinder reads its CFI from the mapping, which now faults.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&exe)
            .unwrap()
            .set_len(0)
            .unwrap();
        unwind_all();
        match check_read(&sym, &modules) {
            Err(crate::error::Error::Shrank { path }) => assert_eq!(path, exe),
            other => panic!("{other:?}"),
        }
    }
}
