//! `sample`, `oom-rank`, `recommend --cgroup` and `record --cgroup` name workloads: real memory
//! cgroups (v1 memory hierarchy) created here with a runtime's path shape (`/docker/<64hex>`,
//! `/kubepods/burstable/pod<uid>/<64hex>`) and a real process holding memory in them, named
//! through host-root trees written here in the runtimes' own file shapes (Docker
//! `config.v2.json`, containerd task bundles' `config.json` annotations, as
//! src/identity/tests.rs and ../shared/notes/container-identity.md §1.2–1.3 describe them).
//! The runtimes themselves are not started here (tests/identity_live.rs does that): the
//! cgroups are real, the runtime files stand in for a runtime's, and say so. Every cgroup and
//! process is removed by the test that made it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::Value;

const MIB: u64 = 1 << 20;
const V1: &str = "/sys/fs/cgroup/memory";

/// The tests share parents (`/docker`, `/kubepods`): one at a time, so the one that created a
/// parent can remove it.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Create `rel` (e.g. `/docker/<id>`) under the v1 memory hierarchy with `limit` bytes on its
/// leaf; `None` with a SKIP line when not root or there is no v1 memory hierarchy.
fn cgroup(rel: &str, limit: u64) -> Option<TestCgroup> {
    if !Path::new(V1).join("memory.usage_in_bytes").exists() {
        skip("no v1 memory hierarchy at /sys/fs/cgroup/memory");
        return None;
    }
    // The parent levels it needs are made, and removed after it (TestCgroup::create_at).
    TestCgroup::create_at(rel, limit)
}

/// A process holding `mib` MiB of touched memory, inside `rel` (moved there before it
/// allocates, so the cgroup is charged); killed and reaped when dropped.
struct Holder(Child);

