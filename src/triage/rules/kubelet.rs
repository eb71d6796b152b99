//! kubelet's own words about memory, in every form people paste them: its klog lines (bare or
//! in the journal), the events it records as `kubectl describe node|pod` and `kubectl get
//! events` show them (either column order, `-o wide`, `-o yaml` message lines) and its
//! `Event(…)` log lines. What each wording means:
//!
//! - `SystemOOM` (pkg/kubelet/oom/oom_watcher_linux.go): "System OOM encountered" (before 1.16),
//!   "System OOM encountered, victim process: NAME, pid: N" (1.16+, kubernetes/kubernetes#78174);
//!   the log line "Got sys oom event: &{Pid:N ProcessName:NAME … ContainerName:/…}" (older
//!   "got sys oom event from cadvisor"). A global OOM kill: [`Kind::K8sSystemOom`].
//! - Evictions (pkg/kubelet/eviction/helpers.go): "The node was low on resource: memory. "
//!   (`nodeLowMessageFmt`) with "Threshold quantity: …, available: …. " and "Container X was
//!   using NKi, which exceeds its request of M. " (1.11–1.30) or "…, request is M, has larger
//!   consumption of memory. " (1.31+); before 1.9 "The node was low on resource:
//!   `[MemoryPressure]`."; admission "The node had condition: `[MemoryPressure]`. "
//!   (`nodeConditionMessageFmt`); 1.3 "The node was low on compute resources.":
//!   [`Kind::K8sEvicted`]. Evictions for disk, inodes or pids are not memory's and make none.
//! - Pressure (eviction_manager.go, nodestatus/setters.go): `EvictionThresholdMet` "Attempting
//!   to reclaim memory", the log's "eviction manager: attempting to reclaim memory" (structured:
//!   `"Eviction manager: attempting to reclaim" resourceName="memory"`), `NodeHasInsufficientMemory`,
//!   the condition's `KubeletHasInsufficientMemory` / "kubelet has insufficient memory
//!   available", and "Failed to admit pod P_NS(UID) - node has conditions: `[MemoryPressure]`":
//!   [`Kind::K8sMemoryPressure`], not a kill.

use std::sync::OnceLock;

use regex::Regex;

use super::{event, re};
use crate::triage::event::{Event, Kind, SourceRef};
use crate::triage::normalize::Line;

/// kubelet's `SystemOOM` event or its "Got sys oom event" log line.
pub(super) fn system_oom(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static VICTIM: OnceLock<Regex> = OnceLock::new();
    static INSTANCE: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    if msg.contains("System OOM encountered") {
        let mut e = event(Kind::K8sSystemOom, msg, src);
        if let Some(c) = re(&VICTIM, r"victim process: (.+?), pid: (\d+)").captures(msg) {
            e.process = Some(c[1].to_string());
            e.pid = c[2].parse().ok();
        }
        e.code = Some("SystemOOM".into());
        involved_pod(msg, &mut e);
        repeat_note(msg, &mut e);
        out.push(e);
        return true;
    }
    if !msg.contains("ot sys oom event") {
        return false;
    }
    // cAdvisor's OomInstance printed with %v: `&{Pid:N ProcessName:NAME TimeOfDeath:… +0000
    // UTC ContainerName:/x VictimContainerName:/y …}` (a comm may hold spaces).
    let Some(c) = re(
        &INSTANCE,
        r"Pid:(\d+) ProcessName:(.*?) TimeOfDeath:.*? ContainerName:(\S*) VictimContainerName:(\S*?)[\s}]",
    )
    .captures(msg) else {
        return false;
    };
    let mut e = event(Kind::K8sSystemOom, msg, src);
    e.pid = c[1].parse().ok();
    e.process = Some(c[2].to_string());
    if c[3].starts_with('/') {
        e.set_memcg(&c[3]);
    }
    e.code = Some("SystemOOM".into());
    out.push(e);
    true
}

/// True when an eviction message is about memory ("low on resource: memory",
/// `[MemoryPressure]`, 1.3's "low on compute resources").
pub(crate) fn memory_eviction(msg: &str) -> bool {
    msg.contains("low on resource: memory")
        || msg.contains("low on resource: [MemoryPressure]")
        || msg.contains("had condition: [MemoryPressure]")
        || msg.contains("low on compute resources")
}

