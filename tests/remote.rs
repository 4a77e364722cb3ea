//! End-to-end tests of remote stores (issue 6): CI builds and publishes (`build --publish`), a
//! developer's fresh object directory at another path finds the nearest ancestor build
//! (`fetch --plan`), pulls it (`fetch`) and builds with hits only; over a real nginx (WebDAV),
//! a real S3 server (s3s-fs) and a `file://` store. Then every bad input through the CLI: a
//! tampered entry, a foreign key, no trust, a hostile manifest, a store that is down. Each is one
//! clear line, and the build goes on by compiling locally.

mod support;

use fetch::build_manifest::{BuildManifest, EdgeRecord};
use fetch::cache::Digest;
use fetch::published::seal;
use fetch::signing::KeyPair;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::servers::s3::{S3Server, ACCESS_KEY, SECRET_KEY};
use support::servers::{self, nginx::Nginx};
use support::{
    cached_ninja, copy_tree, edge_log, git, hits_misses, key_file, objects, repo_root,
    require_tool, run, run_ok, TestSpace,
};

/// `cached-ninja` with its own cache and the S3 test server's credentials.
fn cn(cache: &Path) -> Command {
    let mut c = Command::new(cached_ninja());
    c.env("CACHED_NINJA_CACHE_DIR", cache)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1");
    c
}

/// Makes `src` a git repository with one commit; returns its revision.
fn commit_tree(src: &Path) -> String {
    git(src, &["init", "-q"]);
    git(src, &["add", "-A"]);
    git(src, &["commit", "-qm", "ci"]);
    git(src, &["rev-parse", "HEAD"])
}

/// Clones `from` to `to` and adds one commit that changes no source: the CI build of `from`'s
/// HEAD is then 1 commit back.
fn clone_and_commit(from: &Path, to: &Path) {
    git(
        to.parent().unwrap(),
        &[
            "clone",
            "-q",
            &from.display().to_string(),
            &to.display().to_string(),
        ],
    );
    std::fs::write(to.join("NOTES.developer"), "local work\n").unwrap();
    git(to, &["add", "NOTES.developer"]);
    git(to, &["commit", "-qm", "local"]);
}

fn configure(src: &Path, obj: &Path, cache: &Path, extra: &[&str]) {
    support::cmake_configure(&mut cn(cache), src, obj, extra);
}

/// CI's build of `obj` (no fetch), published to the store at `url`, signed with `key`.
fn publish_to(cache: &Path, obj: &Path, url: &str, key: &Path) -> Output {
    run_ok(
        cn(cache)
            .args(["build", "--no-fetch", "--publish", "--store", url, "--key"])
            .arg(key)
            .arg("-C")
            .arg(obj),
    )
}

