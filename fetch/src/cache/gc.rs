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

use super::download::PARTIALS;
use super::{Kind, LocalCache};
use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

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

    /// Evicts least-recently-used files until the cache is at most 90 % of `max_size` (if it
    /// is above `max_size`), and removes abandoned temporary files.
    pub fn gc(&self, max_size: u64) -> GcReport {
        let mut report = GcReport::default();
        report.removed += self.remove_abandoned_temps() as u64;
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
        report
    }
}
