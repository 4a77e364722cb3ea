//! Publishing a build (what CI runs, DESIGN §1, §4): every blob and action entry the build
//! used, then, last, the signed build manifest of its revision and configuration.
//!
//! The input is the object root's action log ([`crate::action_log`]): the action keys of the
//! compiles in the order they finished, which becomes the manifest's build order. For each main
//! output path ([`EdgeRecord::output`]) only the last action is kept, and only if that output is
//! the file the object root holds now, byte for byte: the log spans incremental builds, so an
//! unchanged edge's action from an earlier build is still there, and an edited file's older
//! actions are stale. Entries and blobs are read from the local cache (verified), blobs go up
//! as zstd frames unless a `HEAD` finds them already there, entries go to `ac/<action key>`
//! compressed and signed ([`crate::published`]), and the manifest is written only after
//! everything it names is in the store, so a client never sees a manifest with holes. Each
//! record lists every output of its entry ([`EdgeRecord::of_entry`]).
//!
//! A debug part (`.dwo`, debug bundle) that is neither in the local cache nor in the object
//! root (a machine that hit on objects only, DESIGN §6) is asked of the store with a `HEAD`:
//! present there, the entry is published and counted in [`PublishReport::debug_in_store`];
//! absent, the entry is stale like any other whose blob is gone.
//!
//! An edge with no output, or with an output outside the object root, cannot be named by a
//! manifest (DESIGN §4): it is skipped and listed in [`PublishReport::skipped`].
//! Uploads run on `jobs` threads ([`crate::parallel`]; the store is blocking, see
//! [`crate::store`]).

use crate::build_manifest::{BuildManifest, EdgeRecord, ParseError};
use crate::cache::{ActionEntry, CacheError, Digest, Kind, LocalCache, Role};
use crate::parallel;
use crate::published::seal;
use crate::signing::KeyPair;
use crate::store::{Key, Store, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What to publish under.
#[derive(Clone, Copy, Debug)]
pub struct PublishTarget<'a> {
    /// Configuration name (`builds/<config>/…`).
    pub config: &'a str,
    /// Revision id (`builds/…/<revision>`).
    pub revision: &'a str,
    /// Upload threads.
    pub jobs: usize,
    /// The object root the build wrote: only actions whose object is there, byte for byte,
    /// are published (an older action of the log, or a file rebuilt since, is stale).
    pub obj_root: &'a Path,
    /// The digest of the whole object a debug bundle blob completes, `None` for any other
    /// blob (the caller reads the bundle's header: `splitdwarf::bundle_info`). An entry stored
    /// as stripped object + bundle is current when the object root holds that whole object,
    /// which is what the compile left there.
    pub whole_object: fn(&[u8]) -> Option<Digest>,
}

/// What a publish did.
#[derive(Clone, Debug, Default)]
pub struct PublishReport {
    /// Edge records in the manifest.
    pub records: usize,
    /// Blobs the records name (objects, debug files, captured output).
    pub blobs: usize,
    /// Their total size in bytes, uncompressed.
    pub blob_bytes: u64,
    /// Edges left out, with the reason.
    pub skipped: Vec<String>,
    /// Actions of the log that are stale: their object is no longer the one in the object
    /// root, or their entry is no longer in the local cache.
    pub stale: usize,
    /// URL of the build manifest written.
    pub manifest_url: String,
    /// The action keys of the records, in build order.
    pub actions: Vec<Digest>,
    /// Debug parts absent here (never pulled: objects first) but already in the store.
    pub debug_in_store: usize,
}

