//! The pull's first checks in step with its downloads: which record is checked next, and when
//! a pulled record's entry may go in ([`FirstChecks`]).

use super::{lock, Carried};
use crate::launcher::candidates::Looked;
use fetch::pull::RecordHook;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The longest a pulled record's entry waits for its first check ([`FirstChecks`]): a launch
/// checking in full instead costs it 4–8 ms of CPU.
pub const ENTRY_WAIT: Duration = Duration::from_millis(10);

/// The pull's first checks ([`super::remember_scans`]) in step with its downloads (a
/// [`RecordHook`]): a record whose download started is checked next, else the next of the
/// prefetch order (then the records it leaves out), and a record's entry goes in only once its
/// check is done, after [`ENTRY_WAIT`], or once no more checks are made
/// ([`FirstChecks::over`]). A launch that finds a pulled entry then finds its memo too:
/// checked in the prefetch order alone, the checks fell behind the downloads on a busy machine
/// and a third of the launches checked in full. A record whose entry is in and whose check is
/// done (or will not be made) is given to `ready`, once.
pub struct FirstChecks<'a> {
    order: Vec<usize>,
    next: AtomicUsize,
    started: Mutex<VecDeque<usize>>,
    state: Vec<AtomicU8>,
    over: AtomicBool,
    checked: (Mutex<()>, Condvar),
    /// The longest an entry waits for its check ([`ENTRY_WAIT`]).
    entry_wait: Duration,
    /// Per record: [`ENTRY_IN`] and [`CHECK_OVER`] as they happen.
    entry_and_check: Vec<AtomicU8>,
    ready: &'a (dyn Fn(usize) + Sync),
    /// What the checking threads learned of the file system (listings, holders, the headers'
    /// counted candidates), kept from one [`super::remember_scans`] to the next: the checks
    /// after the pull's announcement (20 to 115 of a libgit2 pull's 224 records on two busy
    /// cores) started afresh, and counted every header's candidates again.
    pub(super) looked: Carried<Looked>,
}

/// A record's entry is in the local cache ([`FirstChecks::entered`]).
const ENTRY_IN: u8 = 1;
/// A record's check is done, or no more checks are made.
const CHECK_OVER: u8 = 2;

const TO_CHECK: u8 = 0;
const CHECKING: u8 = 1;
const CHECKED: u8 = 2;

impl<'a> FirstChecks<'a> {
    /// The checks of `records` records: those of `order` first, in that order, then the rest;
    /// an entry waits at most `entry_wait` for its check ([`ENTRY_WAIT`] but in tests); a
    /// record entered and checked is given to `ready`.
    pub fn new(
        order: &[usize],
        records: usize,
        entry_wait: Duration,
        ready: &'a (dyn Fn(usize) + Sync),
    ) -> FirstChecks<'a> {
        let mut all: Vec<usize> = order.iter().copied().filter(|&i| i < records).collect();
        let mut listed = vec![false; records];
        all.iter().for_each(|&i| listed[i] = true);
        all.extend((0..records).filter(|&i| !listed[i]));
        FirstChecks {
            order: all,
            next: AtomicUsize::new(0),
            started: Mutex::new(VecDeque::new()),
            state: (0..records).map(|_| AtomicU8::new(TO_CHECK)).collect(),
            over: AtomicBool::new(false),
            checked: (Mutex::new(()), Condvar::new()),
            entry_wait,
            entry_and_check: (0..records).map(|_| AtomicU8::new(0)).collect(),
            ready,
            looked: Carried::default(),
        }
    }

    /// Record `i`'s entry is in the local cache.
    pub fn entered(&self, i: usize) {
        self.mark(i, ENTRY_IN);
    }

    /// Adds `what` to record `i`'s state: with both, it is ready (told once).
    fn mark(&self, i: usize, what: u8) {
        let Some(s) = self.entry_and_check.get(i) else {
            return;
        };
        let before = s.fetch_or(what, Ordering::AcqRel);
        if before != ENTRY_IN | CHECK_OVER && before | what == ENTRY_IN | CHECK_OVER {
            (self.ready)(i);
        }
    }

    /// The next record to check, taken: a started download's first.
    pub(super) fn take(&self) -> Option<usize> {
        let claim = |i: usize| {
            let s = &self.state[i];
            s.compare_exchange(TO_CHECK, CHECKING, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        };
        loop {
            let started = lock(&self.started).pop_front();
            match started {
                Some(i) if claim(i) => return Some(i),
                Some(_) => continue,
                None => break,
            }
        }
        loop {
            let &i = self.order.get(self.next.fetch_add(1, Ordering::Relaxed))?;
            if claim(i) {
                return Some(i);
            }
        }
    }

    /// Record `i` is checked (or has nothing to check).
    pub(super) fn done(&self, i: usize) {
        self.state[i].store(CHECKED, Ordering::Release);
        {
            let _held = lock(&self.checked.0);
            self.checked.1.notify_all();
        }
        self.mark(i, CHECK_OVER);
    }

    /// No more checks are made (all done, or stopped): entries wait no longer.
    pub fn over(&self) {
        // No more checks: what their threads learned goes (several MB each), not kept until
        // the pull's end.
        drop(self.looked.take_all());
        self.over.store(true, Ordering::Release);
        {
            let _held = lock(&self.checked.0);
            self.checked.1.notify_all();
        }
        (0..self.entry_and_check.len()).for_each(|i| self.mark(i, CHECK_OVER));
    }

    /// Whether record `i`'s entry still waits for its check.
    fn waits_for(&self, i: usize) -> bool {
        !self.over.load(Ordering::Acquire)
            && self.state.get(i).map(|s| s.load(Ordering::Acquire)) != Some(CHECKED)
    }
}