/// `[[store]]` lines for a store URL (S3 ones with the server's endpoint).
fn store_toml(url: &str, write: bool, s3: Option<&S3Server>) -> String {
    let mut t = format!("[[store]]\nurl = \"{url}\"\nwrite = {write}\n");
    if let Some(s) = s3 {
        t.push_str(&format!("endpoint = \"{}\"\n", s.endpoint()));
    }
    t
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// CI builds libgit2 once and publishes it to nginx and to S3; two developers, each with a fresh
/// object directory and cache at other paths and a checkout one commit ahead, find the plan and
/// build with a hit on every compile and byte-identical objects: one runs `fetch` then `build`,
/// the other `build` alone (the pull beside Ninja, launchers waiting for their keys).
#[test]
fn libgit2_published_to_nginx_and_s3_is_all_hits_elsewhere() {
    let space = TestSpace::new();
    let root = space.path();
    let nginx = Nginx::start();
    let s3 = S3Server::start();
    let (nginx_url, s3_url) = (nginx.url("cn"), s3.url("cn"));

    // CI.
    let ci_src = root.join("ci/libgit2");
    copy_tree(&support::third_party_src("libgit2"), &ci_src);
    let rev = commit_tree(&ci_src);
    let (key, public) = key_file(root, "ci.key");
    let (ci_obj, ci_cache) = (root.join("ci/obj"), root.join("ci/cache"));
    let cmake_args = ["-DBUILD_TESTS=OFF", "-DBUILD_CLI=OFF"];
    configure(&ci_src, &ci_obj, &ci_cache, &cmake_args);
    let policy = format!(
        "{}{}[fetch]\nconfig = \"linux-debug\"\n[publish]\nkey = \"{}\"\n",
        store_toml(&nginx_url, true, None),
        store_toml(&s3_url, true, Some(&s3)),
        key.display()
    );
    std::fs::write(ci_obj.join("cached-ninja.toml"), policy).unwrap();
    let out = run_ok(
        cn(&ci_cache)
            .args(["build", "--publish", "-C"])
            .arg(&ci_obj),
    );
    let (_, compiled) = hits_misses(&ci_obj);
    assert!(compiled > 150, "{compiled} compiles");
    let log = stderr(&out);
    for url in [&nginx_url, &s3_url] {
        let line = format!("builds/linux-debug/{rev}");
        assert!(
            log.lines().any(|l| l.contains(&format!("{compiled} edges"))
                && l.contains(url.as_str())
                && l.contains(&line)),
            "publish summary for {url}:\n{log}"
        );
    }
    let ci_objects = objects(&ci_obj);

    for (name, url, s3) in [("nginx", &nginx_url, None), ("s3", &s3_url, Some(&s3))] {
        let dev = root.join(format!("dev-{name}"));
        std::fs::create_dir_all(&dev).unwrap();
        let src = dev.join("src/libgit2");
        std::fs::create_dir_all(src.parent().unwrap()).unwrap();
        clone_and_commit(&ci_src, &src);
        let (obj, cache) = (dev.join("build/objdir"), dev.join("cache"));
        configure(&src, &obj, &cache, &cmake_args);
        // Every launcher waits for the pull (a rule's remote_wait_ms): on a loaded machine the
        // per-edge estimate can find compiling faster, and the hits asserted below are the
        // pull's, not the estimate's (race.rs tests that).
        let policy = format!(
            "{}[trust]\npublishers = [\"{public}\"]\n[fetch]\nconfig = \"linux-debug\"\n\
             [[rule]]\nglob = \"**\"\nremote_wait_ms = 60000\n",
            store_toml(url, false, s3)
        );
        std::fs::write(obj.join("cached-ninja.toml"), policy).unwrap();

        let out = run_ok(cn(&cache).args(["fetch", "--plan", "-C"]).arg(&obj));
        let plan = stdout(&out);
        assert!(plan.contains(&rev[..12]), "{name}: {plan}");
        assert!(
            plan.contains(&format!("\nrevision {rev}\n")),
            "{name}: {plan}"
        );
        assert!(
            plan.contains(&format!("manifest {url}/builds/linux-debug/{rev}")),
            "{name}: {plan}"
        );
        assert!(plan.contains("(1 commit back)"), "{name}: {plan}");
        assert!(
            plan.contains(&format!("{compiled} entries")),
            "{name}: {plan}"
        );
        assert!(
            !cache.join("ac").exists() || std::fs::read_dir(cache.join("ac")).unwrap().count() == 0,
            "{name}: --plan downloads nothing"
        );

        if name == "nginx" {
            // Fetch first, then build.
            let out = run_ok(cn(&cache).args(["fetch", "-C"]).arg(&obj));
            assert!(
                stderr(&out).contains(&format!("{compiled} entries fetched")),
                "{name}: {}",
                stderr(&out)
            );
        }
        // With S3, `build` alone: the pull runs beside Ninja, launchers ask for their keys.
        let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
        assert_eq!(hits_misses(&obj), (compiled, 0), "{name}: {}", stderr(&out));
        // The build's own pull (beside Ninja) found everything here and warned of nothing.
        assert!(
            !stderr(&out).contains("warning"),
            "{name}: {}",
            stderr(&out)
        );
        assert_eq!(
            objects(&obj),
            ci_objects,
            "{name}: objects differ from CI's"
        );
    }
}

/// The example project published to a `file://` store, and a developer's object directory.
struct Example {
    space: TestSpace,
    store: PathBuf,
    rev: String,
    key: PathBuf,
    public: String,
}

impl Example {
    /// CI: builds examples/shapes and publishes it (config `default`) to a file store.
    fn publish() -> Example {
        let space = TestSpace::new();
        let root = space.path();
        let src = root.join("ci/shapes");
        copy_tree(&repo_root().join("examples/shapes"), &src);
        let rev = commit_tree(&src);
        let (key, public) = key_file(root, "ci.key");
        let (obj, cache) = (root.join("ci/obj"), root.join("ci/cache"));
        configure(&src, &obj, &cache, &[]);
        let store = root.join("store");
        let url = format!("file://{}", store.display());
        publish_to(&cache, &obj, &url, &key);
        assert_eq!(hits_misses(&obj), (0, 5));
        Example {
            space,
            store,
            rev,
            key,
            public,
        }
    }

    /// A developer checkout one commit ahead, configured, with `policy` (the store is `{STORE}`).
    fn developer(&self, name: &str, policy: &str) -> (PathBuf, PathBuf) {
        let dev = self.space.path().join(name);
        std::fs::create_dir_all(&dev).unwrap();
        let src = dev.join("shapes");
        clone_and_commit(&self.space.path().join("ci/shapes"), &src);
        let (obj, cache) = (dev.join("obj"), dev.join("cache"));
        configure(&src, &obj, &cache, &[]);
        let policy = policy
            .replace("{STORE}", &format!("file://{}", self.store.display()))
            .replace("{TRUST}", &self.public);
        std::fs::write(obj.join("cached-ninja.toml"), policy).unwrap();
        (obj, cache)
    }

    /// The store's file of `rel`.
    fn file(&self, rel: &str) -> PathBuf {
        self.store.join(rel)
    }

    fn manifest_key(&self) -> String {
        format!("builds/default/{}", self.rev)
    }
}

const TRUSTING: &str = "[[store]]\nurl = \"{STORE}\"\n[trust]\npublishers = [\"{TRUST}\"]\n";

/// `publish --rev` names the build by the full id of what it names (`HEAD`, a short hash), the
/// id developers' pulls look for; a name of no revision fails, naming it.
#[test]
fn publish_rev_names_the_build_by_its_full_id() {
    let ex = Example::publish();
    let root = ex.space.path();
    let (obj, cache) = (root.join("ci/obj"), root.join("ci/cache"));
    std::fs::remove_dir_all(&ex.store).unwrap();
    let url = format!("file://{}", ex.store.display());
    let publish = |rev: &str| {
        run(cn(&cache)
            .args(["publish", "--store", &url, "--rev", rev, "--key"])
            .arg(&ex.key)
            .arg("-C")
            .arg(&obj))
    };
    for rev in ["HEAD", &ex.rev[..9]] {
        let out = publish(rev);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            ex.file(&ex.manifest_key()).is_file(),
            "{rev}: {}",
            stderr(&out)
        );
        let names = std::fs::read_dir(ex.store.join("builds/default"))
            .unwrap()
            .count();
        assert_eq!(names, 1, "{rev}: one manifest, named by the full id");
    }
    let out = publish("no-such-branch");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--rev no-such-branch: no such revision"),
        "{err}"
    );
    let (dev, dev_cache) = ex.developer("dev", TRUSTING);
    let plan = run_ok(cn(&dev_cache).args(["fetch", "--plan", "-C"]).arg(&dev));
    let said = format!("{}{}", stdout(&plan), stderr(&plan));
    assert!(
        said.contains(&ex.rev[..12]),
        "the developer finds it: {said}"
    );
}

