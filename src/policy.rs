//! `cached-ninja.toml`, the one place for policy (DESIGN §5). This is the part `generate`
//! and `build` read: split DWARF, the local cache's location and size, and rules that match
//! outputs by glob to keep them out of the cache. Unknown keys are an error naming the file,
//! so a typo never silently changes nothing.
//!
//! ```toml
//! split_dwarf = true        # compiles with -g also get -gsplit-dwarf (and -gdwarf-4); default:
//!                           # on when a [[store]] is named, `false` opts out
//! dwarf = 4                 # 5: leave the DWARF version alone (lldb users, DESIGN §6)
//! [cache]
//! dir = "/var/cache/cn"     # relative paths are relative to this file's directory
//! size = "20G"
//! [[rule]]
//! glob = "src/generated/**" # output paths, as the build files name them
//! cache = false
//! [[rule]]
//! glob = "js/src/**"        # expensive edges: prefetched first (higher first; below 0: last),
//! priority = 10             # and their launchers wait up to remote_wait_ms for the pull
//! remote_wait_ms = 30000    # (instead of while the download beats CI's compile time)
//! [[store]]                 # remote stores, in the order they are asked (DESIGN §4)
//! url = "https://cache.example.org/ci"   # file:///…, http(s)://…, s3://bucket/prefix
//! write = true              # `publish` may write here (default false: developers read)
//! endpoint = "http://127.0.0.1:9000"     # s3:// only (else AWS_ENDPOINT_URL, then AWS)
//! region = "us-east-1"      # s3:// only (else AWS_REGION / AWS_DEFAULT_REGION)
//! http2 = true              # http:// only: the server speaks HTTP/2 in clear text (nginx
//!                           # `listen … http2`): every request on one connection
//! [trust]
//! publishers = ["ed25519:…"] # keys whose builds are used (`cached-ninja key generate`)
//! [fetch]
//! config = "linux64-debug"  # the configuration name CI publishes under (default "default")
//! depth = 32                # ancestors of HEAD looked at
//! jobs = 48                 # requests in flight (default 48, 256 when every store has
//!                           # http2 = true; the pull takes up to 256, publish and the
//!                           # plan's requests up to 64; a long link needs ~128 over HTTP/1.1)
//! wait_ms = 10000           # a compile waits at most this long for the pull to bring its
//!                           # object (and only while the download is expected to beat CI's
//!                           # compile time of the edge)
//! prefetch = "critical-path" # the pull's order after wanted keys and boosts: "critical-path"
//!                           # (CI's compile times through the graph), "reverse" (reverse build
//!                           # order) or "none" (only what launchers ask for); `--prefetch`
//! bandwidth = "50M"         # bytes per second per store, both directions (default: no cap)
//! connect_timeout_ms = 1000 # a store that accepts no connection within this is unreachable
//! first_byte_timeout_ms = 2000  # ... or that sends no answer within this (default 2000)
//! slow_rate = "64K"         # a download slower than this (bytes/s, after 0.5 s) gives up on
//!                           # the store for the build: compiling is faster ("0": never)
//! skip_failed_s = 300       # a store that failed hard is skipped by builds for this long
//!                           # (recorded in <objdir>/.cached-ninja/stores-down; 0: never)
//! [publish]
//! key = "ci.key"            # secret key file of the publisher (relative: to this file)
//! [debug]
//! debugger = "gdb"          # the debugger `dbgfetch fill` lays debug info out for: gdb
//!                           # (default), lldb or any (DESIGN §6)
//! dwp_step = "llvm"         # the build packages its .dwo files itself with GNU dwp ("gnu")
//!                           # or llvm-dwp ("llvm"), e.g. through a script `generate` cannot
//!                           # read: the .dwo files come with the objects (default "auto":
//!                           # found in the Ninja commands; ARCHITECTURE.md "Debug info")
//! [distribute]              # misses compiled by a distributed compiler, then cached
//! engine = "distcc"         # or "icecc" (the client must be on PATH; default: compile here)
//! hosts = "build1/16 build2/16"  # distcc only: DISTCC_HOSTS (else the engine's own settings)
//! scheduler = "icecc.example.org" # icecc only: ICECC_SCHEDULER
//! slots = 32                # remote compile slots, added to Ninja's jobs (default: the /N
//!                           # limits of `distcc --show-hosts`; icecc: 0)
//! timeout_s = 300           # one remote compile longer than this is killed, compiled here,
//!                           # and the rest of the build compiles here (default 300)
//! env = { DISTCC_IO_TIMEOUT = "120" }  # more of the engine's variables, passed as they are
//! ```
//!
//! Where it is found: `--policy FILE`, else `<objdir>/cached-ninja.toml`, else
//! `<source root>/cached-ninja.toml`; none means the defaults (no split DWARF, the launcher's
//! own cache location and size, everything cached).
//!
//! Split DWARF is on by default when the policy names a store ([`Policy::split_dwarf`]): a
//! build that fetches then downloads objects only and `dbgfetch` fills the debug info after
//! the link (DESIGN §6). The flags are part of the cache keys, and a CI that publishes and a
//! developer that fetches both name the store, so both get the same keys from the same policy
//! (ARCHITECTURE.md, "Debug info").

