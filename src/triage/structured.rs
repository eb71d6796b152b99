//! Structured inputs: `kubectl get pods -o json`, `kubectl get events -o json` (core/v1 and
//! events.k8s.io/v1 events, a list, one object, or a watch's `{"type", "object"}` wrapper),
//! `docker inspect` (whole JSON documents), and journald's `journalctl -o json` (one object
//! per line).

use serde_json::Value;

use super::event::{Event, Kind, SourceRef};
use crate::base::time::format_rfc3339;

/// The 1-based line of the `n`-th occurrence (from byte `from`) of `needle` in `text`, and the
/// byte offset after it, so successive objects map to successive lines.
fn line_of(text: &str, needle: &str, from: usize) -> (u64, usize) {
    match text.get(from..).and_then(|t| t.find(needle)) {
        Some(i) => {
            let at = from + i;
            (
                text[..at].bytes().filter(|&b| b == b'\n').count() as u64 + 1,
                at + needle.len(),
            )
        }
        None => (1, from),
    }
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
        .map(str::to_string)
        .or_else(|| cur.as_i64().map(|n| n.to_string()))
}

/// Parse an RFC 3339 time as Kubernetes and Docker print it.
fn time_us(t: Option<String>) -> Option<i64> {
    let t = t?;
    let line = format!("{t} x");
    let l = super::normalize::normalize(&line, super::normalize::TimeContext::now());
    l.time_us.filter(|&us| us > 0)
}

/// Events from a whole JSON document, or from a stream of them one after another (`kubectl
/// get events -w -o json` prints one pretty-printed object per event). Unknown shapes yield no
/// events; so does text that is not JSON from its start (what parsed before an error is kept).
pub fn document(text: &str, file: &str) -> Vec<Event> {
    let docs: Vec<Value> = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .collect();
    let mut out = Vec::new();
    let mut cursor = 0usize;
    let items: Vec<&Value> = docs
        .iter()
        .flat_map(|v| match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) if o.contains_key("items") => o["items"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            other => vec![other],
        })
        .collect();
    for item in items {
        // A watch stream's or an event exporter's wrapper: `{"type": "ADDED", "object": {…}}`,
        // `{"verb": "ADDED", "event": {…}}`.
        let item = ["object", "event"]
            .iter()
            .find_map(|k| item.get(k).filter(|v| v.is_object()))
            .unwrap_or(item);
        if item.get("State").is_some() && item.get("Id").is_some() {
            docker_inspect(item, text, file, &mut cursor, &mut out);
        } else if s(item, &["kind"]).as_deref() == Some("Event")
            || item.get("involvedObject").is_some()
        {
            k8s_event(item, text, file, &mut cursor, &mut out);
        } else if item.get("status").is_some() && item.get("metadata").is_some() {
            k8s_pod(item, text, file, &mut cursor, &mut out);
        }
    }
    out
}

