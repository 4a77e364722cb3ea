//! `cached-ninja build [-C DIR] [-j N] [TARGET…]`: runs Ninja on the rewritten files (DESIGN
//! §1, §5) with more jobs than cores, while a GNU make jobserver with N tokens (default: the
//! CPU count) lets at most N compilers run at once (`engine::jobserver`); hits and uncacheable
//! commands take no token. Shows a live progress line (indicatif) on a terminal, plain lines
//! otherwise, and ends with a summary from the launchers' stats (`fetch::stats`, zeroed at
//! the start of each build). After a successful build with split DWARF on (and without
//! `--publish`) it starts `dbgfetch fill` detached (`engine::fill::background`; `--no-fill`:
//! not) and says so in one line. A policy edited since `generate` read it gets one note: its
//! stores and trust apply at once, its rules and compile flags once `generate` runs.
//!
//! With the policy's `[distribute]` ([`distribute`]) the launchers hand misses to distcc or
//! icecream; Ninja's default job count then adds the remote slots, the CPU tokens stay local.
//!
//! One build per object directory ([`lock`]; `--no-wait` fails instead of waiting). Ninja runs
//! in its own process group and dies with the build ([`ninja`]): Ctrl-C, SIGTERM and SIGHUP
//! are forwarded to it, and it gets SIGTERM when the build is killed. We wait for Ninja, which
//! stops the running commands and removes their outputs. Launchers write objects and cache
//! entries atomically (temporary file + rename), so nothing partial is left, and the next
//! build resumes where this one stopped.
//!
//! The pull ([`pull`]) runs beside Ninja and ends when Ninja ends: the build never waits for
//! the network after its last edge. Each store that failed gets one warning line saying what
//! happened and what it cost; the summary says where objects came from and how long the
//! build waited on the network.

pub mod ahead;
mod distribute;
mod lines;
mod lock;
mod ninja;
mod ninja_runs;
mod packager;
mod pull;

