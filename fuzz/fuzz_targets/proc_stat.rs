//! The `/proc/PID/stat` parser (`sample::stat::parse`, what `vmmap`, `record --pid`,
//! `oom-rank` and `serve` read) on arbitrary bytes. procfs-core panicked on `\xff(x) S 1 2 3`
//! and friends (D5 of the 2026-12 reliability note); an `Err` is fine, a panic is a bug.
#![no_main]

use std::path::Path;

use clw_diag::sample::stat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(st) = stat::parse(data, Path::new("/proc/1/stat")) {
        assert!(st.pid > 0);
        // The comm came from between the parentheses: never longer than the input (each
        // replaced byte is at most 3 bytes of U+FFFD).
        assert!(st.comm.len() <= data.len() * 3);
        let _ = (st.is_kernel_thread(), st.has_exited());
    }
});
