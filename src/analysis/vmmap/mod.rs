//! `vmmap`: classify every mapping of `/proc/PID/smaps` into the categories people reason in
//! (heap, stacks, anonymous, code, file data, shared memory, kernel-provided, hugetlb) and
//! total them, in one streaming pass.
//!
//! Classification rules (mm/ and glibc behaviour, Documentation/filesystems/proc.rst):
//! - `[heap]` is the brk heap; `[stack]` the main thread's stack.
//! - Thread stacks are a heuristic: glibc's `allocate_stack` maps a thread stack as one
//!   anonymous private region with a PROT_NONE guard at its low end, so an anonymous `rw-p`
//!   mapping directly above an anonymous `---p` mapping of at most 1 MiB is counted as a thread
//!   stack (with its guard). malloc arenas are the other way round (usable part below,
//!   PROT_NONE reservation above) and are not matched.
//! - File data: a file-backed mapping without `x` is read-only data (`r--`) or writable data
//!   (`rw-`); the anonymous `rw-p` mapping directly after a writable file mapping holds that
//!   file's `.bss`, counted with it up to the end of the ELF segment (`p_memsz − p_filesz`,
//!   [`bss`]); the rest of that mapping (a malloc arena or `mmap` the kernel merged into it) is
//!   anonymous memory.
//! - Shared memory: SysV segments (`/SYSV…`), `/dev/shm/…`, `memfd:`, `[anon_shmem:…]` and
//!   shared anonymous mappings (`/dev/zero`, or no name with `s`).
//! - Kernel-provided: any other `[…]` pseudo-name (`[vdso]`, `[vvar]`, `[vvar_vclock]`,
//!   `[vsyscall]`, `[uprobes]`); `[anon:NAME]` (prctl PR_SET_VMA_ANON_NAME) is anonymous.
//! - Hugetlb: `VmFlags` contains `ht`.
//!
//! Totals reconcile with `smaps_rollup`, which is read right after the pass and reported
//! beside the sums.
//!
//! A target that exits while its smaps is read ends the read early (the kernel's `m_start()`
//! in fs/proc/task_mmu.c finds no mm any more and returns end of file, or the read fails with
//! ESRCH): the report is then marked [`VmmapReport::partial`] with the reason, never passed off
//! as the whole process. The read is known complete when its last mapping is the gate VMA
//! (`[vsyscall]`, which the kernel prints after every other mapping), or when the process still
//! exists, and is not a zombie, after the end of file.

use std::path::Path;

use serde::Serialize;

use crate::base::input::{self, Accept};
use crate::error::{Error, Result};
use crate::sample::smaps::{self, Mapping};
use crate::sample::{process, stat};

/// Most bytes of `smaps` read: 4 GiB. 200,000 mappings print 147 MB; the kernel's default
/// `vm.max_map_count` (65,530) about 50 MB. The read is streamed (memory stays flat), so the
/// bound is only against an endless or absurd file in a copied tree.
pub const MAX_SMAPS_BYTES: u64 = 4 << 30;

/// Most mappings counted: 2^22 (4,194,304), 64 times the kernel's default `vm.max_map_count`;
/// `--mappings` with a sort or JSON keeps one row (about 150 bytes) per mapping.
pub const MAX_MAPPINGS: u64 = 1 << 22;

pub mod bss;
mod classify;

pub use classify::{classify_alone, Classifier};

/// A vmmap category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The brk heap: the mapping named `[heap]`.
    Heap,
    /// The main thread's stack: the mapping named `[stack]`.
    MainStack,
    /// Thread stacks (heuristic): an anonymous `rw-p` mapping directly above an anonymous
    /// `---p` guard of at most 1 MiB, counted with its guard (glibc `allocate_stack`).
    ThreadStacks,
    /// Other private anonymous memory: malloc arenas, `mmap(MAP_ANONYMOUS|MAP_PRIVATE)`,
    /// `[anon:NAME]`, and the part of a `.bss` mapping beyond the ELF segment.
    AnonPrivate,
    /// Executable file mappings (`r-x`): program and library text.
    Code,
    /// File-backed mappings without `x` or `w` (`r--`): read-only data, `.rodata`, RELRO.
    FileRoData,
    /// Writable file-backed mappings (`rw-`: `.data`) plus the `.bss` in the anonymous mapping
    /// right after them, up to the end of the ELF segment.
    FileRwData,
    /// Shared memory: SysV segments, `/dev/shm`, `memfd:`, `[anon_shmem:…]` and shared
    /// anonymous mappings.
    Shmem,
    /// Kernel-provided pseudo-mappings: `[vdso]`, `[vvar]`, `[vsyscall]`, `[uprobes]`...
    Kernel,
    /// hugetlbfs mappings (`ht` in `VmFlags`).
    Hugetlb,
}

