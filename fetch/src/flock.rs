//! The one `flock(2)` wrapper of the workspace (rather than `File::lock`: Rust 1.89, and the
//! workspace supports 1.80). A lock goes with its holder's process, `kill -9` included, so no
//! lock file is ever stale; locks of two open files conflict within one process too.
//!
//! A [`Held`] lock is released when it is dropped, explicitly: closing the descriptor alone
//! would leave it held by any child forked meanwhile by another thread (Ninja, git, a
//! compiler), whose copy of the descriptor lives until that child's `exec`.

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

/// A file whose exclusive lock this process holds; released on drop.
#[derive(Debug)]
pub struct Held {
    file: File,
}

impl Held {
    /// The locked file.
    pub fn file(&self) -> &File {
        &self.file
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: flock on a descriptor `self.file` owns.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Takes the exclusive lock of `file`: `Ok(None)` (and `file` closed) when `wait` is
/// [`Wait::No`] and another holder has it.
pub fn lock(file: File, wait: Wait) -> io::Result<Option<Held>> {
    let op = match wait {
        Wait::Block => libc::LOCK_EX,
        Wait::No => libc::LOCK_EX | libc::LOCK_NB,
    };
    loop {
        // SAFETY: flock on a descriptor `file` owns.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(Some(Held { file }));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if wait == Wait::No => return Ok(None),
            _ => return Err(e),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A forked child that keeps every descriptor of this process, as a child spawned by
    /// another thread does until its `exec`; killed and waited for on drop (and killed with
    /// this process).
    pub(crate) struct DescriptorHolder(libc::pid_t);

    impl DescriptorHolder {
        pub(crate) fn fork() -> DescriptorHolder {
            // SAFETY: the child only makes async-signal-safe calls (prctl, pause, _exit).
            match unsafe { libc::fork() } {
                0 => unsafe {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    loop {
                        libc::pause();
                    }
                },
                pid => {
                    assert!(pid > 0, "fork: {}", io::Error::last_os_error());
                    DescriptorHolder(pid)
                }
            }
        }
    }

    impl Drop for DescriptorHolder {
        fn drop(&mut self) {
            // SAFETY: signalling and waiting for our own child.
            unsafe {
                libc::kill(self.0, libc::SIGKILL);
                libc::waitpid(self.0, std::ptr::null_mut(), 0);
            }
        }
    }

    #[test]
    fn a_second_open_file_waits_or_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let first = lock(File::create(&path).unwrap(), Wait::No).unwrap();
        assert!(first.is_some());
        assert!(lock(File::create(&path).unwrap(), Wait::No)
            .unwrap()
            .is_none());
        drop(first);
        let second = lock(File::create(&path).unwrap(), Wait::Block).unwrap();
        assert!(second.is_some());
    }

    /// A child forked while the lock was held (its copy of the descriptor open) does not keep
    /// the lock once the holder drops it.
    #[test]
    fn a_dropped_lock_is_free_though_a_child_has_its_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = lock(File::create(&path).unwrap(), Wait::No).unwrap();
        let _child = DescriptorHolder::fork();
        drop(held);
        let again = lock(File::create(&path).unwrap(), Wait::No).unwrap();
        assert!(again.is_some(), "the child kept the lock");
    }
}
