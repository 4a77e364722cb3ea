//! `package` and `verify` on real programs, checked by real debuggers and verifiers.
//!
//! DESIGN §6: gdb 13 segfaults on DWARF 5 packages, so the gdb tests use DWARF 4; DWARF 5
//! packages are checked with `llvm-dwarfdump --verify`. Each gdb test also runs without the
//! package (and without loose `.dwo` files) and requires the locals to disappear, so it can fail.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use splitdwarf::{package, verify, PackageInput, PackageRequest};

/// Builds `prog` from main.c + lib.c with `cc` and `flags`; returns the object file names.
fn build(dir: &Path, cc: &str, flags: &[&str]) {
    compile(dir, cc, "main.c", C_MAIN, "main.o", flags);
    compile(dir, cc, "lib.c", C_LIB, "lib.o", flags);
}

fn link(dir: &Path, cc: &str, objs: &[&str]) {
    let mut args = objs.to_vec();
    args.extend_from_slice(&["-o", "prog"]);
    tool(dir, cc, &args);
}

fn make_package(dir: &Path, inputs: &[&str], with_exe: bool) -> Vec<u8> {
    let data: Vec<Vec<u8>> = inputs.iter().map(|i| read(&dir.join(i))).collect();
    let list: Vec<PackageInput<'_>> = inputs
        .iter()
        .zip(&data)
        .map(|(name, d)| PackageInput { name, data: d })
        .collect();
    let exe = read(&dir.join("prog"));
    let req = PackageRequest {
        inputs: &list,
        executable: with_exe.then_some(&exe[..]),
    };
    package(&req).expect("package")
}

/// Runs gdb in batch mode: stop by function and by file:line, print locals and a backtrace.
fn gdb(dir: &Path) -> String {
    require_tool("gdb", "gdb");
    let out = Command::new("gdb")
        .current_dir(dir)
        .args([
            "-batch",
            "-nx",
            "-ex",
            "set debuginfod enabled off",
            "-ex",
            "break work",
            "-ex",
            "break lib.c:4",
        ])
        .args([
            "-ex",
            "run",
            "-ex",
            "info locals",
            "-ex",
            "bt",
            "-ex",
            "continue",
            "-ex",
            "info locals",
        ])
        .arg("./prog")
        .output()
        .expect("run gdb");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_debuggable(dir: &Path) {
    let out = gdb(dir);
    for want in [
        "Breakpoint 1, work (n=3) at lib.c:2",
        "#0  work (n=3) at lib.c:",
        "#1  0x",
        "in main (argc=1",
        "at main.c:4",
        "Breakpoint 2, work (n=3) at lib.c:4",
    ] {
        assert!(out.contains(want), "gdb output lacks {want:?}:\n{out}");
    }
    // `info locals` prints one `name = value` per line; source lines such as
    // `2\t    int acc = 0;` must not count, so only whole lines match.
    for want in ["acc = 0", "factor = 0", "factor = 3", "i = 0"] {
        assert!(
            out.lines().any(|l| l == want),
            "gdb output lacks the line {want:?}:\n{out}"
        );
    }
}

/// With the loose `.dwo` files gone, gdb debugs `prog` through `prog.dwp`; without the
/// package too, it shows no locals.
fn assert_only_the_package_debugs(dir: &Path) {
    std::fs::remove_file(dir.join("main.dwo")).unwrap();
    std::fs::remove_file(dir.join("lib.dwo")).unwrap();
    assert_debuggable(dir);
    std::fs::remove_file(dir.join("prog.dwp")).unwrap();
    assert_not_debuggable(dir);
}

fn assert_not_debuggable(dir: &Path) {
    let out = gdb(dir);
    assert!(
        !out.lines()
            .any(|l| l.starts_with("factor = ") || l.starts_with("acc = ")),
        "locals shown without the package:\n{out}"
    );
    assert!(
        out.contains("No locals.") || out.contains("No symbol table info available"),
        "{out}"
    );
}

#[test]
fn gcc_dwarf4_package_debugs_in_gdb() {
    let t = temp();
    let dir = t.path();
    build(dir, "gcc", &["-gsplit-dwarf", "-gdwarf-4"]);
    link(dir, "gcc", &["main.o", "lib.o"]);
    let dwp = make_package(dir, &["main.dwo", "lib.dwo"], true);
    std::fs::write(dir.join("prog.dwp"), &dwp).unwrap();
    let cov = verify(&read(&dir.join("prog")), &dwp).expect("verify");
    assert_eq!(cov.skeletons.len(), 2);
    assert!(cov.missing.is_empty(), "{cov:?}");
    assert!(cov.skeletons.iter().any(|s| s.name == "lib.dwo"), "{cov:?}");
    assert_only_the_package_debugs(dir);
}

#[test]
fn clang_single_dwarf4_split_link_package_debugs_in_gdb() {
    let t = temp();
    let dir = t.path();
    build(dir, "clang", &["-gsplit-dwarf=single", "-gdwarf-4"]);
    for o in ["main", "lib"] {
        let s = splitdwarf::split(&read(&dir.join(format!("{o}.o")))).expect("split");
        std::fs::write(dir.join(format!("{o}.o")), &s.object).unwrap();
        std::fs::write(dir.join(format!("{o}.dwo")), &s.dwo).unwrap();
    }
    link(dir, "clang", &["main.o", "lib.o"]);
    let dwp = make_package(dir, &["main.dwo", "lib.dwo"], true);
    std::fs::write(dir.join("prog.dwp"), &dwp).unwrap();
    assert_only_the_package_debugs(dir);
}

#[test]
fn verify_reports_what_a_partial_package_lacks() {
    let t = temp();
    let dir = t.path();
    build(dir, "gcc", &["-gsplit-dwarf", "-gdwarf-4"]);
    link(dir, "gcc", &["main.o", "lib.o"]);
    let dwp = make_package(dir, &["main.dwo"], false);
    let cov = verify(&read(&dir.join("prog")), &dwp).expect("verify");
    let missing: Vec<&str> = cov.missing.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(missing, ["lib.dwo"]);
    assert_eq!(cov.package_units, 1);
    // With the binary given, packaging itself refuses to leave a unit out.
    let data = read(&dir.join("main.dwo"));
    let exe = read(&dir.join("prog"));
    let list = [PackageInput {
        name: "main.dwo",
        data: &data,
    }];
    let err = package(&PackageRequest {
        inputs: &list,
        executable: Some(&exe),
    })
    .unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
}

fn dwarfdump_verify(dir: &Path, file: &str) {
    require_tool("llvm-dwarfdump", "llvm");
    let out = Command::new("llvm-dwarfdump")
        .current_dir(dir)
        .args(["--verify", file])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("No errors."),
        "llvm-dwarfdump --verify {file}:\n{text}"
    );
}

