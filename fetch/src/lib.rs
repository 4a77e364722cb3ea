//! Local cache, remote stores, manifests, prefetching and debug-info fill (DESIGN §4, §5).
//!
//! ## Local cache
//! [`cache`]: the content-addressed cache on this machine (`$XDG_CACHE_HOME/cached-ninja`):
//! blobs, action entries, include manifests, atomic inserts, verification on every read,
//! least-recently-used eviction under a size cap; and [`cache::write_atomic`], the workspace's
//! one atomic file write.
//!
//! ## Build statistics
//! [`stats`]: the per-build counters the launcher appends to (hits, misses, uncacheable,
//! errors, time saved), read by `cached-ninja stats` and later by the build driver.
//!
//! ## Remote stores
//! [`store`]: one interface (get/put/head, blobs as verified zstd frames under `cas/`, raw
//! `ac/` and `builds/` objects) over `file://` directories, `http(s)://` servers with PUT
//! (nginx WebDAV) and `s3://` buckets (object_store); checked keys, connect, first-byte and
//! request timeouts, a slow-rate check, bounded retries of 5xx, named counters, and a circuit
//! breaker per store. [`skips`]: the stores whose breaker tripped recently, skipped by later
//! builds for a while. [`busy`]: the time with a transfer in flight, which the slow check and
//! the pull's link meter measure rates over.
//!
//! ## Signatures
//! [`signing`]: ed25519 signed envelopes around published bytes, trust sets of publisher keys,
//! secret key files (0600, atomic) and the `ed25519:<hex>` public key form policy lists.
//!
//! ## Build manifests
//! [`build_manifest`]: what CI publishes per revision (`builds/<config>/<revision>`): one record
//! per compile edge in build order holding all of its action entry (every output's role, path,
//! digest and size, captured streams, times, the include list as indices into one table of
//! headers), a versioned format with a parser that validates untrusted bytes (paths stay inside
//! the object root, size and count caps, well-formed digests), and the one code that makes a
//! record of an action entry (publish) and the entry of a record (pull).
//!
//! ## The object directory
//! [`objdir`]: the one owner of the paths under `<objdir>/.cached-ninja/` and its config file.
//!
//! ## Publishing and pulling
//! [`action_log`]: which actions a build used, in order (written by the launcher).
//! [`edge_log`]: what each compile edge's launch did in the last build (`cached-ninja explain`).
//! [`last_pull`]: which CI build the last pull used, with each output's keys.
//! [`publish`]: CI's side: blobs, signed entries, then the signed build manifest.
//! [`published`]: the form entries and manifests take in a store (zstd inside a signature).
//! [`preimages`]: what CI's source keys hashed, published beside the manifest for `explain`.
//! [`ancestry`]: the ancestors of the working revision (git, Mercurial), nearest first.
//! [`plan`]: the nearest ancestor with a trusted build manifest in a store (parallel `HEAD`s).
//! [`pull`]: a manifest's blobs into the local cache, verified, each record's entry after its
//! blobs, wanted keys first, then in the prefetch order the caller gives; no entry is fetched.
//! [`download`]: one blob into the local cache, once for all pulls sharing it, resumed when an
//! earlier download was cut short.
//! [`dispatch`]: which record the pull takes next; wanted keys never wait behind prefetch.
//! [`want`]: files through which launchers ask a running pull for the keys they wait on, and
//! read its queue and measured link to decide whether waiting beats compiling.
//! [`parallel`]: the bounded parallel-for (blocking I/O on worker threads) all of these use.
//! [`process`]: a writer as pid and start time, and whether it still runs (markers, temporaries).
//!
//! Not built yet: the prefetch daemon (DESIGN §5; [`want`] is its file-based stand-in inside
//! `cached-ninja build`) and dbgfetch.
#![deny(missing_docs)]

pub mod action_log;
pub mod ancestry;
pub mod build_manifest;
pub mod busy;
pub mod cache;
pub mod dispatch;
pub mod download;
pub mod edge_log;
pub mod flock;
pub mod last_pull;
mod log_file;
pub mod objdir;
pub mod parallel;
pub mod plan;
pub mod preimages;
pub mod process;
pub mod publish;
pub mod published;
pub mod pull;
pub mod signing;
pub mod skips;
pub mod stats;
pub mod store;
pub mod want;
mod zframe;

// `crate::hex`: the hex codec of digests, also used for signing keys.
use cn_digest::hex;
