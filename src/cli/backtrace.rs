//! `clw-diag backtrace CORE` and `clw-diag backtrace --pid PID`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clw_diag::coredump::live::Hold;
use clw_diag::coredump::modules::FileSource;
use clw_diag::coredump::store;
use clw_diag::render::{self, Format};
use clw_diag::symbolize::backtrace::{
    backtrace, backtrace_pid, backtrace_stored, sample_pid, LiveOptions, Options,
};

use super::progress::Progress;
use super::Output;

pub const LONG_ABOUT: &str = "\
Unwind every thread of an ELF core dump and symbolize it, as gdb's `thread apply all bt` shows \
it: the crashing thread first with its signal and fault address, then the others; inline \
frames expanded; a one-line crash signature for grouping crashes.

The core gives each thread's registers (NT_PRSTATUS), the signal (NT_SIGINFO), the mapped files \
(NT_FILE) and the stack memory. Code, .eh_frame and symbols are read from the files on disk \
(the default coredump_filter does not dump them); each file's build ID is checked against the \
one in the core, and a mismatch is a warning. Debug information is found as gdb finds it: by \
build ID under /usr/lib/debug/.build-id, by .gnu_debuglink next to the file, in its .debug/ \
directory or under /usr/lib/debug; else the symbol table names the function.

Unwinding uses the call frame information (.eh_frame, .debug_frame), including signal frames; \
without it the frame-pointer chain, then a bounded stack scan. Each frame says how it was found \
(method: context, cfi, signal, fp, scan); `[stack scan: low trust]` frames may be wrong. A \
frame in a file that cannot be found is shown as module+offset (give that offset to \
`clw-diag symbolize -e FILE` once you have the file).

A live process (--pid): every thread is attached with PTRACE_SEIZE and held in a ptrace stop \
(PTRACE_INTERRUPT) only while its registers and the stack above its stack pointer are copied, \
then let go; the unwinding runs on the copy. Threads are held one at a time (each is paused for \
tens of microseconds, the others run on), or all at once with --consistent (one consistent \
moment, a longer pause). Each thread's pause is in the output (paused_us in JSON). The process \
runs on afterwards, also when clw-diag fails or is killed (the kernel detaches a dead tracer's \
threads). Memory is read with process_vm_readv (else /proc/PID/mem); modules come from \
/proc/PID/maps, with each file's build ID checked against the copy in memory; a process in a \
container is symbolized with the container's own files, read through /proc/PID/root. --samples \
N takes N snapshots --interval apart and counts identical stacks: a poor man's profiler for \
\"where is it spinning\" (--folded prints flamegraph.pl input). Attaching needs the process's \
uid and a dumpable process, or CAP_SYS_PTRACE; kernel.yama.ptrace_scope may narrow it.