impl Category {
    /// Every category, in report order (the order of `categories` in JSON unless `--sort`).
    pub const ALL: [Category; 10] = [
        Category::Heap,
        Category::MainStack,
        Category::ThreadStacks,
        Category::AnonPrivate,
        Category::Code,
        Category::FileRoData,
        Category::FileRwData,
        Category::Shmem,
        Category::Kernel,
        Category::Hugetlb,
    ];

    /// Stable key, as in JSON.
    pub fn key(self) -> &'static str {
        match self {
            Category::Heap => "heap",
            Category::MainStack => "main_stack",
            Category::ThreadStacks => "thread_stacks",
            Category::AnonPrivate => "anon_private",
            Category::Code => "code",
            Category::FileRoData => "file_ro_data",
            Category::FileRwData => "file_rw_data",
            Category::Shmem => "shmem",
            Category::Kernel => "kernel",
            Category::Hugetlb => "hugetlb",
        }
    }

    /// Label for people.
    pub fn label(self) -> &'static str {
        match self {
            Category::Heap => "heap ([heap])",
            Category::MainStack => "stack (main thread)",
            Category::ThreadStacks => "thread stacks (heuristic)",
            Category::AnonPrivate => "anonymous private",
            Category::Code => "code (file r-x)",
            Category::FileRoData => "file read-only data",
            Category::FileRwData => "file writable data + .bss",
            Category::Shmem => "shared memory",
            Category::Kernel => "kernel ([vdso], [vvar], ...)",
            Category::Hugetlb => "hugetlb",
        }
    }

    fn index(self) -> usize {
        Category::ALL.iter().position(|&c| c == self).unwrap_or(0)
    }
}

/// Totals of one category (or of all). Bytes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Virtual size: sum of smaps `Size`, bytes (mapped address space, resident or not).
    pub virtual_bytes: u64,
    /// Resident set: sum of smaps `Rss`, bytes.
    pub rss_bytes: u64,
    /// Proportional set: sum of smaps `Pss` (each shared page divided among its mappers), bytes.
    pub pss_bytes: u64,
    /// Unique set: Private_Clean + Private_Dirty, bytes.
    pub uss_bytes: u64,
    /// Shared_Dirty + Private_Dirty, bytes.
    pub dirty_bytes: u64,
    /// Swapped out: sum of smaps `Swap`, bytes.
    pub swap_bytes: u64,
    /// Proportional swap: sum of smaps `SwapPss`, bytes.
    pub swap_pss_bytes: u64,
    /// Number of mappings counted.
    pub mappings: u64,
}

fn kib(kb: u64) -> u64 {
    kb.saturating_mul(1024)
}

impl Totals {
    /// Add one mapping (saturating: a copied tree may print absurd sizes).
    fn add(&mut self, m: &Mapping) {
        let add = |t: &mut u64, kb: u64| *t = t.saturating_add(kib(kb));
        add(&mut self.virtual_bytes, m.size_kb);
        add(&mut self.rss_bytes, m.rss_kb);
        add(&mut self.pss_bytes, m.pss_kb);
        add(&mut self.uss_bytes, m.uss_kb());
        add(&mut self.dirty_bytes, m.dirty_kb());
        add(&mut self.swap_bytes, m.swap_kb);
        add(&mut self.swap_pss_bytes, m.swap_pss_kb);
        self.mappings += 1;
    }
}

/// One row of `vmmap --mappings`, like a line of `pmap -X`. Sizes in bytes. `S` is `String` for
/// rows that are kept, `&str` for rows borrowed from a [`Mapping`] while streaming.
#[derive(Debug, Clone, Serialize)]
pub struct MappingRow<S = String> {
    /// Start address; in JSON a `0x…` hex string.
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub start: u64,
    /// End address (exclusive); in JSON a `0x…` hex string.
    #[serde(serialize_with = "crate::base::hex::hex")]
    pub end: u64,
    /// Permissions as smaps prints them: `r`, `w`, `x`, then `p` (private) or `s` (shared),
    /// e.g. `r-xp`.
    pub perms: S,
    /// Offset into the file, bytes.
    pub offset: u64,
    /// `major:minor` of the backing device.
    pub device: S,
    /// Inode of the backing file; 0 for anonymous memory.
    pub inode: u64,
    /// Size of the mapping (smaps `Size`), bytes.
    pub virtual_bytes: u64,
    /// smaps `Rss`, bytes.
    pub rss_bytes: u64,
    /// smaps `Pss`, bytes.
    pub pss_bytes: u64,
    /// Private_Clean + Private_Dirty, bytes.
    pub uss_bytes: u64,
    /// Shared_Dirty + Private_Dirty, bytes.
    pub dirty_bytes: u64,
    /// smaps `Swap`, bytes.
    pub swap_bytes: u64,
    /// The category the mapping was counted in.
    pub category: Category,
    /// Pathname or pseudo-name; empty for anonymous memory.
    pub mapping: S,
}

