//! `clw-diag leaks PID` and `clw-diag profile -- CMD`: the allocation stacks holding the bytes
//! allocated since the probes were attached and not freed, from [`super::bpf`]'s events,
//! unwound ([`super::stacks`]) as they arrive and named once each at the end.
//!
//! Sampling: with `sample_bytes` R > 1 an allocation of s bytes is sampled with probability
//! p = 1 − e^(−s/R) (a Poisson process over the bytes, jemalloc's and tcmalloc's scheme) and
//! stands for s/p bytes and 1/p allocations (the Horvitz–Thompson estimator); the variance of a
//! stack's byte estimate is estimated by Σ (s/p)²(1 − p), and the output gives ±1.96σ.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::bpf::{self, Event, Probes, Program};
use super::launch::{self, Held};
use super::stacks;
use super::targets::{self, ProbedFunction};
use crate::coredump::unwind::Unwound;
use crate::error::{Error, Result};
use crate::symbolize::backtrace::{Frame, LiveOptions, LiveTarget, Options};

mod child;
mod summary;
mod tracer;

use child::*;
use summary::*;
use tracer::*;

/// How stacks are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unwind {
    /// Frame pointers when the executable keeps them, else CFI.
    Auto,
    /// The kernel's frame-pointer walk at the allocator's return (`bpf_get_stackid`).
    Fp,
    /// A copy of the registers and the top of the user stack, unwound here with CFI.
    Cfi,
}

/// What to trace and how.
#[derive(Debug, Clone)]
pub struct HeapOptions {
    /// Stop after this long; `None`: at Ctrl-C, or when the process (command) ends.
    pub duration: Option<Duration>,
    /// Mean bytes between samples; 1 records every allocation.
    pub sample_bytes: u64,
    /// How stacks are taken.
    pub unwind: Unwind,
    /// Bytes of user stack copied per sampled allocation (`Unwind::Cfi`).
    pub stack_bytes: u32,
    /// Stacks kept in the model, most bytes first; 0 keeps all.
    pub top: usize,
    /// Extra symbol prefixes of allocators (`je_`, `_rjem_`, `mi_`…).
    pub alloc_prefixes: Vec<String>,
    /// Warn when the probes' trap cost alone, measured over the first second, would take more
    /// than this share of a core (0–1).
    pub max_overhead: f64,
    /// Where modules' files and debug files are found (as `backtrace`).
    pub symbols: Options,
    /// The proc filesystem (normally `/proc`).
    pub proc_root: PathBuf,
}

impl Default for HeapOptions {
    fn default() -> Self {
        HeapOptions {
            duration: None,
            sample_bytes: DEFAULT_SAMPLE_BYTES,
            unwind: Unwind::Auto,
            stack_bytes: 8192,
            top: 10,
            alloc_prefixes: Vec::new(),
            max_overhead: 0.10,
            symbols: Options::default(),
            proc_root: PathBuf::from("/proc"),
        }
    }
}

/// The default mean sampling distance, bytes (jemalloc's `lg_prof_sample` 19, tcmalloc's).
pub const DEFAULT_SAMPLE_BYTES: u64 = 512 * 1024;

/// Trap cost per probe hit on this kind of machine, microseconds, for the overhead warning
/// (`../shared/notes/heap-profiling.md` §1: a uprobe on an emulated instruction 0.69–0.88 µs,
/// a uretprobe about 0.4 µs more, one single-stepped out of line 5.9 µs).
const ALLOC_TRAP_US: f64 = 1.1;
const FREE_TRAP_US: f64 = 0.9;
const FREE_STEPPED_TRAP_US: f64 = 5.9;

/// One allocation stack and the bytes it holds.
#[derive(Debug, Clone, Serialize)]
pub struct HeapStack {
    /// Bytes allocated here since attach and not freed (estimated when sampled).
    pub bytes: u64,
    /// Half-width of the 95 % interval of `bytes` (0 when every allocation was recorded).
    pub bytes_error: u64,
    /// Allocations outstanding (estimated when sampled).
    pub allocations: u64,
    /// Sampled allocations behind the estimate.
    pub samples: u64,
    /// First and last of its outstanding allocations, seconds since attach.
    pub first_s: f64,
    /// See `first_s`.
    pub last_s: f64,
    /// The stack is not complete: why it stops where it does (frames past it would be guesses).
    pub truncated: Option<String>,
    /// The frames, innermost (the allocator's caller) first, inline frames included.
    pub frames: Vec<Frame>,
    /// The function names, innermost first (`module+0xOFFSET` where none is known).
    pub functions: Vec<String>,
    /// The folded form for flame graphs, outermost first, `;`-separated.
    pub folded: String,
}

