//! Glue between the policy file and `fetch`'s remote side: which object directory and source
//! tree, which stores, whose keys, which configuration (DESIGN §4, §5). Used by `fetch`,
//! `publish` and `build`.

use crate::policy::{Policy, StorePolicy};
use anyhow::{bail, Context};
use clap::Args;
use engine::order::{EdgePolicy, Prefetch};
use fetch::cache::LocalCache;
use fetch::objdir::ObjDir;
use fetch::signing::Trust;
use fetch::store::{Store, StoreConfig};
use std::path::{Path, PathBuf};

/// Options shared by the commands that talk to remote stores.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    /// The object directory (default: the current directory).
    #[arg(short = 'C', value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Policy file (default: the one `generate --policy` recorded, else cached-ninja.toml in the
    /// object directory, then the source root).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Use this store instead of the policy's `[[store]]` list.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Configuration name (default: the policy's `[fetch] config`, else `default`).
    #[arg(long, value_name = "NAME")]
    pub config: Option<String>,
    /// Parallel requests (default: the policy's `[fetch] jobs`, else 16, or 256 when every
    /// store speaks HTTP/2: `DEFAULT_JOBS`, `DEFAULT_JOBS_HTTP2`).
    #[arg(short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// The pull's order after wanted keys and policy boosts: critical-path, reverse or none
    /// (default: the policy's `[fetch] prefetch`, else critical-path).
    #[arg(long, value_name = "MODE")]
    pub prefetch: Option<String>,
}

/// Default of `[fetch] wait_ms`: a launcher's wait for its entry before it compiles.
pub const DEFAULT_WAIT_MS: u64 = 10_000;

/// An object directory with its policy, opened stores and settings.
pub struct Remote {
    /// The object directory.
    pub objdir: PathBuf,
    /// The source root (from `.cached-ninja/config`), if configured.
    pub src_root: Option<PathBuf>,
    /// The policy in force.
    pub policy: Policy,
    /// The stores, in order.
    pub stores: Vec<Store>,
    /// Stores of the policy that could not be opened (missing credentials, …): why.
    pub unusable: Vec<String>,
    /// Configuration name.
    pub config: String,
    /// Parallel requests.
    pub jobs: usize,
    /// The prefetch order.
    pub prefetch: Prefetch,
}

impl Remote {
    /// Reads the policy and opens the stores (`write`: only those `publish` may write); there may
    /// be none ([`Self::require_stores`]).
    pub fn open(args: &RemoteArgs, write: bool) -> anyhow::Result<Remote> {
        let objdir = match &args.dir {
            Some(d) => d.clone(),
            None => std::env::current_dir().context("no current directory")?,
        };
        let src_root = src_root(&objdir);
        let policy = policy_of(&objdir, args.policy.as_deref())?;
        let configs: Vec<StoreConfig> = match &args.store {
            Some(url) => vec![StoreConfig::new(url.clone())],
            None => policy
                .stores
                .iter()
                .filter(|s| s.write || !write)
                .map(store_config)
                .collect(),
        };
        let bandwidth = policy
            .fetch
            .bandwidth
            .as_deref()
            .and_then(fetch::cache::parse_size);
        // One HTTP/2 connection carries any number of requests; over HTTP/1.1 each is one.
        let one_connection = !configs.is_empty() && configs.iter().all(|c| c.http2_prior_knowledge);
        let default_jobs = if one_connection {
            DEFAULT_JOBS_HTTP2
        } else {
            DEFAULT_JOBS
        };
        let jobs = args
            .jobs
            .or(policy.fetch.jobs)
            .unwrap_or(default_jobs)
            .max(1);
        let (mut stores, mut unusable) = (Vec::new(), Vec::new());
        for mut c in configs {
            c.max_bytes_per_sec = bandwidth;
            network_settings(&policy, &mut c);
            declared_link(bandwidth, jobs, &mut c);
            match Store::open(&c) {
                Ok(s) => stores.push(s),
                Err(e) => unusable.push(e.to_string()),
            }
        }
        let config = args
            .config
            .clone()
            .or_else(|| policy.fetch.config.clone())
            .unwrap_or_else(|| "default".into());
        let prefetch = match (&args.prefetch, &policy.fetch.prefetch) {
            (Some(m), _) => m.parse().map_err(|e| anyhow::anyhow!("--prefetch {e}"))?,
            // Checked when the policy was read.
            (None, Some(m)) => m.parse().unwrap_or_default(),
            (None, None) => Prefetch::default(),
        };
        Ok(Remote {
            objdir,
            src_root,
            policy,
            stores,
            unusable,
            config,
            jobs,
            prefetch,
        })
    }

    /// What the policy's rules say about each record of `manifest` (by its output).
    pub fn edge_policy(&self, manifest: &fetch::build_manifest::BuildManifest) -> Vec<EdgePolicy> {
        let records = &manifest.records;
        records
            .iter()
            .map(|r| self.policy.edge_policy(r.output()))
            .collect()
    }

