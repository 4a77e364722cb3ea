//! The plan asks the working revision's build manifest with a `GET` waited for as a `HEAD`
//! (`fetch::store::Store::get_as_head`), against a real nginx (and, beside it, a server whose
//! body breaks and one that never answers): the manifest comes with the first request, a `404`
//! costs what a `HEAD` did, and a manifest that is there but cannot be had is the plan's
//! error, never an older build's or another store's.

use fetch::plan::PlanError;
use fetch::published::seal;
use fetch::signing::KeyPair;
use fetch::store::{Store, StoreConfig, StoreError};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

mod plan_support;
mod servers;

use plan_support::*;
use servers::nginx::Nginx;
use servers::scripted::{Answer, Scripted};

/// (method, path, status) of the requests nginx logged but the PUTs, once `done` holds.
fn asked(
    n: &Nginx,
    done: impl Fn(&[(u64, String, String, u16)]) -> bool,
) -> Vec<(String, String, u16)> {
    let reqs = n.requests_until(done);
    reqs.into_iter()
        .filter(|r| r.1 != "PUT")
        .map(|r| (r.1, r.2, r.3))
        .collect()
}

/// When CI built the working revision, its manifest comes with the search's first request: a
/// GET, no HEAD of it before (one round trip where a HEAD then a GET took two).
#[test]
fn the_working_revisions_manifest_comes_with_its_first_request() {
    let n = Nginx::start();
    let store = http_store(n.url("cache"));
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    publish(
        &store,
        &anc[0].revision,
        &seal(&k, &manifest(&[(5, 7), (1, 1)])),
    );
    publish(&store, &anc[1].revision, &seal(&k, &manifest(&[(1, 1)])));
    let p = find_in(&[store], &anc, &trusting(&k), 1).unwrap();
    assert_eq!(
        (p.store, p.distance, p.entries, p.debug_bytes),
        (0, 0, 2, 8)
    );
    assert_eq!(p.revision, anc[0].revision);
    let url = format!("{}/builds/{CONFIG}/{}", n.url("cache"), anc[0].revision);
    assert_eq!(p.url, url);
    assert!(p.probe_errors.is_empty());
    // After the PUTs, one request: the GET that brought it (nothing ranked after the hit).
    let working = manifest_path("cache", &anc[0].revision);
    let reqs = asked(&n, |r| r.iter().any(|r| r.1 == "GET"));
    assert_eq!(reqs, [("GET".to_string(), working, 200)]);
}

/// When CI built neither the working revision nor its parent, their GETs' 404s cost what the
/// HEADs did: one request each on the connection the later HEADs reuse (nginx's log), and the
/// nearest build is found as before.
#[test]
fn the_working_revisions_404_costs_what_a_head_did() {
    let n = Nginx::start();
    let store = http_store(n.url("cache"));
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    publish(&store, &anc[2].revision, &seal(&k, &manifest(&[(1, 1)])));
    let p = find_in(&[store], &anc, &trusting(&k), 1).unwrap();
    assert_eq!(p.distance, 2);
    let path = |i: usize| manifest_path("cache", &anc[i].revision);
    let reqs = n.requests_until(|r| r.iter().filter(|r| r.1 == "GET").count() == 2);
    let got: Vec<(&str, &str, u16)> = reqs
        .iter()
        .filter(|r| r.1 != "PUT")
        .map(|r| (r.1.as_str(), r.2.as_str(), r.3))
        .collect();
    assert_eq!(
        got,
        [
            ("GET", path(0).as_str(), 404),
            ("GET", path(1).as_str(), 404),
            ("HEAD", path(2).as_str(), 200),
            ("GET", path(2).as_str(), 200),
        ]
    );
    assert!(
        reqs.iter().all(|r| r.0 == reqs[0].0),
        "one connection: {reqs:?}"
    );
}

