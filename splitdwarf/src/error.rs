//! The crate's one error type: a variant per failure, each naming what was wrong.

use crate::DwoId;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading or writing objects, bundles and packages.
///
/// Hostile input (truncated files, bad headers, overlapping sections) always ends up here,
/// never in a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with the ELF magic.
    #[error("not an ELF file")]
    NotElf,
    /// The ELF header's class, data encoding or version byte is invalid.
    #[error("unsupported ELF identification: {0}")]
    BadIdent(&'static str),
    /// The file is an ELF file but not a relocatable object (`ET_REL`).
    #[error("not a relocatable object (e_type {0})")]
    NotRelocatable(u16),
    /// Some structure lies (partly) beyond the end of the file.
    #[error("truncated file: {0} extends past the end")]
    Truncated(String),
    /// A header field has an impossible value.
    #[error("bad {what}: {detail}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// Two sections (or a section and a header) occupy the same bytes.
    #[error("sections {0} and {1} overlap")]
    Overlap(String, String),
    /// Inputs that must agree disagree on the target machine.
    #[error("wrong machine: expected e_machine {expected}, found {found}")]
    WrongMachine {
        /// Machine of the first input.
        expected: u16,
        /// Machine of the offending input.
        found: u16,
    },
    /// Removing sections would leave a dangling reference.
    #[error("cannot remove section {removed}: still referenced by {by}")]
    StillReferenced {
        /// Name of the section that would be removed.
        removed: String,
        /// What refers to it.
        by: String,
    },
    /// `split` was asked for an object with skeleton units but no `.dwo` sections.
    #[error(
        "no .dwo sections (GCC's two-file split DWARF, or not compiled with -gsplit-dwarf=single)"
    )]
    NoDwoSections,
    /// The object has no skeleton unit, so it cannot be paired with a `.dwo`.
    #[error("no skeleton compilation unit (not compiled with split DWARF?)")]
    NoSkeleton,
    /// The split units do not match the object's skeleton units.
    #[error("dwo_id mismatch: object has {object:?}, split DWARF has {dwo:?}")]
    DwoIdMismatch {
        /// Skeleton ids of the object.
        object: Vec<DwoId>,
        /// Split unit ids of the `.dwo` part.
        dwo: Vec<DwoId>,
    },
    /// Object-file level parse failure reported by the `object` crate.
    #[error("cannot parse object: {0}")]
    Object(#[from] object::Error),
    /// DWARF parse failure reported by `gimli`.
    #[error("cannot parse DWARF: {0}")]
    Dwarf(#[from] gimli::Error),
    /// The input is not a bundle of this format or version.
    #[error("not a debug bundle: {0}")]
    BadBundle(&'static str),
    /// The bundle does not belong to the stripped object it was combined with.
    #[error("bundle does not match this stripped object (BLAKE3 mismatch)")]
    BundleMismatch,
    /// zstd failed (corrupt frame, memory).
    #[error("zstd: {0}")]
    Zstd(String),
    /// thorin-dwp failed to build the package.
    #[error("packaging {input}: {source}")]
    Package {
        /// Input being processed, or `<package>` for the final step.
        input: String,
        /// thorin's error.
        source: thorin::Error,
    },
    /// thorin panicked on some input (caught; reported instead of aborting).
    #[error("packaging failed inside thorin-dwp on {0} (internal panic caught)")]
    PackagePanic(String),
    /// Writing the package object failed.
    #[error("writing the package: {0}")]
    WriteObject(object::write::Error),
    /// The caller's output failed while the package was streamed to it.
    #[error("writing the package: {0}")]
    Io(std::io::Error),
    /// The `.dwp` has no usable unit index.
    #[error("package has no .debug_cu_index")]
    NoCuIndex,
}

impl Error {
    /// Shorthand for [`Error::Malformed`].
    pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            detail: detail.into(),
        }
    }
}
