//! The two roots of a compile and the `@src/…`/`@obj/…` path normalisation (DESIGN §3).

use std::borrow::Cow;

/// Options whose value (joined or the next word) is a path.
const PATH_OPTIONS: &[&str] = &[
    "-isystem",
    "-iquote",
    "-idirafter",
    "-include-pch",
    "-include",
    "-imacros",
    "-isysroot",
    "-iprefix",
    "-iwithprefixbefore",
    "-iwithprefix",
    "-ivfsoverlay",
    "--sysroot=",
    "--sysroot",
    "-I",
    "-L",
    "-B",
    "-o",
];

/// Options of the form `-fxxx=OLD=NEW` whose OLD is a path.
const MAP_OPTIONS: &[&str] = &[
    "-ffile-prefix-map=",
    "-fdebug-prefix-map=",
    "-fmacro-prefix-map=",
    "-fprofile-prefix-map=",
];

/// The object root (the Ninja edge's working directory) and, if known, the source root; both
/// absolute, without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roots {
    obj: String,
    src: Option<String>,
    /// The Rust package registry's source directory (`$CARGO_HOME/registry/src`), `@reg/…`.
    reg: Option<String>,
    /// The roots' spellings relative to the object root that commands may use, each with its
    /// tag, longest first ([`Roots::relative_spellings`]).
    relative: Vec<(&'static str, String)>,
}

impl Roots {
    /// Roots from absolute paths (a trailing slash is dropped).
    pub fn new(obj: &str, src: Option<&str>) -> Roots {
        let trim = |s: &str| {
            let t = s.trim_end_matches('/');
            if t.is_empty() {
                "/".to_string()
            } else {
                t.to_string()
            }
        };
        let mut roots = Roots {
            obj: trim(obj),
            src: src.map(trim),
            reg: None,
            relative: Vec::new(),
        };
        let mut relative: Vec<(&'static str, String)> = Vec::new();
        let src_rel = roots
            .src_spellings()
            .into_iter()
            .filter(|s| s.starts_with(".."));
        relative.extend(src_rel.map(|s| ("@src", s)));
        relative.extend(roots.obj_spelling().map(|s| ("@obj", s)));
        // gcc names a forced include found from the working directory `./../src/h.h`.
        let dotted: Vec<_> = relative
            .iter()
            .map(|(t, s)| (*t, format!("./{s}")))
            .collect();
        relative.extend(dotted);
        relative.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
        roots.relative = relative;
        roots
    }

    /// The spellings of the roots relative to the object root (`../a-src`, `..`, `../a-obj`,
    /// and each after `./`), each with its tag, longest first: the compile maps each of them
    /// by plain string prefix (`-ffile-prefix-map`), and the key follows it exactly.
    pub fn relative_spellings(&self) -> &[(&'static str, String)] {
        &self.relative
    }

    /// This machine's relative spelling of the root tagged `tag` (`../src` for `@src`; not
    /// the `./`-led one), the longest if several.
    pub fn relative_spelling(&self, tag: &str) -> Option<&str> {
        let plain = self.relative.iter().filter(|(_, s)| !s.starts_with("./"));
        plain
            .into_iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, s)| s.as_str())
    }

    /// These roots with the Rust package registry's source directory as a third root,
    /// `@reg/…` (rustc commands name the registry's crates by absolute path).
    pub fn with_registry(mut self, reg: &str) -> Roots {
        let t = reg.trim_end_matches('/');
        self.reg = (!t.is_empty()).then(|| t.to_string());
        self
    }

    /// The registry's source directory, if set.
    pub fn registry(&self) -> Option<&str> {
        self.reg.as_deref()
    }

    /// The object root.
    pub fn obj(&self) -> &str {
        &self.obj
    }

    /// The source root, if known.
    pub fn src(&self) -> Option<&str> {
        self.src.as_deref()
    }

