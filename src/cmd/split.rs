//! `cached-ninja split …`: the splitdwarf library for humans.

use clap::Subcommand;
use std::process::ExitCode;

/// DWARF splitting subcommands.
#[derive(Subcommand)]
pub enum SplitCommand {}

/// Runs one split subcommand.
pub fn run(cmd: SplitCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