/// kubelet's eviction of a pod for memory.
pub(super) fn eviction(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    let msg = l.msg;
    if !memory_eviction(msg) {
        return false;
    }
    let mut e = event(Kind::K8sEvicted, msg, src);
    e.code = Some("Evicted".into());
    eviction_container(msg, &mut e);
    involved_pod(msg, &mut e);
    repeat_note(msg, &mut e);
    out.push(e);
    true
}

/// The first container an eviction message names ("Container X was using NKi, …").
pub(crate) fn eviction_container(msg: &str, e: &mut Event) {
    static CONTAINER: OnceLock<Regex> = OnceLock::new();
    if let Some(c) = re(&CONTAINER, r"Container (\S+) was using \d").captures(msg) {
        e.container = Some(c[1].to_string());
    }
}

/// A node under memory pressure: `EvictionThresholdMet`, `NodeHasInsufficientMemory`, the
/// `MemoryPressure` condition true, an admission refused for it.
pub(super) fn memory_pressure(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    static ADMIT: OnceLock<Regex> = OnceLock::new();
    let msg = l.msg;
    let code = if let Some(i) = msg.find("ttempting to reclaim") {
        let rest = &msg[i + "ttempting to reclaim".len()..];
        if !(rest.starts_with(" memory") || rest.contains("resourceName=\"memory\"")) {
            return false;
        }
        "EvictionThresholdMet"
    } else if msg.contains("NodeHasInsufficientMemory") {
        "NodeHasInsufficientMemory"
    } else if msg.contains("KubeletHasInsufficientMemory")
        || msg.contains("kubelet has insufficient memory available")
    {
        "MemoryPressure"
    } else if msg.contains("node has conditions") && msg.contains("MemoryPressure]") {
        // 1.9: "node has conditions: [MemoryPressure]"; 1.3/1.4 printed it through a format
        // bug: "node has conditions: %v%!(EXTRA []api.NodeConditionType=[MemoryPressure])".
        "AdmissionRefused"
    } else {
        return false;
    };
    let mut e = event(Kind::K8sMemoryPressure, msg, src);
    e.code = Some(code.into());
    if let Some(c) = re(
        &ADMIT,
        r"admit pod ([a-z0-9][a-z0-9.-]*)_([a-z0-9][a-z0-9-]*)\(([0-9a-f-]{36})\)",
    )
    .captures(msg)
    {
        e.pod = Some(c[1].to_string());
        e.namespace = Some(c[2].to_string());
        e.pod_uid = Some(c[3].to_string());
    }
    involved_pod(msg, &mut e);
    repeat_note(msg, &mut e);
    out.push(e);
    true
}

/// `kubectl describe`'s "12m (x4 over 25m)": the row stands for several events of which
/// the table keeps one; said in a note (the count is not a number of separate records here).
pub(crate) fn repeat_note(msg: &str, e: &mut Event) {
    static REPEAT: OnceLock<Regex> = OnceLock::new();
    if !msg.contains(" over ") {
        return;
    }
    if let Some(c) = re(&REPEAT, r"\(x(\d+) over ([^)]+)\)").captures(msg) {
        e.notes.push(format!(
            "the row stands for {} events over {} (kubectl shows the last)",
            &c[1], &c[2]
        ));
    }
}

