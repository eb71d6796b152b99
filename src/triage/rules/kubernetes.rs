//! Kubernetes as people paste it: `kubectl describe pod` text (a block: `Name:`, `Namespace:`,
//! the container, its `Container ID:`, a `Reason:` and the `Exit Code:` that follows it, an
//! eviction's `Message:`), node-problem-detector's `OOMKilling` events, `-o go-template` output
//! (`reason:OOMKilled`) and JSON fragments. kubelet's own wordings are `super::kubelet`'s;
//! whole `kubectl get … -o json` documents are read by [`crate::triage::structured`].

use std::sync::OnceLock;

use regex::Regex;

use super::{event, exit_kind, re};
use crate::triage::event::{Event, Kind, SourceRef};
use crate::triage::normalize::Line;

/// Lines a describe block stays open after its last field (container names carry no keyword).
const DESCRIBE_SPAN: usize = 300;
/// Lines a `Reason:` waits for its `Exit Code:`.
const EXIT_CODE_WAIT: usize = 8;

/// Context of a `kubectl describe pod` block being read.
#[derive(Debug, Default)]
pub(super) struct Describe {
    pod: Option<String>,
    namespace: Option<String>,
    container: Option<String>,
    container_id: Option<String>,
    /// An event waiting for its "Exit Code:" line.
    pending: Option<Event>,
    pending_lines: usize,
    /// Lines left during which every line is read.
    lines_left: usize,
}

impl Describe {
    /// True while a block needs every line.
    pub(super) fn active(&self) -> bool {
        self.pending.is_some() || self.lines_left > 0
    }

    /// Read one line; true when it was a field of the block (no other rule may have it).
    pub(super) fn line(&mut self, l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
        static FIELD: OnceLock<Regex> = OnceLock::new();
        static CONTAINER: OnceLock<Regex> = OnceLock::new();
        let msg = l.msg;
        self.lines_left = self.lines_left.saturating_sub(1);
        let colon = msg.contains(": ") || msg.ends_with(':');
        if colon
            && (msg.contains("Name")
                || msg.contains("Container ID")
                || msg.contains("Reason")
                || msg.contains("Exit Code")
                || msg.contains("Message"))
        {
            if let Some(c) = re(
                &FIELD,
                r"^(\s*)(Name|Namespace|Container ID|Reason|Exit Code|Message):\s+(\S.*?)\s*$",
            )
            .captures(msg)
            {
                return self.field(c[1].len(), &c[2], c[3].to_string(), msg, src, out);
            }
        }
        if self.lines_left > 0 && msg.starts_with("  ") {
            if let Some(c) = re(&CONTAINER, r"^  ([a-z0-9][a-z0-9.-]*):\s*$").captures(msg) {
                self.container = Some(c[1].to_string());
                self.container_id = None;
            }
        }
        if self.pending.is_some() {
            self.pending_lines += 1;
            if self.pending_lines > EXIT_CODE_WAIT {
                if let Some(p) = self.pending.take() {
                    flush(p, out);
                }
            }
        }
        false
    }

    /// One `Field: value` line, indented by `indent` spaces; false for a `Message:` that is
    /// not an eviction's (other rules may read it).
    fn field(
        &mut self,
        indent: usize,
        name: &str,
        val: String,
        msg: &str,
        src: &SourceRef,
        out: &mut Vec<Event>,
    ) -> bool {
        if name == "Message" {
            return self.eviction_message(&val, msg, src, out);
        }
        self.lines_left = DESCRIBE_SPAN;
        match name {
            "Name" if indent == 0 => {
                *self = Describe {
                    pod: Some(val),
                    lines_left: DESCRIBE_SPAN,
                    ..Describe::default()
                }
            }
            "Namespace" if indent == 0 => self.namespace = Some(val),
            "Container ID" => {
                self.container_id = Some(val.rsplit("://").next().unwrap_or(&val).to_string())
            }
            "Reason" => self.reason(val, msg, src, out),
            "Exit Code" => {
                if let Some(mut e) = self.pending.take() {
                    e.exit_code = val.parse().ok();
                    e.evidence.push(format!("{src}: {}", msg.trim()));
                    flush(e, out);
                }
            }
            _ => {}
        }
        true
    }

