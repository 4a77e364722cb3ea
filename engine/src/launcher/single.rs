//! clang `-gsplit-dwarf=single` objects on the compile path (DESIGN §6): the `.dwo` sections
//! stay inside the object, so one file holds what the linker needs and the debug part.
//!
//! A miss stores two blobs: the object without its `.dwo` sections
//! ([`fetch::cache::Role::StrippedObject`], what a pull downloads) and a debug bundle
//! ([`fetch::cache::Role::DebugBundle`], `splitdwarf::bundle`: the `.dwo` and what gives the
//! whole object back), recorded at `<object>` + [`BUNDLE_SUFFIX`] (a build manifest names each
//! output path once). The miss leaves the compiler's whole object on disk, as a plain compile.
//! A hit whose bundle is in the local cache writes the whole object again, byte for byte; one
//! without it writes the stripped object and leaves the debug part to `dbgfetch fill`. The
//! link is the same either way: linkers drop `.dwo` sections (`SHF_EXCLUDE`).

use splitdwarf::{BundleKind, Bundled};

/// Appended to the object's path for the debug bundle's recorded path.
pub(super) const BUNDLE_SUFFIX: &str = ".dwo-bundle";

/// The stripped object and debug bundle of a `=single` object; `None` when it holds no
/// `.dwo` sections (no debug info) or cannot be split: then it is stored whole.
pub(super) fn split(object: &[u8]) -> Option<Bundled> {
    let b = splitdwarf::bundle(object, BundleKind::Dwo).ok()?;
    let info = splitdwarf::bundle_info(&b.bundle).ok()?;
    (info.dwo_len > 0).then_some(b)
}

/// The whole object from its stripped object and debug bundle.
pub(super) fn rejoin(stripped: &[u8], bundle: &[u8]) -> splitdwarf::Result<Vec<u8>> {
    splitdwarf::unbundle(stripped, bundle)
}