    /// Rewrites a path under a root to `@obj/…` or `@src/…` (the deeper root first); any other
    /// path is returned as it is. A relative path that leaves the object root (`..`, `../…`:
    /// how Meson and GN name sources) is rewritten exactly as the compile's prefix maps
    /// rewrite it: the longest of the roots' relative spellings that it starts with, as plain
    /// text, becomes the tag (`../a-src/x.c` beside and `../x.c` inside the sources are both
    /// `@src/x.c`; `../a-src-extra/e.h` is `@src-extra/e.h`, as gcc and clang map it), and
    /// the rest stays as written (`../a-src/./x.c` is `@src/./x.c`). Since the compiler embeds
    /// what the maps give (`__FILE__`, debug info), two paths it embeds differently never
    /// share a key (a review found both served the other's `__FILE__`, 2026-12-05). Other
    /// relative paths are relative to the object root and stay as written.
    pub fn normalize<'a>(&self, path: &'a str) -> Cow<'a, str> {
        if path.starts_with("..") || path.starts_with("./..") {
            let spelled = self
                .relative
                .iter()
                .find(|(_, s)| path.starts_with(s.as_str()));
            return match spelled {
                Some((tag, s)) => {
                    let rest = &path[s.len()..];
                    // Inside a name (`../b` in `../base/x.h`): `@obj+ase/x.h`, which
                    // `denormalize` turns back into this machine's spelling.
                    let inside = !rest.is_empty() && !rest.starts_with('/');
                    Cow::Owned([*tag, if inside { "+" } else { "" }, rest].concat())
                }
                None => Cow::Borrowed(path),
            };
        }
        if !path.starts_with('/') {
            return Cow::Borrowed(path);
        }
        let mut roots: [(&str, Option<&str>); 3] = [
            ("@obj", Some(&self.obj)),
            ("@src", self.src.as_deref()),
            ("@reg", self.reg.as_deref()),
        ];
        // The deeper root first (a stable sort keeps obj before src at equal length).
        roots.sort_by_key(|(_, r)| std::cmp::Reverse(r.map_or(0, str::len)));
        for (tag, root) in roots {
            let Some(root) = root else { continue };
            if root == "/" {
                continue;
            }
            if let Some(rest) = path.strip_prefix(root) {
                if rest.is_empty() {
                    return Cow::Owned(tag.to_string());
                }
                if rest.starts_with('/') {
                    return Cow::Owned([tag, rest].concat());
                }
            }
        }
        Cow::Borrowed(path)
    }

    /// The source root as compile commands of this build may spell it, for prefix maps: the
    /// absolute path, and when the source root lies outside the object root, its spelling
    /// relative to the object root (`../a-src`, or `..` when the object root is a direct child
    /// of the source root). gcc and clang apply `-ffile-prefix-map=OLD=NEW` by plain string
    /// prefix to the paths as the command names them (`DW_AT_name`, `__FILE__`, the line
    /// table's directories), so `../a-src/x.c` needs the relative spelling mapped too.
    pub fn src_spellings(&self) -> Vec<String> {
        let Some(src) = &self.src else {
            return Vec::new();
        };
        let mut v = vec![src.clone()];
        if let Some(rel) = relative_to(&self.obj, src) {
            if rel.starts_with("..") {
                v.push(rel);
            }
        }
        v
    }

    /// The object root as a command may spell it through its parent (`../a-obj`): keyed as
    /// `@obj/…` by [`Roots::normalize`], so the launcher maps that spelling too. `None` for the
    /// root directory.
    pub fn obj_spelling(&self) -> Option<String> {
        let name = self.obj.rsplit('/').next().filter(|n| !n.is_empty())?;
        Some(format!("../{name}"))
    }

    /// The inverse of [`Roots::normalize`] on this machine's roots.
    pub fn denormalize<'a>(&self, path: &'a str) -> Cow<'a, str> {
        // Every tag is four bytes (`@obj`, `@src`, `@reg`); most paths of a hit have none.
        let (Some(tag), Some(rest)) = (path.get(..4), path.get(4..)) else {
            return Cow::Borrowed(path);
        };
        if !tag.starts_with('@') {
            return Cow::Borrowed(path);
        }
        // A relative spelling matched inside a name (`@src+-extra/e.h`): this machine's.
        if let Some(rest) = rest.strip_prefix('+') {
            return match self.relative_spelling(tag) {
                Some(spelling) => Cow::Owned([spelling, rest].concat()),
                None => Cow::Borrowed(path),
            };
        }
        let root = match tag {
            "@obj" => Some(self.obj.as_str()),
            "@src" => self.src.as_deref(),
            "@reg" => self.reg.as_deref(),
            _ => None,
        };
        match root {
            Some(root) if rest.is_empty() || rest.starts_with('/') => {
                Cow::Owned([root, rest].concat())
            }
            _ => Cow::Borrowed(path),
        }
    }

    /// Normalises the path-valued words of a command (see the module docs for which).
    pub fn normalize_args(&self, args: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(args.len());
        let mut value_is_path = false;
        for a in args {
            if std::mem::take(&mut value_is_path) {
                out.push(self.normalize(a).into_owned());
                continue;
            }
            if a.starts_with('/') || a == ".." || a.starts_with("../") {
                out.push(self.normalize(a).into_owned());
                continue;
            }
            if let Some(m) = MAP_OPTIONS.iter().find(|m| a.starts_with(**m)) {
                let v = &a[m.len()..];
                let (old, new) = v.split_once('=').unwrap_or((v, ""));
                out.push(format!("{m}{}={new}", self.normalize(old)));
                continue;
            }
            if let Some(opt) = PATH_OPTIONS.iter().find(|o| a.starts_with(**o)) {
                if a.len() == opt.len() {
                    value_is_path = true;
                    out.push(a.clone());
                } else {
                    out.push(format!("{opt}{}", self.normalize(&a[opt.len()..])));
                }
                continue;
            }
            out.push(a.clone());
        }
        out
    }
}