    /// The pod's `Message:` after `Reason: Evicted`: the eviction is for memory (kept, with the
    /// container the message names) or for another resource (dropped).
    fn eviction_message(
        &mut self,
        val: &str,
        msg: &str,
        src: &SourceRef,
        out: &mut Vec<Event>,
    ) -> bool {
        let Some(mut e) = self.pending.take_if(|p| p.kind == Kind::K8sEvicted) else {
            return false;
        };
        e.evidence.push(format!("{src}: {}", msg.trim()));
        let other_resource = val.contains("low on resource:") || val.contains("had condition:");
        if super::kubelet::memory_eviction(val) || !other_resource {
            super::kubelet::eviction_container(val, &mut e);
            e.message = format!("{}: {val}", e.message);
            out.push(e);
        }
        true
    }

    /// `Reason: OOMKilled | Error | ContainerCannotRun | Evicted`: each waits for its exit code
    /// (an eviction for its `Message:`).
    fn reason(&mut self, val: String, msg: &str, src: &SourceRef, out: &mut Vec<Event>) {
        let kind = match val.as_str() {
            "OOMKilled" => Kind::K8sOomkilled,
            "Error" | "ContainerCannotRun" => Kind::SigkillExit,
            "Evicted" => Kind::K8sEvicted,
            _ => return,
        };
        let mut e = event(kind, msg, src);
        e.pod = self.pod.clone();
        e.namespace = self.namespace.clone();
        e.container = self.container.clone();
        e.container_id = self.container_id.clone();
        e.code = Some(val);
        if kind == Kind::K8sEvicted {
            // The pod's own status: no container.
            e.container = None;
            e.container_id = None;
        }
        if let Some(p) = self.pending.take() {
            flush(p, out);
        }
        self.pending = Some(e);
        self.pending_lines = 0;
    }

    /// End of input: a reason still waiting for its exit code is complete as it is.
    pub(super) fn finish(&mut self, out: &mut Vec<Event>) {
        if let Some(p) = self.pending.take() {
            flush(p, out);
        }
    }
}

/// A describe-block event is complete: an `Error` reason becomes an exit event only with an
/// exit code that means a signal.
fn flush(mut e: Event, out: &mut Vec<Event>) {
    if matches!(e.kind, Kind::K8sOomkilled | Kind::K8sEvicted) {
        out.push(e);
        return;
    }
    if let Some((kind, sig)) = e.exit_code.and_then(exit_kind) {
        e.kind = kind;
        e.signal = Some(sig);
        out.push(e);
    }
}

/// node-problem-detector's `OOMKilling` (and `PodOOMKilling` of forks), whose message quotes
/// the kernel's victim line or its pre-4.19 "Kill process N (x) score S or sacrifice child":
/// the event is that kernel kill, of the kind the quoted prefix says.
/// Also the event's `message` field alone, as a fragment of `kubectl get events -o json|yaml`
/// shows it (`"message": "Memory cgroup out of memory: Killed process …"`, `message: 'Out of
/// memory: Kill process …'`): a pasted kernel line never starts with `message`.
pub(super) fn node_oom(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    let msg = l.msg;
    let t = msg.trim_start();
    let quoted = (t.starts_with("\"message\": \"") || t.starts_with("message: "))
        && (t.contains("illed process") || t.contains("ill process"));
    // A JSON or YAML fragment's `reason` field alone names no victim: its `message` line does.
    let reason_field = t.starts_with("\"reason\"") || t.starts_with("reason:");
    // kubelet's own wording is `super::kubelet::system_oom`'s.
    if reason_field
        || msg.contains("System OOM encountered")
        || (!quoted && !msg.contains("OOMKilling"))
    {
        return false;
    }
    out.push(npd_oom(msg, src));
    true
}

