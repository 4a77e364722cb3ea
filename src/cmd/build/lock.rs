//! One build per object directory (issue 16): `cached-ninja build` holds `flock` on
//! `<objdir>/.cached-ninja/build.lock` (`ObjDir::build_lock_file`) for its lifetime and writes
//! its pid there. A second build waits with a message naming the holder, or fails at once with
//! `--no-wait`. The kernel releases the lock when the holder dies, `kill -9` included, so a
//! stale lock cannot exist: the next build simply takes it. A build that runs itself again
//! (`super::packager`) keeps the lock across its `exec` ([`BuildLock::keep_across_exec`],
//! [`adopt`]).

use anyhow::{bail, Context};
use fetch::flock::{Held, Wait};
use fetch::objdir::ObjDir;
use std::fs::File;
use std::io::{Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The held lock; released when dropped (or when the process dies).
pub struct BuildLock {
    held: Held,
}

impl BuildLock {
    /// Keeps the lock held across an `exec` of this process (its descriptor is not closed
    /// then); the descriptor's number, for [`adopt`].
    pub fn keep_across_exec(&self) -> std::io::Result<RawFd> {
        let fd = self.held.file().as_raw_fd();
        close_on_exec(fd, false)?;
        Ok(fd)
    }
}

/// The lock of `od` that an earlier image of this process kept across its `exec` as the
/// descriptor `fd`, if that is the lock file's (closed on exec again).
pub fn adopt(od: &ObjDir, fd: RawFd) -> Option<BuildLock> {
    let want = std::fs::metadata(od.build_lock_file()).ok()?;
    // SAFETY: `fstat` writes only into `st`; a descriptor that is not open fails it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    if st.st_dev as u64 != want.dev() || st.st_ino as u64 != want.ino() {
        return None;
    }
    close_on_exec(fd, true).ok()?;
    // SAFETY: the descriptor is open and is the lock file, which nothing else in this image
    // owns (the earlier image's `File` did not survive the exec).
    let file = unsafe { File::from_raw_fd(fd) };
    // Its own descriptor's lock is taken again at once (none other could have it).
    let held = fetch::flock::lock(file, Wait::No).ok()??;
    Some(BuildLock { held })
}

/// Sets or clears `FD_CLOEXEC` on `fd`.
fn close_on_exec(fd: RawFd, on: bool) -> std::io::Result<()> {
    // SAFETY: `fcntl` with F_GETFD/F_SETFD reads and writes only the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = match on {
        true => flags | libc::FD_CLOEXEC,
        false => flags & !libc::FD_CLOEXEC,
    };
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Takes the lock of `od`: waits for a running build (saying so) unless `no_wait`.
pub fn acquire(od: &ObjDir, no_wait: bool) -> anyhow::Result<BuildLock> {
    let path = od.build_lock_file();
    std::fs::create_dir_all(od.state_dir())
        .with_context(|| format!("cannot create {}", od.state_dir().display()))?;
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the build lock {}", path.display()))
    };
    let held = match flock(open()?, Wait::No)? {
        Some(held) => held,
        None => wait_for_holder(od, &path, no_wait, open()?)?,
    };
    let mut file = held.file();
    file.set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| writeln!(file, "{}", std::process::id()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(BuildLock { held })
}

/// Waits for the build holding the lock at `path` (named by the pid it wrote there) to
/// finish, saying so, and takes the lock through `file`; fails at once when `no_wait`.
fn wait_for_holder(od: &ObjDir, path: &Path, no_wait: bool, file: File) -> anyhow::Result<Held> {
    let holder = std::fs::read_to_string(path).unwrap_or_default();
    let holder = holder.trim();
    let who = if holder.is_empty() {
        "another build".to_string()
    } else {
        format!("another build (pid {holder})")
    };
    if no_wait {
        bail!(
            "{who} of {} is running ({} is locked): wait for it, or run without --no-wait to wait",
            od.root().display(),
            path.display()
        );
    }
    eprintln!(
        "cached-ninja build: waiting for {who} of {} to finish…",
        od.root().display()
    );
    let held = flock(file, Wait::Block)?;
    Ok(held.expect("a blocking lock is taken or fails"))
}

/// [`fetch::flock::lock`] of the build lock; `Ok(None)` when not waiting and held elsewhere.
fn flock(file: File, wait: Wait) -> anyhow::Result<Option<Held>> {
    fetch::flock::lock(file, wait).context("cannot lock the object directory (flock)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lock kept across an exec is taken over from its own descriptor only, and is held
    /// until the new owner drops it.
    #[test]
    fn a_kept_lock_is_adopted_from_its_own_descriptor_only() {
        let d = tempfile::tempdir().unwrap();
        let od = ObjDir::new(d.path());
        let held = acquire(&od, true).unwrap();
        let fd = held.keep_across_exec().unwrap();
        let other = File::open(d.path().join(".cached-ninja")).unwrap();
        assert!(adopt(&od, other.as_raw_fd()).is_none(), "another file");
        assert!(adopt(&od, 4000).is_none(), "a descriptor not open");
        let adopted = adopt(&od, fd).expect("the lock's own descriptor");
        // The adopted lock owns the descriptor now (as after an exec, where `held` is gone).
        std::mem::forget(held);
        assert!(acquire(&od, true).is_err(), "still held");
        drop(adopted);
        assert!(acquire(&od, true).is_ok(), "released with its owner");
    }
}
