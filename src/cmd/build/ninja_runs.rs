//! A build's runs of Ninja ([`run_ninja`]): the jobserver and the launchers' environment, the
//! search for CI's build and its pull beside Ninja, the build's signals forwarded, and on
//! Ninja's first run here the pass that serves the cache's hits ahead of it ([`run_first`]).

use super::{ahead, follow, launcher_env, lines, ninja, ninja_command, pull, Followed, Jobs};
use anyhow::Context;
use engine::jobserver;
use engine::pull::CancelToken;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run of Ninja, with the search and pull beside it, came to.
pub(super) struct NinjaRun {
    /// Ninja's exit status.
    pub(super) status: ExitStatus,
    /// What its standard output said.
    pub(super) followed: Followed,
    /// Whether Ctrl-C, SIGTERM or SIGHUP stopped it.
    pub(super) interrupted: bool,
    /// When Ninja started, for the build's time in the summary.
    pub(super) start: Instant,
    /// Spent ending the search and the pull after Ninja.
    pub(super) waited: Duration,
    /// The search for CI's build, if one ran.
    pub(super) search: Option<pull::Search>,
    /// Entries pulled during the build (`pull::report`'s words).
    pub(super) pulled_entries: String,
}

/// What `cached-ninja build` runs Ninja on, and how.
pub(super) struct NinjaBuild<'a> {
    pub(super) ninja: &'a OsString,
    pub(super) dir: &'a Path,
    pub(super) targets: &'a [OsString],
    pub(super) policy: &'a crate::policy::Policy,
    pub(super) jobs: &'a Jobs,
    /// Set when this may be Ninja's first run here: the cache's hits are then served before
    /// Ninja runs them ([`ahead`]), once it is worked out that they can be.
    pub(super) first_run: Option<ahead::PendingFirstRun>,
}

impl NinjaBuild<'_> {
    /// The pull's counts for this build: a first build racing a pull serves the pull's entries
    /// as they come.
    fn counts(&self) -> pull::Counts {
        pull::Counts {
            arrivals: match self.first_run.as_ref().is_some_and(|f| f.racing) {
                true => ahead::Arrivals::listened(),
                false => ahead::Arrivals::default(),
            },
            ..pull::Counts::default()
        }
    }
}

/// What a build's runs of Ninja share: the jobserver, the pull's counts, the progress lines
/// and the signals' forwarding.
struct Runs<'a> {
    /// What is built, and how.
    build: &'a NinjaBuild<'a>,
    /// The CPU tokens' jobserver.
    server: &'a jobserver::Client,
    /// Where launchers note the CPU tokens they hold (`engine::jobserver`).
    holders: &'a Path,
    /// What the pull brought, and what it was asked for.
    counts: &'a pull::Counts,
    /// The progress lines.
    lines: &'a lines::Lines,
    /// The child that the build's signals go to.
    current: &'a ninja::Current,
    /// Set by Ctrl-C, SIGTERM or SIGHUP.
    interrupted: &'a AtomicBool,
}

impl Runs<'_> {
    /// The Ninja command building `targets`, with the jobserver and the launchers' environment.
    fn command(&self, targets: &[OsString]) -> anyhow::Result<Command> {
        let (b, jobs) = (self.build, self.build.jobs);
        let mut cmd = ninja_command(b.ninja, b.dir, jobs.ninja, targets);
        // Set for the first run only (`run_first`), not inherited.
        cmd.env_remove(fetch::want::UNCOVERED_ENV);
        jobserver::export(self.server, self.holders, &mut cmd);
        // After the jobserver's: the farm's `[distribute] env` may set any variable.
        launcher_env(&mut cmd, b.policy, jobs)?;
        ninja::detach_and_tie(&mut cmd);
        Ok(cmd)
    }

    /// Runs one Ninja `cmd`, following its output, with the build's signals forwarded to it:
    /// its exit status and what its output said.
    fn run(&self, mut cmd: Command) -> anyhow::Result<(ExitStatus, Followed)> {
        let ninja = self.build.ninja;
        let mut child = cmd.spawn().with_context(|| {
            // An install hint for the default only: a given path (`--ninja`, `$NINJA`) is a typo.
            let hint = match ninja.as_os_str() == "ninja" {
                true => " (install it: apt-get install -y ninja-build)",
                false => " (given by --ninja or $NINJA)",
            };
            format!("cannot run {}{hint}", ninja.to_string_lossy())
        })?;
        self.current.set(&child, self.interrupted);
        let stdout = child.stdout.take().context("ninja's stdout")?;
        let followed = follow(stdout, self.build.dir, self.counts, self.lines);
        // Forwarding stops while Ninja is a zombie: a signal read after the reap would go to
        // whatever process took its pid since.
        engine::child::wait_unreaped(child.id()).context("waiting for ninja")?;
        self.current.clear(&child);
        let status = child.wait().context("reaping ninja")?;
        Ok((status, followed))
    }
}

