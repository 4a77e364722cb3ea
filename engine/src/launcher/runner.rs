//! Process spawning behind the [`Runner`] trait (a fake one in unit tests), and CPU times.

use std::io;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// What a captured run of a process gave.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Exit code (128 + signal when killed).
    pub code: i32,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
    /// CPU time (user + system) of the process and its children, µs.
    pub cpu_us: u64,
}

/// Process spawning, behind a trait so unit tests run a fake compiler.
pub trait Runner {
    /// Runs `program args…` and captures its output.
    fn run(&self, program: &str, args: &[String]) -> io::Result<RunResult> {
        self.run_with_env(program, args, &[], None)
    }
    /// [`Runner::run`] with `env` added to the environment; killed after `limit`, if given
    /// (`io::ErrorKind::TimedOut`).
    fn run_with_env(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        limit: Option<Duration>,
    ) -> io::Result<RunResult>;
    /// Runs `program args…` unchanged with inherited stdio and returns its exit code (the real
    /// runner replaces the process instead and only returns on error).
    fn exec(&self, program: &str, args: &[String]) -> io::Result<i32>;
}

/// The real runner: `std::process`, `exec` for unchanged commands.
pub struct RealRunner;

/// CPU time (user + system) of `who` (`RUSAGE_SELF` or `RUSAGE_CHILDREN`) so far, µs; 0 if
/// `getrusage` fails.
fn rusage_cpu_us(who: libc::c_int) -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return 0;
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// CPU time (user + system) of the waited-for children of this process so far, µs.
fn children_cpu_us() -> u64 {
    rusage_cpu_us(libc::RUSAGE_CHILDREN)
}

/// CPU time (user + system) of this process so far, µs.
pub fn self_cpu_us() -> u64 {
    rusage_cpu_us(libc::RUSAGE_SELF)
}

/// The exit code of a finished process (128 + signal when killed).
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

impl Runner for RealRunner {
    fn run_with_env(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
        limit: Option<Duration>,
    ) -> io::Result<RunResult> {
        let before = children_cpu_us();
        let mut cmd = Command::new(program);
        cmd.args(args).envs(env.iter().map(|(k, v)| (k, v)));
        die_with_launcher(&mut cmd);
        let out = match limit {
            None => cmd.output()?,
            Some(limit) => output_within(cmd, limit)?,
        };
        Ok(RunResult {
            code: exit_code(out.status),
            stdout: out.stdout,
            stderr: out.stderr,
            cpu_us: children_cpu_us().saturating_sub(before),
        })
    }

    fn exec(&self, program: &str, args: &[String]) -> io::Result<i32> {
        use std::os::unix::process::CommandExt;
        Err(std::process::Command::new(program).args(args).exec())
    }
}

/// Makes `cmd` die (SIGKILL) when the launcher does: a launcher killed with `kill -9` (found
/// by the crash campaign, `bench/crash-campaign.py`) left its compiler running, which could
/// write the object after the next build had written it. The compiler's own children (`cc1`,
/// `as`) are not covered: a driver killed while `cc1` runs never starts `as`, so no object is
/// written; one killed while `as` runs (or with `-pipe`) still leaves that `as`.
fn die_with_launcher(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let launcher = std::process::id() as libc::pid_t;
    // SAFETY: prctl, getppid and _exit are async-signal-safe; nothing is allocated.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The launcher died before the prctl: no signal will come.
            if libc::getppid() != launcher {
                libc::_exit(128 + libc::SIGKILL);
            }
            Ok(())
        });
    }
}

/// `cmd`'s output; killed, and `TimedOut`, when it runs longer than `limit`.
fn output_within(mut cmd: Command, limit: Duration) -> io::Result<Output> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    // Opened before the waiter can reap it, so the kill below reaches this child or no one.
    let pidfd = pidfd_open(pid);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out,
        Err(_) => {
            kill_unreaped(pidfd.as_ref(), pid);
            // Until its pipes close: a process it started may still be writing an output.
            let _ = rx.recv();
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no result within {} s", limit.as_secs_f64()),
            ))
        }
    }
}

/// A pidfd of `pid` (Linux 5.3 and later), which can signal only that process.
fn pidfd_open(pid: libc::pid_t) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a descriptor the kernel just returned, owned by no one else.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Sends SIGKILL to the child `pid`, through its pidfd (then to no one once it is reaped);
/// whether a process was signalled.
fn kill_unreaped(pidfd: Option<&std::os::fd::OwnedFd>, pid: libc::pid_t) -> bool {
    use std::os::fd::AsRawFd;
    let r = match pidfd {
        // SAFETY: pidfd_send_signal with a null siginfo sends the signal as kill(2) would.
        Some(fd) => unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        },
        // SAFETY: kill(2) of our child; without a pidfd (an old kernel) it is late, not
        // misdirected, unless the child was reaped and its pid taken in the same instant.
        None => unsafe { libc::kill(pid, libc::SIGKILL) as libc::c_long },
    };
    r == 0
}

#[cfg(test)]
mod tests {
    /// Both CPU clocks come from the one `getrusage` reader: this process's grows with work,
    /// the children's with a waited-for child's work.
    #[test]
    fn cpu_times() {
        let before = super::self_cpu_us();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(super::self_cpu_us() > before);
        let r = super::Runner::run(
            &super::RealRunner,
            "sh",
            &[
                "-c".into(),
                "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done".into(),
            ],
        )
        .unwrap();
        assert_eq!(r.code, 0);
        assert!(r.cpu_us > 0, "{r:?}");
    }

    /// A reaped child's pidfd signals no one, though its pid may belong to another process.
    #[test]
    fn a_reaped_child_is_not_signalled() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        let pidfd = super::pidfd_open(pid).expect("pidfd_open (Linux 5.3 or later)");
        child.wait().unwrap();
        assert!(!super::kill_unreaped(Some(&pidfd), pid));
        let mut alive = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pidfd = super::pidfd_open(alive.id() as libc::pid_t).unwrap();
        assert!(super::kill_unreaped(
            Some(&pidfd),
            alive.id() as libc::pid_t
        ));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(alive.wait().unwrap().signal(), Some(libc::SIGKILL));
    }

    /// A run past its limit is killed and says so; one within it gives its output.
    #[test]
    fn a_limit_ends_a_run() {
        use super::Runner;
        let limit = Some(std::time::Duration::from_millis(200));
        let run = |script: &str| {
            super::RealRunner.run_with_env("sh", &["-c".into(), script.into()], &[], limit)
        };
        // `exec`: a child of the shell would hold the pipes, and the run waits for them (so
        // that nothing it started still writes an output when it returns).
        let e = run("exec sleep 30").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(run("echo $0").unwrap().stdout, b"sh\n");
    }
}
