//! The one `flock(2)` wrapper of the workspace (rather than `File::lock`: Rust 1.89, and the
//! workspace supports 1.80). A lock goes with its holder's process, `kill -9` included, so no
//! lock file is ever stale; locks of two open files conflict within one process too.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Whether [`lock`] waits for another holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Block until the lock is free.
    Block,
    /// Return at once when it is held elsewhere.
    No,
}

/// Takes the exclusive lock of `file` (released when every descriptor of it is closed):
/// `Ok(false)` when `wait` is [`Wait::No`] and another holder has it.
pub fn lock(file: &File, wait: Wait) -> io::Result<bool> {
    let op = match wait {
        Wait::Block => libc::LOCK_EX,
        Wait::No => libc::LOCK_EX | libc::LOCK_NB,
    };
    loop {
        // SAFETY: flock on a descriptor `file` owns.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if wait == Wait::No => return Ok(false),
            _ => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_file_waits_or_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = File::create(&path).unwrap();
        assert!(lock(&first, Wait::No).unwrap());
        let second = File::create(&path).unwrap();
        assert!(!lock(&second, Wait::No).unwrap());
        drop(first);
        assert!(lock(&second, Wait::Block).unwrap());
    }
}
