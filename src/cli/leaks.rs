//! `clw-diag leaks PID` and `clw-diag profile -- CMD`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use clw_diag::base::size;
use clw_diag::heap::profile::{self, HeapOptions, HeapProfile, Unwind};
use clw_diag::symbolize::backtrace::Options;

use super::progress::Progress;
use super::Output;

macro_rules! how {
    () => {
        "\
How: BPF uprobes on the allocator's functions found in the process's modules (glibc's malloc, \
calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign, valloc, free; \
jemalloc's mallocx/rallocx/dallocx/sdallocx; the same names under each --alloc-symbols \
prefix), and uretprobes on their returns; free is probed past its NULL test where the code \
allows (an order of magnitude cheaper). libstdc++'s operator new/delete call malloc/free and \
show up in the stacks above them; an allocator's own (jemalloc's, beside its malloc) are \
probed themselves. Only allocations made since attach count: memory allocated before \
is not seen, and its frees are ignored. realloc moves the record (a free and an allocation).

Sampling (--sample-bytes N, default 512Ki as jemalloc and tcmalloc): a Poisson process over \
the bytes allocated picks which allocations get a stack; each stands for size/p bytes, and \
the output gives the estimate with its 95 % interval. --sample-bytes 1 records every \
allocation: exact figures, more cost. Every call still traps (about 1–2 µs per malloc/free \
pair on a VM); after a second the call rate is measured and a warning says what share of a \
core the traps cost.

Stacks (--unwind): fp takes the kernel's frame-pointer walk at the allocator's return; cfi \
(default when the executable keeps no frame pointers) copies the registers and the top of the \
stack (--stack-bytes) for each sampled allocation and unwinds it here with the CFI unwinder \
of `backtrace`. A stack that cannot be followed to the start of its thread is marked \
[truncated] with the reason, never given a guessed caller. Stacks are named once each at the \
end (debug files, --debuginfod as backtrace).

Needs root, or CAP_BPF and CAP_PERFMON; a clear error (exit 2) says what is missing. The \
probes belong to clw-diag's process: they are removed when it exits, also when it is killed.

Output: a table of the stacks with the most outstanding bytes (--top N), the top stack's \
frames, --json (docs/json.md), --format folded for flame graphs (flamegraph.pl, inferno: \
the value is bytes)."
    };
}

pub const LEAKS_LONG_ABOUT: &str = concat!(
    "\
Attach to a running process and report the call stacks holding the memory it allocates and \
does not free: bytes, allocation count, and the first and last allocation time per stack, \
for --duration or until Ctrl-C (or the process's exit: the figures up to it). The next step \
after `clw-diag analyze` says a process leaks: where the bytes are held.

",
    how!()
);

pub const PROFILE_LONG_ABOUT: &str = concat!(
    "\
Run a command under the heap profiler from its first instruction to its end (or --duration, \
then it gets SIGTERM): the call stacks holding the memory it allocated and never freed. The \
command is held before exec until the probes are attached, so a command that lives \
milliseconds is fully seen; its stdin, stdout and stderr are clw-diag's, and its exit status \
is reported (clw-diag's own is 0 when the profile was made).

",
    how!()
);

pub const LEAKS_AFTER_HELP: &str = "\
Examples:
  clw-diag leaks 4242 --duration 30s             the stacks holding what pid 4242 allocated in 30 s and kept
  clw-diag leaks 4242 --duration 1m --json       the same as JSON
  clw-diag leaks 4242 --format folded > f.txt    flame-graph input (flamegraph.pl --countname bytes f.txt)
  clw-diag leaks 4242 --sample-bytes 1 --unwind fp   every allocation, frame-pointer stacks";

pub const PROFILE_AFTER_HELP: &str = "\
Examples:
  clw-diag profile -- ./server --port 8080       until it exits (or Ctrl-C)
  clw-diag profile --sample-bytes 1 -- ./unit-test   exact: every allocation of a test run
  clw-diag profile --alloc-symbols je_ -- ./app   an allocator with prefixed names";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnwindArg {
    /// fp when the executable keeps frame pointers, else cfi.
    Auto,
    /// The kernel's frame-pointer walk (cheap; complete only with frame pointers everywhere).
    Fp,
    /// Copied stacks unwound with CFI (complete without frame pointers; costs a copy per sample).
    Cfi,
}

/// What both commands take.
#[derive(Debug, Args)]
pub struct HeapArgs {
    /// Stop after this long (500ms, 30s, 5m); default: Ctrl-C or the process's end.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Mean bytes between sampled allocations (512Ki, 64Ki; 1 = every allocation, exact).
    #[arg(long, value_name = "SIZE", default_value = "512Ki", value_parser = parse_sample)]
    pub sample_bytes: u64,
    /// How stacks are taken.
    #[arg(long, value_enum, default_value = "auto")]
    pub unwind: UnwindArg,
    /// Bytes of stack copied per sampled allocation with --unwind cfi (4096, 8192 or 16384).
    #[arg(long, value_name = "BYTES", default_value = "8192", value_parser = parse_stack_bytes)]
    pub stack_bytes: u32,
    /// Show this many stacks, most bytes first (0: all).
    #[arg(long, value_name = "N", default_value = "10")]
    pub top: usize,
    /// Also probe allocator functions under this symbol prefix (je_, _rjem_, mi_, tc_);
    /// repeatable.
    #[arg(long, value_name = "PREFIX")]
    pub alloc_symbols: Vec<String>,
    /// Warn when the probes' traps alone cost more than this share of a core (percent).
    #[arg(long, value_name = "PERCENT", default_value = "10")]
    pub max_overhead: f64,
    /// Extra directory searched for separate debug files (repeatable).
    #[arg(long, value_name = "DIR")]
    pub debug_dir: Vec<PathBuf>,
    /// Ask debuginfod servers (DEBUGINFOD_URLS) for debug files by build ID.
    #[arg(long)]
    pub debuginfod: bool,
    /// Write the profile to FILE instead of stdout (a profiled command's own output stays on
    /// stdout).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LeaksArgs {
    /// The process to attach to.
    #[arg(value_name = "PID", value_parser = super::parse_pid)]
    pub pid: super::PidArg,
    #[command(flatten)]
    pub heap: HeapArgs,
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub heap: HeapArgs,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    clw_diag::base::duration::parse_within(
        s,
        std::time::Duration::from_millis(1),
        std::time::Duration::from_secs(7 * 86400),
    )
    .map_err(|e| e.to_string())
}

