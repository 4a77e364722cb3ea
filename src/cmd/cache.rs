//! `cached-ninja cache gc|stats|verify`: the local cache's size cap, contents and integrity
//! (DESIGN §4).

use clap::{Args, Subcommand};
use fetch::cache::{LocalCache, VerifyOptions, VerifyReport};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Options of `cached-ninja cache`: whose cache.
#[derive(Args)]
pub struct CacheArgs {
    /// The object directory whose launchers' cache it is: its policy's `[cache] dir` and
    /// `size`, as `generate` gave them to the launchers (default: the current directory; no
    /// such policy: `CACHED_NINJA_CACHE_DIR`, else $XDG_CACHE_HOME/cached-ninja, else
    /// ~/.cache/cached-ninja).
    #[arg(short = 'C', long = "dir", global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Policy file (default: the one `generate --policy` recorded, else cached-ninja.toml in
    /// the object directory, then the source root).
    #[arg(long, global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// Local cache maintenance.
#[derive(Subcommand)]
pub enum CacheCommand {
    /// Evict least-recently-used entries until the cache fits its size cap.
    Gc {
        /// Size cap (`500M`, `10G`); default: the policy's `[cache] size`, else
        /// `CACHED_NINJA_CACHE_SIZE`, else 10G.
        #[arg(long)]
        max_size: Option<String>,
    },
    /// Print the cache's location, size, cap and counts.
    Stats,
    /// Check every blob, action entry, include manifest and memo of the cache; exit status 1
    /// if anything was wrong.
    ///
    /// Blobs against their names, entries, manifests and memos against their checksums, each
    /// entry's blobs present with the sizes it records; partial temporary files of writers
    /// that are gone. One line per problem (the file and what is wrong), a count on stderr
    /// every second, a summary line.
    Verify {
        /// Remove what is wrong (and entries whose blobs are gone): the next lookup is a miss.
        #[arg(long)]
        repair: bool,
    },
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", b / (1u64 << 30) as f64)
    } else if b >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", b / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", b / 1024.0)
    }
}

/// Runs one cache subcommand on the cache of the object directory `args` names.
pub fn run(args: CacheArgs) -> anyhow::Result<ExitCode> {
    let policy = cache_policy(&args)?;
    let cache = crate::remote::cache_of(&policy);
    let cap = crate::remote::cache_cap_of(&policy);
    if cache.root().exists() && !cache.root().is_dir() {
        anyhow::bail!(
            "the cache {} is not a directory: point CACHED_NINJA_CACHE_DIR (or the policy's [cache] dir) at one",
            cache.root().display()
        );
    }
    match args.command {
        CacheCommand::Gc { max_size } => gc(&cache, max_size, cap)?,
        CacheCommand::Stats => print_stats(&cache, cap),
        CacheCommand::Verify { repair } => return verify(&cache, repair),
    }
    Ok(ExitCode::SUCCESS)
}

/// The policy whose cache is meant: that of the object directory `args` name, else of the
/// current directory.
fn cache_policy(args: &CacheArgs) -> anyhow::Result<crate::policy::Policy> {
    Ok(match (&args.dir, &args.policy) {
        (Some(d), _) if !d.exists() => {
            anyhow::bail!("object directory {} does not exist", d.display())
        }
        (Some(d), _) if !d.is_dir() => {
            anyhow::bail!("object directory {} is not a directory", d.display())
        }
        // Named: its policy must be readable.
        (Some(d), p) => crate::remote::policy_of(d, p.as_deref())?,
        (None, Some(p)) => crate::remote::policy_of(&std::env::current_dir()?, Some(p))?,
        // The current directory, which may be no object directory at all: a policy that
        // cannot be read there is a warning, and the environment's cache is meant.
        (None, None) => match std::env::current_dir()
            .map_err(anyhow::Error::from)
            .and_then(|d| crate::remote::policy_of(&d, None))
        {
            Ok(p) => p,
            Err(e) => {
                eprintln!("cached-ninja cache: warning: {e:#}; using the environment's cache");
                crate::policy::Policy::default()
            }
        },
    })
}

/// `gc`: evicts least-recently-used entries until `cache` fits `max_size` (`500M`, `10G`;
/// default `cap`), then says what it removed.
fn gc(cache: &LocalCache, max_size: Option<String>, cap: u64) -> anyhow::Result<()> {
    let max = match max_size {
        Some(s) => fetch::cache::parse_size(&s).ok_or_else(|| anyhow::anyhow!("bad size {s:?}"))?,
        None => cap,
    };
    let r = cache.gc(max);
    println!(
        "cache {}: {} -> {} (cap {}), {} files removed",
        cache.root().display(),
        human(r.size_before),
        human(r.size_after),
        human(max),
        r.removed
    );
    if r.not_removed > 0 {
        anyhow::bail!(
            "{} files of {} could not be removed (a read-only cache, or files of another user?); the cache stays over its cap",
            r.not_removed,
            cache.root().display()
        );
    }
    Ok(())
}

/// `stats`: prints the location, size, `cap` and counts of `cache`.
fn print_stats(cache: &LocalCache, cap: u64) {
    let s = cache.summary();
    println!("cache directory   {}", cache.root().display());
    println!(
        "size              {} (cap {})",
        human(s.total_size()),
        human(cap)
    );
    println!("blobs             {} ({})", s.blobs.0, human(s.blobs.1));
    println!("action entries    {} ({})", s.actions.0, human(s.actions.1));
    println!(
        "include manifests {} ({})",
        s.manifests.0,
        human(s.manifests.1)
    );
    println!(
        "partial downloads {} ({})",
        s.partials.0,
        human(s.partials.1)
    );
    println!("other files       {} ({})", s.other.0, human(s.other.1));
}

/// How often a long verify prints its count.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

fn verify(cache: &LocalCache, repair: bool) -> anyhow::Result<ExitCode> {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let last = Mutex::new(Instant::now());
    let progress = |done: usize, total: usize| {
        let mut last = last.lock().unwrap();
        if last.elapsed() >= PROGRESS_EVERY {
            *last = Instant::now();
            eprintln!("cached-ninja cache verify: {done}/{total} files checked");
        }
    };
    let report = cache
        .verify(VerifyOptions { repair, jobs }, &progress)
        .map_err(|e| anyhow::anyhow!("cache verify of {}: {e}", cache.root().display()))?;
    for p in &report.problems {
        let removed = if p.removed { " (removed)" } else { "" };
        println!("{}: {}{removed}", p.path.display(), p.defect);
    }
    println!("{}", summary(cache, &report, repair));
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn summary(cache: &LocalCache, r: &VerifyReport, repair: bool) -> String {
    let problems = match (r.problems.len(), repair) {
        (0, _) => "no problems".to_string(),
        (n, true) => format!("{n} problems, all removed"),
        (n, false) => format!("{n} problems (`cached-ninja cache verify --repair` removes them)"),
    };
    format!(
        "cache {}: {} blobs, {} action entries, {} include manifests, {} memos checked; {problems}",
        cache.root().display(),
        r.blobs,
        r.actions,
        r.manifests,
        r.memos
    )
}