/// The vmmap of one process.
#[derive(Debug, Clone, Serialize)]
pub struct VmmapReport {
    /// The process id.
    pub pid: i32,
    /// Its name (`Name` in `/proc/PID/status`, the comm); empty when status could not be read.
    pub name: String,
    /// Its command line (`/proc/PID/cmdline`, arguments joined by spaces); empty when unreadable.
    pub command: String,
    /// One entry per category, always all ten, in [`Category::ALL`] order or the requested sort.
    pub categories: Vec<CategoryRow>,
    /// Totals over all mappings of the process.
    pub totals: Totals,
    /// `VmPTE` from status: page tables, kernel memory charged to the process, not part of RSS;
    /// bytes. `None` when status is unreadable or has no `VmPTE`.
    pub page_tables_bytes: Option<u64>,
    /// `Rss` of `smaps_rollup`, read right after the smaps pass to reconcile the totals
    /// (`--verify`), bytes; `null` when not asked for or not available.
    pub rollup_rss_bytes: Option<u64>,
    /// `Pss` of `smaps_rollup`, bytes; `null` as for `rollup_rss_bytes`.
    pub rollup_pss_bytes: Option<u64>,
    /// With `--verify`, why `smaps_rollup` could not be read (one line); `null` when it was
    /// read or not asked for.
    pub rollup_error: Option<String>,
    /// True when the figures cover only part of the process: it exited while its smaps was
    /// being read (or before `--verify` could read `smaps_rollup`). The command then exits 2.
    pub partial: bool,
    /// Why the report is partial, one line; `null` when it is complete.
    pub partial_reason: Option<String>,
    /// Per-mapping rows, when asked for (`--mappings`).
    pub mappings: Option<Vec<MappingRow>>,
}

/// Totals of one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    /// The category (its [`Category::key`] in JSON).
    pub category: Category,
    /// Its [`Category::label`], for people.
    pub label: &'static str,
    /// Its totals, flattened into the row in JSON.
    #[serde(flatten)]
    pub totals: Totals,
}

/// Sort keys for categories and mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// By start address, lowest first (mappings); leaves categories in [`Category::ALL`] order.
    Address,
    /// By virtual size (`virtual_bytes`).
    Virtual,
    /// By RSS (`rss_bytes`).
    Rss,
    /// By PSS (`pss_bytes`).
    Pss,
    /// By USS (`uss_bytes`).
    Uss,
    /// By dirty bytes (`dirty_bytes`).
    Dirty,
    /// By swapped-out bytes (`swap_bytes`).
    Swap,
}

/// What [`vmmap`] produces besides the category totals.
#[derive(Debug, Clone, Copy, Default)]
pub struct VmmapOptions {
    /// Keep one row per mapping.
    pub mappings: bool,
    /// Sort categories (and mappings) by this key, largest first.
    pub sort: Option<SortKey>,
    /// Read `smaps_rollup` right after the pass and report its Rss and Pss beside the sums.
    pub verify: bool,
}

/// Receives mappings in address order as the pass settles them, for output that streams
/// (`vmmap --mappings` on a process with many thousands of mappings).
pub trait MappingSink {
    /// Called once before the first mapping.
    fn begin(&mut self, pid: i32, name: &str, command: &str) -> Result<()>;
    /// Called for each mapping with its category.
    fn mapping(&mut self, m: &Mapping, category: Category) -> Result<()>;
}

/// Collects [`MappingRow`]s.
struct Collect(Vec<MappingRow>);

impl MappingSink for Collect {
    fn begin(&mut self, _: i32, _: &str, _: &str) -> Result<()> {
        Ok(())
    }
    fn mapping(&mut self, m: &Mapping, c: Category) -> Result<()> {
        self.0
            .push(MappingRow::of(m, c).map_strings(|s| s.to_string()));
        Ok(())
    }
}

