//! `cached-ninja tool …`: Ninja's `-t commands` and `-t targets all` over our parser, and
//! `emit`, which writes the parsed manifest back out (for round-trip tests).
//!
//! Output and errors are ninja's byte for byte, with `cached-ninja` where ninja prints its
//! own name (`cached-ninja: error: …`, exit status 1).

use anyhow::Context;
use backend::ninja::{self, tools, Manifest};
use clap::{Args, Subcommand};
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the manifest is (ninja's `-C` and `-f`).
#[derive(Args)]
pub struct ManifestArgs {
    /// Change to DIR before doing anything else.
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The input build file.
    #[arg(short = 'f', value_name = "FILE", default_value = "build.ninja")]
    file: PathBuf,
}

/// Ninja-compatible tools.
#[derive(Subcommand)]
pub enum ToolCommand {
    /// List all commands required to rebuild the given targets (`ninja -t commands`).
    Commands {
        #[command(flatten)]
        manifest: ManifestArgs,
        /// Only print the final command to build each target, not the whole chain.
        #[arg(short = 's')]
        only_last: bool,
        /// Targets (default: ninja's default targets).
        targets: Vec<OsString>,
    },
    /// List every output with its rule (`ninja -t targets all`).
    Targets {
        #[command(flatten)]
        manifest: ManifestArgs,
    },
    /// Write the manifest back out as one Ninja file that means the same.
    Emit {
        #[command(flatten)]
        manifest: ManifestArgs,
        /// Write here (atomically) instead of to standard output.
        #[arg(short = 'o', value_name = "OUT")]
        out: Option<PathBuf>,
    },
}

/// Runs one tool.
pub fn run(cmd: ToolCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ToolCommand::Commands {
            manifest,
            only_last,
            targets,
        } => {
            let Some(m) = load(&manifest) else {
                return Ok(ExitCode::FAILURE);
            };
            let graph = m.graph();
            let args: Vec<Vec<u8>> = targets.iter().map(|t| os_bytes(t)).collect();
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            let nodes = match tools::collect_targets(graph, &args) {
                Ok(n) => n,
                Err(e) => return Ok(fail(&e)),
            };
            let mut out = Vec::new();
            let result = tools::commands(graph, &nodes, only_last, &mut out);
            std::io::stdout().write_all(&out)?;
            std::io::stdout().flush()?;
            Ok(match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            })
        }
        ToolCommand::Targets { manifest } => {
            let Some(m) = load(&manifest) else {
                return Ok(ExitCode::FAILURE);
            };
            std::io::stdout().write_all(&tools::targets_all(m.graph()))?;
            Ok(ExitCode::SUCCESS)
        }
        ToolCommand::Emit { manifest, out } => {
            // -o is relative to where we were started, not to -C.
            let out = match out {
                Some(o) if o.is_relative() => Some(std::env::current_dir()?.join(o)),
                o => o,
            };
            let Some(m) = load(&manifest) else {
                return Ok(ExitCode::FAILURE);
            };
            match out {
                None => std::io::stdout().write_all(&ninja::emit::emit(m.graph()))?,
                Some(path) => {
                    let files = ninja::emit::emit_files(m.graph(), &os_bytes(path.as_os_str()));
                    // Scope files first, so the main file never names a missing one.
                    for (name, text) in files.iter().rev() {
                        {
                            let path = ninja::load::bytes_to_path(name);
                            fetch::cache::write_atomic(&path, text)
                                .with_context(|| format!("cannot write {}", path.display()))?;
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Changes directory and loads, printing ninja's messages; `None` after an error.
fn load(args: &ManifestArgs) -> Option<Manifest> {
    let mut err = std::io::stderr().lock();
    if let Some(dir) = &args.dir {
        if let Err(e) = std::env::set_current_dir(dir) {
            let reason = ninja::error::strerror(&e);
            let _ = writeln!(
                err,
                "cached-ninja: fatal: chdir to '{}' - {reason}",
                dir.display()
            );
            return None;
        }
    }
    let mut warnings = Vec::new();
    let path = os_bytes(args.file.as_os_str());
    let result = ninja::load_reporting(&path, &ninja::load::RealFs, &mut warnings);
    for w in &warnings {
        let _ = err.write_all(&[b"cached-ninja: warning: ", w.as_slice(), b"\n"].concat());
    }
    match result {
        Ok(m) => Some(m),
        Err(e) => {
            let kind: &[u8] = if e.is_fatal() { b"fatal" } else { b"error" };
            let line = [b"cached-ninja: ", kind, b": ", e.render().as_slice(), b"\n"].concat();
            let _ = err.write_all(&line);
            None
        }
    }
}

/// Prints a tool's error as ninja does and gives its exit status.
fn fail(e: &tools::ToolError) -> ExitCode {
    let kind: &[u8] = match e {
        tools::ToolError::Error(_) => b"error",
        tools::ToolError::Fatal(_) => b"fatal",
    };
    let line = [b"cached-ninja: ", kind, b": ", e.message(), b"\n"].concat();
    let _ = std::io::stderr().write_all(&line);
    ExitCode::FAILURE
}

fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        s.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned().into_bytes()
    }
}
