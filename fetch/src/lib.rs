//! Local cache, remote stores, manifests, prefetching and debug-info fill (DESIGN §4, §5).
//!
//! Nothing is implemented here yet; see the open issues.
#![deny(missing_docs)]
