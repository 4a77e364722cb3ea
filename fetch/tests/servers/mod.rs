//! Real servers on loopback for the store tests: nginx with WebDAV PUT ([`nginx`]), s3s-fs
//! ([`s3`]), one whose answers are scripted per path ([`scripted`]) and helpers. (The
//! properties all stores share, `contract.rs`, are included by the `fetch` tests on their own:
//! they need zstd.) Shared by `fetch/tests/*` and the root end-to-end tests (through
//! `#[path]`).
#![allow(dead_code)]

#[path = "../../../tests/tools/mod.rs"]
mod tools;

pub mod nginx;
pub mod s3;
pub mod scripted;

#[allow(unused_imports)] // not every test binary needs all of them
pub use tools::{require_tool, run, run_ok};

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// A server on loopback that accepts connections and never answers; its port, and how many
/// connections it accepted.
pub fn silent_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(c); // accepted, never answered
        }
    });
    (port, accepted)
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (10 s at most) until something listens on loopback `port`; panics with the log at
/// `log` if `child` (the server `name`) exits first or the time is up (then killing it).
pub fn wait_until_listening(child: &mut Child, port: u16, name: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        if let Some(st) = child.try_wait().unwrap() {
            panic!("{name} exited ({st}) at start:\n{}", log());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{name} did not listen on port {port} within 10 s:\n{}",
                log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
