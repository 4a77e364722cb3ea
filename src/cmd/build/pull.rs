//! The pull beside Ninja (DESIGN §1, §5; issue 16): looked for while Ninja starts, run on a
//! thread of its own, and never waited for once Ninja is done.
//!
//! - [`open`] opens the stores and presets the breakers of those a recent build found dead
//!   (`fetch::skips`, so they cost no network wait).
//! - [`Planning::start`] looks for CI's nearest ancestor build on a thread while Ninja starts
//!   (a planning marker tells missing launchers to wait for the plan, within their budget:
//!   at most `fetch::want::LISTING_PATIENCE` while the revisions are listed, and once the
//!   stores are asked at most `fetch::want::SILENT_PATIENCE` while none answers);
//!   Ninja done before the search is, the search is abandoned.
//! - `Background::start`, once the plan is found, starts the pull on a thread of its own: it
//!   computes the prefetch order (`engine::order`: policy boosts, then `[fetch] prefetch`) and
//!   runs the pull, whose downloads start once the sources here are read; the pull is announced
//!   to the launchers (the queue, the marker) once it has recorded the include sets and made
//!   first checks for at most `engine::pull::CHECKS_BEFORE_READY`. A watcher drops the marker
//!   as soon as the pull ends or the store's breaker trips, so launchers waiting for an entry
//!   compile at once instead of waiting out their budget.
//! - [`Planning::finish`], called when Ninja exits, cancels the pull, drops the marker and
//!   waits at most [`GRACE`] for the pull's report: an entry whose blobs are all in the local
//!   cache stays (inserts are atomic), a download in flight is abandoned with the thread when
//!   the process exits.
//! - `cmd::fetch::store_lines` is the one warning line per store that failed: what happened
//!   and what it cost (`cmd::fetch::silent_lines` for a store still silent when Ninja
//!   finished).

use super::lines::Lines;
use crate::remote::{Remote, RemoteArgs};
use engine::pull::{CancelToken, SourcesReading};
use fetch::objdir::ObjDir;
use fetch::plan::Plan;
use fetch::pull::{PullProgress, PullReport};
use fetch::signing::Trust;
use fetch::want::{PlanningMarker, PullMarker};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

/// The command's name at the head of its warning lines.
const WHO: &str = "cached-ninja build";
use std::time::{Duration, Instant};

/// Longest wait for the pull's report after Ninja exits.
pub const GRACE: Duration = Duration::from_millis(100);

/// How often the watcher looks at the pull and the store's breaker.
const WATCH: Duration = Duration::from_millis(20);

/// How often the search is looked at for a store's first answer (launchers that miss wait
/// for the plan on it).
const ANSWER_WATCH: Duration = Duration::from_millis(5);

/// Opens the policy's stores (none: `None`) and presets the breakers of those a recent build
/// found dead. A bad policy file is an error; an unusable store is a warning line.
pub fn open(args: &RemoteArgs) -> anyhow::Result<Option<Arc<Remote>>> {
    let remote = Remote::open(args, false)?;
    for why in &remote.unusable {
        eprintln!("{WHO}: warning: {why}; not using that store");
    }
    if remote.stores.is_empty() {
        return Ok(None);
    }
    remote.skip_recently_failed();
    Ok(Some(Arc::new(remote)))
}

/// What the build sees of the search and the pull: entries pulled so far and in all (0 until
/// the plan is found), for the progress line; and for a first build that serves the pull's
/// hits before Ninja runs them (`super::ahead`), CI's compile time, what the pull cannot
/// cover, and whether it is over.
#[derive(Clone, Default)]
pub struct Counts {
    /// Records handled so far (fetched, present or failed).
    pub done: Arc<AtomicUsize>,
    /// Records failed, or in the local cache and checked (those given to
    /// [`Counts::arrivals`]).
    pub ready: Arc<AtomicUsize>,
    /// Records in the plan.
    pub total: Arc<AtomicUsize>,
    /// CI's compile time of the plan's records, ms in all.
    pub compile_ms: Arc<AtomicU64>,
    /// What the sources here left to compile and to download, once the pull has read them
    /// (`engine::pull::PullSession::run`).
    pub sources_read: Arc<OnceLock<engine::pull::SourcesRead>>,
    /// The outputs of the records whose entries the pull put in the local cache, for a pass
    /// that serves them as they come.
    pub arrivals: super::ahead::Arrivals,
    /// Set when the search ended without a pull, or the pull ended.
    pub over: Arc<AtomicBool>,
}

