//! A bandwidth cap shared by every thread using one store: each transfer reserves its bytes on
//! a virtual clock and waits for its slot, so the average rate stays under the cap (a token
//! bucket with no burst). Bytes are counted as they cross the wire (zstd frames for blobs).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cap of one store.
#[derive(Debug)]
pub struct Pace {
    bytes_per_sec: u64,
    next: Mutex<Instant>,
}

impl Pace {
    /// A cap of `bytes_per_sec` (at least 1).
    pub fn new(bytes_per_sec: u64) -> Pace {
        Pace {
            bytes_per_sec: bytes_per_sec.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits until `bytes` more may cross: uploads call it before sending, downloads after
    /// receiving (then the next transfer waits for these bytes' time).
    pub fn take(&self, bytes: u64) {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec as f64);
        let now = Instant::now();
        let start = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let start = (*next).max(now);
            *next = start + cost;
            start
        };
        if start > now {
            std::thread::sleep(start - now);
        }
    }
}
