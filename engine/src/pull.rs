//! The pull session (DESIGN §1, §5): CI's build of the nearest ancestor, found in a store and
//! pulled into the local cache, beside a running build or alone (`cached-ninja fetch`).
//!
//! A [`PullSession`] is one value holding everything a pull needs (no globals): the store, the
//! verified plan, the trust set, the local cache and its cap, the object directory whose
//! launchers it serves. [`PullSession::run`] pulls until done or until its [`CancelToken`] is
//! set, reporting to a [`ProgressSink`]; beside its first downloads it records every include
//! set (so direct mode knows each action key before its entry arrives), then calls back, where
//! [`PullSession::announce`] tells the launchers a pull is running (through the
//! [`fetch::want::PullLink`] of the object directory). It leaves out the records whose source
//! changed here ([`PullSession::changed_sources`]). A build's session pulls objects only
//! ([`PullSession::debug_parts`] off, DESIGN §6): nothing about debug info delays the link.
//! The prefetch order ([`PullSession::prefetch_order`], [`crate::order`]) is computed once by
//! the caller and given to both: the queue launchers read and the pull.

use crate::launcher::local_keys;
use crate::order::{EdgePolicy, Prefetch};
use backend::ninja::Graph;
use fetch::cache::{Digest, LocalCache};
use fetch::objdir::ObjDir;
use fetch::plan::Plan;
use fetch::pull::{PullOptions, PullProgress, PullReport};
use fetch::signing::Trust;
use fetch::store::Store;
use fetch::want::{FileLink, PlanningMarker, PullLink, PullMarker};
use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a pull makes first checks ([`local_keys::remember_scans`]) before it is ready
/// for launchers (then in step with its downloads): launches waiting for it meanwhile do not
/// compete with it for the CPU, and find the memos of the first records they ask for.
pub const CHECKS_BEFORE_READY: Duration = Duration::from_millis(250);

/// Stops a pull: set when the build it races with is done, or on Ctrl-C. Clones share one flag.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Asks every holder to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The shared flag (what `fetch::pull` and signal handlers take).
    pub fn flag(&self) -> &Arc<AtomicBool> {
        &self.0
    }
}

/// Where a pull reports its progress (a progress bar, a counter, nothing).
pub trait ProgressSink: Sync {
    /// Called after each record is handled.
    fn progress(&self, p: PullProgress);
}

impl<F: Fn(PullProgress) + Sync> ProgressSink for F {
    fn progress(&self, p: PullProgress) {
        self(p)
    }
}

/// One pull of a verified plan into a local cache.
pub struct PullSession<'a> {
    /// The store the plan was found in.
    pub store: &'a Store,
    /// The nearest ancestor build, its manifest verified against `trust`.
    pub plan: &'a Plan,
    /// Whose signatures entries must carry.
    pub trust: &'a Trust,
    /// The local cache the launchers use.
    pub cache: LocalCache,
    /// The local cache's size cap.
    pub cache_cap: u64,
    /// Parallel requests.
    pub jobs: usize,
    /// The object directory whose launchers the pull serves.
    pub objdir: ObjDir,
    /// Download the debug parts too (`cached-ninja fetch --debug-parts`); off, objects only:
    /// launchers defer the debug parts and `dbgfetch fill` brings them after the link.
    pub debug_parts: bool,
    /// The link's bytes per second if known before measuring (a bandwidth cap): the launchers'
    /// estimates start from it.
    pub link_rate: Option<u64>,
    /// The longest a pulled entry waits for its first check of the lookup rule
    /// ([`local_keys::ENTRY_WAIT`]; longer in a test that must not depend on timing).
    pub entry_wait: std::time::Duration,
    /// The sources here, if their reading started before the plan was found (else
    /// [`PullSession::run`] reads them).
    pub sources: Option<SourcesReading>,
}

