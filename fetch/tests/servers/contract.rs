//! The properties every store keeps, written once and checked against each real server:
//! `store_http.rs` (nginx), `store_s3.rs` (s3s-fs) and `store_file.rs` (a directory) call these
//! from their own `#[test]`s, then add what is their own.
//!
//! Not declared in `servers/mod.rs`: it needs zstd, which the root package (whose end-to-end
//! tests include `servers/mod.rs` through `#[path]`) does not depend on. A test file includes it
//! with `#[path = "servers/contract.rs"] mod contract;`.
#![allow(dead_code)]

use fetch::cache::Digest;
use fetch::store::{Found, Key, Store, StoreConfig, StoreCounts, StoreError};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// A store's server as the properties see it.
pub trait Backend {
    /// The config of a store at `prefix` (short timeouts, credentials set).
    fn config(&self, prefix: &str) -> StoreConfig;
    /// The file holding the object at `path` (`<prefix>/cas/<hash>`, `<prefix>/ac/<name>`, …).
    fn file(&self, path: &str) -> PathBuf;

    fn open(&self, prefix: &str) -> Store {
        Store::open(&self.config(prefix)).unwrap()
    }
}

/// A blob (stored as one zstd frame under `cas/<hash>`), an `ac/` entry and a `builds/` manifest
/// put and got back through a store at `cache/v1`; returns that store.
pub fn round_trip(b: &dyn Backend) -> Store {
    let s = b.open("cache/v1");
    let data = b"compiled object ".repeat(4096);
    let d = s.put_blob(&data).unwrap();
    assert_eq!(d, Digest::of(&data));
    let frame = std::fs::read(b.file(&format!("cache/v1/cas/{d}"))).unwrap();
    assert!(frame.len() < data.len() / 10, "{} bytes", frame.len());
    assert_eq!(zstd::decode_all(&frame[..]).unwrap(), data);
    assert_eq!(s.get_blob(&d, 1 << 20).unwrap().unwrap(), data);

    let ac = Key::action(&Digest::of(b"action").to_hex()).unwrap();
    s.put(&ac, b"entry").unwrap();
    assert!(s.head(&ac).unwrap());
    assert_eq!(s.get(&ac).unwrap().unwrap(), b"entry");
    let m = Key::build("linux-x64", "abc123").unwrap();
    s.put(&m, b"manifest").unwrap();
    assert_eq!(s.get(&m).unwrap().unwrap(), b"manifest");
    assert_eq!(
        std::fs::read(b.file("cache/v1/builds/linux-x64/abc123")).unwrap(),
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
    s
}

fn modified(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// Putting a blob the store has is counted as already present and leaves the object alone.
pub fn second_put_uploads_nothing(b: &dyn Backend) {
    let s = b.open("c");
    let d = s.put_blob(b"same bytes").unwrap();
    let p = b.file(&format!("c/cas/{d}"));
    let written = modified(&p);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(s.put_blob(b"same bytes").unwrap(), d);
    let c = s.counters().snapshot();
    assert_eq!((c.uploaded, c.already_present), (1, 1));
    assert_eq!(
        modified(&p),
        written,
        "the second put_blob rewrote the object"
    );
}

/// Absent blobs, entries and manifests are `None` / `false`, not errors, and are not retried.
pub fn missing_is_none(b: &dyn Backend) {
    let s = b.open("c");
    assert_eq!(s.get_blob(&Digest::of(b"nope"), 100).unwrap(), None);
    assert_eq!(s.get(&Key::action("nope").unwrap()).unwrap(), None);
    assert!(!s.head(&Key::build("x", "y").unwrap()).unwrap());
    let c = s.counters().snapshot();
    assert_eq!(
        (c.not_found, c.retries, c.errors),
        (2, 0, Default::default())
    );
}

/// A `GET` asked as a `HEAD` (`Store::get_as_head`, the plan's for the working revision and
/// its parent): an absent object is `Absent` (counted not found), a present one its bytes, one
/// there but over the cap (`max_entry_size` 1000 here) `Unread`, not absent, naming the URL,
/// and the same with its body declined when told it is there `Passed` (not read, so not over
/// the cap, and not counted); the store answered and its breaker is closed.
pub fn get_as_head_tells_absent_unread_and_passed(b: &dyn Backend) {
    let mut cfg = b.config("c");
    cfg.max_entry_size = 1000;
    let s = Store::open(&cfg).unwrap();
    let k = Key::build("linux-x64", "abc123").unwrap();
    // How many times the caller was told the object is there.
    let told = std::cell::Cell::new(0);
    let there = || {
        told.set(told.get() + 1);
        true
    };
    assert!(matches!(s.get_as_head(&k, &there), Ok(Found::Absent)));
    assert_eq!(told.get(), 0);
    s.put(&k, b"manifest").unwrap();
    match s.get_as_head(&k, &there) {
        Ok(Found::Bytes(bytes)) => assert_eq!(bytes, b"manifest"),
        r => panic!("{r:?}"),
    }
    s.put(&k, &[7u8; 2000]).unwrap();
    match s.get_as_head(&k, &there) {
        Ok(Found::Unread(e @ StoreError::TooLarge { .. })) => assert_eq!(
            e.to_string(),
            format!(
                "GET {}/builds/linux-x64/abc123: larger than the limit of 1000 bytes",
                cfg.url
            )
        ),
        r => panic!("{r:?}"),
    }
    assert_eq!(told.get(), 2);
    let declined = || {
        told.set(told.get() + 1);
        false
    };
    assert!(matches!(s.get_as_head(&k, &declined), Ok(Found::Passed)));
    assert_eq!(told.get(), 3);
    let c = s.counters().snapshot();
    assert_eq!(
        (c.not_found, c.fetched, c.errors.too_large, c.retries),
        (1, 1, 1, 0)
    );
    assert!(s.breaker().answered() && s.breaker().trip().is_none());
}

/// A server that accepts and never answers costs a `GET` asked as a `HEAD` the `HEAD`'s
/// timeout (the first-byte timeout, 300 ms here), not its size cap's time at its rate (64 MiB
/// at 1 MiB/s: over a minute here, hours with a declared bandwidth shared by many requests);
/// it is the `HEAD`'s hard failure (the breaker opens), and no answer.
pub fn silent_server_costs_a_get_as_head_a_heads_timeout(config_at: &dyn Fn(u16) -> StoreConfig) {
    let (port, _) = crate::servers::silent_server();
    let mut cfg = config_at(port);
    cfg.timeout = Duration::from_secs(10);
    cfg.first_byte_timeout = Duration::from_millis(300);
    cfg.min_rate = 1 << 20;
    cfg.retries = 0;
    assert!(cfg.get_timeout(cfg.max_entry_size) > Duration::from_secs(60));
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    let e = s
        .get_as_head(&Key::build("linux-x64", "abc123").unwrap(), &|| true)
        .unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        e.to_string(),
        format!(
            "GET {}/builds/linux-x64/abc123: timed out after 300ms",
            cfg.url
        )
    );
    // (An upper bound with room for a loaded machine.)
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(s.breaker().trip().is_some() && !s.breaker().answered());
}

/// A blob replaced on the server by a frame of other bytes is a hash mismatch naming the URL; a
/// truncated frame is corrupt too. Returns the store (at `c`) and the blob's digest.
pub fn corrupted_blob_is_a_hash_error(b: &dyn Backend) -> (Store, Digest) {
    let cfg = b.config("c");
    let s = Store::open(&cfg).unwrap();
    let d = s.put_blob(b"the real object").unwrap();
    let p = b.file(&format!("c/cas/{d}"));
    std::fs::write(&p, zstd::encode_all(&b"something else"[..], 3).unwrap()).unwrap();
    let e = s.get_blob(&d, 1 << 20).unwrap_err();
    let want = format!(
        "GET {}/cas/{d}: hash mismatch (got {})",
        cfg.url,
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
    (s, d)
}

/// A zstd bomb under its real hash is refused at the blob limit, a raw entry over
/// `max_entry_size` (1000 here) before its body is read.
pub fn bombs_and_oversized_objects_are_too_large(b: &dyn Backend) {
    let mut cfg = b.config("c");
    cfg.max_entry_size = 1000;
    let s = Store::open(&cfg).unwrap();
    // 64 MiB of zeros in a frame of a few KiB, under the name of its real hash.
    let zeros = vec![0u8; 64 << 20];
    let d = Digest::of(&zeros);
    let p = b.file(&format!("c/cas/{d}"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, zstd::encode_all(&zeros[..], 19).unwrap()).unwrap();
    drop(zeros);
    let e = s.get_blob(&d, 1 << 20).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "GET {}/cas/{d}: larger than the limit of 1048576 bytes",
            cfg.url
        )
    );
    let k = Key::action("big").unwrap();
    s.put(&k, &[7u8; 1001]).unwrap();
    assert!(matches!(
        s.get(&k),
        Err(StoreError::TooLarge { limit: 1000, .. })
    ));
    s.put(&k, &[7u8; 1000]).unwrap();
    assert_eq!(s.get(&k).unwrap().unwrap().len(), 1000);
    // A caller's smaller cap wins; a larger one is still capped at `max_entry_size`.
    let e = s.get_limited(&k, 999).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("GET {}/ac/big: larger than the limit of 999 bytes", cfg.url)
    );
    assert_eq!(s.get_limited(&k, 1000).unwrap().unwrap().len(), 1000);
    s.put(&k, &[7u8; 1001]).unwrap();
    assert!(matches!(
        s.get_limited(&k, 5000),
        Err(StoreError::TooLarge { limit: 1000, .. })
    ));
    assert_eq!(s.counters().snapshot().errors.too_large, 4);
}

