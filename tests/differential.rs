//! The differential harness's fast subset (issue 13; the full run is `bench/differential.py`):
//! a small generated C project is compiled once through the launcher to warm a cache, then
//! for each mutation a fresh copy at another path is changed, compiled through the launcher
//! in a fresh object directory (the cache reset to its warm state), and compiled plainly.
//! Every hit must equal the plain compile's object in its non-debug content
//! (`objcopy --strip-debug`; the plain compile gets the launcher's prefix-map tokens, so
//! `__FILE__` strings compare), and every compile that failed plainly must not hit.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::{cached_ninja, copy_tree, require_tool, run, run_ok, TestSpace};

/// The project: (path under the tree root, text). `@BLOB@` is the `.incbin` file's path.
const FILES: &[(&str, &str)] = &[
    ("src/a.c", "#include <other.h>\n#include <h.h>\nint a(void) { return H + O; }\n"),
    ("src/b.c", "#include \"q.h\"\nint b(void) { return Q; }\n"),
    (
        "src/c.c",
        "#if __has_include(<probe.h>)\n#include <probe.h>\n#endif\n#ifndef P\n#define P 0\n#endif\nint c(void) { return P; }\n",
    ),
    ("src/d.c", "#include <stddef.h>\nint d(void) { return (int)sizeof(size_t); }\n"),
    ("src/e.c", "const char *e(void) { return __TIMESTAMP__; }\n"),
    (
        "src/f.c",
        "__asm__(\".pushsection .rodata.blob,\\\"a\\\"\\n.incbin \\\"@BLOB@\\\"\\n.popsection\");\n",
    ),
    ("src/g.c", "#include \"gh.h\"\nint g(void) { return G; }\n"),
    ("src/gh.h", "#define G 1\n"),
    ("src/h.c", "#include <lib/x.h>\n#include <h3.h>\nint h(void) { return X + H3; }\n"),
    ("src/v.c", "#ifndef V\n#define V 1\n#endif\nint v(void) { return V; }\n"),
    ("inc1/.keep", ""),
    ("inc2/h.h", "#define H 2\n"),
    ("inc2/other.h", "#define O 0\n"),
    ("inc2/q.h", "#define Q 2\n"),
    ("inc2/lib/x.h", "#define X 2\n"),
    ("inc2/h3.h", "#define H3 2\n"),
    ("inc3/h3.h", "#define H3 3\n"),
];

/// The sources compiled, one object each.
const SOURCES: &[&str] = &["a", "b", "c", "d", "e", "f", "g", "h", "v"];

/// A line that changes every object whose compile reads it.
const MARK: &str = "\nstatic const int cn_mark __attribute__((used)) = 7;\n";

/// The compiler every build runs: gcc behind a wrapper that, when asked, rewrites a header
/// right after the compile (before the launcher hashes what it read). `CN_TEST_EXTRA` is a
/// way to fool any cache (flags no key sees), for the test that the harness can fail.
fn wrapper(real: &str) -> String {
    format!(
        "#!/bin/sh\n{real} \"$@\" $CN_TEST_EXTRA; rc=$?\nif [ -n \"$EDIT_TO\" ]; then cp \"$EDIT_FROM\" \"$EDIT_TO\"; fi\nexit $rc\n"
    )
}

/// The shared state of one run: the pristine tree, the compiler, the CPATH directory, the
/// blob, a warm cache.
struct Harness {
    space: TestSpace,
}

/// One mutation: what it changes before the builds.
struct Mutation {
    name: &'static str,
    /// Changes the copied tree (its root given).
    tree: fn(&Harness, &Path),
    /// Extra compile flags (the tree root given).
    flags: fn(&Path) -> Vec<String>,
    /// Extra environment.
    env: fn(&Harness) -> Vec<(String, String)>,
    /// Changes to the shared state, undone after.
    shared: fn(&Harness),
    /// The concurrent edit: (header under the tree, new text) written right after the
    /// compile of `g.c` during a first build.
    edit: Option<(&'static str, &'static str)>,
}

fn nothing(_: &Harness, _: &Path) {}
fn no_flags(_: &Path) -> Vec<String> {
    Vec::new()
}
fn no_env(_: &Harness) -> Vec<(String, String)> {
    Vec::new()
}
fn no_shared(_: &Harness) {}

