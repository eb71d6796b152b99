//! Managed runtimes whose memory grows by design at the start: a JVM commits its heap as the
//! garbage collector sizes it, loads classes and compiles hot code in its first tens of
//! seconds, so in those seconds growth of anon memory or RSS says nothing about retention
//! (HotSpot's ergonomics: "Java Platform, Standard Edition HotSpot Virtual Machine Garbage
//! Collection Tuning Guide", "Ergonomics"). Measured here (docs/leak-detection.md): a JVM
//! churning a map with the default heap grew to 1.9–2.8 GiB of anon memory in 20–60 s, then
//! held it flat; on a loaded machine it was still growing in a straight line at 60 s.

use crate::trace::Series;

/// Seconds of a JVM's start treated as its warm-up.
pub(super) const JVM_WARMUP_S: f64 = 120.0;

/// The warm-up to leave out, seconds from the trace's start, and why (for the notes): when
/// the series is a command `record` started and that command runs `java` (the trace then
/// begins with the JVM); `None` otherwise.
pub(super) fn warmup(s: &Series) -> Option<(f64, &'static str)> {
    if s.target_kind.as_deref() != Some("command") {
        return None;
    }
    let prog = s.command.as_deref()?.split_whitespace().next()?;
    let base = prog.rsplit('/').next().unwrap_or(prog);
    (base == "java").then_some((
        JVM_WARMUP_S,
        "a JVM started with the recording: its first 2 minutes are its warm-up (heap sizing, class loading, JIT compilation), when memory grows by design",
    ))
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
    fn only_a_jvm_started_with_the_trace_has_a_warm_up() {
        assert_eq!(
            warmup(&cmd("java -Xmx2g -cp . Main")).map(|w| w.0),
            Some(120.0)
        );
        assert!(warmup(&cmd("/usr/lib/jvm/bin/java -jar app.jar")).is_some());
        assert!(warmup(&cmd("python3 x.py java")).is_none());
        assert!(warmup(&cmd("javac Main.java")).is_none());
        let mut s = cmd("java Main");
        s.target_kind = Some("process".into());
        assert!(
            warmup(&s).is_none(),
            "a JVM recorded with --pid has run a while"
        );
    }
}