impl Holder {
    fn start(rel: &str, mib: u64) -> Holder {
        let mut c = Command::new("python3")
            .args([
                "-c",
                "import sys,time\nsys.stdin.readline()\nb=bytearray(int(sys.argv[1])<<20)\n\
                 for i in range(0,len(b),4096): b[i]=1\nprint('ok',flush=True)\ntime.sleep(120)",
                &mib.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        std::fs::write(
            Path::new(V1)
                .join(rel.trim_start_matches('/'))
                .join("cgroup.procs"),
            c.id().to_string(),
        )
        .expect("join cgroup");
        writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
        let mut line = String::new();
        BufReader::new(c.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ok");
        Holder(c)
    }

    fn pid(&self) -> i64 {
        self.0.id() as i64
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A 64-hex container ID unique to this test process and `salt`, starting with `prefix`.
fn cid(prefix: &str, salt: u32) -> String {
    let tail = format!("{salt:08x}{:08x}", std::process::id()).repeat(4);
    format!("{prefix}{}", &tail[prefix.len()..])
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// Docker's `config.v2.json` for a compose v1 container (the shape of §1.2 of the notes).
fn docker_compose_container(root: &Path, id: &str) {
    write(
        root,
        &format!("var/lib/docker/containers/{id}/config.v2.json"),
        r#"{"Name":"/labproj_hogsvc_1","Config":{"Image":"clw-busybox:lab","Labels":{
            "com.docker.compose.project":"labproj","com.docker.compose.service":"hogsvc"}},
            "State":{"Running":true,"Pid":1}}"#,
    );
}

fn host(args: &[&str], root: &Path) -> std::process::Output {
    let mut all = vec!["--host-root", root.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&all)
}

fn cgroup_of<'a>(j: &'a Value, path: &str) -> Option<&'a Value> {
    j["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == path)
}

#[test]
fn a_docker_compose_cgroup_is_found_by_name_and_named_in_sample_and_oom_rank() {
    let _serial = serial();
    let id = cid("", 1);
    let rel = format!("/docker/{id}");
    let Some(_cg) = cgroup(&rel, 64 * MIB) else {
        return;
    };
    let hog = Holder::start(&rel, 16);
    let t = tempfile::tempdir().unwrap();
    docker_compose_container(t.path(), &id);

    // By compose project/service: the path, the processes inside, and every identity field.
    let j = json(&host(
        &["sample", "--cgroup", "labproj/hogsvc", "--json"],
        t.path(),
    ));
    let c = &j["cgroups"][0];
    assert_eq!(j["cgroups"].as_array().unwrap().len(), 1);
    assert_eq!(c["path"], rel.as_str());
    assert!(c["usage_bytes"].as_u64().unwrap() >= 16 * MIB, "{c}");
    let idn = &c["identity"];
    assert_eq!(idn["cgroup"], rel.as_str());
    assert_eq!(idn["runtime"], "docker");
    assert_eq!(idn["container_id"], id.as_str());
    assert_eq!(idn["container_name"], "labproj_hogsvc_1");
    assert_eq!(idn["image"], "clw-busybox:lab");
    assert_eq!(idn["compose_project"], "labproj");
    assert_eq!(idn["compose_service"], "hogsvc");
    assert_eq!(idn["sandbox"], false);
    assert_eq!(idn["unresolved"], Value::Null);
    // Unknown fields are there, as null.
    for k in ["pod", "namespace", "pod_uid", "qos", "unit"] {
        assert!(idn.get(k).is_some_and(Value::is_null), "{k}: {idn}");
    }
    let p = j["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == hog.pid())
        .expect("the holder is among the cgroup's processes");
    assert_eq!(p["identity"]["compose_service"], "hogsvc");

    // The same cgroup by container name, docker:name and a 12-hex ID prefix.
    for q in ["labproj_hogsvc_1", "docker:labproj_hogsvc_1", &id[..12]] {
        let j = json(&host(&["sample", "--cgroup", q, "--json"], t.path()));
        assert_eq!(j["cgroups"][0]["path"], rel.as_str(), "--cgroup {q}");
    }

    // The table at 80 columns: WORKLOAD first, no line wider than the terminal.
    let o = cmd()
        .env("COLUMNS", "80")
        .args(["--host-root", t.path().to_str().unwrap()])
        .args(["sample", "--cgroup", "labproj/hogsvc"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for l in out.lines() {
        assert!(l.chars().count() <= 80, "wider than 80: {l:?}\n{out}");
    }
    let header = out
        .lines()
        .find(|l| l.trim_start().starts_with("WORKLOAD"))
        .unwrap_or_else(|| panic!("no WORKLOAD header:\n{out}"));
    assert!(header.contains("USAGE"), "{header}");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("labproj/hogsvc ")),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{} ", hog.pid())))
        .unwrap_or_else(|| panic!("no process row for {}:\n{out}", hog.pid()));
    assert!(row.contains("labproj/hogsvc"), "{row}");

    // -v says where the name came from.
    let o = host(&["-v", "sample", "--cgroup", "labproj/hogsvc"], t.path());
    assert!(
        stderr(&o).contains(&format!("labproj/hogsvc: cgroup {rel}, from ")),
        "{}",
        stderr(&o)
    );

    // oom-rank of the host names the holder's workload; of the cgroup by name, too.
    let j = json(&host(&["oom-rank", "--json"], t.path()));
    let c = j["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["pid"] == hog.pid())
        .expect("the holder is ranked");
    assert_eq!(c["cgroup"], rel.as_str());
    assert_eq!(c["identity"]["compose_project"], "labproj");
    assert_eq!(c["identity"]["container_name"], "labproj_hogsvc_1");
    let j = json(&host(
        &["oom-rank", "--cgroup", "labproj/hogsvc", "--json"],
        t.path(),
    ));
    assert_eq!(j["cgroup"], rel.as_str());
    assert_eq!(j["identity"]["compose_service"], "hogsvc");
    assert_eq!(j["candidates"][0]["pid"], hog.pid());
    let o = cmd()
        .env("COLUMNS", "80")
        .args(["--host-root", t.path().to_str().unwrap()])
        .args(["oom-rank", "--cgroup", "labproj/hogsvc"])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(out.contains("OOM kill order in labproj/hogsvc"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains(&hog.pid().to_string()) && l.contains("labproj/hogsvc")),
        "{out}"
    );
}

#[test]
fn an_unknown_name_and_an_ambiguous_prefix_are_one_line_errors() {
    let _serial = serial();
    let (a, b) = (cid("c1a5e0", 2), cid("c1a5e0", 3));
    let Some(_ca) = cgroup(&format!("/docker/{a}"), 64 * MIB) else {
        return;
    };
    let Some(_cb) = cgroup(&format!("/docker/{b}"), 64 * MIB) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    for cmdline in [
        &["sample", "--cgroup"][..],
        &["oom-rank", "--cgroup"],
        &["recommend", "--cgroup"],
    ] {
        let mut args = cmdline.to_vec();
        args.push("no-such-workload-x7");
        let o = host(&args, t.path());
        assert_error(
            &o,
            &["no-such-workload-x7", "no cgroup", "ns/pod[/container]"],
        );
        // Both IDs start with c1a5e0: six hex digits name neither alone.
        let mut args = cmdline.to_vec();
        args.push("c1a5e0");
        let o = host(&args, t.path());
        assert_error(
            &o,
            &[
                "workloads match",
                &format!("/docker/{a}"),
                &format!("/docker/{b}"),
            ],
        );
    }
    let mut args = vec!["record", "-d", "1s", "-o"];
    let out = t.path().join("x.json");
    args.push(out.to_str().unwrap());
    args.extend(["--cgroup", "no-such-workload-x7"]);
    assert_error(&host(&args, t.path()), &["no-such-workload-x7"]);
    assert!(!out.exists(), "no trace for a cgroup that is not there");
    // A longer prefix names one; nothing on the host root names it: the ID, unresolved.
    let j = json(&host(&["sample", "--cgroup", &a[..12], "--json"], t.path()));
    let idn = &j["cgroups"][0]["identity"];
    assert_eq!(idn["container_id"], a.as_str());
    assert_eq!(idn["container_name"], Value::Null);
    assert!(
        idn["unresolved"]
            .as_str()
            .unwrap()
            .contains("config.v2.json"),
        "{idn}"
    );
}

#[test]
fn recommend_and_record_accept_the_name_and_the_trace_names_the_workload() {
    let _serial = serial();
    let id = cid("", 4);
    let rel = format!("/docker/{id}");
    let Some(_cg) = cgroup(&rel, 64 * MIB) else {
        return;
    };
    let _hog = Holder::start(&rel, 16);
    let t = tempfile::tempdir().unwrap();
    docker_compose_container(t.path(), &id);

    let j = json(&host(
        &["recommend", "--cgroup", "labproj/hogsvc", "--json"],
        t.path(),
    ));
    let tg = &j["targets"][0];
    assert_eq!(tg["target"], "labproj/hogsvc");
    assert_eq!(tg["source"], "cgroup");
    assert_eq!(tg["identity"]["cgroup"], rel.as_str());
    assert_eq!(tg["identity"]["compose_service"], "hogsvc");
    assert!(tg["current_bytes"].as_u64().unwrap() >= 16 * MIB, "{tg}");
    let o = host(&["recommend", "--cgroup", "labproj/hogsvc"], t.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.trim_start().starts_with("labproj/hogsvc ")),
        "{}",
        stdout(&o)
    );

    let trace = t.path().join("hog.jsonl");
    let o = host(
        &[
            "record",
            "--cgroup",
            "labproj/hogsvc",
            "-d",
            "1s",
            "-i",
            "100ms",
            "-o",
            trace.to_str().unwrap(),
        ],
        t.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&trace).unwrap();
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["target"]["kind"], "cgroup");
    assert_eq!(header["target"]["cgroup"], rel.as_str());
    assert_eq!(header["identity"]["workload"], "labproj/hogsvc");
    assert_eq!(header["identity"]["cgroup"], rel.as_str());
    assert_eq!(header["identity"]["container_name"], "labproj_hogsvc_1");
    assert_eq!(header["identity"]["runtime"], "docker");
    assert_eq!(header["identity"]["kind"], "container");
    // Samples of the cgroup itself: its usage includes the 16 MiB held.
    let usage = text
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["usage_bytes"].as_u64())
        .max()
        .expect("cgroup samples");
    assert!(usage >= 16 * MIB, "{usage}");

    // Read back elsewhere: analyze and recommend name the workload from the header.
    let o = run(&["analyze", "memory-trace", trace.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("workload labproj/hogsvc (cgroup {rel})")),
        "{}",
        stderr(&o)
    );
    // analyze --json carries the header's identity with the verdict.
    let j = json(&run(&[
        "analyze",
        "memory-trace",
        trace.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        j["results"][0]["identity"]["workload"], "labproj/hogsvc",
        "{j}"
    );
    assert_eq!(j["results"][0]["identity"]["cgroup"], rel.as_str(), "{j}");
    let j = json(&run(&["recommend", trace.to_str().unwrap(), "--json"]));
    let tg = &j["targets"][0];
    assert!(
        tg["target"].as_str().unwrap().ends_with(" labproj/hogsvc"),
        "{tg}"
    );
    assert_eq!(tg["identity"]["workload"], "labproj/hogsvc");
    assert_eq!(tg["source"], "file");
}

#[test]
fn a_kubepods_cgroup_resolves_to_ns_pod_container_and_its_sandbox_is_hidden() {
    let _serial = serial();
    let pid = std::process::id();
    let uid = format!("0f1e2d3c-4b5a-6978-8877-{pid:012x}");
    let (ctr, sb) = (cid("", 5), cid("", 6));
    let pod = format!("/kubepods/burstable/pod{uid}");
    let (crel, srel) = (format!("{pod}/{ctr}"), format!("{pod}/{sb}"));
    let Some(_c) = cgroup(&crel, 64 * MIB) else {
        return;
    };
    let Some(_s) = cgroup(&srel, 64 * MIB) else {
        return;
    };
    let hog = Holder::start(&crel, 16);
    // containerd's task bundles as its CRI plugin writes them (§1.3 of the notes).
    let t = tempfile::tempdir().unwrap();
    let task = "run/containerd/io.containerd.runtime.v2.task/k8s.io";
    let common = format!(
        r#""io.kubernetes.cri.sandbox-id":"{sb}","io.kubernetes.cri.sandbox-name":"web-5d8f7c9b4-x2x9z",
        "io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"{uid}""#
    );
    write(
        t.path(),
        &format!("{task}/{sb}/config.json"),
        &format!(r#"{{"annotations":{{"io.kubernetes.cri.container-type":"sandbox",{common}}}}}"#),
    );
    write(
        t.path(),
        &format!("{task}/{ctr}/config.json"),
        &format!(
            r#"{{"annotations":{{"io.kubernetes.cri.container-type":"container",
            "io.kubernetes.cri.container-name":"hog","io.kubernetes.cri.image-name":"localhost/clw-busybox:lab",{common}}}}}"#
        ),
    );

    // The default snapshot: the container named, the sandbox left out and counted.
    let j = json(&host(&["sample", "--json"], t.path()));
    let c = cgroup_of(&j, &crel).expect("the container's limited cgroup is listed");
    assert_eq!(c["identity"]["namespace"], "shop");
    assert_eq!(c["identity"]["pod"], "web-5d8f7c9b4-x2x9z");
    assert_eq!(c["identity"]["container_name"], "hog");
    assert_eq!(c["identity"]["pod_uid"], uid.as_str());
    assert_eq!(c["identity"]["qos"], "burstable");
    assert_eq!(c["identity"]["image"], "localhost/clw-busybox:lab");
    assert!(cgroup_of(&j, &srel).is_none(), "sandbox listed by default");
    assert!(j["hidden_cgroups"].as_u64().unwrap() >= 1);
    let o = host(&["sample"], t.path());
    assert!(
        stdout(&o).contains("shop/web-5d8f7c9b4-x2x9z/hog"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains("(sandbox)"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("pod sandbox/conmon cgroup(s) hidden (--all shows them)"),
        "{}",
        stderr(&o)
    );
    // --all shows it, labelled.
    let j = json(&host(&["sample", "--all", "--json"], t.path()));
    let s = cgroup_of(&j, &srel).expect("--all lists the sandbox");
    assert_eq!(s["identity"]["sandbox"], true);
    assert_eq!(s["identity"]["kind"], "sandbox");
    let o = host(&["sample", "--all"], t.path());
    assert!(
        stdout(&o).contains("shop/web-5d8f7c9b4-x2x9z (sandbox)"),
        "{}",
        stdout(&o)
    );

    // By ns/pod/container, and ns/pod (the pod's own cgroup, not one of its containers).
    let j = json(&host(
        &[
            "sample",
            "--cgroup",
            "shop/web-5d8f7c9b4-x2x9z/hog",
            "--json",
        ],
        t.path(),
    ));
    assert_eq!(j["cgroups"][0]["path"], crel.as_str());
    let j = json(&host(
        &["sample", "--cgroup", "shop/web-5d8f7c9b4-x2x9z", "--json"],
        t.path(),
    ));
    assert_eq!(j["cgroups"][0]["path"], pod.as_str());
    assert_eq!(j["cgroups"][0]["identity"]["kind"], "pod");
    // And by pod UID.
    let j = json(&host(&["sample", "--cgroup", &uid, "--json"], t.path()));
    assert_eq!(j["cgroups"][0]["path"], pod.as_str());

    // oom-rank names the holder's container.
    let j = json(&host(&["oom-rank", "--json"], t.path()));
    let c = j["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["pid"] == hog.pid())
        .expect("the holder is ranked");
    assert_eq!(c["identity"]["container_name"], "hog");
    assert_eq!(c["identity"]["pod"], "web-5d8f7c9b4-x2x9z");

    // A trace recorded by name, and `--emit k8s` on it names the pod and the container.
    let trace = t.path().join("hog.jsonl");
    let o = host(
        &[
            "record",
            "--cgroup",
            "shop/web-5d8f7c9b4-x2x9z/hog",
            "-d",
            "4s",
            "-i",
            "100ms",
            "-o",
            trace.to_str().unwrap(),
        ],
        t.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["recommend", trace.to_str().unwrap(), "--emit", "k8s"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let k8s = stdout(&o);
    assert!(
        k8s.contains(&format!(
            "# pod shop/web-5d8f7c9b4-x2x9z, container hog (cgroup {crel})"
        )),
        "{k8s}"
    );
    assert!(
        k8s.contains("resources:\n  requests:\n    memory: "),
        "{k8s}"
    );
}

#[test]
fn watch_keeps_one_resolver_and_sees_a_runtime_file_change() {
    // The v2 fixture tree's container (systemd driver, `cri-containerd-4f9a2c1be07d.scope`,
    // a shape this machine cannot produce), named by a containerd bundle written here.
    let tree = fixtures().join("v2");
    let t = tempfile::tempdir().unwrap();
    let id = format!("4f9a2c1be07d{}", "0".repeat(52));
    let bundle = format!("run/containerd/io.containerd.runtime.v2.task/k8s.io/{id}/config.json");
    let ann = |ctr: &str| {
        format!(
            r#"{{"annotations":{{"io.kubernetes.cri.container-type":"container",
            "io.kubernetes.cri.container-name":"{ctr}","io.kubernetes.cri.sandbox-name":"web-5d8f7c9b4-x2x9z",
            "io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"0f1e2d3c-4b5a-6978-8877-665544332211"}}}}"#
        )
    };
    write(t.path(), &bundle, &ann("hog"));
    let cg = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_4b5a_6978_8877_665544332211.slice/cri-containerd-4f9a2c1be07d.scope";
    let mut child = cmd()
        .args(["--proc-root", tree.join("proc").to_str().unwrap()])
        .args([
            "--cgroup-root",
            tree.join("sys/fs/cgroup").to_str().unwrap(),
        ])
        .args(["--host-root", t.path().to_str().unwrap()])
        .args(["sample", "--watch", "200ms", "--json", "--cgroup", cg])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let out = BufReader::new(child.stdout.take().unwrap());
    let _guard = Kill(child);
    let mut lines = out.lines();
    let mut next = || -> Value {
        serde_json::from_str(&lines.next().expect("a JSON line per tick").unwrap()).unwrap()
    };
    assert_eq!(
        next()["cgroups"][0]["workload"],
        "shop/web-5d8f7c9b4-x2x9z/hog"
    );
    // The container is renamed in its bundle (a new mtime): a later tick reads it again.
    let p = t.path().join(&bundle);
    let later =
        std::fs::metadata(&p).unwrap().modified().unwrap() + std::time::Duration::from_secs(5);
    write(t.path(), &bundle, &ann("hog2"));
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..20 {
        let w = next()["cgroups"][0]["workload"]
            .as_str()
            .unwrap()
            .to_string();
        let done = w.ends_with("/hog2");
        seen.push(w);
        if done {
            break;
        }
    }
    assert_eq!(
        seen.last().map(String::as_str),
        Some("shop/web-5d8f7c9b4-x2x9z/hog2"),
        "{seen:?}"
    );
    drop(_guard);

    // One resolver across ticks: a miss is kept (retried after 30 s, not every tick), so a
    // bundle that appears after the first tick is not read on the next ones: a resolver made
    // per tick would name it at once.
    std::fs::remove_file(&p).unwrap();
    let mut child = cmd()
        .args(["--proc-root", tree.join("proc").to_str().unwrap()])
        .args([
            "--cgroup-root",
            tree.join("sys/fs/cgroup").to_str().unwrap(),
        ])
        .args(["--host-root", t.path().to_str().unwrap()])
        .args(["sample", "--watch", "200ms", "--json", "--cgroup", cg])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let _guard = Kill(child);
    let mut lines = out.lines();
    let mut next = || -> Value {
        serde_json::from_str(&lines.next().expect("a JSON line per tick").unwrap()).unwrap()
    };
    let first = next();
    assert!(
        first["cgroups"][0]["identity"]["unresolved"].is_string(),
        "{}",
        first["cgroups"][0]
    );
    write(t.path(), &bundle, &ann("hog"));
    for _ in 0..3 {
        let c = &next()["cgroups"][0];
        assert!(c["identity"]["container_name"].is_null(), "{c}");
    }
}
