//! Never a wrong object (DESIGN §3): inputs the depfile does not list, compilers and tools
//! swapped behind the launcher's back, and environment the driver reads either change the key
//! or make the compile uncacheable. Each test caches a compile, changes one thing, and asserts
//! the launcher does not serve the old object. Real gcc and clang throughout.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{cached_ninja, require_tool, run, run_ok, TestSpace};

/// A source tree `src/` with `main.c`, an object directory `obj/` and a cache.
struct Space {
    space: TestSpace,
    /// The object directory the compiles run in (`obj` unless a test moves on).
    obj: &'static str,
    /// The source tree compiled (`src` unless a test moves on).
    src: &'static str,
}

impl Space {
    fn new(main_c: &str) -> Space {
        let space = TestSpace::new();
        space.write("src/main.c", main_c);
        // An object directory: what Ninja runs the compiles in.
        space.write("obj/build.ninja", "");
        Space {
            space,
            obj: "obj",
            src: "src",
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.space.path().join(rel)
    }

    /// `cached-ninja cc -- <cc> -c main.c -o main.o` in `obj/` with `env`.
    fn compile(&self, cc: &str, env: &[(&str, &str)]) -> Output {
        let include = self.include("src");
        self.compile_in(cc, env, &["-g".into(), include])
    }

    /// `-I<rel>`, `rel` below the test space.
    fn include(&self, rel: &str) -> String {
        format!("-I{}", self.path(rel).display())
    }

    /// `main.c` compiled with `-I src/inc1 -isystem src/inc2`.
    fn compile_with(&self, cc: &str, env: &[(&str, &str)]) -> Output {
        let flags = [
            self.include("src/inc1"),
            "-isystem".into(),
            self.path("src/inc2").display().to_string(),
        ];
        self.compile_in(cc, env, &flags)
    }

    /// The exit code of the object directory's `main.o`, linked by gcc and run.
    fn exit_code(&self) -> Option<i32> {
        let exe = self.path(self.obj).join("main");
        run_ok(
            Command::new("gcc")
                .arg(self.path(self.obj).join("main.o"))
                .arg("-o")
                .arg(&exe),
        );
        Command::new(&exe).status().unwrap().code()
    }

    /// Moves the compiles to the object directory `obj` (made, with an empty `build.ninja`,
    /// if it is new).
    fn move_to(&mut self, obj: &'static str) {
        self.space.write(&format!("{obj}/build.ninja"), "");
        self.obj = obj;
    }

    /// `cached-ninja cc -- <cc> -O0 <flags> -c main.c -o main.o` in `obj/` with `env`.
    fn compile_in(&self, cc: &str, env: &[(&str, &str)], flags: &[String]) -> Output {
        let mut c = Command::new(cached_ninja());
        c.current_dir(self.path(self.obj))
            .env("CACHED_NINJA_CACHE_DIR", self.path("cache"))
            .args(["cc", "--src-root"])
            .arg(self.path(self.src))
            .args(["--", cc, "-O0"])
            .args(flags)
            .args(["-MD", "-MF", "main.o.d", "-o", "main.o", "-c"])
            .arg(self.path(self.src).join("main.c"));
        for (k, v) in env {
            c.env(k, v);
        }
        let out = run(&mut c);
        assert!(
            out.status.success(),
            "compile failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The outcome words of the object directory's stats log, in order; an `uncacheable`
    /// outcome with the reason it names (`uncacheable timestamp`).
    fn outcomes(&self) -> Vec<String> {
        std::fs::read_to_string(self.path(self.obj).join(".cached-ninja/stats"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                match f.as_slice() {
                    ["uncacheable", _, _, _, reason] => format!("uncacheable {reason}"),
                    _ => f[0].to_string(),
                }
            })
            .collect()
    }
}

fn write_exe(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    run_ok(Command::new("chmod").arg("+x").arg(path));
}

#[test]
fn timestamp_macro_is_never_cached_even_with_source_date_epoch() {
    require_tool("gcc", "gcc");
    let s = Space::new("const char *t = __TIMESTAMP__;\n");
    for _ in 0..2 {
        s.compile("gcc", &[("SOURCE_DATE_EPOCH", "1")]);
    }
    assert_eq!(
        s.outcomes(),
        ["uncacheable timestamp", "uncacheable timestamp"]
    );
}

#[test]
fn date_macro_under_source_date_epoch_is_cached_by_gcc_only() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    let s = Space::new("const char *d = __DATE__;\n");
    for _ in 0..2 {
        s.compile("gcc", &[("SOURCE_DATE_EPOCH", "1")]);
    }
    assert_eq!(s.outcomes(), ["miss", "hit"], "gcc pins __DATE__");
    let c = Space::new("const char *d = __DATE__;\n");
    for _ in 0..2 {
        c.compile("clang", &[("SOURCE_DATE_EPOCH", "1")]);
    }
    assert_eq!(
        c.outcomes(),
        ["uncacheable date-time", "uncacheable date-time"],
        "clang 14 does not"
    );
}

#[test]
fn incbin_input_is_not_cached() {
    require_tool("gcc", "gcc");
    let s = Space::new(
        "__asm__(\".section .rodata\\n.global blob\\nblob:\\n.incbin \\\"data.bin\\\"\\n.previous\");\n",
    );
    std::fs::write(s.path("obj/data.bin"), b"first").unwrap();
    s.compile("gcc", &[]);
    let first = std::fs::read(s.path("obj/main.o")).unwrap();
    std::fs::write(s.path("obj/data.bin"), b"other").unwrap();
    s.compile("gcc", &[]);
    assert_eq!(
        s.outcomes(),
        ["uncacheable asm-include", "uncacheable asm-include"]
    );
    assert!(std::fs::read(s.path("obj/main.o")).unwrap() != first);
}

/// gas takes `.INCBIN` in any case, and a directive cut by a string's end (`".inc" "bin"`)
/// is the same directive: neither hid the file read from the key (a review found both served
/// stale objects, 2026-12-05).
#[test]
fn incbin_in_any_spelling_is_not_cached() {
    require_tool("gcc", "gcc");
    for directive in [".INCBIN \\\"data.bin\\\"", ".inc\" \"bin \\\"data.bin\\\""] {
        let s = Space::new(&format!(
            "__asm__(\".section .rodata\\n.global blob\\nblob:\\n{directive}\\n.previous\");\n\
             extern const char blob[];\nint main(void) {{ return blob[0] - '0'; }}\n"
        ));
        std::fs::write(s.path("obj/data.bin"), b"2").unwrap();
        s.compile("gcc", &[]);
        std::fs::write(s.path("obj/data.bin"), b"1").unwrap();
        s.compile("gcc", &[]);
        assert_eq!(s.exit_code(), Some(1), "{directive}");
        let refused = "uncacheable asm-include";
        assert_eq!(s.outcomes(), [refused, refused], "{directive}");
    }
}

/// An inline-assembly `.include` spelled so no text scan reads it: a string's pieces, escapes,
/// a gas loop pasting the name, the preprocessor pasting it (a review found each served a
/// stale object, 2026-12-05). gcc's assembler names what it read in its own dependency
/// file; clang assembles in process, where only the scan's spellings are refused and the
/// preprocessor's pasting is not seen (ARCHITECTURE.md, "Known limits").
#[test]
fn an_assembler_include_spelled_past_the_text_scan_is_not_cached() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    let pasted = "#define P(a, b) a##b\n#define S(x) #x\n#define XS(x) S(x)\n";
    let spellings = [
        ("", "\".\" \"include \\\"v.inc\\\"\""),
        ("", "\".in\"\n  \"clude \\\"v.inc\\\"\""),
        ("", "\"\\x2einclude \\\"v.inc\\\"\""),
        ("", "\"\\056\\151nclude \\\"v.inc\\\"\""),
        ("", "\".irp d, include\\n.\\\\d \\\"v.inc\\\"\\n.endr\""),
        (pasted, "XS(.P(inc, lude)) \" \\\"v.inc\\\"\""),
    ];
    for cc in ["gcc", "clang"] {
        for (defines, spelled) in spellings {
            if cc == "clang" && !defines.is_empty() {
                continue;
            }
            let s = Space::new(&format!(
                "{defines}__asm__(\".section .rodata\\n.global blob\\nblob:\\n\" {spelled} \"\\n.previous\");\n\
                 extern const char blob[];\nint main(void) {{ return blob[0]; }}\n"
            ));
            std::fs::write(s.path("obj/v.inc"), ".byte 2\n").unwrap();
            s.compile(cc, &[]);
            assert_eq!(s.exit_code(), Some(2), "{cc} {spelled}");
            std::fs::write(s.path("obj/v.inc"), ".byte 1\n").unwrap();
            s.compile(cc, &[]);
            assert_eq!(s.exit_code(), Some(1), "{cc} {spelled}: the old object");
        }
    }
    // A file named like the source (gcc's `.file` names it so) is still a file read: the
    // working directory's `main.c` through `.incbin "main.c"` (a review, 2026-12-05).
    let s = Space::new(&format!(
        "{pasted}__asm__(\".section .rodata\\n.global blob\\nblob:\\n\" XS(.P(inc, bin)) \" \\\"main.c\\\"\\n.previous\");\n\
         extern const char blob[];\nint main(void) {{ return blob[0]; }}\n"
    ));
    for value in [2u8, 1] {
        std::fs::write(s.path("obj/main.c"), [value]).unwrap();
        s.compile("gcc", &[]);
        assert_eq!(s.exit_code(), Some(value as i32), "the old main.c");
    }
}

/// Files and programs that a command names but the key did not hash: a specs file
/// (`--specs=`), an assembler options file (`-Wa,@file`), and the `cc1` found through
/// `COMPILER_PATH`. Changing one served the old object (a review, 2026-12-05); such commands
/// now run as they are.
#[test]
fn files_and_programs_the_key_does_not_hash_are_not_cached() {
    require_tool("gcc", "gcc");
    let cc1 =
        String::from_utf8(run_ok(Command::new("gcc").arg("-print-prog-name=cc1")).stdout).unwrap();
    // Each case: main.c, the flags and environment (given the space), and how to make the
    // file or program say `V` is 2, then 1.
    type Case = (
        &'static str,
        fn(&Space) -> (Vec<String>, Vec<(String, String)>),
        fn(&Space, u8, &str),
    );
    let cases: [Case; 3] = [
        (
            "int main(void) { return V; }\n",
            |s| {
                (
                    vec![format!("--specs={}", s.path("src/my.specs").display())],
                    vec![],
                )
            },
            |s, v, _| {
                let text = format!("%rename cpp old_cpp\n\n*cpp:\n-DV={v} %(old_cpp)\n\n");
                s.space.write("src/my.specs", &text);
            },
        ),
        (
            "asm(\".section .rodata\\n.globl val\\nval: .byte V\\n.text\");\n\
             extern const unsigned char val;\nint main(void) { return val; }\n",
            |s| {
                (
                    vec![format!("-Wa,@{}", s.path("src/asopts").display())],
                    vec![],
                )
            },
            |s, v, _| {
                s.space.write("src/asopts", format!("--defsym V={v}\n"));
            },
        ),
        (
            "int main(void) { return V; }\n",
            |s| {
                let tools = s.path("tools").display().to_string();
                (vec![], vec![("COMPILER_PATH".to_string(), tools)])
            },
            |s, v, cc1| {
                let cc1 = cc1.trim();
                write_exe(
                    &s.path("tools/cc1"),
                    &format!("#!/bin/sh\nexec {cc1} -DV={v} \"$@\"\n"),
                );
            },
        ),
    ];
    for (main_c, flags, set) in cases {
        let s = Space::new(main_c);
        std::fs::create_dir_all(s.path("tools")).unwrap();
        let (flags, env) = flags(&s);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        set(&s, 2, &cc1);
        for _ in 0..2 {
            s.compile_in("gcc", &env, &flags);
        }
        set(&s, 1, &cc1);
        s.compile_in("gcc", &env, &flags);
        assert_eq!(s.exit_code(), Some(1), "{flags:?} {env:?}");
        assert_eq!(s.outcomes(), ["uncacheable option"; 3], "{flags:?} {env:?}");
    }
}

/// clang front-end search options passed with `-Xclang` (`-iquote`) are no search the lookup
/// rule models: a header created there later was not seen (a review, 2026-12-05).
#[test]
fn clang_front_end_search_options_are_not_cached() {
    require_tool("clang", "clang");
    let s = Space::new("#include \"h.h\"\nint main(void) { return H; }\n");
    s.space.write("src/b/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/q")).unwrap();
    let q = s.path("src/q").display().to_string();
    let flags = ["-Xclang", "-iquote", "-Xclang", &q]
        .map(String::from)
        .into_iter()
        .chain([s.include("src/b")])
        .collect::<Vec<_>>();
    for _ in 0..2 {
        s.compile_in("clang", &[], &flags);
    }
    s.space.write("src/q/h.h", "#define H 1\n");
    s.compile_in("clang", &[], &flags);
    assert_eq!(s.exit_code(), Some(1));
    assert_eq!(s.outcomes(), ["uncacheable option"; 3]);
}

