//! Round trips on real generated build files: libgit2 (CMake) and dav1d (Meson).
//!
//! For each project, configured into a temporary build directory:
//! 1. `cached-ninja tool commands` (all, and a few chosen targets) and `tool targets` print
//!    byte for byte what `ninja -t commands` and `ninja -t targets all` print;
//! 2. `cached-ninja tool emit -o rt.ninja` re-emits the graph, and ninja itself reading
//!    `rt.ninja` prints the same commands and targets as from the generator's own file;
//! 3. `ninja -f rt.ninja` builds the project, and a rerun has nothing to do. Ninja's build log
//!    hashes every command (with its response file), so "no work to do" from the generator's
//!    `build.ninja` after building with `rt.ninja` also proves the commands are identical.
//!
//! The sources come from packages of the Rust package registry that vendor them (see `tests/support`); nothing
//! is downloaded beyond what cargo fetches. Both configurations avoid optional system
//! libraries, so only a C compiler, cmake, meson and ninja are needed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{cached_ninja, require_tool, run_ok, third_party_src, TestSpace};

/// Jobs for the builds: the test machines are small and shared.
const JOBS: &str = "-j2";

/// Stdout of `ninja ARGS` run inside `dir`.
fn ninja(dir: &Path, args: &[&str]) -> Vec<u8> {
    run_ok(Command::new("ninja").current_dir(dir).args(args)).stdout
}

/// Stdout of `cached-ninja tool TOOL -C DIR ARGS`.
fn ours(tool: &str, dir: &Path, args: &[&str]) -> Vec<u8> {
    run_ok(
        Command::new(cached_ninja())
            .args(["tool", tool, "-C"])
            .arg(dir)
            .args(args),
    )
    .stdout
}

/// Panics unless `ours` equals `theirs` byte for byte, showing the first differing lines.
/// Both outputs are written beside the build (`<what>.ours`, `<what>.ninja`) for `diff`;
/// set `CN_KEEP_TEMP=1` to keep them.
fn assert_same(dir: &Path, what: &str, ours: &[u8], theirs: &[u8]) {
    if ours == theirs {
        return;
    }
    let name: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let (ours_file, theirs_file) = (
        dir.join(format!("{name}.ours")),
        dir.join(format!("{name}.ninja")),
    );
    std::fs::write(&ours_file, ours).expect("write output");
    std::fs::write(&theirs_file, theirs).expect("write output");
    let (a, b) = (
        String::from_utf8_lossy(ours),
        String::from_utf8_lossy(theirs),
    );
    let (a, b): (Vec<&str>, Vec<&str>) = (
        a.split_inclusive('\n').collect(),
        b.split_inclusive('\n').collect(),
    );
    let first = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let mut report = format!(
        "{what}: outputs differ ({} lines ours, {} lines ninja); first difference at line {}\n",
        a.len(),
        b.len(),
        first + 1
    );
    for (i, line) in a.iter().enumerate().skip(first.saturating_sub(2)).take(8) {
        report.push_str(&format!("  ours  {:>6}: {line:?}\n", i + 1));
    }
    for (i, line) in b.iter().enumerate().skip(first.saturating_sub(2)).take(8) {
        report.push_str(&format!("  ninja {:>6}: {line:?}\n", i + 1));
    }
    report.push_str(&format!(
        "diff {} {}",
        ours_file.display(),
        theirs_file.display()
    ));
    panic!("{report}");
}

/// What to check in one configured project.
struct Project<'a> {
    /// The generator's build directory (holds `build.ninja`).
    build: &'a Path,
    /// Targets for `tool commands TARGET…`, each entry one invocation.
    command_targets: &'a [&'a [&'a str]],
    /// Targets to build with the round-tripped file (empty: ninja's default).
    build_targets: &'a [&'a str],
    /// Targets that must be up to date after the build (empty: ninja's default).
    noop_targets: &'a [&'a str],
}

impl Project<'_> {
    /// Our tools against ninja's on the generator's own file.
    fn check_tools(&self) {
        let dir = self.build;
        let commands = ninja(dir, &["-t", "commands"]);
        assert!(
            commands.len() > 1000,
            "ninja printed almost no commands: {commands:?}"
        );
        assert_same(dir, "tool commands", &ours("commands", dir, &[]), &commands);
        let targets = ninja(dir, &["-t", "targets", "all"]);
        assert_same(dir, "tool targets", &ours("targets", dir, &[]), &targets);
        for targets in self.command_targets {
            let mut args = vec!["-t", "commands"];
            args.extend_from_slice(targets);
            let what = format!("tool commands {}", targets.join(" "));
            assert_same(
                dir,
                &what,
                &ours("commands", dir, targets),
                &ninja(dir, &args),
            );
        }
    }

    /// `tool emit`, then ninja on the emitted file against ninja on the original. Returns the
    /// emitted file's name (relative to the build directory).
    fn check_round_trip(&self) -> &'static str {
        let dir = self.build;
        let rt = "rt.ninja";
        run_ok(
            Command::new(cached_ninja())
                .current_dir(dir)
                .args(["tool", "emit", "-o", rt]),
        );
        assert!(dir.join(rt).is_file(), "tool emit wrote no {rt}");
        for args in [&["-t", "commands"][..], &["-t", "targets", "all"]] {
            let original = ninja(dir, args);
            let round_trip = ninja(dir, &[&["-f", rt][..], args].concat());
            assert_same(
                dir,
                &format!("ninja -f {rt} {}", args.join(" ")),
                &round_trip,
                &original,
            );
        }
        for targets in self.command_targets {
            let args = [&["-t", "commands"][..], targets].concat();
            let original = ninja(dir, &args);
            let round_trip = ninja(dir, &[&["-f", rt][..], &args].concat());
            assert_same(
                dir,
                &format!("ninja -f {rt} {}", args.join(" ")),
                &round_trip,
                &original,
            );
        }
        rt
    }

    /// Builds with the emitted file, then checks that nothing is left to do.
    fn check_build(&self, rt: &str) {
        let dir = self.build;
        run_ok(
            Command::new("ninja")
                .current_dir(dir)
                .args(["-f", rt, JOBS])
                .args(self.build_targets),
        );
        let no_work = b"ninja: no work to do.\n";
        let after = ninja(dir, &[&["-f", rt, "-n"][..], self.noop_targets].concat());
        assert_same(
            dir,
            &format!("ninja -f {rt} -n after the build"),
            &after,
            no_work,
        );
        // Same commands in the build log: the generator's file agrees nothing is left to do.
        let original = ninja(dir, &[&["-n"][..], self.noop_targets].concat());
        assert_same(
            dir,
            "ninja -n (generator's file) after the build",
            &original,
            no_work,
        );
    }
}

