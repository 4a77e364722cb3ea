//! One download of a blob at a time across the processes sharing this cache, and what a
//! download cut short leaves for the next one (issue 16).
//!
//! A pull that lacks a blob takes the blob's claim ([`LocalCache::claim_download`]: a
//! [`LocalCache::lock`] file named by the digest, so a killed holder's claim goes with it),
//! waiting no longer than the caller says (a pull: its own time limit for that download, so a
//! slow holder costs no more than downloading the blob itself would), and then looks again:
//! the holder may have inserted the blob meanwhile.
//!
//! While it holds the claim, it alone uses the blob's partial file `tmp/partial/<hash>.zst`:
//! the compressed bytes received so far, mirrored as they arrive and kept when the download is
//! cut short (the pull cancelled when Ninja finished, a reset mid-body, Ctrl-C, `kill -9`). It
//! is never a blob: the next download asks the store for the rest (a range request) and
//! verifies the whole frame, and a frame that does not verify is downloaded again whole.
//!
//! Bounds: only blobs of at least [`MIN_PARTIAL_SIZE`] get a partial file (a smaller one costs
//! a round trip either way), and [`LocalCache::prune_partials`] removes those older than
//! [`MAX_PARTIAL_AGE`] and the oldest beyond [`MAX_PARTIAL_BYTES`] in all (not one that is
//! claimed: its download is running).

use super::{Digest, LocalCache};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Partial downloads, relative to the cache's root.
pub(super) const PARTIALS: &str = "tmp/partial";

/// Smallest blob (uncompressed bytes) whose download keeps a partial file.
pub const MIN_PARTIAL_SIZE: u64 = 16 << 10;

/// Age after which a partial file is removed rather than resumed.
pub const MAX_PARTIAL_AGE: Duration = Duration::from_secs(24 * 3600);

/// Most bytes all partial files may take together; the oldest beyond it are removed.
pub const MAX_PARTIAL_BYTES: u64 = 256 << 20;

/// How often a claim held elsewhere is tried again.
const POLL: Duration = Duration::from_millis(10);

/// The right to download one blob into this cache; released on drop (or when the process
/// dies). Its lock file is removed on release, so `locks/` does not keep one per blob ever
/// downloaded (a killed holder's file stays until the next claim of that blob).
#[derive(Debug)]
pub struct DownloadClaim {
    lock: File,
    lock_path: PathBuf,
    partial: PathBuf,
}

impl Drop for DownloadClaim {
    /// Removes the lock file while still holding it; a waiter that then gets the lock of the
    /// removed file sees it is no longer at its path and opens the path again.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock_path);
        let _ = &self.lock;
    }
}

impl DownloadClaim {
    /// Where this blob's partial download is kept (`tmp/partial/<hash>.zst`).
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    /// The partial file, opened to read what is there and append to it (created if absent).
    pub fn open_partial(&self) -> io::Result<File> {
        let open = || {
            File::options()
                .read(true)
                .append(true)
                .create(true)
                .open(&self.partial)
        };
        match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(self.partial.parent().expect("tmp/partial"))?;
                open()
            }
            r => r,
        }
    }

    /// Removes the partial file (the blob is in, or its bytes were wrong), and its directory
    /// when that is left empty. Absent is fine.
    pub fn remove_partial(&self) {
        if fs::remove_file(&self.partial).is_ok() {
            let _ = fs::remove_dir(self.partial.parent().expect("tmp/partial"));
        }
    }
}

