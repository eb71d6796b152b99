//! The note decoders of `clw_diag::coredump::notes` on arbitrary descriptors: the first byte
//! picks the decoder, the rest is the descriptor. None may panic.
#![no_main]

use clw_diag::coredump::notes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, desc)) = data.split_first() else {
        return;
    };
    match sel % 6 {
        0 => {
            if let Ok(p) = notes::prstatus(desc) {
                let _ = p.regs.to_dwarf();
            }
        }
        1 => {
            let _ = notes::prpsinfo(desc);
        }
        2 => {
            let _ = notes::siginfo(desc);
        }
        3 => {
            let _ = notes::auxv(desc);
        }
        4 => {
            if let Ok(files) = notes::file(desc) {
                for f in files {
                    assert!(f.end >= f.start);
                }
            }
        }
        _ => {
            // Every decoder on the same bytes.
            let _ = notes::prstatus(desc);
            let _ = notes::prpsinfo(desc);
            let _ = notes::siginfo(desc);
            let _ = notes::auxv(desc);
            let _ = notes::file(desc);
        }
    }
});
