//! The kernel side of the heap profiler: `bpf/heap.bpf.c`, compiled by `bpf/build.sh` and
//! embedded here, loaded with aya and attached as uprobes (entries, and the `free` probe past
//! its NULL test) and uretprobes (the allocation's return) on one process. The object's event
//! layout (`struct event` in the C source) is decoded by [`Event::parse`]: change both together.
//!
//! The probes live as long as [`Probes`]: their perf-event file descriptors belong to this
//! process, so the kernel removes them when it exits, also on SIGKILL (a uprobe's breakpoint is
//! taken out of the target when its last consumer goes: `uprobe_unregister()` in
//! kernel/events/uprobes.c).

use std::num::NonZeroU32;
use std::path::Path;

use aya::maps::{Array, MapData, PerCpuArray, PerCpuValues, RingBuf, StackTraceMap};
use aya::programs::uprobe::{UProbeAttachLocation, UProbeScope};
use aya::programs::UProbe;
use aya::{Ebpf, EbpfLoader};

use crate::error::{Error, Result};

/// The compiled BPF object (`bpf/heap.bpf.o`, rebuilt from `bpf/heap.bpf.c` by `bpf/build.sh`).
const OBJECT: &[u8] = include_bytes!("../../bpf/heap.bpf.o");

/// Bytes of user stack an event can carry (`STACK_MAX` in the C source).
pub const STACK_MAX: u32 = 16384;

/// Entries of the exponential table the sampler draws from (`EXPO_N`).
const EXPO_N: u32 = 1024;

/// Size of the event header (`struct event`), bytes.
const HEADER: usize = 120;

/// The BPF programs, by the allocator function they are attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Program {
    /// `malloc(size)`, `valloc(size)`, `pvalloc(size)`, `mallocx(size, flags)`: the size in
    /// the first argument.
    Malloc,
    /// `calloc(n, size)`.
    Calloc,
    /// `realloc(ptr, size)`, `rallocx(ptr, size, flags)`.
    Realloc,
    /// `reallocarray(ptr, n, size)`.
    Reallocarray,
    /// `memalign(align, size)`, `aligned_alloc(align, size)`: the size in the second.
    Memalign,
    /// `posix_memalign(&ptr, align, size)`: the pointer is stored through the first.
    PosixMemalign,
    /// The return of any of the above (a uretprobe at its entry).
    Return,
    /// `free(ptr)`, `cfree`, `dallocx(ptr, flags)`, `sdallocx(ptr, size, flags)`.
    Free,
}

impl Program {
    fn name(self) -> &'static str {
        match self {
            Program::Malloc => "malloc_enter",
            Program::Calloc => "calloc_enter",
            Program::Realloc => "realloc_enter",
            Program::Reallocarray => "reallocarray_enter",
            Program::Memalign => "memalign_enter",
            Program::PosixMemalign => "posix_memalign_enter",
            Program::Return => "alloc_return",
            Program::Free => "free_enter",
        }
    }

    const ALL: [Program; 8] = [
        Program::Malloc,
        Program::Calloc,
        Program::Realloc,
        Program::Reallocarray,
        Program::Memalign,
        Program::PosixMemalign,
        Program::Return,
        Program::Free,
    ];
}

/// How the programs are set up (their read-only globals and map sizes).
#[derive(Debug, Clone)]
pub struct Config {
    /// Mean bytes between two sample points (`--sample-bytes`); 1 records every allocation.
    pub sample_bytes: u64,
    /// Copy the registers and the top of the user stack of each sampled allocation (for the
    /// CFI unwinder) instead of taking a frame-pointer stack id.
    pub copy_stack: bool,
    /// Bytes of user stack copied per sampled allocation (at most [`STACK_MAX`]; 16384, 8192
    /// or 4096, falling back to less where the stack ends sooner).
    pub stack_bytes: u32,
    /// The process (thread-group id) the programs count; every other one is ignored.
    pub tgid: u32,
    /// Size of the ring buffer, bytes (a power of two, at least a page).
    pub ring_bytes: u32,
    /// Most sampled allocations outstanding at once (the `live` hash map).
    pub max_live: u32,
}

/// Counters kept by the programs (sums over CPUs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls of an allocating function.
    pub calls: u64,
    /// Calls of a freeing function.
    pub frees: u64,
    /// Allocations sampled (given a stack and an event).
    pub sampled: u64,
    /// Events the ring buffer had no room for: those allocations (or frees) are not counted.
    pub lost: u64,
    /// Sampled allocations not tracked because the `live` map was full.
    pub live_full: u64,
    /// Frame-pointer stacks the kernel could not store (`bpf_get_stackid` failed).
    pub stack_errors: u64,
    /// Frees of sampled allocations.
    pub freed_sampled: u64,
    /// Allocator calls made inside another (counted as part of the outer one).
    pub nested: u64,
}