    /// Fails unless a store is configured (`write`: one `publish` may write to) and all of them
    /// could be opened.
    pub fn require_stores(&self, write: bool) -> anyhow::Result<()> {
        if let Some(why) = self.unusable.first() {
            bail!("{why}");
        }
        if self.stores.is_empty() {
            bail!(
                "no {}store: add a `[[store]] url = \"…\"{}` to {} or pass --store URL",
                if write { "writable " } else { "" },
                if write { " write = true" } else { "" },
                policy_name(&self.policy, &self.objdir)
            );
        }
        Ok(())
    }

    /// The trusted publisher keys; none is an error naming the policy file.
    pub fn trust(&self) -> anyhow::Result<Trust> {
        let trust = Trust::from_strings(&self.policy.trust.publishers)?;
        if trust.is_empty() {
            bail!(
                "no trusted publisher keys: add `[trust] publishers = [\"ed25519:…\"]` (the key `cached-ninja key generate` printed for CI) to {}; remote data is not used without it",
                policy_name(&self.policy, &self.objdir)
            );
        }
        Ok(trust)
    }

    /// The local cache the launchers of this object directory use.
    pub fn cache(&self) -> LocalCache {
        cache_of(&self.policy)
    }

    /// The build's marker of a local cache with no room for new entries (the one the
    /// launchers of this object directory set and read).
    pub fn cache_unwritable(&self) -> engine::launcher::Marker {
        engine::launcher::cache_unwritable(&self.objdir, self.cache().root())
    }

    /// The local cache's size cap: the policy's `[cache] size`, else the launcher's default.
    pub fn cache_size(&self) -> u64 {
        cache_cap_of(&self.policy)
    }

    /// The policy file's name, for messages.
    pub fn policy_name(&self) -> String {
        policy_name(&self.policy, &self.objdir)
    }

    /// The stores' bandwidth cap in bytes per second (`[fetch] bandwidth`), if any.
    pub fn bandwidth(&self) -> Option<u64> {
        let b = self.policy.fetch.bandwidth.as_deref();
        b.and_then(fetch::cache::parse_size)
    }

    /// How long a launcher waits for a wanted entry before compiling (`[fetch] wait_ms`).
    pub fn wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.policy.fetch.wait_ms.unwrap_or(DEFAULT_WAIT_MS))
    }

    /// The directory whose version control history is searched: the source root, else the
    /// object directory.
    pub fn vcs_dir(&self) -> &Path {
        self.src_root.as_deref().unwrap_or(&self.objdir)
    }
}

/// Default of `[fetch] skip_failed_s`: how long builds skip a store whose breaker tripped.
pub const DEFAULT_SKIP_FAILED_S: u64 = 300;

impl Remote {
    /// Whether the build in the object directory packages its `.dwo` files itself (so they
    /// come with the objects, and the fill leaves its packages alone): as `generate` recorded
    /// while its rewrite stands, else (zero setup, whose launchers ask the Ninja files too) as
    /// its Ninja files say unless the policy names the packager (`[debug] dwp_step`: one a
    /// script runs, unseen there).
    pub fn packs_dwo(&self) -> bool {
        use backend::rewrite::dwp_step::DwpStep;
        let config = ObjDir::new(&self.objdir).config();
        let recorded = config.value(fetch::objdir::DWP_STEP);
        let build_ninja = self.objdir.join("build.ninja");
        let rewritten = backend::rewrite::record::is_rewritten(&build_ninja).unwrap_or(false);
        let step = match recorded.filter(|_| rewritten) {
            Some(word) => DwpStep::from_word(word).unwrap_or_default(),
            None => {
                let facts = engine::launcher::ninja_facts(&self.objdir);
                let found = facts.map_or(DwpStep::None, |f| f.dwp_step);
                self.policy.debug.dwp_step.step(found)
            }
        };
        step != DwpStep::None
    }

    /// How long later builds skip a store whose breaker tripped (`[fetch] skip_failed_s`).
    pub fn skip_hold(&self) -> std::time::Duration {
        let s = self.policy.fetch.skip_failed_s;
        std::time::Duration::from_secs(s.unwrap_or(DEFAULT_SKIP_FAILED_S))
    }

    /// Presets the breakers of the stores a recent build found dead (`fetch::skips`), so this
    /// build sends them nothing.
    pub fn skip_recently_failed(&self) {
        let od = ObjDir::new(&self.objdir);
        fetch::skips::preset(&od, &self.stores, std::time::SystemTime::now());
    }

    /// Records the stores whose breaker tripped in this process for later builds; a failure to
    /// write is one warning line (the next build then asks the store again).
    pub fn record_failed(&self, who: &str) {
        let od = ObjDir::new(&self.objdir);
        let now = std::time::SystemTime::now();
        if let Err(e) = fetch::skips::record(&od, &self.stores, self.skip_hold(), now) {
            eprintln!(
                "{who}: warning: cannot write {}: {e}; the next build asks the failed store again",
                od.stores_down_file().display()
            );
        }
    }
}