#[test]
fn dwarf5_packages_verify_with_llvm_dwarfdump() {
    // clang objects (split in one file, C and C++) and GCC's two-file DWARF 5 output.
    let t = temp();
    let dir = t.path();
    build(dir, "clang", &["-gsplit-dwarf=single", "-gdwarf-5"]);
    compile(
        dir,
        "clang++",
        "w.cc",
        CXX_SRC,
        "w.o",
        &["-gsplit-dwarf=single", "-gdwarf-5"],
    );
    link(dir, "clang++", &["main.o", "lib.o", "w.o"]);
    let dwp = make_package(dir, &["main.o", "lib.o", "w.o"], true);
    std::fs::write(dir.join("prog.dwp"), &dwp).unwrap();
    assert!(verify(&read(&dir.join("prog")), &dwp)
        .unwrap()
        .missing
        .is_empty());
    dwarfdump_verify(dir, "prog.dwp");

    let g = temp();
    let dir = g.path();
    build(dir, "gcc", &["-gsplit-dwarf", "-gdwarf-5"]);
    link(dir, "gcc", &["main.o", "lib.o"]);
    let dwp = make_package(dir, &["main.dwo", "lib.dwo"], true);
    std::fs::write(dir.join("prog.dwp"), &dwp).unwrap();
    assert!(verify(&read(&dir.join("prog")), &dwp)
        .unwrap()
        .missing
        .is_empty());
    dwarfdump_verify(dir, "prog.dwp");
}

#[test]
fn bundles_package_like_their_dwo() {
    let t = temp();
    let dir = t.path();
    build(dir, "clang", &["-gsplit-dwarf=single", "-gdwarf-4"]);
    let mut bundles = Vec::new();
    for o in ["main", "lib"] {
        let b = splitdwarf::bundle(
            &read(&dir.join(format!("{o}.o"))),
            splitdwarf::BundleKind::Dwo,
        )
        .unwrap();
        std::fs::write(dir.join(format!("{o}.bundle")), &b.bundle).unwrap();
        bundles.push(b);
    }
    link(dir, "clang", &["main.o", "lib.o"]);
    let from_bundles = make_package(dir, &["main.bundle", "lib.bundle"], true);
    let from_objects = make_package(dir, &["main.o", "lib.o"], true);
    assert_eq!(from_bundles, from_objects);
}

/// Runs lldb in batch mode: breakpoints by function and file:line, locals, backtrace.
fn lldb(dir: &Path) -> String {
    require_tool("lldb", "lldb");
    let out = Command::new("timeout")
        .current_dir(dir)
        .args([
            "120",
            "lldb",
            "--batch",
            "-o",
            "b work",
            "-o",
            "b lib.c:4",
            "-o",
            "run",
        ])
        .args([
            "-o",
            "frame variable",
            "-o",
            "bt",
            "-o",
            "continue",
            "-o",
            "frame variable",
        ])
        .arg("./prog")
        .output()
        .expect("run lldb");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn dwarf5_packages_debug_in_lldb() {
    for (cc, flags) in [("clang", "-gsplit-dwarf=single"), ("gcc", "-gsplit-dwarf")] {
        let t = temp();
        let dir = t.path();
        build(dir, cc, &[flags, "-gdwarf-5"]);
        let inputs = if cc == "clang" {
            for o in ["main", "lib"] {
                let s = splitdwarf::split(&read(&dir.join(format!("{o}.o")))).expect("split");
                std::fs::write(dir.join(format!("{o}.o")), &s.object).unwrap();
                std::fs::write(dir.join(format!("{o}.dwo")), &s.dwo).unwrap();
            }
            ["main.dwo", "lib.dwo"]
        } else {
            ["main.dwo", "lib.dwo"]
        };
        link(dir, cc, &["main.o", "lib.o"]);
        let dwp = make_package(dir, &inputs, true);
        std::fs::write(dir.join("prog.dwp"), &dwp).unwrap();
        for f in inputs {
            std::fs::remove_file(dir.join(f)).unwrap();
        }
        let out = lldb(dir);
        for want in [
            "(int) factor = 0",
            "(int) factor = 3",
            "(int) i = 0",
            "work(n=3) at lib.c:2",
            "main(argc=1",
            "at lib.c:4",
        ] {
            assert!(
                out.contains(want),
                "{cc}: lldb output lacks {want:?}:\n{out}"
            );
        }
        std::fs::remove_file(dir.join("prog.dwp")).unwrap();
        let out = lldb(dir);
        assert!(
            !out.contains("(int) factor = "),
            "{cc}: locals shown without the package:\n{out}"
        );
    }
}