/// An assembler listing (`-Wa,-adhln=FILE`) is an output a hit would not write: the command
/// runs as it is, so the listing is there after every build (a review found it lost).
#[test]
fn an_assembler_listing_is_written_by_every_build() {
    require_tool("gcc", "gcc");
    let s = Space::new("int main(void) { return 0; }\n");
    let flags = ["-Wa,-adhln=main.lst".to_string()];
    for _ in 0..2 {
        let _ = std::fs::remove_file(s.path("obj/main.lst"));
        s.compile_in("gcc", &[], &flags);
        assert!(s.path("obj/main.lst").exists());
    }
    assert_eq!(s.outcomes(), ["uncacheable option"; 2]);
}

/// `a.h` and `b.h` with the same bytes under `#pragma once`: clang reads `b.h` only while it
/// is another file, so replacing the copy by a link changes the object but not a digest (a
/// review served the stale object, 2026-12-05). Such include lists are not stored.
#[test]
fn headers_with_the_same_bytes_under_pragma_once_are_not_cached() {
    require_tool("clang", "clang");
    let s = Space::new("int main(void) { return 0\n#include \"a.h\"\n#include \"b.h\"\n; }\n");
    s.space.write("src/a.h", "#pragma once\n+1\n");
    s.space.write("src/b.h", "#pragma once\n+1\n");
    let flags: [String; 0] = [];
    for _ in 0..2 {
        s.compile_in("clang", &[], &flags);
    }
    assert_eq!(s.exit_code(), Some(2));
    std::fs::remove_file(s.path("src/b.h")).unwrap();
    std::os::unix::fs::symlink("a.h", s.path("src/b.h")).unwrap();
    s.compile_in("clang", &[], &flags);
    assert_eq!(s.exit_code(), Some(1));
    assert_eq!(s.outcomes(), ["uncacheable pragma-once-twins"; 3]);
}

/// gcc reads two `#pragma once` headers with the same bytes, size and mtime once: the second
/// is in no depfile, only passed over, where the twin check did not look. A touch made gcc
/// read both, and the hit was stale (a review, 2026-12-05).
#[test]
fn twins_gcc_read_as_one_are_not_cached() {
    require_tool("gcc", "gcc");
    let s =
        Space::new("int main(void) { return 0\n#include \"d1/o.h\"\n#include \"d2/o.h\"\n; }\n");
    for d in ["d1", "d2"] {
        s.space.write(&format!("src/{d}/o.h"), "#pragma once\n+1\n");
    }
    let touch = |when: &str| {
        run_ok(
            Command::new("touch")
                .args(["-d", when])
                .arg(s.path("src/d2/o.h")),
        )
    };
    run_ok(
        Command::new("touch")
            .args(["-d", "2020-01-01 00:00:00"])
            .arg(s.path("src/d1/o.h")),
    );
    touch("2020-01-01 00:00:00");
    let flags: [String; 0] = [];
    for _ in 0..2 {
        s.compile_in("gcc", &[], &flags);
    }
    assert_eq!(s.exit_code(), Some(1), "gcc read the twins once");
    touch("2021-01-01 00:00:00");
    s.compile_in("gcc", &[], &flags);
    assert_eq!(s.exit_code(), Some(2), "gcc reads both now: the old object");
}

/// The time in the command line (`-DBUILT=__TIME__`), which the source scan does not read:
/// it was cached and a hit served the old time (a review, 2026-12-05).
#[test]
fn a_time_macro_in_the_command_line_is_not_cached() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    for cc in ["gcc", "clang"] {
        let s = Space::new("const char *built = BUILT;\n");
        for _ in 0..2 {
            s.compile_in(cc, &[], &["-DBUILT=__TIME__".to_string()]);
        }
        assert_eq!(s.outcomes(), ["uncacheable date-time"; 2], "{cc}");
    }
}