/// The `[fetch]` timeouts and slow rate of the policy, on one store's settings.
fn network_settings(p: &Policy, c: &mut StoreConfig) {
    let f = &p.fetch;
    if let Some(ms) = f.connect_timeout_ms {
        c.connect_timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(ms) = f.first_byte_timeout_ms {
        c.first_byte_timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(r) = f.slow_rate.as_deref().and_then(fetch::cache::parse_size) {
        c.slow_rate = r;
    }
}

/// A link the policy declares (`[fetch] bandwidth`, shared by `jobs` requests) slower than a
/// request's default rate ([`StoreConfig::min_rate`]) gives each request time for its bytes
/// at its share of that link: a 20 kB blob over a declared 10 KB/s link takes 2 s, no stall.
fn declared_link(bandwidth: Option<u64>, jobs: usize, c: &mut StoreConfig) {
    if let Some(b) = bandwidth {
        let share = (b / jobs as u64).max(1);
        if c.min_rate > 0 {
            c.min_rate = c.min_rate.min(share);
        }
    }
}

/// Requests in flight at most by default over HTTP/1.1, one connection each: few enough for
/// any server's connection limit (the tests' nginx allows 64; 128 made it close connections,
/// and the breaker then gave the store up), enough for 10 MB/s at 20 ms (a window of about 46
/// objects of 9 kB: BENCHMARKS.md "Hits served as the pull brings them": 16 took 11 % longer).
/// The pull keeps fewer in flight when the link needs fewer (`LinkState::window`); a publish
/// and the plan's requests take as many (at most 64).
pub const DEFAULT_JOBS: usize = 48;

/// Requests in flight by default when every store speaks HTTP/2 (`http2 = true`: one
/// connection, many streams): 256, measured 1.16-1.24x the bandwidth floor at 20 ms and
/// 50 MB/s over 40 000 objects. Publish and the plan's requests take at most 64.
pub const DEFAULT_JOBS_HTTP2: usize = 256;

/// The store settings of one `[[store]]`.
fn store_config(s: &StorePolicy) -> StoreConfig {
    let mut c = StoreConfig::new(s.url.clone());
    c.s3.endpoint = s.endpoint.clone();
    c.s3.region = s.region.clone();
    c.http2_prior_knowledge = s.http2;
    c
}

/// The policy file's name for messages (or where one would go).
fn policy_name(p: &Policy, objdir: &Path) -> String {
    p.source
        .clone()
        .unwrap_or_else(|| objdir.join(crate::policy::FILE_NAME))
        .display()
        .to_string()
}

/// The source root of `objdir`, absolute: the one `generate` recorded (`.cached-ninja/config`),
/// else (zero setup) the generator's own record, as the launchers find it
/// (`backend::project::source_root`).
pub fn src_root(objdir: &Path) -> Option<PathBuf> {
    let od = ObjDir::new(objdir);
    od.config_src_root()
        .or_else(|| backend::project::source_root(objdir))
}

/// The policy in force in the object directory `objdir`: `explicit` (`--policy FILE`), else
/// the one `generate --policy` recorded (the launchers use its cache), else cached-ninja.toml
/// in the object directory, then in the source root; none: the defaults.
pub fn policy_of(objdir: &Path, explicit: Option<&Path>) -> anyhow::Result<Policy> {
    let recorded = ObjDir::new(objdir)
        .config_value("policy")
        .map(PathBuf::from);
    let explicit = explicit.map(Path::to_path_buf).or(recorded);
    Policy::find(explicit.as_deref(), objdir, src_root(objdir).as_deref())
}

/// The local cache that launchers generated with `policy` use: its `[cache] dir` (`generate`
/// writes it into their commands), else `CACHED_NINJA_CACHE_DIR` or the default.
pub fn cache_of(policy: &Policy) -> LocalCache {
    let dir = policy.cache.dir.clone();
    LocalCache::new(dir.unwrap_or_else(LocalCache::default_root))
}

/// The size cap of [`cache_of`]: the policy's `[cache] size`, else `CACHED_NINJA_CACHE_SIZE`
/// or the default.
pub fn cache_cap_of(policy: &Policy) -> u64 {
    let size = policy.cache.size.as_deref();
    size.and_then(fetch::cache::parse_size)
        .unwrap_or_else(LocalCache::max_size_from_env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_declared_slow_link_gives_requests_time_for_their_bytes() {
        let mut c = StoreConfig::new("http://127.0.0.1:1/cn");
        let default = c.get_timeout(60_000);
        declared_link(None, 16, &mut c);
        assert_eq!(c.get_timeout(60_000), default);
        declared_link(Some(10 << 10), 1, &mut c);
        // 60 kB at 10 KiB/s: about 5.9 s on top of the first byte's 2 s.
        let slow = c.get_timeout(60_000);
        assert!(slow > Duration::from_millis(7_800), "{slow:?}");
        let mut c = StoreConfig::new("http://127.0.0.1:1/cn");
        declared_link(Some(100 << 20), 16, &mut c);
        assert_eq!(
            c.get_timeout(60_000),
            default,
            "a fast link changes nothing"
        );
    }
}