/// The sources of an object directory's launcher edges, read with their directives from
/// before the plan is found (a thread of its own, then rayon's): a first build waits for them
/// before Ninja runs, and the search for the plan mostly waits on the network. Stopped, it
/// reads no more sources and what it read is not used: by [`SourcesReading::stopper`] until
/// the plan is found ([`SourcesReading::keep`]: the pull then waits for it), by the build's
/// [`CancelToken`], or dropped.
pub struct SourcesReading {
    stop: CancelToken,
    kept: Arc<AtomicBool>,
    dropped: CancelToken,
    read: Mutex<Option<mpsc::Receiver<local_keys::SourcesHere>>>,
    /// The Ninja files' graph the reading loaded first (`None`: they do not load), for the
    /// prefetch order: a large build's take a good part of a second to load.
    graph: Mutex<Option<mpsc::Receiver<Option<Arc<Graph>>>>>,
}

impl SourcesReading {
    /// Starts reading the sources of `objdir`'s launcher edges, until `cancel` or
    /// [`SourcesReading::stopper`] stops it.
    pub fn start(objdir: &ObjDir, cancel: &CancelToken) -> SourcesReading {
        let (stop, dropped) = (CancelToken::new(), CancelToken::new());
        let kept = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let (graph_tx, graph_rx) = mpsc::channel();
        let root = objdir.root().to_path_buf();
        let (mine, gone, build, keep) =
            (stop.clone(), dropped.clone(), cancel.clone(), kept.clone());
        std::thread::spawn(move || {
            let stopped = || {
                let unwanted = mine.is_cancelled() && !keep.load(Ordering::SeqCst);
                unwanted || gone.is_cancelled() || build.is_cancelled()
            };
            let graph = crate::fill::targets::load_graph(&root).ok().map(Arc::new);
            let _ = graph_tx.send(graph.clone());
            // Seen stopped once, it may have left sources unread: not sent even when kept
            // since (stopped, then the plan found), the pull then reads them all itself.
            let seen_stopped = AtomicBool::new(false);
            let stopping = || {
                let s = stopped();
                if s {
                    seen_stopped.store(true, Ordering::SeqCst);
                }
                s
            };
            let read = sources_in(&root, graph.as_deref(), true, &stopping);
            if !stopping() && !seen_stopped.load(Ordering::SeqCst) {
                let _ = tx.send(read);
            }
        });
        SourcesReading {
            stop,
            kept,
            dropped,
            read: Mutex::new(Some(rx)),
            graph: Mutex::new(Some(graph_rx)),
        }
    }

    /// What stops the reading from elsewhere (a build that stopped waiting for it), until the
    /// plan is found.
    pub fn stopper(&self) -> CancelToken {
        self.stop.clone()
    }

    /// The plan is found: the pull will wait for this reading, which [`SourcesReading::stopper`]
    /// no longer stops (else the pull would read everything again).
    pub fn keep(&self) {
        self.kept.store(true, Ordering::SeqCst);
    }

    /// The Ninja files' graph the reading loaded (waiting for its load), the first time;
    /// `None` after, and when they do not load.
    fn take_graph(&self) -> Option<Arc<Graph>> {
        let rx = self
            .graph
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        rx.recv().ok().flatten()
    }

    /// What was read (waiting for the reading's end), the first time; `None` after, and when
    /// the reading was stopped.
    fn take(&self) -> Option<local_keys::SourcesHere> {
        let rx = self.read.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        rx.recv().ok()
    }
}

impl Drop for SourcesReading {
    fn drop(&mut self) {
        self.dropped.cancel();
    }
}

/// The sources of the launcher edges of the object directory `root` (none when its
/// `build.ninja` cannot be read), with their directives when `scan`, until `stopped`.
fn read_sources(
    root: &Path,
    scan: bool,
    stopped: &(dyn Fn() -> bool + Sync),
) -> local_keys::SourcesHere {
    let graph = crate::fill::targets::load_graph(root).ok();
    sources_in(root, graph.as_ref(), scan, stopped)
}

/// [`read_sources`] with the graph of `root`'s Ninja files loaded (`None`: they do not load).
fn sources_in(
    root: &Path,
    graph: Option<&Graph>,
    scan: bool,
    stopped: &(dyn Fn() -> bool + Sync),
) -> local_keys::SourcesHere {
    match graph {
        Some(g) => local_keys::sources_here(root, g, scan, stopped),
        None => local_keys::SourcesHere::default(),
    }
}

