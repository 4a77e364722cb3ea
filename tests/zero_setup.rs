//! Zero setup: `cached-ninja` as the compiler launcher CMake and Meson are given, the way
//! people use ccache, in build directories never run through `cached-ninja configure`
//! (`-DCMAKE_<LANG>_COMPILER_LAUNCHER=cached-ninja`, `CC="cached-ninja gcc"`). A second tree
//! at another path, with the object directory inside the sources on one side and beside them
//! on the other, hits every compile and gdb lists the second tree's sources.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{cached_ninja, hits_misses, require_tool, run_ok, TestSpace};

/// The project generator.
#[derive(Clone, Copy, Debug)]
enum Generator {
    CMake,
    Meson,
}

/// Where the object directory sits: `<root>/obj` beside `<root>/src`, or `<root>/src/build`.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Beside,
    Inside,
}

/// One tree: its sources and object directory.
struct Tree {
    src: PathBuf,
    obj: PathBuf,
}

impl Tree {
    /// Copies `from` to `<root>/src` and names the object directory of `layout`.
    fn new(from: &Path, root: &Path, layout: Layout) -> Tree {
        let src = root.join("src");
        support::copy_tree(from, &src);
        let obj = match layout {
            Layout::Beside => root.join("obj"),
            Layout::Inside => src.join("build"),
        };
        std::fs::create_dir_all(&obj).unwrap();
        Tree { src, obj }
    }

    /// Configures with the zero-setup launcher form of `gen`, every tool using `cache`, from an
    /// empty working directory that the generator's compiler probes must leave as it was.
    fn configure(&self, gen: Generator, cache: &Path, extra: &[&str]) {
        let cwd = tempfile::tempdir().unwrap();
        let cn = cached_ninja().display().to_string();
        let mut c = match gen {
            Generator::CMake => {
                let mut c = Command::new("cmake");
                c.args(["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug"])
                    .arg(format!("-DCMAKE_C_COMPILER_LAUNCHER={cn}"))
                    .arg(format!("-DCMAKE_CXX_COMPILER_LAUNCHER={cn}"))
                    .args(extra)
                    .arg("-S")
                    .arg(&self.src)
                    .arg("-B")
                    .arg(&self.obj);
                c
            }
            Generator::Meson => {
                let mut c = Command::new("meson");
                c.arg("setup")
                    .args(["--buildtype=debug"])
                    .args(extra)
                    .arg(&self.obj)
                    .arg(&self.src)
                    .env("CC", format!("{cn} gcc"))
                    .env("CXX", format!("{cn} g++"));
                c
            }
        };
        run_ok(
            c.current_dir(cwd.path())
                .env("CACHED_NINJA_CACHE_DIR", cache),
        );
        let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().flatten().collect();
        assert!(
            left.is_empty(),
            "{gen:?} probes left {left:?} in their working directory"
        );
    }

    /// Builds with plain ninja (the launchers count into `<obj>/.cached-ninja/stats`).
    fn build(&self, cache: &Path) {
        run_ok(
            Command::new("ninja")
                .arg("-C")
                .arg(&self.obj)
                .env("CACHED_NINJA_CACHE_DIR", cache),
        );
    }

    /// The number of compile edges (`-c` commands) of the build.
    fn compiles(&self) -> u64 {
        let out = run_ok(
            Command::new("ninja")
                .arg("-C")
                .arg(&self.obj)
                .args(["-t", "commands"]),
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(" -c "))
            .count() as u64
    }
}

