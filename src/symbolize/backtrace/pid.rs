//! `backtrace --pid`: a live process read through [`crate::coredump::live`] (each thread held
//! only while its registers and stack are copied), unwound and named as a core is, and
//! `--samples`: identical stacks counted over several snapshots.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
    exe_path, finish_modules, name_frames, setup, Backtrace, Live, MissedThread, Options, Thread,
};
use crate::coredump::modules::{self, Module};
use crate::coredump::{live, unwind};
use crate::error::Result;
use crate::symbolize::Symbolizer;

/// How [`backtrace_pid`] and [`sample_pid`] read a live process.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Hold one thread at a time (default), or all at once (`--consistent`).
    pub hold: live::Hold,
    /// The proc filesystem (normally `/proc`).
    pub proc_root: PathBuf,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            hold: live::Hold::EachThread,
            proc_root: PathBuf::from("/proc"),
        }
    }
}

/// One snapshot of a live process: it, its modules, and its threads captured and unwound.
struct LiveRead {
    process: live::Process,
    captured: Vec<live::Captured>,
    missed: Vec<live::Missed>,
    unwound: Vec<unwind::Unwound>,
}

/// A live process opened for reading: where its files are read, its modules, what was noted
/// about them, and the symbolizer with the debug-file search for that root. The heap profiler
/// names the stacks it takes with it, as `backtrace --pid` does.
pub struct LiveTarget {
    /// The process: its mappings, auxiliary vector and memory.
    pub process: live::Process,
    /// Where its files are read: its `/proc/PID/root` when that is not ours (a container).
    pub root: Option<PathBuf>,
    /// Its modules, with load biases and build IDs, from `/proc/PID/maps`.
    pub modules: Vec<Module>,
    /// What was noted while opening: missing files, a container root.
    pub warnings: Vec<String>,
    sym: Symbolizer,
}

impl LiveTarget {
    /// Open `pid`: its maps and auxv, the directory its files are read under, its modules.
    ///
    /// Errors: as [`live::Process::open`].
    pub fn open(pid: i32, opts: &Options, lopts: &LiveOptions) -> Result<LiveTarget> {
        open_live(pid, opts, lopts)
    }

    /// Name every physical frame of `unwound` as `backtrace` names it (inline frames first),
    /// one list per stack; each distinct pc is looked up once.
    pub fn name(&mut self, unwound: &[&unwind::Unwound]) -> Vec<Vec<super::Frame>> {
        name_frames(&mut self.sym, &self.modules, unwound)
    }

    /// The modules' debug files and debuginfod errors (into `warnings`).
    ///
    /// Errors: [`crate::Error::Shrank`] when a module's file shrank while it was read.
    pub fn finish(&mut self) -> Result<()> {
        finish_modules(&self.sym, &mut self.modules, &mut self.warnings)
    }
}

type Opened = LiveTarget;

/// Open `pid`, find the directory its files are read under (its `/proc/PID/root` when that is
/// not our root), and discover its modules.
fn open_live(pid: i32, opts: &Options, lopts: &LiveOptions) -> Result<Opened> {
    let process = live::Process::open(&lopts.proc_root, pid)?;
    let root = match &opts.files.sysroot {
        Some(r) => Some(r.clone()),
        None => (!same_file(&process.root, Path::new("/"))).then(|| process.root.clone()),
    };
    let (files, sym) = setup(opts, root.as_deref());
    let (modules, mut warnings) = modules::discover(&process, &files);
    if let (Some(r), None) = (&root, &opts.files.sysroot) {
        warnings.push(format!(
            "the process has a root of its own (a container): its files are read through {}",
            r.display()
        ));
    }
    Ok(Opened {
        process,
        root,
        modules,
        warnings,
        sym,
    })
}

/// Whether `a` and `b` are the same directory (device and inode); false when either cannot be
/// read.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Capture and unwind every thread once.
fn read_live(process: live::Process, modules: &[Module], lopts: &LiveOptions) -> Result<LiveRead> {
    let (captured, missed) = live::capture(&process, &lopts.proc_root, lopts.hold)?;
    let unwound = captured
        .iter()
        .map(|c| unwind::unwind(&c.memory(&process), modules, c.regs.to_dwarf().map(Some)))
        .collect();
    Ok(LiveRead {
        process,
        captured,
        missed,
        unwound,
    })
}

