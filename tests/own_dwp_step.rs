//! A build that packages its split-DWARF `.dwo` files itself (a CMake post-build `dwp` or
//! `llvm-dwp`, as Chromium's and LLVM's split-DWARF setups do) reads every `.dwo` its objects
//! name before the build ends. Objects first (DESIGN §6) would leave them to `dbgfetch fill`
//! and fail that step; `generate` notices the packager (and tells the launchers on their
//! command line, so a step added later recompiles), the pull brings the debug parts with the
//! objects, every hit writes its `.dwo`, and the fill leaves the project's own `.dwp` alone
//! while it fills the binaries the project does not package. `llvm-dwp` finds a `.dwo` below
//! its unit's `DW_AT_comp_dir`, so there objects name the real object root (and are shared
//! at that root only).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::published::cn;
use support::{cached_ninja, git, key_file, require_tool, run, run_ok, TestSpace};

const UTIL_C: &str = "int util(int x) {\n    int doubled = x * 2;\n    return doubled;\n}\n";
const MAIN_C: &str =
    "#include <stdio.h>\nint util(int);\nint main(void) {\n    printf(\"%d\\n\", util(21));\n    return 0;\n}\n";
const TOOL_C: &str = "int main(void) {\n    int tripled = 3 * 2;\n    return tripled - 6;\n}\n";

/// The program's sources at `src`: `app`, its link followed by `post_build` when given (a
/// packager: [`packs`]), and `tool`, which the project never packages.
fn write_sources(src: &Path, post_build: Option<String>) {
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(src.join("util.c"), UTIL_C).unwrap();
    std::fs::write(src.join("main.c"), MAIN_C).unwrap();
    std::fs::write(src.join("tool.c"), TOOL_C).unwrap();
    write_cmake(src, post_build);
}

/// A post-build command packaging `app` with `packer`.
fn packs(packer: &Path) -> Option<String> {
    let target = "$<TARGET_FILE:app>";
    Some(format!("{} -e {target} -o {target}.dwp", packer.display()))
}

/// The program's `CMakeLists.txt` (only: the sources keep their times, so that Ninja has no
/// reason of its own to compile again).
fn write_cmake(src: &Path, post_build: Option<String>) {
    let mut cmake = "cmake_minimum_required(VERSION 3.10)\nproject(p C)\n\
        add_executable(app main.c util.c)\nadd_executable(tool tool.c)\n"
        .to_string();
    if let Some(command) = post_build {
        cmake.push_str(&format!(
            "add_custom_command(TARGET app POST_BUILD COMMAND {command})\n"
        ));
    }
    std::fs::write(src.join("CMakeLists.txt"), cmake).unwrap();
}

/// Configures `src` into `obj` through the launcher, compiling with split DWARF (DWARF 4, the
/// form both packagers read).
fn configure(src: &Path, obj: &Path, cache: &Path) {
    require_tool("gcc", "gcc");
    let flags = "-DCMAKE_C_FLAGS=-gsplit-dwarf -gdwarf-4";
    support::cmake_configure(&mut cn(cache), src, obj, &[flags]);
}

/// `cached-ninja build ARGS -C obj`'s output, asserted to succeed.
fn build(cache: &Path, obj: &Path, args: &[&str]) -> Output {
    let out = run(cn(cache).arg("build").args(args).arg("-C").arg(obj));
    assert!(out.status.success(), "the build failed:\n{}", text(&out));
    out
}