/// gdb on `binary` with the mapping the launchers recorded: `list FUNCTION` and `info source`.
fn gdb_list(tree: &Tree, binary: &str, function: &str) -> String {
    let mut c = Command::new("gdb");
    c.current_dir(&tree.obj)
        .args(["-nx", "-batch", "-x"])
        .arg(tree.obj.join(".cached-ninja/gdbinit"))
        .args(["-ex", &format!("list {function}"), "-ex", "info source"])
        .arg(binary);
    let out = run_ok(&mut c);
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn require_tools(gen: Generator) {
    require_tool("ninja", "ninja-build");
    require_tool("gcc", "gcc");
    require_tool("g++", "g++");
    require_tool("gdb", "gdb");
    match gen {
        Generator::CMake => require_tool("cmake", "cmake"),
        Generator::Meson => require_tool("meson", "meson"),
    };
}

/// Builds `project` in tree A (`a`), then in tree B (`b`) at another, deeper path; returns B.
/// Asserts that every compile of B hits.
fn cross_path(
    space: &TestSpace,
    project: &Path,
    gen: Generator,
    (a, b): (Layout, Layout),
    extra: &[&str],
) -> Tree {
    require_tools(gen);
    let cache = space.path().join("cache");
    let ta = Tree::new(project, &space.path().join("a"), a);
    ta.configure(gen, &cache, extra);
    ta.build(&cache);
    let (hits_a, misses_a) = hits_misses(&ta.obj);
    assert_eq!(hits_a, 0, "{gen:?}: tree A starts with an empty cache");
    assert!(
        misses_a > 0,
        "{gen:?}: tree A compiles through the launcher"
    );
    let tb = Tree::new(project, &space.path().join("x/y/b"), b);
    tb.configure(gen, &cache, extra);
    tb.build(&cache);
    let compiles = tb.compiles();
    assert_eq!(
        hits_misses(&tb.obj),
        (compiles, 0),
        "{gen:?} {a:?} -> {b:?}: every compile of the second tree hits"
    );
    assert_eq!(
        misses_a, compiles,
        "{gen:?}: the same compiles in both trees"
    );
    tb
}

/// The example project across paths and layouts, gdb listing the second tree's `main`.
fn example(gen: Generator, layouts: (Layout, Layout)) {
    let space = TestSpace::new();
    let project = support::repo_root().join("examples/shapes");
    let b = cross_path(&space, &project, gen, layouts, &[]);
    let line = "format_table(sample_shapes())";
    assert_gdb_lists(&b, "shapes", "main", "app/main.cpp", line);
}

/// Asserts gdb lists `line` of `file` from the second tree's sources.
fn assert_gdb_lists(tree: &Tree, binary: &str, function: &str, file: &str, line: &str) {
    let out = gdb_list(tree, binary, function);
    assert!(out.contains(line), "gdb lists {function}:\n{out}");
    assert!(
        out.contains(&tree.src.join(file).display().to_string()),
        "gdb names the second tree's {file}:\n{out}"
    );
}

#[test]
fn example_cmake_beside_then_inside() {
    example(Generator::CMake, (Layout::Beside, Layout::Inside));
}

#[test]
fn example_cmake_inside_then_beside() {
    example(Generator::CMake, (Layout::Inside, Layout::Beside));
}

#[test]
fn example_meson_beside_then_inside() {
    example(Generator::Meson, (Layout::Beside, Layout::Inside));
}

#[test]
fn example_meson_inside_then_beside() {
    example(Generator::Meson, (Layout::Inside, Layout::Beside));
}

/// libgit2 (CMake, C, absolute paths in its commands), object directory beside then inside.
#[test]
fn libgit2_cmake_beside_then_inside() {
    let space = TestSpace::new();
    let src = support::third_party_src("libgit2");
    let b = cross_path(
        &space,
        &src,
        Generator::CMake,
        (Layout::Beside, Layout::Inside),
        &["-DBUILD_TESTS=OFF"],
    );
    assert_gdb_lists(
        &b,
        "libgit2.so",
        "git_libgit2_version",
        "src/libgit2/libgit2.c",
        "*major = LIBGIT2_VERSION_MAJOR;",
    );
}

/// harfbuzz (Meson, C++, sources named relative to the object directory), object directory
/// beside the sources, then inside them at another path.
#[test]
fn harfbuzz_meson_beside_then_inside() {
    let space = TestSpace::new();
    let src = support::third_party_src("harfbuzz");
    let b = cross_path(
        &space,
        &src,
        Generator::Meson,
        (Layout::Beside, Layout::Inside),
        &[
            "-Dtests=disabled",
            "-Ddocs=disabled",
            "-Dglib=disabled",
            "-Dgobject=disabled",
            "-Dcairo=disabled",
            "-Dicu=disabled",
            "-Dfreetype=disabled",
            "-Dintrospection=disabled",
            "-Dutilities=disabled",
            "-Dchafa=disabled",
        ],
    );
    assert_gdb_lists(
        &b,
        "src/libharfbuzz.so",
        "hb_version_string",
        "src/hb-common.cc",
        "return HB_VERSION_STRING;",
    );
}

/// CI's tree of the example project at `space/ci` (object directory beside), with a policy
/// naming a `file://` store, CI's key and `more`, committed; configured (CMake, zero setup)
/// and built by `cached-ninja build --publish` with the environment's cache `env_cache`.
fn ci_publishes(space: &TestSpace, more: &str, env_cache: &Path) -> Tree {
    let ci = committed_example(&space.path().join("ci"));
    let policy = store_policy(space) + more;
    std::fs::write(ci.src.join("cached-ninja.toml"), policy).unwrap();
    support::git(&ci.src, &["add", "-A"]);
    support::git(&ci.src, &["commit", "-qm", "policy"]);
    ci.configure(Generator::CMake, env_cache, &[]);
    let out = cn_build(&ci, env_cache, &["--publish"]);
    assert!(out.status.success(), "CI's build: {}", text(&out));
    ci
}

/// The example project at `root` (object directory beside), its sources committed.
fn committed_example(root: &Path) -> Tree {
    let project = support::repo_root().join("examples/shapes");
    let tree = Tree::new(&project, root, Layout::Beside);
    support::git(&tree.src, &["init", "-q"]);
    support::git(&tree.src, &["add", "-A"]);
    support::git(&tree.src, &["commit", "-qm", "ci"]);
    tree
}

/// A policy naming a `file://` store in `space` that CI writes, CI's new key trusted.
fn store_policy(space: &TestSpace) -> String {
    let (key, public) = support::key_file(space.path(), "ci.key");
    let store = format!("file://{}", space.path().join("store").display());
    format!(
        "[[store]]\nurl = \"{store}\"\nwrite = true\n[trust]\npublishers = [\"{public}\"]\n[publish]\nkey = \"{}\"\n",
        key.display()
    )
}

/// A developer's clone of `ci`'s sources at `space/dev/src`, object directory beside.
fn developer(space: &TestSpace, ci: &Tree) -> Tree {
    let src = space.path().join("dev/src");
    let (from, to) = (ci.src.display().to_string(), src.display().to_string());
    support::git(space.path(), &["clone", "-q", &from, &to]);
    let obj = space.path().join("dev/obj");
    std::fs::create_dir_all(&obj).unwrap();
    Tree { src, obj }
}

/// `cached-ninja build ARGS --no-fill` of `tree` with the environment's cache `env_cache`.
fn cn_build(tree: &Tree, env_cache: &Path, args: &[&str]) -> std::process::Output {
    support::run(
        Command::new(cached_ninja())
            .args(["build", "--no-fill"])
            .args(args)
            .arg("-C")
            .arg(&tree.obj)
            .env("CACHED_NINJA_CACHE_DIR", env_cache),
    )
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The policy names the cache (`[cache] dir`, relative to the policy: each tree its own),
/// not the environment: `cached-ninja build` gives it to the launchers CMake runs, so CI
/// publishes what they stored and the developer's hit what the pull brought (CI's publish
/// found no compile, and the developer's launchers used the environment's cache: 0 hits).
/// `cached-ninja fetch` says that plain `ninja` would not use it.
#[test]
fn zero_setup_launchers_use_the_cache_the_policy_names() {
    require_tools(Generator::CMake);
    let space = TestSpace::new();
    let ci_env = space.path().join("ci-env-cache");
    let ci = ci_publishes(&space, "[cache]\ndir = \"../cache\"\n", &ci_env);
    let dev = developer(&space, &ci);
    let env_cache = space.path().join("dev-env-cache");
    dev.configure(Generator::CMake, &env_cache, &[]);
    let fetched = support::run(
        Command::new(cached_ninja())
            .args(["fetch", "-C"])
            .arg(&dev.obj)
            .env("CACHED_NINJA_CACHE_DIR", &env_cache),
    );
    assert!(fetched.status.success(), "{}", text(&fetched));
    let note = format!(
        "give them CACHED_NINJA_CACHE_DIR={}",
        dev.src.join("../cache").display()
    );
    assert!(text(&fetched).contains(&note), "{}", text(&fetched));
    let out = cn_build(&dev, &env_cache, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(hits_misses(&dev.obj), (5, 0), "{}", text(&out));
}

/// An object directory whose compiles run no launcher (plain CMake, never rewritten) pulls
/// nothing: `build` says nothing will be cached (it pulled CI's whole build all the same).
#[test]
fn a_plain_object_directory_pulls_nothing() {
    require_tools(Generator::CMake);
    let space = TestSpace::new();
    let env_cache = space.path().join("cache");
    let ci = ci_publishes(&space, "", &env_cache);
    let dev = developer(&space, &ci);
    run_ok(
        Command::new("cmake")
            .args(["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug", "-S"])
            .arg(&dev.src)
            .arg("-B")
            .arg(&dev.obj),
    );
    let dev_cache = space.path().join("dev-cache");
    let out = cn_build(&dev, &dev_cache, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("nothing will be cached"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("fetched"), "{}", text(&out));
    assert!(!dev_cache.join("ac").exists(), "{}", text(&out));
}

/// A policy in the object directory naming a relative cache (`dir = "cache"`), built with a
/// relative `-C`: the launchers, which run in the object directory, use the cache the policy
/// means, so CI's publish finds what they stored (they took `obj/cache` as `obj/obj/cache`,
/// and the publish found no compile; found by a review).
#[test]
fn a_relative_policy_cache_is_the_same_for_a_relative_object_directory() {
    require_tools(Generator::CMake);
    let space = TestSpace::new();
    let ci = committed_example(space.path());
    let env_cache = space.path().join("env-cache");
    ci.configure(Generator::CMake, &env_cache, &[]);
    let policy = store_policy(&space) + "[cache]\ndir = \"cache\"\n";
    std::fs::write(ci.obj.join("cached-ninja.toml"), policy).unwrap();
    let out = support::run(
        Command::new(cached_ninja())
            .args(["build", "--no-fill", "--publish", "-C", "obj"])
            .current_dir(space.path())
            .env("CACHED_NINJA_CACHE_DIR", &env_cache),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(ci.obj.join("cache/ac").is_dir(), "{}", text(&out));
    assert!(!ci.obj.join("obj").exists(), "{}", text(&out));
}