/// A frame name as one field of the folded format: `;` separates frames there.
fn folded_frame(s: &str) -> String {
    s.replace(';', ":").replace(['\n', '\r'], " ")
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn hold_name(h: live::Hold) -> &'static str {
    match h {
        live::Hold::EachThread => "each-thread",
        live::Hold::AllThreads => "all-threads",
    }
}

/// Unwind and symbolize every thread of the live process `pid`, holding each thread in a
/// ptrace stop only while its registers and stack are copied (or all threads at once with
/// [`live::Hold::AllThreads`]). The process runs on afterwards, also when this fails.
///
/// Errors: [`crate::Error::Usage`] for clw-diag's own pid or a thread id,
/// [`crate::Error::NoSuchProcess`] / [`crate::Error::Vanished`] (exited before or during the
/// read), [`crate::Error::KernelThread`], [`crate::Error::Attach`] (permission with what it
/// needs, another tracer, a zombie), [`crate::Error::PermissionDenied`] for its `/proc` files.
pub fn backtrace_pid(pid: i32, opts: &Options, lopts: &LiveOptions) -> Result<Backtrace> {
    let Opened {
        process,
        root,
        mut modules,
        mut warnings,
        mut sym,
    } = open_live(pid, opts, lopts)?;
    let r = read_live(process, &modules, lopts)?;
    let named = name_frames(&mut sym, &modules, &r.unwound.iter().collect::<Vec<_>>());
    let exe = exe_path(&modules);
    let mut threads = Vec::new();
    for ((c, u), frames) in r.captured.iter().zip(&r.unwound).zip(named) {
        threads.push(Thread {
            tid: c.tid,
            crashed: false,
            signal: 0,
            location: crate::symbolize::signature::location(&frames, exe.as_deref()),
            frames,
            stop_reason: u.stop_reason.clone(),
            name: c.name.clone(),
            state: c.state.map(String::from),
            paused_us: Some(c.paused_us),
        });
    }
    for m in &r.missed {
        warnings.push(format!("thread {} left out: {}", m.tid, m.why));
    }
    finish_modules(&sym, &mut modules, &mut warnings)?;
    let mut paused: Vec<u64> = r.captured.iter().map(|c| c.paused_us).collect();
    let crash_signature =
        crate::symbolize::signature::crash_signature(None, threads.first(), exe.as_deref());
    Ok(Backtrace {
        core: None,
        live: Some(Live {
            hold: hold_name(lopts.hold),
            paused_us_max: paused.iter().copied().max().unwrap_or(0),
            paused_us_median: median(&mut paused),
            threads_missed: r
                .missed
                .iter()
                .map(|m| MissedThread {
                    tid: m.tid,
                    why: m.why.clone(),
                })
                .collect(),
            root,
        }),
        executable: modules
            .iter()
            .find(|m| m.is_executable)
            .and_then(|m| m.file.clone()),
        command: Some(r.process.command.clone()),
        args: Some(r.process.args.clone()),
        pid: Some(pid),
        signal: None,
        crash_signature,
        modules,
        threads,
        truncated: None,
        warnings,
    })
}

/// Identical stacks of a live process counted over several snapshots (`--samples`).
#[derive(Debug, Serialize)]
pub struct StackSamples {
    /// The process id.
    pub pid: i32,
    /// `comm` of the process.
    pub command: String,
    /// Snapshots taken.
    pub samples: usize,
    /// Time between the starts of two snapshots, seconds.
    pub interval_s: f64,
    /// `each-thread` or `all-threads` (`--consistent`).
    pub hold: &'static str,
    /// Thread stacks captured over all snapshots (the total of `count`).
    pub thread_samples: usize,
    /// Median time a thread was held, microseconds.
    pub paused_us_median: u64,
    /// Longest time a thread was held, microseconds.
    pub paused_us_max: u64,
    /// Distinct stacks, most frequent first.
    pub stacks: Vec<FoldedStack>,
    /// The process exited before the last snapshot; threads left out; missing files.
    pub warnings: Vec<String>,
}