/// Why a publish failed (nothing after the failure was uploaded, and no manifest).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The action log names no compile that can be published.
    #[error("nothing to publish: the build's action log names no compile; build first (`cached-ninja build`)")]
    Empty,
    /// A blob of the build is corrupt in the local cache (it was removed: publish again).
    #[error("{0}; it was removed from the cache: publish again (that edge is then left out, or rebuilt)")]
    Local(#[from] CacheError),
    /// An upload failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The manifest could not be written (a record failed its checks).
    #[error(transparent)]
    Manifest(#[from] ParseError),
}

/// The entries whose object is, byte for byte, the file at its path in the object root
/// (hashed on `target.jobs` threads), in their order.
fn current_only(cache: &LocalCache, chosen: Vec<Chosen>, target: PublishTarget<'_>) -> Vec<Chosen> {
    let keep = parallel::map_slice(&chosen, target.jobs.clamp(1, 64), None, |_, (_, e, rec)| {
        let object = e.outputs.iter().find(|o| o.path == rec.output());
        let on_disk = std::fs::read(target.obj_root.join(rec.output()));
        Ok(match (object, on_disk) {
            (Some(o), Ok(bytes)) if bytes.len() as u64 == o.size => Digest::of(&bytes) == o.digest,
            (Some(_), Ok(bytes)) => whole_object_of(cache, e, target) == Some(Digest::of(&bytes)),
            _ => false,
        })
    });
    chosen
        .into_iter()
        .zip(parallel::infallible(keep))
        .filter(|(_, k)| *k == Some(true))
        .map(|(c, _)| c)
        .collect()
}

/// The whole object `e`'s debug bundle completes, if it has one in the local cache.
fn whole_object_of(
    cache: &LocalCache,
    e: &ActionEntry,
    target: PublishTarget<'_>,
) -> Option<Digest> {
    let b = e.outputs.iter().find(|o| o.role == Role::DebugBundle)?;
    let bundle = cache.get_blob(&b.digest, b.size).ok()?;
    (target.whole_object)(&bundle)
}

/// Whether blob `d` is a debug output (`.dwo`, debug bundle) of `e`.
fn is_debug(e: &ActionEntry, d: &Digest) -> bool {
    e.outputs
        .iter()
        .any(|o| o.digest == *d && o.role.is_debug())
}

/// The blobs an entry names, as (digest, size).
pub fn blobs_of(e: &ActionEntry) -> Vec<(Digest, u64)> {
    let mut v: Vec<(Digest, u64)> = e.outputs.iter().map(|o| (o.digest, o.size)).collect();
    v.extend(e.stdout.iter().chain(e.stderr.iter()).copied());
    v
}

/// Publishes the actions `log` names (in build order) to `store`, signed with `key`.
/// `progress(done, total)` is called after each entry is up.
pub fn publish(
    cache: &LocalCache,
    store: &Store,
    key: &KeyPair,
    log: &[Digest],
    target: PublishTarget<'_>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<PublishReport, PublishError> {
    let mut report = PublishReport::default();
    let chosen = last_per_output(cache, log, &mut report)?;
    // Only what the object root holds now: an incremental build leaves older actions in the log.
    let before = chosen.len();
    let chosen = current_only(cache, chosen, target);
    report.stale += before - chosen.len();
    if chosen.is_empty() {
        return Err(PublishError::Empty);
    }

    let publisher = Publisher {
        cache,
        store,
        key,
        target,
        debug_in_store: AtomicUsize::new(0),
    };
    let chosen = publisher.upload_all(chosen, progress, &mut report)?;
    publisher.put_manifest(chosen, &mut report)?;
    Ok(report)
}

/// An action to publish: its key, its entry and its build manifest record.
type Chosen = (Digest, ActionEntry, EdgeRecord);

/// The entries of the actions `log` names that are in the local cache, keeping for each
/// output the last action that wrote it (in log order); counts the others in `report`.
fn last_per_output(
    cache: &LocalCache,
    log: &[Digest],
    report: &mut PublishReport,
) -> Result<Vec<Chosen>, PublishError> {
    // Entries, keeping for each output the last action that wrote it.
    let mut chosen: Vec<Chosen> = Vec::with_capacity(log.len());
    let mut by_output: HashMap<String, usize> = HashMap::new();
    for k in log {
        let Some(entry) = cache.get_action(k)? else {
            // Evicted since: if it was still current, its edge compiles on the developer's side.
            report.stale += 1;
            continue;
        };
        match EdgeRecord::of_entry(k, &entry) {
            Ok(rec) => {
                if let Some(&i) = by_output.get(rec.output()) {
                    chosen[i].0 = Digest::default(); // superseded: dropped below
                }
                by_output.insert(rec.output().to_string(), chosen.len());
                chosen.push((*k, entry, rec));
            }
            Err(why) => report.skipped.push(why.to_string()),
        }
    }
    chosen.retain(|(k, _, _)| *k != Digest::default());
    Ok(chosen)
}

/// Where a publish reads and writes, and what its uploads found.
struct Publisher<'a> {
    /// Where the entries and blobs are read.
    cache: &'a LocalCache,
    /// Where they are uploaded.
    store: &'a Store,
    /// What signs the entries and the manifest.
    key: &'a KeyPair,
    /// What is published, and how.
    target: PublishTarget<'a>,
    /// Debug parts absent here but already in the store.
    debug_in_store: AtomicUsize,
}

