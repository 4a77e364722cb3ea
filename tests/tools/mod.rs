//! The one `require_tool` of every test suite (root `tests/`, `fetch/tests/`,
//! `splitdwarf/tests/`), included by each through `#[path]`: dependency-free on purpose.
#![allow(dead_code)]

use std::path::PathBuf;

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
