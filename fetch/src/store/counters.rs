//! Named counters of one store, shared by its users and asserted by tests.

use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// Live counters (atomic; one set per [`Store`](super::Store)). Read them with [`Self::snapshot`].
#[derive(Debug, Default)]
pub struct StoreCounters {
    fetched: AtomicU64,
    uploaded: AtomicU64,
    already_present: AtomicU64,
    not_found: AtomicU64,
    retries: AtomicU64,
    errors: [AtomicU64; ERROR_KINDS],
}

const ERROR_KINDS: usize = 8;

/// A copy of the counters at one moment; compare it whole in tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreCounts {
    /// Objects read successfully (blobs verified, entries read).
    pub fetched: u64,
    /// Objects written (a PUT or a file rename that succeeded).
    pub uploaded: u64,
    /// Blob uploads skipped because the HEAD found the blob already there.
    pub already_present: u64,
    /// Reads that found nothing (404 or no file): a plain miss.
    pub not_found: u64,
    /// Requests sent again after a 5xx.
    pub retries: u64,
    /// Failures by kind.
    pub errors: ErrorCounts,
}

/// Failures by kind, one field per [`StoreError`] family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    /// Error statuses from the server (after retries), refused credentials included.
    pub status: u64,
    /// Timeouts and transfers below the slow rate.
    pub timeout: u64,
    /// Connections refused or broken.
    pub connect: u64,
    /// Undecodable or hash-mismatched objects.
    pub corrupt: u64,
    /// Objects over the size cap.
    pub too_large: u64,
    /// Local I/O errors.
    pub io: u64,
    /// Refused keys and URLs.
    pub bad_key: u64,
    /// Requests not sent because the store's breaker had tripped.
    pub skipped: u64,
}

impl StoreCounters {
    pub(super) fn fetched(&self) {
        self.fetched.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn uploaded(&self) {
        self.uploaded.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn already_present(&self) {
        self.already_present.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn not_found(&self) {
        self.not_found.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `e` under its kind and hands it back (for `.map_err(|e| counters.error(e))`).
    pub(super) fn error(&self, e: StoreError) -> StoreError {
        let i = match e {
            StoreError::Status { .. } | StoreError::Denied { .. } => 0,
            StoreError::Timeout { .. } | StoreError::Slow { .. } => 1,
            StoreError::Connect { .. } => 2,
            StoreError::Corrupt { .. } => 3,
            StoreError::TooLarge { .. } => 4,
            StoreError::Io { .. } => 5,
            StoreError::BadKey { .. } | StoreError::BadUrl { .. } => 6,
            StoreError::Skipped { .. } => 7,
        };
        self.errors[i].fetch_add(1, Ordering::Relaxed);
        e
    }

    /// The current values.
    pub fn snapshot(&self) -> StoreCounts {
        let e = |i: usize| self.errors[i].load(Ordering::Relaxed);
        StoreCounts {
            fetched: self.fetched.load(Ordering::Relaxed),
            uploaded: self.uploaded.load(Ordering::Relaxed),
            already_present: self.already_present.load(Ordering::Relaxed),
            not_found: self.not_found.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            errors: ErrorCounts {
                status: e(0),
                timeout: e(1),
                connect: e(2),
                corrupt: e(3),
                too_large: e(4),
                io: e(5),
                bad_key: e(6),
                skipped: e(7),
            },
        }
    }
}
