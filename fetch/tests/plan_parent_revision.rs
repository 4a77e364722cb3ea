//! The plan asks the parent's build manifest (the next revision back in the first store) with a
//! `GET` too, beside the working revision's: against a real nginx, and beside it a server on
//! loopback whose answers are scripted per path (late, endless), the parent's manifest comes
//! with its first request when CI did not build the working revision, and its body is dropped
//! unread, its connection closed, when CI did.

use fetch::published::seal;
use fetch::signing::KeyPair;
use std::collections::HashMap;
use std::time::Duration;

mod plan_support;
mod servers;

use plan_support::*;
use servers::nginx::Nginx;
use servers::scripted::{Answer, Scripted};

/// CI built the parent, not the working revision (the usual case after `git pull`): the
/// parent's manifest comes with its first request, a `GET` sent beside the working revision's,
/// not a `HEAD` then a `GET`.
#[test]
fn the_parents_manifest_comes_with_its_first_request() {
    let n = Nginx::start();
    let store = http_store(n.url("cache"));
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    for a in &anc[1..3] {
        publish(&store, &a.revision, &seal(&k, &manifest(&[(5, 7)])));
    }
    let p = find(&[store], &anc, &trusting(&k)).unwrap();
    let revision = p.revision.as_str();
    assert_eq!((p.distance, revision), (1, anc[1].revision.as_str()));
    let [working, parent] = [0, 1].map(|i| manifest_path("cache", &anc[i].revision));
    let reqs = n.requests_until(|r| {
        [&working, &parent]
            .iter()
            .all(|w| r.iter().any(|r| r.1 == "GET" && r.2 == **w))
    });
    let of = |want: &str| -> Vec<(&str, u16)> {
        let got = reqs.iter().filter(|r| r.1 != "PUT" && r.2 == want);
        got.map(|r| (r.1.as_str(), r.3)).collect()
    };
    assert_eq!(of(&working), [("GET", 404)], "{reqs:?}");
    assert_eq!(of(&parent), [("GET", 200)], "{reqs:?}");
}

/// The events of `server` that concern the manifest of `rev` under `cache`.
fn events_of(server: &Scripted, rev: &str) -> Vec<String> {
    let path = manifest_path("cache", rev);
    let events = server.events();
    events.into_iter().filter(|e| e.ends_with(&path)).collect()
}

/// Whether `server` sent the head of the parent's answer before the working revision's.
fn parents_head_first(server: &Scripted, working: &str, parent: &str) -> bool {
    let events = server.events();
    let sent = |rev: &str| {
        let path = format!("sent {}", manifest_path("cache", rev));
        events.iter().position(|e| *e == path)
    };
    matches!((sent(parent), sent(working)), (Some(p), Some(w)) if p < w)
}

/// CI built both: the working revision's answer comes late (1 s), after the parent's head
/// said "there" (the server's events show it); the parent's body is not read (its connection
/// closed by the client, 64 KiB of 64 MiB sent: read, it would have ended in the store's
/// timeout, counted), the working revision's manifest is the plan, and the store counts one
/// manifest fetched, no error (the body dropped is no failure of the store).
#[test]
fn a_parents_body_is_dropped_unread_when_the_working_revision_has_a_manifest() {
    let anc = fake_ancestors(4);
    let k = KeyPair::generate();
    let working = seal(&k, &manifest(&[(5, 7), (1, 1)]));
    let late = Duration::from_secs(1);
    let server = Scripted::start(HashMap::from([
        (
            manifest_path("cache", &anc[0].revision),
            Answer::After(late, 200, working),
        ),
        (manifest_path("cache", &anc[1].revision), Answer::Endless),
    ]));
    let store = http_store(format!("http://127.0.0.1:{}/cache", server.port));
    let p = find(std::slice::from_ref(&store), &anc, &trusting(&k)).unwrap();
    assert_eq!((p.distance, p.entries), (0, 2));
    server
        .closed
        .recv_timeout(Duration::from_secs(60))
        .expect("the parent's connection closed");
    let (w, parent) = (&anc[0].revision, &anc[1].revision);
    assert!(
        parents_head_first(&server, w, parent),
        "{:?}",
        server.events()
    );
    let counts = store.counters().snapshot();
    assert_eq!(counts.fetched, 1, "{counts:?}");
    let e = counts.errors;
    assert_eq!(e.timeout + e.io + e.connect + e.status, 0, "{counts:?}");
}

