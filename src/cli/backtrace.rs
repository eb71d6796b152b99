//! `clw-diag backtrace CORE`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use clw_diag::coredump::modules::FileSource;
use clw_diag::render::{self, Format};
use clw_diag::symbolize::backtrace::{backtrace, Options};

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

Cores of x86-64 processes only (for now). Core files are written when `ulimit -c` allows and \
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
  clw-diag backtrace /var/lib/systemd/coredump/core.worker.0.<boot>.4242.<usec>.zst";

#[derive(Debug, Args)]
pub struct BacktraceArgs {
    /// The core dump (ELF, x86-64).
    #[arg(value_name = "CORE")]
    pub core: PathBuf,
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
    let bar = Progress::spinner(out, "backtrace");
    bar.message(format!("unwinding and symbolizing {}", a.core.display()));
    let bt = backtrace(&a.core, &opts);
    drop(bar);
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
