//! The wire types of the JSON Lines trace `record` writes (DESIGN.md "The trace format",
//! docs/json.md "The trace format"): one [`Header`] line, then [`Sample`] and [`EventLine`]
//! lines. The writer ([`crate::trace::write`]) and the reader ([`crate::trace::read`]) share
//! these types, so the format is defined once (as ripgrep's `jsont.rs` is for its JSON Lines).
//!
//! Compatibility: fields are only added. Every field a reader needs has a serde default, so
//! traces written by earlier versions (and by hand) still read; unknown fields and unknown
//! event kinds are ignored. A value the recorder did not read is absent from the line (never a
//! made-up 0): all sample figures are `Option` and skipped when `None`.

use serde::{Deserialize, Serialize};

/// The first line of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Format version; [`crate::trace::FORMAT_VERSION`] for traces this build writes.
    pub clw_trace: u64,
    /// What was recorded.
    #[serde(default)]
    pub target: TraceTarget,
    /// Host name (`/proc/sys/kernel/hostname`), `null` when unreadable.
    #[serde(default)]
    pub host: Option<String>,
    /// Kernel release (`/proc/sys/kernel/osrelease`), `null` when unreadable.
    #[serde(default)]
    pub kernel: Option<String>,
    /// Nominal sampling interval, seconds.
    #[serde(default)]
    pub interval_s: Option<f64>,
    /// The target's effective memory cgroup limit (the tightest of its cgroup and ancestors),
    /// bytes; `null` when unlimited or unknown.
    #[serde(default)]
    pub limit_bytes: Option<u64>,
    /// Host `MemTotal`, bytes.
    #[serde(default)]
    pub host_total_bytes: Option<u64>,
    /// When recording started, RFC 3339 (UTC).
    #[serde(default)]
    pub started_at: Option<String>,
    /// The sample fields this trace has (e.g. `rss_bytes`, `usage_bytes`).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// PSS/USS are read every this many samples (smaps_rollup is costly on large targets).
    #[serde(default)]
    pub pss_every: Option<u64>,
    /// `clw-diag VERSION` that wrote the trace.
    #[serde(default)]
    pub recorder: Option<String>,
    /// The workload of the target's memory cgroup when the trace was written (`record
    /// --cgroup NAME`), so `analyze` and `recommend` name it later, elsewhere; absent (not
    /// `null`) when unknown, so older readers and older traces are unaffected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<TraceIdentity>,
}

/// The workload a trace's target belonged to, as [`crate::identity::Identity`] resolved it when
/// recording: the same field names, as plain strings (`null` where unknown), plus its
/// `workload` label. Every field has a default, so a partial object reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TraceIdentity {
    /// The label people use (`ns/pod/container`, `project/service`, `docker:name`, a unit,
    /// `docker 4f9a2c1be07d (unresolved)`); `null` for a cgroup that is no workload's.
    pub workload: Option<String>,
    /// The cgroup path, as `/proc/PID/cgroup` prints it.
    pub cgroup: Option<String>,
    /// `docker`, `containerd`, `cri-o`, `podman`.
    pub runtime: Option<String>,
    /// `container`, `sandbox`, `conmon`, `pod`, `kubepods`, `unit`, `other`.
    pub kind: Option<String>,
    /// Container ID as the path spells it.
    pub container_id: Option<String>,
    /// Container name (Kubernetes container name, else the runtime's name).
    pub container_name: Option<String>,
    /// Image as typed.
    pub image: Option<String>,
    /// Kubernetes pod name.
    pub pod: Option<String>,
    /// Kubernetes namespace.
    pub namespace: Option<String>,
    /// Kubernetes pod UID.
    pub pod_uid: Option<String>,
    /// `com.docker.compose.project`.
    pub compose_project: Option<String>,
    /// `com.docker.compose.service`.
    pub compose_service: Option<String>,
    /// systemd unit.
    pub unit: Option<String>,
    /// A pod sandbox.
    pub sandbox: bool,
    /// Files the names came from (under the recorder's host root).
    pub source: Vec<String>,
    /// Why names are missing, when they are.
    pub unresolved: Option<String>,
}

