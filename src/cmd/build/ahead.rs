//! Hits served ahead of Ninja (`engine::ahead`): in an object directory Ninja has not
//! built in, `cached-ninja build` runs `cached-ninja-cli serve-ahead` there before Ninja (one
//! process, in the object root as the launchers run), which serves the hits the local cache
//! holds and enters them in Ninja's logs; Ninja then runs no launcher for them. Anything that
//! stops it is one warning line, and Ninja runs every edge as before.
//!
//! With a pull (issue 15: the race with CI's objects), the build first waits for the pull to
//! read the sources here ([`compiled_first`]), then starts the pass, which serves each record
//! the pull brings as it comes ([`Arrivals`]), and runs Ninja on what no record covers (the
//! developer's changes) beside it; it waits for the pull while it beats compiling
//! ([`wait_for_pull`]), ends the pass ([`Pass::finish`]: it serves what else the cache holds
//! and enters all in Ninja's logs), and runs Ninja on the targets: the links, and through
//! launchers whatever was not served.

use super::pull;
use backend::ninja::build_log::{self, LogVersion};
use clap::Args;
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// Options of the hidden `serve-ahead` command (run by `build`, in the object directory).
#[derive(Args, Debug)]
pub struct AheadArgs {
    /// What `ninja --version` printed (the build log's format follows it).
    #[arg(long, value_name = "VERSION")]
    pub ninja_version: String,
    /// Serve first, as they come, the outputs named on standard input (a line each: records
    /// the pull put in the local cache), until its end.
    #[arg(long)]
    pub arrivals: bool,
    /// A target Ninja builds meanwhile: nothing it needs is served.
    #[arg(long, value_name = "TARGET")]
    pub built_first: Vec<String>,
    /// Targets Ninja will build (default: its defaults).
    pub targets: Vec<String>,
}

