//! `file:///path`: the store as plain files under a directory; every write is atomic.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::PathBuf;

use super::{Backend, Key, StoreError};
use crate::cache::write_atomic;

/// A directory holding `cas/`, `ac/`, `builds/`.
pub struct FileBackend {
    root: PathBuf,
    base: String,
}

impl FileBackend {
    /// Opens `file:///abs/path` (no host, no percent-decoding). Does no I/O.
    pub fn new(url: &str) -> Result<FileBackend, StoreError> {
        let bad = |reason: &str| StoreError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let rest = url
            .strip_prefix("file://")
            .ok_or_else(|| bad("not file://"))?;
        if !rest.starts_with('/') {
            return Err(bad("expected file:///absolute/path (no host)"));
        }
        if rest.contains(['%', '?', '#']) {
            return Err(bad("'%', '?' and '#' are not supported in a file:// path"));
        }
        let trimmed = rest.trim_end_matches('/');
        Ok(FileBackend {
            root: PathBuf::from(if trimmed.is_empty() { "/" } else { trimmed }),
            base: format!("file://{trimmed}"),
        })
    }

    fn io(&self, op: &'static str, key: &Key, source: io::Error) -> StoreError {
        StoreError::Io {
            op,
            url: self.url(key),
            source,
        }
    }
}

impl Backend for FileBackend {
    fn url(&self, key: &Key) -> String {
        format!("{}/{key}", self.base)
    }

    fn get(&self, key: &Key, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let f = match File::open(self.root.join(key.as_str())) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("GET", key, e)),
        };
        let mut buf = Vec::new();
        f.take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| self.io("GET", key, e))?;
        if buf.len() as u64 > limit {
            return Err(StoreError::TooLarge {
                op: "GET",
                url: self.url(key),
                limit,
            });
        }
        Ok(Some(buf))
    }

    fn head(&self, key: &Key) -> Result<bool, StoreError> {
        match fs::metadata(self.root.join(key.as_str())) {
            Ok(md) => Ok(md.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io("HEAD", key, e)),
        }
    }

    /// [`write_atomic`] (temporary file beside it, fsync, rename), then the directory fsynced.
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let dest = self.root.join(key.as_str());
        let dir = dest.parent().expect("keys have a directory");
        // Keys never start with '.', so a temporary name cannot collide with an object.
        let write = || -> io::Result<()> {
            fs::create_dir_all(dir)?;
            write_atomic(&dest, bytes)?;
            File::open(dir)?.sync_all()
        };
        write().map_err(|e| self.io("PUT", key, e))
    }
}
