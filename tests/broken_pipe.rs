//! A closed standard output ends every command that prints to it quietly (issue 16):
//! `cached-ninja cache stats | head -1` must not panic. Each command runs with its standard
//! output the write end of a pipe whose read end is already closed, so its first write fails
//! with EPIPE; it must end without a panic message (by SIGPIPE, as `cat` does, or by exiting).

mod support;

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{cached_ninja, TestSpace};

/// The write end of a pipe nobody reads.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two descriptors we then own; the read end is closed at once.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        drop(OwnedFd::from_raw_fd(fds[0]));
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

fn dbgfetch() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dbgfetch"))
}

/// Runs `exe args` into a closed pipe; fails on a panic or an unexpected status.
fn quiet(exe: &Path, args: &[&str], cache: &Path) {
    let out = Command::new(exe)
        .args(args)
        .env("CACHED_NINJA_CACHE_DIR", cache)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
        "{args:?}: {} {err}",
        out.status
    );
}

#[test]
fn commands_printing_to_a_closed_pipe_end_quietly() {
    let space = TestSpace::new();
    let dir = space.path();
    let cache = dir.join("cache");
    space.write(
        "obj/build.ninja",
        "rule cc\n  command = cc -c $in -o $out\nbuild a.o: cc a.c\nbuild b.o: cc b.c\n",
    );
    let obj = dir.join("obj").display().to_string();
    let key = dir.join("k.key").display().to_string();
    let cn = cached_ninja();
    quiet(&cn, &["cache", "stats"], &cache);
    quiet(&cn, &["stats", "-C", &obj], &cache);
    quiet(&cn, &["stats", "--json", "-C", &obj], &cache);
    quiet(&cn, &["tool", "targets", "-C", &obj], &cache);
    quiet(&cn, &["tool", "commands", "-C", &obj], &cache);
    quiet(&cn, &["key", "generate", "--out", &key], &cache);
    quiet(&cn, &["--help"], &cache);
    quiet(&dbgfetch(), &["status", "-C", &obj], &cache);
}