/// Runs Ninja on `b`'s targets with the jobserver and the launchers' environment and, when
/// `remote` is given, the search for CI's build and its pull beside it; shows its progress.
/// On a first run the cache's hits are served ahead of Ninja, with a pull as the pull brings
/// them (Ninja compiling meanwhile what no record covers).
pub(super) fn run_ninja(
    b: &NinjaBuild,
    remote: Option<Arc<crate::remote::Remote>>,
) -> anyhow::Result<NinjaRun> {
    let (dir, jobs) = (b.dir, b.jobs);
    let cancel = CancelToken::new();
    let counts = b.counts();
    let (server, holders, keeper) = serve_tokens(dir, jobs.tokens)?;
    // The planning marker is written before Ninja runs its first launcher.
    let lines = lines::Lines::new(std::io::stderr().is_terminal());
    // On-demand only (`prefetch = "none"`), the pull brings nothing unasked: not waited for.
    let prefetching = remote
        .as_ref()
        .is_some_and(|r| r.prefetch != engine::order::Prefetch::None);
    // A first build racing the pull waits for its reading of the sources here: begun with the
    // search.
    let racing = prefetching && b.first_run.as_ref().is_some_and(|f| f.racing);
    let planning = remote.clone().map(|r| {
        let (counts, cancel) = (counts.clone(), cancel.clone());
        pull::Planning::start(r, counts, cancel, lines.clone(), racing)
    });
    let interrupted = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    // Ctrl-C (and SIGTERM, SIGHUP) stop the pull and go to the children that run: Ninja (in a
    // process group of its own), the pass that serves hits ahead of it, or both; with none
    // running, they only stop the build.
    let current = ninja::Current::default();
    let forwarder = ninja::Forwarder::start(&current, interrupted.clone(), cancel.flag().clone())
        .context("cannot handle SIGINT")?;
    let runs = Runs {
        build: b,
        server: &server,
        holders: &holders,
        counts: &counts,
        lines: &lines,
        current: &current,
        interrupted: &interrupted,
    };
    let mut followed = Followed::default();
    let stopped = match b.first_run.as_ref().map(ahead::PendingFirstRun::wait) {
        Some(Some(first_run)) => {
            let raced = planning.as_ref().filter(|_| racing);
            run_first(&runs, &first_run, raced, &mut followed)?
        }
        // No pass after all (a Ninja whose logs we do not write, Ninja files that set
        // `builddir` or do not load): nothing listens for the pull's arrivals, and the
        // sources' reading begun with the search stops unless a plan found took it.
        Some(None) => {
            counts.arrivals.unheard();
            if let Some(p) = &planning {
                p.stop_reading();
            }
            None
        }
        None => None,
    };
    let status = match stopped {
        Some(s) => s,
        // Ctrl-C before Ninja ran the targets: the build stops as Ninja would have.
        None if interrupted.load(Ordering::SeqCst) => {
            std::os::unix::process::ExitStatusExt::from_raw(libc::SIGINT)
        }
        None => {
            let (status, f) = runs.run(runs.command(b.targets)?)?;
            followed.add(f);
            status
        }
    };
    drop(forwarder);
    drop(keeper);
    // Ninja is done: so is the pull (what it fully brought stays in the cache).
    let after = Instant::now();
    let finished = planning.map(pull::Planning::finish);
    let waited = after.elapsed();
    let search = finished.as_ref().map(|f| f.search);
    let pulled = finished.and_then(|f| f.pull);
    let total = counts.total.load(Ordering::Relaxed);
    Ok(NinjaRun {
        status,
        followed,
        interrupted: interrupted.load(Ordering::SeqCst),
        start,
        waited,
        search,
        pulled_entries: pull::report(remote.as_deref(), search, pulled, total),
    })
}

