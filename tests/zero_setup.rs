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