/// CI built the parent only, and the working revision's answer comes late (1 s) after the
/// parent's head: the parent's body is read once it came, whether the working revision's
/// answer is a `404` or an error (`500`: kept in the plan's errors, which may have hidden a
/// nearer manifest): one `GET` of each, no `HEAD` of either, nothing asked twice.
#[test]
fn a_parents_body_is_read_once_the_working_revision_answers_without_one() {
    for status in [404, 500] {
        let anc = fake_ancestors(4);
        let k = KeyPair::generate();
        let parent = seal(&k, &manifest(&[(5, 7)]));
        let late = Duration::from_secs(1);
        let server = Scripted::start(HashMap::from([
            (
                manifest_path("cache", &anc[0].revision),
                Answer::After(late, status, vec![]),
            ),
            (
                manifest_path("cache", &anc[1].revision),
                Answer::After(Duration::ZERO, 200, parent),
            ),
        ]));
        let store = http_store(format!("http://127.0.0.1:{}/cache", server.port));
        let p = find(std::slice::from_ref(&store), &anc, &trusting(&k)).unwrap();
        assert_eq!((p.distance, p.entries), (1, 1), "{status}");
        let errors = &p.probe_errors;
        assert_eq!(errors.len(), usize::from(status == 500), "{errors:?}");
        assert_eq!(store.counters().snapshot().fetched, 1);
        let (w, parent) = (&anc[0].revision, &anc[1].revision);
        assert!(
            parents_head_first(&server, w, parent),
            "{:?}",
            server.events()
        );
        // (A 500 is retried as any failure: the working revision's GET, each time.)
        let working = events_of(&server, w);
        let asked: Vec<&String> = working.iter().filter(|e| !e.starts_with("sent ")).collect();
        assert!(asked.iter().all(|e| e.starts_with("GET ")), "{working:?}");
        assert!(status == 500 || asked.len() == 1, "{working:?}");
        let parent_path = manifest_path("cache", parent);
        assert_eq!(
            events_of(&server, parent),
            [format!("GET {parent_path}"), format!("sent {parent_path}")]
        );
    }
}

/// With two stores, CI built the working revision into the second and its parent into the
/// first: the second store's `HEAD` (rank 1, answered after 1 s) finds the working revision
/// while the first store's answer for it is a 404 after 1 s, and the first store's `GET` of
/// the parent (rank 2, answered at once) is dropped unread (its connection closed); the plan
/// is the second store's, and the first counts nothing fetched, no error.
#[test]
fn a_parents_body_is_dropped_unread_when_another_store_has_the_working_revision() {
    let anc = fake_ancestors(4);
    let k = KeyPair::generate();
    let late = Duration::from_secs(1);
    let working = seal(&k, &manifest(&[(5, 7), (1, 1)]));
    let first = Scripted::start(HashMap::from([
        (
            manifest_path("cache", &anc[0].revision),
            Answer::After(late, 404, vec![]),
        ),
        (manifest_path("cache", &anc[1].revision), Answer::Endless),
    ]));
    let second = Scripted::start(HashMap::from([(
        manifest_path("cache", &anc[0].revision),
        Answer::After(late, 200, working),
    )]));
    let stores =
        [first.port, second.port].map(|port| http_store(format!("http://127.0.0.1:{port}/cache")));
    let p = find(&stores, &anc, &trusting(&k)).unwrap();
    assert_eq!((p.store, p.distance, p.entries), (1, 0, 2));
    let parent = format!("GET {}", manifest_path("cache", &anc[1].revision));
    assert!(first.events().contains(&parent), "{:?}", first.events());
    first
        .closed
        .recv_timeout(Duration::from_secs(60))
        .expect("the parent's connection closed");
    let counts = stores[0].counters().snapshot();
    let e = &counts.errors;
    assert_eq!(counts.fetched, 0, "{counts:?}");
    assert_eq!(e.timeout + e.io + e.connect + e.status, 0, "{counts:?}");
}

/// A `file://` store's parent manifest, its head said "there" at once, waits for a silent
/// second store's answer for the working revision (its `HEAD` times out after 2 s, the file
/// store's own limit too): its body is read once that answer is in, with the file store's
/// whole limit from then, and is the plan.
#[test]
fn a_file_stores_parent_is_read_after_a_long_wait_for_a_nearer_rank() {
    let dir = tempdir();
    let anc = fake_ancestors(4);
    let k = KeyPair::generate();
    let files = file_store(dir.path());
    publish(&files, &anc[1].revision, &seal(&k, &manifest(&[(5, 7)])));
    let (port, _) = servers::silent_server();
    let silent = http_store(format!("http://127.0.0.1:{port}/cache"));
    let p = find(&[files, silent], &anc, &trusting(&k)).unwrap();
    assert_eq!((p.store, p.distance, p.entries), (0, 1, 1));
    assert_eq!(p.probe_errors.len(), 1, "{:?}", p.probe_errors);
}
