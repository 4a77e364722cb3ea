//! Edges with several outputs through a real `file://` store: a split-DWARF C compile (object,
//! `.dwo`, dep-info) and a Rust compile (rlib, rmeta, dep-info) are published from one cache
//! and pulled into a fresh one, byte for byte, each entry made from its record the one CI
//! stored; a record whose blob disagrees with the store is rejected naming the blob, and
//! nothing of that edge enters the cache. Objects first
//! (DESIGN §6): a build's pull leaves the `.dwo` blobs in the store and still inserts the
//! entries, and a publish from a cache without them finds them in the store.

use fetch::build_manifest::{BuildManifest, EdgeRecord};
use fetch::cache::{ActionEntry, Digest, Kind, LocalCache, Output, Role};
use fetch::publish::{publish, PublishTarget};
use fetch::published::{open, seal, MAX_MANIFEST};
use fetch::pull::{pull, record_include_sets, PullError, PullOptions, PullReport};
use fetch::signing::{KeyPair, Trust};
use fetch::store::{Key, Store, StoreConfig};
use std::path::Path;
use std::sync::atomic::AtomicBool;

const CONFIG: &str = "linux64-debug";
const REV: &str = "00112233445566778899aabbccddeeff00112233";

/// A compile edge as the CI machine has it: its outputs' roles, paths and bytes.
struct Edge {
    action: Digest,
    outputs: Vec<(Role, String, Vec<u8>)>,
}

fn edges() -> Vec<Edge> {
    let c = |i: usize| Edge {
        action: Digest::of(format!("c action {i}").as_bytes()),
        outputs: vec![
            (Role::Object, format!("src/c{i}.o"), obj_bytes(i, "object")),
            (Role::Dwo, format!("src/c{i}.dwo"), obj_bytes(i, "dwarf")),
            (Role::DepInfo, format!("src/c{i}.o.d"), obj_bytes(i, "deps")),
        ],
    };
    let rust = Edge {
        action: Digest::of(b"rust action"),
        outputs: vec![
            (Role::Rlib, "deps/libx.rlib".into(), obj_bytes(9, "rlib")),
            (Role::Rmeta, "deps/libx.rmeta".into(), obj_bytes(9, "rmeta")),
            (Role::DepInfo, "deps/x.d".into(), obj_bytes(9, "x.d")),
        ],
    };
    vec![c(0), c(1), rust]
}

/// Distinct bytes per edge and role, some of them large enough to span zstd blocks.
fn obj_bytes(i: usize, what: &str) -> Vec<u8> {
    let mut v = format!("{what} of edge {i}\n").into_bytes();
    v.extend((0..(i + 1) * 70_000).map(|n| (n * 31 + i * 7) as u8));
    v
}

/// The CI side: a cache at `dir/cache` holding the edges' blobs and entries, and the object
/// root `dir/obj` holding every output file; returns the cache and the action log.
fn ci(dir: &Path, edges: &[Edge]) -> (LocalCache, Vec<Digest>) {
    let cache = LocalCache::new(dir.join("cache"));
    for (i, e) in edges.iter().enumerate() {
        let mut outputs = Vec::new();
        for (role, path, bytes) in &e.outputs {
            let file = dir.join("obj").join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, bytes).unwrap();
            outputs.push(Output {
                role: *role,
                path: path.clone(),
                digest: cache.put_blob(bytes).unwrap(),
                size: bytes.len() as u64,
            });
        }
        let entry = ActionEntry {
            source_key: Digest::of(format!("source {i}").as_bytes()),
            outputs,
            includes: vec![("@src/h.h".into(), Digest::of(b"h"))],
            wall_us: 2_500,
            ..ActionEntry::default()
        };
        cache.put_action(&e.action, &entry).unwrap();
    }
    (cache, edges.iter().map(|e| e.action).collect())
}

fn file_store(dir: &Path) -> Store {
    Store::open(&StoreConfig::new(format!("file://{}", dir.display()))).unwrap()
}

fn trust_of(k: &KeyPair) -> Trust {
    let mut t = Trust::new();
    t.add(k.public());
    t
}

