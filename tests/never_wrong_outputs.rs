//! Never a wrong output (DESIGN §3): whatever the command writes besides the object (temps,
//! dumps, depfiles, notes, logs, what stderr shows), and wherever it writes it (another name,
//! through a link, a device), each launch leaves what a plain compile of the same command
//! leaves. Each test runs the launcher (a miss, a hit, a change) in `obj/` and the same command
//! as it is in `plain/`, and compares. Real gcc and clang throughout.

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use support::{cached_ninja, require_tool, run, run_ok, TestSpace};

/// A space with a source tree `src/`, an object directory `obj/` the launcher runs in, a
/// directory `plain/` the plain compiles run in, and a cache.
struct Space(TestSpace);

impl Space {
    /// A space holding `files` (path in the space, text).
    fn new(files: &[(&str, &str)]) -> Space {
        let s = Space(TestSpace::new());
        for (rel, text) in files {
            s.0.write(rel, text);
        }
        // An object directory: what Ninja runs the compiles in.
        s.0.write("obj/build.ninja", "");
        for dir in ["src", "plain"] {
            std::fs::create_dir_all(s.path(dir)).unwrap();
        }
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// `cmd` split at spaces, `{T}` standing for the space's root.
    fn words(&self, cmd: &str) -> Vec<String> {
        let t = self.0.path().display().to_string();
        cmd.split_whitespace()
            .map(|w| w.replace("{T}", &t))
            .collect()
    }

    /// `cached-ninja cc --src-root src -- CMD` in `obj/`.
    fn cn(&self, cmd: &str) -> Command {
        let mut c = Command::new(cached_ninja());
        c.current_dir(self.path("obj"))
            .env("CACHED_NINJA_CACHE_DIR", self.path("cache"))
            .args(["cc", "--src-root"])
            .arg(self.path("src"))
            .arg("--")
            .args(self.words(cmd));
        c
    }

    /// `CMD` as it is, in `plain/`.
    fn plain(&self, cmd: &str) -> Command {
        let w = self.words(cmd);
        let mut c = Command::new(&w[0]);
        c.current_dir(self.path("plain")).args(&w[1..]);
        c
    }

    /// The names of the files in `dir` (not `build.ninja`, not the launcher's `.cached-ninja`).
    fn files(&self, dir: &str) -> BTreeSet<String> {
        std::fs::read_dir(self.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "build.ninja" && n != ".cached-ninja")
            .collect()
    }

    /// Removes those files from `obj/` (as `ninja -t clean` would).
    fn clean(&self) {
        for f in self.files("obj") {
            std::fs::remove_file(self.path("obj").join(f)).unwrap();
        }
    }

    /// Compiles `cmd` plainly, then launches it twice (a miss, then a hit) with `obj/` cleaned
    /// in between: each launch leaves the files the plain compile left, `same` byte-identical.
    fn like_plain_twice(&self, cmd: &str, same: &[&str]) {
        run_ok(&mut self.plain(cmd));
        for launch in ["miss", "hit"] {
            self.clean();
            run_ok(&mut self.cn(cmd));
            let what = format!("`{cmd}`, the launch meant to {launch}");
            assert_eq!(self.files("obj"), self.files("plain"), "files after {what}");
            for f in same {
                let (o, p) = (
                    self.read(&format!("obj/{f}")),
                    self.read(&format!("plain/{f}")),
                );
                assert!(o == p, "{f} differs from the plain compile's after {what}");
            }
        }
    }
}

/// gcc, and clang when it is installed.
fn compilers() -> Vec<&'static str> {
    require_tool("gcc", "gcc");
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|d| d.join("clang").is_file()) {
        vec!["gcc", "clang"]
    } else {
        eprintln!("clang is not installed: gcc only");
        vec!["gcc"]
    }
}

/// Runs `c` with `input` on its standard input.
fn with_stdin(c: &mut Command, input: &str) -> Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const F: &str = "int f(int x) { return x + 1; }\n";

/// `--save-temps` (the long spelling of `-save-temps`) makes gcc and clang keep `a.i` and
/// `a.s` (clang also `a.bc`) in the working directory. The launcher cached the compile and a
/// hit wrote only the object (found by a review, 2026-12-05).
#[test]
fn long_save_temps_leaves_the_temps_after_every_build() {
    for cc in compilers() {
        let s = Space::new(&[("src/a.c", F)]);
        s.like_plain_twice(
            &format!("{cc} --save-temps -c {{T}}/src/a.c -o a.o"),
            &["a.o"],
        );
    }
}

