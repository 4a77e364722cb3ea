//! Which record a pull works on next (DESIGN §5, issue 15): wanted keys first, then the
//! prefetch order the caller computed (policy boosts, then the graph's order: `engine::order`).
//!
//! Wanted keys are never delayed by prefetch: besides the `jobs` prefetch workers (which also
//! take wanted keys before their next prefetch), [`WANT_WORKERS`] workers take wanted keys only,
//! so a launcher's want starts at once even when every prefetch worker is in a request; and a
//! prefetch starts only while fewer than `jobs` records are in flight, and while a wanted
//! record is in flight only while fewer than fill the measured link for one latency (its
//! bandwidth × latency in records, [`LinkState::fill`]), or [`PREFETCH_BESIDE_WANTS`] before
//! it is measured: the link is shared by the requests in flight, so a want among 16
//! prefetches on a slow link would get a sixteenth of it, while on a link whose round trip
//! is 20 ms at 10 MB/s two requests move a tenth of what it can. Nor are more prefetches in
//! flight than the measured link needs ([`LinkState::window`]: twice its bandwidth times its
//! latency, in records), so they arrive in the prefetch order. With
//! an empty prefetch order (on-demand only) those are the only workers, and they wait for wants
//! until the pull is cancelled or every record is taken (records left out of the pull, their
//! sources changed here, are not waited for once the prefetch is over). A [`LinkMeter`] counts what is in flight and publishes the
//! measured link through the [`PullLink`] for the launchers' per-edge waits.

use crate::build_manifest::EdgeRecord;
use crate::cache::Digest;
use crate::parallel;
use crate::want::link_state::LinkMeter;
#[cfg(doc)]
use crate::want::link_state::LinkState;
use crate::want::PullLink;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Workers that take wanted keys only.
pub const WANT_WORKERS: usize = 4;

/// Records in flight (wanted ones included) under which a prefetch may start while a wanted
/// record is in flight.
pub const PREFETCH_BESIDE_WANTS: usize = 2;

/// How often the want workers look for new wants when there are none.
const POLL: Duration = Duration::from_millis(2);

/// The longest a prefetch worker waiting for room in the window sleeps before it looks again
/// (for wants and a stop; a record's end wakes one at once).
const ROOM_WAIT: Duration = Duration::from_millis(20);

/// What one record's work did: `Ok(Some(t))` when it downloaded from the store, its requests
/// taking `t` (what the [`LinkMeter`] measures the link by: not the inserts after them, nor
/// work of the caller's, which a loaded machine slows), `Err(())` when the store is gone (the
/// pull stops).
pub type Done = Result<Option<Duration>, ()>;

/// The inputs of one dispatch.
pub struct Dispatch<'a> {
    /// The manifest's records.
    pub records: &'a [EdgeRecord],
    /// Bytes each record downloads (as `downloaded` counts them).
    pub sizes: &'a [u64],
    /// The prefetch order: record indices (empty: on-demand only).
    pub order: &'a [usize],
    /// The launchers' link (`None`: no wants, no want workers).
    pub link: Option<&'a dyn PullLink>,
    /// Prefetch workers (the pull bounds them to `crate::pull::MAX_IN_FLIGHT`).
    pub jobs: usize,
    /// Set when the build is done: nothing new starts.
    pub cancel: &'a AtomicBool,
    /// Bytes downloaded so far (the work counts them).
    pub downloaded: &'a AtomicU64,
    /// Records left out of the pull (their source changed here: no launcher of this build
    /// asks for them): once the prefetch is over, the want workers stop when every other
    /// record was taken.
    pub left_out: usize,
}

impl Dispatch<'_> {
    /// Runs `work` on every record once, wanted ones first, until done, cancelled or the store
    /// is gone.
    pub fn run(&self, work: impl Fn(usize) -> Done + Sync) {
        let n = self.records.len();
        let state = State {
            index: self
                .records
                .iter()
                .enumerate()
                .map(|(i, r)| (r.action_key, i))
                .collect(),
            claimed: (0..n).map(|_| AtomicBool::new(false)).collect(),
            claimed_count: AtomicUsize::new(0),
            wanted: (0..n).map(|_| AtomicBool::new(false)).collect(),
            wanted_claim: (0..n).map(|_| AtomicBool::new(false)).collect(),
            wanted_in_flight: AtomicUsize::new(0),
            finished: (0..n).map(|_| AtomicBool::new(false)).collect(),
            prefix: std::iter::once(0)
                .chain(self.order.iter().scan(0u64, |sum, &i| {
                    *sum += self.sizes[i];
                    Some(*sum)
                }))
                .collect(),
            next: AtomicUsize::new(0),
            queue: Mutex::new(VecDeque::new()),
            gone: AtomicBool::new(false),
            prefetch_over: AtomicBool::new(false),
            meter: LinkMeter::default(),
            mean: self.sizes.iter().sum::<u64>() / n.max(1) as u64,
            room: (Mutex::new(()), Condvar::new()),
        };
        let one = |i: usize| -> Result<(), ()> { state.work(self, i, &work) };
        std::thread::scope(|s| {
            if self.link.is_some() {
                s.spawn(|| {
                    let next = || state.next_wanted_or_wait(self);
                    parallel::for_each(WANT_WORKERS, Some(self.cancel), next, one)
                });
            }
            if !self.order.is_empty() {
                let next = || state.next_prefetch(self);
                let _ = parallel::for_each(self.jobs, Some(self.cancel), next, one);
            }
            state.prefetch_over.store(true, Ordering::SeqCst);
        });
    }
}