impl<'a> MappingRow<&'a str> {
    /// The row of one mapping, borrowing its strings. Sizes converted from kB to bytes.
    pub fn of(m: &'a Mapping, c: Category) -> Self {
        MappingRow {
            start: m.start,
            end: m.end,
            perms: m.perms_str(),
            offset: m.offset,
            device: &m.dev,
            inode: m.inode,
            virtual_bytes: kib(m.size_kb),
            rss_bytes: kib(m.rss_kb),
            pss_bytes: kib(m.pss_kb),
            uss_bytes: kib(m.uss_kb()),
            dirty_bytes: kib(m.dirty_kb()),
            swap_bytes: kib(m.swap_kb),
            category: c,
            mapping: &m.path,
        }
    }
}

impl<S> MappingRow<S> {
    /// The same row with its strings converted by `f` (owned ↔ borrowed).
    pub fn map_strings<'a, T>(&'a self, f: impl Fn(&'a S) -> T) -> MappingRow<T> {
        MappingRow {
            start: self.start,
            end: self.end,
            perms: f(&self.perms),
            offset: self.offset,
            device: f(&self.device),
            inode: self.inode,
            virtual_bytes: self.virtual_bytes,
            rss_bytes: self.rss_bytes,
            pss_bytes: self.pss_bytes,
            uss_bytes: self.uss_bytes,
            dirty_bytes: self.dirty_bytes,
            swap_bytes: self.swap_bytes,
            category: self.category,
            mapping: f(&self.mapping),
        }
    }
}

/// Build the vmmap of `pid` from `proc_root/PID/smaps`; with `opts.mappings`, the report
/// holds one row per mapping.
///
/// A process that exits after some mappings were read is not an error: the report says
/// [`VmmapReport::partial`], with the reason.
///
/// Errors: [`Error::NoSuchProcess`]; [`Error::KernelThread`] (no mappings);
/// [`Error::PermissionDenied`] (another user's process without CAP_SYS_PTRACE);
/// [`Error::Vanished`] (it exited, or is a zombie, before any mapping was read);
/// [`Error::Malformed`] (garbled smaps, with the line, or a garbled stat or status);
/// [`Error::NotSupported`] (a FIFO or device in a copied tree); [`Error::TooLarge`] (past
/// [`MAX_SMAPS_BYTES`] or [`MAX_MAPPINGS`]).
pub fn vmmap(proc_root: &Path, pid: i32, opts: VmmapOptions) -> Result<VmmapReport> {
    let mut rows = Collect(Vec::new());
    let sink: Option<&mut dyn MappingSink> = if opts.mappings { Some(&mut rows) } else { None };
    let mut report = vmmap_streaming(proc_root, pid, opts, sink)?;
    if opts.mappings {
        let mut rows = rows.0;
        if let Some(key) = opts.sort {
            rows.sort_by_key(|r| match key {
                SortKey::Address => (0, r.start),
                _ => (u64::MAX - row_value(r, key), r.start),
            });
        }
        report.mappings = Some(rows);
    }
    Ok(report)
}

