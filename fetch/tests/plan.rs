//! Finding the nearest published build (`fetch::plan`) in `file://` stores and a real nginx,
//! for the ancestors of a real git repository. (The working revision's `GET`:
//! `plan_working_revision.rs`.)

use fetch::ancestry;
use fetch::plan::{self, PlanError, PlanRequest};
use fetch::published::{seal, OpenError};
use fetch::signing::{sign, KeyPair, SignatureError, Trust};
use fetch::store::StoreError;

mod plan_support;
mod servers;

use plan_support::*;
use servers::free_port;
use servers::nginx::Nginx;

#[test]
fn picks_the_nearest_published_ancestor_of_head() {
    let t = tempdir();
    let repo = t.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_repo(&repo, 8);
    let anc = ancestry::ancestors(&repo, 8).unwrap();
    let store_dir = t.path().join("store");
    let store = file_store(&store_dir);
    let k = KeyPair::generate();
    let sizes = [(1_000_000, 4_000_000), (2_000_000, 8_000_000), (100_000, 5)];
    publish(&store, &anc[2].revision, &seal(&k, &manifest(&sizes)));
    publish(&store, &anc[5].revision, &seal(&k, &manifest(&[(1, 1)])));

    let p = find(&[store], &anc, &trusting(&k)).unwrap();
    assert_eq!((p.store, p.distance), (0, 2));
    assert_eq!(p.revision, anc[2].revision);
    assert_eq!(p.config, CONFIG);
    assert_eq!(p.entries, 3);
    assert_eq!(p.manifest.records.len(), 3);
    assert_eq!((p.stripped_bytes, p.debug_bytes), (3_100_000, 12_000_005));
    assert!(p.probe_errors.is_empty());
    let store_url = format!("file://{}", store_dir.display());
    assert_eq!(p.store_url, store_url);
    assert_eq!(
        p.url,
        format!("{store_url}/builds/{CONFIG}/{}", anc[2].revision)
    );
    assert_eq!(
        p.to_string(),
        format!(
            "ancestor {}… (2 commits back) on {store_url}: config {CONFIG}, 3 entries, \
             3.1 MB stripped / 12.0 MB debug",
            &anc[2].revision[..12]
        )
    );
}

