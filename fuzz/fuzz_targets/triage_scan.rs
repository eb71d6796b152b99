//! The triage scanner on arbitrary log bytes: the first byte picks the mode (plain text lines or
//! journald JSON lines) and whether the whole input also goes through the structured-document
//! reader (Kubernetes/Docker JSON). None may panic; every event found names the input.
#![no_main]

use clw_diag::triage::scan::{Mode, Scanner};
use clw_diag::triage::structured;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, text)) = data.split_first() else {
        return;
    };
    let mode = if sel & 1 == 0 {
        Mode::Text
    } else {
        Mode::JournalJson
    };
    let mut s = Scanner::new("fuzz.log", mode);
    if sel & 2 == 0 {
        for line in text.split(|&b| b == b'\n') {
            s.feed_line(line);
        }
        s.finish();
    } else {
        // The streaming path (second reader thread, line splitting at chunk edges).
        let _ = s.scan(text);
    }
    assert!(s.lines <= text.len() as u64 + 1);
    if sel & 4 != 0 {
        if let Ok(t) = std::str::from_utf8(text) {
            let _ = structured::document(t, "fuzz.json");
        }
    }
});
