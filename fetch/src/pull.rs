//! Pulling a build manifest's records into the local cache (DESIGN §1 step 2, §4).
//!
//! The manifest was verified as a whole (its signature, [`crate::plan`]), and each record
//! holds everything an edge's action entry holds ([`EdgeRecord::to_entry`]), so no entry is
//! asked of the store: for each record, wanted keys first, then in the prefetch order the
//! caller gives ([`PullOptions::order`]; by default the **reverse** of the build order, so the
//! download and a build running forward meet in the middle; [`crate::dispatch`] hands the
//! records out), every blob it names that the local cache lacks is downloaded directly (hash
//! verified after decompression, size checked against the record) and inserted, then the
//! entry made from the record. Each insert is atomic and the entry goes in only after its
//! blobs, so a launcher racing with the pull sees either a complete hit or a miss, and a
//! failure leaves nothing half written. One request per blob, none per entry.
//!
//! **Objects first** (DESIGN §6): with [`PullOptions::debug_parts`] off (what a build does) the
//! debug outputs of a record (`.dwo`, debug bundles) are not downloaded; the entry is still
//! inserted, so a launcher hits and serves the object, and `dbgfetch fill` gets the debug
//! parts from the store after the link. Their sizes are reported in [`PullReport::debug_left`].
//!
//! **Sharing a cache**: each blob is brought by [`crate::download::blob`], under a claim in
//! the local cache, so pulls of several object directories sharing one cache download it once
//! (the others wait, bounded, then find it); a download cut short leaves its bytes for the next
//! pull, which asks for the rest. A pull starts by pruning old partial downloads
//! ([`LocalCache::prune_partials`]).
//!
//! **What not to fetch**: a blob already in the local cache is not downloaded again, and
//! records [`PullOptions::skip`] names (their source changed here, so no launcher will ask
//! for them) are not prefetched; a launcher that wants one still gets it.
//!
//! Beside the first downloads, before the launchers are told the pull runs, the caller has
//! [`record_include_sets`] add the include set of every record to its source key's include
//! manifest, so a launcher that misses knows its action key at once and can ask for it
//! ([`crate::want`]); wanted keys are pulled first. A [`RecordHook`] does the caller's work
//! per record beside its download (the engine's first checks of the lookup rule).
//! Headers the caller found unchanged here ([`KnownStamps`]) are recorded with their stat
//! stamps, so each launcher checks them with a `stat` instead of reading and hashing them.
//!
//! A bad record (a blob missing, corrupt or of another size than the record's) is reported in
//! [`PullReport::failed`] and skipped: that edge compiles locally. A store whose breaker trips
//! (a hard failure, [`StoreError::is_hard`]) stops the pull ([`PullReport::stopped`]) instead
//! of paying for it once per record; so does a local cache with no room for what it brings
//! ([`crate::cache::no_room`]), which would only be downloaded for nothing. Work runs on
//! `jobs` threads (the store is blocking, see [`crate::store`]), each with one request in
//! flight.

use crate::build_manifest::{BuildManifest, EdgeRecord};
use crate::cache::{Digest, IncludeFile, IncludeSet, Kind, LocalCache, StatStamp};
use crate::download;
use crate::parallel;
use crate::store::{Store, StoreError};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why one record could not be pulled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// The store failed or refused (includes corrupt and oversized blobs).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blob the record names is not in the store.
    #[error("{url}: not in the store")]
    Missing {
        /// URL of the blob.
        url: String,
    },
    /// A blob does not match its build manifest record.
    #[error("{url}: does not match the build manifest: {what}")]
    Mismatch {
        /// URL of the blob.
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
    /// Records not prefetched because [`PullOptions::skip`] names them.
    pub skipped: usize,
    /// Bytes of blobs downloaded (uncompressed).
    pub bytes: u64,
    /// Bytes of debug parts of the entries inserted that were left in the store (objects
    /// first: `dbgfetch fill` brings them after the link).
    pub debug_left: u64,
    /// Records that failed, each compiled locally later.
    pub failed: Vec<PullFailure>,
    /// Set when the store became unreachable, or the local cache had no room, and the pull
    /// stopped early: the reason.
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
    /// The record (an index into the manifest's records) whose entry this step put in the
    /// local cache or found there; `None` when it failed.
    pub entry: Option<usize>,
}

