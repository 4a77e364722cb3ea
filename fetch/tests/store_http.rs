//! The `http://` store against a real nginx (WebDAV PUT) on loopback, plus a refused port,
//! a server that accepts and never answers, and `https://` (HTTP/2 on one connection) with a
//! private certificate authority. The properties every store keeps come from
//! `servers/contract.rs`; nginx's own checks (one kept-alive connection, 500s retried) follow.

use contract::Backend;
use fetch::cache::Digest;
use fetch::store::{Found, Key, Store, StoreConfig, StoreError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "servers/contract.rs"]
mod contract;
mod servers;

use servers::nginx::{self, Nginx};
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

impl Backend for Nginx {
    fn config(&self, prefix: &str) -> StoreConfig {
        config(self.url(prefix))
    }

    fn file(&self, path: &str) -> PathBuf {
        Nginx::file(self, path)
    }
}

#[test]
fn round_trip_through_nginx_on_one_connection() {
    let n = Nginx::start();
    contract::round_trip(&n);
    // HEAD+PUT, GET, PUT, HEAD, GET, PUT, GET: all on one kept-alive connection.
    let reqs = n.requests(8);
    let methods: Vec<&str> = reqs.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        methods,
        ["HEAD", "PUT", "GET", "PUT", "HEAD", "GET", "PUT", "GET"]
    );
    assert!(reqs.iter().all(|r| r.0 == reqs[0].0), "{reqs:?}");
}

/// A cut download goes on with `Range: bytes=N-` (nginx answers 206), wrong partial bytes are
/// downloaded again whole (200), and a complete partial frame is 416 and served as it is.
#[test]
fn a_cut_download_resumes_with_a_range_request() {
    let n = Nginx::start();
    contract::resumes_a_cut_download(&n, true);
    let gets: Vec<u16> = n
        .requests(7)
        .iter()
        .filter(|r| r.1 == "GET")
        .map(|r| r.3)
        .collect();
    assert_eq!(gets, [206, 206, 200, 416, 200]);
}

#[test]
fn second_put_of_a_blob_sends_no_put() {
    let n = Nginx::start();
    contract::second_put_uploads_nothing(&n);
    let puts = n.requests(3).iter().filter(|r| r.1 == "PUT").count();
    assert_eq!(puts, 1);
}

#[test]
fn a_get_asked_as_a_head_tells_absent_unread_and_passed() {
    contract::get_as_head_tells_absent_unread_and_passed(&Nginx::start());
}

#[test]
fn a_silent_server_costs_a_get_asked_as_a_head_a_heads_timeout() {
    contract::silent_server_costs_a_get_as_head_a_heads_timeout(&|port| {
        config(format!("http://127.0.0.1:{port}/c"))
    });
}

