//! The event model of `triage`: one record per OOM kill, abnormal exit, crash or OpenClaw error
//! found in the input, with the evidence it came from. Absent data is `None` (JSON `null`).

use serde::Serialize;

use crate::identity::Identity;

/// What happened. JSON: snake_case strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The kernel OOM killer, global (whole machine) OOM.
    KernelOomKill,
    /// The kernel OOM killer inside a memory cgroup that hit its limit.
    CgroupOomKill,
    /// A kill of a `memory.oom.group` fan-out.
    OomGroupKill,
    /// "Out of memory and no killable processes".
    OomNoVictim,
    /// `oom_reaper: reaped process …`.
    OomReaped,
    /// systemd-oomd killed a cgroup.
    OomdKill,
    /// earlyoom sent a signal.
    EarlyoomKill,
    /// Kubernetes container status `OOMKilled`.
    K8sOomkilled,
    /// kubelet's `SystemOOM` node event ("System OOM encountered[, victim process: X, pid: N]")
    /// or its "Got sys oom event" log line: a global OOM kill seen by kubelet (cAdvisor reading
    /// the kernel log). node-problem-detector's `OOMKilling`, which quotes the kernel's own
    /// line, takes the kernel's kind instead.
    K8sSystemOom,
    /// Kubernetes pod eviction for memory (kubelet's `Evicted`: "The node was low on resource:
    /// memory.", `[MemoryPressure]`, "The node had condition: `[MemoryPressure]`.").
    K8sEvicted,
    /// A Kubernetes node under memory pressure, not a kill: kubelet's `EvictionThresholdMet`
    /// "Attempting to reclaim memory", `NodeHasInsufficientMemory`, the `MemoryPressure`
    /// condition true, a pod refused admission for it.
    K8sMemoryPressure,
    /// Docker `oom` event or `State.OOMKilled`.
    DockerOom,
    /// systemd: "A process of this unit has been killed by the OOM killer" / result 'oom-kill'.
    SystemdUnitOom,
    /// A language runtime or allocator reported out of memory.
    RuntimeOom,
    /// Exit 137 / SIGKILL.
    SigkillExit,
    /// Exit 134 / SIGABRT.
    AbortExit,
    /// Exit 139 / SIGSEGV.
    SegvExit,
    /// Exit 143 / SIGTERM.
    TermExit,
    /// The kernel's `segfault at … ip … in module[…]` line.
    Segfault,
    /// An OpenClaw error code (`clw-memory-oom`, …) in a service log.
    ClwError,
}

impl Kind {
    /// The JSON name of the kind (`"kernel_oom_kill"`, …), as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::KernelOomKill => "kernel_oom_kill",
            Kind::CgroupOomKill => "cgroup_oom_kill",
            Kind::OomGroupKill => "oom_group_kill",
            Kind::OomNoVictim => "oom_no_victim",
            Kind::OomReaped => "oom_reaped",
            Kind::OomdKill => "oomd_kill",
            Kind::EarlyoomKill => "earlyoom_kill",
            Kind::K8sOomkilled => "k8s_oomkilled",
            Kind::K8sSystemOom => "k8s_system_oom",
            Kind::K8sEvicted => "k8s_evicted",
            Kind::K8sMemoryPressure => "k8s_memory_pressure",
            Kind::DockerOom => "docker_oom",
            Kind::SystemdUnitOom => "systemd_unit_oom",
            Kind::RuntimeOom => "runtime_oom",
            Kind::SigkillExit => "sigkill_exit",
            Kind::AbortExit => "abort_exit",
            Kind::SegvExit => "segv_exit",
            Kind::TermExit => "term_exit",
            Kind::Segfault => "segfault",
            Kind::ClwError => "clw_error",
        }
    }

    /// An out-of-memory kill or report, whoever made it.
    pub fn is_oom(self) -> bool {
        matches!(
            self,
            Kind::KernelOomKill
                | Kind::CgroupOomKill
                | Kind::OomGroupKill
                | Kind::OomNoVictim
                | Kind::OomdKill
                | Kind::EarlyoomKill
                | Kind::K8sOomkilled
                | Kind::K8sSystemOom
                | Kind::DockerOom
                | Kind::SystemdUnitOom
                | Kind::RuntimeOom
        )
    }

    /// A crash: segfault or abort.
    pub fn is_crash(self) -> bool {
        matches!(self, Kind::Segfault | Kind::SegvExit | Kind::AbortExit)
    }

    /// A process exit by signal or exit code, whose cause needs correlating.
    pub fn is_exit(self) -> bool {
        matches!(
            self,
            Kind::SigkillExit | Kind::AbortExit | Kind::SegvExit | Kind::TermExit
        )
    }

    /// A kernel OOM-killer victim (the events an exit can be linked to by pid).
    pub fn is_kernel_victim(self) -> bool {
        matches!(
            self,
            Kind::KernelOomKill | Kind::CgroupOomKill | Kind::OomGroupKill
        )
    }
}

