//! A packager of split DWARF added to a zero-setup build after its objects were made: CMake
//! regenerates inside the build and leaves the compile commands as they were, so Ninja runs
//! no launcher before the step. `dwp` then meets objects whose `.dwo` files an objects-first
//! build left to the fill, and `llvm-dwp` objects that name the token object root. Each launch
//! notes the packager it ran under in the edge log (`fetch::edge_log::PACKAGER`); the objects
//! made under another are what must be made again.

use backend::rewrite::dwp_step::DwpStep;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The objects in `objdir` that its launchers made under another packager than `step`, the
/// one its Ninja files run now, and that the step cannot read (none when it is none): files
/// that exist, named below `objdir`. For `dwp` those without their `.dwo` beside them; for
/// `llvm-dwp` all (they name the token object root). A record that names no packager (no
/// `.dwo` made, or an older version's) is left alone.
pub fn made_under_another_packager(objdir: &Path, step: DwpStep) -> io::Result<Vec<PathBuf>> {
    if step == DwpStep::None {
        return Ok(Vec::new());
    }
    let records = fetch::edge_log::last_of_each(objdir)?;
    let stale = records
        .iter()
        .filter(|r| r.packager().is_some_and(|p| p != step.name()))
        .filter_map(|r| inside(objdir, &r.output))
        .filter(|p| p.is_file())
        .filter(|p| step == DwpStep::Llvm || !p.with_extension("dwo").is_file());
    Ok(stale.collect())
}

/// The path of `output` when it names a file below `objdir`: relative without `..`, or an
/// absolute path that starts with `objdir` and goes on the same way (a compile command may
/// name its object absolutely).
fn inside(objdir: &Path, output: &str) -> Option<PathBuf> {
    let path = Path::new(output);
    let rel = match path.is_absolute() {
        // The object directory as given (`-C obj`: from here), or as the file system names it.
        true => [std::path::absolute(objdir), objdir.canonicalize()]
            .into_iter()
            .flatten()
            .find_map(|d| path.strip_prefix(d).ok().map(Path::to_path_buf))?,
        false => path.to_path_buf(),
    };
    let mut parts = rel.components();
    let plain = parts.all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    (plain && !rel.as_os_str().is_empty()).then(|| objdir.join(&rel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetch::edge_log::{append, EdgeOutcome, PACKAGER};

    /// A launch that made `output` (and its `.dwo` with `dwo`) under `packager`.
    fn launch(objdir: &Path, output: &str, packager: Option<&str>, dwo: bool) {
        let notes = packager.map(|p| format!("{PACKAGER}{p}"));
        let record = EdgeOutcome {
            outcome: "hit".into(),
            notes: notes.into_iter().collect(),
            output: output.into(),
            ..Default::default()
        };
        append(objdir, &record).unwrap();
        let path = objdir.join(output);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"object").unwrap();
        if dwo {
            std::fs::write(path.with_extension("dwo"), b"dwo").unwrap();
        }
    }

    #[test]
    fn objects_made_under_another_packager_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let objdir = &dir.path().join("obj");
        launch(objdir, "a.o", Some("none"), false);
        launch(objdir, "b.o", Some("gnu"), true);
        launch(objdir, "c.o", Some("llvm"), false);
        launch(objdir, "compiled.o", Some("none"), true);
        launch(objdir, "older.o", None, false);
        launch(objdir, "../outside.o", Some("none"), false);
        // Named absolutely: below the object directory, and not.
        let abs = objdir.join("sub/abs.o").display().to_string();
        launch(objdir, &abs, Some("none"), false);
        let elsewhere = dir.path().join("elsewhere/far.o").display().to_string();
        launch(objdir, &elsewhere, Some("none"), false);
        let dotted = objdir.join("sub/../../up.o").display().to_string();
        launch(objdir, &dotted, Some("none"), false);
        launch(objdir, "gone.o", Some("none"), false);
        std::fs::remove_file(objdir.join("gone.o")).unwrap();
        let stale = |step| made_under_another_packager(objdir, step).unwrap();
        assert_eq!(stale(DwpStep::None), [] as [PathBuf; 0]);
        let names = |v: Vec<PathBuf>| -> Vec<String> {
            let names = v.iter().map(|p| p.file_name().unwrap().to_string_lossy());
            names.map(|n| n.into_owned()).collect()
        };
        // dwp: those without their .dwo (a compile here wrote it; an older record says nothing,
        // and nothing outside the object directory is touched).
        assert_eq!(names(stale(DwpStep::Gnu)), ["a.o", "c.o", "abs.o"]);
        // llvm-dwp: every object made under another (they name the token object root).
        assert_eq!(
            names(stale(DwpStep::Llvm)),
            ["a.o", "b.o", "compiled.o", "abs.o"]
        );
    }
}
