//! Build manifests (`builds/<config>/<revision>`): what CI publishes per revision (DESIGN §4).
//!
//! One record per compile edge, in build order. Text, one line per item, paths last on their
//! line (so they may hold blanks; never a newline or NUL), `inc` lines belong to the `edge` above
//! them, and a closing count line shows the manifest was not cut short:
//!
//! ```text
//! cached-ninja build 1
//! edge <source key> <action key> <stripped size> <debug size> <compile ms> <output path>
//! inc <digest> <include path>
//! end <number of edge lines>
//! ```
//!
//! Keys and digests are 64 lowercase hex digits ([`Digest`]); numbers are decimal `u64`.
//! Integrity and origin come from the signature around the manifest ([`crate::signing`]); the
//! parser still treats its input as hostile: **nothing from a manifest may write outside the
//! object root**, so an output path must be relative and normalised (no empty, `.` or `..`
//! component, no leading `/`, no NUL, at most [`Limits::max_path_len`] bytes). Include paths are
//! only hashed, never written, and may be absolute (system headers, DESIGN §3), but must be
//! normalised the same way. Sizes, counts and line lengths are capped ([`Limits`]).

use crate::cache::Digest;
use std::fmt::Write;

/// First line of every build manifest. Must never change; a new layout gets a new number.
pub const BUILD_MANIFEST_HEADER: &str = "cached-ninja build 1";

/// Caps the parser enforces on untrusted manifests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most edge records in one manifest.
    pub max_records: usize,
    /// Most include lines in one record.
    pub max_includes: usize,
    /// Longest path in bytes.
    pub max_path_len: usize,
    /// Largest stripped or debug size of one object, in bytes.
    pub max_object_size: u64,
    /// Longest compile time of one edge, in milliseconds.
    pub max_compile_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_records: 1 << 20,
            max_includes: 1 << 16,
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
    /// The object's path relative to the object root.
    pub output: String,
    /// Source key (DESIGN §3).
    pub source_key: Digest,
    /// Action key (DESIGN §3).
    pub action_key: Digest,
    /// The include list in order, with content digests.
    pub includes: Vec<IncludeHash>,
    /// Size of the stripped object in bytes.
    pub stripped_size: u64,
    /// Size of the debug bundle in bytes.
    pub debug_size: u64,
    /// Wall time of CI's compile in milliseconds.
    pub compile_ms: u64,
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
    /// The first line is not [`BUILD_MANIFEST_HEADER`].
    #[error("first line is not `{BUILD_MANIFEST_HEADER}`")]
    BadHeader,
    /// A line that starts with an unknown word.
    #[error("unknown line kind `{0}`")]
    UnknownLine(String),
    /// An `inc` line before any `edge` line.
    #[error("include line before the first edge")]
    IncludeBeforeEdge,
    /// A line with too few fields.
    #[error("missing {0}")]
    MissingField(&'static str),
    /// A field that is not a decimal u64.
    #[error("{0} is not a decimal number")]
    BadNumber(&'static str),
    /// A field that is not 64 lowercase hex digits.
    #[error("{0} is not a digest (64 hex digits)")]
    BadDigest(&'static str),
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
    /// A size above [`Limits::max_object_size`] or a time above [`Limits::max_compile_ms`].
    #[error("{field} {value} exceeds the cap of {cap}")]
    TooLarge {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The cap.
        cap: u64,
    },
    /// More records than [`Limits::max_records`].
    #[error("more than {0} records")]
    TooManyRecords(usize),
    /// More includes in one record than [`Limits::max_includes`].
    #[error("more than {0} includes")]
    TooManyIncludes(usize),
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

impl BuildManifest {
    /// Parses untrusted bytes with the default [`Limits`].
    pub fn parse(bytes: &[u8]) -> Result<BuildManifest, ParseError> {
        BuildManifest::parse_with(bytes, &Limits::default())
    }

    /// Parses untrusted bytes, enforcing `limits`.
    pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<BuildManifest, ParseError> {
        let err = |record, line, reason| ParseError {
            record,
            line,
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| err(None, 0, Reason::NotUtf8))?;
        if !text.is_empty() && !text.ends_with('\n') {
            let last = text.split_terminator('\n').count();
            return Err(err(None, last, Reason::Unterminated));
        }
        let mut lines = text
            .split_terminator('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l));
        if lines.next().map(|(_, l)| l) != Some(BUILD_MANIFEST_HEADER) {
            return Err(err(None, 1, Reason::BadHeader));
        }
        let mut records: Vec<EdgeRecord> = Vec::new();
        let mut ended = false;
        for (n, line) in lines.by_ref() {
            let current = records.len().checked_sub(1);
            let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
            match kind {
                "edge" => {
                    if records.len() >= limits.max_records {
                        let r = Reason::TooManyRecords(limits.max_records);
                        return Err(err(Some(records.len()), n, r));
                    }
                    let rec =
                        parse_edge(rest, limits).map_err(|r| err(Some(records.len()), n, r))?;
                    records.push(rec);
                }
                "inc" => {
                    let Some(i) = current else {
                        return Err(err(None, n, Reason::IncludeBeforeEdge));
                    };
                    let rec = &mut records[i];
                    if rec.includes.len() >= limits.max_includes {
                        let r = Reason::TooManyIncludes(limits.max_includes);
                        return Err(err(Some(i), n, r));
                    }
                    let inc = parse_include(rest, limits).map_err(|r| err(Some(i), n, r))?;
                    rec.includes.push(inc);
                }
                "end" => {
                    let declared: u64 =
                        number(rest, "record count").map_err(|r| err(None, n, r))?;
                    if declared != records.len() as u64 {
                        let found = records.len();
                        return Err(err(None, n, Reason::CountMismatch { declared, found }));
                    }
                    ended = true;
                    break;
                }
                other => {
                    let kind = other.chars().take(40).collect();
                    return Err(err(current, n, Reason::UnknownLine(kind)));
                }
            }
        }
        if !ended {
            return Err(err(None, 0, Reason::MissingEnd));
        }
        if let Some((n, _)) = lines.next() {
            return Err(err(None, n, Reason::DataAfterEnd));
        }
        Ok(BuildManifest { records })
    }

    /// Serialises the manifest; fails on a record that [`BuildManifest::parse`] would reject.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ParseError> {
        let limits = Limits::default();
        let err = |i, reason| ParseError {
            record: Some(i),
            line: 0,
            reason,
        };
        if self.records.len() > limits.max_records {
            let r = Reason::TooManyRecords(limits.max_records);
            return Err(err(limits.max_records, r));
        }
        let mut s = String::new();
        let _ = writeln!(s, "{BUILD_MANIFEST_HEADER}");
        for (i, r) in self.records.iter().enumerate() {
            check_record(r, &limits).map_err(|reason| err(i, reason))?;
            let _ = writeln!(
                s,
                "edge {} {} {} {} {} {}",
                r.source_key, r.action_key, r.stripped_size, r.debug_size, r.compile_ms, r.output
            );
            for inc in &r.includes {
                let _ = writeln!(s, "inc {} {}", inc.digest, inc.path);
            }
        }
        let _ = writeln!(s, "end {}", self.records.len());
        Ok(s.into_bytes())
    }
}

/// The checks [`BuildManifest::parse`] applies to one record, for records built in memory.
fn check_record(r: &EdgeRecord, limits: &Limits) -> Result<(), Reason> {
    check_path(&r.output, "output path", false, limits)?;
    cap("stripped size", r.stripped_size, limits.max_object_size)?;
    cap("debug size", r.debug_size, limits.max_object_size)?;
    cap("compile time (ms)", r.compile_ms, limits.max_compile_ms)?;
    if r.includes.len() > limits.max_includes {
        return Err(Reason::TooManyIncludes(limits.max_includes));
    }
    for inc in &r.includes {
        check_path(&inc.path, "include path", true, limits)?;
    }
    Ok(())
}

fn parse_edge(rest: &str, limits: &Limits) -> Result<EdgeRecord, Reason> {
    let mut f = rest.splitn(6, ' ');
    let mut field = |name| f.next().ok_or(Reason::MissingField(name));
    let source_key = digest(field("source key")?, "source key")?;
    let action_key = digest(field("action key")?, "action key")?;
    let stripped_size = number(field("stripped size")?, "stripped size")?;
    let debug_size = number(field("debug size")?, "debug size")?;
    let compile_ms = number(field("compile time (ms)")?, "compile time (ms)")?;
    let output = field("output path")?.to_string();
    let rec = EdgeRecord {
        output,
        source_key,
        action_key,
        includes: Vec::new(),
        stripped_size,
        debug_size,
        compile_ms,
    };
    check_record(&rec, limits)?;
    Ok(rec)
}

fn parse_include(rest: &str, limits: &Limits) -> Result<IncludeHash, Reason> {
    let (d, path) = rest
        .split_once(' ')
        .ok_or(Reason::MissingField("include path"))?;
    let digest = digest(d, "include digest")?;
    check_path(path, "include path", true, limits)?;
    Ok(IncludeHash {
        path: path.to_string(),
        digest,
    })
}

fn digest(s: &str, what: &'static str) -> Result<Digest, Reason> {
    // Lowercase only: one spelling per digest, as the cache writes them.
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(Reason::BadDigest(what));
    }
    Digest::from_hex(s).ok_or(Reason::BadDigest(what))
}

fn number(s: &str, what: &'static str) -> Result<u64, Reason> {
    // Digits only: `u64::from_str` would also take a leading `+`.
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::BadNumber(what));
    }
    s.parse().map_err(|_| Reason::BadNumber(what))
}

