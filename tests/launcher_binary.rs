//! The launcher binary itself (`build.rs`, ARCHITECTURE "The launcher's start"): on GNU/Linux
//! it is static and position-dependent (no program interpreter, no shared library, nothing to
//! relocate at start), it compiles and hits like
//! any launcher, and it still hands every other command to `cached-ninja-cli`.

mod support;

use std::process::Command;
use support::{cached_ninja, require_tool, run_ok, TestSpace};

#[test]
fn launcher_is_static_without_relocations_and_compiles_and_hands_over() {
    require_tool("readelf", "binutils");
    require_tool("gcc", "gcc");
    let headers = run_ok(Command::new("readelf").arg("-lW").arg(cached_ninja()));
    let headers = String::from_utf8_lossy(&headers.stdout);
    assert!(headers.contains("Elf file type is EXEC"), "{headers}");
    assert!(!headers.contains("INTERP"), "{headers}");
    let dynamic = run_ok(Command::new("readelf").arg("-dW").arg(cached_ninja()));
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(!dynamic.contains("(NEEDED)"), "{dynamic}");
    // A static PIE has thousands of relative relocations to apply at each start; a
    // position-dependent static binary only the C library's IRELATIVE ones (its ifuncs).
    let relocs = run_ok(Command::new("readelf").arg("-rW").arg(cached_ninja()));
    let relocs = String::from_utf8_lossy(&relocs.stdout);
    let relative = relocs.lines().filter(|l| l.contains("_RELATIVE")).count();
    assert_eq!(relative, 0, "relative relocations left: {relative}");

    // A miss, then a hit in another object directory, with zero setup.
    let space = TestSpace::new();
    space.write("src/a.c", "int a(void) { return 7; }\n");
    for obj in ["objA", "objB"] {
        let dir = space.path().join(obj);
        std::fs::create_dir_all(&dir).unwrap();
        run_ok(
            Command::new(cached_ninja())
                .current_dir(&dir)
                .env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"))
                .env("CACHED_NINJA_SRCDIR", space.path().join("src"))
                .args(["gcc", "-O2", "-o", "a.o", "-c"])
                .arg(space.path().join("src/a.c")),
        );
        assert!(dir.join("a.o").is_file());
    }
    let (hits, misses) = support::hits_misses(&space.path().join("objB"));
    assert_eq!((hits, misses), (1, 0));

    // Every other command runs in the CLI beside it.
    let help = run_ok(Command::new(cached_ninja()).arg("--help"));
    assert!(String::from_utf8_lossy(&help.stdout).contains("configure"));
}
