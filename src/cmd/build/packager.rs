//! A DWARF packager (`dwp`, `llvm-dwp`) added to a zero-setup build after its objects were
//! made: CMake regenerates inside the build and leaves the compile commands as they were, so
//! Ninja runs no launcher before the step, which fails on objects made without it
//! (`engine::launcher::made_under_another_packager`). When that step failed, those objects
//! are removed and the build runs once more, in a fresh image of this process (`exec`: the
//! first run's threads, markers and signal handlers go with the old image; the build's lock is
//! kept across it).

use super::lock::{self, BuildLock};
use backend::rewrite::dwp_step::DwpStep;
use fetch::objdir::ObjDir;
use std::os::unix::process::CommandExt;
use std::path::Path;

/// Set for the image that runs the build again: `<pid>:<lock descriptor>`.
const RAN_AGAIN: &str = "CACHED_NINJA_BUILD_RAN_AGAIN";

/// In the image an earlier one of this process ran again: the build's lock it kept, if it
/// can be taken over (`Some(None)`: take it again). The word is removed from the environment
/// (Ninja's commands do not see it), and so is the pull marker the earlier image may have
/// left, which names this same process (launchers would take it for a live pull). `None` in
/// a build run by the user.
pub fn earlier_image(od: &ObjDir) -> Option<Option<BuildLock>> {
    let word = std::env::var(RAN_AGAIN).ok()?;
    std::env::remove_var(RAN_AGAIN);
    let (pid, fd) = word.split_once(':')?;
    if pid != std::process::id().to_string() {
        return None;
    }
    let held = fd.parse().ok().and_then(|fd| lock::adopt(od, fd));
    let _ = std::fs::remove_file(od.pull_marker_file());
    Some(held)
}

/// After Ninja failed in the object directory `dir` running the `failed` commands: if one of
/// them runs the packager its Ninja files run now, and some objects were made under another,
/// removes those and runs the build again, keeping `held` (this returns only when it cannot;
/// a line says why).
pub fn run_again_if_stale(dir: &Path, failed: &[String], held: &BuildLock) {
    let Some((program, n)) = remove_stale(dir, failed) else {
        return;
    };
    eprintln!(
        "cached-ninja build: note: the Ninja files of {} now package split DWARF with {program} after the link, which the {n} objects made before that step do not serve: they are made again, and the build runs once more",
        dir.display()
    );
    let e = match held.keep_across_exec() {
        Ok(fd) => {
            let word = format!("{}:{fd}", std::process::id());
            let mut again = std::process::Command::new("/proc/self/exe");
            if let Some(name) = std::env::args_os().next() {
                again.arg0(name);
            }
            again.args(std::env::args_os().skip(1)).env(RAN_AGAIN, word);
            again.exec()
        }
        Err(e) => e,
    };
    eprintln!(
        "cached-ninja build: warning: cannot run the build again ({e}); run it again yourself"
    );
}

/// In a zero-setup object directory whose Ninja files run a packager that one of the
/// `failed` commands runs: removes the objects made under another. The packager's program
/// and how many were removed, if any.
fn remove_stale(dir: &Path, failed: &[String]) -> Option<(&'static str, usize)> {
    if backend::rewrite::record::is_rewritten(&dir.join("build.ninja")).unwrap_or(true) {
        return None;
    }
    let facts = engine::launcher::ninja_facts(dir).filter(|f| f.runs_launcher)?;
    let program = match facts.dwp_step {
        DwpStep::None => return None,
        DwpStep::Gnu => "dwp",
        DwpStep::Llvm => "llvm-dwp",
    };
    let ran_step = |c: &String| DwpStep::of_command(c.as_bytes()) == facts.dwp_step;
    if !failed.iter().any(ran_step) {
        return None;
    }
    let stale = engine::launcher::made_under_another_packager(dir, facts.dwp_step).ok()?;
    let n = stale
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count();
    (n > 0).then_some((program, n))
}
