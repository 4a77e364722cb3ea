//! The `s3://` store against a real S3 server (s3s-fs) on loopback, plus wrong credentials, a
//! refused port and a server that accepts and never answers.

use fetch::cache::Digest;
use fetch::store::{Key, Store, StoreConfig, StoreCounts, StoreError};
use std::net::TcpListener;
use std::time::{Duration, Instant};

mod servers;

use servers::free_port;
use servers::s3::{S3Server, BUCKET};

fn open(cfg: &StoreConfig) -> Store {
    Store::open(cfg).unwrap()
}

/// A config for a server at `port` that is not s3s-fs (or not there at all).
fn config_at(port: u16) -> StoreConfig {
    let mut c = StoreConfig::new(format!("s3://{BUCKET}/c"));
    c.connect_timeout = Duration::from_secs(2);
    c.timeout = Duration::from_secs(1);
    c.backoff = Duration::from_millis(10);
    c.s3.endpoint = Some(format!("http://127.0.0.1:{port}"));
    c.s3.region = Some("us-east-1".into());
    c.s3.access_key_id = Some("k".into());
    c.s3.secret_access_key = Some("s".into());
    c
}

#[test]
fn round_trip_of_blobs_entries_and_manifests() {
    let srv = S3Server::start();
    let s = open(&srv.config("cache/v1"));
    let data = b"compiled object ".repeat(4096);
    let d = s.put_blob(&data).unwrap();
    let frame = std::fs::read(srv.file(&format!("cache/v1/cas/{d}"))).unwrap();
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
        std::fs::read(srv.file("cache/v1/builds/linux-x64/abc123")).unwrap(),
        b"manifest"
    );
    assert_eq!(
        s.url(&b),
        format!("s3://{BUCKET}/cache/v1/builds/linux-x64/abc123")
    );
    assert_eq!(
        s.counters().snapshot(),
        StoreCounts {
            fetched: 3,
            uploaded: 3,
            ..Default::default()
        }
    );
    // An empty object is an object.
    let e = Key::action("empty").unwrap();
    s.put(&e, b"").unwrap();
    assert_eq!(s.get(&e).unwrap().unwrap(), b"");
}

#[test]
fn second_put_of_a_blob_uploads_nothing() {
    let srv = S3Server::start();
    let s = open(&srv.config("c"));
    let d = s.put_blob(b"same bytes").unwrap();
    let written = std::fs::metadata(srv.file(&format!("c/cas/{d}")))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(s.put_blob(b"same bytes").unwrap(), d);
    let c = s.counters().snapshot();
    assert_eq!((c.uploaded, c.already_present), (1, 1));
    let again = std::fs::metadata(srv.file(&format!("c/cas/{d}")))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(written, again, "the second put_blob rewrote the object");
}

