//! The sampling loop of `record`: writes a memory trace (see [`crate::trace`]) of a process
//! (optionally with its descendants), a memory cgroup, or a command it starts (optionally in a
//! new memory cgroup with a limit, to reproduce an OOM on purpose).
//!
//! The recorder is a guest on a sick machine: it raises its own `oom_score_adj` to 1000 so it,
//! not the workload, is the first OOM victim; it keeps O(1) state (running sums for the progress
//! slope); and it reads `smaps_rollup` (which walks page tables under the target's mmap lock) at
//! a lower rate when reading it costs more than 1 % of the interval.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::sample::cgroup::{memory_cgroup_of, CgroupVersion, MemoryHierarchy};
use crate::sample::files;
use crate::trace::write::TraceWriter;

/// What to record.
#[derive(Debug, Clone)]
pub enum Target {
    Pid {
        pid: i32,
        children: bool,
    },
    Cgroup {
        path: String,
    },
    Command {
        argv: Vec<String>,
        memory_limit: Option<u64>,
        children: bool,
    },
}

/// Progress callback: (seconds since start, bytes of the main metric, slope in bytes/s).
pub type ProgressFn<'a> = dyn FnMut(f64, Option<u64>, Option<f64>) + 'a;

/// Recording options.
pub struct Options<'a> {
    pub target: Target,
    pub interval: Duration,
    pub duration: Option<Duration>,
    pub output: PathBuf,
    pub keep_oom_score: bool,
    pub proc_root: PathBuf,
    pub cgroup_root: PathBuf,
    /// Set (by a signal handler) to stop recording.
    pub stop: &'a AtomicBool,
    /// Called after each sample with (seconds, bytes of the main metric, slope bytes/s).
    pub progress: Option<&'a mut ProgressFn<'a>>,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub output: String,
    pub samples: u64,
    pub duration_s: f64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub oom_kills: u64,
    pub stopped_by: String,
    pub notes: Vec<String>,
}

/// A memory cgroup created for a command, removed on drop.
struct OwnedCgroup {
    dir: PathBuf,
    rel: String,
}

impl Drop for OwnedCgroup {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn create_cgroup(h: &MemoryHierarchy, limit: u64) -> Result<OwnedCgroup> {
    let name = format!("clw-record-{}", std::process::id());
    let dir = h.mount.join(&name);
    if h.version == CgroupVersion::V2 {
        // The memory controller must be enabled for the root's children.
        let _ = std::fs::write(h.mount.join("cgroup.subtree_control"), "+memory");
    }
    std::fs::create_dir(&dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => Error::PermissionDenied {
            path: dir.clone(),
            hint:
                " (creating a memory cgroup for --memory-limit needs root, or a delegated cgroup)",
        },
        _ => Error::io(&dir, e),
    })?;
    let cg = OwnedCgroup {
        dir: dir.clone(),
        rel: format!("/{name}"),
    };
    let file = if h.version == CgroupVersion::V2 {
        "memory.max"
    } else {
        "memory.limit_in_bytes"
    };
    std::fs::write(dir.join(file), limit.to_string()).map_err(|e| Error::io(&dir.join(file), e))?;
    Ok(cg)
}

/// Read a small /proc file into `buf` with as few system calls as possible (no size probe,
/// one large read). Returns the text, or `None` when the file cannot be read.
fn read_proc<'b>(path: &Path, buf: &'b mut Vec<u8>) -> Option<&'b str> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    buf.clear();
    buf.resize(16 * 1024, 0);
    let mut n = 0;
    loop {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                if n == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    buf.truncate(n);
    std::str::from_utf8(buf).ok()
}

thread_local! {
    static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(16 * 1024));
    /// Open `/proc/PID` directories (O_PATH): files are opened relative to them, which saves the
    /// kernel a path walk through /proc for every file of every sample.
    static DIRS: std::cell::RefCell<std::collections::HashMap<(std::path::PathBuf, i32), std::fs::File>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Read `name` of process `pid` into `buf` through the cached directory descriptor.
