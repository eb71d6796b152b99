//! The file step, part two: what CRI runtimes and kubelet leave on the node.
//!
//! - containerd: the OCI bundle of a running task,
//!   `/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json` (k3s:
//!   `/run/k3s/containerd/…`; containerd 1.0/1.1: `io.containerd.runtime.v1.linux`), whose
//!   `annotations` carry `io.kubernetes.cri.{container-type,container-name,image-name,
//!   sandbox-id,sandbox-name,sandbox-namespace,sandbox-uid,sandbox-log-directory}`
//!   (containerd pkg/cri/annotations/annotations.go; old releases only `container-type`,
//!   `sandbox-id` and `sandbox-log-directory`). The directory is deleted when the task exits.
//! - CRI-O: `<storage>/<driver>-containers/<id>/userdata/config.json`, in the run root
//!   (`/run/containers/storage`) and the graph root (`/var/lib/containers/storage`, which
//!   outlives a reboot; both from `/etc/containers/storage.conf`): CRI-O writes the file in both
//!   (cri-o server/container_create.go, sandbox_run_linux.go). Keys (cri-o
//!   internal/annotations/annotations.go): `io.kubernetes.cri-o.{ContainerType,Name,ImageName,
//!   Image,Metadata,Labels}` on every container, `io.kubernetes.cri-o.{KubeName,Namespace,
//!   ContainerName}` on sandboxes only, and kubelet's labels copied as top-level annotations
//!   `io.kubernetes.{pod.name,pod.namespace,pod.uid,container.name}`. CRI-O 1.35 renamed only
//!   the user-facing pod annotations to `*.crio.io` (`userns-mode.crio.io`, pkg/annotations/v2);
//!   these identity keys have one spelling, `io.kubernetes.cri-o.*`, in every release.
//! - kubelet: `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`, a symlink into
//!   `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` (kubernetes
//!   pkg/kubelet/kuberuntime/helpers.go, legacy.go); it outlives the container until kubelet
//!   collects it. Pod and container names cannot hold `_`, namespaces are DNS labels, so the
//!   names split cleanly; the symlink name is cut at 255 bytes, so the target's directories are
//!   preferred.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::Error;
use crate::identity::files::{by_prefix, read_json, storage_conf, under, why, FILE_CAP};
use crate::identity::Found;

fn is_full_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// containerd state directories under the host root, first the CRI namespace's.
pub fn containerd_task_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for state in ["/run/containerd", "/run/k3s/containerd"] {
        for rt in [
            "io.containerd.runtime.v2.task",
            "io.containerd.runtime.v1.linux",
        ] {
            let base = under(root, &format!("{state}/{rt}"));
            let Ok(rd) = std::fs::read_dir(&base) else {
                continue;
            };
            let mut nss: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
            // k8s.io (CRI) first, then the others (moby, default) in name order.
            nss.sort_by_key(|p| (!p.ends_with("k8s.io"), p.clone()));
            out.extend(nss);
        }
    }
    out
}

