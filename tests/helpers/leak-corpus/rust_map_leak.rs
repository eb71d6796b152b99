// rust_map_leak — expected label: leak.
// A session store: a HashMap<u64, Vec<u8>> gets a 4 KiB session per request and is never pruned
// (the expiry sweep was forgotten). At LC_RATE (sessions/s, default 400, ~1.6 MiB/s) it grows
// linearly, with the map's own doublings as small steps, until LC_CAP_MIB (default 400); then it
// only overwrites existing keys (flat). Compile: rustc -O rust_map_leak.rs -o DIR/rust_map_leak.
// Env: LC_RATE, LC_CAP_MIB, LC_DURATION_S (0 = until killed).
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn env(name: &str, dflt: f64) -> f64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(dflt)
}

fn main() {
    let rate = env("LC_RATE", 400.0);
    let cap = (env("LC_CAP_MIB", 400.0) * 1048576.0) as usize;
    let duration = env("LC_DURATION_S", 0.0);
    let start = Instant::now();
    let mut sessions: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut n: u64 = 0;
    while duration <= 0.0 || start.elapsed().as_secs_f64() < duration {
        n += 1;
        let key = if sessions.len() * 4096 < cap { n } else { n % sessions.len().max(1) as u64 };
        sessions.insert(key, vec![(n % 251) as u8 + 1; 4096]);
        let due = start + Duration::from_secs_f64(n as f64 / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
    eprintln!("{} sessions", sessions.len());
}
