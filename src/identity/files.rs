//! The file step, part one: reading a runtime's JSON file bounded, and Docker's and podman's
//! files. Every reader returns what it found or why it found nothing (one line naming the file);
//! none fails the command.
//!
//! - Docker: `<data-root>/containers/<id>/config.v2.json` (Moby daemon/container; private, but
//!   the same keys since Docker 1.10): `Name`, `Config.Image`, `Config.Labels`, `State`.
//!   `data-root` (or the old `graph`) from `/etc/docker/daemon.json`, default `/var/lib/docker`.
//! - podman: containers/storage's `<graphroot>/<driver>-containers/containers.json` (`id`,
//!   `names`, `metadata` = a JSON string with `image-name` and `name`); rootful graph root
//!   `/var/lib/containers/storage` (or `graphroot` of `/etc/containers/storage.conf`),
//!   rootless `~/.local/share/containers/storage` of the user in `user-<uid>.slice`.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;

use crate::base::input::{self, Accept};
use crate::error::Error;
use crate::identity::{Found, RuntimeState};

/// Largest container file read: 4 MiB (a `config.v2.json` or OCI `config.json` is a few KiB).
pub const FILE_CAP: u64 = 4 << 20;
/// Largest `containers.json` read: 64 MiB (about 1 KiB per container).
pub const LIST_CAP: u64 = 64 << 20;

/// `root` + an absolute node path (`/var/lib/docker` under `--host-root /mnt/node`). The node
/// path comes from the node's own files (`data-root`, `graphroot`, a home directory), so `..`
/// is resolved lexically and never climbs above `root`: a copied tree's
/// `"data-root": "/../../var/lib/docker"` must not name the analysing machine's containers.
pub fn under(root: &Path, node_path: &str) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in Path::new(node_path).components() {
        match c {
            std::path::Component::Normal(n) => parts.push(n),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let mut p = root.to_path_buf();
    p.extend(parts);
    p
}

/// The current uid, for "not readable as uid N".
fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Why a file gave nothing, in one line: "not present", "not readable as uid N", …
pub fn why(path: &Path, e: &Error) -> String {
    // `Error::io` turns EACCES into `Error::PermissionDenied`, so match both shapes.
    let io_kind = match e {
        Error::Io { source, .. } => Some(source.kind()),
        Error::PermissionDenied { .. } => Some(io::ErrorKind::PermissionDenied),
        _ => None,
    };
    match io_kind {
        Some(io::ErrorKind::NotFound) => format!("{} not present", path.display()),
        Some(io::ErrorKind::PermissionDenied) => {
            format!("{} not readable as uid {}", path.display(), uid())
        }
        _ => crate::base::text::one_line(&e.to_string()),
    }
}

/// Read a JSON object from `path`, at most `cap` bytes, regular files only (a FIFO, device or
/// directory is refused, never waited on). `Err` is the one-line reason.
pub fn read_json(path: &Path, cap: u64) -> Result<serde_json::Map<String, Value>, String> {
    let buf = input::read_capped(path, Accept::Regular, cap, "a container runtime's file")
        .map_err(|e| why(path, &e))?;
    match serde_json::from_slice::<Value>(&buf) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("{} is not a JSON object", path.display())),
        Err(e) => Err(format!(
            "{} is not valid JSON (line {}, column {}: {})",
            path.display(),
            e.line(),
            e.column(),
            e.classify_name()
        )),
    }
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// `m[a][b]…` as a non-empty string.
pub fn str_at<'a>(m: &'a serde_json::Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    let (first, rest) = keys.split_first()?;
    let mut v = m.get(*first)?;
    for k in rest {
        v = v.get(k)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

/// Modification time, for the cache (`None` when the file cannot be stat'ed).
pub fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The one directory entry of `dir` that starts with `prefix` (a short container ID), or why not.
pub fn by_prefix(dir: &Path, prefix: &str) -> Result<PathBuf, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| why(dir, &Error::io(dir, e)))?;
    let mut hits = rd
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(prefix))
        })
        .map(|e| e.path());
    match (hits.next(), hits.next()) {
        (Some(p), None) => Ok(p),
        (None, _) => Err(format!("{} has no entry for {prefix}", dir.display())),
        (Some(_), Some(_)) => Err(format!(
            "{} has several entries for {prefix}",
            dir.display()
        )),
    }
}

