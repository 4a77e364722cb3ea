//! Ninja as a child that cannot outlive the build (issue 16).
//!
//! Ninja runs in a process group of its own (it puts each command in one of its own too), so
//! a signal meant for the build reaches Ninja only through us: SIGINT, SIGTERM and SIGHUP sent
//! to `cached-ninja build` (a terminal's Ctrl-C included) are forwarded to Ninja, which stops
//! its commands, removes their partial outputs and exits; the build then reports and exits.
//! When the build is killed outright (`kill -9`), the kernel sends Ninja SIGTERM
//! (`prctl(PR_SET_PDEATHSIG)`, set between fork and exec), so no orphan Ninja keeps building
//! (and writing `.ninja_log`) beside the next build. A signal the build was started ignoring
//! (`nohup`'s SIGHUP, SIGINT in a script's background job) stays ignored: it is neither
//! forwarded nor, after Ninja, an exit.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Makes `cmd` start in a new process group and receive SIGTERM when this process dies.
pub fn detach_and_tie(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    cmd.process_group(0);
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died before the prctl (a Ctrl-C before its handler): exit quietly
            // rather than run unowned. An error returned here would be written to the dead
            // parent's pipe, and the failed write printed as a "fatal runtime error".
            if libc::getppid() != parent {
                libc::_exit(128 + libc::SIGTERM);
            }
            Ok(())
        });
    }
}

/// Forwards SIGINT, SIGTERM and SIGHUP (those not ignored) to the build's current children
/// (Ninja, the hits served before it, or both at once: [`Current`]) until dropped; sets
/// `interrupted` and the `cancel` flag (the pull's) on the first one.
pub struct Forwarder {
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The signals forwarded, with the exit code each ends the build with after Ninja.
    handled: Vec<(libc::c_int, i32)>,
}

/// The pids signals go to, each added while its child runs and removed before it is reaped;
/// a signal is sent under the same lock, so none reaches a pid after [`Current::clear`].
#[derive(Clone, Default)]
pub struct Current(Arc<Mutex<Vec<i32>>>);

impl Current {
    /// Signals go to `child` too from now on; one that came before (`interrupted` set while
    /// no child ran) is sent to it at once.
    pub fn set(&self, child: &Child, interrupted: &AtomicBool) {
        let mut pids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let pid = child.id() as i32;
        pids.push(pid);
        if interrupted.load(Ordering::SeqCst) {
            // SAFETY: a plain kill(2) of the child just started, not reaped yet.
            unsafe {
                libc::kill(pid, libc::SIGINT);
            }
        }
    }

    /// Signals no longer go to `child` (it exited: a zombie the build reaps next).
    pub fn clear(&self, child: &Child) {
        let mut pids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pids.retain(|&p| p != child.id() as i32);
    }

    /// Sends `sig` to the current children.
    fn signal(&self, sig: libc::c_int) {
        let pids = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for &pid in pids.iter() {
            // SAFETY: a plain kill(2) of our own child: it is reaped only after `clear`, which
            // waits for this lock, so the pid is still its.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

impl Forwarder {
    /// Starts forwarding to the child `current` names.
    pub fn start(
        current: &Current,
        interrupted: Arc<AtomicBool>,
        cancel: Arc<AtomicBool>,
    ) -> std::io::Result<Forwarder> {
        let handled: Vec<(libc::c_int, i32)> = [(SIGINT, 130), (SIGTERM, 143), (SIGHUP, 129)]
            .into_iter()
            .filter(|&(sig, _)| !engine::child::ignored(sig))
            .collect();
        // The flags are set in the handler itself: a signal the thread has not read yet when
        // the forwarding stops (Ninja just exited) still makes the build say "interrupted".
        for &(sig, _) in &handled {
            signal_hook::flag::register(sig, interrupted.clone())?;
            signal_hook::flag::register(sig, cancel.clone())?;
        }
        let mut signals = Signals::new(handled.iter().map(|&(sig, _)| sig))?;
        let handle = signals.handle();
        let current = current.clone();
        let thread = std::thread::spawn(move || {
            for sig in signals.forever() {
                current.signal(sig);
            }
        });
        Ok(Forwarder {
            handle,
            thread: Some(thread),
            handled,
        })
    }
}

impl Drop for Forwarder {
    /// Stops forwarding (Ninja has exited); from then on SIGINT, SIGTERM and SIGHUP (those not
    /// ignored) end this process at once (a publish or the summary after Ninja), as they would
    /// without us.
    fn drop(&mut self) {
        // Before the forwarding stops: a signal that reached the closed iterator before the
        // exit was registered was read by no one, and the build went on to publish.
        let always = Arc::new(AtomicBool::new(true));
        for &(sig, code) in &self.handled {
            let _ = signal_hook::flag::register_conditional_shutdown(sig, code, always.clone());
        }
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
