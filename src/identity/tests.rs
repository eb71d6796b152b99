//! Resolver tests on small host trees written here in the runtimes' shapes (the captured real
//! files are in tests/fixtures/identity/, exercised by tests/identity*.rs).

use super::*;
use std::fs;

const ID: &str = "4f9a2c1be07d0a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123";
const UID: &str = "0f1e2d3c-4b5a-6978-8877-665544332211";

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

#[test]
fn docker_compose_container_resolves_and_caches_until_the_file_changes() {
    let t = tempfile::tempdir().unwrap();
    let file = format!("var/lib/docker/containers/{ID}/config.v2.json");
    write(
        t.path(),
        &file,
        r#"{"Name":"/labproj_hogsvc_1","Config":{"Image":"clw-busybox:lab","Labels":{
            "com.docker.compose.project":"labproj","com.docker.compose.service":"hogsvc"}},
            "State":{"OOMKilled":true,"ExitCode":137,"Running":false,"FinishedAt":"2026-12-01T10:00:00Z"}}"#,
    );
    let mut r = Resolver::new(t.path());
    let id = r.resolve(&format!("/docker/{ID}"));
    assert_eq!(id.workload().as_deref(), Some("labproj/hogsvc"));
    assert_eq!(id.container_name.as_deref(), Some("labproj_hogsvc_1"));
    assert_eq!(id.image.as_deref(), Some("clw-busybox:lab"));
    assert_eq!(
        id.runtime_state.as_ref().and_then(|s| s.oom_killed),
        Some(true)
    );
    assert_eq!(id.unresolved, None);
    assert!(id.matches("labproj/hogsvc") && id.matches("labproj_hogsvc_1") && id.matches(&ID[..8]));
    assert!(!id.matches("labproj") && !id.matches("4f9a"));
    // A hit is kept while the file is unchanged, re-read when it changes.
    let p = t.path().join(&file);
    let later = fs::metadata(&p).unwrap().modified().unwrap() + Duration::from_secs(5);
    write(
        t.path(),
        &file,
        r#"{"Name":"/renamed","Config":{"Image":"x"}}"#,
    );
    fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(
        r.resolve(&format!("/docker/{ID}")).workload().as_deref(),
        Some("docker:renamed")
    );
}

#[test]
fn data_root_is_honoured_and_short_ids_match_by_prefix() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "etc/docker/daemon.json",
        r#"{"data-root":"/srv/docker"}"#,
    );
    write(
        t.path(),
        &format!("srv/docker/containers/{ID}/config.v2.json"),
        r#"{"Name":"/clw-hog","Config":{"Image":"busybox"}}"#,
    );
    let mut r = Resolver::new(t.path());
    let id = r.resolve(&format!("/system.slice/docker-{}.scope", &ID[..12]));
    assert_eq!(id.workload().as_deref(), Some("docker:clw-hog"));
}

