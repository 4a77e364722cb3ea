//! Finding the nearest ancestor with a build manifest in a store, and what fetching it means.
//!
//! [`find`] takes the candidate revisions ([`crate::ancestry::ancestors`], nearest first), asks
//! every store whether `builds/<config>/<revision>` exists with `HEAD` requests on a pool of
//! threads (the stores are blocking and `Sync`; no async runtime), picks the nearest revision
//! found, downloads its manifest, checks the signature against the trust set and parses it.
//! The two nearest candidates in the first store (rank 0: the working revision, and the next
//! revision back: its parent, most often) are asked with a `GET` instead
//! ([`Store::get_as_head`]): when CI built either, its manifest comes with the first answer,
//! one round trip sooner than a `HEAD` then a `GET`.
//! The [`Plan`] says which build would be fetched and how much that is; its `Display` is the
//! line `cached-ninja fetch --plan` prints.
//!
//! Decisions:
//! - **Order.** Candidates are ranked by distance, then by store order (policy order): the
//!   first store wins a tie. Requests go out in that rank order, `parallelism` at a time, and
//!   no request ranked after a hit already found is started.
//! - **Failed requests degrade, they do not stop the search.** A candidate whose request
//!   failed counts as absent, so a store that is down leaves the others to answer (DESIGN §7);
//!   the first error of every store whose failures may have hidden a nearer manifest is kept in
//!   [`Plan::probe_errors`] for the caller to warn about. After a hard failure
//!   ([`StoreError::is_hard`]) a store is not asked again (its breaker is open); every request
//!   goes out at once, `parallelism` at a time, so a dead store costs one timeout, not one per
//!   candidate. Only when *no* request got an
//!   answer is it [`PlanError::Unreachable`]; when some did and none found a manifest it is
//!   [`PlanError::NotFound`], listing the failures too.
//! - **A `GET` costs what a `HEAD` did when the manifest is not there.** Its answer's
//!   head is waited for as long as a `HEAD`'s ([`crate::store::StoreConfig::head_timeout`],
//!   2 s), not as long as the body of the largest manifest may take (about 258 s), so "a dead
//!   store costs one timeout" still holds; a `404` is absent, and a failure before the answer
//!   fails as the `HEAD` would have, with the same breaker. When the head comes, not at the
//!   body's end, the store counts as having answered ([`crate::store::Breaker::answered`]:
//!   launchers waiting on the search look at it) and, if the manifest is there, the hit is
//!   found: no later rank is asked while a large manifest downloads.
//! - **The parent's `GET` is read only if it is the nearest found.** When its head says
//!   "there", its body is read once every nearer rank has answered without one (absent,
//!   failed or not asked; no longer than their own limits), and dropped unread (its
//!   connection closed, [`crate::store::Found::Passed`]) as soon as one has one. When CI built
//!   both revisions, what the server sent before that crosses the link for nothing: what
//!   comes until the nearer rank answers (about a round trip when its answer is as quick as
//!   the parent's, at most its limit), and no more than the sockets' buffers hold. The usual
//!   case after `git pull`, CI not yet done with the revision pulled, gets the parent's
//!   manifest one round trip sooner.
//! - **A rejected manifest is an error, never a fall back to an older build.** If the nearest
//!   manifest found is unsigned, tampered with, signed by an untrusted key or unparsable, the
//!   plan fails ([`PlanError::Signature`], [`PlanError::Manifest`], [`PlanError::Version`] for
//!   another format version): quietly using an older build would hide an attack or a broken
//!   publisher. The same holds for a download failure of the chosen manifest
//!   ([`PlanError::Fetch`]), a `GET`'s included: once its answer said the manifest is there, a
//!   body cut short, stalled or too large is that error ([`crate::store::Found::Unread`]),
//!   not an absence that would let an older build, or another store's, be taken.
//! - **No trusted key, no search.** An empty trust set would reject every manifest, so it is
//!   refused before any request ([`PlanError::NoTrust`]).
//! - Messages are complete on their own (the CLI prints the error chain with `{:#}`), so an
//!   inner error is a field of the variant and part of its message, not its `source()`.
//! - Sizes print in SI units (1 MB = 10⁶ bytes), revisions shortened to 12 digits.

use std::fmt;

use crate::ancestry::Ancestor;
use crate::build_manifest::{BuildManifest, EdgeRecord, ParseError, Reason};
use crate::published::{self, OpenError};
use crate::signing::Trust;
use crate::store::{Key, Store, StoreError};

