//! `profile -- CMD`: the command is forked and held before `execve(2)` until the probes are
//! attached to its pid, so it is traced from its first instruction. The probes are attached by
//! file, so they are in place when the dynamic loader maps the libraries (the uprobe is
//! inserted at `mmap` time: `uprobe_mmap()` in kernel/events/uprobes.c) and the pid filter
//! follows the task through `execve`, which keeps its pid.
//!
//! The libraries the command will map are what its dynamic loader says in list mode
//! (`ld.so --list`, what ldd(1) runs), asked before it starts; libraries it `dlopen`s later are
//! not probed.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A forked child held before `execve`.
#[derive(Debug)]
pub struct Held {
    /// Its pid (kept through the `execve`).
    pub pid: i32,
    /// The program as found on `PATH`.
    pub program: PathBuf,
    go: i32,
    err: i32,
    released: bool,
    reaped: bool,
}

/// `program` as `execvp` would find it: a path with a `/` as is, else the first executable
/// file of that name on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let is_exe = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_exe(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_exe(p))
}

fn cannot_start(program: &str, e: std::io::Error) -> Error {
    Error::CannotStart {
        program: program.to_string(),
        source: e,
    }
}

impl Held {
    /// Fork `argv` (the program and its arguments) and hold it before `execve`.
    ///
    /// Errors: [`Error::CannotStart`] when the program is not found or not executable, or
    /// fork fails.
    pub fn spawn(argv: &[String]) -> Result<Held> {
        let Some(name) = argv.first() else {
            return Err(Error::Usage(
                "profile: give the command to run after --".into(),
            ));
        };
        let program = find_program(name).ok_or_else(|| {
            cannot_start(
                name,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not found (no such file, or not executable, on PATH)",
                ),
            )
        })?;
        let path = CString::new(program.as_os_str().as_bytes())
            .map_err(|_| Error::Usage(format!("{name}: a NUL byte in the program name")))?;
        let args: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::Usage("profile: a NUL byte in the command's arguments".into()))?;
        let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let (mut go, mut err) = ([0i32; 2], [0i32; 2]);
        // SAFETY: pipe2 writes two fds into the arrays.
        if unsafe { libc::pipe2(go.as_mut_ptr(), libc::O_CLOEXEC) } != 0
            || unsafe { libc::pipe2(err.as_mut_ptr(), libc::O_CLOEXEC) } != 0
        {
            return Err(cannot_start(name, std::io::Error::last_os_error()));
        }
        // SAFETY: the child only calls async-signal-safe functions (read, write, execv,
        // _exit) on memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(cannot_start(name, std::io::Error::last_os_error()));
        }
        if pid == 0 {
            unsafe {
                libc::close(go[1]);
                libc::close(err[0]);
                let mut b = 0u8;
                // Wait for the parent: one byte to go on, EOF (it died) to give up.
                let n = libc::read(go[0], (&mut b as *mut u8).cast(), 1);
                if n != 1 {
                    libc::_exit(127);
                }
                libc::execv(path.as_ptr(), ptrs.as_ptr());
                let e = *libc::__errno_location();
                libc::write(err[1], (&e as *const i32).cast(), 4);
                libc::_exit(127);
            }
        }
        unsafe {
            libc::close(go[0]);
            libc::close(err[1]);
        }
        Ok(Held {
            pid,
            program,
            go: go[1],
            err: err[0],
            released: false,
            reaped: false,
        })
    }

    /// Let the child run into `execve`.
    ///
    /// Errors: [`Error::CannotStart`] when `execve` failed (the child exits).
    pub fn release(&mut self, name: &str) -> Result<()> {
        let b = 1u8;
        // SAFETY: writes one byte from a local into our pipe end.
        unsafe { libc::write(self.go, (&b as *const u8).cast(), 1) };
        self.released = true;
        let mut e = 0i32;
        // SAFETY: reads at most 4 bytes into a local; EOF (0) means execve succeeded.
        let n = unsafe { libc::read(self.err, (&mut e as *mut i32).cast(), 4) };
        if n == 4 {
            self.wait();
            return Err(cannot_start(name, std::io::Error::from_raw_os_error(e)));
        }
        Ok(())
    }

    /// The exit status when the child has ended (reaped), else `None`.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        if self.reaped {
            return None;
        }
        let mut st = 0;
        // SAFETY: waitpid on our own child, status into a local.
        let r = unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) };
        if r == self.pid {
            self.reaped = true;
            return Some(std::process::ExitStatus::from_raw(st));
        }
        None
    }

    /// Wait for the child to end; its status (`None` when it was reaped already).
    pub fn wait(&mut self) -> Option<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        if self.reaped {
            return None;
        }
        let mut st = 0;
        // SAFETY: as in try_wait, blocking.
        let r = unsafe { libc::waitpid(self.pid, &mut st, 0) };
        self.reaped = true;
        (r == self.pid).then(|| std::process::ExitStatus::from_raw(st))
    }

    /// Record that the child was reaped elsewhere (by a `waitpid` of the caller's own).
    pub fn mark_reaped(&mut self) {
        self.reaped = true;
    }

    /// Send `sig` to the child while it has not been reaped.
    pub fn kill(&self, sig: i32) {
        if !self.reaped {
            // SAFETY: signals our own unreaped child.
            unsafe { libc::kill(self.pid, sig) };
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: closes our own fds once.
        unsafe {
            libc::close(self.go);
            libc::close(self.err);
        }
        // A child never released exits on the EOF; reap it.
        if !self.released {
            self.wait();
        }
    }
}

/// The files the dynamic loader of `exe` would map for it (in list mode, ldd's way), with the
/// executable first; just the executable when it is static (no `PT_INTERP`).
///
/// Errors: the loader's own failure text (a missing library) as [`Error::CannotStart`].
pub fn libraries(exe: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![exe.to_path_buf()];
    let data = std::fs::read(exe).map_err(|e| cannot_start(&exe.display().to_string(), e))?;
    let interp = object::read::elf::ElfFile64::<object::Endianness>::parse(&*data)
        .ok()
        .and_then(|f| {
            use object::read::elf::ProgramHeader;
            let endian = f.endian();
            f.elf_program_headers().iter().find_map(|ph| {
                (ph.p_type(endian) == object::elf::PT_INTERP)
                    .then(|| ph.data(endian, &*data).ok())
                    .flatten()
            })
        })
        .map(|b| {
            let b = b.split(|&c| c == 0).next().unwrap_or(b);
            PathBuf::from(std::ffi::OsStr::from_bytes(b))
        });
    let Some(interp) = interp else {
        return Ok(out);
    };
    let o = std::process::Command::new(&interp)
        .arg("--list")
        .arg(exe)
        .output()
        .map_err(|e| cannot_start(&interp.display().to_string(), e))?;
    if !o.status.success() {
        let msg = String::from_utf8_lossy(&o.stderr).trim().to_string();
        return Err(cannot_start(
            &exe.display().to_string(),
            std::io::Error::other(format!("its dynamic loader says: {msg}")),
        ));
    }
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        // "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "\t/lib64/ld-… (0x…)".
        let l = line.trim();
        let path = match l.split_once(" => ") {
            Some((_, rest)) => rest,
            None => l,
        };
        let path = path.rsplit_once(" (").map_or(path, |(p, _)| p);
        if path.starts_with('/') {
            out.push(PathBuf::from(path));
        }
    }
    Ok(out)
}
