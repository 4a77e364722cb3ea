//! `cached-ninja configure --enable-build-backend=NAME [--objdir DIR] -- <generator command…>`:
//! runs the project's own generator (CMake with `-G Ninja`, or `meson setup`), then, for the
//! `cached-ninja` backend, rewrites the generated Ninja files (`generate`). The `ninja`
//! backend leaves them as the generator wrote them.
//!
//! The generator runs in the current directory with the arguments as given; it must write
//! `<objdir>/build.ninja`. CMake commands without a Ninja generator are refused up front
//! (CMake would write Makefiles), as are Ninja Multi-Config builds, which have no single
//! build.ninja of commands to rewrite.

use super::generate::{self, GenerateArgs};
use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

/// The build backends `configure` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// Compile edges go through the cached-ninja launcher.
    CachedNinja,
    /// Plain Ninja: the generator's files untouched.
    Ninja,
}

/// Options of `cached-ninja configure`.
#[derive(Args, Debug)]
pub struct ConfigureArgs {
    /// Which build backend to configure.
    #[arg(long = "enable-build-backend", value_enum, value_name = "NAME")]
    pub backend: Backend,
    /// The object directory the generator writes build.ninja into (default: the current
    /// directory).
    #[arg(long, value_name = "DIR")]
    pub objdir: Option<PathBuf>,
    /// The source root for cache keys (default: what the generator recorded).
    #[arg(long, value_name = "DIR")]
    pub src_root: Option<PathBuf>,
    /// The policy file (default: cached-ninja.toml in the object directory, then the source root).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The generator command, after `--`.
    #[arg(last = true, required = true, value_name = "GENERATOR COMMAND")]
    pub command: Vec<OsString>,
}

/// Runs `configure`.
pub fn run(args: ConfigureArgs) -> anyhow::Result<ExitCode> {
    let objdir = match &args.objdir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("no current directory")?,
    };
    check_generator(&args.command)?;
    let program = &args.command[0];
    let status = Command::new(program)
        .args(&args.command[1..])
        .status()
        .with_context(|| {
            let name = program.to_string_lossy();
            let hint = match std::path::Path::new(&*name)
                .file_name()
                .and_then(|n| n.to_str())
            {
                Some("cmake") => " (install it: apt-get install -y cmake)",
                Some("meson") => " (install it: apt-get install -y meson)",
                _ => "",
            };
            format!("cannot run the generator {name}{hint}")
        })?;
    if !status.success() {
        bail!(
            "the generator {} failed ({status})",
            program.to_string_lossy()
        );
    }
    let top = objdir.join("build.ninja");
    if !top.is_file() {
        bail!(
            "the generator did not write {}: is --objdir the directory it writes to (cmake -B DIR, meson setup DIR)?",
            top.display()
        );
    }
    match args.backend {
        Backend::Ninja => {
            eprintln!(
                "cached-ninja configure: backend ninja: {} left as generated",
                top.display()
            );
        }
        Backend::CachedNinja => {
            generate::run(GenerateArgs {
                dir: Some(objdir),
                file: "build.ninja".into(),
                src_root: args.src_root,
                policy: args.policy,
                quiet: false,
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses generator commands that cannot give a rewritable build.ninja.
fn check_generator(command: &[OsString]) -> anyhow::Result<()> {
    let words: Vec<String> = command
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let Some(first) = words.first() else {
        bail!("no generator command after `--`");
    };
    let base = first.rsplit('/').next().unwrap_or(first);
    if base.starts_with("cmake") {
        let generator = words.iter().enumerate().find_map(|(i, w)| {
            if w == "-G" {
                words.get(i + 1).cloned()
            } else {
                w.strip_prefix("-G").map(str::to_string)
            }
        });
        match generator.as_deref() {
            Some("Ninja") => {}
            Some("Ninja Multi-Config") => {
                bail!("CMake's \"Ninja Multi-Config\" generator is not supported: use -G Ninja")
            }
            Some(g) => bail!("the CMake generator {g:?} does not write Ninja files: use -G Ninja"),
            None => bail!("CMake needs -G Ninja (without it, CMake writes Makefiles)"),
        }
    }
    Ok(())
}