/// Where an event's evidence is: input name and 1-based line (for `/dev/kmsg`, the record's
/// number in this read), and for `/dev/kmsg` the record's sequence number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceRef {
    /// The input's name: its path, `<stdin>`, the kmsg device or `journalctl`.
    pub file: String,
    /// 1-based line number in the input (after decompression); for `/dev/kmsg`, the record's number
    /// in this read.
    pub line: u64,
    /// The kernel's sequence number of the `/dev/kmsg` record (Documentation/ABI/testing/
    /// dev-kmsg): stable across reads while the line number moves as the ring buffer rotates.
    /// `None` for other inputs.
    pub kmsg_seq: Option<u64>,
}

impl SourceRef {
    /// A line of a file or stream.
    pub fn line(file: impl Into<String>, line: u64) -> SourceRef {
        SourceRef {
            file: file.into(),
            line,
            kmsg_seq: None,
        }
    }
}

/// `file:line`, or `file:seq=N` for a `/dev/kmsg` record.
impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kmsg_seq {
            Some(seq) => write!(f, "{}:seq={seq}", self.file),
            None => write!(f, "{}:{}", self.file, self.line),
        }
    }
}

/// One row of the kernel's task table at the time of the kill ("Tasks state (memory values in
/// pages)"), converted to kB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRow {
    /// The task's pid (the table's `pid` column).
    pub pid: i64,
    /// The task's comm (the table's last column, at most 15 bytes).
    pub name: String,
    /// `rss` column (resident pages: anon + file + shmem), converted to kB with `page_size`; `None`
    /// when the table has no such column.
    pub rss_kb: Option<u64>,
    /// `rss_anon` column, converted to kB; `None` when the table has no such column.
    pub rss_anon_kb: Option<u64>,
    /// `total_vm` column (virtual size in pages), converted to kB; `None` when the table has no
    /// such column.
    pub total_vm_kb: Option<u64>,
    /// `swapents` column: swap entries, in pages (not converted); `None` when the table has no such
    /// column.
    pub swapents: Option<u64>,
    /// `oom_score_adj` column (−1000 to 1000); `None` when the table has no such column.
    pub oom_score_adj: Option<i64>,
}

/// The process that triggered the OOM killer (the allocating task, not necessarily the victim).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    /// The allocating task's comm, from "`COMM` invoked oom-killer:".
    pub process: String,
    /// Its pid, from the `CPU: N PID: M Comm:` line of the report's stack dump; `None` when that
    /// line is not in the input.
    pub pid: Option<i64>,
    /// `gfp_mask=` of the "invoked oom-killer" line as printed, e.g.
    /// `0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)`; `None` when absent.
    pub gfp_mask: Option<String>,
    /// `order=` of that line: the allocation asked for 2^order pages; `None` when absent.
    pub order: Option<i64>,
    /// `oom_score_adj=` of that line (the allocating task's, −1000 to 1000); `None` when absent.
    pub oom_score_adj: Option<i64>,
}