/// Docker's `data-root` on the node (`/etc/docker/daemon.json`), as a path under `root`.
pub fn docker_root(root: &Path) -> PathBuf {
    let conf = under(root, "/etc/docker/daemon.json");
    let configured = read_json(&conf, FILE_CAP).ok().and_then(|m| {
        str_at(&m, &["data-root"])
            .or_else(|| str_at(&m, &["graph"]))
            .map(str::to_string)
    });
    under(root, configured.as_deref().unwrap_or("/var/lib/docker"))
}

/// Docker's record of container `id` (full or unique prefix) under `data_root`.
pub fn docker(data_root: &Path, id: &str) -> Result<Found, String> {
    let dir = data_root.join("containers");
    let cdir = if id.len() == 64 {
        dir.join(id)
    } else {
        by_prefix(&dir, id)?
    };
    let path = cdir.join("config.v2.json");
    let m = read_json(&path, FILE_CAP)?;
    let label = |k: &str| str_at(&m, &["Config", "Labels", k]).map(str::to_string);
    let k8s_type = label("io.kubernetes.docker.type");
    let state = m.get("State").map(|s| RuntimeState {
        oom_killed: s.get("OOMKilled").and_then(Value::as_bool),
        exit_code: s.get("ExitCode").and_then(Value::as_i64),
        running: s.get("Running").and_then(Value::as_bool),
        finished_at: s
            .get("FinishedAt")
            .and_then(Value::as_str)
            .filter(|t| !t.starts_with("0001-"))
            .map(str::to_string),
    });
    let k8s_name = label("io.kubernetes.container.name").filter(|n| n != "POD");
    Ok(Found {
        container_name: k8s_name
            .or_else(|| str_at(&m, &["Name"]).map(|n| n.trim_start_matches('/').to_string())),
        runtime_name: str_at(&m, &["Name"]).map(|n| n.trim_start_matches('/').to_string()),
        image: str_at(&m, &["Config", "Image"]).map(str::to_string),
        pod: label("io.kubernetes.pod.name"),
        namespace: label("io.kubernetes.pod.namespace"),
        pod_uid: label("io.kubernetes.pod.uid"),
        compose_project: label("com.docker.compose.project"),
        compose_service: label("com.docker.compose.service"),
        sandbox: Some(k8s_type.as_deref() == Some("podsandbox")),
        state,
        sources: vec![path],
    })
}

/// One container of a `containers.json`.
#[derive(Debug, Clone)]
pub struct PodmanEntry {
    name: Option<String>,
    image: Option<String>,
}

/// A parsed `containers.json`, kept while its mtime holds.
#[derive(Debug, Clone, Default)]
pub struct PodmanIndex {
    files: Vec<(PathBuf, Option<SystemTime>)>,
    by_id: HashMap<String, (PodmanEntry, PathBuf)>,
    problems: Vec<String>,
}

impl PodmanIndex {
    /// Whether any file changed since it was read.
    pub fn stale(&self) -> bool {
        self.files.iter().any(|(p, t)| mtime(p) != *t)
    }
}

/// A `key = "value"` of `/etc/containers/storage.conf` under `root` (`graphroot`, `runroot`);
/// `None` when the file or the key is absent or unreadable.
pub fn storage_conf(root: &Path, key: &str) -> Option<String> {
    let conf = under(root, "/etc/containers/storage.conf");
    let b = input::read_capped(&conf, Accept::Regular, FILE_CAP, "storage.conf").ok()?;
    String::from_utf8_lossy(&b).lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key)
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|v| v.starts_with('/'))
    })
}

