//! Local cache, remote stores, manifests, prefetching and debug-info fill (DESIGN §4, §5).
//!
//! ## Local cache
//! [`cache`]: the content-addressed cache on this machine (`$XDG_CACHE_HOME/cached-ninja`):
//! blobs, action entries, include manifests, atomic inserts, verification on every read,
//! least-recently-used eviction under a size cap.
//!
//! ## Build statistics
//! [`stats`]: the per-build counters the launcher appends to (hits, misses, uncacheable,
//! errors, time saved), read by `cached-ninja stats` and later by the build driver.
//!
//! Remote stores, build manifests, the prefetch daemon and dbgfetch are not built yet.
#![deny(missing_docs)]

pub mod cache;
pub mod stats;
