//! Ninja's deps log (`.ninja_deps`, version 4: Ninja 1.10 to 1.13): the headers of outputs
//! made before Ninja runs, added the way Ninja adds them after a `deps = gcc` edge.
//!
//! The file is a header (`# ninjadeps\n` and the version as four bytes) and records, each a
//! little-endian `u32` size (high bit set for a deps record) and its body: a path record is
//! the path padded with NULs to four bytes and the complement of its id (ids count path
//! records from 0); a deps record is the output's id, its mtime (ns, low then high half) and
//! the inputs' ids. Ninja takes a node's last deps record, and an edge whose record is
//! missing or older than its output runs.

use super::state_file::{io_err, StateError};
use hashbrown::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The deps log's name in the object directory.
pub const FILE: &str = ".ninja_deps";

/// The file's first bytes.
const SIGNATURE: &[u8] = b"# ninjadeps\n";

/// The only version this module reads and writes.
const VERSION: u32 = 4;

/// Ninja's largest record (`kMaxRecordSize`).
const MAX_RECORD: usize = (1 << 19) - 1;

/// A deps log opened for adding: the ids of the paths it holds, and what is to be added.
pub struct DepsLog {
    path: PathBuf,
    /// The file as read (device, inode, length), if it was: it must still be so when written.
    read: Option<(u64, u64, u64)>,
    ids: HashMap<Vec<u8>, u32>,
    /// Records not written yet (with the header, for a new file).
    pending: Vec<u8>,
}

impl DepsLog {
    /// Reads the log at `path` (absent or empty: a new one), checking every record as Ninja
    /// does; a log Ninja would cut or start over is an error.
    pub fn open(path: &Path) -> Result<DepsLog, StateError> {
        let (bytes, read) = match std::fs::File::open(path) {
            Ok(mut f) => {
                use std::io::Read;
                let meta = f.metadata().map_err(|e| io_err(path, e))?;
                let mut b = Vec::with_capacity(meta.len() as usize);
                f.read_to_end(&mut b).map_err(|e| io_err(path, e))?;
                (b, Some(identity(&meta)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), None),
            Err(e) => return Err(io_err(path, e)),
        };
        let mut log = DepsLog {
            path: path.to_path_buf(),
            read,
            ids: HashMap::new(),
            pending: Vec::new(),
        };
        if bytes.is_empty() {
            log.pending.extend_from_slice(SIGNATURE);
            log.pending.extend_from_slice(&VERSION.to_le_bytes());
            return Ok(log);
        }
        log.read(&bytes)?;
        Ok(log)
    }

    /// Checks `bytes` record by record and learns the ids of their paths.
    fn read(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let head = SIGNATURE.len() + 4;
        if bytes.len() < head || &bytes[..SIGNATURE.len()] != SIGNATURE {
            return Err(self.damaged(0));
        }
        let version = u32_at(bytes, SIGNATURE.len());
        if version != VERSION {
            return Err(StateError::OtherVersion {
                path: self.path.clone(),
                found: format!("deps log version {version}"),
            });
        }
        let mut at = head;
        while at < bytes.len() {
            if at + 4 > bytes.len() {
                return Err(self.damaged(at));
            }
            let word = u32_at(bytes, at);
            let (is_deps, size) = (word >> 31 == 1, (word & 0x7fff_ffff) as usize);
            let body = at + 4;
            if size == 0 || size > MAX_RECORD || body + size > bytes.len() {
                return Err(self.damaged(at));
            }
            let record = &bytes[body..body + size];
            let ok = match is_deps {
                true => self.deps_record_is_valid(record),
                false => self.learn_path(record),
            };
            if !ok {
                return Err(self.damaged(at));
            }
            at = body + size;
        }
        Ok(())
    }

    /// Whether a deps record names only ids already given, as Ninja checks.
    fn deps_record_is_valid(&self, record: &[u8]) -> bool {
        let count = self.ids.len() as u32;
        record.len().is_multiple_of(4)
            && record.len() >= 12
            && u32_at(record, 0) < count
            && (12..record.len())
                .step_by(4)
                .all(|i| u32_at(record, i) < count)
    }

    /// Takes a path record's id, if it is the next one and its path is new.
    fn learn_path(&mut self, record: &[u8]) -> bool {
        if record.len() < 5 {
            return false;
        }
        let (path, sum) = record.split_at(record.len() - 4);
        let mut path = path;
        for _ in 0..3 {
            if let Some(rest) = path.strip_suffix(b"\0") {
                path = rest;
            }
        }
        let id = self.ids.len() as u32;
        if !u32_at(sum, 0) != id || self.ids.contains_key(path) {
            return false;
        }
        self.ids.insert(path.to_vec(), id);
        true
    }

    /// Adds `output`'s inputs (paths as Ninja names its nodes: canonical, as the depfile
    /// named them) with the output's mtime in ns, as Ninja records a `deps = gcc` edge.
    pub fn record(
        &mut self,
        output: &[u8],
        mtime: i64,
        inputs: &[&[u8]],
    ) -> Result<(), StateError> {
        if 4 * (3 + inputs.len()) > MAX_RECORD {
            return Err(StateError::Unwritable {
                path: self.path.clone(),
                what: format!(
                    "{} inputs of {}",
                    inputs.len(),
                    String::from_utf8_lossy(output)
                ),
            });
        }
        let out = self.id_of(output)?;
        let mut ids = Vec::with_capacity(inputs.len());
        for p in inputs {
            ids.push(self.id_of(p)?);
        }
        let size = (4 * (3 + ids.len())) as u32 | 0x8000_0000;
        self.pending.extend_from_slice(&size.to_le_bytes());
        self.pending.extend_from_slice(&out.to_le_bytes());
        self.pending
            .extend_from_slice(&(mtime as u64 as u32).to_le_bytes());
        self.pending
            .extend_from_slice(&((mtime as u64 >> 32) as u32).to_le_bytes());
        for id in ids {
            self.pending.extend_from_slice(&id.to_le_bytes());
        }
        Ok(())
    }

    /// The id of `path`, given with a new path record if it has none.
    fn id_of(&mut self, path: &[u8]) -> Result<u32, StateError> {
        if let Some(&id) = self.ids.get(path) {
            return Ok(id);
        }
        let padding = (4 - path.len() % 4) % 4;
        let size = path.len() + padding + 4;
        if path.is_empty() || size > MAX_RECORD || path.contains(&0) {
            return Err(StateError::Unwritable {
                path: self.path.clone(),
                what: String::from_utf8_lossy(path).into_owned(),
            });
        }
        let id = self.ids.len() as u32;
        self.pending.extend_from_slice(&(size as u32).to_le_bytes());
        self.pending.extend_from_slice(path);
        self.pending.extend_from_slice(&[0; 3][..padding]);
        self.pending.extend_from_slice(&(!id).to_le_bytes());
        self.ids.insert(path.to_vec(), id);
        Ok(id)
    }

    /// Appends what was recorded, in one write, if the file is still as read (else the ids
    /// would name other paths: another Ninja compacted or wrote it meanwhile).
    pub fn write(self) -> Result<(), StateError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| io_err(&self.path, e))?;
        let now = f.metadata().map_err(|e| io_err(&self.path, e))?;
        let as_read = match self.read {
            Some(read) => identity(&now) == read,
            None => now.len() == 0,
        };
        if !as_read {
            return Err(StateError::Changed {
                path: self.path.clone(),
            });
        }
        f.write_all(&self.pending)
            .map_err(|e| io_err(&self.path, e))
    }

    fn damaged(&self, at: usize) -> StateError {
        StateError::Damaged {
            path: self.path.clone(),
            at: at as u64,
        }
    }
}