fn annotations(m: &serde_json::Map<String, Value>) -> HashMap<String, String> {
    m.get("annotations")
        .and_then(Value::as_object)
        .map(|a| {
            a.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// `/var/log/pods/<ns>_<pod>_<uid>` (or its last component) → (namespace, pod, uid).
pub fn split_pod_dir(dir: &str) -> Option<(String, String, String)> {
    let name = dir.trim_end_matches('/').rsplit('/').next()?;
    let mut it = name.split('_');
    let (ns, pod, uid) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || ns.is_empty() || pod.is_empty() || uid.len() < 32 {
        return None;
    }
    Some((ns.to_string(), pod.to_string(), uid.to_string()))
}

/// Why no containerd task directory could be listed: the first base that exists but cannot be
/// read, else "not present".
fn task_roots_problem(root: &Path) -> String {
    for state in ["/run/containerd", "/run/k3s/containerd"] {
        for rt in [
            "io.containerd.runtime.v2.task",
            "io.containerd.runtime.v1.linux",
        ] {
            let base = under(root, &format!("{state}/{rt}"));
            if let Err(e) = std::fs::read_dir(&base) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    return why(&base, &Error::io(&base, e));
                }
            }
        }
    }
    format!(
        "{} not present",
        under(root, "/run/containerd/io.containerd.runtime.v2.task").display()
    )
}

/// (namespace, pod, uid) from a sandbox bundle's annotations: the name keys, else (containerd
/// before 1.4 and k3s' vendored containerd/cri) its `sandbox-log-directory`.
fn sandbox_names(a: &HashMap<String, String>) -> (Option<String>, Option<String>, Option<String>) {
    let get = |k: &str| {
        a.get(&format!("io.kubernetes.cri.{k}"))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    let (ns, pod, uid) = (
        get("sandbox-namespace"),
        get("sandbox-name"),
        get("sandbox-uid"),
    );
    if ns.is_some() && pod.is_some() {
        return (ns, pod, uid);
    }
    match get("sandbox-log-directory")
        .as_deref()
        .and_then(split_pod_dir)
    {
        Some((n, p, u)) => (Some(n), Some(p), uid.or(Some(u))),
        None => (ns, pod, uid),
    }
}

/// containerd's record of task `id` (full or unique prefix) in any namespace.
pub fn containerd(root: &Path, id: &str) -> Result<Found, String> {
    let dirs = containerd_task_dirs(root);
    if dirs.is_empty() {
        return Err(task_roots_problem(root));
    }
    let mut problems = Vec::new();
    for ns in &dirs {
        let bundle = if id.len() == 64 {
            ns.join(id)
        } else {
            match by_prefix(ns, id) {
                Ok(p) => p,
                Err(e) => {
                    if !e.contains(" has no entry for ") {
                        problems.push(e);
                    }
                    continue;
                }
            }
        };
        match std::fs::metadata(&bundle) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                problems.push(why(&bundle, &Error::io(&bundle, e)));
                continue;
            }
        }
        let path = bundle.join("config.json");
        let m = read_json(&path, FILE_CAP)?;
        let a = annotations(&m);
        let cri = |k: &str| {
            a.get(&format!("io.kubernetes.cri.{k}"))
                .filter(|v| !v.is_empty())
                .cloned()
        };
        let sandbox = cri("container-type").map(|t| t == "sandbox");
        let (namespace, pod, pod_uid) = if sandbox == Some(true) {
            sandbox_names(&a)
        } else {
            (
                cri("sandbox-namespace"),
                cri("sandbox-name"),
                cri("sandbox-uid"),
            )
        };
        let mut found = Found {
            container_name: cri("container-name"),
            image: cri("image-name"),
            pod,
            namespace,
            pod_uid,
            sandbox,
            sources: vec![path.clone()],
            ..Found::default()
        };
        if found.pod.is_none() {
            // Old containerd: a container's bundle names only its sandbox; the sandbox's
            // bundle has the names or the pod's log directory.
            if let Some(sid) = cri("sandbox-id").filter(|s| s != id && is_full_id(s)) {
                let sb_path = ns.join(&sid).join("config.json");
                if let Ok(sb) = read_json(&sb_path, FILE_CAP) {
                    let (n, p, u) = sandbox_names(&annotations(&sb));
                    if p.is_some() {
                        found.namespace = n;
                        found.pod = p;
                        found.pod_uid = found.pod_uid.or(u);
                        found.sources.push(sb_path);
                    }
                }
            }
        }
        return Ok(found);
    }
    problems.insert(
        0,
        format!(
            "no containerd task {id} under {}",
            under(root, "/run/containerd").display()
        ),
    );
    Err(problems.join("; "))
}

/// Every containerd sandbox bundle on the node: pod UID → (namespace, pod, bundle file).
pub fn containerd_sandboxes(root: &Path) -> HashMap<String, (String, String, PathBuf)> {
    let mut out = HashMap::new();
    for ns in containerd_task_dirs(root) {
        let Ok(rd) = std::fs::read_dir(&ns) else {
            continue;
        };
        for e in rd.flatten() {
            let path = e.path().join("config.json");
            let Ok(m) = read_json(&path, FILE_CAP) else {
                continue;
            };
            let a = annotations(&m);
            if a.get("io.kubernetes.cri.container-type")
                .map(String::as_str)
                != Some("sandbox")
            {
                continue;
            }
            if let (Some(ns_), Some(pod), Some(uid)) = sandbox_names(&a) {
                out.insert(uid, (ns_, pod, path));
            }
        }
    }
    out
}

