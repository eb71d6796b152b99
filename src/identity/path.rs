//! The lexical step: what a memory cgroup path alone says about its workload.
//!
//! Shapes (as `/proc/PID/cgroup`, the cgroup tree and the kernel's `oom_memcg=`/`task_memcg=`
//! print them; `../shared/notes/container-identity.md` §1.1, Netdata's cgroup-name.sh.in):
//!
//! | runtime / driver | container cgroup |
//! | --- | --- |
//! | docker, cgroupfs | `/docker/<64hex>` |
//! | docker, systemd | `/system.slice/docker-<64hex>.scope` |
//! | podman, cgroupfs | `/libpod_parent/libpod-<64hex>` (conmon `…/conmon`) |
//! | podman, systemd | `/machine.slice/libpod-<64hex>.scope` (conmon `libpod-conmon-<id>.scope`) |
//! | kubelet, cgroupfs | `/kubepods/<qos>/pod<uid>/<64hex>` (no `<qos>` for Guaranteed) |
//! | kubelet, systemd | `/kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/{cri-containerd,crio,docker}-<64hex>.scope` |
//! | kind | `/kubelet.slice/kubelet-kubepods.slice/…-pod<uid_>.slice/cri-containerd-<id>.scope` |
//! | ECS | `/ecs/<task>/<64hex>` |
//! | systemd unit | `/system.slice/<unit>.service`, `…/<unit>.scope` |
//!
//! The systemd driver writes `_` for `-` in the pod UID; unit names escape a literal `-` as
//! `\x2d` (systemd.unit(5), "String Escaping").

use serde::Serialize;

/// The container runtime a cgroup path points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Docker (`/docker/ID`, `docker-ID.scope`), also under kubelet with dockershim or
    /// cri-dockerd.
    Docker,
    /// containerd (`cri-containerd-ID.scope`, or a bare ID under `/kubepods` and `/ecs`, where
    /// containerd is the usual runtime but the path does not say so).
    Containerd,
    /// CRI-O (`crio-ID.scope`, conmon `crio-conmon-ID.scope`).
    CriO,
    /// podman (`/libpod_parent/libpod-ID`, `libpod-ID.scope`).
    Podman,
}

impl Runtime {
    /// The name users type: `docker`, `containerd`, `cri-o`, `podman`.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Podman => "podman",
        }
    }
}

/// Kubernetes QoS class, from the `kubepods` level of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Qos {
    /// No `burstable`/`besteffort` level: the pod sits directly under `kubepods`.
    Guaranteed,
    /// `kubepods/burstable`, `kubepods-burstable.slice`.
    Burstable,
    /// `kubepods/besteffort`, `kubepods-besteffort.slice`.
    BestEffort,
}

/// What the cgroup is, as far as the path says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A container's own cgroup.
    Container,
    /// A pod's sandbox (pause) container; told apart from a container by the runtime's files
    /// (the path shape is the same).
    Sandbox,
    /// A runtime's monitor process (`crio-conmon-ID.scope`, `libpod-conmon-ID.scope`,
    /// `/libpod_parent/libpod-ID/conmon`).
    Conmon,
    /// A pod's cgroup (`pod<uid>`), the parent of its containers.
    Pod,
    /// A QoS class level (`kubepods/burstable`) or `kubepods` itself.
    Kubepods,
    /// A systemd unit (`*.service`, `*.scope` that is not a container's).
    Unit,
    /// Anything else (a slice, a hand-made cgroup).
    Other,
}

/// What the path says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hint {
    /// Runtime named by the path; `None` when only a bare ID says a container is there.
    pub runtime: Option<Runtime>,
    /// Container ID (12–64 lowercase hex) as the path spells it.
    pub container_id: Option<String>,
    /// Pod UID with dashes (the systemd driver's `_` turned back into `-`).
    pub pod_uid: Option<String>,
    /// QoS class when the path is under `kubepods`.
    pub qos: Option<Qos>,
    /// The path is under `kubepods` (kubelet, or kind's `kubelet.slice`).
    pub kubepods: bool,
    /// ECS task ID from `/ecs/<task>/<id>`.
    pub ecs_task: Option<String>,
    /// The innermost systemd unit that is not a container scope, `\x2d` decoded.
    pub unit: Option<String>,
    /// The path's own kind ([`Kind::Sandbox`] is never set here: only files tell).
    pub kind: Option<Kind>,
    /// Rootless podman's user: `user-<uid>.slice`.
    pub user_uid: Option<u32>,
}

