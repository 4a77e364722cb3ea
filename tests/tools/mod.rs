//! What every test suite (root `tests/`, `fetch/tests/`, `splitdwarf/tests/`) needs to drive
//! real tools: finding them and running them. Included by each through `#[path]`:
//! dependency-free on purpose.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Finds `tool` on PATH (or in the sbin directories, where nginx lives) or fails the test with
/// a one-line hint naming the Debian package: a missing tool is never skipped silently.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")];
    for dir in std::env::split_paths(&path).chain(extra) {
        let candidate = dir.join(tool);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "missing tool `{tool}`: install it with `apt-get install -y {package}` \
         (or run `bash .ci/run`)"
    );
}

/// Runs `cmd` to completion (panics if it cannot be started).
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd` and panics with its output unless it exits 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