/// A time macro the preprocessor pastes (`C(__TI, ME__)`), in the source or a header, which
/// no text scan sees: it was cached and a hit served the old time (a review, 2026-12-05). The
/// compiler's own `-Wdate-time` tells a miss now; what the command prints stays its own.
#[test]
fn a_time_macro_the_preprocessor_pastes_is_not_cached() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    for cc in ["gcc", "clang"] {
        for in_header in [false, true] {
            let pasted = "#define C(a, b) a##b\nconst char *t = C(__TI, ME__);\n";
            let s = match in_header {
                false => Space::new(pasted),
                true => {
                    let s = Space::new("#include \"t.h\"\n");
                    s.space.write("src/t.h", pasted);
                    s
                }
            };
            let flags = ["-Wall".to_string(), s.include("src")];
            let mut said = Vec::new();
            for _ in 0..2 {
                said.push(s.compile_in(cc, &[], &flags).stderr);
            }
            let what = format!("{cc}, in a header: {in_header}");
            assert_eq!(s.outcomes(), ["uncacheable date-time"; 2], "{what}");
            for stderr in said {
                assert_eq!(
                    String::from_utf8_lossy(&stderr),
                    "",
                    "{what}: the command's own words"
                );
            }
        }
    }
}

/// What the time checks must not refuse: the deterministic builds' redefinitions of the
/// time macros on the command line (`-D__DATE__=`, as Chromium's build writes them), and a
/// `-v` compile, whose echo of the command names the launcher's `-Wdate-time` (a review found
/// both made every compile uncacheable, 2026-12-05).
#[test]
fn redefined_time_macros_and_verbose_compiles_are_cached() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    let deterministic = [
        "-Wno-builtin-macro-redefined",
        "-D__DATE__=",
        "-D__TIME__=",
        "-D__TIMESTAMP__=",
    ]
    .map(String::from);
    for cc in ["gcc", "clang"] {
        for flags in [&deterministic[..], &["-v".to_string()]] {
            let s = Space::new("int main(void) { return 0; }\n");
            for _ in 0..2 {
                s.compile_in(cc, &[], flags);
            }
            assert_eq!(s.outcomes(), ["miss", "hit"], "{cc} {flags:?}");
        }
    }
}

/// A line splice inside a word is gone before the compiler reads it: `__TI\⏎ME__` is the
/// time, and `__has_incl\⏎ude("n.h")` a test whose file, created later, changes the object.
/// The raw text scan saw neither (a review, 2026-12-05).
#[test]
fn a_time_macro_or_a_has_include_cut_by_a_line_splice_is_seen() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    for cc in ["gcc", "clang"] {
        let s = Space::new("const char *t = __TI\\\nME__;\n");
        for _ in 0..2 {
            s.compile(cc, &[]);
        }
        assert_eq!(s.outcomes(), ["uncacheable date-time"; 2], "{cc}");
        for test in ["__has_incl\\\nude(\"n.h\")", "__has_include(\"n\\\n.h\")"] {
            let s = Space::new(&format!(
                "#if {test}\n#include \"n.h\"\n#else\n#define H 2\n#endif\nint main(void) {{ return H; }}\n"
            ));
            for _ in 0..2 {
                s.compile(cc, &[]);
            }
            assert_eq!(s.exit_code(), Some(2), "{cc} {test}");
            s.space.write("src/n.h", "#define H 1\n");
            s.compile(cc, &[]);
            assert_eq!(s.exit_code(), Some(1), "{cc} {test}: the old object");
        }
    }
}

/// The preprocessor passes over a dangling link and a directory named like the header (a
/// link to a header not generated yet, say). Once the link's target exists, or a file
/// replaces the directory, it reads that: the old object was served (a review, 2026-12-05).
#[test]
fn a_dangling_link_or_a_directory_passed_over_is_watched() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    let kinds = ["link", "directory", "link to a directory"];
    let mut spaces = Vec::new();
    for cc in ["gcc", "clang"] {
        for kind in kinds {
            let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
            s.space.write("src/inc2/h.h", "#define H 2\n");
            match kind {
                "link" => {
                    std::fs::create_dir_all(s.path("src/inc")).unwrap();
                    std::os::unix::fs::symlink("../gen/h.h", s.path("src/inc/h.h")).unwrap();
                }
                "directory" => std::fs::create_dir_all(s.path("src/inc/h.h")).unwrap(),
                _ => {
                    std::fs::create_dir_all(s.path("src/inc")).unwrap();
                    std::fs::create_dir_all(s.path("src/gen/h.h")).unwrap();
                    std::os::unix::fs::symlink("../gen/h.h", s.path("src/inc/h.h")).unwrap();
                }
            }
            spaces.push((cc, kind, s));
        }
    }
    // Settled directories, so that the lookup memo may rest on their stamps.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    for (cc, kind, mut s) in spaces {
        let flags = [s.include("src/inc"), s.include("src/inc2")];
        for _ in 0..2 {
            s.compile_in(cc, &[], &flags);
        }
        assert_eq!(s.exit_code(), Some(2), "{cc} {kind}");
        match kind {
            "link" => s.space.write("src/gen/h.h", "#define H 1\n"),
            "directory" => {
                std::fs::remove_dir(s.path("src/inc/h.h")).unwrap();
                s.space.write("src/inc/h.h", "#define H 1\n")
            }
            _ => {
                std::fs::remove_dir(s.path("src/gen/h.h")).unwrap();
                s.space.write("src/gen/h.h", "#define H 1\n")
            }
        };
        // Another object directory's first check, from the entry's record (`n h.h` beside
        // `f h.h.gch` below `src/inc`), before this one's memo check stores the new object.
        s.move_to("obj2");
        s.compile_in(cc, &[], &flags);
        assert_eq!(
            s.exit_code(),
            Some(1),
            "{cc} {kind}: the old object in obj2"
        );
        s.obj = "obj";
        s.compile_in(cc, &[], &flags);
        assert_eq!(s.exit_code(), Some(1), "{cc} {kind}: the old object");
    }
}

#[test]
fn implicit_precompiled_header_beside_a_header_is_not_cached() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include \"h.h\"\nint main(void) { return H; }\n");
    s.space.write("src/h.h", "#define H 1\n");
    run_ok(
        Command::new("gcc")
            .current_dir(s.path("src"))
            .args(["-g", "-O0", "-x", "c-header", "h.h", "-o", "h.h.gch"]),
    );
    for _ in 0..2 {
        s.compile("gcc", &[]);
    }
    assert_eq!(
        s.outcomes(),
        [
            "uncacheable precompiled-header",
            "uncacheable precompiled-header"
        ]
    );
}

#[test]
fn clang_override_options_are_in_the_key() {
    require_tool("clang", "clang");
    let s =
        Space::new("#ifndef EXTRA\n#define EXTRA 0\n#endif\nint main(void) { return EXTRA; }\n");
    s.compile("clang", &[]);
    s.compile("clang", &[("CCC_OVERRIDE_OPTIONS", "+-DEXTRA=1")]);
    assert_eq!(
        s.outcomes(),
        ["miss", "miss"],
        "another driver override: another key"
    );
}

#[test]
fn dependency_output_variables_run_the_compile_unchanged() {
    require_tool("gcc", "gcc");
    let s = Space::new("int main(void) { return 0; }\n");
    let deps = s.path("obj/env.d");
    for var in ["DEPENDENCIES_OUTPUT", "SUNPRO_DEPENDENCIES"] {
        s.compile("gcc", &[(var, deps.to_str().unwrap())]);
    }
    assert_eq!(
        s.outcomes(),
        ["uncacheable dependency-env", "uncacheable dependency-env"]
    );
}

#[test]
fn another_assembler_first_on_path_misses() {
    require_tool("gcc", "gcc");
    let s = Space::new("int main(void) { return 0; }\n");
    s.compile("gcc", &[]);
    let bin = s.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // An assembler that leaves a mark in every object it writes (a symbol: a file of its own
    // it read would make the compile uncacheable, `asm-include`).
    write_exe(
        &bin.join("as"),
        "#!/bin/sh\nexec /usr/bin/as --defsym cn_other_as=1 \"$@\"\n",
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    s.compile("gcc", &[("PATH", &path)]);
    s.compile("gcc", &[]);
    assert_eq!(s.outcomes(), ["miss", "miss", "hit"]);
}

#[test]
fn compiler_replaced_with_its_old_mtime_restored_misses() {
    require_tool("gcc", "gcc");
    let s = Space::new("int main(void) { return V; }\n");
    let cc = s.path("mycc");
    write_exe(&cc, "#!/bin/sh\nexec gcc -DV=1 \"$@\"\n");
    let cc_s = cc.to_str().unwrap();
    s.compile(cc_s, &[]);
    s.compile(cc_s, &[]);
    // Same size, other bytes, the old mtime put back.
    run_ok(Command::new("cp").arg("-p").arg(&cc).arg(s.path("old")));
    write_exe(&cc, "#!/bin/sh\nexec gcc -DV=2 \"$@\"\n");
    run_ok(Command::new("touch").arg("-r").arg(s.path("old")).arg(&cc));
    s.compile(cc_s, &[]);
    assert_eq!(s.outcomes(), ["miss", "hit", "miss"]);
}

/// `main.c` including `h.h` (quoted or angle), found in `src/inc2`, with `src/inc1` searched
/// first. Returns the space after a miss and a hit.
fn shadow_space(include: &str, env: &[(&str, &str)]) -> Space {
    require_tool("gcc", "gcc");
    let s = Space::new(&format!(
        "#include {include}\nint main(void) {{ return H; }}\n"
    ));
    s.space.write("src/inc2/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/inc1")).unwrap();
    std::fs::create_dir_all(s.path("src/cpath")).unwrap();
    for _ in 0..2 {
        s.compile_with("gcc", env);
    }
    assert_eq!(s.outcomes(), ["miss", "hit"]);
    s
}