/// Most requests a pull keeps in flight (one blocking thread each).
pub const MAX_IN_FLIGHT: usize = 256;

/// How a pull runs.
#[derive(Clone, Copy)]
pub struct PullOptions<'a> {
    /// Requests in flight (worker threads), at most [`MAX_IN_FLIGHT`].
    pub jobs: usize,
    /// Set when the build it raced with is done: no new record is started.
    pub cancel: &'a AtomicBool,
    /// Where launchers ask for the keys they wait on ([`crate::want`]): taken first.
    pub wants: Option<&'a dyn crate::want::PullLink>,
    /// Download the debug parts too; off, only what the linker needs (objects first, DESIGN §6).
    pub debug_parts: bool,
    /// Action keys of records not to prefetch (their source changed here); served when wanted.
    pub skip: Option<&'a HashSet<Digest>>,
    /// The prefetch order after the wanted keys, as record indices (`engine::order`); `None`:
    /// reverse build order; empty: nothing but wanted keys (on-demand only).
    pub order: Option<&'a [usize]>,
    /// Work of the caller's per record, beside its download ([`RecordHook`]).
    pub hook: Option<&'a dyn RecordHook>,
}

/// What the caller of [`pull`] does for each record beside its download: told when the
/// download starts, and asked before the record's entry goes in (a launcher finding the entry
/// then finds what the hook wrote too). It must return soon (a bounded wait at most).
pub trait RecordHook: Sync {
    /// The download of record `i` (an index into the manifest's records) starts.
    fn started(&self, i: usize);
    /// Record `i`'s blobs are in; its entry goes in when this returns.
    fn before_entry(&self, i: usize);
}

/// Headers as they are here now, by normalised path (as include sets name them): the digest
/// of their bytes and their settled stat stamp.
#[derive(Debug, Default)]
pub struct KnownStamps(pub HashMap<String, (Digest, StatStamp)>);

impl KnownStamps {
    /// The stamp to record for `path` in an include set that expects `digest`: the known one
    /// when the file here has that digest.
    fn stamp(&self, path: &str, digest: &Digest) -> Option<StatStamp> {
        self.0
            .get(path)
            .filter(|(d, _)| d == digest)
            .map(|(_, s)| *s)
    }
}

/// Adds every record's include set to its source key's include manifest in `cache` (local
/// writes only), so that direct mode knows each action key before its entry arrives and a
/// launcher can ask for it; a header `known` has with the set's digest gets its stamp. Run it
/// before launchers are told a pull runs (beside [`pull`]'s first downloads, which need no
/// include set). It stops at the first write that fails and returns that error.
pub fn record_include_sets(
    cache: &LocalCache,
    manifest: &BuildManifest,
    jobs: usize,
    known: &KnownStamps,
) -> io::Result<()> {
    let jobs = jobs.clamp(1, 64);
    parallel::map_slice(&manifest.records, jobs, None, |_, r| {
        remember(cache, r, known)
    })?;
    Ok(())
}

/// Pulls `manifest`'s entries from `store` into `cache`, wanted ones first, the rest in the
/// prefetch order of `opts` ([`record_include_sets`] before launchers ask; [`crate::dispatch`]
/// schedules).
pub fn pull(
    store: &Store,
    cache: &LocalCache,
    manifest: &BuildManifest,
    opts: PullOptions<'_>,
    progress: &(dyn Fn(PullProgress) + Sync),
) -> PullReport {
    cache.prune_partials();
    let records = &manifest.records;
    let run = PullRun {
        store,
        cache,
        records,
        opts,
        progress,
        done: AtomicUsize::new(0),
        bytes: AtomicU64::new(0),
        debug_left: AtomicU64::new(0),
        report: Mutex::new(PullReport::default()),
    };
    let order = prefetch_order(records.len(), opts.order);
    // Records whose source changed here are left out of the prefetch (counted); a launcher
    // that still wants one is served.
    let (order, skipped) = without_skipped(order, records, opts.skip);
    let sizes = download_sizes(records, opts.debug_parts);
    crate::dispatch::Dispatch {
        records,
        sizes: &sizes,
        order: &order,
        link: opts.wants,
        jobs: opts.jobs.clamp(1, MAX_IN_FLIGHT),
        cancel: opts.cancel,
        downloaded: &run.bytes,
        left_out: skipped,
    }
    .run(|i| run.pull_record(i));
    run.into_report(skipped)
}

