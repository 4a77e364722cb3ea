//! Hits served before Ninja runs (`engine::ahead`): in an object directory Ninja has not
//! built in, `cached-ninja build` first runs `cached-ninja-cli serve-ahead` there (one
//! process, in the object root as the launchers run), which serves the hits the local cache
//! already holds and enters them in Ninja's logs; Ninja then runs no launcher for them.
//! Anything that stops it is one warning line, and Ninja runs every edge as before.

use backend::ninja::build_log::{self, LogVersion};
use clap::Args;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Options of the hidden `serve-ahead` command (run by `build`, in the object directory).
#[derive(Args, Debug)]
pub struct AheadArgs {
    /// What `ninja --version` printed (the build log's format follows it).
    #[arg(long, value_name = "VERSION")]
    pub ninja_version: String,
    /// Targets Ninja will build (default: its defaults).
    pub targets: Vec<String>,
}

/// Runs `serve-ahead` in the working directory; always succeeds (a problem is one line).
pub fn run(args: AheadArgs) -> anyhow::Result<ExitCode> {
    let Some(version) = LogVersion::of_ninja(&args.ninja_version) else {
        return Ok(ExitCode::SUCCESS);
    };
    let start = Instant::now();
    match engine::ahead::serve_here(&args.targets, version) {
        Ok(a) if a.served > 0 => eprintln!(
            "cached-ninja build: {} of {} compiles served from the cache before Ninja started ({} ms)",
            a.served,
            a.candidates,
            start.elapsed().as_millis()
        ),
        Ok(_) => {}
        Err(e) => eprintln!("cached-ninja build: warning: {e}; Ninja runs every compile's launcher"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Before Ninja's first run in `dir` (no `.ninja_log` yet): serves ahead the hits of
/// `targets` with `ninja`'s log format, the child's environment set by `env` (the
/// launchers'). Does nothing when Ninja has run there or its version is not one we write for.
pub fn before_first_ninja(
    dir: &Path,
    ninja: &OsString,
    targets: &[OsString],
    env: impl FnOnce(&mut Command) -> anyhow::Result<()>,
) {
    if dir.join(build_log::FILE).exists() {
        return;
    }
    let Some(version) = ninja_version(ninja) else {
        return;
    };
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    let mut cmd = Command::new(me);
    cmd.current_dir(dir)
        .arg("serve-ahead")
        .arg("--ninja-version")
        .arg(&version)
        .arg("--")
        .args(targets)
        .env(engine::launcher::policy_edit::BUILD_ENV, "1")
        .stdin(Stdio::null());
    if env(&mut cmd).is_err() {
        return;
    }
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!(
            "cached-ninja build: warning: serving the cache's hits before Ninja ended with {s}; Ninja runs every compile's launcher"
        ),
        Err(e) => eprintln!(
            "cached-ninja build: warning: cannot run {} serve-ahead: {e}; Ninja runs every compile's launcher",
            cmd.get_program().to_string_lossy()
        ),
    }
}

/// What `ninja --version` prints, if it runs and the version is one whose logs we write.
fn ninja_version(ninja: &OsString) -> Option<String> {
    let out = Command::new(ninja).arg("--version").output().ok()?;
    let v = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && LogVersion::of_ninja(&v).is_some()).then_some(v)
}
