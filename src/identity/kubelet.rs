//! The file step, part three: what kubelet leaves on the node for containers that are gone.
//!
//! kubelet's log directories: `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`, a symlink into
//! `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` (kubernetes
//! pkg/kubelet/kuberuntime/helpers.go, legacy.go); it outlives the container until kubelet
//! collects it. Pod and container names cannot hold `_`, namespaces are DNS labels, so the
//! names split cleanly; the symlink name is cut at 255 bytes, so the target's directories are
//! preferred.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::identity::files::under;

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
