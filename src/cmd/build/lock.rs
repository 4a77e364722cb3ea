//! One build per object directory (issue 16): `cached-ninja build` holds `flock` on
//! `<objdir>/.cached-ninja/build.lock` (`ObjDir::build_lock_file`) for its lifetime and writes
//! its pid there. A second build waits with a message naming the holder, or fails at once with
//! `--no-wait`. The kernel releases the lock when the holder dies, `kill -9` included, so a
//! stale lock cannot exist: the next build simply takes it.

use anyhow::{bail, Context};
use fetch::flock::Wait;
use fetch::objdir::ObjDir;
use std::fs::File;
use std::io::{Read, Seek, Write};

/// The held lock; released when dropped (or when the process dies).
pub struct BuildLock {
    _file: File,
}

/// Takes the lock of `od`: waits for a running build (saying so) unless `no_wait`.
pub fn acquire(od: &ObjDir, no_wait: bool) -> anyhow::Result<BuildLock> {
    let path = od.build_lock_file();
    std::fs::create_dir_all(od.state_dir())
        .with_context(|| format!("cannot create {}", od.state_dir().display()))?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open the build lock {}", path.display()))?;
    if !flock(&file, Wait::No)? {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
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
        flock(&file, Wait::Block)?;
    }
    file.set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| writeln!(file, "{}", std::process::id()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(BuildLock { _file: file })
}

/// [`fetch::flock::lock`] of the build lock; `Ok(false)` when not waiting and held elsewhere.
fn flock(file: &File, wait: Wait) -> anyhow::Result<bool> {
    fetch::flock::lock(file, wait).context("cannot lock the object directory (flock)")
}
