//! Real container runtimes for the live identity tests: Docker (`dockerd` + `docker-compose`),
//! containerd's CRI plugin driven by `../shared/reference/cri-client.py` in place of kubelet, and
//! podman; plus the busybox-static rootfs with the `hog` allocator (tests/helpers/hog.c) that
//! every image is made from, and the kernel's OOM report for one cgroup path.
//!
//! Each runtime is started and stopped by pid, and serialized across test binaries by an
//! `flock` on `/tmp/clw-diag-runtime-<name>.lock`, so two tests never run two dockerds or two
//! containerds at once. Each `start()` returns `None` after [`skip`] with the reason (not root,
//! binary missing, the daemon did not come up, with the tail of its log) when it cannot start.
//! Drop removes what the test made (containers by name, sandboxes, cgroup directories, pod log
//! directories) and stops the daemon by pid. The set-up follows
//! `../shared/notes/container-identity.md` §2 (the host quirks: podman needs explicit
//! `--ulimit`s, CRI needs `restrict_oom_score_adj`).
//!
//! Do not hold a [`Dockerd`] while calling [`Containerd::start`]: it starts its own dockerd to
//! build the images and would wait for the lock the caller holds.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{is_root, skip};

/// The Docker client of `docker.io` (not `/usr/local/bin/docker`, a bare static client some
/// machines carry).
pub const DOCKER: &str = "/usr/bin/docker";
/// The Python with Debian's `python3-grpcio` and `python3-grpc-tools` (not a pyenv one first on
/// `PATH`).
pub const PYTHON: &str = "/usr/bin/python3";
/// The image every runtime gets, imported from [`rootfs`] (`localhost/…` for podman and CRI).
pub const IMAGE: &str = "clw-busybox:lab";
/// The pod the CRI client makes (its fixed names, `cri-client.py`).
pub const CRI_NAMESPACE: &str = "shop";
/// See [`CRI_NAMESPACE`].
pub const CRI_POD: &str = "web-5d8f7c9b4-x2x9z";
/// See [`CRI_NAMESPACE`].
pub const CRI_POD_UID: &str = "0f1e2d3c-4b5a-6978-8877-665544332211";
/// See [`CRI_NAMESPACE`].
pub const CRI_CONTAINER: &str = "hog";

/// An exclusive `flock` on `/tmp/clw-diag-runtime-NAME.lock`, held until drop (close).
pub struct Lock(File);

/// Take the lock of runtime `name`, waiting for another test binary that holds it.
pub fn lock(name: &str) -> Lock {
    let path = format!("/tmp/clw-diag-runtime-{name}.lock");
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: flock(2) on a descriptor we own.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock {path}");
    Lock(f)
}

/// Run `prog args` to completion (stdin closed), panicking only when it cannot be spawned.
fn exec(prog: &str, args: &[&str]) -> Output {
    Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn {prog}: {e}"))
}

/// `out`'s stdout and stderr, for a failure message.
pub fn said(o: &Output) -> String {
    format!(
        "exit {:?}; stdout: {}; stderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).trim(),
        String::from_utf8_lossy(&o.stderr).trim()
    )
}

/// Whether `prog` is an executable file (absolute path) or found on `PATH`.
fn installed(prog: &str) -> bool {
    if prog.starts_with('/') {
        return Path::new(prog).is_file();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
        .unwrap_or(false)
}

/// The last `n` lines of a daemon log, for a skip reason.
fn tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// Skip unless root and every program is installed.
fn preflight(what: &str, progs: &[&str]) -> bool {
    if !is_root() {
        skip(&format!("{what} needs root"));
        return false;
    }
    if let Some(p) = progs.iter().find(|p| !installed(p)) {
        skip(&format!(
            "{what}: {p} is not installed (.ci/run installs it)"
        ));
        return false;
    }
    true
}

/// containerd's socket (the default address, which `ctr` and the CRI client use).
const CONTAINERD_SOCK: &str = "/run/containerd/containerd.sock";

/// Whether something accepts connections on the unix socket `path`.
fn answers(path: &str) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

/// Send SIGTERM to our child daemon, wait up to `grace` for it, then SIGKILL it.
fn stop(child: &mut Child, grace: Duration) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let t0 = Instant::now();
    while t0.elapsed() < grace {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The pids of the processes whose command line contains `marker` (a runtime's shims, whose
/// `-address` names the daemon's socket, or a conmon, whose arguments carry the container ID).
fn pids_with(marker: &str) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c)
                    .replace('\0', " ")
                    .contains(marker)
            })
        })
        .collect()
}

