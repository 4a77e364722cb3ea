//! Size accounting and least-recently-used eviction (DESIGN §4).
//!
//! [`LocalCache::gc`] lists every named file (blobs, entries, manifests, memos, locks, partial
//! downloads in `tmp/partial/`) with its size and mtime, and when the total exceeds the cap
//! removes the oldest files until the total is at most 90 % of the cap (so gc does not run
//! again on the next insert); a partial download whose blob is being downloaded (claimed) is
//! passed over. Temporary files
//! whose writer is gone (or, for names without a writer, older than an hour) go too
//! ([`super::leftover`]). An entry whose blob was
//! evicted is detected on use like any other missing blob: the compile goes on.
//!
//! Checking the cap walks the whole cache, which costs 0.6 s at browser scale (360 000 files),
//! so [`LocalCache::gc_if_over`] (the launchers' check, every 64 stores or so) does nothing
//! while the last walk's record is recent (younger than 100 times that walk's listing, at
//! most a minute): it was under the cap, or over it with nothing more a gc could remove. One
//! process walks at a time (the lock of the root's file `walking`, which no gc evicts).

use super::download::PARTIALS;
use super::{Digest, Kind, LocalCache};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// How many times the duration of its listing a walk's record is trusted for, and at most
/// how long.
const TRUST_FACTOR: u32 = 100;
const TRUST_AT_MOST: Duration = Duration::from_secs(60);

/// The file at the cache's root whose lock the walking process holds.
const WALKING: &str = "walking";

/// The memo name of the last walk's record: `<total bytes> <listing µs>`.
fn walk_key() -> Digest {
    Digest::of(b"cached-ninja cache walk 1")
}

/// Counts and sizes of a cache.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheSummary {
    /// Blobs and their total size.
    pub blobs: (u64, u64),
    /// Action entries and their total size.
    pub actions: (u64, u64),
    /// Include manifests and their total size.
    pub manifests: (u64, u64),
    /// Partial downloads kept for resumption (`tmp/partial/`), count and size.
    pub partials: (u64, u64),
    /// Everything else (memos, locks, temporary files), count and size.
    pub other: (u64, u64),
}

impl CacheSummary {
    /// Total bytes.
    pub fn total_size(&self) -> u64 {
        self.blobs.1 + self.actions.1 + self.manifests.1 + self.partials.1 + self.other.1
    }
}

/// What one gc run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Total size before.
    pub size_before: u64,
    /// Total size after.
    pub size_after: u64,
    /// Files removed.
    pub removed: u64,
    /// Files to evict that could not be removed (a read-only cache, another user's files).
    pub not_removed: u64,
}

struct FileInfo {
    path: PathBuf,
    size: u64,
    mtime: SystemTime,
}

