//! A launched command's ptrace stops while it is profiled: seized with `PTRACE_O_TRACEEXIT`
//! so that its modules can still be read at its exit, signals passed on, group stops listened
//! through, and SIGTERM (then SIGKILL) at the end of `--duration`.

use super::*;

pub(super) fn seize_for_exit(pid: i32) -> bool {
    // SAFETY: ptrace on our own child; failure only loses the exit stop.
    unsafe {
        libc::ptrace(
            libc::PTRACE_SEIZE,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            libc::PTRACE_O_TRACEEXIT as usize as *mut libc::c_void,
        ) == 0
    }
}

/// What a launched child did since the last look.
pub(super) enum Child {
    Running,
    /// Stopped at its exit (`PTRACE_EVENT_EXIT`): its memory and maps are still there.
    AtExit,
    /// Ended: its status in words.
    Ended(String),
}

/// Handle the child's ptrace stops without blocking: signals are passed on, group stops are
/// listened through, the exit stop is reported (the child stays there until [`cont`]).
pub(super) fn poll_child(held: &mut Held) -> Child {
    loop {
        let mut st = 0;
        // SAFETY: waitpid on our own child, status into a local.
        let r = unsafe { libc::waitpid(held.pid, &mut st, libc::WNOHANG | libc::__WALL) };
        if r != held.pid {
            return Child::Running;
        }
        if libc::WIFEXITED(st) {
            held.mark_reaped();
            return Child::Ended(format!("exit status {}", libc::WEXITSTATUS(st)));
        }
        if libc::WIFSIGNALED(st) {
            held.mark_reaped();
            return Child::Ended(format!("killed by signal {}", libc::WTERMSIG(st)));
        }
        if libc::WIFSTOPPED(st) {
            let event = (st >> 16) & 0xff;
            let sig = libc::WSTOPSIG(st);
            if event == libc::PTRACE_EVENT_EXIT {
                return Child::AtExit;
            }
            // SAFETY: resumes our own tracee, passing its signal on (none for an event stop).
            unsafe {
                if event == libc::PTRACE_EVENT_STOP {
                    libc::ptrace(libc::PTRACE_LISTEN, held.pid, 0usize, 0usize);
                } else {
                    libc::ptrace(libc::PTRACE_CONT, held.pid, 0usize, sig as usize);
                }
            }
        }
    }
}

pub(super) fn cont(pid: i32) {
    // SAFETY: resumes our own tracee.
    unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0usize, 0usize) };
}

/// Stop a launched child (SIGTERM, then SIGKILL after 2 s) and reap it, going through its
/// ptrace stops; its status in words.
pub(super) fn finish_child(held: &mut Held) -> String {
    held.kill(libc::SIGTERM);
    let t = Instant::now();
    let mut killed = false;
    loop {
        match poll_child(held) {
            Child::Ended(s) => return s,
            Child::AtExit => cont(held.pid),
            Child::Running => {
                if !killed && t.elapsed() > Duration::from_secs(2) {
                    held.kill(libc::SIGKILL);
                    killed = true;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}
