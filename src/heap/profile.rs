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

/// What is traced.
enum Target {
    Attach,
    /// The held child and the command's name as given.
    Launch(Held, String),
}

/// A sampled allocation still outstanding.
struct Live {
    stack: usize,
    weight: f64,
    var: f64,
    count: f64,
    ts_ns: u64,
}

/// A distinct stack (its pcs), as unwound.
struct Stack {
    unwound: Unwound,
    truncated: Option<String>,
}

/// The state of one trace.
struct Tracer {
    pid: i32,
    fp: bool,
    sample_bytes: u64,
    stack_bytes: u32,
    symbols: Options,
    lopts: LiveOptions,
    target: Option<LiveTarget>,
    last_refresh: Option<Instant>,
    stacks: Vec<Stack>,
    by_pcs: HashMap<Vec<u64>, usize>,
    by_stackid: HashMap<i64, usize>,
    live: HashMap<u64, Live>,
    outstanding: f64,
    warnings: Vec<String>,
}

impl Tracer {
    /// Re-read the process's modules (a launched command after `execve`, a `dlopen`), at
    /// most every 100 ms; false when the process is gone.
    fn refresh(&mut self, force: bool) -> bool {
        if !force
            && self
                .last_refresh
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return self.target.is_some();
        }
        self.last_refresh = Some(Instant::now());
        match LiveTarget::open(self.pid, &self.symbols, &self.lopts) {
            Ok(t) => {
                self.target = Some(t);
                true
            }
            Err(_) => false,
        }
    }

    fn covered(&self, pc: u64) -> bool {
        self.target.as_ref().is_some_and(|t| {
            crate::coredump::modules::module_at(&t.modules, pc.saturating_sub(1)).is_some()
        })
    }

    fn intern(&mut self, unwound: Unwound) -> usize {
        let pcs: Vec<u64> = unwound.frames.iter().map(|f| f.pc).collect();
        if let Some(&i) = self.by_pcs.get(&pcs) {
            return i;
        }
        let i = self.stacks.len();
        self.stacks.push(Stack {
            unwound,
            truncated: None,
        });
        self.by_pcs.insert(pcs, i);
        i
    }

    fn stack_of(&mut self, stack: bpf::StackReader<'_>, a: &bpf::Alloc<'_>) -> usize {
        if !self.fp && !self.covered(a.regs[0]) {
            self.refresh(false);
        }
        if self.fp {
            if let Some(&i) = self.by_stackid.get(&a.stackid) {
                return i;
            }
            let ips = if a.stackid >= 0 {
                stack(a.stackid as u32).unwrap_or_default()
            } else {
                Vec::new()
            };
            if ips.first().is_some_and(|&pc| !self.covered(pc)) {
                self.refresh(false);
            }
            let mut u = stacks::fp_frames(&ips);
            if ips.is_empty() {
                u.stop_reason = "the kernel could not record this stack".into();
            }
            let i = self.intern(u);
            if ips.is_empty() {
                self.stacks[i].truncated = Some(
                    "the kernel could not record this stack (its stack map was full, or the \
                     walk failed)"
                        .into(),
                );
            }
            if a.stackid >= 0 {
                self.by_stackid.insert(a.stackid, i);
            }
            i
        } else {
            let u = match &self.target {
                Some(t) => stacks::unwind_copy(&t.process, &t.modules, a),
                None => Unwound {
                    frames: Vec::new(),
                    stop_reason: "the process's modules could not be read".into(),
                },
            };
            self.intern(u)
        }
    }

    fn on_event(&mut self, st: bpf::StackReader<'_>, e: Event<'_>) {
        match e {
            Event::Alloc(a) => {
                let stack = self.stack_of(st, &a);
                let s = a.size as f64;
                let (weight, var, count) = if self.sample_bytes <= 1 {
                    (s, 0.0, 1.0)
                } else {
                    let p = -(-s / self.sample_bytes as f64).exp_m1();
                    let p = p.max(f64::MIN_POSITIVE);
                    let w = s / p;
                    (w, w * w * (1.0 - p), 1.0 / p)
                };
                self.outstanding += weight;
                self.live.insert(
                    a.seq,
                    Live {
                        stack,
                        weight,
                        var,
                        count,
                        ts_ns: a.ts_ns,
                    },
                );
            }
            Event::Free { seq, .. } => {
                if let Some(l) = self.live.remove(&seq) {
                    self.outstanding -= l.weight;
                }
            }
        }
    }
}

