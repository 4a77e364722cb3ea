//! Publish from one local cache to a store, pull into a fresh one, and every bad input on the
//! way: tampered, unsigned and foreign-signed entries, hostile paths, wrong hashes, truncated
//! blobs, zstd bombs, missing objects, a server answering 500 and one that hangs. A bad record
//! is reported and skipped (that edge compiles locally); the local cache never holds a bad file.

mod check_attr;
mod servers;

use fetch::build_manifest::BuildManifest;
use fetch::cache::{ActionEntry, Digest, Kind, LocalCache, Output, Role};
use fetch::publish::{publish, PublishError, PublishTarget};
use fetch::published::{open, seal, MAX_ENTRY, MAX_MANIFEST};
use fetch::pull::{pull, PullError, PullOptions, PullReport};
use fetch::signing::{sign, KeyPair, Trust};
use fetch::store::{Key, Store, StoreConfig, StoreError};
use servers::nginx::Nginx;
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::{Duration, Instant};

/// A "CI" machine in `dir`: a cache (`dir/cache`) holding `n` compiled edges (object + .dwo +
/// a warning on stderr each) and the object root (`dir/obj`) holding their objects.
fn ci_cache(dir: &Path, n: usize) -> (LocalCache, Vec<Digest>) {
    let cache = LocalCache::new(dir.join("cache"));
    let mut log = Vec::new();
    for i in 0..n {
        let obj = format!("object {i} {}", "x".repeat(i * 100)).into_bytes();
        let dwo = format!("debug {i}").into_bytes();
        let header = format!("header {i}");
        let entry = ActionEntry {
            source_key: Digest::of(format!("source {i}").as_bytes()),
            outputs: vec![
                Output {
                    role: Role::Object,
                    path: format!("src/f{i}.o"),
                    digest: cache.put_blob(&obj).unwrap(),
                    size: obj.len() as u64,
                },
                Output {
                    role: Role::Dwo,
                    path: format!("src/f{i}.dwo"),
                    digest: cache.put_blob(&dwo).unwrap(),
                    size: dwo.len() as u64,
                },
            ],
            includes: vec![
                ("@src/include/h.h".into(), Digest::of(header.as_bytes())),
                ("/usr/include/stdio.h".into(), Digest::of(b"stdio")),
            ],
            stderr: Some((cache.put_blob(b"warning: x").unwrap(), 10)),
            cpu_us: 1_000 * i as u64,
            wall_us: 1_500 * i as u64,
            ..Default::default()
        };
        let key = Digest::of(format!("action {i}").as_bytes());
        cache.put_action(&key, &entry).unwrap();
        write(&dir.join("obj").join(&entry.outputs[0].path), &obj);
        log.push(key);
    }
    (cache, log)
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// What CI publishes under, from the object root of the CI machine in `ci`.
fn target(ci: &Path) -> PublishTarget<'_> {
    PublishTarget {
        config: "linux64-debug",
        revision: REV,
        jobs: 4,
        obj_root: ci,
        whole_object: |_| None,
    }
}

const REV: &str = "0123456789abcdef0123456789abcdef01234567";

fn file_store(dir: &Path) -> Store {
    Store::open(&StoreConfig::new(format!("file://{}", dir.display()))).unwrap()
}

/// Publishes `n` edges from a new CI cache to `store`; returns the key, log and manifest.
fn published(store: &Store, n: usize) -> (tempfile::TempDir, KeyPair, Vec<Digest>, BuildManifest) {
    let ci = tempfile::tempdir().unwrap();
    let (cache, log) = ci_cache(ci.path(), n);
    let key = KeyPair::generate();
    let obj = ci.path().join("obj");
    let report = publish(&cache, store, &key, &log, target(&obj), &|_, _| {}).unwrap();
    assert_eq!(report.records, n);
    assert_eq!(report.blobs, 3 * n);
    let mkey = Key::build("linux64-debug", REV).unwrap();
    let envelope = store.get(&mkey).unwrap().expect("manifest published");
    let trust = trust_of(&key);
    let manifest = BuildManifest::parse(&open(&envelope, &trust, MAX_MANIFEST).unwrap()).unwrap();
    (ci, key, log, manifest)
}

fn trust_of(k: &KeyPair) -> Trust {
    let mut t = Trust::new();
    t.add(k.public());
    t
}

