//! The Ninja front end and everything that reasons about a build graph (DESIGN §2, §3).
//!
//! ## Ninja
//! [`ninja`] reads what ninja 1.11 reads and means the same by it: [`ninja::load()`] gives a
//! [`ninja::Manifest`] whose [`ninja::Graph`] answers inputs, outputs, producers, build
//! order and (lazily) commands; [`ninja::emit`] writes a graph back out; [`ninja::tools`]
//! prints `-t commands` / `-t targets all` byte for byte.
//!
//! ## Rewrite
//! [`rewrite`] turns a generator's Ninja files into cache-aware ones: compile edges go
//! through the launcher (twin rules), the generator edge re-applies the rewrite.
//!
//! ## Projects
//! [`project`]: the source root a CMake or Meson object directory was configured from.
//!
//! ## Search
//! [`scan`]: byte-string search without CPU-feature probing, for the launcher's hot path.
#![deny(missing_docs)]

pub mod compile;
pub mod key;
pub mod ninja;
pub mod project;
pub mod rewrite;
pub mod scan;
