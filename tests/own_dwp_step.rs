//! A build that packages its split-DWARF `.dwo` files itself (a CMake post-build `dwp` or
//! `llvm-dwp`, as Chromium's and LLVM's split-DWARF setups do) reads every `.dwo` its objects
//! name before the build ends. Objects first (DESIGN §6) would leave them to `dbgfetch fill`
//! and fail that step; `generate` notices the packager, the pull brings the debug parts with
//! the objects, every hit writes its `.dwo`, and no background fill competes with the
//! project's own `.dwp`. `llvm-dwp` finds a `.dwo` below its unit's `DW_AT_comp_dir`, so
//! there objects name the real object root (and are shared at that root only).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{cached_ninja, git, key_file, require_tool, run, run_ok, TestSpace};

const UTIL_C: &str = "int util(int x) {\n    int doubled = x * 2;\n    return doubled;\n}\n";
const MAIN_C: &str =
    "#include <stdio.h>\nint util(int);\nint main(void) {\n    printf(\"%d\\n\", util(21));\n    return 0;\n}\n";

/// The program's sources at `src`, its link followed by `packer -e app -o app.dwp`.
fn write_sources(src: &Path, packer: &Path) {
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(src.join("util.c"), UTIL_C).unwrap();
    std::fs::write(src.join("main.c"), MAIN_C).unwrap();
    let cmake = format!(
        "cmake_minimum_required(VERSION 3.10)\nproject(p C)\nadd_executable(app main.c util.c)\n\
         add_custom_command(TARGET app POST_BUILD COMMAND {} -e $<TARGET_FILE:app> -o $<TARGET_FILE:app>.dwp)\n",
        packer.display()
    );
    std::fs::write(src.join("CMakeLists.txt"), cmake).unwrap();
}

/// `cached-ninja` with the local cache `cache`.
fn cn(cache: &Path) -> Command {
    let mut c = Command::new(cached_ninja());
    c.env("CACHED_NINJA_CACHE_DIR", cache);
    c
}

/// Configures `src` into `obj` through the launcher, compiling with split DWARF (DWARF 4, the
/// form both packagers read).
fn configure(src: &Path, obj: &Path, cache: &Path) {
    require_tool("gcc", "gcc");
    let flags = "-DCMAKE_C_FLAGS=-gsplit-dwarf -gdwarf-4";
    support::cmake_configure(&mut cn(cache), src, obj, &[flags]);
}

