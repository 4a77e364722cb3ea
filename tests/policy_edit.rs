//! A policy edited after `generate`, under plain Ninja (issue 16): the launchers follow the
//! rules `generate` applied and read no policy, so the first miss of each build warns once,
//! naming the file; hits, `cached-ninja build` and a re-run `generate` stay quiet.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use support::{cached_ninja, cmake_configure, copy_tree, repo_root, run_ok, TestSpace};

fn cn(cache: &Path) -> Command {
    let mut c = Command::new(cached_ninja());
    c.env("CACHED_NINJA_CACHE_DIR", cache);
    c
}

/// Plain `ninja` in `obj`, with the launchers' cache `cache`.
fn ninja(obj: &Path, cache: &Path) -> Output {
    run_ok(
        Command::new("ninja")
            .arg("-C")
            .arg(obj)
            .env("CACHED_NINJA_CACHE_DIR", cache)
            .env_remove("CACHED_NINJA_BUILD"),
    )
}

/// The policy warnings in a build's output.
fn warnings(out: &Output) -> Vec<String> {
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter(|l| l.contains("was edited after `cached-ninja generate`"))
        .map(str::to_string)
        .collect()
}

/// Appends a line to every source of the example project, so each compile edge misses.
fn touch_all(src: &Path, n: u32) {
    for f in [
        "geom/circle.c",
        "geom/rect.c",
        "report/shapes.cpp",
        "report/format.cpp",
        "app/main.cpp",
    ] {
        let p = src.join(f);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("{text}\n// edit {n}\n")).unwrap();
    }
}

#[test]
fn an_edited_policy_warns_once_per_plain_ninja_build() {
    let space = TestSpace::new();
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let (obj, cache) = (space.path().join("obj"), space.path().join("cache"));
    let policy = src.join("cached-ninja.toml");
    std::fs::write(&policy, "[[rule]]\nglob = \"nothing/*\"\ncache = false\n").unwrap();
    cmake_configure(&mut cn(&cache), &src, &obj, &[]);

    // As generate read it: five misses, no warning.
    let out = ninja(&obj, &cache);
    assert_eq!(warnings(&out), Vec::<String>::new());

    // Edited (broken, even): the next build's misses warn once, naming the file.
    std::fs::write(&policy, "[[rule]\nglob = \n").unwrap();
    touch_all(&src, 1);
    let out = ninja(&obj, &cache);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(&policy.canonicalize().unwrap().display().to_string()),
        "{w:?}"
    );
    assert!(w[0].contains("cached-ninja generate -C"), "{w:?}");

    // Each build warns again; a build with only hits (nothing compiles) says nothing.
    touch_all(&src, 2);
    assert_eq!(warnings(&ninja(&obj, &cache)).len(), 1);
    std::fs::remove_dir_all(obj.join("CMakeFiles/geom.dir")).unwrap();
    assert_eq!(warnings(&ninja(&obj, &cache)), Vec::<String>::new());

    // `cached-ninja build` reads the policy itself: a broken one stops it, naming the file,
    // before any launcher runs.
    touch_all(&src, 3);
    let out = cn(&cache).args(["build", "-C"]).arg(&obj).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&policy.display().to_string()),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Fixed and applied: quiet again.
    std::fs::write(&policy, "[[rule]]\nglob = \"nothing/*\"\ncache = false\n").unwrap();
    run_ok(cn(&cache).args(["generate", "-C"]).arg(&obj));
    touch_all(&src, 4);
    assert_eq!(warnings(&ninja(&obj, &cache)), Vec::<String>::new());
}

/// A policy created after `generate` where it found none is an edit too.
#[test]
fn a_policy_created_after_generate_warns() {
    let space = TestSpace::new();
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let (obj, cache) = (space.path().join("obj"), space.path().join("cache"));
    cmake_configure(&mut cn(&cache), &src, &obj, &[]);
    std::fs::write(obj.join("cached-ninja.toml"), "split_dwarf = true\n").unwrap();
    let w = warnings(&ninja(&obj, &cache));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("obj/cached-ninja.toml"), "{w:?}");
}
