//! This machine's roots in what the compile and the cache see: the stable path tokens, the
//! prefix-map flags, and the placeholders for the roots in stored stdout/stderr.

use super::launch::Launcher;
use backend::rewrite::dwp_step::DwpStep;

/// Stable token the source root maps to in objects. Must never change (part of every key).
pub const SRC_TOKEN: &str = "/cached-ninja/src";
/// Stable token the object root maps to in objects. Must never change (part of every key).
pub const OBJ_TOKEN: &str = "/cached-ninja/obj";
/// Stable token the Rust package registry's source directory maps to in artifacts. Must never
/// change (part of every rustc key).
pub const REG_TOKEN: &str = "/cached-ninja/reg";
/// Placeholder for the registry's source directory in stored output.
const REG_MARK: &str = "\u{1}cn-reg\u{1}";
/// Placeholder for the source root in stored stdout/stderr.
const SRC_MARK: &str = "\u{1}cn-src\u{1}";
/// Placeholder for the object root in stored stdout/stderr.
const OBJ_MARK: &str = "\u{1}cn-obj\u{1}";
/// Placeholders for the roots' relative spellings (`../src`) in stored stdout/stderr.
const SRC_REL_MARK: &str = "\u{1}cn-src-rel\u{1}";
const OBJ_REL_MARK: &str = "\u{1}cn-obj-rel\u{1}";

impl Launcher<'_> {
    /// The prefix-map flags for this machine's roots: the absolute roots (and the object
    /// root's aliases), then every relative spelling the key knows
    /// (`Roots::relative_spellings`: `../src`, `./../src` for gcc's forced includes,
    /// `../a-obj`), so what the maps rewrite and what the key tags are one list.
    pub(super) fn prefix_maps(&self) -> Vec<String> {
        let obj_token = self.obj_token();
        let token = |tag: &str| if tag == "@src" { SRC_TOKEN } else { obj_token };
        let mut olds: Vec<(&str, &str)> = Vec::with_capacity(8);
        olds.extend(self.roots.src().map(|s| (s, SRC_TOKEN)));
        olds.extend(self.obj_aliases.iter().map(|a| (a.as_str(), obj_token)));
        olds.push((self.roots.obj(), obj_token));
        let relative = self.roots.relative_spellings().iter();
        olds.extend(relative.map(|(tag, s)| (s.as_str(), token(tag))));
        // gcc tries the last map first, clang the longest: the longest last makes them agree,
        // and agree with the key (`Roots::normalize`: the longest spelling a path starts
        // with). A stable sort keeps the source root before an object root as long.
        olds.sort_by_key(|(old, _)| old.len());
        olds.iter()
            .map(|(old, new)| format!("-ffile-prefix-map={old}={new}"))
            .collect()
    }

    /// What the object root maps to in objects: [`OBJ_TOKEN`], or the real root in a build
    /// that runs `llvm-dwp` itself (it finds each `.dwo` below its unit's `DW_AT_comp_dir`,
    /// so the key then holds the root: `Launcher::key_fields`).
    pub(super) fn obj_token(&self) -> &str {
        match self.dwp_step {
            DwpStep::Llvm => self.roots.obj(),
            _ => OBJ_TOKEN,
        }
    }

    /// Whether the build packages its own `.dwo` files, so a hit must write them.
    pub(super) fn packs_dwo(&self) -> bool {
        self.dwp_step != DwpStep::None
    }

    /// Replaces this machine's roots in captured output by placeholders (deeper root first),
    /// and their relative spellings (`../src/a.c:1: warning`: an entry is shared by object
    /// directories that spell the source root `../src` and `../../src`, a review found the
    /// other's replayed, 2026-12-05).
    pub(super) fn mark(&self, bytes: &[u8]) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return bytes.to_vec();
        };
        let mut t = self.replace_roots(text, [OBJ_MARK, SRC_MARK, REG_MARK]);
        for (tag, spelling) in self.plain_spellings() {
            let mark = if tag == "@src" {
                SRC_REL_MARK
            } else {
                OBJ_REL_MARK
            };
            t = replace_relative(&t, spelling, mark);
        }
        t.into_bytes()
    }

    /// The roots' relative spellings without a leading `./` (a `./../src` holds `../src`),
    /// longest first.
    fn plain_spellings(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let all = self.roots.relative_spellings().iter();
        all.filter(|(_, s)| !s.starts_with("./"))
            .map(|(tag, s)| (*tag, s.as_str()))
    }

    /// Replaces each root in `text` by its key tag (`@obj`, `@src`, `@reg`; deeper root
    /// first), wherever it occurs: rustc's arguments and variables name the roots inside
    /// longer words (`-Ldependency=/t/debug/deps`, `--extern a=/t/…`).
    pub(super) fn tag_roots(&self, text: &str) -> String {
        self.replace_roots(text, ["@obj", "@src", "@reg"])
    }

    /// `text` with the object root, source root and registry root replaced by `by` (in that
    /// order), the deeper root first.
    fn replace_roots(&self, text: &str, by: [&str; 3]) -> String {
        let mut pairs = vec![(self.roots.obj(), by[0])];
        if let Some(s) = self.roots.src() {
            pairs.push((s, by[1]));
        }
        if let Some(r) = self.roots.registry() {
            pairs.push((r, by[2]));
        }
        pairs.sort_by_key(|(r, _)| std::cmp::Reverse(r.len()));
        let mut t = text.to_string();
        for (root, mark) in pairs {
            if root != "/" {
                t = replace_dir(&t, root, mark);
            }
        }
        t
    }

    /// The inverse of [`Launcher::mark`] with this machine's roots.
    pub(super) fn unmark(&self, bytes: &[u8]) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return bytes.to_vec();
        };
        if !text.contains('\u{1}') {
            return bytes.to_vec();
        }
        let t = text.replace(OBJ_MARK, self.roots.obj());
        let t = match self.roots.src() {
            Some(s) => t.replace(SRC_MARK, s),
            None => t,
        };
        let mut t = match self.roots.registry() {
            Some(r) => t.replace(REG_MARK, r),
            None => t,
        };
        for (mark, tag) in [(SRC_REL_MARK, "@src"), (OBJ_REL_MARK, "@obj")] {
            if t.contains(mark) {
                // Another layout's relative spelling with no counterpart here: the absolute.
                let spelled = match self.roots.relative_spelling(tag) {
                    Some(s) => s,
                    None if tag == "@src" => self.roots.src().unwrap_or("."),
                    None => self.roots.obj(),
                };
                t = t.replace(mark, spelled);
            }
        }
        t.into_bytes()
    }
}