#[test]
fn new_header_in_an_earlier_include_directory_misses() {
    let s = shadow_space("<h.h>", &[]);
    s.space.write("src/inc1/h.h", "#define H 1\n");
    let out = s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["miss", "hit", "error", "miss"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("inc1/h.h now exists"));
    // The new compile is cached with the new header, and hits.
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes().last().map(String::as_str), Some("hit"));
}

/// Another object directory's first check of an entry lists the directories recorded when the
/// entry was stored (it does not count the candidates again): it hits while nothing is new,
/// and a header created since in an earlier directory is still found.
#[test]
fn another_object_directorys_first_check_finds_a_new_header() {
    let mut s = shadow_space("<h.h>", &[]);
    s.move_to("obj2");
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["hit"]);
    s.space.write("src/inc1/h.h", "#define H 1\n");
    s.move_to("obj3");
    let out = s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["error", "miss"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("inc1/h.h now exists"));
}

/// An include directory below the sysroot (`--sysroot=S -I=/inc`: gcc searches `S/inc`)
/// is not in the launcher's model of the search order, so a header created there later went
/// unseen and the old object was served (found 2026-12-05). Such a compile is not cached: it
/// runs as it is, and its object always has the header gcc finds now.
#[test]
fn include_directory_below_the_sysroot_is_not_cached() {
    require_tool("gcc", "gcc");
    for joined in [true, false] {
        let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
        s.space.write("src/inc2/h.h", "#define H 2\n");
        std::fs::create_dir_all(s.path("sysroot/inc")).unwrap();
        let mut flags = vec![format!("--sysroot={}", s.path("sysroot").display())];
        match joined {
            true => flags.push("-I=/inc".into()),
            false => flags.extend(["-I".into(), "=/inc".into()]),
        }
        flags.push(s.include("src/inc2"));
        never_cached_and_right(&s, &flags, "sysroot/inc/h.h", "option");
    }
}

/// A sysroot the command names is the project's, not the compiler's installation: a header
/// created in one of its system directories where the compiler looks first is seen. A review
/// found each of these served the old object (2026-12-05): `usr/local/include` before
/// `usr/include` (also when it did not exist when the compiler was probed), and
/// `usr/include` before an `-idirafter` directory, with `-isysroot DIR` (whose probe had
/// run `-isysroot -E`; gcc's only: clang on Linux ignores it there).
#[test]
fn a_header_created_in_a_named_sysroot_misses() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    let cases = [
        (
            "--sysroot=",
            "sysroot/usr/include",
            false,
            "usr/local/include",
        ),
        (
            "--sysroot=",
            "sysroot/usr/include",
            true,
            "usr/local/include",
        ),
        ("-isysroot", "src/after", true, "usr/include"),
        // Relative (`../sysroot` from `obj/`): the probe prints relative directories.
        (
            "--sysroot=../",
            "sysroot/usr/include",
            false,
            "usr/local/include",
        ),
    ];
    for cc in ["gcc", "clang"] {
        for (option, first, made, new) in cases {
            // clang on Linux takes its system directories from `--sysroot` only.
            if cc == "clang" && option == "-isysroot" {
                continue;
            }
            let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
            s.space.write(&format!("{first}/h.h"), "#define H 2\n");
            std::fs::create_dir_all(s.path("sysroot/usr/include")).unwrap();
            if made {
                std::fs::create_dir_all(s.path("sysroot/usr/local/include")).unwrap();
            }
            let sysroot = s.path("sysroot").display().to_string();
            let mut flags = match option {
                "-isysroot" => vec![option.to_string(), sysroot],
                "--sysroot=../" => vec!["--sysroot=../sysroot".to_string()],
                _ => vec![format!("{option}{sysroot}")],
            };
            flags.extend([
                "-idirafter".to_string(),
                s.path("src/after").display().to_string(),
            ]);
            let what = format!("{cc} {option} {first}, then {new} (existing: {made})");
            for _ in 0..2 {
                s.compile_in(cc, &[], &flags);
            }
            assert_eq!(s.exit_code(), Some(2), "{what}");
            assert_eq!(s.outcomes(), ["miss", "hit"], "{what}");
            s.space
                .write(&format!("sysroot/{new}/h.h"), "#define H 1\n");
            s.compile_in(cc, &[], &flags);
            assert_eq!(s.exit_code(), Some(1), "{what}: the old object");
        }
    }
}

/// Compiles `main.c` (returning `H`, 2 in the header found at first) with `flags` twice,
/// writes `new` (`H` 1) where gcc now looks first and compiles again: each compile is run as
/// it is (uncacheable for `reason`), and the last object has the new header's value.
fn never_cached_and_right(s: &Space, flags: &[String], new: &str, reason: &str) {
    for _ in 0..2 {
        s.compile_in("gcc", &[], flags);
    }
    assert_eq!(s.exit_code(), Some(2), "{flags:?}");
    s.space.write(new, "#define H 1\n");
    s.compile_in("gcc", &[], flags);
    assert_eq!(
        s.exit_code(),
        Some(1),
        "{flags:?}: {new} is first in gcc's search"
    );
    let uncacheable = format!("uncacheable {reason}");
    assert_eq!(s.outcomes(), [uncacheable.as_str(); 3], "{flags:?}");
}

/// Search options passed through `-Wp,` or `-Xpreprocessor` (gcc searches them after every
/// driver `-I`, which the lookup rule's model did not follow): a header created in a `-I`
/// directory later was not seen and the old object served (found by a review, 2026-12-05).
/// Such compiles are not cached now.
#[test]
fn search_options_through_the_preprocessor_doors_are_not_cached() {
    require_tool("gcc", "gcc");
    for door in [&["-Wp,-I"][..], &["-Xpreprocessor", "-I"]] {
        let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
        s.space.write("src/a/h.h", "#define H 2\n");
        std::fs::create_dir_all(s.path("src/b")).unwrap();
        let a = s.path("src/a").display().to_string();
        let mut flags: Vec<String> = door[..door.len() - 1]
            .iter()
            .map(|w| w.to_string())
            .collect();
        flags.push(format!("{}{a}", door[door.len() - 1]));
        flags.push(s.include("src/b"));
        never_cached_and_right(&s, &flags, "src/b/h.h", "option");
    }
}

/// A computed include in a header (`#define H "h.h"` then `#include H` in `sub/x.h`) may
/// name a quoted file, looked for beside that header first: one created there shadows the
/// `h.h` the entry read from a later directory (a review found the old object served).
#[test]
fn a_computed_include_in_a_header_looks_beside_that_header_first() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include <sub/x.h>\nint main(void) { return V; }\n");
    s.space
        .write("src/b/sub/x.h", "#define H \"h.h\"\n#include H\n");
    s.space.write("src/c/h.h", "#define V 2\n");
    let flags = vec![s.include("src/b"), s.include("src/c")];
    let compile = || s.compile_in("gcc", &[], &flags);
    shadowed_once_written(&s, compile, ("src/b/sub/h.h", "#define V 1\n"), "sub/h.h");
    assert_eq!(s.exit_code(), Some(1));
}

/// `-iwithprefixbefore` is searched after every `-I`, wherever it stands on the command line
/// (the drivers pass `-I` first): a header created in a later `-I` directory shadows it.
#[test]
fn a_with_prefix_before_directory_is_searched_after_every_include_directory() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
    s.space.write("src/a/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/b")).unwrap();
    let flags = vec![
        "-iprefix".to_string(),
        format!("{}/", s.path("src").display()),
        "-iwithprefixbefore".to_string(),
        "a".to_string(),
        s.include("src/b"),
    ];
    let compile = || s.compile_in("gcc", &[], &flags);
    shadowed_once_written(&s, compile, ("src/b/h.h", "#define H 1\n"), "b/h.h");
    assert_eq!(s.exit_code(), Some(1));
}

