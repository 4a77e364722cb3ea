//! Build manifests (`builds/<config>/<revision>`): what CI publishes per revision (DESIGN §4).
//!
//! One record per compile edge, in build order, each with every output of the edge (an object
//! and its `.dwo`, a Rust compile's rlib, rmeta and dep-info…). Text, one line per item, paths
//! last on their line (so they may hold blanks; never a newline or NUL); `out` and `inc` lines
//! belong to the `edge` above them, and a closing count line shows the manifest was not cut
//! short:
//!
//! ```text
//! cached-ninja build 2
//! edge <source key> <action key> <compile ms>
//! out <role> <digest> <size> <output path relative to the object root>
//! inc <digest> <include path>
//! end <number of edge lines>
//! ```
//!
//! Keys and digests are 64 lowercase hex digits ([`Digest`]); numbers are decimal `u64`; a
//! role is the stored number of a [`Role`]. Every edge has at least one `out` line and no two
//! with the same path. The stripped and debug sizes of an edge are derived from its outputs'
//! roles ([`Role::is_object`], [`Role::is_debug`]), not stored.
//!
//! **Versions.** The first line carries the format version ([`BUILD_MANIFEST_VERSION`]). A
//! manifest of any other version, older or newer, is rejected with both numbers
//! ([`Reason::UnsupportedVersion`]): its edges then compile locally. Version 1 had one output
//! per edge (`edge <source> <action> <stripped size> <debug size> <ms> <path>`).
//!
//! Integrity and origin come from the signature around the manifest ([`crate::signing`]); the
//! parser still treats its input as hostile: **nothing from a manifest may write outside the
//! object root**, so every output path must be relative and normalised (no empty, `.` or `..`
//! component, no leading `/`, no NUL, at most [`Limits::max_path_len`] bytes). Include paths are
//! only hashed, never written, and may be absolute (system headers, DESIGN §3), but must be
//! normalised the same way. Sizes, counts and line lengths are capped ([`Limits`]).
//!
//! [`record`] is the one place that turns an action entry into its record (publish) and checks
//! a downloaded entry against the record it came with (pull).

pub mod record;
mod text;

use crate::cache::{Digest, Output, Role};

pub use record::RecordError;
pub use text::check_output_path;

/// The format version this code reads and writes. A new layout gets a new number.
pub const BUILD_MANIFEST_VERSION: u64 = 2;

/// First line of every build manifest of [`BUILD_MANIFEST_VERSION`].
pub const BUILD_MANIFEST_HEADER: &str = "cached-ninja build 2";

/// The first line without its version number.
const HEADER_PREFIX: &str = "cached-ninja build ";

/// Caps the parser enforces on untrusted manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most edge records in one manifest.
    pub max_records: usize,
    /// Most include lines in one record.
    pub max_includes: usize,
    /// Most output lines in one record.
    pub max_outputs: usize,
    /// Longest path in bytes.
    pub max_path_len: usize,
    /// Largest size of one output, in bytes.
    pub max_object_size: u64,
    /// Longest compile time of one edge, in milliseconds.
    pub max_compile_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_records: 1 << 20,
            max_includes: 1 << 16,
            max_outputs: 64,
            max_path_len: 4096,
            max_object_size: 64 << 30,
            max_compile_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// An include file of a compile edge: its normalised path and content digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludeHash {
    /// Normalised path (may be absolute).
    pub path: String,
    /// BLAKE3 of the file's bytes.
    pub digest: Digest,
}

/// One compile edge of a CI build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EdgeRecord {
    /// Source key (DESIGN §3).
    pub source_key: Digest,
    /// Action key (DESIGN §3).
    pub action_key: Digest,
    /// Every output of the edge, in the order of its action entry (at least one).
    pub outputs: Vec<Output>,
    /// The include list in order, with content digests.
    pub includes: Vec<IncludeHash>,
    /// Wall time of CI's compile in milliseconds.
    pub compile_ms: u64,
}

impl EdgeRecord {
    /// The edge's main output: its first object output, else its first output.
    pub fn main_output(&self) -> Option<&Output> {
        let mut objects = self.outputs.iter().filter(|o| o.role.is_object());
        objects.next().or(self.outputs.first())
    }

    /// Path of the main output ([`EdgeRecord::main_output`]), `""` for a record without outputs.
    pub fn output(&self) -> &str {
        self.main_output().map_or("", |o| o.path.as_str())
    }

    /// Bytes of the outputs a link needs ([`Role::is_object`]).
    pub fn stripped_size(&self) -> u64 {
        self.size_of(Role::is_object)
    }