#[test]
fn nothing_resolves_gives_the_id_and_the_reason_never_a_name() {
    let t = tempfile::tempdir().unwrap();
    let mut r = Resolver::new(t.path());
    let id = r.resolve(&format!("/docker/{ID}"));
    assert_eq!(
        id.workload().as_deref(),
        Some("docker 4f9a2c1be07d (unresolved)")
    );
    assert_eq!(id.container_name, None);
    let why = id.unresolved.unwrap();
    assert!(
        why.contains("config.v2.json") || why.contains("containers"),
        "{why}"
    );
    // Garbage, truncated and a directory in place of the file: the reason names the file.
    for (what, text) in [
        ("garbage", "\u{0}\u{1}binary"),
        ("truncated", r#"{"Name":"/x","Con"#),
    ] {
        write(
            t.path(),
            &format!("var/lib/docker/containers/{ID}/config.v2.json"),
            text,
        );
        let mut r = Resolver::new(t.path());
        let id = r.resolve(&format!("/docker/{ID}"));
        assert_eq!(id.container_name, None, "{what}");
        assert!(
            id.unresolved.as_deref().unwrap().contains("not valid JSON"),
            "{what}: {:?}",
            id.unresolved
        );
    }
    fs::remove_file(
        t.path()
            .join(format!("var/lib/docker/containers/{ID}/config.v2.json")),
    )
    .unwrap();
    fs::create_dir(
        t.path()
            .join(format!("var/lib/docker/containers/{ID}/config.v2.json")),
    )
    .unwrap();
    let id = Resolver::new(t.path()).resolve(&format!("/docker/{ID}"));
    assert!(
        id.unresolved.as_deref().unwrap().contains("config.v2.json"),
        "{:?}",
        id.unresolved
    );
}

#[test]
fn cri_container_sandbox_and_exited_container_through_kubelet_files() {
    let t = tempfile::tempdir().unwrap();
    let sb = "aa".repeat(32);
    let task = "run/containerd/io.containerd.runtime.v2.task/k8s.io";
    let common = format!(
        r#""io.kubernetes.cri.sandbox-id":"{sb}","io.kubernetes.cri.sandbox-name":"web-5d8f7c9b4-x2x9z",
        "io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"{UID}""#
    );
    write(
        t.path(),
        &format!("{task}/{sb}/config.json"),
        &format!(r#"{{"annotations":{{"io.kubernetes.cri.container-type":"sandbox",{common}}}}}"#),
    );
    write(
        t.path(),
        &format!("{task}/{ID}/config.json"),
        &format!(
            r#"{{"annotations":{{"io.kubernetes.cri.container-type":"container",
            "io.kubernetes.cri.container-name":"hog","io.kubernetes.cri.image-name":"localhost/clw-busybox:lab",{common}}}}}"#
        ),
    );
    let pod = format!("/kubepods/burstable/pod{UID}");
    let mut r = Resolver::new(t.path());
    let c = r.resolve(&format!("{pod}/{ID}"));
    assert_eq!(
        c.workload().as_deref(),
        Some("shop/web-5d8f7c9b4-x2x9z/hog")
    );
    assert_eq!(
        (c.runtime, c.qos),
        (Some(Runtime::Containerd), Some(Qos::Burstable))
    );
    let s = r.resolve(&format!("{pod}/{sb}"));
    assert!(s.sandbox);
    assert_eq!(
        s.workload().as_deref(),
        Some("shop/web-5d8f7c9b4-x2x9z (sandbox)")
    );
    assert_eq!(
        r.resolve(&pod).workload().as_deref(),
        Some("shop/web-5d8f7c9b4-x2x9z")
    );
    // The container exits: its bundle goes; the pod still resolves through the sandbox bundle,
    // the container name through kubelet's symlink.
    fs::remove_dir_all(t.path().join(format!("{task}/{ID}"))).unwrap();
    let gone = Resolver::new(t.path()).resolve(&format!("{pod}/{ID}"));
    assert_eq!(gone.pod.as_deref(), Some("web-5d8f7c9b4-x2x9z"));
    assert_eq!(gone.container_name, None);
    assert!(gone.unresolved.is_some());
    let logs = t.path().join("var/log/containers");
    fs::create_dir_all(&logs).unwrap();
    std::os::unix::fs::symlink(
        format!("/var/log/pods/shop_web-5d8f7c9b4-x2x9z_{UID}/hog/0.log"),
        logs.join(format!("web-5d8f7c9b4-x2x9z_shop_hog-{ID}.log")),
    )
    .unwrap();
    // A symlink loop beside it costs nothing (never followed).
    std::os::unix::fs::symlink("loop.log", logs.join("loop.log")).unwrap();
    let back = Resolver::new(t.path()).resolve(&format!("{pod}/{ID}"));
    assert_eq!(
        back.workload().as_deref(),
        Some("shop/web-5d8f7c9b4-x2x9z/hog")
    );
    assert_eq!(back.unresolved, None);
    let found = find(
        &mut Resolver::new(t.path()),
        "shop/web-5d8f7c9b4-x2x9z",
        [pod.as_str(), &format!("{pod}/{ID}")],
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, Kind::Pod);
}

