//! The `/proc/PID/status` and `statm` parsers (`sample::pidfiles::parse_status`,
//! `parse_statm`: `sample`, `vmmap`, `record`, `serve`, `oom-rank`) on arbitrary text. None may
//! panic; sizes saturate instead of overflowing.
#![no_main]

use clw_diag::sample::pidfiles;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(s) = pidfiles::parse_status(&text) {
        let _ = s.has_mm();
    }
    if let Some(Some(m)) = pidfiles::parse_statm(&text, 4096) {
        assert!(m.anon_bytes() <= m.resident_bytes);
    }
});