fn is_hex_id(s: &str) -> bool {
    (12..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Decode systemd's `\xNN` escapes in a unit name (`machine-qemu\x2d1.scope` → `machine-qemu-1.scope`).
pub fn unescape_unit(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Bytes, not `&s[i + 2..i + 4]`: that slice panics when a multi-byte character
        // follows `\x` (a cgroup directory anyone can name `\x€.scope`).
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            if let (Some(hi), Some(lo)) = (hex_val(b[i + 2]), hex_val(b[i + 3])) {
                out.push(hi << 4 | lo);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pod UID from a path component (`pod<uid>`, `kubepods-burstable-pod<uid_>.slice`).
fn pod_uid(comp: &str) -> Option<String> {
    let c = comp.strip_suffix(".slice").unwrap_or(comp);
    let i = c.rfind("pod")?;
    // `pod` starts the component or follows a `-` (`kubepods-…-pod<uid>`), never `kubepods`.
    if i > 0 && !c[..i].ends_with('-') {
        return None;
    }
    let rest = &c[i + 3..];
    let ok = rest.len() >= 32
        && rest
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
    ok.then(|| rest.replace('_', "-").to_ascii_lowercase())
}

/// Read what a cgroup path (`/kubepods/burstable/pod…/ID`, as `/proc/PID/cgroup` prints it,
/// leading `/` optional) says about its workload. Never fails: an unknown shape is
/// [`Kind::Other`] with nothing set.
pub fn lexical(path: &str) -> Hint {
    let mut h = Hint::default();
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut parent: Option<&str> = None;
    for (idx, &comp) in comps.iter().enumerate() {
        let last = idx + 1 == comps.len();
        let scope = comp.strip_suffix(".scope");
        let base = scope.unwrap_or(comp);
        let mut kind = None;
        if comp == "kubepods" || comp == "kubepods.slice" || comp == "kubelet-kubepods.slice" {
            h.kubepods = true;
            kind = Some(Kind::Kubepods);
        } else if h.kubepods && h.pod_uid.is_none() && pod_uid(comp).is_some() {
            h.pod_uid = pod_uid(comp);
            kind = Some(Kind::Pod);
            if h.qos.is_none() {
                h.qos = Some(Qos::Guaranteed);
            }
        } else if h.kubepods
            && h.pod_uid.is_none()
            && (base.ends_with("burstable") || base.ends_with("burstable.slice"))
        {
            h.qos = Some(Qos::Burstable);
            kind = Some(Kind::Kubepods);
        } else if h.kubepods
            && h.pod_uid.is_none()
            && (comp.ends_with("besteffort") || comp.ends_with("besteffort.slice"))
        {
            h.qos = Some(Qos::BestEffort);
            kind = Some(Kind::Kubepods);
        } else if let Some((rt, id, conmon)) = prefixed_id(base) {
            h.runtime = Some(rt);
            h.container_id = Some(id.to_string());
            kind = Some(if conmon {
                Kind::Conmon
            } else {
                Kind::Container
            });
        } else if is_hex_id(comp) && matches!(parent, Some("docker")) {
            h.runtime = Some(Runtime::Docker);
            h.container_id = Some(comp.to_string());
            kind = Some(Kind::Container);
        } else if is_hex_id(comp) && (h.kubepods && h.pod_uid.is_some() || h.ecs_task.is_some()) {
            // kubelet's cgroupfs driver and ECS name the container by its bare ID.
            h.container_id = Some(comp.to_string());
            kind = Some(Kind::Container);
        } else if parent == Some("ecs") && idx == 1 {
            h.ecs_task = Some(comp.to_string());
            kind = Some(Kind::Other);
        } else if comp == "conmon" && h.runtime == Some(Runtime::Podman) && last {
            kind = Some(Kind::Conmon);
        } else if let Some(uid) = comp
            .strip_prefix("user-")
            .and_then(|r| r.strip_suffix(".slice"))
            .and_then(|u| u.parse::<u32>().ok())
        {
            h.user_uid = Some(uid);
            kind = Some(Kind::Other);
        } else if comp.ends_with(".service") || scope.is_some() {
            h.unit = Some(unescape_unit(comp));
            kind = Some(Kind::Unit);
        } else {
            kind = kind.or(Some(Kind::Other));
        }
        if last {
            h.kind = kind;
        }
        parent = Some(comp);
    }
    if comps.is_empty() {
        h.kind = Some(Kind::Other);
    }
    // A container is not the unit it sits under (rootless podman's user@1000.service): its
    // identity is the container's.
    if matches!(h.kind, Some(Kind::Container | Kind::Conmon)) {
        h.unit = None;
    }
    h
}

/// `docker-ID`, `cri-containerd-ID`, `crio-ID`, `crio-conmon-ID`, `libpod-ID`,
/// `libpod-conmon-ID`, `cri-dockerd-ID`: (runtime, ID, is conmon).
fn prefixed_id(base: &str) -> Option<(Runtime, &str, bool)> {
    const PREFIXES: [(&str, Runtime, bool); 7] = [
        ("cri-containerd-", Runtime::Containerd, false),
        ("crio-conmon-", Runtime::CriO, true),
        ("crio-", Runtime::CriO, false),
        ("libpod-conmon-", Runtime::Podman, true),
        ("libpod-", Runtime::Podman, false),
        ("cri-dockerd-", Runtime::Docker, false),
        ("docker-", Runtime::Docker, false),
    ];
    PREFIXES.iter().find_map(|&(p, rt, conmon)| {
        base.strip_prefix(p)
            .filter(|id| is_hex_id(id))
            .map(|id| (rt, id, conmon))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_every_driver() {
        let h = lexical("/docker/4f9a2c1be07d4f9a2c1be07d4f9a2c1be07d4f9a2c1be07d4f9a2c1be07d1234");
        assert_eq!(h.runtime, Some(Runtime::Docker));
        assert_eq!(h.kind, Some(Kind::Container));
        let h = lexical("/system.slice/docker-0123456789abcdef0123.scope");
        assert_eq!(
            (h.runtime, h.container_id.as_deref()),
            (Some(Runtime::Docker), Some("0123456789abcdef0123"))
        );
        assert_eq!(h.unit, None);
        let h = lexical("/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8877-665544332211/29ed1c24aa55");
        assert_eq!(
            h.pod_uid.as_deref(),
            Some("0f1e2d3c-4b5a-6978-8877-665544332211")
        );
        assert_eq!(h.qos, Some(Qos::Burstable));
        assert_eq!(h.runtime, None);
        assert_eq!(h.kind, Some(Kind::Container));
        let h = lexical("/kubepods/pod0f1e2d3c-4b5a-6978-8877-665544332211");
        assert_eq!((h.qos, h.kind), (Some(Qos::Guaranteed), Some(Kind::Pod)));
        let h = lexical("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f1e2d3c_4b5a_6978_8877_665544332211.slice/crio-conmon-4f9a2c1be07d.scope");
        assert_eq!(
            h.pod_uid.as_deref(),
            Some("0f1e2d3c-4b5a-6978-8877-665544332211")
        );
        assert_eq!(
            (h.qos, h.runtime, h.kind),
            (
                Some(Qos::BestEffort),
                Some(Runtime::CriO),
                Some(Kind::Conmon)
            )
        );
        let h = lexical("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod0f1e2d3c_4b5a_6978_8877_665544332211.slice/cri-containerd-4f9a2c1be07d.scope");
        assert_eq!(
            (h.qos, h.runtime),
            (Some(Qos::Burstable), Some(Runtime::Containerd))
        );
        let h = lexical("/libpod_parent/libpod-4f9a2c1be07d4f9a");
        assert_eq!(
            (h.runtime, h.kind),
            (Some(Runtime::Podman), Some(Kind::Container))
        );
        let h = lexical("/libpod_parent/libpod-4f9a2c1be07d4f9a/conmon");
        assert_eq!(h.kind, Some(Kind::Conmon));
        let h = lexical("/system.slice/nginx.service");
        assert_eq!(
            (h.unit.as_deref(), h.kind),
            (Some("nginx.service"), Some(Kind::Unit))
        );
        let h = lexical("/machine.slice/machine-qemu\\x2d1\\x2dvm.scope");
        assert_eq!(h.unit.as_deref(), Some("machine-qemu-1-vm.scope"));
        let h = lexical(
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-4f9a2c1be07d.scope",
        );
        assert_eq!((h.user_uid, h.runtime), (Some(1000), Some(Runtime::Podman)));
        let h = lexical("/ecs/5a0d5c1e2b/4f9a2c1be07d4f9a2c1be07d");
        assert_eq!(
            (h.ecs_task.as_deref(), h.kind),
            (Some("5a0d5c1e2b"), Some(Kind::Container))
        );
        assert_eq!(lexical("/").kind, Some(Kind::Other));
        assert_eq!(lexical("/clw-lab/runc-hog").kind, Some(Kind::Other));
        // Not a pod UID: too short; hex words that are not an ID under a runtime parent.
        assert_eq!(lexical("/podcast/deadbeefdeadbeef").container_id, None);
    }
}
