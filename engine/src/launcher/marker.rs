//! A marker in `<objdir>/.cached-ninja/` that something is down for the rest of a build (the
//! distributed compiler, the cache's room for new entries): the first launch to meet the
//! problem creates it and prints the build's one warning line; later launches see it and go
//! the local way at once, silently. `cached-ninja build` removes the markers when a build
//! starts; under plain Ninja one holds for [`HOLDS_FOR`].

use fetch::objdir::ObjDir;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a marker holds when no build removes it.
pub const HOLDS_FOR: Duration = Duration::from_secs(300);

/// One marker file, and what it is about (its text; empty: anything).
pub struct Marker {
    path: PathBuf,
    subject: String,
}

/// The marker of the local cache at `cache` that took no new entry in the build of `objdir`
/// (full, read-only): a launch or the pull that meets such a cache says so once. It names the
/// cache, so another cache (`CACHED_NINJA_CACHE_DIR` changed) is tried afresh.
pub fn cache_unwritable(objdir: &Path, cache: &Path) -> Marker {
    // (The pull may hold a relative path, the launchers get it absolute.)
    let cache = std::path::absolute(cache).unwrap_or_else(|_| cache.to_path_buf());
    Marker {
        path: ObjDir::new(objdir).cache_unwritable_file(),
        subject: cache.display().to_string(),
    }
}

impl Marker {
    /// The marker at `path`, about anything.
    pub(super) fn at(path: PathBuf) -> Marker {
        Marker {
            path,
            subject: String::new(),
        }
    }

    /// Whether the marker exists, is younger than [`HOLDS_FOR`] and is about this subject.
    pub fn is_fresh(&self) -> bool {
        let young = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() < HOLDS_FOR);
        young
            && (self.subject.is_empty()
                || std::fs::read(&self.path).is_ok_and(|t| t == self.subject.as_bytes()))
    }

    /// Sets the marker; true when this launch is the one to warn: it made the marker, or
    /// none can be made (an unwritable `.cached-ninja/`: then every launch warns, rather than
    /// none). A stale marker, or one about something else, is replaced.
    pub fn set(&self) -> bool {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match self.create() {
            Ok(()) => return true,
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return true,
            Err(_) if self.is_fresh() => return false,
            Err(_) => {}
        }
        let _ = std::fs::remove_file(&self.path);
        !matches!(self.create(), Err(e) if e.kind() == io::ErrorKind::AlreadyExists)
    }

    /// Creates the marker with its subject in one step (linked from a temporary written
    /// first; on a file system without hard links, created and then written): `AlreadyExists`
    /// when there is one.
    fn create(&self) -> io::Result<()> {
        let new = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.path)
        };
        if self.subject.is_empty() {
            return new().map(drop);
        }
        let tmp = fetch::cache::temp_beside(&self.path, "marker", "");
        std::fs::write(&tmp, &self.subject)?;
        let linked = std::fs::hard_link(&tmp, &self.path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                new()?.write_all(self.subject.as_bytes())
            }
            linked => linked,
        }
    }

    /// The marker's path.
    #[cfg(test)]
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_made_once_and_replaced_when_stale() {
        let d = tempfile::tempdir().unwrap();
        let m = Marker::at(d.path().join(".cached-ninja/distribute-down"));
        assert!(!m.is_fresh());
        assert!(m.set());
        assert!(!m.set());
        assert!(m.is_fresh());
        let old = SystemTime::now() - HOLDS_FOR - Duration::from_secs(1);
        std::fs::File::options()
            .write(true)
            .open(m.path())
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(!m.is_fresh());
        assert!(m.set());
        assert!(m.is_fresh());
    }

    /// A cache's marker holds for that cache only.
    #[test]
    fn a_cache_marker_is_about_one_cache() {
        let d = tempfile::tempdir().unwrap();
        let full = cache_unwritable(d.path(), Path::new("/caches/full"));
        let other = cache_unwritable(d.path(), Path::new("/caches/other"));
        assert!(full.set());
        assert!(full.is_fresh() && !other.is_fresh());
        assert!(!full.set());
        // Another cache fails too: its own marker, its own line.
        assert!(other.set());
        assert!(other.is_fresh() && !full.is_fresh());
        let left: Vec<_> = std::fs::read_dir(d.path().join(".cached-ninja"))
            .unwrap()
            .collect();
        assert_eq!(left.len(), 1, "no temporary left: {left:?}");
    }

    /// Where no marker can be made, every launch warns.
    #[test]
    fn a_marker_that_cannot_be_made_leaves_every_launch_to_warn() {
        let d = tempfile::tempdir().unwrap();
        // `.cached-ninja` is a file: nothing can be created below it, even by root.
        std::fs::write(d.path().join(".cached-ninja"), "").unwrap();
        let m = Marker::at(d.path().join(".cached-ninja/cache-unwritable"));
        assert!(m.set());
        assert!(m.set());
        assert!(!m.is_fresh());
    }
}