fn append(path: &Path, text: &str) {
    let mut t = std::fs::read_to_string(path).unwrap();
    t.push_str(text);
    std::fs::write(path, t).unwrap();
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn write_exe(path: &Path, text: &str) {
    write(path, text);
    run_ok(Command::new("chmod").arg("+x").arg(path));
}

impl Harness {
    fn new() -> Harness {
        let h = Harness {
            space: TestSpace::new(),
        };
        let blob = h.path("blob.bin");
        for (rel, text) in FILES {
            let text = text.replace("@BLOB@", blob.to_str().unwrap());
            h.space.write(&format!("pristine/{rel}"), text);
        }
        h.reset_shared();
        h
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.space.path().join(rel)
    }

    /// The compiler (a symlink to the wrapper), the CPATH directory and the blob as they were.
    fn reset_shared(&self) {
        write_exe(&self.path("bin/cc-wrap"), &wrapper("gcc"));
        run_ok(
            Command::new("touch")
                .args(["-d", "2020-01-01"])
                .arg(self.path("bin/cc-wrap")),
        );
        let _ = std::fs::remove_file(self.path("bin/cc"));
        std::os::unix::fs::symlink("cc-wrap", self.path("bin/cc")).unwrap();
        let _ = std::fs::remove_dir_all(self.path("cpath"));
        std::fs::create_dir_all(self.path("cpath")).unwrap();
        write(&self.path("blob.bin"), "pristine");
        write_exe(
            &self.path("asbin/as"),
            "#!/bin/sh\nt=\"${TMPDIR:-/tmp}/cn-diff-as-$$.s\"\nprintf '.section .comment\\n.string \"other as\"\\n' > \"$t\"\n/usr/bin/as \"$@\" \"$t\"; rc=$?; rm -f \"$t\"; exit $rc\n",
        );
    }

    /// The environment of every compile.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("CPATH".into(), self.path("cpath").display().to_string()),
            ("SOURCE_DATE_EPOCH".into(), "1700000000".into()),
        ]
    }

    /// The compile of `src/<s>.c` in `tree` writing `obj/<s>.o`: the words after the compiler.
    fn args(tree: &Path, s: &str, flags: &[String]) -> Vec<String> {
        let mut a: Vec<String> = vec!["-O0".into(), "-g".into()];
        for d in ["inc1", "inc2", "inc3"] {
            a.push(format!("-I{}", tree.join(d).display()));
        }
        a.extend(flags.iter().cloned());
        a.extend([
            "-c".into(),
            tree.join(format!("src/{s}.c")).display().to_string(),
        ]);
        a.extend(["-o".into(), format!("{s}.o")]);
        a
    }

    /// Compiles every source of `tree` through the launcher in `obj`: each source's outcome
    /// word (`hit`, `miss`, `uncacheable`, `failed`…, the last the launcher logged for it).
    fn cached(
        &self,
        tree: &Path,
        obj: &Path,
        flags: &[String],
        env: &[(String, String)],
    ) -> Vec<String> {
        std::fs::create_dir_all(obj).unwrap();
        std::fs::write(obj.join("build.ninja"), "").unwrap();
        let stats = obj.join(".cached-ninja/stats");
        let mut out = Vec::new();
        for s in SOURCES {
            let before = std::fs::read_to_string(&stats)
                .unwrap_or_default()
                .lines()
                .count();
            let mut c = Command::new(cached_ninja());
            c.current_dir(obj)
                .env("CACHED_NINJA_CACHE_DIR", self.path("cache"))
                .args(["cc", "--src-root"])
                .arg(tree)
                .arg("--")
                .arg(self.path("bin/cc"))
                .args(Self::args(tree, s, flags));
            for (k, v) in self.env().into_iter().chain(env.iter().cloned()) {
                c.env(k, v);
            }
            run(&mut c);
            let text = std::fs::read_to_string(&stats).unwrap_or_default();
            let words: Vec<&str> = text
                .lines()
                .skip(before)
                .filter_map(|l| l.split(' ').next())
                .collect();
            out.push(words.last().unwrap_or(&"none").to_string());
        }
        out
    }

    /// The plain compile of `src/<s>.c` with the launcher's prefix-map tokens; the object, or
    /// `None` if the compiler failed.
    fn plain(
        &self,
        tree: &Path,
        obj: &Path,
        s: &str,
        flags: &[String],
        env: &[(String, String)],
    ) -> Option<Vec<u8>> {
        let out = obj.join(format!("ref-{s}.o"));
        let mut args = Self::args(tree, s, flags);
        let n = args.len();
        args[n - 1] = out.display().to_string();
        args.push(format!(
            "-ffile-prefix-map={}=/cached-ninja/src",
            tree.display()
        ));
        args.push(format!(
            "-ffile-prefix-map={}=/cached-ninja/obj",
            obj.display()
        ));
        let mut c = Command::new(self.path("bin/cc"));
        c.current_dir(obj).args(args);
        for (k, v) in self.env().into_iter().chain(env.iter().cloned()) {
            c.env(k, v);
        }
        run(&mut c).status.success().then(|| stripped(&out))
    }
}

