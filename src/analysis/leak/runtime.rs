//! Managed runtimes whose memory grows by design at the start: a JVM commits its heap as the
//! garbage collector sizes it (up to the maximum heap), so in a JVM's first minutes growth of
//! anon memory or RSS below that maximum says nothing about retention (the heap-sizing phase of
//! HotSpot's ergonomics: "Java Platform, Standard Edition HotSpot Virtual Machine Garbage
//! Collection Tuning Guide", sections "Ergonomics" and "Factors Affecting Garbage Collection
//! Performance": default maximum heap 1/4 of physical memory, `-XX:MaxRAMPercentage`).

use crate::trace::Series;

/// Room the JVM takes outside the heap while it warms up (metaspace, code cache, thread
/// stacks, GC structures), bytes, added to the maximum heap.
pub(super) const JVM_NON_HEAP: f64 = 256.0 * 1048576.0;

/// The maximum heap of a JVM `record` started, from its command line or HotSpot's default.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct JvmHeap {
    /// Maximum heap, bytes.
    pub max_bytes: f64,
    /// Where it came from, for people: `-Xmx2g`, or the default share of the memory it sees.
    pub source: String,
}

/// A `-Xmx`-style size: digits with an optional k/m/g/t suffix (either case), bytes.
fn java_size(s: &str) -> Option<f64> {
    let (num, mul) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1024.0),
        'm' | 'M' => (&s[..s.len() - 1], 1048576.0),
        'g' | 'G' => (&s[..s.len() - 1], 1073741824.0),
        't' | 'T' => (&s[..s.len() - 1], 1099511627776.0),
        _ => (s, 1.0),
    };
    num.parse::<u64>().ok().map(|n| n as f64 * mul)
}

/// The JVM's maximum heap when the series is a command `record` started and that command runs
/// `java`; `None` otherwise, or when the memory the JVM sizes its default from is unknown.
/// `JAVA_TOOL_OPTIONS` and `@argfiles` are not seen (the trace does not carry them).
pub(super) fn jvm_heap(s: &Series) -> Option<JvmHeap> {
    if s.target_kind.as_deref() != Some("command") {
        return None;
    }
    let cmd = s.command.as_deref()?;
    let mut words = cmd.split_whitespace();
    let prog = words.next()?;
    let base = prog.rsplit('/').next().unwrap_or(prog);
    if base != "java" {
        return None;
    }
    let (mut xmx, mut pct, mut max_ram) = (None, None, None);
    // Options end at the main class or -jar; a later -Xmx belongs to the program.
    for w in words.take_while(|w| w.starts_with('-')) {
        if let Some(v) = w.strip_prefix("-Xmx") {
            xmx = java_size(v).map(|b| (b, w.to_string()));
        } else if let Some(v) = w.strip_prefix("-XX:MaxHeapSize=") {
            xmx = java_size(v).map(|b| (b, w.to_string()));
        } else if let Some(v) = w.strip_prefix("-XX:MaxRAMPercentage=") {
            pct = v.parse::<f64>().ok().filter(|p| *p > 0.0 && *p <= 100.0);
        } else if let Some(v) = w.strip_prefix("-XX:MaxRAM=") {
            max_ram = java_size(v);
        }
    }
    if let Some((b, w)) = xmx {
        return Some(JvmHeap {
            max_bytes: b,
            source: w,
        });
    }
    // HotSpot sizes its default from the container's limit when it has one, else the host's
    // memory; below about 250 MiB it takes half (MinRAMPercentage) rather than a quarter.
    let (mem, what) = match (max_ram, s.limit_bytes, s.host_total_bytes) {
        (Some(m), ..) => (m, "-XX:MaxRAM"),
        (None, Some(l), _) => (l as f64, "the memory limit"),
        (None, None, Some(h)) => (h as f64, "the host's memory"),
        (None, None, None) => return None,
    };
    let share = pct.unwrap_or(if mem < 250.0 * 1048576.0 { 50.0 } else { 25.0 });
    Some(JvmHeap {
        max_bytes: mem * share / 100.0,
        source: format!(
            "{share:.0} % of {what} ({:.1} GiB){}",
            mem / 1073741824.0,
            if pct.is_some() {
                ", -XX:MaxRAMPercentage"
            } else {
                ", HotSpot's default"
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(c: &str, host: u64) -> Series {
        Series {
            target_kind: Some("command".into()),
            command: Some(c.into()),
            host_total_bytes: Some(host),
            ..Series::default()
        }
    }

    #[test]
    fn the_maximum_heap_comes_from_the_command_line_or_the_default() {
        let g = 1u64 << 30;
        let h = jvm_heap(&cmd("java -Xmx2g -cp . Main -Xmx9g", 16 * g)).unwrap();
        assert_eq!(h.max_bytes, 2.0 * g as f64);
        assert_eq!(h.source, "-Xmx2g");
        let h = jvm_heap(&cmd("/usr/lib/jvm/bin/java -cp . Main", 16 * g)).unwrap();
        assert_eq!(h.max_bytes, 4.0 * g as f64);
        let h = jvm_heap(&cmd("java -XX:MaxRAMPercentage=75 -jar app.jar", 4 * g)).unwrap();
        assert_eq!(h.max_bytes, 3.0 * g as f64);
        let h = jvm_heap(&cmd("java -XX:MaxHeapSize=512m Main", 4 * g)).unwrap();
        assert_eq!(h.max_bytes, 512.0 * 1048576.0);
        assert!(jvm_heap(&cmd("python3 x.py -Xmx1g", g)).is_none());
        assert!(jvm_heap(&cmd("javac Main.java", g)).is_none());
        let mut s = cmd("java Main", g);
        s.target_kind = Some("process".into());
        assert!(jvm_heap(&s).is_none(), "only a JVM started with the trace");
        let mut s = cmd("java -Xmxbogus Main", 8 * g);
        s.limit_bytes = Some(1 << 30);
        let h = jvm_heap(&s).unwrap();
        assert_eq!(h.max_bytes, 0.25 * g as f64, "the limit, when there is one");
    }
}