fn read_pid_file<'b>(
    proc_root: &Path,
    pid: i32,
    name: &std::ffi::CStr,
    buf: &'b mut Vec<u8>,
) -> Option<&'b str> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let fd = DIRS.with(|d| {
        let mut d = d.borrow_mut();
        let key = (proc_root.to_path_buf(), pid);
        if !d.contains_key(&key) {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
                .open(proc_root.join(pid.to_string()))
                .ok()?;
            d.insert(key.clone(), f);
        }
        d.get(&key).map(|f| f.as_raw_fd())
    })?;
    // SAFETY: openat/read/close on descriptors we own; the buffer outlives the read.
    let file = unsafe { libc::openat(fd, name.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if file < 0 {
        // The process is gone (or the directory is stale): forget the descriptor.
        DIRS.with(|d| d.borrow_mut().remove(&(proc_root.to_path_buf(), pid)));
        return None;
    }
    buf.clear();
    buf.resize(16 * 1024, 0);
    let mut n = 0;
    loop {
        if n == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let k = unsafe {
            libc::read(
                file,
                buf[n..].as_mut_ptr() as *mut libc::c_void,
                buf.len() - n,
            )
        };
        if k < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if k <= 0 {
            break;
        }
        n += k as usize;
    }
    unsafe { libc::close(file) };
    buf.truncate(n);
    std::str::from_utf8(buf).ok()
}

/// `/proc/PID/status` figures in bytes: rss, anon, file, shmem, swap.
fn status(proc_root: &Path, pid: i32) -> Option<[u64; 5]> {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        let text = read_pid_file(proc_root, pid, c"status", &mut b)?;
        let mut out = [0u64; 5];
        let mut seen = false;
        for line in text.lines() {
            let idx = match line.split(':').next()? {
                "VmRSS" => 0,
                "RssAnon" => 1,
                "RssFile" => 2,
                "RssShmem" => 3,
                "VmSwap" => 4,
                _ => continue,
            };
            seen = true;
            out[idx] = line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024;
        }
        seen.then_some(out)
    })
}

/// `/proc/PID/statm`: resident and shared pages (Documentation/filesystems/proc.rst, table 1-3).
fn statm(proc_root: &Path, pid: i32) -> Option<(u64, u64)> {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        let text = read_pid_file(proc_root, pid, c"statm", &mut b)?;
        let mut it = text.split_whitespace().skip(1);
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    })
}

/// Pss and USS from `smaps_rollup`, bytes.
fn rollup(proc_root: &Path, pid: i32) -> Option<(u64, u64)> {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        let text = read_proc(
            &proc_root.join(pid.to_string()).join("smaps_rollup"),
            &mut b,
        )?;
        let get = |k: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(k))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
                .map(|v| v * 1024)
        };
        Some((
            get("Pss:")?,
            get("Private_Clean:")? + get("Private_Dirty:")?,
        ))
    })
}

/// The pid and its descendants (from the ppid field of /proc/*/stat).
fn descendants(proc_root: &Path, root: i32) -> Vec<i32> {
    let mut parent = std::collections::HashMap::new();
    if let Ok(rd) = std::fs::read_dir(proc_root) {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) {
                if let Some(ppid) = stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<i32>().ok())
                {
                    parent.insert(pid, ppid);
                }
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent.iter().filter(|(_, &pp)| pp == p).map(|(&c, _)| c));
        i += 1;
    }
    out
}

fn cgroup_sample(h: &MemoryHierarchy, rel: &str, m: &mut Map<String, Value>) -> Option<u64> {
    let c = h.read(rel).ok()?;
    let mut put = |k: &str, v: Option<u64>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    put("usage_bytes", c.usage_bytes);
    put("working_set_bytes", c.working_set_bytes);
    put("cgroup_anon_bytes", c.anon_bytes);
    put("cgroup_file_bytes", c.file_bytes);
    put("limit_bytes", c.effective_limit_bytes);
    put("oom", c.events.get("oom").copied());
    put("max", c.limit_hit_count);
    if let Some(p) = c.psi {
        m.insert("psi_some_avg10".into(), json!(p.some.avg10_pct));
    }
    c.oom_kill_count
}

fn self_stats() -> (f64, Option<u64>) {
    // SAFETY: getrusage on our own process with a zeroed struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let cpu = ru.ru_utime.tv_sec as f64
        + ru.ru_utime.tv_usec as f64 / 1e6
        + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 / 1e6;
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map(|k| k * 1024);
    (cpu, hwm)
}

