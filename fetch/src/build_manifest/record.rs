//! Records and action entries: the one place that turns an entry into its build manifest
//! record (publish writes it) and a record back into the entry (pull inserts it), so both sides
//! agree on every output's role, path, digest and size, the captured streams, the times and
//! the include list. `to_entry(of_entry(e)) == e` for every entry a record can name.

use super::text::check_record;
use super::{EdgeRecord, IncludeHash, Limits, Reason};
use crate::cache::{ActionEntry, Digest};
use std::sync::Arc;

/// Why an action entry has no build manifest record.
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
                .map(|(path, digest)| {
                    Arc::new(IncludeHash {
                        path: path.clone(),
                        digest: *digest,
                    })
                })
                .collect(),
            stdout: e.stdout,
            stderr: e.stderr,
            cpu_us: e.cpu_us,
            wall_us: e.wall_us,
        };
        check_record(&rec, &Limits::default()).map_err(|reason| RecordError::Invalid {
            action: *action_key,
            reason,
        })?;
        Ok(rec)
    }

    /// The action entry this record names (what CI stored under its action key), for the
    /// local cache once its blobs are here.
    pub fn to_entry(&self) -> ActionEntry {
        ActionEntry {
            source_key: self.source_key,
            outputs: self.outputs.clone(),
            includes: self
                .includes
                .iter()
                .map(|h| (h.path.clone(), h.digest))
                .collect(),
            stdout: self.stdout,
            stderr: self.stderr,
            cpu_us: self.cpu_us,
            wall_us: self.wall_us,
        }
    }
}