/// The heap profile of one process.
#[derive(Debug, Serialize)]
pub struct HeapProfile {
    /// The process id.
    pub pid: i32,
    /// `comm` of the process (the program's name for a launched command).
    pub command: String,
    /// Its command line.
    pub args: String,
    /// Its workload (container, pod, unit) from its memory cgroup; `None` when it is no
    /// workload's, with `cgroup` saying where it is.
    pub workload: Option<String>,
    /// Its memory cgroup, when it could be read.
    pub cgroup: Option<String>,
    /// `attach` (`leaks PID`) or `launch` (`profile -- CMD`).
    pub mode: &'static str,
    /// `fp` or `cfi`, as used.
    pub unwind: Unwind,
    /// Why `unwind` is what it is (for `--unwind auto`).
    pub unwind_why: String,
    /// Mean bytes between samples; 1: every allocation recorded (exact).
    pub sample_bytes: u64,
    /// From the probes attached to the end, seconds.
    pub traced_s: f64,
    /// From the start of the call to all probes attached, milliseconds.
    pub attach_ms: f64,
    /// Why tracing ended: `duration`, `interrupted`, `exited` (the process ended; its
    /// outstanding allocations are what it never freed).
    pub ended: String,
    /// The exit status of a launched command (or `signal N`), when it ended.
    pub exit_status: Option<String>,
    /// Allocating calls seen.
    pub calls: u64,
    /// Freeing calls seen.
    pub frees: u64,
    /// Allocations sampled.
    pub sampled: u64,
    /// Events lost (ring buffer full, map full): the figures are low by that many samples.
    pub lost: u64,
    /// Bytes allocated since attach and not freed, over all stacks (estimated when sampled).
    pub outstanding_bytes: u64,
    /// Half-width of the 95 % interval of `outstanding_bytes`.
    pub outstanding_bytes_error: u64,
    /// Allocations outstanding, over all stacks.
    pub outstanding_allocations: u64,
    /// Distinct stacks holding outstanding bytes (all of them, also those past `top`).
    pub stacks_total: usize,
    /// The stacks, most bytes first (the first `top`).
    pub stacks: Vec<HeapStack>,
    /// The functions probed.
    pub probes: Vec<ProbedFunction>,
    /// What could not be done or known: allocations before attach, lost events, libraries
    /// not searched, a process that ended early.
    pub warnings: Vec<String>,
}

/// Progress while tracing, for a terminal.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// A warning to show now (it is in the profile's warnings too).
    pub note: Option<String>,
    /// Set once, when the probes are gone and the stacks are being named (debug files read).
    pub naming: bool,
    /// Set once, when every probe is attached: how many, and `attach_ms` since the call.
    pub attached: Option<(usize, f64)>,
    /// Seconds since the probes were attached.
    pub elapsed_s: f64,
    /// Allocating calls so far.
    pub calls: u64,
    /// Estimated outstanding bytes so far; `None` with frame-pointer stacks, which are read
    /// from the kernel's map only at the end.
    pub outstanding_bytes: Option<u64>,
}

/// The C runtime's start-up functions linked into every executable (crt1.o, crti.o,
/// crtbegin.o), built without frame pointers whatever the program is built with.
const CRT: &[&str] = &[
    "_start",
    "_init",
    "_fini",
    "deregister_tm_clones",
    "register_tm_clones",
    "__do_global_dtors_aux",
    "frame_dummy",
    "__libc_csu_init",
    "__libc_csu_fini",
    "_dl_relocate_static_pie",
];

/// Whether the executable keeps frame pointers: of its own functions (the C runtime's left
/// out) with CFI, 98 % find the CFA through rbp at a quarter, half or three quarters of their
/// length (past the prologue, before the epilogue); at most 400 are looked at. `None`
/// when none has CFI (or it cannot be read).
fn keeps_frame_pointers(
    exe: &std::path::Path,
    modules: &[crate::coredump::modules::Module],
    bias: u64,
) -> Option<bool> {
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(exe).ok()?;
    let obj = object::File::parse(&*data).ok()?;
    let syms: Vec<_> = if obj.symbols().next().is_some() {
        obj.symbols().collect()
    } else {
        obj.dynamic_symbols().collect()
    };
    let (mut yes, mut no) = (0u32, 0u32);
    for s in syms.iter().filter(|s| {
        s.kind() == object::SymbolKind::Text
            && s.size() >= 16
            && !s.name().is_ok_and(|n| CRT.contains(&n))
    }) {
        let mut verdict = None;
        for q in [1, 2, 3] {
            let pc = bias.wrapping_add(s.address() + s.size() * q / 4);
            match crate::coredump::unwind::frame_pointer_frame(modules, pc) {
                Some(true) => verdict = Some(true),
                Some(false) if verdict.is_none() => verdict = Some(false),
                _ => {}
            }
        }
        match verdict {
            Some(true) => yes += 1,
            Some(false) => no += 1,
            None => {}
        }
        if yes + no >= 400 {
            break;
        }
    }
    // A frame-pointer walk is only complete when every frame keeps one: a mixed executable
    // (Rust's std keeps frame pointers, code built at the default opt-levels does not) gets CFI.
    (yes + no >= 1).then_some(f64::from(yes) >= 0.98 * f64::from(yes + no))
}

