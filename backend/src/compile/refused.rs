//! Command lines the compile model refuses to cache: options whose effect on the outputs the
//! key cannot capture (an input it does not hash, an output a hit would not write, a search
//! the lookup rule does not model). Such a command runs as it is; a reason names the option.
//! Reviews that drove the launcher with real gcc and clang found each family by a wrong hit
//! or a lost output (2026-12-05).

use super::args::{joined_value, CompilerFamily, SplitDwarf, Uncacheable};

/// Why the word `a` (followed by `next`) makes a command uncacheable, if it does.
pub(super) fn option(a: &str, next: Option<&str>) -> Option<Uncacheable> {
    unsupported(a)
        .or_else(|| unkeyed_file(a))
        .or_else(|| extra_output(a))
        .or_else(|| sysroot_relative_dir(a, next))
        .or_else(|| unmodelled_search_option(a, next))
}

/// Why `v`, passed on by `x` (`-Xclang`, `-Xassembler`, `-mllvm`, …), makes a command
/// uncacheable.
pub(super) fn passed_on(x: &str, v: &str) -> Option<Uncacheable> {
    if !x.starts_with("-X") && x != "-mllvm" {
        return None;
    }
    let why = |what: &str| Some(Uncacheable::Option(format!("{x} {v} ({what})")));
    match x {
        // An options file, a listing or a dependency file of the assembler's own.
        "-Xassembler" if assembler_item(v).is_some() => {
            why("an assembler input or output the key does not cover")
        }
        "-Xclang" if clang_frontend_unmodelled(v) => {
            why("a file or search of clang's front end the key does not cover")
        }
        "-Xclang" if clang_frontend_output(v) => why("an output a hit would not write"),
        _ => unsupported(v)
            .or_else(|| unkeyed_file(v))
            .or_else(|| extra_output(v)),
    }
}

/// Combinations one compiler embeds this machine's paths for, whatever the prefix maps: gcc
/// keeps the source paths as written in a `.dwo`'s macro information (`-g3` with split
/// DWARF), and clang records the whole command line, with the launcher's absolute maps, in
/// `DW_AT_producer` (`-grecord-gcc-switches`). A review served another tree's paths through
/// both (2026-12-05).
pub(super) fn for_compiler(
    args: &[String],
    family: CompilerFamily,
    split: &SplitDwarf,
) -> Option<Uncacheable> {
    let has = |w: &[&str]| args.iter().find(|a| w.contains(&a.as_str()));
    let why = |a: &String, what: &str| Uncacheable::Option(format!("{a} ({what})"));
    match family {
        CompilerFamily::Gcc if *split != SplitDwarf::Off => {
            has(&["-g3", "-ggdb3"]).map(|a| why(a, "gcc keeps source paths in the .dwo's macros"))
        }
        CompilerFamily::Clang => has(&["-grecord-gcc-switches", "-grecord-command-line"])
            .map(|a| why(a, "clang records this machine's paths")),
        _ => None,
    }
}

/// clang front-end options (after `-Xclang`) that name files or directories the key does
/// not hash or the lookup rule does not search: every include-path and forced-include option
/// (`-iquote`, `-internal-isystem`, `-include`, …), plugins, profiles, modules, VFS overlays
/// and the coverage and section lists.
fn clang_frontend_unmodelled(v: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "-i",
        "-I",
        "-c-isystem",
        "-cxx-isystem",
        "-F",
        "-load",
        "-fprofile-instrument",
        "-fmodule",
        "-fsanitize-coverage-",
    ];
    PREFIXES.iter().any(|p| v.starts_with(p)) || v.starts_with("-fbasic-block-sections=list")
}

/// clang front-end options (after `-Xclang`) that write a file besides the object, or move
/// it: a hit would write none of them (a review found each lost, 2026-12-05).
fn clang_frontend_output(v: &str) -> bool {
    const NAMES: [&str; 14] = [
        "-o",
        "-dependency-file",
        "-dependency-dot",
        "-header-include-file",
        "-stats-file",
        "-opt-record-file",
        "-module-dependency-dir",
        "-diagnostic-log-file",
        "-serialize-diagnostic-file",
        "-split-dwarf-file",
        "-split-dwarf-output",
        "-coverage-notes-file",
        "-coverage-data-file",
        "-ftime-trace",
    ];
    NAMES.iter().any(|n| {
        v.strip_prefix(n)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
    })
}