fn pull_into(store: &Store, cache: &LocalCache, m: &BuildManifest) -> PullReport {
    fetch::pull::record_include_sets(cache, m, 4, &fetch::pull::KnownStamps::default()).unwrap();
    let opts = PullOptions {
        jobs: 4,
        cancel: &AtomicBool::new(false),
        wants: None,
        debug_parts: true,
        skip: None,
        order: None,
        hook: None,
    };
    pull(store, cache, m, opts, &|_| {})
}

fn one_job() -> PullOptions<'static> {
    static NEVER: AtomicBool = AtomicBool::new(false);
    PullOptions {
        jobs: 1,
        cancel: &NEVER,
        wants: None,
        debug_parts: true,
        skip: None,
        order: None,
        hook: None,
    }
}

/// Every file of the cache decodes and verifies; `tmp/` is empty.
fn assert_cache_sound(cache: &LocalCache, m: &BuildManifest) {
    for r in &m.records {
        if let Some(e) = cache.get_action(&r.action_key).unwrap() {
            for o in &e.outputs {
                cache.get_blob(&o.digest, o.size).unwrap();
            }
        }
        if let Some(man) = cache.get_manifest(&r.source_key).unwrap() {
            assert!(!man.sets.is_empty());
        }
    }
    let tmp = cache.root().join("tmp");
    if tmp.exists() {
        assert_eq!(
            std::fs::read_dir(tmp).unwrap().count(),
            0,
            "temporary files left"
        );
    }
}

/// The single failure of a report, by output.
fn failure<'a>(r: &'a PullReport, output: &str) -> &'a PullError {
    assert_eq!(r.failed.len(), 1, "{:?}", r.failed);
    assert_eq!(r.failed[0].output, output);
    &r.failed[0].error
}

#[test]
fn published_build_pulls_whole_into_a_fresh_cache() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    let (ci, key, log, manifest) = published(&store, 6);
    // The manifest is in build order, with the entries' data.
    let ci_cache = LocalCache::new(ci.path().join("cache"));
    for (rec, k) in manifest.records.iter().zip(&log) {
        let e = ci_cache.get_action(k).unwrap().unwrap();
        assert_eq!(rec.action_key, *k);
        assert_eq!(rec.source_key, e.source_key);
        assert_eq!(rec.output(), e.outputs[0].path);
        assert_eq!(rec.stripped_size(), e.outputs[0].size);
        assert_eq!(rec.debug_size(), e.outputs[1].size);
        assert_eq!(rec.outputs, e.outputs);
        assert_eq!(rec.includes.len(), 2);
    }
    let dev = tempfile::tempdir().unwrap();
    let cache = LocalCache::new(dev.path());
    let r = pull_into(&store, &cache, &manifest);
    assert_eq!(
        (r.fetched, r.present, r.failed.len()),
        (6, 0, 0),
        "{:?}",
        r.failed
    );
    for (rec, k) in manifest.records.iter().zip(&log) {
        assert_eq!(
            cache.get_action(k).unwrap(),
            ci_cache.get_action(k).unwrap()
        );
        // Direct mode finds the entry through the record's include set.
        let m = cache.get_manifest(&rec.source_key).unwrap().unwrap();
        assert_eq!(m.sets[0].action_key, *k);
        assert_eq!(m.sets[0].files[0].path, "@src/include/h.h");
    }
    assert_cache_sound(&cache, &manifest);
    // Again: nothing to download.
    let r = pull_into(&store, &cache, &manifest);
    assert_eq!((r.fetched, r.present, r.bytes), (0, 6, 0));
    // An evicted blob of an entry that is still here is fetched again.
    let e0 = cache.get_action(&log[0]).unwrap().unwrap();
    std::fs::remove_file(cache.path(Kind::Blob, &e0.outputs[0].digest)).unwrap();
    let r = pull_into(&store, &cache, &manifest);
    assert_eq!((r.fetched, r.present), (1, 5));
    assert_cache_sound(&cache, &manifest);
    // Publishing again uploads no blob twice.
    let before = store.counters().snapshot();
    let ci2 = LocalCache::new(ci.path().join("cache"));
    let obj = ci.path().join("obj");
    publish(&ci2, &store, &key, &log, target(&obj), &|_, _| {}).unwrap();
    let after = store.counters().snapshot();
    assert_eq!(after.already_present - before.already_present, 18);
    assert_eq!(
        after.uploaded - before.uploaded,
        7,
        "6 entries and the manifest"
    );
}