/// A blob whose frame asks for a window over 16 MiB (made with zstd's long-distance mode) is
/// refused before decoding as an invalid frame, though its hash is right.
pub fn wide_window_frames_are_refused(b: &dyn Backend) {
    use zstd::zstd_safe::CParameter;
    let cfg = b.config("c");
    let s = Store::open(&cfg).unwrap();
    let data: Vec<u8> = (0..17u32 << 20).map(|i| (i % 251) as u8).collect();
    let d = Digest::of(&data);
    let mut c = zstd::bulk::Compressor::new(1).unwrap();
    c.set_parameter(CParameter::EnableLongDistanceMatching(true))
        .unwrap();
    c.set_parameter(CParameter::WindowLog(27)).unwrap();
    let frame = c.compress(&data).unwrap();
    let p = b.file(&format!("c/cas/{d}"));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, &frame).unwrap();
    let e = s.get_blob(&d, 64 << 20).unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("GET {}/cas/{d}: invalid zstd frame: ", cfg.url)),
        "{msg}"
    );
    assert!(
        msg.contains("window is over the limit of 2^24 bytes"),
        "{msg}"
    );
    // The same bytes as the store writes them come back.
    std::fs::remove_file(&p).unwrap();
    assert_eq!(s.put_blob(&data).unwrap(), d);
    assert_eq!(s.get_blob(&d, 64 << 20).unwrap().unwrap(), data);
}

