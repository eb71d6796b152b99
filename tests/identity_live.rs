//! Workload identity against real runtimes started here by pid (tests/common/runtimes.rs):
//! Docker with docker-compose, containerd's CRI plugin driven as kubelet would (the reference
//! client in `../shared/reference/`), and podman, each container a busybox-static image with
//! the `hog` allocator in a 64 MiB limit. The commands are the real binary's: `sample`,
//! `oom-rank`, `serve` while the container holds memory, and `triage` of the kernel's own OOM
//! report (selected from `dmesg` by the container's cgroup path) after it was killed and its
//! cgroup is gone. Each test skips with the reason when its runtime cannot start (not root, a
//! package missing; `.ci/run` installs them).
//!
//! Also here, because they are the captured half of the same runs: the files in
//! `tests/fixtures/identity/` (copied from these runtimes, README beside them) resolve to the
//! names the runtimes reported, through the library and through `triage --host-root`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::runtimes::*;
use common::*;
use serde_json::Value;

const MIB: u64 = 1 << 20;

/// `clw-diag --host-root / ARGS` (the node's own files, whatever the environment says).
fn clw(args: &[&str]) -> Output {
    cmd()
        .env_remove("CLW_DIAG_HOST_ROOT")
        .args(["--host-root", "/"])
        .args(args)
        .output()
        .expect("run clw-diag")
}

/// The memory cgroup of `pid` as /proc/PID/cgroup prints it (the v1 `memory` line, else `0::`).
fn memory_cgroup_of(pid: i32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let field = |pred: &dyn Fn(&str) -> bool| {
        text.lines().find_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctl, path) = (it.next()?, it.next()?, it.next()?);
            pred(ctl).then(|| path.to_string())
        })
    };
    field(&|c| c.split(',').any(|x| x == "memory")).or_else(|| field(&|c| c.is_empty()))
}

/// The cgroup's directory in the memory hierarchy (v1 `memory/`, else the v2 root).
fn cgroup_dir(path: &str) -> PathBuf {
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let base = if v1.join("memory.usage_in_bytes").exists() {
        v1
    } else {
        Path::new("/sys/fs/cgroup")
    };
    base.join(path.trim_start_matches('/'))
}

/// The cgroup's usage in bytes (`memory.usage_in_bytes` or `memory.current`), 0 when unreadable.
fn cgroup_usage(path: &str) -> u64 {
    let dir = cgroup_dir(path);
    ["memory.usage_in_bytes", "memory.current"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Poll `f` every 100 ms until it is true or `limit` passes; whether it became true.
fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// The pid of a `hog` process whose parent is `parent` (a container's shell).
fn hog_child_of(parent: i32) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let (head, tail) = stat.rsplit_once(") ")?;
        let ppid: i32 = tail.split_whitespace().nth(1)?.parse().ok()?;
        (head.ends_with("(hog") && ppid == parent).then_some(pid)
    })
}

/// The container command of the CRI and podman tests: hold 20 MiB in `hog` until the test
/// creates `/tmp/go` in the container's root (through `/proc/PID/root`), then replace the shell
/// (the container's init) with `hog 200`, which the 64 MiB limit OOM-kills.
const HOLD_THEN_OOM: &str =
    "/bin/hog 20 3600 & while [ ! -e /tmp/go ]; do sleep 0.1; done; exec /bin/hog 200";

/// Release [`HOLD_THEN_OOM`]: create `/tmp/go` in the root of the container's init `pid`.
fn release(pid: i32) {
    std::fs::write(format!("/proc/{pid}/root/tmp/go"), b"").expect("create /tmp/go in container");
}

/// The entry of `sample --json`'s `cgroups[]` whose `path` is `path`.
fn cgroup_entry<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    v["cgroups"]
        .as_array()?
        .iter()
        .find(|c| c["path"].as_str() == Some(path))
}

/// `triage FILE --json` of the kernel lines `report` (written to a temp file): its events.
fn triage_report(report: &str, global: &[&str]) -> Vec<Value> {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(report.as_bytes()).unwrap();
    let mut args: Vec<&str> = global.to_vec();
    args.extend(["triage", f.path().to_str().unwrap(), "--json"]);
    let o = if global.is_empty() {
        clw(&args)
    } else {
        run(&args)
    };
    json(&o)["events"].as_array().cloned().unwrap_or_default()
}