#[test]
fn publish_keeps_the_current_action_of_each_output() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    let ci = tempfile::tempdir().unwrap();
    let (cache, log) = ci_cache(ci.path(), 3);
    let obj = ci.path().join("obj");
    // An incremental build: src/f0.o was edited and rebuilt (a newer action, a new object on
    // disk); src/f1.o was rebuilt identically by another action; src/f2.o did not run again.
    let mut e0 = cache.get_action(&log[0]).unwrap().unwrap();
    let new_obj = b"object 0, edited".to_vec();
    e0.source_key = Digest::of(b"edited");
    e0.outputs[0].digest = cache.put_blob(&new_obj).unwrap();
    e0.outputs[0].size = new_obj.len() as u64;
    let edited = Digest::of(b"action edited");
    cache.put_action(&edited, &e0).unwrap();
    write(&obj.join("src/f0.o"), &new_obj);
    let mut e1 = cache.get_action(&log[1]).unwrap().unwrap();
    e1.cpu_us += 1;
    let again = Digest::of(b"action again");
    cache.put_action(&again, &e1).unwrap();
    // An action since evicted from the local cache.
    let evicted = Digest::of(b"evicted");
    let key = KeyPair::generate();
    let order = [log[0], log[1], log[2], evicted, edited, again];
    let r = publish(&cache, &store, &key, &order, target(&obj), &|_, _| {}).unwrap();
    assert_eq!(
        (r.records, r.stale),
        (3, 1),
        "superseded actions are not stale: {r:?}"
    );
    assert_eq!(r.actions, vec![log[2], edited, again]);
    let env = store
        .get(&Key::build("linux64-debug", REV).unwrap())
        .unwrap()
        .unwrap();
    let m = BuildManifest::parse(&open(&env, &trust_of(&key), MAX_MANIFEST).unwrap()).unwrap();
    let keys: Vec<Digest> = m.records.iter().map(|r| r.action_key).collect();
    assert_eq!(keys, r.actions);

    // The object of the last action was changed since (a build that failed half way, a hand
    // edit): not published; nothing current at all is an error, and no manifest.
    write(&obj.join("src/f2.o"), b"something else");
    let rev2 = "feedfeedfeedfeedfeedfeedfeedfeedfeedfeed";
    let t = PublishTarget {
        revision: rev2,
        ..target(&obj)
    };
    let err = publish(&cache, &store, &key, &[log[2], evicted], t, &|_, _| {}).unwrap_err();
    assert!(matches!(err, PublishError::Empty), "{err}");
    assert!(store
        .get(&Key::build("linux64-debug", rev2).unwrap())
        .unwrap()
        .is_none());
}

/// Replaces the object at `key` in a file store.
fn overwrite(remote: &Path, key: &Key, bytes: &[u8]) {
    std::fs::write(remote.join(key.as_str()), bytes).unwrap();
}

/// The store's key of the action entry `action`.
fn entry_key(action: &Digest) -> Key {
    Key::action(&action.to_hex()).unwrap()
}