/// `CLOCK_MONOTONIC` now, nanoseconds (the clock of `bpf_ktime_get_ns`).
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes the current time into a local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The memory cgroup of `pid` and its workload's name.
fn workload_of(proc_root: &std::path::Path, pid: i32) -> (Option<String>, Option<String>) {
    let Ok(text) = std::fs::read_to_string(proc_root.join(format!("{pid}/cgroup"))) else {
        return (None, None);
    };
    use crate::sample::cgroup::{memory_cgroup_of, CgroupVersion};
    let cg = memory_cgroup_of(&text, CgroupVersion::V1)
        .or_else(|| memory_cgroup_of(&text, CgroupVersion::V2));
    // Named as `sample` names it: the runtimes' and kubelet's files under `/`.
    let name = cg.as_deref().and_then(|c| {
        crate::identity::Resolver::new(std::path::Path::new("/"))
            .resolve(c)
            .workload()
    });
    (name, cg)
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

impl Tracer {
    fn new(pid: i32, fp: bool, opts: &HeapOptions, lopts: LiveOptions) -> Tracer {
        Tracer {
            pid,
            fp,
            sample_bytes: opts.sample_bytes.max(1),
            stack_bytes: opts.stack_bytes,
            symbols: opts.symbols.clone(),
            lopts,
            target: None,
            last_refresh: None,
            stacks: Vec::new(),
            by_pcs: HashMap::new(),
            by_stackid: HashMap::new(),
            live: HashMap::new(),
            outstanding: 0.0,
            warnings: Vec::new(),
        }
    }
}

fn config(opts: &HeapOptions, fp: bool, pid: i32) -> bpf::Config {
    bpf::Config {
        sample_bytes: opts.sample_bytes.max(1),
        copy_stack: !fp,
        stack_bytes: opts.stack_bytes,
        tgid: pid as u32,
        // Room for about 8,000 copied stacks of 8 KiB, or 500,000 frame-pointer events: the
        // reader is woken as records arrive, this is for when it is slow to be scheduled.
        ring_bytes: if fp { 32 << 20 } else { 64 << 20 },
        max_live: 1 << 20,
    }
}

/// Attach every probe: the function's probe and, for an allocating one, its uretprobe.
fn attach_all(p: &mut Probes, probes: &[ProbedFunction], pid: i32) -> Result<()> {
    for f in probes {
        p.attach(f.program, &f.file, f.file_offset, pid as u32)?;
        if f.program != Program::Free {
            p.attach(Program::Return, &f.file, f.entry_offset, pid as u32)?;
        }
    }
    Ok(())
}

fn seize_for_exit(pid: i32) -> bool {
    // SAFETY: ptrace on our own child; failure only loses the exit stop.
    unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            libc::PTRACE_O_TRACEEXIT as usize as *mut libc::c_void,
        ) == 0
    }
}

/// What a launched child did since the last look.
enum Child {
    Running,
    /// Stopped at its exit (`PTRACE_EVENT_EXIT`): its memory and maps are still there.
    AtExit,
    /// Ended: its status in words.
    Ended(String),
}

/// Handle the child's ptrace stops without blocking: signals are passed on, group stops are
/// listened through, the exit stop is reported (the child stays there until [`cont`]).
fn poll_child(held: &mut Held) -> Child {
    loop {
        let mut st = 0;
        // SAFETY: waitpid on our own child, status into a local.
        let r = unsafe { libc::waitpid(held.pid, &mut st, libc::WNOHANG | libc::__WALL) };
        if r != held.pid {
            return Child::Running;
        }
        if libc::WIFEXITED(st) {
            held.mark_reaped();
            return Child::Ended(format!("exit status {}", libc::WEXITSTATUS(st)));
        }
        if libc::WIFSIGNALED(st) {
            held.mark_reaped();
            return Child::Ended(format!("killed by signal {}", libc::WTERMSIG(st)));
        }
        if libc::WIFSTOPPED(st) {
            let event = (st >> 16) & 0xff;
            let sig = libc::WSTOPSIG(st);
            if event == libc::PTRACE_EVENT_EXIT {
                return Child::AtExit;
            }
            // SAFETY: resumes our own tracee, passing its signal on (none for an event stop).
            unsafe {
                if event == libc::PTRACE_EVENT_STOP {
                    libc::ptrace(libc::PTRACE_LISTEN, held.pid, 0usize, 0usize);
                } else {
                    libc::ptrace(libc::PTRACE_CONT, held.pid, 0usize, sig as usize);
                }
            }
        }
    }
}

