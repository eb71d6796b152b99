//! Progress on stderr, in one place (indicatif), shown only when stderr is a terminal and `-q`
//! was not given: `record`'s running sample, `report`'s sections, and any command that may run
//! longer than about two seconds (triage of a large file or stdin, backtrace of a large core,
//! `symbolize --text` of a large input). Nothing is written when hidden, so redirected stderr
//! and CI logs stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Output;

/// A spinner or a byte/count bar on stderr; hidden (every method a no-op) off a terminal or with
/// `-q`. Cleared from the screen when dropped.
pub struct Progress {
    bar: ProgressBar,
}

fn visible(out: &Output) -> bool {
    !out.quiet && std::io::stderr().is_terminal()
}

#[allow(dead_code)] // bytes/items/inc/println: wired into triage, backtrace and symbolize next
impl Progress {
    fn new(out: &Output, bar: ProgressBar, template: &str) -> Progress {
        if !visible(out) {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(125));
        Progress { bar }
    }

    /// A spinner with a message, for work of unknown length (`prefix` names the command).
    pub fn spinner(out: &Output, prefix: &str) -> Progress {
        let p = Progress::new(
            out,
            ProgressBar::new_spinner(),
            "{spinner} clw-diag: {prefix}: {msg} [{elapsed}]",
        );
        p.bar.set_prefix(prefix.to_string());
        p
    }

    /// A bar over `total_bytes` of input (a log file, a core), showing bytes done and the rate.
    pub fn bytes(out: &Output, prefix: &str, total_bytes: u64) -> Progress {
        let p = Progress::new(
            out,
            ProgressBar::new(total_bytes),
            "clw-diag: {prefix}: {msg} {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        );
        p.bar.set_prefix(prefix.to_string());
        p
    }

    /// A bar over `total` items (sections, threads, files).
    pub fn items(out: &Output, prefix: &str, total: u64) -> Progress {
        let p = Progress::new(
            out,
            ProgressBar::new(total),
            "clw-diag: {prefix}: {msg} {wide_bar} {pos}/{len} [{elapsed}]",
        );
        p.bar.set_prefix(prefix.to_string());
        p
    }

    /// Whether anything is drawn (callers may skip building messages when not).
    pub fn is_visible(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Replace the message.
    pub fn message(&self, msg: impl Into<String>) {
        let m: String = msg.into();
        self.bar.set_message(m);
    }

    /// Set the position (bytes or items done).
    pub fn set(&self, pos: u64) {
        self.bar.set_position(pos);
    }

    /// Advance by `n`.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Print a line above the bar without tearing it (goes to stderr even when hidden).
    pub fn println(&self, line: &str) {
        if self.is_visible() {
            self.bar.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