/// What tells one version of a file from another here: device, inode and length.
fn identity(meta: &std::fs::Metadata) -> (u64, u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino(), meta.len())
}

/// The little-endian `u32` at `at` of `b` (which holds four bytes there).
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_added_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut log = DepsLog::open(&path).unwrap();
        log.record(b"a.o", 7 << 32 | 5, &[b"a.c", b"a.h"]).unwrap();
        log.write().unwrap();
        let mut again = DepsLog::open(&path).unwrap();
        assert_eq!(again.ids.len(), 3);
        again.record(b"b.o", 9, &[b"b.c", b"a.h"]).unwrap();
        again.write().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let third = DepsLog::open(&path).unwrap();
        assert_eq!(third.ids.len(), 5, "a.h is not given a second id");
        // The header, then a.o's path record: size 8, "a.o\0", !0.
        assert_eq!(&bytes[..16], b"# ninjadeps\n\x04\0\0\0");
        assert_eq!(&bytes[16..28], b"\x08\0\0\0a.o\0\xff\xff\xff\xff");
    }

    #[test]
    fn a_damaged_log_is_not_added_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut log = DepsLog::open(&path).unwrap();
        log.record(b"a.o", 1, &[b"a.c"]).unwrap();
        log.write().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            DepsLog::open(&path),
            Err(StateError::Damaged { .. })
        ));
        let mut v3 = b"# ninjadeps\n\x03\0\0\0".to_vec();
        v3.extend_from_slice(&bytes[16..]);
        std::fs::write(&path, &v3).unwrap();
        assert!(matches!(
            DepsLog::open(&path),
            Err(StateError::OtherVersion { .. })
        ));
    }

    #[test]
    fn a_log_changed_since_it_was_read_is_not_added_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut first = DepsLog::open(&path).unwrap();
        first.record(b"a.o", 1, &[b"a.c"]).unwrap();
        first.write().unwrap();
        let mut late = DepsLog::open(&path).unwrap();
        let mut other = DepsLog::open(&path).unwrap();
        other.record(b"b.o", 1, &[b"b.c"]).unwrap();
        other.write().unwrap();
        let before = std::fs::read(&path).unwrap();
        late.record(b"c.o", 1, &[b"c.c"]).unwrap();
        assert!(matches!(late.write(), Err(StateError::Changed { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
