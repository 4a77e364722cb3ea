//! What a running pull measures of its link and how far it got (DESIGN §5, issue 15), and
//! the launcher's estimate of when its object arrives.
//!
//! The pull rewrites `<objdir>/.cached-ninja/pull-state` (one line, atomically) at most every
//! [`PUBLISH_EVERY`]: `<cursor> <wanted> <in flight> <bytes per s> <latency µs>`. The rate is
//! bytes over the time at least one request was in flight (an idle link, as in on-demand
//! mode, does not count as a slow one), over the last [`RECENT`] of that time, so a window in
//! flight that grows shows at once; `0` until [`MIN_SAMPLES`] records downloaded something
//! (the first few say more about setting up connections and the pull's own start on a busy
//! machine than about the link: launchers then go by the flat budget, or the policy's
//! `[fetch] bandwidth`). The latency is the shortest time one record took (a round trip or two
//! and the store's answer).
//!
//! A launcher's object arrives through the prefetch once the bytes ahead of it in the queue
//! ([`super::queue::Slot::ahead`]) are through, or through its want: wanted keys start at once
//! (their own workers, never behind prefetch) but share the link with the other wants and
//! with the few prefetches allowed beside them. [`LinkState::eta`] takes the sooner of the two.

use super::queue::Slot;
use crate::busy::BusyClock;
use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the pull rewrites its state file at most.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(50);

/// Records that must have downloaded something before the pull publishes a rate. Measured: a
/// developer's first records from a `file://` store on a busy 2-core machine took long enough
/// (one at a time, while the pull started) that launchers judged five small objects not worth
/// waiting for and compiled one of them (`tests/remote.rs`, CI).
pub const MIN_SAMPLES: u32 = 8;

/// Records a prefetch keeps in flight before the link is measured, and at least after.
pub const START_WINDOW: usize = 16;

/// The busy time the measured rate covers: the latest, so that while the window in flight
/// grows, the rate it is computed from keeps up (over all the busy time, it lagged by half
/// the pull: 40 000 records at 50 MB/s and 20 ms took 1.41x the bytes' time, against 1.07x
/// with no window at all).
pub const RECENT: Duration = Duration::from_millis(250);

/// How much busy time passes between two of the points the recent rate is measured from.
const MARK_EVERY: Duration = Duration::from_millis(10);

/// A running pull's progress and measured link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    /// Bytes of the prefetch order already taken (the queue's [`Slot::ahead`] of the next one).
    pub cursor: u64,
    /// Bytes of wanted records not yet in.
    pub wanted: u64,
    /// Records being downloaded.
    pub in_flight: u32,
    /// Measured bytes per second while busy (`0`: not measured yet).
    pub rate: u64,
    /// The shortest time one record took.
    pub latency: Duration,
}

impl LinkState {
    /// Expected time until the object of `slot` is in the local cache, if its launcher asks
    /// for it now (`None`: no rate measured yet, nothing to go by).
    pub fn eta(&self, slot: &Slot) -> Option<Duration> {
        if self.rate == 0 {
            return None;
        }
        let secs = |bytes: u64| Duration::from_secs_f64(bytes as f64 / self.rate as f64);
        // Wanted: the wants in flight share the link with at most two prefetches
        // (`crate::dispatch::PREFETCH_BESIDE_WANTS`): done once the other wanted bytes, its
        // own, and the two prefetches' share of its time are through.
        let share = 1 + crate::dispatch::PREFETCH_BESIDE_WANTS as u64;
        let want = secs(self.wanted.saturating_add(slot.bytes.saturating_mul(share)));
        // Prefetched: once the bytes ahead of it (and its own) are through.
        let prefetch = slot
            .ahead
            .map(|a| secs((a + slot.bytes).saturating_sub(self.cursor)));
        Some(self.latency + prefetch.map_or(want, |p| p.min(want)))
    }

    fn encode(&self) -> String {
        format!(
            "{} {} {} {} {}\n",
            self.cursor,
            self.wanted,
            self.in_flight,
            self.rate,
            self.latency.as_micros()
        )
    }

    fn decode(text: &str) -> Option<LinkState> {
        let mut f = text.split_whitespace().map(|w| w.parse::<u64>().ok());
        let mut next = || f.next().flatten();
        Some(LinkState {
            cursor: next()?,
            wanted: next()?,
            in_flight: u32::try_from(next()?).ok()?,
            rate: next()?,
            latency: Duration::from_micros(next()?),
        })
    }

    /// Reads the state file at `path`.
    pub fn read(path: &Path) -> Option<LinkState> {
        LinkState::decode(&std::fs::read_to_string(path).ok()?)
    }

    /// Writes the state file at `path` (atomically).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::cache::write_atomic_with(path, crate::cache::Durability::Unsynced, |f| {
            f.write_all(self.encode().as_bytes())
        })
    }
}

