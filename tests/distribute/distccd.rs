//! A real `distccd` on loopback for one test: its own port, log file and (optionally) compiler
//! directory first on its `PATH`; stopped when dropped.

use crate::support::require_tool;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running distccd.
pub struct Distccd {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    log: PathBuf,
}

impl Distccd {
    /// Starts distccd in `dir` (its log there) with `jobs` jobs, `path_first` (if any) first on
    /// its `PATH` (compiler wrappers), and waits until it listens.
    pub fn start(dir: &Path, jobs: usize, path_first: Option<&Path>) -> Distccd {
        let distccd = require_tool("distccd", "distcc");
        require_tool("distcc", "distcc");
        // Started as root, distccd runs as the user `distccd`: its log directory (and the way
        // there) must be open to it.
        open_to_all(dir);
        let log = dir.join("distccd.log");
        let port = free_port();
        let mut path = std::env::var("PATH").unwrap_or_default();
        if let Some(p) = path_first {
            path = format!("{}:{path}", p.display());
        }
        let child = Command::new(distccd)
            .args(["--daemon", "--no-detach", "--allow", "127.0.0.1"])
            .args(["--listen", "127.0.0.1", "--port", &port.to_string()])
            .args(["--jobs", &jobs.to_string(), "--log-level", "info"])
            .arg("--log-file")
            .arg(&log)
            .env("PATH", path)
            .stdin(Stdio::null())
            .spawn()
            .expect("start distccd");
        let addr = format!("127.0.0.1:{port}");
        let t = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "distccd does not listen on {addr}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Distccd { child, addr, log }
    }

    /// Compiles the server finished successfully, from its log (`COMPILE_OK` job summaries).
    pub fn compiles(&self) -> usize {
        self.log_text().matches("COMPILE_OK").count()
    }

    /// The server's log.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Distccd {
    fn drop(&mut self) {
        // SAFETY: a plain kill(2) of our own child; distccd stops its preforked children.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Makes `dir` writable by all and its ancestors traversable (the daemons drop root).
pub fn open_to_all(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut p = dir.parent();
    while let Some(d) = p {
        if let Ok(md) = std::fs::metadata(d) {
            let mode = md.permissions().mode();
            if mode & 0o011 != 0o011 {
                let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o011));
            }
        }
        p = d.parent();
    }
}

/// A TCP relay in front of a server that holds each client `delay` before it connects it
/// through: a slow network. It records how many clients it held at once.
pub struct SlowLink {
    /// `127.0.0.1:<port>` to connect to instead of the server.
    pub addr: String,
    most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SlowLink {
    /// Starts relaying to `server` (its thread ends with the test process).
    pub fn start(server: &str, delay: Duration) -> SlowLink {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (open, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (server, seen) = (server.to_string(), most.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (open, most, server) = (open.clone(), seen.clone(), server.clone());
                std::thread::spawn(move || {
                    // Counted while held: a client that is done cannot still be waiting here.
                    let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(delay);
                    open.fetch_sub(1, Ordering::SeqCst);
                    if let Ok(upstream) = std::net::TcpStream::connect(&server) {
                        relay(client, upstream);
                    }
                });
            }
        });
        SlowLink { addr, most }
    }

    /// The most clients held at once so far.
    pub fn most_at_once(&self) -> usize {
        self.most.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Copies both ways between `a` and `b` until both sides are done.
fn relay(a: std::net::TcpStream, b: std::net::TcpStream) {
    let (mut a2, mut b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let (mut a, mut b) = (a, b);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut a2, &mut b2);
        let _ = b2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut b, &mut a);
    let _ = a.shutdown(std::net::Shutdown::Write);
    let _ = up.join();
}
