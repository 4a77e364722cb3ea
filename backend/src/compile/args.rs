//! The gcc/clang command-line model: which words are options, which take a value, which name
//! the source, the object, the dependency file; and what makes a command uncacheable
//! (DESIGN §3: preprocessing only, several sources, output to stdout, PCH creation, profile
//! generation; `__DATE__`/`__TIME__` are found later, in the sources).
//!
//! The model is deliberately conservative: an option we do not know stays in the key and is
//! passed on; an option that makes outputs we cannot capture makes the command uncacheable.

use super::command::replace_ext;
pub use super::command::{CompileCommand, DepOutput, SplitDwarf};
use super::phases::PREPROCESSOR_WITH_VALUE;
use super::refused;
use std::fmt;

/// Which driver family a compiler belongs to (decided from `--version`, not the file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompilerFamily {
    /// GNU gcc/g++.
    Gcc,
    /// LLVM clang/clang++.
    Clang,
}

/// Source language of the one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// C (`.c`, `-x c`).
    C,
    /// C++ (`.cc`, `.cpp`, `.cxx`, `.C`, `.c++`, `-x c++`).
    Cxx,
    /// Preprocessed C (`.i`, `-x cpp-output`).
    PreprocessedC,
    /// Preprocessed C++ (`.ii`, `-x c++-cpp-output`).
    PreprocessedCxx,
}

impl Lang {
    /// Stable name used in keys.
    pub fn name(self) -> &'static str {
        match self {
            Lang::C => "c",
            Lang::Cxx => "c++",
            Lang::PreprocessedC => "cpp-output",
            Lang::PreprocessedCxx => "c++-cpp-output",
        }
    }

    fn from_x(x: &str) -> Option<Result<Lang, Uncacheable>> {
        Some(Ok(match x {
            "none" => return None,
            "c" => Lang::C,
            "c++" => Lang::Cxx,
            "cpp-output" => Lang::PreprocessedC,
            "c++-cpp-output" => Lang::PreprocessedCxx,
            "c-header" | "c++-header" | "objective-c-header" | "objective-c++-header" => {
                return Some(Err(Uncacheable::PchCreation))
            }
            _ => return Some(Err(Uncacheable::Language)),
        }))
    }

    fn from_path(p: &str) -> Option<Result<Lang, Uncacheable>> {
        let file = p.rsplit_once('/').map_or(p, |(_, f)| f);
        let (_, ext) = file.rsplit_once('.')?;
        Some(Ok(match ext {
            "c" => Lang::C,
            "cc" | "cpp" | "cxx" | "C" | "c++" | "cp" | "CPP" => Lang::Cxx,
            "i" => Lang::PreprocessedC,
            "ii" => Lang::PreprocessedCxx,
            "h" | "hh" | "hpp" | "hxx" | "H" | "h++" | "tcc" => {
                return Some(Err(Uncacheable::PchCreation))
            }
            "m" | "mm" | "M" | "s" | "S" | "sx" | "f" | "f90" | "F" | "go" | "d" | "cu" => {
                return Some(Err(Uncacheable::Language))
            }
            _ => return None,
        }))
    }
}

/// Why a command runs unchanged, without the cache. Each variant is a stats counter name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uncacheable {
    /// No `-c`: linking, or another mode.
    NotCompiling,
    /// `-E`, `-M`/`-MM` without `-MD`, `-S`, `-fsyntax-only`.
    PreprocessOnly,
    /// Zero or several source files.
    SourceCount,
    /// `-o -` or a source from stdin.
    Stdio,
    /// A header as input or `-x *-header`.
    PchCreation,
    /// `-fprofile-generate`, `--coverage`, …
    ProfileGeneration,
    /// A language we do not model (assembler, Objective-C, Fortran, …).
    Language,
    /// An option whose effect on outputs we do not capture (`-save-temps`, `-MG`, …).
    Option(String),
    /// Arguments that are not UTF-8 or a response file that cannot be expanded.
    Arguments(String),
}

impl fmt::Display for Uncacheable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uncacheable::NotCompiling => f.write_str("not a compile (-c missing)"),
            Uncacheable::PreprocessOnly => f.write_str("preprocessing or syntax check only"),
            Uncacheable::SourceCount => f.write_str("not exactly one source file"),
            Uncacheable::Stdio => f.write_str("input or output is stdin/stdout"),
            Uncacheable::PchCreation => f.write_str("precompiled header creation"),
            Uncacheable::ProfileGeneration => f.write_str("profile generation or coverage"),
            Uncacheable::Language => f.write_str("language not cached"),
            Uncacheable::Option(o) => write!(f, "option {o}"),
            Uncacheable::Arguments(e) => write!(f, "arguments: {e}"),
        }
    }
}

