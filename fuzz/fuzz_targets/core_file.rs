//! A whole core file: the input is written to /dev/shm and given to
//! `clw_diag::symbolize::backtrace::backtrace`. Any `Err` is fine; a panic is a bug.
#![no_main]

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        PathBuf::from(format!(
            "/dev/shm/clw-fuzz-core_file-{}.core",
            std::process::id()
        ))
    })
}

fuzz_target!(|data: &[u8]| {
    let p = path();
    {
        let mut f = std::fs::File::create(p).expect("create the core file in /dev/shm");
        f.write_all(data).expect("write the core file");
    }
    let _ = clw_diag::symbolize::backtrace::backtrace(p, &Default::default());
    let _ = std::fs::remove_file(p);
});