/// A loopback listener whose accept queue is full (backlog 0, one connection queued, held in
/// the vector): a further connection gets no answer at all, like a black-holed address.
pub fn full_listener() -> (TcpListener, Vec<TcpStream>) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns, then handed to std.
    let l = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let mut a: libc::sockaddr_in = std::mem::zeroed();
        a.sin_family = libc::AF_INET as libc::sa_family_t;
        a.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&a as *const libc::sockaddr_in).cast(), len),
            0
        );
        assert_eq!(libc::listen(fd, 0), 0);
        TcpListener::from_raw_fd(fd)
    };
    let addr = l.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(c) => held.push(c),
            Err(_) => return (l, held),
        }
    }
    panic!("the accept queue of a listener with backlog 0 never filled");
}

/// A server that never completes a connection (a full accept queue at the port given to
/// `config_at`) is a connect failure after the connect timeout, tried once: not a timeout, and
/// not retried (a black-holed store costs one connect timeout, not three plus backoff).
pub fn unreachable_server_is_tried_once(config_at: &dyn Fn(u16) -> StoreConfig) {
    let (l, _held) = full_listener();
    let mut cfg = config_at(l.local_addr().unwrap().port());
    cfg.connect_timeout = Duration::from_millis(300);
    cfg.retries = 2;
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    let e = s.get_blob(&Digest::of(b"x"), 100).unwrap_err();
    let took = t.elapsed();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Connect { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!("GET {}/cas/", cfg.url))
            && msg.contains(": connection failed: no connection within 300ms"),
        "{msg}"
    );
    assert!(took >= Duration::from_millis(300), "{took:?}");
    // Tried once: no retry although two were allowed.
    let c = s.counters().snapshot();
    assert_eq!((c.errors.connect, c.retries), (1, 0));
}