/// A sampled allocation still outstanding, as the `live` map holds it (`struct live_rec`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveRecord {
    /// The allocation's id.
    pub seq: u64,
    /// Bytes asked for.
    pub size: u64,
    /// When it returned, `CLOCK_MONOTONIC` nanoseconds.
    pub ts_ns: u64,
    /// The frame-pointer stack's id (negative: none, or the kernel's error).
    pub stackid: i64,
}

// SAFETY: four plain integers, no padding; any bit pattern is valid.
unsafe impl aya::Pod for LiveRecord {}

/// Reads frame-pointer stack `id` from the stack map: its return addresses, innermost first;
/// `None` when the map does not hold it.
pub type StackReader<'a> = &'a dyn Fn(u32) -> Option<Vec<u64>>;

/// One event from the ring buffer.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A sampled allocation.
    Alloc(Alloc<'a>),
    /// A sampled allocation was freed (or moved by realloc).
    Free {
        /// The allocation's id.
        seq: u64,
        /// When, `CLOCK_MONOTONIC` nanoseconds.
        ts_ns: u64,
    },
}

/// A sampled allocation, as the uretprobe saw it.
#[derive(Debug, Clone, Copy)]
pub struct Alloc<'a> {
    /// Its id (1, 2, …: in the order they were sampled).
    pub seq: u64,
    /// The thread that allocated.
    pub tid: u32,
    /// The address returned.
    pub addr: u64,
    /// Bytes asked for.
    pub size: u64,
    /// When it returned, `CLOCK_MONOTONIC` nanoseconds.
    pub ts_ns: u64,
    /// The frame-pointer stack's id in the stack map; negative when there is none (stack
    /// copies, or the kernel's error).
    pub stackid: i64,
    /// rip, rsp, rbp, rbx, r12, r13, r14, r15 at the return (rip: the return address).
    pub regs: [u64; 8],
    /// The user stack from rsp up (empty without `copy_stack`).
    pub stack: &'a [u8],
}

impl<'a> Event<'a> {
    /// Decode one ring-buffer record; `None` for a record of another size or kind.
    pub fn parse(b: &'a [u8]) -> Option<Event<'a>> {
        let u32_at = |o: usize| Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?));
        let u64_at = |o: usize| Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?));
        let kind = u32_at(0)?;
        let seq = u64_at(8)?;
        let ts_ns = u64_at(32)?;
        match kind {
            2 => Some(Event::Free { seq, ts_ns }),
            1 => {
                let mut regs = [0u64; 8];
                for (i, r) in regs.iter_mut().enumerate() {
                    *r = u64_at(48 + 8 * i)?;
                }
                let len = u32_at(112)? as usize;
                let stack = if len == 0 {
                    &[][..]
                } else {
                    b.get(HEADER..HEADER + len)?
                };
                Some(Event::Alloc(Alloc {
                    seq,
                    tid: u32_at(4)?,
                    addr: u64_at(16)?,
                    size: u64_at(24)?,
                    ts_ns,
                    stackid: u64_at(40)? as i64,
                    regs,
                    stack,
                }))
            }
            _ => None,
        }
    }
}

/// Frame-pointer stack `id` from the stack map: its return addresses, innermost first.
fn read_stack(map: Option<&StackTraceMap<&MapData>>, id: u32) -> Option<Vec<u64>> {
    let t = map?.get(&id, 0).ok()?;
    Some(
        t.frames()
            .iter()
            .map(|f| f.ip)
            .filter(|&ip| ip != 0)
            .collect(),
    )
}

/// The loaded programs and their maps; the probes go when this is dropped.
pub struct Probes {
    ebpf: Ebpf,
    events: RingBuf<MapData>,
    loaded: Vec<Program>,
    /// Probes attached so far.
    pub attached: usize,
}

/// What loading or attaching needs, for the error: root, or CAP_BPF and CAP_PERFMON.
fn privilege_hint() -> String {
    let caps = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:").map(|v| v.trim().to_string()))
        })
        .and_then(|v| u64::from_str_radix(&v, 16).ok());
    let unpriv = std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let has = |bit: u32| caps.is_some_and(|c| c & (1 << bit) != 0);
    let (bpf, perfmon, admin) = (has(39), has(38), has(21));
    let missing = match (admin, bpf, perfmon) {
        (true, _, _) => "this process has CAP_SYS_ADMIN".to_string(),
        (_, true, true) => "this process has CAP_BPF and CAP_PERFMON".to_string(),
        (_, b, p) => format!(
            "this process (uid {}) lacks {}",
            // SAFETY: getuid has no preconditions.
            unsafe { libc::getuid() },
            match (b, p) {
                (false, false) => "CAP_BPF and CAP_PERFMON",
                (false, true) => "CAP_BPF",
                _ => "CAP_PERFMON",
            }
        ),
    };
    format!(
        "loading BPF programs and uprobes needs root, or CAP_BPF and CAP_PERFMON; {missing}; \
         kernel.unprivileged_bpf_disabled is {unpriv}"
    )
}

