//! Starting a fill in the background (DESIGN §1: the debug info follows after the link): a
//! new session (`setsid`: no terminal, not in the build's process group, so Ctrl-C there
//! does not stop it), the lowest CPU priority (`nice` 19) and the idle I/O class
//! (`ioprio_set`, as `ionice -c3`), stdin from `/dev/null`, stdout and stderr appended to the
//! object directory's `fill.log`, and no other inherited descriptor (every one above stderr is
//! marked close-on-exec): a caller waiting for the end of a pipe it gave the build, as CI
//! harnesses do, is not held up by the fill.

use fetch::objdir::ObjDir;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// `ioprio_set`'s "which": one process.
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// The idle I/O class, shifted into place (`IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT`).
const IOPRIO_IDLE: libc::c_int = 3 << 13;

/// Starts `dbgfetch fill --wait -C <objdir> [BINARY…]` (the `dbgfetch` executable at `exe`)
/// detached, at low priority; returns its pid. `--wait`: if a fill already runs, this one
/// waits for it and then fills what is still not up to date.
pub fn spawn(exe: &Path, objdir: &Path, binaries: &[String]) -> io::Result<u32> {
    let od = ObjDir::new(objdir);
    std::fs::create_dir_all(od.state_dir())?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(od.fill_log_file())?;
    let mut cmd = Command::new(exe);
    cmd.arg("fill")
        .arg("--wait")
        .arg("-C")
        .arg(objdir)
        .args(binaries)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: only async-signal-safe calls (setsid, setpriority, syscall) between fork and
    // exec; their failures are ignored (a fill at normal priority still works; kernels before
    // 5.11 lack close_range's CLOEXEC flag).
    unsafe {
        cmd.pre_exec(|| {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            libc::setsid();
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
            libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_IDLE);
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok(child.id())
}