/// Options naming a file or a program directory whose contents the key does not hash: spec
/// files, the directories the driver finds `cc1` and `as` in, assembler option files, VFS
/// overlays, module files and maps, clang's configuration files (options read from a file),
/// and clang's coverage, section and profile lists (clang 14 does not name these in the
/// dependency file).
fn unkeyed_file(a: &str) -> Option<Uncacheable> {
    const PREFIXES: [&str; 15] = [
        "--specs",
        "--config",
        "-B",
        "--prefix",
        "-ivfsoverlay",
        "-fmodule",
        "-fsanitize-coverage-ignorelist",
        "-fsanitize-coverage-allowlist",
        "-fsanitize-coverage-blocklist",
        "-fsanitize-coverage-whitelist",
        "-fsanitize-coverage-blacklist",
        "-fprofile-list",
        "-fbasic-block-sections=list",
        "-fprofile-remapping-file",
        "-fsanitize-system-ignorelist",
    ];
    let named = PREFIXES.iter().find(|p| a.starts_with(**p));
    let at_file = assembler_items(a).any(|i| assembler_item(i) == Some(AsmItem::OptionsFile));
    named
        .map(|p| format!("{a}: {p} names a file the key does not hash"))
        .or_else(|| {
            at_file.then(|| format!("{a}: an assembler options file the key does not hash"))
        })
        .map(Uncacheable::Option)
}

/// Options that make an output a hit would not write: assembler listings and dependency
/// files, optimisation reports and records, statistics, and auxiliary declarations.
fn extra_output(a: &str) -> Option<Uncacheable> {
    let listing = assembler_items(a).any(|i| assembler_item(i) == Some(AsmItem::Output));
    let named = [
        "-aux-info",
        // LLVM's own (after `-mllvm`): its statistics and timers go to this file.
        "-info-output-file",
        "-fsave-optimization-record",
        "-foptimization-record-file",
        "-fproc-stat-report",
        "-save-stats",
        "-fdiagnostics-format=sarif-file",
        "-fdiagnostics-format=json-file",
    ]
    .iter()
    .any(|p| a.starts_with(p));
    let report = a.starts_with("-fopt-info") && a.contains('=');
    (listing || named || report)
        .then(|| Uncacheable::Option(format!("{a} (an output a hit would not write)")))
}

/// What an assembler option (an item of `-Wa,`, or after `-Xassembler`) does that the key
/// cannot follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AsmItem {
    /// `@file`: options read from a file.
    OptionsFile,
    /// `-a…` (a listing) or `--MD`/`-MD` (a dependency file): an output a hit would not write.
    Output,
}

/// What the assembler option `i` does that the key cannot follow, if anything.
fn assembler_item(i: &str) -> Option<AsmItem> {
    if i.starts_with('@') {
        Some(AsmItem::OptionsFile)
    } else if i.starts_with("-a") || i.starts_with("--MD") || i.starts_with("-MD") {
        Some(AsmItem::Output)
    } else {
        None
    }
}

/// The comma-separated items of a `-Wa,` option (none for any other word).
fn assembler_items(a: &str) -> impl Iterator<Item = &str> {
    a.strip_prefix("-Wa,")
        .into_iter()
        .flat_map(|r| r.split(','))
}

