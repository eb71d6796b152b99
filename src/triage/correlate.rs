//! After scanning: drop duplicates (syslog and journal forwarding the same line, one kill seen
//! by the kernel, kubelet's `SystemOOM` and node-problem-detector's `OOMKilling`, Docker's
//! double `oom` event, systemd's notices for every ancestor slice, kubelet's repeated
//! memory-pressure notices), never merging two kills that differ in time, seconds since boot
//! or cgroup, then link exits to the OOM record
//! that explains them. An exit is linked only when an OOM record matches it by pid, container or
//! pod and, where both have times, lies within [`LINK_WINDOW_US`]; otherwise its cause stays
//! `unknown`.

use super::event::{Cause, Event, Kind, Link};

/// How far apart an exit and an OOM record may be and still be linked: 2 minutes.
pub const LINK_WINDOW_US: i64 = 120_000_000;
/// Duplicates must be this close in time (when both have times): 5 seconds.
const DUP_WINDOW_US: i64 = 5_000_000;

fn close(a: Option<i64>, b: Option<i64>, window: i64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= window,
        _ => true,
    }
}

/// Two reports of one kill may be this far apart in seconds since boot (both from a kernel
/// log, printed to the microsecond): the same record read twice has the same time.
const DUP_MONOTONIC_S: f64 = 0.001;
/// Memory-pressure notices of one kind closer than this are one episode: 60 seconds (kubelet
/// repeats "attempting to reclaim memory" every 10 s while the pressure lasts).
const PRESSURE_WINDOW_US: i64 = 60_000_000;

/// A kill record: the kernel's (read from the kernel log, or quoted by node-problem-detector)
/// or kubelet's `SystemOOM` (cAdvisor's reading of the same kernel log).
fn is_kill(k: Kind) -> bool {
    k.is_kernel_victim() || k == Kind::K8sSystemOom
}

/// Neither side says otherwise: equal, or one of them unknown.
fn agree<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
    a.is_none() || b.is_none() || a == b
}

/// The same kill twice (the kernel log read from dmesg and from the journal; kubelet's
/// `SystemOOM` and the kernel's own line): same victim pid and comm, and nothing that differs
/// where both say it: time, seconds since boot, cgroups, sizes. A different time or cgroup is
/// a different kill.
fn same_kill(a: &Event, b: &Event) -> bool {
    let kinds = a.kind == b.kind
        || a.kind == Kind::K8sSystemOom
        || b.kind == Kind::K8sSystemOom
        || a.code.as_deref() == Some("OOMKilling")
        || b.code.as_deref() == Some("OOMKilling");
    let mono = match (a.monotonic_s, b.monotonic_s) {
        (Some(x), Some(y)) => (x - y).abs() <= DUP_MONOTONIC_S,
        _ => true,
    };
    kinds
        && a.pid.is_some()
        && a.pid == b.pid
        && a.process == b.process
        && mono
        && agree(&a.memcg, &b.memcg)
        && agree(&a.oom_memcg, &b.oom_memcg)
        && agree(&a.anon_rss_kb, &b.anon_rss_kb)
        && agree(&a.total_vm_kb, &b.total_vm_kb)
}

fn same_record(a: &Event, b: &Event) -> bool {
    if is_kill(a.kind) && is_kill(b.kind) && (a.pid.is_some() || b.pid.is_some()) {
        return close(a.time_us, b.time_us, DUP_WINDOW_US) && same_kill(a, b);
    }
    if a.kind != b.kind {
        return false;
    }
    if a.kind == Kind::K8sMemoryPressure {
        return a.code == b.code
            && a.pod == b.pod
            && a.source.file == b.source.file
            && close(a.time_us, b.time_us, PRESSURE_WINDOW_US);
    }
    if !close(a.time_us, b.time_us, DUP_WINDOW_US) {
        return false;
    }
    match a.kind {
        // Docker emits `oom` twice per kill (container and its task).
        Kind::DockerOom => a.container_id.is_some() && a.container_id == b.container_id,
        Kind::SystemdUnitOom => a.unit == b.unit,
        _ => {
            let same = a.pid == b.pid
                && a.process == b.process
                && a.anon_rss_kb == b.anon_rss_kb
                && a.message == b.message
                && a.exit_code == b.exit_code
                && agree(&a.memcg, &b.memcg)
                && match (a.monotonic_s, b.monotonic_s) {
                    (Some(x), Some(y)) => (x - y).abs() <= DUP_MONOTONIC_S,
                    _ => true,
                };
            // Without a pid or times, two identical lines in one file may be two real exits
            // (two CI jobs): only the same line in two inputs is a duplicate then.
            same && (a.pid.is_some()
                || (a.time_us.is_some() && b.time_us.is_some())
                || a.source.file != b.source.file)
        }
    }
}

/// Which of two reports of one kill to keep: the kernel's own (its sizes, cgroups, report)
/// over kubelet's `SystemOOM` and over node-problem-detector's quote of it.
fn rank(e: &Event) -> u8 {
    match (e.kind, e.code.as_deref()) {
        (Kind::K8sSystemOom, _) => 0,
        (_, Some("OOMKilling")) => 1,
        _ => 2,
    }
}