/// Record until the duration ends, the target exits or `stop` is set.
///
/// Errors: a pid that does not exist, a cgroup that does not exist, a command that cannot be
/// started, no permission to create a cgroup, an output file that cannot be written.
pub fn record(mut o: Options<'_>) -> Result<Summary> {
    let mut notes = Vec::new();
    if !o.keep_oom_score && std::fs::write("/proc/self/oom_score_adj", "1000").is_err() {
        notes.push("could not raise the recorder's own oom_score_adj to 1000".into());
    }
    let hierarchy = MemoryHierarchy::detect(&o.cgroup_root).ok();
    let mut owned: Option<OwnedCgroup> = None;
    let mut child: Option<std::process::Child> = None;
    let (pid, children, cg_rel, target_json) = match &o.target {
        Target::Pid { pid, children } => {
            // No such pid, or a kernel thread (which has no memory of its own to record).
            let p = crate::sample::process::open(&o.proc_root, *pid)?;
            if crate::sample::process::is_kernel_thread(&p) {
                let name = p.stat().map(|s| s.comm).unwrap_or_default();
                return Err(Error::KernelThread { pid: *pid, name });
            }
            if status(&o.proc_root, *pid).is_none() {
                return Err(Error::Vanished {
                    pid: *pid,
                    path: o.proc_root.join(pid.to_string()),
                });
            }
            let cg = hierarchy.as_ref().and_then(|h| {
                let text = files::read_optional(&o.proc_root.join(pid.to_string()).join("cgroup"))
                    .ok()??;
                memory_cgroup_of(&text, h.version)
            });
            (
                Some(*pid),
                *children,
                cg.clone(),
                json!({"kind": "process", "pid": pid, "children": children, "memory_cgroup": cg}),
            )
        }
        Target::Cgroup { path } => {
            let h = hierarchy.as_ref().ok_or_else(|| Error::NoMemoryHierarchy {
                path: o.cgroup_root.clone(),
            })?;
            let (_, rel) = h.resolve(path)?;
            (
                None,
                false,
                Some(rel.clone()),
                json!({"kind": "cgroup", "cgroup": rel}),
            )
        }
        Target::Command {
            argv,
            memory_limit,
            children,
        } => {
            if let Some(limit) = memory_limit {
                let h = hierarchy.as_ref().ok_or_else(|| Error::NoMemoryHierarchy {
                    path: o.cgroup_root.clone(),
                })?;
                owned = Some(create_cgroup(h, *limit)?);
            }
            let mut cmd = std::process::Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            if let Some(cg) = &owned {
                let procs = std::ffi::CString::new(
                    cg.dir.join("cgroup.procs").as_os_str().as_encoded_bytes(),
                )
                .map_err(|_| Error::Usage("cgroup path contains a NUL byte".into()))?;
                use std::os::unix::process::CommandExt;
                // SAFETY: only async-signal-safe calls (open, write, close) between fork and exec;
                // writing "0" to cgroup.procs moves the writing process.
                unsafe {
                    cmd.pre_exec(move || {
                        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                        if fd < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        let ok = libc::write(fd, b"0\n".as_ptr() as *const libc::c_void, 2) == 2;
                        libc::close(fd);
                        if ok {
                            Ok(())
                        } else {
                            Err(std::io::Error::last_os_error())
                        }
                    });
                }
            }
            let c = cmd
                .spawn()
                .map_err(|e| Error::Usage(format!("cannot start {:?}: {e}", argv[0])))?;
            let pid = c.id() as i32;
            child = Some(c);
            let rel = owned.as_ref().map(|c| c.rel.clone());
            (
                Some(pid),
                *children,
                rel.clone(),
                json!({"kind": "command", "pid": pid, "command": argv.join(" "), "children": children, "memory_cgroup": rel, "memory_limit_bytes": memory_limit}),
            )
        }
    };
    let limit = match (&hierarchy, &cg_rel) {
        (Some(h), Some(rel)) => h.read(rel).ok().and_then(|c| c.effective_limit_bytes),
        _ => None,
    };
    let host_total = crate::sample::host::read_host(&o.proc_root)
        .ok()
        .map(|h| h.total_bytes);
    let cg_for_samples = match &o.target {
        Target::Cgroup { .. } => cg_rel.clone(),
        Target::Command { .. } => owned.as_ref().map(|c| c.rel.clone()),
        Target::Pid { .. } => None,
    };
    // What reading smaps_rollup costs decides how often it is read.
    let pss_every = match pid {
        Some(p) => {
            let pids = if children {
                descendants(&o.proc_root, p)
            } else {
                vec![p]
            };
            let t0 = Instant::now();
            for q in &pids {
                let _ = rollup(&o.proc_root, *q);
            }
            let cost = t0.elapsed().as_secs_f64();
            // At most 0.2 % of the interval on average; with many processes at most every 10
            // samples, whatever one pass cost when measured.
            let floor = if pids.len() > 10 { 10 } else { 1 };
            ((cost / (0.002 * o.interval.as_secs_f64())).ceil() as u64).clamp(floor, 60)
        }
        None => 1,
    };
    if pss_every > 1 {
        notes.push(format!(
            "smaps_rollup is costly for this target: PSS/USS read every {pss_every} samples"
        ));
    }
    let metrics: Vec<&str> = match (&o.target, pid) {
        (Target::Cgroup { .. }, _) => vec![
            "usage_bytes",
            "working_set_bytes",
            "anon_bytes",
            "file_bytes",
            "limit_bytes",
        ],
        _ => {
            let mut m = vec![
                "rss_bytes",
                "anon_bytes",
                "file_bytes",
                "shmem_bytes",
                "swap_bytes",
                "pss_bytes",
                "uss_bytes",
            ];
            if cg_for_samples.is_some() {
                m.extend(["usage_bytes", "working_set_bytes"]);
            }
            m
        }
    };
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .ok();
    let header = json!({
        "clw_trace": crate::trace::FORMAT_VERSION,
        "target": target_json,
        "host": hostname,
        "kernel": kernel,
        "interval_s": o.interval.as_secs_f64(),
        "limit_bytes": limit,
        "host_total_bytes": host_total,
        "started_at": crate::base::time::now_rfc3339(),
        "metrics": metrics,
        "pss_every": pss_every,
        "recorder": format!("clw-diag {}", env!("CARGO_PKG_VERSION")),
    });
    let mut w = TraceWriter::create(&o.output, &header)?;
    let start = Instant::now();
    let mut samples = 0u64;
    let (mut sn, mut st, mut sv, mut stt, mut stv) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut last_oom: Option<u64> = None;
    let mut oom_kills = 0u64;
    let mut exit = (None, None);
    let mut tick = 0u64;
    let mut family: Vec<i32> = Vec::new();
    let stopped_by;
    loop {
        let t = start.elapsed().as_secs_f64();
        let mut m = Map::new();
        m.insert("t".into(), json!((t * 1000.0).round() / 1000.0));
        let mut main_value = None;
        if let Some(p) = pid {
            // Walking /proc for descendants costs more than sampling them: every 10 samples.
            if children && (samples.is_multiple_of(10) || family.is_empty()) {
                family = descendants(&o.proc_root, p);
            }
            let pids = if children { family.clone() } else { vec![p] };
            // statm every sample (cheap for the kernel to generate): RSS and anon
            // (resident − shared, where shared = file + shmem pages: task_statm() in
            // fs/proc/task_mmu.c). status (file/shmem split, swap) every sample for a few
            // processes, every 10 samples for many.
            let with_status = pids.len() <= 10 || samples.is_multiple_of(10);
            let page = crate::base::page::size();
            let mut sum = [0u64; 5];
            let mut alive = 0;
            for q in &pids {
                let Some((resident, shared)) = statm(&o.proc_root, *q) else {
                    continue;
                };
                alive += 1;
                sum[0] += resident * page;
                sum[1] += resident.saturating_sub(shared) * page;
                if with_status {
                    if let Some(st) = status(&o.proc_root, *q) {
                        for k in 2..5 {
                            sum[k] += st[k];
                        }
                    }
                }
            }
            if alive > 0 {
                let names: &[&str] = if with_status {
                    &[
                        "rss_bytes",
                        "anon_bytes",
                        "file_bytes",
                        "shmem_bytes",
                        "swap_bytes",
                    ]
                } else {
                    &["rss_bytes", "anon_bytes"]
                };
                for (k, name) in names.iter().enumerate() {
                    m.insert((*name).into(), json!(sum[k]));
                }
                m.insert("pid".into(), json!(p));
                m.insert("pids".into(), json!(alive));
                main_value = Some(sum[1]);
                if samples.is_multiple_of(pss_every) {
                    let (mut pss, mut uss) = (0, 0);
                    for q in &pids {
                        if let Some((a, b)) = rollup(&o.proc_root, *q) {
                            pss += a;
                            uss += b;
                        }
                    }
                    m.insert("pss_bytes".into(), json!(pss));
                    m.insert("uss_bytes".into(), json!(uss));
                }
            }
        }
        if let (Some(h), Some(rel)) = (&hierarchy, &cg_for_samples) {
            let count = cgroup_sample(h, rel, &mut m);
            if matches!(o.target, Target::Cgroup { .. }) {
                if let Some(a) = m.remove("cgroup_anon_bytes") {
                    m.insert("anon_bytes".into(), a);
                }
                if let Some(f) = m.remove("cgroup_file_bytes") {
                    m.insert("file_bytes".into(), f);
                }
                main_value = m.get("anon_bytes").and_then(Value::as_u64);
            }
            if let (Some(now), Some(before)) = (count, last_oom) {
                if now > before {
                    oom_kills += now - before;
                    w.line(&json!({"t": t, "event": "oom_kill", "count": now - before, "source": "memory cgroup events"}))?;
                }
            }
            last_oom = count.or(last_oom);
        } else if let (Some(h), Some(rel), Target::Pid { .. }) = (&hierarchy, &cg_rel, &o.target) {
            // A process target: watch its memory cgroup's OOM-kill counter (memory.events or
            // memory.oom_control) without recording the cgroup's figures.
            let file = match h.version {
                CgroupVersion::V1 => "memory.oom_control",
                CgroupVersion::V2 => "memory.events",
            };
            let count = h.resolve(rel).ok().and_then(|(dir, _)| {
                let text = files::read_optional(&dir.join(file)).ok()??;
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill "))?
                    .trim()
                    .parse::<u64>()
                    .ok()
            });
            if let (Some(now), Some(before)) = (count, last_oom) {
                if now > before {
                    oom_kills += now - before;
                    w.line(&json!({"t": t, "event": "oom_kill", "count": now - before, "source": format!("memory cgroup {rel}")}))?;
                }
            }
            last_oom = count.or(last_oom);
        }
        if m.len() > 1 {
            w.line(&Value::Object(m))?;
            samples += 1;
            if let Some(v) = main_value {
                let v = v as f64;
                sn += 1.0;
                st += t;
                sv += v;
                stt += t * t;
                stv += t * v;
            }
            if let Some(cb) = o.progress.as_deref_mut() {
                let den = sn * stt - st * st;
                let slope = (sn >= 3.0 && den > 0.0).then(|| (sn * stv - st * sv) / den);
                cb(t, main_value, slope);
            }
        }
        // Did the target end?
        if let Some(c) = child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                exit = (st.code(), st.signal());
                w.line(&json!({"t": start.elapsed().as_secs_f64(), "event": "target_exited", "exit_code": st.code(), "signal": st.signal()}))?;
                stopped_by = "the command exited".to_string();
                break;
            }
        } else if let Some(p) = pid {
            if status(&o.proc_root, p).is_none() {
                w.line(&json!({"t": start.elapsed().as_secs_f64(), "event": "target_exited", "exit_code": null, "signal": null}))?;
                stopped_by =
                    "the process exited (its exit status belongs to its parent)".to_string();
                break;
            }
        }
        if o.duration.is_some_and(|d| start.elapsed() >= d) {
            stopped_by = "the duration ended".to_string();
            break;
        }
        if o.stop.load(Ordering::SeqCst) {
            stopped_by = "interrupted".to_string();
            break;
        }
        // Sample on a fixed grid (start + k·interval) so the interval does not drift.
        tick += 1;
        let mut wake = start + o.interval.mul_f64(tick as f64);
        if wake < Instant::now() {
            tick = (start.elapsed().as_secs_f64() / o.interval.as_secs_f64()).ceil() as u64;
            wake = start + o.interval.mul_f64(tick as f64);
        }
        while Instant::now() < wake && !o.stop.load(Ordering::SeqCst) {
            std::thread::sleep(
                Duration::from_millis(250).min(wake.saturating_duration_since(Instant::now())),
            );
        }
    }
    if let Some(mut c) = child {
        if exit == (None, None) {
            // We started it; stop it so its cgroup can go.
            let _ = c.kill();
            let _ = c.wait();
            notes
                .push("the command was still running and was killed when recording stopped".into());
        }
    }
    let (cpu, hwm) = self_stats();
    w.line(&json!({"t": start.elapsed().as_secs_f64(), "event": "recorder_stats", "cpu_s": cpu, "peak_rss_bytes": hwm, "samples": samples}))?;
    drop(owned);
    Ok(Summary {
        output: o.output.display().to_string(),
        samples,
        duration_s: start.elapsed().as_secs_f64(),
        exit_code: exit.0,
        signal: exit.1,
        oom_kills,
        stopped_by,
        notes,
    })
}