impl From<&crate::identity::Identity> for TraceIdentity {
    fn from(i: &crate::identity::Identity) -> TraceIdentity {
        // The enums' serde names (`cri-o`, `container`), as in `sample --json`.
        let name = |v: serde_json::Result<serde_json::Value>| {
            v.ok().and_then(|v| v.as_str().map(str::to_string))
        };
        TraceIdentity {
            workload: i.workload(),
            cgroup: Some(i.cgroup.clone()),
            runtime: i.runtime.map(|r| r.as_str().to_string()),
            kind: name(serde_json::to_value(i.kind)),
            container_id: i.container_id.clone(),
            container_name: i.container_name.clone(),
            image: i.image.clone(),
            pod: i.pod.clone(),
            namespace: i.namespace.clone(),
            pod_uid: i.pod_uid.clone(),
            compose_project: i.compose_project.clone(),
            compose_service: i.compose_service.clone(),
            unit: i.unit.clone(),
            sandbox: i.sandbox,
            source: i.source.iter().map(|p| p.display().to_string()).collect(),
            unresolved: i.unresolved.clone(),
        }
    }
}

/// The `target` object of the header, tagged by `kind`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TraceTarget {
    /// A running process (`record --pid`).
    Process {
        /// The process id recorded; `None` when the header did not carry one.
        #[serde(default)]
        pid: Option<i32>,
        /// Descendants summed in.
        #[serde(default)]
        children: bool,
        /// Its memory cgroup, relative to the hierarchy root.
        #[serde(default)]
        memory_cgroup: Option<String>,
    },
    /// A memory cgroup (`record --cgroup`).
    Cgroup {
        /// Relative to the hierarchy root, as `/proc/PID/cgroup` prints it.
        #[serde(default)]
        cgroup: Option<String>,
    },
    /// A command `record` started (`record -- CMD`).
    Command {
        /// The pid of the command started; `None` when the header did not carry one.
        #[serde(default)]
        pid: Option<i32>,
        /// The command line, arguments joined by spaces.
        #[serde(default)]
        command: Option<String>,
        /// Descendants summed in (`--children`).
        #[serde(default)]
        children: bool,
        /// The cgroup `record` created for `--memory-limit`, else `null`.
        #[serde(default)]
        memory_cgroup: Option<String>,
        /// `--memory-limit`, bytes.
        #[serde(default)]
        memory_limit_bytes: Option<u64>,
    },
    /// A kind this build does not know (or none): read as an unknown target.
    #[default]
    #[serde(other)]
    Unknown,
}

impl TraceTarget {
    /// `process`, `cgroup`, `command`, or `None` for an unknown kind.
    pub fn kind(&self) -> Option<&'static str> {
        match self {
            TraceTarget::Process { .. } => Some("process"),
            TraceTarget::Cgroup { .. } => Some("cgroup"),
            TraceTarget::Command { .. } => Some("command"),
            TraceTarget::Unknown => None,
        }
    }
}

