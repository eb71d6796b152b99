//! `triage` and `report` name the workload of a kernel OOM kill from the node's files under
//! `--host-root` (issue 14): host trees written in a tempdir in the runtimes' file shapes (as
//! src/identity/tests.rs writes them; the captured real files are in tests/fixtures/identity/),
//! and kernel lines in their real shapes: the report captured here
//! (tests/fixtures/triage-live/kernel-6.18-cgroup-v1-oom.log, a real memcg OOM kill of this
//! kernel) with its memcg path replaced by a container's, and the old kernels' "Task in … killed
//! as a result of limit of …" report of a Docker 17.09 journal (tests/fixtures/triage/moby-33192-…)
//! as printed and with its memcg replaced.
//!
//! None of these cgroups exists on this machine (checked): the names come from the files alone,
//! as for a container whose cgroup the runtime removed when it died.

mod common;

use std::io::Read;
use std::path::Path;

use common::*;

const ID: &str = "4f9a2c1be07d0a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123";
const UID: &str = "0f1e2d3c-4b5a-6978-8877-665544332211";

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The captured 6.18 memcg OOM report, its memcg (`/clw-fixture`) replaced by `memcg`.
fn kernel_log(dir: &Path, memcg: &str) -> String {
    let real =
        std::fs::read_to_string(fixtures().join("triage-live/kernel-6.18-cgroup-v1-oom.log"))
            .unwrap();
    assert!(real.contains("oom_memcg=/clw-fixture,task_memcg=/clw-fixture"));
    let p = dir.join("kern.log");
    std::fs::write(&p, real.replace("/clw-fixture", memcg)).unwrap();
    p.to_str().unwrap().to_string()
}

/// The cgroup is not on this machine, in any hierarchy: what names it is the files alone.
fn assert_absent(memcg: &str) {
    for h in [
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup",
        "/sys/fs/cgroup/unified",
    ] {
        let p = Path::new(h).join(memcg.trim_start_matches('/'));
        assert!(!p.exists(), "{} exists here", p.display());
    }
}

fn triage_json(host: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--host-root", host.to_str().unwrap(), "triage", "--json"];
    all.extend_from_slice(args);
    json(&run(&all))
}

fn the_kill(j: &serde_json::Value) -> serde_json::Value {
    let ev = j["events"].as_array().unwrap();
    let kills: Vec<&serde_json::Value> = ev.iter().filter(|e| e["pid"] == 4803).collect();
    assert_eq!(kills.len(), 1, "{ev:#?}");
    kills[0].clone()
}

fn compose_config(host: &Path, oom_killed: bool) -> std::path::PathBuf {
    let rel = format!("var/lib/docker/containers/{ID}/config.v2.json");
    write(
        host,
        &rel,
        &format!(
            r#"{{"ID":"{ID}","Name":"/labproj_hogsvc_1","Config":{{"Image":"clw-busybox:lab","Labels":{{
            "com.docker.compose.project":"labproj","com.docker.compose.service":"hogsvc",
            "com.docker.compose.container-number":"1"}}}},
            "State":{{"Running":false,"OOMKilled":{oom_killed},"ExitCode":137,"FinishedAt":"2026-12-01T10:00:00Z"}}}}"#
        ),
    );
    host.join(rel)
}

#[test]
fn a_dead_compose_container_is_named_from_its_config_with_node_files_provenance() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    let cfg = compose_config(&host, true);
    let memcg = format!("/docker/{ID}");
    assert_absent(&memcg);
    let log = kernel_log(d.path(), &memcg);
    let j = triage_json(&host, &[&log]);
    let e = the_kill(&j);
    assert_eq!(e["kind"], "cgroup_oom_kill");
    assert_eq!(e["workload"], "labproj/hogsvc");
    assert_eq!(e["identity_source"], "node-files");
    assert_eq!(e["container"], "labproj_hogsvc_1");
    assert_eq!(e["container_id"], ID);
    assert_eq!(e["identity"]["image"], "clw-busybox:lab");
    assert_eq!(e["identity"]["compose_service"], "hogsvc");
    assert_eq!(e["identity"]["source"][0], cfg.to_str().unwrap());
    assert_eq!(e["identity"]["unresolved"], serde_json::Value::Null);
    assert_eq!(j["host_root"], host.to_str().unwrap());
    // Docker's own flag agrees: a corroborating note, nothing else changes.
    let notes = e["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].as_str().unwrap().contains("OOMKilled=true"),
        "{notes:?}"
    );
    // The text says where the name came from, and that the log names only the cgroup.
    let o = run(&["--host-root", host.to_str().unwrap(), "triage", &log, "-v"]);
    let text = stdout(&o);
    assert!(text.contains("labproj/hogsvc"), "{text}");
    assert!(
        text.contains(&format!(
            "identity: named from {} now (node files of {}",
            cfg.display(),
            host.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("the log names only the cgroup {memcg}")),
        "{text}"
    );
    assert!(
        text.contains("1 workload name(s) come from the node files of"),
        "{text}"
    );
}