impl RecordHook for FirstChecks<'_> {
    fn started(&self, i: usize) {
        if self.waits_for(i) {
            lock(&self.started).push_back(i);
        }
    }

    fn before_entry(&self, i: usize) {
        // (A test's knob may be absurd: then the wait has no end but the check's.)
        let now = Instant::now();
        let until = now
            .checked_add(self.entry_wait)
            .unwrap_or(now + Duration::from_secs(86_400));
        let mut held = lock(&self.checked.0);
        while self.waits_for(i) {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                return;
            };
            held = self
                .checked
                .1
                .wait_timeout(held, left)
                .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_record_whose_download_started_is_checked_next() {
        let checks = FirstChecks::new(&[2, 0], 4, ENTRY_WAIT, &|_| {});
        assert_eq!(checks.take(), Some(2));
        checks.started(3);
        checks.started(2);
        assert_eq!(checks.take(), Some(3), "the started download first");
        assert_eq!(checks.take(), Some(0), "then the prefetch order");
        assert_eq!(checks.take(), Some(1), "then the records it leaves out");
        assert_eq!(checks.take(), None, "each once");
    }

    #[test]
    fn an_entry_goes_in_after_its_check() {
        // Long enough for a loaded machine: the entry must wait for the check, not time out.
        let checks = FirstChecks::new(&[0, 1], 2, Duration::from_secs(600), &|_| {});
        let checked = AtomicBool::new(false);
        checks.started(1);
        std::thread::scope(|s| {
            // The pull's thread: record 1's blobs are in, its entry waits for its check.
            let pull = s.spawn(|| {
                checks.before_entry(1);
                checked.load(Ordering::SeqCst)
            });
            // The checks' thread: the started download's record comes first. (Asserted after
            // the join: a failure must not leave the entry waiting.)
            let taken = checks.take();
            checked.store(true, Ordering::SeqCst);
            taken.into_iter().for_each(|i| checks.done(i));
            checks.over();
            assert!(pull.join().unwrap(), "the entry waited for the check");
            assert_eq!(taken, Some(1));
        });
    }

    #[test]
    fn no_entry_waits_once_the_checks_are_over() {
        let checks = FirstChecks::new(&[0], 1, ENTRY_WAIT, &|_| {});
        checks.over();
        assert!(!checks.waits_for(0));
        checks.started(0);
        checks.before_entry(0);
        // A check never made (its thread stopped) holds an entry up at most `ENTRY_WAIT`.
        let stopped = FirstChecks::new(&[0], 1, ENTRY_WAIT, &|_| {});
        stopped.before_entry(0);
        assert!(stopped.waits_for(0));
    }

    #[test]
    fn a_record_is_ready_once_its_entry_is_in_and_its_check_made() {
        let ready = Mutex::new(Vec::new());
        let tell = |i| lock(&ready).push(i);
        let checks = FirstChecks::new(&[0, 1, 2, 3], 4, ENTRY_WAIT, &tell);
        // Entered, then checked.
        checks.entered(0);
        assert!(lock(&ready).is_empty(), "not before its check");
        checks.done(0);
        // Checked, then entered (twice: told once).
        checks.done(1);
        checks.entered(1);
        checks.entered(1);
        // Entered, never checked: ready once the checks are over; never entered: never.
        checks.entered(2);
        checks.over();
        checks.over();
        assert_eq!(*lock(&ready), [0, 1, 2]);
        checks.entered(3);
        assert_eq!(
            *lock(&ready),
            [0, 1, 2, 3],
            "after the checks, at its entry"
        );
    }
}