#[test]
fn the_stores_action_entries_are_not_read_by_a_pull() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    let (_ci, key, _log, manifest) = published(&store, 4);
    let trust = trust_of(&key);
    let rec = &manifest.records[2];
    let akey = entry_key(&rec.action_key);
    let original = store.get(&akey).unwrap().unwrap();
    let payload = open(&original, &trust, MAX_ENTRY).unwrap();
    let entry = ActionEntry::decode(&payload).unwrap();
    let stranger = KeyPair::generate();

    let mut tampered = original.clone();
    let last = tampered.len() - 10;
    tampered[last] ^= 1;
    let mut hostile = entry.clone();
    hostile.outputs[1].path = "../../etc/passwd".into();
    let mut noisy = entry.clone();
    noisy.stderr = Some((Digest::of(b"huge"), 1 << 40));
    let mut overflowing = entry.clone();
    overflowing.outputs[0].size = u64::MAX / 2 + 1;
    overflowing.outputs[1].size = u64::MAX / 2 + 1;
    let mut other_source = entry.clone();
    other_source.source_key = Digest::of(b"other");

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("tampered", tampered, "does not match the payload"),
        (
            "foreign key",
            seal(&stranger, &payload),
            "not a trusted publisher",
        ),
        ("unsigned", payload.clone(), "data is unsigned"),
        (
            "signed but not compressed",
            sign(&key, &payload),
            "signed payload: invalid zstd frame",
        ),
        (
            "hostile path",
            seal(&key, hostile.encode().as_bytes()),
            "has a `..` component",
        ),
        (
            "absurd size",
            seal(&key, noisy.encode().as_bytes()),
            "captured compiler output over 64 MiB",
        ),
        (
            "sizes overflowing",
            seal(&key, overflowing.encode().as_bytes()),
            "an output is larger than 64 GiB",
        ),
        (
            "mismatch",
            seal(&key, other_source.encode().as_bytes()),
            "source key differs",
        ),
        (
            "garbage",
            seal(&key, b"cached-ninja action 1\nnonsense\n"),
            "not a valid action entry",
        ),
    ];
    // The pull makes each entry from its signed manifest record: whatever the store's
    // `ac/` object holds (bad in every way a pull used to check, or missing), it is not read,
    // and the entry inserted is the one CI stored.
    let ci = LocalCache::new(_ci.path().join("cache"));
    let want = ci.get_action(&rec.action_key).unwrap();
    assert!(want.is_some());
    let mut cases = cases;
    cases.push(("missing", Vec::new(), ""));
    for (what, bytes, _was_refused_for) in cases {
        if what == "missing" {
            std::fs::remove_file(remote.path().join(akey.as_str())).unwrap();
        } else {
            overwrite(remote.path(), &akey, &bytes);
        }
        let dev = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dev.path());
        let r = pull_into(&store, &cache, &manifest);
        assert_eq!(
            (r.fetched, r.failed.len()),
            (4, 0),
            "{what}: {:?}",
            r.failed
        );
        assert_eq!(cache.get_action(&rec.action_key).unwrap(), want, "{what}");
        assert_cache_sound(&cache, &manifest);
    }
}

#[test]
fn bad_blobs_are_rejected_and_nothing_bad_enters_the_cache() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    let (_ci, key, _log, manifest) = published(&store, 3);
    let trust = trust_of(&key);
    let rec = &manifest.records[1];
    let env = store.get(&entry_key(&rec.action_key)).unwrap().unwrap();
    let entry = ActionEntry::decode(&open(&env, &trust, MAX_ENTRY).unwrap()).unwrap();
    let obj = &entry.outputs[0];
    let bkey = Key::blob(&obj.digest);
    let good = std::fs::read(remote.path().join(bkey.as_str())).unwrap();
    let wrong = zstd::bulk::compress(&vec![b'y'; obj.size as usize], 3).unwrap();
    let bomb = zstd::bulk::compress(&vec![0u8; 256 << 20], 19).unwrap();
    assert!(bomb.len() < 64 << 10, "a bomb is small");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "invalid zstd frame",
        ),
        ("wrong hash", wrong, "hash mismatch"),
        ("bomb", bomb, "larger than the limit"),
        ("garbage", b"not zstd at all".to_vec(), "invalid zstd frame"),
    ];
    for (what, bytes, expect) in cases {
        overwrite(remote.path(), &bkey, &bytes);
        let dev = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dev.path());
        let r = pull_into(&store, &cache, &manifest);
        let err = failure(&r, rec.output()).to_string();
        assert!(err.contains(expect), "{what}: {err}");
        assert!(err.contains(&store.url(&bkey)), "{what}: {err}");
        assert!(!cache.path(Kind::Blob, &obj.digest).exists(), "{what}");
        assert!(
            cache.get_action(&rec.action_key).unwrap().is_none(),
            "{what}"
        );
        assert_cache_sound(&cache, &manifest);
    }
}

