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
//! ## Remote stores
//! [`store`]: one interface (get/put/head, blobs as verified zstd frames under `cas/`, raw
//! `ac/` and `builds/` objects) over `file://` directories and `http://` servers with PUT
//! (nginx WebDAV); checked keys, timeouts, bounded retries, named counters.
//!
//! Build manifests, the prefetch daemon and dbgfetch are not built yet, and the stores are not
//! yet used by the launcher.
#![deny(missing_docs)]

pub mod cache;
pub mod stats;
pub mod store;
