//! `cached-ninja key generate`: a publisher's ed25519 key pair (DESIGN §4, `fetch::signing`).

use clap::Subcommand;
use fetch::signing::KeyPair;
use std::path::PathBuf;
use std::process::ExitCode;

/// Default secret key file, in the current directory.
const DEFAULT_KEY_FILE: &str = "cached-ninja-publisher.key";

/// Publisher keys.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Write a new secret key file (mode 0600, never overwritten); print the public key.
    Generate {
        /// The secret key file to create; default `cached-ninja-publisher.key`.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs a `key` subcommand.
pub fn run(c: KeyCommand) -> anyhow::Result<ExitCode> {
    match c {
        KeyCommand::Generate { out } => {
            let path = out.unwrap_or_else(|| PathBuf::from(DEFAULT_KEY_FILE));
            let key = KeyPair::generate();
            key.write_secret_file(&path)?;
            eprintln!(
                "wrote secret key {}; trust it with `[trust] publishers = [\"{}\"]`",
                path.display(),
                key.public()
            );
            println!("{}", key.public());
            Ok(ExitCode::SUCCESS)
        }
    }
}