/// Options whose value is the next word when not joined (`-o out`, …), besides the
/// preprocessor's (`-I dir`, …: `super::phases`).
const SEPARATE_VALUE: &[&str] = &[
    "-o",
    "-x",
    "--language",
    "-MF",
    "-MT",
    "-MQ",
    "-Xassembler",
    "-Xlinker",
    "-Xclang",
    "-L",
    "-l",
    "-aux-info",
    "--param",
    "-target",
    "-arch",
    "-B",
    "-u",
    "-T",
    "-z",
    "-e",
    "-G",
    "--sysroot",
    "-mllvm",
    "-ivfsoverlay",
    "-include-pch",
    "-Xanalyzer",
    "-Xcuda-ptxas",
    "-Xopenmp-target",
    "--serialize-diagnostics",
    "-dependency-file",
    "-MJ",
    "-specs",
    "--specs",
    "--prefix",
    "--config",
    "--output",
    "-wrapper",
    "-objc-isystem",
    "-objcxx-isystem",
];

/// clang options that start with `-o` but are not the output (clang matches the longest known
/// option name first; gcc has none of these and takes `-objX` as `-o bjX`).
fn clang_o_option(a: &str) -> bool {
    a.starts_with("-objcmt-")
        || a == "-object"
        || a.starts_with("-object-file-name")
        || a.starts_with("-objc-isystem")
        || a.starts_with("-objcxx-isystem")
}

/// The value of option `opt` joined to the word `a`: after `=` for a long option
/// (`--include=F`), else right after the name (`-includeF`, `-I=dir`) unless that is empty or
/// starts with `-` (another option sharing the prefix, such as `-include-pch`).
pub(super) fn joined_value<'a>(a: &'a str, opt: &str) -> Option<&'a str> {
    let rest = a.strip_prefix(opt)?;
    match opt.starts_with("--") {
        true => rest.strip_prefix('='),
        false => Some(rest).filter(|v| !v.is_empty() && !v.starts_with('-')),
    }
}

/// Whether `word` names another compiler cache (`ccache`, `sccache`, by any path), whose
/// prefix on a command is dropped: the one place that decides it.
pub fn is_wrapper(word: &str) -> bool {
    matches!(word.rsplit('/').next(), Some("ccache" | "sccache"))
}

/// The words a `ccache`/`sccache` prefix leaves (every such leading word dropped).
pub fn drop_wrapper(words: &[String]) -> &[String] {
    let n = words.iter().take_while(|w| is_wrapper(w)).count();
    &words[n..]
}

