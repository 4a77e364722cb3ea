//! `cached-ninja explain OUTPUT`: for one compile edge, its source and action keys, where its
//! object came from in the edge's last launch (local hit, CI's object pulled, waited for the
//! pull then hit, compiled, compiled after waiting, uncacheable and why), and for a compile,
//! the first input that differs from the record it was compared with (CI's build the last
//! pull used, else this object directory's previous object for that output), like a diff of
//! the key's preimage (DESIGN §5, issues 13 and 15).
//!
//! - [`record`]: the output's last launch (`fetch::edge_log`), or an error naming the output
//!   when it is no compile edge of `build.ninja` or nothing was recorded.
//! - [`compare`]: the record to compare with and the first difference (`backend::key::preimage`).
//! - [`render`]: the text and the `--json` object.
//! - [`meaning`]: what each uncacheable reason and survived problem means.
//!
//! What it reads is local: the edge log, the last pull's index (`fetch::last_pull`), the
//! action log, the local cache's entries, include manifests and preimage memos (a source key's
//! preimage is recorded by a miss). One exception: when a source key differs from CI's and
//! this machine never compiled CI's key, CI's preimages of that build are fetched from the
//! store the pull used (`keys/<config>/<revision>`, signed: `fetch::preimages`), within the
//! store's usual time limits.

mod compare;
mod meaning;
mod record;
mod render;

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `cached-ninja explain`.
#[derive(Args)]
pub struct ExplainArgs {
    /// The object directory (build directory); default the current directory.
    #[arg(short = 'C', long = "dir")]
    pub dir: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// The output: its path as in build.ninja (relative to the object directory), or absolute.
    pub output: PathBuf,
}

/// Explains one output's last launch.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    let last = record::find(&dir, &args.output)?;
    let remote = crate::remote::Remote::open(
        &crate::remote::RemoteArgs {
            dir: Some(last.objdir.clone()),
            ..Default::default()
        },
        false,
    )?;
    let explained = compare::explain(&last, &remote)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&explained)?);
    } else {
        print!("{}", render::text(&explained));
    }
    Ok(ExitCode::SUCCESS)
}
