//! The launcher binary itself (`build.rs`, ARCHITECTURE "The launcher's start"): on GNU/Linux
//! it is static and position-dependent (no program interpreter, no shared library, nothing to
//! relocate at start), it compiles and hits like any launcher, and it still hands every other
//! command to `cached-ninja-cli`; and a hit runs no CPU-feature detection (ARCHITECTURE "No
//! CPU-feature probe on a hit").

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

/// The standard library's CPU-feature detection (a dozen CPUID instructions, each trapped by a
/// hypervisor) never runs on a hit: the hit path's byte searches are the portable ones
/// (`backend::scan`, `fetch::cache::lines`). A breakpoint on it under gdb: hit by a miss (whose
/// searches are SIMD: the breakpoint works), never by a hit.
#[test]
fn a_hit_runs_no_cpu_feature_detection() {
    require_tool("gdb", "gdb");
    require_tool("gcc", "gcc");
    let space = TestSpace::new();
    space.write(
        "a.c",
        "#include <stddef.h>\nint a(void) { return (int)sizeof(size_t); }\n",
    );
    let dir = space.path();
    let under_gdb = || {
        let mut c = Command::new("gdb");
        c.current_dir(dir)
            .env("CACHED_NINJA_CACHE_DIR", dir.join("cache"))
            .args(["-batch", "-nx", "-ex", "set breakpoint pending off"])
            .args([
                "-ex",
                "break std_detect::detect::cache::detect_and_initialize",
            ])
            .args(["-ex", "run", "-ex", "info breakpoints", "--args"])
            .arg(cached_ninja())
            .args(["cc", "--", "gcc", "-c", "a.c", "-o", "a.o"]);
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    let detected = |gdb: &str| gdb.contains("Breakpoint 1, ") || gdb.contains("already hit");
    let miss = under_gdb();
    assert!(
        miss.contains("Breakpoint 1 at"),
        "the breakpoint was not set:\n{miss}"
    );
    assert!(
        detected(&miss),
        "a miss's SIMD searches detect the CPU's features:\n{miss}"
    );
    // The miss stopped at the breakpoint: now a real one stores the entry, then the hit.
    run_ok(
        Command::new(cached_ninja())
            .current_dir(dir)
            .env("CACHED_NINJA_CACHE_DIR", dir.join("cache"))
            .args(["cc", "--", "gcc", "-c", "a.c", "-o", "a.o"]),
    );
    std::fs::remove_file(dir.join("a.o")).unwrap();
    let hit = under_gdb();
    assert!(
        !detected(&hit),
        "a hit ran the CPU-feature detection:\n{hit}"
    );
    assert!(
        dir.join("a.o").is_file(),
        "the hit wrote the object:\n{hit}"
    );
    let (hits, _) = support::hits_misses(dir);
    assert_eq!(hits, 1, "{hit}");
}

/// A launcher started with its standard streams closed (a daemon's child, `2>&-`) never
/// writes a compiler's diagnostics into a file it opened: fds 0-2 are /dev/null before anything
/// is opened (the standard library's start-up does this; the launcher's own `main` does it
/// too). A miss that replays a warning and the hit after it both leave a whole object.
#[test]
fn closed_standard_streams_never_land_in_an_output() {
    require_tool("gcc", "gcc");
    require_tool("readelf", "binutils");
    let space = TestSpace::new();
    space.write(
        "src/w.c",
        "int w(void) { int unused; return 7; }\n/* warns: -Wunused-variable */\n",
    );
    for obj in ["objA", "objB"] {
        let dir = space.path().join(obj);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$@" <&- >&- 2>&-"#)
            .arg("sh")
            .arg(cached_ninja())
            .args(["gcc", "-Wall", "-g", "-o", "w.o", "-c"])
            .arg(space.path().join("src/w.c"))
            .current_dir(&dir)
            .env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"))
            .env("CACHED_NINJA_SRCDIR", space.path().join("src"))
            .status()
            .unwrap();
        assert!(out.success(), "{obj}: {out}");
        let elf = run_ok(Command::new("readelf").arg("-hW").arg(dir.join("w.o")));
        assert!(
            String::from_utf8_lossy(&elf.stdout).contains("REL (Relocatable file)"),
            "{obj}: w.o is not a whole object"
        );
    }
    let (hits, misses) = support::hits_misses(&space.path().join("objB"));
    assert_eq!((hits, misses), (1, 0));
}
