//! Finding the nearest published build (`fetch::plan`) in `file://` stores and a real nginx,
//! for the ancestors of a real git repository.

use fetch::ancestry::{self, Ancestor};
use fetch::build_manifest::{BuildManifest, EdgeRecord};
use fetch::cache::{Digest, Output, Role};
use fetch::plan::{self, Plan, PlanError, PlanRequest};
use fetch::published::{seal, OpenError};
use fetch::signing::{sign, KeyPair, SignatureError, Trust};
use fetch::store::{Key, Store, StoreConfig, StoreError};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod servers;

use servers::free_port;
use servers::nginx::Nginx;

const CONFIG: &str = "linux64-debug";

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cn-plan-")
        .tempdir()
        .unwrap()
}

/// A git repository in `dir` with `n` empty commits.
fn git_repo(dir: &Path, n: usize) {
    let git = servers::require_tool("git", "git");
    let run = |args: &[&str]| {
        servers::run_ok(
            Command::new(&git)
                .current_dir(dir)
                .args(args)
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com"),
        );
    };
    run(&["init", "-q", "-b", "main"]);
    for i in 0..n {
        run(&["commit", "-q", "--allow-empty", "-m", &format!("c{i}")]);
    }
}

/// Made-up ancestors at distances 0, 1, … (for tests that need no repository).
fn fake_ancestors(n: usize) -> Vec<Ancestor> {
    (0..n)
        .map(|d| Ancestor {
            revision: Digest::of(format!("rev {d}").as_bytes()).to_hex()[..40].to_string(),
            distance: d,
        })
        .collect()
}

/// A record with an object of `stripped` bytes and a `.dwo` of `debug` bytes.
fn record(i: u64, stripped: u64, debug: u64) -> EdgeRecord {
    let out = |role, path: String, size| Output {
        digest: Digest::of(path.as_bytes()),
        role,
        path,
        size,
    };
    EdgeRecord {
        source_key: Digest::of(format!("src {i}").as_bytes()),
        action_key: Digest::of(format!("act {i}").as_bytes()),
        outputs: vec![
            out(Role::Object, format!("obj/f{i}.o"), stripped),
            out(Role::Dwo, format!("obj/f{i}.dwo"), debug),
        ],
        includes: vec![],
        stdout: None,
        stderr: None,
        cpu_us: 90_000,
        wall_us: 100_000,
    }
}

/// Manifest text with one record per `(stripped, debug)` size pair.
fn manifest(sizes: &[(u64, u64)]) -> Vec<u8> {
    let records = (0..).zip(sizes).map(|(i, &(s, d))| record(i, s, d));
    BuildManifest {
        records: records.collect(),
    }
    .to_bytes()
    .unwrap()
}

fn file_store(dir: &Path) -> Store {
    Store::open(&StoreConfig::new(format!("file://{}", dir.display()))).unwrap()
}

fn http_store(url: String) -> Store {
    let mut c = StoreConfig::new(url);
    c.timeout = Duration::from_secs(5);
    c.backoff = Duration::from_millis(10);
    Store::open(&c).unwrap()
}

fn publish(store: &Store, rev: &str, bytes: &[u8]) {
    store.put(&Key::build(CONFIG, rev).unwrap(), bytes).unwrap();
}

fn trusting(k: &KeyPair) -> Trust {
    let mut t = Trust::new();
    t.add(k.public());
    t
}

fn find(stores: &[Store], ancestors: &[Ancestor], trust: &Trust) -> Result<Plan, PlanError> {
    find_in(stores, ancestors, trust, 4)
}

/// [`find`] with `parallelism` requests at a time.
fn find_in(
    stores: &[Store],
    ancestors: &[Ancestor],
    trust: &Trust,
    parallelism: usize,
) -> Result<Plan, PlanError> {
    plan::find(&PlanRequest {
        stores,
        config: CONFIG,
        ancestors,
        trust,
        parallelism,
        whole_history: false,
    })
}

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
    // 2 PUTs, the working revision's GET (404: rank 0 is asked with a GET, not a HEAD), a
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
    assert!((20..=59).contains(&heads.len()), "{heads:?}");
    let working = format!("/cache/builds/{CONFIG}/{}", anc[0].revision);
    assert!(!heads.contains(&working.as_str()), "{heads:?}");
    let gets: Vec<(&str, u16)> = reqs
        .iter()
        .filter(|r| r.1 == "GET")
        .map(|r| (r.2.as_str(), r.3))
        .collect();
    assert_eq!(gets, [(working.as_str(), 404), (hit.as_str(), 200)]);
}

#[test]
fn a_store_that_is_down_is_a_clear_error() {
    let url = format!("http://127.0.0.1:{}/cache", free_port());
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    let e = find(&[http_store(url.clone())], &anc, &trusting(&k)).unwrap_err();
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

/// The path nginx logs for the manifest of `rev` under `prefix`.
fn logged(prefix: &str, rev: &str) -> String {
    format!("/{prefix}/builds/{CONFIG}/{rev}")
}

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
    let working = logged("cache", &anc[0].revision);
    let reqs = asked(&n, |r| r.iter().any(|r| r.1 == "GET"));
    assert_eq!(reqs, [("GET".to_string(), working, 200)]);
}