/// The working revision's manifest, there but rejected (tampered with, unsigned): the plan's
/// error, not the older build in the same store nor the same revision's in a second store;
/// nothing is asked of the second store but `HEAD`s, and of the first but the two `GET`s (the
/// parent's body dropped unread: `plan_parent_revision.rs` shows it).
#[test]
fn a_rejected_working_revision_manifest_is_the_plans_error_through_nginx() {
    let n = Nginx::start();
    let anc = fake_ancestors(4);
    let k = KeyPair::generate();
    let good = seal(&k, &manifest(&[(1, 1)]));
    let mut tampered = seal(&k, &manifest(&[(10, 20)]));
    *tampered.last_mut().unwrap() ^= 1;
    for (prefix, bad) in [("tampered", tampered), ("unsigned", manifest(&[(10, 20)]))] {
        let second = format!("{prefix}-second");
        let stores = [http_store(n.url(prefix)), http_store(n.url(&second))];
        publish(&stores[0], &anc[0].revision, &bad);
        publish(&stores[0], &anc[1].revision, &good);
        publish(&stores[1], &anc[0].revision, &good);
        let e = find(&stores, &anc, &trusting(&k)).unwrap_err();
        let url = format!("{}/builds/{CONFIG}/{}", n.url(prefix), anc[0].revision);
        assert!(
            matches!(&e, PlanError::Signature { url: u, .. } if *u == url),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("build manifest {url} rejected: ")),
            "{msg}"
        );
        assert!(msg.contains("no older build is tried instead"), "{msg}");
    }
    let working = |prefix| manifest_path(prefix, &anc[0].revision);
    let parent = |prefix| manifest_path(prefix, &anc[1].revision);
    let reqs = asked(&n, |r| {
        ["tampered", "unsigned"]
            .map(working)
            .iter()
            .all(|w| r.iter().any(|r| r.1 == "GET" && r.2 == *w))
    });
    for r in reqs.iter().filter(|r| r.0 == "GET") {
        let allowed = ["tampered", "unsigned"].map(|p| [working(p), parent(p)]);
        assert!(allowed.iter().flatten().any(|a| *a == r.1), "{reqs:?}");
    }
    assert!(
        !reqs.iter().any(|r| r.0 == "HEAD"
            && r.1.starts_with("/tampered/builds")
            && r.1.ends_with(&anc[0].revision)),
        "{reqs:?}"
    );
}

/// Writes `bytes` where nginx's `/slow` (200 KiB/s, no PUT) serves the manifest of `rev`.
fn publish_slow(n: &Nginx, rev: &str, bytes: &[u8]) {
    n.serve(&format!("slow/builds/{CONFIG}/{rev}"), bytes);
}

/// A large manifest of the working revision (nginx's `/slow`: its body takes seconds) stops
/// the search when its answer's head comes, not at its body's end: no more than the ranks
/// already in flight are asked meanwhile (7 here, and those a loaded machine lets through
/// while the answer passes three threads), far from the 199 HEADs the other workers would
/// send while it downloads.
#[test]
fn a_large_working_revision_manifest_stops_the_search_at_its_head() {
    let n = Nginx::start();
    let anc = fake_ancestors(200);
    let k = KeyPair::generate();
    let big = seal(&k, &manifest(&vec![(1, 1); 5_000]));
    assert!(big.len() > 500_000, "{} bytes", big.len());
    publish_slow(&n, &anc[0].revision, &big);
    let p = find_in(&[http_store(n.url("slow"))], &anc, &trusting(&k), 8).unwrap();
    assert_eq!((p.distance, p.entries), (0, 5_000));
    let reqs = asked(&n, |r| r.iter().any(|r| r.1 == "GET"));
    let heads = reqs.iter().filter(|r| r.0 == "HEAD").count();
    assert!(heads < 150, "{heads} HEADs while the manifest downloaded");
}

/// The working revision's manifest is there, and its body is too slow after the `200` (nginx
/// sends 2.6 MB at 200 KiB/s, the store wants 1 MiB/s after 0.5 s): the plan's error naming
/// its URL, not the older build in the same store nor the same revision's in a second store.
#[test]
fn a_working_revision_manifest_whose_body_stalls_is_the_plans_error() {
    let n = Nginx::start();
    let anc = fake_ancestors(4);
    let k = KeyPair::generate();
    let good = seal(&k, &manifest(&[(1, 1)]));
    let big = seal(&k, &manifest(&vec![(1, 1); 20_000]));
    assert!(big.len() > 1 << 20, "{} bytes", big.len());
    publish_slow(&n, &anc[0].revision, &big);
    publish_slow(&n, &anc[1].revision, &good);
    let mut c = StoreConfig::new(n.url("slow"));
    c.slow_rate = 1 << 20;
    let stores = [Store::open(&c).unwrap(), http_store(n.url("cache"))];
    publish(&stores[1], &anc[0].revision, &good);
    let e = find(&stores, &anc, &trusting(&k)).unwrap_err();
    let url = format!("{}/builds/{CONFIG}/{}", n.url("slow"), anc[0].revision);
    let PlanError::Fetch { url: u, reason } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*u, url);
    assert!(
        matches!(
            reason,
            StoreError::Timeout { op: "GET", .. } | StoreError::Slow { .. }
        ),
        "{reason:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("cannot download the build manifest: GET {url}: ")),
        "{msg}"
    );
    assert!(
        msg.ends_with("; run again, or build without fetching"),
        "{msg}"
    );
    // The working revision's GET is logged when the store gives up on its body; beside it, at
    // most the parent's (dropped unread), and nothing of the second store.
    let working = manifest_path("slow", &anc[0].revision);
    let reqs = asked(&n, |r| r.iter().any(|r| r.1 == "GET" && r.2 == working));
    let mut gets: Vec<(&str, u16)> = reqs
        .iter()
        .filter(|r| r.0 == "GET")
        .map(|r| (r.1.as_str(), r.2))
        .collect();
    let parent = manifest_path("slow", &anc[1].revision);
    gets.retain(|g| *g != (parent.as_str(), 200));
    assert_eq!(gets, [(working.as_str(), 200)]);
}

