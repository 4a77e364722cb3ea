//! Real servers on loopback for the store tests: nginx with WebDAV PUT ([`nginx`]) and
//! helpers. Shared by `fetch/tests/*` and the root end-to-end tests (through `#[path]`).
#![allow(dead_code)]

pub mod nginx;
pub mod s3;

use std::net::TcpListener;
use std::path::PathBuf;

/// Finds `tool` on PATH (or the sbin directories) or fails with an install hint.
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

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