use anyhow::{bail, Context};
use backend::rewrite::dwp_step::DwpStep;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// File name looked for in the object and source directories.
pub const FILE_NAME: &str = fetch::objdir::POLICY_FILE_NAME;

/// The policy.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Compiles with debug info use split DWARF (unset: see [`Policy::split_dwarf`]).
    pub split_dwarf: Option<bool>,
    /// DWARF version forced with split DWARF (4, the default, or 5: leave it alone).
    pub dwarf: Option<u8>,
    /// The local cache.
    #[serde(default)]
    pub cache: CachePolicy,
    /// Rules by output glob, first match wins.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
    /// Remote stores, in the order they are asked.
    #[serde(default, rename = "store")]
    pub stores: Vec<StorePolicy>,
    /// Publisher keys whose data is used.
    #[serde(default)]
    pub trust: TrustPolicy,
    /// What to fetch and how hard.
    #[serde(default)]
    pub fetch: FetchPolicy,
    /// How to publish (CI).
    #[serde(default)]
    pub publish: PublishPolicy,
    /// The debug-info fill.
    #[serde(default)]
    #[allow(dead_code)] // read by `dbgfetch` (src/bin/dbgfetch.rs)
    pub debug: DebugPolicy,
    /// The distributed compiler misses are handed to.
    #[serde(default)]
    pub distribute: DistributePolicy,
    /// The file it was read from (`None`: defaults).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[cache]`: the local cache.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachePolicy {
    /// Its directory (default: the launcher's, `$XDG_CACHE_HOME/cached-ninja`).
    pub dir: Option<PathBuf>,
    /// Its size cap, e.g. `10G` (default: the launcher's).
    pub size: Option<String>,
}

/// `[[store]]`: one remote store.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorePolicy {
    /// `file:///path`, `http(s)://host/prefix` or `s3://bucket/prefix`.
    pub url: String,
    /// Whether `publish` may write here.
    #[serde(default)]
    pub write: bool,
    /// S3 endpoint (`s3://` only).
    pub endpoint: Option<String>,
    /// S3 region (`s3://` only).
    pub region: Option<String>,
    /// `http://` only: speak HTTP/2 from the first byte (one connection for every request).
    #[serde(default)]
    pub http2: bool,
}

/// `[trust]`: whose published data is used.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// Public keys, `ed25519:<64 hex>`.
    #[serde(default)]
    pub publishers: Vec<String>,
}

/// `[fetch]`: finding and downloading CI's build.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchPolicy {
    /// Configuration name (default `default`).
    pub config: Option<String>,
    /// Ancestors of HEAD looked at (default 32).
    pub depth: Option<usize>,
    /// Requests in flight (default `remote::DEFAULT_JOBS`, `DEFAULT_JOBS_HTTP2` when every
    /// store speaks HTTP/2).
    pub jobs: Option<usize>,
    /// How long a launcher that misses waits for the pull to bring its entry (default 10 s).
    pub wait_ms: Option<u64>,
    /// The prefetch order: `critical-path` (default), `reverse` or `none`.
    pub prefetch: Option<String>,
    /// Bandwidth cap per store in bytes per second, e.g. `50M` (default: none).
    pub bandwidth: Option<String>,
    /// Limit on connecting to a store, in ms (default 1000).
    pub connect_timeout_ms: Option<u64>,
    /// Limit on a store's first byte of an answer, in ms (default 2000).
    pub first_byte_timeout_ms: Option<u64>,
    /// Downloads slower than this (bytes per second, e.g. `64K`) trip the store's breaker.
    pub slow_rate: Option<String>,
    /// How long later builds skip a store whose breaker tripped, in seconds (default 300).
    pub skip_failed_s: Option<u64>,
}

/// `[publish]`: CI's side.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishPolicy {
    /// The publisher's secret key file.
    pub key: Option<PathBuf>,
}