/// The pod an event line names, where the line says it: `kubectl get events`' `pod/NAME`
/// column (with `NAMESPACE` first when `-A`), klog's `Event(v1.ObjectReference{Kind:"Pod",
/// Namespace:"NS", Name:"NAME", …})`, structured klog's `object="NS/NAME" kind="Pod"` or
/// `pod="NS/NAME"`. Nothing for a node's events.
fn involved_pod(msg: &str, e: &mut Event) {
    static OBJREF: OnceLock<Regex> = OnceLock::new();
    static KV: OnceLock<Regex> = OnceLock::new();
    static TABLE: OnceLock<Regex> = OnceLock::new();
    if e.pod.is_some() {
        return;
    }
    if let Some(c) = re(
        &OBJREF,
        r#"ObjectReference\{Kind:"Pod", Namespace:"([^"]*)", Name:"([^"]+)""#,
    )
    .captures(msg)
    {
        e.namespace = Some(c[1].to_string()).filter(|s| !s.is_empty());
        e.pod = Some(c[2].to_string());
    } else if let Some(c) = re(&KV, r#"\b(?:object|pod)="([^"/]+)/([^"]+)""#).captures(msg) {
        if msg.contains("kind=\"Pod\"") || msg.contains(" pod=\"") {
            e.namespace = Some(c[1].to_string());
            e.pod = Some(c[2].to_string());
        }
    } else if let Some(c) = re(
        &TABLE,
        r"^(?:([a-z0-9][a-z0-9-]*)\s+)?\S+\s+(?:Warning|Normal)\s+\S+\s+pod/([a-z0-9][a-z0-9.-]*)\s",
    )
    .captures(msg)
    {
        e.namespace = c.get(1).map(|m| m.as_str().to_string());
        e.pod = Some(c[2].to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{kinds, run};
    use super::*;

    #[test]
    fn system_oom_with_and_without_victim() {
        // kubernetes/kubernetes#78174, before and after.
        let ev = run("  Warning  SystemOOM                17m                   kubelet, node1  System OOM encountered\n\
                      9s          Warning   SystemOOM           node/kube-node2             System OOM encountered, victim process: stress, pid: 4873");
        assert_eq!(kinds(&ev), vec![Kind::K8sSystemOom, Kind::K8sSystemOom]);
        assert_eq!((ev[0].pid, ev[0].process.as_deref()), (None, None));
        assert_eq!(
            (ev[1].pid, ev[1].process.as_deref()),
            (Some(4873), Some("stress"))
        );
    }

    #[test]
    fn sys_oom_log_line_names_the_cgroup() {
        let ev = run("I1010 17:41:57.858757    4991 oom_watcher_linux.go:80] \"Got sys oom event\" event=\"&{Pid:16713 ProcessName:stress TimeOfDeath:2020-11-27 19:01:09.1 +0800 CST ContainerName:/kubepods/besteffort/pod1 VictimContainerName:/ Constraint:CONSTRAINT_NONE}\"");
        assert_eq!(kinds(&ev), vec![Kind::K8sSystemOom]);
        assert_eq!(
            (ev[0].pid, ev[0].process.as_deref()),
            (Some(16713), Some("stress"))
        );
        assert_eq!(ev[0].memcg.as_deref(), Some("/kubepods/besteffort/pod1"));
    }

    #[test]
    fn evictions_for_memory_only() {
        let ev = run("4m11s       Warning   Evicted               pod/egg-1    The node was low on resource: memory. Container egg was using 5053216Ki, which exceeds its request of 0.\n\
                      Warning  Evicted  6m5s   kubelet  The node was low on resource: ephemeral-storage. Container c was using 76Ki, which exceeds its request of 0.\n\
                      status:\n  message: 'Pod The node was low on resource: [MemoryPressure].'");
        assert_eq!(kinds(&ev), vec![Kind::K8sEvicted, Kind::K8sEvicted]);
        assert_eq!(
            (ev[0].pod.as_deref(), ev[0].container.as_deref()),
            (Some("egg-1"), Some("egg"))
        );
    }

    #[test]
    fn pressure_is_not_a_kill() {
        let ev = run("Warning  EvictionThresholdMet       85s (x4 over 27m)  kubelet  Attempting to reclaim memory\n\
                      Warning  EvictionThresholdMet       85s  kubelet  Attempting to reclaim ephemeral-storage\n\
                      Normal   NodeHasSufficientMemory    10m (x5 over 46d)  kubelet  Node n status is now: NodeHasSufficientMemory\n\
                      W0120 00:20:07.544864   32406 eviction_manager.go:142] Failed to admit pod kube-proxy-bbrr6_kube-system(860629c4-fd5e-11e7-880c-6c626d3ed96f) - node has conditions: [MemoryPressure]");
        assert_eq!(
            kinds(&ev),
            vec![Kind::K8sMemoryPressure, Kind::K8sMemoryPressure]
        );
        assert!(!Kind::K8sMemoryPressure.is_oom());
        assert_eq!(ev[1].pod.as_deref(), Some("kube-proxy-bbrr6"));
        assert_eq!(ev[1].namespace.as_deref(), Some("kube-system"));
    }
}
