//! What `record` records, made ready: a running process (checked: it exists and is not a kernel
//! thread), a memory cgroup (resolved in the hierarchy), or a command it starts (optionally moved
//! into a new memory cgroup between fork and exec, so its first allocation is already limited),
//! and how a command's end maps to `record`'s own exit status (as a shell reports it:
//! the exit code, or 128 + the signal number).

use std::path::Path;

use super::cgroup::{self, OwnedCgroup};
use super::Target;
use crate::error::{Error, Result};
use crate::identity::{Identity, Resolver};
use crate::sample::cgroup::{memory_cgroup_of, MemoryHierarchy};
use crate::sample::files;
use crate::sample::kept::KeptFiles;
use crate::trace::TraceTarget;

/// A target, ready to sample.
pub struct Ready {
    /// The process sampled (the command's pid), `None` for a cgroup target.
    pub pid: Option<i32>,
    /// Sum the process's descendants in.
    pub children: bool,
    /// The memory cgroup of the target (the process's, the cgroup asked for, or the one created).
    pub cgroup: Option<String>,
    /// The cgroup whose figures go into each sample (a cgroup target, or the cgroup created for
    /// a command); `None` for a process target.
    pub sampled_cgroup: Option<String>,
    /// The header's `target`.
    pub header: TraceTarget,
    /// The command started, to be waited for.
    pub child: Option<std::process::Child>,
    /// The cgroup created for `--memory-limit`, removed when dropped (after the child).
    pub owned: Option<OwnedCgroup>,
    /// The workload of `cgroup` for a process or cgroup target (the header's `identity`);
    /// `None` for a command's own cgroup.
    pub identity: Option<Identity>,
}

/// Make `target` ready: check a pid, resolve a cgroup (a path or a workload name, through
/// `resolver`: [`MemoryHierarchy::find_workload`]), or create the cgroup and start the command.
/// The process recorded (the pid, or the command started) is adopted in `files`, which reads
/// it from then on (never a later process given the same pid).
///
/// Errors: [`Error::NoSuchProcess`] / [`Error::Vanished`] / [`Error::KernelThread`] for a pid,
/// [`Error::NoMemoryHierarchy`] / [`Error::NoSuchWorkload`] for a cgroup, what
/// [`cgroup::create`] returns, and [`Error::Usage`] naming the program when it cannot be started.
pub fn prepare(
    target: &Target,
    proc_root: &Path,
    cgroup_root: &Path,
    hierarchy: Option<&MemoryHierarchy>,
    files: &mut KeptFiles,
    resolver: &mut Resolver,
) -> Result<Ready> {
    let need_h = || {
        hierarchy.ok_or_else(|| Error::NoMemoryHierarchy {
            path: cgroup_root.to_path_buf(),
        })
    };
    match target {
        Target::Pid { pid, children } => {
            // No such pid, or a kernel thread (which has no memory of its own to record).
            let dir = crate::sample::process::open(proc_root, *pid)?;
            let st = crate::sample::stat::read(proc_root, *pid)?;
            if st.is_kernel_thread() {
                return Err(Error::KernelThread {
                    pid: *pid,
                    name: st.comm,
                });
            }
            // The process checked above, not one given its pid since.
            match files.adopt(*pid) {
                Ok(a) if a.starttime_ticks == st.starttime_ticks => {}
                _ => {
                    files.forget(*pid);
                    return Err(Error::Vanished {
                        pid: *pid,
                        path: proc_root.join(pid.to_string()),
                    });
                }
            }
            let has_mm = match files.status(*pid) {
                Ok(s) => s.has_mm(),
                Err(m) if m.is_gone() => false,
                // Garbled, endless or denied: read it again as `sample` does, for an error
                // that names the file (or a status whose name is not UTF-8, which is fine).
                Err(_) => crate::sample::process::read_status(*pid, &dir)?.has_mm(),
            };
            if !has_mm {
                return Err(Error::Vanished {
                    pid: *pid,
                    path: proc_root.join(pid.to_string()),
                });
            }
            let cg = hierarchy.and_then(|h| {
                let text = files::read_optional(&proc_root.join(pid.to_string()).join("cgroup"))
                    .ok()??;
                memory_cgroup_of(&text, h.version)
            });
            Ok(Ready {
                pid: Some(*pid),
                children: *children,
                identity: cg.as_deref().map(|c| resolver.resolve(c)),
                cgroup: cg.clone(),
                sampled_cgroup: None,
                header: TraceTarget::Process {
                    pid: Some(*pid),
                    children: *children,
                    memory_cgroup: cg,
                },
                child: None,
                owned: None,
            })
        }
        Target::Cgroup { path } => {
            let (_, rel, identity) = need_h()?.find_workload(resolver, path)?;
            Ok(Ready {
                identity: Some(identity),
                pid: None,
                children: false,
                cgroup: Some(rel.clone()),
                sampled_cgroup: Some(rel.clone()),
                header: TraceTarget::Cgroup { cgroup: Some(rel) },
                child: None,
                owned: None,
            })
        }
        Target::Command {
            argv,
            memory_limit,
            children,
        } => {
            let owned = match memory_limit {
                Some(limit) => Some(cgroup::create(need_h()?, *limit)?),
                None => None,
            };
            let child = spawn(argv, owned.as_ref())?;
            let pid = child.id() as i32;
            // Not reaped before `record` waits for it, so the pid is still the child's. Should
            // it fail, the samples are empty and the end is the command's exit all the same.
            let _ = files.adopt(pid);
            let rel = owned.as_ref().map(|c| c.rel.clone());
            Ok(Ready {
                pid: Some(pid),
                children: *children,
                cgroup: rel.clone(),
                sampled_cgroup: rel.clone(),
                header: TraceTarget::Command {
                    pid: Some(pid),
                    command: Some(argv.join(" ")),
                    children: *children,
                    memory_cgroup: rel,
                    memory_limit_bytes: *memory_limit,
                },
                child: Some(child),
                owned,
                identity: None,
            })
        }
    }
}

