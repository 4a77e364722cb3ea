//! The `s3://` store against a real S3 server (s3s-fs) on loopback, plus wrong credentials, a
//! refused port and a server that accepts and never answers. The properties every store keeps
//! come from `servers/contract.rs`; S3's own checks (URLs, empty objects, credentials) follow.

use contract::Backend;
use fetch::cache::Digest;
use fetch::store::{Key, Store, StoreConfig, StoreError};
use std::path::PathBuf;
use std::time::Duration;

#[path = "servers/contract.rs"]
mod contract;
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

impl Backend for S3Server {
    fn config(&self, prefix: &str) -> StoreConfig {
        S3Server::config(self, prefix)
    }

    fn file(&self, path: &str) -> PathBuf {
        S3Server::file(self, path)
    }
}

#[test]
fn round_trip_of_blobs_entries_and_manifests() {
    let srv = S3Server::start();
    let s = contract::round_trip(&srv);
    let b = Key::build("linux-x64", "abc123").unwrap();
    assert_eq!(
        s.url(&b),
        format!("s3://{BUCKET}/cache/v1/builds/linux-x64/abc123")
    );
    // An empty object is an object.
    let e = Key::action("empty").unwrap();
    s.put(&e, b"").unwrap();
    assert_eq!(s.get(&e).unwrap().unwrap(), b"");
}

#[test]
fn second_put_of_a_blob_uploads_nothing() {
    contract::second_put_uploads_nothing(&S3Server::start());
}

#[test]
fn a_get_asked_as_a_head_tells_absent_unread_and_passed() {
    contract::get_as_head_tells_absent_unread_and_passed(&S3Server::start());
}

#[test]
fn a_silent_server_costs_a_get_asked_as_a_head_a_heads_timeout() {
    contract::silent_server_costs_a_get_as_head_a_heads_timeout(&config_at);
}

#[test]
fn missing_objects_are_not_found() {
    contract::missing_is_none(&S3Server::start());
}

#[test]
fn corrupted_blob_on_the_server_is_a_hash_error() {
    contract::corrupted_blob_is_a_hash_error(&S3Server::start());
}

#[test]
fn bombs_and_oversized_objects_are_too_large() {
    contract::bombs_and_oversized_objects_are_too_large(&S3Server::start());
}

#[test]
fn frames_with_a_wide_window_are_refused() {
    contract::wide_window_frames_are_refused(&S3Server::start());
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
    // Refused credentials open the breaker: nothing more is sent to this store.
    assert!(matches!(
        s.get(&Key::action("k").unwrap()),
        Err(StoreError::Skipped { op: "GET", .. })
    ));
    let c = s.counters().snapshot();
    assert_eq!((c.errors.status, c.errors.skipped), (1, 1));
    // A GET has a body: S3's error code is shown (a new store: the next build).
    let s = open(&cfg);
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
    assert_eq!((c.errors.status, c.retries, c.uploaded), (1, 0, 0));
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
    let msg = contract::server_down_fails_fast(&config_at(port));
    // The error names the endpoint the bucket was looked for at.
    assert!(
        msg.ends_with(&format!("(endpoint http://127.0.0.1:{port})")),
        "{msg}"
    );
}

#[test]
fn unreachable_server_is_a_connect_error_tried_once() {
    contract::unreachable_server_is_tried_once(&config_at);
}

#[test]
fn hanging_server_times_out_within_the_configured_timeout() {
    contract::hanging_server_times_out(&config_at);
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

#[test]
fn a_cut_download_resumes() {
    contract::resumes_a_cut_download(&S3Server::start(), true);
}
