//! `cached-ninja cache verify [--repair]` and the temporaries of killed writers (issue 16). A
//! real cache filled by real gcc compiles of examples/shapes through the launcher verifies
//! clean; a flipped byte in a blob, a truncated entry, an entry whose blob is gone and the
//! partial temporary file of a launcher killed with `kill -9` mid-insert are each reported by
//! path with exit 1; `--repair` removes them, a second verify exits 0, and a build of a fresh
//! object directory recompiles just those edges, with the same objects. A killed launcher's
//! temporary is gone after the next `cached-ninja build`; a live one's stays.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::published::cn;
use support::{
    cmake_configure, copy_tree, hits_misses, objects, repo_root, require_tool, run, run_ok,
    TestSpace,
};

fn verify(cache: &Path, repair: bool) -> Output {
    let mut c = cn(cache);
    c.args(["cache", "verify"]);
    if repair {
        c.arg("--repair");
    }
    run(&mut c)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// examples/shapes (copied to `<space>/shapes` once) configured in `obj` with `cache`.
fn configure_shapes(space: &TestSpace, obj: &str, cache: &Path) -> PathBuf {
    let src = space.path().join("shapes");
    if !src.exists() {
        copy_tree(&repo_root().join("examples/shapes"), &src);
    }
    let obj = space.path().join(obj);
    cmake_configure(&mut cn(cache), &src, &obj, &[]);
    obj
}

/// examples/shapes configured in `obj` and built through the launcher into `cache`.
fn build_shapes(space: &TestSpace, obj: &str, cache: &Path) -> PathBuf {
    let obj = configure_shapes(space, obj, cache);
    build(cache, &obj);
    obj
}

/// `cached-ninja build` of `obj`, local only.
fn build(cache: &Path, obj: &Path) {
    run_ok(
        cn(cache)
            .args(["build", "--no-fetch", "--no-fill", "-C"])
            .arg(obj),
    );
}

/// Each action entry of the cache by the object it made: (entry path, object blob path).
fn entries(cache: &Path) -> BTreeMap<String, (PathBuf, PathBuf)> {
    let mut m = BTreeMap::new();
    for sub in std::fs::read_dir(cache.join("ac")).unwrap().flatten() {
        for e in std::fs::read_dir(sub.path()).unwrap().flatten() {
            let t = std::fs::read_to_string(e.path()).unwrap();
            let out = t.lines().find(|l| l.starts_with("out 1 ")).unwrap();
            let f: Vec<&str> = out.splitn(5, ' ').collect();
            let blob = cache.join("cas").join(&f[2][..2]).join(f[2]);
            m.insert(f[4].to_string(), (e.path(), blob));
        }
    }
    m
}

/// A launcher compiling a source of its own whose inserts stall; returned once its first
/// temporary file is in the cache's `tmp/` (with that file).
fn stalled_launcher(space: &TestSpace, cache: &Path, name: &str) -> (Child, PathBuf) {
    let src = space.write(
        &format!("{name}/{name}.c"),
        format!("int {name}(void) {{ return 7; }}\n"),
    );
    let tmp = cache.join("tmp");
    let before: Vec<PathBuf> = list(&tmp);
    let child = cn(cache)
        .current_dir(src.parent().unwrap())
        .env("CACHED_NINJA_TEST_STALL_INSERT_MS", "60000")
        .args(["cc", "--src-root"])
        .arg(src.parent().unwrap())
        .args(["--", "gcc", "-c", "-o", &format!("{name}.o")])
        .arg(&src)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let new_file = || list(&tmp).into_iter().find(|p| !before.contains(p));
    while new_file().is_none() {
        assert!(
            Instant::now() < deadline,
            "the launcher never started an insert"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let file = new_file().unwrap();
    (child, file)
}

fn list(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn verify_reports_each_damage_by_path_and_repair_leaves_a_clean_miss() {
    require_tool("gcc", "gcc");
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let obj = build_shapes(&space, "obj", &cache);
    let reference = objects(&obj);
    assert_eq!(reference.len(), 5);
    let out = verify(&cache, false);
    assert!(out.status.success(), "a clean cache: {}", text(&out));
    assert!(text(&out).contains("5 action entries"), "{}", text(&out));

    let e = entries(&cache);
    assert_eq!(e.len(), 5, "{e:?}");
    let mut it = e.values();
    let (flipped, truncated, orphaned) =
        (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    let mut bytes = std::fs::read(&flipped.1).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&flipped.1, bytes).unwrap();
    let entry = std::fs::read(&truncated.0).unwrap();
    std::fs::write(&truncated.0, &entry[..entry.len() - 30]).unwrap();
    std::fs::remove_file(&orphaned.1).unwrap();
    let (mut killed, partial) = stalled_launcher(&space, &cache, "dead");
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    assert!(partial.exists());

    let out = verify(&cache, false);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let line = |p: &Path, what: &str| {
        let want = format!("{}: {what}", p.display());
        assert!(report.contains(&want), "no {want:?} in:\n{report}");
    };
    line(&flipped.1, "corrupt: content does not match its name");
    line(&flipped.0, "entry's blob");
    line(&truncated.0, "corrupt: checksum missing or wrong");
    line(
        &orphaned.0,
        &format!("entry's blob {} is missing", orphaned.1.display()),
    );
    line(&partial, "partial temporary file of a writer that is gone");
    assert!(report.contains("5 problems"), "{report}");
    assert!(partial.exists(), "verify without --repair removes nothing");

    let out = verify(&cache, true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(text(&out).matches("(removed)").count(), 5, "{}", text(&out));
    let out = verify(&cache, false);
    assert!(out.status.success(), "after --repair: {}", text(&out));
    assert!(!partial.exists());

    // A fresh object directory: the three damaged edges compile, the two intact ones hit,
    // and the objects are the first build's.
    let obj2 = build_shapes(&space, "obj2", &cache);
    assert_eq!(hits_misses(&obj2), (2, 3), "{}", support::edge_log(&obj2));
    assert_eq!(objects(&obj2), reference);
    assert!(verify(&cache, false).status.success());
}

#[test]
fn a_killed_launchers_temporary_goes_at_the_next_build_a_live_ones_stays() {
    require_tool("gcc", "gcc");
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let obj = build_shapes(&space, "obj", &cache);
    let (mut killed, dead_tmp) = stalled_launcher(&space, &cache, "dead");
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let (mut live, live_tmp) = stalled_launcher(&space, &cache, "live");
    build(&cache, &obj);
    let gone = !dead_tmp.exists();
    let kept = live_tmp.exists();
    live.kill().unwrap();
    live.wait().unwrap();
    assert!(
        gone,
        "{} outlived its killed writer's next build",
        dead_tmp.display()
    );
    assert!(
        kept,
        "{} of a live launcher was removed",
        live_tmp.display()
    );
}

/// `cached-ninja cache stats|gc|verify` act on the cache the object directory's launchers use:
/// its policy's `[cache] dir` and `size` (which `generate` gives them), whether run in that
/// directory or given it with `-C`, not on `CACHED_NINJA_CACHE_DIR`'s (found by a review of the
/// command line: they showed and trimmed the default cache).
#[test]
fn cache_commands_use_the_cache_of_the_object_directorys_policy() {
    require_tool("gcc", "gcc");
    let space = TestSpace::new();
    let (env_cache, policy_cache) = (space.path().join("env"), space.path().join("policy"));
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let policy = format!(
        "[cache]\ndir = \"{}\"\nsize = \"5M\"\n",
        policy_cache.display()
    );
    std::fs::write(src.join("cached-ninja.toml"), policy).unwrap();
    let obj = build_shapes(&space, "obj", &env_cache);
    assert!(
        policy_cache.join("cas").is_dir() && !env_cache.join("cas").exists(),
        "the launchers filled the policy's cache"
    );
    let names_it = |out: &Output| {
        let t = text(out);
        assert!(out.status.success(), "{t}");
        assert!(t.contains(&policy_cache.display().to_string()), "{t}");
        t
    };
    let in_obj = |args: &[&str]| run(cn(&env_cache).args(args).current_dir(&obj));
    let stats = names_it(&in_obj(&["cache", "stats"]));
    assert!(stats.contains("cap 5.0 MiB"), "{stats}");
    let gc = names_it(&in_obj(&["cache", "gc"]));
    assert!(gc.contains("(cap 5.0 MiB), 0 files removed"), "{gc}");
    let verify = names_it(&run(cn(&env_cache)
        .args(["cache", "verify", "-C"])
        .arg(&obj)
        .current_dir(space.path())));
    assert!(verify.contains("no problems"), "{verify}");
    let elsewhere = run(cn(&env_cache)
        .args(["cache", "stats"])
        .current_dir(space.path()));
    let t = text(&elsewhere);
    assert!(
        t.contains(&env_cache.display().to_string()),
        "no policy here: {t}"
    );
}

/// Ctrl-C while launchers are inside their inserts: the build says nothing partial is left,
/// and the cache's `tmp/` holds none of their temporaries (the build removes what its killed
/// launchers left; before, about one Ctrl-C in 40 left one until the next build).
#[test]
fn an_interrupted_build_leaves_no_temporary_of_its_launchers() {
    require_tool("gcc", "gcc");
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let obj = configure_shapes(&space, "obj", &cache);
    let mut build = cn(&cache);
    let build = support::signals_as_in_a_terminal(&mut build)
        .env("CACHED_NINJA_TEST_STALL_INSERT_MS", "60000")
        // Ninja's launchers, not the hits served before it (`tests/ahead.rs`).
        .args(["build", "--no-fetch", "--no-fill", "--no-serve-ahead", "-C"])
        .arg(&obj)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    support::published::wait_until("a launcher starts an insert", || {
        !support::cache_temporaries(&cache).is_empty()
    });
    run_ok(Command::new("kill").args(["-INT", &build.id().to_string()]));
    let out = build.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("no partial object or cache entry is left"),
        "{err}"
    );
    assert_eq!(
        support::cache_temporaries(&cache),
        Vec::<PathBuf>::new(),
        "{err}"
    );
}
