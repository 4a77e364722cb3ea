//! `cached-ninja-cli` (run as `cached-ninja`): the command-line front of the build accelerator (see ../shared/DESIGN.md §2).

mod cmd;
mod dispatch;
mod error_text;
mod policy;
mod remote;

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
    /// Ninja-compatible tools over our own parser (`commands`, `targets`, `emit`).
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
    /// Launch rustc through the cache (`RUSTC_WRAPPER=cached-ninja` needs no subcommand).
    Rustc {
        /// `[--src-root DIR] -- rustc <args…>`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Local cache maintenance (`gc`, `stats`, `verify`).
    Cache(cmd::cache::CacheArgs),
    /// Statistics of the launchers of a build (hits, misses, time saved).
    Stats(cmd::stats::StatsArgs),
    /// Rewrite an object directory's build.ninja in place so compile edges use the launcher.
    Generate(cmd::generate::GenerateArgs),
    /// Run the project's generator (CMake -G Ninja, meson setup), then rewrite its Ninja files.
    Configure(cmd::configure::ConfigureArgs),
    /// Build the example project as CI would, then as a developer would, reusing CI's objects.
    Demo(cmd::demo::DemoArgs),
    /// Run Ninja on the rewritten files: compiles limited to the CPU count, progress, summary.
    Build(cmd::build::BuildArgs),
    /// Find the nearest ancestor build in a store (`--plan`) and pull its objects into the cache.
    Fetch(cmd::fetch::FetchArgs),
    /// Upload the object directory's current objects (every edge, across incremental builds),
    /// signed, then the build manifest of the revision, to the writable stores (CI).
    Publish(cmd::publish::PublishArgs),
    /// Why one output was a hit, pulled, compiled or uncacheable, and what differs from CI's
    /// record (or the previous object) for a compile.
    Explain(cmd::explain::ExplainArgs),
    /// Serve the local cache's hits ahead of Ninja's first run (what `build` runs in the
    /// object directory; not for people).
    #[command(hide = true, name = "serve-ahead")]
    ServeAhead(cmd::build::ahead::AheadArgs),
    /// Publisher keys: `key generate [--out FILE]` writes a secret key, prints the public key.
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
}

fn main() -> ExitCode {
    // A launch skips clap (normally the small `cached-ninja` binary serves it, this one too).
    match dispatch::form(std::env::args_os().skip(1)) {
        dispatch::Form::Cc(args) => return cmd::cc::main(args),
        dispatch::Form::Rustc(args) => return cmd::cc::main_rustc(args),
        dispatch::Form::ZeroSetup(words) => return cmd::cc::main_zero_setup(words),
        dispatch::Form::Cli => {}
    }
    quiet_broken_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tool(c) => cmd::tool::run(c),
        Command::Split(c) => cmd::split::run(c),
        Command::Cc { args } => return cmd::cc::main(args),
        Command::Rustc { args } => return cmd::cc::main_rustc(args),
        Command::Cache(c) => cmd::cache::run(c),
        Command::Stats(a) => cmd::stats::run(a),
        Command::Generate(a) => cmd::generate::run(a),
        Command::Configure(a) => cmd::configure::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Build(a) => cmd::build::run(a),
        Command::Key(c) => cmd::key::run(c),
        Command::Explain(a) => cmd::explain::run(a),
        Command::Fetch(a) => cmd::fetch::run(a),
        Command::Publish(a) => cmd::publish::run(a),
        Command::ServeAhead(a) => cmd::build::ahead::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cached-ninja: error: {}", error_text::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// A closed standard output (`cached-ninja cache stats | head -1`) ends the command quietly,
/// as it ends `cat`: SIGPIPE gets its default action back (Rust ignores it, and `println!`
/// then panics on the broken pipe). Sockets are not affected: the standard library sends with
/// `MSG_NOSIGNAL`. Not for launches (above): they keep the compiler's own behaviour.
fn quiet_broken_pipe() {
    // SAFETY: setting a signal's disposition to the default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every clap subcommand is in SUBCOMMANDS (else it would be taken for a compiler).
    #[test]
    fn subcommand_names_are_listed() {
        let cmd = super::Cli::command();
        let mut names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        names.push("help");
        names.sort();
        let mut listed = super::dispatch::SUBCOMMANDS.to_vec();
        listed.sort();
        assert_eq!(names, listed);
    }
}
