//! Objects first (issue 14, DESIGN §6): with split DWARF a developer's build downloads and
//! materialises only what the linker needs; the debug parts stay in the store until
//! `dbgfetch fill` brings them after the link. Checked from a real nginx's access log (every
//! request with its body size), with the program run and gdb reading the locals after the fill.
//! Also a hit whose debug blob is not in the local cache (no network): served, counted
//! `debug-deferred`, no fallback, and the fill then gets the part from the store.

mod support;

#[path = "dbgfetch/project.rs"]
#[allow(dead_code)] // shared with tests/dbgfetch.rs, which uses all of it
mod project;

use fetch::cache::Digest;
use project::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use support::servers::nginx::{conf, Nginx};
use support::{cached_ninja, copy_tree, git, key_file, require_tool, run_ok, TestSpace};

/// nginx with WebDAV PUT logging `$request_method $uri $status $body_bytes_sent`.
fn nginx() -> Nginx {
    Nginx::start_with(|dir, port| {
        conf(
            dir,
            "$request_method $uri $status $body_bytes_sent",
            &format!("listen 127.0.0.1:{port};"),
        )
    })
}

/// The access log's lines, as (method, uri, status, bytes sent).
fn requests(n: &Nginx) -> Vec<(String, String, u16, u64)> {
    let log = std::fs::read_to_string(n.dir().join("access.log")).unwrap_or_default();
    log.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// The two-file program's sources at `src` with `policy` as its `cached-ninja.toml`.
fn write_sources(src: &Path, policy: &str) {
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(src.join("a.c"), A_C).unwrap();
    std::fs::write(src.join("b.c"), B_C).unwrap();
    std::fs::write(src.join("CMakeLists.txt"), CMAKE).unwrap();
    std::fs::write(src.join("cached-ninja.toml"), policy).unwrap();
}

/// `cached-ninja configure` of `src` into `obj` with `cache` (the policy is the source's).
fn configure(src: &Path, obj: &Path, cache: &Path) -> Project {
    require_tool("gcc", "gcc");
    let p = Project {
        src: src.to_path_buf(),
        obj: obj.to_path_buf(),
        cache: cache.to_path_buf(),
    };
    // A flag naming the object directory (as CMake's include of a generated header would):
    // a key that took it for another path would differ from CI's.
    let flags = format!("-DCMAKE_C_FLAGS=-I{}/gen", obj.display());
    support::cmake_configure(&mut p.cn(), src, obj, &[&flags]);
    p
}

/// `cached-ninja stats --json` of an object directory.
fn stats(obj: &Path) -> serde_json::Value {
    let out = run_ok(
        Command::new(cached_ninja())
            .args(["stats", "--json", "-C"])
            .arg(obj),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The store URIs (`/cn/cas/<hex>`) of the `.dwo` files under `obj`.
fn dwo_uris(obj: &Path) -> BTreeSet<String> {
    files_named(obj, ".dwo")
        .iter()
        .map(|f| {
            format!(
                "/cn/cas/{}",
                Digest::of(&std::fs::read(f).unwrap()).to_hex()
            )
        })
        .collect()
}

/// CI's commit of the two-file program in `space/ci`, built and published to `n` by a policy
/// that names the store and trusts CI's new key (no `split_dwarf` line: a policy that names a
/// store splits DWARF by default).
fn ci_publishes(space: &TestSpace, n: &Nginx) -> Project {
    let (key, public) = key_file(space.path(), "ci.key");
    let policy = format!(
        "[[store]]\nurl = \"{}\"\nwrite = true\n[trust]\npublishers = [\"{public}\"]\n[publish]\nkey = \"{}\"\n",
        n.url("cn"),
        key.display()
    );
    let ci_src = space.path().join("ci/src");
    write_sources(&ci_src, &policy);
    git(&ci_src, &["init", "-q"]);
    git(&ci_src, &["add", "-A"]);
    git(&ci_src, &["commit", "-qm", "ci"]);
    let ci = configure(
        &ci_src,
        &space.path().join("ci/obj"),
        &space.path().join("ci/cache"),
    );
    run_ok(ci.cn().args(["build", "--publish", "-C"]).arg(&ci.obj));
    ci
}

#[test]
fn a_developer_build_downloads_no_debug_part_and_the_fill_brings_them() {
    let space = TestSpace::new();
    let n = nginx();
    // CI: builds and publishes its commit.
    let ci = ci_publishes(&space, &n);
    let ci_src = ci.src.clone();
    let dwo = dwo_uris(&ci.obj);
    assert_eq!(dwo.len(), 2, "CI compiled with split DWARF by default");
    let published = requests(&n);
    for uri in &dwo {
        assert!(
            published.iter().any(|r| r.0 == "PUT" && &r.1 == uri),
            "CI uploads the debug parts too: {uri}\n{published:?}"
        );
    }

    // A developer at another path, one commit ahead, with an empty cache.
    let dev_src = space.path().join("dev/src");
    git(
        space.path(),
        &[
            "clone",
            "-q",
            &ci_src.display().to_string(),
            &dev_src.display().to_string(),
        ],
    );
    std::fs::write(dev_src.join("NOTES"), "local work\n").unwrap();
    git(&dev_src, &["add", "NOTES"]);
    git(&dev_src, &["commit", "-qm", "local"]);
    let dev = configure(
        &dev_src,
        &space.path().join("dev/obj"),
        &space.path().join("dev/cache"),
    );
    let out = run_ok(dev.cn().args(["build", "--no-fill", "-C"]).arg(&dev.obj));
    let build_log = requests(&n)[published.len()..].to_vec();
    let gets: Vec<&String> = build_log
        .iter()
        .filter(|r| r.0 == "GET")
        .map(|r| &r.1)
        .collect();
    assert!(
        gets.iter().any(|u| u.starts_with("/cn/cas/")),
        "the build pulled objects: {gets:?}\n{}",
        text(&out)
    );
    for uri in &dwo {
        assert!(
            !gets.contains(&uri),
            "a debug part was downloaded before the link: {uri}\n{gets:?}"
        );
    }
    let s = stats(&dev.obj);
    assert_eq!(
        (
            s["hits"].as_u64(),
            s["misses"].as_u64(),
            s["errors"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "{s}"
    );
    assert_eq!(s["debug_deferred"].as_u64(), Some(2), "{s}");
    assert!(files_named(&dev.obj, ".dwo").is_empty());
    let human = String::from_utf8_lossy(
        &run_ok(
            Command::new(cached_ninja())
                .args(["stats", "-C"])
                .arg(&dev.obj),
        )
        .stdout,
    )
    .into_owned();
    assert!(human.contains("debug-deferred 2"), "{human}");
    let ran = Command::new(dev.obj.join("two")).status().unwrap();
    assert!(ran.success(), "the program runs: {ran}");
    assert!(dev.gdb("two", "b.c:4").contains("No locals."));

    // The fill brings exactly the debug parts from the store.
    let before_fill = requests(&n).len();
    let out = dev.fill();
    assert!(out.status.success(), "{}", text(&out));
    let fill_log = requests(&n)[before_fill..].to_vec();
    for uri in &dwo {
        assert!(
            fill_log
                .iter()
                .any(|r| r.0 == "GET" && &r.1 == uri && r.2 == 200),
            "the fill fetched {uri}: {fill_log:?}"
        );
    }
    assert_filled(&dev, "two", "dwp", 2);
    assert_gdb_filled(&dev.gdb("two", "b.c:4"));
}

#[test]
fn a_hit_whose_debug_blob_is_not_here_serves_the_object_and_the_fill_gets_it_from_the_store() {
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let store = space.path().join("store");
    let (key, public) = key_file(space.path(), "ci.key");
    let policy = format!(
        "[[store]]\nurl = \"file://{}\"\nwrite = true\n[trust]\npublishers = [\"{public}\"]\n[publish]\nkey = \"{}\"\n",
        store.display(),
        key.display()
    );
    let a_src = space.path().join("a/src");
    write_sources(&a_src, &policy);
    let a = configure(&a_src, &space.path().join("a/obj"), &cache);
    run_ok(
        a.cn()
            .args(["build", "--no-fetch", "--publish", "--rev", "r1", "-C"])
            .arg(&a.obj),
    );
    // The debug blobs leave the local cache (as if pulled objects-only, or evicted).
    for dwo in files_named(&a.obj, ".dwo") {
        let bytes = std::fs::read(&dwo).unwrap();
        let blobs = cache_blobs_of(&cache, &bytes);
        assert_eq!(blobs.len(), 1, "{}", dwo.display());
        std::fs::remove_file(&blobs[0]).unwrap();
    }
    // A second tree at another path, same cache; a stale `.dwo` waits where b.c's goes.
    let b_src = space.path().join("b/src");
    copy_tree(&a_src, &b_src);
    let b = configure(&b_src, &space.path().join("b/obj"), &cache);
    let stale = b.obj.join("CMakeFiles/two.dir/b.c.dwo");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, b"an older compile's split units").unwrap();
    let out = run_ok(
        b.cn()
            .args(["build", "--no-fetch", "--no-fill", "-C"])
            .arg(&b.obj),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("warning"),
        "the expected path prints nothing:\n{err}"
    );
    let s = stats(&b.obj);
    assert_eq!(
        (
            s["hits"].as_u64(),
            s["misses"].as_u64(),
            s["errors"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "served, no fallback: {s}"
    );
    assert_eq!(s["debug_deferred"].as_u64(), Some(2), "{s}");
    assert!(
        !stale.exists(),
        "a .dwo that does not match the object is removed"
    );
    assert!(Command::new(b.obj.join("two")).status().unwrap().success());
    let out = b.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&b, "two", "dwp", 2);
    assert!(
        b.status("two")["fetched"].as_u64().unwrap() > 0,
        "from the store"
    );
    assert_gdb_filled(&b.gdb("two", "b.c:4"));
}

/// The store URI (`/cn/cas/<hex>`) of the object under `obj` whose name ends in `suffix`.
fn object_uri(obj: &Path, suffix: &str) -> String {
    let files = files_named(obj, suffix);
    assert_eq!(files.len(), 1, "{suffix}: {files:?}");
    let d = Digest::of(&std::fs::read(&files[0]).unwrap());
    format!("/cn/cas/{}", d.to_hex())
}

#[test]
fn the_object_of_a_source_changed_here_is_not_downloaded() {
    let space = TestSpace::new();
    let n = nginx();
    let ci = ci_publishes(&space, &n);
    let ci_src = ci.src.clone();
    let (a_o, b_o) = (object_uri(&ci.obj, "a.c.o"), object_uri(&ci.obj, "b.c.o"));
    let published = requests(&n).len();

    // A developer one commit ahead who changed b.c.
    let dev_src = space.path().join("dev/src");
    let (from, to) = (ci_src.display().to_string(), dev_src.display().to_string());
    git(space.path(), &["clone", "-q", &from, &to]);
    let b = B_C.replace("int step = 1;", "int step = 1; /* changed here */");
    std::fs::write(dev_src.join("b.c"), b).unwrap();
    git(&dev_src, &["commit", "-qam", "local"]);
    let dev = configure(
        &dev_src,
        &space.path().join("dev/obj"),
        &space.path().join("dev/cache"),
    );
    // `-C` relative to the working directory, as people type it: the launchers' keys (made
    // in the object directory) and the pull's "changed here" keys must agree.
    let out = run_ok(
        dev.cn()
            .current_dir(space.path().join("dev"))
            .args(["fetch", "-C", "obj"]),
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("1 entries fetched")
            && err.contains("1 left out (their sources changed here)"),
        "{err}"
    );
    let gets: Vec<String> = requests(&n)[published..]
        .iter()
        .filter(|r| r.0 == "GET")
        .map(|r| r.1.clone())
        .collect();
    assert!(
        gets.contains(&a_o),
        "the unchanged source's object came: {gets:?}"
    );
    assert!(
        !gets.contains(&b_o),
        "the changed source's object came: {gets:?}"
    );
    assert!(
        !gets.iter().any(|u| u.starts_with("/cn/ac/")),
        "no action entry is asked for: {gets:?}"
    );
    // The build hits on a.c and compiles b.c; nothing more is downloaded.
    let before = requests(&n).len();
    run_ok(dev.cn().args(["build", "--no-fill", "-C"]).arg(&dev.obj));
    let s = stats(&dev.obj);
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let later: Vec<_> = requests(&n)[before..]
        .iter()
        .filter(|r| r.0 == "GET" && r.1.starts_with("/cn/cas/"))
        .cloned()
        .collect();
    assert!(
        later.is_empty(),
        "an object already here is not downloaded again: {later:?}"
    );
}
