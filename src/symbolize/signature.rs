//! The crash signature: one line for grouping crashes, the signal and the crashing thread's
//! innermost functions in the program's own code (language runtimes and the C library left
//! out, recursion folded), with no addresses so that it is stable across ASLR. This tool's own
//! rule, documented as `crash_signature` in docs/json.md.

use super::backtrace::{Frame, Thread};
use crate::coredump::Signal;

/// Functions of language runtimes and the C library, left out of the crash signature (the
/// program's own code is what tells crashes apart; a static binary carries libc in the
/// executable). Names starting with `__` or `_` + capital are reserved to the implementation in
/// C and C++.
const RUNTIME_PREFIXES: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "rust_panic",
    "panic_abort::",
    "panic_unwind::",
    "__gnu_cxx::",
    "_start",
    "_IO_",
    "_dl_",
    "raise",
    "abort",
    "pthread_",
    "start_thread",
    "clone",
    "gsignal",
];

fn is_runtime(name: &str) -> bool {
    let b = name.as_bytes();
    name.starts_with("__")
        || (b.len() > 1 && b[0] == b'_' && b[1].is_ascii_uppercase())
        || RUNTIME_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The signature of the crash: `SIGSEGV in fault_here < level2 < main` (at most three of the
/// program's own functions, `exe` being the executable's module path), else the first three
/// frames as `module!function` or `module+offset`.
pub(super) fn crash_signature(
    sig: Option<&Signal>,
    thread: Option<&Thread>,
    exe: Option<&str>,
) -> String {
    let sig = sig.map_or("no signal".to_string(), |s| s.name.clone());
    match thread {
        None => format!("{sig} (no threads)"),
        Some(t) => format!("{sig} in {}", location(&t.frames, exe)),
    }
}

/// Where a thread is, by the rule of the crash signature without the signal:
/// `fault_here < level2 < main`; `?` for a thread without frames.
pub(super) fn location(frames: &[Frame], exe: Option<&str>) -> String {
    let own: Vec<String> = frames
        .iter()
        .filter(|f| f.module.is_some() && f.module.as_deref() == exe)
        .filter_map(|f| f.function.clone())
        .filter(|n| !is_runtime(n))
        .fold(Vec::new(), |mut v: Vec<String>, n| {
            // Recursion depth does not tell crashes apart: one name per run of equal names.
            if v.last() != Some(&n) {
                v.push(n);
            }
            v
        })
        .into_iter()
        .take(3)
        .collect();
    if !own.is_empty() {
        return own.join(" < ");
    }
    let any: Vec<String> = frames
        .iter()
        .take(3)
        .map(|f| {
            let module = f
                .module
                .as_deref()
                .map(|m| m.rsplit('/').next().unwrap_or(m).to_string())
                .unwrap_or_else(|| "?".into());
            match &f.function {
                Some(n) => format!("{module}!{n}"),
                None => format!("{module}+{:#x}", f.module_offset.unwrap_or(f.pc)),
            }
        })
        .collect();
    if any.is_empty() {
        return "?".into();
    }
    any.join(" < ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coredump::unwind::Method;
    use crate::symbolize::backtrace::Frame;

    fn frame(function: Option<&str>, module: &str, offset: u64) -> Frame {
        Frame {
            index: 0,
            pc: 0x7000_0000 + offset,
            function: function.map(str::to_string),
            file: None,
            line: None,
            column: None,
            inline: false,
            module: Some(module.to_string()),
            module_offset: Some(offset),
            method: Method::Cfi,
            signal_frame: false,
        }
    }

    fn thread(frames: Vec<Frame>) -> Thread {
        Thread {
            tid: 1,
            crashed: true,
            signal: 11,
            frames,
            stop_reason: String::new(),
            location: String::new(),
            name: None,
            state: None,
            paused_us: None,
        }
    }

    fn segv() -> Signal {
        Signal {
            number: 11,
            name: "SIGSEGV".into(),
            code: 1,
            code_name: None,
            fault_address: None,
            sender_pid: None,
        }
    }

    #[test]
    fn own_functions_recursion_folded_runtime_left_out() {
        let t = thread(vec![
            frame(Some("raise"), "/lib/libc.so.6", 0x10),
            frame(Some("fault_here"), "/app/c", 0x1),
            frame(Some("level2"), "/app/c", 0x2),
            frame(Some("level2"), "/app/c", 0x2),
            frame(Some("__libc_csu"), "/app/c", 0x3),
            frame(Some("main"), "/app/c", 0x4),
            frame(Some("extra"), "/app/c", 0x5),
        ]);
        assert_eq!(
            crash_signature(Some(&segv()), Some(&t), Some("/app/c")),
            "SIGSEGV in fault_here < level2 < main"
        );
    }

    #[test]
    fn without_own_functions_the_first_frames_by_module() {
        let t = thread(vec![
            frame(Some("raise"), "/lib/libc.so.6", 0x10),
            frame(None, "/lib/libfoo.so", 0x20),
        ]);
        assert_eq!(
            crash_signature(None, Some(&t), Some("/app/c")),
            "no signal in libc.so.6!raise < libfoo.so+0x20"
        );
        assert_eq!(
            crash_signature(Some(&segv()), None, None),
            "SIGSEGV (no threads)"
        );
    }

    #[test]
    fn reserved_names_are_runtime() {
        assert!(is_runtime("__GI_raise"));
        assert!(is_runtime("_IO_flush_all"));
        assert!(is_runtime("_Unwind_Resume"));
        assert!(is_runtime("std::panicking::begin_panic"));
        assert!(!is_runtime("main"));
        assert!(!is_runtime("_private_helper"));
    }
}
