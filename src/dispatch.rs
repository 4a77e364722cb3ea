//! Which binary serves a command: every compile edge runs the launcher, so `cached-ninja` is a
//! small binary (the engine's launcher and nothing of the network stack: a third of the start-up
//! cost, see BENCHMARKS.md "Engine") that hands every other command to `cached-ninja-cli`
//! beside it. Shared by both binaries (`#[path]`), so they agree on what a compile is.

use std::ffi::OsString;
use std::path::PathBuf;

/// The subcommands' names: any other first word that is not an option is a compiler
/// (`cached-ninja gcc …`, `CMAKE_C_COMPILER_LAUNCHER=cached-ninja`).
pub const SUBCOMMANDS: &[&str] = &[
    "tool",
    "split",
    "cc",
    "rustc",
    "cache",
    "stats",
    "generate",
    "configure",
    "demo",
    "build",
    "fetch",
    "publish",
    "key",
    "explain",
    "serve-ahead",
    "help",
];

/// File name of the launcher binary.
pub const LAUNCHER: &str = "cached-ninja";
/// File name of the binary with every other command.
#[allow(dead_code)] // used by the launcher binary only
pub const CLI: &str = "cached-ninja-cli";

/// How the words after the program name are to be served.
pub enum Form {
    /// `cc [--src-root DIR] -- <compiler> …`: the words after `cc`.
    Cc(Vec<OsString>),
    /// `rustc [--src-root DIR] -- rustc …`: the words after `rustc`.
    Rustc(Vec<OsString>),
    /// `<compiler> …`: every word.
    ZeroSetup(Vec<OsString>),
    /// A command of the CLI (or an option such as `--help`).
    Cli,
}

/// Tells a launch from a CLI command by the first word.
pub fn form(mut words: impl Iterator<Item = OsString>) -> Form {
    match words.next() {
        Some(a) if a == "cc" => Form::Cc(words.collect()),
        // `cached-ninja rustc -- rustc …`; a bare `rustc` followed by rustc's own arguments is
        // Cargo's `RUSTC_WRAPPER` call with `RUSTC=rustc` (zero setup).
        Some(a) if a == "rustc" => {
            let rest: Vec<OsString> = words.collect();
            match rest.first() {
                Some(w) if w == "--" || w.to_string_lossy().starts_with("--src-root") => {
                    Form::Rustc(rest)
                }
                _ => Form::ZeroSetup(std::iter::once(a).chain(rest).collect()),
            }
        }
        Some(a)
            if !a.to_string_lossy().starts_with('-')
                && !SUBCOMMANDS.contains(&&*a.to_string_lossy()) =>
        {
            Form::ZeroSetup(std::iter::once(a).chain(words).collect())
        }
        _ => Form::Cli,
    }
}

/// The binary named `name` beside the running one, if it is there.
pub fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.with_file_name(name);
    p.is_file().then_some(p)
}

/// The launcher for rewritten compile edges: `cached-ninja` beside this binary, else this one
/// (both launch; the small one starts faster).
#[allow(dead_code)] // used by the CLI binary only
pub fn launcher_exe() -> std::io::Result<PathBuf> {
    match sibling(LAUNCHER) {
        Some(p) => Ok(p),
        None => std::env::current_exe(),
    }
}