/// Like [`vmmap`], but hands each mapping to `sink` as soon as it is classified instead of
/// keeping rows (the report's `mappings` is `None`); memory stays flat however many mappings
/// the process has. `opts.sort` orders the categories only.
pub fn vmmap_streaming(
    proc_root: &Path,
    pid: i32,
    opts: VmmapOptions,
    mut sink: Option<&mut dyn MappingSink>,
) -> Result<VmmapReport> {
    let dir = process::open(proc_root, pid)?;
    // status gives the name and VmPTE; a process gone by now is found out below.
    let status = match process::read_status(pid, &dir) {
        Ok(s) => Some(s),
        Err(e) if e.is_vanished() => None,
        Err(e) => return Err(e),
    };
    let st = stat::read(proc_root, pid)?;
    let name = match &status {
        Some(s) => s.name.clone(),
        None => st.comm.clone(),
    };
    if st.is_kernel_thread() {
        return Err(Error::KernelThread { pid, name });
    }
    let command = process::read_cmdline(pid, &dir).unwrap_or_default();
    let smaps_path = dir.join("smaps");
    let file = input::open(&smaps_path, Accept::Regular)
        .map_err(|e| stat::per_process(pid, e))?
        .file;
    let mut per_cat: Vec<Totals> = vec![Totals::default(); Category::ALL.len()];
    let mut total = Totals::default();
    let mut last_is_gate = false;
    let mut classifier = Classifier::for_process(&dir);
    if let Some(s) = sink.as_deref_mut() {
        s.begin(pid, &name, &command)?;
    }
    let mut settle = |m: Mapping, c: Category| -> Result<()> {
        if total.mappings >= MAX_MAPPINGS {
            return Err(Error::TooLarge {
                path: smaps_path.clone(),
                what: format!(
                    "more than {MAX_MAPPINGS} mappings (64 times the kernel's default \
                     vm.max_map_count): not a process this tool reads"
                ),
            });
        }
        per_cat[c.index()].add(&m);
        total.add(&m);
        last_is_gate = m.path == "[vsyscall]";
        match sink.as_deref_mut() {
            Some(s) => s.mapping(&m, c),
            None => Ok(()),
        }
    };
    let capped = input::Capped::new(file, None, MAX_SMAPS_BYTES);
    let read = smaps::for_each_mapping_pipelined(capped, &smaps_path, |m| {
        classifier
            .push(m)
            .into_iter()
            .flatten()
            .try_for_each(|(m, c)| settle(m, c))
    });
    // A read error that says the process is gone ends the read early: what was read is kept
    // and marked partial. Any other error ends the command.
    let mut partial_reason = match read {
        Ok(()) => None,
        Err(Error::Io { path, source }) if path == smaps_path => {
            if source
                .get_ref()
                .is_some_and(|e| e.is::<input::InputTooLarge>())
            {
                return Err(input::too_large(&path, MAX_SMAPS_BYTES, "an smaps file"));
            }
            let why = source.to_string();
            match Error::process_io(pid, &path, source) {
                Error::Vanished { .. } => Some(format!(
                    "process {pid} exited while {} was being read (the read failed: {why})",
                    path.display(),
                )),
                e => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    if let Some((m, c)) = classifier.finish() {
        settle(m, c)?;
    }
    if total.mappings == 0 {
        // Not a kernel thread (checked above), yet no address space: the process exited (or is
        // exiting, or a zombie) while we read it.
        return Err(Error::Vanished {
            pid,
            path: smaps_path,
        });
    }
    if partial_reason.is_none() && !last_is_gate {
        // End of file. Complete when the process is still there: had its mm gone away
        // mid-read, the process has exited (it is a zombie or gone by now).
        partial_reason = gone_after_read(proc_root, pid, &smaps_path);
    }
    let (mut rollup, mut rollup_error) = ((None, None), None);
    if opts.verify {
        match process::read_rollup(pid, &dir) {
            Ok(r) => rollup = (r.rollup_rss_bytes, r.pss_bytes),
            Err(e) => {
                if partial_reason.is_none() && e.is_vanished() {
                    partial_reason = gone_after_read(proc_root, pid, &smaps_path).map(|_| {
                        format!(
                            "process {pid} exited before smaps_rollup could be read to verify \
                             the totals"
                        )
                    });
                }
                rollup_error = Some(e.to_string());
            }
        }
    }
    let mut categories: Vec<CategoryRow> = Category::ALL
        .iter()
        .zip(per_cat)
        .map(|(&c, t)| CategoryRow {
            category: c,
            label: c.label(),
            totals: t,
        })
        .collect();
    if let Some(key) = opts.sort {
        categories.sort_by_key(|r| std::cmp::Reverse(sort_value(&r.totals, key)));
    }
    Ok(VmmapReport {
        pid,
        name,
        command,
        categories,
        totals: total,
        page_tables_bytes: status.and_then(|s| s.page_tables_bytes),
        rollup_rss_bytes: rollup.0,
        rollup_pss_bytes: rollup.1,
        rollup_error,
        partial: partial_reason.is_some(),
        partial_reason,
        mappings: None,
    })
}

/// `Some(reason)` when the process is gone, or a zombie, after its smaps read ended.
fn gone_after_read(proc_root: &Path, pid: i32, smaps_path: &Path) -> Option<String> {
    let exited = match stat::read(proc_root, pid) {
        Ok(st) => st.has_exited(),
        Err(e) => e.is_vanished(),
    };
    exited.then(|| {
        format!(
            "process {pid} exited while {} was being read: the end of the file came early",
            smaps_path.display()
        )
    })
}

fn sort_value(t: &Totals, key: SortKey) -> u64 {
    match key {
        SortKey::Address => 0,
        SortKey::Virtual => t.virtual_bytes,
        SortKey::Rss => t.rss_bytes,
        SortKey::Pss => t.pss_bytes,
        SortKey::Uss => t.uss_bytes,
        SortKey::Dirty => t.dirty_bytes,
        SortKey::Swap => t.swap_bytes,
    }
}

fn row_value(r: &MappingRow, key: SortKey) -> u64 {
    match key {
        SortKey::Address => r.start,
        SortKey::Virtual => r.virtual_bytes,
        SortKey::Rss => r.rss_bytes,
        SortKey::Pss => r.pss_bytes,
        SortKey::Uss => r.uss_bytes,
        SortKey::Dirty => r.dirty_bytes,
        SortKey::Swap => r.swap_bytes,
    }
}
