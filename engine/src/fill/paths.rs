//! This machine's paths for what the objects name: the prefix-map tokens of the launcher
//! (`/cached-ninja/obj`, `/cached-ninja/src`) mapped back to the roots, and where a loose
//! `.dwo` goes so that gdb finds it (DESIGN §6).

use crate::launcher::{OBJ_TOKEN, SRC_TOKEN};
use std::path::{Component, Path, PathBuf};

/// The roots the tokens stand for on this machine.
#[derive(Clone, Debug)]
pub struct TokenMap {
    /// The object directory.
    pub obj: PathBuf,
    /// The source root, when configured.
    pub src: Option<PathBuf>,
}

impl TokenMap {
    /// `dir` (a `DW_AT_comp_dir`) with its token replaced by this machine's root.
    pub fn dir(&self, dir: &str) -> PathBuf {
        let swap = |token: &str, root: &Path| -> Option<PathBuf> {
            let rest = dir.strip_prefix(token)?;
            match rest.strip_prefix('/') {
                Some(r) => Some(root.join(r)),
                None if rest.is_empty() => Some(root.to_path_buf()),
                None => None,
            }
        };
        swap(OBJ_TOKEN, &self.obj)
            .or_else(|| self.src.as_deref().and_then(|s| swap(SRC_TOKEN, s)))
            .unwrap_or_else(|| self.obj.join(dir))
    }

    /// Where the compiler wrote `name` (a `DW_AT_dwo_name`) from `comp_dir`.
    pub fn resolve(&self, comp_dir: &str, name: &str) -> PathBuf {
        if Path::new(name).is_absolute() {
            return self.dir(name);
        }
        self.dir(comp_dir).join(name)
    }
}

/// The lldb commands that map the tokens back (`lldb -s <objdir>/.cached-ninja/lldbinit`),
/// the counterpart of the launcher's `gdbinit`.
pub fn lldbinit_text(tokens: &TokenMap) -> String {
    let mut s =
        String::from("# written by dbgfetch: this machine's paths for the tokens in objects\n");
    if let Some(src) = &tokens.src {
        s.push_str(&format!(
            "settings append target.source-map {SRC_TOKEN} \"{}\"\n",
            src.display()
        ));
    }
    s.push_str(&format!(
        "settings append target.source-map {OBJ_TOKEN} \"{}\"\n",
        tokens.obj.display()
    ));
    s
}

/// Where gdb looks for a loose `.dwo` named `name` of a binary at `binary`: gdb tries
/// `comp_dir/name` (a token path, absent here), then `name` relative to the binary's
/// directory. `None` when that place would leave `objdir` (an absolute or `..` name): the
/// fill never writes outside the object directory.
pub fn loose_place(objdir: &Path, binary: &Path, name: &str) -> Option<PathBuf> {
    let rel = Path::new(name);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let dir = binary.parent().unwrap_or(Path::new(""));
    let place = dir.join(rel);
    place.starts_with(objdir).then_some(place)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_map_back_and_loose_places_stay_inside() {
        let m = TokenMap {
            obj: "/o".into(),
            src: Some("/s".into()),
        };
        assert_eq!(m.dir("/cached-ninja/obj"), PathBuf::from("/o"));
        assert_eq!(m.dir("/cached-ninja/obj/sub"), PathBuf::from("/o/sub"));
        assert_eq!(m.dir("/cached-ninja/src/x"), PathBuf::from("/s/x"));
        assert_eq!(
            m.dir("/cached-ninja/objx"),
            PathBuf::from("/cached-ninja/objx")
        );
        assert_eq!(
            m.resolve("/cached-ninja/obj", "d/a.dwo"),
            PathBuf::from("/o/d/a.dwo")
        );
        let o = Path::new("/o");
        assert_eq!(
            loose_place(o, Path::new("/o/bin/app"), "d/a.dwo"),
            Some(PathBuf::from("/o/bin/d/a.dwo"))
        );
        assert_eq!(loose_place(o, Path::new("/o/app"), "../a.dwo"), None);
        assert_eq!(loose_place(o, Path::new("/o/app"), "/etc/a.dwo"), None);
    }
}
