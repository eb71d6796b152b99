//! The `smaps_rollup` parsers on arbitrary bytes: the full one of `sample`
//! (`sample::process::parse_rollup`) and the PSS/USS one of `record` and `serve`
//! (`sample::pidfiles::parse_rollup`). An `Err` is fine; a panic is a bug, and USS is the sum
//! of the private lines.
#![no_main]

use std::path::Path;

use clw_diag::sample::{pidfiles, process};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let full = process::parse_rollup(data, Path::new("/proc/1/smaps_rollup"));
    if let Ok(r) = &full {
        if let (Some(a), Some(b), Some(u)) =
            (r.private_clean_bytes, r.private_dirty_bytes, r.uss_bytes)
        {
            assert_eq!(u, a.saturating_add(b));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = pidfiles::parse_rollup(text);
    }
});
