//! The cgroup and /proc file parsers on arbitrary text: flat-keyed files (`memory.stat`,
//! `memory.events`), PSI (`memory.pressure`, `/proc/pressure/memory`), limits (`memory.max`,
//! `memory.limit_in_bytes`) and single numbers. The first byte picks the parser. None may panic.
#![no_main]

use std::path::Path;

use clw_diag::sample::files;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let p = Path::new("/sys/fs/cgroup/x/memory.stat");
    match sel % 5 {
        0 => {
            let _ = files::parse_flat_keyed(&text, p);
        }
        1 => {
            if let Ok(psi) = files::parse_psi(&text, p) {
                let _ = clw_diag::analysis::pressure::psi_rising(&psi);
            }
        }
        2 => {
            if let Ok(l) = files::parse_limit(&text, p) {
                let _ = l.bytes();
            }
        }
        3 => {
            let _ = files::parse_u64(&text, p, 1);
        }
        _ => {
            let _ = files::parse_flat_keyed(&text, p);
            let _ = files::parse_psi(&text, p);
            let _ = files::parse_limit(&text, p);
        }
    }
});