#[test]
fn tampered_blob_is_rejected_and_that_edge_compiles_locally() {
    let ex = Example::publish();
    // The pull reads no action entry (each comes from its signed manifest record): the
    // blobs are what a store can still get wrong.
    let key = KeyPair::read_secret_file(&ex.key).unwrap();
    let mut trust = fetch::signing::Trust::new();
    trust.add(key.public());
    let env = std::fs::read(ex.file(&ex.manifest_key())).unwrap();
    let text = fetch::published::open(&env, &trust, fetch::published::MAX_MANIFEST).unwrap();
    let manifest = BuildManifest::parse(&text).unwrap();
    let rec = &manifest.records[0];
    let object = rec.main_output().unwrap().digest;
    let blob = ex.file(&format!("cas/{object}"));
    let mut bytes = std::fs::read(&blob).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0x20;
    std::fs::write(&blob, bytes).unwrap();
    let (obj, cache) = ex.developer("dev", TRUSTING);
    let out = run_ok(cn(&cache).args(["fetch", "-C"]).arg(&obj));
    let err = stderr(&out);
    let warning: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(warning[0].contains(&format!("cas/{object}")), "{err}");
    assert!(warning[0].contains("compiles locally"), "{err}");
    assert!(err.contains("4 entries fetched"), "{err}");
    // The local cache took nothing of the bad record.
    let local = fetch::cache::LocalCache::new(&cache);
    assert_eq!(local.get_action(&rec.action_key).unwrap(), None);
    let out = run_ok(cn(&cache).args(["build", "--no-fetch", "-C"]).arg(&obj));
    assert_eq!(hits_misses(&obj), (4, 1), "{}", stderr(&out));
    // The local compile stored that action itself.
    assert!(local.get_action(&rec.action_key).unwrap().is_some());
}

