//! A header's facts (digest, directives) remembered per version (ARCHITECTURE "A header is
//! read once per version"): the misses of a build that include the same settled header read
//! it once between them, and an edited header is read again, so its new bytes make a new key
//! and the object is compiled from them. Real gcc, the launcher traced by strace.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::{cached_ninja, require_tool, run_ok, TestSpace};

/// The files the launcher process itself (not the compiler it runs) opened while compiling
/// `source` in `dir` with zero setup.
fn launch_traced(dir: &Path, source: &str) -> String {
    let trace = dir.join(format!("{source}.trace"));
    let object = source.replace(".c", ".o");
    run_ok(
        Command::new("strace")
            .current_dir(dir)
            .env("CACHED_NINJA_CACHE_DIR", dir.join("cache"))
            .args(["-e", "trace=open,openat", "-o"])
            .arg(&trace)
            .arg(cached_ninja())
            .args(["gcc", "-O2", "-c", source, "-o", &object]),
    );
    std::fs::read_to_string(trace).unwrap()
}

fn opened(trace: &str, name: &str) -> bool {
    trace
        .lines()
        .any(|l| l.contains(&format!("/{name}\"")) || l.contains(&format!("\"{name}\"")))
}

#[test]
fn a_settled_header_is_read_once_and_an_edited_one_again() {
    require_tool("strace", "strace");
    require_tool("gcc", "gcc");
    require_tool("objdump", "binutils");
    let space = TestSpace::new();
    let dir = space.path();
    space.write("h.h", "#define H 1\n");
    space.write("a.c", "#include \"h.h\"\nint a(void) { return H; }\n");
    space.write("b.c", "#include \"h.h\"\nint b(void) { return H + 40; }\n");
    // Only a settled stamp is trusted (both timestamps 2 s old: `StatStamp::is_settled`).
    std::thread::sleep(Duration::from_millis(2200));

    let first = launch_traced(dir, "a.c");
    assert!(opened(&first, "h.h"), "the first miss reads h.h:\n{first}");
    let second = launch_traced(dir, "b.c");
    assert!(
        !opened(&second, "h.h"),
        "the second miss takes h.h's facts from the first:\n{second}"
    );
    assert_eq!(support::hits_misses(dir), (0, 2));

    // The same size, a later write: a new stamp, so the header is read and a.c recompiled;
    // settled again before the launch, so a memo keyed without the timestamps would be taken.
    std::thread::sleep(Duration::from_millis(50));
    space.write("h.h", "#define H 2\n");
    std::thread::sleep(Duration::from_millis(2200));
    let after = launch_traced(dir, "a.c");
    assert!(opened(&after, "h.h"), "an edited header is read:\n{after}");
    assert_eq!(support::hits_misses(dir), (0, 3));
    let asm = run_ok(Command::new("objdump").arg("-d").arg(dir.join("a.o")));
    let asm = String::from_utf8_lossy(&asm.stdout);
    assert!(asm.contains("$0x2,%eax"), "a.o returns the new H:\n{asm}");
}
