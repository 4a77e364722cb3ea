//! The circuit breaker of one store (issue 16). After the first hard failure
//! ([`StoreError::is_hard`]: refused, reset, stalled, denied, failing, too slow) every later
//! request of this [`Store`](super::Store) fails at once with [`StoreError::Skipped`], so a dead
//! store costs one failure per build instead of one per request. What tripped it, and the wall
//! time from the store's first request to the trip (what the build lost on it), is kept for the
//! build's one warning line; [`crate::skips`] records it for later builds, which start with the
//! breaker already open ([`Breaker::preset`]).

use crate::busy::BusyClock;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::StoreError;

/// Why a store's breaker tripped. The words are stored in `<objdir>/.cached-ninja/stores-down`:
/// never change one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TripKind {
    /// No connection, a reset, a stall past a timeout.
    Unreachable,
    /// Server errors after the retries, or refused credentials.
    Failing,
    /// Alive, but its bodies arrive slower than the slow rate.
    Slow,
}

impl TripKind {
    /// The stored word (also the warning line's).
    pub fn word(self) -> &'static str {
        match self {
            TripKind::Unreachable => "unreachable",
            TripKind::Failing => "failing",
            TripKind::Slow => "slow",
        }
    }

    /// The kind a stored word names.
    pub fn from_word(w: &str) -> Option<TripKind> {
        [TripKind::Unreachable, TripKind::Failing, TripKind::Slow]
            .into_iter()
            .find(|k| k.word() == w)
    }

    fn of(e: &StoreError) -> TripKind {
        match e {
            StoreError::Slow { .. } => TripKind::Slow,
            StoreError::Status { .. } | StoreError::Denied { .. } => TripKind::Failing,
            _ => TripKind::Unreachable,
        }
    }
}

/// A tripped breaker: what happened and what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trip {
    /// Why.
    pub kind: TripKind,
    /// The failure, as the store reported it (it names the URL).
    pub reason: String,
    /// Wall time from this store's first request in this process to the trip (zero when the
    /// breaker was preset from an earlier build's record).
    pub lost: Duration,
    /// When it tripped (in an earlier build when [`Trip::carried`]).
    pub at: SystemTime,
    /// Set from an earlier build's record, not by a request of this process.
    pub carried: bool,
}

/// The breaker of one store: closed until a hard failure, then open for the store's lifetime.
/// It also notes whether the store ever answered (a store that accepts connections but never
/// answers is told apart from a slow one only by that).
#[derive(Debug, Default)]
pub struct Breaker {
    trip: Mutex<Option<Trip>>,
    first_request: OnceLock<Instant>,
    first_answer: OnceLock<Instant>,
}

impl Breaker {
    /// What tripped the breaker, if it is open.
    pub fn trip(&self) -> Option<Trip> {
        self.trip.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Opens the breaker from an earlier build's record (nothing is asked of the store).
    pub fn preset(&self, trip: Trip) {
        let mut t = self.trip.lock().unwrap_or_else(|e| e.into_inner());
        t.get_or_insert(trip);
    }

    /// Fails with [`StoreError::Skipped`] when open; else notes the first request's start.
    pub(super) fn check(
        &self,
        op: &'static str,
        url: impl FnOnce() -> String,
    ) -> Result<(), StoreError> {
        if let Some(t) = self.trip() {
            return Err(StoreError::Skipped {
                op,
                url: url(),
                reason: format!("{} ({})", t.kind.word(), t.reason),
            });
        }
        self.first_request.get_or_init(Instant::now);
        Ok(())
    }

    /// Whether the store answered a request of this process (any status, even a wrong
    /// object: it is there and talking).
    pub fn answered(&self) -> bool {
        self.first_answer.get().is_some()
    }

    /// Notes how a request ended: an answer of the store, or a failure that may trip it.
    pub(super) fn ended<T>(&self, r: &Result<T, StoreError>) {
        match r {
            Ok(_) => self.heard(),
            Err(e) => {
                if matches!(
                    e,
                    StoreError::Status { .. }
                        | StoreError::Denied { .. }
                        | StoreError::Corrupt { .. }
                        | StoreError::TooLarge { .. }
                ) {
                    self.heard();
                }
                self.failed(e);
            }
        }
    }

    /// Notes that the store answered (the first time counts).
    pub(super) fn heard(&self) {
        self.first_answer.get_or_init(Instant::now);
    }

    /// Trips the breaker on a hard failure (the first one wins).
    pub(super) fn failed(&self, e: &StoreError) {
        if !e.is_hard() || matches!(e, StoreError::Skipped { .. }) {
            return;
        }
        let lost = self
            .first_request
            .get()
            .map_or(Duration::ZERO, |t| t.elapsed());
        let mut t = self.trip.lock().unwrap_or_else(|e| e.into_inner());
        t.get_or_insert_with(|| Trip {
            kind: TripKind::of(e),
            reason: e.to_string(),
            lost,
            at: SystemTime::now(),
            carried: false,
        });
    }
}

/// What a store's bodies delivered together: bytes over the time at least one was being read.
/// They share the store's link, so the store is judged on this, not on one body: sixteen
/// downloads of 16 KB/s each over a 250 KB/s link are no slow store.
#[derive(Debug, Default)]
pub(super) struct Bodies(Mutex<Flow>);

#[derive(Debug, Default)]
struct Flow {
    /// Bodies being read, and the time at least one was.
    clock: BusyClock,
    /// Bytes of every body so far.
    bytes: u64,
}

/// Measures one body as it arrives, adding it to its store's [`Bodies`]: once the body has
/// been read for [`SLOW_AFTER`] (and the store's bodies for as long), a store that delivered
/// below `min` bytes per second in all is [`StoreError::Slow`]. Small bodies that finish
/// sooner are never judged.
pub(super) struct SlowGuard<'a> {
    start: Instant,
    min: u64,
    bodies: &'a Bodies,
    counted: std::cell::Cell<u64>,
}

