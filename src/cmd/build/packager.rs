//! A DWARF packager (`dwp`, `llvm-dwp`) added to a zero-setup build after its objects were
//! made: CMake regenerates inside the build and leaves the compile commands as they were, so
//! Ninja runs no launcher before the step, which fails on objects made without it
//! (`engine::launcher::made_under_another_packager`). When Ninja failed, those objects are
//! removed and the build runs once more, in a fresh image of this process (`exec`: the first
//! run's threads, markers and signal handlers go with the old image).

use backend::rewrite::dwp_step::DwpStep;
use std::os::unix::process::CommandExt;
use std::path::Path;

/// Set in the build that runs once more, so that it does not again.
const RAN_AGAIN: &str = "CACHED_NINJA_BUILD_RAN_AGAIN";

/// After Ninja failed in the object directory `dir`: if its Ninja files run a packager now
/// that some of its objects were not made under, removes those and runs the build again
/// (this returns only when it cannot; a line says why).
pub fn run_again_if_stale(dir: &Path) {
    if std::env::var_os(RAN_AGAIN).is_some() {
        return;
    }
    let Some((program, n)) = remove_stale(dir) else {
        return;
    };
    eprintln!(
        "cached-ninja build: note: the Ninja files of {} now package split DWARF with {program} after the link, which the {n} objects made before that step do not serve: they are made again, and the build runs once more",
        dir.display()
    );
    let e = match std::env::current_exe() {
        Ok(exe) => std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(RAN_AGAIN, "1")
            .exec(),
        Err(e) => e,
    };
    eprintln!(
        "cached-ninja build: warning: cannot run the build again ({e}); run it again yourself"
    );
}

/// In the build that runs again: removes the pull marker the previous image may have left
/// (its threads died with it, some before they removed theirs), which names this same
/// process: launchers would take it for a live pull. Called with the build's lock held.
pub fn forget_previous_image(dir: &Path) {
    if std::env::var_os(RAN_AGAIN).is_some() {
        let _ = std::fs::remove_file(fetch::objdir::ObjDir::new(dir).pull_marker_file());
    }
}

/// In a zero-setup object directory whose Ninja files run a packager: removes the objects
/// made under another. The packager's program and how many were removed, if any.
fn remove_stale(dir: &Path) -> Option<(&'static str, usize)> {
    if backend::rewrite::record::is_rewritten(&dir.join("build.ninja")).unwrap_or(true) {
        return None;
    }
    let facts = engine::launcher::ninja_facts(dir).filter(|f| f.runs_launcher)?;
    let program = match facts.dwp_step {
        DwpStep::None => return None,
        DwpStep::Gnu => "dwp",
        DwpStep::Llvm => "llvm-dwp",
    };
    let stale = engine::launcher::made_under_another_packager(dir).ok()?;
    let n = stale
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count();
    (n > 0).then_some((program, n))
}
