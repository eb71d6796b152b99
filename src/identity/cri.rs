//! The file step, part two: what the CRI runtimes (containerd, CRI-O) leave on the node.
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

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::Error;
use crate::identity::files::{by_prefix, read_json, storage_conf, under, why, FILE_CAP};
use crate::identity::kubelet::split_pod_dir;
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