/// The event of a node-problem-detector `OOMKilling` message `msg` (a table row or the
/// message alone): a kernel kill, `cgroup_oom_kill` when the quoted line says "Memory cgroup
/// out of memory", `kernel_oom_kill` when it says "Out of memory", and without either prefix
/// `kernel_oom_kill` with a note that the scope is unknown; the victim, its sizes and score as
/// quoted; `code` `OOMKilling`.
pub(crate) fn npd_oom(msg: &str, src: &SourceRef) -> Event {
    static SCORE: OnceLock<Regex> = OnceLock::new();
    let mut e = crate::triage::kernel::victim_in(msg, Kind::KernelOomKill, src)
        .unwrap_or_else(|| event(Kind::KernelOomKill, msg, src));
    if let Some(c) = re(&SCORE, r"[Kk]ill process (\d+) \((.*?)\) score (-?\d+)").captures(msg) {
        if e.pid.is_none() {
            e.pid = c[1].parse().ok();
            e.process = Some(c[2].to_string());
        }
        if e.pid == c[1].parse().ok() {
            e.badness_score = c[3].parse().ok();
        }
    }
    if msg.contains("Memory cgroup out of memory") {
        e.kind = Kind::CgroupOomKill;
    } else if !msg.contains("Out of memory") {
        e.notes.push(
            "global or memory-cgroup OOM unknown: the quoted kernel line has no prefix that says"
                .into(),
        );
    }
    e.code = Some("OOMKilling".into());
    super::kubelet::repeat_note(msg, &mut e);
    e.notes
        .push("reported by node-problem-detector (OOMKilling), quoting the kernel".into());
    if e.evidence.is_empty() {
        e.evidence.push(format!("{src}: {}", msg.trim()));
    }
    e
}

/// `kubectl -o go-template` / jsonpath output: `map[… exitCode:137 … reason:OOMKilled …]`.
pub(super) fn go_template(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    let msg = l.msg;
    if !msg.contains("reason:OOMKilled") {
        return false;
    }
    let mut e = event(Kind::K8sOomkilled, msg, src);
    e.exit_code = msg
        .split("exitCode:")
        .nth(1)
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
    out.push(e);
    true
}

/// `"reason": "OOMKilled"` from a fragment of `kubectl get pod -o json` pasted as text.
/// Also the 2014 kubelet's `"reason": "OOM Killed"` (kubernetes/kubernetes#3044, before the
/// v1 API named it `OOMKilled`).
pub(super) fn json_fragment(l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) -> bool {
    let m = l.msg;
    if !(m.contains("\"reason\": \"OOMKilled\"") || m.contains("\"reason\": \"OOM Killed\"")) {
        return false;
    }
    out.push(event(Kind::K8sOomkilled, l.msg, src));
    true
}

#[cfg(test)]
mod tests {
    use super::super::tests::{kinds, run};
    use super::*;