/// The search for CI's nearest ancestor build, beside Ninja (a slow or dead store holds up
/// neither Ninja's start nor a no-op build); once found, the pull starts from the same thread.
/// Meanwhile a planning marker lets launchers that miss wait for the plan (`fetch::want`).
pub struct Planning {
    remote: Arc<Remote>,
    started: Instant,
    /// When the stores were first asked (the revisions listed).
    asked: Arc<OnceLock<Instant>>,
    skipped: bool,
    /// When the search ended, and the pull it started, if any.
    found: mpsc::Receiver<(Instant, Option<Background>)>,
    cancel: CancelToken,
    /// Stops the reading of the sources begun with the search, if one was.
    reading: Option<CancelToken>,
}

/// What became of the search and the pull when Ninja was done.
pub struct Finished {
    /// The search for CI's build.
    pub search: Search,
    /// The pull's outcome, if one started.
    pub pull: Option<Outcome>,
}

/// The search for CI's build, when Ninja was done.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Search {
    /// Not made: every store is skipped (a recent build found them dead).
    Skipped,
    /// Ended, found or not, after this long.
    Ended(Duration),
    /// Still under way: abandoned (launchers stopped waiting for the plan after
    /// `fetch::want::SILENT_PATIENCE` of silence, or `LISTING_PATIENCE` of listing).
    Abandoned {
        /// How long the stores had been asked and silent, if none answered.
        silent: Option<Duration>,
        /// How long the revisions had been listed, if no store was asked yet.
        listing: Option<Duration>,
    },
}

impl std::fmt::Display for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Search::Skipped => write!(f, "no store asked"),
            Search::Ended(t) => write!(
                f,
                "CI's build looked for in {:.1} s beside Ninja",
                t.as_secs_f64()
            ),
            Search::Abandoned { .. } => write!(f, "Ninja finished before CI's build was found"),
        }
    }
}