use super::publish::PublishArgs;
use crate::remote::RemoteArgs;
use anyhow::{bail, Context};
use backend::rewrite::record;
use clap::Args;
use fetch::stats::{self, BuildStats};
use ninja_runs::{run_ninja, NinjaBuild, NinjaRun};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Options of `cached-ninja build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The object directory (default: the current directory).
    #[arg(short = 'C', value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Compilers running at once here: the jobserver's CPU tokens (default: the CPU count).
    /// A distributed compile holds one only while it preprocesses.
    #[arg(short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Ninja's own job count, for hits, downloads and distributed compiles (default: 4 × N
    /// plus the remote slots of the policy's `[distribute]`).
    #[arg(long, value_name = "M")]
    pub ninja_jobs: Option<usize>,
    /// The ninja executable (default: $NINJA, else `ninja` on PATH).
    #[arg(long, value_name = "PATH")]
    pub ninja: Option<OsString>,
    /// Do not pull CI's objects from the policy's stores while building.
    #[arg(long)]
    pub no_fetch: bool,
    /// After a successful build, publish it (what CI runs; see `cached-ninja publish`).
    #[arg(long)]
    pub publish: bool,
    /// With --publish: the revision built (default: the source tree's checked-out revision).
    #[arg(long, value_name = "REV", requires = "publish")]
    pub rev: Option<String>,
    /// With --publish: the publisher's secret key file (default: the policy's `[publish] key`).
    #[arg(long, value_name = "FILE", requires = "publish")]
    pub key: Option<PathBuf>,
    /// Configuration name to fetch or publish (default: the policy's `[fetch] config`).
    #[arg(long, value_name = "NAME")]
    pub config: Option<String>,
    /// Do not start `dbgfetch fill` in the background after a build with split DWARF.
    #[arg(long)]
    pub no_fill: bool,
    /// On a first build here, do not serve the cache's hits before Ninja: Ninja runs every
    /// compile's launcher (and, with a pull, starts at once instead of after the pull).
    #[arg(long)]
    pub no_serve_ahead: bool,
    /// Use this store instead of the policy's `[[store]]` list (fetch and publish).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Fail at once if another build of this object directory runs (default: wait for it).
    #[arg(long)]
    pub no_wait: bool,
    /// Targets to build (default: Ninja's defaults).
    pub targets: Vec<OsString>,
}

/// What runs the compiles of an object directory's Ninja files.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Compiles {
    /// The launcher, put there by `generate`.
    Rewritten,
    /// The launcher, as the generator's compiler launcher (zero setup).
    ZeroSetup,
    /// The compilers alone: no launcher would use what a pull brings (said in a note).
    Plain,
}

impl Compiles {
    /// What runs the compiles of `dir`'s `build.ninja`.
    fn of(dir: &Path) -> anyhow::Result<Compiles> {
        let top = dir.join("build.ninja");
        let rewritten = record::is_rewritten(&top).with_context(|| {
            format!("cannot read {}: configure first (`cached-ninja configure --enable-build-backend=cached-ninja -- …`)", top.display())
        })?;
        if rewritten {
            return Ok(Compiles::Rewritten);
        }
        if engine::launcher::ninja_facts(dir).is_some_and(|f| f.runs_launcher) {
            return Ok(Compiles::ZeroSetup);
        }
        eprintln!(
            "cached-ninja build: note: {} is not rewritten (plain Ninja): nothing will be cached; run `cached-ninja generate -C {}`",
            top.display(),
            dir.display()
        );
        Ok(Compiles::Plain)
    }
}

/// Size above which a build starts by compacting the action log (`fetch::action_log`).
const ACTION_LOG_MAX: u64 = 64 << 20;

/// Status prefix we give Ninja (`NINJA_STATUS`), to tell status lines from output.
const STATUS: &str = "\u{1}cn ";

/// Runs `build`.
pub fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("no current directory")?,
    };
    let compiles = Compiles::of(&dir)?;
    let od = fetch::objdir::ObjDir::new(&dir);
    let earlier = packager::earlier_image(&od);
    let ran_again = earlier.is_some();
    let lock = match earlier.flatten() {
        Some(held) => held,
        None => lock::acquire(&od, args.no_wait)?,
    };
    let policy = crate::remote::policy_of(&dir, None)?;
    if compiles == Compiles::Rewritten {
        note_edited_policy(&dir);
    }
    remove_leftovers(&dir, &policy);
    let jobs = Jobs::of(&args, &policy, &dir);
    if let Some(d) = &jobs.distribution {
        eprintln!("{}", d.describe());
    }
    start_logs_afresh(&dir)?;
    let remote_args = RemoteArgs {
        dir: Some(dir.clone()),
        store: args.store.clone(),
        config: args.config.clone(),
        ..RemoteArgs::default()
    };
    // CI's publish: its key, stores and revision checked before a long build, not after.
    let publication = match args.publish {
        true => Some(super::publish::prepare(&PublishArgs {
            remote: remote_args.clone(),
            rev: args.rev.clone(),
            key: args.key.clone(),
        })?),
        false => None,
    };
    let ninja = args
        .ninja
        .clone()
        .or_else(|| std::env::var_os("NINJA"))
        .unwrap_or_else(|| "ninja".into());
    // Worked out beside the stores' opening and the search: it loads the Ninja files.
    let first_run = match compiles {
        Compiles::Plain => None,
        _ if args.no_serve_ahead => None,
        _ => ahead::PendingFirstRun::start(&dir, &ninja, &args.targets),
    };
    // The stores are opened here; the plan is looked for beside Ninja, and the pull then runs
    // beside it too (DESIGN §1): neither holds up Ninja's start.
    let remote = if args.no_fetch || compiles == Compiles::Plain {
        None
    } else {
        pull::open(&remote_args)?
    };
    let build = NinjaBuild {
        ninja: &ninja,
        dir: &dir,
        targets: &args.targets,
        policy: &policy,
        jobs: &jobs,
        first_run,
    };
    let done = run_ninja(&build, remote.clone())?;
    summarize(&dir, &done, &jobs, remote.as_deref());
    if done.interrupted {
        // What launchers killed mid-write left (their pids are gone by now).
        remove_leftovers(&dir, &policy);
        eprintln!("cached-ninja build: interrupted; no partial object or cache entry is left, the next build resumes");
        return Ok(ExitCode::from(130));
    }
    if !done.status.success() {
        // Exited (not killed): a packager added since the objects were made may be why.
        if done.status.code().is_some() && !ran_again {
            packager::run_again_if_stale(&dir, &done.followed.failed, &lock);
        }
        bail!("ninja failed ({})", done.status);
    }
    if !args.publish && !args.no_fill {
        start_fill(&dir, &policy);
    }
    if let Some(p) = publication {
        return super::publish::publish_prepared(p);
    }
    Ok(ExitCode::SUCCESS)
}

/// How many compilers and Ninja jobs run at once, and the farm misses may go to.
struct Jobs {
    /// The jobserver's CPU tokens.
    tokens: usize,
    /// Ninja's `-j`.
    ninja: usize,
    /// The policy's `[distribute]` farm.
    distribution: Option<distribute::Farm>,
}

impl Jobs {
    /// The counts `args` ask for, else the CPU count and four times it plus the farm's slots.
    fn of(args: &BuildArgs, policy: &crate::policy::Policy, dir: &Path) -> Jobs {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let tokens = args.jobs.unwrap_or(cpus).max(1);
        let distribution = distribute::Farm::of(policy, dir);
        let remote_slots = distribution.as_ref().map_or(0, |d| d.slots);
        let ninja = args.ninja_jobs.unwrap_or(tokens * 4 + remote_slots).max(1);
        Jobs {
            tokens,
            ninja,
            distribution,
        }
    }
}

/// Zeroes the launchers' stats and compacts the action and edge logs of `dir` for a build,
/// whose launchers try the cache afresh (the marker of one that took no entry goes).
fn start_logs_afresh(dir: &Path) -> anyhow::Result<()> {
    stats::zero(dir).with_context(|| format!("cannot reset the stats of {}", dir.display()))?;
    let _ = std::fs::remove_file(fetch::objdir::ObjDir::new(dir).cache_unwritable_file());
    fetch::action_log::trim(dir, ACTION_LOG_MAX)
        .with_context(|| format!("cannot compact the action log of {}", dir.display()))?;
    fetch::edge_log::trim(dir, ACTION_LOG_MAX)
        .with_context(|| format!("cannot compact the edge log of {}", dir.display()))
}

/// Sets what the launchers Ninja runs read from their environment: the cache the pull fills,
/// its size, and the farm.
fn launcher_env(
    cmd: &mut Command,
    policy: &crate::policy::Policy,
    jobs: &Jobs,
) -> anyhow::Result<()> {
    // A relative cache directory is relative to where the build started (the pull's is), not
    // to the object directory the launchers run in: else they used another cache, and missed.
    if let Some(d) = std::env::var_os("CACHED_NINJA_CACHE_DIR").filter(|d| !d.is_empty()) {
        if Path::new(&d).is_relative() {
            let cwd = std::env::current_dir().context("no current directory")?;
            cmd.env("CACHED_NINJA_CACHE_DIR", cwd.join(d));
        }
    }
    // The policy's cache is the launchers' (`generate` writes it into their commands; the
    // generator's own launcher, zero setup, reads no policy): the one the pull fills.
    if let Some(d) = &policy.cache.dir {
        cmd.env("CACHED_NINJA_CACHE_DIR", d);
    }
    if let Some(size) = &policy.cache.size {
        cmd.env("CACHED_NINJA_CACHE_SIZE", size);
    }
    if let Some(d) = &jobs.distribution {
        d.export(cmd);
    }
    Ok(())
}

/// The build's summary lines: edges, outcomes and bytes, and where the objects came from.
fn summarize(dir: &Path, done: &NinjaRun, jobs: &Jobs, remote: Option<&crate::remote::Remote>) {
    let s = BuildStats::read(dir).unwrap_or_default();
    let Followed { ran, total, .. } = done.followed;
    eprintln!(
        "cached-ninja build: {ran}/{total} edges run; {} hits, {} compiled{}, {} uncacheable{}; compile time saved {:.2} s; {} of objects written; {:.1} s",
        s.hits,
        s.misses,
        if jobs.distribution.is_some() { format!(" ({} distributed)", s.distributed) } else { String::new() },
        s.uncacheable,
        if s.errors > 0 { format!(", {} cache errors survived", s.errors) } else { String::new() },
        s.saved_us as f64 / 1e6,
        fetch::plan::human_bytes(s.written),
        done.start.elapsed().as_secs_f64()
    );
    if let Some(remote) = remote {
        let search = done.search.unwrap_or(pull::Search::Skipped);
        eprintln!(
            "cached-ninja build: objects: {} from the local cache ({} entries pulled from {} during this build), {} compiled; {search}; {:.1} s waiting on the network after Ninja",
            s.hits,
            done.pulled_entries,
            remote.stores.iter().map(|st| st.base_url()).collect::<Vec<_>>().join(", "),
            s.misses,
            done.waited.as_secs_f64()
        );
    }
}

/// Ninja with `jobs` jobs, our status prefix and its stdout piped to us.
fn ninja_command(ninja: &OsString, dir: &Path, jobs: usize, targets: &[OsString]) -> Command {
    let mut cmd = Command::new(ninja);
    // Always an explicit -j: ninja 1.13 would otherwise join the jobserver itself and hold
    // the tokens the launchers need.
    cmd.current_dir(dir)
        .arg(format!("-j{jobs}"))
        .args(targets)
        .env("NINJA_STATUS", format!("{STATUS}%f/%t] "))
        // The build read the policy: its launchers need not check it (`policy_edit`).
        .env(engine::launcher::policy_edit::BUILD_ENV, "1")
        .stdout(Stdio::piped());
    cmd
}

/// Says in one line that the policy changed since `generate` read it: its stores and trust
/// are read now, while the Ninja files keep the rules and flags `generate` wrote. Rewriting
/// them here would change every debug flag and key at once (split DWARF follows the stores
/// named), so that a developer's edit of the stores alone would stop every reuse of CI's
/// objects; `generate` applies the file when asked.
fn note_edited_policy(dir: &Path) {
    let od = fetch::objdir::ObjDir::new(dir);
    if let Some(edited) = od.policy_edited(od.config_src_root().as_deref()) {
        eprintln!(
            "cached-ninja build: note: {} changed since `cached-ninja generate` read it: its stores and trust apply now, its rules and compile flags once you run `cached-ninja generate -C {}`",
            edited.display(),
            dir.display()
        );
    }
}

/// Starts `dbgfetch fill` detached when `policy` (the build's) splits DWARF (DESIGN §1, §6):
/// the debug info follows the link in the background. Problems are one warning line.
fn start_fill(dir: &Path, policy: &crate::policy::Policy) {
    if !policy.split_dwarf() {
        return;
    }
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let started = crate::dispatch::sibling("dbgfetch")
        .ok_or_else(|| "dbgfetch is missing beside this binary".to_string())
        .and_then(|exe| {
            engine::fill::background::spawn(&exe, &dir, &[]).map_err(|e| e.to_string())
        });
    match started {
        Ok(_) => eprintln!(
            "dbgfetch: filling debug info in the background — `dbgfetch status -C {}` to follow",
            dir.display()
        ),
        Err(e) => eprintln!(
            "cached-ninja build: warning: cannot start the debug-info fill: {e}; run `dbgfetch fill -C {}`",
            dir.display()
        ),
    }
}

/// Removes the temporary files of killed writers (their pid and start time name them) from
/// the local cache's `tmp/` and the object directory's state directory; the lock is held, so
/// none is a live build's.
fn remove_leftovers(dir: &Path, policy: &crate::policy::Policy) {
    crate::remote::cache_of(policy).remove_abandoned_temps();
    fetch::cache::remove_abandoned_beside(&fetch::objdir::ObjDir::new(dir).state_dir());
}

/// Shows Ninja's output: a progress line on a terminal, plain lines otherwise. Returns the
/// last (finished, total) edge counts.
fn follow(
    stdout: impl std::io::Read,
    dir: &Path,
    fetched: &pull::Counts,
    lines: &lines::Lines,
) -> Followed {
    let bar = lines.bar();
    let (mut ran, mut total) = (0, 0);
    let mut failed = Vec::new();
    let mut after_failed = false;
    let mut last_stats = Instant::now() - Duration::from_secs(1);
    let mut counts = String::new();
    let out = std::io::stdout();
    for line in BufReader::new(stdout).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line);
        let Some(rest) = line.strip_prefix(STATUS) else {
            // Ninja prints a failed edge's command on the line after its `FAILED:` line.
            if std::mem::replace(&mut after_failed, line.starts_with("FAILED: ")) {
                failed.push(line.to_string());
            }
            match &bar {
                Some(b) => b.println(&*line),
                None => {
                    let _ = writeln!(out.lock(), "{line}");
                }
            }
            continue;
        };
        let (counts_text, desc) = rest.split_once("] ").unwrap_or((rest, ""));
        if let Some((f, t)) = counts_text.split_once('/') {
            ran = f.parse().unwrap_or(ran);
            total = t.parse().unwrap_or(total);
        }
        if last_stats.elapsed() >= Duration::from_millis(200) {
            let s = BuildStats::read(dir).unwrap_or_default();
            counts = format!("hit {} compiled {}", s.hits, s.misses);
            let all = fetched.total.load(Ordering::Relaxed);
            if all > 0 {
                let done = fetched.done.load(Ordering::Relaxed);
                counts = format!("fetch {done}/{all}  {counts}");
            }
            last_stats = Instant::now();
        }
        match &bar {
            Some(b) => {
                b.set_length(total);
                b.set_position(ran);
                b.set_message(format!("{counts}  {desc}"));
            }
            None => eprintln!("[{ran}/{total}] {desc}"),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Followed { ran, total, failed }
}

/// What Ninja's standard output said.
#[derive(Default)]
struct Followed {
    /// Edges run.
    ran: u64,
    /// Edges in all.
    total: u64,
    /// The commands of the edges that failed.
    failed: Vec<String>,
}

impl Followed {
    /// Adds what another run of Ninja in the same build said.
    fn add(&mut self, other: Followed) {
        self.ran += other.ran;
        self.total += other.total;
        self.failed.extend(other.failed);
    }
}
