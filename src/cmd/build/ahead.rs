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
/// Prints `served N M` (edges served, candidates) for the build, which says the total.
pub fn run(args: AheadArgs) -> anyhow::Result<ExitCode> {
    let Some(version) = LogVersion::of_ninja(&args.ninja_version) else {
        return Ok(ExitCode::SUCCESS);
    };
    match engine::ahead::serve_here(&args.targets, version) {
        Ok(a) => println!("served {} {}", a.served, a.candidates),
        Err(e) => {
            eprintln!("cached-ninja build: warning: {e}; Ninja runs every compile's launcher")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What the passes of a build served, for its one line.
#[derive(Default)]
pub struct Passes {
    served: usize,
    /// The first pass's candidates: every compile it could have served.
    candidates: Option<usize>,
    spent: Duration,
}

impl Passes {
    /// Says what was served, if anything.
    pub fn say(&self) {
        if self.served > 0 {
            eprintln!(
                "cached-ninja build: {} of {} compiles served from the cache before Ninja started ({} ms)",
                self.served,
                self.candidates.unwrap_or(self.served),
                self.spent.as_millis()
            );
        }
    }
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
    /// Ninja targets (not one Ninja would read as an option, `-x`, or as `x^`, the edge that
    /// `x` is an input of: those compile in its second run); `None` when they would not fit
    /// on a command line (Ninja then runs as without a pass, racing the pull).
    pub fn compiled_first_targets(&self, uncovered: Vec<String>) -> Option<Vec<OsString>> {
        let first: Vec<OsString> = uncovered
            .into_iter()
            .filter(|o| self.needed.contains(o) && !o.starts_with('-') && !o.ends_with('^'))
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
/// `targets`, for the Ninja of `version`; adds what it served to `passes`.
pub fn serve(
    dir: &Path,
    version: &str,
    targets: &[OsString],
    current: &super::ninja::Current,
    interrupted: &AtomicBool,
    env: &dyn Fn(&mut Command) -> anyhow::Result<()>,
    passes: &mut Passes,
) {
    let start = Instant::now();
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
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if env(&mut cmd).is_err() {
        return;
    }
    super::ninja::detach_and_tie(&mut cmd);
    let mut said = String::new();
    let status = cmd.spawn().and_then(|mut child| {
        current.set(&child, interrupted);
        // Read to its end (the child's exit) before the wait: a hit replays its compile's
        // output there too, which could fill the pipe.
        if let Some(mut out) = child.stdout.take() {
            use std::io::Read;
            let _ = out.read_to_string(&mut said);
        }
        let waited = engine::child::wait_unreaped(child.id());
        current.clear();
        waited.and_then(|_| child.wait())
    });
    passes.spent += start.elapsed();
    for line in said.lines() {
        let Some(rest) = line.strip_prefix("served ") else {
            // A hit's replayed output, which Ninja would have printed.
            println!("{line}");
            continue;
        };
        let counts: Vec<usize> = rest
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        if let [served, candidates] = counts[..] {
            passes.served += served;
            passes.candidates.get_or_insert(candidates);
        }
    }
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
/// record covers: the developer's changes, new files), once the pull has read the sources
/// here; `None` when there is no pull to wait for (none found, the stores silent past the
/// launchers' patience, Ctrl-C): Ninja then runs as without a pull ahead.
pub fn compiled_first(
    planning: &pull::Planning,
    counts: &pull::Counts,
    interrupted: &AtomicBool,
) -> Option<Vec<String>> {
    let started = Instant::now();
    loop {
        if let Some(outs) = counts.uncovered.get() {
            return Some(outs.clone());
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

/// Waits while the pull is expected to bring its remaining objects sooner than `tokens` cores
/// would compile them (CI's compile times; its pace judged once [`PACE_RECORDS`] records
/// ended after its first), and it moves:
/// until it is over, or no record ends for [`STALL`] ([`FIRST_RECORD`] before the first), or
/// Ctrl-C. Meanwhile, each time a quarter of the records (at least [`MIN_BATCH`]) has come
/// since, and at most every [`PASS_GAP`], makes a `pass` (what came is served while the rest
/// downloads, so that less is left after the last).
pub fn wait_for_pull(
    counts: &pull::Counts,
    tokens: usize,
    interrupted: &AtomicBool,
    pass: &mut dyn FnMut(),
) {
    let mut last = (counts.done.load(Ordering::Relaxed), Instant::now());
    let mut passed = (last.0, Instant::now());
    let mut first_ended: Option<(usize, Instant)> = None;
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
        let batch = (total / 4).max(MIN_BATCH);
        if done >= passed.0 + batch && passed.1.elapsed() >= PASS_GAP && done < total {
            pass();
            passed = (done, Instant::now());
        }
        // The pull's pace, once it has one: records since its first ended, over the time since
        // (the first ones end late, together: every request in flight shares the link).
        if first_ended.is_none() && done > 0 {
            first_ended = Some((done, Instant::now()));
        }
        let paced = first_ended.filter(|f| done >= f.0 + PACE_RECORDS && done < total);
        if let Some((first_done, at)) = paced {
            let left = (total - done) as f64;
            let per_record = at.elapsed().as_secs_f64() / (done - first_done) as f64;
            let ms = counts.compile_ms.load(Ordering::Relaxed) as f64;
            let compile = ms / 1000.0 * left / total as f64 / tokens.max(1) as f64;
            if per_record * left > compile {
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

/// Records that must have ended since the pull's first before its pace is judged.
const PACE_RECORDS: usize = 32;

/// The fewest records that make a pass while the pull runs ([`wait_for_pull`]).
const MIN_BATCH: usize = 16;

/// The least time between two passes while the pull runs.
const PASS_GAP: Duration = Duration::from_millis(300);

/// A pull that ends no record for this long is not waited for any more.
const STALL: Duration = Duration::from_secs(1);

/// A pull whose first record has not ended this long after the wait began is not waited for:
/// a link that slow does not beat compiling. The pull's requests share the link, so the
/// first record ends late on a slow one: at 1 MB/s libgit2's first objects end after about
/// 0.4 s (16 requests of 25 kB at a sixteenth of the link each); 250 ms, the value before,
/// gave that pull up every time.
const FIRST_RECORD: Duration = Duration::from_secs(1);

/// What `ninja --version` prints, if it runs and the version is one whose logs we write.
fn ninja_version(ninja: &OsString) -> Option<String> {
    let out = Command::new(ninja).arg("--version").output().ok()?;
    let v = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && LogVersion::of_ninja(&v).is_some()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_run(needed: &[&str]) -> FirstRun {
        FirstRun {
            version: "1.11.1".into(),
            needed: needed.iter().map(|s| s.to_string()).collect(),
            racing: true,
        }
    }

    #[test]
    fn ninja_compiles_first_only_what_the_targets_need_and_it_reads_as_targets() {
        let run = first_run(&["a.o", "-b.o", "c.o^", "d.o"]);
        let uncovered = ["a.o", "-b.o", "c.o^", "e.o"].map(String::from).to_vec();
        let first = run.compiled_first_targets(uncovered).unwrap();
        assert_eq!(first, [OsString::from("a.o")]);
    }

    #[test]
    fn too_many_targets_for_a_command_line_are_not_given() {
        let names: Vec<String> = (0..40_000)
            .map(|i| format!("obj/some/long/path/{i:08}.o"))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let run = first_run(&refs);
        assert!(run.compiled_first_targets(names.clone()).is_none());
        assert_eq!(
            run.compiled_first_targets(names[..10].to_vec())
                .unwrap()
                .len(),
            10
        );
    }
}
