//! The `http://` store against a real nginx (WebDAV PUT) on loopback, plus a refused port,
//! a server that accepts and never answers, and `https://` (HTTP/2 on one connection) with a
//! private certificate authority.

use fetch::cache::Digest;
use fetch::store::{Key, Store, StoreConfig, StoreCounts, StoreError};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod servers;

use servers::nginx::Nginx;
use servers::{free_port, require_tool};

fn config(url: String) -> StoreConfig {
    let mut c = StoreConfig::new(url);
    c.timeout = Duration::from_secs(5);
    c.backoff = Duration::from_millis(10);
    c
}

fn open(url: String) -> Store {
    Store::open(&config(url)).unwrap()
}

#[test]
fn round_trip_through_nginx_on_one_connection() {
    let n = Nginx::start();
    let s = open(n.url("cache/v1"));
    let data = b"compiled object ".repeat(4096);
    let d = s.put_blob(&data).unwrap();
    let frame = std::fs::read(n.file(&format!("cache/v1/cas/{d}"))).unwrap();
    assert_eq!(zstd::decode_all(&frame[..]).unwrap(), data);
    assert_eq!(s.get_blob(&d, 1 << 20).unwrap().unwrap(), data);

    let ac = Key::action(&Digest::of(b"action").to_hex()).unwrap();
    s.put(&ac, b"entry").unwrap();
    assert!(s.head(&ac).unwrap());
    assert_eq!(s.get(&ac).unwrap().unwrap(), b"entry");
    let b = Key::build("linux-x64", "abc123").unwrap();
    s.put(&b, b"manifest").unwrap();
    assert_eq!(s.get(&b).unwrap().unwrap(), b"manifest");
    assert_eq!(
        std::fs::read(n.file("cache/v1/builds/linux-x64/abc123")).unwrap(),
        b"manifest"
    );
    assert_eq!(
        s.counters().snapshot(),
        StoreCounts {
            fetched: 3,
            uploaded: 3,
            ..Default::default()
        }
    );
    // HEAD+PUT, GET, PUT, HEAD, GET, PUT, GET: all on one kept-alive connection.
    let reqs = n.requests(8);
    let methods: Vec<&str> = reqs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        methods,
        ["HEAD", "PUT", "GET", "PUT", "HEAD", "GET", "PUT", "GET"]
    );
    assert!(reqs.iter().all(|r| r.0 == reqs[0].0), "{reqs:?}");
}

#[test]
fn second_put_of_a_blob_sends_no_put() {
    let n = Nginx::start();
    let s = open(n.url("c"));
    let d = s.put_blob(b"same bytes").unwrap();
    assert_eq!(s.put_blob(b"same bytes").unwrap(), d);
    let c = s.counters().snapshot();
    assert_eq!((c.uploaded, c.already_present), (1, 1));
    let puts = n.requests(3).iter().filter(|r| r.1 == "PUT").count();
    assert_eq!(puts, 1);
}

#[test]
fn missing_objects_are_not_found() {
    let n = Nginx::start();
    let s = open(n.url("c"));
    assert_eq!(s.get_blob(&Digest::of(b"nope"), 100).unwrap(), None);
    assert_eq!(s.get(&Key::action("nope").unwrap()).unwrap(), None);
    assert!(!s.head(&Key::build("x", "y").unwrap()).unwrap());
    let c = s.counters().snapshot();
    assert_eq!(
        (c.not_found, c.retries, c.errors),
        (2, 0, Default::default())
    );
}

#[test]
fn corrupted_blob_on_the_server_is_a_hash_error() {
    let n = Nginx::start();
    let s = open(n.url("c"));
    let d = s.put_blob(b"the real object").unwrap();
    std::fs::write(
        n.file(&format!("c/cas/{d}")),
        zstd::encode_all(&b"something else"[..], 3).unwrap(),
    )
    .unwrap();
    let e = s.get_blob(&d, 1 << 20).unwrap_err();
    let want = format!(
        "GET {}/cas/{d}: hash mismatch (got {})",
        n.url("c"),
        Digest::of(b"something else")
    );
    assert_eq!(e.to_string(), want);
    // Truncated on the server: also refused.
    let p = n.file(&format!("c/cas/{d}"));
    let frame = zstd::encode_all(&b"the real object"[..], 3).unwrap();
    std::fs::write(&p, &frame[..frame.len() - 4]).unwrap();
    assert!(matches!(
        s.get_blob(&d, 1 << 20),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(s.counters().snapshot().errors.corrupt, 2);
}

#[test]
fn server_down_fails_fast_with_a_clear_error() {
    let port = free_port();
    let s = open(format!("http://127.0.0.1:{port}/c"));
    let t = Instant::now();
    let e = s.get_blob(&Digest::of(b"x"), 100).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("GET http://127.0.0.1:{port}/c/cas/")),
        "{msg}"
    );
    assert!(
        msg.contains("connection failed") && msg.contains("refused"),
        "{msg}"
    );
    let c = s.counters().snapshot();
    assert_eq!((c.errors.connect, c.retries), (1, 0));
}