impl Planning {
    /// Starts looking for CI's build in `remote` (not at all when every store is skipped);
    /// `counts` follow the pull, `cancel` (also Ctrl-C's) stops both.
    /// Its lines go to `lines`. With `read_sources` (a first build, which waits for them),
    /// the sources here are read meanwhile ([`SourcesReading`]), and stop being read when
    /// no plan is found.
    pub fn start(
        remote: Arc<Remote>,
        counts: Counts,
        cancel: CancelToken,
        lines: Lines,
        read_sources: bool,
    ) -> Planning {
        let (tx, found) = mpsc::channel();
        let over = counts.over.clone();
        let skipped = remote.stores.iter().all(|s| s.breaker().trip().is_some());
        let asked = Arc::new(OnceLock::new());
        let mut planning = Planning {
            remote: remote.clone(),
            started: Instant::now(),
            asked: asked.clone(),
            skipped,
            found,
            cancel: cancel.clone(),
            reading: None,
        };
        // Every store skipped: not even the revisions are listed.
        if skipped {
            over.store(true, Ordering::SeqCst);
            let _ = tx.send((Instant::now(), None));
            return planning;
        }
        let marker = match PlanningMarker::create(&remote.objdir, remote.wait()) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!(
                    "{WHO}: warning: cannot write the pull marker in {}: {e}; compiles do not wait for CI's objects",
                    remote.objdir.display()
                );
                None
            }
        };
        let marker = Arc::new(Mutex::new(marker));
        let sources = read_sources
            .then(|| SourcesReading::start(&ObjDir::new(&remote.objdir), &planning.cancel));
        planning.reading = sources.as_ref().map(SourcesReading::stopper);
        let searching = Arc::new(AtomicBool::new(true));
        {
            let (remote, marker, searching) = (remote.clone(), marker.clone(), searching.clone());
            std::thread::spawn(move || note_answer(&remote, &marker, &searching));
        }
        std::thread::spawn(move || {
            let asking = || {
                asked.get_or_init(Instant::now);
                if let Some(m) = marker.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    let _ = m.asking();
                }
            };
            let found = find_plan(&remote, &lines, &asking);
            // No plan: the sources' reading stops (nothing waits for it); a plan: the pull
            // will wait for it, so the build giving up on it no longer stops it.
            let sources = sources.filter(|_| found.is_some());
            if let Some(s) = &sources {
                s.keep();
            }
            let pull = found.and_then(|(plan, trust)| {
                if cancel.is_cancelled() {
                    return None;
                }
                // A store answered (the plan came from one), even if `note_answer` has not
                // looked yet: launchers wait for the announcement within their budget, not
                // `SILENT_PATIENCE`.
                if let Some(m) = marker.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    let _ = m.answered();
                }
                let planning = take(&marker);
                let searched = Searched {
                    plan,
                    trust,
                    planning,
                    sources,
                };
                Some(Background::start(remote, searched, cancel, counts, lines))
            });
            searching.store(false, Ordering::SeqCst);
            drop(take(&marker));
            if pull.is_none() {
                over.store(true, Ordering::SeqCst);
            }
            let _ = tx.send((Instant::now(), pull));
        });
        planning
    }

    /// Whether launchers would have stopped waiting for the plan by now: the stores asked and
    /// none answered for `fetch::want::SILENT_PATIENCE` (`CACHED_NINJA_TEST_SILENT_PATIENCE_MS`
    /// in tests, as for the launchers), or the revisions listed for
    /// `fetch::want::LISTING_PATIENCE` without a store asked.
    pub fn past_patience(&self) -> bool {
        let answered = self.remote.stores.iter().any(|s| s.breaker().answered());
        let silent = engine::test_knobs::silent_patience();
        match self.asked.get() {
            Some(t) => !answered && t.elapsed() > silent,
            None => self.started.elapsed() > fetch::want::LISTING_PATIENCE,
        }
    }

    /// The build stopped waiting for the sources read with the search: their reading stops,
    /// unless the plan is found (the pull waits for them then).
    pub fn stop_reading(&self) {
        if let Some(r) = &self.reading {
            r.cancel();
        }
    }

    /// Ninja is done: a pull that started is finished ([`Background::finish`]); a search still
    /// under way is cancelled and not waited for.
    pub fn finish(self) -> Finished {
        // (A reading of the sources begun with the search stops with the pull, cancelled
        // here or by `Background::finish`.)
        match self.found.try_recv() {
            Ok((ended, pull)) => Finished {
                search: if self.skipped {
                    Search::Skipped
                } else {
                    Search::Ended(ended - self.started)
                },
                pull: pull.map(Background::finish),
            },
            Err(_) => {
                self.cancel.cancel();
                let answered = self.remote.stores.iter().any(|s| s.breaker().answered());
                let asked = self.asked.get();
                Finished {
                    search: Search::Abandoned {
                        silent: asked.filter(|_| !answered).map(Instant::elapsed),
                        listing: asked.is_none().then(|| self.started.elapsed()),
                    },
                    pull: None,
                }
            }
        }
    }
}

/// Tells the launchers (the planning `marker`) once a store of `remote` answered, so that
/// they wait for the plan within their whole budget (`fetch::want::PlanWait`); stops when the
/// search does.
fn note_answer(remote: &Remote, marker: &Mutex<Option<PlanningMarker>>, searching: &AtomicBool) {
    while searching.load(Ordering::SeqCst) {
        if remote.stores.iter().any(|s| s.breaker().answered()) {
            let m = marker.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(m) = m.as_ref() {
                let _ = m.answered();
            }
            return;
        }
        std::thread::sleep(ANSWER_WATCH);
    }
}

/// CI's nearest ancestor build in `remote` (`asking` once the stores are asked); any problem
/// is a warning line (one per store when stores failed), and the build then compiles locally.
fn find_plan(remote: &Arc<Remote>, lines: &Lines, asking: &dyn Fn()) -> Option<(Plan, Trust)> {
    let plan = match crate::cmd::fetch::find_plan(WHO, remote, None, &|l| lines.say(l), asking) {
        Ok(p) => p,
        Err(e) => {
            let first_build = matches!(
                e.downcast_ref::<fetch::plan::PlanError>(),
                Some(fetch::plan::PlanError::NothingPublished { .. })
            );
            // A failed store has its own line (store_lines); say the rest. A history nothing
            // was published from yet (CI's first build) is no fault: a note.
            if first_build {
                lines.say(&format!("{WHO}: {e:#}; compiling locally"));
            } else if !remote.stores.iter().all(|s| s.breaker().trip().is_some()) {
                lines.say(&format!("{WHO}: warning: {e:#}; compiling locally"));
            }
            return None;
        }
    };
    lines.say(&plan.0.to_string());
    Some(plan)
}

