//! Naming the workload of each event: the memcg a kernel line prints (`task_memcg=`,
//! `oom_memcg=`, "Task in … killed as a result of limit of …", a systemd-oomd cgroup) resolved
//! through the one [`Resolver`] (one per triage run) against the node's files under the host
//! root, read now.
//!
//! Rules (issue 14):
//! - names the log carries itself (a kubelet event, `kubectl describe`, a Docker event line) win;
//!   where the node's files say otherwise, a note says so and the log's name is kept;
//! - the event says where its names came from ([`IdentitySource`]), and `identity` keeps the
//!   resolver's answer with its source files and `unresolved` reason: the log may be another
//!   machine's, and the user judges;
//! - a runtime's own `OOMKilled` flag is corroborating evidence only: a note, never the kind.

use super::event::{Event, IdentitySource, Kind};
use crate::identity::{self, Identity, Resolver};

/// Name the workload of `e` (see the module doc); `resolver` reads the node's files (`None`:
/// only the log's own names and the memcg path).
pub fn identify(e: &mut Event, resolver: Option<&mut Resolver>) {
    let log_named = e.namespace.is_some() || e.pod.is_some() || e.container.is_some();
    let cgroup = e.memcg.clone().or_else(|| e.oom_memcg.clone());
    let files_read = resolver.is_some();
    let id = cgroup.map(|c| match resolver {
        Some(r) => r.resolve(&c),
        None => Identity::from_path(&c),
    });
    let mut from_files = false;
    let mut path_named = false;
    if let Some(id) = &id {
        if e.pod_uid.is_none() {
            e.pod_uid = id.pod_uid.clone();
        }
        if e.container_id.is_none() {
            e.container_id = id.container_id.clone();
        }
        if id.kind == identity::Kind::Unit && e.unit.is_none() {
            e.unit = id.unit.clone();
        }
        path_named = id.kind == identity::Kind::Unit;
        let files = sources(id);
        let fields: [(&str, &mut Option<String>, &Option<String>); 2] = [
            ("namespace", &mut e.namespace, &id.namespace),
            ("pod", &mut e.pod, &id.pod),
        ];
        for (what, log, node) in fields {
            match (log.as_deref(), node) {
                (Some(l), Some(n)) if l != n => e.notes.push(format!(
                    "the log names {what} {l:?}; the node's files ({files}) now say {n:?}: the log's is kept"
                )),
                (None, Some(n)) => {
                    *log = Some(n.clone());
                    from_files = true;
                }
                _ => {}
            }
        }
        // The log may print the runtime's name (`k8s_app_web-…_0`, `labproj_hogsvc_1`) or the
        // Kubernetes container name: either agrees.
        match (&e.container, &id.container_name) {
            (Some(l), Some(n)) if l != n && id.runtime_name.as_deref() != Some(l.as_str()) => {
                e.notes.push(format!(
                    "the log names container {l:?}; the node's files ({files}) now say {n:?}: the log's is kept"
                ))
            }
            (None, Some(n)) => {
                e.container = Some(n.clone());
                from_files = true;
            }
            _ => {}
        }
        if !id.source.is_empty() && (id.compose_service.is_some() || id.image.is_some()) {
            from_files = true;
        }
        runtime_flag(e, id);
    }
    e.workload = workload(e, id.as_ref());
    e.identity_source = match (log_named || path_named, from_files) {
        (true, true) => Some(IdentitySource::LogAndNodeFiles),
        (true, false) => Some(IdentitySource::Log),
        (false, true) => Some(IdentitySource::NodeFiles),
        (false, false) => None,
    };
    e.identity = id.filter(|_| files_read);
}

/// The identity's source files, for a note (`—` when it resolved from the path alone).
fn sources(id: &Identity) -> String {
    if id.source.is_empty() {
        return "none".into();
    }
    id.source
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The runtime's own record of the end, set beside the kernel's kill: agreeing corroborates,
/// disagreeing is noted; the kind stays the kernel's either way.
fn runtime_flag(e: &mut Event, id: &Identity) {
    let Some(flag) = id.runtime_state.as_ref().and_then(|s| s.oom_killed) else {
        return;
    };
    if !e.kind.is_kernel_victim() {
        return;
    }
    let rt = id.runtime.map(identity::Runtime::as_str).unwrap_or("the runtime");
    let exit = id
        .runtime_state
        .as_ref()
        .and_then(|s| s.exit_code)
        .map(|c| format!(", exit code {c}"))
        .unwrap_or_default();
    let files = sources(id);
    e.notes.push(if flag {
        format!("{rt}'s own record ({files}) says OOMKilled=true{exit}: it corroborates the kernel's kill")
    } else {
        format!(
            "{rt}'s own record ({files}) says OOMKilled=false{exit}, but the kernel's log records this OOM kill: \
             the kernel is the ground truth (a runtime's flag is corroborating only)"
        )
    });
}

/// The WORKLOAD label from the event's names (the log's first), through
/// [`Identity::workload`], the one home of the label.
fn workload(e: &Event, id: Option<&Identity>) -> Option<String> {
    let mut m = match id {
        Some(id) if id.is_workload() => id.clone(),
        _ if e.pod.is_some() || e.container.is_some() => {
            let mut m = Identity::from_path("");
            m.kind = if e.container.is_some() {
                identity::Kind::Container
            } else {
                identity::Kind::Pod
            };
            m.container_id = e.container_id.clone();
            m.pod_uid = e.pod_uid.clone();
            if e.kind == Kind::DockerOom {
                m.runtime = Some(identity::Runtime::Docker);
            }
            m
        }
        _ => return None,
    };
    if e.namespace.is_some() {
        m.namespace = e.namespace.clone();
    }
    if e.pod.is_some() {
        m.pod = e.pod.clone();
    }
    if let Some(c) = &e.container {
        if m.runtime_name.as_deref() != Some(c.as_str()) {
            m.container_name = Some(c.clone());
        }
    }
    m.workload().or_else(|| e.pod.clone())
}