impl PullSession<'_> {
    /// Records the include set of every edge of the plan in the local cache (so that direct
    /// mode knows each action key and a launcher can ask for it), with the stat stamps `known`
    /// of the headers unchanged here (each read and hashed once here instead of once per
    /// launch), and the plan's keys per output in the object directory (`fetch::last_pull`, for
    /// `cached-ninja explain`; a failure to write that only costs the explanation its CI side).
    fn prepare(&self, known: &fetch::pull::KnownStamps) -> io::Result<()> {
        // Local writes: the 16 threads they had before `jobs` (requests in flight) grew to 48.
        let threads = self.jobs.min(16);
        fetch::pull::record_include_sets(&self.cache, &self.plan.manifest, threads, known)?;
        let index = fetch::last_pull::LastPull::of(self.plan);
        let _ = fetch::last_pull::write(&self.objdir, &index);
        Ok(())
    }

    /// Bytes the plan would bring, when more than the cache's cap (the least recently used
    /// entries are then evicted): `(needed, cap)`.
    pub fn over_cap(&self) -> Option<(u64, u64)> {
        let debug = if self.debug_parts {
            self.plan.debug_bytes
        } else {
            0
        };
        let need = self.plan.stripped_bytes.saturating_add(debug);
        (need > self.cache_cap).then_some((need, self.cache_cap))
    }

    /// The plan's records in prefetch order (`policy`: per record), through the object
    /// directory's build graph when it can be read.
    pub fn prefetch_order(&self, mode: Prefetch, policy: &[EdgePolicy]) -> Vec<usize> {
        // The graph the sources' reading loaded, if it began with the search: loaded once.
        let early = self.sources.as_ref().and_then(SourcesReading::take_graph);
        let graph = early.or_else(|| {
            crate::fill::targets::load_graph(self.objdir.root())
                .ok()
                .map(Arc::new)
        });
        crate::order::prefetch_order(&self.plan.manifest.records, policy, mode, graph.as_deref())
    }

    /// Tells the object directory's launchers that a pull runs, with its queue (`order`, the
    /// policy per record): they ask it for the keys they miss and wait for each while that can
    /// beat compiling, at most `wait` (or a rule's `remote_wait`). Launchers stop waiting when
    /// the marker is dropped. The build's `planning` marker, if any, becomes the pull's.
    pub fn announce(
        &self,
        wait: Duration,
        order: &[usize],
        policy: &[EdgePolicy],
        planning: Option<PlanningMarker>,
    ) -> io::Result<PullMarker> {
        let records = &self.plan.manifest.records;
        let sizes = fetch::pull::download_sizes(records, self.debug_parts);
        let mut slots = crate::order::slots(records, &sizes, order, policy);
        // On-demand only: launchers fetch what they need and wait for it (the flat budget),
        // as a baseline of what prefetching gains; no queue to weigh.
        if order.is_empty() {
            slots.clear();
        }
        let root = self.objdir.root();
        let rate = self.link_rate;
        Ok(match planning {
            Some(p) => p.into_pull(root, wait, &mut slots, rate)?,
            None => PullMarker::create(root, wait, &mut slots, rate)?,
        })
    }

    /// The action keys of the plan's records whose source changed here: the source key a
    /// launch would compute for the record's output differs from CI's (so no launcher will ask
    /// for it). Outputs the object directory's `build.ninja` does not compile through the
    /// launcher are not judged (an unreadable `build.ninja` judges none).
    pub fn changed_sources(&self) -> HashSet<Digest> {
        self.changed_in(&read_sources(self.objdir.root(), false, &|| false))
    }

    /// [`PullSession::changed_sources`] from the sources here.
    fn changed_in(&self, here: &local_keys::SourcesHere) -> HashSet<Digest> {
        let records = self.plan.manifest.records.iter();
        let changed = records.filter(|r| here.key(r.output()).is_some_and(|k| *k != r.source_key));
        changed.map(|r| r.action_key).collect()
    }

    /// Pulls the plan's entries (wanted keys first, then `order`, leaving out
    /// [`PullSession::changed_sources`] unless wanted) until done or cancelled, then trims the
    /// cache to its cap. The downloads start once the sources here are read (which records
    /// changed); then beside them, on a thread of its own, the include sets are recorded
    /// (`prepare`, with the headers here each read once: [`local_keys::headers_here`]), then
    /// first checks are made for at most [`CHECKS_BEFORE_READY`], and `ready` is told how the
    /// recording went: a build announces the pull to its launchers there, since a launcher
    /// needs its include set to know which key to ask for. `ready` returning `false` (or an
    /// error it was given) stops the pull. Then the directive scan of each record whose files
    /// are here as CI compiled them is remembered and its first check of the lookup rule made
    /// ([`local_keys::remember_scans`]), in step with the downloads
    /// ([`local_keys::FirstChecks`]), so that a launcher's first check of a pulled entry reads
    /// one memo, not one per header, and does not count the lookup's candidates.
    /// `read` is told once, when the sources here are read, what they left to compile and to
    /// download ([`SourcesRead`]); `entered`, each record whose entry is in and whose first
    /// check is done or will not be made (a launch then finds both).
    pub fn run(
        &self,
        cancel: &CancelToken,
        progress: &dyn ProgressSink,
        order: &[usize],
        ready: &(dyn Fn(io::Result<()>) -> bool + Sync),
        read: &(dyn Fn(SourcesRead) + Sync),
        entered: &(dyn Fn(usize) + Sync),
    ) -> PullReport {
        let link = EarlyGiveUps::new(FileLink::new(self.objdir.clone()));
        let manifest = &self.plan.manifest;
        let records = manifest.records.len();
        let checks = local_keys::FirstChecks::new(order, records, self.entry_wait, entered);
        let (sources_tx, sources_rx) = std::sync::mpsc::channel();
        let report = std::thread::scope(|s| {
            let (checks, link) = (&checks, &link);
            s.spawn(move || {
                let root = self.objdir.root();
                // After the sources, which the downloads wait for (both read on all cores:
                // side by side, the sources were read half as fast and the first download
                // started later).
                let sources = sources_rx.recv().ok().flatten();
                let headers = local_keys::headers_here(root, manifest);
                let prepared = self.prepare(&headers.known_stamps());
                let failed = prepared.is_err();
                let until = Instant::now() + CHECKS_BEFORE_READY;
                let stop = cancel.flag();
                let check = |sources: &local_keys::SourcesHere, until| {
                    local_keys::remember_scans(
                        root, manifest, checks, sources, &headers, stop, until,
                    )
                };
                // Before the launchers are told: checks until `until`.
                if let Some(sources) = sources.as_ref().filter(|_| !failed) {
                    check(sources, Some(until));
                }
                if ready(prepared) && !failed {
                    link.announced();
                    if let Some(sources) = &sources {
                        check(sources, None);
                    }
                } else {
                    cancel.cancel();
                }
                checks.over();
            });
            let early = self.sources.as_ref().and_then(SourcesReading::take);
            let stopped = || cancel.is_cancelled();
            let sources = early.unwrap_or_else(|| read_sources(self.objdir.root(), true, &stopped));
            let skip = self.changed_in(&sources);
            // Cancelled while they were read: what was read may be partial, and is not told
            // (nor checked: the checks' thread gets none).
            let told = !stopped();
            if told {
                let keys: HashSet<Digest> = manifest.records.iter().map(|r| r.source_key).collect();
                read(SourcesRead {
                    uncovered: sources.outputs_without(&keys),
                    left_out: manifest
                        .records
                        .iter()
                        .filter(|r| skip.contains(&r.action_key))
                        .count(),
                });
            }
            let _ = sources_tx.send(told.then_some(sources));
            let opts = PullOptions {
                jobs: self.jobs,
                cancel: cancel.flag(),
                wants: Some(link),
                debug_parts: self.debug_parts,
                skip: Some(&skip),
                order: Some(order),
                hook: Some(checks),
            };
            fetch::pull::pull(self.store, &self.cache, manifest, opts, &|p| {
                if let Some(i) = p.entry {
                    checks.entered(i);
                }
                progress.progress(p)
            })
        });
        // The launchers check the cap now and then; a pull inserts many files at once.
        self.cache.walk_and_gc(self.cache_cap);
        report
    }
}