#[test]
fn server_errors_and_hangs_leave_the_build_to_compile_locally() {
    let nginx = Nginx::start();
    let mut cfg = StoreConfig::new(nginx.url("ci"));
    cfg.timeout = Duration::from_secs(2);
    cfg.backoff = Duration::from_millis(10);
    let store = Store::open(&cfg).unwrap();
    let (_ci, _key, _log, manifest) = published(&store, 5);
    let dev = tempfile::tempdir().unwrap();
    let cache = LocalCache::new(dev.path());
    // Through nginx: all of it.
    let r = pull_into(&store, &cache, &manifest);
    assert_eq!((r.fetched, r.failed.len()), (5, 0), "{:?}", r.failed);

    // 500 on every request (nginx's /fail location): the first record fails with the status
    // after its retries, which opens the store's breaker and stops the pull; records started
    // beside it are skipped, none is asked again.
    let mut cfg500 = cfg.clone();
    cfg500.url = nginx.url("fail");
    let s500 = Store::open(&cfg500).unwrap();
    let dev = tempfile::tempdir().unwrap();
    let cache = LocalCache::new(dev.path());
    let r = pull_into(&s500, &cache, &manifest);
    assert_eq!(r.fetched, 0);
    assert!(
        r.stopped.as_deref().unwrap().contains("500"),
        "{:?}",
        r.stopped
    );
    assert!(!r.failed.is_empty());
    for f in &r.failed {
        let msg = f.error.to_string();
        assert!(msg.contains("500"), "{msg}");
        assert!(matches!(
            f.error,
            PullError::Store(StoreError::Status { code: 500, .. } | StoreError::Skipped { .. })
        ));
    }
    // At most the 4 requests in flight when it tripped failed with the status.
    let c = s500.counters().snapshot();
    assert!(c.errors.status <= 4, "{c:?}");
    for rec in &manifest.records {
        assert!(cache.get_action(&rec.action_key).unwrap().is_none());
    }
    assert_cache_sound(&cache, &manifest);

    // A server that accepts and never answers: the pull stops after the first timeout (the
    // breaker opens) instead of waiting once per record.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut hang = cfg.clone();
    hang.url = format!("http://{}/ci", listener.local_addr().unwrap());
    hang.timeout = Duration::from_millis(500);
    hang.retries = 0;
    // No time for the bytes a request may move (`StoreConfig::min_rate`, tested with the
    // stores): each hung request then costs the base timeout alone.
    hang.min_rate = 0;
    let shang = Store::open(&hang).unwrap();
    let t0 = Instant::now();
    let r = pull(&shang, &cache, &manifest, one_job(), &|_| {});
    let took = t0.elapsed();
    let why = r.stopped.as_deref().expect("stopped early");
    assert!(why.contains("timed out"), "{why}");
    assert_eq!(
        r.failed.len(),
        1,
        "one record paid the timeout, the others were not tried"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(listener);

    // Nothing listening: stops at once with the connection error.
    let mut down = cfg;
    down.url = format!("http://127.0.0.1:{}/ci", servers::free_port());
    let sdown = Store::open(&down).unwrap();
    let r = pull(&sdown, &cache, &manifest, one_job(), &|_| {});
    assert!(
        r.stopped.as_deref().unwrap().contains("connection failed"),
        "{:?}",
        r.stopped
    );
    assert_eq!(r.failed.len(), 1);
}

#[test]
fn wanted_keys_are_pulled_first_and_unknown_ones_fail_at_once() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    let (_ci, _key, _log, manifest) = published(&store, 8);
    let dev = tempfile::tempdir().unwrap();
    let cache = LocalCache::new(dev.path().join("cache"));
    fetch::pull::record_include_sets(&cache, &manifest, 2, &fetch::pull::KnownStamps::default())
        .unwrap();
    // Launchers of the first three edges (the last the reverse sweep would reach) wait, and one
    // launcher wants a key this build does not have.
    let wants = dev.path().join("wants");
    std::fs::create_dir(&wants).unwrap();
    let first: Vec<Digest> = manifest.records[..3].iter().map(|r| r.action_key).collect();
    let stranger = Digest::of(b"not in this build");
    for k in first.iter().chain([&stranger]) {
        std::fs::write(wants.join(k.to_hex()), b"").unwrap();
    }
    let cancel = AtomicBool::new(false);
    let opts = PullOptions {
        jobs: 1,
        cancel: &cancel,
        wants: Some(&fetch::want::FileLink::in_dir(&wants)),
        debug_parts: true,
        skip: None,
        order: None,
        hook: None,
    };
    // Stop after three records: they must be the wanted ones.
    let r = pull(&store, &cache, &manifest, opts, &|p| {
        if p.done == 3 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    assert_eq!(r.fetched, 3, "{:?}", r.failed);
    for rec in &manifest.records {
        let here = cache.get_action(&rec.action_key).unwrap().is_some();
        assert_eq!(here, first.contains(&rec.action_key), "{}", rec.output());
    }
    assert!(wants.join(format!("{}.failed", stranger.to_hex())).exists());
}

/// However many workers it may run (`jobs`), a prefetch keeps no more records in flight than
/// its window (`LinkState::window`: 16 before the link is measured, about that after for a
/// link that its bandwidth bounds, as here): more would only share the link and arrive
/// together, out of the prefetch order. The store is nginx's files served by
/// [`CountingServer`], which answers one request at a time and counts how many it holds.
#[test]
fn a_prefetch_keeps_no_more_in_flight_than_its_window() {
    let most = most_at_once_pulling(60, Serve::OneAtATime, 64, |_| false);
    // 16 until the link is measured; the measure counts a record's time on this machine
    // too, so on a loaded one the window may double once (without it: 56 at once).
    let window = fetch::want::link_state::START_WINDOW;
    assert!(
        (2..=2 * window + 2).contains(&most),
        "{most} requests at once for 60 records, 64 workers, a window of {window}"
    );
}

/// A pull over a long link that is not full keeps as many requests in flight as its `jobs`
/// allow, beyond 64 (the window grows with what the link moves): [`CountingServer`] answers
/// each request after 100 ms, all at once.
#[test]
fn a_prefetch_over_a_long_link_keeps_more_than_64_in_flight() {
    let most = most_at_once_pulling(600, Serve::AllAtOnce, 200, |_| false);
    assert!(
        most > 64,
        "{most} requests at once for 600 records, 200 workers"
    );
}

/// The same long link when every fourth record's objects are in the cache already (an
/// object unchanged since the last pull, under a new action key): those records take no
/// request, so they say nothing of the link's latency (taken as theirs, about 0, the window
/// stayed at its start).
#[test]
fn a_prefetch_over_a_long_link_keeps_more_than_64_in_flight_with_some_objects_here() {
    let most = most_at_once_pulling(600, Serve::AllAtOnce, 200, |i| i % 4 == 0);
    assert!(
        most > 64,
        "{most} requests at once for 600 records, 150 of them with their objects here"
    );
}

/// Publishes `records` records to nginx and pulls them all into a cache holding the blobs of
/// the records `here` names (not their entries) with `jobs` workers (reverse build order, no
/// wants) through a [`CountingServer`] of nginx's files that holds each request as `serve`
/// says; the most requests it held at once.
fn most_at_once_pulling(
    records: usize,
    serve: Serve,
    jobs: usize,
    here: impl Fn(usize) -> bool,
) -> usize {
    let n = Nginx::start();
    let store = Store::open(&StoreConfig::new(n.url("cn"))).unwrap();
    let (_ci, _key, _log, manifest) = published(&store, records);
    let server = CountingServer::start(n.file(""), serve);
    let counted = Store::open(&StoreConfig::new(server.url("cn"))).unwrap();
    let dev = tempfile::tempdir().unwrap();
    let cache = LocalCache::new(dev.path().join("cache"));
    let ci = LocalCache::new(_ci.path().join("cache"));
    for rec in manifest
        .records
        .iter()
        .enumerate()
        .filter(|(i, _)| here(*i))
    {
        let blobs = rec.1.outputs.iter().map(|o| (o.digest, o.size));
        for (d, size) in blobs.chain(rec.1.stderr) {
            let bytes = ci.get_blob(&d, size).unwrap().into_vec();
            assert_eq!(cache.put_blob(&bytes).unwrap(), d);
        }
    }
    let cancel = AtomicBool::new(false);
    let opts = PullOptions {
        jobs,
        cancel: &cancel,
        wants: None,
        debug_parts: true,
        skip: None,
        order: None,
        hook: None,
    };
    let r = pull(&counted, &cache, &manifest, opts, &|_| {});
    assert_eq!(r.fetched, records, "{:?}", r.failed);
    server.most_at_once()
}

/// How a [`CountingServer`] holds the requests it gets.
#[derive(Clone, Copy)]
enum Serve {
    /// One at a time, each for 3 ms: a link that its bandwidth bounds (more requests at once
    /// move nothing faster).
    OneAtATime,
    /// Each for 100 ms, all at once: a long link with bandwidth to spare.
    AllAtOnce,
}

/// An HTTP/1.1 server (keep-alive) of the files below a directory that holds each request as
/// [`Serve`] says before it answers, and counts the requests it holds at once.
struct CountingServer {
    port: u16,
    /// Requests held now, and the most at once.
    held: std::sync::Arc<(AtomicUsize, AtomicUsize)>,
}

impl CountingServer {
    fn start(root: std::path::PathBuf, serve: Serve) -> CountingServer {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering::SeqCst;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let held: std::sync::Arc<(AtomicUsize, AtomicUsize)> = Default::default();
        let counts = std::sync::Arc::clone(&held);
        let link = std::sync::Arc::new(std::sync::Mutex::new(()));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (root, counts) = (root.clone(), std::sync::Arc::clone(&counts));
                let link = std::sync::Arc::clone(&link);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut out = conn;
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                        let path = line.split(' ').nth(1).unwrap_or("/").to_string();
                        let mut header = String::new();
                        while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                            header.clear();
                        }
                        let (now, most) = &*counts;
                        most.fetch_max(now.fetch_add(1, SeqCst) + 1, SeqCst);
                        match serve {
                            Serve::OneAtATime => {
                                let _link = link.lock().unwrap();
                                std::thread::sleep(Duration::from_millis(3));
                            }
                            Serve::AllAtOnce => std::thread::sleep(Duration::from_millis(100)),
                        }
                        now.fetch_sub(1, SeqCst);
                        let body = std::fs::read(root.join(path.trim_start_matches('/')));
                        let (status, body) = match body {
                            Ok(b) => ("200 OK", b),
                            Err(_) => ("404 Not Found", Vec::new()),
                        };
                        let head = format!(
                            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        if out.write_all(head.as_bytes()).is_err() || out.write_all(&body).is_err()
                        {
                            break;
                        }
                        line.clear();
                    }
                });
            }
        });
        CountingServer { port, held }
    }

    fn url(&self, prefix: &str) -> String {
        format!("http://127.0.0.1:{}/{prefix}", self.port)
    }

    /// The most requests it held at once.
    fn most_at_once(&self) -> usize {
        self.held.1.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A want that arrives while the prefetch runs (through nginx) is served next: no prefetch
/// record starts before it, although the prefetch order had many left.
#[test]
fn a_want_during_the_prefetch_is_served_before_any_further_prefetch() {
    let n = Nginx::start();
    let store = Store::open(&StoreConfig::new(n.url("cn"))).unwrap();
    let (_ci, _key, _log, manifest) = published(&store, 12);
    let before = n.requests(0).len();
    let dev = tempfile::tempdir().unwrap();
    let cache = LocalCache::new(dev.path().join("cache"));
    fetch::pull::record_include_sets(&cache, &manifest, 2, &fetch::pull::KnownStamps::default())
        .unwrap();
    let wants = dev.path().join("wants");
    std::fs::create_dir(&wants).unwrap();
    let link = fetch::want::FileLink::in_dir(&wants);
    // The prefetch goes in reverse build order; the launcher of the first edge (the last the
    // prefetch would reach) asks for it once two records are in.
    let wanted = manifest.records[0].action_key;
    let cancel = AtomicBool::new(false);
    let opts = PullOptions {
        jobs: 1,
        cancel: &cancel,
        wants: Some(&link),
        debug_parts: true,
        skip: None,
        order: None,
        hook: None,
    };
    let r = pull(&store, &cache, &manifest, opts, &|p| {
        if p.done == 2 {
            std::fs::write(wants.join(wanted.to_hex()), b"").unwrap();
        }
    });
    assert_eq!(r.fetched, 12, "{:?}", r.failed);
    // Which record each blob GET belongs to, in the order nginx answered them.
    let owner: std::collections::HashMap<String, usize> = manifest
        .records
        .iter()
        .enumerate()
        .flat_map(|(i, rec)| {
            let e = cache.get_action(&rec.action_key).unwrap().unwrap();
            let blobs: Vec<Digest> = e.outputs.iter().map(|o| o.digest).collect();
            blobs
                .into_iter()
                .map(move |d| (format!("/cn/cas/{}", d.to_hex()), i))
        })
        .collect();
    let mut served: Vec<usize> = Vec::new();
    for (_, method, uri, _) in &n.requests(before)[before..] {
        if let Some(&i) = owner.get(uri).filter(|_| method == "GET") {
            if served.last() != Some(&i) {
                served.push(i);
            }
        }
    }
    assert_eq!(
        served[..3],
        [11, 10, 0],
        "records in the order served: {served:?}"
    );
}

#[test]
fn publish_serves_evicted_objects_from_the_object_root() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    let ci = tempfile::tempdir().unwrap();
    let (cache, log) = ci_cache(ci.path(), 3);
    let obj = ci.path().join("obj");
    // Evicted since the build: the object of edge 0 (the file in the object root is the same),
    // and the .dwo of edge 1 (not in the object root either: that edge is left out).
    let e0 = cache.get_action(&log[0]).unwrap().unwrap();
    std::fs::remove_file(cache.path(Kind::Blob, &e0.outputs[0].digest)).unwrap();
    let e1 = cache.get_action(&log[1]).unwrap().unwrap();
    std::fs::remove_file(cache.path(Kind::Blob, &e1.outputs[1].digest)).unwrap();
    let key = KeyPair::generate();
    let r = publish(&cache, &store, &key, &log, target(&obj), &|_, _| {}).unwrap();
    assert_eq!((r.records, r.stale), (2, 1), "{r:?}");
    assert_eq!(r.actions, vec![log[0], log[2]]);
    assert!(store.head(&Key::blob(&e0.outputs[0].digest)).unwrap());
}