struct State {
    index: HashMap<Digest, usize>,
    claimed: Vec<AtomicBool>,
    claimed_count: AtomicUsize,
    wanted: Vec<AtomicBool>,
    /// Taken as a want (not by the prefetch order).
    wanted_claim: Vec<AtomicBool>,
    wanted_in_flight: AtomicUsize,
    finished: Vec<AtomicBool>,
    /// Bytes of the prefetch order before position `n`.
    prefix: Vec<u64>,
    next: AtomicUsize,
    /// Wanted records taken from the link and not yet started.
    queue: Mutex<VecDeque<usize>>,
    gone: AtomicBool,
    prefetch_over: AtomicBool,
    meter: LinkMeter,
    /// The mean bytes of a record (for the window in flight).
    mean: u64,
    /// Where prefetch workers wait for room in the window: notified as each record ends.
    room: (Mutex<()>, Condvar),
}

impl State {
    fn stopped(&self, d: &Dispatch<'_>) -> bool {
        self.gone.load(Ordering::Relaxed) || d.cancel.load(Ordering::Relaxed)
    }

    /// Takes record `i` unless another worker did; a taken record is in flight from here
    /// (so a prefetch worker deciding whether to start sees a want just claimed).
    fn claim(&self, i: usize) -> bool {
        let first = !self.claimed[i].swap(true, Ordering::Relaxed);
        if first {
            self.claimed_count.fetch_add(1, Ordering::Relaxed);
            self.meter.start();
        }
        first
    }

    /// A wanted record not yet claimed, if a launcher asked for one.
    fn next_wanted(&self, d: &Dispatch<'_>) -> Option<usize> {
        let link = d.link?;
        let mut queue = self.queue.lock().unwrap();
        if queue.is_empty() {
            for k in link.take_wants() {
                match self.index.get(&k) {
                    Some(&i) => {
                        let fresh = !self.wanted[i].swap(true, Ordering::Relaxed);
                        if fresh && !self.finished[i].load(Ordering::Relaxed) {
                            self.meter.wanted(d.sizes[i], true);
                        }
                        queue.push_back(i);
                    }
                    // Not in this build: nobody will bring it, the launcher compiles now.
                    None => link.give_up(&k),
                }
            }
        }
        while let Some(i) = queue.pop_front() {
            if self.claim(i) {
                self.wanted_claim[i].store(true, Ordering::Relaxed);
                self.wanted_in_flight.fetch_add(1, Ordering::Relaxed);
                return Some(i);
            }
        }
        None
    }

    /// A want worker's next record: waits for a want until every record is claimed (after
    /// the prefetch is over), the pull is cancelled or the store is gone.
    fn next_wanted_or_wait(&self, d: &Dispatch<'_>) -> Option<usize> {
        loop {
            if self.stopped(d) {
                return None;
            }
            if let Some(i) = self.next_wanted(d) {
                return Some(i);
            }
            let all = self.claimed_count.load(Ordering::Relaxed) + d.left_out >= d.records.len();
            if all && self.prefetch_over.load(Ordering::SeqCst) {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// A prefetch worker's next record: a wanted one, else the next of the prefetch order.
    fn next_prefetch(&self, d: &Dispatch<'_>) -> Option<usize> {
        if self.stopped(d) {
            return None;
        }
        if let Some(i) = self.next_wanted(d) {
            return Some(i);
        }
        // No more are in flight than the measured link needs (`LinkState::window`); while a
        // wanted record is, only what fills the link for one latency (a want then waits about
        // that, not a share of a queue), and at least `PREFETCH_BESIDE_WANTS`.
        let limit = || {
            let state = self.meter.state(d.downloaded.load(Ordering::Relaxed));
            match self.wanted_in_flight.load(Ordering::Relaxed) {
                0 => d.jobs.clamp(1, state.window(self.mean)),
                _ => {
                    let beside = (state.fill(self.mean) + 1).max(PREFETCH_BESIDE_WANTS);
                    d.jobs.clamp(1, beside)
                }
            }
        };
        // The look and the claim under one lock: workers starting together do not all see
        // room for one. A record's end (`State::work`) takes the lock to notify, so an end
        // between a look and the wait is not missed.
        let mut room = self.room.0.lock().unwrap();
        while self.meter.in_flight() >= limit() {
            room = self.room.1.wait_timeout(room, ROOM_WAIT).unwrap().0;
            if self.stopped(d) {
                return None;
            }
            // Wants are read without the lock (the link may read files).
            drop(room);
            if let Some(i) = self.next_wanted(d) {
                return Some(i);
            }
            room = self.room.0.lock().unwrap();
        }
        loop {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let &i = d.order.get(n)?;
            self.meter.set_cursor(self.prefix[n]);
            if self.claim(i) {
                return Some(i);
            }
        }
    }

    fn work(&self, d: &Dispatch<'_>, i: usize, work: &impl Fn(usize) -> Done) -> Result<(), ()> {
        let r = work(i);
        self.meter.end(r.ok().flatten());
        {
            let _room = self.room.0.lock().unwrap();
            self.room.1.notify_one();
        }
        self.finished[i].store(true, Ordering::Relaxed);
        if self.wanted[i].load(Ordering::Relaxed) {
            self.meter.wanted(d.sizes[i], false);
        }
        if self.wanted_claim[i].load(Ordering::Relaxed) {
            self.wanted_in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(link) = d.link {
            let state = self.meter.state(d.downloaded.load(Ordering::Relaxed));
            // Nothing measured yet: the state announced with the pull (if any) stays.
            if state.rate > 0 && self.meter.due() {
                link.publish_state(&state);
            }
        }
        if r.is_err() {
            self.gone.store(true, Ordering::Relaxed);
        }
        r.map(|_| ())
    }
}