/// Publishes `edges` from a CI machine in `ci_dir` to `store`; returns the key and the
/// manifest as a client reads it back (signature checked, parsed).
fn publish_edges(store: &Store, ci_dir: &Path, edges: &[Edge]) -> (KeyPair, BuildManifest) {
    let (cache, log) = ci(ci_dir, edges);
    let key = KeyPair::generate();
    let target = PublishTarget {
        config: CONFIG,
        revision: REV,
        jobs: 3,
        obj_root: &ci_dir.join("obj"),
        whole_object: |_| None,
    };
    let report = publish(&cache, store, &key, &log, target, &|_, _| {}).unwrap();
    assert_eq!(report.records, edges.len(), "{report:?}");
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.blobs, 3 * edges.len());
    let env = store
        .get(&Key::build(CONFIG, REV).unwrap())
        .unwrap()
        .unwrap();
    let text = open(&env, &trust_of(&key), MAX_MANIFEST).unwrap();
    (key, BuildManifest::parse(&text).unwrap())
}

fn pull_all(store: &Store, cache: &LocalCache, m: &BuildManifest) -> PullReport {
    pull_with(store, cache, m, true)
}

fn pull_with(
    store: &Store,
    cache: &LocalCache,
    m: &BuildManifest,
    debug_parts: bool,
) -> PullReport {
    record_include_sets(cache, m, 2, &fetch::pull::KnownStamps::default()).unwrap();
    let cancel = AtomicBool::new(false);
    let opts = PullOptions {
        jobs: 2,
        cancel: &cancel,
        wants: None,
        debug_parts,
        skip: None,
        order: None,
        hook: None,
    };
    pull(store, cache, m, opts, &|_| {})
}

/// Sizes of the outputs of `edges` whose role is (`true`) or is not (`false`) debug info.
fn sizes(edges: &[Edge], debug: bool) -> u64 {
    let outs = edges.iter().flat_map(|e| &e.outputs);
    outs.filter(|o| o.0.is_debug() == debug)
        .map(|o| o.2.len() as u64)
        .sum()
}

#[test]
fn every_output_of_every_edge_arrives_byte_identical() {
    let t = tempfile::tempdir().unwrap();
    let store = file_store(&t.path().join("store"));
    let edges = edges();
    let (_, manifest) = publish_edges(&store, &t.path().join("ci"), &edges);
    let ci_cache = LocalCache::new(t.path().join("ci/cache"));

    // Each record lists the three outputs of its entry, in order, with digest and size.
    for (rec, edge) in manifest.records.iter().zip(&edges) {
        let entry = ci_cache.get_action(&edge.action).unwrap().unwrap();
        assert_eq!(rec.action_key, edge.action);
        assert_eq!(rec.outputs, entry.outputs);
        let roles: Vec<Role> = rec.outputs.iter().map(|o| o.role).collect();
        let want: Vec<Role> = edge.outputs.iter().map(|o| o.0).collect();
        assert_eq!(roles, want);
        assert_eq!((rec.wall_us, rec.compile_ms()), (2_500, 3));
    }
    let c0 = &manifest.records[0];
    assert_eq!(c0.output(), "src/c0.o");
    assert_eq!(c0.stripped_size(), edges[0].outputs[0].2.len() as u64);
    assert_eq!(c0.debug_size(), edges[0].outputs[1].2.len() as u64);
    let rust = &manifest.records[2];
    assert_eq!(
        (rust.output(), rust.stripped_size(), rust.debug_size()),
        ("deps/libx.rlib", 0, 0)
    );

    // A second cache on a developer's machine, empty.
    let dev = tempfile::tempdir().unwrap();
    let cache = LocalCache::new(dev.path().join("cache"));
    let r = pull_all(&store, &cache, &manifest);
    assert_eq!(
        (r.fetched, r.present, r.failed.len()),
        (3, 0, 0),
        "{:?}",
        r.failed
    );
    let total: usize = edges
        .iter()
        .flat_map(|e| &e.outputs)
        .map(|o| o.2.len())
        .sum();
    assert_eq!(r.bytes, total as u64, "every blob came over the wire");
    for edge in &edges {
        let entry = cache
            .get_action(&edge.action)
            .unwrap()
            .expect("entry pulled");
        assert_eq!(
            Some(&entry),
            ci_cache.get_action(&edge.action).unwrap().as_ref()
        );
        assert_eq!(entry.outputs.len(), 3);
        for (o, (role, path, bytes)) in entry.outputs.iter().zip(&edge.outputs) {
            assert_eq!((o.role, &o.path), (*role, path));
            let blob = std::fs::read(cache.path(Kind::Blob, &o.digest)).unwrap();
            assert!(blob == *bytes, "{path}: the pulled blob is the CI file");
            assert_eq!(&*cache.get_blob(&o.digest, o.size).unwrap(), &bytes[..]);
        }
    }
    let tmp = cache.root().join("tmp");
    assert!(!tmp.exists() || std::fs::read_dir(tmp).unwrap().next().is_none());
}