#[test]
fn dockers_oomkilled_false_is_noted_and_the_kernels_kind_stays() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    compose_config(&host, false);
    let log = kernel_log(d.path(), &format!("/docker/{ID}"));
    let e = the_kill(&triage_json(&host, &[&log]));
    assert_eq!(e["kind"], "cgroup_oom_kill");
    assert_eq!(e["workload"], "labproj/hogsvc");
    assert_eq!(e["identity"]["runtime_state"]["oom_killed"], false);
    let notes: Vec<&str> = e["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("says OOMKilled=false"), "{notes:?}");
    assert!(
        notes[0].contains("the kernel is the ground truth"),
        "{notes:?}"
    );
    // --fail-on oom still fires: the verdict is the kernel's.
    let o = run(&[
        "--host-root",
        host.to_str().unwrap(),
        "triage",
        &log,
        "--fail-on",
        "oom",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("says OOMKilled=false"),
        "{}",
        stdout(&o)
    );
}

/// kubelet's `/var/log/containers` symlink, simulated (no kubelet runs here: the CRI run of
/// ../shared/notes/container-identity.md §2.4 shows containerd does not make it), named as
/// kubelet names it (`POD_NS_CONTAINER-ID.log` → `/var/log/pods/NS_POD_UID/CONTAINER/N.log`),
/// with no runtime file at all: the container has exited and its bundle is gone.
fn simulated_kubelet_symlink(host: &Path, ns: &str, pod: &str, ctr: &str, uid: &str, id: &str) {
    let logs = host.join("var/log/containers");
    std::fs::create_dir_all(&logs).unwrap();
    std::os::unix::fs::symlink(
        format!("/var/log/pods/{ns}_{pod}_{uid}/{ctr}/0.log"),
        logs.join(format!("{pod}_{ns}_{ctr}-{id}.log")),
    )
    .unwrap();
}

#[test]
fn a_kubelet_container_is_named_from_the_simulated_var_log_containers_symlink() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    simulated_kubelet_symlink(&host, "shop", "web-5d8f7c9b4-x2x9z", "hog", UID, ID);
    let memcg = format!("/kubepods/burstable/pod{UID}/{ID}");
    assert_absent(&memcg);
    let log = kernel_log(d.path(), &memcg);
    let e = the_kill(&triage_json(&host, &[&log]));
    assert_eq!(e["workload"], "shop/web-5d8f7c9b4-x2x9z/hog");
    assert_eq!(
        (&e["namespace"], &e["pod"], &e["container"]),
        (
            &serde_json::json!("shop"),
            &serde_json::json!("web-5d8f7c9b4-x2x9z"),
            &serde_json::json!("hog")
        )
    );
    assert_eq!(e["pod_uid"], UID);
    assert_eq!(e["identity_source"], "node-files");
    assert_eq!(e["identity"]["qos"], "burstable");
    let src = e["identity"]["source"][0].as_str().unwrap();
    assert!(
        src.ends_with(&format!(
            "var/log/containers/web-5d8f7c9b4-x2x9z_shop_hog-{ID}.log"
        )),
        "{src}"
    );
}

/// The old kernels' "Task in … killed as a result of limit of …" line, from a real Docker
/// 17.09 journal (tests/fixtures/triage/moby-33192-…), as printed and with its memcg replaced by
/// a kubelet container's.
#[test]
fn the_old_kernels_task_in_line_is_resolved_too() {
    let fixture =
        fixtures().join("triage/moby-33192-journalctl-docker-17.09-runc-init-task-in-docker.log");
    let real = std::fs::read_to_string(&fixture).unwrap();
    let old_id = "0abce43b1fec97241cdf5374a881a08767a5a758a6590ed3c991ff5d73c6c896";
    let docker = format!("/docker/{old_id}");
    assert!(real.contains(&format!(
        "Task in {docker} killed as a result of limit of {docker}"
    )));
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    write(
        &host,
        &format!("var/lib/docker/containers/{old_id}/config.v2.json"),
        r#"{"Name":"/runc-init-hog","Config":{"Image":"busybox:1.27"}}"#,
    );
    simulated_kubelet_symlink(&host, "shop", "web-5d8f7c9b4-x2x9z", "hog", UID, ID);
    let kubelet = format!("/kubepods/burstable/pod{UID}/{ID}");
    let other = d.path().join("kubelet.log");
    std::fs::write(&other, real.replace(&docker, &kubelet)).unwrap();
    for (log, memcg, workload) in [
        (fixture.to_str().unwrap(), &docker, "docker:runc-init-hog"),
        (
            other.to_str().unwrap(),
            &kubelet,
            "shop/web-5d8f7c9b4-x2x9z/hog",
        ),
    ] {
        assert_absent(memcg);
        let j = triage_json(&host, &[log]);
        let kill = j["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "cgroup_oom_kill" && e["memcg"] == memcg.as_str())
            .unwrap_or_else(|| panic!("{j:#}"))
            .clone();
        assert_eq!(kill["workload"], workload, "{kill:#}");
        assert_eq!(kill["identity_source"], "node-files");
    }
}

#[test]
fn a_cgroup_nothing_names_gives_the_runtime_the_id_and_the_reason_never_a_name() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    std::fs::create_dir(&host).unwrap();
    let log = kernel_log(d.path(), &format!("/docker/{ID}"));
    let e = the_kill(&triage_json(&host, &[&log]));
    assert_eq!(e["kind"], "cgroup_oom_kill");
    assert_eq!(e["workload"], "docker 4f9a2c1be07d (unresolved)");
    for k in ["container", "pod", "namespace", "identity_source"] {
        assert_eq!(e[k], serde_json::Value::Null, "{k}: {e:#}");
    }
    assert_eq!(e["identity"]["runtime"], "docker");
    let why = e["identity"]["unresolved"].as_str().unwrap();
    assert!(
        why.contains(&format!(
            "{}/var/lib/docker/containers/{ID}/config.v2.json not present",
            host.display()
        )),
        "{why}"
    );
    let text = stdout(&run(&[
        "--host-root",
        host.to_str().unwrap(),
        "triage",
        &log,
        "-v",
    ]));
    assert!(text.contains("identity: not named: "), "{text}");
    assert!(text.contains("docker 4f9a2c1be07d (unresolved)"), "{text}");
}

