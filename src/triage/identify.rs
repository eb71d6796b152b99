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
    // A systemd line names its unit itself (`mariadb.service: A process of this unit …`).
    let log_named =
        e.namespace.is_some() || e.pod.is_some() || e.container.is_some() || e.unit.is_some();
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
    e.identity = id.filter(|_| files_read).map(Box::new);
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
    let rt = id
        .runtime
        .map(identity::Runtime::as_str)
        .unwrap_or("the runtime");
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
        _ => return e.unit.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::event::SourceRef;

    const ID: &str = "4f9a2c1be07d0a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123";
    const UID: &str = "0f1e2d3c-4b5a-6978-8877-665544332211";

    /// A host tree where kubelet's symlink (simulated) names the container `shop/web-1/hog`.
    fn host() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let logs = t.path().join("var/log/containers");
        std::fs::create_dir_all(&logs).unwrap();
        std::os::unix::fs::symlink(
            format!("/var/log/pods/shop_web-1_{UID}/hog/0.log"),
            logs.join(format!("web-1_shop_hog-{ID}.log")),
        )
        .unwrap();
        t
    }

    fn kill(memcg: &str) -> Event {
        let mut e = Event::new(Kind::CgroupOomKill, "x", SourceRef::line("kern.log", 1));
        e.set_memcg(memcg);
        e
    }

    #[test]
    fn the_logs_names_win_and_a_disagreement_is_noted() {
        let t = host();
        let mut r = Resolver::new(t.path());
        let memcg = format!("/kubepods/burstable/pod{UID}/{ID}");
        // The log names the pod (as a kubelet event would), differently from the files.
        let mut e = kill(&memcg);
        e.namespace = Some("shop".into());
        e.pod = Some("web-2".into());
        identify(&mut e, Some(&mut r));
        assert_eq!(e.pod.as_deref(), Some("web-2"));
        assert_eq!(e.container.as_deref(), Some("hog"));
        assert_eq!(e.workload.as_deref(), Some("shop/web-2/hog"));
        assert_eq!(e.identity_source, Some(IdentitySource::LogAndNodeFiles));
        assert_eq!(e.notes.len(), 1, "{:?}", e.notes);
        assert!(
            e.notes[0].contains("the log names pod \"web-2\"")
                && e.notes[0].contains("now say \"web-1\"")
                && e.notes[0].contains("the log's is kept"),
            "{:?}",
            e.notes
        );
        // The resolver's answer is kept as it is.
        assert_eq!(e.identity.as_ref().unwrap().pod.as_deref(), Some("web-1"));

        // Agreeing names: no note, the source is the log's plus the files'.
        let mut e = kill(&memcg);
        e.pod = Some("web-1".into());
        e.namespace = Some("shop".into());
        identify(&mut e, Some(&mut r));
        assert!(e.notes.is_empty(), "{:?}", e.notes);
        assert_eq!(e.workload.as_deref(), Some("shop/web-1/hog"));

        // Only the files name it.
        let mut e = kill(&memcg);
        identify(&mut e, Some(&mut r));
        assert_eq!(e.identity_source, Some(IdentitySource::NodeFiles));

        // Without a resolver: the path's own facts, no names, no identity object.
        let mut e = kill(&memcg);
        identify(&mut e, None);
        assert_eq!(
            (
                e.container.as_deref(),
                e.identity_source,
                e.identity.is_none()
            ),
            (None, None, true)
        );
        assert_eq!(e.pod_uid.as_deref(), Some(UID));

        // A unit is named by the path the log prints: the log's own name.
        let mut e = kill("/system.slice/nginx.service");
        identify(&mut e, Some(&mut r));
        assert_eq!(e.workload.as_deref(), Some("nginx.service"));
        assert_eq!(e.unit.as_deref(), Some("nginx.service"));
        assert_eq!(e.identity_source, Some(IdentitySource::Log));
        // A systemd line naming its unit, no memcg: the log's.
        let mut e = Event::new(Kind::SystemdUnitOom, "x", SourceRef::line("syslog", 1));
        e.unit = Some("mariadb.service".into());
        identify(&mut e, Some(&mut r));
        assert_eq!(e.workload.as_deref(), Some("mariadb.service"));
        assert_eq!(e.identity_source, Some(IdentitySource::Log));
        // A plain cgroup names nothing.
        let mut e = kill("/clw-lab/runc-hog");
        identify(&mut e, Some(&mut r));
        assert_eq!((e.workload, e.identity_source), (None, None));
    }
}