    /// Bytes of the debug information split out of the objects ([`Role::is_debug`]).
    pub fn debug_size(&self) -> u64 {
        self.size_of(Role::is_debug)
    }

    fn size_of(&self, role: fn(Role) -> bool) -> u64 {
        // The parser caps the sizes so a sum cannot overflow; records built in memory saturate.
        self.outputs
            .iter()
            .filter(|o| role(o.role))
            .fold(0u64, |a, o| a.saturating_add(o.size))
    }
}

/// A build manifest: edge records in build order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildManifest {
    /// The records, in build order.
    pub records: Vec<EdgeRecord>,
}

/// Why a manifest (or one of its records) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// The input is not UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// The first line is not `cached-ninja build <version>`.
    #[error("first line is not `{HEADER_PREFIX}<version>`")]
    BadHeader,
    /// The manifest is of another format version than this code reads.
    #[error(
        "format version {found} is not supported (this cached-ninja reads version {supported}); \
         the publisher and this client must use the same format: upgrade the older one"
    )]
    UnsupportedVersion {
        /// The version on the first line.
        found: u64,
        /// [`BUILD_MANIFEST_VERSION`].
        supported: u64,
    },
    /// A line that starts with an unknown word.
    #[error("unknown line kind `{0}`")]
    UnknownLine(String),
    /// An `inc` line before any `edge` line.
    #[error("include line before the first edge")]
    IncludeBeforeEdge,
    /// An `out` line before any `edge` line.
    #[error("output line before the first edge")]
    OutputBeforeEdge,
    /// A line with too few fields.
    #[error("missing {0}")]
    MissingField(&'static str),
    /// A field that is not a decimal u64.
    #[error("{0} is not a decimal number")]
    BadNumber(&'static str),
    /// A field that is not 64 lowercase hex digits.
    #[error("{0} is not a digest (64 hex digits)")]
    BadDigest(&'static str),
    /// A role number that is not one of [`Role`]'s.
    #[error("unknown output role `{0}`")]
    BadRole(String),
    /// A path that could lead outside the object root or is otherwise not normalised.
    #[error("{what} {path:?} {why}")]
    BadPath {
        /// Which path (`output path`, `include path`).
        what: &'static str,
        /// The path (cut to 200 bytes).
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A compile time above [`Limits::max_compile_ms`] (or another capped number).
    #[error("{field} {value} exceeds the cap of {cap}")]
    TooLarge {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The cap.
        cap: u64,
    },
    /// An output larger than [`Limits::max_object_size`].
    #[error("output {path:?} of {size} bytes exceeds the cap of {cap}")]
    OutputTooLarge {
        /// The output's path (cut to 200 bytes).
        path: String,
        /// The size given.
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// The sizes of a record's outputs add up to more than a `u64`.
    #[error("output sizes add up to more than 2^64 bytes")]
    SizeOverflow,
    /// More records than [`Limits::max_records`].
    #[error("more than {0} records")]
    TooManyRecords(usize),
    /// More includes in one record than [`Limits::max_includes`].
    #[error("more than {0} includes")]
    TooManyIncludes(usize),
    /// More outputs in one record than [`Limits::max_outputs`].
    #[error("more than {0} outputs")]
    TooManyOutputs(usize),
    /// An edge without any `out` line.
    #[error("edge has no output")]
    NoOutputs,
    /// Two outputs of one edge with the same path.
    #[error("output path {0:?} is listed twice")]
    DuplicateOutput(String),
    /// No `end` line: the manifest was cut short.
    #[error("no `end` line (truncated manifest)")]
    MissingEnd,
    /// The `end` line's count differs from the records read.
    #[error("`end` says {declared} records but {found} were read")]
    CountMismatch {
        /// The count on the `end` line.
        declared: u64,
        /// Records actually read.
        found: usize,
    },
    /// The last line has no newline: the manifest was cut short.
    #[error("last line has no newline (truncated manifest)")]
    Unterminated,
    /// Bytes after the `end` line.
    #[error("data after the `end` line")]
    DataAfterEnd,
}

/// A rejected manifest: where (record index, line) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("build manifest {}line {line}: {reason}", .record.map(|r| format!("record {r}, ")).unwrap_or_default())]
pub struct ParseError {
    /// 0-based index of the record the error belongs to, if any.
    pub record: Option<usize>,
    /// 1-based line number (0 when the record was given in memory, not parsed).
    pub line: usize,
    /// What was wrong.
    pub reason: Reason,
}
