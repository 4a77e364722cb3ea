//! Common mistakes get one error line naming the path and what to do, a non-zero exit, and
//! no work done first (found by a review of the command line, 2026-12-05).

mod support;

use std::process::{Command, Output};
use support::{cached_ninja, copy_tree, repo_root, run, TestSpace};

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts `out` failed with exactly one `error` line containing each of `words`.
fn fails_saying(out: &Output, words: &[&str]) {
    let err = said(out);
    assert!(!out.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    for w in words {
        assert!(lines[0].contains(w), "{w:?} in {err}");
    }
}

#[test]
fn stats_of_a_missing_object_directory_is_an_error() {
    let space = TestSpace::new();
    let missing = space.path().join("no-such-objdir");
    let out = run(Command::new(cached_ninja())
        .arg("stats")
        .arg("-C")
        .arg(&missing));
    fails_saying(&out, &[&missing.display().to_string(), "does not exist"]);
}

#[test]
fn a_fill_of_a_directory_without_a_build_says_so_at_once() {
    let space = TestSpace::new();
    let dbgfetch = cached_ninja().with_file_name("dbgfetch");
    let out = run(Command::new(dbgfetch)
        .args(["fill", "-C"])
        .arg(space.path()));
    fails_saying(&out, &["holds no build.ninja"]);
    assert!(
        !space.path().join(".cached-ninja").exists(),
        "no fill started"
    );
}

#[test]
fn a_key_file_in_a_missing_directory_is_named_once() {
    let space = TestSpace::new();
    let key = space.path().join("nodir/ci.key");
    let out = run(Command::new(cached_ninja())
        .args(["key", "generate", "--out"])
        .arg(&key));
    fails_saying(&out, &[&format!("key file {}: ", key.display())]);
    assert_eq!(
        said(&out).matches("os error 2").count(),
        1,
        "{}",
        said(&out)
    );
    let out = run(Command::new(cached_ninja())
        .args(["key", "generate", "--out"])
        .arg(space.path()));
    fails_saying(&out, &["a directory"]);
}

/// `build --publish` with a key file that is not there fails before it compiles anything.
#[test]
fn a_missing_publisher_key_fails_before_the_build() {
    let space = TestSpace::new();
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    support::git(&src, &["init", "-q"]);
    support::git(&src, &["add", "-A"]);
    support::git(&src, &["commit", "-qm", "ci"]);
    let obj = space.path().join("obj");
    let cache = space.path().join("cache");
    let mut cn = Command::new(cached_ninja());
    cn.env("CACHED_NINJA_CACHE_DIR", &cache);
    support::cmake_configure(&mut cn, &src, &obj, &[]);
    let store = format!("file://{}", space.path().join("store").display());
    let key = space.path().join("missing.key");
    let out = run(Command::new(cached_ninja())
        .env("CACHED_NINJA_CACHE_DIR", &cache)
        .args(["build", "--publish", "--store", &store, "--key"])
        .arg(&key)
        .arg("-C")
        .arg(&obj));
    fails_saying(&out, &[&key.display().to_string()]);
    assert!(
        support::objects(&obj)
            .keys()
            .all(|o| o.starts_with("CMakeFiles/3")),
        "nothing compiled"
    );
}

/// A `file://` store whose directory does not exist is said to be missing, not empty.
#[test]
fn a_file_store_that_does_not_exist_is_named_as_missing() {
    let space = TestSpace::new();
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    support::git(&src, &["init", "-q"]);
    support::git(&src, &["add", "-A"]);
    support::git(&src, &["commit", "-qm", "one"]);
    let obj = space.path().join("obj");
    let mut cn = Command::new(cached_ninja());
    cn.env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"));
    support::cmake_configure(&mut cn, &src, &obj, &[]);
    let (_, public) = support::key_file(space.path(), "k.key");
    let missing = space.path().join("no/such/store");
    let policy = format!(
        "[[store]]\nurl = \"file://{}\"\n[trust]\npublishers = [\"{public}\"]\n",
        missing.display()
    );
    std::fs::write(obj.join("cached-ninja.toml"), policy).unwrap();
    let out = run(Command::new(cached_ninja())
        .args(["fetch", "--plan", "-C"])
        .arg(&obj));
    let err = said(&out);
    assert!(
        err.contains(&format!("file://{} (no such directory)", missing.display())),
        "{err}"
    );
}

/// `cache gc` of a cache it cannot remove from (a read-only mount here) says so and fails,
/// instead of reporting "0 files removed" as done.
#[test]
fn a_gc_that_cannot_remove_says_so() {
    let unshare = support::require_tool("unshare", "util-linux");
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let dir = cache.join("cas/ab");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..4 {
        std::fs::write(dir.join(format!("{i:062}")), vec![7u8; 10_000]).unwrap();
    }
    let script =
        "mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\" && shift && exec \"$@\"";
    let out = run(Command::new(unshare)
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(&cache)
        .arg(cached_ninja())
        .args(["cache", "gc", "--max-size", "1K"])
        .env("CACHED_NINJA_CACHE_DIR", &cache));
    fails_saying(&out, &["4 files of", "could not be removed"]);
    let out = run(Command::new(cached_ninja())
        .args(["cache", "gc", "--max-size", "1K"])
        .env("CACHED_NINJA_CACHE_DIR", &cache));
    assert!(out.status.success(), "{}", said(&out));
}

/// A cache "directory" that is a regular file: the build says so once and compiles, the
/// problem is counted as the cache's (not as corrupt entries), and `cache stats` fails.
#[test]
fn a_cache_that_is_a_file_is_named_as_such() {
    let space = TestSpace::new();
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let obj = space.path().join("obj");
    let cache = space.path().join("cachefile");
    std::fs::write(&cache, b"not a directory").unwrap();
    let mut cn = Command::new(cached_ninja());
    cn.env("CACHED_NINJA_CACHE_DIR", &cache);
    support::cmake_configure(&mut cn, &src, &obj, &[]);
    let out = run(Command::new(cached_ninja())
        .env("CACHED_NINJA_CACHE_DIR", &cache)
        .args(["build", "--no-fetch", "--no-fill", "-C"])
        .arg(&obj));
    // The launchers' lines come through Ninja's output.
    let err = format!("{}{}", String::from_utf8_lossy(&out.stdout), said(&out));
    assert!(out.status.success(), "{err}");
    let named = format!("the cache {} is not a directory", cache.display());
    assert_eq!(err.matches(&named).count(), 1, "{err}");
    assert_eq!(err.matches("warning:").count(), 1, "{err}");
    assert!(!err.contains("dropped it"), "{err}");
    let v = support::stats_json(&obj);
    assert_eq!(v["problems"]["corrupt"], 0, "{v}");
    assert!(v["problems"]["store"].as_u64() > Some(0), "{v}");
    let out = run(Command::new(cached_ninja())
        .args(["cache", "stats"])
        .env("CACHED_NINJA_CACHE_DIR", &cache));
    fails_saying(&out, &[&named]);
}

/// A generator or Ninja that cannot be run: an install hint for the usual names, none for a
/// path the user gave (a typo is no missing package).
#[test]
fn a_tool_that_cannot_be_run_gets_the_right_hint() {
    let space = TestSpace::new();
    let empty_path = space.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let out = run(Command::new(cached_ninja())
        .env("PATH", &empty_path)
        .args(["configure", "--enable-build-backend=cached-ninja", "--"])
        .args(["cmake", "-G", "Ninja", "-S", "src", "-B", "obj"])
        .current_dir(space.path()));
    fails_saying(&out, &["cmake", "apt-get install -y cmake"]);

    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let obj = space.path().join("obj");
    let mut cn = Command::new(cached_ninja());
    cn.env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"));
    support::cmake_configure(&mut cn, &src, &obj, &[]);
    let out = run(Command::new(cached_ninja())
        .env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"))
        .args(["build", "--no-fetch", "--ninja", "/typo/ninja", "-C"])
        .arg(&obj));
    fails_saying(&out, &["/typo/ninja", "--ninja"]);
    assert!(!said(&out).contains("apt-get"), "{}", said(&out));
}

/// `cc --help` says what the launcher does, its options and its environment (it was a bare
/// usage line), and `publish --help` offers no `--prefetch` (the pull's order means nothing
/// to an upload), which `fetch --help` keeps.
#[test]
fn help_texts_say_what_applies() {
    let help = |args: &[&str]| {
        let out = run(Command::new(cached_ninja()).args(args));
        assert!(out.status.success(), "{}", said(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cc = help(&["cc", "--help"]);
    for w in [
        "--src-root",
        "--dwp-step",
        "CACHED_NINJA_CACHE_DIR",
        "local cache",
    ] {
        assert!(cc.contains(w), "{w:?} in {cc}");
    }
    assert!(!help(&["publish", "--help"]).contains("--prefetch"));
    assert!(help(&["fetch", "--help"]).contains("--prefetch"));
}
