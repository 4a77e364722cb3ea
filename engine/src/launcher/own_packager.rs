//! The DWARF packager a build runs itself (`backend::rewrite::dwp_step`), for launchers and
//! pulls: as `generate` recorded it in the object directory's configuration, else (zero setup:
//! CMake's or Meson's own compiler launcher, nothing recorded) as the object directory's Ninja
//! files say. Without it a zero-setup build whose `llvm-dwp` step follows the link failed (the
//! objects named the token object root, where it found no `.dwo`), and one running `dwp` failed
//! on the `.dwo` files an objects-only pull leaves to the fill.
//!
//! Reading the Ninja files is a graph load, so its answer is remembered in the object
//! directory (`fetch::objdir::ObjDir::dwp_step_file`) under the stat stamp `build.ninja` had
//! before the read: a regenerated `build.ninja` (CMake and Meson rewrite it whenever any of
//! their Ninja files changes) is read again.

use backend::rewrite::dwp_step::DwpStep;
use fetch::cache::{write_atomic, StatStamp};
use fetch::objdir::{Config, ObjDir, DWP_STEP};
use std::path::Path;

/// The packager the build in `objdir` (whose configuration is `config`) runs itself.
pub fn dwp_step_of(objdir: &Path, config: &Config) -> DwpStep {
    match config.value(DWP_STEP) {
        // An unknown word (a newer `generate`'s) is taken as none.
        Some(word) => DwpStep::from_word(word).unwrap_or_default(),
        None => unrecorded(objdir),
    }
}

/// The packager of an object directory `generate` never saw, remembered or read.
fn unrecorded(objdir: &Path) -> DwpStep {
    let Ok(md) = std::fs::metadata(objdir.join("build.ninja")) else {
        return DwpStep::None;
    };
    let stamp = StatStamp::of(&md).words();
    let od = ObjDir::new(objdir);
    let memo = od.dwp_step_file();
    let known = std::fs::read_to_string(&memo).ok().and_then(|text| {
        let (at, word) = text.trim_end().rsplit_once(' ')?;
        (at == stamp).then(|| DwpStep::from_word(word))?
    });
    if let Some(step) = known {
        return step;
    }
    let Ok(graph) = crate::fill::targets::load_graph(objdir) else {
        return DwpStep::None;
    };
    let step = DwpStep::of_graph(&graph);
    // Unwritable: read again by the next launch.
    let _ = std::fs::create_dir_all(od.state_dir());
    let _ = write_atomic(&memo, format!("{stamp} {}\n", step.name()).as_bytes());
    step
}
