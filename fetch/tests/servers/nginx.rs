//! nginx serving a directory with WebDAV PUT on a loopback port, `/fail` answering 500; or with
//! another config ([`Nginx::start_with`], [`conf`]).

use super::{free_port, require_tool, wait_until_listening};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx in its own directory ([`Nginx::start`]: WebDAV, `/fail` answering 500); killed
/// on drop.
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    /// The WebDAV nginx: `<dir>/www` with PUT, `/fail` answering 500, `/slow` serving
    /// `<dir>/www/slow` at 200 KiB/s, requests logged as
    /// `$connection $request_method $uri $status $http_range` (read by [`Nginx::requests`];
    /// the range is `-` when the request had none).
    pub fn start() -> Nginx {
        Nginx::start_with(|dir, port| {
            let d = dir.display();
            conf(
                dir,
                "$connection $request_method $uri $status $http_range",
                &format!(
                    "listen 127.0.0.1:{port};
        location /fail {{ return 500; }}
        location /slow {{ root {d}/www; limit_rate 200k; }}"
                ),
            )
        })
    }

    /// An nginx in a new directory (with an empty `www/`) on a free loopback port, configured
    /// by `make_conf(dir, port)` (which may write more files into `dir` first; [`conf`] makes the
    /// usual one); waits until it listens. The config should log errors to `<dir>/error.log`.
    pub fn start_with(make_conf: impl FnOnce(&Path, u16) -> String) -> Nginx {
        let nginx = require_tool("nginx", "nginx-light");
        let dir = tempfile::Builder::new()
            .prefix("cn-nginx-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("www")).unwrap();
        let port = free_port();
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, make_conf(dir.path(), port)).unwrap();
        let mut child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        wait_until_listening(&mut child, port, "nginx", &dir.path().join("error.log"));
        Nginx { child, dir, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory nginx runs in (`nginx.conf`, `access.log`, `www/`, …).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, prefix: &str) -> String {
        format!("http://127.0.0.1:{}/{prefix}", self.port)
    }

    /// The file nginx serves for `/<path>`.
    pub fn file(&self, path: &str) -> PathBuf {
        self.dir.path().join("www").join(path)
    }

    /// Writes `bytes` where nginx serves `path` (its directories made), as a store's upload
    /// would not: under a location that takes no `PUT`, such as `/slow`.
    pub fn serve(&self, path: &str, bytes: &[u8]) {
        let file = self.file(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }

    /// (connection number, method, uri, status) of every request logged, once at least
    /// `expect` are (nginx logs a request just after answering it).
    pub fn requests(&self, expect: usize) -> Vec<(u64, String, String, u16)> {
        self.requests_until(|r| r.len() >= expect)
    }

    /// Every request logged (as [`Nginx::requests`]) once `done` holds for them, or as they
    /// are after 5 s.
    pub fn requests_until(
        &self,
        done: impl Fn(&[(u64, String, String, u16)]) -> bool,
    ) -> Vec<(u64, String, String, u16)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap();
            let reqs: Vec<_> = log
                .lines()
                .map(|l| {
                    let f: Vec<&str> = l.split(' ').collect();
                    let n = |i: usize| f[i].parse().unwrap();
                    (n(0), f[1].into(), f[2].into(), n(3) as u16)
                })
                .collect();
            if done(&reqs) || Instant::now() > deadline {
                return reqs;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// An `nginx.conf` for a server in `dir` (see [`Nginx::start_with`]): one worker, errors to
/// `error.log`, each request to `access.log` as `log_format`, and one server made of
/// `server` (its `listen` and any more directives) and `location /` serving `www/` with
/// WebDAV PUT.
pub fn conf(dir: &Path, log_format: &str, server: &str) -> String {
    let d = dir.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format main '{log_format}';
    access_log {d}/access.log main;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    default_type application/octet-stream;
    server {{
        {server}
        location / {{
            root {d}/www;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }}
    }}
}}
"
    )
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