/// The prefetch order asked for: `order`, or by default the reverse of the build order.
fn prefetch_order(total: usize, order: Option<&[usize]>) -> Cow<'_, [usize]> {
    match order {
        Some(o) => Cow::Borrowed(o),
        None => Cow::Owned((0..total).rev().collect()),
    }
}

/// `order` without the records whose action key `skip` names, and how many those were.
fn without_skipped<'o>(
    order: Cow<'o, [usize]>,
    records: &[EdgeRecord],
    skip: Option<&HashSet<Digest>>,
) -> (Cow<'o, [usize]>, usize) {
    match skip {
        Some(s) if !s.is_empty() => {
            let mut skipped = 0;
            let kept = order
                .iter()
                .copied()
                .filter(|&i| {
                    let out = s.contains(&records[i].action_key);
                    if out {
                        skipped += 1;
                    }
                    !out
                })
                .collect();
            (Cow::Owned(kept), skipped)
        }
        _ => (order, 0),
    }
}

/// One pull under way: its inputs, its counters and its report, shared by the workers.
struct PullRun<'a> {
    /// Where the records come from.
    store: &'a Store,
    /// Where they go.
    cache: &'a LocalCache,
    /// The manifest's records.
    records: &'a [EdgeRecord],
    /// How to pull.
    opts: PullOptions<'a>,
    /// Told after each record.
    progress: &'a (dyn Fn(PullProgress) + Sync),
    /// Records handled.
    done: AtomicUsize,
    /// Bytes downloaded.
    bytes: AtomicU64,
    /// Bytes of debug parts left in the store.
    debug_left: AtomicU64,
    /// What the workers found so far.
    report: Mutex<PullReport>,
}

impl PullRun<'_> {
    /// Pulls record `i` and reports it: `Ok(Some(t))` downloaded in `t`, `Err(())` the store
    /// is gone (already in the report).
    fn pull_record(&self, i: usize) -> crate::dispatch::Done {
        let rec = &self.records[i];
        let counts = Counts {
            bytes: &self.bytes,
            debug_left: &self.debug_left,
        };
        let hook = self.opts.hook;
        if let Some(hook) = hook {
            hook.started(i);
        }
        let before_entry = || {
            if let Some(hook) = hook {
                hook.before_entry(i);
            }
        };
        let r = pull_one(
            self.store,
            self.cache,
            rec,
            &counts,
            &self.opts,
            before_entry,
        );
        let entry = r.is_ok().then_some(i);
        let Some(done) = self.tally(rec, r) else {
            return Ok(None);
        };
        (self.progress)(PullProgress {
            done: self.done.fetch_add(1, Ordering::Relaxed) + 1,
            total: self.records.len(),
            bytes: self.bytes.load(Ordering::Relaxed),
            entry,
        });
        done
    }

    /// Adds what pulling `rec` gave to the report: what the dispatcher is told, `None` when
    /// the pull was cancelled.
    fn tally(
        &self,
        rec: &EdgeRecord,
        r: Result<Pulled, PullError>,
    ) -> Option<crate::dispatch::Done> {
        let mut rep = self.report.lock().unwrap();
        match r {
            Ok(Pulled::Inserted { took }) => {
                rep.fetched += 1;
                Some(Ok(took))
            }
            Ok(Pulled::Present) => {
                rep.present += 1;
                Some(Ok(None))
            }
            // Only when `opts.cancel` is set: the loop ends before the next record.
            Err(PullError::Cancelled) => None,
            Err(error) => {
                // What every record after this one would meet too: stop.
                let gone = match &error {
                    PullError::Store(e) => e.is_hard(),
                    PullError::Local { source, .. } => crate::cache::no_room(source),
                    _ => false,
                };
                if gone {
                    rep.stopped.get_or_insert_with(|| error.to_string());
                }
                if let Some(link) = self.opts.wants {
                    link.give_up(&rec.action_key);
                }
                rep.failed.push(PullFailure {
                    output: rec.output().to_string(),
                    error,
                });
                Some(if gone { Err(()) } else { Ok(None) })
            }
        }
    }

    /// The report of the finished pull, with `skipped` records left out of the prefetch.
    fn into_report(self, skipped: usize) -> PullReport {
        let mut rep = self.report.into_inner().unwrap();
        rep.bytes = self.bytes.into_inner();
        rep.debug_left = self.debug_left.into_inner();
        rep.skipped = skipped;
        rep
    }
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

