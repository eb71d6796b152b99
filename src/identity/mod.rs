//! Workload identity: a memory cgroup path → the container, pod, compose service or systemd
//! unit on-call people name it by, from the node's own files (no runtime socket, no API
//! server), so it also works from a copied tree (`--host-root`) and after the container is gone.
//!
//! Two steps ([`Resolver::resolve`]):
//! 1. lexical ([`path::lexical`]): runtime hint, container ID, pod UID, QoS class, unit, conmon;
//! 2. files under the host root, chosen by the hint (the others only when the path names no
//!    runtime): Docker `config.v2.json`, containerd task bundles, CRI-O `userdata/config.json`,
//!    podman `containers.json` ([`files`], [`cri`]), then kubelet's `/var/log/containers`
//!    symlinks and `/var/log/pods` directories for what the runtime no longer has.
//!
//! Nothing resolves → no guessed name: the runtime and 12-character ID stay, the name fields are
//! `None` and [`Identity::unresolved`] says which file was missing or unreadable. A runtime's
//! own state ([`RuntimeState`], Docker's `OOMKilled`) is corroborating evidence only: podman
//! 4.3 wrote `OOMKilled=false` for a real kernel kill; the kernel stays the ground truth.
//! Source: `../shared/notes/container-identity.md`.

pub mod cri;
pub mod files;
pub mod kubelet;
pub mod path;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

pub use path::{lexical, Hint, Kind, Qos, Runtime};

/// A runtime's own record of the container's end (corroborating only, never the verdict).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RuntimeState {
    /// Docker's `State.OOMKilled`; `None` when the runtime does not record it.
    pub oom_killed: Option<bool>,
    /// `State.ExitCode`.
    pub exit_code: Option<i64>,
    /// `State.Running`.
    pub running: Option<bool>,
    /// `State.FinishedAt`, RFC 3339, when it has finished.
    pub finished_at: Option<String>,
}

/// What one runtime file gave (internal to the readers).
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Container name as the user knows it (Kubernetes container name, Docker name).
    pub container_name: Option<String>,
    /// The runtime's own name (Docker `Name`, `labproj_hogsvc_1`), for cAdvisor's `name`.
    pub runtime_name: Option<String>,
    /// Image as typed.
    pub image: Option<String>,
    /// Pod name.
    pub pod: Option<String>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Pod UID.
    pub pod_uid: Option<String>,
    /// `com.docker.compose.project`.
    pub compose_project: Option<String>,
    /// `com.docker.compose.service`.
    pub compose_service: Option<String>,
    /// Whether the file says this is a pod sandbox.
    pub sandbox: Option<bool>,
    /// Runtime state (Docker).
    pub state: Option<RuntimeState>,
    /// Files read.
    pub sources: Vec<PathBuf>,
}

/// Who a memory cgroup belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// The cgroup path as given (`/docker/<id>`); always kept, whatever resolved.
    pub cgroup: String,
    /// Runtime, from the path or from the file that resolved it.
    pub runtime: Option<Runtime>,
    /// What the cgroup is.
    pub kind: Kind,
    /// Container ID as the path spells it (12–64 hex).
    pub container_id: Option<String>,
    /// Container name: the Kubernetes container name, else the runtime's name (Docker's
    /// `Name` without `/`, podman's first name).
    pub container_name: Option<String>,
    /// The runtime's own container name (Docker `labproj_hogsvc_1`), cAdvisor's `name` label.
    pub runtime_name: Option<String>,
    /// Image as the user typed it (`clw-busybox:lab`), not the digest.
    pub image: Option<String>,
    /// Kubernetes pod name.
    pub pod: Option<String>,
    /// Kubernetes namespace.
    pub namespace: Option<String>,
    /// Kubernetes pod UID (dashes).
    pub pod_uid: Option<String>,
    /// Kubernetes QoS class, from the path.
    pub qos: Option<Qos>,
    /// Docker Compose project (`com.docker.compose.project`).
    pub compose_project: Option<String>,
    /// Docker Compose service (`com.docker.compose.service`).
    pub compose_service: Option<String>,
    /// systemd unit, from the path (`nginx.service`).
    pub unit: Option<String>,
    /// A pod sandbox (pause container): holds the pod's namespaces, not its workload.
    pub sandbox: bool,
    /// Files the names came from, as paths under the host root (empty: from the path alone).
    pub source: Vec<PathBuf>,
    /// Why names are missing: which file was absent or unreadable. `None` when resolved, or
    /// when the cgroup is not a container's (a unit, a slice).
    pub unresolved: Option<String>,
    /// The runtime's own record of the container's end (corroborating evidence only).
    pub runtime_state: Option<RuntimeState>,
}

