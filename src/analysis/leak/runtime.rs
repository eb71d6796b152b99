//! Managed runtimes whose memory grows by design at the start, so that in their first minutes
//! growth of anon memory or RSS says nothing about retention:
//! - a JVM commits its heap as the garbage collector sizes it, loads classes and compiles hot
//!   code (HotSpot's ergonomics: "Java Platform, Standard Edition HotSpot Virtual Machine
//!   Garbage Collection Tuning Guide", "Ergonomics"). Measured here (docs/leak-detection.md): a
//!   JVM churning a map with the default heap grew to 1.9–2.8 GiB of anon memory in 20–60 s,
//!   then held it flat; on a loaded machine it was still growing in a straight line at 60 s.
//! - V8 (Node.js) promotes surviving young objects into an old generation that is not
//!   collected until it reaches its first limit, and grows its semi-spaces and code space as
//!   the program warms up (V8 blog, "Trash talk: the Orinoco garbage collector"). Measured here:
//!   a Node service allocating short-lived buffers and strings at a steady rate grew about
//!   0.5 MiB/s for its first 100 s, until its first mark-compact, then stayed flat for the rest
//!   of a 300 s recording.
//!
//! Only a runtime started *with* the recording (`record -- java …`, `record -- node …`) is
//! known to be in its warm-up; a process recorded with `--pid` has run for an unknown time.

use crate::trace::Series;

/// Seconds of a JVM's start treated as its warm-up.
pub(super) const JVM_WARMUP_S: f64 = 120.0;

/// Seconds of a Node.js (V8) start treated as its warm-up.
pub(super) const V8_WARMUP_S: f64 = 120.0;

/// The warm-up to leave out, seconds from the trace's start, and why (for the notes): when
/// the series is a command `record` started and that command runs `java` or `node` (the trace
/// then begins with the runtime); `None` otherwise.
pub(super) fn warmup(s: &Series) -> Option<(f64, &'static str)> {
    if s.target_kind.as_deref() != Some("command") {
        return None;
    }
    let prog = s.command.as_deref()?.split_whitespace().next()?;
    let base = prog.rsplit('/').next().unwrap_or(prog);
    match base {
        "java" => Some((
            JVM_WARMUP_S,
            "a JVM started with the recording: its first 2 minutes are its warm-up (heap sizing, class loading, JIT compilation), when memory grows by design",
        )),
        "node" | "nodejs" => Some((
            V8_WARMUP_S,
            "a Node.js (V8) runtime started with the recording: its first 2 minutes are its warm-up (old generation filling until its first mark-compact, JIT code), when memory grows by design",
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(c: &str) -> Series {
        Series {
            target_kind: Some("command".into()),
            command: Some(c.into()),
            ..Series::default()
        }
    }

    #[test]
    fn only_a_jvm_or_node_started_with_the_trace_has_a_warm_up() {
        assert_eq!(
            warmup(&cmd("java -Xmx2g -cp . Main")).map(|w| w.0),
            Some(120.0)
        );
        assert!(warmup(&cmd("/usr/lib/jvm/bin/java -jar app.jar")).is_some());
        assert!(warmup(&cmd("python3 x.py java")).is_none());
        assert!(warmup(&cmd("javac Main.java")).is_none());
        assert_eq!(warmup(&cmd("node server.js")).map(|w| w.0), Some(120.0));
        assert!(warmup(&cmd("/usr/bin/nodejs --max-old-space-size=512 app.js")).is_some());
        assert!(warmup(&cmd("nodemon app.js")).is_none());
        let mut s = cmd("java Main");
        s.target_kind = Some("process".into());
        assert!(
            warmup(&s).is_none(),
            "a JVM recorded with --pid has run a while"
        );
    }
}
