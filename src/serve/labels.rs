//! The workload labels of every per-cgroup series, as cAdvisor and kubelet's `/metrics/cadvisor`
//! spell them, so dashboards and krr-style queries written for `container_memory_*` join on
//! clw-diag's series unchanged: `id` (the cgroup path), `namespace`, `pod`, `container`,
//! `image`, `name`; plus the `clw_cgroup_identity_info` family, one series per cgroup, with
//! what cAdvisor has no label for (runtime, compose project and service, unit, kind, whether
//! the names resolved).
//!
//! Semantics follow kubernetes pkg/kubelet/server/server.go `containerPrometheusLabelsFunc`:
//! every label is present on every series, empty when unknown (Prometheus needs one label set
//! per family, and a `container!=""` filter then means "a container's own cgroup"); `name` is
//! the runtime's container name; `container` the Kubernetes container name (for a container
//! outside Kubernetes, its runtime name); a pod's own cgroup has `namespace` and `pod` but an
//! empty `container`. A pod sandbox (pause container) is `container="POD"`, as kubelet showed it
//! with Docker (dockershim set `io.kubernetes.container.name=POD`) and shows it with CRI-O;
//! containerd sets no such label (containerd/cri#922), so `container!="POD"` and
//! `container!=""` filters both keep sandboxes out on every runtime. A runtime's monitor
//! (conmon) cgroup gets no names, as cAdvisor accepts no conmon cgroup as a container: summing
//! by `container` counts each container once. The identity itself comes from
//! [`crate::identity::Resolver`]; values are escaped by the exposition writer.

use crate::identity::{Identity, Kind};
use crate::serve::exposition::{Family, SharedLabels, Value};

/// Label pairs of one series, in the order written.
pub type Labels = Vec<(&'static str, String)>;

/// The labels every series of the cgroup `id` carries, in this order: `cgroup` (the cgroup
/// path, as serve has always labelled it), `id` (the same path, cAdvisor's name for it),
/// `namespace`, `pod`, `container`, `image`, `name`; each an empty string when unknown.
pub fn cgroup_labels(id: &Identity) -> Labels {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let names = id.kind != Kind::Conmon;
    let container = match id.kind {
        _ if id.sandbox => "POD".to_string(),
        Kind::Container => s(&id.container_name),
        _ => String::new(),
    };
    let keep = |v: &Option<String>| if names { s(v) } else { String::new() };
    vec![
        ("cgroup", id.cgroup.clone()),
        ("id", id.cgroup.clone()),
        ("namespace", keep(&id.namespace)),
        ("pod", keep(&id.pod)),
        ("container", container),
        ("image", keep(&id.image)),
        ("name", keep(&id.runtime_name)),
    ]
}

fn kind_label(k: Kind) -> &'static str {
    match k {
        Kind::Container => "container",
        Kind::Sandbox => "sandbox",
        Kind::Conmon => "conmon",
        Kind::Pod => "pod",
        Kind::Kubepods => "kubepods",
        Kind::Unit => "unit",
        Kind::Other => "other",
    }
}