/// Start `argv`, inside `cg` when given (the child writes itself into `cgroup.procs` before
/// exec), with `PR_SET_PDEATHSIG(SIGKILL)` so it does not outlive a killed recorder.
fn spawn(argv: &[String], cg: Option<&OwnedCgroup>) -> Result<std::process::Child> {
    let Some(program) = argv.first() else {
        return Err(Error::Usage("no command given after --".into()));
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(&argv[1..]);
    let procs = match cg {
        Some(cg) => Some(
            std::ffi::CString::new(cg.dir.join("cgroup.procs").as_os_str().as_encoded_bytes())
                .map_err(|_| Error::Usage("cgroup path contains a NUL byte".into()))?,
        ),
        None => None,
    };
    let parent = std::process::id() as libc::pid_t;
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (prctl, getppid, raise, open, write, close) between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Die with the recorder, even when it is SIGKILLed (prctl(2) PR_SET_PDEATHSIG); if
            // it died before the prctl took effect, the parent is already another process.
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::raise(libc::SIGKILL);
            }
            // Writing "0" to cgroup.procs moves the writing process.
            if let Some(procs) = &procs {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let ok = libc::write(fd, b"0\n".as_ptr() as *const libc::c_void, 2) == 2;
                libc::close(fd);
                if !ok {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|source| Error::CannotStart {
        program: program.to_string(),
        source,
    })
}

/// The exit status `record -- CMD` passes on for a command that ended with `exit_code` or was
/// killed by `signal`, as a shell does: the exit code when non-zero, 128 + the signal number
/// for a signal (137 for SIGKILL, the OOM killer's). `None` for a success, or when the exit
/// status is not known (a `--pid` target, or a command the recorder stopped itself).
pub fn failure_status(exit_code: Option<i32>, signal: Option<i32>) -> Option<u8> {
    match (exit_code, signal) {
        (Some(0), _) => None,
        // Exit codes are 0–255; anything else cannot come from waitpid but is a failure.
        (Some(c), _) => Some(u8::try_from(c).unwrap_or(1).max(1)),
        (None, Some(s)) => Some(u8::try_from(128 + s.clamp(1, 127)).unwrap_or(255)),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_as_shells_report_them() {
        assert_eq!(failure_status(Some(0), None), None);
        assert_eq!(failure_status(Some(3), None), Some(3));
        assert_eq!(failure_status(Some(255), None), Some(255));
        assert_eq!(
            failure_status(None, Some(9)),
            Some(137),
            "SIGKILL, the OOM killer's"
        );
        assert_eq!(failure_status(None, Some(15)), Some(143));
        assert_eq!(failure_status(None, Some(6)), Some(134));
        assert_eq!(failure_status(None, None), None);
    }

    #[test]
    fn a_process_target_is_checked() {
        let mut f = KeptFiles::new(Path::new("/proc"));
        let me = std::process::id() as i32;
        let t = Target::Pid {
            pid: me,
            children: false,
        };
        let r = prepare(
            &t,
            Path::new("/proc"),
            Path::new("/nonexistent"),
            None,
            &mut f,
            &mut Resolver::new(Path::new("/")),
        )
        .unwrap();
        assert_eq!(r.pid, Some(me));
        assert_eq!(r.header.kind(), Some("process"));
        let t = Target::Pid {
            pid: i32::MAX,
            children: false,
        };
        assert!(prepare(
            &t,
            Path::new("/proc"),
            Path::new("/x"),
            None,
            &mut f,
            &mut Resolver::new(Path::new("/"))
        )
        .is_err());
        // A cgroup target without a hierarchy says so.
        let t = Target::Cgroup { path: "/x".into() };
        let e = prepare(
            &t,
            Path::new("/proc"),
            Path::new("/nonexistent"),
            None,
            &mut f,
            &mut Resolver::new(Path::new("/")),
        )
        .err()
        .unwrap();
        assert!(matches!(e, Error::NoMemoryHierarchy { .. }), "{e}");
    }
}
