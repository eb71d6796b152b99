//! `serve`'s workload labels on real memory cgroups: a real v1 (or v2) memory cgroup at a
//! runtime's path shape (`/docker/<64 hex>`, `/kubepods/burstable/pod<uid>/<64 hex>`) with a
//! 64 MiB limit and a real process holding memory in it, and a host-root tree in a temporary
//! directory holding the runtime's file for it in the shape the runtime writes (Docker's
//! `config.v2.json` as tests/fixtures/identity/docker/ captured it from Docker 20.10 on this
//! machine, containerd's OCI bundle `config.json` with the CRI annotations of containerd
//! 1.6). The files are written here because a real runtime would make its own cgroup with its
//! own ID; the cgroup, the process, the scrape and Prometheus are real.
//!
//! - the labels come from the file, follow it when it is rewritten (mtime), go empty with
//!   `resolved="false"` when it turns to garbage, and serve keeps answering; a warm scrape does
//!   not open the file again (strace);
//! - the real Prometheus stores the labels (the pod's own cgroup with namespace and pod but no
//!   container, named by its `/var/log/pods` directory), and `recommend --prometheus` finds the
//!   container by
//!   `namespace` and `container`, through `--query` on serve's metric and through `--selector`
//!   on a recording rule named as cAdvisor's metric.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::prom::*;
use common::*;

/// A container ID no runtime on this machine uses: this process's pid and the time, 64 hex.
fn fresh_id(salt: u32) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("c1d0{:08x}{salt:04x}{nanos:048x}", std::process::id())
}

/// Write `text` to `root/rel` (directories made) and set its mtime `age_s` seconds past the
/// previous one, so the change shows whatever the file system's timestamp granularity.
fn write_file(root: &Path, rel: &str, text: &str, bump_s: u64) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let before = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
    std::fs::write(&p, text).unwrap();
    if let Some(t) = before {
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t + Duration::from_secs(bump_s))
            .unwrap();
    }
}

/// A Docker 20.10 `config.v2.json` of a compose v1 container, in the shape of the one captured
/// in tests/fixtures/identity/docker/ (keys and nesting as Docker writes them, one line).
fn docker_config(id: &str, name: &str) -> String {
    serde_json::json!({
        "StreamConfig": {},
        "State": {"Running": true, "Paused": false, "Restarting": false, "OOMKilled": false,
                  "RemovalInProgress": false, "Dead": false, "Pid": 4242, "ExitCode": 0,
                  "Error": "", "StartedAt": "2026-12-02T04:12:57.457886304Z",
                  "FinishedAt": "0001-01-01T00:00:00Z", "Health": null},
        "ID": id,
        "Created": "2026-12-02T04:12:57.207883727Z",
        "Path": "/bin/sh",
        "Args": ["-c", "exec /bin/hog 8"],
        "Config": {"Hostname": &id[..12], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["/bin/sh", "-c", "exec /bin/hog 8"], "Image": "clw-busybox:lab",
                   "Labels": {
                       "com.docker.compose.config-hash": "f81fde10c562d53cc698136b1d7cf5d578ebb41c6cec6d1c4d0426d97cd25d2f",
                       "com.docker.compose.container-number": "1",
                       "com.docker.compose.oneoff": "False",
                       "com.docker.compose.project": "labproj",
                       "com.docker.compose.project.config_files": "docker-compose.yml",
                       "com.docker.compose.project.working_dir": "/tmp/clw-lab/compose",
                       "com.docker.compose.service": "hogsvc",
                       "com.docker.compose.version": "1.29.2"}},
        "Image": "sha256:b0961113cc89fa1597aa57d4c1a838ffb6e00e7239f235171e61bb6f49903538",
        "LogPath": format!("/var/lib/docker/containers/{id}/{id}-json.log"),
        "Name": format!("/{name}"),
        "Driver": "overlay2",
        "OS": "linux",
        "RestartCount": 0,
        "HostnamePath": format!("/var/lib/docker/containers/{id}/hostname"),
    })
    .to_string()
}

