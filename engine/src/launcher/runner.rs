//! Process spawning behind the [`Runner`] trait (a fake one in unit tests), and CPU times.

use std::io;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::child::{signal_group, wait_unreaped, GroupForward, HeldSignals};
use std::sync::mpsc::RecvTimeoutError;

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
    /// The signal that killed it (`code` is then 128 + it).
    pub signal: Option<i32>,
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
    /// Runs `program` once with each of `argss` and captures each output, in order (the real
    /// runner starts them all at once; each result's `cpu_us` is then 0: not told apart).
    fn run_each(&self, program: &str, argss: &[Vec<String>]) -> Vec<io::Result<RunResult>> {
        argss.iter().map(|args| self.run(program, args)).collect()
    }
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

/// CPU time (user + system) of the calling thread so far, µs.
pub fn thread_cpu_us() -> u64 {
    rusage_cpu_us(libc::RUSAGE_THREAD)
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
        let mut cmd = command(program, args);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let out = match limit {
            None => cmd.output()?,
            Some(limit) => output_within(cmd, limit)?,
        };
        Ok(RunResult::of(out, children_cpu_us().saturating_sub(before)))
    }

    fn run_each(&self, program: &str, argss: &[Vec<String>]) -> Vec<io::Result<RunResult>> {
        // All started, then each read to its end in turn (one not yet read waits on its full
        // pipe, never the others).
        let started: Vec<io::Result<std::process::Child>> = argss
            .iter()
            .map(|args| {
                let mut cmd = command(program, args);
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                cmd.spawn()
            })
            .collect();
        let finish = |child: io::Result<std::process::Child>| {
            Ok(RunResult::of(child?.wait_with_output()?, 0))
        };
        started.into_iter().map(finish).collect()
    }

    fn exec(&self, program: &str, args: &[String]) -> io::Result<i32> {
        use std::os::unix::process::CommandExt;
        Err(std::process::Command::new(program).args(args).exec())
    }
}

/// `program args…`, made to die with the launcher ([`die_with_launcher`]).
fn command(program: &str, args: &[String]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    die_with_launcher(&mut cmd);
    cmd
}