/// How long a body is read before its store's rate is judged.
pub const SLOW_AFTER: Duration = Duration::from_millis(500);

impl<'a> SlowGuard<'a> {
    /// Starts measuring a body of the store whose bodies are `bodies` now; `min` 0 never
    /// judges.
    pub(super) fn new(min: u64, bodies: &'a Bodies) -> SlowGuard<'a> {
        SlowGuard::started_at(min, bodies, Instant::now())
    }

    /// [`SlowGuard::new`], started at `now`.
    fn started_at(min: u64, bodies: &'a Bodies, now: Instant) -> SlowGuard<'a> {
        let mut f = bodies.0.lock().unwrap_or_else(|e| e.into_inner());
        f.clock.start(now);
        SlowGuard {
            start: now,
            min,
            bodies,
            counted: std::cell::Cell::new(0),
        }
    }

    /// Counts `bytes` read so far of this body; `Err` when the store is slower than the slow
    /// rate, once [`SLOW_AFTER`] passed.
    pub(super) fn check(&self, op: &'static str, url: &str, bytes: u64) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut f = self.bodies.0.lock().unwrap_or_else(|e| e.into_inner());
        f.bytes += bytes.saturating_sub(self.counted.replace(bytes));
        let over = now - self.start;
        let (rate, busy) = (f.clock.rate(now, f.bytes), f.clock.busy(now));
        if self.min == 0 || over < SLOW_AFTER || busy < SLOW_AFTER || rate >= self.min {
            return Ok(());
        }
        Err(StoreError::Slow {
            op,
            url: url.to_string(),
            rate,
            bodies: f.clock.active() as u64,
            over: busy,
            min: self.min,
        })
    }
}

impl Drop for SlowGuard<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut f = self.bodies.0.lock().unwrap_or_else(|e| e.into_inner());
        f.clock.end(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> StoreError {
        StoreError::Connect {
            op: "HEAD",
            url: "http://x/ac/k".into(),
            reason: "Connection refused".into(),
        }
    }

    #[test]
    fn first_hard_failure_opens_the_breaker_for_good() {
        let b = Breaker::default();
        b.check("GET", || "u".into()).unwrap();
        b.failed(&StoreError::Corrupt {
            op: "GET",
            url: "http://x/cas/a".into(),
            reason: "hash mismatch".into(),
        });
        assert!(b.trip().is_none(), "one bad object is not the store");
        b.failed(&refused());
        let t = b.trip().unwrap();
        assert_eq!(t.kind, TripKind::Unreachable);
        assert!(t.reason.contains("Connection refused") && !t.carried);
        let e = b.check("GET", || "http://x/cas/b".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "GET http://x/cas/b: not asked, the store is skipped: unreachable (HEAD http://x/ac/k: connection failed: Connection refused)"
        );
        // A later failure does not replace the first.
        b.failed(&StoreError::Status {
            op: "GET",
            url: "u".into(),
            code: 500,
            status: "500".into(),
        });
        assert_eq!(b.trip().unwrap().kind, TripKind::Unreachable);
    }

    #[test]
    fn an_answer_is_any_status_not_a_failure_to_talk() {
        let b = Breaker::default();
        b.ended::<()>(&Err(refused()));
        b.ended::<()>(&Err(StoreError::Timeout {
            op: "HEAD",
            url: "u".into(),
            after: Duration::from_secs(2),
        }));
        assert!(!b.answered(), "refused and silent are no answers");
        let b = Breaker::default();
        b.ended::<()>(&Err(StoreError::Status {
            op: "HEAD",
            url: "u".into(),
            code: 503,
            status: "503".into(),
        }));
        assert!(
            b.answered() && b.trip().is_some(),
            "a failing store still answered"
        );
        let b = Breaker::default();
        b.ended(&Ok(false));
        assert!(b.answered() && b.trip().is_none());
    }

    #[test]
    fn kinds_round_trip_and_slow_bodies_are_judged_late() {
        for k in [TripKind::Unreachable, TripKind::Failing, TripKind::Slow] {
            assert_eq!(TripKind::from_word(k.word()), Some(k));
        }
        let bodies = Bodies::default();
        let g = SlowGuard::started_at(64 << 10, &bodies, Instant::now() - Duration::from_secs(1));
        assert!(
            matches!(g.check("GET", "u", 10_000), Err(StoreError::Slow { rate, .. }) if rate < 11_000)
        );
        assert!(g.check("GET", "u", 1 << 20).is_ok());
        assert!(
            SlowGuard::new(64 << 10, &bodies)
                .check("GET", "u", 0)
                .is_ok(),
            "too early to judge"
        );
        // Nine more bodies over the same second, 10 kB each: the store delivered 100 kB/s in
        // all, no slow one, though this body alone came at 10 kB/s.
        let fresh = Bodies::default();
        let g = SlowGuard::started_at(64 << 10, &fresh, Instant::now() - Duration::from_secs(1));
        let others: Vec<_> = (0..9).map(|_| SlowGuard::new(64 << 10, &fresh)).collect();
        for o in &others {
            assert!(o.check("GET", "u", 10_000).is_ok(), "too early for it");
        }
        assert!(g.check("GET", "u", 10_000).is_ok());
        drop(others);
        // Alone at 10 kB/s, the store is slow.
        let alone = Bodies::default();
        let g = SlowGuard::started_at(64 << 10, &alone, Instant::now() - Duration::from_secs(1));
        assert!(g.check("GET", "u", 10_000).is_err());
    }
}