/// containers/storage roots CRI-O writes `userdata/config.json` under: the run root first
/// (`runroot`, default `/run/containers/storage`), then the graph root (`graphroot`, default
/// `/var/lib/containers/storage`), each as a path under `root`.
pub fn crio_storage_roots(root: &Path) -> Vec<PathBuf> {
    [
        ("runroot", "/run/containers/storage"),
        ("graphroot", "/var/lib/containers/storage"),
    ]
    .iter()
    .map(|(key, default)| under(root, storage_conf(root, key).as_deref().unwrap_or(default)))
    .collect()
}

/// Every CRI-O sandbox in containers/storage's `containers.json` (graph root): pod UID →
/// (namespace, pod, file). CRI-O's entries carry `pod-id`, and a sandbox's also `uid`,
/// `namespace` and `metadata-name` (its pod's name) in their metadata (cri-o
/// internal/storage/runtime.go `RuntimeContainerMetadata`); podman's carry none of them.
pub fn crio_sandboxes(root: &Path) -> HashMap<String, (String, String, PathBuf)> {
    let mut out = HashMap::new();
    for storage in crio_storage_roots(root) {
        let Ok(rd) = std::fs::read_dir(&storage) else {
            continue;
        };
        for e in rd.flatten() {
            if !e
                .file_name()
                .to_str()
                .is_some_and(|n| n.ends_with("-containers"))
            {
                continue;
            }
            let path = e.path().join("containers.json");
            let Ok(buf) = crate::base::input::read_capped(
                &path,
                crate::base::input::Accept::Regular,
                crate::identity::files::LIST_CAP,
                "containers.json",
            ) else {
                continue;
            };
            let Ok(Value::Array(list)) = serde_json::from_slice::<Value>(&buf) else {
                continue;
            };
            for c in list {
                let Some(meta) = c
                    .get("metadata")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str::<Value>(s).ok())
                else {
                    continue;
                };
                let get = |k: &str| {
                    meta.get(k)
                        .and_then(Value::as_str)
                        .filter(|v| !v.is_empty())
                        .map(str::to_string)
                };
                if get("pod-id").is_none() {
                    continue;
                }
                if let (Some(uid), Some(ns), Some(pod)) =
                    (get("uid"), get("namespace"), get("metadata-name"))
                {
                    out.entry(uid).or_insert((ns, pod, path.clone()));
                }
            }
        }
    }
    out
}

/// CRI-O's record of container `id` (full or unique prefix): the first readable
/// `<storage>/<driver>-containers/<id>/userdata/config.json` of [`crio_storage_roots`].
pub fn crio(root: &Path, id: &str) -> Result<Found, String> {
    let mut problems = Vec::new();
    for storage in crio_storage_roots(root) {
        let drivers: Vec<PathBuf> = match std::fs::read_dir(&storage) {
            Ok(rd) => {
                let mut d: Vec<PathBuf> = rd
                    .flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_str()
                            .is_some_and(|n| n.ends_with("-containers"))
                    })
                    .map(|e| e.path())
                    .collect();
                d.sort();
                d
            }
            Err(e) => {
                problems.push(why(&storage, &Error::io(&storage, e)));
                continue;
            }
        };
        for dir in drivers {
            let cdir = if id.len() == 64 {
                dir.join(id)
            } else {
                match by_prefix(&dir, id) {
                    Ok(p) => p,
                    Err(e) => {
                        if !e.contains(" has no entry for ") {
                            problems.push(e);
                        }
                        continue;
                    }
                }
            };
            let path = cdir.join("userdata/config.json");
            match std::fs::symlink_metadata(&cdir) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    problems.push(why(&cdir, &Error::io(&cdir, e)));
                    continue;
                }
            }
            match read_json(&path, FILE_CAP).and_then(|m| crio_found(&m, &path)) {
                Ok(f) => return Ok(f),
                Err(e) => problems.push(e),
            }
        }
    }
    if problems.iter().all(|p| p.ends_with(" not present")) {
        problems.insert(0, format!("no CRI-O container {id}"));
    }
    Err(problems.join("; "))
}

