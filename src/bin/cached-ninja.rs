//! `cached-ninja`: the compile launcher every rewritten edge runs (`cc -- …`, or zero setup as
//! `cached-ninja <compiler> …`); every other command is handed to `cached-ninja-cli` beside it
//! (see `src/dispatch.rs` for why there are two binaries).

#[path = "../dispatch.rs"]
mod dispatch;

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

fn main() -> ExitCode {
    let result = match dispatch::form(std::env::args_os().skip(1)) {
        dispatch::Form::Cc(args) => engine::launcher::run_cli(args),
        dispatch::Form::Rustc(args) => engine::launcher::run_rustc_cli(args),
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
