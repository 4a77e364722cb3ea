//! Links the `cached-ninja` launcher as a static, position-dependent executable on GNU/Linux.
//!
//! Every compile edge runs the launcher, so its process start is part of every hit. Measured on
//! a hit of libgit2's `llhttp/api.c`: the dynamic loader, `libgcc_s`'s constructor (its CPUID
//! probes cost about 6 µs each inside a virtual machine) and symbol binding are about a fifth of
//! the hit (see BENCHMARKS.md, "Engine (issue 12)"). Position-dependent (`-no-pie`, the
//! standard library's position-independent code linked at a fixed address) because a static
//! PIE relocates itself at every start: about 4 000 relocations and the page faults of the
//! pages they write, 12 % of a hit (BENCHMARKS.md, "A launcher without relocations"). The
//! launcher gives up address randomisation for it; it runs the user's own compiler on the
//! user's own files, as the compiler itself does.
//!
//! Stable cargo cannot set `-C target-feature=+crt-static` for one binary of a package (and
//! for all of them it breaks proc-macro crates), so the launcher gets the static link by its
//! link arguments alone: rustc still names `-lgcc_s -lc …` after `-Bdynamic`, and a directory
//! searched first holds, under those names, the static archives (`libc.a` and its companions
//! as symlinks; `libgcc_s.a` as an empty archive, the unwinder coming from `-lgcc_eh`). A
//! bare `-static-pie` without that directory links the shared libraries into a binary that has
//! no dynamic loader and crashes at start. The other binaries stay dynamic (the CLI resolves
//! host names through the C library).
//!
//! Set `CACHED_NINJA_DYNAMIC_LAUNCHER=1` to link the launcher dynamically; the same happens,
//! with a cargo warning, when a static archive is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The C libraries rustc links the standard library against on GNU/Linux.
const LIBS: &[&str] = &["c", "m", "pthread", "rt", "dl", "util"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CACHED_NINJA_DYNAMIC_LAUNCHER");
    println!("cargo:rerun-if-env-changed=CC");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let gnu_linux = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let already_static = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static");
    if !gnu_linux || already_static || !var("CACHED_NINJA_DYNAMIC_LAUNCHER").is_empty() {
        return;
    }
    let dir = PathBuf::from(var("OUT_DIR")).join("static-launcher");
    match stand_ins(&dir) {
        Ok(()) => {
            for arg in [
                format!("-L{}", dir.display()),
                "-static".to_string(),
                "-no-pie".to_string(),
                "-lgcc_eh".to_string(),
                "-lgcc".to_string(),
                "-lc".to_string(),
            ] {
                println!("cargo:rustc-link-arg-bin=cached-ninja={arg}");
            }
        }
        Err(why) => println!(
            "cargo:warning=the cached-ninja launcher is linked dynamically (slower hits): {why}"
        ),
    }
}

/// Fills `dir` with the static archives under the names rustc asks for.
fn stand_ins(dir: &Path) -> Result<(), String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for lib in LIBS.iter().chain(&["gcc_eh"]) {
        let name = format!("lib{lib}.a");
        let out = Command::new(&cc)
            .arg(format!("-print-file-name={name}"))
            .output()
            .map_err(|e| format!("cannot run {cc}: {e}"))?;
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        // The driver prints the bare name when it has no such file.
        if !path.is_absolute() || !path.is_file() {
            return Err(format!(
                "{name} not found by {cc} (install the C library's development package)"
            ));
        }
        if *lib != "gcc_eh" {
            std::os::unix::fs::symlink(&path, dir.join(&name))
                .map_err(|e| format!("cannot link {}: {e}", dir.join(&name).display()))?;
        }
    }
    // The unwinder comes from `-lgcc_eh`; this empty archive answers rustc's `-lgcc_s`.
    std::fs::write(dir.join("libgcc_s.a"), b"!<arch>\n")
        .map_err(|e| format!("cannot write {}: {e}", dir.join("libgcc_s.a").display()))
}