fn short(id: &str) -> &str {
    prefix(id, 12)
}

/// The first `n` characters of `s` (a pod UID from a runtime's file may be any UTF-8: byte
/// slicing could split a character and panic).
fn prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

impl Identity {
    /// The identity the path alone gives.
    pub fn from_path(cgroup: &str) -> Identity {
        let h = lexical(cgroup);
        Identity {
            cgroup: cgroup.to_string(),
            runtime: h.runtime,
            kind: h.kind.unwrap_or(Kind::Other),
            container_id: h.container_id,
            container_name: None,
            runtime_name: None,
            image: None,
            pod: None,
            namespace: None,
            pod_uid: h.pod_uid,
            qos: h.qos,
            compose_project: None,
            compose_service: None,
            unit: h.unit,
            sandbox: false,
            source: Vec::new(),
            unresolved: None,
            runtime_state: None,
        }
    }

    /// Whether the cgroup is a workload's (a container, sandbox, conmon, pod or unit).
    pub fn is_workload(&self) -> bool {
        !matches!(self.kind, Kind::Other | Kind::Kubepods)
    }

    /// The label people use: `ns/pod/container`, `ns/pod` (a pod cgroup), `ns/pod (sandbox)`,
    /// `project/service`, `docker:name`, `podman:name`, `nginx.service`; for a container
    /// nothing names, the runtime and 12-character ID with "(unresolved)" (and the pod UID);
    /// `None` for a cgroup that is no workload's (a slice, `/`): show its path.
    pub fn workload(&self) -> Option<String> {
        let base = match self.kind {
            Kind::Other | Kind::Kubepods => return None,
            Kind::Unit => return self.unit.clone(),
            _ => self.base_label(),
        }?;
        Some(match (self.kind, self.sandbox) {
            (_, true) => match base.strip_suffix(" (unresolved)") {
                Some(b) => format!("{b} (sandbox, unresolved)"),
                None => format!("{base} (sandbox)"),
            },
            (Kind::Conmon, _) => format!("{base} (conmon)"),
            _ => base,
        })
    }

    fn base_label(&self) -> Option<String> {
        let id = self.container_id.as_deref().map(short);
        if let (Some(ns), Some(pod)) = (&self.namespace, &self.pod) {
            return Some(match (&self.container_name, self.kind, self.sandbox, id) {
                (_, Kind::Pod, _, _) | (_, _, true, _) => format!("{ns}/{pod}"),
                (Some(c), ..) => format!("{ns}/{pod}/{c}"),
                (None, _, _, Some(id)) => format!("{ns}/{pod}/{id} (container name unresolved)"),
                (None, _, _, None) => format!("{ns}/{pod}"),
            });
        }
        if let (Some(p), Some(s)) = (&self.compose_project, &self.compose_service) {
            return Some(format!("{p}/{s}"));
        }
        let rt = self.runtime.map(Runtime::as_str).unwrap_or("container");
        if let Some(n) = &self.container_name {
            return Some(format!("{rt}:{n}"));
        }
        let pod = self
            .pod_uid
            .as_deref()
            .map(|u| format!("pod {} ", prefix(u, 8)))
            .unwrap_or_default();
        match (self.kind, id) {
            (Kind::Pod, _) => self
                .pod_uid
                .as_ref()
                .map(|u| format!("pod {u} (unresolved)")),
            (_, Some(id)) => Some(format!("{pod}{rt} {id} (unresolved)")),
            _ => None,
        }
    }