/// Parses a compiler command (the compiler program first). Response files must already be
/// expanded (see [`super::rsp::expand`]); `family` decides the few options whose meaning
/// differs between gcc and clang.
pub fn parse(words: &[String], family: CompilerFamily) -> Result<CompileCommand, Uncacheable> {
    let words = drop_wrapper(words);
    let Some((compiler, rest)) = words.split_first() else {
        return Err(Uncacheable::Arguments("empty command".into()));
    };
    let mut args: Vec<String> = Vec::with_capacity(rest.len());
    let mut compiling = false;
    let mut output: Option<String> = None;
    let mut lang_x: Option<Lang> = None;
    let mut sources: Vec<(usize, String, Option<Lang>)> = Vec::new();
    let mut dep_on = false;
    let mut dep_file: Option<String> = None;
    let mut targets: Vec<String> = Vec::new();
    let mut phony = false;
    let mut split = SplitDwarf::Off;
    let mut compile_only: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        let next = rest.get(i + 1).map(String::as_str);
        // Dependency-file options leave the key (DESIGN §3).
        match a {
            "-MD" | "-MMD" => {
                dep_on = true;
                i += 1;
                continue;
            }
            "-MP" => {
                phony = true;
                i += 1;
                continue;
            }
            "-MF" | "-MT" | "-MQ" => {
                let Some(v) = next else {
                    return Err(Uncacheable::Arguments(format!("{a} without a value")));
                };
                match a {
                    "-MF" => dep_file = Some(v.to_string()),
                    "-MT" => targets.push(v.to_string()),
                    _ => targets.push(quote_make(v)),
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        if let Some(v) = a.strip_prefix("-MF").filter(|v| !v.is_empty()) {
            dep_file = Some(v.to_string());
            i += 1;
            continue;
        }
        if let Some(v) = a.strip_prefix("-MT").filter(|v| !v.is_empty()) {
            targets.push(v.to_string());
            i += 1;
            continue;
        }
        if let Some(v) = a.strip_prefix("-MQ").filter(|v| !v.is_empty()) {
            targets.push(quote_make(v));
            i += 1;
            continue;
        }
        if let Some(v) = a
            .strip_prefix("-Wp,-MD,")
            .or_else(|| a.strip_prefix("-Wp,-MMD,"))
        {
            // More items after the file (`-Wp,-MD,a.d,-MP`) go to the preprocessor too.
            if v.contains(',') {
                let why = format!("{a} (preprocessor items after the dependency file)");
                return Err(Uncacheable::Option(why));
            }
            dep_on = true;
            dep_file = Some(v.to_string());
            i += 1;
            continue;
        }
        if let Some(r) = refused::option(a, next) {
            return Err(r);
        }
        if a == "-c" {
            compiling = true;
            compile_only.push(args.len());
        } else if a == "-" {
            return Err(Uncacheable::Stdio);
        } else if a == "-o"
            || (a.starts_with("-o")
                && a.len() > 2
                && !(family == CompilerFamily::Clang && clang_o_option(a)))
        {
            let v = if a == "-o" { next } else { Some(&a[2..]) };
            let Some(v) = v else {
                return Err(Uncacheable::Arguments("-o without a value".into()));
            };
            if v == "-" {
                return Err(Uncacheable::Stdio);
            }
            // An empty name is no place to put an object (found by the fuzzer).
            if v.is_empty() {
                return Err(Uncacheable::Arguments("-o with an empty file name".into()));
            }
            output = Some(v.to_string());
            compile_only.push(args.len());
            if a == "-o" {
                compile_only.push(args.len() + 1);
            }
        } else if a == "-x"
            || (a.starts_with("-x") && a.len() > 2)
            || a == "--language"
            || a.starts_with("--language=")
        {
            // `--language` is `-x` spelled long.
            let v = match a.strip_prefix("--language=") {
                Some(v) => v,
                None if a == "-x" || a == "--language" => next.unwrap_or(""),
                None => &a[2..],
            };
            lang_x = match Lang::from_x(v) {
                None => None,
                Some(Ok(l)) => Some(l),
                Some(Err(e)) => return Err(e),
            };
        } else if a.starts_with("-gsplit-dwarf") || a == "-gno-split-dwarf" {
            compile_only.push(args.len());
            split = match a {
                "-gno-split-dwarf" => SplitDwarf::Off,
                "-gsplit-dwarf=single" => SplitDwarf::Single,
                "-gsplit-dwarf" | "-gsplit-dwarf=split" => SplitDwarf::Separate,
                _ => return Err(Uncacheable::Option(a.to_string())),
            };
        } else if !a.starts_with('-') || a.len() == 1 {
            // An empty word names no file (found by the fuzzer).
            if a.is_empty() {
                return Err(Uncacheable::Arguments("an empty file name".into()));
            }
            let lang = match lang_x {
                Some(l) => Some(l),
                None => match Lang::from_path(a) {
                    Some(Ok(l)) => Some(l),
                    Some(Err(e)) => return Err(e),
                    None => None,
                },
            };
            sources.push((args.len(), a.to_string(), lang));
        }
        args.push(a.to_string());
        // An option with a separate value: copy the value too, so it is never taken for a source.
        if SEPARATE_VALUE.contains(&a) || PREPROCESSOR_WITH_VALUE.contains(&a) {
            if let Some(v) = next {
                if let Some(r) = refused::passed_on(a, v) {
                    return Err(r);
                }
                args.push(v.to_string());
                i += 1;
            }
        }
        i += 1;
    }
    if !compiling {
        return Err(Uncacheable::NotCompiling);
    }
    let [(source_index, source, lang)] =
        <[_; 1]>::try_from(sources).map_err(|_| Uncacheable::SourceCount)?;
    let Some(lang) = lang else {
        return Err(Uncacheable::Language);
    };
    if family == CompilerFamily::Gcc && split == SplitDwarf::Single {
        return Err(Uncacheable::Option("-gsplit-dwarf=single".into()));
    }
    if let Some(r) = refused::for_compiler(&args, family, &split) {
        return Err(r);
    }
    let output = output.unwrap_or_else(|| {
        let file = source.rsplit('/').next().unwrap_or(&source);
        replace_ext(file, "o")
    });
    let dep = dep_on.then(|| DepOutput {
        path: dep_file.unwrap_or_else(|| replace_ext(&output, "d")),
        targets,
        phony,
    });
    Ok(CompileCommand {
        compiler: compiler.clone(),
        args,
        source_index,
        source,
        output,
        lang,
        dep,
        split_dwarf: split,
        compile_only,
    })
}

/// Quotes a target for Make like `-MQ` does: `$` doubles, blanks and `#` get a backslash.
pub fn quote_make(t: &str) -> String {
    let mut s = String::with_capacity(t.len());
    push_quoted_make(&mut s, t);
    s
}

/// Appends [`quote_make`]'s quoting of `t` to `out`.
pub fn push_quoted_make(out: &mut String, t: &str) {
    // Most paths need no quoting (a hit writes hundreds of them into its depfile).
    if !t.bytes().any(|b| matches!(b, b'$' | b' ' | b'\t' | b'#')) {
        out.push_str(t);
        return;
    }
    // Backslashes right before a blank or `#` are doubled (the reader halves them there).
    let mut backslashes = 0;
    for c in t.chars() {
        match c {
            '\\' => {
                backslashes += 1;
                continue;
            }
            ' ' | '\t' | '#' => {
                out.extend(std::iter::repeat_n('\\', 2 * backslashes + 1));
                out.push(c);
            }
            '$' => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push_str("$$");
            }
            c => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
            }
        }
        backslashes = 0;
    }
    out.extend(std::iter::repeat_n('\\', backslashes));
}

#[cfg(test)]
mod tests {
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
        let c =
            ok("gcc -MD -MF a.d -MT a.o -Ia -c -o out/a.o a.c -gsplit-dwarf -DX=-o -include -o.h");
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
}
