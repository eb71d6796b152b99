//! ELF core dumps of Linux processes: the core file itself ([`core`]: program headers, notes
//! decoded by [`notes`], memory of the `PT_LOAD` segments), the modules and their load biases
//! ([`modules`]), and the per-thread CFI unwinder ([`unwind`]). Symbolizing the unwound frames
//! the symbolizer's (`symbolize/backtrace.rs`), which depends on this module, never the
//! other way round: what the modules and the unwinder need of debug-file discovery they see
//! through [`modules::DebugFileLookup`]. The crashes systemd-coredump stored (files and journal
//! entries) are listed by [`store`].

pub mod compressed;
pub mod core;
mod image;
pub mod live;
pub mod memory;
pub mod modules;
pub mod notes;
pub mod store;
pub mod unwind;

use serde::Serialize;

use crate::base::hex::hex_opt;

/// The signal that caused the dump.
#[derive(Debug, Clone, Serialize)]
pub struct Signal {
    /// `si_signo`: the signal number (11 for SIGSEGV).
    pub number: i32,
    /// The conventional name (`SIGSEGV`), or `signal N` for a number without one.
    pub name: String,
    /// `si_code`, and its name where standard (SEGV_MAPERR, SI_USER…).
    pub code: i32,
    /// The standard name of `code` for this signal (`SEGV_MAPERR`, `SI_TKILL`…); `None` when it has
    /// none.
    pub code_name: Option<String>,
    /// The faulting address for SIGSEGV, SIGBUS, SIGILL, SIGFPE raised by the kernel.
    #[serde(serialize_with = "hex_opt")]
    pub fault_address: Option<u64>,
    /// The sender of a signal sent by a process (kill, abort → tgkill).
    pub sender_pid: Option<i32>,
}

/// The conventional name of a Linux x86-64 signal.
pub fn signal_name(n: i32) -> String {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match usize::try_from(n).ok().and_then(|i| NAMES.get(i)) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => format!("signal {n}"),
    }
}

/// `si_code` names (include/uapi/asm-generic/siginfo.h).
fn code_name(signo: i32, code: i32) -> Option<&'static str> {
    Some(match (signo, code) {
        (_, 0) => "SI_USER",
        (_, 0x80) => "SI_KERNEL",
        (_, -1) => "SI_QUEUE",
        (_, -6) => "SI_TKILL",
        (11, 1) => "SEGV_MAPERR",
        (11, 2) => "SEGV_ACCERR",
        (11, 3) => "SEGV_BNDERR",
        (11, 4) => "SEGV_PKUERR",
        (7, 1) => "BUS_ADRALN",
        (7, 2) => "BUS_ADRERR",
        (7, 3) => "BUS_OBJERR",
        (8, 1) => "FPE_INTDIV",
        (8, 2) => "FPE_INTOVF",
        (8, 3) => "FPE_FLTDIV",
        (4, 1) => "ILL_ILLOPC",
        (4, 2) => "ILL_ILLOPN",
        (4, 5) => "ILL_PRVOPC",
        (4, 8) => "ILL_BADSTK",
        _ => return None,
    })
}

impl Signal {
    /// The signal that caused the dump: from `NT_SIGINFO`, else the first thread's
    /// `pr_cursig` (0: none).
    pub fn of(core: &core::Core) -> Option<Signal> {
        let from_siginfo = core.siginfo.as_ref().map(|s| Signal {
            number: s.signo,
            name: signal_name(s.signo),
            code: s.code,
            code_name: code_name(s.signo, s.code).map(str::to_string),
            fault_address: s.fault_address,
            sender_pid: s.sender_pid,
        });
        from_siginfo.or_else(|| {
            let s = core.threads.first()?.cursig as i32;
            (s != 0).then(|| Signal {
                number: s,
                name: signal_name(s),
                code: 0,
                code_name: None,
                fault_address: None,
                sender_pid: None,
            })
        })
    }
}