/// `dbgfetch fill --wait` in `obj` with the local cache `cache`, asserted to succeed.
fn fill(cache: &Path, obj: &Path) {
    let dbgfetch = cached_ninja().with_file_name("dbgfetch");
    let out = run(Command::new(dbgfetch)
        .env("CACHED_NINJA_CACHE_DIR", cache)
        .args(["fill", "--wait", "-C"])
        .arg(obj));
    assert!(out.status.success(), "the fill failed:\n{}", text(&out));
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
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
            let name = l.rsplit('/').next().unwrap();
            name.trim_end_matches(['"', ')']).to_string()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// gdb on `obj/binary` stopped in `function`, one line on: its locals (read from the `.dwp`
/// beside it), gdb started outside the object directory with the launcher's mapping.
fn gdb_locals(obj: &Path, binary: &str, function: &str) -> String {
    require_tool("gdb", "gdb");
    let out = run(Command::new("gdb")
        .current_dir(obj.parent().unwrap())
        .args(["-batch", "-nx", "-x"])
        .arg(obj.join(".cached-ninja/gdbinit"))
        .args(["-ex", &format!("break {function}"), "-ex", "run"])
        .args(["-ex", "next", "-ex", "info locals"])
        .arg(obj.join(binary)));
    text(&out)
}

/// The `.dwo` files of `app`'s objects in `obj`.
fn app_dwo_files(obj: &Path) -> Vec<PathBuf> {
    let dir = obj.join("CMakeFiles/app.dir");
    let entries = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    entries
        .filter(|p| p.extension().is_some_and(|x| x == "dwo"))
        .collect()
}

/// The packager step's `dwp-step` word in `obj`'s configuration.
fn dwp_step(obj: &Path) -> String {
    let config = std::fs::read_to_string(obj.join(".cached-ninja/config")).unwrap();
    let line = config.lines().find(|l| l.starts_with("dwp-step = "));
    line.unwrap_or_default()
        .trim_start_matches("dwp-step = ")
        .to_string()
}

/// How an object directory is set up: `configure`d through the launcher, or
/// [`zero_setup_configure`]d (`src`, `obj`, the cache).
type Setup = fn(&Path, &Path, &Path);

/// CI's commit of the program in `space/ci` with a policy naming a `file://` store (written
/// by CI, CI's key trusted) and `more`, built and published.
fn ci_publishes(space: &TestSpace, post_build: Option<String>, more: &str) {
    ci_publishes_in(space, post_build, more, configure)
}

/// [`ci_publishes`] with its object directory set up by `setup`.
fn ci_publishes_in(space: &TestSpace, post_build: Option<String>, more: &str, setup: Setup) {
    let (key, public) = key_file(space.path(), "ci.key");
    let store = format!("file://{}", space.path().join("store").display());
    let src = space.path().join("ci/src");
    write_sources(&src, post_build);
    let policy = format!(
        "[[store]]\nurl = \"{store}\"\nwrite = true\n[trust]\npublishers = [\"{public}\"]\n[publish]\nkey = \"{}\"\n{more}",
        key.display()
    );
    std::fs::write(src.join("cached-ninja.toml"), policy).unwrap();
    git(&src, &["init", "-q"]);
    git(&src, &["add", "-A"]);
    git(&src, &["commit", "-qm", "ci"]);
    let obj = space.path().join("ci/obj");
    let cache = space.path().join("ci/cache");
    setup(&src, &obj, &cache);
    build(&cache, &obj, &["--publish", "--no-fill"]);
}

/// A developer's clone of CI's commit at `space/dev`, one commit ahead, configured into
/// `space/dev/obj`; returns the object directory.
fn developer(space: &TestSpace) -> PathBuf {
    developer_in(space, configure)
}

/// [`developer`] with the object directory set up by `setup`.
fn developer_in(space: &TestSpace, setup: Setup) -> PathBuf {
    let ci_src = space.path().join("ci/src");
    let src = space.path().join("dev/src");
    let (from, to) = (ci_src.display().to_string(), src.display().to_string());
    git(space.path(), &["clone", "-q", &from, &to]);
    std::fs::write(src.join("NOTES"), "local work\n").unwrap();
    git(&src, &["add", "NOTES"]);
    git(&src, &["commit", "-qm", "local"]);
    let obj = space.path().join("dev/obj");
    setup(&src, &obj, &space.path().join("dev/cache"));
    obj
}

#[test]
fn a_build_that_runs_dwp_gets_every_dwo_with_the_pulled_objects() {
    let dwp = require_tool("dwp", "binutils");
    let space = TestSpace::new();
    ci_publishes(&space, packs(&dwp), "");
    let obj = developer(&space);
    assert_eq!(dwp_step(&obj), "gnu");

    let cache = space.path().join("dev/cache");
    let out = build(&cache, &obj, &["--no-fill"]);
    let s = support::stats_json(&obj);
    let counts = ["hits", "misses", "debug_deferred"].map(|k| s[k].as_u64());
    assert_eq!(
        counts,
        [Some(3), Some(0), Some(0)],
        "every object came from CI with its .dwo: {s}\n{}",
        text(&out)
    );
    assert_eq!(app_dwo_files(&obj).len(), 2, "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    // The fill leaves the project's package as the build wrote it and packages the binary the
    // project does not.
    let packaged = std::fs::read(obj.join("app.dwp")).unwrap();
    fill(&cache, &obj);
    assert_eq!(std::fs::read(obj.join("app.dwp")).unwrap(), packaged);
    assert_eq!(units_in(&obj.join("tool.dwp")), ["tool.c"]);
    let gdb = gdb_locals(&obj, "app", "util");
    assert!(
        gdb.contains("doubled = 42"),
        "util's locals from app.dwp:\n{gdb}"
    );
    let gdb = gdb_locals(&obj, "tool", "main");
    assert!(
        gdb.contains("tripled = 6"),
        "tool's locals from tool.dwp:\n{gdb}"
    );
}

#[test]
fn a_build_that_runs_llvm_dwp_names_the_real_object_root() {
    let llvm_dwp = require_tool("llvm-dwp", "llvm");
    let space = TestSpace::new();
    ci_publishes(&space, packs(&llvm_dwp), "");
    let obj = developer(&space);
    assert_eq!(dwp_step(&obj), "llvm");

    // CI's objects name CI's object root: compiled here, where llvm-dwp finds the .dwo files.
    let cache = space.path().join("dev/cache");
    let out = build(&cache, &obj, &["--no-fill"]);
    assert_eq!(support::hits_misses(&obj), (0, 3), "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    let gdb = gdb_locals(&obj, "app", "util");
    assert!(gdb.contains("doubled = 42"), "{gdb}");

    // At the same root, the cache serves them, .dwo files included, and llvm-dwp runs again.
    for o in ["app.dir/main.c", "app.dir/util.c", "tool.dir/tool.c"] {
        for ext in ["o", "dwo"] {
            let _ = std::fs::remove_file(obj.join(format!("CMakeFiles/{o}.{ext}")));
        }
    }
    std::fs::remove_file(obj.join("app.dwp")).unwrap();
    let out = build(&cache, &obj, &["--no-fetch", "--no-fill"]);
    assert_eq!(support::hits_misses(&obj), (3, 0), "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
}

/// A packager step added to a project built before (CMake re-runs inside the build): the
/// launchers' command changes, so Ninja compiles again and `llvm-dwp` finds `.dwo` files at
/// the real object root (before, the first build's objects were kept and the step failed).
#[test]
fn an_llvm_dwp_step_added_later_recompiles_what_names_the_token_root() {
    let llvm_dwp = require_tool("llvm-dwp", "llvm");
    let space = TestSpace::new();
    let src = space.path().join("src");
    let obj = space.path().join("obj");
    let cache = space.path().join("cache");
    write_sources(&src, None);
    std::fs::write(src.join("cached-ninja.toml"), "split_dwarf = true\n").unwrap();
    configure(&src, &obj, &cache);
    build(&cache, &obj, &["--no-fetch", "--no-fill"]);
    assert_eq!(dwp_step(&obj), "none");
    write_cmake(&src, packs(&llvm_dwp));
    let out = build(&cache, &obj, &["--no-fetch", "--no-fill"]);
    assert_eq!(dwp_step(&obj), "llvm");
    let units = units_in(&obj.join("app.dwp"));
    assert_eq!(units, ["main.c", "util.c"], "{}", text(&out));
}

/// A `dwp` step added after a developer's objects-first build (no `.dwo` written, the fill's
/// package beside the binary): the next build writes every `.dwo` the step reads.
#[test]
fn a_dwp_step_added_after_an_objects_first_build_gets_its_dwo_files() {
    let dwp = require_tool("dwp", "binutils");
    let space = TestSpace::new();
    ci_publishes(&space, None, "");
    let obj = developer(&space);
    let cache = space.path().join("dev/cache");
    build(&cache, &obj, &["--no-fill"]);
    assert_eq!(support::hits_misses(&obj), (3, 0));
    assert!(app_dwo_files(&obj).is_empty());
    fill(&cache, &obj);

    write_cmake(&space.path().join("dev/src"), packs(&dwp));
    let out = build(&cache, &obj, &["--no-fill"]);
    assert_eq!(app_dwo_files(&obj).len(), 2, "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    let gdb = gdb_locals(&obj, "app", "util");
    assert!(gdb.contains("doubled = 42"), "{gdb}");
}

/// A packager `generate` cannot see (run by a CMake script): the policy names it
/// (`[debug] dwp_step`), and the developer's pull brings the `.dwo` files it reads.
#[test]
fn a_packager_run_by_a_script_is_named_by_the_policy() {
    let dwp = require_tool("dwp", "binutils");
    let space = TestSpace::new();
    let command = package_script(&space.path().join("ci/src"), Some(&dwp));
    ci_publishes(&space, Some(command), "[debug]\ndwp_step = \"gnu\"\n");
    let obj = developer(&space);
    assert_eq!(dwp_step(&obj), "gnu");
    let out = build(&space.path().join("dev/cache"), &obj, &["--no-fill"]);
    assert_eq!(support::hits_misses(&obj), (3, 0), "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
}

/// The same packager in object directories never run through `configure` (CMake's compiler
/// launcher is `cached-ninja` alone), CI's and a developer's: the build finds the policy and
/// the revision through CMake's record of the sources, pulls CI's objects with every `.dwo`
/// its `dwp` step reads, and says nothing of an unrewritten `build.ninja`.
#[test]
fn a_dwp_step_in_zero_setup_object_directories_gets_its_dwo_files() {
    let dwp = require_tool("dwp", "binutils");
    let space = TestSpace::new();
    ci_publishes_in(&space, packs(&dwp), "", zero_setup_configure);
    let obj = developer_in(&space, zero_setup_configure);
    let cache = space.path().join("dev/cache");
    let out = build(&cache, &obj, &["--no-fill"]);
    assert!(!text(&out).contains("not rewritten"), "{}", text(&out));
    assert_eq!(support::hits_misses(&obj), (3, 0), "{}", text(&out));
    assert_eq!(app_dwo_files(&obj).len(), 2, "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    // The fill leaves the project's package alone, and packages the binary it does not.
    fill_leaves_app_dwp(&cache, &obj);
    assert_eq!(units_in(&obj.join("tool.dwp")), ["tool.c"]);
    let gdb = gdb_locals(&obj, "app", "util");
    assert!(gdb.contains("doubled = 42"), "{gdb}");
}

/// A packager a script runs (its command names no `dwp`), named by the policy, in object
/// directories never run through `configure`: the pull brings the `.dwo` files it reads
/// (it brought objects only, and the script's `dwp` failed).
#[test]
fn a_script_packager_named_by_the_policy_in_zero_setup_gets_its_dwo_files() {
    require_tool("dwp", "binutils");
    let space = TestSpace::new();
    let command = package_script(&space.path().join("ci/src"), None);
    let policy = "[debug]\ndwp_step = \"gnu\"\n";
    ci_publishes_in(&space, Some(command), policy, zero_setup_configure);
    let obj = developer_in(&space, zero_setup_configure);
    let cache = space.path().join("dev/cache");
    let out = build(&cache, &obj, &["--no-fill"]);
    assert_eq!(support::hits_misses(&obj), (3, 0), "{}", text(&out));
    assert_eq!(app_dwo_files(&obj).len(), 2, "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    // The fill, told by the policy too, leaves the script's package alone.
    fill_leaves_app_dwp(&cache, &obj);
    assert_eq!(units_in(&obj.join("tool.dwp")), ["tool.c"]);
}

/// Writes `src/package.cmake`, a CMake script packaging `app` with `dwp` (given, else found
/// by the script itself: then the build's command names no packager); returns the post-build
/// command that runs it.
fn package_script(src: &Path, dwp: Option<&Path>) -> String {
    let find = match dwp {
        Some(_) => "",
        None => "find_program(DWP dwp REQUIRED)\n",
    };
    let script = format!(
        "{find}execute_process(COMMAND ${{DWP}} -e ${{EXE}} -o ${{EXE}}.dwp RESULT_VARIABLE r)\n\
         if(r)\n  message(FATAL_ERROR \"dwp failed\")\nendif()\n"
    );
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(src.join("package.cmake"), script).unwrap();
    let given = dwp
        .map(|d| format!(" -DDWP={}", d.display()))
        .unwrap_or_default();
    format!(
        "${{CMAKE_COMMAND}}{given} -DEXE=$<TARGET_FILE:app> -P ${{CMAKE_SOURCE_DIR}}/package.cmake"
    )
}

/// Runs the fill in `obj` and asserts it left the project's own `app.dwp` as it was.
fn fill_leaves_app_dwp(cache: &Path, obj: &Path) {
    let modified = || {
        let md = std::fs::metadata(obj.join("app.dwp")).unwrap();
        md.modified().unwrap()
    };
    let packaged = modified();
    fill(cache, obj);
    assert_eq!(
        modified(),
        packaged,
        "the fill rewrote the project's own app.dwp"
    );
}

/// An object directory once set up by `configure` (its record says no packager), then by the
/// user's own CMake run with `cached-ninja` as the compiler launcher and an `llvm-dwp` step:
/// the launchers follow the Ninja files, not the old record (its objects named the token
/// root, and `llvm-dwp` failed).
#[test]
fn a_directory_configured_once_then_by_cmake_alone_follows_its_ninja_files() {
    let llvm_dwp = require_tool("llvm-dwp", "llvm");
    let space = TestSpace::new();
    let (src, obj) = (space.path().join("src"), space.path().join("obj"));
    let cache = space.path().join("cache");
    write_sources(&src, None);
    configure(&src, &obj, &cache);
    assert_eq!(dwp_step(&obj), "none");
    write_cmake(&src, packs(&llvm_dwp));
    zero_setup_configure(&src, &obj, &cache);
    ninja_packages_app(&obj, &cache);
}

/// An `llvm-dwp` run through `cmake -E env`, in an object directory never run through
/// `configure`: found all the same (a review found a tokenizer that took programs only at a
/// command's start miss it, and `llvm-dwp` failed).
#[test]
fn an_llvm_dwp_run_through_cmake_env_in_a_zero_setup_object_directory_is_found() {
    let llvm_dwp = require_tool("llvm-dwp", "llvm");
    let space = TestSpace::new();
    let (src, obj) = (space.path().join("src"), space.path().join("obj"));
    let cache = space.path().join("cache");
    let step = packs(&llvm_dwp).map(|p| format!("${{CMAKE_COMMAND}} -E env FOO=1 {p}"));
    write_sources(&src, step);
    zero_setup_configure(&src, &obj, &cache);
    ninja_packages_app(&obj, &cache);
}

/// A developer's object directory once set up by `configure` without the packager (its
/// record says none), then by CMake alone with CI's `dwp` step: the pull brings the `.dwo`
/// files the step reads and the fill leaves its package alone, as the launchers follow the
/// Ninja files (the pull and the fill took the old record: the hits compiled and the fill
/// rewrote `app.dwp`; found by a review).
#[test]
fn a_developer_directory_configured_once_then_by_cmake_alone_pulls_for_its_packager() {
    let dwp = require_tool("dwp", "binutils");
    let space = TestSpace::new();
    ci_publishes_in(&space, packs(&dwp), "", zero_setup_configure);
    let obj = developer_in(&space, |src, obj, cache| {
        write_cmake(src, None);
        configure(src, obj, cache);
        assert_eq!(dwp_step(obj), "none");
        write_cmake(src, packs(&require_tool("dwp", "binutils")));
        zero_setup_configure(src, obj, cache);
    });
    let cache = space.path().join("dev/cache");
    let out = build(&cache, &obj, &["--no-fill"]);
    assert_eq!(support::hits_misses(&obj), (3, 0), "{}", text(&out));
    assert_eq!(app_dwo_files(&obj).len(), 2, "{}", text(&out));
    fill_leaves_app_dwp(&cache, &obj);
}

/// CMake configures `src` into `obj` with `cached-ninja` as its compiler launcher (no
/// `configure`), compiling with split DWARF as [`configure`] does.
fn zero_setup_configure(src: &Path, obj: &Path, _cache: &Path) {
    require_tool("gcc", "gcc");
    let launcher = format!("-DCMAKE_C_COMPILER_LAUNCHER={}", cached_ninja().display());
    run_ok(
        Command::new("cmake")
            .args(["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug", &launcher])
            .arg("-DCMAKE_C_FLAGS=-gsplit-dwarf -gdwarf-4")
            .arg("-S")
            .arg(src)
            .arg("-B")
            .arg(obj),
    );
}

/// A project that runs `llvm-dwp` itself, compiled in an object directory never run through
/// `configure`: `llvm-dwp` finds every `.dwo` through its unit's compilation directory.
#[test]
fn an_llvm_dwp_step_in_a_zero_setup_object_directory_finds_its_dwo_files() {
    let llvm_dwp = require_tool("llvm-dwp", "llvm");
    let space = TestSpace::new();
    let (src, obj) = (space.path().join("src"), space.path().join("obj"));
    let cache = space.path().join("cache");
    write_sources(&src, packs(&llvm_dwp));
    zero_setup_configure(&src, &obj, &cache);
    ninja_packages_app(&obj, &cache);
}

/// Plain `ninja` in `obj` with the local cache `cache`, asserted to succeed and to leave
/// `app.dwp` with both of `app`'s units (the project's packager step found its `.dwo` files).
fn ninja_packages_app(obj: &Path, cache: &Path) {
    let out = run(Command::new("ninja")
        .arg("-C")
        .arg(obj)
        .env("CACHED_NINJA_CACHE_DIR", cache));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
}

/// A `dwp` step added to a zero-setup developer's project after an objects-first build: CMake
/// regenerates inside the build and its compile commands stay as they were, so no launcher
/// runs before the step, which met objects without their `.dwo` files and failed. The build
/// then makes again the objects its launchers made under no packager (one note line), and
/// the step finds every `.dwo`.
#[test]
fn a_dwp_step_added_to_a_zero_setup_build_after_its_objects_gets_its_dwo_files() {
    let dwp = require_tool("dwp", "binutils");
    let space = TestSpace::new();
    ci_publishes_in(&space, None, "", zero_setup_configure);
    let obj = developer_in(&space, zero_setup_configure);
    let cache = space.path().join("dev/cache");
    build(&cache, &obj, &["--no-fill"]);
    assert_eq!(support::hits_misses(&obj), (3, 0));
    assert!(app_dwo_files(&obj).is_empty());

    write_cmake(&space.path().join("dev/src"), packs(&dwp));
    let out = build(&cache, &obj, &["--no-fill"]);
    let said = text(&out);
    let notes: Vec<&str> = said.lines().filter(|l| l.contains("made again")).collect();
    assert_eq!(notes.len(), 1, "{said}");
    assert_eq!(app_dwo_files(&obj).len(), 2, "{}", text(&out));
    assert_eq!(units_in(&obj.join("app.dwp")), ["main.c", "util.c"]);
    let gdb = gdb_locals(&obj, "app", "util");
    assert!(gdb.contains("doubled = 42"), "{gdb}");
}

/// An `llvm-dwp` step added to a zero-setup project built before: its objects name the token
/// object root, where `llvm-dwp` finds no `.dwo`; the build makes them again at the real root.
#[test]
fn an_llvm_dwp_step_added_to_a_zero_setup_build_after_its_objects_finds_its_dwo_files() {
    let llvm_dwp = require_tool("llvm-dwp", "llvm");
    let space = TestSpace::new();
    let (src, obj) = (space.path().join("src"), space.path().join("obj"));
    let cache = space.path().join("cache");
    write_sources(&src, None);
    std::fs::write(src.join("cached-ninja.toml"), "split_dwarf = true\n").unwrap();
    zero_setup_configure(&src, &obj, &cache);
    build(&cache, &obj, &["--no-fetch", "--no-fill"]);
    write_cmake(&src, packs(&llvm_dwp));
    let out = build(&cache, &obj, &["--no-fetch", "--no-fill"]);
    assert!(text(&out).contains("made again"), "{}", text(&out));
    let units = units_in(&obj.join("app.dwp"));
    assert_eq!(units, ["main.c", "util.c"], "{}", text(&out));
}
