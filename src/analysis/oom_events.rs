//! The OOM kills a memory trace recorded, from its event lines (DESIGN.md, "The trace format":
//! `oom_kill` counter changes of the target's memory cgroup, and `target_exited` with the
//! signal). A SIGKILL right after an `oom_kill` event is the kernel's OOM killer
//! (`mm/oom_kill.c` sends SIGKILL to the victim); `analyze` reports it and its plot marks it.

use crate::trace::Series;

/// The OOM kills of a trace, from its events (`oom_kill` with a `count`, `target_exited` with
/// its signal): (count, times, ended in one). All unknown when the trace has no events.
pub(crate) fn oom_kills(s: &Series) -> (Option<u64>, Vec<f64>, Option<bool>) {
    if s.events.is_empty() {
        return (None, Vec::new(), None);
    }
    let kills: Vec<crate::trace::OomKill> = s.oom_kills().collect();
    let count = kills.iter().map(|k| k.count).sum();
    let times: Vec<f64> = kills.iter().map(|k| k.t).collect();
    let last_sample = s.t.last().copied().unwrap_or(0.0);
    let slack = s.interval_s.unwrap_or(1.0).max(0.5) * 2.0;
    let exit = s.events.iter().rev().find_map(|e| match e.event {
        crate::trace::Event::TargetExited { signal, .. } => Some((e.t, signal)),
        _ => None,
    });
    let ended = match exit {
        // Killed by SIGKILL with a kill counted just before: the kernel's OOM killer.
        Some((t, signal)) => {
            signal == Some(9) && times.iter().any(|&k| k <= t + 1.0 && k >= t - slack)
        }
        // A cgroup or a process that outlived the recording: a kill after the last sample.
        None => times.iter().any(|&k| k >= last_sample - slack),
    };
    (Some(count), times, Some(ended))
}

#[cfg(test)]
mod tests {
    use crate::analysis::leak::{analyze, LeakOptions};
    use crate::trace::{Event, EventLine};

    use crate::analysis::leak::tests::series;

    fn event(t: f64, event: &str, signal: Option<i32>, count: Option<u64>) -> EventLine {
        let event = match event {
            "oom_kill" => Event::OomKill {
                count: count.unwrap_or(1),
                source: None,
            },
            "target_exited" => Event::TargetExited {
                exit_code: None,
                signal,
            },
            _ => Event::RecorderStats {
                cpu_s: None,
                peak_rss_bytes: None,
                samples: None,
            },
        };
        EventLine { t, event }
    }

    #[test]
    fn oom_kill_at_the_end_and_its_count() {
        let t: Vec<f64> = (0..40).map(|i| i as f64 * 0.1).collect();
        let v: Vec<f64> = t.iter().map(|x| 1e6 + x * 8e6).collect();
        let mut s = series(t, v);
        s.interval_s = Some(0.1);
        // No events: the count is unknown, not 0.
        let r = analyze(&s, &LeakOptions::default());
        assert_eq!((r.oom_kill_count, r.ended_in_oom_kill), (None, None));
        s.events = vec![
            event(3.95, "oom_kill", None, Some(1)),
            event(3.96, "target_exited", Some(9), None),
            event(3.97, "recorder_stats", None, None),
        ];
        let r = analyze(
            &s,
            &LeakOptions {
                limit: Some((32 << 20, "the trace's cgroup limit".into())),
                ..Default::default()
            },
        );
        assert_eq!(r.oom_kill_count, Some(1));
        assert_eq!(r.oom_kills_s, vec![3.95]);
        assert_eq!(r.ended_in_oom_kill, Some(true));
        // SIGKILL from someone else long after the last kill is not an OOM ending.
        s.events = vec![
            event(0.5, "oom_kill", None, Some(2)),
            event(3.96, "target_exited", Some(9), None),
        ];
        let r = analyze(&s, &LeakOptions::default());
        assert_eq!(r.oom_kill_count, Some(2));
        assert_eq!(r.ended_in_oom_kill, Some(false));
        // A normal exit.
        s.events = vec![event(3.96, "target_exited", None, None)];
        let r = analyze(&s, &LeakOptions::default());
        assert_eq!(
            (r.oom_kill_count, r.ended_in_oom_kill),
            (Some(0), Some(false))
        );
    }
}