/// A local read trusts a blob's check value (`cache::check`) rather than hashing it: a blob
/// whose bytes and check value were both replaced reads fine, but publish hashes what it
/// uploads, finds that the bytes are not what the entry names, and uploads nothing for that
/// entry (the blob removed, the error naming it).
#[test]
fn publish_refuses_a_blob_whose_bytes_are_not_its_name() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    // In the target directory, whose file system keeps user attributes (ext4 here).
    let ci = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (cache, log) = ci_cache(ci.path(), 1);
    let e0 = cache.get_action(&log[0]).unwrap().unwrap();
    let (d, size) = (e0.outputs[0].digest, e0.outputs[0].size);
    let path = cache.path(Kind::Blob, &d);
    let other = vec![b'y'; size as usize];
    std::fs::write(&path, &other).unwrap();
    // The check value `cache::check` gives these bytes under this name (a failed set panics:
    // the target directory keeps user attributes).
    check_attr::Attr::of(&path).set(&check_attr::check_value(&other, &d));
    assert_eq!(&*cache.get_blob(&d, size).unwrap(), &other[..]);
    let key = KeyPair::generate();
    let obj = ci.path().join("obj");
    let e = publish(&cache, &store, &key, &log, target(&obj), &|_, _| {}).unwrap_err();
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert!(e.to_string().contains("does not match its hash"), "{e}");
    assert!(!path.exists());
    assert!(!store.head(&Key::blob(&d)).unwrap());
    // Checked before the upload: the wrong bytes are not in the store under their own name.
    assert!(!store.head(&Key::blob(&Digest::of(&other))).unwrap());
    assert!(!store.head(&entry_key(&log[0])).unwrap());
}