/// Why a process that exited abnormally or was killed ended, as far as the inputs say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// An OOM record (a kernel OOM kill, a runtime's OOM, a container's OOMKilled) correlates.
    Oom,
    /// Nothing in the inputs explains it (a SIGKILL from a supervisor, a person, or an OOM
    /// record that was not in the input).
    Unknown,
}

impl Cause {
    /// `oom` or `unknown`, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Oom => "oom",
            Cause::Unknown => "unknown",
        }
    }
}

/// An OOM record an exit was linked to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// The kind of the OOM record linked to.
    pub kind: Kind,
    /// Where the OOM record is (its `file:line`, or kmsg sequence number).
    pub source: SourceRef,
    /// How the two were matched: `pid`, `container`, `pod`, `unit`.
    pub by: &'static str,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// What happened (decides which other fields can be set).
    pub kind: Kind,
    /// Wall-clock time, RFC 3339 UTC, when the input says it.
    pub timestamp: Option<String>,
    /// Seconds since boot, from a raw dmesg or kmsg prefix.
    pub monotonic_s: Option<f64>,
    /// The victim's (or exiting process's) pid as the line prints it; `None` when it names none.
    pub pid: Option<i64>,
    /// The victim's (or exiting process's) name as printed (comm for kernel lines); `None` when it
    /// names none.
    pub process: Option<String>,
    /// The victim's uid: `uid=` of the `oom-kill:` line (4.19+) or `UID:` of the "Killed process"
    /// line; `None` when not printed.
    pub uid: Option<i64>,
    /// The victim's memory cgroup (`task_memcg`, "Task in …", a unit or container cgroup).
    pub memcg: Option<String>,
    /// The cgroup whose limit was hit (`oom_memcg`, "limit of …"); `None` for a global OOM.
    pub oom_memcg: Option<String>,
    /// Kubernetes pod UID parsed from the memcg path or object.
    pub pod_uid: Option<String>,
    /// Container id parsed from the memcg path or object.
    pub container_id: Option<String>,
    /// Kubernetes pod name, from the pod or event object (`involvedObject.name`) or `kubectl
    /// describe`; `None` when not known.
    pub pod: Option<String>,
    /// Kubernetes namespace, from the object or `kubectl describe`; `None` when not known.
    pub namespace: Option<String>,
    /// Container name (Kubernetes container status, Docker `name`); `None` when not known.
    pub container: Option<String>,
    /// systemd unit (from the line, or from the memcg path: `/system.slice/nginx.service`).
    pub unit: Option<String>,
    /// The workload label ([`Identity::workload`]): `ns/pod/container`, `project/service`,
    /// `docker:name`, `nginx.service`, or for a container nothing names `docker 4f9a2c1be07d
    /// (unresolved)`; built from the names above (the log's winning over the node's files).
    /// `None` when neither the log nor the memcg names a workload.
    pub workload: Option<String>,
    /// Where the names of `pod`, `namespace`, `container` and `workload` came from; `None` when
    /// nothing names the workload (see `identity.unresolved`).
    pub identity_source: Option<IdentitySource>,
    /// What the node's files under the host root say now about the memcg (`memcg`, else
    /// `oom_memcg`): the resolver's answer as it is, with its `source` files, `unresolved` reason
    /// and the runtime's own `runtime_state`; `None` when the event names no memcg or triage ran
    /// without a host root.
    pub identity: Option<Box<Identity>>,
    /// Remarks about the names and the runtime's own record: a log name the node's files
    /// contradict (the log's is kept), a runtime's `OOMKilled` flag agreeing or disagreeing with
    /// the kernel (corroborating only: the kind stays the kernel's).
    pub notes: Vec<String>,
    /// `constraint=` of the `oom-kill:` line (CONSTRAINT_MEMCG, CONSTRAINT_NONE, …).
    pub constraint: Option<String>,
    /// `total-vm:` of the kernel's "Killed process" line: the victim's virtual size, kB.
    pub total_vm_kb: Option<u64>,
    /// `anon-rss:` of the "Killed process" line: resident anonymous memory, kB.
    pub anon_rss_kb: Option<u64>,
    /// `file-rss:` of the "Killed process" line: resident file pages, kB.
    pub file_rss_kb: Option<u64>,
    /// `shmem-rss:` of the "Killed process" line: resident shared memory, kB.
    pub shmem_rss_kb: Option<u64>,
    /// `pgtables:` of the "Killed process" line: the victim's page tables, kB.
    pub pgtables_kb: Option<u64>,
    /// `oom_score_adj:` of the "Killed process" line (−1000 to 1000).
    pub oom_score_adj: Option<i64>,
    /// `score` of the pre-4.19 "Kill process … score N" line.
    pub badness_score: Option<i64>,
    /// The memcg's `memory: usage …kB` at the kill.
    pub usage_kb: Option<u64>,
    /// The memcg's `memory: … limit …kB` at the kill.
    pub limit_kb: Option<u64>,
    /// The memcg's `failcnt` at the kill (`memory: usage …kB, limit …kB, failcnt N`): times its
    /// usage hit the limit.
    pub failcnt: Option<u64>,
    /// The allocating task that invoked the OOM killer ("… invoked oom-killer: gfp_mask=…"); `None`
    /// when that line is not in the input.
    pub trigger: Option<Trigger>,
    /// Largest tasks by RSS from the task table, at most five.
    pub top_consumers: Vec<TaskRow>,
    /// Page size used to convert the task table (inferred from the victim's row, else 4096).
    pub page_size: Option<u64>,
    /// The exit code as printed (137 for SIGKILL, 139 for SIGSEGV, …); `None` when the line gives
    /// only a signal.
    pub exit_code: Option<i64>,
    /// The signal number that ended the process (9 SIGKILL, 6 SIGABRT, 11 SIGSEGV, 15 SIGTERM), as
    /// printed or from an exit code of 128 + signal; `None` when not known.
    pub signal: Option<i64>,
    /// For exits and kills: `oom` when an OOM record correlates, `unknown` otherwise.
    pub cause: Option<Cause>,
    /// The OOM record an exit was linked to.
    pub linked_to: Option<Link>,
    /// `java`, `node`, `go`, `python`, `rust`, `cxx`, `jemalloc` for `runtime_oom`.
    pub runtime: Option<&'static str>,
    /// OpenClaw error code for `clw_error`; the signal name or reason for others.
    pub code: Option<String>,
    /// Segfault details.
    pub fault_addr: Option<String>,
    /// `ip` of the segfault line: the faulting instruction address, hex (`"0x55d0…"`).
    pub ip: Option<String>,
    /// The module the faulting `ip` is in (`in MODULE[base+size]`); `None` when the kernel did not
    /// print it.
    pub module: Option<String>,
    /// The line that made the event (prefix stripped).
    pub message: String,
    /// The line that made the event: input name and line (or kmsg sequence number).
    pub source: SourceRef,
    /// All lines of the report that contributed, with their sources (shown with -v).
    pub evidence: Vec<String>,
    /// Wall-clock time as microseconds since the epoch, for sorting and `--since`.
    #[serde(skip)]
    pub time_us: Option<i64>,
}