fn docker_inspect(item: &Value, text: &str, file: &str, cursor: &mut usize, out: &mut Vec<Event>) {
    let st = &item["State"];
    let oom = st
        .get("OOMKilled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let code = st.get("ExitCode").and_then(Value::as_i64);
    let kind = if oom {
        Kind::DockerOom
    } else if code == Some(137) {
        Kind::SigkillExit
    } else {
        return;
    };
    let needle = if oom {
        "\"OOMKilled\": true"
    } else {
        "\"ExitCode\": 137"
    };
    let (line, next) = line_of(text, needle, *cursor);
    *cursor = next;
    let name = s(item, &["Name"]).map(|n| n.trim_start_matches('/').to_string());
    let mut e = Event::new(
        kind,
        &format!(
            "docker inspect: {} State.OOMKilled={oom} ExitCode={}",
            name.as_deref().unwrap_or("?"),
            code.map_or("?".into(), |c| c.to_string())
        ),
        SourceRef::line(file, line),
    );
    e.container_id = s(item, &["Id"]);
    e.container = name;
    e.exit_code = code;
    e.pid = None;
    e.time_us = time_us(s(st, &["FinishedAt"]));
    if kind == Kind::SigkillExit {
        e.signal = Some(9);
    }
    e.evidence.push(format!("{}: {}", e.source, e.message));
    out.push(e);
}

fn k8s_pod(item: &Value, text: &str, file: &str, cursor: &mut usize, out: &mut Vec<Event>) {
    let pod = s(item, &["metadata", "name"]);
    let ns = s(item, &["metadata", "namespace"]);
    let uid = s(item, &["metadata", "uid"]);
    if s(item, &["status", "reason"]).as_deref() == Some("Evicted") {
        let (line, next) = line_of(text, "\"Evicted\"", *cursor);
        *cursor = next;
        let msg = s(item, &["status", "message"]).unwrap_or_default();
        let mut e = Event::new(
            Kind::K8sEvicted,
            &format!("pod {} evicted: {msg}", pod.as_deref().unwrap_or("?")),
            SourceRef::line(file, line),
        );
        e.pod = pod.clone();
        e.namespace = ns.clone();
        e.pod_uid = uid.clone();
        e.evidence.push(format!("{}: {}", e.source, e.message));
        out.push(e);
    }
    for key in ["initContainerStatuses", "containerStatuses"] {
        let Some(statuses) = item["status"].get(key).and_then(Value::as_array) else {
            continue;
        };
        for cs in statuses {
            for state in ["lastState", "state"] {
                // `termination` and "OOM Killed": the 2014 API (kubernetes/kubernetes#3044).
                let Some(t) = cs
                    .get(state)
                    .and_then(|s| s.get("terminated").or_else(|| s.get("termination")))
                else {
                    continue;
                };
                let reason = s(t, &["reason"]).unwrap_or_default();
                let code = t.get("exitCode").and_then(Value::as_i64);
                let kind = match (reason.as_str(), code) {
                    ("OOMKilled" | "OOM Killed", _) => Kind::K8sOomkilled,
                    (_, Some(137)) => Kind::SigkillExit,
                    (_, Some(134)) => Kind::AbortExit,
                    (_, Some(139)) => Kind::SegvExit,
                    (_, Some(143)) => Kind::TermExit,
                    _ => continue,
                };
                let needle = format!("\"{reason}\"");
                let (line, next) = line_of(text, &needle, *cursor);
                *cursor = next;
                let cname = s(cs, &["name"]);
                let mut e = Event::new(
                    kind,
                    &format!(
                        "pod {}/{} container {} {state}: terminated, reason {reason}, exit code {}",
                        ns.as_deref().unwrap_or("?"),
                        pod.as_deref().unwrap_or("?"),
                        cname.as_deref().unwrap_or("?"),
                        code.map_or("?".into(), |c| c.to_string())
                    ),
                    SourceRef::line(file, line),
                );
                e.pod = pod.clone();
                e.namespace = ns.clone();
                e.pod_uid = uid.clone();
                e.container = cname;
                e.container_id = s(cs, &["containerID"])
                    .map(|c| c.rsplit("://").next().unwrap_or(&c).to_string());
                e.exit_code = code;
                e.code = Some(reason);
                e.time_us = time_us(s(t, &["finishedAt"]));
                e.signal = match kind {
                    Kind::SigkillExit => Some(9),
                    Kind::AbortExit => Some(6),
                    Kind::SegvExit => Some(11),
                    Kind::TermExit => Some(15),
                    _ => None,
                };
                e.evidence.push(format!("{}: {}", e.source, e.message));
                out.push(e);
            }
        }
    }
}

/// A core/v1 Event (`message`, `involvedObject`, `lastTimestamp`) or an events.k8s.io/v1 one
/// (`note`, `regarding`, `deprecatedLastTimestamp`, `eventTime`): kubelet's `SystemOOM`,
/// node-problem-detector's `OOMKilling` (the quoted kernel kill, [`crate::triage::rules`]),
/// a memory `Evicted`, `EvictionThresholdMet` "Attempting to reclaim memory" and
/// `NodeHasInsufficientMemory`. Other reasons, and evictions for other resources, make none.
fn k8s_event(item: &Value, text: &str, file: &str, cursor: &mut usize, out: &mut Vec<Event>) {
    let reason = s(item, &["reason"]).unwrap_or_default();
    let msg = s(item, &["message"])
        .or_else(|| s(item, &["note"]))
        .unwrap_or_default();
    // Every event moves the cursor, so the next one is found on its own line.
    let (line, next) = line_of(text, &format!("\"{reason}\""), *cursor);
    *cursor = next;
    let kind = match reason.as_str() {
        _ if msg.contains("System OOM encountered") => Kind::K8sSystemOom,
        "OOMKilling" | "PodOOMKilling" => Kind::KernelOomKill,
        "Evicted" if super::rules::memory_eviction(&msg) => Kind::K8sEvicted,
        "EvictionThresholdMet" if msg.contains("reclaim memory") => Kind::K8sMemoryPressure,
        "NodeHasInsufficientMemory" => Kind::K8sMemoryPressure,
        _ => return,
    };
    let src = SourceRef::line(file, line);
    let mut e = if kind == Kind::KernelOomKill {
        super::rules::npd_oom(&msg, &src)
    } else {
        Event::new(kind, &msg, src)
    };
    if kind == Kind::K8sSystemOom {
        if let Some(rest) = msg.split("victim process: ").nth(1) {
            let mut parts = rest.split(", pid: ");
            e.process = parts.next().map(str::to_string);
            e.pid = parts
                .next()
                .and_then(|p| p.trim().trim_end_matches('.').parse().ok());
        }
    }
    if kind == Kind::K8sEvicted {
        super::rules::eviction_container(&msg, &mut e);
    }
    e.code.get_or_insert(reason);
    let obj = item.get("involvedObject").or_else(|| item.get("regarding"));
    let obj = obj.unwrap_or(&Value::Null);
    if s(obj, &["kind"]).as_deref() == Some("Pod") {
        e.pod = s(obj, &["name"]);
        e.namespace = s(obj, &["namespace"]);
        e.pod_uid = s(obj, &["uid"]);
    }
    e.time_us = time_us(
        s(item, &["lastTimestamp"])
            .or_else(|| s(item, &["deprecatedLastTimestamp"]))
            .or_else(|| s(item, &["eventTime"]))
            .or_else(|| s(item, &["firstTimestamp"])),
    );
    e.evidence.clear();
    e.evidence.push(format!("{}: {}", e.source, e.message));
    out.push(e);
}

/// One journald JSON entry, as the fields the line processor needs.
pub struct JournalEntry {
    /// `MESSAGE`: the log text (a byte array in the journal's JSON is decoded, invalid UTF-8
    /// replaced).
    pub message: String,
    /// `__REALTIME_TIMESTAMP`: wall-clock time, µs since the epoch; `None` when absent.
    pub time_us: Option<i64>,
    /// `SYSLOG_IDENTIFIER` (e.g. `kernel`, `kubelet`, `systemd`); `None` when absent.
    pub ident: Option<String>,
    /// `_PID`: the pid of the logging process; `None` when absent.
    pub pid: Option<i64>,
    /// `_SYSTEMD_UNIT`: the unit the logging process belongs to; `None` when absent.
    pub unit: Option<String>,
    /// `_TRANSPORT` is `kernel`: the entry is a kernel ring-buffer message.
    pub kernel: bool,
}

/// Parse one line of `journalctl -o json`. `MESSAGE` may be a string or an array of bytes.
pub fn journal_entry(line: &str) -> Option<JournalEntry> {
    let v: Value = serde_json::from_str(line).ok()?;
    let message = match v.get("MESSAGE")? {
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|b| b.as_u64().map(|b| b as u8))
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => return None,
    };
    let num = |k: &str| {
        v.get(k).and_then(|x| {
            x.as_str()
                .and_then(|s| s.parse::<i64>().ok())
                .or(x.as_i64())
        })
    };
    Some(JournalEntry {
        message,
        time_us: num("__REALTIME_TIMESTAMP"),
        ident: v
            .get("SYSLOG_IDENTIFIER")
            .and_then(Value::as_str)
            .map(str::to_string),
        pid: num("_PID"),
        unit: v
            .get("_SYSTEMD_UNIT")
            .and_then(Value::as_str)
            .map(str::to_string),
        kernel: v.get("_TRANSPORT").and_then(Value::as_str) == Some("kernel"),
    })
}

