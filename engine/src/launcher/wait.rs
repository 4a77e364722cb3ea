//! Waiting for a running pull (DESIGN §5): a launcher whose entry is known but not here asks
//! the pull for it first (`fetch::want`) and waits up to the pull's budget, then compiles.
//! The pull inserts the entry once its objects are here (not its debug parts, DESIGN §6), so
//! the hit that follows serves the object and defers the debug part to the fill (`super::hit`).

use super::launch::Launcher;
use super::lookup::Found;
use fetch::cache as fcache;
use std::time::{Duration, Instant};

/// How often the local cache is looked at while waiting.
const POLL: Duration = Duration::from_millis(5);
/// How often the pull is checked to be still alive while waiting.
const ALIVE: Duration = Duration::from_millis(200);

impl Launcher<'_> {
    /// While a pull runs for this object root: asks it for `key` and waits for the entry, up
    /// to the pull's budget, until the pull gives up on it, or until the pull ends.
    pub(super) fn wait_for_pull(&self, key: &fcache::Digest) -> Option<Found> {
        let budget = self.pull.running()?;
        self.pull.want(key).ok()?;
        let start = Instant::now();
        let found = self.wait_for(key, budget, start);
        self.edge.borrow_mut().waited_ms = start.elapsed().as_millis() as u64;
        found
    }

    /// The wait of [`Launcher::wait_for_pull`], from `start`.
    fn wait_for(&self, key: &fcache::Digest, budget: Duration, start: Instant) -> Option<Found> {
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
                checked = Instant::now();
            }
            std::thread::sleep(POLL);
        }
    }
}
