//! One-line (and small-block) rules for everything that is not the kernel's OOM report:
//! systemd and systemd-oomd, earlyoom, Kubernetes (`kubectl describe pod` text, event lines),
//! Docker events, language runtimes, exit codes and signals, and OpenClaw error codes.
//!
//! Exit 137 is SIGKILL, not proof of an OOM: exits are recorded as `*_exit` events with the
//! code and signal, and only [`super::correlate`] links them to an OOM record.

use std::sync::OnceLock;

use regex::Regex;

use super::event::{Event, Kind, SourceRef};
use super::normalize::Line;

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("static regex"))
}

/// Kind and signal of a signal name or number.
fn signal_kind(sig: &str) -> Option<(Kind, i64)> {
    Some(match sig {
        "KILL" | "SIGKILL" | "9" => (Kind::SigkillExit, 9),
        "ABRT" | "SIGABRT" | "6" => (Kind::AbortExit, 6),
        "SEGV" | "SIGSEGV" | "11" => (Kind::SegvExit, 11),
        "TERM" | "SIGTERM" | "15" => (Kind::TermExit, 15),
        _ => return None,
    })
}

/// Kind and signal of a shell-style exit code (128 + signal).
fn exit_kind(code: i64) -> Option<(Kind, i64)> {
    signal_kind(&(code - 128).to_string())
}

/// Context of a `kubectl describe pod` block being read.
#[derive(Debug, Default)]
struct Describe {
    pod: Option<String>,
    namespace: Option<String>,
    container: Option<String>,
    container_id: Option<String>,
    /// An event waiting for its "Exit Code:" line.
    pending: Option<Event>,
    pending_lines: usize,
    /// Lines left during which every line is read (container names carry no keyword).
    lines_left: usize,
}

/// Streaming parser for the non-kernel rules.
#[derive(Debug, Default)]
pub struct RuleParser {
    describe: Describe,
}

/// Error codes that look like OpenClaw codes but are names of this tool, its tests or core files.
const CLW_STOPLIST: [&str; 3] = ["clw-test-", "clw-fixture", "clw-diag"];

impl RuleParser {
    /// True while a block needs every line (a describe block waiting for its exit code).
    pub fn active(&self) -> bool {
        self.describe.pending.is_some() || self.describe.lines_left > 0
    }

