//! `cached-ninja cc [--src-root DIR] -- <compiler command…>`: the thin CLI entry of the compile
//! launcher; everything else is in [`engine::launcher`].

use std::ffi::OsString;
use std::process::ExitCode;

/// Entry point from `main`: `args` are the words after `cc`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let code = match engine::launcher::run_cli(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cached-ninja: error: {e}");
            1
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