/// A forced include in any of its forms (`-includeF`, `--include=F`, `-imacrosF`,
/// `--imacros=F`) is looked for in the working directory first: a file created there
/// shadows the one the entry read (only `-include F` and `-imacros F` were known before).
#[test]
fn forced_includes_in_every_form_are_shadowed_from_the_working_directory() {
    require_tool("gcc", "gcc");
    for form in [
        "-includeh.h",
        "--include=h.h",
        "-imacrosh.h",
        "--imacros=h.h",
    ] {
        let s = Space::new("int main(void) { return H; }\n");
        s.space.write("src/b/h.h", "#define H 2\n");
        let flags = vec![form.to_string(), s.include("src/b")];
        let compile = || s.compile_in("gcc", &[], &flags);
        shadowed_once_written(&s, compile, ("obj/h.h", "#define H 1\n"), "obj/h.h");
        assert_eq!(s.exit_code(), Some(1), "{form}");
    }
}

/// An empty element of `CPATH` (or `C_INCLUDE_PATH`) is the working directory: a header
/// created there shadows the one found later (empty elements were dropped before).
#[test]
fn an_empty_include_path_element_is_the_working_directory() {
    require_tool("gcc", "gcc");
    for var in ["CPATH", "C_INCLUDE_PATH"] {
        let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
        s.space.write("src/b/h.h", "#define H 2\n");
        let value = format!(":{}", s.path("src/b").display());
        let env = [(var, value.as_str())];
        let compile = || s.compile_in("gcc", &env, &[]);
        shadowed_once_written(&s, compile, ("obj/h.h", "#define H 1\n"), "obj/h.h");
        assert_eq!(s.exit_code(), Some(1), "{var}");
    }
}

#[test]
fn new_header_beside_the_source_shadows_a_quoted_include() {
    let s = shadow_space("\"h.h\"", &[]);
    s.space.write("src/h.h", "#define H 1\n");
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["miss", "hit", "error", "miss"]);
}

#[test]
fn new_header_in_an_unchanged_cpath_directory_misses() {
    let cpath = TestSpace::new();
    let dir = cpath.path().join("cp");
    std::fs::create_dir_all(&dir).unwrap();
    let env = [("CPATH", dir.to_str().unwrap())];
    let s = shadow_space("<h.h>", &env);
    std::fs::write(dir.join("h.h"), "#define H 1\n").unwrap();
    s.compile_with("gcc", &env);
    assert_eq!(s.outcomes(), ["miss", "hit", "error", "miss"]);
}

#[test]
fn a_same_named_file_passed_over_from_the_start_still_hits() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
    // Beside the source: searched for quoted includes only, so <h.h> passes over it.
    s.space.write("src/h.h", "#error not this one\n");
    s.space.write("src/inc2/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/inc1")).unwrap();
    for _ in 0..3 {
        s.compile_with("gcc", &[]);
    }
    assert_eq!(s.outcomes(), ["miss", "hit", "hit"]);
}

/// Runs `compile` twice (a miss, then a hit), writes `new` (path in the space, text), and
/// asserts that the next compile finds it where the preprocessor looks first: one warning
/// line naming `named` ("… now exists"), then a miss.
fn shadowed_once_written(s: &Space, compile: impl Fn() -> Output, new: (&str, &str), named: &str) {
    for _ in 0..2 {
        compile();
    }
    assert_eq!(s.outcomes(), ["miss", "hit"]);
    s.space.write(new.0, new.1);
    let out = compile();
    assert_eq!(s.outcomes(), ["miss", "hit", "error", "miss"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{named} now exists")), "{err}");
}

/// `main.c` with `text`, compiled with `-I src/inc1 -isystem src/inc2` after `files` are
/// written; returns the space after a miss and a hit.
fn cached_twice(text: &str, files: &[(&str, &str)]) -> Space {
    require_tool("gcc", "gcc");
    let s = Space::new(text);
    std::fs::create_dir_all(s.path("src/inc1")).unwrap();
    for (rel, body) in files {
        s.space.write(rel, body);
    }
    for _ in 0..2 {
        s.compile_with("gcc", &[]);
    }
    assert_eq!(s.outcomes(), ["miss", "hit"]);
    s
}

#[test]
fn angle_include_beside_other_headers_read_is_still_shadowed() {
    // h.h lies beside another header the compile read, but an angle include searched for it.
    let s = cached_twice(
        "#include <other.h>\n#include <h.h>\nint main(void) { return H + O; }\n",
        &[
            ("src/inc2/h.h", "#define H 2\n"),
            ("src/inc2/other.h", "#define O 0\n"),
        ],
    );
    s.space.write("src/inc1/h.h", "#define H 1\n");
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes()[2..], ["error", "miss"]);
}

#[test]
fn quoted_include_from_a_header_looks_beside_that_header_first() {
    // sub/a.h includes "b.h", found through -I; a new sub/b.h beside a.h is found first.
    let s = cached_twice(
        "#include <sub/a.h>\nint main(void) { return B; }\n",
        &[
            ("src/inc2/sub/a.h", "#include \"b.h\"\n"),
            ("src/inc2/b.h", "#define B 2\n"),
        ],
    );
    s.space.write("src/inc2/sub/b.h", "#define B 1\n");
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes()[2..], ["error", "miss"]);
}

#[test]
fn has_include_that_was_false_misses_once_the_file_exists() {
    let s = cached_twice(
        "#if __has_include(<probe.h>)\n#include <probe.h>\n#else\n#define P 0\n#endif\nint main(void) { return P; }\n",
        &[("src/inc2/other.h", "")],
    );
    s.space.write("src/inc1/probe.h", "#define P 1\n");
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes()[2..], ["error", "miss"]);
}

#[test]
fn precompiled_header_created_after_the_entry_was_stored_is_not_hit() {
    let s = cached_twice(
        "#include <h.h>\nint main(void) { return H; }\n",
        &[("src/inc2/h.h", "#define H 2\n")],
    );
    // A .gch of another text: gcc uses it instead of h.h.
    s.space.write("pch/h.h", "#define H 7\n");
    let gch = s.path("src/inc2/h.h.gch");
    run_ok(
        Command::new("gcc")
            .args(["-O0", "-x", "c-header"])
            .arg(s.path("pch/h.h"))
            .arg("-o")
            .arg(&gch),
    );
    s.compile_with("gcc", &[]);
    assert_eq!(
        s.outcomes()[2..],
        ["error", "uncacheable precompiled-header"]
    );
}

/// A header passed over behind a false conditional joins the entry's include list, and so do
/// the files its own directives name (the rule reads the directives of every listed file):
/// another machine's first check of the entry (here: the cache without this machine's memos,
/// as when the entry came from CI) hits instead of finding them "new".
#[test]
fn passed_over_headers_and_what_they_name_travel_with_the_entry() {
    let s = cached_twice(
        "#include <h.h>\nint main(void) { return H; }\n",
        &[
            (
                "src/inc1/h.h",
                "#ifdef NEVER\n#include \"opt.h\"\n#endif\n#define H 1\n",
            ),
            ("src/inc1/opt.h", "#include \"sub/deep.h\"\n"),
            ("src/inc1/sub/deep.h", "#define DEEP 1\n"),
        ],
    );
    std::fs::remove_dir_all(s.path("cache/memo")).unwrap();
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes()[2..], ["hit"]);
}

/// A `__has_include` of a macro (written in the source, or in a header's wrapper) names no
/// place the lookup could watch, so the compile is not cached: once the file exists, the
/// object is the true branch's (a review found this hit the false branch's object).
#[test]
fn a_has_include_of_a_macro_is_not_cached() {
    require_tool("gcc", "gcc");
    let cases = [
        (
            "#define PROBE <probe.h>\n#if __has_include(PROBE)\n#define P 1\n#else\n#define P 0\n#endif\nint main(void) { return P; }\n",
            "",
        ),
        (
            "#include <has.h>\n#if HAS(<probe.h>)\n#define P 1\n#else\n#define P 0\n#endif\nint main(void) { return P; }\n",
            "#define HAS(name) __has_include(name)\n",
        ),
    ];
    for (main_c, has_h) in cases {
        let s = Space::new(main_c);
        s.space.write("src/inc2/has.h", has_h);
        std::fs::create_dir_all(s.path("src/inc1")).unwrap();
        s.compile_with("gcc", &[]);
        s.compile_with("gcc", &[]);
        s.space.write("src/inc1/probe.h", "\n");
        s.compile_with("gcc", &[]);
        let word = "uncacheable computed-has-include";
        assert_eq!(s.outcomes(), [word; 3], "{main_c}");
        assert_eq!(s.exit_code(), Some(1));
    }
}