/// `[debug]`: the debug-info fill (`dbgfetch`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugPolicy {
    /// The debugger the fill's layout must work for.
    #[serde(default)]
    #[allow(dead_code)] // read by `dbgfetch` (src/bin/dbgfetch.rs)
    pub debugger: DebuggerPolicy,
    /// The DWARF packager the build runs itself (default: found by `generate`).
    #[serde(default)]
    pub dwp_step: DwpStepPolicy,
}

/// `[debug] dwp_step`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DwpStepPolicy {
    /// Whatever `generate` finds in the Ninja commands (`backend::rewrite::dwp_step`).
    #[default]
    Auto,
    /// None, whatever the commands say.
    None,
    /// GNU `dwp`.
    Gnu,
    /// `llvm-dwp`.
    Llvm,
}

impl DwpStepPolicy {
    /// The step of a build whose Ninja commands show `found`.
    pub fn step(self, found: DwpStep) -> DwpStep {
        match self {
            DwpStepPolicy::Auto => found,
            DwpStepPolicy::None => DwpStep::None,
            DwpStepPolicy::Gnu => DwpStep::Gnu,
            DwpStepPolicy::Llvm => DwpStep::Llvm,
        }
    }
}

/// `[debug] debugger`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DebuggerPolicy {
    /// gdb: DWARF 4 packages, DWARF 5 loose files (gdb 13 crashes on DWARF 5 packages).
    #[default]
    Gdb,
    /// lldb: packages.
    Lldb,
    /// Both debuggers: as gdb (with DWARF 5 no layout serves both, see engine::fill::layout).
    Any,
}

/// `[distribute]`: the distributed compiler a miss's compile is handed to (issue 18).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributePolicy {
    /// `distcc` or `icecc` (unset: compile here).
    pub engine: Option<DistributeEngine>,
    /// distcc's host list (`DISTCC_HOSTS`).
    pub hosts: Option<String>,
    /// icecream's scheduler (`ICECC_SCHEDULER`).
    pub scheduler: Option<String>,
    /// Remote compile slots, added to Ninja's default job count.
    pub slots: Option<usize>,
    /// Limit on one compile by the engine, in seconds.
    pub timeout_s: Option<u64>,
    /// More environment variables for the engine, passed as they are.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// `[distribute] engine`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DistributeEngine {
    /// distcc.
    Distcc,
    /// icecream.
    Icecc,
}

impl DistributeEngine {
    /// Its name, as the launcher reads it (`engine::launcher::distribute::ENV`).
    pub fn name(self) -> &'static str {
        match self {
            DistributeEngine::Distcc => "distcc",
            DistributeEngine::Icecc => "icecc",
        }
    }
}

impl DistributePolicy {
    /// The environment the launchers need: the engine's name and its settings.
    pub fn env(&self) -> Vec<(String, String)> {
        let Some(engine) = self.engine else {
            return Vec::new();
        };
        let mut v = vec![(
            engine::launcher::distribute::ENV.to_string(),
            engine.name().to_string(),
        )];
        if let Some(h) = &self.hosts {
            v.push(("DISTCC_HOSTS".into(), h.clone()));
        }
        if let Some(s) = &self.scheduler {
            v.push(("ICECC_SCHEDULER".into(), s.clone()));
        }
        if let Some(t) = self.timeout_s {
            v.push((
                engine::launcher::distribute::LIMIT_ENV.to_string(),
                t.to_string(),
            ));
        }
        v.extend(self.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        v
    }

    /// What is wrong with the section, if anything.
    fn check(&self) -> Option<String> {
        let engine = self.engine;
        if engine.is_none() && (self.hosts.is_some() || self.scheduler.is_some()) {
            return Some(
                "hosts or scheduler without an engine: add engine = \"distcc\" or \"icecc\"".into(),
            );
        }
        if self.hosts.is_some() && engine != Some(DistributeEngine::Distcc) {
            return Some(
                "hosts is distcc's setting; icecream's scheduler picks the hosts (use scheduler)"
                    .into(),
            );
        }
        if self.scheduler.is_some() && engine != Some(DistributeEngine::Icecc) {
            return Some("scheduler is icecream's setting; distcc takes hosts".into());
        }
        if self.timeout_s == Some(0) {
            return Some("timeout_s = 0: a limit must be at least 1 s".into());
        }
        None
    }
}

/// `[[rule]]`: what to do with outputs matching a glob.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Glob over output paths: `*` and `?` stay within a path component, `**` spans any.
    pub glob: String,
    /// `false`: the edge runs as the generator wrote it, without the launcher.
    pub cache: Option<bool>,
    /// Prefetch priority: above 0 before the rest (higher first), below 0 after it.
    pub priority: Option<i32>,
    /// How long the edge's launcher may wait for the pull, in ms (instead of while the download
    /// is expected to beat CI's compile time, and of `[fetch] wait_ms` as the cap).
    pub remote_wait_ms: Option<u64>,
}

