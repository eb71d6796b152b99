//! The smaps parser (`sample::smaps::for_each_mapping`, what `vmmap` and `sample --sort pss`
//! read) on arbitrary bytes, in chunks as the kernel hands them over. An `Err` (malformed, with a
//! line number) is fine; a panic is a bug. Every mapping yielded must be well formed.
#![no_main]

use std::path::Path;

use clw_diag::sample::smaps;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut n = 0usize;
    let _ = smaps::for_each_mapping(data, Path::new("/proc/1/smaps"), |m| {
        n += 1;
        let _ = (m.uss_kb(), m.dirty_kb(), m.has_flag("ht"), m.perms_str());
        Ok(())
    });
    assert!(n <= data.len());
});