/// `-coverage` (gcc's one-dash spelling of `--coverage`) writes the notes file `a.gcno` beside
/// the object. The launcher cached the compile and a hit wrote no `.gcno` (a review, 2026-12-05).
#[test]
fn single_dash_coverage_writes_the_notes_file_on_every_build() {
    for cc in compilers() {
        let s = Space::new(&[("src/a.c", F)]);
        // The object names its `.gcda` by the absolute path of its directory: not compared.
        s.like_plain_twice(&format!("{cc} -coverage -c {{T}}/src/a.c -o a.o"), &[]);
    }
}

/// `--write-dependencies` and `--write-user-dependencies` are `-MD` and `-MMD`: the compiler
/// writes `a.d`. The launcher did not see a depfile option, cached the compile, and a hit wrote
/// no `a.d`, so Ninja lost the headers (a review, 2026-12-05).
#[test]
fn long_dependency_options_write_the_depfile_on_every_build() {
    for cc in compilers() {
        for opt in ["--write-dependencies", "--write-user-dependencies"] {
            let s = Space::new(&[("src/a.c", "#include \"h.h\"\n"), ("src/h.h", "int v;\n")]);
            s.like_plain_twice(&format!("{cc} {opt} -c {{T}}/src/a.c -o a.o"), &["a.o"]);
        }
    }
}

/// gcc's `-da` (the `-d<letters>` spelling of the RTL dumps) writes `a.c.*r.*` dump files. The
/// launcher refused `-fdump-*` but cached `-da`, and a hit wrote no dump (a review, 2026-12-05).
#[test]
fn gcc_letter_dumps_are_written_by_every_build() {
    require_tool("gcc", "gcc");
    let s = Space::new(&[("src/a.c", F)]);
    s.like_plain_twice("gcc -da -c {T}/src/a.c -o a.o", &["a.o"]);
}

/// clang's joined `-MJcdb.json` writes a compilation-database fragment. Only the separate
/// `-MJ cdb.json` was refused: the joined form was cached and a hit wrote no fragment (a
/// review, 2026-12-05).
#[test]
fn clang_joined_mj_writes_the_fragment_on_every_build() {
    require_tool("clang", "clang");
    let s = Space::new(&[("src/a.c", F)]);
    s.like_plain_twice("clang -MJcdb.json -c {T}/src/a.c -o a.o", &["a.o"]);
}

/// `--output=b.o` is `-o b.o`. The launcher took the output for `a.o`: the miss stored a stale
/// `a.o` an earlier build left, and the hit wrote that to `a.o` and never wrote `b.o` (a review,
/// 2026-12-05). Every launch must write `b.o` as the plain compile does, and nothing else.
#[test]
fn the_long_output_option_names_the_object() {
    for cc in compilers() {
        let s = Space::new(&[("src/a.c", "int f(void) { return 1; }\n")]);
        run_ok(&mut s.cn(&format!("{cc} -c {{T}}/src/a.c -o a.o")));
        s.0.write("src/a.c", "int f(void) { return 2; }\n");
        let cmd = format!("{cc} -c {{T}}/src/a.c --output=b.o");
        run_ok(&mut s.plain(&cmd));
        // The miss with the earlier build's `a.o` still there, then a hit in a clean `obj/`.
        run_ok(&mut s.cn(&cmd));
        let same = |f: &str| {
            s.path(&format!("obj/{f}")).exists()
                && s.read(&format!("obj/{f}")) == s.read(&format!("plain/{f}"))
        };
        assert!(same("b.o"), "{cc}: b.o after the miss");
        s.clean();
        run_ok(&mut s.cn(&cmd));
        assert_eq!(
            s.files("obj"),
            s.files("plain"),
            "{cc}: files after the hit"
        );
        assert!(same("b.o"), "{cc}: b.o after the hit");
    }
}