/// A pull running beside Ninja.
struct Background {
    report: mpsc::Receiver<PullReport>,
    cancel: CancelToken,
    marker: Arc<Mutex<Option<PullMarker>>>,
    /// Whether the pull was announced to the launchers.
    announced: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
}

/// What the search found, for the pull it starts.
struct Searched {
    /// The nearest ancestor build.
    plan: Plan,
    /// Whose signatures its entries must carry.
    trust: Trust,
    /// The build's planning marker (it becomes the pull's).
    planning: Option<PlanningMarker>,
    /// The sources here, being read since the search began (a first build).
    sources: Option<SourcesReading>,
}

/// What the pull did, as far as the build waited for it.
pub enum Outcome {
    /// It ended (done, stopped by its store, or cancelled) within the grace time.
    Report(PullReport),
    /// Still in a request when Ninja was done: abandoned after this many records.
    Abandoned(usize),
}

impl Background {
    /// Starts the pull; once it has recorded the include sets, announces it to the launchers
    /// (the build's planning marker becomes the pull's). A failure to do either is a warning
    /// line on `lines`, and the pull stops (launchers compile). `cancel` is also the token
    /// Ctrl-C sets.
    fn start(
        remote: Arc<Remote>,
        searched: Searched,
        cancel: CancelToken,
        counts: Counts,
        lines: Lines,
    ) -> Background {
        let Searched {
            plan,
            trust,
            planning,
            sources,
        } = searched;
        let marker = Arc::new(Mutex::new(None));
        let announced = Arc::new(AtomicBool::new(false));
        let Counts {
            done,
            ready: given,
            total,
            compile_ms,
            sources_read,
            arrivals,
            over,
        } = counts;
        total.store(plan.manifest.records.len(), Ordering::Relaxed);
        let ms = plan.manifest.records.iter().map(|r| r.compile_ms()).sum();
        compile_ms.store(ms, Ordering::Relaxed);
        let store = plan.store;
        let (tx, rx) = mpsc::channel();
        let ended = Arc::new(AtomicBool::new(false));
        {
            let (remote, cancel, done, ended) =
                (remote.clone(), cancel.clone(), done.clone(), ended.clone());
            let (marker, announced) = (marker.clone(), announced.clone());
            std::thread::spawn(move || {
                let mut session = crate::cmd::fetch::session(&remote, &plan, &trust);
                session.sources = sources;
                let policy = remote.edge_policy(&plan.manifest);
                let order = session.prefetch_order(remote.prefetch, &policy);
                let planning = Mutex::new(planning);
                let ready = |prepared| {
                    // A cache with no room is said once in a build, here or by a launcher
                    // (whose later misses then store nothing).
                    let warn = |e: anyhow::Error| {
                        let room = e.chain().find_map(|c| c.downcast_ref::<std::io::Error>());
                        if !room.is_some_and(fetch::cache::no_room) {
                            lines.say(&format!("{WHO}: warning: {e:#}; compiling locally"));
                        } else if remote.cache_unwritable().set() {
                            lines.say(&format!(
                                "{WHO}: warning: {e:#}; compiling locally, and storing nothing in it for the rest of this build"
                            ));
                        }
                        false
                    };
                    let planning = take(&planning);
                    if let Err(e) =
                        crate::cmd::fetch::prepared_or_why(WHO, &remote, &session, prepared, &|l| {
                            lines.say(l)
                        })
                    {
                        return warn(e);
                    }
                    // Under the marker's lock: `finish` cancels before it takes the marker, so
                    // no marker is left behind by a pull announced as the build ends.
                    let mut held = marker.lock().unwrap_or_else(|e| e.into_inner());
                    if cancel.is_cancelled() {
                        return false;
                    }
                    match session.announce(remote.wait(), &order, &policy, planning) {
                        Ok(m) => {
                            *held = Some(m);
                            announced.store(true, Ordering::SeqCst);
                            true
                        }
                        Err(e) => warn(anyhow::anyhow!(
                            "cannot write the pull marker and queue in {}: {e}",
                            remote.objdir.display()
                        )),
                    }
                };
                // A record is ready once it failed, or once its entry is in and checked (then
                // after its arrival: a build that sees every record ready has had them all).
                let progress = |p: PullProgress| {
                    if p.entry.is_none() {
                        given.fetch_add(1, Ordering::Release);
                    }
                    done.store(p.done, Ordering::Relaxed);
                };
                let read = |r| {
                    let _ = sources_read.set(r);
                };
                let entered = |i: usize| {
                    if let Some(r) = plan.manifest.records.get(i) {
                        arrivals.came(r.output());
                    }
                    given.fetch_add(1, Ordering::Release);
                };
                let report = session.run(&cancel, &progress, &order, &ready, &read, &entered);
                ended.store(true, Ordering::SeqCst);
                over.store(true, Ordering::SeqCst);
                let _ = tx.send(report);
            });
        }
        {
            let (marker, cancel) = (marker.clone(), cancel.clone());
            std::thread::spawn(move || watch(&remote, store, &ended, &cancel, &marker));
        }
        Background {
            report: rx,
            cancel,
            marker,
            announced,
            done,
        }
    }