mod probes;

use probes::{probe_all, Probe};

/// What to search: a request struct, so callers name every part.
#[derive(Clone, Copy)]
pub struct PlanRequest<'a> {
    /// The stores, in policy order (the first wins a tie).
    pub stores: &'a [Store],
    /// The build configuration, e.g. `linux64-debug`.
    pub config: &'a str,
    /// The candidate revisions, nearest first.
    pub ancestors: &'a [Ancestor],
    /// The publisher keys whose signatures are accepted.
    pub trust: &'a Trust,
    /// How many requests may be in flight at once (0 counts as 1).
    pub parallelism: usize,
    /// Whether `ancestors` is the whole history (the walk ended before its depth): then
    /// nothing lies further back, and finding no manifest is [`PlanError::NothingPublished`].
    pub whole_history: bool,
}

/// The build a fetch would use: where it is, how far back, how large.
#[derive(Debug)]
pub struct Plan {
    /// Index of the store in [`PlanRequest::stores`].
    pub store: usize,
    /// The store's URL (without the key).
    pub store_url: String,
    /// The manifest's full URL.
    pub url: String,
    /// The revision the manifest was published for.
    pub revision: String,
    /// Its distance from the working revision (see [`Ancestor::distance`]).
    pub distance: usize,
    /// The build configuration.
    pub config: String,
    /// The verified, parsed manifest.
    pub manifest: BuildManifest,
    /// Number of edge records (objects to fetch).
    pub entries: usize,
    /// Sum of the stripped object sizes, in bytes.
    pub stripped_bytes: u64,
    /// Sum of the debug bundle sizes, in bytes.
    pub debug_bytes: u64,
    /// First error of each store whose failures may have hidden a nearer manifest.
    pub probe_errors: Vec<StoreError>,
}

/// Why no plan could be made. Every message names the store or key and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The trust set is empty: every manifest would be rejected.
    #[error(
        "no trusted publisher keys; add `[trust] publishers = [\"ed25519:…\"]` to cached-ninja.toml"
    )]
    NoTrust,
    /// No store to search.
    #[error("no remote store configured; add the URL of one to cached-ninja.toml")]
    NoStores,
    /// The configuration name (or a revision) cannot be part of a store key.
    #[error("cannot search for a build manifest: {0}; fix the configuration name")]
    Key(StoreError),
    /// Every store answered, and none has a manifest for any candidate.
    #[error("{}", not_found(config, *searched, *farthest, stores, errors))]
    NotFound {
        /// The configuration.
        config: String,
        /// How many revisions were searched.
        searched: usize,
        /// Distance of the farthest one.
        farthest: usize,
        /// The URLs of the stores searched.
        stores: Vec<String>,
        /// First error of each store that failed some requests.
        errors: Vec<StoreError>,
    },
    /// Every store answered, and none has a manifest for any revision of the whole history
    /// (a first build, CI's included): nothing to fetch yet, which is no fault.
    #[error(
        "nothing published for configuration `{config}` from this history yet: none of its \
         {searched} revisions has a build manifest in {}",
        stores.join(", ")
    )]
    NothingPublished {
        /// The configuration.
        config: String,
        /// How many revisions were searched (all there are).
        searched: usize,
        /// The URLs of the stores searched.
        stores: Vec<String>,
    },
    /// No request got an answer: every store is down or unreachable.
    #[error(
        "no store answered a request for builds/{config}/…: {}; check that the stores in \
         cached-ninja.toml are up and reachable, or build without fetching",
        join(errors)
    )]
    Unreachable {
        /// The configuration.
        config: String,
        /// First error of each store.
        errors: Vec<StoreError>,
    },
    /// The chosen manifest could not be downloaded.
    #[error("cannot download the build manifest: {reason}; run again, or build without fetching")]
    Fetch {
        /// The manifest's URL.
        url: String,
        /// The store's error (it names the URL).
        reason: StoreError,
    },
    /// The chosen manifest was gone when downloaded after the search found it.
    #[error(
        "build manifest {url} disappeared after the search found it (garbage-collected?); run \
         again"
    )]
    Vanished {
        /// The manifest's URL.
        url: String,
    },
    /// The chosen manifest's signature was rejected.
    #[error(
        "build manifest {url} rejected: {reason}; no older build is tried instead: check \
         `[trust] publishers` in cached-ninja.toml, or ask the publisher to publish it again"
    )]
    Signature {
        /// The manifest's URL.
        url: String,
        /// Why (unsigned, tampered with, untrusted key, not a zstd frame, too large…).
        reason: OpenError,
    },
    /// The chosen manifest is of a format version this cached-ninja does not read.
    #[error(
        "build manifest {url} has format version {found}, this cached-ninja reads version \
         {supported} only; no older build is tried instead: upgrade whichever of this \
         cached-ninja and the publisher's is older, or build without fetching"
    )]
    Version {
        /// The manifest's URL.
        url: String,
        /// The version on its first line.
        found: u64,
        /// The version this code reads.
        supported: u64,
    },
    /// The chosen manifest is signed by a trusted key but is not a valid manifest.
    #[error(
        "build manifest {url} is signed but invalid: {reason}; no older build is tried instead: \
         ask the publisher to publish it again"
    )]
    Manifest {
        /// The manifest's URL.
        url: String,
        /// What is wrong in it.
        reason: ParseError,
    },
}

