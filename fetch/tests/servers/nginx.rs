//! nginx serving a directory with WebDAV PUT on a loopback port, `/fail` answering 500.

use super::{free_port, require_tool};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An nginx serving `<dir>/www` with WebDAV PUT, and `/fail` answering 500; killed on drop.
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    pub fn start() -> Nginx {
        let nginx = require_tool("nginx", "nginx-light");
        let dir = tempfile::Builder::new()
            .prefix("cn-nginx-")
            .tempdir()
            .unwrap();
        let d = dir.path().display();
        std::fs::create_dir(dir.path().join("www")).unwrap();
        let port = free_port();
        let conf = format!(
            "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format conn '$connection $request_method $uri $status';
    access_log {d}/access.log conn;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            root {d}/www;
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }}
        location /fail {{ return 500; }}
    }}
}}
"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
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
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = || std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            if let Some(st) = child.try_wait().unwrap() {
                panic!("nginx exited ({st}) at start:\n{}", log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen:\n{}",
                log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, dir, port }
    }

    pub fn url(&self, prefix: &str) -> String {
        format!("http://127.0.0.1:{}/{prefix}", self.port)
    }

    /// The file nginx serves for `/<path>`.
    pub fn file(&self, path: &str) -> PathBuf {
        self.dir.path().join("www").join(path)
    }

    /// (connection number, method, uri, status) of every request logged, once at least
    /// `expect` are (nginx logs a request just after answering it).
    pub fn requests(&self, expect: usize) -> Vec<(u64, String, String, u16)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap();
            if log.lines().count() >= expect || Instant::now() > deadline {
                return log
                    .lines()
                    .map(|l| {
                        let f: Vec<&str> = l.split(' ').collect();
                        let n = |i: usize| f[i].parse().unwrap();
                        (n(0), f[1].into(), f[2].into(), n(3) as u16)
                    })
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