/// The working revision's manifest is there, and its body breaks after the `200` (a scripted
/// server that promises 100 000 bytes, sends 10 and closes; beside the nginx tests): the
/// plan's error naming its URL, not the same revision's build in a second store (nginx); and
/// the store counts as having answered (its head came, though the request failed).
#[test]
fn a_working_revision_manifest_cut_short_is_the_plans_error() {
    let anc = fake_ancestors(4);
    let cut = manifest_path("cache", &anc[0].revision);
    let port = Scripted::start(HashMap::from([(cut, Answer::CutShort)])).port;
    let n = Nginx::start();
    let k = KeyPair::generate();
    let stores = [
        http_store(format!("http://127.0.0.1:{port}/cache")),
        http_store(n.url("cache")),
    ];
    for a in &anc[..2] {
        publish(&stores[1], &a.revision, &seal(&k, &manifest(&[(1, 1)])));
    }
    let e = find(&stores, &anc, &trusting(&k)).unwrap_err();
    let PlanError::Fetch { url, reason } = &e else {
        panic!("{e:?}")
    };
    let want = format!(
        "http://127.0.0.1:{port}/cache/builds/{CONFIG}/{}",
        anc[0].revision
    );
    assert_eq!(*url, want);
    assert!(
        reason.to_string().starts_with(&format!("GET {want}: ")),
        "{reason}"
    );
    let msg = e.to_string();
    assert!(msg.contains(&want), "{msg}");
    assert!(
        msg.ends_with("; run again, or build without fetching"),
        "{msg}"
    );
    assert!(
        stores[0].breaker().answered(),
        "its head came: the store answered"
    );
    let reqs = asked(&n, |r| r.iter().any(|r| r.1 == "HEAD"));
    assert!(
        !reqs.iter().any(|r| r.0 == "GET"),
        "nothing taken from the second store: {reqs:?}"
    );
}

/// A store that accepts connections and never answers costs the working revision's GET a
/// HEAD's timeout (2 s), not its size cap's time at its rate (64 MiB at 1 MiB/s: over a
/// minute here; hours with a declared bandwidth shared by many requests): the search ends
/// after that one timeout, the store's other candidates not asked (its breaker opened), and a
/// second store's build is found meanwhile. (Bounds are loose: a loaded machine is slow.)
#[test]
fn a_silent_store_costs_the_working_revisions_get_a_heads_timeout() {
    let silent = |port: u16| {
        let mut c = StoreConfig::new(format!("http://127.0.0.1:{port}/cache"));
        c.min_rate = 1 << 20;
        assert!(c.get_timeout(c.max_entry_size) > Duration::from_secs(60));
        assert_eq!(c.head_timeout(), Duration::from_secs(2));
        Store::open(&c).unwrap()
    };
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    let (port, accepted) = servers::silent_server();
    let t = Instant::now();
    let e = find_in(&[silent(port)], &anc, &trusting(&k), 1).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    let PlanError::Unreachable { errors, .. } = &e else {
        panic!("{e:?}")
    };
    let url = format!(
        "http://127.0.0.1:{port}/cache/builds/{CONFIG}/{}",
        anc[0].revision
    );
    let [StoreError::Timeout {
        op: "GET",
        url: u,
        after,
    }] = &errors[..]
    else {
        panic!("{errors:?}")
    };
    assert_eq!((u, *after), (&url, Duration::from_secs(2)));
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "asked once");

    let n = Nginx::start();
    let (port, _) = servers::silent_server();
    let stores = [silent(port), http_store(n.url("cache"))];
    publish(
        &stores[1],
        &anc[0].revision,
        &seal(&k, &manifest(&[(1, 1)])),
    );
    let t = Instant::now();
    let p = find(&stores, &anc, &trusting(&k)).unwrap();
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!((p.store, p.distance), (1, 0));
    assert!(
        matches!(&p.probe_errors[..], [StoreError::Timeout { op: "GET", .. }]),
        "{:?}",
        p.probe_errors
    );
}