/// Options (by exact word or `word=`/prefix) that make outputs we do not capture or inputs we do
/// not hash.
fn unsupported(a: &str) -> Option<Uncacheable> {
    let opt = |s: &str| Some(Uncacheable::Option(s.to_string()));
    if a == "-E" || a == "-M" || a == "-MM" || a == "-S" || a == "-fsyntax-only" {
        return Some(Uncacheable::PreprocessOnly);
    }
    // Objective-C by clang's switch (its headers and runtime are not modelled).
    if a == "-ObjC" || a == "-ObjC++" {
        return Some(Uncacheable::Language);
    }
    // The driver prints what it would run, and runs nothing.
    if a == "-###" {
        return Some(Uncacheable::NotCompiling);
    }
    // clang resolves the source, the output and every relative path from another directory
    // (a review found the miss's object elsewhere and an unrelated one stored, 2026-12-05).
    if a.starts_with("-working-directory") {
        return opt(a);
    }
    if a == "--coverage"
        || a == "-coverage"
        || a == "-ftest-coverage"
        || a == "-fprofile-arcs"
        || a.starts_with("-fprofile-generate")
        || a.starts_with("-fprofile-instr-generate")
        || a.starts_with("-fcs-profile-generate")
        || a.starts_with("-fprofile-use")
        || a.starts_with("-fprofile-instr-use")
        || a.starts_with("-fprofile-sample-use")
        || a.starts_with("-fauto-profile")
        // These read the `.gcda` of an earlier run, which the key does not hash.
        || a == "-fbranch-probabilities"
        || a == "-fprofile-values"
        || a == "-fprofile-reorder-functions"
        || a == "-fprofile-partial-training"
    {
        return Some(Uncacheable::ProfileGeneration);
    }
    if a == "-MG"
        || a.starts_with("-save-temps")
        || a.starts_with("--save-temps")
        || a.starts_with("--write-dependencies")
        || a.starts_with("--write-user-dependencies")
        || a == "--output"
        || a.starts_with("--output=")
        || debug_dump(a)
        || a.starts_with("-fplugin")
        || a == "-frecord-gcc-switches"
        || a.starts_with("-fdump-")
        || a == "-emit-pch"
        || a == "-fpch-preprocess"
        || a == "-ftime-report"
        || a.starts_with("-ftime-trace")
        || a.starts_with("-fstack-usage")
        || a.starts_with("-fcallgraph-info")
        || a.starts_with("-specs")
        || a == "-wrapper"
        || a.starts_with("--serialize-diagnostics")
        || a.starts_with("-MJ")
        // clang embeds the cc1 command line (with this machine's paths) or unmapped bitcode.
        || a.starts_with("-fembed-bitcode")
        || a.starts_with("-include-pch")
    {
        return opt(a);
    }
    None
}

/// gcc's `-d<letters>` debugging dumps (`-da`, `-dr`, …: files beside the output a hit would
/// not write); not `-dump…`, which the model reads elsewhere.
fn debug_dump(a: &str) -> bool {
    a.strip_prefix("-d").is_some_and(|l| {
        !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphabetic()) && !l.starts_with("ump")
    }) && a != "-dynamic"
}

/// An include directory named below the sysroot (`-I=/inc`, `-isystem $SYSROOT/inc`, joined
/// or not): gcc searches `<sysroot>/inc`, a place the launcher's model of the search order
/// (its lookup rule) does not know, so a header added there later would go unseen and the old
/// object be served. Not cacheable: such a compile runs as it is.
fn sysroot_relative_dir(a: &str, next: Option<&str>) -> Option<Uncacheable> {
    const DIRS: [&str; 6] = [
        "-I",
        "-isystem",
        "-iquote",
        "-idirafter",
        "--include-directory",
        "--include-directory-after",
    ];
    DIRS.iter().find_map(|&opt| {
        // `--include-directory=dir`; in `-I=dir` the `=` is the sysroot's.
        let value = if a == opt {
            next?
        } else {
            joined_value(a, opt)?
        };
        (value.starts_with('=') || value.starts_with("$SYSROOT"))
            .then(|| Uncacheable::Option(format!("{opt} {value} (below the sysroot)")))
    })
}