/// The pull's side: counts what is in flight and the time the link was busy, and makes the
/// [`LinkState`] to publish.
#[derive(Debug, Default)]
pub struct LinkMeter {
    cursor: AtomicU64,
    wanted: AtomicU64,
    busy: Mutex<Busy>,
    published: Mutex<Option<Instant>>,
}

#[derive(Debug, Default)]
struct Busy {
    /// Records in flight and the time at least one was.
    clock: BusyClock,
    shortest: Option<Duration>,
    /// Records that downloaded something.
    samples: u32,
    /// (busy time, bytes downloaded) every [`MARK_EVERY`] of busy time, the oldest a little
    /// over [`RECENT`] back.
    marks: VecDeque<(Duration, u64)>,
}

impl Busy {
    /// Bytes per second over the last [`RECENT`] of busy time up to `now` (over all of it
    /// while there is less), given `bytes` downloaded so far.
    fn recent_rate(&mut self, now: Instant, bytes: u64) -> u64 {
        let busy = self.clock.busy(now);
        if self.marks.back().is_none_or(|m| busy >= m.0 + MARK_EVERY) {
            self.marks.push_back((busy, bytes));
        }
        while self.marks.len() > 1 && busy >= self.marks[1].0 + RECENT {
            self.marks.pop_front();
        }
        match self.marks.front() {
            Some(&(since, then)) if busy >= since + RECENT => {
                let span = (busy - since).as_secs_f64();
                (bytes.saturating_sub(then) as f64 / span) as u64
            }
            _ => self.clock.rate(now, bytes),
        }
    }
}

impl LinkMeter {
    /// Sets the bytes of the prefetch order taken so far.
    pub fn set_cursor(&self, bytes: u64) {
        self.cursor.store(bytes, Ordering::Relaxed);
    }

    /// A wanted record of `bytes` joined (`true`) or left (`false`) the wanted set.
    pub fn wanted(&self, bytes: u64, joined: bool) {
        if joined {
            self.wanted.fetch_add(bytes, Ordering::Relaxed);
        } else {
            let _ = self
                .wanted
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                    Some(w.saturating_sub(bytes))
                });
        }
    }

    /// Records in flight.
    pub fn in_flight(&self) -> usize {
        self.busy.lock().unwrap().clock.active()
    }

    /// A record's download starts.
    pub fn start(&self) {
        self.start_at(Instant::now());
    }

    /// A record's work ended; `took` is its time when it downloaded something (records found
    /// in the local cache say nothing about the link's latency).
    pub fn end(&self, took: Option<Duration>) {
        self.end_at(Instant::now(), took);
    }

    /// The state now, given `bytes` downloaded so far.
    pub fn state(&self, bytes: u64) -> LinkState {
        self.state_at(Instant::now(), bytes)
    }

    fn start_at(&self, now: Instant) {
        self.busy.lock().unwrap().clock.start(now);
    }

    fn end_at(&self, now: Instant, took: Option<Duration>) {
        let mut b = self.busy.lock().unwrap();
        b.clock.end(now);
        if let Some(took) = took {
            b.shortest = Some(b.shortest.map_or(took, |s| s.min(took)));
            b.samples += 1;
        }
    }

    fn state_at(&self, now: Instant, bytes: u64) -> LinkState {
        let mut b = self.busy.lock().unwrap();
        let rate = b.recent_rate(now, bytes);
        let rate = if b.samples < MIN_SAMPLES { 0 } else { rate };
        LinkState {
            cursor: self.cursor.load(Ordering::Relaxed),
            wanted: self.wanted.load(Ordering::Relaxed),
            in_flight: b.clock.active() as u32,
            rate,
            latency: b.shortest.unwrap_or_default(),
        }
    }

    /// Whether [`PUBLISH_EVERY`] has passed since the last time this returned `true`.
    pub fn due(&self) -> bool {
        let mut p = self.published.lock().unwrap();
        if p.is_some_and(|t| t.elapsed() < PUBLISH_EVERY) {
            return false;
        }
        *p = Some(Instant::now());
        true
    }
}

impl LinkState {
    /// How many records of `mean` bytes a prefetch keeps in flight: twice what fills the
    /// measured link for one latency (the room in which a faster link shows), at least
    /// [`START_WINDOW`]. More only share the link: each arrives later, all of them together,
    /// and the prefetch order is lost (256 in flight over HTTP/2 at 1 MB/s made a developer's
    /// build slower than 16 over HTTP/1.1).
    pub fn window(&self, mean: u64) -> usize {
        (2 * self.fill(mean) + 2).max(START_WINDOW)
    }

