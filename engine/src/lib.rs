//! The engine: what runs one compile against the caches, and the pull that races it (DESIGN §1,
//! §3, §5). It sits above [`backend`] (command models, keys), [`fetch`] (caches, stores, pull)
//! and, for the debug-info fill, `splitdwarf`; the binaries only parse their command line,
//! read the policy and display.
//!
//! ## The launcher
//! [`launcher`]: `cached-ninja cc` and the zero-setup forms (`cached-ninja gcc …`, a CMake or
//! Meson compiler launcher), and rustc (`RUSTC_WRAPPER=cached-ninja`, `cached-ninja rustc`):
//! one launch from a compiler command to a hit, a miss or `exec`.
//!
//! ## Hits served ahead of Ninja
//! [`ahead`]: in an object directory Ninja has not built in, the hits the local cache holds
//! (and, with a pull, each record as it comes) are served in one process and entered in
//! Ninja's logs, so Ninja runs no launcher for them.
//!
//! ## The pull session
//! [`pull`]: CI's build pulled into the local cache beside a running build, one
//! [`pull::PullSession`] with a [`pull::CancelToken`] and a [`pull::ProgressSink`]; it leaves
//! out the records whose source changed here ([`launcher::local_keys`]).
//! [`order`]: its prefetch order (policy boosts, then critical path or reverse build order)
//! and the queue launchers read to decide whether waiting beats compiling.
//!
//! ## The debug-info fill
//! [`fill`]: `dbgfetch fill`: every linked binary's split units beside it (`<binary>.dwp` or
//! loose `.dwo` files), verified, with coverage recorded per binary (DESIGN §6).
//!
//! ## CPU tokens
//! [`jobserver`]: the GNU make jobserver through which `cached-ninja build` lets at most one
//! compiler per core run, and the token a launcher holds while its compiler runs.
//!
//! ## Child processes
//! [`child`]: children waited for unreaped, killed as a group, our signals passed on to them.
//!
//! [`test_knobs`]: the `CACHED_NINJA_TEST_*` stalls and waits the tests set.
#![deny(missing_docs)]

pub mod ahead;
pub mod child;
pub mod fill;
pub mod jobserver;
pub mod launcher;
pub mod order;
pub mod pull;
pub mod test_knobs;