/// One sample line. Every figure is bytes unless its name says otherwise, and absent when it
/// was not read at this sample (PSS at a lower rate, a file that could not be read, a target
/// that has exited): absent means unknown, never 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds since the start of the recording (millisecond resolution).
    pub t: f64,
    /// Resident set size (`statm` resident × page size), summed over the target's processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// Anonymous resident memory: `statm` resident − shared for processes (`task_statm()` in
    /// fs/proc/task_mmu.c); `anon` of `memory.stat` for a cgroup target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anon_bytes: Option<u64>,
    /// `RssFile` of status (processes); `file` of `memory.stat` (cgroup targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_bytes: Option<u64>,
    /// `RssShmem` of status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shmem_bytes: Option<u64>,
    /// `VmSwap` of status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap_bytes: Option<u64>,
    /// `Pss` of smaps_rollup, when read this sample and readable for every process summed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pss_bytes: Option<u64>,
    /// `Private_Clean + Private_Dirty` of smaps_rollup (as smem computes USS), same rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uss_bytes: Option<u64>,
    /// The target's main pid (a change marks a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    /// Processes summed in this sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    /// Memory cgroup usage (`memory.current` / `memory.usage_in_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_bytes: Option<u64>,
    /// Usage minus inactive file, as kubelet computes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_set_bytes: Option<u64>,
    /// `anon` of the cgroup's `memory.stat` for a command run in a cgroup (the process figures
    /// keep `anon_bytes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_anon_bytes: Option<u64>,
    /// `file` of the cgroup's `memory.stat`, as `cgroup_anon_bytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_file_bytes: Option<u64>,
    /// The cgroup's effective limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_bytes: Option<u64>,
    /// `oom` of `memory.events` (times the OOM killer was invoked), a counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oom: Option<u64>,
    /// Times usage hit the limit (`max` of `memory.events` / `memory.failcnt`), a counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// PSI `some avg10` of the cgroup's `memory.pressure`, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi_some_avg10: Option<f64>,
}

impl Sample {
    /// A metric by its field name (`rss_bytes`, …); `None` when absent or not a byte figure.
    pub fn metric(&self, name: &str) -> Option<u64> {
        match name {
            "rss_bytes" => self.rss_bytes,
            "anon_bytes" => self.anon_bytes,
            "file_bytes" => self.file_bytes,
            "shmem_bytes" => self.shmem_bytes,
            "swap_bytes" => self.swap_bytes,
            "pss_bytes" => self.pss_bytes,
            "uss_bytes" => self.uss_bytes,
            "usage_bytes" => self.usage_bytes,
            "working_set_bytes" => self.working_set_bytes,
            "cgroup_anon_bytes" => self.cgroup_anon_bytes,
            "cgroup_file_bytes" => self.cgroup_file_bytes,
            "limit_bytes" => self.limit_bytes,
            _ => None,
        }
    }

    /// True when the line carries no figure besides its time.
    pub fn is_empty(&self) -> bool {
        *self
            == Sample {
                t: self.t,
                ..Sample::default()
            }
    }
}

/// An event line: `{"t": …, "event": "…", …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    /// Seconds since the start of the recording.
    pub t: f64,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What an event line says, tagged by `event`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The target ended. For a command `record` started: its exit code, or the signal that
    /// killed it (9 for an OOM kill). `null` both when the exit status is not ours to know (a
    /// `--pid` target belongs to its parent).
    TargetExited {
        /// The command's exit code when it exited by itself; `None` when killed by a signal or not
        /// known (a `--pid` or `--cgroup` target).
        #[serde(default)]
        exit_code: Option<i32>,
        /// The signal number that killed the command (9 for SIGKILL, e.g. an OOM kill); `None` when
        /// it exited by itself or not known.
        #[serde(default)]
        signal: Option<i32>,
    },
    /// The OOM-kill counter of the target's memory cgroup rose by `count`.
    OomKill {
        /// By how much the OOM-kill counter (`oom_kill` of `memory.events`, or `memory.oom_control`
        /// on v1) rose since it was last read; 1 when the line omits it.
        #[serde(default = "one")]
        count: u64,
        /// Where the counter was read (`memory cgroup events`, `memory cgroup /PATH`).
        #[serde(default)]
        source: Option<String>,
    },
    /// The recorder's own cost, written last on a clean stop.
    RecorderStats {
        /// CPU time, user + system, seconds.
        #[serde(default)]
        cpu_s: Option<f64>,
        /// The recorder's `VmHWM`.
        #[serde(default)]
        peak_rss_bytes: Option<u64>,
        /// Sample lines written before this event; `None` when the line omits it.
        #[serde(default)]
        samples: Option<u64>,
    },
    /// An event kind this build does not know: kept as "something happened".
    #[serde(other)]
    Other,
}

fn one() -> u64 {
    1
}