/// The one sample line of `metric` for cgroup `rel` in an exposition body.
fn series_line<'a>(body: &'a str, metric: &str, rel: &str) -> Option<&'a str> {
    let head = format!("{metric}{{cgroup=\"{rel}\",");
    body.lines().find(|l| l.starts_with(&head))
}

fn scrape(s: &Serve) -> String {
    let (status, _, body) = http_get(&s.url("/metrics")).unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// A real memory cgroup at `rel` with a 64 MiB limit and the mapper holding 8 MiB in it.
fn cgroup_with_process(rel: &str) -> Option<(TestCgroup, Mapper)> {
    let cg = TestCgroup::create_at(rel, 64 << 20)?;
    if mapper_bin().is_none() {
        skip("gcc is needed to build tests/helpers/mapper.c");
        return None;
    }
    let m = Mapper::start(&["8", "0", "-", "0", "0", "0"], Some(&cg.procs()));
    Some((cg, m))
}

/// The paths `pid` opened while `during` ran, as strace saw them (`None` without strace).
fn opened_during(pid: u32, during: impl FnOnce()) -> Option<String> {
    if !have("strace") {
        skip("strace is not installed: the warm-scrape file check is skipped");
        return None;
    }
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut st = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,open", "-o"])
        .arg(log.path())
        .args(["-p", &pid.to_string()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // strace is attached once it has written its first line or after a short wait.
    std::thread::sleep(Duration::from_millis(700));
    during();
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: SIGINT to our own child's pid: strace detaches and exits.
    unsafe {
        libc::kill(st.id() as i32, libc::SIGINT);
    }
    let _ = st.wait();
    Some(std::fs::read_to_string(log.path()).unwrap_or_default())
}

#[test]
fn docker_labels_follow_the_file_and_garbage_leaves_them_empty() {
    let id = fresh_id(1);
    let rel = format!("/docker/{id}");
    let Some((cg, mapper)) = cgroup_with_process(&rel) else {
        return;
    };
    assert_eq!(cg.rel, rel);
    let host = tempfile::tempdir().unwrap();
    let file = format!("var/lib/docker/containers/{id}/config.v2.json");
    write_file(
        host.path(),
        &file,
        &docker_config(&id, "labproj_hogsvc_1"),
        0,
    );
    let mut s = Serve::start(&["--host-root", host.path().to_str().unwrap()], &[]);

    let body = scrape(&s);
    let want = format!(
        "clw_cgroup_memory_limit_bytes{{cgroup=\"{rel}\",id=\"{rel}\",namespace=\"\",pod=\"\",\
         container=\"labproj_hogsvc_1\",image=\"clw-busybox:lab\",name=\"labproj_hogsvc_1\"}} {}",
        64u64 << 20
    );
    assert!(body.lines().any(|l| l == want), "no {want} in\n{body}");
    let usage = series_line(&body, "clw_cgroup_memory_usage_bytes", &rel).unwrap();
    let bytes: f64 = usage.rsplit_once(' ').unwrap().1.parse().unwrap();
    assert!(bytes >= 7.0 * 1048576.0, "the mapper's 8 MiB: {usage}");
    let info = series_line(&body, "clw_cgroup_identity_info", &rel).unwrap();
    for part in [
        "runtime=\"docker\"",
        "compose_project=\"labproj\"",
        "compose_service=\"hogsvc\"",
        "kind=\"container\"",
        "resolved=\"true\"",
    ] {
        assert!(info.contains(part), "{part} not in {info}");
    }

    // A warm scrape: the file is stat'ed, not opened again.
    let pid = s.pid();
    if let Some(opened) = opened_during(pid, || {
        scrape(&s);
    }) {
        assert!(
            opened.contains("memory.stat"),
            "strace saw no scrape:\n{opened}"
        );
        assert!(
            !opened.contains("config.v2.json"),
            "a warm scrape opened the unchanged runtime file:\n{opened}"
        );
    }

    // The container is renamed: the next scrape has the new name, the old one is gone.
    write_file(
        host.path(),
        &file,
        &docker_config(&id, "labproj_hogsvc_2"),
        5,
    );
    let body = scrape(&s);
    let line = series_line(&body, "clw_cgroup_memory_limit_bytes", &rel).unwrap();
    assert!(line.contains("name=\"labproj_hogsvc_2\""), "{line}");
    assert!(!body.contains("labproj_hogsvc_1"), "{body}");

    // Garbage in place of the file: the names are empty, resolved="false", serve goes on.
    write_file(host.path(), &file, "\u{0}{\"Name\":\"/half", 10);
    let body = scrape(&s);
    let line = series_line(&body, "clw_cgroup_memory_limit_bytes", &rel).unwrap();
    assert!(
        line.contains("namespace=\"\",pod=\"\",container=\"\",image=\"\",name=\"\"} "),
        "{line}"
    );
    let info = series_line(&body, "clw_cgroup_identity_info", &rel).unwrap();
    assert!(info.contains("resolved=\"false\""), "{info}");
    assert!(info.contains("runtime=\"docker\""), "{info}");
    assert!(!body.contains("half"), "{body}");
    let (status, _, ok) = http_get(&s.url("/healthz")).unwrap();
    assert_eq!((status, ok.as_str()), (200, "ok\n"));
    assert!(s.running(), "serve exited after a garbage runtime file");
    drop(s);
    mapper.stop();
    drop(cg);
}

const UID_HEAD: &str = "0f1e2d3c-4b5a-6978-8877";

#[test]
fn prometheus_stores_pod_labels_and_recommend_selects_the_container() {
    let id = fresh_id(2);
    let uid = format!("{UID_HEAD}-{:012x}", std::process::id());
    let pod_name = format!("web-5d8f7c9b4-{:05x}", std::process::id() & 0xfffff);
    let rel = format!("/kubepods/burstable/pod{uid}/{id}");
    let Some((cg, mapper)) = cgroup_with_process(&rel) else {
        return;
    };
    let host = tempfile::tempdir().unwrap();
    // containerd 1.6's task bundle for a CRI container: the OCI spec's annotations.
    let sandbox = fresh_id(3);
    let bundle = serde_json::json!({
        "ociVersion": "1.0.2-dev",
        "process": {"user": {"uid": 0, "gid": 0}, "args": ["/bin/hog", "8"], "cwd": "/"},
        "root": {"path": "rootfs"},
        "annotations": {
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.container-name": "hog",
            "io.kubernetes.cri.image-name": "localhost/clw-busybox:lab",
            "io.kubernetes.cri.sandbox-id": sandbox,
            "io.kubernetes.cri.sandbox-name": pod_name,
            "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.sandbox-uid": uid,
        },
        "linux": {"cgroupsPath": rel, "resources": {"memory": {"limit": 67108864}}},
    });
    write_file(
        host.path(),
        &format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json"),
        &bundle.to_string(),
        0,
    );
    // The pod's log directory, as containerd's CRI plugin made it here
    // (/var/log/pods/NS_POD_UID/CONTAINER/0.log): it names the pod's own cgroup.
    write_file(
        host.path(),
        &format!("var/log/pods/shop_{pod_name}_{uid}/hog/0.log"),
        "2026-12-02T04:12:57.457886304Z stdout F allocating\n",
        0,
    );
    let pod_cg = format!("/kubepods/burstable/pod{uid}");
    let s = Serve::start(
        &["--host-root", host.path().to_str().unwrap()],
        &["--cgroup", &pod_cg],
    );
    // cAdvisor's metric name recorded from serve's, so recommend's default query finds it.
    let rules = "groups:\n  - name: cadvisor-names\n    interval: 1s\n    rules:\n      \
                 - record: container_memory_working_set_bytes\n        \
                 expr: clw_cgroup_memory_working_set_bytes\n";
    let Some(prom) = Prometheus::start_with_rules(&[&s.addr], Some(rules)) else {
        return;
    };
    let sel = "namespace=\"shop\",container=\"hog\"";
    let q = format!("clw_cgroup_memory_working_set_bytes{{{sel}}}");
    assert!(
        prom.wait_for(&q, Duration::from_secs(60)),
        "no {q}; targets {:?}\n{}",
        prom.targets(),
        prom.log()
    );
    let r = prom.query(&q);
    assert_eq!(r.len(), 1, "{r:?}");
    let m = &r[0]["metric"];
    assert_eq!(m["pod"], pod_name.as_str(), "{m}");
    assert_eq!(m["id"], rel.as_str(), "{m}");
    assert_eq!(m["cgroup"], rel.as_str(), "{m}");
    assert_eq!(m["image"], "localhost/clw-busybox:lab", "{m}");
    assert_eq!(m["name"], "hog", "{m}");
    let info = prom.query(&format!(
        "clw_cgroup_identity_info{{{sel},runtime=\"containerd\",resolved=\"true\"}}"
    ));
    assert_eq!(info.len(), 1, "{info:?}");
    // The pod's own cgroup: namespace and pod, no container (Prometheus drops the empty label),
    // as kubelet labels it; so `container="hog"` selects the container alone.
    let pod_q = format!("clw_cgroup_memory_usage_bytes{{id=\"{pod_cg}\"}}");
    let r = prom.query(&pod_q);
    assert_eq!(r.len(), 1, "{pod_q}: {r:?}");
    let m = &r[0]["metric"];
    assert_eq!(
        (&m["namespace"], &m["pod"], &m["container"]),
        (
            &"shop".into(),
            &pod_name.as_str().into(),
            &serde_json::Value::Null
        ),
        "{m}"
    );
    let kinds = prom.query(&format!(
        "count by (kind) (clw_cgroup_identity_info{{namespace=\"shop\",pod=\"{pod_name}\"}})"
    ));
    assert_eq!(kinds.len(), 2, "a pod and a container: {kinds:?}");
    let cadvisor = format!("container_memory_working_set_bytes{{{sel}}}");
    assert!(
        prom.wait_for(&cadvisor, Duration::from_secs(30)),
        "{}",
        prom.log()
    );
    // A few seconds of history for recommend.
    std::thread::sleep(Duration::from_secs(8));

    let url = prom.url();
    let check = |args: &[&str]| {
        let mut all = vec!["recommend", "--prometheus", &url];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--since",
            "2m",
            "--interval",
            "1s",
            "--policy",
            "krr",
            "--json",
        ]);
        let rec = json(&run(&all));
        let targets = rec["targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1, "{args:?}: {rec}");
        let t = &targets[0];
        assert_eq!(t["source"], "prometheus", "{t}");
        assert_eq!(t["labels"]["namespace"], "shop", "{t}");
        assert_eq!(t["labels"]["pod"], pod_name.as_str(), "{t}");
        assert_eq!(t["labels"]["container"], "hog", "{t}");
        let peak = t["peak_bytes"].as_f64().unwrap();
        assert!(
            (7.0 * 1048576.0..64.0 * 1048576.0).contains(&peak),
            "{args:?}: peak {peak} is not the mapper's 8 MiB in a 64 MiB cgroup"
        );
        assert!(t["samples"].as_u64().unwrap() >= 4, "{t}");
    };
    // recommend's default query is cAdvisor's metric: the recording rule provides it.
    check(&["--selector", sel]);
    // Or straight on serve's metric.
    check(&["--query", &q]);
    let targets = prom.targets();
    assert_eq!(targets[0]["health"], "up", "{targets:?}");
    assert_eq!(targets[0]["lastError"], "", "{targets:?}");
    drop(prom);
    drop(s);
    mapper.stop();
    drop(cg);
}