#[test]
fn has_include_that_was_false_is_not_answered_by_a_same_named_header_elsewhere() {
    let s = cached_twice(
        "#include <sub/probe.h>\n#if __has_include(<probe.h>)\n#define P 1\n#else\n#define P 0\n#endif\nint main(void) { return P + S; }\n",
        &[("src/inc2/sub/probe.h", "#define S 0\n")],
    );
    s.space.write("src/inc1/probe.h", "\n");
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes()[2..], ["error", "miss"]);
}

/// A header rewritten between two compiles with its size and mtime kept (only its change time
/// moves): every miss hashes what the header holds now (no digest remembered by a stamp that
/// leaves the change time out), or a later return to the old bytes hits an object compiled
/// from the new ones.
#[test]
fn a_header_rewritten_with_size_and_mtime_kept_is_read_again() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include \"h.h\"\nint main(void) { return V; }\n");
    let h = s.path("src/h.h");
    let settle = || std::thread::sleep(std::time::Duration::from_millis(2200));
    let rewrite = |text: &str| {
        run_ok(Command::new("cp").arg("-p").arg(&h).arg(s.path("old.h")));
        std::fs::write(&h, text).unwrap();
        run_ok(Command::new("touch").arg("-r").arg(s.path("old.h")).arg(&h));
        settle();
    };
    let flags = |d: &str| [s.include("src"), format!("-D{d}")];
    s.space.write("src/h.h", "#define V 1\n");
    settle();
    s.compile_in("gcc", &[], &flags("A"));
    rewrite("#define V 2\n");
    s.compile_in("gcc", &[], &flags("B"));
    rewrite("#define V 1\n");
    s.compile_in("gcc", &[], &flags("B"));
    assert_eq!(s.outcomes(), ["miss", "miss", "miss"]);
    // The last object is V=1's: linked and run, it exits 1.
    assert_eq!(s.exit_code(), Some(1));
}

/// `main.c` including `<sub/h.h>`, found in `src/inc2`, with `src/inc1` searched first and
/// already holding `sub` as a dangling symbolic link, its directories settled before the first
/// compile. The listing of `inc1` names `sub`, but the candidate `inc1/sub/h.h` is not there:
/// a file created at the link's target does not change `inc1`'s stamp, so no memo may rest on
/// it (a review of the lookup memo found this hit a stale object).
#[test]
fn a_header_created_behind_a_dangling_link_on_the_way_misses() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include <sub/h.h>\nint main(void) { return H; }\n");
    s.space.write("src/inc2/sub/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/inc1")).unwrap();
    std::os::unix::fs::symlink(s.path("out/sub"), s.path("src/inc1/sub")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let compile = || s.compile_with("gcc", &[]);
    shadowed_once_written(
        &s,
        compile,
        ("out/sub/h.h", "#define H 1\n"),
        "inc1/sub/h.h",
    );
}

/// The same hole through another object directory's first check: `inc1/sub` is created (and
/// settles) after the entry was stored, so the recorded candidate `inc1/sub/h.h` has its way
/// listed without being there; a header created in it later must still be found.
#[test]
fn another_object_directorys_first_check_does_not_trust_a_holder_grown_deeper() {
    require_tool("gcc", "gcc");
    let mut s = Space::new("#include <sub/h.h>\nint main(void) { return H; }\n");
    s.space.write("src/inc2/sub/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/inc1")).unwrap();
    for _ in 0..2 {
        s.compile_with("gcc", &[]);
    }
    assert_eq!(s.outcomes(), ["miss", "hit"]);
    std::fs::create_dir(s.path("src/inc1/sub")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2100));
    s.move_to("obj2");
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["hit"]);
    s.space.write("src/inc1/sub/h.h", "#define H 1\n");
    let out = s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["hit", "error", "miss"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("inc1/sub/h.h now exists"));
}

/// The entry's record names a candidate whose way was absent by its first component only
/// (`f sub` below `src/inc1`): another object directory's first check, finding `sub` there
/// now with the header in it, counts in full and refuses the entry (it does not take the
/// first component's record as the candidate's absence).
#[test]
fn another_object_directorys_first_check_finds_a_header_in_a_new_directory() {
    require_tool("gcc", "gcc");
    let mut s = Space::new("#include <sub/h.h>\nint main(void) { return H; }\n");
    s.space.write("src/inc2/sub/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/inc1")).unwrap();
    s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["miss"]);
    s.space.write("src/inc1/sub/h.h", "#define H 1\n");
    s.move_to("obj2");
    let out = s.compile_with("gcc", &[]);
    assert_eq!(s.outcomes(), ["error", "miss"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("inc1/sub/h.h now exists"));
}

/// `<../x.h>` through `-I src/a/sub -I src/b/sub` finds `src/b/x.h`, which does not lie
/// below the directory it was found through: its earlier place is the name joined to
/// `src/a/sub` (`src/a/x.h`), not the same relative name below `src/a/sub` (a review found
/// this hit a stale object).
#[test]
fn a_header_named_with_dotdot_is_shadowed_through_the_search_path() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include <../x.h>\nint main(void) { return H; }\n");
    s.space.write("src/b/x.h", "#define H 2\n");
    for d in ["src/a/sub", "src/b/sub"] {
        std::fs::create_dir_all(s.path(d)).unwrap();
    }
    let flags = [s.include("src/a/sub"), s.include("src/b/sub")];
    let compile = || s.compile_in("gcc", &[], &flags);
    shadowed_once_written(&s, compile, ("src/a/x.h", "#define H 1\n"), "a/x.h");
}

/// `-include foo.h` is looked for in the working directory (the object directory) before the
/// search path: a `foo.h` created there shadows the one the entry read (a review found this
/// hit a stale object).
#[test]
fn a_forced_include_created_in_the_working_directory_misses() {
    require_tool("gcc", "gcc");
    let s = Space::new("int main(void) { return H; }\n");
    s.space.write("src/inc2/foo.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/inc1")).unwrap();
    let flags = [
        s.include("src/inc1"),
        s.include("src/inc2"),
        "-include".to_string(),
        "foo.h".to_string(),
    ];
    let compile = || s.compile_in("gcc", &[], &flags);
    shadowed_once_written(&s, compile, ("obj/foo.h", "#define H 1\n"), "obj/foo.h");
}

/// Search directories given by the long and prefixed options (`--include-directory=`,
/// `-iprefix` with `-iwithprefixbefore`) are search directories too: a header found there
/// has earlier places (a review found both hit a stale object, as did `-I/`).
#[test]
fn search_directories_of_the_long_and_prefixed_options_are_searched() {
    require_tool("gcc", "gcc");
    let forms: [fn(&Space) -> Vec<String>; 2] = [
        |s| {
            vec![
                s.include("src/inc1"),
                format!("--include-directory={}", s.path("src/inc2").display()),
            ]
        },
        |s| {
            vec![
                s.include("src/inc1"),
                "-iprefix".to_string(),
                format!("{}/", s.path("src").display()),
                "-iwithprefixbefore".to_string(),
                "inc2".to_string(),
            ]
        },
    ];
    for form in forms {
        let s = Space::new("#include <h.h>\nint main(void) { return H; }\n");
        s.space.write("src/inc2/h.h", "#define H 2\n");
        std::fs::create_dir_all(s.path("src/inc1")).unwrap();
        let flags = form(&s);
        eprintln!("flags: {flags:?}");
        let compile = || s.compile_in("gcc", &[], &flags);
        shadowed_once_written(&s, compile, ("src/inc1/h.h", "#define H 1\n"), "inc1/h.h");
    }
}

/// A directive after a comment on its line is a directive: `/* x */ #include "b.h"` in
/// `inc2/sub/a.h` looks beside `a.h` first, so a `b.h` created there shadows the `inc1/b.h`
/// the entry read (a review found the scan missed it and the build hit a stale object).
#[test]
fn a_directive_after_a_comment_still_looks_beside_its_includer() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include <sub/a.h>\nint main(void) { return H; }\n");
    s.space
        .write("src/inc2/sub/a.h", "/* x */ #include \"b.h\"\n");
    s.space.write("src/inc1/b.h", "#define H 2\n");
    let compile = || s.compile_with("gcc", &[]);
    shadowed_once_written(
        &s,
        compile,
        ("src/inc2/sub/b.h", "#define H 1\n"),
        "sub/b.h",
    );
}

/// `src/inc` a symbolic link to `src/deep/d1`: the kernel resolves `inc/..` to `src/deep`.
fn linked_space(main_c: &str, link_to: &str) -> Space {
    require_tool("gcc", "gcc");
    let s = Space::new(main_c);
    std::fs::create_dir_all(s.path("src").join(link_to)).unwrap();
    std::fs::create_dir_all(s.path("src/b")).unwrap();
    std::os::unix::fs::symlink(link_to, s.path("src/inc")).unwrap();
    s
}

