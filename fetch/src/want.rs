//! How launchers and a running pull meet (DESIGN §5): while `cached-ninja build` pulls CI's
//! build, it keeps a marker `<objdir>/.cached-ninja/pulling` (`<pid> <wait ms>`). A launcher
//! that misses locally but knows its action key (direct mode found the include set the pull
//! recorded) drops an empty file `<objdir>/.cached-ninja/wants/<action key>`; the pull takes
//! wanted keys before anything else, and the launcher waits up to the marker's budget for the
//! entry to appear in the local cache, then compiles. No daemon, no socket: files in the object
//! directory, so a crashed pull (its pid gone or reused: the marker holds the start time too)
//! simply means nobody waits.
//!
//! This is a stand-in for DESIGN §5's prefetch daemon: one flat budget (`[fetch] wait_ms`)
//! instead of a per-edge one from expected download and compile times, and no policy boosts
//! (expensive edges first); wanted keys, then reverse build order.

use crate::cache::Digest;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The marker of a running pull.
pub fn marker_path(obj_root: &Path) -> PathBuf {
    crate::objdir::ObjDir::new(obj_root).pull_marker_file()
}

/// The directory of wanted action keys.
pub fn wants_dir(obj_root: &Path) -> PathBuf {
    crate::objdir::ObjDir::new(obj_root).wants_dir()
}

/// A running pull's marker; removed (with pending wants) when dropped.
pub struct PullMarker {
    obj_root: PathBuf,
}

impl PullMarker {
    /// Announces a pull by this process; launchers wait up to `wait` for a wanted entry.
    pub fn create(obj_root: &Path, wait: Duration) -> io::Result<PullMarker> {
        // Wants and failures left by a pull that crashed are not this pull's.
        match std::fs::remove_dir_all(wants_dir(obj_root)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::create_dir_all(wants_dir(obj_root))?;
        let pid = std::process::id();
        let since = start_time(pid).unwrap_or(0);
        let text = format!("{pid} {since} {}\n", wait.as_millis());
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

/// The wait budget of a pull running for `obj_root`, else `None`: the marker's process must
/// still be the one that wrote it (same pid and start time; a crashed pull's pid may be reused).
pub fn running(obj_root: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(marker_path(obj_root)).ok()?;
    let mut f = text.split_whitespace();
    let pid: u32 = f.next()?.parse().ok()?;
    let since: u64 = f.next()?.parse().ok()?;
    let ms: u64 = f.next()?.parse().ok()?;
    (start_time(pid)? == since).then(|| Duration::from_millis(ms))
}

/// When process `pid` started (clock ticks since boot, `/proc/<pid>/stat` field 22).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold blanks: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lives_with_its_process_and_its_start_time() {
        let dir = tempfile::tempdir().unwrap();
        let obj = dir.path();
        std::fs::create_dir_all(wants_dir(obj)).unwrap();
        std::fs::write(wants_dir(obj).join("old.failed"), b"").unwrap();
        let m = PullMarker::create(obj, Duration::from_millis(1234)).unwrap();
        assert_eq!(running(obj), Some(Duration::from_millis(1234)));
        assert!(
            !wants_dir(obj).join("old.failed").exists(),
            "a crashed pull's files go"
        );
        let key = Digest::of(b"k");
        want(obj, &key).unwrap();
        assert_eq!(take(&wants_dir(obj)), vec![key]);
        assert!(take(&wants_dir(obj)).is_empty(), "taken once");
        // Our pid, another start time: a reused pid of a crashed pull.
        let text = std::fs::read_to_string(marker_path(obj)).unwrap();
        let f: Vec<&str> = text.split_whitespace().collect();
        let forged = format!("{} {} {}\n", f[0], f[1].parse::<u64>().unwrap() + 1, f[2]);
        std::fs::write(marker_path(obj), forged).unwrap();
        assert_eq!(running(obj), None);
        drop(m);
        assert!(!marker_path(obj).exists() && !wants_dir(obj).exists());
        assert_eq!(running(obj), None);
    }
}