impl LocalCache {
    /// Lists the files of `dir` (relative to the cache's root; with `two_level`, of its
    /// subdirectories too).
    fn list(&self, dir: &str, two_level: bool, out: &mut Vec<FileInfo>) {
        let Ok(rd) = fs::read_dir(self.root().join(dir)) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                if two_level {
                    let Ok(rd2) = fs::read_dir(e.path()) else {
                        continue;
                    };
                    for e2 in rd2.flatten() {
                        if let Ok(md2) = e2.metadata() {
                            if md2.is_file() {
                                let mtime = md2.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                                out.push(FileInfo {
                                    path: e2.path(),
                                    size: md2.len(),
                                    mtime,
                                });
                            }
                        }
                    }
                }
            } else if md.is_file() {
                let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.push(FileInfo {
                    path: e.path(),
                    size: md.len(),
                    mtime,
                });
            }
        }
    }

    /// Counts the cache's files and sizes.
    pub fn summary(&self) -> CacheSummary {
        let sum = |dir: &str, two: bool| {
            let mut v = Vec::new();
            self.list(dir, two, &mut v);
            (v.len() as u64, v.iter().map(|f| f.size).sum::<u64>())
        };
        let mut other = (0, 0);
        for d in ["memo", "locks", "tmp"] {
            let (n, s) = sum(d, false);
            other.0 += n;
            other.1 += s;
        }
        CacheSummary {
            blobs: sum(Kind::Blob.dir(), true),
            actions: sum(Kind::Action.dir(), true),
            manifests: sum(Kind::Manifest.dir(), true),
            partials: sum(PARTIALS, false),
            other,
        }
    }

    /// [`LocalCache::walk_and_gc`] unless the last walk's record is recent. `None` when no gc
    /// ran.
    pub fn gc_if_over(&self, max_size: u64) -> Option<GcReport> {
        if self.recent_walk().is_some() {
            return None;
        }
        self.walk_and_gc(max_size)
    }

    /// Walks the cache once and evicts as [`LocalCache::gc`] does when it holds more than
    /// `max_size` bytes (the pull's check after inserting many files at once), recording the
    /// total for [`LocalCache::gc_if_over`]. `None` when no gc ran, or another process is
    /// walking (a lock that cannot be taken for another reason, a read-only cache, does not
    /// stop it).
    pub fn walk_and_gc(&self, max_size: u64) -> Option<GcReport> {
        let _walking = match self.walk_lock() {
            Ok(None) => return None,
            held => held.ok().flatten(),
        };
        let start = Instant::now();
        let files = self.evictable();
        // Temporary files count against the cap (abandoned ones go first when it is over).
        let mut temps = Vec::new();
        self.list("tmp", false, &mut temps);
        let listed_in = start.elapsed();
        let total: u64 = files.iter().chain(&temps).map(|f| f.size).sum();
        if total > max_size {
            return Some(self.evict(files, max_size, listed_in));
        }
        self.remember_walk(total, listed_in);
        None
    }

    /// Every file a gc may evict (blobs, entries, manifests, memos, locks, partial downloads).
    fn evictable(&self) -> Vec<FileInfo> {
        let mut files = Vec::new();
        for (dir, two) in [
            ("cas", true),
            ("ac", true),
            ("mf", true),
            ("memo", false),
            ("locks", false),
            (PARTIALS, false),
        ] {
            self.list(dir, two, &mut files);
        }
        files
    }

    /// The walk's lock if it is free now (`Ok(None)`: another process walks).
    fn walk_lock(&self) -> std::io::Result<Option<crate::flock::Held>> {
        super::held_if_free(super::open_lock(&self.root().join(WALKING))?)
    }

    /// The total of the last walk's record, if that record is recent.
    fn recent_walk(&self) -> Option<u64> {
        let key = walk_key();
        let written = fs::metadata(self.memo_path(&key))
            .and_then(|md| md.modified())
            .ok()?;
        let text = self.memo_get(&key)?;
        let (total, took_us) = text.split_once(' ')?;
        let took = Duration::from_micros(took_us.parse().ok()?);
        let age = SystemTime::now().duration_since(written).ok()?;
        (age < (took * TRUST_FACTOR).min(TRUST_AT_MOST)).then_some(total.parse().ok()?)
    }

    /// Records a walk's total and how long its listing took (nothing for a cache that does not
    /// exist: `cache gc` of a mistyped path creates nothing).
    fn remember_walk(&self, total: u64, took: Duration) {
        if self.root().is_dir() {
            let _ = self.memo_put(&walk_key(), &format!("{total} {}", took.as_micros()));
        }
    }

    /// Evicts least-recently-used files until the cache is at most 90 % of `max_size` (if it
    /// is above `max_size`), and removes abandoned temporary files.
    pub fn gc(&self, max_size: u64) -> GcReport {
        let start = Instant::now();
        let files = self.evictable();
        self.evict(files, max_size, start.elapsed())
    }

    /// The gc of `files` (the cache's [`LocalCache::evictable`] files, listed in `listed_in`):
    /// abandoned temporary files go, then the oldest of `files` while over the cap.
    fn evict(&self, mut files: Vec<FileInfo>, max_size: u64, listed_in: Duration) -> GcReport {
        let mut report = GcReport::default();
        report.removed += self.remove_abandoned_temps() as u64;
        let partials = self.partials_dir();
        let mut total: u64 = files.iter().map(|f| f.size).sum();
        report.size_before = total;
        if total > max_size {
            let target = max_size / 10 * 9;
            files.sort_by_key(|f| f.mtime);
            for f in files {
                if total <= target {
                    break;
                }
                let removed = if f.path.parent() == Some(partials.as_path()) {
                    self.remove_partial_unless_claimed(&f.path)
                } else {
                    fs::remove_file(&f.path).is_ok()
                };
                if removed {
                    total -= f.size;
                    report.removed += 1;
                } else if f.path.exists() {
                    report.not_removed += 1;
                }
            }
        }
        report.size_after = total;
        self.remember_walk(total, listed_in);
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache of two 1 000-byte blobs, over a cap of 1 500 bytes.
    fn over_cap_cache() -> (tempfile::TempDir, LocalCache) {
        let d = tempfile::tempdir().unwrap();
        let c = LocalCache::new(d.path());
        c.put_blob(&[1; 1000]).unwrap();
        c.put_blob(&[2; 1000]).unwrap();
        (d, c)
    }

    /// A recent record means nothing to do, even one over the cap (what a gc that could
    /// remove nothing more leaves); an old one walks again, evicts, and records what it left.
    #[test]
    fn a_recent_record_is_trusted_and_an_old_one_walked_again() {
        let (_d, c) = over_cap_cache();
        c.remember_walk(0, Duration::from_secs(10));
        assert!(c.gc_if_over(1500).is_none());
        c.remember_walk(5000, Duration::from_secs(10));
        assert!(c.gc_if_over(1500).is_none());
        assert_eq!(c.summary().blobs.0, 2);

        c.remember_walk(0, Duration::from_micros(1));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.recent_walk(), None);
        let report = c.gc_if_over(1500).expect("walked, over the cap");
        assert!(report.size_before > 2000, "{report:?}");
        assert_eq!(c.summary().blobs.0, 1);
        let recorded = c.memo_get(&walk_key()).expect("recorded");
        let total: u64 = recorded.split(' ').next().unwrap().parse().unwrap();
        assert!(total <= 1350, "{recorded}");
    }

    /// A record is trusted for 100 times its listing's duration, and never for more than a
    /// minute.
    #[test]
    fn a_record_is_trusted_for_a_hundred_times_its_walk_and_at_most_a_minute() {
        let (_d, c) = over_cap_cache();
        let aged = |took: Duration, age: u64| {
            c.remember_walk(7, took);
            let memo = c.root().join("memo").join(walk_key().to_hex());
            let f = fs::File::options().write(true).open(memo).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(age))
                .unwrap();
            c.recent_walk()
        };
        assert_eq!(aged(Duration::from_millis(100), 5), Some(7));
        assert_eq!(aged(Duration::from_millis(100), 15), None);
        assert_eq!(aged(Duration::from_secs(600), 50), Some(7));
        assert_eq!(aged(Duration::from_secs(600), 120), None);
    }

    /// While another process walks, neither check walks or evicts; once it is done, they do.
    /// No gc evicts the walk's lock (it is not among the files gc lists).
    #[test]
    fn one_process_walks_at_a_time() {
        let (_d, c) = over_cap_cache();
        let held = c.walk_lock().unwrap().expect("free");
        assert!(c.gc_if_over(1500).is_none());
        assert!(c.walk_and_gc(1500).is_none());
        assert_eq!(c.summary().blobs.0, 2);
        c.gc(0);
        assert!(c.root().join(WALKING).exists());
        drop(held);
        c.put_blob(&[3; 1000]).unwrap();
        c.put_blob(&[4; 1000]).unwrap();
        assert!(c.walk_and_gc(1500).is_some());
    }

    /// A lock that cannot be taken (its path is a directory here) does not stop the walk.
    #[test]
    fn a_lock_that_cannot_be_opened_still_walks() {
        let (_d, c) = over_cap_cache();
        fs::create_dir(c.root().join(WALKING)).unwrap();
        assert!(c.gc_if_over(1500).is_some());
        assert_eq!(c.summary().blobs.0, 1);
    }

    /// A gc of a cache that does not exist (a mistyped path) creates nothing.
    #[test]
    fn a_gc_of_no_cache_creates_nothing() {
        let d = tempfile::tempdir().unwrap();
        let c = LocalCache::new(d.path().join("typo"));
        c.gc(0);
        assert!(!d.path().join("typo").exists());
    }

    /// A gc records its total after eviction, so the next checks trust it while it is recent.
    #[test]
    fn a_gc_records_what_it_left() {
        let (_d, c) = over_cap_cache();
        let report = c.gc(1500);
        let left = c.summary().total_size();
        assert_eq!(report.size_after, left - memo_bytes(&c));
        let text = c.memo_get(&walk_key()).expect("recorded");
        assert_eq!(
            text.split(' ').next(),
            Some(report.size_after.to_string().as_str())
        );
    }

    /// The bytes of the memo directory (the walk's own record).
    fn memo_bytes(c: &LocalCache) -> u64 {
        fs::read_dir(c.root().join("memo"))
            .map(|rd| rd.flatten().map(|e| e.metadata().unwrap().len()).sum())
            .unwrap_or(0)
    }
}