/// The blobs of `rec` a pull downloads, as (digest, size): every output and the captured
/// streams, without the debug outputs unless `debug_parts`.
fn to_download(rec: &EdgeRecord, debug_parts: bool) -> Vec<(Digest, u64)> {
    let mut v: Vec<(Digest, u64)> = rec
        .outputs
        .iter()
        .filter(|o| debug_parts || !o.role.is_debug())
        .map(|o| (o.digest, o.size))
        .collect();
    v.extend(rec.stdout.iter().chain(rec.stderr.iter()).copied());
    v
}

/// What [`pull_one`] did with a record.
enum Pulled {
    /// Its entry and the blobs to download were already here.
    Present,
    /// Its entry went in; `took`: how long its downloads took, when a blob came from the store
    /// (a record whose blobs were all here already says nothing about the link: timed, it
    /// made the link's latency about 0 and its window in flight the smallest).
    Inserted { took: Option<Duration> },
}

/// Pulls one record: its blobs not here yet, then (after `before_entry`) its entry, made from
/// the verified record.
fn pull_one(
    store: &Store,
    cache: &LocalCache,
    rec: &EdgeRecord,
    counts: &Counts<'_>,
    opts: &PullOptions<'_>,
    before_entry: impl FnOnce(),
) -> Result<Pulled, PullError> {
    let local = |source: io::Error| PullError::Local {
        path: cache.root().display().to_string(),
        source,
    };
    let mut missing = to_download(rec, opts.debug_parts);
    missing.retain(|(d, _)| !cache.path(Kind::Blob, d).exists());
    // Eviction is per file: the entry may have outlived a blob.
    if missing.is_empty() && matches!(cache.get_action(&rec.action_key), Ok(Some(_))) {
        return Ok(Pulled::Present);
    }
    // All of the record's blobs are verified before any goes in: a record that fails leaves
    // nothing of its edge in the cache. Each is downloaded under its claim in the cache (taken
    // in digest order), so a pull sharing this cache waits for it instead of downloading it too
    // (and `download::blob` looks again once it holds the claim).
    missing.sort_unstable();
    let mut arrived = Vec::new();
    let start = Instant::now();
    for (d, size) in missing {
        if opts.cancel.load(Ordering::Relaxed) {
            return Err(PullError::Cancelled);
        }
        arrived.push(download::blob(store, cache, &d, size, opts.cancel)?);
    }
    let took = arrived
        .iter()
        .any(download::Fetched::downloaded)
        .then(|| start.elapsed());
    // Cancelled during the downloads (the build ended): nothing goes in, so a build that
    // exits right after (its pull abandoned) leaves no insert half done in the cache's `tmp/`;
    // what was downloaded stays in `tmp/partial/` for the next pull.
    if opts.cancel.load(Ordering::Relaxed) {
        return Err(PullError::Cancelled);
    }
    for blob in arrived {
        let n = blob.insert(cache).map_err(local)?;
        counts.bytes.fetch_add(n, Ordering::Relaxed);
    }
    if !opts.debug_parts {
        let left = rec.outputs.iter().filter(|o| o.role.is_debug());
        let left: u64 = left.map(|o| o.size).sum();
        counts.debug_left.fetch_add(left, Ordering::Relaxed);
    }
    // Last: a launcher racing with the pull sees a complete hit or a miss.
    before_entry();
    cache
        .put_action(&rec.action_key, &rec.to_entry())
        .map_err(local)?;
    Ok(Pulled::Inserted { took })
}

/// Adds the record's include set to the source key's include manifest (direct mode then finds
/// the entry without a preprocessor run, DESIGN §3).
fn remember(cache: &LocalCache, rec: &EdgeRecord, known: &KnownStamps) -> io::Result<()> {
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
                stamp: known.stamp(&i.path, &i.digest),
            })
            .collect(),
    });
    cache.put_manifest(&rec.source_key, &m)
}
