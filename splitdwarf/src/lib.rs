//! ELF/DWARF splitting, stripping, debug bundles, `.dwp` packaging and verification
//! (`../shared/DESIGN.md` §6).
//!
//! # Reading
//! `elf` (private) is a small strict reader of ELF files (header, sections, symbols); every
//! offset is checked once so later stages never index out of bounds; compressed sections
//! must be able to hold their declared size. `ext` is the
//! `object`/`gimli` glue that reads unit ids ([`DwoId`]).
//!
//! # Transforming objects
//! - [`split()`]: a clang `-gsplit-dwarf=single` object into a skeleton object and a `.dwo`
//!   (what `objcopy --strip-dwo` / `--extract-dwo` give); [`pair()`] checks GCC's two files.
//! - [`strip_debug()`]: the object without any debug section, for deferred debug info.
//! - [`bundle()`] / [`unbundle()`]: the debug part as a zstd bundle; object = stripped + bundle.
//!
//! All of these sit on `rewrite` (private), which removes sections and renumbers everything
//! that refers to them (section and symbol indices, groups, `.llvm_addrsig`).
//!
//! # Packages
//! - [`package()`]: a `.dwp` from `.dwo` files, objects or bundles (thorin-dwp).
//! - [`verify()`]: the skeleton units of a binary, and which ones a `.dwp` lacks;
//!   [`split_unit_ids`]: the units a `.dwo` holds.
//!
//! # Conventions
//! The library does no I/O: callers pass bytes (the CLI memory-maps files) and write results
//! themselves. Hostile input gives an [`Error`], never a panic. Functions over many files
//! ([`split_all`], [`package()`]) use rayon.
#![deny(missing_docs)]

pub mod bundle;
mod elf;
pub mod error;
mod ext;
pub mod package;
mod rewrite;
pub mod split;
pub mod strip;
pub mod verify;

pub use bundle::{
    bundle, bundle_dwo, bundle_info, is_bundle, unbundle, BundleInfo, BundleKind, Bundled,
};
pub use error::{Error, Result};
pub use ext::DwoId;
pub use package::{package, package_to, PackageInput, PackageRequest};
pub use split::{pair, split, split_all, Split};
pub use strip::strip_debug;
pub use verify::{skeleton_units, split_unit_ids, verify, Coverage, SkeletonUnit};
