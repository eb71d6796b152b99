//! `clw-diag backtrace` output: gdb-like text per thread, and a CSV table of frames.

use std::io::{self, Write};

use super::{col, one_line, Cell, Keep, Report, Style, Table};
use crate::coredump::unwind::Method;
use crate::symbolize::backtrace::{Backtrace, Frame, StackSamples};

impl Report for Backtrace {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table {
            title: Some("Frames".into()),
            columns: vec![
                col("Thread", "tid"),
                col("Crashed", "crashed"),
                col("#", "index"),
                col("PC", "pc"),
                col("Function", "function"),
                col("File", "file"),
                col("Line", "line"),
                col("Inline", "inline"),
                col("Module", "module"),
                col("Offset", "module_offset"),
                col("Method", "method"),
            ],
            ..Default::default()
        };
        for th in &self.threads {
            for f in &th.frames {
                t.rows.push(vec![
                    Cell::Int(Some(th.tid as i64)),
                    Cell::text(th.crashed.to_string()),
                    Cell::Int(Some(f.index as i64)),
                    Cell::text(format!("{:#x}", f.pc)),
                    Cell::text(f.function.clone().unwrap_or_default()),
                    Cell::text(f.file.clone().unwrap_or_default()),
                    Cell::Int(f.line.map(i64::from)),
                    Cell::text(f.inline.to_string()),
                    Cell::text(f.module.clone().unwrap_or_default()),
                    Cell::text(
                        f.module_offset
                            .map(|o| format!("{o:#x}"))
                            .unwrap_or_default(),
                    ),
                    Cell::text(method_name(f.method)),
                ]);
            }
        }
        vec![t]
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Context => "context",
        Method::Cfi => "cfi",
        Method::Signal => "signal",
        Method::Fp => "fp",
        Method::Scan => "scan",
    }
}