#[test]
fn hanging_server_times_out_within_the_configured_timeout() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            held.push(c); // accepted, never answered
        }
    });
    let mut cfg = config(format!("http://127.0.0.1:{port}/c"));
    cfg.timeout = Duration::from_secs(1);
    cfg.retries = 0;
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    let e = s.get(&Key::action("k").unwrap()).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, StoreError::Timeout { .. }), "{e}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("GET http://127.0.0.1:{port}/c/ac/k: timed out after 1s")
    );

    // With one retry: two timeouts, one counted retry, one error.
    cfg.retries = 1;
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    assert!(matches!(
        s.put_blob(b"x"),
        Err(StoreError::Timeout { op: "HEAD", .. })
    ));
    assert!(
        t.elapsed() < Duration::from_millis(3500),
        "{:?}",
        t.elapsed()
    );
    let c = s.counters().snapshot();
    assert_eq!((c.retries, c.errors.timeout, c.uploaded), (1, 1, 0));
}

#[test]
fn server_errors_are_retried_then_reported() {
    let n = Nginx::start();
    let s = open(n.url("fail/c"));
    let d = Digest::of(b"x");
    let e = s.get_blob(&d, 100).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("GET {}/cas/{d}: 500 Internal Server Error", n.url("fail/c"))
    );
    assert!(matches!(e, StoreError::Status { code: 500, .. }));
    let c = s.counters().snapshot();
    assert_eq!((c.retries, c.errors.status), (2, 1));
    // 1 try + 2 retries reached the server.
    assert_eq!(n.requests(3).iter().filter(|r| r.3 == 500).count(), 3);
    assert!(matches!(
        s.put(&Key::action("a").unwrap(), b"e"),
        Err(StoreError::Status {
            op: "PUT",
            code: 500,
            ..
        })
    ));
}

/// nginx serving `<dir>/www` over TLS with `<dir>/cert.pem` (signed by `<dir>/ca.pem`); killed
/// on drop.
struct TlsNginx(Child);

impl Drop for TlsNginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Makes a private CA (`ca.pem`) and a certificate it signs for 127.0.0.1 with openssl, then
/// starts nginx with that certificate.
fn start_tls_nginx(dir: &Path, port: u16) -> TlsNginx {
    let openssl = require_tool("openssl", "openssl");
    let run = |args: &[&str]| {
        let out = Command::new(&openssl)
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &[
            "req",
            "-x509",
            "-days",
            "2",
            "-subj",
            "/CN=cached-ninja test CA",
        ],
        &ec[..],
        &["-keyout", "ca.key", "-out", "ca.pem"],
    ]
    .concat());
    run(&[
        &["req", "-subj", "/CN=127.0.0.1"],
        &ec[..],
        &["-keyout", "key.pem", "-out", "srv.csr"],
    ]
    .concat());
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "srv.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    std::fs::create_dir(dir.join("www")).unwrap();
    let d = dir.display();
    let conf = format!(
        "daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format proto '$connection $server_protocol $request_method $status';
    access_log {d}/access.log proto;
    client_body_temp_path {d}/body;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        location / {{
            root {d}/www;
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let mut child = Command::new(require_tool("nginx", "nginx-light"))
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
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
    TlsNginx(child)
}

/// The child half of [`https_with_a_private_certificate_authority`]: does nothing unless run by it.
#[test]
fn https_child_trusting_the_certificate() {
    let Some(url) = std::env::var_os("CN_TEST_HTTPS_URL") else {
        return;
    };
    let s = open(url.into_string().unwrap());
    let d = s.put_blob(b"over tls").unwrap();
    assert_eq!(s.get_blob(&d, 100).unwrap().unwrap(), b"over tls");
    let k = Key::action("tls").unwrap();
    s.put(&k, b"entry").unwrap();
    assert_eq!(s.get(&k).unwrap().unwrap(), b"entry");
}

/// `https://` works once the private CA is trusted (`SSL_CERT_FILE`, set only in a child test
/// process so no other test sees it) and is a clear error while it is not.
#[test]
fn https_with_a_private_certificate_authority() {
    let dir = tempfile::Builder::new()
        .prefix("cn-tls-")
        .tempdir()
        .unwrap();
    let port = free_port();
    let _nginx = start_tls_nginx(dir.path(), port);
    let url = format!("https://127.0.0.1:{port}/c");

    let e = open(url.clone())
        .get(&Key::action("k").unwrap())
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("GET {url}/ac/k: connection failed: ")),
        "{msg}"
    );
    assert!(msg.contains("certificate"), "{msg}");

    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "https_child_trusting_the_certificate",
            "--nocapture",
        ])
        .env("CN_TEST_HTTPS_URL", &url)
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && all.contains("1 passed"), "{all}");
    assert_eq!(
        std::fs::read(dir.path().join("www/c/ac/tls")).unwrap(),
        b"entry"
    );
    // HTTP/2 (negotiated by ALPN), every request of the store on one connection.
    let log = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    // (The untrusting client's handshake failed before any request, so nginx logged none.)
    let reqs: Vec<Vec<&str>> = log.lines().map(|l| l.split(' ').collect()).collect();
    let methods: Vec<&str> = reqs.iter().map(|f| f[2]).collect();
    assert_eq!(methods, ["HEAD", "PUT", "GET", "PUT", "GET"], "{log}");
    assert!(
        reqs.iter().all(|f| f[1] == "HTTP/2.0"),
        "over HTTP/2:\n{log}"
    );
    assert!(
        reqs.iter().all(|f| f[0] == reqs[0][0]),
        "on one connection:\n{log}"
    );
}
