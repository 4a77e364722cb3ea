//! `cached-ninja tool …`: Ninja's `-t commands` and `-t targets all` over our parser.

use clap::Subcommand;
use std::process::ExitCode;

/// Ninja-compatible tools.
#[derive(Subcommand)]
pub enum ToolCommand {}

/// Runs one tool.
pub fn run(cmd: ToolCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