    /// Whether `query` names this workload: `ns/pod/container`, `ns/pod`, `project/service`,
    /// a container name (also `docker:name`), a container ID prefix of at least 6 hex digits,
    /// a pod UID, or a unit (`nginx.service` or `nginx`).
    pub fn matches(&self, query: &str) -> bool {
        let q = query.trim().trim_start_matches('/');
        if q.is_empty() {
            return false;
        }
        let eq = |v: &Option<String>, s: &str| v.as_deref() == Some(s);
        let parts: Vec<&str> = q.split('/').collect();
        match parts.as_slice() {
            [ns, pod, ctr] => {
                eq(&self.namespace, ns) && eq(&self.pod, pod) && eq(&self.container_name, ctr)
            }
            [a, b] => {
                (eq(&self.namespace, a) && eq(&self.pod, b))
                    || (eq(&self.compose_project, a) && eq(&self.compose_service, b))
            }
            [one] => {
                let name = one
                    .split_once(':')
                    .map(|(rt, n)| (Some(rt), n))
                    .unwrap_or((None, one));
                let rt_ok = name
                    .0
                    .is_none_or(|rt| self.runtime.map(Runtime::as_str) == Some(rt));
                (rt_ok && (eq(&self.container_name, name.1) || eq(&self.runtime_name, name.1)))
                    || (one.len() >= 6
                        && one.bytes().all(|b| b.is_ascii_hexdigit())
                        && self
                            .container_id
                            .as_deref()
                            .is_some_and(|id| id.starts_with(one)))
                    || eq(&self.pod_uid, one)
                    || self
                        .unit
                        .as_deref()
                        .is_some_and(|u| u == *one || u.strip_suffix(".service") == Some(*one))
            }
            _ => false,
        }
    }
}

/// What validates a cached identity.
#[derive(Debug, Clone)]
enum Stamp {
    /// Resolved: valid while each file keeps its mtime.
    Files(Vec<(PathBuf, Option<SystemTime>)>),
    /// Not resolved: retried after [`Resolver::miss_ttl`].
    Miss(Instant),
}

/// Resolves cgroup paths to identities, caching for long-running commands (`serve`,
/// `--watch`): a hit is kept until one of its source files changes (mtime), a miss is retried
/// after [`Resolver::miss_ttl`] (30 s), and the kubelet log directories, containerd sandboxes
/// and podman's `containers.json` are indexed at most once per [`Resolver::refresh`].
#[derive(Debug)]
pub struct Resolver {
    host_root: PathBuf,
    /// Cgroup path → identity, what validates it, and the round it was last asked for (entries
    /// not asked for in the last round are dropped at [`Resolver::refresh`], so a long-running
    /// server's cache holds the cgroups of one round, not every container it ever saw).
    cache: HashMap<String, (Identity, Stamp, u64)>,
    round: u64,
    docker_root: Option<PathBuf>,
    kubelet: Option<kubelet::KubeletIndex>,
    sandboxes: Option<HashMap<String, (String, String, PathBuf)>>,
    podman: HashMap<Option<u32>, files::PodmanIndex>,
    /// How long a miss is kept before the files are read again (default 30 s).
    pub miss_ttl: Duration,
}

impl Resolver {
    /// A resolver reading the node's files under `host_root` (`/` on the node itself, the root
    /// of a copied tree or sosreport, `/host` in a DaemonSet).
    pub fn new(host_root: &Path) -> Resolver {
        Resolver {
            host_root: host_root.to_path_buf(),
            cache: HashMap::new(),
            round: 0,
            docker_root: None,
            kubelet: None,
            sandboxes: None,
            podman: HashMap::new(),
            miss_ttl: Duration::from_secs(30),
        }
    }

    /// The host root files are read under.
    pub fn host_root(&self) -> &Path {
        &self.host_root
    }