#[test]
fn foreign_key_or_no_trust_refuses_remote_data_and_the_build_compiles_locally() {
    let ex = Example::publish();
    let stranger = KeyPair::generate().public().to_string();
    let policy = TRUSTING.replace("{TRUST}", &stranger);
    let (obj, cache) = ex.developer("foreign", &policy);
    let out = run(cn(&cache).args(["fetch", "--plan", "-C"]).arg(&obj));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("not a trusted publisher") && err.contains(&ex.manifest_key()),
        "{err}"
    );
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    let err = stderr(&out);
    assert!(
        err.contains("warning")
            && err.contains("not a trusted publisher")
            && err.contains("compiling locally"),
        "{err}"
    );
    assert_eq!(hits_misses(&obj), (0, 5));

    let (obj, cache) = ex.developer("untrusting", "[[store]]\nurl = \"{STORE}\"\n");
    let out = run(cn(&cache).args(["fetch", "-C"]).arg(&obj));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("[trust] publishers") && err.contains("cached-ninja.toml"),
        "{err}"
    );
}

#[test]
fn hostile_manifest_is_rejected_with_its_line() {
    let ex = Example::publish();
    let key = fetch::signing::KeyPair::read_secret_file(&ex.key).unwrap();
    let rec = EdgeRecord {
        source_key: Digest::of(b"s"),
        action_key: Digest::of(b"a"),
        outputs: vec![fetch::cache::Output {
            role: fetch::cache::Role::Object,
            path: "ok.o".into(),
            digest: Digest::of(b"o"),
            size: 1,
        }],
        includes: vec![],
        stdout: None,
        stderr: None,
        cpu_us: 1_000,
        wall_us: 1_000,
    };
    let good = BuildManifest { records: vec![rec] }.to_bytes().unwrap();
    let hostile = String::from_utf8(good)
        .unwrap()
        .replace(" ok.o\n", " ../../etc/passwd\n");
    std::fs::write(ex.file(&ex.manifest_key()), seal(&key, hostile.as_bytes())).unwrap();
    let (obj, cache) = ex.developer("dev", TRUSTING);
    let out = run(cn(&cache).args(["fetch", "-C"]).arg(&obj));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("\"../../etc/passwd\"") && err.contains("line 3"),
        "{err}"
    );
    assert!(
        !Path::new(&obj).join("../../etc/passwd").exists() || Path::new("/etc/passwd").exists()
    );
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    assert!(
        stderr(&out).contains("compiling locally"),
        "{}",
        stderr(&out)
    );
    assert_eq!(hits_misses(&obj), (0, 5));
}

#[test]
fn a_manifest_of_a_newer_format_names_both_versions_and_the_build_compiles_locally() {
    let ex = Example::publish();
    let key = fetch::signing::KeyPair::read_secret_file(&ex.key).unwrap();
    let found = fetch::build_manifest::BUILD_MANIFEST_VERSION + 1;
    let newer = format!("cached-ninja build {found}\nsomething new\nend 0\n");
    std::fs::write(ex.file(&ex.manifest_key()), seal(&key, newer.as_bytes())).unwrap();
    let (obj, cache) = ex.developer("dev", TRUSTING);
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    let err = stderr(&out);
    let both = format!(
        "has format version {found}, this cached-ninja reads version {} only",
        found - 1
    );
    assert!(err.contains(&both), "{err}");
    assert!(err.contains("compiling locally"), "{err}");
    assert_eq!(hits_misses(&obj), (0, 5));
}