impl LocalCache {
    /// Takes the claim to download blob `d`, waiting at most `wait` for another holder (in
    /// this process or another) and stopping early when `cancel` is set; `Ok(None)` then.
    pub fn claim_download(
        &self,
        d: &Digest,
        wait: Duration,
        cancel: &AtomicBool,
    ) -> io::Result<Option<DownloadClaim>> {
        let until = Instant::now() + wait;
        loop {
            if let Some(claim) = self.try_claim(d)? {
                return Ok(Some(claim));
            }
            if cancel.load(Ordering::Relaxed) || Instant::now() >= until {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    /// The claim of blob `d` if nobody holds it now: the lock of `locks/<claim name>`, taken
    /// on the file that is still at that path (not one a releasing holder just removed).
    fn try_claim(&self, d: &Digest) -> io::Result<Option<DownloadClaim>> {
        use std::os::unix::fs::MetadataExt;
        let name = claim_name(d);
        let lock_path = self.lock_path(&name);
        loop {
            let Some(lock) = self.try_lock(&name)? else {
                return Ok(None);
            };
            let held = lock.metadata()?;
            match fs::metadata(&lock_path) {
                Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                    return Ok(Some(DownloadClaim {
                        lock,
                        lock_path,
                        partial: self.partial_path(d),
                    }));
                }
                // Removed (or replaced) by the holder we waited for: open the path again.
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Removes partial downloads older than [`MAX_PARTIAL_AGE`], then the oldest until all
    /// take at most [`MAX_PARTIAL_BYTES`], leaving claimed ones; returns how many went.
    pub fn prune_partials(&self) -> usize {
        let Ok(rd) = fs::read_dir(self.partials_dir()) else {
            return 0;
        };
        let now = SystemTime::now();
        let mut files: Vec<(SystemTime, u64, PathBuf)> = rd
            .flatten()
            .filter_map(|e| {
                let md = e.metadata().ok()?;
                let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                Some((mtime, md.len(), e.path()))
            })
            .collect();
        files.sort();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        let mut removed = 0;
        for (mtime, size, path) in files {
            let old = now
                .duration_since(mtime)
                .is_ok_and(|age| age > MAX_PARTIAL_AGE);
            if !old && total <= MAX_PARTIAL_BYTES {
                continue;
            }
            if self.remove_partial_unless_claimed(&path) {
                total -= size;
                removed += 1;
            }
        }
        removed
    }

    /// The directory of partial downloads ([`PARTIALS`]).
    pub fn partials_dir(&self) -> PathBuf {
        self.root().join(PARTIALS)
    }

    /// Removes the partial download `path` unless its blob's download runs (claimed); a file
    /// whose name is no blob's is removed. Whether it went.
    pub(super) fn remove_partial_unless_claimed(&self, path: &Path) -> bool {
        let digest = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".zst"))
            .and_then(Digest::from_hex);
        let free = match digest {
            Some(d) => matches!(self.try_claim(&d), Ok(Some(_))),
            None => true,
        };
        free && fs::remove_file(path).is_ok()
    }

    fn partial_path(&self, d: &Digest) -> PathBuf {
        self.partials_dir().join(format!("{}.zst", d.to_hex()))
    }
}

/// The lock name of blob `d`'s download (apart from the launchers' lock names).
fn claim_name(d: &Digest) -> Digest {
    Digest::of(format!("blob download {}", d.to_hex()).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_held_once_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path());
        let d = Digest::of(b"blob");
        let no = AtomicBool::new(false);
        let first = cache.claim_download(&d, Duration::ZERO, &no).unwrap();
        let first = first.expect("free");
        // Another open file description (another process, or another thread) waits, bounded.
        let t = Instant::now();
        let wait = Duration::from_millis(50);
        assert!(cache.claim_download(&d, wait, &no).unwrap().is_none());
        assert!(t.elapsed() >= wait);
        // A set cancel flag ends the wait at once.
        let yes = AtomicBool::new(true);
        let long = Duration::from_secs(3600);
        assert!(cache.claim_download(&d, long, &yes).unwrap().is_none());
        // Another blob is not held.
        let other = Digest::of(b"other");
        assert!(cache
            .claim_download(&other, Duration::ZERO, &no)
            .unwrap()
            .is_some());
        drop(first);
        let again = cache.claim_download(&d, Duration::ZERO, &no).unwrap();
        assert!(again.is_some());
        drop(again);
        // Released claims leave no lock file behind.
        let locks: Vec<_> = fs::read_dir(dir.path().join("locks")).unwrap().collect();
        assert!(locks.is_empty(), "{locks:?}");
    }

    #[test]
    fn racing_claims_are_exclusive_and_leave_no_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path());
        let d = Digest::of(b"blob");
        let no = AtomicBool::new(false);
        let inside = std::sync::atomic::AtomicUsize::new(0);
        let long = Duration::from_secs(60);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let c = cache.claim_download(&d, long, &no).unwrap().unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(c);
                    }
                });
            }
        });
        let locks: Vec<_> = fs::read_dir(dir.path().join("locks")).unwrap().collect();
        assert!(locks.is_empty(), "{locks:?}");
    }

    #[test]
    fn old_partials_go_unless_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path());
        let no = AtomicBool::new(false);
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        let claim_a = cache
            .claim_download(&a, Duration::ZERO, &no)
            .unwrap()
            .unwrap();
        let claim_b = cache
            .claim_download(&b, Duration::ZERO, &no)
            .unwrap()
            .unwrap();
        let old = SystemTime::now() - MAX_PARTIAL_AGE - Duration::from_secs(60);
        for c in [&claim_a, &claim_b] {
            let f = c.open_partial().unwrap();
            f.set_modified(old).unwrap();
        }
        drop(claim_b);
        assert_eq!(cache.prune_partials(), 1);
        assert!(
            claim_a.partial_path().exists(),
            "claimed: its download runs"
        );
        assert!(!cache.partial_path(&b).exists());
        drop(claim_a);
        assert_eq!(cache.prune_partials(), 1);
    }
}