fn cap(field: &'static str, value: u64, cap: u64) -> Result<(), Reason> {
    if value > cap {
        return Err(Reason::TooLarge { field, value, cap });
    }
    Ok(())
}

/// Checks an output path from untrusted data: relative, normalised, inside the object root.
pub fn check_output_path(path: &str) -> Result<(), Reason> {
    check_path(path, "output path", false, &Limits::default())
}

/// Checks that `path` is normalised and, unless `absolute_ok`, stays inside its root.
fn check_path(
    path: &str,
    what: &'static str,
    absolute_ok: bool,
    limits: &Limits,
) -> Result<(), Reason> {
    let bad = |why| Reason::BadPath {
        what,
        path: cut(path, 200),
        why,
    };
    if path.is_empty() {
        return Err(bad("is empty"));
    }
    if path.len() > limits.max_path_len {
        return Err(bad("is too long"));
    }
    if path.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    if path.contains('\n') || path.contains('\r') {
        return Err(bad("contains a line break"));
    }
    let rel = match path.strip_prefix('/') {
        Some(_) if !absolute_ok => return Err(bad("is absolute")),
        Some(r) => r,
        None => path,
    };
    for c in rel.split('/') {
        match c {
            ".." => return Err(bad("has a `..` component")),
            "." => return Err(bad("has a `.` component")),
            "" => return Err(bad("has an empty component")),
            _ => {}
        }
    }
    Ok(())
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