    /// Ninja is done: cancels the pull, removes the marker, waits at most [`GRACE`] for a pull
    /// that was announced (not at all for one still preparing).
    fn finish(self) -> Outcome {
        self.cancel.cancel();
        drop(take(&self.marker));
        // Not announced (and, the marker taken, never to be): no launcher waits for what it
        // brings, and it may be reading the sources here: not worth the grace (a no-op build).
        let grace = match self.announced.load(Ordering::SeqCst) {
            true => GRACE,
            false => Duration::ZERO,
        };
        match self.report.recv_timeout(grace) {
            Ok(r) => Outcome::Report(r),
            Err(_) => Outcome::Abandoned(self.done.load(Ordering::Relaxed)),
        }
    }
}

/// Drops the marker when the pull ended or its store's breaker (`remote.stores[store]`)
/// tripped (launchers then compile at once), and stops when the pull is over or cancelled.
fn watch(
    remote: &Remote,
    store: usize,
    ended: &AtomicBool,
    cancel: &CancelToken,
    marker: &Mutex<Option<PullMarker>>,
) {
    loop {
        let tripped = remote.stores[store].breaker().trip().is_some();
        if tripped || ended.load(Ordering::SeqCst) || cancel.is_cancelled() {
            drop(take(marker));
            if ended.load(Ordering::SeqCst) || cancel.is_cancelled() {
                return;
            }
        }
        std::thread::sleep(WATCH);
    }
}

fn take<T>(marker: &Mutex<Option<T>>) -> Option<T> {
    marker.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// After Ninja: one line per failed store (`cmd::fetch::store_lines`, which also records
/// them) or per store silent long enough that launchers stopped waiting for it, the pull's
/// failed records, or that the pull was stopped; returns how many entries were pulled during
/// the build, for the summary.
pub fn report(
    remote: Option<&Remote>,
    search: Option<Search>,
    pulled: Option<Outcome>,
    total: usize,
) -> String {
    let who = WHO;
    if let Some(remote) = remote {
        crate::cmd::fetch::store_lines(who, remote);
        match search {
            Some(Search::Abandoned {
                silent: Some(t), ..
            }) => crate::cmd::fetch::silent_lines(who, remote, t),
            Some(Search::Abandoned {
                listing: Some(t), ..
            }) if t >= fetch::want::LISTING_PATIENCE => eprintln!(
                "{who}: warning: listing the revisions of {} took over {:.0} s and was not done when Ninja finished: compiles stopped waiting for CI's build after {:.0} s and compiled locally",
                remote.vcs_dir().display(),
                t.as_secs_f64().floor(),
                fetch::want::LISTING_PATIENCE.as_secs_f64()
            ),
            _ => {}
        }
    }
    match pulled {
        Some(Outcome::Report(report)) => {
            crate::cmd::fetch::report_pull(who, &report, remote);
            report.fetched.to_string()
        }
        Some(Outcome::Abandoned(done)) => {
            eprintln!(
                "{who}: pull stopped when Ninja finished ({done}/{total} records handled); complete entries stay in the cache"
            );
            format!("up to {done}")
        }
        None => "0".to_string(),
    }
}
