//! One build per object directory, and no Ninja outliving its build (issue 16). A second
//! `cached-ninja build` of the same object directory fails at once with `--no-wait` (naming
//! the running build's pid) or waits with a message; `kill -9` of the build leaves no Ninja
//! (nor its commands) running, and the next build takes the lock and succeeds.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{cached_ninja, require_tool, run, run_ok, TestSpace};

/// An object directory whose one edge sleeps `$SLEEP` seconds, then waits for the file
/// `$GATE` when that is set (at most a minute: a failed test leaves nothing running).
fn slow_objdir(space: &TestSpace) -> PathBuf {
    require_tool("ninja", "ninja-build");
    space.write(
        "obj/build.ninja",
        "rule slow\n  command = sleep $$SLEEP && n=0; while [ -n \"$$GATE\" ] && [ ! -e \"$$GATE\" ] && [ $$n -lt 1200 ]; do sleep 0.05; n=$$((n+1)); done && touch $out\nbuild out: slow\n",
    );
    std::fs::canonicalize(space.path().join("obj")).unwrap()
}

fn build(obj: &Path, sleep: u32) -> Command {
    let mut c = Command::new(cached_ninja());
    c.args(["build", "--no-fill", "--no-fetch", "-C"])
        .arg(obj)
        .env("SLEEP", sleep.to_string())
        .env("CACHED_NINJA_CACHE_DIR", obj.join("../cache"));
    c
}

/// Processes (other than zombies) whose working directory is `dir`.
fn running_in(dir: &Path) -> Vec<u32> {
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'));
        if !zombie && std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c == dir) {
            pids.push(pid);
        }
    }
    pids
}

/// Starts a build that holds the lock (its pid is in the lock file).
fn holder(obj: &Path, sleep: u32) -> Child {
    holder_with(obj, sleep, None)
}

/// [`holder`] whose edge then waits for the file `gate`, if given.
fn holder_with(obj: &Path, sleep: u32, gate: Option<&Path>) -> Child {
    let mut cmd = build(obj, sleep);
    if let Some(gate) = gate {
        cmd.env("GATE", gate);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lock = obj.join(".cached-ninja/build.lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&lock).unwrap_or_default().trim() != child.id().to_string() {
        assert!(Instant::now() < deadline, "the build never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_second_build_fails_fast_or_waits_and_kill_9_leaves_no_ninja() {
    let space = TestSpace::new();
    let obj = slow_objdir(&space);
    let mut first = holder(&obj, 60);

    // --no-wait: fails at once, naming the holder.
    let out = run(build(&obj, 0).arg("--no-wait"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "another build (pid {}) of {}",
            first.id(),
            obj.display()
        )) && err.contains("build.lock"),
        "{err}"
    );

    // kill -9 of the build: Ninja and its command go too.
    let deadline = Instant::now() + Duration::from_secs(20);
    while running_in(&obj).len() < 2 {
        assert!(Instant::now() < deadline, "ninja never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) of a child we spawned and have not reaped.
    unsafe { libc::kill(first.id() as libc::pid_t, libc::SIGKILL) };
    first.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = running_in(&obj);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "orphans left running: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The next build recovers: the kernel released the lock.
    run_ok(build(&obj, 0).arg("--no-wait"));
    assert!(obj.join("out").exists());

    // Without --no-wait a second build waits for the first, saying so, then runs. The first
    // holds the lock until the second has said it waits (its edge waits for a gate file).
    std::fs::remove_file(obj.join("out")).unwrap();
    let gate = obj.join("../gate");
    let mut first = holder_with(&obj, 0, Some(&gate));
    let said = obj.join("../second.err");
    let second = build(&obj, 0)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&said).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&said)
        .unwrap_or_default()
        .contains("waiting for another build (pid")
    {
        assert!(
            Instant::now() < deadline,
            "the second build never said it waits"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(&gate, "").unwrap();
    assert!(first.wait().unwrap().success());
    let out = second.wait_with_output().unwrap();
    let err = std::fs::read_to_string(&said).unwrap();
    assert!(out.status.success(), "{err}");
    assert!(obj.join("out").exists(), "{err}");
}

/// Whether the process `pid` has `sig` in its signal set `field` of `/proc/<pid>/status`
/// (`SigCgt`: caught, `SigIgn`: ignored).
fn in_set(pid: u32, field: &str, sig: libc::c_int) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|m| m & (1 << (sig - 1)) != 0)
}

/// Whether the build `pid` has its forwarder of SIGINT installed.
fn forwarding(pid: u32) -> bool {
    in_set(pid, "SigCgt", libc::SIGINT)
}

/// A build started ignoring SIGHUP (`nohup`, a closed terminal later) keeps building through
/// one: it is not forwarded to Ninja and the build succeeds. Started without the ignore, the
/// same SIGHUP stops it (the forwarder caught every signal whatever it inherited, so a
/// `nohup cached-ninja build &` stopped when its terminal closed).
#[test]
fn a_build_under_nohup_builds_through_a_hangup() {
    use std::os::unix::process::CommandExt;
    let space = TestSpace::new();
    let obj = slow_objdir(&space);
    let gate = obj.join("../gate");
    for ignore_hup in [true, false] {
        let _ = std::fs::remove_file(obj.join("out"));
        let _ = std::fs::remove_file(&gate);
        let mut cmd = build(&obj, 0);
        support::signals_as_in_a_terminal(&mut cmd)
            .env("GATE", &gate)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if ignore_hup {
            // SAFETY: signal(2) only, between fork and exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::signal(libc::SIGHUP, libc::SIG_IGN);
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while running_in(&obj).len() < 2 || !forwarding(child.id()) {
            assert!(Instant::now() < deadline, "ninja never ran the edge");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Ignored, SIGHUP is neither caught nor made an exit for after Ninja.
        assert_eq!(in_set(child.id(), "SigIgn", libc::SIGHUP), ignore_hup);
        // SAFETY: kill(2) of a child we spawned and have not reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) };
        if ignore_hup {
            // Time to react wrongly (a slow machine can only hide a wrong reaction).
            std::thread::sleep(Duration::from_millis(200));
        } else {
            // Forwarded: Ninja stops its command and exits before the gate opens.
            while !running_in(&obj).is_empty() {
                assert!(Instant::now() < deadline, "the hangup did not stop ninja");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        std::fs::write(&gate, "").unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match ignore_hup {
            true => {
                assert!(out.status.success(), "{err}");
                assert!(obj.join("out").exists(), "{err}");
            }
            false => assert!(
                !out.status.success() && err.contains("interrupted"),
                "{err}"
            ),
        }
    }
}
