//! The token→root mapping for debuggers, in `<object root>/.cached-ninja/gdbinit` (DESIGN §6).

use super::launch::Launcher;
use super::paths::{OBJ_TOKEN, REG_TOKEN, SRC_TOKEN};
use fetch::cache as fcache;
use fetch::objdir::ObjDir;

impl Launcher<'_> {
    /// Records the token→root mapping for debuggers in `<obj>/.cached-ninja/gdbinit`.
    pub(super) fn write_gdbinit(&self, full_check: bool) {
        let mut text = String::from(
            "# written by cached-ninja cc: this machine's paths for the tokens in objects\n",
        );
        if let Some(src) = self.roots.src() {
            text.push_str(&format!("set substitute-path {SRC_TOKEN} {src}\n"));
        }
        text.push_str(&format!(
            "set substitute-path {OBJ_TOKEN} {}\n",
            self.roots.obj()
        ));
        // Rust crates of the package registry (`RUSTC_WRAPPER` under Cargo).
        if let Some(reg) = self.roots.registry() {
            text.push_str(&format!("set substitute-path {REG_TOKEN} {reg}\n"));
        }
        let path = ObjDir::new(self.roots.obj()).gdbinit_file();
        // Launches that hit only check the length (one `stat`); a compile compares the content.
        let same = if full_check {
            std::fs::read(&path).is_ok_and(|old| old == text.as_bytes())
        } else {
            std::fs::metadata(&path).is_ok_and(|m| m.len() == text.len() as u64)
        };
        if same {
            return;
        }
        let _ = std::fs::create_dir_all(path.parent().expect("has parent"));
        let _ = fcache::write_atomic(&path, text.as_bytes());
    }
}
