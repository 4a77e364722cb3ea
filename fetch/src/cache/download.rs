//! One download of a blob at a time across the processes sharing this cache, and what a
//! download cut short leaves for the next one (issue 16).
//!
//! A pull that lacks a blob takes the blob's claim ([`LocalCache::claim_download`]: a lock on
//! one byte of the cache's file [`CLAIMS`], at an offset named by the digest, so a killed
//! holder's claim goes with it), waiting no longer than the caller says (a pull: its own time
//! limit for that download, so a slow holder costs no more than downloading the blob itself
//! would), and then looks again: the holder may have inserted the blob meanwhile.
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

/// The file whose bytes are the download claims, relative to the cache's root: one byte per
/// blob, locked with an open file description's lock (`F_OFD_SETLK`: threads of one process
/// exclude each other too, and the lock goes when its descriptor closes or its process dies).
/// One file for all blobs: a claim costs an open, a lock and a close, where a lock file per
/// blob also cost its creation and removal (a pull of 40 000 records spent about a second of
/// system time on those). Never removed, and outside `locks/`, which gc may empty.
pub(super) const CLAIMS: &str = "claims";

/// The right to download one blob into this cache; released on drop (or when the process
/// dies): the lock is its descriptor's.
#[derive(Debug)]
pub struct DownloadClaim {
    lock: File,
    offset: u64,
    partial: PathBuf,
}

impl Drop for DownloadClaim {
    /// Unlocks the byte explicitly: a child forked meanwhile by another thread keeps a copy
    /// of the descriptor, and with it the lock, until its `exec`.
    fn drop(&mut self) {
        let _ = set_byte_lock(&self.lock, self.offset, libc::F_UNLCK);
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

    /// The claim of blob `d` if nobody holds it now: its byte of [`CLAIMS`], locked through a
    /// descriptor of its own.
    fn try_claim(&self, d: &Digest) -> io::Result<Option<DownloadClaim>> {
        let path = self.root().join(CLAIMS);
        // Without `O_CREAT` first: creating takes the directory's lock, for every claim.
        let open = |create: bool| {
            File::options()
                .read(true)
                .write(true)
                .create(create)
                .truncate(false)
                .open(&path)
        };
        let lock = match open(false) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(self.root())?;
                open(true)?
            }
            r => r?,
        };
        let offset = claim_offset(d);
        Ok(
            set_byte_lock(&lock, offset, libc::F_WRLCK)?.then(|| DownloadClaim {
                lock,
                offset,
                partial: self.partial_path(d),
            }),
        )
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

/// Blob `d`'s byte in [`CLAIMS`]: 62 bits of its digest (two blobs sharing one would only
/// wait for each other, and 2^62 offsets make that as unlikely as a digest collision), kept
/// below `off_t`'s sign bit.
fn claim_offset(d: &Digest) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&d.0[..8]);
    u64::from_le_bytes(first) >> 2
}

/// Sets the lock of byte `offset` of `f` for `f`'s open file description to `kind`
/// (`F_WRLCK` if it is free now, or `F_UNLCK`) with `F_OFD_SETLK`; whether it did.
fn set_byte_lock(f: &File, offset: u64, kind: libc::c_int) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero `flock` is a valid value (and `l_pid` must be 0 for OFD locks).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = offset as libc::off_t;
    fl.l_len = 1;
    // SAFETY: fcntl on a descriptor we own, with a pointer to a live `flock`.
    if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLK, &fl) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(e),
    }
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
        // Released on drop, though a child forked meanwhile holds the descriptor.
        let child = crate::flock::tests::DescriptorHolder::fork();
        drop(first);
        let again = cache.claim_download(&d, Duration::ZERO, &no).unwrap();
        assert!(again.is_some(), "the child kept the claim");
        drop((again, child));
        // Released claims leave no lock file behind.
        assert_only_the_claims_file(dir.path());
    }

    /// Claims, taken and released, leave nothing in the cache but the one file of claims: no
    /// lock file per blob.
    fn assert_only_the_claims_file(root: &Path) {
        let names: Vec<_> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [CLAIMS], "{names:?}");
        assert_eq!(fs::metadata(root.join(CLAIMS)).unwrap().len(), 0);
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
        assert_only_the_claims_file(dir.path());
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