/// When CI did not build the working revision, its GET's 404 costs what the HEAD did: one
/// request on the connection the later HEADs reuse (nginx's log), and the nearest build is
/// found as before.
#[test]
fn the_working_revisions_404_costs_what_a_head_did() {
    let n = Nginx::start();
    let store = http_store(n.url("cache"));
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    publish(&store, &anc[2].revision, &seal(&k, &manifest(&[(1, 1)])));
    let p = find_in(&[store], &anc, &trusting(&k), 1).unwrap();
    assert_eq!(p.distance, 2);
    let path = |i: usize| logged("cache", &anc[i].revision);
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
            ("HEAD", path(1).as_str(), 404),
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
/// nothing else is downloaded.
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
    let working = |prefix| logged(prefix, &anc[0].revision);
    let reqs = asked(&n, |r| r.iter().filter(|r| r.1 == "GET").count() >= 2);
    let gets: Vec<&str> = reqs
        .iter()
        .filter(|r| r.0 == "GET")
        .map(|r| r.1.as_str())
        .collect();
    assert_eq!(gets, [working("tampered"), working("unsigned")], "{reqs:?}");
    assert!(
        !reqs.iter().any(|r| r.0 == "HEAD"
            && r.1.starts_with("/tampered/builds")
            && r.1.ends_with(&anc[0].revision)),
        "{reqs:?}"
    );
}

/// Writes `bytes` where nginx's `/slow` (200 KiB/s, no PUT) serves the manifest of `rev`.
fn publish_slow(n: &Nginx, rev: &str, bytes: &[u8]) {
    let path = n.file(&format!("slow/builds/{CONFIG}/{rev}"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// A large manifest of the working revision (nginx's `/slow`: its body takes seconds) stops
/// the search when its answer's head comes, not at its body's end: no more than the ranks
/// already in flight are asked meanwhile (7 here, and a few a loaded machine lets through),
/// far from the 199 HEADs the other workers would send while it downloads.
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
    assert!(heads < 40, "{heads} HEADs while the manifest downloaded");
}

/// The working revision's manifest is there, and its body stalls after the `200` (nginx sends
/// 2.6 MB at 200 KiB/s, the store gives a GET 1 s): the plan's error naming its URL, not the
/// older build in the same store nor the same revision's in a second store.
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
    c.timeout = Duration::from_secs(1);
    c.min_rate = 0;
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
    let reqs = asked(&n, |r| r.iter().any(|r| r.1 == "GET"));
    let gets: Vec<(&str, u16)> = reqs
        .iter()
        .filter(|r| r.0 == "GET")
        .map(|r| (r.1.as_str(), r.2))
        .collect();
    assert_eq!(gets, [(logged("slow", &anc[0].revision).as_str(), 200)]);
}

/// A server on loopback that answers every `HEAD` with `404`, and every `GET` with a `200`
/// head promising 100 000 bytes, then 10 bytes and the connection closed: a body broken
/// after its `200`. Returns its port.
fn cut_short_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || answer_cut_short(c));
        }
    });
    port
}

/// Answers the requests of one connection (see [`cut_short_server`]).
fn answer_cut_short(mut c: TcpStream) {
    let mut r = BufReader::new(c.try_clone().unwrap());
    loop {
        let mut request = String::new();
        if r.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut header = String::new();
        while header != "\r\n" {
            header.clear();
            if r.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
        }
        if request.starts_with("GET ") {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789";
            let _ = c.write_all(head.as_bytes());
            let _ = c.shutdown(Shutdown::Both);
            return;
        }
        let _ = c.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    }
}

/// The working revision's manifest is there, and its body breaks after the `200` (a server that
/// promises 100 000 bytes, sends 10 and closes; beside the nginx tests): the plan's error
/// naming its URL, not the same revision's build in a second store (nginx); and the store
/// counts as having answered (its head came, though the request failed).
#[test]
fn a_working_revision_manifest_cut_short_is_the_plans_error() {
    let port = cut_short_server();
    let n = Nginx::start();
    let anc = fake_ancestors(4);
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

/// A server on loopback that accepts connections and never answers; returns its port and how
/// many connections it accepted.
fn silent_server() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(c); // accepted, never answered
        }
    });
    (port, accepted)
}

/// A store that accepts connections and never answers costs the working revision's GET a
/// HEAD's timeout (2 s), not its size cap's time at the slowest rate (64 MiB at 1 KiB/s, as a
/// declared bandwidth shared by many requests gives: 18 hours): the search ends after that
/// one timeout, the store's other candidates not asked (its breaker opened), and a second
/// store's build is found meanwhile. (Bounds are loose: a loaded machine is slow.)
#[test]
fn a_silent_store_costs_the_working_revisions_get_a_heads_timeout() {
    let silent = |port: u16| {
        let mut c = StoreConfig::new(format!("http://127.0.0.1:{port}/cache"));
        c.min_rate = 1 << 10;
        assert!(c.get_timeout(c.max_entry_size) > Duration::from_secs(3600));
        assert_eq!(c.head_timeout(), Duration::from_secs(2));
        Store::open(&c).unwrap()
    };
    let anc = fake_ancestors(5);
    let k = KeyPair::generate();
    let (port, accepted) = silent_server();
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
    let (port, _) = silent_server();
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