#[test]
fn store_down_warns_once_and_the_build_compiles_locally() {
    let ex = Example::publish();
    let down = format!(
        "[[store]]\nurl = \"http://127.0.0.1:{}/cn\"\n[trust]\npublishers = [\"{{TRUST}}\"]\n",
        servers::free_port()
    );
    let (obj, cache) = ex.developer("dev", &down);
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    let err = stderr(&out);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("connection failed") && warnings[0].contains("compiling locally"),
        "{err}"
    );
    assert_eq!(hits_misses(&obj), (0, 5));
}

#[test]
fn build_alone_pulls_beside_ninja_and_hits_everything() {
    let ex = Example::publish();
    let (obj, cache) = ex.developer("dev", TRUSTING);
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    let err = stderr(&out);
    // The developer's policy was written after `configure`: one note says so, then the plan.
    let mut lines = err
        .lines()
        .skip_while(|l| l.contains("changed since `cached-ninja generate`"));
    assert!(
        lines.next().unwrap_or("").starts_with("ancestor "),
        "the plan opens the build: {err}"
    );
    assert_eq!(hits_misses(&obj), (5, 0), "{err}{}", edge_log(&obj));
    assert!(
        !obj.join(".cached-ninja/pulling").exists(),
        "marker removed"
    );
    assert!(!obj.join(".cached-ninja/wants").exists(), "wants removed");
}

/// The revisions are listed slowly (a `git` that takes a second to start, as Mercurial does on
/// a loaded machine): that is no silence of the store, so the launchers that miss meanwhile
/// wait for the plan within their budget, and every object comes from the pull. (Until
/// 2026-12-06 the listing counted as the store's silence: they stopped waiting after 0.3 s
/// and compiled all five.)
#[test]
fn launchers_wait_for_a_slow_revision_listing() {
    let ex = Example::publish();
    let (obj, cache) = ex.developer("dev", TRUSTING);
    let path = git_taking(ex.space.path(), 1);
    let out = run_ok(cn(&cache).env("PATH", path).args(["build", "-C"]).arg(&obj));
    assert_eq!(
        hits_misses(&obj),
        (5, 0),
        "{}{}",
        stderr(&out),
        edge_log(&obj)
    );
}

/// A listing of the revisions that hangs (a `git` that takes two minutes) holds the first
/// compiles at most `fetch::want::LISTING_PATIENCE` (5 s), not their wait budget (here a
/// minute each): they compile, and the build says Ninja finished before CI's build was found.
#[test]
fn a_revision_listing_that_hangs_holds_the_compiles_briefly() {
    let ex = Example::publish();
    let policy = format!("{TRUSTING}[fetch]\nwait_ms = 60000\n");
    let (obj, cache) = ex.developer("dev", &policy);
    let path = git_taking(ex.space.path(), 120);
    let t = std::time::Instant::now();
    let out = run_ok(cn(&cache).env("PATH", path).args(["build", "-C"]).arg(&obj));
    // A bound that cannot flake: waiting out the budget would take the minute.
    assert!(
        t.elapsed() < std::time::Duration::from_secs(45),
        "{:?}",
        t.elapsed()
    );
    let err = stderr(&out);
    assert_eq!(hits_misses(&obj), (0, 5), "{err}{}", edge_log(&obj));
    assert!(
        err.contains("Ninja finished before CI's build was found"),
        "{err}"
    );
    let listing: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("warning: listing the revisions of"))
        .collect();
    assert_eq!(listing.len(), 1, "one line says why: {err}");
    assert!(listing[0].contains("compiled locally"), "{err}");
}