impl Event {
    /// An event with only its kind, message and source set.
    pub fn new(kind: Kind, message: &str, source: SourceRef) -> Event {
        Event {
            kind,
            timestamp: None,
            monotonic_s: None,
            pid: None,
            process: None,
            uid: None,
            memcg: None,
            oom_memcg: None,
            pod_uid: None,
            container_id: None,
            pod: None,
            namespace: None,
            container: None,
            unit: None,
            workload: None,
            identity_source: None,
            identity: None,
            notes: Vec::new(),
            constraint: None,
            total_vm_kb: None,
            anon_rss_kb: None,
            file_rss_kb: None,
            shmem_rss_kb: None,
            pgtables_kb: None,
            oom_score_adj: None,
            badness_score: None,
            usage_kb: None,
            limit_kb: None,
            failcnt: None,
            trigger: None,
            top_consumers: Vec::new(),
            page_size: None,
            exit_code: None,
            signal: None,
            cause: None,
            linked_to: None,
            runtime: None,
            code: None,
            fault_addr: None,
            ip: None,
            module: None,
            message: message.to_string(),
            source,
            evidence: Vec::new(),
            time_us: None,
        }
    }

    /// Set `memcg` and derive the pod UID and container id from the path
    /// ([`crate::identity::lexical`]: `/kubepods/burstable/pod<uid>/<id>`,
    /// `…-pod<uid>.slice/cri-containerd-<id>.scope`, `/docker/<id>`, `docker-<id>.scope`).
    pub fn set_memcg(&mut self, path: &str) {
        self.memcg = Some(path.to_string());
        let h = crate::identity::lexical(path);
        if self.pod_uid.is_none() {
            self.pod_uid = h.pod_uid;
        }
        if self.container_id.is_none() {
            self.container_id = h.container_id;
        }
    }
}

