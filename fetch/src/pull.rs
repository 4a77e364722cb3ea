//! Pulling a build manifest's entries into the local cache (DESIGN §1 step 2, §4).
//!
//! For each record, wanted keys first, then in the prefetch order the caller gives
//! ([`PullOptions::order`]; by default the **reverse** of the build order, so the download and a
//! build running forward meet in the middle; [`crate::dispatch`] hands the records out): the signed action entry `ac/<action key>` is fetched and
//! verified against the trust set, checked against the record (source key, include list, and
//! each output's role, path, digest and size, every path inside the object root: see
//! [`EdgeRecord::check_entry`]), every blob it names is downloaded (hash verified after
//! decompression, capped at the declared size) and inserted, then the entry, then the include
//! set of the record is added to the source key's include manifest. Each insert is atomic and
//! the entry goes in only after its blobs, so a launcher racing with the pull sees either a
//! complete hit or a miss, and a failure leaves nothing half written.
//!
//! **Objects first** (DESIGN §6): with [`PullOptions::debug_parts`] off (what a build does) the
//! debug outputs of an entry (`.dwo`, debug bundles) are not downloaded; the verified entry is
//! still inserted, so a launcher hits and serves the object, and `dbgfetch fill` gets the debug
//! parts from the store after the link. Their sizes are reported in [`PullReport::debug_left`].
//!
//! Before any download (and before the build starts), [`record_include_sets`] adds the include
//! set of every record to its source key's include manifest, so a launcher that misses knows
//! its action key at once and can ask for it ([`crate::want`]); wanted keys are pulled first.
//!
//! A bad record (missing, unsigned, tampered, foreign-signed, hostile path, wrong hash, too
//! large) is reported in [`PullReport::failed`] and skipped: that edge compiles locally. A
//! store whose breaker trips (a hard failure, [`StoreError::is_hard`]) stops the pull
//! ([`PullReport::stopped`]) instead of paying for it once per record. Work runs on `jobs` threads (the store is
//! blocking, see [`crate::store`]).

use crate::build_manifest::{check_output_path, BuildManifest, EdgeRecord, Reason};
use crate::cache::{ActionEntry, Digest, IncludeFile, IncludeSet, Kind, LocalCache};
use crate::parallel;
use crate::published::{open, OpenError, MAX_ENTRY};
use crate::signing::Trust;
use crate::store::{Key, Store, StoreError};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Why one record could not be pulled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// The store failed or refused (includes corrupt and oversized blobs).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The entry is not in the store.
    #[error("{url}: not in the store")]
    Missing {
        /// URL of the entry or blob.
        url: String,
    },
    /// The entry's signature or its compressed payload was rejected.
    #[error("{url}: {source}")]
    Rejected {
        /// URL of the entry.
        url: String,
        /// Why.
        source: OpenError,
    },
    /// The entry could not be decoded.
    #[error("{url}: not a valid action entry: {reason}")]
    BadEntry {
        /// URL of the entry.
        url: String,
        /// Why.
        reason: String,
    },
    /// The entry names a path outside the object root.
    #[error("{url}: {source}")]
    BadPath {
        /// URL of the entry.
        url: String,
        /// Why.
        source: Reason,
    },
    /// The entry does not match its build manifest record.
    #[error("{url}: does not match the build manifest: {what}")]
    Mismatch {
        /// URL of the entry (or blob).
        url: String,
        /// What differs (it names the output when one does).
        what: String,
    },
    /// The pull was cancelled (the build ended or was interrupted) before this record was done.
    #[error("cancelled")]
    Cancelled,
    /// Writing the local cache failed.
    #[error("local cache {path}: {source}")]
    Local {
        /// The cache root.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// One record that was not pulled.
#[derive(Debug)]
pub struct PullFailure {
    /// The record's output path.
    pub output: String,
    /// Why.
    pub error: PullError,
}

/// What a pull did.
#[derive(Debug, Default)]
pub struct PullReport {
    /// Records whose entry was downloaded and inserted.
    pub fetched: usize,
    /// Records whose entry was already in the local cache.
    pub present: usize,
    /// Bytes of blobs downloaded (uncompressed).
    pub bytes: u64,
    /// Bytes of debug parts of the entries inserted that were left in the store (objects
    /// first: `dbgfetch fill` brings them after the link).
    pub debug_left: u64,
    /// Records that failed, each compiled locally later.
    pub failed: Vec<PullFailure>,
    /// Set when the store became unreachable and the pull stopped early: the reason.
    pub stopped: Option<String>,
}

/// Progress of a pull, for a display.
#[derive(Clone, Copy, Debug)]
pub struct PullProgress {
    /// Records handled (fetched, present or failed).
    pub done: usize,
    /// Records in the manifest.
    pub total: usize,
    /// Bytes downloaded so far.
    pub bytes: u64,
}

/// How a pull runs.
#[derive(Clone, Copy)]
pub struct PullOptions<'a> {
    /// Worker threads (parallel requests).
    pub jobs: usize,
    /// Set when the build it raced with is done: no new record is started.
    pub cancel: &'a AtomicBool,
    /// Where launchers ask for the keys they wait on ([`crate::want`]): taken first.
    pub wants: Option<&'a dyn crate::want::PullLink>,
    /// Download the debug parts too; off, only what the linker needs (objects first, DESIGN §6).
    pub debug_parts: bool,
    /// The prefetch order after the wanted keys, as record indices (`engine::order`); `None`:
    /// reverse build order; empty: nothing but wanted keys (on-demand only).
    pub order: Option<&'a [usize]>,
}