/// The build's jobserver with `tokens` CPU tokens, the directory where launchers in `dir` note
/// the tokens they hold, and its keeper: the tokens of launchers killed while they held one
/// come back (`engine::jobserver`; none, after one warning line, when it cannot be set up).
fn serve_tokens(
    dir: &Path,
    tokens: usize,
) -> anyhow::Result<(jobserver::Client, PathBuf, Option<jobserver::TokenKeeper>)> {
    let server = jobserver::server(tokens).context("cannot create the jobserver pipe")?;
    let holders = fetch::objdir::ObjDir::new(dir).token_holders_dir();
    let keeper = jobserver::TokenKeeper::start(&server, &holders)
        .map_err(|e| {
            eprintln!(
                "cached-ninja build: warning: cannot set up {}: {e}; a launcher killed while it compiles keeps its CPU token",
                holders.display()
            )
        })
        .ok();
    Ok((server, holders, keeper))
}

/// Ninja's first run here: the pass that serves the cache's hits ahead of Ninja and, with
/// `raced` (the planning of a pull the build races), the targets no record covers built
/// first and the pull waited for. Adds what Ninja said to `followed`; the status that stops
/// the build, if one does (a failure, or Ctrl-C).
fn run_first(
    r: &Runs,
    first_run: &ahead::FirstRun,
    raced: Option<&pull::Planning>,
    followed: &mut Followed,
) -> anyhow::Result<Option<ExitStatus>> {
    let (b, counts, interrupted) = (r.build, r.counts, r.interrupted);
    let env = |c: &mut Command| launcher_env(c, b.policy, b.jobs);
    let first = raced
        .and_then(|p| ahead::compiled_first(p, counts, interrupted))
        .and_then(|outs| first_run.compiled_first_targets(outs));
    if first.is_none() {
        counts.arrivals.unheard();
    }
    let of = ahead::PassOf {
        dir: b.dir,
        version: &first_run.version,
        targets: b.targets,
        built_first: first.as_deref().unwrap_or_default(),
        arrivals: first.is_some().then_some(&counts.arrivals),
    };
    let pass = match interrupted.load(Ordering::SeqCst) {
        true => None,
        false => ahead::Pass::start(&of, r.current, interrupted, &env),
    };
    let mut stopped = None;
    if let Some(outs) = first.as_ref().filter(|o| !o.is_empty()) {
        // No record covers them: their launchers do not wait for the plan.
        let uncovered = r.command(outs).map(|mut c| {
            c.env(fetch::want::UNCOVERED_ENV, "1");
            c
        });
        let (status, f) = match uncovered.and_then(|c| r.run(c)) {
            Ok(ran) => ran,
            Err(e) => {
                // Not left waiting for arrivals until the build's exit.
                if let Some(pass) = pass {
                    pass.finish(r.current, interrupted);
                }
                return Err(e);
            }
        };
        followed.add(f);
        if !status.success() || interrupted.load(Ordering::SeqCst) {
            stopped = Some(status);
        }
    }
    // (No pass: nothing is served from the pull before Ninja's launchers race it.)
    if first.is_some() && stopped.is_none() && pass.is_some() {
        ahead::wait_for_pull(counts, b.jobs.tokens, interrupted);
    }
    if let Some(pass) = pass {
        pass.finish(r.current, interrupted).say();
    }
    Ok(stopped)
}