impl FetchPolicy {
    /// Fails on a setting out of its range, naming the policy file at `path`.
    fn check(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(b) = &self.bandwidth {
            if !valid_size(b) || fetch::cache::parse_size(b) == Some(0) {
                bail!(
                    "invalid policy file {}: fetch.bandwidth = {b:?}: expected bytes per second, a number with an optional K, M, G or T suffix",
                    path.display()
                );
            }
        }
        if let Some(r) = &self.slow_rate {
            if !valid_size(r) {
                bail!(
                    "invalid policy file {}: fetch.slow_rate = {r:?}: expected bytes per second, a number with an optional K, M, G or T suffix (\"0\": never give up on a slow store)",
                    path.display()
                );
            }
        }
        for (name, v) in [
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("first_byte_timeout_ms", self.first_byte_timeout_ms),
        ] {
            if v == Some(0) {
                bail!(
                    "invalid policy file {}: fetch.{name} = 0: a timeout must be at least 1 ms",
                    path.display()
                );
            }
        }
        if let Some(m) = &self.prefetch {
            if let Err(e) = m.parse::<engine::order::Prefetch>() {
                bail!(
                    "invalid policy file {}: fetch.prefetch = {e}",
                    path.display()
                );
            }
        }
        Ok(())
    }
}

impl TrustPolicy {
    /// Fails on a publisher that is not a public key, naming the policy file at `path`.
    fn check(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(bad) = self
            .publishers
            .iter()
            .find(|k| k.parse::<fetch::signing::PublicKey>().is_err())
        {
            bail!(
                "invalid policy file {}: trust.publishers: {bad:?} is not a public key (`ed25519:` and 64 hex digits, as `cached-ninja key generate` prints)",
                path.display()
            );
        }
        Ok(())
    }
}

/// Fails on the first of `stores` whose URL is of no known kind, naming the policy file at
/// `path`.
fn check_store_urls(stores: &[StorePolicy], path: &Path) -> anyhow::Result<()> {
    for (i, st) in stores.iter().enumerate() {
        let known = ["file://", "http://", "https://", "s3://"];
        if !known.iter().any(|k| st.url.starts_with(k)) {
            bail!(
                "invalid policy file {}: store {} url = {:?}: expected file:///path, http(s)://host/prefix or s3://bucket/prefix",
                path.display(),
                i + 1,
                st.url
            );
        }
    }
    Ok(())
}

