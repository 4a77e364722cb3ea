//! Records and action entries: the one place that turns an entry into its build manifest
//! record (publish writes it) and checks a downloaded entry against the record it came with
//! (pull), so both sides agree on every output's role, path, digest and size.
//!
//! The record repeats the entry's outputs in the entry's order, its source key and include
//! list, and its wall time rounded up to milliseconds. The compile time is advisory (it only
//! ranks the prefetch queue), so a pull does not compare it.

use super::text::check_record;
use super::{EdgeRecord, IncludeHash, Limits, Reason};
use crate::cache::{ActionEntry, Digest, Output, Role};

/// Why an action entry has no build manifest record, or differs from the one it came with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The entry cannot be named by a record: no output, a path outside the object root, a
    /// size above the caps, an output path listed twice.
    #[error("action {action}: {reason}")]
    Invalid {
        /// The action key.
        action: Digest,
        /// What is wrong (it names the output).
        reason: Reason,
    },
    /// The entry's source key or include list is not the record's.
    #[error("{0} differs")]
    Differs(&'static str),
    /// The entry has another number of outputs than the record.
    #[error("the entry has {entry} outputs, the record {record}")]
    OutputCount {
        /// Outputs in the record.
        record: usize,
        /// Outputs in the entry.
        entry: usize,
    },
    /// One output of the entry is not the record's output at that place.
    #[error("output {path:?} ({role:?}): {what} differs (record {expected}, entry {found})")]
    Output {
        /// The record's path of the output.
        path: String,
        /// The record's role of the output.
        role: Role,
        /// Which field: `role`, `path`, `digest` or `size`.
        what: &'static str,
        /// The record's value.
        expected: String,
        /// The entry's value.
        found: String,
    },
}

impl EdgeRecord {
    /// The record of the entry stored under `action_key`, as publish writes it.
    pub fn of_entry(action_key: &Digest, e: &ActionEntry) -> Result<EdgeRecord, RecordError> {
        let rec = EdgeRecord {
            source_key: e.source_key,
            action_key: *action_key,
            outputs: e.outputs.clone(),
            includes: e
                .includes
                .iter()
                .map(|(path, digest)| IncludeHash {
                    path: path.clone(),
                    digest: *digest,
                })
                .collect(),
            compile_ms: e.wall_us.div_ceil(1000),
        };
        check_record(&rec, &Limits::default()).map_err(|reason| RecordError::Invalid {
            action: *action_key,
            reason,
        })?;
        Ok(rec)
    }

    /// Checks a downloaded entry against this record: source key, include list, and every
    /// output's role, path, digest and size, in order.
    pub fn check_entry(&self, e: &ActionEntry) -> Result<(), RecordError> {
        let mine = EdgeRecord::of_entry(&self.action_key, e)?;
        if mine.source_key != self.source_key {
            return Err(RecordError::Differs("source key"));
        }
        if mine.includes != self.includes {
            return Err(RecordError::Differs("include list"));
        }
        if mine.outputs.len() != self.outputs.len() {
            return Err(RecordError::OutputCount {
                record: self.outputs.len(),
                entry: mine.outputs.len(),
            });
        }
        for (r, m) in self.outputs.iter().zip(&mine.outputs) {
            compare_output(r, m)?;
        }
        Ok(())
    }
}

/// The first field in which the entry's output `m` differs from the record's `r`.
fn compare_output(r: &Output, m: &Output) -> Result<(), RecordError> {
    let differs = |what, expected: String, found: String| RecordError::Output {
        path: r.path.clone(),
        role: r.role,
        what,
        expected,
        found,
    };
    if r.role != m.role {
        return Err(differs(
            "role",
            format!("{:?}", r.role),
            format!("{:?}", m.role),
        ));
    }
    if r.path != m.path {
        return Err(differs(
            "path",
            format!("{:?}", r.path),
            format!("{:?}", m.path),
        ));
    }
    if r.digest != m.digest {
        return Err(differs("digest", r.digest.to_hex(), m.digest.to_hex()));
    }
    if r.size != m.size {
        return Err(differs("size", r.size.to_string(), m.size.to_string()));
    }
    Ok(())
}
