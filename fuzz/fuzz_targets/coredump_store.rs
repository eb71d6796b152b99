//! The systemd-coredump store's parsers on arbitrary bytes: core file names
//! (`core.COMM.UID.BOOTID.PID.USEC[.zst]`, with systemd's `\xNN` escapes) and `journalctl -o json`
//! lines (strings, byte arrays, repeated fields). The first byte picks the parser. None may
//! panic.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use clw_diag::coredump::store::{journal, name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 3 {
        0 => {
            let _ = name::parse(OsStr::from_bytes(rest));
        }
        1 => {
            let _ = journal::parse_entry(&String::from_utf8_lossy(rest));
        }
        _ => {
            let _ = journal::parse_lines(rest);
            if let Ok(s) = std::str::from_utf8(rest) {
                let _ = name::unescape(s);
            }
        }
    }
});
