//! A Rust program that crashes on purpose, for tests/backtrace.rs, built with
//! `rustc --edition 2021 -g -C panic=abort`: `crash_rs MODE`. Two threads are parked first (a Condvar wait and
//! a sleep), then the main thread crashes in MODE:
//!   panic  crash::parse::<u32> panics (panic=abort: abort(), SIGABRT)
//!   segv   crash::Store::poke writes to 0xdeadbeef (SIGSEGV)
//! and, for `backtrace --pid`, two that do not crash (they print "ready" when parked):
//!   hang   crash::Store::wait_here sleeps in a loop
//!   spin   crash::Store::spin_here loops
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

struct Store {
    base: u32,
}

impl Store {
    #[inline(never)]
    fn poke(&self, v: u32) {
        // A byte pointer: the debug build checks a u32 pointer's alignment and would panic.
        let p = 0xdeadbeef_usize as *mut u8;
        // SAFETY: none; the write is the crash this program exists for.
        unsafe { std::ptr::write_volatile(p, (v + self.base) as u8) };
        std::hint::black_box(self);
    }
}

impl Store {
    #[inline(never)]
    fn wait_here(&self) {
        ready();
        loop {
            std::thread::sleep(Duration::from_secs(3600));
            std::hint::black_box(self);
        }
    }

    #[inline(never)]
    fn spin_here(&self) {
        ready();
        let mut n = self.base;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

fn ready() {
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
}

#[inline(never)]
fn parse<T: std::str::FromStr>(s: &str) -> T {
    match s.parse() {
        Ok(v) => v,
        Err(_) => panic!("not a number: {s}"),
    }
}

#[inline(never)]
fn run(mode: &str) -> u32 {
    let r = match mode {
        "panic" => parse::<u32>(std::hint::black_box("twelve")),
        "segv" => {
            Store { base: 1 }.poke(2);
            0
        }
        "hang" => {
            Store { base: 1 }.wait_here();
            0
        }
        "spin" => {
            Store { base: 1 }.spin_here();
            0
        }
        _ => {
            eprintln!("unknown mode {mode}");
            std::process::exit(2);
        }
    };
    std::hint::black_box(r)
}

#[inline(never)]
fn park_cond(pair: Arc<(Mutex<u32>, Condvar)>) {
    let (lock, cond) = &*pair;
    let mut n = lock.lock().unwrap();
    *n += 1;
    cond.notify_all();
    loop {
        n = cond.wait(n).unwrap(); // never notified again
        std::hint::black_box(&n);
    }
}

#[inline(never)]
fn park_sleep(pair: Arc<(Mutex<u32>, Condvar)>) {
    {
        let (lock, cond) = &*pair;
        *lock.lock().unwrap() += 1;
        cond.notify_all();
    }
    std::thread::sleep(Duration::from_secs(3600));
    std::hint::black_box(&pair);
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let (p1, p2) = (pair.clone(), pair.clone());
    std::thread::spawn(move || park_cond(p1));
    std::thread::spawn(move || park_sleep(p2));
    {
        let (lock, cond) = &*pair;
        let mut n = lock.lock().unwrap();
        while *n < 2 {
            n = cond.wait(n).unwrap();
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    std::process::exit(run(&mode) as i32 + 3);
}