/// An object's non-debug content.
fn stripped(obj: &Path) -> Vec<u8> {
    let out = obj.with_extension("stripped");
    run_ok(
        Command::new("objcopy")
            .arg("--strip-debug")
            .arg(obj)
            .arg(&out),
    );
    std::fs::read(out).unwrap()
}

/// Runs `m` against the warm cache: the sources whose hit differs from the plain compile.
fn false_hits(h: &Harness, m: &Mutation, n: usize) -> Vec<String> {
    h.reset_shared();
    let _ = std::fs::remove_dir_all(h.path("cache"));
    copy_tree(&h.path("warm"), &h.path("cache"));
    let root = h.path(&format!("m{n}"));
    let tree = root.join("tree");
    copy_tree(&h.path("pristine"), &tree);
    (m.tree)(h, &tree);
    (m.shared)(h);
    let flags = (m.flags)(&tree);
    let env = (m.env)(h);
    if let Some((header, text)) = m.edit {
        let new = root.join("edit-new");
        write(&new, text);
        let mut e = env.clone();
        e.push(("EDIT_FROM".into(), new.display().to_string()));
        e.push(("EDIT_TO".into(), tree.join(header).display().to_string()));
        h.cached(&tree, &root.join("obj-edit"), &flags, &e);
    }
    let obj = root.join("obj");
    let outcomes = h.cached(&tree, &obj, &flags, &env);
    if m.name == "none" {
        // The comparison is only worth something if the unchanged copy hits.
        let hits = outcomes.iter().filter(|o| *o == "hit").count();
        assert!(hits >= 6, "the unchanged copy: {outcomes:?}");
    }
    let mut bad = Vec::new();
    for (s, outcome) in SOURCES.iter().zip(&outcomes) {
        if outcome != "hit" {
            continue;
        }
        let mine = stripped(&obj.join(format!("{s}.o")));
        if h.plain(&tree, &obj, s, &flags, &env).as_ref() != Some(&mine) {
            bad.push(format!("{}: {s}.c", m.name));
        }
    }
    bad
}