/// The pids of zombie processes named `comm` (a shim or conmon that already exited and waits
/// for PID 1 to reap it; its command line is empty then, so [`pids_with`] misses it).
fn zombies(comm: &str) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // stat: "PID (COMM) STATE ..."
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| {
                st.rsplit_once(") ").is_some_and(|(head, tail)| {
                    head.ends_with(&format!("({comm}")) && tail.starts_with('Z')
                })
            })
        })
        .collect()
}

/// Wait up to `limit` until every pid is gone from `/proc`, zombies included (shims and conmon
/// exit just after the runtime says the container is gone, and PID 1 reaps them): Drop returns
/// with nothing of the runtime left in `ps`.
fn wait_gone(pids: &[i32], limit: Duration) {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if !pids
            .iter()
            .any(|p| Path::new(&format!("/proc/{p}")).exists())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Poll `ready` every 100 ms for up to `limit` while `child` lives; the time it took, or an
/// error naming why not.
fn wait_ready(
    child: &mut Child,
    limit: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<Duration, String> {
    let t0 = Instant::now();
    loop {
        if ready() {
            return Ok(t0.elapsed());
        }
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!("exited ({st})"));
        }
        if t0.elapsed() > limit {
            return Err(format!("not ready after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The roots of every mounted cgroup hierarchy (each v1 controller's and the v2 tree's).
fn cgroup_roots() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut roots = vec![base.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(base) {
        roots.extend(rd.flatten().map(|e| e.path()));
    }
    roots.retain(|r| r.join("cgroup.procs").exists());
    roots
}

/// Remove what a runtime left in every hierarchy, and nothing of anyone else's (other tests
/// make their own `/docker/<id>` and `/kubepods/...` cgroups): each of `ours` (a container's
/// cgroup, a pod's) with everything below it, bottom-up with rmdir; then each of `parents`
/// (deepest first) only if empty, whoever made it: the runtime made it in the hierarchies a
/// concurrent test did not, and a test that found it there leaves it. Directories that still
/// hold tasks or children stay (rmdir fails with EBUSY or ENOTEMPTY).
pub fn remove_cgroups(ours: &[String], parents: &[&str]) {
    fn rmdir_all(dir: &Path) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    rmdir_all(&e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
    for root in cgroup_roots() {
        for rel in ours {
            let dir = root.join(rel.trim_start_matches('/'));
            for _ in 0..20 {
                if !dir.exists() {
                    break;
                }
                rmdir_all(&dir);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        for rel in parents {
            let _ = std::fs::remove_dir(root.join(rel.trim_start_matches('/')));
        }
    }
}

/// The rootfs tarball every image is made from, built once per test binary: `/bin/busybox`
/// (Debian's busybox-static), `/bin/sh` and `/bin/sleep` linking to it, and `/bin/hog`
/// (tests/helpers/hog.c, `gcc -static`). `None` after a skip when busybox-static or gcc is
/// missing.
pub fn rootfs() -> Option<&'static Path> {
    static TAR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = TAR.get_or_init(|| {
        let busybox = Path::new("/bin/busybox");
        if !busybox.is_file() {
            return Err("/bin/busybox is missing (busybox-static)".into());
        }
        // A dynamic busybox (Debian's `busybox` package) would not run in an empty rootfs.
        let ldd = exec("ldd", &["/bin/busybox"]);
        if ldd.status.success() {
            return Err("/bin/busybox is dynamically linked (install busybox-static)".into());
        }
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        // Those of test binaries that have exited (one per binary and run).
        for e in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
            let n = e.file_name();
            let pid = n.to_str().and_then(|n| n.strip_prefix("runtime-rootfs-"));
            if pid.is_some_and(|p| !Path::new("/proc").join(p).exists()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let dir = tmp.join(format!("runtime-rootfs-{}", std::process::id()));
        let root = dir.join("rootfs");
        let _ = std::fs::remove_dir_all(&dir);
        for d in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
            std::fs::create_dir_all(root.join(d)).map_err(|e| e.to_string())?;
        }
        std::fs::copy(busybox, root.join("bin/busybox")).map_err(|e| e.to_string())?;
        for l in ["sh", "sleep"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(l))
                .map_err(|e| e.to_string())?;
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/hog.c");
        let hog = root.join("bin/hog");
        let cc = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&hog)
            .arg(&src)
            .output()
            .map_err(|e| format!("gcc: {e}"))?;
        if !cc.status.success() {
            return Err(format!("gcc -static hog.c failed: {}", said(&cc)));
        }
        let tar = dir.join("rootfs.tar");
        let t = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .output()
            .map_err(|e| format!("tar: {e}"))?;
        if !t.status.success() {
            return Err(format!("tar failed: {}", said(&t)));
        }
        Ok(tar)
    });
    match r {
        Ok(p) => Some(p),
        Err(e) => {
            skip(&format!("no busybox rootfs: {e}"));
            None
        }
    }
}

/// The kernel's whole OOM report(s) for the memory cgroup `cgroup` (e.g. `/docker/<id>`), as
/// `dmesg` prints them (with the `[ seconds]` prefix): for each `oom-kill:` line naming
/// `task_memcg=<cgroup>,`, the lines from the `invoked oom-killer` line before it to the
/// `Killed process` line after it. Selected by path, never by position: other tests OOM their
/// own cgroups on this machine. Empty when there is none (or dmesg is not readable).
pub fn oom_report(cgroup: &str) -> String {
    let o = exec("dmesg", &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().collect();
    let needle = format!("task_memcg={cgroup},");
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !(l.contains("oom-kill:") && l.contains(&needle)) {
            continue;
        }
        let start = (0..=i)
            .rev()
            .find(|&j| lines[j].contains("invoked oom-killer"))
            .unwrap_or(i);
        let end = (i..lines.len())
            .find(|&j| lines[j].contains("Killed process"))
            .unwrap_or(i);
        out.extend_from_slice(&lines[start..=end]);
    }
    let mut s = out.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

/// Wait up to `limit` for [`oom_report`] of `cgroup` to be non-empty (the kernel prints it
/// as it kills; the runtime may report the exit first).
pub fn wait_oom_report(cgroup: &str, limit: Duration) -> String {
    let t0 = Instant::now();
    loop {
        let r = oom_report(cgroup);
        if !r.is_empty() || t0.elapsed() > limit {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `dockerd` this test started (cgroupfs driver, no iptables, no bridge, default data-root
/// `/var/lib/docker` so `--host-root /` finds its files), with [`IMAGE`] imported. Drop removes
/// the containers made through [`Dockerd::run`]/[`Dockerd::track`], stops dockerd by pid and
/// removes the cgroup directories it left (its containers' `/docker/<id>`, and `/docker` when
/// empty).
pub struct Dockerd {
    child: Child,
    /// Pidfile, log and scratch files.
    pub dir: tempfile::TempDir,
    names: Mutex<Vec<String>>,
    /// From spawning dockerd to `docker info` answering.
    pub ready_in: Duration,
    _lock: Lock,
    /// Held too: dockerd 20.10 uses a containerd it finds on /run/containerd/containerd.sock
    /// instead of starting its own, and a container started there keeps its shim running when
    /// the CRI test stops that containerd (seen: a `-namespace moby` shim left after a run).
    _containerd_lock: Lock,
}

impl Dockerd {
    /// Start dockerd and import [`IMAGE`]; `None` after a skip when it cannot.
    pub fn start() -> Option<Dockerd> {
        if !preflight("dockerd", &["dockerd", DOCKER]) {
            return None;
        }
        let tar = rootfs()?;
        let lock = lock("docker");
        let containerd_lock = self::lock("containerd");
        if exec(DOCKER, &["info"]).status.success() {
            skip("a dockerd not started by this test answers on /var/run/docker.sock");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("dockerd.log");
        let pidfile = dir.path().join("dockerd.pid");
        let log_file = File::create(&log).unwrap();
        let mut child = match Command::new("dockerd")
            .args([
                "--iptables=false",
                "--ip-forward=false",
                "--bridge=none",
                "--exec-opt",
                "native.cgroupdriver=cgroupfs",
                "--pidfile",
            ])
            .arg(&pidfile)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                skip(&format!("cannot spawn dockerd: {e}"));
                return None;
            }
        };
        let ready = wait_ready(&mut child, Duration::from_secs(30), || {
            exec(DOCKER, &["info"]).status.success()
        });
        let ready_in = match ready {
            Ok(t) => t,
            Err(why) => {
                stop(&mut child, Duration::from_secs(10));
                remove_cgroups(&[], &["/docker"]);
                skip(&format!("dockerd {why}; log: {}", tail(&log, 5)));
                return None;
            }
        };
        let d = Dockerd {
            child,
            dir,
            names: Mutex::new(Vec::new()),
            ready_in,
            _lock: lock,
            _containerd_lock: containerd_lock,
        };
        let imp = d.docker(&[
            "import",
            "--change",
            "CMD [\"/bin/sh\"]",
            tar.to_str().unwrap(),
            IMAGE,
        ]);
        if !imp.status.success() {
            skip(&format!("docker import failed: {}", said(&imp)));
            return None;
        }
        Some(d)
    }

    /// dockerd's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Run `/usr/bin/docker ARGS`.
    pub fn docker(&self, args: &[&str]) -> Output {
        exec(DOCKER, args)
    }

    /// Remember container `name` for removal on drop (and remove a leftover of that name now).
    pub fn track(&self, name: &str) {
        let _ = self.docker(&["rm", "-f", name]);
        self.names.lock().unwrap().push(name.to_string());
    }

    /// `docker run --name NAME ARGS` (ARGS: options, image, command), the container tracked.
    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        self.track(name);
        let mut all = vec!["run", "--name", name];
        all.extend_from_slice(args);
        self.docker(&all)
    }

    /// `docker-compose -p PROJECT -f DIR/docker-compose.yml ARGS`, run in `dir` (compose v1).
    /// Track its containers (`PROJECT_SERVICE_1`) with [`Dockerd::track`] before `up`.
    pub fn compose(&self, project: &str, dir: &Path, args: &[&str]) -> Output {
        let file = dir.join("docker-compose.yml");
        Command::new("docker-compose")
            .args(["-p", project, "-f", file.to_str().unwrap()])
            .args(args)
            .current_dir(dir)
            // compose v1 talks to /var/run/docker.sock; no pyenv python in its way
            .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
            .stdin(Stdio::null())
            .output()
            .expect("spawn docker-compose")
    }

    /// The container's full 64-hex ID (`docker inspect`), or `None`.
    pub fn id(&self, name: &str) -> Option<String> {
        let o = self.docker(&["inspect", "-f", "{{.Id}}", name]);
        let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
        (o.status.success() && id.len() == 64).then_some(id)
    }

    /// The host pid of the container's init process while it runs (`State.Pid`), or `None`.
    pub fn host_pid(&self, name: &str) -> Option<i32> {
        let o = self.docker(&["inspect", "-f", "{{.State.Pid}}", name]);
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .ok()
            .filter(|&p| p > 0)
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let shims = pids_with("-address /var/run/docker/containerd/containerd.sock");
        let names = std::mem::take(&mut *self.names.lock().unwrap());
        let ours: Vec<String> = names
            .iter()
            .filter_map(|n| self.id(n))
            .map(|id| format!("/docker/{id}"))
            .collect();
        if !names.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(names.iter().map(String::as_str));
            let _ = self.docker(&args);
        }
        // Each import makes a new image ID: untag ours so runs do not pile up images.
        let _ = self.docker(&[
            "rmi",
            IMAGE,
            "localhost/clw-busybox:lab",
            "localhost/clw-pause:lab",
        ]);
        stop(&mut self.child, Duration::from_secs(20));
        let mut shims = shims;
        shims.extend(zombies("containerd-shim"));
        wait_gone(&shims, Duration::from_secs(10));
        remove_cgroups(&ours, &["/docker"]);
    }
}

/// containerd 1.6 with its CRI plugin, configured as container-identity.md §2.4 says (its own
/// config in a temp dir; default root `/var/lib/containerd` and state `/run/containerd`, so the
/// resolver's default paths apply), with `localhost/clw-pause:lab` and
/// `localhost/clw-busybox:lab` (built with docker, `docker save`d, `ctr -n k8s.io images
/// import`ed), and the CRI client `../shared/reference/cri-client.py` with stubs generated from
/// `../shared/reference/cri-api/api.proto` into the temp dir. Drop runs the client's
/// `--cleanup`, stops containerd by pid, and removes the pod's cgroups
/// (`/kubepods/burstable/pod<uid>` and below, and the `/kubepods` levels when empty), the pod's
/// `/var/log/pods/shop_web-*` directory and the symlinks made by
/// [`Containerd::kubelet_log_symlink`].
pub struct Containerd {
    child: Child,
    /// Config, log, the images tarball and the generated stubs (`stubs/`).
    pub dir: tempfile::TempDir,
    client: PathBuf,
    symlinks: Mutex<Vec<PathBuf>>,
    had_var_log_pods: bool,
    /// From spawning containerd to `ctr version` answering.
    pub ready_in: Duration,
    /// Building and saving the images with a dockerd of its own (included dockerd start).
    pub images_in: Duration,
    _lock: Lock,
}

/// containerd's config (container-identity.md §2.4).
const CONTAINERD_TOML: &str = r#"version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/clw-pause:lab"
  # the sandbox lacks CAP_SYS_RESOURCE: the pause container's -998 cannot be set
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
"#;

impl Containerd {
    /// Start containerd with CRI and import the images; `None` after a skip when it cannot.
    pub fn start() -> Option<Containerd> {
        if !preflight("containerd CRI", &["containerd", "ctr", PYTHON]) {
            return None;
        }
        let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
        let client = reference.join("cri-client.py");
        let proto = reference.join("cri-api/api.proto");
        if !client.is_file() || !proto.is_file() {
            skip(&format!(
                "{} (cri-client.py, cri-api/api.proto) is absent: no CRI client",
                reference.display()
            ));
            return None;
        }
        if !exec(PYTHON, &["-c", "import grpc, grpc_tools"])
            .status
            .success()
        {
            skip("/usr/bin/python3 lacks grpc/grpc_tools (python3-grpcio python3-grpc-tools)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let stubs = dir.path().join("stubs");
        std::fs::create_dir(&stubs).unwrap();
        if let Err(e) = gen_stubs(&proto, &stubs) {
            skip(&e);
            return None;
        }
        // The images, built before taking containerd's lock (Dockerd takes docker's).
        let t0 = Instant::now();
        let images = dir.path().join("images.tar");
        {
            let d = Dockerd::start()?;
            let pause = dir.path().join("pause");
            std::fs::create_dir(&pause).unwrap();
            std::fs::write(
                pause.join("Dockerfile"),
                format!("FROM {IMAGE}\nCMD [\"/bin/sleep\", \"2147483647\"]\n"),
            )
            .unwrap();
            let steps: [Vec<&str>; 3] = [
                vec![
                    "build",
                    "-q",
                    "-t",
                    "localhost/clw-pause:lab",
                    pause.to_str().unwrap(),
                ],
                vec!["tag", IMAGE, "localhost/clw-busybox:lab"],
                vec![
                    "save",
                    "-o",
                    images.to_str().unwrap(),
                    "localhost/clw-pause:lab",
                    "localhost/clw-busybox:lab",
                ],
            ];
            for s in &steps {
                let o = d.docker(s);
                if !o.status.success() {
                    skip(&format!("docker {} failed: {}", s[0], said(&o)));
                    return None;
                }
            }
        }
        let images_in = t0.elapsed();
        let lock = lock("containerd");
        // (a connect, not `ctr version`: with no daemon ctr waits 10 s for its dial timeout)
        if answers(CONTAINERD_SOCK) {
            skip(
                "a containerd not started by this test answers on /run/containerd/containerd.sock",
            );
            return None;
        }
        let config = dir.path().join("containerd-cri.toml");
        std::fs::write(&config, CONTAINERD_TOML).unwrap();
        let log = dir.path().join("containerd.log");
        let log_file = File::create(&log).unwrap();
        let had_var_log_pods = Path::new("/var/log/pods").exists();
        let mut child = match Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                skip(&format!("cannot spawn containerd: {e}"));
                return None;
            }
        };
        let ready = wait_ready(&mut child, Duration::from_secs(30), || {
            answers(CONTAINERD_SOCK) && exec("ctr", &["version"]).status.success()
        });
        let ready_in = match ready {
            Ok(t) => t,
            Err(why) => {
                stop(&mut child, Duration::from_secs(10));
                skip(&format!("containerd {why}; log: {}", tail(&log, 5)));
                return None;
            }
        };
        let c = Containerd {
            child,
            dir,
            client,
            symlinks: Mutex::new(Vec::new()),
            had_var_log_pods,
            ready_in,
            images_in,
            _lock: lock,
        };
        let imp = exec(
            "ctr",
            &["-n", "k8s.io", "images", "import", images.to_str().unwrap()],
        );
        if !imp.status.success() {
            skip(&format!("ctr images import failed: {}", said(&imp)));
            return None;
        }
        // A sandbox left by an earlier run that was killed would collide with the fixed pod.
        let _ = c.cri(&["--cleanup"]);
        Some(c)
    }

    /// containerd's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Run `/usr/bin/python3 ../shared/reference/cri-client.py ARGS` with the generated stubs.
    /// With `CMD ARGS... --leave` it prints `sandbox ID container ID started in …` and returns
    /// at once; without `--leave` it waits for the container to exit and prints its status as
    /// JSON; `--cleanup` stops and removes every sandbox.
    pub fn cri(&self, args: &[&str]) -> Output {
        let stubs = self.dir.path().join("stubs");
        Command::new(PYTHON)
            .arg(&self.client)
            .args(args)
            .current_dir(&stubs)
            .env("PYTHONPATH", &stubs)
            .stdin(Stdio::null())
            .output()
            .expect("spawn cri-client.py")
    }

    /// Start the client's pod with `cmd` in its container and return at once: `(sandbox ID,
    /// container ID)`, or the client's output as the error.
    pub fn run_pod(&self, cmd: &[&str]) -> Result<(String, String), String> {
        let mut args = cmd.to_vec();
        args.push("--leave");
        let o = self.cri(&args);
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let w: Vec<&str> = out.split_whitespace().collect();
        match (o.status.success(), w.as_slice()) {
            (true, ["sandbox", sb, "container", c, ..]) => Ok((sb.to_string(), c.to_string())),
            _ => Err(said(&o)),
        }
    }

    /// The task bundle directory of a running sandbox or container.
    pub fn bundle(id: &str) -> PathBuf {
        Path::new("/run/containerd/io.containerd.runtime.v2.task/k8s.io").join(id)
    }

    /// The pod's cgroup parent (kubelet's cgroupfs shape, as the client sets it).
    pub fn pod_cgroup() -> String {
        format!("/kubepods/burstable/pod{CRI_POD_UID}")
    }

    /// Create `/var/log/containers/<pod>_<ns>_<ctr>-<id>.log` → `target`, the symlink kubelet
    /// makes for each container (kubernetes pkg/kubelet/kuberuntime `logSymlink`). There is no
    /// kubelet here: the caller says in its test that this one is simulated. Removed on drop.
    pub fn kubelet_log_symlink(&self, container_id: &str, target: &Path) -> PathBuf {
        let dir = Path::new("/var/log/containers");
        std::fs::create_dir_all(dir).unwrap();
        let link = dir.join(format!(
            "{CRI_POD}_{CRI_NAMESPACE}_{CRI_CONTAINER}-{container_id}.log"
        ));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(target, &link).unwrap();
        self.symlinks.lock().unwrap().push(link.clone());
        link
    }

    /// The pod's log directory `/var/log/pods/<ns>_<pod>_<uid>`.
    pub fn pod_log_dir() -> PathBuf {
        PathBuf::from(format!(
            "/var/log/pods/{CRI_NAMESPACE}_{CRI_POD}_{CRI_POD_UID}"
        ))
    }
}

/// Generate `api_pb2.py` and `api_pb2_grpc.py` into `out` with `/usr/bin/python3 -m
/// grpc_tools.protoc`, from the reference proto; Debian's grpc-tools 1.14 bundles a protoc
/// that rejects the proto's `[debug_redact = true]` field options (added in protobuf 22), so
/// on that error the stubs are made from a copy in `out` without them (no wire difference).
fn gen_stubs(proto: &Path, out: &Path) -> Result<(), String> {
    let protoc = |include: &Path, file: &Path| {
        Command::new(PYTHON)
            .args(["-m", "grpc_tools.protoc"])
            .arg(format!("-I{}", include.display()))
            .arg(format!("--python_out={}", out.display()))
            .arg(format!("--grpc_python_out={}", out.display()))
            .arg(file)
            .current_dir(out)
            .output()
            .expect("spawn grpc_tools.protoc")
    };
    let o = protoc(proto.parent().unwrap(), proto);
    if o.status.success() {
        return Ok(());
    }
    if !String::from_utf8_lossy(&o.stderr).contains("debug_redact") {
        return Err(format!("grpc_tools.protoc failed: {}", said(&o)));
    }
    let text = std::fs::read_to_string(proto).map_err(|e| e.to_string())?;
    let copy = out.join("api.proto");
    std::fs::write(&copy, text.replace(" [debug_redact = true]", "")).unwrap();
    let o = protoc(out, &copy);
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("grpc_tools.protoc failed: {}", said(&o)))
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let shims = pids_with("-address /run/containerd/containerd.sock");
        let _ = self.cri(&["--cleanup"]);
        for l in std::mem::take(&mut *self.symlinks.lock().unwrap()) {
            let _ = std::fs::remove_file(l);
        }
        let _ = std::fs::remove_dir("/var/log/containers");
        let _ = exec(
            "ctr",
            &[
                "-n",
                "k8s.io",
                "images",
                "rm",
                "localhost/clw-pause:lab",
                "localhost/clw-busybox:lab",
            ],
        );
        stop(&mut self.child, Duration::from_secs(20));
        let mut shims = shims;
        shims.extend(zombies("containerd-shim"));
        wait_gone(&shims, Duration::from_secs(10));
        // The client's pod (its fixed UID) is ours, sandbox and containers below it.
        remove_cgroups(
            &[Containerd::pod_cgroup()],
            &["/kubepods/burstable", "/kubepods"],
        );
        if let Ok(rd) = std::fs::read_dir("/var/log/pods") {
            for e in rd.flatten() {
                let n = e.file_name();
                if n.to_string_lossy()
                    .starts_with(&format!("{CRI_NAMESPACE}_{CRI_POD}_"))
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        if !self.had_var_log_pods {
            let _ = std::fs::remove_dir("/var/log/pods");
        }
    }
}

/// Podman (rootful, no daemon) with `localhost/clw-busybox:lab` imported. Drop runs `podman rm
/// -f` on the containers made through [`Podman::run`] and removes the `/libpod_parent` cgroup
/// directories podman left (its containers', and `/libpod_parent` when empty).
pub struct Podman {
    names: Mutex<Vec<String>>,
    /// The working directory of every podman command (and so of its conmon): conmon 2.1.6,
    /// started by podman 4.3.1 without `--persist-dir`, writes its OOM marker file `oom` into
    /// its current directory, where podman never looks (which is why `podman inspect` says
    /// `OOMKilled: false` here); in this directory it does not land in the project.
    pub cwd: tempfile::TempDir,
    _lock: Lock,
}

impl Podman {
    /// Import the image; `None` after a skip when podman cannot run.
    pub fn start() -> Option<Podman> {
        if !preflight("podman", &["podman"]) {
            return None;
        }
        let tar = rootfs()?;
        let lock = lock("podman");
        let p = Podman {
            names: Mutex::new(Vec::new()),
            cwd: tempfile::tempdir().unwrap(),
            _lock: lock,
        };
        let imp = p.podman(&[
            "import",
            "--change",
            "CMD [\"/bin/sh\"]",
            tar.to_str().unwrap(),
            "localhost/clw-busybox:lab",
        ]);
        if !imp.status.success() {
            skip(&format!("podman import failed: {}", said(&imp)));
            return None;
        }
        Some(p)
    }

    /// Run `podman ARGS` in [`Podman::cwd`].
    pub fn podman(&self, args: &[&str]) -> Output {
        Command::new("podman")
            .args(args)
            .current_dir(self.cwd.path())
            .stdin(Stdio::null())
            .output()
            .expect("spawn podman")
    }

    /// `podman run --name NAME --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --network
    /// none OPTIONS localhost/clw-busybox:lab CMD…` (the ulimits: quirk 1, the sandbox lacks
    /// CAP_SYS_RESOURCE and runc fails to set podman's default rlimits), tracked for removal.
    pub fn run(&self, name: &str, options: &[&str], cmd: &[&str]) -> Output {
        let _ = self.podman(&["rm", "-f", name]);
        self.names.lock().unwrap().push(name.to_string());
        let mut all = vec![
            "run",
            "--name",
            name,
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=4096:4096",
            "--network",
            "none",
        ];
        all.extend_from_slice(options);
        all.push("localhost/clw-busybox:lab");
        all.extend_from_slice(cmd);
        self.podman(&all)
    }

    /// The container's full 64-hex ID, or `None`.
    pub fn id(&self, name: &str) -> Option<String> {
        let o = self.podman(&["inspect", "-f", "{{.Id}}", name]);
        let id = String::from_utf8_lossy(&o.stdout).trim().to_string();
        (o.status.success() && id.len() == 64).then_some(id)
    }

    /// The host pid of the container's init process while it runs, or `None`.
    pub fn host_pid(&self, name: &str) -> Option<i32> {
        let o = self.podman(&["inspect", "-f", "{{.State.Pid}}", name]);
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .ok()
            .filter(|&p| p > 0)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let mut ours = Vec::new();
        for n in std::mem::take(&mut *self.names.lock().unwrap()) {
            let id = self.id(&n);
            let mut conmon = id.as_deref().map(pids_with).unwrap_or_default();
            let _ = self.podman(&["rm", "-f", &n]);
            conmon.extend(zombies("conmon"));
            wait_gone(&conmon, Duration::from_secs(10));
            ours.extend(id.map(|id| format!("/libpod_parent/libpod-{id}")));
        }
        let _ = self.podman(&["rmi", "localhost/clw-busybox:lab"]);
        remove_cgroups(&ours, &["/libpod_parent/conmon", "/libpod_parent"]);
    }
}
