//! `cached-ninja cc [--src-root DIR] -- <compiler command…>`: the thin CLI entry of the compile
//! launcher; everything else is in [`engine::launcher`].

use std::ffi::OsString;
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
    exit(engine::launcher::run_zero_setup(words))
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
