//! Time with at least one transfer in flight: the clock the pull's link meter
//! (`want::link_state`) and a store's slow check (`store::breaker`) both measure rates over,
//! so that a moment with nothing in flight does not count as a slow link.

use std::time::{Duration, Instant};

/// Transfers in flight, and the time at least one was.
#[derive(Debug, Default)]
pub struct BusyClock {
    active: usize,
    since: Option<Instant>,
    total: Duration,
}

impl BusyClock {
    /// A transfer starts at `now`.
    pub fn start(&mut self, now: Instant) {
        if self.active == 0 {
            self.since = Some(now);
        }
        self.active += 1;
    }

    /// A transfer ends at `now`.
    pub fn end(&mut self, now: Instant) {
        self.active = self.active.saturating_sub(1);
        if self.active == 0 {
            if let Some(s) = self.since.take() {
                self.total += now.saturating_duration_since(s);
            }
        }
    }

    /// Transfers in flight.
    pub fn active(&self) -> usize {
        self.active
    }

    /// The busy time up to `now`.
    pub fn busy(&self, now: Instant) -> Duration {
        let current = self
            .since
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        self.total + current
    }

    /// `bytes` per second over the busy time up to `now`; 0 before any busy time.
    pub fn rate(&self, now: Instant, bytes: u64) -> u64 {
        let busy = self.busy(now);
        if busy.is_zero() {
            return 0;
        }
        (bytes as f64 / busy.as_secs_f64()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_time_with_a_transfer_in_flight_counts() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let mut c = BusyClock::default();
        assert_eq!(c.rate(t, 1000), 0);
        c.start(t);
        c.start(t + ms(10));
        c.end(t + ms(20));
        c.end(t + ms(40));
        assert_eq!(c.active(), 0);
        // Idle from 40 to 100 ms.
        c.start(t + ms(100));
        assert_eq!(c.busy(t + ms(110)), ms(50));
        assert_eq!(c.rate(t + ms(110), 50_000), 1_000_000);
    }
}