/// gcc looks for `pch.h.gch` in each `-I` directory before `pch.h`: a `.gch` created in an
/// earlier directory (`a/`, which has no `pch.h`) replaces the `b/pch.h` found so far. The
/// launcher kept hitting the object compiled from `b/pch.h` (a review, 2026-12-05).
#[test]
fn a_precompiled_header_created_in_an_earlier_directory_is_used() {
    require_tool("gcc", "gcc");
    let s = Space::new(&[
        ("src/m.c", "#include \"pch.h\"\nint v = V;\n"),
        ("src/a/.keep", ""),
        ("src/b/pch.h", "#define V 1\n"),
        ("a_variant.h", "#define V 2\n"),
    ]);
    let cmd = "gcc -I{T}/src/a -I{T}/src/b -c {T}/src/m.c -o m.o";
    run_ok(&mut s.cn(cmd));
    run_ok(&mut s.cn(cmd));
    let old = s.read("obj/m.o");
    run_ok(&mut s.plain("gcc -x c-header {T}/a_variant.h -o {T}/src/a/pch.h.gch"));
    run_ok(&mut s.cn(cmd));
    run_ok(&mut s.plain(cmd));
    assert!(
        s.read("plain/m.o") != old,
        "test setup: gcc does not use the .gch"
    );
    assert!(
        s.read("obj/m.o") == s.read("plain/m.o"),
        "m.o differs from plain's"
    );
}

/// clang's `-include pch.h` uses `pch.h.pch` when it exists (gcc's `.gch` only is what the
/// launcher looked for): after one is created, the launcher kept hitting the object compiled
/// from `pch.h` (a review, 2026-12-05).
#[test]
fn clang_uses_a_pch_file_created_beside_a_forced_include() {
    require_tool("clang", "clang");
    let s = Space::new(&[
        ("src/m.c", "int v = V;\n"),
        ("src/pch.h", "#define V 1\n"),
        ("variant/pch.h", "#define V 2\n"),
    ]);
    let cmd = "clang -include {T}/src/pch.h -c {T}/src/m.c -o m.o";
    run_ok(&mut s.cn(cmd));
    run_ok(&mut s.cn(cmd));
    let old = s.read("obj/m.o");
    run_ok(&mut s.plain("clang -x c-header {T}/variant/pch.h -o {T}/src/pch.h.pch"));
    run_ok(&mut s.cn(cmd));
    run_ok(&mut s.plain(cmd));
    assert!(
        s.read("plain/m.o") != old,
        "test setup: clang does not use the .pch"
    );
    assert!(
        s.read("obj/m.o") == s.read("plain/m.o"),
        "m.o differs from plain's"
    );
}

/// `-x c -c /dev/stdin` compiles what arrives on standard input. The launcher read standard
/// input itself (for the key), so the compiler it ran got nothing and wrote an empty object (a
/// review, 2026-12-05).
#[test]
fn a_source_read_from_standard_input_is_compiled() {
    for cc in compilers() {
        let s = Space::new(&[]);
        let cmd = format!("{cc} -x c -c /dev/stdin -o a.o");
        let plain = with_stdin(&mut s.plain(&cmd), "int v = 5;\n");
        assert!(plain.status.success(), "{cc}: plain compile failed");
        for launch in ["first", "second"] {
            let out = with_stdin(&mut s.cn(&cmd), "int v = 5;\n");
            assert!(out.status.success(), "{cc}: {launch} launch failed");
            assert!(
                s.read("obj/a.o") == s.read("plain/a.o"),
                "{cc}: {launch} launch's a.o"
            );
        }
    }
}

/// gcc 12 prints machine-readable `fix-it:` lines on stderr under
/// `GCC_EXTRA_DIAGNOSTIC_OUTPUT=fixits-v2`. The variable was not in the key: a hit replayed the
/// stderr of a compile without it, with no fix-it lines (a review, 2026-12-05).
#[test]
fn gcc_extra_diagnostic_output_is_printed_after_a_hit_without_it() {
    require_tool("gcc", "gcc");
    let s = Space::new(&[("src/a.c", "int f(void) { printf(\"x\"); return 0; }\n")]);
    let cmd = "gcc -c {T}/src/a.c -o a.o";
    run_ok(&mut s.cn(cmd));
    run_ok(&mut s.cn(cmd));
    let var = ("GCC_EXTRA_DIAGNOSTIC_OUTPUT", "fixits-v2");
    let plain = run_ok(s.plain(cmd).env(var.0, var.1));
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("fix-it:"),
        "test setup"
    );
    let launched = run_ok(s.cn(cmd).env(var.0, var.1));
    assert_eq!(
        String::from_utf8_lossy(&launched.stderr),
        String::from_utf8_lossy(&plain.stderr)
    );
}