/// One frame as gdb prints it; `first` is the first line of a physical frame (gdb shows the
/// address there, not on the functions that code was inlined into).
fn frame_line(f: &Frame, first: bool, style: Style) -> String {
    let bold = |s: &str| {
        if style.color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut s = format!("#{:<3}", f.index);
    if f.signal_frame && f.function.as_deref().is_none_or(|n| n == "__restore_rt") {
        s.push_str("<signal handler called>");
        return s;
    }
    if first {
        s.push_str(&format!("0x{:016x} in ", f.pc));
    } else {
        s.push_str(&format!("{:21}", ""));
    }
    match &f.function {
        Some(n) => s.push_str(&bold(&one_line(n))),
        None => s.push_str("??"),
    }
    s.push_str(" ()");
    match (&f.file, f.line) {
        (Some(file), Some(line)) => s.push_str(&format!(" at {}:{line}", one_line(file))),
        _ => {
            if let Some(m) = &f.module {
                s.push_str(&format!(" from {}", one_line(m)));
                if f.function.is_none() {
                    if let Some(o) = f.module_offset {
                        s.push_str(&format!("+{o:#x}"));
                    }
                }
            }
        }
    }
    if f.inline {
        s.push_str(" [inlined]");
    }
    match f.method {
        Method::Fp => s.push_str(" [frame pointer]"),
        Method::Scan => s.push_str(" [stack scan: low trust]"),
        _ => {}
    }
    s
}

/// Write the backtrace as people read it: the crash, then each thread like gdb's `bt`.
///
/// Errors: I/O errors of `out` only.
pub fn write_text(bt: &Backtrace, style: Style, out: &mut dyn Write) -> io::Result<()> {
    let who = match (&bt.command, bt.pid) {
        (Some(c), Some(p)) => format!("{} (pid {p})", one_line(c)),
        (Some(c), None) => one_line(c),
        _ => "unknown process".into(),
    };
    match (&bt.core, &bt.live) {
        (Some(c), _) => writeln!(
            out,
            "Core:      {} of {who}",
            one_line(&c.display().to_string())
        )?,
        (None, Some(l)) => writeln!(
            out,
            "Process:   {who}, live: {} threads, {}, held for a median {} µs, at most {} µs",
            bt.threads.len(),
            if l.hold == "all-threads" {
                "all held at once (--consistent)"
            } else {
                "one held at a time"
            },
            l.paused_us_median,
            l.paused_us_max
        )?,
        (None, None) => writeln!(out, "Process:   {who}")?,
    }
    if let Some(a) = bt.args.as_deref().filter(|a| !a.is_empty()) {
        writeln!(out, "Command:   {}", one_line(a))?;
    }
    match &bt.signal {
        None if bt.live.is_some() => {}
        Some(s) => {
            let mut line = format!("Signal:    {} ({}", s.name, s.number);
            if let Some(c) = &s.code_name {
                line.push_str(&format!(", {c}"));
            }
            line.push(')');
            if let Some(a) = s.fault_address {
                line.push_str(&format!(" at address {a:#x}"));
            }
            if let Some(p) = s.sender_pid.filter(|&p| p > 0) {
                line.push_str(&format!(", sent by pid {p}"));
            }
            writeln!(out, "{line}")?;
        }
        None => writeln!(out, "Signal:    none recorded in the core")?,
    }
    if bt.live.is_none() {
        writeln!(out, "Signature: {}", one_line(&bt.crash_signature))?;
    }
    for t in &bt.threads {
        writeln!(out)?;
        let mut head = format!("Thread {}", t.tid);
        if t.crashed {
            head.push_str(" (crashed");
            if t.signal != 0 {
                head.push_str(&format!(
                    ", {}",
                    crate::coredump::signal_name(t.signal as i32)
                ));
            }
            head.push(')');
        }
        if let Some(us) = t.paused_us {
            let mut what = Vec::new();
            if let Some(n) = &t.name {
                what.push(one_line(n));
            }
            if let Some(s) = &t.state {
                what.push(format!("state {s}"));
            }
            what.push(format!("held {us} µs"));
            head.push_str(&format!(" ({})", what.join(", ")));
        }
        writeln!(out, "{head}:")?;
        // A physical frame's functions: those inlined first (`inline`), then the real one.
        let mut prev_inline = false;
        for f in &t.frames {
            writeln!(out, "{}", frame_line(f, !prev_inline, style))?;
            prev_inline = f.inline;
        }
        writeln!(out, "    (stopped: {})", t.stop_reason)?;
    }
    Ok(())
}

impl Report for StackSamples {
    fn tables(&self) -> Vec<Table> {
        let mut t = Table {
            title: Some(format!(
                "Stacks of {} (pid {}): {} snapshots {} s apart, {} thread stacks",
                one_line(&self.command),
                self.pid,
                self.samples,
                self.interval_s,
                self.thread_samples
            )),
            columns: vec![
                col("Count", "count"),
                col("Share", "share"),
                col("Thread", "thread").shed(1),
                col("Stack (innermost first)", "functions"),
            ],
            ..Default::default()
        };
        for s in &self.stacks {
            t.rows.push(vec![
                Cell::Int(Some(s.count as i64)),
                Cell::Pct(Some(s.share * 100.0)),
                Cell::Elide {
                    text: s.thread.clone(),
                    keep: Keep::Start,
                    max: 16,
                },
                Cell::Elide {
                    text: s.functions.join(" < "),
                    keep: Keep::Start,
                    max: 200,
                },
            ]);
        }
        t.notes.push(format!(
            "each thread held for a median {} µs, at most {} µs ({}); --folded prints \
             flamegraph.pl input",
            self.paused_us_median,
            self.paused_us_max,
            if self.hold == "all-threads" {
                "all at once"
            } else {
                "one at a time"
            }
        ));
        vec![t]
    }
}

/// The stacks in Brendan Gregg's folded format, one `thread;outer;…;inner COUNT` line each
/// (flamegraph.pl, inferno-flamegraph).
///
/// Errors: I/O errors of `out` only.
pub fn write_folded(s: &StackSamples, out: &mut dyn Write) -> io::Result<()> {
    for st in &s.stacks {
        writeln!(out, "{} {}", one_line(&st.folded), st.count)?;
    }
    Ok(())
}
