//! A marker in `<objdir>/.cached-ninja/` that something is down for the rest of a build (the
//! distributed compiler, the cache's room for new entries): the first launch to meet the
//! problem creates it and prints the build's one warning line; later launches see it and go
//! the local way at once, silently. `cached-ninja build` removes the markers when a build
//! starts; under plain Ninja one holds for [`HOLDS_FOR`].

use fetch::objdir::ObjDir;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a marker holds when no build removes it.
pub const HOLDS_FOR: Duration = Duration::from_secs(300);

/// One marker file.
pub struct Marker(PathBuf);

/// The marker of a local cache that took no new entry in the build of `objdir` (full,
/// read-only, not ours to write): a launch or the pull that meets such a cache says so once.
pub fn cache_unwritable(objdir: &Path) -> Marker {
    Marker::at(ObjDir::new(objdir).cache_unwritable_file())
}

/// Whether a failed write says the cache has no room for new entries for a while: a full disk
/// or quota, a read-only file system, a directory not ours to write.
pub fn no_room(e: &io::Error) -> bool {
    let room = [
        libc::ENOSPC,
        libc::EDQUOT,
        libc::EROFS,
        libc::EACCES,
        libc::EPERM,
    ];
    e.raw_os_error().is_some_and(|n| room.contains(&n))
}

impl Marker {
    /// The marker at `path`.
    pub(super) fn at(path: PathBuf) -> Marker {
        Marker(path)
    }

    /// Whether the marker exists and is younger than [`HOLDS_FOR`].
    pub fn is_fresh(&self) -> bool {
        std::fs::metadata(&self.0)
            .and_then(|m| m.modified())
            .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() < HOLDS_FOR)
    }

    /// Sets the marker; true when this launch is the one to warn: it made the marker, or
    /// none can be made (an unwritable `.cached-ninja/`: then every launch warns, rather than
    /// none). A stale marker is replaced.
    pub fn set(&self) -> bool {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let create = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.0)
        };
        match create() {
            Ok(_) => return true,
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return true,
            Err(_) if self.is_fresh() => return false,
            Err(_) => {}
        }
        let _ = std::fs::remove_file(&self.0);
        create().is_ok()
    }

    /// The marker's path.
    #[cfg(test)]
    pub(super) fn path(&self) -> &Path {
        &self.0
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
