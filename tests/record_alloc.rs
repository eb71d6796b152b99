//! `record` allocates nothing per process per sample: the recorder's samples of a family of
//! 60 processes make as many heap allocations as those of a family of 6, counted by a
//! counting global allocator (this thread's allocations only; the C library's own `malloc`,
//! which `fdopendir` uses for a multi-threaded process's `task` directory, is not counted).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use clw_diag::record::{Options, Recorder, Target};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; counting touches only a const thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(|c| c.get())
}

/// A shell with `n` sleeping children, once all of them run.
fn family(n: usize) -> Child {
    let sh = Command::new("sh")
        .args([
            "-c",
            &format!("for i in $(seq {n}); do sleep 60 & done; wait"),
        ])
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let kids = format!("/proc/{0}/task/{0}/children", sh.id());
    while std::fs::read_to_string(&kids)
        .unwrap_or_default()
        .split_whitespace()
        .count()
        < n
    {
        assert!(t0.elapsed() < Duration::from_secs(10), "{n} children");
        std::thread::sleep(Duration::from_millis(10));
    }
    sh
}

/// Allocations of samples 1..=30 (three walks of the family) of `n` children and their parent,
/// after the first (which opens the files).
fn allocations_of_30_samples(n: usize) -> (u64, u64) {
    let mut sh = family(n);
    let d = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let mut r = Recorder::start(Options {
        target: Target::Pid {
            pid: sh.id() as i32,
            children: true,
        },
        interval: Duration::from_secs(1),
        duration: None,
        output: d.path().join("t.json"),
        keep_oom_score: true,
        proc_root: PathBuf::from("/proc"),
        cgroup_root: PathBuf::from("/sys/fs/cgroup"),
        host_root: PathBuf::from("/"),
        stop: &stop,
        progress: None,
    })
    .unwrap();
    assert_eq!(r.tick().unwrap(), None);
    let before = allocs();
    for _ in 0..30 {
        assert_eq!(r.tick().unwrap(), None);
    }
    let used = allocs() - before;
    let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", sh.id()));
    for k in kids.unwrap_or_default().split_whitespace() {
        if let Ok(k) = k.parse::<i32>() {
            // SAFETY: kill(2) of a child of our child.
            unsafe { libc::kill(k, libc::SIGKILL) };
        }
    }
    let _ = sh.kill();
    let _ = sh.wait();
    let s = r.finish(clw_diag::record::Stop::Interrupted).unwrap();
    (used, s.samples)
}

#[test]
fn samples_allocate_nothing_per_process() {
    let (small, n_small) = allocations_of_30_samples(5);
    let (big, n_big) = allocations_of_30_samples(59);
    assert_eq!((n_small, n_big), (31, 31));
    eprintln!("allocations in 30 samples: {small} for 6 processes, {big} for 60");
    // status is read every sample for 6 processes, every 10th for 60: the small family reads
    // more files, and neither may allocate per process read.
    assert!(
        big <= small + 10,
        "30 samples of 60 processes made {big} allocations, of 6 processes {small}"
    );
    assert!(small <= 30 * 10, "{small} allocations in 30 samples");
}