/// Published edges, and a way to pull a changed copy of their manifest into a fresh cache.
struct Published {
    _dir: tempfile::TempDir,
    store: Store,
    key: KeyPair,
    manifest: BuildManifest,
}

impl Published {
    fn new() -> Published {
        let dir = tempfile::tempdir().unwrap();
        let store = file_store(&dir.path().join("store"));
        let (key, manifest) = publish_edges(&store, &dir.path().join("ci"), &edges());
        Published {
            _dir: dir,
            store,
            key,
            manifest,
        }
    }

    /// Signs `m` as the publisher, reads it back as a client does, and pulls it.
    fn pull(&self, m: &BuildManifest) -> (tempfile::TempDir, LocalCache, PullReport) {
        let trust = trust_of(&self.key);
        let env = seal(&self.key, &m.to_bytes().unwrap());
        let read = BuildManifest::parse(&open(&env, &trust, MAX_MANIFEST).unwrap()).unwrap();
        let dev = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dev.path().join("cache"));
        let r = pull_all(&self.store, &cache, &read);
        (dev, cache, r)
    }
}

#[test]
fn a_record_whose_blob_disagrees_with_the_store_is_rejected_naming_the_blob() {
    let p = Published::new();
    let rec = &p.manifest.records[1];
    let dwo = rec.outputs[1].clone();
    assert_eq!(dwo.path, "src/c1.dwo");
    let other = Digest::of(b"another dwo");
    let blob_url = |d: &Digest| p.store.url(&Key::blob(d));
    type Change = Box<dyn Fn(&mut EdgeRecord)>;
    let cases: Vec<(&str, Change, String)> = vec![
        (
            "digest",
            Box::new(move |r| r.outputs[1].digest = other),
            format!("{}: not in the store", blob_url(&other)),
        ),
        (
            "size",
            Box::new(|r| r.outputs[1].size += 1),
            format!(
                "{}: does not match the build manifest: {} bytes, the record says {}",
                blob_url(&dwo.digest),
                dwo.size,
                dwo.size + 1
            ),
        ),
    ];
    for (what, change, expect) in cases {
        let mut m = p.manifest.clone();
        change(&mut m.records[1]);
        let (_dev, cache, r) = p.pull(&m);
        assert_eq!(r.fetched, 2, "{what}: the other edges arrive");
        assert_eq!(r.failed.len(), 1, "{what}: {:?}", r.failed);
        let f = &r.failed[0];
        assert_eq!(f.output, "src/c1.o", "{what}");
        assert_eq!(f.error.to_string(), expect, "{what}");
        // Nothing of that edge entered the cache: no entry, no blob.
        assert!(
            cache.get_action(&rec.action_key).unwrap().is_none(),
            "{what}"
        );
        for o in &rec.outputs {
            assert!(
                !cache.path(Kind::Blob, &o.digest).exists(),
                "{what}: {}",
                o.path
            );
        }
    }
    // Unchanged, the same manifest pulls whole.
    let (_dev, _cache, r) = p.pull(&p.manifest);
    assert_eq!((r.fetched, r.failed.len()), (3, 0), "{:?}", r.failed);
}

#[test]
fn a_blob_changed_in_the_store_is_rejected_and_nothing_of_its_edge_enters() {
    let p = Published::new();
    let rec = &p.manifest.records[0];
    // The dep-info's blob now holds other bytes (a valid zstd frame, the wrong content).
    let deps = &rec.outputs[2];
    let file = p
        ._dir
        .path()
        .join("store")
        .join(Key::blob(&deps.digest).as_str());
    let other = zstd::encode_all(&b"other deps"[..], 3).unwrap();
    std::fs::write(&file, other).unwrap();
    let (_dev, cache, r) = p.pull(&p.manifest);
    assert_eq!(r.failed.len(), 1, "{:?}", r.failed);
    assert!(
        matches!(r.failed[0].error, PullError::Store(_)),
        "{:?}",
        r.failed[0].error
    );
    let msg = r.failed[0].error.to_string();
    assert!(
        msg.contains(&p.store.url(&Key::blob(&deps.digest))),
        "{msg}"
    );
    assert!(cache.get_action(&rec.action_key).unwrap().is_none());
    assert!(!cache.path(Kind::Blob, &rec.outputs[0].digest).exists());
}

