//! `dbgfetch`: the background service that fills debug information in beside linked binaries
//! (DESIGN §6). Only its command line exists so far; the service is an open issue.

use clap::Parser;
use std::process::ExitCode;

/// Fills in debug information (`<binary>.dwp`) after a cached-ninja build. Not built yet: this
/// binary only reports that and exits with status 2.
#[derive(Parser)]
#[command(name = "dbgfetch", version)]
struct Cli {}

fn main() -> ExitCode {
    let Cli {} = Cli::parse();
    eprintln!("dbgfetch: the debug-info fill service is not built yet (see the open issues); nothing was done");
    ExitCode::from(2)
}