/// Sort by time (events without a time keep input order after the timed ones of their input),
/// drop duplicates, collapse systemd ancestor-slice notices, and link exits to OOMs.
pub fn correlate(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by(|a, b| {
        (
            a.time_us.is_none(),
            a.time_us,
            &a.source.file,
            a.source.line,
        )
            .cmp(&(
                b.time_us.is_none(),
                b.time_us,
                &b.source.file,
                b.source.line,
            ))
    });
    // Grown as needed: most inputs repeat (a report printed twice, a log and its rotation), and
    // a buffer the size of the input would double the peak of a log of 100k kills.
    let mut kept: Vec<Event> = Vec::new();
    for e in events {
        if let Some(prev) = kept.iter_mut().rev().take(64).find(|k| same_record(k, &e)) {
            let mut dup = e;
            if rank(&dup) > rank(prev) {
                std::mem::swap(prev, &mut dup);
                prev.evidence.append(&mut dup.evidence);
                prev.time_us = prev.time_us.or(dup.time_us);
                prev.timestamp = prev.timestamp.take().or(dup.timestamp);
            }
            if prev.evidence.len() < 400 {
                prev.evidence.push(format!("{} (duplicate)", dup.source));
            }
            continue;
        }
        kept.push(e);
    }
    // systemd prints the OOM notice for the unit and for each ancestor slice: keep the most
    // specific unit (a .slice is dropped when a non-slice unit has a notice at about that time).
    let units: Vec<(Option<i64>, String)> = kept
        .iter()
        .filter(|e| e.kind == Kind::SystemdUnitOom)
        .filter_map(|e| Some((e.time_us, e.unit.clone()?)))
        .filter(|(_, u)| !u.ends_with(".slice"))
        .collect();
    kept.retain(|e| {
        !(e.kind == Kind::SystemdUnitOom
            && e.unit.as_deref().is_some_and(|u| u.ends_with(".slice"))
            && units
                .iter()
                .any(|(t, _)| close(*t, e.time_us, DUP_WINDOW_US)))
    });
    link_exits(&mut kept);
    kept
}

fn link_exits(events: &mut [Event]) {
    let ooms: Vec<(usize, Kind)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind.is_oom())
        .map(|(i, e)| (i, e.kind))
        .collect();
    for i in 0..events.len() {
        if !events[i].kind.is_exit() && events[i].kind != Kind::Segfault {
            continue;
        }
        if events[i].kind != Kind::SigkillExit {
            // Only SIGKILL can be an OOM kill; the others are what they say.
            continue;
        }
        let e = &events[i];
        let found = ooms.iter().find_map(|&(j, kind)| {
            let o = &events[j];
            if !close(o.time_us, e.time_us, LINK_WINDOW_US) {
                return None;
            }
            let by = if e.pid.is_some() && e.pid == o.pid && kind.is_kernel_victim() {
                "pid"
            } else if e.container_id.is_some() && prefix_eq(&e.container_id, &o.container_id) {
                "container"
            } else if (e.pod.is_some()
                && e.pod == o.pod
                && (e.container.is_none() || o.container.is_none() || e.container == o.container))
                || (e.pod_uid.is_some() && e.pod_uid == o.pod_uid)
            {
                "pod"
            } else if (e.unit.is_some() && e.unit == o.unit)
                || e.unit.as_ref().is_some_and(|u| {
                    o.memcg
                        .as_ref()
                        .is_some_and(|m| m.ends_with(&format!("/{u}")))
                })
            {
                // systemd-oomd or the kernel killed inside the unit's cgroup.
                "unit"
            } else {
                return None;
            };
            Some(Link {
                kind,
                source: o.source.clone(),
                by,
            })
        });
        let e = &mut events[i];
        e.cause = Some(if found.is_some() {
            Cause::Oom
        } else {
            Cause::Unknown
        });
        e.linked_to = found;
    }
}

/// Container ids match when one is a prefix of the other (short and long forms).
fn prefix_eq(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if a.len() >= 12 && b.len() >= 12 => {
            a.starts_with(b.as_str()) || b.starts_with(a.as_str())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::event::SourceRef;

    fn ev(kind: Kind, line: u64) -> Event {
        Event::new(kind, "m", SourceRef::line("f", line))
    }

    #[test]
    fn sigkill_is_linked_only_with_evidence() {
        let mut oom = ev(Kind::CgroupOomKill, 1);
        oom.pid = Some(42);
        let mut exit = ev(Kind::SigkillExit, 2);
        exit.pid = Some(42);
        let mut other = ev(Kind::SigkillExit, 3);
        other.pid = Some(43);
        let out = correlate(vec![oom, exit, other]);
        assert_eq!(out[1].cause, Some(Cause::Oom));
        assert_eq!(out[1].linked_to.as_ref().unwrap().by, "pid");
        assert_eq!(out[2].cause, Some(Cause::Unknown));
    }

    #[test]
    fn docker_double_oom_and_systemd_slices_collapse() {
        let mut a = ev(Kind::DockerOom, 1);
        a.container_id = Some("7f3c2a1b9d8e".into());
        let mut b = a.clone();
        b.source.line = 2;
        let mut unit = ev(Kind::SystemdUnitOom, 3);
        unit.unit = Some("app.service".into());
        let mut slice = ev(Kind::SystemdUnitOom, 4);
        slice.unit = Some("system.slice".into());
        let out = correlate(vec![a, b, unit, slice]);
        assert_eq!(out.len(), 2);
    }
}