/// Adds every record's include set to its source key's include manifest in `cache` (local
/// writes only), so that direct mode knows each action key before its entry arrives and a
/// launcher can ask for it. Run it before [`pull`] and before the build starts. It stops at
/// the first write that fails and returns that error.
pub fn record_include_sets(
    cache: &LocalCache,
    manifest: &BuildManifest,
    jobs: usize,
) -> io::Result<()> {
    let jobs = jobs.clamp(1, 64);
    parallel::map_slice(&manifest.records, jobs, None, |_, r| remember(cache, r))?;
    Ok(())
}

/// Pulls `manifest`'s entries from `store` into `cache`, wanted ones first, the rest in the
/// prefetch order of `opts` ([`record_include_sets`] first; [`crate::dispatch`] schedules).
pub fn pull(
    store: &Store,
    cache: &LocalCache,
    manifest: &BuildManifest,
    trust: &Trust,
    opts: PullOptions<'_>,
    progress: &(dyn Fn(PullProgress) + Sync),
) -> PullReport {
    let records = &manifest.records;
    let total = records.len();
    let done = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let debug_left = AtomicU64::new(0);
    let report = Mutex::new(PullReport::default());
    // `Ok(true)`: downloaded; `Err(())`: the store is gone (already in the report).
    let one = |i: usize| -> crate::dispatch::Done {
        let rec = &records[i];
        let counts = Counts {
            bytes: &bytes,
            debug_left: &debug_left,
        };
        let r = pull_one(store, cache, rec, trust, &counts, &opts);
        let mut rep = report.lock().unwrap();
        let mut gone = false;
        let mut fetched = false;
        match r {
            Ok(true) => {
                rep.fetched += 1;
                fetched = true;
            }
            Ok(false) => rep.present += 1,
            // Only when `opts.cancel` is set: the loop ends before the next record.
            Err(PullError::Cancelled) => return Ok(false),
            Err(error) => {
                if let PullError::Store(e) = &error {
                    if e.is_hard() {
                        gone = true;
                        rep.stopped.get_or_insert_with(|| e.to_string());
                    }
                }
                if let Some(link) = opts.wants {
                    link.give_up(&rec.action_key);
                }
                rep.failed.push(PullFailure {
                    output: rec.output().to_string(),
                    error,
                });
            }
        }
        drop(rep);
        progress(PullProgress {
            done: done.fetch_add(1, Ordering::Relaxed) + 1,
            total,
            bytes: bytes.load(Ordering::Relaxed),
        });
        if gone {
            return Err(());
        }
        Ok(fetched)
    };
    let reverse: Vec<usize>;
    let order = match opts.order {
        Some(o) => o,
        None => {
            reverse = (0..total).rev().collect();
            &reverse
        }
    };
    let sizes = download_sizes(records, opts.debug_parts);
    crate::dispatch::Dispatch {
        records,
        sizes: &sizes,
        order,
        link: opts.wants,
        jobs: opts.jobs,
        cancel: opts.cancel,
        downloaded: &bytes,
    }
    .run(one);
    let mut rep = report.into_inner().unwrap();
    rep.bytes = bytes.into_inner();
    rep.debug_left = debug_left.into_inner();
    rep
}

/// Bytes each record's pull downloads (uncompressed, as [`PullReport::bytes`] counts them).
pub fn download_sizes(records: &[EdgeRecord], debug_parts: bool) -> Vec<u64> {
    let size = |r: &EdgeRecord| r.stripped_size() + if debug_parts { r.debug_size() } else { 0 };
    records.iter().map(size).collect()
}

/// The byte counters of a pull.
struct Counts<'a> {
    bytes: &'a AtomicU64,
    debug_left: &'a AtomicU64,
}

/// The blobs of `e` a pull downloads, as (digest, size): every output and the captured
/// streams, without the debug outputs unless `debug_parts`.
fn to_download(e: &ActionEntry, debug_parts: bool) -> Vec<(Digest, u64)> {
    let mut v: Vec<(Digest, u64)> = e
        .outputs
        .iter()
        .filter(|o| debug_parts || !o.role.is_debug())
        .map(|o| (o.digest, o.size))
        .collect();
    v.extend(e.stdout.iter().chain(e.stderr.iter()).copied());
    v
}

