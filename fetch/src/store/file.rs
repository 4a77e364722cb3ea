//! `file:///path`: the store as plain files under a directory; every write is atomic.
//!
//! A read is bounded as an HTTP request is: a network mount that hangs (NFS or SMB mounted
//! hard) blocks `open` and `read` without end, so each read runs on a thread of its own and
//! is given up after the store's first-byte timeout (the thread stays blocked, the build goes
//! on; the timeout trips the breaker). A name that is no regular file (a FIFO) is refused
//! without opening it for reading.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::as_head::HeadWait;
use super::{Backend, Key, StoreError};
use crate::cache::write_atomic;

/// A directory holding `cas/`, `ac/`, `builds/`.
pub struct FileBackend {
    root: PathBuf,
    base: String,
    /// How long a read may block.
    timeout: Duration,
}

/// What a [`Backend::get_as_head`] read's thread tells, in this order.
enum Step {
    /// Whether the file is a regular file (there), from its metadata.
    Head(io::Result<bool>),
    /// Its bytes (at most the limit + 1).
    Body(io::Result<Vec<u8>>),
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
            timeout: Duration::from_secs(10),
        })
    }

    /// The same store, its reads given up after `timeout`.
    pub fn with_timeout(self, timeout: Duration) -> FileBackend {
        FileBackend { timeout, ..self }
    }

    /// `read` of the file at `path` on a thread of its own, given up after the timeout.
    fn bounded<T: Send + 'static>(
        &self,
        op: &'static str,
        key: &Key,
        path: PathBuf,
        read: impl FnOnce(&Path) -> io::Result<T> + Send + 'static,
    ) -> Result<io::Result<T>, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("file-store-read".into())
            .spawn(move || {
                let _ = tx.send(read(&path));
            });
        if let Err(e) = spawned {
            return Err(self.io(op, key, e));
        }
        rx.recv_timeout(self.timeout)
            .map_err(|_| StoreError::Timeout {
                op,
                url: self.url(key),
                after: self.timeout,
            })
    }

    /// `buf`, read from `key`, unless it is larger than `limit` ([`StoreError::TooLarge`]).
    fn within(&self, key: &Key, buf: Vec<u8>, limit: u64) -> Result<Vec<u8>, StoreError> {
        if buf.len() as u64 > limit {
            return Err(StoreError::TooLarge {
                op: "GET",
                url: self.url(key),
                limit,
            });
        }
        Ok(buf)
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
        let path = self.root.join(key.as_str());
        let read = move |p: &Path| read_regular(p, limit);
        let buf = match self.bounded("GET", key, path, read)? {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("GET", key, e)),
        };
        self.within(key, buf, limit).map(Some)
    }

    /// The file's metadata is the head (what [`head`](Backend::head) looks at: a regular file
    /// is there), waited for at most `wait.within` and told as it comes; its read is the body,
    /// within the store's timeout from the start, as any read. Both on one thread of their
    /// own (given up on, it stays blocked, as any read's).
    fn get_as_head(
        &self,
        key: &Key,
        limit: u64,
        wait: &HeadWait<'_>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.root.join(key.as_str());
        let start = Instant::now();
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("file-store-read".into())
            .spawn(move || {
                let head = fs::metadata(&path).map(|md| md.is_file());
                let there = matches!(head, Ok(true));
                if tx.send(Step::Head(head)).is_ok() && there {
                    let _ = tx.send(Step::Body(read_regular(&path, limit)));
                }
            });
        if let Err(e) = spawned {
            return Err(self.io("GET", key, e));
        }
        let timeout = |after: Duration| StoreError::Timeout {
            op: "GET",
            url: self.url(key),
            after,
        };
        let gone = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
        match rx.recv_timeout(wait.within) {
            Ok(Step::Head(Ok(true))) => (wait.heard)(true),
            Ok(Step::Head(Ok(false))) => {
                (wait.heard)(false);
                return Ok(None);
            }
            Ok(Step::Head(Err(e))) if gone(&e) => {
                (wait.heard)(false);
                return Ok(None);
            }
            Ok(Step::Head(Err(e))) => return Err(self.io("GET", key, e)),
            Ok(Step::Body(_)) | Err(_) => return Err(timeout(wait.within)),
        }
        let left = self.timeout.saturating_sub(start.elapsed());
        let buf = match rx.recv_timeout(left) {
            Ok(Step::Body(Ok(buf))) => buf,
            // Removed between its metadata and its read: not there now (the plan then says
            // the manifest it found vanished).
            Ok(Step::Body(Err(e))) if gone(&e) => return Ok(None),
            Ok(Step::Body(Err(e))) => return Err(self.io("GET", key, e)),
            Ok(Step::Head(_)) | Err(_) => return Err(timeout(self.timeout)),
        };
        self.within(key, buf, limit).map(Some)
    }

    fn head(&self, key: &Key) -> Result<bool, StoreError> {
        let path = self.root.join(key.as_str());
        match self.bounded("HEAD", key, path, |p| fs::metadata(p))? {
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

/// The bytes of the regular file at `path`, at most `limit` + 1 (opened without waiting for
/// a writer: a FIFO is refused, not waited on).
fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let md = f.metadata()?;
    if !md.is_file() || md.file_type().is_fifo() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    let mut buf = Vec::with_capacity(md.len().min(limit.saturating_add(1)) as usize);
    (&mut f)
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read that blocks (a hung mount) is given up after the timeout, as a timeout.
    #[test]
    fn a_blocked_read_times_out() {
        let store = FileBackend::new("file:///nowhere")
            .unwrap()
            .with_timeout(Duration::from_millis(50));
        let key = Key::build("x", "y").unwrap();
        // (Waited for, the read would have answered `Ok`.)
        let r = store.bounded("GET", &key, PathBuf::from("/nowhere/x"), |_| {
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        });
        assert!(matches!(r, Err(StoreError::Timeout { .. })), "{r:?}");
        let quick = store.bounded("GET", &key, PathBuf::from("/nowhere/x"), |p| {
            Ok(p.to_path_buf())
        });
        assert_eq!(quick.unwrap().unwrap(), PathBuf::from("/nowhere/x"));
    }

    /// A FIFO in the store is refused at once, not waited on.
    #[test]
    fn a_fifo_is_no_object() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = read_regular(&p, 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
