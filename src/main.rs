//! `cached-ninja`: the command-line front of the build accelerator (see ../shared/DESIGN.md §2).

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Build accelerator for large C, C++ and Rust code bases built with Ninja.
#[derive(Parser)]
#[command(name = "cached-ninja", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ninja-compatible inspection tools over our own parser (`commands`, `targets`).
    #[command(subcommand)]
    Tool(cmd::tool::ToolCommand),
    /// Split, strip, bundle and package DWARF debug information of ELF objects.
    #[command(subcommand)]
    Split(cmd::split::SplitCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tool(c) => cmd::tool::run(c),
        Command::Split(c) => cmd::split::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cached-ninja: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