/// clang lists the headers it reads on stderr under `CC_PRINT_HEADERS=1` (as `-H` does). The
/// variable was not in the key: a hit after a compile without it printed no list (a review,
/// 2026-12-05).
#[test]
fn clang_print_headers_lists_the_headers_after_a_hit_without_it() {
    require_tool("clang", "clang");
    let s = Space::new(&[
        ("src/a.c", "#include \"h.h\"\nint f(void) { return H; }\n"),
        ("src/h.h", "#define H 1\n"),
    ]);
    let cmd = "clang -c {T}/src/a.c -o a.o";
    run_ok(&mut s.cn(cmd));
    run_ok(&mut s.cn(cmd));
    let plain = run_ok(s.plain(cmd).env("CC_PRINT_HEADERS", "1"));
    let launched = run_ok(s.cn(cmd).env("CC_PRINT_HEADERS", "1"));
    assert_eq!(
        String::from_utf8_lossy(&launched.stderr),
        String::from_utf8_lossy(&plain.stderr)
    );
}

/// clang's driver writes a file under `CC_LOG_DIAGNOSTICS`, `CC_PRINT_OPTIONS` and
/// `CC_PRINT_PROC_STAT` (named by their `_FILE` variables). Unlike `DEPENDENCIES_OUTPUT`
/// these were neither refused nor keyed: a hit wrote none of the files (a review, 2026-12-05).
#[test]
fn clang_log_file_variables_write_their_files_on_every_build() {
    require_tool("clang", "clang");
    let s = Space::new(&[("src/a.c", "int f(void) { int u; return 0; }\n")]);
    let cmd = "clang -Wall -c {T}/src/a.c -o a.o";
    run_ok(&mut s.cn(cmd));
    run_ok(&mut s.cn(cmd));
    let vars = [
        ("CC_LOG_DIAGNOSTICS", "1"),
        ("CC_LOG_DIAGNOSTICS_FILE", "diag.log"),
        ("CC_PRINT_OPTIONS", "1"),
        ("CC_PRINT_OPTIONS_FILE", "opts.log"),
        ("CC_PRINT_PROC_STAT", "1"),
        ("CC_PRINT_PROC_STAT_FILE", "stat.log"),
    ];
    run_ok(s.plain(cmd).envs(vars));
    assert!(s.files("plain").contains("opts.log"), "test setup");
    for launch in ["first", "second"] {
        s.clean();
        run_ok(s.cn(cmd).envs(vars));
        assert_eq!(
            s.files("obj"),
            s.files("plain"),
            "files after the {launch} launch"
        );
    }
}

/// `a/foo.h` tests `__has_include_next(<foo.h>)`: a `foo.h` created later in a directory
/// searched after `a/` makes the test true. The launcher served the object of the false branch
/// (a review, 2026-12-05), in C and in C++.
#[test]
fn has_include_next_sees_a_header_created_later() {
    let next =
        "#if __has_include_next(<foo.h>)\n#include_next <foo.h>\n#else\n#define V 1\n#endif\n";
    for cc in compilers() {
        for lang in ["c", "c++"] {
            let s = Space::new(&[
                ("src/m.c", "#include <foo.h>\nint v = V;\n"),
                ("src/a/foo.h", next),
                ("src/c/.keep", ""),
            ]);
            let cmd = format!("{cc} -x {lang} -I{{T}}/src/a -I{{T}}/src/c -c {{T}}/src/m.c -o m.o");
            run_ok(&mut s.cn(&cmd));
            run_ok(&mut s.cn(&cmd));
            s.0.write("src/c/foo.h", "#define V 2\n");
            run_ok(&mut s.cn(&cmd));
            run_ok(&mut s.plain(&cmd));
            assert!(
                s.read("obj/m.o") == s.read("plain/m.o"),
                "{cc} -x {lang}: m.o"
            );
        }
    }
}

/// The strings of an object that end in `a.c` (the `__FILE__` of `a.c`).
fn file_names(object: &[u8]) -> Vec<String> {
    object
        .split(|b| !b.is_ascii_graphic())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .filter(|w| w.ends_with("a.c"))
        .collect()
}

/// The user's own `-ffile-prefix-map` or `-fmacro-prefix-map` for the source tree sets
/// `__FILE__` (`./a.c`). The launcher appended its own maps after it (gcc takes the last
/// match, clang the longest), so `__FILE__` became `/cached-ninja/src/a.c` (a review, 2026-12-05).
#[test]
fn the_users_prefix_map_sets_file() {
    let mut cases = vec![
        "gcc -ffile-prefix-map={T}/src=.",
        "gcc -fmacro-prefix-map={T}/src=.",
    ];
    if compilers().contains(&"clang") {
        cases.push("clang -ffile-prefix-map={T}=.");
    }
    for case in cases {
        let s = Space::new(&[("src/a.c", "const char *f = __FILE__;\n")]);
        let cmd = format!("{case} -c {{T}}/src/a.c -o a.o");
        run_ok(&mut s.cn(&cmd));
        run_ok(&mut s.plain(&cmd));
        let plain = file_names(&s.read("plain/a.o"));
        assert!(
            plain.iter().any(|f| f.starts_with("./")),
            "test setup: {plain:?}"
        );
        assert_eq!(file_names(&s.read("obj/a.o")), plain, "{case}");
    }
}