/// `text` with each occurrence of the directory `dir` replaced by `by`, where it is a whole
/// path or a prefix of one (followed by `/` or by a byte that cannot continue a file name):
/// `/w/a` in `/w/a/x` and `-L/w/a`, never in `/w/ab/x`.
fn replace_dir(text: &str, dir: &str, by: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(dir) {
        let after = rest[i + dir.len()..].bytes().next();
        let whole = !matches!(after, Some(b) if b.is_ascii_alphanumeric() || b"._-+~".contains(&b));
        out.push_str(&rest[..i]);
        out.push_str(if whole { by } else { dir });
        rest = &rest[i + dir.len()..];
    }
    out.push_str(rest);
    out
}

/// `text` with each relative directory `dir` (`../src`) replaced by `by` where it begins a
/// path (or follows its `./`; not inside another: `x/../src`) and is a whole directory of it
/// ([`replace_dir`]).
fn replace_relative(text: &str, dir: &str, by: &str) -> String {
    let name = |b: u8| b.is_ascii_alphanumeric() || b"._-+~/".contains(&b);
    let starts_path = |head: &str| {
        let head = head.strip_suffix("./").unwrap_or(head);
        !without_colour(head).bytes().last().is_some_and(name)
    };
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(k) = text[from..].find(dir) {
        let i = from + k;
        let after = text[i + dir.len()..].bytes().next();
        let whole = starts_path(&text[..i]) && !after.is_some_and(|b| name(b) && b != b'/');
        out.push_str(&text[from..i]);
        out.push_str(if whole { by } else { dir });
        from = i + dir.len();
    }
    out.push_str(&text[from..]);
    out
}

/// `text` without the terminal colour sequences it ends with (`ESC [ … m`, `ESC [ K`): what
/// precedes a path in coloured diagnostics (a review's replayed warning kept CI's `../src`
/// after `\x1b[K`, 2026-12-05).
fn without_colour(mut text: &str) -> &str {
    while let Some(i) = text.rfind('\x1b') {
        let seq = &text.as_bytes()[i + 1..];
        let csi = seq.len() >= 2
            && seq[0] == b'['
            && seq[seq.len() - 1].is_ascii_alphabetic()
            && seq[1..seq.len() - 1]
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b';');
        if !csi {
            break;
        }
        text = &text[..i];
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{replace_dir, replace_relative};

    #[test]
    fn relative_directories_begin_a_path() {
        let r = |t: &str| replace_relative(t, "../src", "@");
        assert_eq!(r("../src/a.c:1:2: warning"), "@/a.c:1:2: warning");
        assert_eq!(
            r("In file included from ../src/h.h,"),
            "In file included from @/h.h,"
        );
        assert_eq!(
            r("../../src/a.c ../src-x/b.c x/../src/c.c"),
            "../../src/a.c ../src-x/b.c x/../src/c.c"
        );
        assert_eq!(r("'../src' ./../src/d.h"), "'@' ./@/d.h");
        assert_eq!(replace_relative("..x ../y ...", "..", "@"), "..x @/y ...");
        // Coloured: the path follows the colour sequences.
        assert_eq!(
            r("\x1b[01m\x1b[K../src/a.c:1:2:\x1b[m\x1b[K x\x1bK../src/b.c"),
            "\x1b[01m\x1b[K@/a.c:1:2:\x1b[m\x1b[K x\x1bK../src/b.c"
        );
    }

    #[test]
    fn whole_directories_only() {
        assert_eq!(
            replace_dir("/w/a/x /w/ab/x -L/w/a", "/w/a", "@"),
            "@/x /w/ab/x -L@"
        );
        assert_eq!(
            replace_dir("--extern a=/w/a/d/l.rlib,", "/w/a", "@"),
            "--extern a=@/d/l.rlib,"
        );
        assert_eq!(
            replace_dir("\"/w/a\": /w/a.d", "/w/a", "@"),
            "\"@\": /w/a.d"
        );
    }
}