/// A local cache with no room for what the pull brings (here a read-only file system, after
/// the include sets went in) stops the pull at its first such failure, as a dead store does:
/// what cannot be stored is not downloaded for nothing.
#[test]
fn a_cache_with_no_room_stops_the_pull() {
    let remote = tempfile::tempdir().unwrap();
    let store = file_store(remote.path());
    let (_ci, _key, _log, manifest) = published(&store, 8);
    let dev = tempfile::tempdir().unwrap();
    let root = dev.path().join("cache");
    let cache = LocalCache::new(&root);
    let known = fetch::pull::KnownStamps::default();
    fetch::pull::record_include_sets(&cache, &manifest, 1, &known).unwrap();
    let mount = |args: &[&str]| {
        let out = std::process::Command::new("mount")
            .args(args)
            .output()
            .expect("mount (util-linux)");
        assert!(
            out.status.success(),
            "mount {args:?} needs root (CI runs as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let at = root.to_str().unwrap();
    mount(&["--bind", at, at]);
    mount(&["-o", "remount,bind,ro", at]);
    let r = pull(&store, &cache, &manifest, one_job(), &|_| {});
    let _ = std::process::Command::new("umount").arg(at).status();
    assert_eq!((r.fetched, r.failed.len()), (0, 1), "{:?}", r.failed);
    assert!(
        matches!(&r.failed[0].error, PullError::Local { source, .. } if source.raw_os_error() == Some(libc::EROFS)),
        "{:?}",
        r.failed[0].error
    );
    let stopped = r.stopped.expect("the pull stopped");
    assert!(stopped.contains("Read-only file system"), "{stopped}");
}
