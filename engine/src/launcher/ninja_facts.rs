//! What an object directory's own Ninja files say, for launchers, pulls and `build`: the DWARF
//! packager the build runs itself (`backend::rewrite::dwp_step`) and whether its compiles run
//! the launcher. `generate` records the packager in the object directory's configuration; an
//! object directory it never saw (zero setup: CMake's or Meson's own compiler launcher) is
//! read here. Without the packager a zero-setup build whose `llvm-dwp` step follows the link
//! failed (the objects named the token object root, where it found no `.dwo`), and one running
//! `dwp` failed on the `.dwo` files an objects-only pull leaves to the fill.
//!
//! Reading the Ninja files is a graph load (0.4 s for a 31 MB `build.ninja`), so the answer
//! is remembered in the object directory (`fetch::objdir::ObjDir::ninja_facts_file`) under the
//! stat stamp `build.ninja` had before the read: a regenerated `build.ninja` (CMake and Meson
//! rewrite it whenever any of their Ninja files changes) is read again.

use backend::rewrite::dwp_step::DwpStep;
use fetch::cache::{write_atomic, StatStamp};
use fetch::objdir::{Config, ObjDir, DWP_STEP};
use std::path::Path;

/// What a zero-setup object directory's Ninja files say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NinjaFacts {
    /// The packager the build runs itself.
    pub dwp_step: DwpStep,
    /// Whether some compile runs the launcher (`super::local_keys::runs_launcher`).
    pub runs_launcher: bool,
}

/// The packager the build in `objdir` (whose configuration is `config`) runs itself.
pub(super) fn dwp_step_of(objdir: &Path, config: &Config) -> DwpStep {
    match config.value(DWP_STEP) {
        // An unknown word (a newer `generate`'s) is taken as none.
        Some(word) => DwpStep::from_word(word).unwrap_or_default(),
        None => ninja_facts(objdir).map_or(DwpStep::None, |f| f.dwp_step),
    }
}

/// What the Ninja files of `objdir` say, remembered or read (`None`: no `build.ninja`, or
/// one that does not load).
pub fn ninja_facts(objdir: &Path) -> Option<NinjaFacts> {
    let md = std::fs::metadata(objdir.join("build.ninja")).ok()?;
    let stamp = StatStamp::of(&md).words();
    let od = ObjDir::new(objdir);
    let memo = od.ninja_facts_file();
    if let Some(known) = remembered(&memo, &stamp) {
        return Some(known);
    }
    // One launch reads the Ninja files; those started beside it (after a regeneration, as
    // many as Ninja runs at once) wait for its memo. Held until this returns.
    let _ = std::fs::create_dir_all(od.state_dir());
    let reading = std::fs::File::create(od.ninja_facts_lock_file())
        .ok()
        .and_then(|f| fetch::flock::lock(f, fetch::flock::Wait::Block).ok());
    if reading.is_some() {
        if let Some(known) = remembered(&memo, &stamp) {
            return Some(known);
        }
    }
    let graph = crate::fill::targets::load_graph(objdir).ok()?;
    let facts = NinjaFacts {
        dwp_step: DwpStep::of_graph(&graph),
        runs_launcher: super::local_keys::runs_launcher(&graph),
    };
    let runs = match facts.runs_launcher {
        true => "launcher",
        false => "plain",
    };
    // Unwritable: read again by the next launch.
    let text = format!("{stamp} {} {runs}\n", facts.dwp_step.name());
    let _ = write_atomic(&memo, text.as_bytes());
    Some(facts)
}

/// The facts `memo` holds for `build.ninja` of stamp `stamp`.
fn remembered(memo: &Path, stamp: &str) -> Option<NinjaFacts> {
    let text = std::fs::read_to_string(memo).ok()?;
    let mut words = text.trim_end().rsplitn(3, ' ');
    let (runs, step, at) = (words.next()?, words.next()?, words.next()?);
    let runs_launcher = match runs {
        "launcher" => true,
        "plain" => false,
        _ => return None,
    };
    let dwp_step = DwpStep::from_word(step)?;
    (at == stamp).then_some(NinjaFacts {
        dwp_step,
        runs_launcher,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zero-setup `build.ninja`: a compile through the launcher, a link, and `step`.
    fn write_build(objdir: &Path, step: &str) {
        let text = format!(
            "rule cc\n  command = /bin/cached-ninja gcc -c $in -o $out\n\
             rule link\n  command = gcc $in -o $out && {step}\n\
             build a.o: cc a.c\nbuild app: link a.o\n"
        );
        std::fs::write(objdir.join("build.ninja"), text).unwrap();
    }

    #[test]
    fn the_facts_are_remembered_until_build_ninja_changes() {
        let dir = tempfile::tempdir().unwrap();
        let objdir = dir.path();
        assert_eq!(ninja_facts(objdir), None, "no build.ninja");
        write_build(objdir, "llvm-dwp -e app -o app.dwp");
        let llvm = NinjaFacts {
            dwp_step: DwpStep::Llvm,
            runs_launcher: true,
        };
        assert_eq!(ninja_facts(objdir), Some(llvm));
        let memo = ObjDir::new(objdir).ninja_facts_file();
        let text = std::fs::read_to_string(&memo).unwrap();
        assert!(text.ends_with(" llvm launcher\n"), "{text}");
        // The memo answers while the stamp holds (a forged one proves it is read)...
        let forged = text.replace(" llvm launcher", " gnu plain");
        std::fs::write(&memo, &forged).unwrap();
        let gnu = NinjaFacts {
            dwp_step: DwpStep::Gnu,
            runs_launcher: false,
        };
        assert_eq!(ninja_facts(objdir), Some(gnu));
        assert_eq!(dwp_step_of(objdir, &Config::default()), DwpStep::Gnu);
        // ...and a regenerated build.ninja is read again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_build(objdir, "true");
        let none = NinjaFacts {
            dwp_step: DwpStep::None,
            runs_launcher: true,
        };
        assert_eq!(ninja_facts(objdir), Some(none));
        // A word of an older memo's format is read again, not trusted.
        std::fs::write(&memo, "1 2 3 llvm\n").unwrap();
        assert_eq!(ninja_facts(objdir), Some(none));
    }

    #[test]
    fn a_launch_beside_the_one_reading_waits_for_its_memo() {
        let dir = tempfile::tempdir().unwrap();
        let objdir = dir.path().to_path_buf();
        write_build(&objdir, "llvm-dwp -e app -o app.dwp");
        let od = ObjDir::new(&objdir);
        std::fs::create_dir_all(od.state_dir()).unwrap();
        // This test is the launch reading: it holds the lock while another launch starts.
        let reading = std::fs::File::create(od.ninja_facts_lock_file()).unwrap();
        let reading = fetch::flock::lock(reading, fetch::flock::Wait::No).unwrap();
        assert!(reading.is_some());
        let other = std::thread::spawn(move || ninja_facts(&objdir));
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(!other.is_finished(), "the other launch did not wait");
        // The memo this launch writes (forged: the waiting launch must take it as written).
        let md = std::fs::metadata(dir.path().join("build.ninja")).unwrap();
        let forged = format!("{} gnu plain\n", StatStamp::of(&md).words());
        std::fs::write(od.ninja_facts_file(), forged).unwrap();
        drop(reading);
        let gnu = NinjaFacts {
            dwp_step: DwpStep::Gnu,
            runs_launcher: false,
        };
        assert_eq!(other.join().unwrap(), Some(gnu));
    }
}