/// fp or not, and why, for `--unwind`; `exe_fp` is [`keeps_frame_pointers`] of the executable.
fn choose_unwind(u: Unwind, exe_fp: impl FnOnce() -> Option<bool>) -> (bool, String) {
    match u {
        Unwind::Fp => (true, "--unwind fp".into()),
        Unwind::Cfi => (false, "--unwind cfi".into()),
        Unwind::Auto => match exe_fp() {
            Some(true) => (
                true,
                "the executable keeps frame pointers: the kernel's frame-pointer walk".into(),
            ),
            Some(false) => (
                false,
                "the executable is built without frame pointers: CFI on copied stacks".into(),
            ),
            None => (
                false,
                "whether the executable keeps frame pointers is unknown: CFI on copied stacks"
                    .into(),
            ),
        },
    }
}

/// The usage error when nothing allocating was found to probe.
fn no_allocator(
    probes: &[ProbedFunction],
    pid: i32,
    modules: &[String],
    opts: &HeapOptions,
) -> Result<()> {
    if probes.iter().any(|p| p.program != Program::Free) {
        return Ok(());
    }
    let names: Vec<&str> = modules
        .iter()
        .map(|m| m.rsplit('/').next().unwrap_or(m))
        .take(6)
        .collect();
    Err(Error::Usage(format!(
        "process {pid}: no allocator function (malloc, calloc, realloc…{}) is defined in its \
         modules ({}{}): a static binary stripped of its symbols, or an allocator under a \
         prefix of its own (give it with --alloc-symbols PREFIX)",
        if opts.alloc_prefixes.is_empty() {
            String::new()
        } else {
            format!(", or under {}", opts.alloc_prefixes.join(", "))
        },
        names.join(", "),
        if modules.len() > 6 { ", …" } else { "" }
    )))
}

/// Trace the running process `pid` until `opts.duration`, `stop`, or its exit.
///
/// Errors: as [`LiveTarget::open`] (no such process, a kernel thread, permission); [`Error::Bpf`]
/// when BPF or uprobes are not available (saying what is missing); [`Error::Usage`] when no
/// allocator function is found in its modules (a static binary without symbols).
pub fn leaks(
    pid: i32,
    opts: &HeapOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<HeapProfile> {
    let t0 = Instant::now();
    let lopts = LiveOptions {
        proc_root: opts.proc_root.clone(),
        ..LiveOptions::default()
    };
    let target = LiveTarget::open(pid, &opts.symbols, &lopts)?;
    let (probes, notes) = targets::find(&target.modules, &opts.alloc_prefixes);
    let names: Vec<String> = target
        .modules
        .iter()
        .filter(|m| m.file.is_some())
        .map(|m| m.path.clone())
        .collect();
    no_allocator(&probes, pid, &names, opts)?;
    let unwind = choose_unwind(opts.unwind, || {
        let exe = target.modules.iter().find(|m| m.is_executable)?;
        keeps_frame_pointers(exe.file.as_ref()?, &target.modules, exe.load_bias)
    });
    let mut tracer = Tracer::new(pid, unwind.0, opts, lopts);
    tracer.target = Some(target);
    tracer.last_refresh = Some(Instant::now());
    trace(
        tracer,
        Target::Attach,
        probes,
        notes,
        unwind.1,
        opts,
        t0,
        stop,
        progress,
    )
}

/// Launch `argv`, trace it from its first instruction to its end, `opts.duration` (then it is
/// sent SIGTERM and waited for), or `stop` (the same).
///
/// Errors: [`Error::CannotStart`] (not found, not executable, a library missing);
/// [`Error::Bpf`]; [`Error::Usage`] when none of its files defines an allocator function.
pub fn profile(
    argv: &[String],
    opts: &HeapOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<HeapProfile> {
    let t0 = Instant::now();
    let name = argv.first().cloned().unwrap_or_default();
    let Some(program) = launch::find_program(&name) else {
        // Held::spawn says why, as execvp would.
        Held::spawn(argv)?;
        return Err(Error::Usage(format!("{name}: not found")));
    };
    let files = launch::libraries(&program)?;
    let list: Vec<(String, PathBuf, bool)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.display().to_string(), f.clone(), i == 0))
        .collect();
    let (probes, notes) = targets::find_in_files(&list, &opts.alloc_prefixes);
    let names: Vec<String> = list.iter().map(|l| l.0.clone()).collect();
    no_allocator(&probes, 0, &names, opts).map_err(|e| match e {
        Error::Usage(m) => Error::Usage(m.replacen("process 0", &name, 1)),
        e => e,
    })?;
    let unwind = choose_unwind(opts.unwind, || {
        let modules = crate::coredump::modules::from_file(&program)?;
        keeps_frame_pointers(&program, &modules, 0)
    });
    let held = Held::spawn(argv)?;
    let lopts = LiveOptions {
        proc_root: opts.proc_root.clone(),
        ..LiveOptions::default()
    };
    let tracer = Tracer::new(held.pid, unwind.0, opts, lopts);
    let mut out = trace(
        tracer,
        Target::Launch(held, name.clone()),
        probes,
        notes,
        unwind.1,
        opts,
        t0,
        stop,
        progress,
    )?;
    out.mode = "launch";
    Ok(out)
}
