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
    /// Compile launcher for C and C++: `cached-ninja cc [--src-root DIR] -- <compiler> <args…>`.
    Cc {
        /// `[--src-root DIR] -- <compiler> <args…>`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Local cache maintenance (`gc`, `stats`).
    #[command(subcommand)]
    Cache(cmd::cache::CacheCommand),
    /// Statistics of the launchers of a build (hits, misses, time saved).
    Stats(cmd::stats::StatsArgs),
}

fn main() -> ExitCode {
    // The launcher's hot path skips clap: every compile edge of a build runs it.
    let mut argv = std::env::args_os();
    if argv.nth(1).is_some_and(|a| a == "cc") {
        return cmd::cc::main(argv.collect());
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tool(c) => cmd::tool::run(c),
        Command::Split(c) => cmd::split::run(c),
        Command::Cc { args } => return cmd::cc::main(args),
        Command::Cache(c) => cmd::cache::run(c),
        Command::Stats(a) => cmd::stats::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cached-ninja: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
