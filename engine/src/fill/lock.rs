//! One fill per object directory: an exclusive `flock` on `<objdir>/.cached-ninja/fill.lock`,
//! which the holder fills with its pid (for `dbgfetch status` and `dbgfetch stop`). The kernel
//! drops the lock when the holder dies, even by `kill -9`, so a stale lock never blocks.

use fetch::flock::{Held, Wait};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::Path;

/// The held lock; dropping it empties the pid and releases it.
#[derive(Debug)]
pub struct FillLock {
    held: Held,
}

/// Takes the lock at `path`: waiting for the holder when `wait`, else `Ok(None)` when another
/// process holds it. Its directory must exist (a fill never recreates an object directory's
/// state that was removed under it).
pub fn acquire(path: &Path, wait: bool) -> io::Result<Option<FillLock>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let wait = match wait {
        true => Wait::Block,
        false => Wait::No,
    };
    let Some(held) = fetch::flock::lock(file, wait)? else {
        return Ok(None);
    };
    let mut file = held.file();
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "{}", std::process::id())?;
    Ok(Some(FillLock { held }))
}

impl Drop for FillLock {
    fn drop(&mut self) {
        let _ = self.held.file().set_len(0);
    }
}

/// The pid of the running fill, if one runs: the pid recorded in the lock file, when that
/// process is alive (a `kill -9` leaves its pid behind, a dead pid is no fill).
pub fn running_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    let alive = pid > 0 && unsafe { libc::kill(pid, 0) } == 0;
    alive.then_some(pid as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fill.lock");
        let first = acquire(&path, false).unwrap().expect("free");
        assert_eq!(running_pid(&path), Some(std::process::id()));
        assert!(acquire(&path, false).unwrap().is_none());
        drop(first);
        assert_eq!(running_pid(&path), None);
        assert!(acquire(&path, false).unwrap().is_some());
    }
}
