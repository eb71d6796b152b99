//! Ctrl-C and SIGTERM in one place (signal-hook): the long-running commands (`record`, `serve`,
//! `sample --watch`, `leaks`) poll a flag that the handler sets, and stop cleanly at the next
//! tick: a trace is finished, a target is never left stopped. A second signal while the first is
//! being handled is not lost (the flag stays set).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A flag set by SIGINT and SIGTERM (or only SIGINT with `term = false`). Registering twice in
/// one process is harmless: each call gets its own flag, both are set.
///
/// Errors: the `io::Error` of `sigaction(2)` when a handler cannot be installed.
pub fn stop_flag(term: bool) -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag))?;
    if term {
        signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&flag))?;
    }
    Ok(flag)
}