/// `-Wp,-MD,a.d,-MP` is split at the commas: depfile `a.d`, and `-MP`. The launcher took
/// `a.d,-MP` for the depfile's name: `a.d` was never written and a file `a.d,-MP` appeared (a
/// review, 2026-12-05).
#[test]
fn a_depfile_named_through_wp_with_more_items_is_written_as_named() {
    for cc in compilers() {
        let s = Space::new(&[("src/a.c", "#include \"h.h\"\n"), ("src/h.h", "int x;\n")]);
        s.like_plain_twice(
            &format!("{cc} -Wp,-MD,a.d,-MP -c {{T}}/src/a.c -o a.o"),
            &["a.o", "a.d"],
        );
    }
}

/// `-o` a character device (a private copy of `/dev/null`): the compiler writes into the
/// device. The launcher stored an empty "object", and a hit replaced the device node by a
/// regular file (with `-o /dev/null` as root, the system's; a review, 2026-12-05).
#[test]
fn an_output_to_a_device_leaves_the_device() {
    use std::os::unix::fs::FileTypeExt;
    for cc in compilers() {
        let s = Space::new(&[("src/a.c", "int x;\n")]);
        let node = s.path("obj/devnull");
        let made = run(Command::new("mknod").arg(&node).args(["c", "1", "3"]));
        if !made.status.success() {
            eprintln!("skipped: mknod failed (not root?)");
            return;
        }
        for launch in ["first", "second"] {
            run_ok(&mut s.cn(&format!("{cc} -c {{T}}/src/a.c -o devnull")));
            let kind = std::fs::symlink_metadata(&node).unwrap().file_type();
            assert!(
                kind.is_char_device(),
                "{cc}: devnull after the {launch} launch"
            );
        }
    }
}

/// gcc writes the object through a symbolic link (`-o link.o`, `link.o` → `../real/x.o`)
/// while its target does not exist, and replaces the link by a regular file once it does
/// (`as` unlinks an existing output). A hit replaced a dangling link at once, leaving no
/// `real/x.o` (a review, 2026-12-05): each launch must leave what the same compile leaves in
/// a plain directory.
#[test]
fn an_object_written_through_a_symlink_ends_as_a_plain_compile_leaves_it() {
    require_tool("gcc", "gcc");
    let s = Space::new(&[
        ("real/.keep", ""),
        ("preal/.keep", ""),
        ("src/a.c", "int x;\n"),
    ]);
    let cmd = "gcc -c {T}/src/a.c -o link.o";
    // The cache holds the object: a launch that may use it would hit.
    run_ok(&mut s.cn(cmd));
    std::fs::remove_file(s.path("obj/link.o")).unwrap();
    std::os::unix::fs::symlink("../real/x.o", s.path("obj/link.o")).unwrap();
    std::os::unix::fs::symlink("../preal/x.o", s.path("plain/link.o")).unwrap();
    let is_link = |d: &str| {
        let md = std::fs::symlink_metadata(s.path(&format!("{d}/link.o"))).unwrap();
        md.file_type().is_symlink()
    };
    for launch in ["first", "second"] {
        run_ok(&mut s.cn(cmd));
        run_ok(&mut s.plain(cmd));
        assert_eq!(is_link("obj"), is_link("plain"), "{launch} launch: link.o");
        let real = std::fs::read(s.path("real/x.o")).ok();
        let plain = std::fs::read(s.path("preal/x.o")).ok();
        assert!(
            real == plain,
            "{launch} launch: real/x.o differs from plain's"
        );
    }
}