    /// Feed one normalised line.
    pub fn line(&mut self, l: &Line<'_>, src: &SourceRef, out: &mut Vec<Event>) {
        static SYSTEMD_OOM: OnceLock<Regex> = OnceLock::new();
        static SYSTEMD_EXIT: OnceLock<Regex> = OnceLock::new();
        static OOMD: OnceLock<Regex> = OnceLock::new();
        static EARLYOOM: OnceLock<Regex> = OnceLock::new();
        static DOCKER: OnceLock<Regex> = OnceLock::new();
        static K8S_FIELD: OnceLock<Regex> = OnceLock::new();
        static K8S_EVENT: OnceLock<Regex> = OnceLock::new();
        static EXIT_CODE: OnceLock<Regex> = OnceLock::new();
        static SIGNAL: OnceLock<Regex> = OnceLock::new();
        static CLW: OnceLock<Regex> = OnceLock::new();
        let msg = l.msg;
        self.describe.lines_left = self.describe.lines_left.saturating_sub(1);
        let mk = |kind: Kind| {
            let mut e = Event::new(kind, msg.trim(), src.clone());
            e.evidence.push(format!("{src}: {}", msg.trim()));
            e
        };

        // kubectl describe pod: track Name/Namespace/container/Container ID, then a Reason and
        // the Exit Code that follows it.
        let colon = msg.contains(": ") || msg.ends_with(':');
        if !(colon
            && (msg.contains("Name")
                || msg.contains("Container ID")
                || msg.contains("Reason")
                || msg.contains("Exit Code")))
        {
        } else if let Some(c) = re(
            &K8S_FIELD,
            r"^(\s*)(Name|Namespace|Container ID|Reason|Exit Code):\s+(\S.*?)\s*$",
        )
        .captures(msg)
        {
            let indent = c[1].len();
            let val = c[3].to_string();
            let d = &mut self.describe;
            d.lines_left = 300;
            match &c[2] {
                "Name" if indent == 0 => {
                    *d = Describe {
                        pod: Some(val),
                        lines_left: 300,
                        ..Describe::default()
                    }
                }
                "Namespace" if indent == 0 => d.namespace = Some(val),
                "Container ID" => {
                    d.container_id = Some(val.rsplit("://").next().unwrap_or(&val).to_string())
                }
                "Reason" => {
                    let kind = match val.as_str() {
                        "OOMKilled" => Some(Kind::K8sOomkilled),
                        "Error" | "ContainerCannotRun" => Some(Kind::SigkillExit),
                        "Evicted" => Some(Kind::K8sEvicted),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        let mut e = mk(kind);
                        e.pod = d.pod.clone();
                        e.namespace = d.namespace.clone();
                        e.container = d.container.clone();
                        e.container_id = d.container_id.clone();
                        e.code = Some(val);
                        if let Some(p) = d.pending.take() {
                            flush_describe(p, out);
                        }
                        if kind == Kind::K8sEvicted {
                            out.push(e);
                        } else {
                            d.pending = Some(e);
                            d.pending_lines = 0;
                        }
                    }
                }
                "Exit Code" => {
                    if let Some(mut e) = d.pending.take() {
                        e.exit_code = val.parse().ok();
                        e.evidence.push(format!("{src}: {}", msg.trim()));
                        flush_describe(e, out);
                    }
                }
                _ => {}
            }
            return;
        }
        if !(self.describe.lines_left > 0 && msg.starts_with("  ")) {
        } else if let Some(c) = re(&K8S_CONTAINER, r"^  ([a-z0-9][a-z0-9.-]*):\s*$").captures(msg) {
            self.describe.container = Some(c[1].to_string());
            self.describe.container_id = None;
        }
        if self.describe.pending.is_some() {
            self.describe.pending_lines += 1;
            if self.describe.pending_lines > 8 {
                if let Some(p) = self.describe.pending.take() {
                    flush_describe(p, out);
                }
            }
        }

        if !(msg.contains("OOM killer") || msg.contains("'oom-kill'")) {
        } else if let Some(c) = re(&SYSTEMD_OOM, r"^(\S+?): (?:A process of this unit has been killed by the OOM killer|Failed with result 'oom-kill')").captures(msg) {
            let mut e = mk(Kind::SystemdUnitOom);
            e.unit = Some(c[1].to_string());
            out.push(e);
            return;
        }
        if !msg.contains("Main process exited") {
        } else if let Some(c) = re(
            &SYSTEMD_EXIT,
            r"^(\S+?): Main process exited, code=(killed|dumped|exited), status=(\d+)/([A-Z]+)",
        )
        .captures(msg)
        {
            let by_signal = &c[2] != "exited";
            let kind = if by_signal {
                signal_kind(&c[4])
            } else {
                c[3].parse().ok().and_then(exit_kind)
            };
            if let Some((kind, sig)) = kind {
                let mut e = mk(kind);
                e.unit = Some(c[1].to_string());
                e.signal = Some(sig);
                if !by_signal {
                    e.exit_code = c[3].parse().ok();
                }
                out.push(e);
            }
            return;
        }
        if l.ident == Some("systemd-oomd")
            || msg.contains("systemd-oomd")
            || msg.contains("oomd attempting to kill")
        {
            if let Some(c) = re(
                &OOMD,
                r"Killed (/\S+) due to (.+?)(?:\.|$)|oomd attempting to kill (\d+) with (\w+)",
            )
            .captures(msg)
            {
                let mut e = mk(Kind::OomdKill);
                if let Some(cg) = c.get(1) {
                    e.set_memcg(cg.as_str());
                }
                e.code = c.get(2).or(c.get(4)).map(|m| m.as_str().to_string());
                e.pid = c.get(3).and_then(|m| m.as_str().parse().ok());
                out.push(e);
                return;
            }
        }
        if !(msg.contains("sending SIG") || msg.contains("killing process")) {
        } else if let Some(c) = re(
            &EARLYOOM,
            r#"(?:sending (SIGTERM|SIGKILL) to process (\d+) uid (\d+) ([^:]+?)|killing process (\d+) ("[^"]*"|\S+) with signal (\d+)): (?:badness|oom_score) (-?\d+), VmRSS (\d+) MiB"#,
        )
        .captures(msg)
        {
            let mut e = mk(Kind::EarlyoomKill);
            e.signal = c.get(1).or(c.get(7)).and_then(|m| signal_kind(m.as_str())).map(|k| k.1);
            e.pid = c.get(2).or(c.get(5)).and_then(|m| m.as_str().parse().ok());
            e.uid = c.get(3).and_then(|m| m.as_str().parse().ok());
            e.process = c.get(4).or(c.get(6)).map(|m| m.as_str().trim_matches('"').to_string());
            e.badness_score = c[8].parse().ok();
            e.code = Some(format!("VmRSS {} MiB", &c[9]));
            out.push(e);
            return;
        }
        if !msg.contains("container ") {
        } else if let Some(c) = re(
            &DOCKER,
            r"\bcontainer (oom|die) ([0-9a-f]{12,64})(?: \((.*?)\)?\s*$)?",
        )
        .captures(msg)
        {
            let attrs = c.get(3).map_or("", |m| m.as_str());
            let attr = |k: &str| {
                attrs
                    .split(", ")
                    .find_map(|kv| kv.strip_prefix(k).and_then(|v| v.strip_prefix('=')))
                    .map(str::to_string)
            };
            let kind = if &c[1] == "oom" {
                Some((Kind::DockerOom, 9))
            } else {
                attr("exitCode")
                    .and_then(|v| v.parse().ok())
                    .and_then(exit_kind)
            };
            if let Some((kind, sig)) = kind {
                let mut e = mk(kind);
                e.container_id = Some(c[2].to_string());
                e.container = attr("name");
                e.exit_code = attr("exitCode").and_then(|v| v.parse().ok());
                if kind != Kind::DockerOom {
                    e.signal = Some(sig);
                }
                out.push(e);
            }
            return;
        }
        if msg.contains("OOMKilling") {
            // kubelet's "System OOM encountered, victim process: X, pid: N", or node-problem-
            // detector quoting the kernel's victim or "Kill process" line.
            let mut e = super::kernel::victim_in(msg, Kind::K8sSystemOom, src)
                .unwrap_or_else(|| mk(Kind::K8sSystemOom));
            if let Some(c) = re(
                &K8S_EVENT,
                r"victim process: ([^,]+), pid: (\d+)|[Kk]ill process (\d+) \((.*)\) score",
            )
            .captures(msg)
            {
                e.process = c.get(1).or(c.get(4)).map(|m| m.as_str().to_string());
                e.pid = c.get(2).or(c.get(3)).and_then(|m| m.as_str().parse().ok());
            }
            if e.evidence.is_empty() {
                e.evidence.push(format!("{src}: {}", msg.trim()));
            }
            out.push(e);
            return;
        }
        if msg.contains("low on resource: memory") {
            out.push(mk(Kind::K8sEvicted));
            return;
        }
        if msg.contains("reason:OOMKilled") {
            // kubectl -o go-template / jsonpath output.
            let mut e = mk(Kind::K8sOomkilled);
            e.exit_code = msg
                .split("exitCode:")
                .nth(1)
                .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok());
            out.push(e);
            return;
        }
        if msg.contains("\"OOMKilled\": true") || msg.contains("\"reason\": \"OOMKilled\"") {
            // A fragment of docker inspect / kubectl JSON pasted as text.
            out.push(mk(if msg.contains("\"OOMKilled\": true") {
                Kind::DockerOom
            } else {
                Kind::K8sOomkilled
            }));
            return;
        }
        if let Some(runtime) = runtime_oom(msg) {
            let mut e = mk(Kind::RuntimeOom);
            e.runtime = Some(runtime);
            out.push(e);
            return;
        }
        let lower_has = |needles: &[&str]| needles.iter().any(|n| msg.contains(n));
        if !lower_has(&["xit", "XIT", "Error ", "exitcode", "non-zero"]) {
        } else if let Some(c) = re(
            &EXIT_CODE,
            r#"(?i)(?:exit(?:ed)?(?: with)? (?:code|status)[:= ]\s*|exit_?code"?\s*[=:]\s*|\] Error |returned non-zero exit status )(\d{1,3})\b"#,
        )
        .captures(msg)
        {
            let code: i64 = c[1].parse().unwrap_or(0);
            if let Some((kind, sig)) = exit_kind(code) {
                let mut e = mk(kind);
                e.exit_code = Some(code);
                e.signal = Some(sig);
                out.push(e);
            }
            return;
        }
        if !msg.contains("signal") {
        } else if let Some(c) = re(
            &SIGNAL,
            r"(?:(?:terminated|killed) (?:by|with) signal (\d+|SIG[A-Z]+)|\S+ signal terminated program (\S+)|signal: (killed|aborted|segmentation fault))",
        )
        .captures(msg)
        {
            let sig = c.get(1).map(|m| m.as_str()).unwrap_or(match c.get(3).map(|m| m.as_str()) {
                Some("aborted") => "6",
                Some("segmentation fault") => "11",
                _ => "9",
            });
            if let Some((kind, sig)) = signal_kind(sig) {
                let mut e = mk(kind);
                e.signal = Some(sig);
                e.process = c.get(2).map(|m| m.as_str().to_string());
                out.push(e);
            }
            return;
        }
        if !msg.contains("clw-") {
        } else if let Some(c) = re(&CLW, r"\b(clw-[a-z]+(?:-[a-z]+)+)\b").captures(msg) {
            let code = &c[1];
            if !CLW_STOPLIST.iter().any(|s| code.starts_with(s)) {
                let mut e = mk(Kind::ClwError);
                e.code = Some(code.to_string());
                out.push(e);
            }
        }
    }

    /// End of input: flush a pending describe event.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if let Some(p) = self.describe.pending.take() {
            flush_describe(p, out);
        }
    }
}