/// Runs `serve-ahead` in the working directory; always succeeds (a problem is one line).
/// Prints `served N M` (edges served, candidates) for the build, which says the total.
pub fn run(args: AheadArgs) -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    let arrived = || {
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line.trim_end_matches('\n').to_string()),
            _ => None,
        }
    };
    let meanwhile = engine::ahead::Meanwhile {
        arrived: args.arrivals.then_some(&arrived),
        built_first: &args.built_first,
    };
    let served = LogVersion::of_ninja(&args.ninja_version)
        .map(|version| engine::ahead::serve_here(&args.targets, version, meanwhile));
    // The build writes arrivals until it ends them: read to their end whatever happened, so
    // that it never writes into a closed pipe.
    if args.arrivals {
        while arrived().is_some() {}
    }
    match served {
        Some(Ok(a)) => println!("served {} {}", a.served, a.candidates),
        Some(Err(e)) => {
            eprintln!("cached-ninja build: warning: {e}; Ninja runs every compile's launcher")
        }
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// What the pass of a build served, for its one line.
#[derive(Default)]
pub struct Served {
    served: usize,
    /// Every compile it could have served.
    candidates: usize,
    spent: Duration,
}

impl Served {
    /// Says what was served, if anything.
    pub fn say(&self) {
        if self.served > 0 {
            eprintln!(
                "cached-ninja build: {} of {} compiles served from the cache ahead of Ninja ({} ms)",
                self.served,
                self.candidates,
                self.spent.as_millis()
            );
        }
    }
}

/// The pass of a build in an object directory Ninja has not run in, worked out on a thread of
/// its own ([`FirstRun::of`]: `ninja --version`, and the Ninja files loaded, which takes a
/// good part of a second for a large build's) while the stores are opened and CI's build is
/// looked for. Whether the build races a pull is known at once.
pub struct PendingFirstRun {
    /// Whether a first run here races a pull with it: Ninja's defaults only (a pull brings
    /// CI's whole build, and its estimates are of all of it, not of a few targets).
    pub racing: bool,
    /// The thread working it out, until [`PendingFirstRun::wait`] takes it.
    thread: Mutex<Option<std::thread::JoinHandle<Option<FirstRun>>>>,
}

impl PendingFirstRun {
    /// Starts working out the pass `dir` gets before Ninja for `targets` ([`FirstRun::of`]);
    /// `None` at once when Ninja has run there (a `.ninja_log`: not a first build), or no
    /// thread can start.
    pub fn start(dir: &Path, ninja: &OsString, targets: &[OsString]) -> Option<PendingFirstRun> {
        if dir.join(build_log::FILE).exists() {
            return None;
        }
        let (d, n, t) = (dir.to_path_buf(), ninja.clone(), targets.to_vec());
        let thread = std::thread::Builder::new()
            .name("first-run".into())
            .spawn(move || FirstRun::of(&d, &n, &t))
            .ok()?;
        Some(PendingFirstRun {
            racing: targets.is_empty(),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The pass, once worked out (`None`: none, its thread panicked, or already taken).
    pub fn wait(&self) -> Option<FirstRun> {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        thread.join().ok().flatten()
    }
}

/// A first build's pass before Ninja: its Ninja's version, and what the targets need.
pub struct FirstRun {
    /// What `ninja --version` printed.
    pub version: String,
    /// The outputs of the edges the targets need.
    pub needed: HashSet<String>,
}

impl FirstRun {
    /// The pass `dir` (where Ninja has not run yet: every output is missing) gets before Ninja
    /// for `targets`, if any: its Ninja's logs are of a version we write (`ninja --version`),
    /// and its files load without `builddir`.
    fn of(dir: &Path, ninja: &OsString, targets: &[OsString]) -> Option<FirstRun> {
        let version = ninja_version(ninja)?;
        let names: Vec<String> = targets
            .iter()
            .map(|t| t.to_str().map(str::to_string))
            .collect::<Option<_>>()?;
        let needed = engine::ahead::needed_outputs(dir, &names)?;
        Some(FirstRun { version, needed })
    }

    /// Of `uncovered` (the pull's), what Ninja compiles first: those the targets need, as
    /// Ninja targets (not one Ninja would read as an option, `-x`, or as `x^`, the edge that
    /// `x` is an input of: those compile in its second run); `None` when they would not fit
    /// on the command lines (Ninja then runs as without a pass, racing the pull).
    pub fn compiled_first_targets(&self, uncovered: Vec<String>) -> Option<Vec<OsString>> {
        let first: Vec<OsString> = uncovered
            .into_iter()
            .filter(|o| self.needed.contains(o) && !o.starts_with('-') && !o.ends_with('^'))
            .map(OsString::from)
            .collect();
        // Each is on two command lines: Ninja's, and the pass's after `--built-first` (with
        // their argument pointers).
        let bytes: usize = first.iter().map(|t| 2 * t.len() + 40).sum();
        (bytes <= max_target_bytes()).then_some(first)
    }
}

/// The most bytes the first Ninja run's targets take on its command line and the pass's:
/// [`MAX_TARGET_BYTES`], or a quarter of `ARG_MAX` when that is less (it follows the stack's
/// limit: `ulimit -s 512` leaves 128 kB, and Ninja would not start).
fn max_target_bytes() -> usize {
    // SAFETY: sysconf reads a limit; it has no memory effects.
    target_bytes_within(unsafe { libc::sysconf(libc::_SC_ARG_MAX) })
}

/// [`max_target_bytes`] for `sysconf`'s `arg_max` (-1: unknown, then a quarter of ours).
fn target_bytes_within(arg_max: libc::c_long) -> usize {
    match usize::try_from(arg_max) {
        Ok(max) if max > 0 => (max / 4).min(MAX_TARGET_BYTES),
        _ => MAX_TARGET_BYTES / 4,
    }
}

/// The most bytes of [`max_target_bytes`] with a default stack (well below `ARG_MAX`).
const MAX_TARGET_BYTES: usize = 512 << 10;

/// The outputs of the records whose entries the pull put in the local cache, in the order
/// they came, for the pass that serves them as they come ([`Pass`]); kept only when a pass
/// will listen ([`Arrivals::listened`]).
#[derive(Clone, Default)]
pub struct Arrivals {
    tx: Option<mpsc::Sender<Option<String>>>,
    rx: Arc<Mutex<Option<mpsc::Receiver<Option<String>>>>>,
}

impl Arrivals {
    /// Arrivals a pass will take ([`Arrivals::take`]).
    pub fn listened() -> Arrivals {
        let (tx, rx) = mpsc::channel();
        Arrivals {
            tx: Some(tx),
            rx: Arc::new(Mutex::new(Some(rx))),
        }
    }

    /// The entry of the record with output `output` is in the local cache.
    pub fn came(&self, output: &str) {
        // A line each: a path with a line break in it is left to the pass's end.
        if let Some(tx) = self.tx.as_ref().filter(|_| !output.contains('\n')) {
            let _ = tx.send(Some(output.to_string()));
        }
    }

    /// No more are given to the pass: it serves the rest from what the local cache holds.
    fn end(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(None);
        }
    }

    /// No pass listens: what comes is not kept.
    pub fn unheard(&self) {
        drop(self.take());
    }

    /// The arrivals, for the one pass that listens.
    fn take(&self) -> Option<mpsc::Receiver<Option<String>>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The child `serve-ahead` serving in the object directory (its environment set by `env`: the
/// launchers'; the build's signals go to it through `current`): what the local cache holds of
/// the targets, after what the pull brings meanwhile ([`Arrivals`]) as it comes.
pub struct Pass {
    child: std::process::Child,
    /// The arrivals it takes, ended when the pass is finished.
    arrivals: Option<Arrivals>,
    feeder: Option<std::thread::JoinHandle<()>>,
    said: std::thread::JoinHandle<String>,
    start: Instant,
}

/// What a pass serves, and how.
pub struct PassOf<'a> {
    /// The object directory.
    pub dir: &'a Path,
    /// What `ninja --version` printed.
    pub version: &'a str,
    /// The build's targets (none: Ninja's defaults).
    pub targets: &'a [OsString],
    /// Targets Ninja builds while the pass runs (nothing they need is served).
    pub built_first: &'a [OsString],
    /// The pull's arrivals, served as they come (none: the pass serves what the cache holds).
    pub arrivals: Option<&'a Arrivals>,
}

impl Pass {
    /// Starts the pass `of`; `None` (said in one warning line) when it cannot run.
    pub fn start(
        of: &PassOf,
        current: &super::ninja::Current,
        interrupted: &AtomicBool,
        env: &dyn Fn(&mut Command) -> anyhow::Result<()>,
    ) -> Option<Pass> {
        let start = Instant::now();
        let listened = of.arrivals.filter(|a| a.tx.is_some());
        let arrivals = listened.and_then(Arrivals::take);
        let warn = |why: String| {
            eprintln!("cached-ninja build: warning: {why}; Ninja runs every compile's launcher")
        };
        let me = std::env::current_exe()
            .map_err(|e| warn(format!("cannot find this program to serve hits ahead: {e}")))
            .ok()?;
        let mut cmd = Command::new(me);
        cmd.current_dir(of.dir)
            .arg("serve-ahead")
            .arg("--ninja-version")
            .arg(of.version);
        if arrivals.is_some() {
            cmd.arg("--arrivals");
        }
        for t in of.built_first {
            cmd.arg("--built-first").arg(t);
        }
        cmd.arg("--")
            .args(of.targets)
            .env(engine::launcher::policy_edit::BUILD_ENV, "1")
            .stdin(match arrivals {
                Some(_) => Stdio::piped(),
                None => Stdio::null(),
            })
            .stdout(Stdio::piped());
        env(&mut cmd).map_err(|e| warn(format!("{e:#}"))).ok()?;
        super::ninja::detach_and_tie(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| {
                let me = cmd.get_program().to_string_lossy();
                warn(format!("cannot run {me} serve-ahead: {e}"))
            })
            .ok()?;
        current.set(&child, interrupted);
        let feeder = arrivals.zip(child.stdin.take()).map(|(rx, mut input)| {
            std::thread::spawn(move || {
                use std::io::Write;
                // A pass gone (Ctrl-C) is a failed write, not SIGPIPE ending the build
                // (`cached-ninja-cli` gives SIGPIPE its default action).
                engine::child::no_sigpipe_on_this_thread();
                // Ends at `Arrivals::end`, or when the pass is gone; closing its input ends
                // its wait for arrivals.
                while let Ok(Some(output)) = rx.recv() {
                    if input.write_all(format!("{output}\n").as_bytes()).is_err() {
                        break;
                    }
                }
            })
        });
        // Read on a thread of its own to its end (the child's exit): a hit replays its
        // compile's output there too, which could fill the pipe.
        let mut out = child.stdout.take();
        let said = std::thread::spawn(move || {
            use std::io::Read;
            let mut said = String::new();
            if let Some(out) = out.as_mut() {
                let _ = out.read_to_string(&mut said);
            }
            said
        });
        Some(Pass {
            child,
            arrivals: listened.cloned(),
            feeder,
            said,
            start,
        })
    }

    /// Ends the arrivals it takes, waits for it to serve the rest and end: what it served.
    pub fn finish(mut self, current: &super::ninja::Current, interrupted: &AtomicBool) -> Served {
        if let Some(a) = &self.arrivals {
            a.end();
        }
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
        let said = self.said.join().unwrap_or_default();
        let waited = engine::child::wait_unreaped(self.child.id());
        current.clear(&self.child);
        let status = waited.and_then(|_| self.child.wait());
        let mut served = Served {
            spent: self.start.elapsed(),
            ..Served::default()
        };
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
            if let [n, candidates] = counts[..] {
                served.served = n;
                served.candidates = candidates;
            }
        }
        match status {
            Ok(s) if s.success() => {}
            // Stopped by the build's Ctrl-C, which the build reports.
            Ok(s) if s.code().is_none() && interrupted.load(Ordering::SeqCst) => {}
            Ok(s) => eprintln!(
                "cached-ninja build: warning: serving the cache's hits ahead of Ninja ended with {s}; Ninja runs every compile's launcher"
            ),
            Err(e) => eprintln!(
                "cached-ninja build: warning: cannot wait for serve-ahead: {e}; Ninja runs every compile's launcher"
            ),
        }
        served
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
        if let Some(read) = counts.sources_read.get() {
            return Some(read.uncovered.clone());
        }
        let late = started.elapsed() > PULL_PATIENCE;
        if counts.over.load(Ordering::SeqCst)
            || interrupted.load(Ordering::SeqCst)
            || planning.past_patience()
            || late
        {
            // Not waited for: not read beside Ninja for nothing.
            planning.stop_reading();
            return None;
        }
        std::thread::sleep(LOOK);
    }
}

/// Waits while the pull is expected to bring its remaining objects sooner than `tokens` cores
/// would compile them (CI's compile times; its pace judged once [`PACE_RECORDS`] records
/// ended after its first), and it moves: until every record it fetches has come (the pass has
/// had them all), it is over, no record ends for [`STALL`] ([`FIRST_RECORD`] before the
/// first), or Ctrl-C.
pub fn wait_for_pull(counts: &pull::Counts, tokens: usize, interrupted: &AtomicBool) {
    let mut last = (counts.done.load(Ordering::Relaxed), Instant::now());
    let mut first_ended: Option<(usize, Instant)> = None;
    loop {
        if counts.over.load(Ordering::SeqCst) || interrupted.load(Ordering::SeqCst) {
            return;
        }
        let (done, total) = (
            counts.done.load(Ordering::Relaxed),
            counts.total.load(Ordering::Relaxed),
        );
        let ready = counts.ready.load(Ordering::Acquire);
        let left_out = counts.sources_read.get().map_or(0, |r| r.left_out);
        if ready + left_out >= total {
            return;
        }
        let patience = if done == 0 { FIRST_RECORD } else { STALL };
        if done != last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() > patience {
            return;
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
    fn arrivals_reach_only_a_pass_that_listens_in_their_order() {
        let unheard = Arrivals::default();
        unheard.came("a.o");
        assert!(unheard.take().is_none());
        let listened = Arrivals::listened();
        listened.came("a.o");
        listened.came("with\nbreak.o");
        listened.clone().came("b.o");
        listened.end();
        let rx = listened.take().unwrap();
        let got: Vec<Option<String>> = rx.try_iter().collect();
        assert_eq!(got, [Some("a.o".into()), Some("b.o".into()), None]);
        assert!(listened.take().is_none(), "one pass takes them");
        let dropped = Arrivals::listened();
        dropped.unheard();
        dropped.came("c.o");
    }

    #[test]
    fn the_targets_bytes_follow_arg_max() {
        // A default stack of 8 MB gives 2 MB; `ulimit -s 512` gives glibc's least, 128 kB.
        assert_eq!(target_bytes_within(2 << 20), MAX_TARGET_BYTES);
        assert_eq!(target_bytes_within(128 << 10), 32 << 10);
        assert_eq!(target_bytes_within(-1), MAX_TARGET_BYTES / 4);
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