fn join(errors: &[StoreError]) -> String {
    let v: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    v.join("; ")
}

fn not_found(
    config: &str,
    searched: usize,
    farthest: usize,
    stores: &[String],
    errors: &[StoreError],
) -> String {
    let mut s = format!(
        "no build manifest for configuration `{config}` among the {searched} nearest revisions \
         (up to {farthest} commits back) in {}",
        stores.join(", ")
    );
    if !errors.is_empty() {
        s += &format!(" (some requests failed: {})", join(errors));
    }
    s + "; CI may not have built them: search further back, or build without fetching"
}

/// Finds the nearest candidate with a manifest, downloads, verifies and parses it.
pub fn find(req: &PlanRequest<'_>) -> Result<Plan, PlanError> {
    if req.trust.is_empty() {
        return Err(PlanError::NoTrust);
    }
    if req.stores.is_empty() {
        return Err(PlanError::NoStores);
    }
    let keys = req
        .ancestors
        .iter()
        .map(|a| Key::build(req.config, &a.revision))
        .collect::<Result<Vec<Key>, _>>()
        .map_err(PlanError::Key)?;
    let n = req.stores.len();
    let (best, mut probes) = probe_all(req, &keys);
    // What the hit's request found: asked with a `GET`, its bytes or why they could not be had.
    let nearest = probes.get_mut(best).and_then(|p| p.replace(Probe::Present));
    let (errors, answered) = probe_errors(probes, n, best);
    if best == usize::MAX {
        return Err(no_manifest(req, answered || keys.is_empty(), errors));
    }
    let (i, j) = (best / n, best % n);
    let (store, key, ancestor) = (&req.stores[j], &keys[i], &req.ancestors[i]);
    let url = store.url(key);
    let bytes = match nearest {
        Some(Probe::Fetched(bytes)) => bytes,
        Some(Probe::Unread(reason)) => return Err(PlanError::Fetch { url, reason }),
        // A `GET` whose head said it is there, and whose read found it gone (a `file://`
        // store).
        Some(Probe::Absent) => return Err(PlanError::Vanished { url }),
        // A `HEAD` found it (never a body passed over: that rank is not the nearest).
        _ => download_manifest(store, key, &url)?,
    };
    let manifest = open_manifest(&bytes, &url, req.trust)?;
    let sum = |f: fn(&EdgeRecord) -> u64| {
        manifest
            .records
            .iter()
            .fold(0u64, |acc, r| acc.saturating_add(f(r)))
    };
    Ok(Plan {
        store: j,
        store_url: store_url(store),
        url,
        revision: ancestor.revision.clone(),
        distance: ancestor.distance,
        config: req.config.to_string(),
        entries: manifest.records.len(),
        stripped_bytes: sum(EdgeRecord::stripped_size),
        debug_bytes: sum(EdgeRecord::debug_size),
        manifest,
        probe_errors: errors,
    })
}

