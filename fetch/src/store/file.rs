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
use std::time::Duration;

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

    /// [`Backend::get_as_head`] with its two steps given: `head` (whether the file at the path
    /// is there) and `body` (its bytes, at most the limit + 1), both on one thread of their own
    /// (given up on, it stays blocked, as any read's thread).
    fn as_head_with(
        &self,
        key: &Key,
        limit: u64,
        wait: &HeadWait<'_>,
        head: impl FnOnce(&Path) -> io::Result<bool> + Send + 'static,
        body: impl FnOnce(&Path, u64) -> io::Result<Vec<u8>> + Send + 'static,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.root.join(key.as_str());
        let (tx, rx) = mpsc::channel();
        // The body is read once it is wanted (`go` sent); not wanted, or given up on, `go` is
        // dropped and the thread ends without reading it.
        let (go, wanted) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("file-store-read".into())
            .spawn(move || {
                let head = head(&path);
                let there = matches!(head, Ok(true));
                if tx.send(Step::Head(head)).is_ok() && there && wanted.recv().is_ok() {
                    let _ = tx.send(Step::Body(body(&path, limit)));
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
        // (The thread sends the head first; a thread that ended without it, as one that is
        // late, gave no answer.)
        match rx.recv_timeout(wait.within) {
            // Not wanted: the read's thread ends without reading it.
            Ok(Step::Head(Ok(true))) if !(wait.heard)(true) => return Ok(None),
            Ok(Step::Head(Ok(true))) => {
                let _ = go.send(());
            }
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
        // From when it is wanted: the caller may have waited on its head (the plan's parent
        // `GET`, for the nearer ranks' answers).
        let buf = match rx.recv_timeout(self.timeout) {
            Ok(Step::Body(Ok(buf))) => buf,
            // Removed between its metadata and its read: not there now, after the head said
            // it was (the plan then says the manifest it found vanished).
            Ok(Step::Body(Err(e))) if gone(&e) => return Ok(None),
            Ok(Step::Body(Err(e))) => return Err(self.io("GET", key, e)),
            Ok(Step::Head(_)) | Err(_) => return Err(timeout(self.timeout)),
        };
        self.within(key, buf, limit).map(Some)
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
    /// is there), waited for at most `wait.within` (a `HEAD`'s limit, the backend's own
    /// timeout unless the store's whole-request limit is shorter) and told as it comes; its
    /// read is the body, once wanted, within the backend's timeout from then, as any read.
    fn get_as_head(
        &self,
        key: &Key,
        limit: u64,
        wait: &HeadWait<'_>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let head = |p: &Path| fs::metadata(p).map(|md| md.is_file());
        self.as_head_with(key, limit, wait, head, read_regular)
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

    /// What [`FileBackend::as_head_with`] told `heard`, and its result, for a store whose
    /// reads may take 200 ms and a head waited for 100 ms.
    fn as_head(
        head: impl FnOnce(&Path) -> io::Result<bool> + Send + 'static,
        body: impl FnOnce(&Path, u64) -> io::Result<Vec<u8>> + Send + 'static,
    ) -> (Vec<bool>, Result<Option<Vec<u8>>, StoreError>) {
        as_head_within(Duration::from_millis(100), true, head, body)
    }

    /// [`as_head`] with the head waited for `within`, and `heard` answering `wanted` (whether
    /// the body is read).
    fn as_head_within(
        within: Duration,
        wanted: bool,
        head: impl FnOnce(&Path) -> io::Result<bool> + Send + 'static,
        body: impl FnOnce(&Path, u64) -> io::Result<Vec<u8>> + Send + 'static,
    ) -> (Vec<bool>, Result<Option<Vec<u8>>, StoreError>) {
        let store = FileBackend::new("file:///nowhere")
            .unwrap()
            .with_timeout(Duration::from_millis(200));
        let told = std::sync::Mutex::new(Vec::new());
        let heard = |there: bool| {
            told.lock().unwrap().push(there);
            wanted
        };
        let wait = HeadWait {
            within,
            heard: &heard,
        };
        let key = Key::build("x", "y").unwrap();
        let r = store.as_head_with(&key, 10, &wait, head, body);
        (told.into_inner().unwrap(), r)
    }

    /// The head is told as it comes, before the body; a body that is late, or gone, after the
    /// head said the file is there is an error or an absence told after `heard(true)` (the
    /// store then says the object could not be had, `Found::Unread`, or vanished), and a late
    /// head or a failing metadata is the error a `HEAD` would have had, nothing told.
    #[test]
    fn a_get_as_head_tells_the_head_before_the_body() {
        let slow = |_: &Path, _| {
            std::thread::sleep(Duration::from_secs(5));
            Ok(vec![1])
        };
        let (told, r) = as_head(|_| Ok(true), slow);
        assert_eq!(told, [true]);
        assert!(
            matches!(r, Err(StoreError::Timeout { after, .. }) if after.as_millis() == 200),
            "{r:?}"
        );
        let (told, r) = as_head(|_| Ok(true), |_, _| Ok(vec![7; 3]));
        assert_eq!((told, r.unwrap()), (vec![true], Some(vec![7; 3])));
        let gone = |_: &Path, _| Err(io::Error::from(io::ErrorKind::NotFound));
        let (told, r) = as_head(|_| Ok(true), gone);
        assert_eq!((told, r.unwrap()), (vec![true], None));
        let (told, r) = as_head(|_| Ok(false), |_, _| panic!("no body read"));
        assert_eq!((told, r.unwrap()), (vec![false], None));
        let late = |_: &Path| {
            std::thread::sleep(Duration::from_secs(5));
            Ok(true)
        };
        let (told, r) = as_head(late, |_, _| Ok(vec![1]));
        assert!(told.is_empty());
        assert!(
            matches!(r, Err(StoreError::Timeout { after, .. }) if after.as_millis() == 100),
            "{r:?}"
        );
        let denied = |_: &Path| Err(io::Error::from(io::ErrorKind::PermissionDenied));
        let (told, r) = as_head(denied, |_, _| Ok(vec![1]));
        assert!(told.is_empty());
        assert!(matches!(r, Err(StoreError::Io { .. })), "{r:?}");
    }

    /// A body declined when the head is told is neither waited for (no answer rather than the
    /// late body's timeout) nor read (the read's thread ends without it: its sender dropped);
    /// a body wanted after the caller waited on the head has the whole timeout from then.
    /// (Heads are waited for 2 s: a thread started late is no late head.)
    #[test]
    fn a_body_declined_at_the_head_is_not_waited_for() {
        let two = Duration::from_secs(2);
        let slow = |_: &Path, _| {
            std::thread::sleep(Duration::from_secs(5));
            Ok(vec![1])
        };
        let (told, r) = as_head_within(two, false, |_| Ok(true), slow);
        assert_eq!((told, r.unwrap()), (vec![true], None));
        let (read_tx, read) = mpsc::channel();
        let body = move |_: &Path, _| {
            let _ = read_tx.send(());
            Ok(vec![1])
        };
        let (told, r) = as_head_within(two, false, |_| Ok(true), body);
        assert_eq!((told, r.unwrap()), (vec![true], None));
        assert!(
            read.recv_timeout(Duration::from_secs(5)).is_err(),
            "the body was read"
        );
    }

    /// A caller that waits on the head longer than the backend's timeout (200 ms here) before
    /// it wants the body still gets it: the body's time counts from then.
    #[test]
    fn a_body_wanted_late_has_its_whole_timeout() {
        let store = FileBackend::new("file:///nowhere")
            .unwrap()
            .with_timeout(Duration::from_millis(200));
        let heard = |_: bool| {
            std::thread::sleep(Duration::from_millis(400));
            true
        };
        let wait = HeadWait {
            within: Duration::from_secs(2),
            heard: &heard,
        };
        let key = Key::build("x", "y").unwrap();
        let r = store.as_head_with(&key, 10, &wait, |_| Ok(true), |_, _| Ok(vec![7]));
        assert_eq!(r.unwrap(), Some(vec![7]));
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