/// The error of a failed load or attach: the library's message (with its causes) and, when the
/// kernel refused, what is needed.
fn bpf_error(what: &str, e: &dyn std::error::Error) -> Error {
    let mut msg = format!("{what}: {e}");
    let mut src = e.source();
    let mut denied = msg.contains("Operation not permitted") || msg.contains("ermission denied");
    while let Some(s) = src {
        let t = s.to_string();
        denied |= t.contains("Operation not permitted") || t.contains("ermission denied");
        if !msg.contains(&t) {
            msg.push_str(": ");
            msg.push_str(&t);
        }
        src = s.source();
    }
    if denied {
        msg.push_str(&format!(" ({})", privilege_hint()));
    } else if what.starts_with("attaching") && msg.contains("Invalid argument") {
        msg.push_str(
            " (the kernel refuses a uprobe where another tool holds one registered with a \
             reference counter, as bcc's tools do: dmesg says \"ref_ctr_offset mismatch\"; \
             stop that tool first)",
        );
    }
    Error::Bpf { why: msg }
}

impl Probes {
    /// Load the object with `cfg`, fill the sampler's table, load every program.
    ///
    /// Errors: [`Error::Bpf`] when the kernel refuses (no permission: what is needed is said;
    /// no BPF or uprobe support), or a map cannot be set up.
    pub fn load(cfg: &Config) -> Result<Probes> {
        let copy = u32::from(cfg.copy_stack);
        let stack_bytes = cfg.stack_bytes.min(STACK_MAX);
        let mut ebpf = EbpfLoader::new()
            .override_global("sample_bytes", &cfg.sample_bytes, true)
            .override_global("mode", &copy, true)
            .override_global("stack_bytes", &stack_bytes, true)
            .override_global("target_tgid", &cfg.tgid, true)
            .map_max_entries("events", cfg.ring_bytes)
            .map_max_entries("live", cfg.max_live.max(1))
            .load(OBJECT)
            .map_err(|e| bpf_error("loading the heap profiler's BPF object", &e))?;
        // The sampler draws exponential distances from this table: quantiles (i + ½)/N of an
        // exponential distribution with mean `sample_bytes`.
        {
            let map = ebpf.map_mut("expo").ok_or_else(|| Error::Bpf {
                why: "the object has no map expo".into(),
            })?;
            let mut expo: Array<&mut MapData, u64> =
                Array::try_from(map).map_err(|e| bpf_error("map expo", &e))?;
            for i in 0..EXPO_N {
                let q = (f64::from(i) + 0.5) / f64::from(EXPO_N);
                let d = (-q.ln() * cfg.sample_bytes as f64).round().max(1.0) as u64;
                expo.set(i, d, 0)
                    .map_err(|e| bpf_error("filling map expo", &e))?;
            }
        }
        let mut loaded = Vec::new();
        for p in Program::ALL {
            let prog: &mut UProbe = ebpf
                .program_mut(p.name())
                .ok_or_else(|| Error::Bpf {
                    why: format!("the object has no program {}", p.name()),
                })?
                .try_into()
                .map_err(|e| bpf_error(p.name(), &e))?;
            prog.load()
                .map_err(|e| bpf_error(&format!("loading program {}", p.name()), &e))?;
            loaded.push(p);
        }
        let events = ebpf.take_map("events").ok_or_else(|| Error::Bpf {
            why: "the object has no map events".into(),
        })?;
        let events = RingBuf::try_from(events).map_err(|e| bpf_error("map events", &e))?;
        Ok(Probes {
            ebpf,
            events,
            loaded,
            attached: 0,
        })
    }

    /// Attach `program` at byte `offset` of `file` (a file offset, as uprobes take it), for
    /// process `pid` only.
    ///
    /// Errors: [`Error::Bpf`] when the kernel refuses (with what it needs) or the file cannot
    /// be opened.
    pub fn attach(&mut self, program: Program, file: &Path, offset: u64, pid: u32) -> Result<()> {
        debug_assert!(self.loaded.contains(&program));
        let pid = NonZeroU32::new(pid).ok_or_else(|| Error::Bpf {
            why: "no process to attach to (pid 0)".into(),
        })?;
        let prog: &mut UProbe = self
            .ebpf
            .program_mut(program.name())
            .ok_or_else(|| Error::Bpf {
                why: format!("the object has no program {}", program.name()),
            })?
            .try_into()
            .map_err(|e| bpf_error(program.name(), &e))?;
        prog.attach(
            UProbeAttachLocation::AbsoluteOffset(offset),
            file,
            UProbeScope::OneProcess(pid),
        )
        .map_err(|e| {
            bpf_error(
                &format!(
                    "attaching {} at {}+{offset:#x}",
                    program.name(),
                    file.display()
                ),
                &e,
            )
        })?;
        self.attached += 1;
        Ok(())
    }

