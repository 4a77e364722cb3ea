//! A GN-style Ninja file of ours (`tests/rust-ninja`) that runs rustc directly (an rlib, and a
//! binary taking it through `--extern`), rewritten by `cached-ninja generate`: built in one
//! tree, then in a copy at another path with the same cache, every rustc edge hits.

mod support;

use std::path::Path;
use std::process::Command;
use support::{cached_ninja, copy_tree, hits_misses, repo_root, require_tool, run_ok, TestSpace};

/// Lays out `<root>/src` and `<root>/out/build.ninja`, rewrites it and builds it with ninja.
fn build(root: &Path, cache: &Path) -> std::process::Output {
    let ninja = require_tool("ninja", "ninja-build");
    copy_tree(&repo_root().join("tests/rust-ninja/src"), &root.join("src"));
    std::fs::create_dir_all(root.join("out/obj")).unwrap();
    std::fs::copy(
        repo_root().join("tests/rust-ninja/build.ninja.in"),
        root.join("out/build.ninja"),
    )
    .unwrap();
    let env = |c: &mut Command| {
        c.env("CACHED_NINJA_CACHE_DIR", cache)
            .env_remove("CACHED_NINJA_EXPLAIN");
    };
    let mut g = Command::new(cached_ninja());
    env(&mut g);
    let out = run_ok(
        g.arg("generate")
            .arg("-C")
            .arg(root.join("out"))
            .arg("--src-root")
            .arg(root.join("src")),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 of 2 edges through the launcher"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(root.join("out/build.ninja")).unwrap();
    assert!(text.contains("cc -- rustc --crate-name"), "{text}");
    let mut n = Command::new(ninja);
    env(&mut n);
    run_ok(n.arg("-C").arg(root.join("out")))
}

#[test]
fn rustc_edges_hit_at_another_path() {
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let a = space.path().join("a");
    let b = space.path().join("x/y/b");
    build(&a, &cache);
    assert_eq!(hits_misses(&a.join("out")), (0, 2));
    build(&b, &cache);
    assert_eq!(hits_misses(&b.join("out")), (2, 0));
    for f in ["hello", "obj/libgreet.rlib"] {
        let (x, y) = (a.join("out").join(f), b.join("out").join(f));
        assert!(
            std::fs::read(&x).unwrap() == std::fs::read(&y).unwrap(),
            "{f} differs"
        );
    }
    let hello = run_ok(&mut Command::new(b.join("out/hello")));
    assert_eq!(
        String::from_utf8_lossy(&hello.stdout),
        "hello, ninja (from ../src/greet/lib.rs)\n"
    );
    // `explain` knows the Rust outputs too: both hits, from A's compiles.
    for f in ["hello", "obj/libgreet.rlib"] {
        let e = explain_json(&b.join("out"), &cache, f);
        assert_eq!(e["outcome"], "hit", "{f}: {e}");
        assert!(
            e["origin"].as_str().unwrap().starts_with("local hit"),
            "{f}: {e}"
        );
        assert!(
            e["action_key"].as_str().is_some_and(|k| k.len() == 64),
            "{f}: {e}"
        );
    }
    // The dep-info Ninja read names this tree's files; a change is seen and compiled.
    let deps = run_ok(
        Command::new(require_tool("ninja", "ninja-build"))
            .arg("-C")
            .arg(b.join("out"))
            .args(["-t", "deps", "hello"]),
    );
    assert!(
        String::from_utf8_lossy(&deps.stdout).contains("../src/hello/main.rs"),
        "{}",
        String::from_utf8_lossy(&deps.stdout)
    );
    std::fs::write(
        b.join("src/greet/lib.rs"),
        "pub fn greeting(name: &str) -> String { format!(\"hi, {name}\") }\n",
    )
    .unwrap();
    let mut n = Command::new(require_tool("ninja", "ninja-build"));
    n.env("CACHED_NINJA_CACHE_DIR", &cache);
    run_ok(n.arg("-C").arg(b.join("out")));
    let hello = run_ok(&mut Command::new(b.join("out/hello")));
    assert_eq!(String::from_utf8_lossy(&hello.stdout), "hi, ninja\n");
    let e = explain_json(&b.join("out"), &cache, "obj/libgreet.rlib");
    assert_eq!(
        (&e["outcome"], &e["origin"]),
        (&"miss".into(), &"compiled".into()),
        "{e}"
    );
}

/// `cached-ninja explain --json -C obj output`.
fn explain_json(obj: &Path, cache: &Path, output: &str) -> serde_json::Value {
    let out = run_ok(
        Command::new(cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", cache)
            .args(["explain", "--json", "-C"])
            .arg(obj)
            .arg(output),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