/// `clw_cgroup_identity_info`: always 1, one series per exported cgroup, with the labels of
/// [`cgroup_labels`] and `runtime` (`docker`, `containerd`, `cri-o`, `podman`),
/// `compose_project`, `compose_service`, `unit` (empty when none), `kind` (`container`,
/// `sandbox`, `conmon`, `pod`, `kubepods`, `unit`, `other`) and `resolved` (`false` when the
/// cgroup is a container's or pod's and no file on the node named it: [`Identity::unresolved`]).
pub fn info_family(ids: &[(Identity, SharedLabels)]) -> Family {
    let mut f = Family::gauge(
        "clw_cgroup_identity_info",
        "Always 1: who each exported cgroup belongs to, from the node's runtime and kubelet files (--host-root).",
    );
    for (id, base) in ids {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let extra = vec![
            (
                "runtime",
                id.runtime.map(|r| r.as_str()).unwrap_or("").to_string(),
            ),
            ("compose_project", s(&id.compose_project)),
            ("compose_service", s(&id.compose_service)),
            ("unit", s(&id.unit)),
            ("kind", kind_label(id.kind).to_string()),
            ("resolved", (id.unresolved.is_none()).to_string()),
        ];
        f.push_shared(base, extra, Some(Value::Uint(1)));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Resolver;
    use crate::serve::exposition::{encode, ExpositionFormat};
    use std::fs;

    const ID: &str = "4f9a2c1be07d0a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123";

    fn label<'a>(l: &'a Labels, k: &str) -> &'a str {
        l.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    /// A Docker name with a quote, a backslash and a line feed (Docker refuses such names, a
    /// damaged or hand-written file need not) stays one escaped label value: the exposition
    /// keeps one line per sample and the value reads back unchanged.
    #[test]
    fn odd_names_are_escaped_and_read_back() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join(format!("var/lib/docker/containers/{ID}"));
        fs::create_dir_all(&dir).unwrap();
        let odd = "we\"ird\\na\nme} x=\"1\"";
        let json = serde_json::json!({
            "Name": format!("/{odd}"),
            "Config": {"Image": "img:\"q\"", "Labels": {}}
        });
        fs::write(dir.join("config.v2.json"), json.to_string()).unwrap();
        let id = Resolver::new(t.path()).resolve(&format!("/docker/{ID}"));
        let labels = cgroup_labels(&id);
        assert_eq!(label(&labels, "name"), odd);
        assert_eq!(label(&labels, "container"), odd);
        let mut fam = Family::gauge("clw_test_bytes", "t");
        fam.push(labels.clone(), Some(Value::Uint(7)));
        let info = info_family(&[(id, labels.into())]);
        for format in [ExpositionFormat::Text, ExpositionFormat::OpenMetrics] {
            let text = encode(&[fam.clone(), info.clone()], format);
            let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
            assert_eq!(samples.len(), 2, "{text}");
            assert!(samples[0].ends_with("} 7"), "{text}");
            assert!(
                samples[0].contains(r#"name="we\"ird\\na\nme} x=\"1\"""#),
                "{text}"
            );
            assert!(samples[0].contains(r#"image="img:\"q\"""#), "{text}");
            assert!(samples[1].ends_with(r#"resolved="true"} 1"#), "{text}");
        }
    }

    #[test]
    fn pods_sandboxes_conmon_and_unresolved() {
        let sandbox = Identity {
            sandbox: true,
            kind: Kind::Sandbox,
            namespace: Some("shop".into()),
            pod: Some("web-1".into()),
            image: Some("pause:3.9".into()),
            ..Identity::from_path(&format!("/kubepods/burstable/pod0f1e/{ID}"))
        };
        let l = cgroup_labels(&sandbox);
        assert_eq!((label(&l, "container"), label(&l, "pod")), ("POD", "web-1"));
        let pod = Identity {
            namespace: Some("shop".into()),
            pod: Some("web-1".into()),
            ..Identity::from_path("/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8877-665544332211")
        };
        assert_eq!(pod.kind, Kind::Pod);
        let l = cgroup_labels(&pod);
        assert_eq!((label(&l, "container"), label(&l, "pod")), ("", "web-1"));
        let conmon = Identity {
            container_name: Some("hog".into()),
            ..Identity::from_path(&format!("/libpod_parent/libpod-{ID}/conmon"))
        };
        assert_eq!(conmon.kind, Kind::Conmon);
        let l = cgroup_labels(&conmon);
        assert_eq!(label(&l, "container"), "");
        assert_eq!(label(&l, "id"), conmon.cgroup);
        let gone = Resolver::new(std::path::Path::new("/nonexistent-host-root"))
            .resolve(&format!("/docker/{ID}"));
        let l = cgroup_labels(&gone);
        for k in ["namespace", "pod", "container", "image", "name"] {
            assert_eq!(label(&l, k), "", "{k}");
        }
        let info = info_family(&[(gone, l.into())]);
        let s = &info.samples[0].labels;
        assert_eq!(label(s, "resolved"), "false");
        assert_eq!(label(s, "runtime"), "docker");
        assert_eq!(label(s, "kind"), "container");
    }
}