/// One distinct stack and how often it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct FoldedStack {
    /// Thread stacks that had exactly these functions.
    pub count: usize,
    /// `count` over all thread stacks sampled, 0–1.
    pub share: f64,
    /// The thread's name (`comm`), or its tid when it has none.
    pub thread: String,
    /// The functions, innermost first (inline frames included), `module+0xOFFSET` where no
    /// name is known.
    pub functions: Vec<String>,
    /// Brendan Gregg's folded format, outermost first: `thread;main;work;spin` (the input of
    /// flamegraph.pl and inferno; the count follows after a space in `--folded` output).
    pub folded: String,
}

/// Take `samples` snapshots of every thread of `pid`, `interval` apart, and count identical
/// stacks. `progress` is called after each snapshot with the number done.
///
/// Errors: as [`backtrace_pid`] for the first snapshot; a process that exits later ends the
/// sampling early with a warning.
pub fn sample_pid(
    pid: i32,
    samples: usize,
    interval: std::time::Duration,
    opts: &Options,
    lopts: &LiveOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<StackSamples> {
    let Opened {
        process,
        mut modules,
        mut warnings,
        mut sym,
        ..
    } = open_live(pid, opts, lopts)?;
    let command = process.command.clone();
    // Per snapshot: the threads' names and ids, and their unwound stacks.
    type Snapshot = (Vec<Option<String>>, Vec<i32>, Vec<unwind::Unwound>);
    let mut reads: Vec<Snapshot> = Vec::new();
    let mut paused = Vec::new();
    let mut process = Some(process);
    let start = std::time::Instant::now();
    for i in 0..samples.max(1) {
        if i > 0 {
            let due = start + interval * i as u32;
            if let Some(d) = due.checked_duration_since(std::time::Instant::now()) {
                std::thread::sleep(d);
            }
        }
        let p = match process.take() {
            Some(p) => p,
            None => break,
        };
        match read_live(p, &modules, lopts) {
            Ok(r) => {
                paused.extend(r.captured.iter().map(|c| c.paused_us));
                let names = r.captured.iter().map(|c| c.name.clone()).collect();
                let tids = r.captured.iter().map(|c| c.tid).collect();
                reads.push((names, tids, r.unwound));
                process = Some(r.process);
            }
            Err(e) if i > 0 && e.is_vanished() => {
                warnings.push(format!(
                    "the process exited after {i} of {samples} snapshots"
                ));
                break;
            }
            Err(e) => return Err(e),
        }
        progress(i + 1);
    }
    let all: Vec<&unwind::Unwound> = reads.iter().flat_map(|r| r.2.iter()).collect();
    let named = name_frames(&mut sym, &modules, &all);
    let mut counts: std::collections::HashMap<(String, Vec<String>), usize> = Default::default();
    let mut k = 0;
    for (names, tids, _) in &reads {
        for (name, tid) in names.iter().zip(tids) {
            let frames = &named[k];
            k += 1;
            let functions: Vec<String> = frames
                .iter()
                .map(|f| match (&f.function, &f.module, f.module_offset) {
                    (Some(n), _, _) => n.clone(),
                    (None, Some(m), Some(o)) => {
                        format!("{}+{o:#x}", m.rsplit('/').next().unwrap_or(m))
                    }
                    _ => format!("{:#x}", f.pc),
                })
                .collect();
            let thread = name.clone().unwrap_or_else(|| tid.to_string());
            *counts.entry((thread, functions)).or_default() += 1;
        }
    }
    let total: usize = counts.values().sum();
    let mut stacks: Vec<FoldedStack> = counts
        .into_iter()
        .map(|((thread, functions), count)| {
            let mut folded = folded_frame(&thread);
            for f in functions.iter().rev() {
                folded.push(';');
                folded.push_str(&folded_frame(f));
            }
            FoldedStack {
                count,
                share: count as f64 / total.max(1) as f64,
                thread,
                functions,
                folded,
            }
        })
        .collect();
    stacks.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.folded.cmp(&b.folded)));
    finish_modules(&sym, &mut modules, &mut warnings)?;
    Ok(StackSamples {
        pid,
        command,
        samples: reads.len(),
        interval_s: interval.as_secs_f64(),
        hold: hold_name(lopts.hold),
        thread_samples: total,
        paused_us_max: paused.iter().copied().max().unwrap_or(0),
        paused_us_median: median(&mut paused),
        stacks,
        warnings,
    })
}