/// clang front-end and LLVM options that write files of their own: `-split-dwarf-output`
/// (the `.dwo` goes there), `-header-include-file`, LLVM's `-info-output-file`. Each was
/// cached and a hit wrote none of them (a review, 2026-12-05).
#[test]
fn clang_front_end_and_llvm_outputs_are_written_by_every_build() {
    require_tool("clang", "clang");
    for cmd in [
        "clang -gsplit-dwarf -Xclang -split-dwarf-output -Xclang z.dwo -c {T}/src/a.c -o a.o",
        "clang -H -Xclang -header-include-file -Xclang hi.txt -c {T}/src/a.c -o a.o",
        "clang -O2 -mllvm -stats -mllvm -info-output-file=info.txt -c {T}/src/a.c -o a.o",
    ] {
        let s = Space::new(&[("src/a.c", F)]);
        s.like_plain_twice(cmd, &[]);
    }
}

/// clang's `-working-directory DIR` reads the source and writes the object in DIR. The miss
/// wrote `DIR/a.o` but stored the `./a.o` an earlier build left, and the hit wrote that to
/// `./a.o` and no `DIR/a.o` (a review, 2026-12-05).
#[test]
fn clang_working_directory_writes_the_object_there() {
    require_tool("clang", "clang");
    let s = Space::new(&[
        ("w/a.c", "int f(void) { return 1; }\n"),
        ("obj/a.c", "int g(void) { return 9; }\n"),
        ("obj/a.o", "left by an earlier build"),
    ]);
    for launch in ["first", "second"] {
        let _ = std::fs::remove_file(s.path("w/a.o"));
        run_ok(&mut s.cn("clang -working-directory={T}/w -c a.c -o a.o"));
        assert!(s.path("w/a.o").is_file(), "{launch} launch: no w/a.o");
        assert_eq!(
            s.read("obj/a.o"),
            b"left by an earlier build",
            "{launch} launch"
        );
    }
}

/// `-o nodir/a.o` where `nodir` does not exist: gcc's error named the launcher's dependency
/// file beside the object instead of the object (a review, 2026-12-05). Each launch must fail
/// as the plain compile does, saying the same.
#[test]
fn an_object_in_a_missing_directory_fails_as_a_plain_compile_does() {
    for cc in compilers() {
        let s = Space::new(&[("src/a.c", F)]);
        let cmd = format!("{cc} -c {{T}}/src/a.c -o nodir/a.o");
        let plain = run(&mut s.plain(&cmd));
        assert!(!plain.status.success());
        for launch in ["first", "second"] {
            let out = run(&mut s.cn(&cmd));
            assert_eq!(out.status.code(), plain.status.code(), "{cc}, {launch}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&plain.stderr),
                "{cc}, {launch} launch"
            );
        }
    }
}

/// A warning replayed in another layout names the source as this layout spells it, coloured
/// too (`-fdiagnostics-color=always`, Meson's default): an object directory beside the
/// sources (`../src/…`) stores the warning, one inside them (`../…`) hits it. The colour
/// sequence before the path hid the relative spelling, and the hit printed `../src/a.c`, a
/// file that is not there (a review, 2026-12-05).
#[test]
fn a_coloured_warning_names_the_source_as_this_layout_spells_it() {
    for cc in compilers() {
        let t = TestSpace::new();
        let warns = "int f(void) { int unused; return 1; }\n";
        t.write("beside/src/a.c", warns);
        t.write("beside/obj/build.ninja", "");
        t.write("inside/src/obj/build.ninja", "");
        t.write("inside/src/a.c", warns);
        // (source root, object directory, the source as the object directory spells it)
        let launch = |src: &str, obj: &str, rel: &str| {
            let mut c = Command::new(cached_ninja());
            c.current_dir(t.path().join(obj))
                .env("CACHED_NINJA_CACHE_DIR", t.path().join("cache"))
                .args(["cc", "--src-root"])
                .arg(t.path().join(src))
                .args(["--", cc, "-Wall", "-fdiagnostics-color=always", "-c"])
                .arg(format!("{rel}/a.c"))
                .args(["-o", "a.o"]);
            run_ok(&mut c)
        };
        let stored = launch("beside/src", "beside/obj", "../src");
        let first = String::from_utf8_lossy(&stored.stderr);
        assert!(first.contains("../src/a.c:1"), "{cc}: {first}");
        let hit = launch("inside/src", "inside/src/obj", "..");
        let said = String::from_utf8_lossy(&hit.stderr);
        let stats = std::fs::read_to_string(t.path().join("inside/src/obj/.cached-ninja/stats"));
        let stats = stats.unwrap();
        assert!(stats.starts_with("hit"), "{cc}: not a hit: {stats}");
        assert!(said.contains("../a.c:1"), "{cc}: {said}");
        assert!(!said.contains("../src/a.c"), "{cc}: CI's spelling: {said}");
    }
}
