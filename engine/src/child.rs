//! Child processes we signal: waited for without being reaped, so that the pid (and the
//! process group it leads) we signal is still theirs; and a child's process group to which
//! this process's own SIGINT, SIGTERM and SIGHUP are passed on.
//!
//! A child in a process group of its own can be killed whole, with whatever it started, but a
//! signal meant for us (Ninja's Ctrl-C goes to the launcher's group) no longer reaches it by
//! itself: [`GroupForward`] passes it on, then lets the signal end this process as it would
//! have without us.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// Waits until the child `pid` has exited, leaving it unreaped: its pid, and the process group
/// it leads, stay ours until it is reaped (`Child::wait`).
pub fn wait_unreaped(pid: u32) -> io::Result<()> {
    loop {
        // SAFETY: an all-zero siginfo_t is a valid value for waitid to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on our own child with WNOWAIT only reads its state.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Whether this process ignores `sig` (`SIG_IGN`, as inherited across `exec`).
pub fn ignored(sig: libc::c_int) -> bool {
    // SAFETY: an all-zero sigaction is a valid value; sigaction only reads the disposition.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    let read = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } == 0;
    read && old.sa_sigaction == libc::SIG_IGN
}

/// Sends `sig` to the process group `group`, led by our unreaped child (so the group is still
/// its); whether a process was signalled.
pub fn signal_group(group: u32, sig: libc::c_int) -> bool {
    // SAFETY: kill(2) of a process group whose leader we have not reaped.
    unsafe { libc::kill(-(group as libc::pid_t), sig) == 0 }
}

/// The process group the handler passes signals on to: 0 none, -1 taken by a handler (this
/// process is ending). A signal handler is given no context, hence one process-wide value;
/// [`GroupForward`] allows one group at a time.
static FORWARD_TO: AtomicI32 = AtomicI32::new(0);

/// The signals [`GroupForward`] passes on.
const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Blocks SIGPIPE on this thread for the rest of its life: a write into a pipe whose reader
/// is gone then fails with EPIPE instead of ending the process (a command that gave SIGPIPE
/// its default action); the signal stays pending on the thread and goes with it.
pub fn no_sigpipe_on_this_thread() {
    // SAFETY: a sigset_t filled by sigemptyset/sigaddset, given to pthread_sigmask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// SIGINT, SIGTERM and SIGHUP held (blocked on this thread) until dropped, then delivered.
pub struct HeldSignals {
    /// The thread's signal mask before.
    before: libc::sigset_t,
}

impl HeldSignals {
    /// Holds them.
    pub fn hold() -> HeldSignals {
        // SAFETY: sigset_t values filled by sigemptyset/sigaddset and pthread_sigmask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in FORWARDED {
                libc::sigaddset(&mut set, sig);
            }
            let mut before: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut before);
            HeldSignals { before }
        }
    }

    /// Gives a child that `cmd` starts while they are held this thread's mask from before
    /// (a child inherits the mask, and the standard library's spawn does not reset it).
    pub fn unheld_in_child(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let before = self.before;
        // SAFETY: sigprocmask is async-signal-safe; the child is single-threaded here.
        unsafe {
            cmd.pre_exec(move || {
                if libc::sigprocmask(libc::SIG_SETMASK, &before, std::ptr::null_mut()) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

impl Drop for HeldSignals {
    /// Puts the mask back: a signal that came meanwhile is delivered now.
    fn drop(&mut self) {
        // SAFETY: restores the mask pthread_sigmask gave.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &self.before, std::ptr::null_mut());
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP (those this process does not ignore) passed on to a child's
/// process group until dropped; each then ends this process, as it would have without us.
pub struct GroupForward {
    /// The process group.
    group: i32,
    /// The signals handled, with the action each had before.
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl GroupForward {
    /// Starts passing signals on to `group`, the process group led by our child of that pid,
    /// which must stay unreaped until this is dropped. `None` when another forward is active.
    pub fn start(group: u32) -> Option<GroupForward> {
        FORWARD_TO
            .compare_exchange(0, group as i32, Ordering::SeqCst, Ordering::SeqCst)
            .ok()?;
        let mut previous = Vec::new();
        for sig in FORWARDED {
            if ignored(sig) {
                continue;
            }
            // SAFETY: an all-zero sigaction is valid; the handler only calls async-signal-safe
            // functions (kill, signal, raise).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = pass_on as extern "C" fn(libc::c_int) as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &action, &mut old) == 0 {
                    previous.push((sig, old));
                }
            }
        }
        Some(GroupForward {
            group: group as i32,
            previous,
        })
    }
}

impl Drop for GroupForward {
    /// Puts the actions back (the child is about to be reaped). A handler that took the group
    /// meanwhile is ending this process: this waits for that rather than let the child be
    /// reaped under the handler's `kill`.
    fn drop(&mut self) {
        for (sig, old) in &self.previous {
            // SAFETY: restores an action sigaction gave us.
            unsafe {
                libc::sigaction(*sig, old, std::ptr::null_mut());
            }
        }
        if FORWARD_TO
            .compare_exchange(self.group, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            loop {
                // SAFETY: pause(2) until the raised signal ends this process.
                unsafe { libc::pause() };
            }
        }
    }
}

/// The handler: `sig` to the forwarded group, then this process ended by it (the default
/// action, raised again once the handler returns and unblocks it).
extern "C" fn pass_on(sig: libc::c_int) {
    // Taken, so that no drop lets the group's leader be reaped before the `kill` below.
    let group = FORWARD_TO.swap(-1, Ordering::SeqCst);
    // SAFETY: kill, signal and raise are async-signal-safe.
    unsafe {
        if group > 0 {
            libc::kill(-group, sig);
        }
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    /// A group led by an unreaped child is killed whole, a grandchild included; the exit is
    /// seen without reaping.
    #[test]
    fn a_group_is_killed_whole_while_its_leader_is_unreaped() {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let grandchild: u32 = line.trim().parse().unwrap();
        assert!(super::signal_group(child.id(), libc::SIGKILL));
        super::wait_unreaped(child.id()).unwrap();
        // Still ours: a second signal reaches the zombie leader's group.
        assert!(super::signal_group(child.id(), 0));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        assert!(
            gone(grandchild),
            "the grandchild {grandchild} outlived its group"
        );
    }

    /// A child spawned while the signals are held is given the mask from before.
    #[test]
    fn a_child_started_while_signals_are_held_is_given_them() {
        let blocked = || {
            let held = super::HeldSignals::hold();
            let mut cmd = Command::new("grep");
            cmd.args(["SigBlk", "/proc/self/status"])
                .stdout(std::process::Stdio::piped());
            held.unheld_in_child(&mut cmd);
            let out = cmd.output().unwrap();
            drop(held);
            let text = String::from_utf8(out.stdout).unwrap();
            let hex = text.trim().rsplit(['\t', ' ']).next().unwrap().to_string();
            u64::from_str_radix(&hex, 16).unwrap()
        };
        let ours =
            (1 << (libc::SIGINT - 1)) | (1 << (libc::SIGTERM - 1)) | (1 << (libc::SIGHUP - 1));
        // (The standard library passes the mask on: a distcc started while they were held
        // ignored the Ctrl-C passed on to it.)
        assert_eq!(blocked() & ours, 0);
    }

    /// Whether `pid` has ended (gone, or a zombie not yet reaped by its new parent), within
    /// ten seconds.
    pub(crate) fn gone(pid: u32) -> bool {
        for _ in 0..1000 {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(s)
                    if s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z') =>
                {
                    return true
                }
                Ok(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        false
    }
}
