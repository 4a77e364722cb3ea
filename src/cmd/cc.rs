//! `cached-ninja cc [--src-root DIR] -- <compiler command…>`: the thin CLI entry of the compile
//! launcher; everything else is in [`engine::launcher`]. Cargo's rustc calls in a workspace
//! with a policy come here from the launcher binary, which does not link the policy's parser.

use crate::policy::Policy;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::ExitCode;

/// Entry point from `main`: `args` are the words after `cc`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    exit(engine::launcher::run_cli(args))
}

/// Entry point from `main`: `args` are the words after `rustc`.
pub fn main_rustc(args: Vec<OsString>) -> ExitCode {
    exit(engine::launcher::run_rustc_cli(args))
}

/// Entry point from `main` for `cached-ninja <compiler> <args…>`: `words` start with the compiler.
pub fn main_zero_setup(words: Vec<OsString>) -> ExitCode {
    if kept_out_by_policy(&words) {
        let e = std::process::Command::new(&words[0])
            .args(&words[1..])
            .exec();
        eprintln!(
            "cached-ninja: error: cannot run {}: {e}",
            words[0].to_string_lossy()
        );
        return ExitCode::from(127);
    }
    exit(engine::launcher::run_zero_setup(words))
}

/// Under Cargo: whether a `[[rule]] cache = false` of the workspace's policy
/// ([`engine::launcher::cargo_policy`]) matches the crate's primary output, as a path relative
/// to the target directory (`debug/deps/libname-….rlib`); the command then runs as it is,
/// uncounted, like a Ninja edge `generate` left alone. A policy that cannot be read is one
/// warning line per Cargo run, and every crate is cached.
fn kept_out_by_policy(words: &[OsString]) -> bool {
    let Some(cargo) = engine::launcher::cargo_policy(words) else {
        return false;
    };
    match Policy::read(&cargo.file) {
        Ok(p) => !p.cached(cargo.output.as_bytes()),
        Err(e) => {
            // Once per Cargo run (the wrapper's parent), not once per crate.
            let state = fetch::objdir::ObjDir::new(&cargo.target);
            let _ = std::fs::create_dir_all(state.state_dir());
            if state.first_in_build("policy-warned", std::os::unix::process::parent_id()) {
                eprintln!("cached-ninja: warning: {e:#}; every crate is cached");
            }
            false
        }
    }
}

fn exit(result: Result<i32, String>) -> ExitCode {
    let code = match result {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cached-ninja: error: {e}");
            1
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