/// What a pull's reading of the sources here left to compile and to download.
#[derive(Debug, Default)]
pub struct SourcesRead {
    /// The outputs of the launcher edges whose source key no record of the plan has (what the
    /// build compiles anyway).
    pub uncovered: Vec<String>,
    /// The records left out of the prefetch: their source changed here.
    pub left_out: usize,
}

/// The launchers' link for a pull that downloads before it is announced: creating the marker
/// empties the wants directory, so a record given up on before (a corrupt blob) is given up on
/// again once the pull is announced ([`EarlyGiveUps::announced`]), and its launcher compiles
/// at once instead of waiting for it.
struct EarlyGiveUps {
    link: FileLink,
    /// The keys given up on before the announcement; `None` after it.
    early: Mutex<Option<Vec<Digest>>>,
}

impl EarlyGiveUps {
    fn new(link: FileLink) -> EarlyGiveUps {
        EarlyGiveUps {
            link,
            early: Mutex::new(Some(Vec::new())),
        }
    }

    /// The pull is announced: says the early give-ups again.
    fn announced(&self) {
        let early = self.early.lock().unwrap_or_else(|e| e.into_inner()).take();
        for key in early.unwrap_or_default() {
            self.link.give_up(&key);
        }
    }
}

impl PullLink for EarlyGiveUps {
    fn running(&self) -> Option<Duration> {
        self.link.running()
    }
    fn planning(&self) -> Option<fetch::want::PlanWait> {
        self.link.planning()
    }
    fn want(&self, key: &Digest) -> io::Result<()> {
        self.link.want(key)
    }
    fn given_up(&self, key: &Digest) -> bool {
        self.link.given_up(key)
    }
    fn take_wants(&self) -> Vec<Digest> {
        self.link.take_wants()
    }
    fn give_up(&self, key: &Digest) {
        let mut early = self.early.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(keys) = early.as_mut() {
            keys.push(*key);
        }
        drop(early);
        self.link.give_up(key);
    }
    fn slot(&self, key: &Digest) -> Option<fetch::want::queue::Slot> {
        self.link.slot(key)
    }
    fn link_state(&self) -> Option<fetch::want::link_state::LinkState> {
        self.link.link_state()
    }
    fn publish_state(&self, state: &fetch::want::link_state::LinkState) {
        self.link.publish_state(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object directory whose `build.ninja` has `edges` edges (none runs the launcher).
    fn objdir(edges: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut ninja = String::from("rule cp\n  command = cp $in $out\n");
        for i in 0..edges {
            ninja.push_str(&format!("build o{i}: cp i{i}\n"));
        }
        std::fs::write(dir.path().join("build.ninja"), ninja).unwrap();
        dir
    }

    #[test]
    fn the_sources_read_early_are_taken_once() {
        let dir = objdir(2);
        let reading = SourcesReading::start(&ObjDir::new(dir.path()), &CancelToken::new());
        assert!(reading.take().is_some(), "the reading's result");
        assert!(reading.take().is_none(), "taken once");
    }

    #[test]
    fn a_stopped_reading_gives_nothing_to_use() {
        let dir = objdir(2);
        let cancel = CancelToken::new();
        cancel.cancel();
        let reading = SourcesReading::start(&ObjDir::new(dir.path()), &cancel);
        assert!(reading.take().is_none(), "the build's token stops it");
    }

    /// The build giving up on the reading stops it before the plan is found, not after: the
    /// pull waits for it then. (Stopped as it starts: 20 000 edges take longer to read.)
    #[test]
    fn a_reading_kept_for_the_plan_is_not_stopped_by_the_build_giving_up() {
        let dir = objdir(20_000);
        let objdir = ObjDir::new(dir.path());
        let reading = SourcesReading::start(&objdir, &CancelToken::new());
        reading.stopper().cancel();
        assert!(reading.take().is_none(), "no plan yet: stopped, not used");
        let reading = SourcesReading::start(&objdir, &CancelToken::new());
        reading.keep();
        reading.stopper().cancel();
        assert!(reading.take().is_some(), "kept: the pull takes it");
    }
}