impl Publisher<'_> {
    /// Uploads the blobs and entry of every action on `target.jobs` threads; returns the
    /// actions whose blobs were all found (the others are counted stale in `report`).
    fn upload_all(
        &self,
        chosen: Vec<Chosen>,
        progress: &(dyn Fn(usize, usize) + Sync),
        report: &mut PublishReport,
    ) -> Result<Vec<Chosen>, PublishError> {
        let done = AtomicUsize::new(0);
        let jobs = self.target.jobs.clamp(1, 64);
        let uploaded = parallel::map_slice(&chosen, jobs, None, |_, item| {
            let up = self.upload(item)?;
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, chosen.len());
            Ok::<bool, PublishError>(up)
        })?;
        let before = chosen.len();
        let chosen: Vec<_> = chosen
            .into_iter()
            .zip(uploaded)
            .filter(|(_, up)| *up == Some(true))
            .map(|(c, _)| c)
            .collect();
        report.stale += before - chosen.len();
        if chosen.is_empty() {
            return Err(PublishError::Empty);
        }
        Ok(chosen)
    }

    /// Uploads one action's blobs, then its signed entry; `Ok(false)` when a blob is gone
    /// from the cache and not in the object root either (stale).
    fn upload(&self, (k, entry, _): &Chosen) -> Result<bool, PublishError> {
        let (cache, store) = (self.cache, self.store);
        for (d, size) in blobs_of(entry) {
            let bytes = match cache.get_blob(&d, size) {
                Ok(b) => b,
                // Evicted: an output file of the object root with the same bytes serves.
                Err(CacheError::Missing { .. }) => {
                    let on_disk = entry
                        .outputs
                        .iter()
                        .filter(|o| o.digest == d)
                        .find_map(|o| std::fs::read(self.target.obj_root.join(&o.path)).ok())
                        .filter(|b| Digest::of(b) == d);
                    match on_disk {
                        Some(b) => b.into(),
                        None if is_debug(entry, &d) && store.head(&Key::blob(&d))? => {
                            self.debug_in_store.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        None => return Ok(false),
                    }
                }
                Err(e) => {
                    cache.remove_path(e.path());
                    return Err(e.into());
                }
            };
            // A local read trusts a blob's check value rather than hashing it (`cache::check`);
            // what is published must be what its name says, checked before it is uploaded.
            if Digest::of(&bytes) != d {
                let path = cache.path(Kind::Blob, &d);
                cache.remove_path(&path);
                let reason = "content does not match its hash".into();
                return Err(CacheError::Corrupt { path, reason }.into());
            }
            store.put_blob(&bytes)?;
        }
        let akey = Key::action(&k.to_hex())?;
        store.put(&akey, &seal(self.key, entry.encode().as_bytes()))?;
        Ok(true)
    }

    /// Writes the signed build manifest of the uploaded actions, last, and fills in `report`.
    fn put_manifest(
        self,
        chosen: Vec<Chosen>,
        report: &mut PublishReport,
    ) -> Result<(), PublishError> {
        for (_, e, _) in &chosen {
            for (_, size) in blobs_of(e) {
                report.blobs += 1;
                report.blob_bytes += size;
            }
        }
        report.actions = chosen.iter().map(|(k, _, _)| *k).collect();
        report.debug_in_store = self.debug_in_store.into_inner();
        let manifest = BuildManifest {
            records: chosen.into_iter().map(|(_, _, r)| r).collect(),
        };
        report.records = manifest.records.len();
        let mkey = Key::build(self.target.config, self.target.revision)?;
        self.store
            .put(&mkey, &seal(self.key, &manifest.to_bytes()?))?;
        report.manifest_url = self.store.url(&mkey);
        Ok(())
    }
}