    /// Start a new round (a scrape, a `--watch` tick): indexes are rebuilt when next needed;
    /// cached identities of the cgroups asked for in the last round stay, checked against
    /// their files' mtimes; the others (cgroups gone since) are forgotten.
    pub fn refresh(&mut self) {
        let last = self.round;
        self.cache.retain(|_, e| e.2 == last);
        self.round += 1;
        self.kubelet = None;
        self.sandboxes = None;
        self.docker_root = None;
        self.podman.retain(|_, idx| !idx.stale());
    }

    /// The identity of `cgroup` (a path as `/proc/PID/cgroup`, the kernel or the cgroup tree
    /// print it). Never fails: what cannot be read is in [`Identity::unresolved`].
    pub fn resolve(&mut self, cgroup: &str) -> Identity {
        if let Some((id, stamp, round)) = self.cache.get_mut(cgroup) {
            let fresh = match stamp {
                Stamp::Files(fs) => fs.iter().all(|(p, t)| files::mtime(p) == *t),
                Stamp::Miss(at) => at.elapsed() < self.miss_ttl,
            };
            if fresh {
                *round = self.round;
                return id.clone();
            }
        }
        let id = self.resolve_uncached(cgroup);
        let stamp = if id.unresolved.is_some() {
            Stamp::Miss(Instant::now())
        } else {
            Stamp::Files(
                id.source
                    .iter()
                    .map(|p| (p.clone(), files::mtime(p)))
                    .collect(),
            )
        };
        self.cache
            .insert(cgroup.to_string(), (id.clone(), stamp, self.round));
        id
    }

    fn resolve_uncached(&mut self, cgroup: &str) -> Identity {
        let mut id = Identity::from_path(cgroup);
        let h = lexical(cgroup);
        let mut why: Vec<String> = Vec::new();
        if let Some(cid) = h.container_id.clone() {
            let order: Vec<Runtime> = match h.runtime {
                Some(rt) => vec![rt],
                None => vec![
                    Runtime::Containerd,
                    Runtime::CriO,
                    Runtime::Docker,
                    Runtime::Podman,
                ],
            };
            for rt in order {
                match self.read_runtime(rt, &cid, h.user_uid) {
                    Ok(f) => {
                        id.runtime = Some(rt);
                        apply(&mut id, f);
                        why.clear();
                        break;
                    }
                    Err(e) => why.push(e),
                }
            }
        }
        let k8s = h.kubepods || id.pod_uid.is_some() || id.namespace.is_some();
        let container_kind = matches!(id.kind, Kind::Container | Kind::Conmon);
        if k8s
            && (id.pod.is_none() || (container_kind && !id.sandbox && id.container_name.is_none()))
        {
            self.kubelet_fill(&mut id, &mut why);
        }
        // A sandbox is named by its pod alone; one whose pod is unknown is unresolved too.
        let needs_names = if id.sandbox {
            id.pod.is_none()
        } else {
            match id.kind {
                Kind::Container | Kind::Conmon | Kind::Sandbox => {
                    id.container_name.is_none() && !id.sandbox && id.pod.is_none()
                        || (k8s && !id.sandbox && id.container_name.is_none())
                }
                Kind::Pod => id.pod.is_none(),
                _ => false,
            }
        };
        if id.sandbox {
            id.kind = Kind::Sandbox;
        }
        if needs_names {
            why.dedup();
            id.unresolved = Some(if why.is_empty() {
                "no runtime file on this node names it".into()
            } else {
                why.join("; ")
            });
        }
        id
    }

    fn read_runtime(&mut self, rt: Runtime, cid: &str, user: Option<u32>) -> Result<Found, String> {
        let root = self.host_root.clone();
        match rt {
            Runtime::Docker => {
                let dr = self
                    .docker_root
                    .get_or_insert_with(|| files::docker_root(&root));
                files::docker(dr, cid)
            }
            Runtime::Containerd => cri::containerd(&root, cid),
            Runtime::CriO => cri::crio(&root, cid),
            Runtime::Podman => {
                let idx = self
                    .podman
                    .entry(user)
                    .or_insert_with(|| files::podman_index(&files::podman_roots(&root, user)));
                files::podman(idx, cid)
            }
        }
    }