/// `-I src/inc/../x` with `src/inc` a link to `src/deep/d1`: gcc searches `src/deep/x`, the
/// lookup rule's text join `src/x`, so a header created in `src/deep/x` went unseen and the
/// old object was served (a review reproduced it, 2026-12-05). Such a compile is not cached,
/// with the directory named absolute or relative to the object directory.
#[test]
fn a_dotdot_after_a_linked_include_directory_is_not_cached() {
    for absolute in [true, false] {
        let s = linked_space("#include <h.h>\nint main(void) { return H; }\n", "deep/d1");
        s.space.write("src/b/h.h", "#define H 2\n");
        let dir = match absolute {
            true => format!("{}/inc/../x", s.path("src").display()),
            false => "../src/inc/../x".to_string(),
        };
        let flags = [format!("-I{dir}"), s.include("src/b")];
        never_cached_and_right(&s, &flags, "src/deep/x/h.h", "dotdot-link");
    }
}

/// A quoted `#include "../h.h"` in `y.h`, reached through `-I src/inc` (a link to
/// `src/deep/d1/sub`), looks first in `src/deep/d1`, where the lookup rule's text join saw
/// `src`: a header created there went unseen and the old object was served (a review
/// reproduced it, 2026-12-05). Such a compile is not cached.
#[test]
fn a_quoted_dotdot_in_a_header_reached_through_a_link_is_not_cached() {
    let s = linked_space(
        "#include <y.h>\nint main(void) { return H; }\n",
        "deep/d1/sub",
    );
    s.space
        .write("src/deep/d1/sub/y.h", "#include \"../h.h\"\n");
    s.space.write("src/h.h", "#define H 2\n");
    let flags = [s.include("src/inc"), s.include("src/b")];
    never_cached_and_right(&s, &flags, "src/deep/d1/h.h", "dotdot-link");
}

/// An entry stored from a tree where `inc` is a plain directory (`y.h`'s `"../h.h"` found
/// nothing beside it and was found through `-I src/b/sub` as `src/b/h.h`) matches the
/// include list of another tree where `inc` is a link to `deep/d1/sub`. There `../h.h` beside
/// `y.h` is `deep/d1/h.h`, which the text join cannot name: the check counts the joins (no
/// recorded candidates are read for a `..` name), refuses the entry with one line and
/// compiles without storing, so a `deep/d1/h.h` created later is what the next object reads.
#[test]
fn an_entry_from_a_tree_without_the_link_is_not_served_through_it() {
    require_tool("gcc", "gcc");
    let main_c = "#include <y.h>\nint main(void) { return H; }\n";
    let mut s = Space::new(main_c);
    s.space.write("src/inc/y.h", "#include \"../h.h\"\n");
    s.space.write("src/b/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/b/sub")).unwrap();
    let flags = |s: &Space| {
        [
            s.include(&format!("{}/inc", s.src)),
            s.include(&format!("{}/b/sub", s.src)),
        ]
    };
    for _ in 0..2 {
        s.compile_in("gcc", &[], &flags(&s));
    }
    assert_eq!(s.outcomes(), ["miss", "hit"]);
    s.space.write("src2/main.c", main_c);
    s.space
        .write("src2/deep/d1/sub/y.h", "#include \"../h.h\"\n");
    s.space.write("src2/b/h.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src2/b/sub")).unwrap();
    std::os::unix::fs::symlink("deep/d1/sub", s.path("src2/inc")).unwrap();
    s.move_to("obj2");
    s.src = "src2";
    let out = s.compile_in("gcc", &[], &flags(&s));
    assert_eq!(s.exit_code(), Some(2));
    s.space.write("src2/deep/d1/h.h", "#define H 1\n");
    s.compile_in("gcc", &[], &flags(&s));
    assert_eq!(s.exit_code(), Some(1), "gcc reads src2/deep/d1/h.h now");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("undoes") && err.contains("src2/inc"), "{err}");
    let refused = ["error", "uncacheable dotdot-link"];
    assert_eq!(s.outcomes(), [&refused[..], &refused[..]].concat());
}

/// A directory that a header's `..` undid is replaced by a link after the entry's lookup memo
/// was written: `src/inc/a/b` (holding `h.h`, which says `#include "../x.h"`, found through
/// `-I src/other/o`) moves to `src/deep/d1/d2` and a link takes its place, so `../x.h` beside
/// `h.h` is now `src/deep/d1/x.h`, where the text join sees `src/inc/a/x.h`. `h.h` is the same
/// file, and no name the memo listed appeared: a review found the memo served the old object
/// (2026-12-05). The memo lists the directories undone and checks each is still plain.
#[test]
fn a_directory_undone_by_dotdot_that_becomes_a_link_is_noticed() {
    require_tool("gcc", "gcc");
    let s = Space::new("#include <a/b/h.h>\nint main(void) { return H; }\n");
    s.space.write("src/inc/a/b/h.h", "#include \"../x.h\"\n");
    s.space.write("src/other/x.h", "#define H 2\n");
    std::fs::create_dir_all(s.path("src/other/o")).unwrap();
    let flags = [s.include("src/inc"), s.include("src/other/o")];
    for _ in 0..2 {
        s.compile_in("gcc", &[], &flags);
    }
    assert_eq!(s.exit_code(), Some(2));
    assert_eq!(s.outcomes(), ["miss", "hit"]);
    std::fs::create_dir_all(s.path("src/deep/d1")).unwrap();
    std::fs::rename(s.path("src/inc/a/b"), s.path("src/deep/d1/d2")).unwrap();
    std::os::unix::fs::symlink("../../deep/d1/d2", s.path("src/inc/a/b")).unwrap();
    s.space.write("src/deep/d1/x.h", "#define H 1\n");
    let out = s.compile_in("gcc", &[], &flags);
    assert_eq!(s.exit_code(), Some(1), "gcc reads src/deep/d1/x.h now");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("undoes") && err.contains("src/inc/a/b"),
        "{err}"
    );
    assert_eq!(s.outcomes()[2..], ["error", "uncacheable dotdot-link"]);
}

/// `../src/./main.c` names the file `../src/main.c` does, but the compiler embeds the
/// spelling (`__FILE__`, through the prefix maps): the two shared a key, and a hit served the
/// other spelling's object (a review, 2026-12-05).
#[test]
fn a_source_spelled_another_way_keeps_its_own_file_name() {
    require_tool("gcc", "gcc");
    let s = Space::new("const char *f = __FILE__;\nint main(void) { return 0; }\n");
    let compile = |source: &str| {
        let mut c = Command::new(cached_ninja());
        c.current_dir(s.path("obj"))
            .env("CACHED_NINJA_CACHE_DIR", s.path("cache"))
            .args(["cc", "--src-root"])
            .arg(s.path("src"))
            .args(["--", "gcc", "-O0", "-c", source, "-o", "main.o"]);
        run_ok(&mut c);
        std::fs::read(s.path("obj/main.o")).unwrap()
    };
    let holds = |o: &[u8], w: &str| o.windows(w.len()).any(|x| x == w.as_bytes());
    assert!(holds(&compile("../src/main.c"), "/src/main.c"));
    assert!(holds(&compile("../src/./main.c"), "/src/./main.c"));
    assert_eq!(s.outcomes(), ["miss", "miss"]);
}

/// `-march=native` compiles for this machine's processor: its identity is a field of the
/// source key (an object CI made on another processor would differ), and so are the
/// diagnostics' colours a hit replays (`GCC_COLORS`).
#[test]
fn the_processor_and_diagnostic_colours_are_in_the_key() {
    require_tool("gcc", "gcc");
    let s = Space::new("int main(void) { return 0; }\n");
    let explain = s.path("explain.txt");
    let explain_s = explain.display().to_string();
    s.compile_in(
        "gcc",
        &[("CACHED_NINJA_EXPLAIN", &explain_s)],
        &["-march=native".into()],
    );
    let text = std::fs::read_to_string(&explain).unwrap();
    assert!(text.contains("(processor)"), "{text}");
    for colours in ["error=01;31", "error=01;32"] {
        s.compile_in("gcc", &[("GCC_COLORS", colours)], &[]);
    }
    assert_eq!(s.outcomes(), ["miss", "miss", "miss"]);
}

