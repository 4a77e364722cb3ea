//! What the plan's tests share (`plan.rs`, `plan_working_revision.rs`,
//! `plan_parent_revision.rs`): ancestors, manifests, stores, manifest paths and the search
//! itself.
#![allow(dead_code)]

use fetch::ancestry::Ancestor;
use fetch::build_manifest::{BuildManifest, EdgeRecord};
use fetch::cache::{Digest, Output, Role};
use fetch::plan::{self, Plan, PlanError, PlanRequest};
use fetch::signing::{KeyPair, Trust};
use fetch::store::{Key, Store, StoreConfig};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub const CONFIG: &str = "linux64-debug";

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cn-plan-")
        .tempdir()
        .unwrap()
}

/// A git repository in `dir` with `n` empty commits.
pub fn git_repo(dir: &Path, n: usize) {
    let git = crate::servers::require_tool("git", "git");
    let run = |args: &[&str]| {
        crate::servers::run_ok(
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
pub fn fake_ancestors(n: usize) -> Vec<Ancestor> {
    (0..n)
        .map(|d| Ancestor {
            revision: Digest::of(format!("rev {d}").as_bytes()).to_hex()[..40].to_string(),
            distance: d,
        })
        .collect()
}

/// A record with an object of `stripped` bytes and a `.dwo` of `debug` bytes.
pub fn record(i: u64, stripped: u64, debug: u64) -> EdgeRecord {
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
pub fn manifest(sizes: &[(u64, u64)]) -> Vec<u8> {
    let records = (0..).zip(sizes).map(|(i, &(s, d))| record(i, s, d));
    BuildManifest {
        records: records.collect(),
    }
    .to_bytes()
    .unwrap()
}

/// The path of the manifest of `rev` under the store prefix `prefix` (as servers see it).
pub fn manifest_path(prefix: &str, rev: &str) -> String {
    format!("/{prefix}/builds/{CONFIG}/{rev}")
}

pub fn file_store(dir: &Path) -> Store {
    Store::open(&StoreConfig::new(format!("file://{}", dir.display()))).unwrap()
}

pub fn http_store(url: String) -> Store {
    let mut c = StoreConfig::new(url);
    c.timeout = Duration::from_secs(5);
    c.backoff = Duration::from_millis(10);
    Store::open(&c).unwrap()
}

pub fn publish(store: &Store, rev: &str, bytes: &[u8]) {
    store.put(&Key::build(CONFIG, rev).unwrap(), bytes).unwrap();
}

pub fn trusting(k: &KeyPair) -> Trust {
    let mut t = Trust::new();
    t.add(k.public());
    t
}

pub fn find(stores: &[Store], ancestors: &[Ancestor], trust: &Trust) -> Result<Plan, PlanError> {
    find_in(stores, ancestors, trust, 4)
}

/// [`find`] with `parallelism` requests at a time.
pub fn find_in(
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
