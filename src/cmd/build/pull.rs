//! The pull beside Ninja (DESIGN §1, §5; issue 16): found before Ninja starts, run on a thread
//! of its own, and never waited for once Ninja is done.
//!
//! - [`find`] opens the stores, presets the breakers of those a recent build found dead
//!   (`fetch::skips`, so they cost no network wait) and looks for CI's nearest ancestor build.
//! - [`Background::start`] computes the prefetch order (`engine::order`: policy boosts, then
//!   `[fetch] prefetch`), announces the pull to the launchers (the queue, the marker) and runs
//!   it. A
//!   watcher drops the marker as soon as the pull ends or the store's breaker trips, so
//!   launchers waiting for an entry compile at once instead of waiting out their budget.
//! - [`Background::finish`], called when Ninja exits, cancels the pull, drops the marker and
//!   waits at most [`GRACE`] for the pull's report: an entry whose blobs are all in the local
//!   cache stays (inserts are atomic), a download in flight is abandoned with the thread when
//!   the process exits.
//! - `cmd::fetch::store_lines` is the one warning line per store that failed: what happened
//!   and what it cost.

use crate::remote::{Remote, RemoteArgs};
use engine::pull::CancelToken;
use fetch::plan::Plan;
use fetch::pull::{PullProgress, PullReport};
use fetch::signing::Trust;
use fetch::want::PullMarker;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for the pull's report after Ninja exits.
pub const GRACE: Duration = Duration::from_millis(100);

/// How often the watcher looks at the pull and the store's breaker.
const WATCH: Duration = Duration::from_millis(20);

/// What [`find`] found: the opened stores (for the warning lines, even without a plan) and
/// the plan to pull, if any.
pub struct Found {
    /// The policy's stores (none with `--no-fetch` or without stores).
    pub remote: Option<Arc<Remote>>,
    /// The nearest ancestor build and the trust it was verified with.
    pub plan: Option<(Plan, Trust)>,
    /// Wall time spent finding it (the build waited for all of it).
    pub waited: Duration,
}

/// Opens the stores and finds CI's nearest ancestor build. A bad policy file is an error; any
/// other problem is a warning line (one per store when stores failed), and the build then
/// compiles locally.
pub fn find(args: &RemoteArgs) -> anyhow::Result<Found> {
    let start = Instant::now();
    let remote = Remote::open(args, false)?;
    for why in &remote.unusable {
        eprintln!("cached-ninja build: warning: {why}; not using that store");
    }
    if remote.stores.is_empty() {
        return Ok(Found {
            remote: None,
            plan: None,
            waited: start.elapsed(),
        });
    }
    remote.skip_recently_failed();
    let remote = Arc::new(remote);
    let all_skipped = remote.stores.iter().all(|s| s.breaker().trip().is_some());
    // Every store skipped: not even the revisions are listed.
    let plan = if all_skipped {
        None
    } else {
        match crate::cmd::fetch::find_plan(&remote, None) {
            Ok(p) => Some(p),
            Err(e) => {
                let first_build = matches!(
                    e.downcast_ref::<fetch::plan::PlanError>(),
                    Some(fetch::plan::PlanError::NothingPublished { .. })
                );
                // A failed store has its own line (store_lines); say the rest. A history
                // nothing was published from yet (CI's first build) is no fault: a note.
                if first_build {
                    eprintln!("cached-ninja build: {e:#}; compiling locally");
                } else if !remote.stores.iter().all(|s| s.breaker().trip().is_some()) {
                    eprintln!("cached-ninja build: warning: {e:#}; compiling locally");
                }
                None
            }
        }
    };
    let plan = plan.and_then(|(plan, trust)| {
        eprintln!("{plan}");
        let session = crate::cmd::fetch::session(&remote, &plan, &trust);
        match crate::cmd::fetch::prepare(&remote, &session) {
            Ok(()) => Some((plan, trust)),
            Err(e) => {
                eprintln!("cached-ninja build: warning: {e:#}; compiling locally");
                None
            }
        }
    });
    Ok(Found {
        remote: Some(remote),
        plan,
        waited: start.elapsed(),
    })
}

/// A pull running beside Ninja.
pub struct Background {
    report: mpsc::Receiver<PullReport>,
    cancel: CancelToken,
    marker: Arc<Mutex<Option<PullMarker>>>,
    /// Records handled so far.
    pub done: Arc<AtomicUsize>,
    /// Records in the plan.
    pub total: usize,
}

/// What the pull did, as far as the build waited for it.
pub enum Outcome {
    /// It ended (done, stopped by its store, or cancelled) within the grace time.
    Report(PullReport),
    /// Still in a request when Ninja was done: abandoned after this many records.
    Abandoned(usize),
}

impl Background {
    /// Announces the pull to the launchers and starts it; `cancel` is also the token Ctrl-C
    /// sets.
    pub fn start(
        remote: Arc<Remote>,
        plan: Plan,
        trust: Trust,
        cancel: CancelToken,
    ) -> anyhow::Result<Background> {
        let session = crate::cmd::fetch::session(&remote, &plan, &trust);
        let policy = remote.edge_policy(&plan.manifest);
        let order = session.prefetch_order(remote.prefetch, &policy);
        let marker = session
            .announce(remote.wait(), &order, &policy)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot write the pull marker and queue in {}: {e}",
                    remote.objdir.display()
                )
            })?;
        drop(session);
        let marker = Arc::new(Mutex::new(Some(marker)));
        let done = Arc::new(AtomicUsize::new(0));
        let (total, store) = (plan.manifest.records.len(), plan.store);
        let (tx, rx) = mpsc::channel();
        let ended = Arc::new(std::sync::atomic::AtomicBool::new(false));
        {
            let (remote, cancel, done, ended) =
                (remote.clone(), cancel.clone(), done.clone(), ended.clone());
            std::thread::spawn(move || {
                let session = crate::cmd::fetch::session(&remote, &plan, &trust);
                let progress = |p: PullProgress| done.store(p.done, Ordering::Relaxed);
                let report = session.run(&cancel, &progress, &order);
                ended.store(true, Ordering::SeqCst);
                let _ = tx.send(report);
            });
        }
        {
            let (marker, cancel) = (marker.clone(), cancel.clone());
            std::thread::spawn(move || watch(&remote, store, &ended, &cancel, &marker));
        }
        Ok(Background {
            report: rx,
            cancel,
            marker,
            done,
            total,
        })
    }

    /// Ninja is done: cancels the pull, removes the marker, waits at most [`GRACE`].
    pub fn finish(self) -> Outcome {
        self.cancel.cancel();
        drop(take(&self.marker));
        match self.report.recv_timeout(GRACE) {
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
    ended: &std::sync::atomic::AtomicBool,
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

fn take(marker: &Mutex<Option<PullMarker>>) -> Option<PullMarker> {
    marker.lock().unwrap_or_else(|e| e.into_inner()).take()
}

/// After Ninja: one line per failed store (`cmd::fetch::store_lines`, which also records
/// them), the pull's failed records, or that the pull was stopped; returns how many entries
/// were pulled during the build, for the summary.
pub fn report(remote: Option<&Remote>, pulled: Option<Outcome>, total: usize) -> String {
    let who = "cached-ninja build";
    if let Some(remote) = remote {
        crate::cmd::fetch::store_lines(who, remote);
    }
    match pulled {
        Some(Outcome::Report(report)) => {
            crate::cmd::fetch::report_pull(who, &report);
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
