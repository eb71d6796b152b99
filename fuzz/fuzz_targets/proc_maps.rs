//! `/proc/PID/maps` lines (`sample::smaps::parse_maps_line`, the header of every smaps
//! mapping and of `smaps_rollup`) and the whole-file reader of `symbolize --maps`
//! (`symbolize::text::parse_maps`) on arbitrary bytes. A line that parses has start ≤ end.
#![no_main]

use clw_diag::sample::smaps;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for line in data.split(|&c| c == b'\n') {
        if let Some((m, path)) = smaps::parse_maps_line(line) {
            assert!(m.start <= m.end);
            assert!(path.len() <= line.len());
            let _ = (m.perms_str(), m.readable(), m.shared());
        }
    }
    let _ = clw_diag::symbolize::text::parse_maps(data);
});