fn parse_sample(s: &str) -> Result<u64, String> {
    match size::parse(s).map_err(|e| e.to_string())? {
        0 => Err("0 samples nothing: give 1 for every allocation, or a size such as 512Ki".into()),
        b => Ok(b),
    }
}

fn parse_stack_bytes(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n @ (4096 | 8192 | 16384)) => Ok(n),
        _ => Err("give 4096, 8192 or 16384".into()),
    }
}

impl HeapArgs {
    fn options(&self) -> anyhow::Result<HeapOptions> {
        if !(0.0..=100.0).contains(&self.max_overhead) {
            anyhow::bail!("--max-overhead is a percentage of a core, 0 to 100");
        }
        Ok(HeapOptions {
            duration: self.duration,
            sample_bytes: self.sample_bytes,
            unwind: match self.unwind {
                UnwindArg::Auto => Unwind::Auto,
                UnwindArg::Fp => Unwind::Fp,
                UnwindArg::Cfi => Unwind::Cfi,
            },
            stack_bytes: self.stack_bytes,
            top: self.top,
            alloc_prefixes: self.alloc_symbols.clone(),
            max_overhead: self.max_overhead / 100.0,
            symbols: Options {
                debug_dirs: self.debug_dir.clone(),
                debuginfod: clw_diag::symbolize::debuginfod::Debuginfod::from_env(self.debuginfod)
                    .map_err(|e| anyhow::anyhow!(e))?,
                ..Options::default()
            },
            proc_root: PathBuf::from("/proc"),
        })
    }
}

/// The `--output` file, created before tracing so that a path that cannot be written fails
/// before the work, not after it.
fn output_file(a: &HeapArgs) -> anyhow::Result<Option<std::fs::File>> {
    a.output
        .as_ref()
        .map(|f| {
            std::fs::File::create(f)
                .map_err(|e| anyhow::anyhow!("{}: cannot write the profile: {e}", f.display()))
        })
        .transpose()
}

fn show(p: &HeapProfile, file: Option<std::fs::File>, out: &Output) -> anyhow::Result<ExitCode> {
    match file {
        Some(f) => {
            let mut w = BufWriter::new(f);
            out.render(p, None, &mut w)?;
            w.flush()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            out.render(p, None, &mut w)?;
            w.flush()?;
        }
    }
    if out.format != clw_diag::render::Format::Table {
        p.warnings.iter().for_each(|n| out.note(n));
    }
    Ok(ExitCode::SUCCESS)
}

fn traced(
    out: &Output,
    prefix: &str,
    what: &str,
    f: impl FnOnce(&mut dyn FnMut(&profile::Progress)) -> clw_diag::Result<HeapProfile>,
) -> anyhow::Result<HeapProfile> {
    let bar = Progress::spinner(out, prefix);
    bar.message(format!("attaching to {what}"));
    let mut on = |p: &profile::Progress| {
        if p.naming {
            bar.message("detached; naming the stacks (reading debug files)");
            return;
        }
        if let Some((n, ms)) = p.attached {
            out.detail(&format!("{n} probes attached in {ms:.0} ms"));
        }
        if let Some(n) = &p.note {
            if bar.is_visible() {
                bar.println(&format!("clw-diag: {n}"));
            } else {
                out.note(n);
            }
        }
        bar.message(format!(
            "{:.0} s, {} allocator calls{} (Ctrl-C to stop)",
            p.elapsed_s,
            p.calls,
            p.outstanding_bytes
                .map(|b| format!(", about {} outstanding", clw_diag::render::units::iec(b)))
                .unwrap_or_default()
        ));
    };
    let r = f(&mut on);
    drop(bar);
    Ok(r?)
}

pub fn run_leaks(a: LeaksArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let opts = a.heap.options()?;
    let pid = a.pid.resolve(std::path::Path::new("/proc"))?;
    let file = output_file(&a.heap)?;
    let stop = super::signals::stop_flag(true)?;
    let p = traced(out, "leaks", &format!("pid {pid}"), |on| {
        profile::leaks(pid, &opts, &stop, on)
    })?;
    show(&p, file, out)
}

pub fn run_profile(a: ProfileArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let opts = a.heap.options()?;
    let file = output_file(&a.heap)?;
    let stop = super::signals::stop_flag(true)?;
    let p = traced(out, "profile", &a.command[0], |on| {
        profile::profile(&a.command, &opts, &stop, on)
    })?;
    show(&p, file, out)
}
