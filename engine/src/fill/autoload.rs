//! The debuggers find the developer's sources without flags (issue 16): beside each linked
//! binary, `<binary>-gdb.gdb`, the script gdb auto-loads for an objfile (once its directory is
//! in gdb's `auto-load safe-path`), sources the launcher's `gdbinit`; `<objdir>/.lldbinit`,
//! which lldb reads when started in the object directory (with `target.load-cwd-lldbinit`),
//! sources the fill's `lldbinit`. Both hold one command naming the file that owns the mapping,
//! so the mapping itself is written in one place each; README.md gives the one-time setup.

use fetch::objdir::ObjDir;
use std::io;
use std::path::{Path, PathBuf};

/// `<binary>-gdb.gdb`: the name gdb auto-loads for the objfile `binary`.
pub fn gdb_script_path(binary: &Path) -> PathBuf {
    let mut s = binary.as_os_str().to_owned();
    s.push("-gdb.gdb");
    PathBuf::from(s)
}

/// Writes (where they differ) the gdb script of each of `binaries` and the object directory's
/// `.lldbinit`, when the mappings they source exist; a failure names the file.
pub fn write(od: &ObjDir, binaries: &[PathBuf]) -> Result<(), (PathBuf, io::Error)> {
    let gdbinit = od.gdbinit_file();
    if gdbinit.is_file() {
        let text = format!(
            "# written by dbgfetch: this machine's paths for the tokens in the objects\nsource {}\n",
            gdbinit.display()
        );
        for b in binaries {
            write_if_changed(&gdb_script_path(b), &text)?;
        }
    }
    let lldbinit = od.lldbinit_file();
    if lldbinit.is_file() {
        let text = format!(
            "# written by dbgfetch: this machine's paths for the tokens in the objects\ncommand source {}\n",
            lldbinit.display()
        );
        write_if_changed(&od.cwd_lldbinit_file(), &text)?;
    }
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), (PathBuf, io::Error)> {
    super::layout::place_file(path, text.as_bytes()).map_err(|e| (path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_source_the_mappings_and_are_rewritten_only_on_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let od = ObjDir::new(dir.path());
        std::fs::create_dir_all(od.state_dir()).unwrap();
        let bin = dir.path().join("app");
        // No mapping yet: nothing to source, nothing written.
        write(&od, std::slice::from_ref(&bin)).unwrap();
        assert!(!gdb_script_path(&bin).exists() && !od.cwd_lldbinit_file().exists());
        std::fs::write(od.gdbinit_file(), "set substitute-path a b\n").unwrap();
        std::fs::write(
            od.lldbinit_file(),
            "settings append target.source-map a b\n",
        )
        .unwrap();
        write(&od, std::slice::from_ref(&bin)).unwrap();
        let gdb = std::fs::read_to_string(gdb_script_path(&bin)).unwrap();
        assert!(gdb.ends_with(&format!("source {}\n", od.gdbinit_file().display())));
        let lldb = std::fs::read_to_string(od.cwd_lldbinit_file()).unwrap();
        assert!(lldb.ends_with(&format!(
            "command source {}\n",
            od.lldbinit_file().display()
        )));
        let before = std::fs::metadata(gdb_script_path(&bin))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(&od, std::slice::from_ref(&bin)).unwrap();
        let after = std::fs::metadata(gdb_script_path(&bin))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after);
    }
}