Cores and processes of x86-64 only (for now). Core files are written when `ulimit -c` allows and \
/proc/sys/kernel/core_pattern is a file name. Cores compressed as systemd-coredump stores them \
(/var/lib/systemd/coredump/core.*.zst, .lz4, .xz) are read directly, decompressed into an \
unlinked file in $TMPDIR (at most --max-core-size). A truncated core (cut by `ulimit -c` or \
systemd-coredump's ProcessSizeMax=) is unwound as far as it goes, and the warning says which \
limit to raise, and to what.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag backtrace core.12345
  clw-diag backtrace core --exe ./build/worker        the executable moved or was rebuilt
  clw-diag backtrace core --sysroot /srv/image-root   libraries from a container image copy
  clw-diag backtrace core --crashed-only --json | jq '.crash_signature'
  clw-diag backtrace /var/lib/systemd/coredump/core.worker.0.<boot>.4242.<usec>.zst
  clw-diag backtrace --coredump worker                the newest crash of worker systemd stored
  clw-diag backtrace --pid 4242                       where is each thread of a live process
  clw-diag backtrace --pid 4242 --consistent          all threads at one moment (deadlocks)
  clw-diag backtrace --pid 4242 --samples 50 --interval 20ms   where is it spinning
  clw-diag backtrace --pid 4242 --samples 200 --folded | flamegraph.pl > spin.svg";

#[derive(Debug, Args)]
pub struct BacktraceArgs {
    /// The core dump (ELF, x86-64; plain or compressed as systemd-coredump stores it).
    #[arg(
        value_name = "CORE",
        conflicts_with_all = ["pid", "coredump"]
    )]
    pub core: Option<PathBuf>,
    /// The newest crash stored by systemd-coredump that matches (a pid, or part of the command
    /// or executable path; as `clw-diag coredumps MATCH` lists them), instead of a core file.
    #[arg(long, value_name = "MATCH", conflicts_with = "pid")]
    pub coredump: Option<String>,
    /// With --coredump: the store directory (default /var/lib/systemd/coredump; a copy).
    #[arg(long, value_name = "DIR", requires = "coredump")]
    pub coredump_dir: Option<PathBuf>,
    /// A live process instead of a core: every thread's stack now ("self" is refused: a
    /// process cannot trace itself).
    #[arg(long, value_name = "PID", value_parser = super::parse_pid)]
    pub pid: Option<super::PidArg>,
    /// With --pid: hold all threads at once (one consistent moment, e.g. for a deadlock),
    /// instead of one at a time.
    #[arg(long, requires = "pid")]
    pub consistent: bool,
    /// With --pid: take N snapshots and count identical stacks (most frequent first).
    #[arg(long, value_name = "N", requires = "pid", value_parser = clap::value_parser!(u32).range(1..=100000))]
    pub samples: Option<u32>,
    /// With --samples: time between snapshots (10ms to 1h).
    #[arg(long, value_name = "DURATION", default_value = "100ms", requires = "samples", value_parser = parse_interval)]
    pub interval: std::time::Duration,
    /// With --samples: print the stacks in the folded format of flamegraph.pl and inferno
    /// (`thread;outer;…;inner COUNT`), instead of the table.
    #[arg(long, requires = "samples")]
    pub folded: bool,
    /// The executable that crashed, when it is not where the core says.
    #[arg(long, value_name = "PATH")]
    pub exe: Option<PathBuf>,
    /// Find the mapped files under this root instead of / (e.g. a copied container image).
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Also look for separate debug files (.build-id/xx/….debug, debuglink names) in DIR.
    #[arg(long, value_name = "DIR")]
    pub debug_dir: Vec<PathBuf>,
    /// Print only the crashing thread.
    #[arg(long)]
    pub crashed_only: bool,
    /// Fetch missing debug files (and executables or libraries missing on disk) by build ID
    /// from the servers in DEBUGINFOD_URLS. Also on whenever DEBUGINFOD_URLS is set; never
    /// otherwise. Cached as elfutils does (DEBUGINFOD_CACHE_PATH, else
    /// ~/.cache/debuginfod_client); DEBUGINFOD_TIMEOUT in seconds (default 90).
    #[arg(long)]
    pub debuginfod: bool,
    /// The largest size a compressed core may decompress to (bytes, or with a suffix: 512Mi,
    /// 64Gi); past it the read stops with an error, as for a decompression bomb.
    #[arg(long, value_name = "SIZE", default_value = "64Gi", value_parser = parse_size)]
    pub max_core_size: u64,
}

/// `--interval`: the duration grammar, 10 ms to an hour.
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    clw_diag::base::duration::parse_within(
        s,
        std::time::Duration::from_millis(10),
        std::time::Duration::from_secs(3600),
    )
    .map_err(|e| e.to_string())
}

/// `--max-core-size`: the size grammar of [`clw_diag::base::size`], not 0.
fn parse_size(s: &str) -> Result<u64, String> {
    match clw_diag::base::size::parse(s).map_err(|e| e.to_string())? {
        0 => Err("a core cannot be 0 bytes: give a size such as 64Gi".into()),
        b => Ok(b),
    }
}