fn cont(pid: i32) {
    // SAFETY: resumes our own tracee.
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0usize, 0usize) };
}

/// Stop a launched child (SIGTERM, then SIGKILL after 2 s) and reap it, going through its
/// ptrace stops; its status in words.
fn finish_child(held: &mut Held) -> String {
    held.kill(libc::SIGTERM);
    let t = Instant::now();
    let mut killed = false;
    loop {
        match poll_child(held) {
            Child::Ended(s) => return s,
            Child::AtExit => cont(held.pid),
            Child::Running => {
                if !killed && t.elapsed() > Duration::from_secs(2) {
                    held.kill(libc::SIGKILL);
                    killed = true;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// The poll interval of the ring buffer and of the target's state.
const POLL: Duration = Duration::from_millis(10);

#[allow(clippy::too_many_arguments)]
fn trace(
    mut tracer: Tracer,
    mut target: Target,
    probes: Vec<ProbedFunction>,
    notes: Vec<String>,
    unwind_why: String,
    opts: &HeapOptions,
    t0: Instant,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<HeapProfile> {
    let pid = tracer.pid;
    let mut p = match Probes::load(&config(opts, tracer.fp, pid)) {
        Ok(p) => p,
        Err(e) => {
            if let Target::Launch(h, _) = &mut target {
                h.kill(libc::SIGKILL);
            }
            return Err(e);
        }
    };
    if let Err(e) = attach_all(&mut p, &probes, pid) {
        if let Target::Launch(h, _) = &mut target {
            h.kill(libc::SIGKILL);
        }
        return Err(e);
    }
    if let Target::Launch(h, name) = &mut target {
        seize_for_exit(h.pid);
        h.release(name)?;
    }
    let attach_ms = t0.elapsed().as_secs_f64() * 1e3;
    progress(&Progress {
        attached: Some((p.attached, attach_ms)),
        ..Progress::default()
    });
    let start_ns = monotonic_ns();
    let start = Instant::now();
    tracer.warnings.extend(notes);
    let ended;
    let mut exit_status = None;
    let mut rate_checked = false;
    let free_stepped = probes
        .iter()
        .any(|f| f.program == Program::Free && f.offset_in_function == 0);
    let mut last_progress = Instant::now();
    loop {
        p.drain(&mut |e, st| tracer.on_event(st, e));
        let done = match &mut target {
            Target::Attach => {
                let gone = crate::sample::stat::read(&opts.proc_root, pid)
                    .map(|s| s.has_exited())
                    .unwrap_or(true);
                gone.then(|| "exited".to_string())
            }
            Target::Launch(h, _) => match poll_child(h) {
                Child::Running => None,
                Child::AtExit => {
                    // Its modules while they are still mapped, and every event before its end.
                    tracer.refresh(true);
                    p.drain(&mut |e, st| tracer.on_event(st, e));
                    cont(h.pid);
                    None
                }
                Child::Ended(s) => {
                    exit_status = Some(s);
                    Some("exited".to_string())
                }
            },
        };
        if let Some(d) = done {
            ended = d;
            break;
        }
        if stop.load(Ordering::Relaxed) {
            ended = "interrupted".into();
            break;
        }
        if opts.duration.is_some_and(|d| start.elapsed() >= d) {
            ended = "duration".into();
            break;
        }
        if !rate_checked && start.elapsed() >= Duration::from_secs(1) {
            rate_checked = true;
            let s = p.stats();
            let secs = start.elapsed().as_secs_f64();
            let free_us = if free_stepped {
                FREE_STEPPED_TRAP_US
            } else {
                FREE_TRAP_US
            };
            let share = (s.calls as f64 * ALLOC_TRAP_US + s.frees as f64 * free_us) / 1e6 / secs;
            if share > opts.max_overhead {
                let w = format!(
                    "the probes cost about {:.0} % of a core in the target ({:.0} allocator calls/s \
                     and {:.0} frees/s at about {ALLOC_TRAP_US} and {free_us} µs per trap): it runs \
                     that much slower while traced; sampling does not remove the traps",
                    share * 100.0,
                    s.calls as f64 / secs,
                    s.frees as f64 / secs
                );
                progress(&Progress {
                    elapsed_s: start.elapsed().as_secs_f64(),
                    calls: s.calls,
                    outstanding_bytes: (!tracer.fp).then(|| tracer.outstanding.max(0.0) as u64),
                    note: Some(w.clone()),
                    attached: None,
                });
                tracer.warnings.push(w);
            }
        }
        if last_progress.elapsed() >= Duration::from_millis(200) {
            last_progress = Instant::now();
            progress(&Progress {
                elapsed_s: start.elapsed().as_secs_f64(),
                calls: p.stats().calls,
                outstanding_bytes: (!tracer.fp).then(|| tracer.outstanding.max(0.0) as u64),
                note: None,
                attached: None,
            });
        }
        p.wait(POLL);
    }
    let traced_s = start.elapsed().as_secs_f64();
    // Detach before naming: the target runs at full speed again.
    p.drain(&mut |e, st| tracer.on_event(st, e));
    if tracer.fp {
        // Frame-pointer mode sends no events: what is outstanding is in the `live` map.
        p.outstanding(&mut |addr, r, st| {
            tracer.on_event(
                st,
                Event::Alloc(bpf::Alloc {
                    seq: r.seq,
                    tid: 0,
                    addr,
                    size: r.size,
                    ts_ns: r.ts_ns,
                    stackid: r.stackid,
                    regs: [0; 8],
                    stack: &[],
                }),
            )
        });
    }
    let stats = p.stats();
    drop(p);
    if let Target::Launch(h, _) = &mut target {
        if exit_status.is_none() {
            exit_status = Some(finish_child(h));
        }
    }
    finish(
        tracer,
        &target,
        stats,
        probes,
        unwind_why,
        opts,
        start_ns,
        traced_s,
        attach_ms,
        ended,
        exit_status,
    )
}

/// Per stack: bytes, variance, allocations, samples, first and last time (ns).
#[derive(Default)]
struct Sum {
    bytes: f64,
    var: f64,
    count: f64,
    samples: u64,
    first: u64,
    last: u64,
}

/// A frame's name for the folded form and the function list.
fn frame_name(f: &Frame) -> String {
    match (&f.function, &f.module, f.module_offset) {
        (Some(n), _, _) => n.clone(),
        (None, Some(m), Some(o)) => format!("{}+{o:#x}", m.rsplit('/').next().unwrap_or(m)),
        _ => format!("{:#x}", f.pc),
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    mut tracer: Tracer,
    target: &Target,
    stats: bpf::Stats,
    probes: Vec<ProbedFunction>,
    unwind_why: String,
    opts: &HeapOptions,
    start_ns: u64,
    traced_s: f64,
    attach_ms: f64,
    ended: String,
    exit_status: Option<String>,
) -> Result<HeapProfile> {
    let mut sums: HashMap<usize, Sum> = HashMap::new();
    for l in tracer.live.values() {
        let s = sums.entry(l.stack).or_default();
        if s.samples == 0 || l.ts_ns < s.first {
            s.first = l.ts_ns;
        }
        s.last = s.last.max(l.ts_ns);
        s.bytes += l.weight;
        s.var += l.var;
        s.count += l.count;
        s.samples += 1;
    }
    let mut order: Vec<(usize, Sum)> = sums.into_iter().collect();
    order.sort_by(|a, b| b.1.bytes.total_cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
    let stacks_total = order.len();
    let total_bytes: f64 = order.iter().map(|o| o.1.bytes).sum();
    let total_var: f64 = order.iter().map(|o| o.1.var).sum();
    let total_count: f64 = order.iter().map(|o| o.1.count).sum();
    if opts.top > 0 {
        order.truncate(opts.top);
    }
    // Cut each stack where it stops being trustworthy, then name them all at once.
    let fp = tracer.fp;
    let copied = tracer.stack_bytes.min(bpf::STACK_MAX) as usize;
    let mut cut: Vec<(Unwound, Option<String>)> = Vec::new();
    for (i, _) in &order {
        let st = &tracer.stacks[*i];
        let mut u = st.unwound.clone();
        let why = match (&st.truncated, &tracer.target) {
            (Some(w), _) => Some(w.clone()),
            (None, Some(t)) => stacks::trust(&mut u, &t.modules, fp, copied),
            (None, None) => Some("the process's modules could not be read".into()),
        };
        cut.push((u, why));
    }
    let named = match &mut tracer.target {
        Some(t) => t.name(&cut.iter().map(|c| &c.0).collect::<Vec<_>>()),
        None => cut.iter().map(|_| Vec::new()).collect(),
    };
    let mut out_stacks = Vec::new();
    for (((_, sum), (_, mut why)), frames) in order.iter().zip(cut).zip(named) {
        let functions: Vec<String> = frames.iter().map(frame_name).collect();
        // A frame-pointer stack that was not cut must still end where threads start.
        if why.is_none() && fp {
            let bottom = frames
                .last()
                .and_then(|f| f.function.as_deref())
                .is_some_and(|n| stacks::BOTTOM.contains(&n));
            if !bottom {
                let no_fp = match (frames.last(), &tracer.target) {
                    (Some(f), Some(t)) => {
                        crate::coredump::unwind::frame_pointer_frame(
                            &t.modules,
                            f.pc.saturating_sub(1),
                        ) == Some(false)
                    }
                    _ => false,
                };
                let last = functions.last().map_or("the first frame", String::as_str);
                why = Some(if no_fp {
                    format!(
                        "the frame-pointer chain cannot be followed past {last}: its code keeps \
                         no frame pointer (built with -fomit-frame-pointer); --unwind cfi \
                         unwinds it"
                    )
                } else {
                    format!("the frame-pointer chain ends at {last} before the start of the thread")
                });
            }
        }
        let mut folded = String::new();
        for f in functions.iter().rev() {
            if !folded.is_empty() {
                folded.push(';');
            }
            folded.push_str(&f.replace(';', ":"));
        }
        if why.is_some() {
            folded.insert_str(0, "[truncated];");
        }
        let rel = |ns: u64| ns.saturating_sub(start_ns) as f64 / 1e9;
        out_stacks.push(HeapStack {
            bytes: sum.bytes.round() as u64,
            bytes_error: (1.96 * sum.var.sqrt()).round() as u64,
            allocations: sum.count.round() as u64,
            samples: sum.samples,
            first_s: rel(sum.first),
            last_s: rel(sum.last),
            truncated: why,
            frames,
            functions,
            folded,
        });
    }
    let mut warnings = std::mem::take(&mut tracer.warnings);
    if matches!(target, Target::Attach) {
        warnings.insert(
            0,
            "only allocations made since the probes were attached are counted: memory \
             allocated before is not seen, and frees of it are ignored"
                .into(),
        );
    }
    if stats.lost > 0 || stats.live_full > 0 {
        warnings.push(format!(
            "{} sampled events were lost (the ring buffer or the live map was full): the \
             figures are low",
            stats.lost + stats.live_full
        ));
    }
    if ended == "exited" && exit_status.is_none() {
        warnings.push(format!(
            "process {} exited after {traced_s:.1} s: the figures are up to its exit",
            tracer.pid
        ));
    }
    let (command, args) = match &tracer.target {
        Some(t) => (t.process.command.clone(), t.process.args.clone()),
        None => (String::new(), String::new()),
    };
    if let Some(t) = &mut tracer.target {
        t.finish()?;
        warnings.append(&mut t.warnings);
    }
    let (workload, cgroup) = workload_of(&opts.proc_root, tracer.pid);
    Ok(HeapProfile {
        pid: tracer.pid,
        command,
        args,
        workload,
        cgroup,
        mode: "attach",
        unwind: if fp { Unwind::Fp } else { Unwind::Cfi },
        unwind_why,
        sample_bytes: tracer.sample_bytes,
        traced_s,
        attach_ms,
        ended,
        exit_status,
        calls: stats.calls,
        frees: stats.frees,
        sampled: stats.sampled,
        lost: stats.lost + stats.live_full,
        outstanding_bytes: total_bytes.round() as u64,
        outstanding_bytes_error: (1.96 * total_var.sqrt()).round() as u64,
        outstanding_allocations: total_count.round() as u64,
        stacks_total,
        stacks: out_stacks,
        probes,
        warnings,
    })
}
