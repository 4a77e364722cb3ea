//! Waiting for a running pull (DESIGN §5): a launcher whose entry is known but not here asks
//! the pull for it first (`fetch::want`) and waits, then compiles. A launcher that misses
//! while the build still looks for the pull's plan waits for the plan first, then looks
//! again ([`Launcher::wait_for_plan`]); but a search whose stores were asked and none has
//! answered for [`fetch::want::SILENT_PATIENCE`] is not waited for (a store that accepts
//! connections and never answers would otherwise hold every first compile for its
//! first-byte timeout), nor one still listing its revisions after
//! [`fetch::want::LISTING_PATIENCE`].
//! The pull inserts the entry once its objects are here (not its debug parts, DESIGN §6), so
//! the hit that follows serves the object and defers the debug part to the fill (`super::hit`).
//!
//! **Per edge** (issue 15): the pull publishes its queue and its measured link
//! (`fetch::want::queue`, `fetch::want::link_state`). A launcher waits only while the
//! expected time until its object arrives is below its limit: CI's compile time of the edge,
//! or the policy's `remote_wait` for it; otherwise it compiles at once (an object far back in
//! a slow queue is not worth a wait). The estimate is taken again every [`ALIVE`] while
//! waiting (the link may slow down). Whatever the estimate, a wait never outlasts the pull's
//! flat budget (`[fetch] wait_ms`), unless the rule's `remote_wait` is longer. Before the pull
//! measured anything (no rate yet) or without a queue (an older pull), the flat budget alone
//! decides, as before.

use super::launch::Launcher;
use super::lookup::Found;
use fetch::cache as fcache;
use fetch::want::queue::Slot;
use std::time::{Duration, Instant};

/// How often the local cache is looked at while waiting.
const POLL: Duration = Duration::from_millis(5);
/// How often the pull is checked to be still alive, and the estimate taken again, while
/// waiting.
const ALIVE: Duration = Duration::from_millis(200);
/// An expected wait below this is always taken: compiling here costs more than CI's compile
/// time (the wait for a CPU token behind other compiles, a busier machine), and the estimate
/// is rough (the rate is measured at the concurrency the pull had, not the link's capacity).
/// Measured: with CI's compile time alone 11 of 203 libgit2 edges compiled beside a
/// pull from a store on loopback (`tests/remote.rs`), with 250 ms still 2.
const ALWAYS_WORTH: Duration = Duration::from_secs(1);

impl Launcher<'_> {
    /// While a pull runs for this object root: asks it for `key` and waits for the entry
    /// while that is expected to beat compiling, until the pull gives up on it, or until the
    /// pull ends.
    pub(super) fn wait_for_pull(&self, key: &fcache::Digest) -> Option<Found> {
        let flat = self.pull.running()?;
        let slot = self.pull.slot(key);
        let budget = slot.and_then(|s| s.remote_wait).unwrap_or(flat);
        if !self.worth_waiting(slot.as_ref()) {
            return None;
        }
        self.pull.want(key).ok()?;
        let wanted = fetch::edge_log::WANTED.to_string();
        self.edge.borrow_mut().notes.push(wanted);
        let start = Instant::now();
        let found = self.wait_for(key, slot.as_ref(), budget, start);
        self.edge.borrow_mut().waited_ms += start.elapsed().as_millis() as u64;
        found
    }

    /// While the build still looks for CI's build (Ninja started first, `fetch::want`): waits
    /// until the search ended (found or given up), at most the marker's budget, and while no
    /// store answered at most until the stores have been asked for
    /// [`fetch::want::SILENT_PATIENCE`] (`CACHED_NINJA_TEST_SILENT_PATIENCE_MS` in tests; or
    /// the revisions listed for [`fetch::want::LISTING_PATIENCE`]). Whether the search ended
    /// (the lookup is then worth doing again: the pull records its include sets before it
    /// announces itself).
    pub(super) fn wait_for_plan(&self) -> bool {
        let Some(first) = self.pull.planning().filter(|_| self.plan_wait) else {
            return false;
        };
        let silent = crate::test_knobs::silent_patience();
        let start = Instant::now();
        let ended = loop {
            match self.pull.planning() {
                None => break true,
                Some(p) if p.patience_over(silent) => break false,
                Some(_) if start.elapsed() >= first.budget => break false,
                Some(_) => std::thread::sleep(POLL),
            }
        };
        self.edge.borrow_mut().waited_ms += start.elapsed().as_millis() as u64;
        ended
    }

    /// The wait of [`Launcher::wait_for_pull`] for `key` (its place in the pull's queue:
    /// `slot`), from `start`.
    fn wait_for(
        &self,
        key: &fcache::Digest,
        slot: Option<&Slot>,
        budget: Duration,
        start: Instant,
    ) -> Option<Found> {
        let mut checked = start;
        loop {
            match self.cache.get_action(key) {
                Ok(Some(e)) => return Some((*key, Box::new(e))),
                Ok(None) => {}
                Err(_) => return None,
            }
            if start.elapsed() >= budget || self.pull.given_up(key) {
                return None;
            }
            if checked.elapsed() >= ALIVE {
                self.pull.running()?;
                if !self.worth_waiting(slot) {
                    return None;
                }
                checked = Instant::now();
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the object of `slot` is expected before its limit (CI's compile time but at
    /// least [`ALWAYS_WORTH`], or the rule's `remote_wait`); with nothing to go by (no queue,
    /// no rate yet), yes.
    fn worth_waiting(&self, slot: Option<&Slot>) -> bool {
        let Some(slot) = slot else { return true };
        let Some(eta) = self.pull.link_state().and_then(|l| l.eta(slot)) else {
            return true;
        };
        eta < slot.remote_wait.unwrap_or(slot.compile.max(ALWAYS_WORTH))
    }
}
