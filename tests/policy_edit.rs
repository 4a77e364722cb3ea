//! A policy edited after `generate`, under plain Ninja (issue 16): the launchers follow the
//! rules `generate` applied and read no policy, so the first launch of each build that sees
//! the edit, a hit as well as a miss, warns once, naming the file; `cached-ninja build` and a
//! re-run `generate` stay quiet.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{
    cached_ninja, cmake_configure, copy_tree, hits_misses, repo_root, run_ok, TestSpace,
};

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

/// The example project configured through `generate` in a fresh space, with `policy` (if
/// any) in its source root: (space, source root, object directory, cache, policy file).
fn configured(policy: Option<&str>) -> (TestSpace, PathBuf, PathBuf, PathBuf, PathBuf) {
    let space = TestSpace::new();
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let (obj, cache) = (space.path().join("obj"), space.path().join("cache"));
    let file = src.join("cached-ninja.toml");
    if let Some(text) = policy {
        std::fs::write(&file, text).unwrap();
    }
    cmake_configure(&mut cn(&cache), &src, &obj, &[]);
    (space, src, obj, cache, file)
}

#[test]
fn an_edited_policy_warns_once_per_plain_ninja_build() {
    let rule = "[[rule]]\nglob = \"nothing/*\"\ncache = false\n";
    let (_space, src, obj, cache, policy) = configured(Some(rule));

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

    // Each build warns again, a build with only hits (nothing compiles) too.
    touch_all(&src, 2);
    assert_eq!(warnings(&ninja(&obj, &cache)).len(), 1);
    std::fs::remove_dir_all(obj.join("CMakeFiles/geom.dir")).unwrap();
    let before = hits_misses(&obj);
    let out = ninja(&obj, &cache);
    let (hits, misses) = hits_misses(&obj);
    assert_eq!((hits - before.0, misses - before.1), (2, 0), "hits only");
    assert_eq!(warnings(&out).len(), 1, "{out:?}");

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

/// Removes the example project's objects, so the next build's edges all run (and hit).
fn remove_objects(obj: &Path) {
    for dir in ["geom", "report", "shapes"] {
        std::fs::remove_dir_all(obj.join(format!("CMakeFiles/{dir}.dir"))).unwrap();
    }
}

/// A plain `ninja` build in `obj` in which every compile edge is a hit; returns its output.
fn hit_only_build(obj: &Path, cache: &Path) -> Output {
    remove_objects(obj);
    let before = hits_misses(obj);
    let out = ninja(obj, cache);
    let (hits, misses) = hits_misses(obj);
    assert_eq!((hits - before.0, misses - before.1), (5, 0), "hits only");
    out
}

/// A policy created after `generate` where it found none is an edit too, seen by hits.
#[test]
fn a_policy_created_after_generate_warns() {
    let (_space, _, obj, cache, _) = configured(None);
    assert_eq!(warnings(&ninja(&obj, &cache)), Vec::<String>::new());
    assert_eq!(
        warnings(&hit_only_build(&obj, &cache)),
        Vec::<String>::new()
    );
    std::fs::write(obj.join("cached-ninja.toml"), "split_dwarf = true\n").unwrap();
    let w = warnings(&hit_only_build(&obj, &cache));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("obj/cached-ninja.toml"), "{w:?}");
}

/// A policy removed, or broken, after `generate`: a build of hits only warns once, each build,
/// until `generate` applies the file again.
#[test]
fn a_hit_only_build_warns_of_a_removed_or_broken_policy() {
    let (_space, _, obj, cache, policy) = configured(Some("split_dwarf = false\n"));
    ninja(&obj, &cache);
    assert_eq!(
        warnings(&hit_only_build(&obj, &cache)),
        Vec::<String>::new()
    );

    std::fs::remove_file(&policy).unwrap();
    for _ in 0..2 {
        let w = warnings(&hit_only_build(&obj, &cache));
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("shapes/cached-ninja.toml"), "{w:?}");
    }
    // Back, but not the same file (another inode and time): still an edit.
    std::fs::write(&policy, "split_dwarf = false\n[[rule]\n").unwrap();
    assert_eq!(warnings(&hit_only_build(&obj, &cache)).len(), 1);

    std::fs::write(&policy, "split_dwarf = false\n").unwrap();
    run_ok(cn(&cache).args(["generate", "-C"]).arg(&obj));
    assert_eq!(
        warnings(&hit_only_build(&obj, &cache)),
        Vec::<String>::new()
    );
}

/// `cached-ninja build` with a policy edited after `generate`: every build says so in one line
/// naming the file and `cached-ninja generate -C DIR`; the Ninja files keep the old rules until
/// `generate` applies the file, then everything is quiet again.
#[test]
fn cached_ninja_build_names_an_edited_policy_until_generate_applies_it() {
    let (_space, _, obj, cache, policy) = configured(Some("split_dwarf = false\n"));
    let build = || {
        let out = run_ok(cn(&cache).args(["build", "--no-fill", "-C"]).arg(&obj));
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains("changed since `cached-ninja generate` read it"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let through_launcher = || {
        let out = run_ok(
            Command::new("ninja")
                .arg("-C")
                .arg(&obj)
                .args(["-t", "commands"]),
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let circle = text.lines().find(|l| l.contains("circle.c.o -c")).unwrap();
        circle.contains(" cc -- ")
    };
    assert_eq!(build(), Vec::<String>::new());
    assert!(through_launcher());

    // geom's objects kept out of the cache: each build names the file and the command that
    // applies it; the Ninja files keep the old rules until then.
    std::fs::write(
        &policy,
        "split_dwarf = false\n[[rule]]\nglob = \"CMakeFiles/geom.dir/**\"\ncache = false\n",
    )
    .unwrap();
    for _ in 0..2 {
        let lines = build();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains(&policy.display().to_string()),
            "{lines:?}"
        );
        assert!(lines[0].contains("cached-ninja generate -C"), "{lines:?}");
        assert!(through_launcher());
    }
    run_ok(cn(&cache).args(["generate", "-C"]).arg(&obj));
    assert!(!through_launcher());
    assert_eq!(build(), Vec::<String>::new());
    assert_eq!(warnings(&ninja(&obj, &cache)), Vec::<String>::new());
}