/// `cached-ninja build --no-fetch`'s or `build`'s output (`args` before `-C obj`), asserted
/// to succeed.
fn build(cache: &Path, obj: &Path, args: &[&str]) -> Output {
    let out = run(cn(cache).arg("build").args(args).arg("-C").arg(obj));
    assert!(out.status.success(), "the build failed:\n{}", text(&out));
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `cached-ninja stats --json` of `obj`.
fn stats(obj: &Path) -> serde_json::Value {
    let out = run_ok(
        Command::new(cached_ninja())
            .args(["stats", "--json", "-C"])
            .arg(obj),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The compile units `llvm-dwarfdump` finds in the package `dwp` (their `DW_AT_name`s).
fn units_in(dwp: &Path) -> Vec<String> {
    require_tool("llvm-dwarfdump", "llvm");
    let out = run_ok(Command::new("llvm-dwarfdump").arg("--debug-info").arg(dwp));
    let dump = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut names: Vec<String> = dump
        .lines()
        .filter(|l| l.contains("DW_AT_name") && l.contains(".c\""))
        .map(|l| {
            l.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(['"', ')'])
                .to_string()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// gdb on `obj/app` stopped in `util`: its locals (read from the `.dwp` beside it).
fn gdb_locals(obj: &Path) -> String {
    require_tool("gdb", "gdb");
    let out = run(Command::new("gdb")
        .current_dir(obj)
        .args([
            "-batch",
            "-nx",
            "-ex",
            "break util",
            "-ex",
            "run",
            "-ex",
            "next",
        ])
        .args(["-ex", "info locals"])
        .arg(obj.join("app")));
    text(&out)
}

/// The `.dwo` files below `dir`.
fn dwo_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "dwo") {
                out.push(p);
            }
        }
    }
    out
}

/// CI's commit of the program in `space/ci` with a policy naming a `file://` store (written
/// by CI, CI's key trusted), built and published.
fn ci_publishes(space: &TestSpace, packer: &Path) {
    let (key, public) = key_file(space.path(), "ci.key");
    let store = format!("file://{}", space.path().join("store").display());
    let src = space.path().join("ci/src");
    write_sources(&src, packer);
    let policy = format!(
        "[[store]]\nurl = \"{store}\"\nwrite = true\n[trust]\npublishers = [\"{public}\"]\n[publish]\nkey = \"{}\"\n",
        key.display()
    );
    std::fs::write(src.join("cached-ninja.toml"), policy).unwrap();
    git(&src, &["init", "-q"]);
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-qm", "ci"]);
    let obj = space.path().join("ci/obj");
    let cache = space.path().join("ci/cache");
    configure(&src, &obj, &cache);
    build(&cache, &obj, &["--publish"]);
}

/// A developer's clone of CI's commit at `space/dev`, one commit ahead, configured into
/// `space/dev/obj`; returns the object directory.
fn developer(space: &TestSpace) -> PathBuf {
    let ci_src = space.path().join("ci/src");
    let src = space.path().join("dev/src");
    git(
        space.path(),
        &[
            "clone",
            "-q",
            &ci_src.display().to_string(),
            &src.display().to_string(),
        ],
    );
    std::fs::write(src.join("NOTES"), "local work\n").unwrap();
    git(&src, &["add", "NOTES"]);
    git(&src, &["commit", "-qm", "local"]);
    let obj = space.path().join("dev/obj");
    configure(&src, &obj, &space.path().join("dev/cache"));
    obj
}

#[test]
fn a_build_that_runs_dwp_gets_every_dwo_with_the_pulled_objects() {
    let dwp = require_tool("dwp", "binutils");
    let space = TestSpace::new();
    ci_publishes(&space, &dwp);
    let obj = developer(&space);
    let config = std::fs::read_to_string(obj.join(".cached-ninja/config")).unwrap();
    assert!(config.contains("dwp-step = gnu"), "{config}");

    let out = build(&space.path().join("dev/cache"), &obj, &[]);
    let s = stats(&obj);
    assert_eq!(
        (
            s["hits"].as_u64(),
            s["misses"].as_u64(),
            s["debug_deferred"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "both objects came from CI with their .dwo: {s}\n{}",
        text(&out)
    );
    assert_eq!(
        dwo_files(&obj.join("CMakeFiles/app.dir")).len(),
        2,
        "{}",
        text(&out)
    );
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    assert!(
        !text(&out).contains("dbgfetch: filling"),
        "no background fill beside the project's own .dwp:\n{}",
        text(&out)
    );
    let gdb = gdb_locals(&obj);
    assert!(
        gdb.contains("doubled = 42"),
        "gdb reads util's locals from app.dwp:\n{gdb}"
    );
}

#[test]
fn a_build_that_runs_llvm_dwp_names_the_real_object_root() {
    let llvm_dwp = require_tool("llvm-dwp", "llvm");
    let space = TestSpace::new();
    ci_publishes(&space, &llvm_dwp);
    let obj = developer(&space);
    let config = std::fs::read_to_string(obj.join(".cached-ninja/config")).unwrap();
    assert!(config.contains("dwp-step = llvm"), "{config}");

    // CI's objects name CI's object root: compiled here, where llvm-dwp finds the .dwo files.
    let cache = space.path().join("dev/cache");
    let out = build(&cache, &obj, &[]);
    assert_eq!(support::hits_misses(&obj), (0, 2), "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    let gdb = gdb_locals(&obj);
    assert!(gdb.contains("doubled = 42"), "{gdb}");

    // At the same root, the cache serves them, .dwo files included, and llvm-dwp runs again.
    for o in support::objects(&obj).keys() {
        std::fs::remove_file(obj.join(o)).unwrap();
    }
    for d in dwo_files(&obj.join("CMakeFiles/app.dir")) {
        std::fs::remove_file(d).unwrap();
    }
    std::fs::remove_file(obj.join("app.dwp")).unwrap();
    let out = build(&cache, &obj, &["--no-fetch"]);
    assert_eq!(support::hits_misses(&obj), (2, 0), "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
}