impl Policy {
    /// Reads `path`.
    pub fn read(path: &Path) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read policy file {}", path.display()))?;
        Policy::parse(&text, path)
    }

    /// Parses `text`, the policy file at `path` (relative paths in it are taken from its
    /// directory; errors name it).
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Policy> {
        let mut p: Policy = toml::from_str(text)
            .with_context(|| format!("invalid policy file {}", path.display()))?;
        if let Some(v) = p.dwarf {
            if v != 4 && v != 5 {
                bail!(
                    "invalid policy file {}: dwarf = {v}: must be 4 or 5",
                    path.display()
                );
            }
        }
        if let Some(size) = &p.cache.size {
            if !valid_size(size) {
                bail!(
                    "invalid policy file {}: cache.size = {size:?}: expected a number with an optional K, M, G or T suffix",
                    path.display()
                );
            }
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        if let Some(d) = &mut p.cache.dir {
            if d.is_relative() {
                // Absolute: Ninja's launchers run elsewhere (the object directory) than this
                // command (a relative `-C`), and must name the same cache (a review found
                // `build -C obj` gave them `obj/cache`, which they took as `obj/obj/cache`).
                let joined = dir.join(&*d);
                *d = std::path::absolute(&joined).unwrap_or(joined);
            }
        }
        p.fetch.check(path)?;
        if let Some(k) = &mut p.publish.key {
            if k.is_relative() {
                *k = dir.join(&*k);
            }
        }
        check_store_urls(&p.stores, path)?;
        p.trust.check(path)?;
        if let Some(why) = p.distribute.check() {
            bail!(
                "invalid policy file {}: [distribute]: {why}",
                path.display()
            );
        }
        p.source = Some(path.to_path_buf());
        Ok(p)
    }

    /// The policy for an object directory: `explicit`, else the first `cached-ninja.toml`
    /// found in `objdir` then `src_root`, else the defaults.
    pub fn find(
        explicit: Option<&Path>,
        objdir: &Path,
        src_root: Option<&Path>,
    ) -> anyhow::Result<Policy> {
        match Policy::locate(explicit, objdir, src_root) {
            Some(p) => Policy::read(&p),
            None => Ok(Policy::default()),
        }
    }

    /// The file [`Policy::find`] reads: `explicit`, else the first [`FILE_NAME`] in `objdir`
    /// then `src_root`; `None` when there is none (the defaults apply).
    pub fn locate(
        explicit: Option<&Path>,
        objdir: &Path,
        src_root: Option<&Path>,
    ) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        let dirs = std::iter::once(objdir).chain(src_root);
        dirs.map(|d| d.join(FILE_NAME)).find(|p| p.is_file())
    }

    /// Whether an output (path as the manifest names it) goes through the cache.
    pub fn cached(&self, output: &[u8]) -> bool {
        let Ok(out) = std::str::from_utf8(output) else {
            return true;
        };
        self.rule_value(out, |r| r.cache).unwrap_or(true)
    }

    /// What the rules say about an output's prefetch and wait (`priority`, `remote_wait_ms`).
    pub fn edge_policy(&self, output: &str) -> engine::order::EdgePolicy {
        engine::order::EdgePolicy {
            priority: self.rule_value(output, |r| r.priority).unwrap_or(0),
            remote_wait: self
                .rule_value(output, |r| r.remote_wait_ms)
                .map(std::time::Duration::from_millis),
        }
    }

    /// The value of the first rule matching `output` that sets it (`field`).
    fn rule_value<T>(&self, output: &str, field: impl Fn(&Rule) -> Option<T>) -> Option<T> {
        self.rules
            .iter()
            .filter(|r| glob_match(r.glob.as_bytes(), output.as_bytes()))
            .find_map(field)
    }

    /// Whether compiles with debug info use split DWARF: `split_dwarf` when set, else whether
    /// the policy names a store (a build that fetches or publishes: objects first, DESIGN §6).
    pub fn split_dwarf(&self) -> bool {
        self.split_dwarf.unwrap_or(!self.stores.is_empty())
    }

    /// Flags added to compiles that produce debug info.
    pub fn debug_flags(&self) -> Vec<&'static str> {
        if !self.split_dwarf() {
            return Vec::new();
        }
        match self.dwarf {
            Some(5) => vec!["-gsplit-dwarf"],
            _ => vec!["-gsplit-dwarf", "-gdwarf-4"],
        }
    }
}

fn valid_size(s: &str) -> bool {
    let digits = s.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    !digits.is_empty() && digits.len() + 1 >= s.len() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Glob match: `**` any bytes (across `/`), `*` any bytes but `/`, `?` one byte but `/`.
/// Each (pattern, path) position is decided once, so a glob of many stars costs at most
/// pattern × path² steps, not exponential backtracking (the policy fuzz target found a rule
/// whose glob of forty stars held the process for minutes).
pub fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    Glob {
        pat,
        s,
        memo: vec![None; (pat.len() + 1) * (s.len() + 1)],
    }
    .at(0, 0)
}

/// One match of [`glob_match`]: what is known of each (pattern, path) position.
struct Glob<'a> {
    pat: &'a [u8],
    s: &'a [u8],
    memo: Vec<Option<bool>>,
}

impl Glob<'_> {
    /// Whether `pat[p..]` matches `s[i..]`.
    fn at(&mut self, p: usize, i: usize) -> bool {
        let k = p * (self.s.len() + 1) + i;
        if let Some(v) = self.memo[k] {
            return v;
        }
        let (pat, s) = (self.pat, self.s);
        let v = match pat.get(p) {
            None => i == s.len(),
            Some(b'*') if pat.get(p + 1) == Some(&b'*') => {
                let rest = p + 2;
                if pat.get(rest) == Some(&b'/') {
                    // `**/` also matches no directory at all.
                    self.at(rest + 1, i)
                        || (i..=s.len())
                            .any(|j| (j == i || s[j - 1] == b'/') && self.at(rest + 1, j))
                } else {
                    (i..=s.len()).any(|j| self.at(rest, j))
                }
            }
            Some(b'*') => (i..=s.len())
                .take_while(|&j| j == i || s[j - 1] != b'/')
                .any(|j| self.at(p + 1, j)),
            Some(b'?') => s.get(i).is_some_and(|&c| c != b'/') && self.at(p + 1, i + 1),
            Some(&c) => s.get(i) == Some(&c) && self.at(p + 1, i + 1),
        };
        self.memo[k] = Some(v);
        v
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