#[test]
fn crio_annotations_and_podman_containers_json() {
    let t = tempfile::tempdir().unwrap();
    let cfg = format!("run/containers/storage/overlay-containers/{ID}/userdata/config.json");
    let path = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice/crio-{ID}.scope",
        UID.replace('-', "_")
    );
    // `*.crio.io` spellings of the identity keys do not exist in any CRI-O (cri-o
    // internal/annotations: one spelling, io.kubernetes.cri-o.*): such a file names nothing.
    write(
        t.path(),
        &cfg,
        r#"{"annotations":{"container-type.crio.io":"container","image-name.crio.io":"quay.io/x/web:1"}}"#,
    );
    let id = Resolver::new(t.path()).resolve(&path);
    assert_eq!((id.container_name, id.image), (None, None));
    assert!(id
        .unresolved
        .unwrap()
        .contains("has no io.kubernetes.cri-o.*"));
    write(
        t.path(),
        &cfg,
        &format!(
            r#"{{"annotations":{{"io.kubernetes.cri-o.ContainerType":"container","io.kubernetes.cri-o.ImageName":"quay.io/x/web:1",
            "io.kubernetes.cri-o.Labels":"{{\"io.kubernetes.container.name\":\"web\",\"io.kubernetes.pod.name\":\"web-1\",\"io.kubernetes.pod.namespace\":\"prod\",\"io.kubernetes.pod.uid\":\"{UID}\"}}"}}}}"#
        ),
    );
    let mut r = Resolver::new(t.path());
    let id = r.resolve(&path);
    assert_eq!(id.workload().as_deref(), Some("prod/web-1/web"));
    assert_eq!(id.image.as_deref(), Some("quay.io/x/web:1"));

    write(
        t.path(),
        "var/lib/containers/storage/overlay-containers/containers.json",
        &format!(
            r#"[{{"id":"{ID}","names":["clw-hog2"],"image":"abc","metadata":"{{\"image-name\":\"localhost/clw-busybox:lab\",\"name\":\"clw-hog2\"}}"}}]"#
        ),
    );
    let id = r.resolve(&format!("/libpod_parent/libpod-{ID}"));
    assert_eq!(id.workload().as_deref(), Some("podman:clw-hog2"));
    assert_eq!(id.image.as_deref(), Some("localhost/clw-busybox:lab"));
    let conmon = r.resolve(&format!("/libpod_parent/libpod-{ID}/conmon"));
    assert_eq!(conmon.kind, Kind::Conmon);
}

#[test]
fn units_and_plain_cgroups() {
    let mut r = Resolver::new(Path::new("/nonexistent-host-root"));
    let u = r.resolve("/system.slice/nginx.service");
    assert_eq!(u.workload().as_deref(), Some("nginx.service"));
    assert!(u.matches("nginx") && u.unresolved.is_none());
    let o = r.resolve("/clw-lab/runc-hog");
    assert_eq!((o.workload(), o.unresolved), (None, None));
}

#[test]
fn refresh_forgets_cgroups_not_asked_for_in_the_last_round() {
    let mut r = Resolver::new(Path::new("/nonexistent-host-root"));
    r.resolve(&format!("/docker/{ID}"));
    r.resolve("/system.slice/nginx.service");
    r.refresh();
    // Round 2 asks only for the unit: the container (gone) is dropped at the next refresh.
    r.resolve("/system.slice/nginx.service");
    assert_eq!(r.cache.len(), 2);
    r.refresh();
    assert_eq!(r.cache.len(), 1);
    assert!(r.cache.contains_key("/system.slice/nginx.service"));
    r.refresh();
    assert!(r.cache.is_empty());
}