    /// Pod names from a containerd sandbox bundle or `/var/log/pods`, the container name from
    /// `/var/log/containers` (exited containers, old containerd).
    fn kubelet_fill(&mut self, id: &mut Identity, why: &mut Vec<String>) {
        let root = self.host_root.clone();
        let kube = self
            .kubelet
            .get_or_insert_with(|| kubelet::kubelet_index(&root));
        if let Some(cid) = &id.container_id {
            if let Some((ns, pod, ctr, link)) = kube.container(cid).cloned() {
                id.namespace.get_or_insert(ns);
                id.pod.get_or_insert(pod);
                id.container_name.get_or_insert(ctr);
                id.source.push(link);
                return;
            }
            // The directory's own problem (absent, unreadable) when it has one.
            let dir = files::under(&root, "/var/log/containers");
            let prefix = format!("{} ", dir.display());
            why.push(
                kube.problems
                    .iter()
                    .find(|p| p.starts_with(&prefix))
                    .cloned()
                    .unwrap_or_else(|| {
                        format!("{} has no symlink for {}", dir.display(), short(cid))
                    }),
            );
        }
        let Some(uid) = id.pod_uid.clone() else {
            return;
        };
        if id.pod.is_some() {
            return;
        }
        let sandboxes = self.sandboxes.get_or_insert_with(|| {
            let mut all = cri::containerd_sandboxes(&root);
            for (uid, v) in cri::crio_sandboxes(&root) {
                all.entry(uid).or_insert(v);
            }
            all
        });
        if let Some((ns, pod, file)) = sandboxes.get(&uid).cloned() {
            id.namespace = Some(ns);
            id.pod = Some(pod);
            id.source.push(file);
            return;
        }
        let kube = self
            .kubelet
            .get_or_insert_with(|| kubelet::kubelet_index(&root));
        if let Some((ns, pod, dir)) = kube.pods.get(&uid).cloned() {
            id.namespace = Some(ns);
            id.pod = Some(pod);
            id.source.push(dir);
            return;
        }
        why.push(format!(
            "no sandbox bundle, CRI-O sandbox or {} directory for pod {uid}",
            files::under(&root, "/var/log/pods").display()
        ));
    }
}

fn apply(id: &mut Identity, f: Found) {
    id.container_name = f.container_name;
    id.runtime_name = f.runtime_name.or_else(|| id.container_name.clone());
    id.image = f.image;
    id.pod = f.pod;
    id.namespace = f.namespace;
    if f.pod_uid.is_some() {
        id.pod_uid = f.pod_uid;
    }
    id.compose_project = f.compose_project;
    id.compose_service = f.compose_service;
    id.sandbox = f.sandbox.unwrap_or(false);
    id.runtime_state = f.state;
    id.source = f.sources;
}

/// The cgroups among `candidates` whose identity [`Identity::matches`] `query`. When `query` is
/// `ns/pod` and the pod's own cgroup is among the matches, only it is returned (not each of
/// its containers).
pub fn find<'a>(
    resolver: &mut Resolver,
    query: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Vec<Identity> {
    let hits: Vec<Identity> = candidates
        .into_iter()
        .map(|c| resolver.resolve(c))
        .filter(|i| i.is_workload() && i.matches(query))
        .collect();
    if hits.len() > 1 {
        let pods: Vec<Identity> = hits
            .iter()
            .filter(|i| i.kind == Kind::Pod)
            .cloned()
            .collect();
        if pods.len() == 1 {
            return pods;
        }
        let not_sandbox: Vec<Identity> = hits
            .iter()
            .filter(|i| !i.sandbox && i.kind != Kind::Conmon)
            .cloned()
            .collect();
        if not_sandbox.len() == 1 {
            return not_sandbox;
        }
    }
    hits
}

#[cfg(test)]
mod tests;
