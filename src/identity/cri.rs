//! The file step, part two: what CRI runtimes and kubelet leave on the node.
//!
//! - containerd: the OCI bundle of a running task,
//!   `/run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/config.json` (k3s:
//!   `/run/k3s/containerd/…`; containerd 1.0/1.1: `io.containerd.runtime.v1.linux`), whose
//!   `annotations` carry `io.kubernetes.cri.{container-type,container-name,image-name,
//!   sandbox-id,sandbox-name,sandbox-namespace,sandbox-uid,sandbox-log-directory}`
//!   (containerd pkg/cri/annotations/annotations.go; old releases only `container-type`,
//!   `sandbox-id` and `sandbox-log-directory`). The directory is deleted when the task exits.
//! - CRI-O: `/run/containers/storage/overlay-containers/<id>/userdata/config.json`, annotations
//!   `io.kubernetes.cri-o.{ContainerType,ContainerName,ImageName,KubeName,Namespace,SandboxID,
//!   Labels}` and their renamed spellings `{container-type,…}.crio.io` (cri-o
//!   pkg/annotations: the `*.crio.io` keys replace the deprecated `io.kubernetes.cri-o.*`), plus
//!   kubelet's `io.kubernetes.{pod.name,pod.namespace,pod.uid,container.name}`.
//! - kubelet: `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`, a symlink into
//!   `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` (kubernetes
//!   pkg/kubelet/kuberuntime/helpers.go, legacy.go); it outlives the container until kubelet
//!   collects it. Pod and container names cannot hold `_`, namespaces are DNS labels, so the
//!   names split cleanly; the symlink name is cut at 255 bytes, so the target's directories are
//!   preferred.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::identity::files::{by_prefix, read_json, under, FILE_CAP};
use crate::identity::Found;

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

/// containerd's record of task `id` (full or unique prefix) in any namespace.
pub fn containerd(root: &Path, id: &str) -> Result<Found, String> {
    let dirs = containerd_task_dirs(root);
    if dirs.is_empty() {
        return Err(format!(
            "{} not present",
            under(root, "/run/containerd/io.containerd.runtime.v2.task").display()
        ));
    }
    let mut tried = Vec::new();
    for ns in &dirs {
        let bundle = if id.len() == 64 {
            ns.join(id)
        } else {
            match by_prefix(ns, id) {
                Ok(p) => p,
                Err(_) => continue,
            }
        };
        let path = bundle.join("config.json");
        if !bundle.exists() {
            continue;
        }
        let m = read_json(&path, FILE_CAP)?;
        let a = annotations(&m);
        let cri = |k: &str| a.get(&format!("io.kubernetes.cri.{k}")).cloned();
        let mut found = Found {
            container_name: cri("container-name"),
            image: cri("image-name"),
            pod: cri("sandbox-name"),
            namespace: cri("sandbox-namespace"),
            pod_uid: cri("sandbox-uid"),
            sandbox: cri("container-type").map(|t| t == "sandbox"),
            sources: vec![path.clone()],
            ..Found::default()
        };
        if found.pod.is_none() {
            // Old containerd: the sandbox's log directory names the pod.
            if let Some((ns, pod, uid)) = cri("sandbox-log-directory")
                .as_deref()
                .and_then(split_pod_dir)
            {
                found.namespace = Some(ns);
                found.pod = Some(pod);
                found.pod_uid = found.pod_uid.or(Some(uid));
            }
        }
        if found.pod.is_none() {
            if let Some(sid) = cri("sandbox-id").filter(|s| s != id) {
                if let Ok(sb) = read_json(&ns.join(&sid).join("config.json"), FILE_CAP) {
                    let sa = annotations(&sb);
                    let s = |k: &str| sa.get(&format!("io.kubernetes.cri.{k}")).cloned();
                    found.pod = s("sandbox-name");
                    found.namespace = s("sandbox-namespace");
                    found.pod_uid = found.pod_uid.or(s("sandbox-uid"));
                    found.sources.push(ns.join(&sid).join("config.json"));
                }
            }
        }
        return Ok(found);
    }
    tried.push(format!(
        "no containerd task {id} under {}",
        under(root, "/run/containerd").display()
    ));
    Err(tried.join("; "))
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
            let get = |k: &str| a.get(&format!("io.kubernetes.cri.{k}")).cloned();
            if get("container-type").as_deref() != Some("sandbox") {
                continue;
            }
            if let (Some(uid), Some(ns_), Some(pod)) = (
                get("sandbox-uid"),
                get("sandbox-namespace"),
                get("sandbox-name"),
            ) {
                out.insert(uid, (ns_, pod, path));
            }
        }
    }
    out
}

/// CRI-O's record of container `id` (full or unique prefix).
pub fn crio(root: &Path, id: &str) -> Result<Found, String> {
    let dir = under(root, "/run/containers/storage/overlay-containers");
    let cdir = if id.len() == 64 {
        dir.join(id)
    } else {
        by_prefix(&dir, id)?
    };
    let path = cdir.join("userdata/config.json");
    let m = read_json(&path, FILE_CAP)?;
    let a = annotations(&m);
    // Both spellings: `io.kubernetes.cri-o.ContainerType` and `container-type.crio.io`.
    let crio = |old: &str, new: &str| {
        a.get(&format!("io.kubernetes.cri-o.{old}"))
            .or_else(|| a.get(&format!("{new}.crio.io")))
            .filter(|s| !s.is_empty())
            .cloned()
    };
    let labels: HashMap<String, String> = crio("Labels", "labels")
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    let k8s = |k: &str| {
        a.get(&format!("io.kubernetes.{k}"))
            .or_else(|| labels.get(&format!("io.kubernetes.{k}")))
            .filter(|s| !s.is_empty())
            .cloned()
    };
    let sandbox = crio("ContainerType", "container-type").map(|t| t == "sandbox");
    Ok(Found {
        container_name: k8s("container.name").filter(|n| n != "POD"),
        runtime_name: crio("ContainerName", "container-name"),
        image: crio("ImageName", "image-name"),
        pod: k8s("pod.name").or_else(|| crio("KubeName", "kube-name")),
        namespace: k8s("pod.namespace").or_else(|| crio("Namespace", "namespace")),
        pod_uid: k8s("pod.uid"),
        sandbox,
        sources: vec![path],
        ..Found::default()
    })
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

/// `<pod>_<ns>_<container>-<64hex>.log` → (pod, namespace, container, id).
fn split_symlink_name(name: &str) -> Option<(String, String, String, String)> {
    let stem = name.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
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
                // /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log.
                if let Ok(target) = std::fs::read_link(e.path()) {
                    let t = target.to_string_lossy();
                    let parts: Vec<&str> = t.rsplitn(3, '/').collect();
                    if parts.len() == 3 {
                        if let Some((tns, tpod, _)) = split_pod_dir(parts[2]) {
                            ns = tns;
                            pod = tpod;
                            ctr = parts[1].to_string();
                        }
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
    /// The container of (full or prefix) ID `id`.
    pub fn container(&self, id: &str) -> Option<&(String, String, String, PathBuf)> {
        self.containers.get(id).or_else(|| {
            let mut it = self.containers.iter().filter(|(k, _)| k.starts_with(id));
            match (it.next(), it.next()) {
                (Some((_, v)), None) => Some(v),
                _ => None,
            }
        })
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
