//! `cached-ninja`: the compile launcher every rewritten edge runs (`cc -- …`, or zero setup as
//! `cached-ninja <compiler> …`); every other command is handed to `cached-ninja-cli` beside it
//! (see `src/dispatch.rs` for why there are two binaries).

#[path = "../dispatch.rs"]
mod dispatch;

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

#[path = "../arena.rs"]
#[cfg_attr(not(target_env = "musl"), allow(dead_code))] // the allocator only musl's launcher uses
mod arena;

/// Built for musl, the launcher keeps what it frees (see `src/arena.rs`).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: arena::Arena = arena::Arena::new();

fn main() -> ExitCode {
    let result = match dispatch::form(std::env::args_os().skip(1)) {
        dispatch::Form::Cc(args) => engine::launcher::run_cli(args),
        dispatch::Form::Rustc(args) => engine::launcher::run_rustc_cli(args),
        // Cargo's rustc calls in a workspace with a policy: the CLI reads it (the policy's
        // parser is not linked here: every hit would pay for its size at start-up).
        dispatch::Form::ZeroSetup(words) if engine::launcher::cargo_policy(&words).is_some() => {
            to_cli()
        }
        dispatch::Form::ZeroSetup(words) => engine::launcher::run_zero_setup(words),
        dispatch::Form::Cli => to_cli(),
    };
    match result {
        Ok(c) => ExitCode::from(c.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("cached-ninja: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Replaces this process with `cached-ninja-cli` beside it, given the same words; returns only
/// on failure.
fn to_cli() -> Result<i32, String> {
    let mut argv = std::env::args_os();
    let arg0 = argv.next().unwrap_or_else(|| dispatch::LAUNCHER.into());
    let cli = dispatch::sibling(dispatch::CLI).ok_or_else(|| {
        format!(
            "{} is missing beside this binary; install both (`cargo install --path .` or `cargo build --release`)",
            dispatch::CLI
        )
    })?;
    let e = std::process::Command::new(&cli)
        .arg0(arg0)
        .args(argv)
        .exec();
    Err(format!("cannot run {}: {e}", cli.display()))
}