/// RFC 3339 of an event time, for events built here.
pub fn stamp(e: &mut Event) {
    e.timestamp = e.time_us.map(format_rfc3339);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event of tests/fixtures/triage-kubelet/npd-766-…, whose stored copy ends after
    /// `lastTimestamp`: here closed, as a watch prints it, and followed by kubelet's `SystemOOM`
    /// as an events.k8s.io/v1 object (`note`, `regarding`) and a disk eviction.
    #[test]
    fn watch_stream_of_core_and_events_k8s_io_events() {
        let text = r#"{"verb": "ADDED", "event": {"involvedObject": {"kind": "Node", "name": "n"},
  "reason": "OOMKilling",
  "message": "Memory cgroup out of memory: Killed process 3504804 (kubectl) total-vm:753508kB, anon-rss:58776kB, file-rss:29400kB, shmem-rss:0kB, UID:0 pgtables:288kB oom_score_adj:999",
  "lastTimestamp": "2023-06-13T14:35:38Z"}}
{"kind": "Event", "apiVersion": "events.k8s.io/v1", "reason": "SystemOOM",
 "note": "System OOM encountered, victim process: stress, pid: 4873",
 "regarding": {"kind": "Node", "name": "kube-node2"}, "deprecatedLastTimestamp": "2023-06-13T14:36:00Z"}
{"kind": "Event", "reason": "Evicted", "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
 "message": "The node was low on resource: ephemeral-storage. "}
{"kind": "Event", "reason": "Evicted", "involvedObject": {"kind": "Pod", "name": "web", "namespace": "prod"},
 "message": "The node was low on resource: memory. Container app was using 166088Ki, request is 10Mi, has larger consumption of memory. "}
"#;
        let ev = document(text, "f");
        let got: Vec<(Kind, Option<i64>, Option<&str>, u64)> = ev
            .iter()
            .map(|e| (e.kind, e.pid, e.process.as_deref(), e.source.line))
            .collect();
        assert_eq!(
            got,
            vec![
                (Kind::CgroupOomKill, Some(3504804), Some("kubectl"), 2),
                (Kind::K8sSystemOom, Some(4873), Some("stress"), 5),
                (Kind::K8sEvicted, None, None, 10),
            ]
        );
        assert_eq!(ev[0].anon_rss_kb, Some(58776));
        assert_eq!(ev[0].code.as_deref(), Some("OOMKilling"));
        assert!(ev[1].time_us.is_some());
        assert_eq!(
            (
                ev[2].pod.as_deref(),
                ev[2].namespace.as_deref(),
                ev[2].container.as_deref()
            ),
            (Some("web"), Some("prod"), Some("app"))
        );
    }
}