/// A `GET` asked as a `HEAD` has the store's answer when its head comes, not at its body's end:
/// with a body nginx sends for seconds (`/slow`, 200 KiB/s), the breaker says the store
/// answered while the body is still read (launchers waiting on the search look at that). With
/// `Store::get` it says so only at the end. The caller is told then too.
#[test]
fn a_get_asked_as_a_head_is_answered_at_its_head() {
    let n = Nginx::start();
    let body: Vec<u8> = (0..800_000u32).map(|i| (i * 7 % 251) as u8).collect();
    n.serve("slow/builds/linux-x64/abc123", &body);
    let s = open(n.url("slow"));
    let k = Key::build("linux-x64", "abc123").unwrap();
    let told = std::sync::atomic::AtomicBool::new(false);
    let heard = || told.load(std::sync::atomic::Ordering::SeqCst);
    std::thread::scope(|scope| {
        let get = scope.spawn(|| {
            s.get_as_head(&k, &|| {
                told.store(true, std::sync::atomic::Ordering::SeqCst);
                true
            })
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !(s.breaker().answered() && heard()) {
            assert!(
                !get.is_finished(),
                "the body ended before the store answered"
            );
            assert!(std::time::Instant::now() < deadline, "no answer in 10 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!get.is_finished(), "answered only at the body's end");
        match get.join().unwrap() {
            Ok(Found::Bytes(b)) => assert!(b == body, "other bytes"),
            r => panic!("{r:?}"),
        }
    });
}

#[test]
fn missing_objects_are_not_found() {
    contract::missing_is_none(&Nginx::start());
}

#[test]
fn corrupted_blob_on_the_server_is_a_hash_error() {
    contract::corrupted_blob_is_a_hash_error(&Nginx::start());
}

#[test]
fn bombs_and_oversized_objects_are_too_large() {
    contract::bombs_and_oversized_objects_are_too_large(&Nginx::start());
}

#[test]
fn frames_with_a_wide_window_are_refused() {
    contract::wide_window_frames_are_refused(&Nginx::start());
}

/// nginx sending `/slow` at 200 KiB/s: a 400 KiB object takes 2 s, over the base timeout of
/// 1 s; its GET is given time for its cap at `min_rate` and finishes. Without that time (rate
/// 0: the base timeout bounds the whole request) it times out.
#[test]
fn large_objects_on_a_slow_link_are_given_time() {
    let n = Nginx::start();
    let mut cfg = config(n.url("slow/c"));
    cfg.timeout = Duration::from_secs(1);
    cfg.min_rate = 100 << 10;
    cfg.retries = 0;
    let data: Vec<u8> = (0..400u32 << 10).map(|i| (i % 251) as u8).collect();
    let p = n.file("slow/c/ac/big");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, &data).unwrap();
    let k = Key::action("big").unwrap();
    let s = Store::open(&cfg).unwrap();
    let t = std::time::Instant::now();
    assert_eq!(s.get_limited(&k, 400 << 10).unwrap().unwrap(), data);
    let took = t.elapsed();
    assert!(
        took > Duration::from_millis(1500),
        "not rate-limited: {took:?}"
    );

    cfg.min_rate = 0;
    let e = Store::open(&cfg).unwrap().get(&k).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("GET {}/ac/big: timed out after 1s", cfg.url)
    );
}

#[test]
fn server_down_fails_fast_with_a_clear_error() {
    let port = free_port();
    contract::server_down_fails_fast(&config(format!("http://127.0.0.1:{port}/c")));
}

#[test]
fn unreachable_server_is_a_connect_error_tried_once() {
    contract::unreachable_server_is_tried_once(&|port| {
        config(format!("http://127.0.0.1:{port}/c"))
    });
}

#[test]
fn hanging_server_times_out_within_the_configured_timeout() {
    contract::hanging_server_times_out(&|port| config(format!("http://127.0.0.1:{port}/c")));
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
    // Server errors after the retries open the breaker: the PUT is not sent.
    assert_eq!(
        s.breaker().trip().map(|t| t.kind),
        Some(fetch::store::TripKind::Failing)
    );
    assert!(matches!(
        s.put(&Key::action("a").unwrap(), b"e"),
        Err(StoreError::Skipped { op: "PUT", .. })
    ));
    assert_eq!(n.requests(4).len(), 3, "nothing sent after the trip");
    // A new store (the next build without a record) asks again.
    let s = open(n.url("fail/c"));
    assert!(matches!(
        s.put(&Key::action("a").unwrap(), b"e"),
        Err(StoreError::Status {
            op: "PUT",
            code: 500,
            ..
        })
    ));
}

/// Makes in `dir` a private CA (`ca.pem`) and a certificate it signs for 127.0.0.1 (`cert.pem`,
/// `key.pem`) with openssl.
fn make_certificates(dir: &Path) {
    let openssl = require_tool("openssl", "openssl");
    let run = |args: &[&str]| {
        servers::run_ok(Command::new(&openssl).current_dir(dir).args(args));
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
}

/// nginx serving its `www/` over TLS (HTTP/2 offered) with a certificate signed by its
/// `ca.pem`, logging `$connection $server_protocol $request_method $status`.
fn start_tls_nginx() -> Nginx {
    Nginx::start_with(|dir, port| {
        make_certificates(dir);
        let d = dir.display();
        nginx::conf(
            dir,
            "$connection $server_protocol $request_method $status",
            &format!(
                "listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;"
            ),
        )
    })
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
    let n = start_tls_nginx();
    let url = format!("https://127.0.0.1:{}/c", n.port());

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
        .env("SSL_CERT_FILE", n.dir().join("ca.pem"))
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && all.contains("1 passed"), "{all}");
    assert_eq!(std::fs::read(n.file("c/ac/tls")).unwrap(), b"entry");
    // HTTP/2 (negotiated by ALPN), every request of the store on one connection.
    let log = std::fs::read_to_string(n.dir().join("access.log")).unwrap();
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

/// `http2_prior_knowledge`: a server that speaks HTTP/2 in clear text (nginx `listen … http2`)
/// gets every request of many threads on one connection, and all of them as HTTP/2.
#[test]
fn cleartext_http2_puts_many_requests_in_flight_on_one_connection() {
    let n = Nginx::start_with(|dir, port| {
        nginx::conf(
            dir,
            "$connection $request_method $uri $status $server_protocol",
            &format!("listen 127.0.0.1:{port} http2;"),
        )
    });
    let mut cfg = config(n.url("h2"));
    cfg.http2_prior_knowledge = true;
    let s = Store::open(&cfg).unwrap();
    let blobs: Vec<Vec<u8>> = (0..64).map(|i| format!("blob {i}").into_bytes()).collect();
    for b in &blobs {
        s.put_blob(b).unwrap();
    }
    std::thread::scope(|t| {
        for b in &blobs {
            let s = &s;
            t.spawn(move || {
                let got = s.get_blob(&Digest::of(b), 100).unwrap();
                assert_eq!(got.as_deref(), Some(&b[..]));
            });
        }
    });
    let log = std::fs::read_to_string(n.dir().join("access.log")).unwrap();
    let lines: Vec<Vec<&str>> = log.lines().map(|l| l.split(' ').collect()).collect();
    let gets = lines.iter().filter(|f| f[1] == "GET").count();
    assert_eq!(gets, 64, "{log}");
    assert!(lines.iter().all(|f| f[4] == "HTTP/2.0"), "{log}");
    assert!(
        lines.iter().all(|f| f[0] == lines[0][0]),
        "one connection: {log}"
    );
    // Without the setting the same server is not understood: an error, not a hang.
    let plain = open(n.url("h2"));
    assert!(plain.get_blob(&Digest::of(&blobs[0]), 100).is_err());
}

/// A blob download that fails before any body byte (the server is down) keeps no partial
/// file: an empty one would only be a range request for nothing on the next pull.
#[test]
fn a_download_that_got_no_byte_keeps_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = fetch::cache::LocalCache::new(dir.path());
    let store = open(format!("http://127.0.0.1:{}/c", free_port()));
    let d = Digest::of(b"never sent");
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let size = fetch::cache::MIN_PARTIAL_SIZE * 4;
    let e = fetch::download::blob(&store, &cache, &d, size, &cancel).unwrap_err();
    assert!(e.to_string().contains("127.0.0.1"), "{e}");
    let partial = dir.path().join("tmp/partial");
    let left: Vec<_> = std::fs::read_dir(&partial)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}
