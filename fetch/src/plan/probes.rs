//! The search's requests ([`probe_all`]): which rank is asked how, what each found, and the
//! wait of the parent's `GET` for the nearer ranks before its body is read ([`Settled`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use super::PlanRequest;
use crate::parallel;
use crate::store::{Found, Key, Store, StoreError};

/// What one request of the search found.
pub(super) enum Probe {
    Present,
    /// There, and its bytes came with the answer (a `GET`).
    Fetched(Vec<u8>),
    /// There (a `GET`'s answer said so), but its bytes could not be had: the plan's error if
    /// it is the nearest found.
    Unread(StoreError),
    /// There, its body not read: a nearer rank has a manifest (the parent's `GET`).
    Passed,
    Absent,
    Failed(StoreError),
    /// Not asked: the store's breaker is open (a hard failure in this search or a recent build).
    Skipped,
}

impl Probe {
    /// What a `HEAD` found.
    fn head(store: &Store, key: &Key) -> Probe {
        match store.head(key) {
            Ok(true) => Probe::Present,
            Ok(false) => Probe::Absent,
            Err(e) => Probe::failed(e),
        }
    }

    /// What a `GET` asked as a `HEAD` found ([`Store::get_as_head`]); `there` is called as
    /// soon as its answer says the object is there, before the body, and says whether to read
    /// it.
    fn get(store: &Store, key: &Key, there: &dyn Fn() -> bool) -> Probe {
        match store.get_as_head(key, there) {
            Ok(Found::Bytes(bytes)) => Probe::Fetched(bytes),
            Ok(Found::Unread(e)) => Probe::Unread(e),
            Ok(Found::Passed) => Probe::Passed,
            Ok(Found::Absent) => Probe::Absent,
            Err(e) => Probe::failed(e),
        }
    }

    /// A request that got no answer, or was not sent (its breaker tripped in this search, or
    /// in a recent build).
    fn failed(e: StoreError) -> Probe {
        match e {
            StoreError::Skipped { .. } => Probe::Skipped,
            e => Probe::Failed(e),
        }
    }

    /// Whether the object is there (its bytes had or not).
    pub(super) fn found(&self) -> bool {
        matches!(
            self,
            Probe::Present | Probe::Fetched(_) | Probe::Unread(_) | Probe::Passed
        )
    }

    /// Whether the store is not to be asked again in this search.
    fn down(&self) -> bool {
        match self {
            Probe::Skipped => true,
            Probe::Failed(e) => e.is_hard(),
            _ => false,
        }
    }
}

/// Runs the search's requests, ranked candidate-major (`t = ancestor × stores + store`), on
/// `parallelism` threads: ranks 0 and `stores` (the two nearest revisions in the first store)
/// `GET`s asked as `HEAD`s ([`Probe::get`]), the others `HEAD`s; returns the rank of the best
/// hit (`usize::MAX` if none) and what each request found (`None`: not started, ranked after
/// the hit).
pub(super) fn probe_all(req: &PlanRequest<'_>, keys: &[Key]) -> (usize, Vec<Option<Probe>>) {
    let n = req.stores.len();
    let total = keys.len() * n;
    let down: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
    let best = AtomicUsize::new(usize::MAX);
    let settled = Settled::new(total);
    // Ranks are handed out in order, so once a hit is found every rank below it has started:
    // no later rank needs to.
    let found = AtomicBool::new(false);
    let probe = |t: usize| {
        let (i, j) = (t / n, t % n);
        // Settled on every way out, a panic's too: a `GET` after it waits for it.
        let _settles = Settles(&settled, t);
        if down[j].load(Ordering::Relaxed) {
            return Ok(Probe::Skipped);
        }
        let hit = || {
            best.fetch_min(t, Ordering::Relaxed);
            found.store(true, Ordering::Relaxed);
        };
        // A `GET`'s hit stops the search when its answer's head comes, not at its body's end:
        // no rank after it is asked while the manifest downloads. Its body is read only if no
        // nearer rank has a manifest (it waits for them to answer).
        let there = || {
            hit();
            settled.settle(t, true);
            settled.none_found_before(t)
        };
        let p = if t == 0 || t == n {
            Probe::get(&req.stores[j], &keys[i], &there)
        } else {
            Probe::head(&req.stores[j], &keys[i])
        };
        if p.found() {
            hit();
        }
        settled.settle(t, p.found());
        if p.down() {
            down[j].store(true, Ordering::Relaxed);
        }
        Ok(p)
    };
    let probes = parallel::infallible(parallel::map_range(
        total,
        req.parallelism,
        Some(&found),
        probe,
    ));
    (best.into_inner(), probes)
}

/// Whether each rank of the search found a manifest, once it knows: what a `GET` ranked after
/// them waits for before it reads its body.
struct Settled {
    found: Mutex<Vec<Option<bool>>>,
    changed: Condvar,
}

impl Settled {
    fn new(ranks: usize) -> Settled {
        Settled {
            found: Mutex::new(vec![None; ranks]),
            changed: Condvar::new(),
        }
    }

    /// Rank `t` knows whether it found a manifest (a find is not taken back).
    fn settle(&self, t: usize, found: bool) {
        let mut s = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if s[t] != Some(true) {
            s[t] = Some(found);
        }
        self.changed.notify_all();
    }

    /// Whether no rank before `t` found a manifest, once they all know. Each was handed out
    /// before `t` and settles within its own request's limit, so the wait is bounded.
    fn none_found_before(&self, t: usize) -> bool {
        let mut s = self.found.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s[..t].contains(&Some(true)) {
                return false;
            }
            if s[..t].iter().all(Option::is_some) {
                return true;
            }
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Settles its rank as not found when dropped, unless it settled before (a rank that ends
/// without knowing, by a panic, leaves no `GET` waiting).
struct Settles<'a>(&'a Settled, usize);

impl Drop for Settles<'_> {
    fn drop(&mut self) {
        // A find is not taken back, and a rank settled not found stays so.
        self.0.settle(self.1, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rank waits for every rank before it: released as "none found" once they all settled
    /// without one (a rank dropped unsettled counts as not found), as "found" as soon as one
    /// has one, whatever the others; a find is not taken back.
    #[test]
    fn a_rank_waits_for_the_nearer_ranks() {
        let s = Settled::new(4);
        std::thread::scope(|scope| {
            let third = scope.spawn(|| s.none_found_before(3));
            s.settle(0, false);
            drop(Settles(&s, 1));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!third.is_finished(), "rank 2 has not settled");
            s.settle(2, false);
            assert!(third.join().unwrap(), "none found");
        });
        let s = Settled::new(4);
        std::thread::scope(|scope| {
            let third = scope.spawn(|| s.none_found_before(3));
            s.settle(1, true);
            drop(Settles(&s, 1));
            assert!(
                !third.join().unwrap(),
                "rank 1 found; ranks 0 and 2 never settled"
            );
        });
        s.settle(1, false);
        assert!(!s.none_found_before(3), "still found");
        assert!(s.none_found_before(0));
    }
}