/// The first error of each store whose failures matter (see [`Plan::probe_errors`]),
/// and whether any request got an answer; `best` is the rank of the hit (`usize::MAX`: none).
fn probe_errors(probes: Vec<Option<Probe>>, n: usize, best: usize) -> (Vec<StoreError>, bool) {
    // Per store: its first error, and whether a failure ranked before the hit hid something.
    let mut first_error: Vec<Option<StoreError>> = (0..n).map(|_| None).collect();
    let mut hid = vec![false; n];
    let mut answered = false;
    for (t, p) in probes.into_iter().enumerate() {
        let j = t % n;
        match p {
            Some(Probe::Failed(e)) => {
                hid[j] |= t < best;
                first_error[j].get_or_insert(e);
            }
            Some(Probe::Skipped) => hid[j] |= t < best,
            Some(
                Probe::Absent
                | Probe::Present
                | Probe::Fetched(_)
                | Probe::Unread(_)
                | Probe::Passed,
            ) => answered = true,
            None => {}
        }
    }
    // Without a hit every failure matters; with one, only those ranked before it.
    let found = best != usize::MAX;
    let errors: Vec<StoreError> = first_error
        .into_iter()
        .zip(hid)
        .filter_map(|(e, hid)| e.filter(|_| hid || !found))
        .collect();
    (errors, answered)
}

/// Why the search found no manifest: nothing published, not found, or no store answered
/// (`answered`: some store did, or there was nothing to ask).
fn no_manifest(req: &PlanRequest<'_>, answered: bool, errors: Vec<StoreError>) -> PlanError {
    if answered && req.whole_history && errors.is_empty() {
        PlanError::NothingPublished {
            config: req.config.to_string(),
            searched: req.ancestors.len(),
            stores: req.stores.iter().map(searched_url).collect(),
        }
    } else if answered {
        PlanError::NotFound {
            config: req.config.to_string(),
            searched: req.ancestors.len(),
            farthest: req.ancestors.iter().map(|a| a.distance).max().unwrap_or(0),
            stores: req.stores.iter().map(store_url).collect(),
            errors,
        }
    } else {
        PlanError::Unreachable {
            config: req.config.to_string(),
            errors,
        }
    }
}

/// Downloads the manifest at `key` in `store` (its URL `url`), which a `HEAD` found.
fn download_manifest(store: &Store, key: &Key, url: &str) -> Result<Vec<u8>, PlanError> {
    let url = url.to_string();
    match store.get(key) {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(PlanError::Vanished { url }),
        Err(reason) => Err(PlanError::Fetch { url, reason }),
    }
}

/// Checks the signature of the manifest `bytes` (from `url`) against `trust` and parses it.
fn open_manifest(bytes: &[u8], url: &str, trust: &Trust) -> Result<BuildManifest, PlanError> {
    let url = url.to_string();
    let payload = match published::open(bytes, trust, published::MAX_MANIFEST) {
        Ok(p) => p,
        Err(reason) => return Err(PlanError::Signature { url, reason }),
    };
    let manifest = match BuildManifest::parse(&payload) {
        Ok(m) => m,
        Err(ParseError {
            reason: Reason::UnsupportedVersion { found, supported },
            ..
        }) => {
            return Err(PlanError::Version {
                url,
                found,
                supported,
            })
        }
        Err(reason) => return Err(PlanError::Manifest { url, reason }),
    };
    Ok(manifest)
}

/// The store's URL without a key (its `url` of any key, minus the key).
fn store_url(store: &Store) -> String {
    let key = Key::build("x", "x").expect("valid key");
    let url = store.url(&key);
    let base = url.strip_suffix(key.as_str()).unwrap_or(&url);
    base.trim_end_matches('/').to_string()
}

/// [`store_url`], and for a `file://` store whose directory does not exist, that (a mistyped
/// path reads as a store with nothing published).
fn searched_url(store: &Store) -> String {
    let url = store_url(store);
    match url.strip_prefix("file://") {
        Some(dir) if !std::path::Path::new(dir).is_dir() => {
            format!("{url} (no such directory)")
        }
        _ => url,
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.revision.get(..12).unwrap_or(&self.revision);
        let ellipsis = if short.len() < self.revision.len() {
            "…"
        } else {
            ""
        };
        let back = match self.distance {
            0 => "the working revision".to_string(),
            1 => "1 commit back".to_string(),
            d => format!("{d} commits back"),
        };
        write!(
            f,
            "ancestor {short}{ellipsis} ({back}) on {}: config {}, {} entries, {} stripped / {} debug",
            self.store_url,
            self.config,
            self.entries,
            human_bytes(self.stripped_bytes),
            human_bytes(self.debug_bytes)
        )
    }
}

/// `999 B`, `3.1 MB`, `12.0 GB`: SI units, one decimal.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}
