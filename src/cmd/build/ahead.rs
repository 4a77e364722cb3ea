//! Hits served before Ninja runs (`engine::ahead`): in an object directory Ninja has not
//! built in, `cached-ninja build` runs `cached-ninja-cli serve-ahead` there before Ninja (one
//! process, in the object root as the launchers run), which serves the hits the local cache
//! holds and enters them in Ninja's logs; Ninja then runs no launcher for them. Anything that
//! stops it is one warning line, and Ninja runs every edge as before.
//!
//! With a pull (issue 15: the race with CI's objects), the build first waits for the pull to
//! read the sources here ([`compiled_first`]), runs Ninja on what no record covers (the
//! developer's changes) while the pull downloads, then waits for the pull while it beats
//! compiling ([`wait_for_pull`]), serves ahead what it brought, and runs Ninja on the
//! targets: the links, and through launchers whatever was not served.

use super::pull;
use backend::ninja::build_log::{self, LogVersion};
use clap::Args;
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// A first build's pass before Ninja: its Ninja's version, and what the targets need.
pub struct FirstRun {
    /// What `ninja --version` printed.
    pub version: String,
    /// The outputs of the edges the targets need.
    pub needed: HashSet<String>,
    /// Whether the build races a pull with it: Ninja's defaults only (a pull brings CI's whole
    /// build, and its estimates are of all of it, not of a few targets).
    pub racing: bool,
}

impl FirstRun {
    /// The pass `dir` gets before Ninja for `targets`, if any: Ninja has not run there yet (no
    /// `.ninja_log`: a first build, where every output is missing), its logs are of a version
    /// we write (`ninja --version`), and its files load without `builddir`.
    pub fn of(dir: &Path, ninja: &OsString, targets: &[OsString]) -> Option<FirstRun> {
        if dir.join(build_log::FILE).exists() {
            return None;
        }
        let version = ninja_version(ninja)?;
        let names: Vec<String> = targets
            .iter()
            .map(|t| t.to_str().map(str::to_string))
            .collect::<Option<_>>()?;
        let needed = engine::ahead::needed_outputs(dir, &names)?;
        Some(FirstRun {
            version,
            needed,
            racing: targets.is_empty(),
        })
    }

    /// Of `uncovered` (the pull's), what Ninja compiles first: those the targets need, as
    /// Ninja targets; `None` when they would not fit on a command line (Ninja then runs as
    /// without a pass, racing the pull).
    pub fn compiled_first_targets(&self, uncovered: Vec<String>) -> Option<Vec<OsString>> {
        let first: Vec<OsString> = uncovered
            .into_iter()
            .filter(|o| self.needed.contains(o))
            .map(OsString::from)
            .collect();
        let bytes: usize = first.iter().map(|t| t.len() + 1).sum();
        (bytes <= MAX_TARGET_BYTES).then_some(first)
    }
}

/// The most bytes of targets given to the first Ninja run (well below `ARG_MAX`).
const MAX_TARGET_BYTES: usize = 512 << 10;

/// Serves ahead in `dir` (the child `serve-ahead`, its environment set by `env`: the
/// launchers'; the build's signals go to it through `current`) what the local cache holds of
/// `targets`, for the Ninja of `version`.
pub fn serve(
    dir: &Path,
    version: &str,
    targets: &[OsString],
    current: &super::ninja::Current,
    interrupted: &AtomicBool,
    env: impl FnOnce(&mut Command) -> anyhow::Result<()>,
) {
    let Ok(me) = std::env::current_exe() else {
        return;
    };
    let mut cmd = Command::new(me);
    cmd.current_dir(dir)
        .arg("serve-ahead")
        .arg("--ninja-version")
        .arg(version)
        .arg("--")
        .args(targets)
        .env(engine::launcher::policy_edit::BUILD_ENV, "1")
        .stdin(Stdio::null());
    if env(&mut cmd).is_err() {
        return;
    }
    super::ninja::detach_and_tie(&mut cmd);
    let status = cmd.spawn().and_then(|child| {
        current.set(&child, interrupted);
        let waited = engine::child::wait_unreaped(child.id());
        current.clear();
        let mut child = child;
        waited.and_then(|_| child.wait())
    });
    match status {
        Ok(s) if s.success() => {}
        // Stopped by the build's Ctrl-C, which the build reports.
        Ok(s) if s.code().is_none() && interrupted.load(Ordering::SeqCst) => {}
        Ok(s) => eprintln!(
            "cached-ninja build: warning: serving the cache's hits before Ninja ended with {s}; Ninja runs every compile's launcher"
        ),
        Err(e) => eprintln!(
            "cached-ninja build: warning: cannot run {} serve-ahead: {e}; Ninja runs every compile's launcher",
            cmd.get_program().to_string_lossy()
        ),
    }
}