/// The identity in one CRI-O `config.json`; `Err` when it names nothing.
fn crio_found(m: &serde_json::Map<String, Value>, path: &Path) -> Result<Found, String> {
    let a = annotations(m);
    let crio = |k: &str| {
        a.get(&format!("io.kubernetes.cri-o.{k}"))
            .filter(|s| !s.is_empty())
            .cloned()
    };
    let json_map = |k: &str| -> HashMap<String, Value> {
        crio(k)
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    };
    let labels = json_map("Labels");
    // Sandbox: PodSandboxMetadata {name, uid, namespace, attempt}; container:
    // ContainerMetadata {name, attempt}.
    let meta = json_map("Metadata");
    let meta_str = |k: &str| {
        meta.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let k8s = |k: &str| {
        let key = format!("io.kubernetes.{k}");
        a.get(&key)
            .cloned()
            .or_else(|| labels.get(&key).and_then(Value::as_str).map(str::to_string))
            .filter(|s| !s.is_empty())
    };
    let sandbox = crio("ContainerType").map(|t| t == "sandbox");
    let is_sandbox = sandbox == Some(true);
    let found = Found {
        container_name: if is_sandbox {
            None
        } else {
            k8s("container.name")
                .or_else(|| meta_str("name"))
                .filter(|n| n != "POD")
        },
        runtime_name: crio("Name").or_else(|| crio("ContainerName")),
        image: crio("ImageName").or_else(|| crio("Image")),
        pod: k8s("pod.name").or_else(|| {
            is_sandbox
                .then(|| crio("KubeName").or_else(|| meta_str("name")))
                .flatten()
        }),
        namespace: k8s("pod.namespace").or_else(|| {
            is_sandbox
                .then(|| crio("Namespace").or_else(|| meta_str("namespace")))
                .flatten()
        }),
        pod_uid: k8s("pod.uid").or_else(|| is_sandbox.then(|| meta_str("uid")).flatten()),
        sandbox,
        sources: vec![path.to_path_buf()],
        ..Found::default()
    };
    if found.sandbox.is_none()
        && found.container_name.is_none()
        && found.pod.is_none()
        && found.image.is_none()
    {
        return Err(format!(
            "{} has no io.kubernetes.cri-o.* or io.kubernetes.* annotations",
            path.display()
        ));
    }
    Ok(found)
}

/// What kubelet's log directories say, indexed once per refresh.
#[derive(Debug, Clone, Default)]
pub struct KubeletIndex {
    /// Container ID → (namespace, pod, container, symlink path).
    pub containers: HashMap<String, (String, String, String, PathBuf)>,
    /// Pod UID → (namespace, pod, pod log directory).
    pub pods: HashMap<String, (String, String, PathBuf)>,
    /// Why a directory could not be listed.
    pub problems: Vec<String>,
}

/// kubelet cuts a symlink name to 255 bytes, `.log` included (kubernetes
/// pkg/kubelet/kuberuntime/legacy.go `logSymlink`, ext4's limit).
const MAX_LINK_NAME: usize = 255;

/// `<pod>_<ns>_<container>-<64hex>.log` → (pod, namespace, container, id). A name kubelet cut
/// at 255 bytes keeps the start of the ID: at least 12 hex digits of it give an ID prefix
/// (the pod, namespace and container before it are whole); a name cut before that gives none.
fn split_symlink_name(name: &str) -> Option<(String, String, String, String)> {
    let stem = name.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    let cut = name.len() == MAX_LINK_NAME;
    let id_ok = (id.len() == 64 || (cut && (12..64).contains(&id.len())))
        && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !id_ok {
        return None;
    }
    let mut it = rest.splitn(3, '_');
    let (pod, ns, ctr) = (it.next()?, it.next()?, it.next()?);
    if pod.is_empty() || ns.is_empty() || ctr.is_empty() || ctr.contains('_') {
        return None;
    }
    Some((pod.into(), ns.into(), ctr.into(), id.into()))
}

/// List `/var/log/containers` and `/var/log/pods` under `root`. Symlinks are read, never
/// followed (a loop or a link out of the tree costs nothing).
pub fn kubelet_index(root: &Path) -> KubeletIndex {
    let mut idx = KubeletIndex::default();
    let cdir = under(root, "/var/log/containers");
    match std::fs::read_dir(&cdir) {
        Ok(rd) => {
            for e in rd.flatten() {
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let Some((mut pod, mut ns, mut ctr, id)) = split_symlink_name(&name) else {
                    continue;
                };
                // Prefer the target's directories (the link name may be cut at 255 bytes):
                // /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log. A target that is not
                // UTF-8 is no kubelet's (names are DNS labels): the link name stands.
                let target = std::fs::read_link(e.path()).ok();
                let mut from_target = false;
                if let Some(t) = target.as_deref().and_then(Path::to_str) {
                    let parts: Vec<&str> = t.rsplitn(3, '/').collect();
                    if parts.len() == 3 {
                        if let Some((tns, tpod, _)) = split_pod_dir(parts[2]) {
                            from_target = true;
                            ns = tns;
                            pod = tpod;
                            ctr = parts[1].to_string();
                        }
                    }
                }
                if id.len() < 64 && !from_target {
                    // A cut name whose target does not confirm it: not enough to name it.
                    continue;
                }
                // kubelet before 1.14: /var/log/pods/<uid>/<container>/<n>.log (or
                // <container>_<n>.log before 1.10): the pod directory names no pod, the link
                // name beside it does.
                if let Some(uid) = target
                    .as_deref()
                    .and_then(Path::to_str)
                    .and_then(|t| t.strip_prefix("/var/log/pods/"))
                    .and_then(|t| t.split('/').next())
                    .filter(|u| {
                        u.len() >= 32 && u.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
                    })
                {
                    if !from_target {
                        idx.pods
                            .entry(uid.to_string())
                            .or_insert_with(|| (ns.clone(), pod.clone(), e.path()));
                    }
                }
                idx.containers.insert(id, (ns, pod, ctr, e.path()));
            }
        }
        Err(e) => idx.problems.push(crate::identity::files::why(
            &cdir,
            &crate::error::Error::io(&cdir, e),
        )),
    }
    let pdir = under(root, "/var/log/pods");
    match std::fs::read_dir(&pdir) {
        Ok(rd) => {
            for e in rd.flatten() {
                if let Some((ns, pod, uid)) = e.file_name().to_str().and_then(split_pod_dir) {
                    idx.pods.insert(uid, (ns, pod, e.path()));
                }
            }
        }
        Err(e) => idx.problems.push(crate::identity::files::why(
            &pdir,
            &crate::error::Error::io(&pdir, e),
        )),
    }
    idx
}

impl KubeletIndex {
    /// The container of (full or prefix) ID `id`; also a link whose name kubelet cut to 255
    /// bytes, keyed by the ID prefix it kept (at least 12 hex digits), when that prefix is
    /// the only one `id` starts with.
    pub fn container(&self, id: &str) -> Option<&(String, String, String, PathBuf)> {
        fn unique<T>(mut it: impl Iterator<Item = T>) -> Option<T> {
            match (it.next(), it.next()) {
                (Some(v), None) => Some(v),
                _ => None,
            }
        }
        let by_prefix = || unique(self.containers.iter().filter(|(k, _)| k.starts_with(id)));
        let by_cut = || {
            unique(
                self.containers
                    .iter()
                    .filter(|(k, _)| k.len() < 64 && id.starts_with(k.as_str())),
            )
        };
        self.containers
            .get(id)
            .or_else(|| by_prefix().map(|(_, v)| v))
            .or_else(|| by_cut().map(|(_, v)| v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_names_split_cleanly() {
        let id = "29ed1c24aa55".repeat(5) + "abcd";
        let (pod, ns, ctr, got) =
            split_symlink_name(&format!("web-5d8f7c9b4-x2x9z_shop_hog-{id}.log")).unwrap();
        assert_eq!(
            (pod.as_str(), ns.as_str(), ctr.as_str()),
            ("web-5d8f7c9b4-x2x9z", "shop", "hog")
        );
        assert_eq!(got, id);
        assert!(split_symlink_name("web_shop_hog-123.log").is_none());
        assert!(split_symlink_name("random.log").is_none());
        let (ns, pod, uid) = split_pod_dir(
            "/var/log/pods/shop_web-5d8f7c9b4-x2x9z_0f1e2d3c-4b5a-6978-8877-665544332211",
        )
        .unwrap();
        assert_eq!((ns.as_str(), pod.as_str()), ("shop", "web-5d8f7c9b4-x2x9z"));
        assert_eq!(uid, "0f1e2d3c-4b5a-6978-8877-665544332211");
        assert!(split_pod_dir("0f1e2d3c-4b5a-6978-8877-665544332211").is_none());
    }
}