/// The `cgroup_oom_kill` event whose victim memcg is `cgroup`.
fn oom_event<'a>(events: &'a [Value], cgroup: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["kind"] == "cgroup_oom_kill" && e["memcg"].as_str() == Some(cgroup))
        .unwrap_or_else(|| panic!("no cgroup_oom_kill event for {cgroup} in {events:#?}"))
}

/// The first line of `stdout` that contains `needle`, for table checks.
fn line_with<'a>(stdout: &'a str, needle: &str) -> Option<&'a str> {
    stdout.lines().find(|l| l.contains(needle))
}

/// Start `clw-diag --host-root / serve --listen 127.0.0.1:0`, wait for its "serving
/// http://ADDR/metrics" line, GET /metrics once, stop it by pid: the body.
fn scrape_metrics() -> String {
    let mut child = cmd()
        .env_remove("CLW_DIAG_HOST_ROOT")
        .args(["--host-root", "/", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clw-diag serve");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .map(str::to_string);
    let body = addr.as_deref().map(|addr| {
        let mut s = std::net::TcpStream::connect(addr).expect("connect serve");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        resp
    });
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let _ = child.wait();
    let resp = body.unwrap_or_else(|| panic!("serve did not start: {line:?}"));
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "scrape: {head}");
    body.to_string()
}

/// The samples of metric `name` in a text exposition: (labels, value) for each series.
fn series(body: &str, name: &str) -> Vec<(Vec<(String, String)>, f64)> {
    let mut out = Vec::new();
    for l in body.lines() {
        let Some(rest) = l.strip_prefix(name) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix('{') else {
            continue;
        };
        let mut labels = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
            assert_eq!(chars.next(), Some('"'), "label syntax in {l}");
            let mut val = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some('n') => val.push('\n'),
                        Some(o) => val.push(o),
                        None => break,
                    },
                    '"' => break,
                    o => val.push(o),
                }
            }
            labels.push((key.trim_start_matches(',').to_string(), val));
            match chars.next() {
                Some(',') if chars.peek() == Some(&'}') => {
                    chars.next();
                    break;
                }
                Some(',') => continue,
                _ => break,
            }
        }
        let rest: String = chars.collect();
        let value = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        out.push((labels, value));
    }
    out
}

