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
//! ## Signatures
//! [`signing`]: ed25519 signed envelopes around published bytes, trust sets of publisher keys,
//! secret key files (0600, atomic) and the `ed25519:<hex>` public key form policy lists.
//!
//! ## Build manifests
//! [`build_manifest`]: what CI publishes per revision (`builds/<config>/<revision>`): one record
//! per compile edge in build order, with a parser that validates untrusted bytes (paths stay
//! inside the object root, size and count caps, well-formed digests).
//!
//! Neither signatures nor build manifests are used by publish/fetch yet; the prefetch daemon
//! and dbgfetch are not built yet, and the stores are not yet used by the launcher.
#![deny(missing_docs)]

pub mod action_log;
pub mod ancestry;
pub mod build_manifest;
pub mod cache;
mod hex;
pub mod plan;
pub mod publish;
pub mod pull;
pub mod signing;
pub mod stats;
pub mod store;
pub mod want;