/// An object served at another path is the one a compile there makes (the differential a
/// review ran on 2026-12-05; each configuration below served the first tree's paths):
/// tree A (`a/src`, `a/build`) stores, tree B (`x/y/zz-src`, `x/y/bld`) compiles with the
/// same cache, and again with an empty one; the two objects (and `.dwo` files) must match.
/// Every compile forces `../<src>/inc/ih.h` in (gcc names it `./../src/inc/ih.h`); `-I
/// ../src-extra` is a sibling of both trees whose name starts like tree A's (its relative
/// map matched it as text). The last three configurations start a file with a line directive
/// naming `../src/gram.y` (the same bytes in both trees): the source with the `#line` bison
/// writes, with its linemarker form `# 1 "…"`, and the forced header with `#  line`. Link-time
/// optimisation keeps the source's path unmapped (gcc's LTO sections, clang's bitcode), and
/// clang's `-fembed-bitcode=marker` the whole front-end command line.
#[test]
fn an_object_served_at_another_path_is_what_a_compile_there_makes() {
    require_tool("gcc", "gcc");
    require_tool("clang", "clang");
    let configs: [(&str, &[&str]); 12] = [
        ("gcc", &["-g"]),
        ("gcc", &["-g", "-DEXTRA", "-I../src-extra"]),
        ("clang", &["-g", "-DEXTRA", "-I../src-extra"]),
        ("gcc", &["-g", "-fsanitize=undefined"]),
        ("gcc", &["-g3", "-gsplit-dwarf"]),
        ("clang", &["-g", "-grecord-gcc-switches"]),
        ("gcc", &["-g", "-DLINE"]),
        ("gcc", &["-g", "-DMARK"]),
        ("clang", &["-g", "-DHEADER_LINE"]),
        ("gcc", &["-g", "-O2", "-flto", "-frandom-seed=cn"]),
        ("clang", &["-O2", "-flto=thin"]),
        ("clang", &["-g", "-fembed-bitcode=marker"]),
    ];
    for (cc, flags) in configs {
        let space = TestSpace::new();
        let (line, header_line) = match flags.last().copied().unwrap_or_default() {
            "-DLINE" => ("#line 1 \"../src/gram.y\"\n", ""),
            "-DMARK" => ("# 1 \"../src/gram.y\"\n", ""),
            "-DHEADER_LINE" => ("", "#  line 1 \"../src/gram.y\"\n"),
            _ => ("", ""),
        };
        let tree = |src: &str, obj: &str| {
            let x = "#ifdef EXTRA\n#include \"e.h\"\n#else\nstatic const char *ef = \"\";\n#endif\n\
                     int main(int argc, char **argv) { return f[0] + ef[0] + argv[0][argc * 9]; }\n";
            space.write(&format!("{src}/x.c"), [line, x].concat());
            space.write(
                &format!("{src}/inc/ih.h"),
                [header_line, "static const char *f = __FILE__;\n"].concat(),
            );
            let extra = format!("{}/src-extra/e.h", src.rsplit_once('/').unwrap().0);
            space.write(&extra, "static const char *ef = __FILE__;\n");
            space.write(&format!("{obj}/build.ninja"), "");
        };
        let compile = |src: &str, obj: &str, cache: &str| {
            let spelled = format!("../{}", src.rsplit('/').next().unwrap());
            let mut c = Command::new(cached_ninja());
            c.current_dir(space.path().join(obj))
                .env("CACHED_NINJA_CACHE_DIR", space.path().join(cache))
                .args(["cc", "--src-root"])
                .arg(space.path().join(src))
                .args(["--", cc, "-O0"])
                .args(flags)
                .args(["-include", &format!("{spelled}/inc/ih.h")])
                .args(["-MD", "-MF", "x.o.d", "-o", "x.o", "-c"])
                .arg(format!("{spelled}/x.c"));
            run_ok(&mut c);
            let read = |f: &str| std::fs::read(space.path().join(obj).join(f)).ok();
            (read("x.o").unwrap(), read("x.dwo"))
        };
        tree("a/src", "a/build");
        tree("x/y/zz-src", "x/y/bld");
        for _ in 0..2 {
            compile("a/src", "a/build", "c1");
        }
        let served = compile("x/y/zz-src", "x/y/bld", "c1");
        std::fs::remove_dir_all(space.path().join("x/y/bld")).unwrap();
        space.write("x/y/bld/build.ninja", "");
        let fresh = compile("x/y/zz-src", "x/y/bld", "c2");
        assert!(served == fresh, "{cc} {flags:?}: the served object differs");
    }
}

/// gcc's driver runs `cc1` and reads `specs` from its own directories: the same driver's
/// bytes at another prefix, whose library directory holds a `specs` that adds `-DVAL=2`,
/// compile another object. The identity hashed the driver alone, and the object of
/// `/usr/bin/gcc` was served (a review, 2026-12-05). The other prefix's toolchain is the
/// system's (its programs linked) but for the `specs`; without it, it shares the identity.
#[test]
fn a_gcc_that_reads_another_specs_file_is_another_compiler() {
    require_tool("gcc", "gcc");
    let s = Space::new("#ifndef VAL\n#define VAL 1\n#endif\nint main(void) { return VAL; }\n");
    let out = |args: &[&str]| {
        let o = run_ok(Command::new("gcc").args(args));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let (machine, version) = (out(&["-dumpmachine"]), out(&["-dumpversion"]));
    let libexec = PathBuf::from(out(&["-print-prog-name=cc1"]));
    let libexec = libexec.parent().unwrap();
    let tc = s.path("tc");
    let lib = tc.join(format!("lib/gcc/{machine}/{version}"));
    std::fs::create_dir_all(tc.join("bin")).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    let path = std::env::var_os("PATH").unwrap();
    let gcc = std::env::split_paths(&path)
        .map(|d| d.join("gcc"))
        .find(|p| p.is_file());
    let driver = std::fs::canonicalize(gcc.unwrap()).unwrap();
    std::fs::copy(&driver, tc.join("bin/gcc")).unwrap();
    for e in std::fs::read_dir(libexec).unwrap().flatten() {
        std::os::unix::fs::symlink(e.path(), lib.join(e.file_name())).unwrap();
    }
    let gcc2 = tc.join("bin/gcc").display().to_string();
    s.compile("gcc", &[]);
    assert_eq!(s.exit_code(), Some(1));
    s.compile(&gcc2, &[]);
    assert_eq!(
        s.exit_code(),
        Some(1),
        "the same toolchain at another prefix"
    );
    assert_eq!(
        s.outcomes(),
        ["miss", "hit"],
        "another prefix, the same bytes"
    );
    let specs = out(&["-dumpspecs"]).replacen("*cpp:\n", "*cpp:\n-DVAL=2 ", 1);
    std::fs::write(lib.join("specs"), specs + "\n").unwrap();
    s.compile(&gcc2, &[]);
    assert_eq!(
        s.exit_code(),
        Some(2),
        "the object of the driver without the specs"
    );
    assert_eq!(s.outcomes(), ["miss", "hit", "miss"]);
}

/// A header a developer installed in `/usr/local/include` (searched before `/usr/include`)
/// shadows the system's: the compile reads it, so the object stored with `/usr/include`'s
/// must not be served. The compiler's own system directories held no candidates, and CI's
/// object was served (a review, 2026-12-05). The developer's `/usr/local/include` is a bind
/// mount in a private mount namespace (`unshare -m`, as root), nothing outside the test's
/// directory written.
#[test]
fn a_header_in_usr_local_include_shadows_the_systems() {
    require_tool("gcc", "gcc");
    require_tool("unshare", "util-linux");
    let s = Space::new(
        "#include <stdio.h>\n#ifdef SHADOWED\nint main(void) { return 2; }\n\
         #else\nint main(void) { return 1; }\n#endif\n",
    );
    s.space.write("local/stdio.h", "#define SHADOWED 1\n");
    for cc in ["gcc", "clang"] {
        if cc == "clang" && Command::new("clang").arg("--version").output().is_err() {
            continue;
        }
        s.compile(cc, &[]);
        assert_eq!(s.exit_code(), Some(1));
        let mounted = "mount --bind \"$0\" /usr/local/include && exec \"$@\"";
        let mut c = Command::new("unshare");
        c.current_dir(s.path("obj"))
            .args(["-m", "--propagation", "private", "sh", "-c", mounted])
            .arg(s.path("local"))
            .arg(cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", s.path("cache"))
            .args(["cc", "--src-root"])
            .arg(s.path("src"))
            .args(["--", cc, "-O0", "-g"])
            .arg(s.include("src"))
            .args(["-MD", "-MF", "main.o.d", "-o", "main.o", "-c"])
            .arg(s.path("src/main.c"));
        let out = run(&mut c);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            s.exit_code(),
            Some(2),
            "{cc}: the object of /usr/include/stdio.h"
        );
    }
}
