//! Build manifests (`builds/<config>/<revision>`): what CI publishes per revision (DESIGN §4).
//!
//! One record per compile edge, in build order, each with everything a pull needs to fetch and
//! verify the edge's blobs and to make its action entry here from the verified manifest
//! ([`EdgeRecord::to_entry`]): every output of the edge (an object and its `.dwo`, a Rust
//! compile's rlib, rmeta and dep-info…), the captured streams when not empty, the compile's
//! times, and its include list. Include lists are stored once per header: a table of headers
//! with their digests first, and per record the indices into it, as ranges (`0-57 60 62-70`:
//! the table is in order of first use, so most of a list is a few runs). Text, one line per
//! item, paths last on their line (so they may hold blanks; never a newline or NUL); `out`,
//! `log` and `inc` lines belong to the `edge` above them, and a closing count line shows the
//! manifest was not cut short:
//!
//! ```text
//! cached-ninja build 3
//! hdr <digest> <include path>                (the table: the n-th `hdr` line is header n)
//! edge <source key> <action key> <cpu µs> <wall µs>
//! out <role> <digest> <size> <output path relative to the object root>
//! log <1 (stdout) | 2 (stderr)> <digest> <size>   (only when not empty)
//! inc <index or first-last> …                (the include list, in order; none: no line)
//! end <number of edge lines>
//! ```
//!
//! Keys and digests are 64 lowercase hex digits ([`Digest`]); numbers are decimal `u64`; a
//! role is the stored number of a [`Role`]. Every `hdr` line comes before the first `edge`;
//! every edge has at least one `out` line and no two with the same path, at most one `log`
//! line per stream and one `inc` line. The stripped and debug sizes of an edge are derived
//! from its outputs' roles ([`Role::is_object`], [`Role::is_debug`]), not stored.
//!
//! **Versions.** The first line carries the format version ([`BUILD_MANIFEST_VERSION`]). A
//! manifest of any other version, older or newer, is rejected with both numbers
//! ([`Reason::UnsupportedVersion`]): its edges then compile locally. Version 1 had one output
//! per edge (`edge <source> <action> <stripped size> <debug size> <ms> <path>`); version 2
//! had `edge <source> <action> <compile ms>` and an `inc <digest> <path>` line per include of
//! each record, and no captured streams (a pull fetched each signed action entry).
//!
//! Integrity and origin come from the signature around the manifest ([`crate::signing`]); the
//! parser still treats its input as hostile: **nothing from a manifest may write outside the
//! object root**, so every output path must be relative and normalised (no empty, `.` or `..`
//! component, no leading `/`, no NUL, at most [`Limits::max_path_len`] bytes). Include paths are
//! only hashed, never written, and may be absolute (system headers, DESIGN §3), but must be
//! normalised the same way. Sizes, counts and line lengths are capped ([`Limits`]).
//!
//! [`record`] is the one place that turns an action entry into its record (publish) and a
//! record back into its entry (pull).

mod reader;
pub mod record;
mod table;
mod text;

use crate::cache::{Digest, Output, Role};
use std::sync::Arc;

pub use record::RecordError;
pub use text::{check_output_path, MAX_CAPTURED_OUTPUT};

/// The format version this code reads and writes. A new layout gets a new number.
pub const BUILD_MANIFEST_VERSION: u64 = 3;

/// First line of every build manifest of [`BUILD_MANIFEST_VERSION`].
pub const BUILD_MANIFEST_HEADER: &str = "cached-ninja build 3";

/// The first line without its version number.
const HEADER_PREFIX: &str = "cached-ninja build ";

/// Caps the parser enforces on untrusted manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most edge records in one manifest.
    pub max_records: usize,
    /// Most includes in one record.
    pub max_includes: usize,
    /// Most headers in the include table.
    pub max_headers: usize,
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
            max_headers: 1 << 22,
            max_outputs: 64,
            max_path_len: 4096,
            max_object_size: 64 << 30,
            max_compile_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// An include file of a compile edge: its normalised path and content digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
    /// The include list in order, with content digests (shared with the manifest's table).
    pub includes: Vec<Arc<IncludeHash>>,
    /// Captured stdout, if not empty (blob digest, size).
    pub stdout: Option<(Digest, u64)>,
    /// Captured stderr, if not empty (blob digest, size).
    pub stderr: Option<(Digest, u64)>,
    /// CPU time of CI's compile, µs.
    pub cpu_us: u64,
    /// Wall time of CI's compile, µs.
    pub wall_us: u64,
}

impl EdgeRecord {
    /// Wall time of CI's compile in whole milliseconds, rounded up.
    pub fn compile_ms(&self) -> u64 {
        self.wall_us.div_ceil(1000)
    }

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
    /// A `log` line before any `edge` line.
    #[error("captured output line before the first edge")]
    LogBeforeEdge,
    /// A `hdr` line after the first `edge` line.
    #[error("include table line after the first edge")]
    HeaderAfterEdge,
    /// A line that may appear once per record (`inc`, one stream's `log`) given again.
    #[error("{0} given twice for one edge")]
    Repeated(&'static str),
    /// A `log` line whose stream is not 1 (stdout) or 2 (stderr).
    #[error("unknown captured stream `{0}` (1: stdout, 2: stderr)")]
    BadStream(String),
    /// An include index outside the include table.
    #[error("include index {index} is not in the table of {headers} headers")]
    BadIncludeIndex {
        /// The index given (the last of a range).
        index: u64,
        /// Headers in the table.
        headers: usize,
    },
    /// An include range whose first index is after its last.
    #[error("include range `{0}` is not `first-last` with first <= last")]
    BadRange(String),
    /// More headers in the include table than [`Limits::max_headers`].
    #[error("more than {0} headers in the include table")]
    TooManyHeaders(usize),
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