fn mutations() -> Vec<Mutation> {
    let base = Mutation {
        name: "",
        tree: nothing,
        flags: no_flags,
        env: no_env,
        shared: no_shared,
        edit: None,
    };
    vec![
        Mutation {
            name: "none",
            ..base
        },
        Mutation {
            name: "header content",
            tree: |_, t| append(&t.join("inc2/h.h"), MARK),
            ..base
        },
        Mutation {
            name: "earlier -I dir",
            tree: |_, t| write(&t.join("inc1/h.h"), "#define H 1\n"),
            ..base
        },
        Mutation {
            name: "earlier -I dir, #error",
            tree: |_, t| write(&t.join("inc1/lib/x.h"), "#error shadow\n"),
            ..base
        },
        Mutation {
            name: "beside a quoted include",
            tree: |_, t| write(&t.join("src/q.h"), "#define Q 1\n"),
            ..base
        },
        Mutation {
            name: "CPATH directory",
            shared: |h| {
                write(
                    &h.path("cpath/stddef.h"),
                    &format!("#include_next <stddef.h>\n{MARK}"),
                )
            },
            ..base
        },
        Mutation {
            name: "__has_include was false",
            tree: |_, t| write(&t.join("inc2/probe.h"), "#define P 5\n"),
            ..base
        },
        Mutation {
            name: "header edited during the compile",
            tree: |_, t| append(&t.join("src/gh.h"), "#undef G\n#define G 2\n"),
            edit: Some(("src/gh.h", "#define G 1\n#undef G\n#define G 3\n")),
            ..base
        },
        Mutation {
            name: "__TIMESTAMP__",
            tree: |_, t| {
                run_ok(
                    Command::new("touch")
                        .args(["-d", "2021-02-03"])
                        .arg(t.join("src/e.c")),
                );
            },
            ..base
        },
        Mutation {
            name: ".incbin file",
            shared: |h| write(&h.path("blob.bin"), "mutated"),
            ..base
        },
        Mutation {
            name: "implicit .gch",
            tree: |h, t| {
                let copy = t.join("gh-copy.h");
                write(&copy, "#define G 9\n");
                let mut args = Harness::args(t, "g", &[]);
                let n = args.len();
                args.truncate(n - 4);
                args.extend([
                    "-x".into(),
                    "c-header".into(),
                    copy.display().to_string(),
                    "-o".into(),
                ]);
                args.push(t.join("src/gh.h.gch").display().to_string());
                run_ok(Command::new(h.path("bin/cc")).args(args));
            },
            ..base
        },
        Mutation {
            name: "another as on PATH",
            env: |h| {
                vec![(
                    "PATH".into(),
                    format!(
                        "{}:{}",
                        h.path("asbin").display(),
                        std::env::var("PATH").unwrap()
                    ),
                )]
            },
            ..base
        },
        Mutation {
            name: "-D change",
            flags: |_| vec!["-DV=2".into()],
            ..base
        },
        Mutation {
            name: "forced include",
            tree: |_, t| write(&t.join("forced.h"), MARK),
            flags: |t| vec!["-include".into(), t.join("forced.h").display().to_string()],
            ..base
        },
        Mutation {
            name: "header symlink retargeted",
            tree: |_, t| {
                write(&t.join("alt/q.h"), "#define Q 4\n");
                std::fs::remove_file(t.join("inc2/q.h")).unwrap();
                std::os::unix::fs::symlink(t.join("alt/q.h"), t.join("inc2/q.h")).unwrap();
            },
            ..base
        },
        Mutation {
            name: "directory symlink retargeted",
            tree: |_, t| {
                write(&t.join("alt/lib/x.h"), "#define X 4\n");
                std::fs::remove_dir_all(t.join("inc2/lib")).unwrap();
                std::os::unix::fs::symlink(t.join("alt/lib"), t.join("inc2/lib")).unwrap();
            },
            ..base
        },
        Mutation {
            name: "compiler swapped behind the wrapper, mtime restored",
            shared: |h| {
                write_exe(&h.path("bin/cc-wrap"), &wrapper("gcc -O1"));
                run_ok(
                    Command::new("touch")
                        .args(["-d", "2020-01-01"])
                        .arg(h.path("bin/cc-wrap")),
                );
            },
            ..base
        },
        Mutation {
            name: "compiler symlink retargeted",
            shared: |h| {
                write_exe(&h.path("bin/cc-alt"), &wrapper("clang"));
                std::fs::remove_file(h.path("bin/cc")).unwrap();
                std::os::unix::fs::symlink("cc-alt", h.path("bin/cc")).unwrap();
            },
            ..base
        },
        Mutation {
            name: "header deleted, a later one found",
            tree: |_, t| std::fs::remove_file(t.join("inc2/h3.h")).unwrap(),
            ..base
        },
    ]
}

/// The pristine tree compiled once through the launcher with `env`: the warm cache.
fn warm(h: &Harness, env: &[(String, String)]) {
    let tree = h.path("pristine");
    let out = h.cached(&tree, &h.path("pristine-obj"), &[], env);
    assert!(
        out.iter().all(|o| o == "miss" || o == "uncacheable"),
        "{out:?}"
    );
    copy_tree(&h.path("cache"), &h.path("warm"));
}

#[test]
fn no_mutation_gets_a_wrong_object() {
    for (tool, package) in [("gcc", "gcc"), ("clang", "clang"), ("objcopy", "binutils")] {
        require_tool(tool, package);
    }
    let h = Harness::new();
    warm(&h, &[]);
    let mut bad = Vec::new();
    for (n, m) in mutations().iter().enumerate() {
        bad.extend(false_hits(&h, m, n));
    }
    assert!(bad.is_empty(), "false hits: {bad:?}");
}

#[test]
fn the_comparison_sees_a_wrong_object() {
    // A cache warmed by compiles at -O1 that no key can see (the wrapper's own variable):
    // every hit of the unchanged tree is then a wrong object, and the comparison must say so.
    require_tool("gcc", "gcc");
    require_tool("objcopy", "binutils");
    let h = Harness::new();
    warm(&h, &[("CN_TEST_EXTRA".into(), "-O1".into())]);
    let none = &mutations()[0];
    let bad = false_hits(&h, none, 0);
    assert!(bad.len() >= 5, "{bad:?}");
}
