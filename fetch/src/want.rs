//! How launchers and a running pull meet (DESIGN §5): while `cached-ninja build` pulls CI's
//! build, it keeps a marker `<objdir>/.cached-ninja/pulling` (`<pid> <wait ms>`). A launcher
//! that misses locally but knows its action key (direct mode found the include set the pull
//! recorded) drops an empty file `<objdir>/.cached-ninja/wants/<action key>`; the pull takes
//! wanted keys before anything else, and the launcher waits up to the marker's budget for the
//! entry to appear in the local cache, then compiles. No daemon, no socket: files in the object
//! directory, so a crashed pull (stale pid) simply means nobody waits.

use crate::cache::Digest;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The marker of a running pull.
pub fn marker_path(obj_root: &Path) -> PathBuf {
    obj_root.join(".cached-ninja").join("pulling")
}

/// The directory of wanted action keys.
pub fn wants_dir(obj_root: &Path) -> PathBuf {
    obj_root.join(".cached-ninja").join("wants")
}

/// A running pull's marker; removed (with pending wants) when dropped.
pub struct PullMarker {
    obj_root: PathBuf,
}

impl PullMarker {
    /// Announces a pull by this process; launchers wait up to `wait` for a wanted entry.
    pub fn create(obj_root: &Path, wait: Duration) -> io::Result<PullMarker> {
        std::fs::create_dir_all(wants_dir(obj_root))?;
        let text = format!("{} {}\n", std::process::id(), wait.as_millis());
        crate::cache::write_atomic(&marker_path(obj_root), text.as_bytes())?;
        Ok(PullMarker {
            obj_root: obj_root.to_path_buf(),
        })
    }
}

impl Drop for PullMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(marker_path(&self.obj_root));
        let _ = std::fs::remove_dir_all(wants_dir(&self.obj_root));
    }
}

/// The wait budget of a pull running for `obj_root` (its process alive), else `None`.
pub fn running(obj_root: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(marker_path(obj_root)).ok()?;
    let mut f = text.split_whitespace();
    let pid: libc::pid_t = f.next()?.parse().ok()?;
    let ms: u64 = f.next()?.parse().ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then(|| Duration::from_millis(ms))
}

/// Asks the running pull for `key` first.
pub fn want(obj_root: &Path, key: &Digest) -> io::Result<()> {
    std::fs::write(wants_dir(obj_root).join(key.to_hex()), b"")
}

/// Marks `key` as failed (the waiting launcher compiles at once instead of waiting on).
pub fn failed(dir: &Path, key: &Digest) {
    let _ = std::fs::write(dir.join(format!("{}.failed", key.to_hex())), b"");
}

/// Whether the pull gave up on `key`.
pub fn has_failed(obj_root: &Path, key: &Digest) -> bool {
    wants_dir(obj_root)
        .join(format!("{}.failed", key.to_hex()))
        .exists()
}

/// Takes the wanted keys out of `dir` (each once, whoever removes its file first).
pub fn take(dir: &Path) -> Vec<Digest> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| {
        let e = e.ok()?;
        let d = Digest::from_hex(e.file_name().to_str()?)?;
        std::fs::remove_file(e.path()).ok()?;
        Some(d)
    })
    .collect()
}
