//! The crash campaign's fast subset (issue 16): `bench/crash-campaign.py` with 20 rounds, each
//! a `kill -9` at a random moment of a launcher (compile, insert, materialise), of
//! `cached-ninja build` (its start, pull or Ninja), of `publish` or of `dbgfetch fill`; after
//! each, `cache verify` finds nothing corrupt or partial but the killed writer's temporaries,
//! no process is left in the object directories, the next build's objects equal CI's, and a
//! second verify is clean. Any failed check fails the test. The seed is fixed
//! (`CRASH_SEED` overrides it); the moments still vary with the machine's load.

mod support;

use std::process::Command;
use support::{cached_ninja, repo_root, require_tool, run};

#[test]
fn twenty_kills_hurt_neither_the_cache_nor_the_next_build() {
    for (tool, package) in [
        ("python3", "python3"),
        ("gcc", "gcc"),
        ("g++", "g++"),
        ("cmake", "cmake"),
        ("ninja", "ninja-build"),
        ("objcopy", "binutils"),
    ] {
        require_tool(tool, package);
    }
    let seed = std::env::var("CRASH_SEED").unwrap_or_else(|_| "16".into());
    let out = run(Command::new("python3")
        .arg(repo_root().join("bench/crash-campaign.py"))
        .args(["--kills", "20", "--time-limit", "50", "--seed", &seed])
        .env("CN", cached_ninja())
        .env("DBGFETCH", env!("CARGO_BIN_EXE_dbgfetch")));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the campaign failed:\n{report}");
    assert!(report.contains("failures: 0"), "{report}");
    assert!(
        !report.contains(" total         0 "),
        "no round ran:\n{report}"
    );
}
