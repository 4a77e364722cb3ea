//! `dbgfetch`: fills debug information in beside linked binaries (DESIGN §6). Not built yet.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("dbgfetch: not implemented yet (see the open issues); nothing was done");
    ExitCode::from(2)
}