/// One OOM kill (or several at one sample) seen in a trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OomKill {
    /// Seconds since the start of the recording.
    pub t: f64,
    /// Processes killed.
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_and_unknown_kinds_tolerated() {
        let e: EventLine = serde_json::from_str(
            r#"{"t":1.5,"event":"target_exited","exit_code":null,"signal":9}"#,
        )
        .unwrap();
        assert_eq!(
            e.event,
            Event::TargetExited {
                exit_code: None,
                signal: Some(9)
            }
        );
        let e: EventLine = serde_json::from_str(r#"{"t":2,"event":"oom_kill"}"#).unwrap();
        assert_eq!(
            e.event,
            Event::OomKill {
                count: 1,
                source: None
            }
        );
        let e: EventLine =
            serde_json::from_str(r#"{"t":3,"event":"a_future_kind","x":1}"#).unwrap();
        assert_eq!(e.event, Event::Other);
        let text = serde_json::to_string(&EventLine {
            t: 4.0,
            event: Event::OomKill {
                count: 2,
                source: Some("memory cgroup events".into()),
            },
        })
        .unwrap();
        assert_eq!(
            text,
            r#"{"t":4.0,"event":"oom_kill","count":2,"source":"memory cgroup events"}"#
        );
    }

    #[test]
    fn header_of_an_earlier_writer_reads() {
        // The header `record` wrote before the typed format (json! map, keys sorted).
        let h: Header = serde_json::from_str(
            r#"{"clw_trace":1,"host":"h","host_total_bytes":100,"interval_s":0.05,"kernel":"6.1","limit_bytes":null,"metrics":["rss_bytes"],"pss_every":1,"recorder":"clw-diag 0.1.0","started_at":"2026-01-01T00:00:00Z","target":{"children":false,"command":"sleep 1","kind":"command","memory_cgroup":null,"memory_limit_bytes":null,"pid":7}}"#,
        )
        .unwrap();
        assert_eq!(h.target.kind(), Some("command"));
        assert_eq!(h.interval_s, Some(0.05));
        // A minimal hand-written one, and an unknown target kind.
        let h: Header = serde_json::from_str(r#"{"clw_trace":1,"target":{"kind":"vm"}}"#).unwrap();
        assert_eq!(h.target, TraceTarget::Unknown);
        let h: Header = serde_json::from_str(r#"{"clw_trace":1}"#).unwrap();
        assert!(h.metrics.is_empty());
    }

    #[test]
    fn the_identity_is_absent_when_unknown_and_round_trips_when_known() {
        let mut h: Header = serde_json::from_str(r#"{"clw_trace":1}"#).unwrap();
        assert_eq!(h.identity, None);
        assert!(!serde_json::to_string(&h).unwrap().contains("identity"));
        let id = crate::identity::Identity::from_path(&format!("/docker/{}", "ab".repeat(32)));
        h.identity = Some(TraceIdentity::from(&id));
        let text = serde_json::to_string(&h).unwrap();
        let back: Header = serde_json::from_str(&text).unwrap();
        let t = back.identity.unwrap();
        assert_eq!(t.runtime.as_deref(), Some("docker"));
        assert_eq!(t.kind.as_deref(), Some("container"));
        assert_eq!(t.workload, id.workload());
        assert_eq!(t.container_name, None);
        // A partial object (a hand-written or future header) reads too.
        let h: Header =
            serde_json::from_str(r#"{"clw_trace":1,"identity":{"workload":"shop/web/hog"}}"#)
                .unwrap();
        assert_eq!(
            h.identity.unwrap().workload.as_deref(),
            Some("shop/web/hog")
        );
    }

    #[test]
    fn absent_figures_are_not_written() {
        let s = Sample {
            t: 1.0,
            rss_bytes: Some(4096),
            ..Sample::default()
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"t":1.0,"rss_bytes":4096}"#
        );
        assert!(!s.is_empty());
        assert!(Sample {
            t: 2.0,
            ..Sample::default()
        }
        .is_empty());
        assert_eq!(s.metric("rss_bytes"), Some(4096));
        assert_eq!(s.metric("pss_bytes"), None);
    }
}