/// A store whose server refuses connections (`cfg` points at a free port) fails at once, once,
/// with an error naming the URL; returns the message for the store's own checks.
pub fn server_down_fails_fast(cfg: &StoreConfig) -> String {
    let s = Store::open(cfg).unwrap();
    let t = Instant::now();
    let e = s.get_blob(&Digest::of(b"x"), 100).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("GET {}/cas/", cfg.url)), "{msg}");
    assert!(
        msg.contains("connection failed") && msg.contains("refused"),
        "{msg}"
    );
    let c = s.counters().snapshot();
    assert_eq!((c.errors.connect, c.retries), (1, 0));
    msg
}

/// A server that accepts and never answers (on the port given to `config_at`) is a timeout
/// after the configured 1 s for a small request (a `GET` capped at 4 KiB: 16 ms more), after
/// more for a `PUT` of 64 KiB at 128 KiB/s (1.5 s); a timeout is not retried and opens the
/// breaker; the first-byte timeout bounds a request whose whole limit is larger.
pub fn hanging_server_times_out(config_at: &dyn Fn(u16) -> StoreConfig) {
    let (port, _) = crate::servers::silent_server();
    let mut cfg = config_at(port);
    cfg.timeout = Duration::from_secs(1);
    // Far above the bounds below: a request given it instead of `timeout` fails them.
    cfg.first_byte_timeout = Duration::from_secs(30);
    cfg.retries = 0;
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    let e = s.get_limited(&Key::action("k").unwrap(), 4096).unwrap_err();
    let took = t.elapsed();
    assert!(matches!(e, StoreError::Timeout { .. }), "{e}");
    assert!(
        // (Upper bounds with room for a loaded machine: the server never answers.)
        took >= Duration::from_millis(1016) && took < Duration::from_millis(6000),
        "{took:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("GET {}/ac/k: timed out after 1.016s", cfg.url)
    );

    // A PUT is given time for its body at `min_rate`.
    cfg.min_rate = 128 << 10;
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    let e = s
        .put(&Key::action("k").unwrap(), &[1u8; 64 << 10])
        .unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        e.to_string(),
        format!("PUT {}/ac/k: timed out after 1.5s", cfg.url)
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_millis(6500),
        "{took:?}"
    );

    // A timeout is not retried (the store stalls: waiting again doubles the cost), and it
    // opens the store's breaker: the next request is not sent at all.
    cfg.retries = 1;
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    assert!(matches!(
        s.put_blob(b"x"),
        Err(StoreError::Timeout { op: "HEAD", .. })
    ));
    // (Not retried: the counters below say so.)
    assert!(
        t.elapsed() < Duration::from_millis(6000),
        "{:?}",
        t.elapsed()
    );
    let t = Instant::now();
    let e = s.get_blob(&Digest::of(b"x"), 100).unwrap_err();
    assert!(matches!(e, StoreError::Skipped { .. }), "{e}");
    // Sent, it would wait out the timeout (a second).
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    let c = s.counters().snapshot();
    assert_eq!(
        (c.retries, c.errors.timeout, c.errors.skipped, c.uploaded),
        (0, 1, 1, 0)
    );
    let trip = s.breaker().trip().unwrap();
    assert_eq!(trip.kind, fetch::store::TripKind::Unreachable);
    assert!(trip.reason.contains("timed out"), "{}", trip.reason);

    // The first byte is bounded on its own: a large request limit does not make a server
    // that never answers cost more than the first-byte timeout.
    cfg.timeout = Duration::from_secs(10);
    cfg.first_byte_timeout = Duration::from_millis(300);
    let s = Store::open(&cfg).unwrap();
    let t = Instant::now();
    let e = s.get_limited(&Key::action("k").unwrap(), 4096).unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        e.to_string(),
        format!("GET {}/ac/k: timed out after 332ms", cfg.url)
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

