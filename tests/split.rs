//! End-to-end tests of `cached-ninja split …` on objects from the real compilers.

mod support;

use std::path::Path;
use std::process::Command;

use support::{cached_ninja, require_tool, run, run_ok, TestSpace};

const MAIN: &str =
    "int work(int);\nint main(int c, char **v) { (void)v; return work(c) == 3 ? 0 : 1; }\n";
const LIB: &str = "int work(int n) {\n    int factor = 3;\n    return n * factor;\n}\n";

fn cc(dir: &Path, compiler: &str, args: &[&str]) {
    require_tool(
        compiler,
        if compiler.starts_with("clang") {
            "clang"
        } else {
            "gcc"
        },
    );
    run_ok(Command::new(compiler).args(args).current_dir(dir));
}

fn split_cmd(dir: &Path) -> Command {
    let mut c = Command::new(cached_ninja());
    c.arg("split").current_dir(dir);
    c
}

fn space_with_objects(flags: &[&str], compiler: &str) -> TestSpace {
    let s = TestSpace::new();
    s.write("main.c", MAIN);
    s.write("lib.c", LIB);
    for f in ["main", "lib"] {
        let mut args = vec!["-c", "-g"];
        args.extend_from_slice(flags);
        let src = format!("{f}.c");
        let obj = format!("{f}.o");
        args.extend_from_slice(&[&src, "-o", &obj]);
        cc(s.path(), compiler, &args);
    }
    s
}

#[test]
fn split_package_verify_round_trip() {
    let s = space_with_objects(&["-gsplit-dwarf=single", "-gdwarf-4"], "clang");
    let dir = s.path();
    run_ok(split_cmd(dir).args(["split", "-o", "out", "main.o", "lib.o"]));
    for f in ["out/main.o", "out/main.dwo", "out/lib.o", "out/lib.dwo"] {
        assert!(dir.join(f).is_file(), "{f} not written");
    }
    cc(dir, "clang", &["out/main.o", "out/lib.o", "-o", "prog"]);
    run_ok(split_cmd(dir).args([
        "package",
        "-o",
        "prog.dwp",
        "--exe",
        "prog",
        "out/main.dwo",
        "out/lib.dwo",
    ]));
    let out = run_ok(split_cmd(dir).args(["verify", "prog"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().filter(|l| l.contains(" ok ")).count(),
        2,
        "{text}"
    );

    // A package lacking lib's unit: verify names it and exits 1.
    run_ok(split_cmd(dir).args(["package", "-o", "part.dwp", "out/main.dwo"]));
    let out = run(split_cmd(dir).args(["verify", "--dwp", "part.dwp", "prog"]));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("MISSING") && l.contains("lib.o")),
        "{text}"
    );
    let listed = run_ok(split_cmd(dir).args(["verify", "--list", "prog"]));
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 2);
}

#[test]
fn bundle_unbundle_is_byte_identical() {
    let s = space_with_objects(&["-gsplit-dwarf=single"], "clang");
    let dir = s.path();
    run_ok(split_cmd(dir).args(["bundle", "--kind", "dwo", "-o", "b", "main.o", "lib.o"]));
    run_ok(split_cmd(dir).args(["unbundle", "-o", "restored.o", "b/lib.o", "b/lib.o.bundle"]));
    assert_eq!(
        std::fs::read(dir.join("restored.o")).unwrap(),
        std::fs::read(dir.join("lib.o")).unwrap()
    );
    run_ok(split_cmd(dir).args(["unbundle", "--dwo", "-o", "lib.dwo", "b/lib.o.bundle"]));
    run_ok(split_cmd(dir).args(["strip", "--in-place", "main.o"]));
    // Wrong pairing: a clear error naming both files.
    let out = run(split_cmd(dir).args(["unbundle", "-o", "x.o", "b/main.o", "b/lib.o.bundle"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("b/main.o") && err.contains("does not match"),
        "{err}"
    );
    assert!(!dir.join("x.o").exists());
}

#[test]
fn gcc_pair_and_errors_name_the_file() {
    let s = space_with_objects(&["-gsplit-dwarf"], "gcc");
    let dir = s.path();
    let out = run_ok(split_cmd(dir).args(["pair", "lib.o", "lib.dwo"]));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 16);
    let out = run(split_cmd(dir).args(["pair", "lib.o", "main.dwo"]));
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("dwo_id mismatch")
    );
    // GCC objects have no .dwo sections to split out.
    let out = run(split_cmd(dir).args(["split", "--in-place", "lib.o"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("lib.o") && err.contains("no .dwo sections"),
        "{err}"
    );
    s.write("junk.o", "not an object");
    let out = run(split_cmd(dir).args(["strip", "-o", ".", "junk.o"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("junk.o") && err.contains("not an ELF file"),
        "{err}"
    );
}