#[test]
fn names_the_log_carries_itself_have_log_provenance() {
    // `kubectl get pods -o json` (core/v1 Pod shape, as tests/triage_input.rs writes it): the
    // pod, namespace and container are the log's own.
    let pods = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod",
        "metadata":{"name":"web-7d4","namespace":"prod","uid":"6f1f5a3e-4b2c-4d1e-9e8f-0a1b2c3d4e5f"},
        "status":{"containerStatuses":[{"name":"app",
            "containerID":"containerd://2e9d2b0f8c1a4f3e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e",
            "lastState":{"terminated":{"exitCode":137,"reason":"OOMKilled","finishedAt":"2024-04-15T10:22:03Z"}}}]}}]}"#;
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    std::fs::create_dir(&host).unwrap();
    let p = d.path().join("pods.json");
    std::fs::write(&p, pods).unwrap();
    let j = triage_json(&host, &[p.to_str().unwrap()]);
    let e = j["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "k8s_oomkilled")
        .unwrap_or_else(|| panic!("{j:#}"))
        .clone();
    assert_eq!(e["workload"], "prod/web-7d4/app");
    assert_eq!(e["identity_source"], "log");
    assert_eq!(e["identity"], serde_json::Value::Null);
    let text = stdout(&run(&[
        "--host-root",
        host.to_str().unwrap(),
        "triage",
        p.to_str().unwrap(),
        "-v",
    ]));
    assert!(text.contains("identity: named by the log itself"), "{text}");
    assert!(!text.contains("come from the node files"), "{text}");
}

fn untar(path: &Path) -> Vec<(String, String)> {
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut data = String::new();
        e.read_to_string(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

#[test]
fn report_names_the_killed_workload_and_the_bundle_records_its_identity() {
    let d = tempfile::tempdir().unwrap();
    let host = d.path().join("host");
    let cfg = compose_config(&host, true);
    let log = kernel_log(d.path(), &format!("/docker/{ID}"));
    let bundle = d.path().join("incident.tar.gz");
    let o = run(&[
        "--host-root",
        host.to_str().unwrap(),
        "report",
        "--logs",
        &log,
        "--since",
        "100000d",
        "--kmsg",
        "/nonexistent/kmsg",
        "--section-timeout",
        "60s",
        "--bundle",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let summary = text.split("== Summary ==").nth(1).unwrap();
    assert!(
        summary.contains(
            "the kernel OOM-killed python3 (pid 4803) of labproj/hogsvc (named from this node's files now)"
        ),
        "{text}"
    );
    let entries = untar(&bundle);
    let (_, ident) = entries
        .iter()
        .find(|(n, _)| n.ends_with("/identity.json"))
        .unwrap_or_else(|| panic!("{:?}", entries.iter().map(|e| &e.0).collect::<Vec<_>>()));
    let ident: serde_json::Value = serde_json::from_str(ident).unwrap();
    assert_eq!(ident["host_root"], host.to_str().unwrap());
    let c = ident["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cgroup"] == format!("/docker/{ID}"))
        .unwrap_or_else(|| panic!("{ident:#}"))
        .clone();
    assert_eq!(c["workload"], "labproj/hogsvc");
    assert_eq!(c["identity"]["source"][0], cfg.to_str().unwrap());
    let (_, rep) = entries
        .iter()
        .find(|(n, _)| n.ends_with("/report.json"))
        .unwrap();
    let rep: serde_json::Value = serde_json::from_str(rep).unwrap();
    let f = &rep["summary"]["findings"][0];
    assert_eq!(
        (&f["kind"], &f["workload"]),
        (
            &serde_json::json!("oom_kill"),
            &serde_json::json!("labproj/hogsvc")
        )
    );
}