/// containers/storage graph roots to look in: the configured or default rootful one, and the
/// rootless one of `user_uid` (home from `/etc/passwd` under `root`).
pub fn podman_roots(root: &Path, user_uid: Option<u32>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let configured = storage_conf(root, "graphroot");
    out.push(under(
        root,
        configured
            .as_deref()
            .unwrap_or("/var/lib/containers/storage"),
    ));
    if let Some(u) = user_uid {
        let passwd = under(root, "/etc/passwd");
        if let Ok(b) = input::read_capped(&passwd, Accept::Regular, FILE_CAP, "/etc/passwd") {
            let text = String::from_utf8_lossy(&b);
            if let Some(home) = text.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(u)).then(|| f[5].to_string())
            }) {
                out.push(under(
                    root,
                    &format!("{home}/.local/share/containers/storage"),
                ));
            }
        }
    }
    out
}

/// Read every `<driver>-containers/containers.json` under the graph roots.
pub fn podman_index(roots: &[PathBuf]) -> PodmanIndex {
    let mut idx = PodmanIndex::default();
    for r in roots {
        let Ok(rd) = std::fs::read_dir(r) else {
            idx.problems.push(format!("{} not present", r.display()));
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if !name.to_str().is_some_and(|n| n.ends_with("-containers")) {
                continue;
            }
            let path = e.path().join("containers.json");
            idx.files.push((path.clone(), mtime(&path)));
            let buf = match input::read_capped(&path, Accept::Regular, LIST_CAP, "containers.json")
            {
                Ok(b) => b,
                Err(e) => {
                    idx.problems.push(why(&path, &e));
                    continue;
                }
            };
            let list = match serde_json::from_slice::<Value>(&buf) {
                Ok(Value::Array(a)) => a,
                _ => {
                    idx.problems.push(format!(
                        "{} is not a JSON list of containers",
                        path.display()
                    ));
                    continue;
                }
            };
            for c in list {
                let Some(id) = c.get("id").and_then(Value::as_str) else {
                    continue;
                };
                let meta: Option<Value> = c
                    .get("metadata")
                    .and_then(Value::as_str)
                    .and_then(|s| serde_json::from_str(s).ok());
                // CRI-O shares containers/storage: its entries carry `pod-id` (cri-o
                // internal/storage/runtime.go) and are CRI-O's, not podman's.
                if meta.as_ref().is_some_and(|m| m.get("pod-id").is_some()) {
                    continue;
                }
                let meta_str = |k: &str| {
                    meta.as_ref()
                        .and_then(|m| m.get(k))
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                };
                let name = c
                    .get("names")
                    .and_then(|n| n.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| meta_str("name"));
                let entry = PodmanEntry {
                    name,
                    image: meta_str("image-name"),
                };
                idx.by_id.insert(id.to_string(), (entry, path.clone()));
            }
        }
    }
    idx
}

/// podman's record of container `id` (full or unique prefix) in `idx`.
pub fn podman(idx: &PodmanIndex, id: &str) -> Result<Found, String> {
    let hit = idx.by_id.get(id).or_else(|| {
        let mut it = idx.by_id.iter().filter(|(k, _)| k.starts_with(id));
        match (it.next(), it.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    });
    match hit {
        Some((e, path)) => Ok(Found {
            container_name: e.name.clone(),
            runtime_name: e.name.clone(),
            image: e.image.clone(),
            sources: vec![path.clone()],
            ..Found::default()
        }),
        None if idx.files.is_empty() => Err(if idx.problems.is_empty() {
            "no podman containers.json on this node".into()
        } else {
            idx.problems.join("; ")
        }),
        None => {
            let mut why = format!(
                "{} has no container {id}",
                idx.files
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for p in &idx.problems {
                why.push_str("; ");
                why.push_str(p);
            }
            Err(why)
        }
    }
}