/// Pulls one record; `Ok(false)` when its entry and the blobs to download were already here.
fn pull_one(
    store: &Store,
    cache: &LocalCache,
    rec: &EdgeRecord,
    trust: &Trust,
    counts: &Counts<'_>,
    opts: &PullOptions<'_>,
) -> Result<bool, PullError> {
    let local = |source: io::Error| PullError::Local {
        path: cache.root().display().to_string(),
        source,
    };
    if let Ok(Some(e)) = cache.get_action(&rec.action_key) {
        // Eviction is per file: the entry may have outlived a blob.
        if to_download(&e, opts.debug_parts)
            .iter()
            .all(|(d, _)| cache.path(Kind::Blob, d).exists())
        {
            return Ok(false);
        }
    }
    let key = Key::action(&rec.action_key.to_hex())?;
    let url = store.url(&key);
    let envelope = store
        .get_limited(&key, MAX_ENTRY_ON_THE_WIRE)?
        .ok_or(PullError::Missing { url: url.clone() })?;
    let payload = open(&envelope, trust, MAX_ENTRY).map_err(|source| PullError::Rejected {
        url: url.clone(),
        source,
    })?;
    let entry = ActionEntry::decode(&payload).map_err(|reason| PullError::BadEntry {
        url: url.clone(),
        reason,
    })?;
    check(&entry, rec).map_err(|e| match e {
        Check::Path(source) => PullError::BadPath {
            url: url.clone(),
            source,
        },
        Check::Mismatch(what) => PullError::Mismatch {
            url: url.clone(),
            what,
        },
    })?;
    for (d, size) in to_download(&entry, opts.debug_parts) {
        if opts.cancel.load(Ordering::Relaxed) {
            return Err(PullError::Cancelled);
        }
        if cache.path(Kind::Blob, &d).exists() {
            continue;
        }
        let blob = store
            .get_blob(&d, size)?
            .ok_or_else(|| PullError::Missing {
                url: store.url(&Key::blob(&d)),
            })?;
        if blob.len() as u64 != size {
            return Err(PullError::Mismatch {
                url: store.url(&Key::blob(&d)),
                what: "blob size differs from the entry's".into(),
            });
        }
        cache.put_blob(&blob).map_err(local)?;
        counts.bytes.fetch_add(size, Ordering::Relaxed);
    }
    if !opts.debug_parts {
        let left = entry.outputs.iter().filter(|o| o.role.is_debug());
        let left: u64 = left.map(|o| o.size).sum();
        counts.debug_left.fetch_add(left, Ordering::Relaxed);
    }
    cache.put_action(&rec.action_key, &entry).map_err(local)?;
    Ok(true)
}

/// Largest signed, compressed action entry a pull downloads (they are a few kB; a TU with
/// thousands of includes stays well under this). It also bounds the request's timeout.
const MAX_ENTRY_ON_THE_WIRE: u64 = 1 << 20;

/// Largest captured stdout or stderr of a compile that a pull accepts.
const MAX_CAPTURED_OUTPUT: u64 = 64 << 20;

enum Check {
    Path(Reason),
    Mismatch(String),
}

/// Checks an entry from the store against its (verified) manifest record.
fn check(e: &ActionEntry, rec: &EdgeRecord) -> Result<(), Check> {
    for o in &e.outputs {
        check_output_path(&o.path).map_err(Check::Path)?;
    }
    let max = crate::build_manifest::Limits::default().max_object_size;
    if e.outputs.iter().any(|o| o.size > max) {
        return Err(Check::Mismatch("an output is larger than 64 GiB".into()));
    }
    if [e.stdout, e.stderr]
        .iter()
        .flatten()
        .any(|(_, n)| *n > MAX_CAPTURED_OUTPUT)
    {
        return Err(Check::Mismatch(
            "captured compiler output over 64 MiB".into(),
        ));
    }
    // The record publish would write for this entry must be the one that came with it.
    rec.check_entry(e)
        .map_err(|e| Check::Mismatch(e.to_string()))
}

/// Adds the record's include set to the source key's include manifest (direct mode then finds
/// the entry without a preprocessor run, DESIGN §3).
fn remember(cache: &LocalCache, rec: &EdgeRecord) -> io::Result<()> {
    let mut m = cache
        .get_manifest(&rec.source_key)
        .ok()
        .flatten()
        .unwrap_or_default();
    if m.sets.iter().any(|s| s.action_key == rec.action_key) {
        return Ok(());
    }
    m.add_front(IncludeSet {
        action_key: rec.action_key,
        files: rec
            .includes
            .iter()
            .map(|i| IncludeFile {
                path: i.path.clone(),
                digest: i.digest,
                stamp: None,
            })
            .collect(),
    });
    cache.put_manifest(&rec.source_key, &m)
}