/// A blob download cut short goes on from its partial frame: with `ranges` (HTTP, S3) only the
/// rest crosses the wire, without (a directory) the whole frame again. A partial frame of wrong
/// bytes gives one whole download more, and the right blob; a complete one, the blob (with
/// nothing more or the whole frame sent).
pub fn resumes_a_cut_download(b: &dyn Backend, ranges: bool) {
    use fetch::store::Spool;
    use std::io::Write;
    let s = b.open("c");
    // Incompressible, so the frame is as large as the blob.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let data: Vec<u8> = (0..256 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let d = s.put_blob(&data).unwrap();
    let frame = std::fs::read(b.file(&format!("c/cas/{d}"))).unwrap();
    let half = frame.len() / 2;
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("partial.zst");
    let spool_of = |bytes: &[u8]| {
        std::fs::write(&partial, bytes).unwrap();
        let f = std::fs::File::options()
            .read(true)
            .append(true)
            .open(&partial)
            .unwrap();
        Spool::resume(f, frame.len() as u64 * 2)
    };
    let whole = frame.len() as u64;
    let rest = if ranges { whole - half as u64 } else { whole };

    let mut spool = spool_of(&frame[..half]);
    assert_eq!(
        s.get_blob_resuming(&d, 1 << 20, &mut spool)
            .unwrap()
            .unwrap(),
        data
    );
    assert_eq!(spool.received(), rest);
    assert_eq!(
        std::fs::read(&partial).unwrap(),
        frame,
        "mirrored as it arrived"
    );

    let wrong: Vec<u8> = frame[..half].iter().map(|b| b ^ 0xff).collect();
    let mut spool = spool_of(&wrong);
    assert_eq!(
        s.get_blob_resuming(&d, 1 << 20, &mut spool)
            .unwrap()
            .unwrap(),
        data
    );
    let again = if ranges { rest + whole } else { whole };
    assert_eq!(
        spool.received(),
        again,
        "the wrong start, then one whole download"
    );

    let mut spool = spool_of(&frame);
    assert_eq!(
        s.get_blob_resuming(&d, 1 << 20, &mut spool)
            .unwrap()
            .unwrap(),
        data
    );
    // Nothing more to send: nginx says 416 and the frame is used as it is; S3 servers refuse
    // the range and the whole frame comes again.
    assert!(
        [0, whole].contains(&spool.received()),
        "{}",
        spool.received()
    );

    // A plain download mirrors nothing and counts every byte.
    let mut spool = Spool::in_memory();
    spool.write_all(b"").unwrap();
    assert_eq!(
        s.get_blob_resuming(&d, 1 << 20, &mut spool)
            .unwrap()
            .unwrap(),
        data
    );
    assert_eq!(spool.received(), whole);
    assert_eq!(s.counters().snapshot().fetched, 4);
}