#[test]
fn nothing_within_the_depth_is_an_error_naming_config_depth_and_stores() {
    let t = tempdir();
    let store = file_store(t.path());
    let anc = fake_ancestors(8);
    let k = KeyPair::generate();
    publish(&store, &anc[5].revision, &seal(&k, &manifest(&[(1, 1)])));
    let e = find(&[store], &anc[..4], &trusting(&k)).unwrap_err();
    assert!(
        matches!(
            e,
            PlanError::NotFound {
                searched: 4,
                farthest: 3,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "no build manifest for configuration `{CONFIG}` among the 4 nearest revisions (up to \
             3 commits back) in file://{}; CI may not have built them: search further back, or \
             build without fetching",
            t.path().display()
        )
    );
    // Found once the depth reaches it.
    let p = find(&[file_store(t.path())], &anc, &trusting(&k)).unwrap();
    assert_eq!(p.distance, 5);
}

/// The whole history searched and nothing published from it (CI's first build): no fault,
/// and the message sends nobody further back; an older manifest beyond a history cut short
/// by the depth is still `NotFound`.
#[test]
fn nothing_published_from_the_whole_history_is_its_own_answer() {
    let t = tempdir();
    let store = file_store(t.path());
    let anc = fake_ancestors(1);
    let k = KeyPair::generate();
    let e = plan::find(&PlanRequest {
        stores: &[store],
        config: CONFIG,
        ancestors: &anc,
        trust: &trusting(&k),
        parallelism: 4,
        whole_history: true,
    })
    .unwrap_err();
    assert!(
        matches!(e, PlanError::NothingPublished { searched: 1, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "nothing published for configuration `{CONFIG}` from this history yet: none of its \
             1 revisions has a build manifest in file://{}",
            t.path().display()
        )
    );
    let e = find(&[file_store(t.path())], &anc, &trusting(&k)).unwrap_err();
    assert!(matches!(e, PlanError::NotFound { .. }), "{e:?}");
}

/// The nearest manifest is bad and an older good one exists: the plan fails, naming the URL.
fn rejected(nearest: impl FnOnce(&KeyPair) -> Vec<u8>) -> (PlanError, String) {
    let t = tempdir();
    let store = file_store(t.path());
    let anc = fake_ancestors(6);
    let k = KeyPair::generate();
    publish(&store, &anc[1].revision, &nearest(&k));
    publish(&store, &anc[4].revision, &seal(&k, &manifest(&[(1, 1)])));
    let e = find(&[store], &anc, &trusting(&k)).unwrap_err();
    let msg = e.to_string();
    let url = format!(
        "file://{}/builds/{CONFIG}/{}",
        t.path().display(),
        anc[1].revision
    );
    assert!(msg.starts_with(&format!("build manifest {url} ")), "{msg}");
    assert!(msg.contains("no older build is tried instead"), "{msg}");
    (e, msg)
}

#[test]
fn a_tampered_manifest_is_rejected() {
    let (e, msg) = rejected(|k| {
        let mut env = seal(k, &manifest(&[(10, 20)]));
        *env.last_mut().unwrap() ^= 1;
        env
    });
    assert!(
        matches!(
            &e,
            PlanError::Signature {
                reason: OpenError::Signature(SignatureError::BadSignature(_)),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains("does not match the payload (tampered or corrupt data)"),
        "{msg}"
    );
}

#[test]
fn a_manifest_signed_by_an_untrusted_key_is_rejected() {
    let other = KeyPair::generate();
    let (e, msg) = rejected(|_| seal(&other, &manifest(&[(10, 20)])));
    assert!(
        matches!(
            &e,
            PlanError::Signature {
                reason: OpenError::Signature(SignatureError::UntrustedKey(_)),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        msg.contains(&format!(
            "signed by {}, which is not a trusted publisher",
            other.public()
        )),
        "{msg}"
    );
}

#[test]
fn an_unsigned_manifest_is_rejected() {
    let (e, msg) = rejected(|_| manifest(&[(10, 20)]));
    assert!(
        matches!(
            &e,
            PlanError::Signature {
                reason: OpenError::Signature(SignatureError::Unsigned),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains("data is unsigned"), "{msg}");
}

#[test]
fn a_signed_but_unparsable_manifest_is_rejected() {
    let (e, msg) = rejected(|k| seal(k, b"cached-ninja build 3\nend 3\n"));
    assert!(matches!(&e, PlanError::Manifest { .. }), "{e:?}");
    assert!(
        msg.contains("`end` says 3 records but 0 were read"),
        "{msg}"
    );
}

#[test]
fn a_manifest_of_another_format_version_is_rejected_naming_both_versions() {
    for (text, found) in [
        // Version 1: one output per edge.
        (
            format!("cached-ninja build 1\nedge {D} {D} 1 0 1 a.o\nend 1\n"),
            1,
        ),
        // Version 2: an `inc` line per include of each record, entries fetched one by one.
        (
            format!("cached-ninja build 2\nedge {D} {D} 1\nout 1 {D} 1 a.o\nend 1\n"),
            2,
        ),
        // A newer publisher than this client.
        ("cached-ninja build 4\nend 0\n".to_string(), 4),
    ] {
        let (e, msg) = rejected(|k| seal(k, text.as_bytes()));
        assert!(
            matches!(&e, PlanError::Version { found: f, supported: 3, .. } if *f == found),
            "{e:?}"
        );
        assert!(
            msg.contains(&format!(
                "has format version {found}, this cached-ninja reads version 3 only"
            )),
            "{msg}"
        );
        assert!(msg.contains("or build without fetching"), "{msg}");
    }
}

const D: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn an_empty_trust_set_is_refused() {
    let t = tempdir();
    let store = file_store(t.path());
    let anc = fake_ancestors(3);
    let k = KeyPair::generate();
    publish(&store, &anc[0].revision, &seal(&k, &manifest(&[(1, 1)])));
    let e = find(&[store], &anc, &Trust::new()).unwrap_err();
    assert!(matches!(e, PlanError::NoTrust), "{e:?}");
    assert_eq!(
        e.to_string(),
        "no trusted publisher keys; add `[trust] publishers = [\"ed25519:…\"]` to cached-ninja.toml"
    );
}

#[test]
fn stores_in_order_nearest_revision_first() {
    let (a, b) = (tempdir(), tempdir());
    let anc = fake_ancestors(6);
    let k = KeyPair::generate();
    let trust = trusting(&k);
    let stores = [file_store(a.path()), file_store(b.path())];
    // Only the second store has it.
    publish(
        &stores[1],
        &anc[1].revision,
        &seal(&k, &manifest(&[(1, 1)])),
    );
    let p = find(&stores, &anc, &trust).unwrap();
    assert_eq!((p.store, p.distance), (1, 1));
    assert_eq!(p.store_url, format!("file://{}", b.path().display()));
    // An older one in the first store does not beat a nearer one in the second.
    publish(
        &stores[0],
        &anc[3].revision,
        &seal(&k, &manifest(&[(1, 1)])),
    );
    assert_eq!(find(&stores, &anc, &trust).unwrap().store, 1);
    // On a tie the first store wins.
    publish(
        &stores[0],
        &anc[1].revision,
        &seal(&k, &manifest(&[(2, 2)])),
    );
    let p = find(&stores, &anc, &trust).unwrap();
    assert_eq!((p.store, p.distance, p.stripped_bytes), (0, 1, 2));
}

#[test]
fn through_nginx_stopping_after_the_hit() {
    let n = Nginx::start();
    let store = http_store(n.url("cache"));
    let anc = fake_ancestors(200);
    let k = KeyPair::generate();
    publish(&store, &anc[20].revision, &seal(&k, &manifest(&[(5, 7)])));
    publish(&store, &anc[30].revision, &seal(&k, &manifest(&[(1, 1)])));
    let p = plan::find(&PlanRequest {
        stores: &[store],
        config: CONFIG,
        ancestors: &anc,
        trust: &trusting(&k),
        parallelism: 8,
        whole_history: false,
    })
    .unwrap();
    assert_eq!((p.distance, p.entries, p.debug_bytes), (20, 1, 7));
    assert_eq!(p.store_url, n.url("cache"));
    assert!(p
        .to_string()
        .contains(&format!("(20 commits back) on {}:", n.url("cache"))));
    // 2 PUTs, the working revision's GET and its parent's (404: the two nearest are asked
    // with a GET, not a HEAD), a
    // HEAD for every other rank up to the hit, then a few more (7 in flight when the hit is
    // seen, plus those the other workers finished while the hit's own HEAD was in flight:
    // timing, so the bound is loose), far from all 200; the hit's GET.
    // The hit's GET comes last: once it is logged, every request is. (Waiting for a count of
    // lines instead returned at once when enough HEADs were logged before it: a flaky failure.)
    let hit = format!("/cache/builds/{CONFIG}/{}", anc[20].revision);
    let reqs = n.requests_until(|r| r.iter().any(|r| r.1 == "GET" && r.2 == hit));
    assert!(reqs.iter().any(|r| r.1 == "GET" && r.2 == hit), "{reqs:?}");
    let heads: Vec<&str> = reqs
        .iter()
        .filter(|r| r.1 == "HEAD")
        .map(|r| r.2.as_str())
        .collect();
    assert!((19..=58).contains(&heads.len()), "{heads:?}");
    let [working, parent] = [0, 1].map(|i| format!("/cache/builds/{CONFIG}/{}", anc[i].revision));
    assert!(!heads.contains(&working.as_str()), "{heads:?}");
    assert!(!heads.contains(&parent.as_str()), "{heads:?}");
    let mut gets: Vec<(&str, u16)> = reqs
        .iter()
        .filter(|r| r.1 == "GET")
        .map(|r| (r.2.as_str(), r.3))
        .collect();
    assert_eq!(gets.pop(), Some((hit.as_str(), 200)));
    gets.sort();
    let mut first = [(working.as_str(), 404), (parent.as_str(), 404)];
    first.sort();
    assert_eq!(gets, first);
}

#[test]
fn a_store_that_is_down_is_a_clear_error() {
    let url = format!("http://127.0.0.1:{}/cache", free_port());
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    // One request at a time: the working revision's GET is the first refused.
    let e = find_in(&[http_store(url.clone())], &anc, &trusting(&k), 1).unwrap_err();
    let PlanError::Unreachable { errors, .. } = &e else {
        panic!("{e:?}")
    };
    // One error for the store; it is not asked again after the connection failed.
    assert!(
        matches!(errors[..], [StoreError::Connect { .. }]),
        "{errors:?}"
    );
    let msg = e.to_string();
    // (Its first error is the working revision's: asked with a GET.)
    assert!(
        msg.starts_with(&format!(
            "no store answered a request for builds/{CONFIG}/…: GET {url}/builds/{CONFIG}/{}:",
            anc[0].revision
        )),
        "{msg}"
    );
    assert!(msg.contains("connection failed"), "{msg}");
    assert!(msg.ends_with("check that the stores in cached-ninja.toml are up and reachable, or build without fetching"), "{msg}");
}

#[test]
fn a_store_that_is_down_leaves_the_next_one_to_answer() {
    let n = Nginx::start();
    let down = format!("http://127.0.0.1:{}/cache", free_port());
    let stores = [http_store(down.clone()), http_store(n.url("cache"))];
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    publish(
        &stores[1],
        &anc[2].revision,
        &seal(&k, &manifest(&[(1, 1)])),
    );
    let p = find(&stores, &anc, &trusting(&k)).unwrap();
    assert_eq!((p.store, p.distance), (1, 2));
    // The failure that may have hidden a nearer manifest is reported, once.
    assert_eq!(p.probe_errors.len(), 1, "{:?}", p.probe_errors);
    assert!(
        p.probe_errors[0].to_string().contains(&down),
        "{:?}",
        p.probe_errors
    );
}

#[test]
fn a_signed_payload_that_is_not_zstd_is_rejected() {
    let (e, msg) = rejected(|k| sign(k, &manifest(&[(10, 20)])));
    assert!(
        matches!(
            &e,
            PlanError::Signature {
                reason: OpenError::Payload(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(msg.contains("signed payload: invalid zstd frame"), "{msg}");
}