/// `base/path` (just `path` when it is absolute) with `.` and `..` components collapsed,
/// without looking at the file system: always absolute, no trailing slash.
pub fn lexical_join(base: &str, rel: &str) -> String {
    join(base, rel, || is_lexical(base))
}

/// [`lexical_join`] to a `base` already known to be lexical or not ([`is_lexical`]): the
/// names of one directory's directives are joined to it with one check of it.
pub fn lexical_join_to(base: &str, base_is_lexical: bool, rel: &str) -> String {
    join(base, rel, || base_is_lexical)
}

/// [`lexical_join`], asking `base_is_lexical` only when `rel` is clean.
fn join(base: &str, rel: &str, base_is_lexical: impl FnOnce() -> bool) -> String {
    // Most joins are of clean paths (the lookup rule makes thousands per compile): concatenate.
    if is_clean(rel) {
        if rel.starts_with('/') {
            return rel.to_string();
        }
        if base_is_lexical() {
            let mut out = String::with_capacity(base.len() + 1 + rel.len());
            out.push_str(base);
            if base != "/" {
                out.push('/');
            }
            out.push_str(rel);
            return out;
        }
    }
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|c| !c.is_empty()).collect()
    };
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Whether `path` is `/` or absolute with no empty, `.` or `..` component (nor a trailing
/// slash): what [`lexical_join`] returns, and a base it joins to a clean name by concatenation.
pub fn is_lexical(path: &str) -> bool {
    path == "/" || (path.starts_with('/') && is_clean(path))
}

/// Whether `path` has no empty, `.` or `..` component (nor a trailing slash): joining it needs
/// no collapsing.
fn is_clean(path: &str) -> bool {
    let inner = path.as_bytes();
    let inner = inner.strip_prefix(b"/").unwrap_or(inner);
    // Most paths have no `//`, no `/./` and no `/..`: one pass without branches (which the
    // compiler vectorises) says so, and only the others are looked at component by component.
    let n = inner.len();
    if n >= 3 && inner[0] != b'.' && inner[0] != b'/' && !inner.ends_with(b"/") {
        let (a, b, c) = (&inner[..n - 2], &inner[1..n - 1], &inner[2..]);
        let doubtful = a.iter().zip(b).zip(c).fold(false, |any, ((&x, &y), &z)| {
            any | ((x == b'/') & ((y == b'/') | ((y == b'.') & ((z == b'/') | (z == b'.')))))
        });
        if !doubtful && !inner.ends_with(b"/.") {
            return true;
        }
    }
    inner
        .split(|&b| b == b'/')
        .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// `to` relative to `from` (both absolute, normalised): `../x`, `..`, `sub`; `None` when
/// they are the same directory.
fn relative_to(from: &str, to: &str) -> Option<String> {
    let f: Vec<&str> = from.split('/').filter(|c| !c.is_empty()).collect();
    let t: Vec<&str> = to.split('/').filter(|c| !c.is_empty()).collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; f.len() - common];
    parts.extend(&t[common..]);
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// The byte-by-byte rule `is_clean` replaced: every component non-empty, not `.` nor `..`.
    fn is_clean_by_components(path: &str) -> bool {
        let inner = path.strip_prefix('/').unwrap_or(path);
        inner
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
    }

    /// Every path of up to 7 bytes over `a`, `.` and `/` is judged as by its components.
    #[test]
    fn clean_paths_are_those_of_clean_components() {
        let mut paths = vec![String::new()];
        for _ in 0..7 {
            let longer: Vec<String> = paths
                .iter()
                .filter(|p| p.len() == paths.last().unwrap().len())
                .flat_map(|p| ["a", ".", "/"].map(|c| format!("{p}{c}")))
                .collect();
            paths.extend(longer);
        }
        assert_eq!(paths.len(), (0..=7).map(|n| 3usize.pow(n)).sum::<usize>());
        for p in &paths {
            assert_eq!(is_clean(p), is_clean_by_components(p), "{p:?}");
        }
    }

    #[test]
    fn joins_of_clean_paths_match_the_collapsing_join() {
        for (base, rel, want) in [
            ("/a/b", "c/d.h", "/a/b/c/d.h"),
            ("/", "x.h", "/x.h"),
            ("/a/b", "/abs/x.h", "/abs/x.h"),
            ("/a/b", "../c.h", "/a/c.h"),
            ("/a/b", "./c.h", "/a/b/c.h"),
            ("/a/b", "c//d.h", "/a/b/c/d.h"),
            ("/a/b", "c/.", "/a/b/c"),
            ("/a/b", "c/..", "/a/b"),
            ("/a/b", "...h", "/a/b/...h"),
            ("/a/b", ".h", "/a/b/.h"),
            ("/a/b/", "c.h", "/a/b/c.h"),
            ("/a/./b", "c.h", "/a/./b/c.h"), // bases are taken as they are
            ("a/b", "c.h", "/a/b/c.h"),
            ("/a", "", "/a"),
            ("/a", "c/", "/a/c"),
        ] {
            assert_eq!(lexical_join(base, rel), want, "{base} + {rel}");
            let known = lexical_join_to(base, is_lexical(base), rel);
            assert_eq!(known, want, "{base} + {rel}, the base checked before");
        }
    }

    #[test]
    fn nested_roots_pick_the_deeper() {
        let r = Roots::new("/w/src/build/", Some("/w/src"));
        assert_eq!(r.normalize("/w/src/a.c"), "@src/a.c");
        assert_eq!(r.normalize("/w/src/build/gen.h"), "@obj/gen.h");
        assert_eq!(r.normalize("/w/src2/a.c"), "/w/src2/a.c");
        assert_eq!(r.normalize("rel/a.c"), "rel/a.c");
        assert_eq!(r.denormalize("@src/a.c"), "/w/src/a.c");
        assert_eq!(r.denormalize("@obj/gen.h"), "/w/src/build/gen.h");
        assert_eq!(
            r.denormalize("/usr/include/stdio.h"),
            "/usr/include/stdio.h"
        );
    }

    #[test]
    fn two_machines_agree() {
        let args_a = s(&[
            "-I/a/src/include",
            "-isystem",
            "/a/src/deps",
            "-I/usr/include/x",
            "-DP=\"/a/src\"",
            "-o",
            "obj/x.o",
            "-c",
            "/a/src/x.c",
            "-ffile-prefix-map=/a/src=.",
        ]);
        let args_b = s(&[
            "-I/b/s/include",
            "-isystem",
            "/b/s/deps",
            "-I/usr/include/x",
            "-DP=\"/a/src\"",
            "-o",
            "obj/x.o",
            "-c",
            "/b/s/x.c",
            "-ffile-prefix-map=/b/s=.",
        ]);
        let a = Roots::new("/a/obj", Some("/a/src")).normalize_args(&args_a);
        let b = Roots::new("/b/o", Some("/b/s")).normalize_args(&args_b);
        assert_eq!(a, b);
        assert_eq!(a[0], "-I@src/include");
        // A macro value is never rewritten: it ends up in the object as written.
        assert_eq!(a[4], "-DP=\"/a/src\"");
    }

    #[test]
    fn meson_layouts_agree() {
        let cmd = |src: &str| {
            s(&[
                "-I.",
                "-Isrc",
                &format!("-I{src}"),
                &format!("-I{src}/src"),
                "-isystem",
                &format!("{src}/sub"),
                "-o",
                "src/libx.a.p/hb.cc.o",
                "-c",
                &format!("{src}/src/hb.cc"),
            ])
        };
        let beside = Roots::new("/a/a-obj", Some("/a/a-src")).normalize_args(&cmd("../a-src"));
        let deeper = Roots::new("/x/y/b-obj", Some("/x/y/b-src")).normalize_args(&cmd("../b-src"));
        let inside = Roots::new("/m/src/build", Some("/m/src")).normalize_args(&cmd(".."));
        assert_eq!(beside, deeper);
        assert_eq!(beside, inside);
        assert_eq!(
            beside,
            s(&[
                "-I.",
                "-Isrc",
                "-I@src",
                "-I@src/src",
                "-isystem",
                "@src/sub",
                "-o",
                "src/libx.a.p/hb.cc.o",
                "-c",
                "@src/src/hb.cc"
            ])
        );
    }

    #[test]
    fn relative_paths_outside_both_roots_stay() {
        let r = Roots::new("/a/a-obj", Some("/a/a-src"));
        assert_eq!(r.normalize("../../elsewhere/x.h"), "../../elsewhere/x.h");
        // Keyed as the compile's prefix maps rewrite them: spellings stay apart.
        assert_eq!(r.normalize("../a-src/./x/../y.h"), "@src/./x/../y.h");
        assert_eq!(r.normalize("../a-obj/../a-src/y.h"), "@obj/../a-src/y.h");
        assert_eq!(r.normalize("../a-src//y.h"), "@src//y.h");
        assert_eq!(r.normalize("../a-src/x/y.h"), "@src/x/y.h");
        assert_eq!(r.normalize("../a-src-extra/e.h"), "@src+-extra/e.h");
        assert_eq!(r.denormalize("@src+-extra/e.h"), "../a-src-extra/e.h");
        let build = Roots::new("/m/src/b", Some("/m/src"));
        assert_eq!(build.normalize("../base/x.h"), "@obj+ase/x.h");
        assert_eq!(build.denormalize("@obj+ase/x.h"), "../base/x.h");
        assert_eq!(r.normalize("./../a-src/inc/h.h"), "@src/inc/h.h");
        assert_eq!(r.normalize("../../a/a-src/x.c"), "../../a/a-src/x.c");
        assert_eq!(r.normalize("../a-obj/gen.h"), "@obj/gen.h");
        assert_eq!(r.normalize("sub/gen.h"), "sub/gen.h");
        assert_eq!(r.normalize("/usr/include/stdio.h"), "/usr/include/stdio.h");
        let inside = Roots::new("/m/src/build", Some("/m/src"));
        assert_eq!(inside.normalize(".."), "@src");
        assert_eq!(inside.normalize("../build/gen.h"), "@obj/gen.h");
        // The `..` map rewrites this too (a path outside both roots, but not to the compiler).
        assert_eq!(inside.normalize("../../other/x.h"), "@src/../other/x.h");
    }

    #[test]
    fn registry_root() {
        let r = Roots::new("/w/t", Some("/w")).with_registry("/h/.cargo/registry/src/");
        assert_eq!(
            r.normalize("/h/.cargo/registry/src/i/cc-1/src/lib.rs"),
            "@reg/i/cc-1/src/lib.rs"
        );
        assert_eq!(
            r.normalize("/w/t/debug/deps/liba.rlib"),
            "@obj/debug/deps/liba.rlib"
        );
        assert_eq!(r.normalize("/w/a/src/lib.rs"), "@src/a/src/lib.rs");
        assert_eq!(
            r.denormalize("@reg/i/cc-1/src/lib.rs"),
            "/h/.cargo/registry/src/i/cc-1/src/lib.rs"
        );
        assert_eq!(r.registry(), Some("/h/.cargo/registry/src"));
    }

    #[test]
    fn source_root_spellings() {
        let beside = Roots::new("/a/a-obj", Some("/a/a-src"));
        assert_eq!(beside.src_spellings(), s(&["/a/a-src", "../a-src"]));
        let inside = Roots::new("/m/src/build", Some("/m/src"));
        assert_eq!(inside.src_spellings(), s(&["/m/src", ".."]));
        let deep = Roots::new("/m/src/out/debug", Some("/m/src"));
        assert_eq!(deep.src_spellings(), s(&["/m/src", "../.."]));
        // Sources inside the object root: relative paths there are already obj-relative.
        let odd = Roots::new("/m", Some("/m/src"));
        assert_eq!(odd.src_spellings(), s(&["/m/src"]));
        assert!(Roots::new("/m", None).src_spellings().is_empty());
        assert_eq!(beside.obj_spelling().as_deref(), Some("../a-obj"));
        assert_eq!(inside.obj_spelling().as_deref(), Some("../build"));
        assert_eq!(Roots::new("/", None).obj_spelling(), None);
    }
}