    /// How many records of `mean` bytes keep the measured link busy for one latency (its
    /// bandwidth × latency, rounded up); 0 before it is measured.
    pub fn fill(&self, mean: u64) -> usize {
        if self.rate == 0 || mean == 0 {
            return 0;
        }
        (self.rate as f64 * self.latency.as_secs_f64() / mean as f64).ceil() as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_twice_what_fills_the_link() {
        let s = |rate, ms| LinkState {
            rate,
            latency: Duration::from_millis(ms),
            ..LinkState::default()
        };
        // Not measured yet: the start.
        assert_eq!(s(0, 20).window(10_000), START_WINDOW);
        assert_eq!(s(0, 20).fill(10_000), 0);
        assert_eq!(s(50_000_000, 20).fill(10_000), 100);
        // 1 MB/s, 5 ms, 10 kB records: half a record fills it; the floor holds.
        assert_eq!(s(1_000_000, 5).window(10_000), START_WINDOW);
        // 50 MB/s, 20 ms: 100 records fill it.
        assert_eq!(s(50_000_000, 20).window(10_000), 202);
        // A link measured through a window doubles it (plus two) at the next look.
        let through_16 = s(16 * 10_000 * 1000 / 20, 20);
        assert_eq!(through_16.window(10_000), 34);
    }

    fn slot(ahead: Option<u64>, bytes: u64) -> Slot {
        Slot {
            ahead,
            bytes,
            compile: Duration::from_millis(100),
            remote_wait: None,
        }
    }

    #[test]
    fn eta_is_the_sooner_of_prefetch_and_want() {
        let s = LinkState {
            cursor: 1_000_000,
            wanted: 0,
            in_flight: 4,
            rate: 1_000_000,
            latency: Duration::from_millis(20),
        };
        // Next in the prefetch: its own bytes.
        let near = s.eta(&slot(Some(1_000_000), 100_000)).unwrap();
        assert_eq!(near, Duration::from_millis(120));
        // Far back: the want (its bytes at a third of the link) is sooner.
        let far = s.eta(&slot(Some(50_000_000), 100_000)).unwrap();
        assert_eq!(far, Duration::from_millis(320));
        // Never prefetched: the want only; behind other wants.
        let wanted = LinkState {
            wanted: 2_000_000,
            ..s
        };
        let w = wanted.eta(&slot(None, 100_000)).unwrap();
        assert_eq!(w, Duration::from_millis(2320));
        assert_eq!(LinkState { rate: 0, ..s }.eta(&slot(None, 1)), None);
    }

    #[test]
    fn state_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pull-state");
        let s = LinkState {
            cursor: 1,
            wanted: 2,
            in_flight: 3,
            rate: 4,
            latency: Duration::from_micros(5),
        };
        s.write(&p).unwrap();
        assert_eq!(LinkState::read(&p), Some(s));
    }

    #[test]
    fn rate_is_the_last_quarter_second_of_busy_time() {
        let m = LinkMeter::default();
        let t = Instant::now();
        let ms = Duration::from_millis;
        for _ in 0..MIN_SAMPLES {
            m.start_at(t);
            m.end_at(t, Some(ms(20)));
        }
        m.start_at(t);
        // 1 MB/s for a second, looked at every 10 ms.
        for i in 0..=100 {
            assert!(m.state_at(t + ms(10 * i), 10_000 * i).rate <= 1_000_000);
        }
        // Then 10 MB/s: after RECENT, the rate is the new one, not the mean since the start.
        let mut bytes = 1_000_000;
        for i in 1..=30 {
            bytes += 100_000;
            let s = m.state_at(t + ms(1000 + 10 * i), bytes);
            if i == 30 {
                assert_eq!(s.rate, 10_000_000);
            }
        }
        // Busy time only: an idle second between does not lower it.
        m.end_at(t + ms(1300), None);
        m.start_at(t + ms(2300));
        assert_eq!(m.state_at(t + ms(2300), bytes).rate, 10_000_000);
    }

    #[test]
    fn rate_counts_busy_time_only() {
        let m = LinkMeter::default();
        let t = Instant::now();
        let ms = Duration::from_millis;
        assert_eq!(m.state_at(t, 0).rate, 0);
        // Records that took no busy time of their own, up to two short of a rate.
        for _ in 0..MIN_SAMPLES - 2 {
            m.start_at(t);
            m.end_at(t, Some(ms(30)));
        }
        // Two overlapping downloads over 0..30 ms, then idle until 80 ms, one more 80..100 ms.
        m.start_at(t);
        m.start_at(t + ms(10));
        m.end_at(t + ms(20), Some(ms(25)));
        // One record short: bytes and busy time, but no rate yet.
        assert_eq!(m.state_at(t + ms(25), 30_000).rate, 0);
        m.end_at(t + ms(30), Some(ms(20)));
        m.start_at(t + ms(80));
        let s = m.state_at(t + ms(90), 40_000);
        // 40 kB over 40 ms busy (the idle 50 ms do not count).
        assert_eq!((s.rate, s.in_flight), (1_000_000, 1));
        m.end_at(t + ms(100), None);
        let s = m.state_at(t + ms(500), 50_000);
        assert_eq!((s.rate, s.in_flight), (1_000_000, 0));
        assert_eq!(s.latency, ms(20));
    }
}