#[test]
fn a_pull_reads_no_action_entry_from_the_store() {
    let p = Published::new();
    // The signed entries are still published (ARCHITECTURE "Formats"), but a pull makes each
    // entry from its verified record: with every `ac/` object gone it pulls whole, and each
    // entry is the one CI stored.
    let ac = p._dir.path().join("store/ac");
    assert!(std::fs::read_dir(&ac).unwrap().count() > 0);
    std::fs::remove_dir_all(&ac).unwrap();
    let (_dev, cache, r) = p.pull(&p.manifest);
    assert_eq!((r.fetched, r.failed.len()), (3, 0), "{:?}", r.failed);
    let ci = LocalCache::new(p._dir.path().join("ci/cache"));
    for rec in &p.manifest.records {
        let ours = cache.get_action(&rec.action_key).unwrap();
        assert_eq!(ours, ci.get_action(&rec.action_key).unwrap());
        assert!(ours.is_some());
    }
}

#[test]
fn a_pull_without_debug_parts_inserts_entries_and_leaves_the_dwo_in_the_store() {
    let t = tempfile::tempdir().unwrap();
    let store = file_store(&t.path().join("store"));
    let edges = edges();
    let (_, manifest) = publish_edges(&store, &t.path().join("ci"), &edges);
    let cache = LocalCache::new(t.path().join("dev/cache"));
    let r = pull_with(&store, &cache, &manifest, false);
    assert_eq!((r.fetched, r.failed.len()), (3, 0), "{:?}", r.failed);
    assert_eq!(r.bytes, sizes(&edges, false), "only what the linker needs");
    assert_eq!(r.debug_left, sizes(&edges, true));
    for edge in &edges {
        let entry = cache.get_action(&edge.action).unwrap().expect("entry");
        for o in &entry.outputs {
            let here = cache.path(Kind::Blob, &o.digest).exists();
            assert_eq!(here, !o.role.is_debug(), "{}", o.path);
        }
    }
    // Pulled again, nothing is missing: the absent debug parts are not a reason to download.
    let again = pull_with(&store, &cache, &manifest, false);
    assert_eq!((again.fetched, again.present, again.bytes), (0, 3, 0));
    // With debug parts, the `.dwo` blobs arrive (and only they).
    let full = pull_with(&store, &cache, &manifest, true);
    assert_eq!((full.fetched, full.bytes), (2, sizes(&edges, true)));
}

#[test]
fn a_publish_whose_debug_parts_are_only_in_the_store_succeeds() {
    let t = tempfile::tempdir().unwrap();
    let store = file_store(&t.path().join("store"));
    let edges = edges();
    let ci_dir = t.path().join("ci");
    let (key, _) = publish_edges(&store, &ci_dir, &edges);
    // As after objects-only hits: no `.dwo` in the cache nor in the object root.
    let cache = LocalCache::new(ci_dir.join("cache"));
    for (role, path, bytes) in edges.iter().flat_map(|e| &e.outputs) {
        if role.is_debug() {
            std::fs::remove_file(cache.path(Kind::Blob, &Digest::of(bytes))).unwrap();
            std::fs::remove_file(ci_dir.join("obj").join(path)).unwrap();
        }
    }
    let log: Vec<Digest> = edges.iter().map(|e| e.action).collect();
    let obj_root = ci_dir.join("obj");
    let target = |revision| PublishTarget {
        config: CONFIG,
        revision,
        jobs: 2,
        obj_root: &obj_root,
        whole_object: |_| None,
    };
    let r = publish(&cache, &store, &key, &log, target("r2"), &|_, _| {}).unwrap();
    assert_eq!((r.records, r.stale, r.debug_in_store), (3, 0, 2), "{r:?}");
    // A store that lacks them: those entries cannot be published whole, they are stale.
    let empty = file_store(&t.path().join("empty"));
    let r = publish(&cache, &empty, &key, &log, target("r3"), &|_, _| {}).unwrap();
    assert_eq!((r.records, r.stale, r.debug_in_store), (1, 2, 0), "{r:?}");
}