    /// Hand every event now in the ring buffer to `f`, in the order they were reserved (an
    /// allocation always before its free), with a reader of the frame-pointer stack map; the
    /// number handled.
    pub fn drain(&mut self, f: &mut dyn FnMut(Event<'_>, StackReader<'_>)) -> usize {
        let Probes { ebpf, events, .. } = self;
        let map = ebpf
            .map("stacks")
            .and_then(|m| StackTraceMap::<&MapData>::try_from(m).ok());
        let read = |id: u32| read_stack(map.as_ref(), id);
        let mut n = 0;
        while let Some(item) = events.next() {
            if let Some(e) = Event::parse(&item) {
                f(e, &read);
            }
            n += 1;
        }
        n
    }

    /// Wait until the ring buffer is a quarter full (the programs wake the reader then) or
    /// `timeout` has passed.
    pub fn wait(&self, timeout: std::time::Duration) {
        use std::os::fd::AsRawFd;
        let mut fds = libc::pollfd {
            fd: self.events.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one fd of ours; EINTR (Ctrl-C) just returns early.
        unsafe { libc::poll(&mut fds, 1, timeout.as_millis().min(60_000) as i32) };
    }

    /// Every sampled allocation outstanding now (the `live` map), with a reader of the stack
    /// map: how frame-pointer mode hands its results over (it sends no events).
    pub fn outstanding(&self, f: &mut dyn FnMut(u64, LiveRecord, StackReader<'_>)) {
        let Some(map) = self.ebpf.map("live") else {
            return;
        };
        let Ok(live) = aya::maps::HashMap::<&MapData, u64, LiveRecord>::try_from(map) else {
            return;
        };
        let stacks = self
            .ebpf
            .map("stacks")
            .and_then(|m| StackTraceMap::<&MapData>::try_from(m).ok());
        let read = |id: u32| read_stack(stacks.as_ref(), id);
        for (addr, rec) in live.iter().flatten() {
            f(addr, rec, &read);
        }
    }

    /// The programs' counters, summed over CPUs; zeros where they cannot be read.
    pub fn stats(&self) -> Stats {
        let Some(map) = self.ebpf.map("stats") else {
            return Stats::default();
        };
        let Ok(arr) = PerCpuArray::<&MapData, u64>::try_from(map) else {
            return Stats::default();
        };
        let get = |i: u32| -> u64 {
            arr.get(&i, 0)
                .map(|v: PerCpuValues<u64>| v.iter().sum())
                .unwrap_or(0)
        };
        Stats {
            calls: get(0),
            frees: get(1),
            sampled: get(2),
            lost: get(3),
            live_full: get(4),
            stack_errors: get(5),
            freed_sampled: get(6),
            nested: get(7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode_as_the_c_source_lays_them_out() {
        let mut b = vec![0u8; HEADER + 16];
        b[0..4].copy_from_slice(&1u32.to_le_bytes());
        b[4..8].copy_from_slice(&77u32.to_le_bytes());
        b[8..16].copy_from_slice(&5u64.to_le_bytes());
        b[16..24].copy_from_slice(&0x5555_0000u64.to_le_bytes());
        b[24..32].copy_from_slice(&4096u64.to_le_bytes());
        b[32..40].copy_from_slice(&123u64.to_le_bytes());
        b[40..48].copy_from_slice(&(-14i64).to_le_bytes());
        b[48..56].copy_from_slice(&0x401000u64.to_le_bytes());
        b[112..116].copy_from_slice(&16u32.to_le_bytes());
        b[HEADER] = 0xab;
        match Event::parse(&b) {
            Some(Event::Alloc(a)) => {
                assert_eq!(
                    (a.seq, a.tid, a.addr, a.size, a.ts_ns),
                    (5, 77, 0x5555_0000, 4096, 123)
                );
                assert_eq!(a.stackid, -14);
                assert_eq!(a.regs[0], 0x401000);
                assert_eq!(a.stack.len(), 16);
                assert_eq!(a.stack[0], 0xab);
            }
            other => panic!("{other:?}"),
        }
        // A stack length past the record is refused, not read out of bounds.
        b[112..116].copy_from_slice(&17u32.to_le_bytes());
        assert!(Event::parse(&b).is_none());
        b[0..4].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            Event::parse(&b[..HEADER]),
            Some(Event::Free { seq: 5, ts_ns: 123 })
        ));
        assert!(Event::parse(&b[..10]).is_none());
    }
}
