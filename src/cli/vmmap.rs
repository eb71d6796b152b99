//! `clw-diag vmmap`.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use clw_diag::analysis::vmmap::{self, SortKey, VmmapOptions};
use clw_diag::render::rows::StreamRows;
use clw_diag::render::Format;

use super::{GlobalArgs, Output, PidArg};

pub const LONG_ABOUT: &str = "\
Break a process's memory down by what it is, in one pass over /proc/PID/smaps:

  heap                 the brk heap ([heap])
  stack (main thread)  [stack]
  thread stacks        anonymous rw-p mappings directly above a PROT_NONE guard (a heuristic
                       that matches glibc's pthread stacks)
  anonymous private    other private anonymous memory: malloc arenas, mmap'd buffers, JIT heaps
  code                 file-backed executable mappings (r-x)
  file read-only data  file-backed r-- mappings (.rodata, locale files, mmap'd data)
  file writable data   file-backed rw- mappings, with the anonymous .bss right after them
  shared memory        SysV (/SYSV...), /dev/shm, memfd:, shared anonymous
  kernel               [vdso], [vvar], [vvar_vclock], [vsyscall] and other [...] names
  hugetlb              hugetlbfs mappings (VmFlags ht)

Columns: Virtual (size), RSS, PSS (RSS with shared pages divided among their users), USS \
(Private_Clean + Private_Dirty: what freeing the process would return), Dirty, Swap. Page tables \
(VmPTE) are kernel memory outside RSS and get their own row. With --verify the totals are checked \
against smaps_rollup, read right after the pass.

Reading another user's process needs the same uid or CAP_SYS_PTRACE. A process that exits while \
it is read gives what was read, marked partial (TOTAL row, a note, \"partial\": true in JSON), \
and exit status 2.";

pub const AFTER_HELP: &str = "\
Examples:
  clw-diag vmmap 1234
  clw-diag vmmap --mappings --sort rss 1234 | head -30
  clw-diag vmmap self --json";

#[derive(Debug, Args)]
pub struct VmmapArgs {
    /// Process id, or 'self'.
    #[arg(value_name = "PID", value_parser = super::parse_pid)]
    pub pid: PidArg,
    /// Also print one row per mapping, like pmap -X.
    #[arg(long)]
    pub mappings: bool,
    /// Sort categories (and mappings) by this field, largest first; mappings default to address order.
    #[arg(long, value_enum, value_name = "FIELD")]
    pub sort: Option<SortArg>,
    /// Read smaps_rollup right after the pass and show whether its Rss and Pss match the sums.
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    Address,
    Virtual,
    Rss,
    Pss,
    Uss,
    Dirty,
    Swap,
}

pub fn run(a: VmmapArgs, g: &GlobalArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let pid = a.pid.resolve(&g.proc_root)?;
    let sort = a.sort.map(|s| match s {
        SortArg::Address => SortKey::Address,
        SortArg::Virtual => SortKey::Virtual,
        SortArg::Rss => SortKey::Rss,
        SortArg::Pss => SortKey::Pss,
        SortArg::Uss => SortKey::Uss,
        SortArg::Dirty => SortKey::Dirty,
        SortArg::Swap => SortKey::Swap,
    });
    let opts = VmmapOptions {
        mappings: a.mappings,
        sort,
        verify: a.verify,
    };
    let stdout = std::io::stdout();
    let mut w = BufWriter::with_capacity(64 * 1024, stdout.lock());
    // Per-mapping rows in address order are written as they are read (flat memory, output
    // overlapping the kernel's work); sorted rows and JSON need the whole model first.
    let stream =
        a.mappings && matches!(sort, None | Some(SortKey::Address)) && out.format != Format::Json;
    let report = if stream {
        let mut sink = StreamRows::new(&mut w, out.format);
        let r = vmmap::vmmap_streaming(&g.proc_root, pid, opts, Some(&mut sink))?;
        if out.format == Format::Table {
            writeln!(w)?;
        }
        r
    } else {
        vmmap::vmmap(&g.proc_root, pid, opts)?
    };
    out.detail(&format!(
        "{} mappings read from {}/{pid}/smaps",
        report.totals.mappings,
        g.proc_root.display()
    ));
    // One CSV is one table: the mappings with --mappings, else the categories.
    let table = a.mappings.then_some("mappings");
    out.render(&report, table, &mut w)?;
    w.flush()?;
    // What was read is printed; the exit code says it is not the whole process.
    if let Some(why) = &report.partial_reason {
        if out.format != Format::Table || out.quiet {
            // The table's note said it already (when not silenced by -q).
            eprintln!(
                "clw-diag: error: partial: {why} ({} mapping(s) read)",
                report.totals.mappings
            );
        }
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
