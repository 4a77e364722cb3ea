//! `cached-ninja`: the compile launcher every rewritten edge runs (`cc -- …`, or zero setup as
//! `cached-ninja <compiler> …`); every other command is handed to `cached-ninja-cli` beside it
//! (see `src/dispatch.rs` for why there are two binaries).

#[path = "../dispatch.rs"]
mod dispatch;
// The policy's rules for Cargo's rustc calls (`RUSTC_WRAPPER`), which no `generate` rewrote.
#[allow(dead_code)]
#[path = "../policy.rs"]
mod policy;

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

fn main() -> ExitCode {
    let result = match dispatch::form(std::env::args_os().skip(1)) {
        dispatch::Form::Cc(args) => engine::launcher::run_cli(args),
        dispatch::Form::Rustc(args) => engine::launcher::run_rustc_cli(args),
        dispatch::Form::ZeroSetup(words) if kept_out_by_policy(&words) => {
            let e = std::process::Command::new(&words[0])
                .args(&words[1..])
                .exec();
            Err(format!("cannot run {}: {e}", words[0].to_string_lossy()))
        }
        dispatch::Form::ZeroSetup(words) => engine::launcher::run_zero_setup(words),
        dispatch::Form::Cli => {
            let mut argv = std::env::args_os();
            let arg0 = argv.next().unwrap_or_else(|| dispatch::LAUNCHER.into());
            let Some(cli) = dispatch::sibling(dispatch::CLI) else {
                eprintln!(
                    "cached-ninja: error: {} is missing beside this binary; install both (`cargo install --path .` or `cargo build --release`)",
                    dispatch::CLI
                );
                return ExitCode::FAILURE;
            };
            let e = std::process::Command::new(&cli)
                .arg0(arg0)
                .args(argv)
                .exec();
            Err(format!("cannot run {}: {e}", cli.display()))
        }
    };
    match result {
        Ok(c) => ExitCode::from(c.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("cached-ninja: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Under Cargo: whether a `[[rule]] cache = false` of the workspace's policy (`cached-ninja.toml`
/// in the target directory's parent, else in the target directory) matches the crate's primary
/// output, as a path relative to the target directory (`debug/deps/libname-….rlib`); the
/// command then runs as it is, uncounted, like a Ninja edge `generate` left alone. A policy
/// that cannot be read is one warning line per Cargo run, and every crate is cached.
fn kept_out_by_policy(words: &[std::ffi::OsString]) -> bool {
    let Some((target, output)) = engine::launcher::cargo_output(words) else {
        return false;
    };
    let root = target.parent().unwrap_or(&target);
    let Some(file) = policy::Policy::locate(None, root, Some(&target)) else {
        return false;
    };
    match policy::Policy::read(&file) {
        Ok(p) => !p.cached(output.as_bytes()),
        Err(e) => {
            // Once per Cargo run (the wrapper's parent), not once per crate.
            let state = fetch::objdir::ObjDir::new(&target);
            let _ = std::fs::create_dir_all(state.state_dir());
            if state.first_in_build("policy-warned", std::os::unix::process::parent_id()) {
                eprintln!("cached-ninja: warning: {e:#}; every crate is cached");
            }
            false
        }
    }
}