/// Options that change where the preprocessor looks for headers in ways the launcher's model
/// of the search order (its lookup rule) does not follow, so a header added there later could
/// go unseen and the old object be served (a review found each by a wrong hit, 2026-12-05):
/// search options passed through `-Wp,` or `-Xpreprocessor` (gcc searches them after every
/// driver `-I`), clang's language-specific and framework directories, and the long forms of
/// the `-iprefix` family. Not cacheable: such a compile runs as it is.
fn unmodelled_search_option(a: &str, next: Option<&str>) -> Option<Uncacheable> {
    let searches = |o: &str| {
        o.starts_with("-I")
            || o.starts_with("-i")
            || o.starts_with("--include")
            || o.starts_with("-nostdinc")
            || o.starts_with("--sysroot")
    };
    let passed = match a {
        "-Xpreprocessor" => next.filter(|o| searches(o)),
        _ => a
            .strip_prefix("-Wp,")
            .filter(|rest| rest.split(',').any(searches)),
    };
    // (`-objc-isystem` and `-objcxx-isystem` matter to Objective-C only, which is not cached.)
    const UNMODELLED: [&str; 11] = [
        "-cxx-isystem",
        "-c-isystem",
        "-isystem-after",
        "-iframework",
        "-iwithsysroot",
        "-F",
        "--embed-dir",
        "--include-prefix",
        "--include-with-prefix",
        "--include-with-prefix-before",
        "--include-with-prefix-after",
    ];
    let named = UNMODELLED.iter().find(|o| a.starts_with(*o));
    passed.or(named.copied()).map(|o| {
        Uncacheable::Option(format!(
            "{a}: {o} (a search the lookup rule does not model)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::super::args::{parse, CompileCommand, CompilerFamily, Uncacheable};

    /// gcc's parse of `gcc <first> -c a.c -o a.o <extra>`.
    fn parse_gcc(first: &[&str], extra: &[&str]) -> Result<CompileCommand, Uncacheable> {
        let mut w: Vec<String> = vec!["gcc".into()];
        w.extend(first.iter().map(|s| s.to_string()));
        w.extend(["-c", "a.c", "-o", "a.o"].map(String::from));
        w.extend(extra.iter().map(|s| s.to_string()));
        parse(&w, CompilerFamily::Gcc)
    }

    /// Asserts that each of `forms`, after `first`, is refused as an option whose reason
    /// names `why`.
    fn assert_refused(first: &[&str], forms: &[&[&str]], why: &str) {
        for extra in forms {
            match parse_gcc(first, extra) {
                Err(Uncacheable::Option(o)) => assert!(o.contains(why), "{o}"),
                other => panic!("{extra:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn search_options_the_lookup_rule_does_not_model_are_not_cacheable() {
        let forms = [
            &["-Wp,-I../a"][..],
            &["-Wp,-DX,-isystem,/s"],
            &["-Xpreprocessor", "-I../a"],
            &["-Xpreprocessor", "-include", "-Xpreprocessor", "h.h"],
            &["-cxx-isystem../a"],
            &["-cxx-isystem", "../a"],
            &["-iframework", "/f"],
            &["-F/f"],
            &["--include-prefix=../", "--include-with-prefix-before=a"],
        ];
        assert_refused(&[], &forms, "does not model");
        // Macros through the same doors stay cacheable.
        for extra in [&["-Wp,-DX=1"][..], &["-Xpreprocessor", "-DX"]] {
            assert!(parse_gcc(&[], extra).is_ok(), "{extra:?}");
        }
    }

    #[test]
    fn include_directories_below_the_sysroot_are_not_cacheable() {
        let forms = [
            &["-I=/inc"][..],
            &["-I", "=/inc"],
            &["-isystem$SYSROOT/inc"],
            &["-isystem", "$SYSROOT/inc"],
            &["-iquote=inc"],
            &["-idirafter", "=/late"],
            &["--include-directory==/inc"],
            &["--include-directory-after", "=/inc"],
        ];
        assert_refused(&["--sysroot=/sr"], &forms, "sysroot");
        // Directories that merely contain `=` or `$` elsewhere, and the sysroot itself, are fine.
        for extra in [&["-Iinc=x"][..], &["-I", "a$SYSROOT"], &["-isysroot", "=x"]] {
            assert!(parse_gcc(&["--sysroot=/sr"], extra).is_ok(), "{extra:?}");
        }
    }

    #[test]
    fn files_and_programs_the_key_does_not_hash_are_not_cacheable() {
        let forms = [
            &["--specs=my.specs"][..],
            &["--specs", "my.specs"],
            &["--config", "my.cfg"],
            &["-Btools/"],
            &["-B", "tools/"],
            &["--prefix=tools/"],
            &["-Wa,-g,@asm.opts"],
            &["-ivfsoverlay", "o.yaml"],
            &["-fsanitize-coverage-ignorelist=l.txt"],
            &["-fbasic-block-sections=list=s.txt"],
            &["-fmodules"],
        ];
        assert_refused(&[], &forms, "");
        let passed = [
            &["-Xassembler", "@asm.opts"][..],
            &["-Xclang", "-iquote", "-Xclang", "q"],
            &["-Xclang", "-internal-isystem", "-Xclang", "s"],
            &["-Xclang", "-fprofile-instrument-use-path=p.profdata"],
            &["-Xclang", "-load", "-Xclang", "plugin.so"],
        ];
        assert_refused(&[], &passed, "-X");
        for profile in ["-fbranch-probabilities", "-fprofile-values"] {
            assert_eq!(
                parse_gcc(&[profile], &[]).unwrap_err(),
                Uncacheable::ProfileGeneration
            );
        }
        assert_eq!(
            parse_gcc(&["-###"], &[]).unwrap_err(),
            Uncacheable::NotCompiling
        );
        // clang plugins built into the compiler, and assembler flags, stay cacheable.
        for extra in [
            &["-Xclang", "-add-plugin", "-Xclang", "find-bad-constructs"][..],
            &["-Wa,--noexecstack"],
            &["-Xassembler", "--noexecstack"],
        ] {
            assert!(parse_gcc(&[], extra).is_ok(), "{extra:?}");
        }
    }

    #[test]
    fn outputs_a_hit_would_not_write_are_not_cacheable() {
        let forms = [
            &["-Wa,-adhln=main.lst"][..],
            &["-Wa,--noexecstack,-alm=x.lst"],
            &["-Wa,--MD,asd.d"],
            &["-Wa,-MD,asd.d"],
            &["-Xassembler", "-adhln=main.lst"],
            &["-fopt-info-all=oi.txt"],
            &["-aux-info", "aux.txt"],
            &["-fsave-optimization-record"],
            &["-fproc-stat-report=stat.csv"],
            &["-save-stats"],
            &["--save-temps"],
            &["--write-dependencies"],
            &["--write-user-dependencies"],
            &["--output=b.o"],
            &["--output", "b.o"],
            &["-da"],
            &["-dr"],
            &["-MJcdb.json"],
            &["-Wp,-MD,a.d,-MP"],
            &["-fembed-bitcode=marker"],
            &["-mllvm", "-info-output-file=timers.txt"],
            &["-working-directory=elsewhere"],
            &["-working-directory", "elsewhere"],
        ];
        assert_refused(&[], &forms, "");
        let front_end = [
            &["-Xclang", "-split-dwarf-output", "-Xclang", "z.dwo"][..],
            &["-Xclang", "-dependency-dot", "-Xclang", "d.dot"],
            &["-Xclang", "-header-include-file", "-Xclang", "h.txt"],
            &["-Xclang", "-stats-file=s.json"],
            &["-Xclang", "-serialize-diagnostic-file", "-Xclang", "d.dia"],
            &["-Xclang", "-o", "-Xclang", "elsewhere.o"],
        ];
        assert_refused(&[], &front_end, "-X");
        // A front-end option that only begins like one of those stays cacheable.
        assert!(parse_gcc(&[], &["-Xclang", "-ostensible"]).is_ok());
        assert!(parse_gcc(&["-fopt-info-vec"], &[]).is_ok());
        assert!(
            !super::debug_dump("-dumpdir")
                && !super::debug_dump("-d")
                && !super::debug_dump("-dynamic")
        );
        assert!(matches!(
            parse_gcc(&["-coverage"], &[]),
            Err(super::Uncacheable::ProfileGeneration)
        ));
    }
}
