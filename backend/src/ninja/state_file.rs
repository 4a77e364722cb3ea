//! What can go wrong adding to Ninja's own files ([`super::build_log`], [`super::deps_log`]).

use std::path::{Path, PathBuf};

/// Why an entry could not be added to one of Ninja's files; Ninja then runs the edge.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is of a version the next Ninja would not keep our entries in.
    #[error("{path} is {found:?}, not the version this Ninja writes; leaving it to Ninja")]
    OtherVersion {
        /// The file.
        path: PathBuf,
        /// Its first line or version.
        found: String,
    },
    /// The file does not read as Ninja writes it (Ninja would cut it there).
    #[error("{path} is damaged at byte {at}; leaving it to Ninja")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Where it stops reading as Ninja's.
        at: u64,
    },
    /// The file changed since it was read (another Ninja wrote or compacted it).
    #[error("{path} changed while we added to it; leaving it to Ninja")]
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A path the file cannot hold as it is (a line break, or too long a record).
    #[error("{path} cannot hold the path {what:?}")]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// The path.
        what: String,
    },
}

/// [`StateError::Io`] of `path` (for callers that write beside these files too).
pub fn io_err(path: &Path, source: std::io::Error) -> StateError {
    StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}
