//! `cached-ninja cache gc|stats`: the local cache's size cap and contents (DESIGN §4).

use clap::Subcommand;
use fetch::cache::LocalCache;
use std::process::ExitCode;

/// Local cache maintenance.
#[derive(Subcommand)]
pub enum CacheCommand {
    /// Evict least-recently-used entries until the cache fits its size cap.
    Gc {
        /// Size cap (`500M`, `10G`); default `CACHED_NINJA_CACHE_SIZE` or 10G.
        #[arg(long)]
        max_size: Option<String>,
    },
    /// Print the cache's location, size, cap and counts.
    Stats,
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

/// Runs one cache subcommand.
pub fn run(cmd: CacheCommand) -> anyhow::Result<ExitCode> {
    let cache = LocalCache::new(LocalCache::default_root());
    match cmd {
        CacheCommand::Gc { max_size } => {
            let max = match max_size {
                Some(s) => {
                    fetch::cache::parse_size(&s).ok_or_else(|| anyhow::anyhow!("bad size {s:?}"))?
                }
                None => LocalCache::max_size_from_env(),
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
        }
        CacheCommand::Stats => {
            let s = cache.summary();
            println!("cache directory   {}", cache.root().display());
            println!(
                "size              {} (cap {})",
                human(s.total_size()),
                human(LocalCache::max_size_from_env())
            );
            println!("blobs             {} ({})", s.blobs.0, human(s.blobs.1));
            println!("action entries    {} ({})", s.actions.0, human(s.actions.1));
            println!(
                "include manifests {} ({})",
                s.manifests.0,
                human(s.manifests.1)
            );
            println!("other files       {} ({})", s.other.0, human(s.other.1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