pub fn run(a: BacktraceArgs, out: &Output) -> anyhow::Result<ExitCode> {
    // Refused before any work: a backtrace has no annotations for GitHub (csv is its frames
    // table).
    if out.format == Format::Github {
        anyhow::bail!("--format github is not available for backtrace; use --json or --format csv");
    }
    if let Some(e) = &a.exe {
        if !e.is_file() {
            anyhow::bail!("{}: --exe must name the executable file", e.display());
        }
    }
    if let Some(r) = &a.sysroot {
        if !r.is_dir() {
            anyhow::bail!("{}: --sysroot must be a directory", r.display());
        }
    }
    let opts = Options {
        files: FileSource {
            exe: a.exe.clone(),
            sysroot: a.sysroot.clone(),
            ..FileSource::default()
        },
        debug_dirs: a.debug_dir.clone(),
        debuginfod: clw_diag::symbolize::debuginfod::Debuginfod::from_env(a.debuginfod)
            .map_err(|e| anyhow::anyhow!(e))?,
        max_core_size: a.max_core_size,
    };
    let bt = match (&a.core, a.pid) {
        (None, None) if a.coredump.is_some() => {
            let q = store::Query {
                dir: a
                    .coredump_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(store::DEFAULT_DIR)),
                dir_explicit: a.coredump_dir.is_some(),
                matcher: a.coredump.as_deref().map(store::Match::parse),
                ..store::Query::new()
            };
            let bar = Progress::spinner(out, "backtrace");
            bar.message("unwinding and symbolizing the newest stored crash");
            let bt = backtrace_stored(&q, &opts);
            drop(bar);
            bt
        }
        (_, Some(pid)) => {
            let pid = pid.resolve(std::path::Path::new("/proc"))?;
            let lopts = LiveOptions {
                hold: if a.consistent {
                    Hold::AllThreads
                } else {
                    Hold::EachThread
                },
                ..LiveOptions::default()
            };
            if let Some(n) = a.samples {
                return run_samples(pid, n as usize, &a, &opts, &lopts, out);
            }
            let bar = Progress::spinner(out, "backtrace");
            bar.message(format!("unwinding and symbolizing pid {pid}"));
            let bt = backtrace_pid(pid, &opts, &lopts);
            drop(bar);
            bt
        }
        (Some(core), None) => {
            let bar = Progress::spinner(out, "backtrace");
            bar.message(format!("unwinding and symbolizing {}", core.display()));
            let bt = backtrace(core, &opts);
            drop(bar);
            bt
        }
        (None, None) => anyhow::bail!("give a core file, --pid PID or --coredump MATCH"),
    };
    let mut bt = bt?;
    if a.crashed_only {
        bt.threads.retain(|t| t.crashed);
    }
    for w in &bt.warnings {
        out.note(&format!("warning: {w}"));
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    match out.format {
        Format::Table => render::write_backtrace(&bt, out.style, &mut w)?,
        f => render::render(&bt, f, out.style, &mut w)?,
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `--samples N`: N snapshots, identical stacks counted.
fn run_samples(
    pid: i32,
    n: usize,
    a: &BacktraceArgs,
    opts: &Options,
    lopts: &LiveOptions,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let bar = Progress::items(out, "backtrace", n as u64);
    bar.message(format!("sampling pid {pid}"));
    let samples = sample_pid(pid, n, a.interval, opts, lopts, &mut |done| {
        bar.set(done as u64)
    });
    drop(bar);
    let samples = samples?;
    for w in &samples.warnings {
        out.note(&format!("warning: {w}"));
    }
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    if a.folded {
        render::write_folded(&samples, &mut w)?;
    } else {
        // The table's note (the pauses) on stderr, silenced by -q: stdout carries the data.
        out.render(&samples, None, &mut w)?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