    #[test]
    fn describe_block() {
        let ev = run("Name:         web-7d4\nNamespace:    prod\nContainers:\n  app:\n    Container ID:   containerd://abc123def456\n    State:          Running\n    Last State:     Terminated\n      Reason:       OOMKilled\n      Exit Code:    137\n");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, Kind::K8sOomkilled);
        assert_eq!(ev[0].pod.as_deref(), Some("web-7d4"));
        assert_eq!(ev[0].namespace.as_deref(), Some("prod"));
        assert_eq!(ev[0].container.as_deref(), Some("app"));
        assert_eq!(ev[0].container_id.as_deref(), Some("abc123def456"));
        assert_eq!(ev[0].exit_code, Some(137));
    }

    #[test]
    fn describe_error_reason_is_an_exit_only_with_a_signal_code() {
        let ev = run("Name:  a\n  c:\n    Last State:  Terminated\n      Reason:  Error\n      Exit Code:  137\n\
                      Name:  b\n  c:\n    Last State:  Terminated\n      Reason:  Error\n      Exit Code:  1\n");
        assert_eq!(kinds(&ev), vec![Kind::SigkillExit]);
        assert_eq!((ev[0].pod.as_deref(), ev[0].signal), (Some("a"), Some(9)));
    }

    #[test]
    fn node_oom_events_quote_the_kernel() {
        // tests/fixtures/triage/aks-5434-kubectl-get-events-oomkilling-node.txt
        let ev = run("22m         Warning   OOMKilling           node/aks-flink-19626538-vmss0000q2          Memory cgroup out of memory: Killed process 19023 (bash) total-vm:15884kB, anon-rss:4480kB, file-rss:5632kB, shmem-rss:0kB, UID:9999 pgtables:72kB oom_score_adj:921");
        assert_eq!(kinds(&ev), vec![Kind::CgroupOomKill]);
        assert_eq!(
            (ev[0].pid, ev[0].process.as_deref()),
            (Some(19023), Some("bash"))
        );
        assert_eq!(ev[0].code.as_deref(), Some("OOMKilling"));
        assert_eq!(ev[0].anon_rss_kb, Some(4480));
        assert_eq!(ev[0].uid, Some(9999));
        // kubectl-describe-node-kubernikus-321-…: a pre-4.19 "Kill process" line.
        let ev = run("  Warning  PodOOMKilling  2m    kernel-monitor, <node>  Memory cgroup out of memory: Kill process 25169 (hyperkube) score 2109 or sacrifice child");
        assert_eq!(kinds(&ev), vec![Kind::CgroupOomKill]);
        assert_eq!(
            (ev[0].pid, ev[0].process.as_deref()),
            (Some(25169), Some("hyperkube"))
        );
        assert_eq!(ev[0].badness_score, Some(2109));
        // kubesphere/kubeeye README: a global OOM's two quoted lines in one message.
        let ev = run("default         Warning      node3.164b58660f8d4590                           2020-11-27T19:01:27+08:00   OOMKilling            Out of memory: Kill process 16711 (stress) score 205 or sacrifice child Killed process 16711 (stress), UID 0, total-vm:826516kB, anon-rss:819296kB, file-rss:0kB, shmem-rss:0kB");
        assert_eq!(kinds(&ev), vec![Kind::KernelOomKill]);
        assert_eq!(
            (ev[0].pid, ev[0].uid, ev[0].anon_rss_kb, ev[0].badness_score),
            (Some(16711), Some(0), Some(819296), Some(205))
        );
    }

    #[test]
    fn message_fields_of_event_fragments_quote_the_kernel() {
        // The message of node-problem-detector#766 as `-o yaml` and `-o json` print it; the
        // `reason` lines beside them name no victim.
        let ev = run("  message: 'Memory cgroup out of memory: Killed process 3504804 (kubectl) total-vm:753508kB, anon-rss:58776kB, file-rss:29400kB, shmem-rss:0kB, UID:0 pgtables:288kB oom_score_adj:999'\n\
                      \x20 reason: OOMKilling\n\
                      \x20   \"reason\": \"OOMKilling\",");
        assert_eq!(kinds(&ev), vec![Kind::CgroupOomKill]);
        assert_eq!((ev[0].pid, ev[0].anon_rss_kb), (Some(3504804), Some(58776)));
    }

    #[test]
    fn eviction_go_template_and_json_fragment() {
        // kubectl-get-events-kubefate-64-… and kubectl-go-template-rancher-26819-….
        let ev = run("4m11s       Warning   Evicted               pod/egg-<id here>    The node was low on resource: memory. Container egg was using 5053216Ki, which exceeds its request of 0.\n\
                      map[terminated:map[containerID:docker://8aa1658ad04797da09ac9ccf9fda3448a643c52c3cba3f398ec3139727e1380a exitCode:137 finishedAt:2020-04-27T01:58:36Z reason:OOMKilled startedAt:2020-04-27T01:57:48Z]\n\
                      \x20                       \"reason\": \"OOMKilled\",");
        assert_eq!(
            kinds(&ev),
            vec![Kind::K8sEvicted, Kind::K8sOomkilled, Kind::K8sOomkilled]
        );
        assert_eq!(ev[1].exit_code, Some(137));
    }
}