/// Where an event's workload names came from. JSON: `"log"`, `"node-files"`,
/// `"log+node-files"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IdentitySource {
    /// Every name is the log's own: a kubelet event, `kubectl describe`, a Docker event line,
    /// or the cgroup path the log prints (`/system.slice/nginx.service`).
    #[serde(rename = "log")]
    Log,
    /// The log names only the cgroup; the names come from the node's files under the host root,
    /// read now (`identity.source`), not from the log.
    #[serde(rename = "node-files")]
    NodeFiles,
    /// The log names some (a container), the node's files now the others (its pod, compose
    /// service or image).
    #[serde(rename = "log+node-files")]
    LogAndNodeFiles,
}

impl IdentitySource {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentitySource::Log => "log",
            IdentitySource::NodeFiles => "node-files",
            IdentitySource::LogAndNodeFiles => "log+node-files",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of the former `ids_from_cgroup`, now read by the one path parser.
    #[test]
    fn pod_and_container_from_cgroup_paths() {
        let mut e = Event::new(Kind::CgroupOomKill, "", SourceRef::line("x", 1));
        e.set_memcg(
            "/kubepods/burstable/pod6f1f5a3e-4b2c-4d1e-9e8f-0a1b2c3d4e5f/2e9d2b0f8c1a4f3e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e",
        );
        assert_eq!(
            e.pod_uid.as_deref(),
            Some("6f1f5a3e-4b2c-4d1e-9e8f-0a1b2c3d4e5f")
        );
        assert!(e.container_id.unwrap().starts_with("2e9d2b0f"));
        let mut e = Event::new(Kind::CgroupOomKill, "", SourceRef::line("x", 1));
        e.set_memcg("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8877_665544332211.slice/cri-containerd-4f9a2c1be07d.scope");
        assert_eq!(
            (e.pod_uid.as_deref(), e.container_id.as_deref()),
            (
                Some("0f1e2d3c-4b5a-6978-8877-665544332211"),
                Some("4f9a2c1be07d")
            )
        );
        let mut e = Event::new(Kind::CgroupOomKill, "", SourceRef::line("x", 1));
        e.set_memcg("/system.slice/docker-0123456789abcdef0123.scope");
        assert_eq!(e.container_id.as_deref(), Some("0123456789abcdef0123"));
        let mut e = Event::new(Kind::CgroupOomKill, "", SourceRef::line("x", 1));
        e.set_memcg("/user.slice/user-1000.slice");
        assert_eq!((e.pod_uid, e.container_id), (None, None));
        // An ID the log already named is kept.
        let mut e = Event::new(Kind::DockerOom, "", SourceRef::line("x", 1));
        e.container_id = Some("abcdefabcdef".into());
        e.set_memcg("/docker/0123456789abcdef0123");
        assert_eq!(e.container_id.as_deref(), Some("abcdefabcdef"));
    }
}