#[test]
fn missing_objects_are_not_found() {
    let srv = S3Server::start();
    let s = open(&srv.config("c"));
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
    let srv = S3Server::start();
    let s = open(&srv.config("c"));
    let d = s.put_blob(b"the real object").unwrap();
    let p = srv.file(&format!("c/cas/{d}"));
    std::fs::write(&p, zstd::encode_all(&b"something else"[..], 3).unwrap()).unwrap();
    let e = s.get_blob(&d, 1 << 20).unwrap_err();
    let want = format!(
        "GET s3://{BUCKET}/c/cas/{d}: hash mismatch (got {})",
        Digest::of(b"something else")
    );
    assert_eq!(e.to_string(), want);
    // Truncated on the server: also refused.
    let frame = zstd::encode_all(&b"the real object"[..], 3).unwrap();
    std::fs::write(&p, &frame[..frame.len() - 4]).unwrap();
    assert!(matches!(
        s.get_blob(&d, 1 << 20),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(s.counters().snapshot().errors.corrupt, 2);
}

#[test]
fn bombs_and_oversized_objects_are_too_large() {
    let srv = S3Server::start();
    let mut cfg = srv.config("c");
    cfg.max_entry_size = 1000;
    let s = open(&cfg);
    // 64 MiB of zeros in a frame of a few KiB, under the name of its real hash.
    let zeros = vec![0u8; 64 << 20];
    let d = Digest::of(&zeros);
    let p = srv.file(&format!("c/cas/{d}"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, zstd::encode_all(&zeros[..], 19).unwrap()).unwrap();
    drop(zeros);
    let e = s.get_blob(&d, 1 << 20).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("GET s3://{BUCKET}/c/cas/{d}: larger than the limit of 1048576 bytes")
    );
    // A raw entry over max_entry_size is refused before its body is read.
    let k = Key::action("big").unwrap();
    s.put(&k, &[7u8; 1001]).unwrap();
    assert!(matches!(
        s.get(&k),
        Err(StoreError::TooLarge { limit: 1000, .. })
    ));
    s.put(&k, &[7u8; 1000]).unwrap();
    assert_eq!(s.get(&k).unwrap().unwrap().len(), 1000);
    assert_eq!(s.counters().snapshot().errors.too_large, 2);
}

#[test]
fn wrong_credentials_are_a_clear_error_naming_the_url() {
    let srv = S3Server::start();
    let mut cfg = srv.config("c");
    cfg.s3.secret_access_key = Some("not-the-secret".into());
    let s = open(&cfg);
    let e = s.put_blob(b"x").unwrap_err();
    let msg = e.to_string();
    let d = Digest::of(b"x");
    assert!(matches!(e, StoreError::Denied { op: "HEAD", .. }), "{msg}");
    assert!(
        msg.starts_with(&format!(
            "HEAD s3://{BUCKET}/c/cas/{d}: access denied (403 Forbidden"
        )),
        "{msg}"
    );
    assert!(msg.contains("AWS_SECRET_ACCESS_KEY"), "{msg}");
    // A GET has a body: S3's error code is shown.
    let e = s.get(&Key::action("k").unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "GET s3://{BUCKET}/c/ac/k: access denied (403 Forbidden, SignatureDoesNotMatch): \
             check the store's credentials (for S3 the access key and secret, or \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the bucket's policy"
        )
    );
    let c = s.counters().snapshot();
    assert_eq!((c.errors.status, c.retries, c.uploaded), (2, 0, 0));
}

#[test]
fn server_errors_are_retried_then_reported() {
    let srv = S3Server::start();
    let s = open(&srv.config("c"));
    // A directory where the object's file should be: s3s-fs cannot read it and answers 5xx.
    std::fs::create_dir_all(srv.file("c/ac/dir")).unwrap();
    let e = s.get(&Key::action("dir").unwrap()).unwrap_err();
    let StoreError::Status { code, .. } = e else {
        panic!("{e}")
    };
    assert!((500..600).contains(&code), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("GET s3://{BUCKET}/c/ac/dir: 5")),
        "{e}"
    );
    let c = s.counters().snapshot();
    assert_eq!((c.retries, c.errors.status), (2, 1));
}

#[test]
fn server_down_fails_fast_with_a_clear_error() {
    let port = free_port();
    let s = open(&config_at(port));
    let t = Instant::now();
    let e = s.get_blob(&Digest::of(b"x"), 100).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("GET s3://{BUCKET}/c/cas/")),
        "{msg}"
    );
    assert!(
        msg.contains("connection failed")
            && msg.contains("refused")
            && msg.ends_with(&format!("(endpoint http://127.0.0.1:{port})")),
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
    let mut cfg = config_at(port);
    cfg.retries = 0;
    let s = open(&cfg);
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
        format!("GET s3://{BUCKET}/c/ac/k: timed out after 1s")
    );

    // With one retry: two timeouts, one counted retry, one error.
    cfg.retries = 1;
    let s = open(&cfg);
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
fn bad_urls_and_half_credentials_are_refused_at_open() {
    for (url, want) in [
        ("s3://", "bucket name"),
        ("s3://Upper/x", "bucket name"),
        ("s3://bucket/a/../b", "prefix"),
    ] {
        let e = Store::open(&StoreConfig::new(url)).err().unwrap();
        assert!(
            e.to_string().starts_with(&format!("store URL {url}: ")),
            "{e}"
        );
        assert!(e.to_string().contains(want), "{e}");
    }
    let mut c = config_at(1);
    c.s3.secret_access_key = None;
    // The secret would come from AWS_SECRET_ACCESS_KEY; the tests never set it.
    if std::env::var_os("AWS_SECRET_ACCESS_KEY").is_none() {
        let e = Store::open(&c).err().unwrap();
        assert!(e.to_string().contains("needs its secret"), "{e}");
    }
    c = config_at(1);
    c.s3.endpoint = Some("ftp://x".into());
    let e = Store::open(&c).err().unwrap();
    assert!(
        e.to_string()
            .contains("must start with http:// or https://"),
        "{e}"
    );
}
