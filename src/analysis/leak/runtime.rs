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
//!   of a 300 s recording. The warm-up ends early at V8's first collection that returns memory
//!   (a significant drop of the series).
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
/// then begins with the runtime); `None` otherwise. `t`/`v` (seconds, bytes) are the samples
/// analysed: V8's warm-up ends at its first collection that returns memory (the first
/// significant drop), when that comes before [`V8_WARMUP_S`]; a JVM keeps sizing its heap
/// after its first collections, so its warm-up is the whole [`JVM_WARMUP_S`].
pub(super) fn warmup(s: &Series, t: &[f64], v: &[f64]) -> Option<(f64, &'static str)> {
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
            super::drops(t, v)
                .first()
                .map_or(V8_WARMUP_S, |d| (d - t.first().copied().unwrap_or(0.0)).min(V8_WARMUP_S)),
            "a Node.js (V8) runtime started with the recording: its warm-up (old generation filling until its first collection, at most 2 minutes; JIT code), when memory grows by design",
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
            warmup(&cmd("java -Xmx2g -cp . Main"), &[], &[]).map(|w| w.0),
            Some(120.0)
        );
        assert!(warmup(&cmd("/usr/lib/jvm/bin/java -jar app.jar"), &[], &[]).is_some());
        assert!(warmup(&cmd("python3 x.py java"), &[], &[]).is_none());
        assert!(warmup(&cmd("javac Main.java"), &[], &[]).is_none());
        assert_eq!(
            warmup(&cmd("node server.js"), &[], &[]).map(|w| w.0),
            Some(120.0)
        );
        assert!(warmup(
            &cmd("/usr/bin/nodejs --max-old-space-size=512 app.js"),
            &[],
            &[]
        )
        .is_some());
        assert!(warmup(&cmd("nodemon app.js"), &[], &[]).is_none());
        let mut s = cmd("java Main");
        s.target_kind = Some("process".into());
        assert!(
            warmup(&s, &[], &[]).is_none(),
            "a JVM recorded with --pid has run a while"
        );
    }

    #[test]
    fn v8_s_warm_up_ends_at_its_first_collection() {
        const MIB: f64 = 1048576.0;
        let t: Vec<f64> = (0..100).map(|i| f64::from(i) * 0.1).collect();
        // A leak under a GC sawtooth: it climbs 10 MiB a second and drops 12 MiB every 2 s.
        let saw: Vec<f64> = t
            .iter()
            .map(|&x| 50.0 * MIB + 10.0 * MIB * x - 12.0 * MIB * (x / 2.0).floor())
            .collect();
        let w = warmup(&cmd("node leak.js"), &t, &saw).map(|w| w.0);
        assert!(w.is_some_and(|w| (w - 2.0).abs() < 0.15), "{w:?}");
        // Growth without a collection yet: the whole two minutes.
        let warm: Vec<f64> = t.iter().map(|&x| 50.0 * MIB + 0.5 * MIB * x).collect();
        assert_eq!(
            warmup(&cmd("node app.js"), &t, &warm).map(|w| w.0),
            Some(120.0)
        );
        // A JVM's warm-up does not end at its first collection.
        assert_eq!(
            warmup(&cmd("java Main"), &t, &saw).map(|w| w.0),
            Some(120.0)
        );
    }
}
