//! The command-line model's tests.

use super::*;

fn w(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn ok(s: &str) -> CompileCommand {
    parse(&w(s), CompilerFamily::Gcc).unwrap()
}

#[test]
fn what_the_launcher_asks_of_a_command() {
    let c = ok(
        "clang -c a.c -o a.o -DX=__TIME__ -D Y=1 -DZ --define-macro=W=2 \
                --sysroot=/sr -isysroot /isr -target aarch64 -mllvm -foo -m32 -I inc",
    );
    assert_eq!(c.macro_values(), ["__TIME__", "1", "2"]);
    assert_eq!(c.sysroots(), ["/sr", "/isr"]);
    assert_eq!(
        c.toolchain_words(),
        [
            "--sysroot=/sr",
            "-isysroot",
            "/isr",
            "-target",
            "aarch64",
            "-mllvm",
            "-foo",
            "-m32"
        ]
    );
}

#[test]
fn cmake_style_command() {
    let c = ok("/usr/bin/cc -DGIT_X=1 -I/src/include -isystem /src/deps -g -MD -MT obj/a.c.o -MF obj/a.c.o.d -o obj/a.c.o -c /src/a.c");
    assert_eq!(c.source, "/src/a.c");
    assert_eq!(c.output, "obj/a.c.o");
    assert_eq!(c.lang, Lang::C);
    assert_eq!(
        c.dep,
        Some(DepOutput {
            path: "obj/a.c.o.d".into(),
            targets: vec!["obj/a.c.o".into()],
            phony: false
        })
    );
    assert_eq!(
        c.args,
        w("-DGIT_X=1 -I/src/include -isystem /src/deps -g -o obj/a.c.o -c /src/a.c")
    );
    assert_eq!(c.args[c.source_index], "/src/a.c");
}

#[test]
fn wrapper_and_defaults() {
    let c = ok("ccache g++ -c x/y.cpp -MMD -MP -MQ $out");
    assert_eq!(c.compiler, "g++");
    assert_eq!(c.output, "y.o");
    assert_eq!(c.lang, Lang::Cxx);
    let d = c.dep.unwrap();
    assert_eq!(d.path, "y.d");
    assert_eq!(d.targets, vec!["$$out"]);
    assert!(d.phony);
    let c = ok("gcc -c -x c++ a.c -ofoo.o -Wp,-MD,foo.d");
    assert_eq!(c.lang, Lang::Cxx);
    assert_eq!(c.output, "foo.o");
    assert_eq!(c.dep.unwrap().path, "foo.d");
}

#[test]
fn split_dwarf() {
    let c = ok("gcc -c a.c -o o/a.o -g -gsplit-dwarf");
    assert_eq!(c.dwo_path().as_deref(), Some("o/a.dwo"));
    let c = parse(
        &w("clang -c a.c -g -gsplit-dwarf=single"),
        CompilerFamily::Clang,
    )
    .unwrap();
    assert_eq!(c.split_dwarf, SplitDwarf::Single);
    assert_eq!(c.dwo_path(), None);
    assert!(parse(&w("gcc -c a.c -gsplit-dwarf=single"), CompilerFamily::Gcc).is_err());
}

#[test]
fn preprocessor_args() {
    let c = ok("gcc -MD -MF a.d -MT a.o -Ia -c -o out/a.o a.c -gsplit-dwarf -DX=-o -include -o.h");
    assert_eq!(
        c.preprocessor_args(),
        w("-Ia a.c -DX=-o -include -o.h"),
        "output, -c and split DWARF go; values that look like -o stay"
    );
    let c = ok("gcc -c a.c -ofoo.o");
    assert_eq!(c.preprocessor_args(), w("a.c"));
    // clang's -objcmt-… and -objc-isystem are not the output; for gcc -objX is -o bjX.
    let clang = |s: &str| parse(&w(s), CompilerFamily::Clang).unwrap();
    let c = clang("clang -c a.c -objcmt-migrate-literals -objc-isystem inc -o a.o");
    assert_eq!(c.output, "a.o");
    assert_eq!(c.source, "a.c");
    assert_eq!(
        c.preprocessor_args(),
        w("a.c -objcmt-migrate-literals -objc-isystem inc")
    );
    assert_eq!(clang("clang -c a.c -objcmt-migrate-all").output, "a.o");
    assert_eq!(ok("gcc -c a.c -objx").output, "bjx");
}

#[test]
fn uncacheable() {
    let e = |s: &str| parse(&w(s), CompilerFamily::Gcc).unwrap_err();
    assert_eq!(e("gcc a.c -o a"), Uncacheable::NotCompiling);
    assert_eq!(e("gcc -E -c a.c"), Uncacheable::PreprocessOnly);
    assert_eq!(e("gcc -c a.c b.c"), Uncacheable::SourceCount);
    assert_eq!(e("gcc -c a.c -o -"), Uncacheable::Stdio);
    let empty = parse(
        &[
            "gcc".into(),
            "-c".into(),
            "a.c".into(),
            "-o".into(),
            String::new(),
        ],
        CompilerFamily::Gcc,
    );
    assert!(matches!(empty, Err(Uncacheable::Arguments(_))), "{empty:?}");
    let words = ["gcc", "-xc", "", "-c"].map(String::from);
    let empty_source = parse(&words, CompilerFamily::Gcc);
    assert!(
        matches!(empty_source, Err(Uncacheable::Arguments(_))),
        "{empty_source:?}"
    );
    assert_eq!(e("gcc -c a.h"), Uncacheable::PchCreation);
    assert_eq!(e("gcc -c -x c-header a"), Uncacheable::PchCreation);
    assert_eq!(e("gcc -c a.c --coverage"), Uncacheable::ProfileGeneration);
    assert_eq!(e("gcc -c a.s"), Uncacheable::Language);
    assert_eq!(
        e("clang -c --language=objective-c a.c"),
        Uncacheable::Language
    );
    assert_eq!(
        e("clang -c --language objective-c a.c"),
        Uncacheable::Language
    );
    assert_eq!(e("clang -c -ObjC a.c"), Uncacheable::Language);
    assert_eq!(ok("gcc -c --language=c a.x").source, "a.x");
    assert_eq!(
        e("gcc -c a.c -save-temps"),
        Uncacheable::Option("-save-temps".into())
    );
    // A value of a separate-value option is never a source.
    assert_eq!(ok("gcc -c -include pre.h -I inc a.c").source, "a.c");
    assert_eq!(
        ok("gcc -c -include pre.h -includeb.h a.c").forced_includes(),
        vec!["pre.h", "b.h"]
    );
    let all = ok("gcc -c --include=c.h -imacrosm.h -imacros n.h --imacros=o.h -includeb.h a.c");
    assert_eq!(all.forced_includes(), vec!["c.h", "b.h"]);
    assert_eq!(all.forced_reads(), vec!["c.h", "m.h", "n.h", "o.h", "b.h"]);
    assert_eq!(
        e("gcc -c a.c -include-pch p.pch"),
        Uncacheable::Option("-include-pch".into())
    );
}