static K8S_CONTAINER: OnceLock<Regex> = OnceLock::new();

/// A describe-block event is complete: an `Error` reason becomes an exit event only with an
/// exit code that means a signal.
fn flush_describe(mut e: Event, out: &mut Vec<Event>) {
    if e.kind == Kind::K8sOomkilled {
        out.push(e);
        return;
    }
    if let Some((kind, sig)) = e.exit_code.and_then(exit_kind) {
        e.kind = kind;
        e.signal = Some(sig);
        out.push(e);
    }
}

/// The runtime that printed an out-of-memory message, if any.
pub fn runtime_oom(msg: &str) -> Option<&'static str> {
    Some(if msg.contains("OutOfMemoryError") {
        "java"
    } else if msg.contains("JavaScript heap out of memory")
        || msg.contains("Reached heap limit Allocation failed")
    {
        "node"
    } else if msg.contains("fatal error: runtime: out of memory") {
        "go"
    } else if msg.contains("MemoryError") {
        "python"
    } else if msg.contains("memory allocation of ") && msg.contains(" bytes failed") {
        "rust"
    } else if msg.contains("std::bad_alloc") {
        "cxx"
    } else if msg.contains("<jemalloc>") && msg.contains("out of memory") {
        "jemalloc"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::normalize::{normalize, TimeContext};

    fn run(text: &str) -> Vec<Event> {
        let mut p = RuleParser::default();
        let mut out = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let l = normalize(raw, TimeContext { year: 2024 });
            let src = SourceRef {
                file: "t".into(),
                line: i as u64 + 1,
            };
            p.line(&l, &src, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn exits_are_signals_not_ooms() {
        let ev = run("2024-04-14T22:05:23.8605906Z ##[error]Process completed with exit code 137.\n\
                      g++: fatal error: Killed signal terminated program cc1plus\n\
                      Apr 15 10:22:01 n systemd[1]: app.service: Main process exited, code=killed, status=6/ABRT\n\
                      make: *** [Makefile:12: all] Error 139");
        let kinds: Vec<Kind> = ev.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Kind::SigkillExit,
                Kind::SigkillExit,
                Kind::AbortExit,
                Kind::SegvExit
            ]
        );
        assert_eq!(ev[0].exit_code, Some(137));
        assert_eq!(ev[1].process.as_deref(), Some("cc1plus"));
        assert_eq!(ev[2].unit.as_deref(), Some("app.service"));
    }

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
    fn runtimes_and_clw_codes() {
        let ev = run("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space\n\
                      FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n\
                      fatal error: runtime: out of memory\n\
                      memory allocation of 1048576 bytes failed\n\
                      terminate called after throwing an instance of 'std::bad_alloc'\n\
                      level=error code=clw-memory-oom msg=\"worker exceeded limit\"\n\
                      clw-diag sample --json");
        let rt: Vec<_> = ev.iter().filter_map(|e| e.runtime).collect();
        assert_eq!(rt, vec!["java", "node", "go", "rust", "cxx"]);
        assert_eq!(ev.last().unwrap().code.as_deref(), Some("clw-memory-oom"));
        assert_eq!(ev.len(), 6);
    }

    #[test]
    fn docker_events() {
        let ev = run("2024-04-15T10:22:01.000000000Z container oom 7f3c2a1b9d8e (image=app:1, name=worker)\n\
                      2024-04-15T10:22:01.100000000Z container die 7f3c2a1b9d8e (exitCode=137, image=app:1, name=worker)");
        assert_eq!(ev[0].kind, Kind::DockerOom);
        assert_eq!(ev[0].container.as_deref(), Some("worker"));
        assert_eq!(ev[1].kind, Kind::SigkillExit);
        assert_eq!(ev[1].exit_code, Some(137));
    }
}