fn label<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A compose project directory with one service `hogsvc` (64 MiB, no network) running `cmd`.
fn compose_dir(cmd: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cmd_yaml = cmd
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        format!(
            "version: \"2.4\"\nservices:\n  hogsvc:\n    image: {IMAGE}\n    command: [{cmd_yaml}]\n    mem_limit: 64m\n    memswap_limit: 64m\n    network_mode: none\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn docker_container_and_compose_service_are_named_in_sample_oom_rank_and_serve() {
    let Some(d) = Dockerd::start() else { return };
    eprintln!("dockerd ready in {:?} (pid {})", d.ready_in, d.pid());
    let dir = compose_dir(&["/bin/hog", "20", "60"]);
    d.track("labproj_hogsvc_1");
    let t0 = Instant::now();
    let up = d.compose("labproj", dir.path(), &["up", "-d"]);
    assert!(up.status.success(), "compose up: {}", said(&up));
    eprintln!("compose up -d in {:?}", t0.elapsed());
    let id = d.id("labproj_hogsvc_1").expect("compose container");
    let hog = d.host_pid("labproj_hogsvc_1").expect("hog running");
    let cgroup = format!("/docker/{id}");
    assert_eq!(memory_cgroup_of(hog).as_deref(), Some(cgroup.as_str()));
    assert!(
        wait_until(Duration::from_secs(20), || cgroup_usage(&cgroup)
            >= 20 * MIB),
        "hog never held 20 MiB in {cgroup}: {}",
        cgroup_usage(&cgroup)
    );

    // sample --cgroup by the compose name: that cgroup, named from config.v2.json.
    let v = json(&clw(&["sample", "--cgroup", "labproj/hogsvc", "--json"]));
    let c = cgroup_entry(&v, &cgroup)
        .unwrap_or_else(|| panic!("labproj/hogsvc is not {cgroup}: {v:#}"));
    let idn = &c["identity"];
    assert_eq!(idn["runtime"], "docker", "{idn:#}");
    assert_eq!(idn["container_id"], id.as_str());
    assert_eq!(idn["container_name"], "labproj_hogsvc_1");
    assert_eq!(idn["image"], IMAGE);
    assert_eq!(idn["compose_project"], "labproj");
    assert_eq!(idn["compose_service"], "hogsvc");
    assert!(idn["unresolved"].is_null(), "{idn:#}");
    assert!(
        idn["source"].to_string().contains("config.v2.json"),
        "source: {idn:#}"
    );
    assert!(c["usage_bytes"].as_u64().unwrap() >= 20 * MIB);
    assert!(
        v["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == hog),
        "hog {hog} not among the cgroup's processes"
    );
    // The same cgroup by the container name and by a 12-digit ID prefix.
    for q in ["labproj_hogsvc_1", &id[..12]] {
        let v = json(&clw(&["sample", "--cgroup", q, "--json"]));
        assert!(cgroup_entry(&v, &cgroup).is_some(), "--cgroup {q}: {v:#}");
    }

    // The table's WORKLOAD column says labproj/hogsvc for that row.
    let o = cmd()
        .env("COLUMNS", "250")
        .args(["--host-root", "/", "sample", "--cgroup", "labproj/hogsvc"])
        .output()
        .unwrap();
    let table = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    let header = line_with(&table, "WORKLOAD").unwrap_or_else(|| panic!("no WORKLOAD:\n{table}"));
    // The column's position in characters (cells may hold a multi-byte '…').
    let col = header[..header.find("WORKLOAD").unwrap()].chars().count();
    let row = table
        .lines()
        .find(|l| {
            l.chars()
                .skip(col)
                .collect::<String>()
                .starts_with("labproj/hogsvc")
        })
        .unwrap_or_else(|| panic!("no row with WORKLOAD labproj/hogsvc:\n{table}"));
    eprintln!("sample table:\n{header}\n{row}");

    // oom-rank names the workload of the hog process.
    let v = json(&clw(&["oom-rank", "--json"]));
    let cand = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == hog)
        .unwrap_or_else(|| panic!("hog {hog} not ranked"));
    assert_eq!(cand["cgroup"], cgroup.as_str());
    assert_eq!(cand["identity"]["compose_service"], "hogsvc", "{cand:#}");
    assert_eq!(cand["identity"]["container_name"], "labproj_hogsvc_1");
    let v = json(&clw(&["oom-rank", "--cgroup", "labproj/hogsvc", "--json"]));
    assert_eq!(v["cgroup"], cgroup.as_str(), "{v:#}");

    // serve: cAdvisor's labels on the cgroup's series, `id` the cgroup path.
    let body = scrape_metrics();
    let ws = series(&body, "clw_cgroup_memory_working_set_bytes");
    let (labels, value) = ws
        .iter()
        .find(|(l, _)| label(l, "id") == Some(cgroup.as_str()))
        .unwrap_or_else(|| panic!("no working-set series with id=\"{cgroup}\" in:\n{body}"));
    eprintln!("serve: working set {value} {labels:?}");
    assert_eq!(
        label(labels, "name"),
        Some("labproj_hogsvc_1"),
        "{labels:?}"
    );
    assert_eq!(label(labels, "image"), Some(IMAGE), "{labels:?}");
    for k in ["namespace", "pod", "container"] {
        assert!(label(labels, k).is_some(), "label {k} missing: {labels:?}");
    }
    assert_eq!(
        label(labels, "namespace"),
        Some(""),
        "not a pod: {labels:?}"
    );
    assert!(*value >= (20 * MIB) as f64, "working set {value}");
}

#[test]
fn docker_oom_kill_is_named_after_the_cgroup_is_gone() {
    let Some(d) = Dockerd::start() else { return };
    eprintln!("dockerd ready in {:?} (pid {})", d.ready_in, d.pid());
    let dir = compose_dir(&["/bin/hog", "200"]);
    d.track("labproj_hogsvc_1");
    let up = d.compose("labproj", dir.path(), &["up", "-d"]);
    assert!(up.status.success(), "compose up: {}", said(&up));
    let id = d.id("labproj_hogsvc_1").expect("compose container");
    let w = d.docker(&["wait", "labproj_hogsvc_1"]);
    assert_eq!(
        String::from_utf8_lossy(&w.stdout).trim(),
        "137",
        "{}",
        said(&w)
    );
    let cgroup = format!("/docker/{id}");
    assert!(
        wait_until(Duration::from_secs(10), || !cgroup_dir(&cgroup).exists()),
        "{cgroup} still exists"
    );
    let report = wait_oom_report(&cgroup, Duration::from_secs(10));
    assert!(
        report.contains("Killed process"),
        "no kernel OOM report for {cgroup}"
    );

    let events = triage_report(&report, &[]);
    let e = oom_event(&events, &cgroup);
    assert_eq!(e["container_id"], id.as_str());
    assert_eq!(e["container"], "labproj_hogsvc_1", "{e:#}");
    assert_eq!(e["workload"], "labproj/hogsvc", "{e:#}");
    assert_eq!(e["identity"]["compose_project"], "labproj");
    assert_eq!(e["identity"]["compose_service"], "hogsvc");
    assert_eq!(e["identity"]["image"], IMAGE);
    // The kernel line names only the cgroup: the names are the node's files', read now.
    assert_eq!(e["identity_source"], "node-files", "{e:#}");
    assert!(
        e["identity"]["source"]
            .to_string()
            .contains(&format!("containers/{id}/config.v2.json")),
        "{e:#}"
    );
    // Docker's own flag agrees here; it is corroboration, the kind stays the kernel's.
    assert_eq!(e["identity"]["runtime_state"]["oom_killed"], true, "{e:#}");
}

#[test]
fn cri_pod_container_and_sandbox_resolve_from_containerd_annotations() {
    let Some(c) = Containerd::start() else { return };
    eprintln!(
        "containerd ready in {:?} (pid {}), images built and saved in {:?}",
        c.ready_in,
        c.pid(),
        c.images_in
    );
    let t0 = Instant::now();
    let (sb, ctr) = c
        .run_pod(&["/bin/sh", "-c", HOLD_THEN_OOM])
        .unwrap_or_else(|e| panic!("cri-client.py: {e}"));
    eprintln!("pod sandbox and container started in {:?}", t0.elapsed());
    let pod_cg = Containerd::pod_cgroup();
    let (sb_cg, ctr_cg) = (format!("{pod_cg}/{sb}"), format!("{pod_cg}/{ctr}"));
    let init: i32 = std::fs::read_to_string(Containerd::bundle(&ctr).join("init.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(memory_cgroup_of(init).as_deref(), Some(ctr_cg.as_str()));
    assert!(
        wait_until(Duration::from_secs(20), || cgroup_usage(&ctr_cg)
            >= 20 * MIB),
        "hog never held 20 MiB in {ctr_cg}"
    );
    let hog = hog_child_of(init).expect("hog in the container");

    // The container, by ns/pod/container: pod, namespace, container and image from the
    // bundle's io.kubernetes.cri.* annotations, QoS and UID from the path.
    let q = format!("{CRI_NAMESPACE}/{CRI_POD}/{CRI_CONTAINER}");
    let v = json(&clw(&["sample", "--cgroup", &q, "--json"]));
    let e = cgroup_entry(&v, &ctr_cg).unwrap_or_else(|| panic!("{q} is not {ctr_cg}: {v:#}"));
    let idn = &e["identity"];
    assert_eq!(idn["runtime"], "containerd", "{idn:#}");
    assert_eq!(idn["namespace"], CRI_NAMESPACE);
    assert_eq!(idn["pod"], CRI_POD);
    assert_eq!(idn["pod_uid"], CRI_POD_UID);
    assert_eq!(idn["container_name"], CRI_CONTAINER);
    assert_eq!(idn["image"], "localhost/clw-busybox:lab");
    assert_eq!(idn["qos"], "burstable");
    assert_eq!(idn["sandbox"], false);
    assert!(
        idn["source"]
            .to_string()
            .contains(&format!("k8s.io/{ctr}/config.json")),
        "{idn:#}"
    );
    assert!(v["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["pid"] == hog));

    // The sandbox (pause) cgroup: recognised as the pod's sandbox, not a workload container.
    let v = json(&clw(&["sample", "--cgroup", &sb_cg, "--json"]));
    let s = cgroup_entry(&v, &sb_cg).unwrap_or_else(|| panic!("no {sb_cg}: {v:#}"));
    assert_eq!(s["identity"]["sandbox"], true, "{s:#}");
    assert_eq!(s["identity"]["pod"], CRI_POD);
    assert_eq!(s["identity"]["namespace"], CRI_NAMESPACE);
    assert!(s["identity"]["container_name"].is_null(), "{s:#}");
    let o = cmd()
        .env("COLUMNS", "250")
        .args(["--host-root", "/", "sample", "--cgroup", &sb_cg])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    eprintln!("sample --cgroup <sandbox>:\n{table}");
    let labelled = line_with(&table, &format!("{CRI_NAMESPACE}/{CRI_POD} (sandbox)")).is_some();
    let listed = table.contains(&sb[..12]) || line_with(&table, CRI_POD).is_some();
    assert!(
        labelled || !listed,
        "sandbox neither labelled nor hidden:\n{table}"
    );

    // OOM: the container exits, containerd deletes its task bundle; the sandbox's stays.
    release(init);
    assert!(
        wait_until(Duration::from_secs(20), || !Containerd::bundle(&ctr)
            .exists()),
        "container bundle still there"
    );
    assert!(Containerd::bundle(&sb).join("config.json").is_file());
    assert!(wait_until(Duration::from_secs(10), || !cgroup_dir(&ctr_cg).exists()));
    let report = wait_oom_report(&ctr_cg, Duration::from_secs(10));
    assert!(
        report.contains("Killed process"),
        "no OOM report for {ctr_cg}"
    );

    // Its pod still resolves, through the sandbox bundle (the pod UID of the path); its name
    // is not guessed: no file left maps the container ID to a name.
    let events = triage_report(&report, &[]);
    let e = oom_event(&events, &ctr_cg);
    assert_eq!(e["pod"], CRI_POD, "{e:#}");
    assert_eq!(e["namespace"], CRI_NAMESPACE, "{e:#}");
    assert_eq!(e["pod_uid"], CRI_POD_UID);
    assert_eq!(e["container_id"], ctr.as_str());
    assert!(e["container"].is_null(), "a name nothing gives: {e:#}");
    assert_eq!(e["identity_source"], "node-files");
    assert!(
        e["identity"]["source"]
            .to_string()
            .contains(&format!("k8s.io/{sb}/config.json")),
        "not through the sandbox bundle: {e:#}"
    );

    // SIMULATED kubelet: there is no kubelet here, so the test makes the symlink kubelet
    // would make for this container (/var/log/containers/<pod>_<ns>_<ctr>-<id>.log → the
    // pod log file containerd wrote); with it the exited container's name resolves too.
    let log = Containerd::pod_log_dir().join(format!("{CRI_CONTAINER}/0.log"));
    assert!(log.is_file(), "containerd wrote no {}", log.display());
    let link = c.kubelet_log_symlink(&ctr, &log);
    let events = triage_report(&report, &[]);
    let e = oom_event(&events, &ctr_cg);
    assert_eq!(
        e["container"], CRI_CONTAINER,
        "with a simulated kubelet symlink: {e:#}"
    );
    assert_eq!(
        e["workload"],
        format!("{CRI_NAMESPACE}/{CRI_POD}/{CRI_CONTAINER}").as_str()
    );
    assert!(
        e["identity"]["source"]
            .to_string()
            .contains(link.file_name().unwrap().to_str().unwrap()),
        "not through the (simulated) kubelet symlink: {e:#}"
    );
}

#[test]
fn podman_kill_is_reported_although_inspect_says_not_oomkilled() {
    let Some(p) = Podman::start() else { return };
    let name = "clw-podhog";
    let o = p.run(
        name,
        &["-d", "--memory", "64m", "--memory-swap", "64m"],
        &["/bin/sh", "-c", HOLD_THEN_OOM],
    );
    assert!(o.status.success(), "podman run: {}", said(&o));
    let id = p.id(name).expect("podman container");
    let init = p.host_pid(name).expect("running");
    let cgroup = format!("/libpod_parent/libpod-{id}");
    assert_eq!(memory_cgroup_of(init).as_deref(), Some(cgroup.as_str()));
    assert!(
        wait_until(Duration::from_secs(20), || cgroup_usage(&cgroup)
            >= 20 * MIB),
        "hog never held 20 MiB in {cgroup}"
    );

    // Name and image from containers.json (the bundle's config.json has neither).
    let v = json(&clw(&["sample", "--cgroup", name, "--json"]));
    let e = cgroup_entry(&v, &cgroup).unwrap_or_else(|| panic!("{name} is not {cgroup}: {v:#}"));
    assert_eq!(e["identity"]["runtime"], "podman", "{e:#}");
    assert_eq!(e["identity"]["container_name"], name);
    assert_eq!(e["identity"]["image"], "localhost/clw-busybox:lab");
    assert!(
        e["identity"]["source"]
            .to_string()
            .contains("overlay-containers/containers.json"),
        "{e:#}"
    );

    release(init);
    let w = p.podman(&["wait", name]);
    assert_eq!(
        String::from_utf8_lossy(&w.stdout).trim(),
        "137",
        "{}",
        said(&w)
    );
    // podman 4.3.1's own record: not OOM-killed (container-identity.md §2.2). Why, seen here:
    // conmon 2.1.6, started without --persist-dir, writes its `oom` marker into its working
    // directory (Podman::cwd), not where podman reads it.
    eprintln!(
        "conmon's oom marker in podman's working directory: {}",
        p.cwd.path().join("oom").exists()
    );
    let st = p.podman(&["inspect", "-f", "{{.State.OOMKilled}}", name]);
    assert_eq!(
        String::from_utf8_lossy(&st.stdout).trim(),
        "false",
        "podman's OOMKilled flag changed: {}",
        said(&st)
    );
    // The kernel's report is the ground truth, and triage names the container from it.
    let report = wait_oom_report(&cgroup, Duration::from_secs(10));
    assert!(
        report.contains("Killed process"),
        "no OOM report for {cgroup}"
    );
    let events = triage_report(&report, &[]);
    let e = oom_event(&events, &cgroup);
    assert_eq!(e["container_id"], id.as_str());
    assert_eq!(e["container"], name, "{e:#}");
    assert_eq!(e["workload"], format!("podman:{name}").as_str(), "{e:#}");
    assert_eq!(e["identity"]["image"], "localhost/clw-busybox:lab");
    assert_eq!(e["identity_source"], "node-files");
}

// ---- the captured files (tests/fixtures/identity/, README there) ----

const DOCKER_PLAIN: &str = "3cf0a1c93a56c516730c5d6a8b97b5748876c370914fc57aab4e4397fcb1c384";
const DOCKER_COMPOSE: &str = "643dea3ccff225c6d4764b2ef7c95c76d0168e171b160d66d350297687a39816";
const CRI_SANDBOX: &str = "6c6100789ba294563d341e80da19550ca8ad9eebe53e20e61ef8087b06baa64c";
const CRI_CTR: &str = "ad66f8b8f5fa2dee8e0de1bc526bcc636ae7aa1f91d44d6fff8a4cd0a220497b";
const PODMAN_CTR: &str = "16ca43c4385dc3cc19edb85b5ea5ba0784c1639d0f296825b18703f0ad8c921c";

fn captured(dir: &str) -> PathBuf {
    fixtures().join("identity").join(dir)
}

/// Every container cgroup path the captured `cgroups.txt` lists for the memory controller.
fn captured_cgroups(dir: &str) -> Vec<String> {
    std::fs::read_to_string(captured(dir).join("cgroups.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("4:memory:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn captured_runtime_files_resolve_to_the_names_the_runtimes_reported() {
    use clw_diag::identity::Resolver;
    let pod = format!("/kubepods/burstable/pod{CRI_POD_UID}");
    assert_eq!(
        captured_cgroups("docker"),
        [
            format!("/docker/{DOCKER_PLAIN}"),
            format!("/docker/{DOCKER_COMPOSE}")
        ]
    );
    assert_eq!(
        captured_cgroups("containerd-cri"),
        [format!("{pod}/{CRI_SANDBOX}"), format!("{pod}/{CRI_CTR}")]
    );
    assert_eq!(
        captured_cgroups("podman"),
        [format!("/libpod_parent/libpod-{PODMAN_CTR}")]
    );
    // (host root, cgroup, workload label, image, sandbox)
    let cases = [
        (
            "docker",
            format!("/docker/{DOCKER_PLAIN}"),
            "docker:clw-hog",
            Some(IMAGE),
            false,
        ),
        (
            "docker",
            format!("/docker/{DOCKER_COMPOSE}"),
            "labproj/hogsvc",
            Some(IMAGE),
            false,
        ),
        (
            "containerd-cri",
            format!("{pod}/{CRI_CTR}"),
            "shop/web-5d8f7c9b4-x2x9z/hog",
            Some("localhost/clw-busybox:lab"),
            false,
        ),
        (
            "containerd-cri",
            format!("{pod}/{CRI_SANDBOX}"),
            "shop/web-5d8f7c9b4-x2x9z (sandbox)",
            None,
            true,
        ),
        (
            "containerd-cri",
            pod.clone(),
            "shop/web-5d8f7c9b4-x2x9z",
            None,
            false,
        ),
        (
            "podman",
            format!("/libpod_parent/libpod-{PODMAN_CTR}"),
            "podman:clw-hog",
            Some("localhost/clw-busybox:lab"),
            false,
        ),
    ];
    for (dir, cg, workload, image, sandbox) in cases {
        let mut r = Resolver::new(&captured(dir));
        let id = r.resolve(&cg);
        assert_eq!(id.workload().as_deref(), Some(workload), "{cg}: {id:#?}");
        assert_eq!(id.image.as_deref(), image, "{cg}");
        assert_eq!(id.sandbox, sandbox, "{cg}");
        assert!(id.unresolved.is_none(), "{cg}: {id:#?}");
        assert!(!id.source.is_empty(), "{cg}: no source file");
    }
    // Docker's own record of the end, kept on disk (corroborating only).
    let mut r = Resolver::new(&captured("docker"));
    let st = r
        .resolve(&format!("/docker/{DOCKER_COMPOSE}"))
        .runtime_state
        .expect("State of config.v2.json");
    assert_eq!((st.oom_killed, st.exit_code), (Some(true), Some(137)));
    // Without the files the same paths give the runtime and ID, never a name.
    let empty = tempfile::tempdir().unwrap();
    let id = Resolver::new(empty.path()).resolve(&format!("/docker/{DOCKER_COMPOSE}"));
    assert!(id.container_name.is_none() && id.compose_service.is_none());
    assert!(id.unresolved.is_some(), "{id:#?}");
}

#[test]
fn captured_kernel_reports_are_named_by_triage_from_the_captured_files() {
    // (host root, victim memcg, container, workload)
    let pod = format!("/kubepods/burstable/pod{CRI_POD_UID}");
    let cases = [
        (
            "docker",
            format!("/docker/{DOCKER_PLAIN}"),
            Some("clw-hog"),
            "docker:clw-hog",
        ),
        (
            "docker",
            format!("/docker/{DOCKER_COMPOSE}"),
            Some("labproj_hogsvc_1"),
            "labproj/hogsvc",
        ),
        (
            "containerd-cri",
            format!("{pod}/{CRI_CTR}"),
            Some("hog"),
            "shop/web-5d8f7c9b4-x2x9z/hog",
        ),
        (
            "podman",
            format!("/libpod_parent/libpod-{PODMAN_CTR}"),
            Some("clw-hog"),
            "podman:clw-hog",
        ),
    ];
    for (dir, memcg, container, workload) in cases {
        let root = captured(dir);
        let report = std::fs::read_to_string(root.join("kmsg-oom.txt")).unwrap();
        let events = triage_report(&report, &["--host-root", root.to_str().unwrap()]);
        let e = oom_event(&events, &memcg);
        assert_eq!(e["container"].as_str(), container, "{memcg}: {e:#}");
        assert_eq!(e["workload"], workload, "{memcg}: {e:#}");
        assert_eq!(e["identity_source"], "node-files", "{memcg}");
    }
    // The same report with an empty host root: IDs from the path, no names, the reason said.
    let empty = tempfile::tempdir().unwrap();
    let report = std::fs::read_to_string(captured("docker").join("kmsg-oom.txt")).unwrap();
    let events = triage_report(&report, &["--host-root", empty.path().to_str().unwrap()]);
    let e = oom_event(&events, &format!("/docker/{DOCKER_COMPOSE}"));
    assert!(e["container"].is_null(), "{e:#}");
    assert_eq!(e["container_id"], DOCKER_COMPOSE);
    assert!(!e["identity"]["unresolved"].is_null(), "{e:#}");
}