/// What a first build compiles whatever the pull brings (the launcher edges whose source no
/// record covers: the developer's changes, new files), once the pull has read the sources here,
/// with when that was; `None` when there is no pull to wait for (none found, the stores
/// silent past the launchers' patience, Ctrl-C): Ninja then runs as without a pull ahead.
pub fn compiled_first(
    planning: &pull::Planning,
    counts: &pull::Counts,
    interrupted: &AtomicBool,
) -> Option<(Vec<String>, Instant)> {
    let started = Instant::now();
    loop {
        if let Some(outs) = counts.uncovered.get() {
            return Some((outs.clone(), Instant::now()));
        }
        let late = started.elapsed() > PULL_PATIENCE;
        if counts.over.load(Ordering::SeqCst)
            || interrupted.load(Ordering::SeqCst)
            || planning.past_patience()
            || late
        {
            return None;
        }
        std::thread::sleep(LOOK);
    }
}

/// Waits while the pull (its sources read at `since`) is expected to bring its remaining
/// objects sooner than `tokens` cores would compile them (CI's compile times), and it moves:
/// until it is over, or no record ends for [`STALL`] ([`FIRST_RECORD`] before the first), or
/// Ctrl-C.
pub fn wait_for_pull(
    counts: &pull::Counts,
    since: Instant,
    tokens: usize,
    interrupted: &AtomicBool,
) {
    let mut last = (counts.done.load(Ordering::Relaxed), Instant::now());
    loop {
        if counts.over.load(Ordering::SeqCst) || interrupted.load(Ordering::SeqCst) {
            return;
        }
        let (done, total) = (
            counts.done.load(Ordering::Relaxed),
            counts.total.load(Ordering::Relaxed),
        );
        let patience = if done == 0 { FIRST_RECORD } else { STALL };
        if done != last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() > patience {
            return;
        }
        if done > 0 && done < total {
            let left = (total - done) as f64;
            let download = since.elapsed().as_secs_f64() / done as f64 * left;
            let ms = counts.compile_ms.load(Ordering::Relaxed) as f64;
            let compile = ms / 1000.0 * left / total as f64 / tokens.max(1) as f64;
            if download > compile {
                return;
            }
        }
        std::thread::sleep(LOOK);
    }
}

/// How often [`compiled_first`] and [`wait_for_pull`] look.
const LOOK: Duration = Duration::from_millis(5);

/// The longest a first build waits for the pull to read the sources here before Ninja starts
/// without it (a pull found later still runs beside Ninja, as without a pass).
const PULL_PATIENCE: Duration = Duration::from_secs(2);

/// A pull that ends no record for this long is not waited for any more.
const STALL: Duration = Duration::from_secs(1);

/// A pull whose first record has not ended this long after the wait began is not waited for:
/// a link that slow does not beat compiling (at 1 MB/s and 20 ms a libgit2 object takes
/// about 30 ms).
const FIRST_RECORD: Duration = Duration::from_millis(250);

/// What `ninja --version` prints, if it runs and the version is one whose logs we write.
fn ninja_version(ninja: &OsString) -> Option<String> {
    let out = Command::new(ninja).arg("--version").output().ok()?;
    let v = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && LogVersion::of_ninja(&v).is_some()).then_some(v)
}
