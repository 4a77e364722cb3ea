//! `..` after a symbolic link. The kernel resolves `link/..` to the parent of the link's
//! target, while the lookup rule joins paths as text (`backend::key::lexical_join`): with
//! `inc` a link to `deep/d1`, `-Iinc/../x` searches `deep/x`, and a quoted `#include "../h.h"`
//! in a header reached through `-Iinc` looks in `deep` first, where the model saw `x` and the
//! directory holding `inc`. A review reproduced stale objects through both (2026-12-05), so a
//! compile whose paths undo anything but a plain directory with `..` is not cached; this finds
//! such a directory.

/// Why a compile whose `..` undoes `link` is not cached, for the user.
pub(super) fn why_not_cached(link: &str) -> String {
    format!("a `..` undoes {link}, which is no plain directory")
}

/// What the file system said of the directories that `..` components undo: whether each is a
/// plain directory (not a symbolic link, and there), asked once.
#[derive(Default)]
pub(super) struct Undone {
    plain: hashbrown::HashMap<String, bool>,
    /// Every directory asked about since [`Undone::take_asked`] (answered from `plain` or not).
    asked: Vec<String>,
}

impl Undone {
    /// The first directory that a `..` of `rel` joined to `base` (absolute) undoes and that is
    /// not a plain directory now, as the lexical join names it; `None` when every one is.
    /// `base_is_physical`: `base` names no symbolic link (the working directory, as the
    /// kernel gives it), so undoing its own components needs no look.
    pub(super) fn through_link(
        &mut self,
        base: &str,
        rel: &str,
        base_is_physical: bool,
    ) -> Option<String> {
        if !rel.split('/').any(|c| c == "..") {
            return None;
        }
        let mut parts: Vec<&str> = match rel.starts_with('/') {
            true => Vec::new(),
            false => base.split('/').filter(|c| !c.is_empty()).collect(),
        };
        let mut trusted = match base_is_physical && !rel.starts_with('/') {
            true => parts.len(),
            false => 0,
        };
        for c in rel.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.len() > trusted {
                        let dir = format!("/{}", parts.join("/"));
                        let plain = self.is_plain(&dir);
                        self.asked.push(dir);
                        if !plain {
                            return self.asked.last().cloned();
                        }
                    }
                    parts.pop();
                    trusted = trusted.min(parts.len());
                }
                c => parts.push(c),
            }
        }
        None
    }

    /// The directories asked about since the last call, in the order asked (a lookup that
    /// rests on them holds only while each is still a plain directory).
    pub(super) fn take_asked(&mut self) -> Vec<String> {
        std::mem::take(&mut self.asked)
    }

    /// Whether `dir` is a plain directory now (not a symbolic link, and there).
    pub(super) fn is_plain_now(dir: &str) -> bool {
        std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir())
    }

    fn is_plain(&mut self, dir: &str) -> bool {
        *self
            .plain
            .entry_ref(dir)
            .or_insert_with(|| Undone::is_plain_now(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::Undone;

    #[test]
    fn only_a_dotdot_that_undoes_a_link_or_nothing_is_found() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().to_str().unwrap();
        std::fs::create_dir_all(t.path().join("deep/d1")).unwrap();
        std::fs::create_dir_all(t.path().join("x")).unwrap();
        std::os::unix::fs::symlink("deep/d1", t.path().join("inc")).unwrap();
        let mut u = Undone::default();
        // No `..`, or one undoing plain directories: nothing to say.
        assert_eq!(u.through_link(root, "inc/h.h", false), None);
        assert_eq!(u.through_link(root, "deep/d1/../x", false), None);
        assert_eq!(
            u.through_link(&format!("{root}/deep/d1"), "../h.h", false),
            None
        );
        // Undoing the link, from the relative name or from the base.
        let inc = format!("{root}/inc");
        assert_eq!(u.through_link(root, "inc/../x", false), Some(inc.clone()));
        assert_eq!(u.through_link(&inc, "../h.h", false), Some(inc.clone()));
        assert_eq!(u.through_link("/", &format!("{inc}/../x"), true), Some(inc));
        // Undoing an absent directory: the kernel finds nothing there, the text join does.
        let gone = format!("{root}/gone");
        assert_eq!(u.through_link(root, "gone/../x", false), Some(gone));
        // A base known to be physical is undone without a look.
        let linked_base = format!("{root}/inc");
        assert_eq!(u.through_link(&linked_base, "../x", true), None);
    }
}