impl RunResult {
    /// What a finished run gave, with the CPU time `cpu_us` it took.
    fn of(out: Output, cpu_us: u64) -> RunResult {
        use std::os::unix::process::ExitStatusExt;
        RunResult {
            code: exit_code(out.status),
            stdout: out.stdout,
            stderr: out.stderr,
            cpu_us,
            signal: out.status.signal(),
        }
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

/// `cmd`'s output; killed with whatever it started, and `TimedOut`, when it runs longer than
/// `limit`. It runs in a process group of its own, to which our own SIGINT, SIGTERM and SIGHUP
/// are passed on ([`GroupForward`]).
fn output_within(mut cmd: Command, limit: Duration) -> io::Result<Output> {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Held from before the spawn until the forward is in place: a signal in between is
    // passed on, not the end of this process alone (the child gets the mask from before).
    let held = HeldSignals::hold();
    held.unheld_in_child(&mut cmd);
    let spawned = cmd.spawn();
    let forward = spawned
        .as_ref()
        .ok()
        .and_then(|child| GroupForward::start(child.id()));
    drop(held);
    let mut child = spawned?;
    let pid = child.id();
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let (tx, rx) = std::sync::mpsc::channel();
    // Its output until every pipe closes (nothing it started still writes), then its exit,
    // left unreaped so that its process group stays its own.
    std::thread::spawn(move || {
        let read = read_both(stdout, stderr).and_then(|o| wait_unreaped(pid).map(|()| o));
        let _ = tx.send(read);
    });
    let within = rx.recv_timeout(limit);
    if !matches!(within, Ok(Ok(_))) {
        // Past its limit, or its output could not be read: the group goes, and the leader
        // too should it have left the group (it is unreaped, so the pid is still its).
        signal_group(pid, libc::SIGKILL);
        let _ = child.kill();
    }
    if matches!(within, Err(RecvTimeoutError::Timeout)) {
        // Its pipes close as the group dies; one held past that is held outside the group.
        let _ = rx.recv_timeout(AFTER_KILL);
    }
    drop(forward);
    let status = child.wait()?;
    match within {
        Ok(read) => {
            let (stdout, stderr) = read?;
            Ok(Output {
                status,
                stdout,
                stderr,
            })
        }
        Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no result within {} s", limit.as_secs_f64()),
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Err(io::Error::other("the reader of its output stopped"))
        }
    }
}

/// How long a run killed at its limit is given to close its pipes.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// Everything `stdout` and `stderr` give until both close (stderr read on a thread).
fn read_both(
    stdout: Option<std::process::ChildStdout>,
    stderr: Option<std::process::ChildStderr>,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use std::io::Read;
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        stderr
            .map_or(Ok(0), |mut e| e.read_to_end(&mut v))
            .map(|_| v)
    });
    let mut out = Vec::new();
    if let Some(mut o) = stdout {
        o.read_to_end(&mut out)?;
    }
    let err = err
        .join()
        .map_err(|_| io::Error::other("the stderr reader panicked"))??;
    Ok((out, err))
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

    /// Runs started at once give each its own output and code, in the order asked (one that
    /// writes more than a pipe holds included); a program that cannot start gives an error
    /// for each.
    #[test]
    fn runs_at_once_answer_in_order() {
        let sh = |script: &str| vec!["-c".to_string(), script.to_string()];
        // The large output in a later slot: it waits on its full pipe while the first is read.
        let argss = [
            sh("echo one; exit 3"),
            sh("head -c 200000 /dev/zero; echo done >&2"),
            sh("echo three"),
            sh("kill -9 $$"),
        ];
        let r = super::Runner::run_each(&super::RealRunner, "sh", &argss);
        let r: Vec<_> = r.into_iter().map(Result::unwrap).collect();
        assert_eq!((&r[0].stdout[..], r[0].code), (&b"one\n"[..], 3));
        assert!(r[..3].iter().all(|r| r.signal.is_none()));
        assert_eq!((r[3].code, r[3].signal), (137, Some(libc::SIGKILL)));
        assert_eq!(
            (r[1].stdout.len(), &r[1].stderr[..], r[1].code),
            (200000, &b"done\n"[..], 0)
        );
        assert_eq!((&r[2].stdout[..], r[2].code), (&b"three\n"[..], 0));
        let absent = super::Runner::run_each(&super::RealRunner, "/nonexistent/cc", &argss);
        assert!(absent.len() == 4 && absent.iter().all(Result::is_err));
    }

    /// A run past its limit is killed and says so; one within it gives its output.
    #[test]
    fn a_limit_ends_a_run() {
        let e = limited("exec sleep 30").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(limited("echo $0").unwrap().stdout, b"sh\n");
    }

    /// A run past its limit is killed with what it started: a grandchild that holds its pipes
    /// does not keep it waiting, nor outlive it.
    #[test]
    fn a_limit_ends_what_a_run_started() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > '{}'; wait", pid_file.display());
        let (tx, rx) = std::sync::mpsc::channel();
        // Two seconds: time for the shell to start the grandchild on a loaded machine.
        let limit = std::time::Duration::from_secs(2);
        std::thread::spawn(move || tx.send(limited_for(&script, limit)));
        let e = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the run waited for its grandchild's pipes past its limit")
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        let grandchild: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            crate::child::tests::gone(grandchild),
            "the grandchild {grandchild} outlived the run"
        );
    }

    /// `sh -c script` with a limit of 200 ms.
    fn limited(script: &str) -> std::io::Result<super::RunResult> {
        limited_for(script, std::time::Duration::from_millis(200))
    }

    /// `sh -c script` with a limit of `limit`.
    fn limited_for(script: &str, limit: std::time::Duration) -> std::io::Result<super::RunResult> {
        use super::Runner;
        super::RealRunner.run_with_env("sh", &["-c".into(), script.into()], &[], Some(limit))
    }
}