/// A `PATH` whose `git` (in `dir/slow-git`) sleeps `seconds` before it runs the real one.
fn git_taking(dir: &Path, seconds: u32) -> String {
    let slow = dir.join("slow-git");
    std::fs::create_dir_all(&slow).unwrap();
    let real = require_tool("git", "git");
    let script = format!(
        "#!/bin/sh\nsleep {seconds}\nexec {} \"$@\"\n",
        real.display()
    );
    let git = slow.join("git");
    std::fs::write(&git, script).unwrap();
    std::fs::set_permissions(&git, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    format!("{}:{}", slow.display(), std::env::var("PATH").unwrap())
}

/// A plan larger than the policy's cache cap is one warning line of the build (not of
/// `fetch`, whose code it shares), naming the policy file to change; the build succeeds.
#[test]
fn a_plan_over_the_cache_cap_is_one_warning_of_the_build() {
    let ex = Example::publish();
    let policy = format!("{TRUSTING}[cache]\nsize = \"1K\"\n");
    let (obj, cache) = ex.developer("dev", &policy);
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    let err = stderr(&out);
    let over: Vec<&str> = err.lines().filter(|l| l.contains("size cap")).collect();
    assert_eq!(over.len(), 1, "{err}");
    assert!(
        over[0].starts_with("cached-ninja build: warning: the build's objects")
            && over[0].contains("cached-ninja.toml"),
        "{err}"
    );
    assert!(!err.contains("cached-ninja fetch"), "{err}");
}

#[test]
fn invalid_store_policy_fails_the_build_naming_the_file() {
    let ex = Example::publish();
    for (policy, expect) in [
        (
            "[[store]]\nurl = \"ftp://x/y\"\n",
            "expected file:///path, http(s)://host/prefix or s3://bucket/prefix",
        ),
        (
            "[[store]]\nurl = \"{STORE}\"\n[trust]\npublishers = [\"ed25519:00\"]\n",
            "is not a public key",
        ),
        ("[fetch]\ndepht = 3\n", "unknown field `depht`"),
    ] {
        let (obj, cache) = ex.developer(&format!("dev{}", policy.len()), policy);
        let out = run(cn(&cache).args(["build", "-C"]).arg(&obj));
        assert!(!out.status.success(), "{policy}");
        let err = stderr(&out);
        let file = obj.join("cached-ninja.toml").display().to_string();
        assert!(
            err.contains(&file) && err.contains(expect),
            "{policy}: {err}"
        );
    }
}

fn hg(dir: &Path, args: &[&str]) -> String {
    let out = run_ok(
        Command::new(require_tool("hg", "mercurial"))
            .current_dir(dir)
            .args(args)
            .env("HGPLAIN", "1")
            .env("HGUSER", "ci <ci@example.org>")
            .env("HGRCPATH", ""),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The same story in a Mercurial repository: `publish` names the revision by itself, and the
/// developer's `fetch --plan` finds it one commit back.
#[test]
fn mercurial_tree_publishes_and_finds_its_ancestor() {
    let space = TestSpace::new();
    let root = space.path();
    let src = root.join("ci/shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    hg(&src, &["init"]);
    hg(&src, &["commit", "-q", "-A", "-m", "ci"]);
    let node = hg(&src, &["log", "-r", ".", "-T", "{node}"]);
    let (key, public) = key_file(root, "ci.key");
    let (obj, cache) = (root.join("ci/obj"), root.join("ci/cache"));
    configure(&src, &obj, &cache, &[]);
    let store = format!("file://{}", root.join("store").display());
    let out = run_ok(
        cn(&cache)
            .args([
                "build",
                "--no-fetch",
                "--publish",
                "--store",
                &store,
                "--key",
            ])
            .arg(&key)
            .arg("-C")
            .arg(&obj),
    );
    assert!(
        stderr(&out).contains(&format!("builds/default/{node}")),
        "{}",
        stderr(&out)
    );

    let dev = root.join("dev/shapes");
    hg(
        root,
        &[
            "clone",
            "-q",
            &src.display().to_string(),
            &dev.display().to_string(),
        ],
    );
    std::fs::write(dev.join("NOTES.developer"), "local\n").unwrap();
    hg(&dev, &["commit", "-q", "-A", "-m", "local"]);
    let (dobj, dcache) = (root.join("dev/obj"), root.join("dev/cache"));
    configure(&dev, &dobj, &dcache, &[]);
    let policy = format!("[[store]]\nurl = \"{store}\"\n[trust]\npublishers = [\"{public}\"]\n");
    std::fs::write(dobj.join("cached-ninja.toml"), policy).unwrap();
    let out = run_ok(cn(&dcache).args(["fetch", "--plan", "-C"]).arg(&dobj));
    let plan = stdout(&out);
    assert!(
        plan.contains(&node[..12]) && plan.contains("(1 commit back)"),
        "{plan}"
    );
    let out = run_ok(cn(&dcache).args(["build", "-C"]).arg(&dobj));
    assert_eq!(
        hits_misses(&dobj),
        (5, 0),
        "{}{}",
        stderr(&out),
        edge_log(&dobj)
    );
}

/// CI builds incrementally (one file changed since the last published revision): the manifest
/// of the new revision still names every edge, with the new object for the changed one, and a
/// developer at that revision hits on all of them.
#[test]
fn incremental_ci_build_publishes_every_edge() {
    let ex = Example::publish();
    let ci_src = ex.space.path().join("ci/shapes");
    let changed = ci_src.join("report/format.cpp");
    let text = std::fs::read_to_string(&changed).unwrap();
    std::fs::write(
        &changed,
        format!("{text}\nint cn_edited() {{ return 42; }}\n"),
    )
    .unwrap();
    git(&ci_src, &["commit", "-qam", "next"]);
    let rev2 = git(&ci_src, &["rev-parse", "HEAD"]);
    let (obj, cache) = (
        ex.space.path().join("ci/obj"),
        ex.space.path().join("ci/cache"),
    );
    let url = format!("file://{}", ex.store.display());
    let out = run_ok(
        cn(&cache)
            .args(["build", "--no-fetch", "--publish", "--store", &url, "--key"])
            .arg(&ex.key)
            .arg("-C")
            .arg(&obj),
    );
    assert_eq!(hits_misses(&obj), (0, 1), "incremental: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("5 edges") && err.contains(&format!("builds/default/{rev2}")),
        "{err}"
    );
    assert!(
        err.contains("5 blobs") && err.contains("1 uploaded, 4 already there"),
        "{err}"
    );

    let (dobj, dcache) = ex.developer("dev", TRUSTING);
    let out = run_ok(cn(&dcache).args(["build", "-C"]).arg(&dobj));
    assert!(stderr(&out).contains(&rev2[..12]), "{}", stderr(&out));
    assert_eq!(
        hits_misses(&dobj),
        (5, 0),
        "{}{}",
        stderr(&out),
        edge_log(&dobj)
    );
}

/// `generate --policy FILE` (a policy outside the object directory, with its own cache): `build`
/// and `fetch` then use that policy too, so the pull fills the cache the launchers read.
#[test]
fn build_uses_the_policy_generate_was_given() {
    let ex = Example::publish();
    let (obj, cache) = ex.developer("dev", "");
    std::fs::remove_file(obj.join("cached-ninja.toml")).unwrap();
    let policy_cache = ex.space.path().join("policy-cache");
    let policy = ex.space.path().join("elsewhere/cn.toml");
    std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
    let text = TRUSTING
        .replace("{STORE}", &format!("file://{}", ex.store.display()))
        .replace("{TRUST}", &ex.public);
    // CI generated without a policy (no split DWARF); a policy naming a store splits DWARF by
    // default, which would change every key: this one opts out to match CI's.
    std::fs::write(
        &policy,
        format!(
            "split_dwarf = false\n[cache]\ndir = \"{}\"\n{text}",
            policy_cache.display()
        ),
    )
    .unwrap();
    run_ok(
        cn(&cache)
            .args(["generate", "-C"])
            .arg(&obj)
            .arg("--policy")
            .arg(&policy),
    );
    let out = run_ok(cn(&cache).args(["build", "-C"]).arg(&obj));
    assert_eq!(
        hits_misses(&obj),
        (5, 0),
        "{}{}",
        stderr(&out),
        edge_log(&obj)
    );
    let local = fetch::cache::LocalCache::new(&policy_cache);
    assert!(
        local.summary().total_size() > 0,
        "the policy's cache was filled"
    );
}

/// CI that publishes with `--store` and names no store in its policy compiles without split
/// DWARF (the default is on only where a policy names a store), while a developer whose
/// policy names the store (applied by `generate`) compiles with it: no key in common, nothing
/// reused. The publish says so in one line. With the store named in CI's policy too, it says
/// nothing and the developer reuses every object.
#[test]
fn publishing_without_a_store_in_the_policy_names_the_split_dwarf_mismatch() {
    let space = TestSpace::new();
    let root = space.path();
    let url = format!("file://{}", root.join("store").display());
    let (key, public) = key_file(root, "ci.key");
    let policy = |write: bool| {
        format!(
            "{}[trust]\npublishers = [\"{public}\"]\n",
            store_toml(&url, write, None)
        )
    };
    // CI at `ci`, with `ci_policy` written before `configure` (none: no policy); its
    // publish's stderr.
    let ci = |name: &str, ci_policy: Option<String>| -> (PathBuf, String) {
        let src = root.join(name).join("shapes");
        copy_tree(&repo_root().join("examples/shapes"), &src);
        commit_tree(&src);
        let (obj, cache) = (root.join(name).join("obj"), root.join(name).join("cache"));
        if let Some(p) = ci_policy {
            std::fs::create_dir_all(&obj).unwrap();
            std::fs::write(obj.join("cached-ninja.toml"), p).unwrap();
        }
        configure(&src, &obj, &cache, &[]);
        let out = publish_to(&cache, &obj, &url, &key);
        (src, stderr(&out))
    };
    // A developer's clone of `ci_src` with the store in its policy before `configure`.
    let developer = |name: &str, ci_src: &Path| -> (u64, u64) {
        let src = root.join(name).join("shapes");
        std::fs::create_dir_all(root.join(name)).unwrap();
        clone_and_commit(ci_src, &src);
        let (obj, cache) = (root.join(name).join("obj"), root.join(name).join("cache"));
        std::fs::create_dir_all(&obj).unwrap();
        std::fs::write(obj.join("cached-ninja.toml"), policy(false)).unwrap();
        configure(&src, &obj, &cache, &[]);
        run_ok(cn(&cache).args(["build", "--no-fill", "-C"]).arg(&obj));
        hits_misses(&obj)
    };
    let note = "names no store, so compiles with -g were built without split DWARF";

    let (src, err) = ci("ci", None);
    assert_eq!(err.matches(note).count(), 1, "{err}");
    assert_eq!(developer("dev", &src), (0, 5));

    let (src, err) = ci("ci2", Some(policy(true)));
    assert!(!err.contains(note), "{err}");
    assert_eq!(developer("dev2", &src), (5, 0));
}

/// Include paths as compilers spell them reach the store: a quoted `"../geom/geom.h"` (a
/// header list entry with a `..` component) and clang++'s libstdc++ headers
/// (`/usr/bin/../lib/gcc/…`). The build manifest once refused such records, so CI published
/// none of them and every developer compiled them (harfbuzz published nothing at all).
#[test]
fn include_paths_with_dot_dot_components_are_published_and_hit() {
    require_tool("clang++", "clang");
    let space = TestSpace::new();
    let root = space.path();
    let src = root.join("ci/shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let circle = src.join("geom/circle.c");
    let text = std::fs::read_to_string(&circle).unwrap();
    std::fs::write(&circle, format!("#include \"../geom/geom.h\"\n{text}")).unwrap();
    commit_tree(&src);
    let (key, public) = key_file(root, "ci.key");
    let (obj, cache) = (root.join("ci/obj"), root.join("ci/cache"));
    let clang = ["-DCMAKE_CXX_COMPILER=clang++"];
    configure(&src, &obj, &cache, &clang);
    let url = format!("file://{}", root.join("store").display());
    let out = publish_to(&cache, &obj, &url, &key);
    assert!(
        stderr(&out).contains("cached-ninja publish: 5 edges"),
        "{}",
        stderr(&out)
    );

    let dev = root.join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    clone_and_commit(&src, &dev.join("shapes"));
    let (obj, cache) = (dev.join("obj"), dev.join("cache"));
    configure(&dev.join("shapes"), &obj, &cache, &clang);
    let policy = TRUSTING
        .replace("{STORE}", &url)
        .replace("{TRUST}", &public);
    std::fs::write(obj.join("cached-ninja.toml"), policy).unwrap();
    let out = run_ok(cn(&cache).args(["build", "--no-fill", "-C"]).arg(&obj));
    assert_eq!(hits_misses(&obj), (5, 0), "{}", stderr(&out));
}