fn require_build_tools() {
    require_tool("ninja", "ninja-build");
    require_tool("cc", "gcc");
}

/// libgit2 1.9.1 configured by CMake (Debug), with its bundled zlib, PCRE, xdiff and llhttp.
fn configure_libgit2(space: &TestSpace) -> PathBuf {
    require_build_tools();
    require_tool("cmake", "cmake");
    let src = third_party_src("libgit2");
    let build = space.path().join("build");
    run_ok(
        Command::new("cmake")
            .args(["-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug"])
            // The crate ships no tests; the CLI is one more real link edge.
            .args(["-DBUILD_TESTS=OFF", "-DBUILD_CLI=ON"])
            // No optional system libraries: the same graph on every machine.
            .args([
                "-DUSE_SSH=OFF",
                "-DUSE_HTTPS=OFF",
                "-DUSE_GSSAPI=OFF",
                "-DUSE_BUNDLED_ZLIB=ON",
            ])
            .arg("-S")
            .arg(&src)
            .arg("-B")
            .arg(&build),
    );
    build
}

/// dav1d 1.4.3 configured by Meson, with its tools and tests; no assembly (needs nasm).
fn configure_dav1d(space: &TestSpace) -> PathBuf {
    require_build_tools();
    require_tool("meson", "meson");
    let src = third_party_src("dav1d");
    let build = space.path().join("build");
    run_ok(
        Command::new("meson")
            .args([
                "setup",
                "--buildtype=debug",
                "-Denable_asm=false",
                "-Denable_tools=true",
            ])
            .arg(&build)
            .arg(&src),
    );
    build
}

#[test]
fn libgit2_cmake_round_trip_and_build() {
    let space = TestSpace::new();
    let build = configure_libgit2(&space);
    let project = Project {
        build: &build,
        command_targets: &[
            &["libgit2package"],
            &["git2_cli"],
            &[
                "src/libgit2/CMakeFiles/libgit2.dir/repository.c.o",
                "libgit2.so",
            ],
        ],
        // Everything: the library (~200 compiles), the bundled dependencies and the CLI.
        build_targets: &[],
        noop_targets: &[],
    };
    project.check_tools();
    let rt = project.check_round_trip();
    project.check_build(rt);
    assert!(
        build.join("libgit2.so.1.9.1").is_file(),
        "the library was not built"
    );
    assert!(build.join("git2").is_file(), "the CLI was not built");
}

#[test]
fn dav1d_meson_round_trip_and_build() {
    let space = TestSpace::new();
    let build = configure_dav1d(&space);
    let library = "src/libdav1d.so.7.0.0";
    let project = Project {
        build: &build,
        command_targets: &[
            &[library],
            &["tools/dav1d"],
            &["tests/libfuzzer/dav1d_fuzzer", "all"],
        ],
        build_targets: &["all"],
        // `include/vcs_version.h` depends on meson's always-dirty `PHONY` target (restat
        // prunes it in a real build, a dry run cannot), so everything that includes it stays
        // dirty for `-n` whatever the file; these targets do not depend on it.
        noop_targets: &[
            "tools/libdav1d_input.a",
            "tools/libdav1d_output.a",
            "tests/common.h_test",
            "tests/dav1d.h_test",
            "tests/picture.h_test",
        ],
    };
    project.check_tools();
    let rt = project.check_round_trip();
    project.check_build(rt);
    assert!(build.join(library).is_file(), "the library was not built");

    // A real rerun: at most the version header is regenerated (when meson found git), and
    // restat prunes everything after it.
    let rerun = ninja(&build, &["-f", rt, JOBS]);
    let steps: Vec<&str> = std::str::from_utf8(&rerun)
        .expect("utf-8")
        .lines()
        .filter(|l| l.starts_with('['))
        .collect();
    assert!(
        steps.len() <= 1 && steps.iter().all(|s| s.contains("include/vcs_version.h")),
        "rerun of ninja -f {rt} did more than regenerate vcs_version.h:\n{}",
        String::from_utf8_lossy(&rerun)
    );
    // And a dry run of everything lists the same steps from either file.
    let dry_rt = ninja(&build, &["-f", rt, "-n", "all"]);
    let dry_original = ninja(&build, &["-n", "all"]);
    assert_same(
        &build,
        "ninja -n all after the build",
        &dry_rt,
        &dry_original,
    );
}

#[test]
#[should_panic(expected = "first difference at line 2")]
fn assert_same_reports_the_first_difference() {
    let space = TestSpace::new();
    assert_same(space.path(), "self check", b"a\nb\nc\n", b"a\nB\nc\n");
}
