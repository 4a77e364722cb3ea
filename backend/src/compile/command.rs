//! A parsed compile command ([`CompileCommand`]) and what the launcher asks of it: its
//! dependency file, split DWARF, forced includes, prefix maps, the preprocessor's words.

use super::args::{joined_value, CompilerFamily, Lang};

/// Split DWARF as the command asks for it (last of `-gsplit-dwarf…`/`-gno-split-dwarf` wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitDwarf {
    /// No split DWARF.
    Off,
    /// A separate `.dwo` file beside the object (gcc, clang `-gsplit-dwarf[=split]`).
    Separate,
    /// clang `-gsplit-dwarf=single`: the `.dwo` sections stay inside the object.
    Single,
}

/// The dependency file the user asked for (`-MD`/`-MMD` with `-MF`, `-MT`, `-MQ`, `-MP`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepOutput {
    /// Where to write it, as given (or derived from `-o` like gcc does).
    pub path: String,
    /// Targets, already quoted for `-MQ`; empty means "the object path".
    pub targets: Vec<String>,
    /// `-MP`: a phony rule per header.
    pub phony: bool,
}

/// A cacheable compile of one C or C++ source into one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileCommand {
    /// The compiler program as given (after dropping a `ccache`/`sccache` prefix).
    pub compiler: String,
    /// All arguments after the compiler, response files expanded, dependency-file options
    /// (`-MD -MMD -MF -MT -MQ -MP -Wp,-MD,…`) removed. This is what the key hashes and what the
    /// launcher runs (adding its own `-MD -MF` and prefix maps).
    pub args: Vec<String>,
    /// Index into `args` of the source file.
    pub source_index: usize,
    /// The source file as given.
    pub source: String,
    /// The object path as given (`-o`), or the one gcc derives.
    pub output: String,
    /// Source language.
    pub lang: Lang,
    /// The dependency file Ninja expects, if any.
    pub dep: Option<DepOutput>,
    /// Split DWARF mode.
    pub split_dwarf: SplitDwarf,
    /// Indices into `args` of the words that only matter to the compile proper, not to the
    /// preprocessor: each output option (`-o FILE` both words, `-oFILE`), `-c` and the
    /// split-DWARF options. See [`CompileCommand::preprocessor_args`].
    pub compile_only: Vec<usize>,
}

impl CompileCommand {
    /// Whether the command maps path prefixes itself (`-ffile-prefix-map=` and its kin): the
    /// launcher then adds none of its own, which would override them.
    pub fn maps_own_prefixes(&self) -> bool {
        const MAPS: [&str; 5] = [
            "-ffile-prefix-map=",
            "-fdebug-prefix-map=",
            "-fmacro-prefix-map=",
            "-fprofile-prefix-map=",
            "-fcoverage-prefix-map=",
        ];
        self.args
            .iter()
            .any(|a| MAPS.iter().any(|m| a.starts_with(m)))
    }

    /// Whether `family`'s driver runs an assembler program for this command: gcc always,
    /// clang when the last of its choices is `-fno-integrated-as` (or `-no-integrated-as`).
    pub fn external_assembler(&self, family: CompilerFamily) -> bool {
        let choice = |a: &String| match a.as_str() {
            "-fno-integrated-as" | "-no-integrated-as" => Some(true),
            "-fintegrated-as" | "-integrated-as" => Some(false),
            _ => None,
        };
        match family {
            CompilerFamily::Gcc => true,
            CompilerFamily::Clang => self.args.iter().rev().find_map(choice).unwrap_or(false),
        }
    }

    /// Whether the command compiles for link-time optimisation: the last of `-flto`,
    /// `-flto=…` and `-fno-lto` is not `-fno-lto`.
    pub fn lto(&self) -> bool {
        let choice = |a: &String| match a.as_str() {
            "-fno-lto" => Some(false),
            a if a == "-flto" || a.starts_with("-flto=") => Some(true),
            _ => None,
        };
        self.args.iter().rev().find_map(choice).unwrap_or(false)
    }

    /// The values the command defines macros to (`-DNAME=VALUE`, `-D NAME=VALUE`,
    /// `--define-macro[=]NAME=VALUE`): what follows the name's `=`.
    pub fn macro_values(&self) -> Vec<&str> {
        let defined = self.values_of(&["-D", "--define-macro"]).into_iter();
        defined
            .filter_map(|d| d.split_once('=').map(|(_, value)| value))
            .collect()
    }

    /// The sysroots the command names (`--sysroot`, `-isysroot`, separate or joined), as given.
    pub fn sysroots(&self) -> Vec<&str> {
        let named = self.values_of(&["--sysroot", "-isysroot"]).into_iter();
        named.filter(|v| !v.is_empty()).collect()
    }

    /// The words that choose the toolchain's target, directories and libraries, with their
    /// values, in order: `--sysroot`, `-isysroot`, `-target`/`--target`, `--gcc-toolchain`,
    /// `-nostdinc…`, `-stdlib=`, `-m…` (`-mllvm` with its value). A probe of the compiler's
    /// system directories or of its assembler runs with them.
    pub fn toolchain_words(&self) -> Vec<&str> {
        const SEPARATE: [&str; 5] = ["--sysroot", "-isysroot", "-target", "--target", "-mllvm"];
        const PREFIXES: [&str; 7] = [
            "-nostdinc",
            "--sysroot",
            "-isysroot",
            "-stdlib=",
            "--target",
            "--gcc-toolchain",
            "-m",
        ];
        let mut v = Vec::new();
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            if SEPARATE.contains(&a.as_str()) {
                v.push(a.as_str());
                v.extend(it.next().map(String::as_str));
            } else if PREFIXES.iter().any(|p| a.starts_with(p)) {
                v.push(a.as_str());
            }
        }
        v
    }

    /// The files named by `-include` (in any form), as given. gcc uses `<file>.gch` instead
    /// when one exists, which the launcher must treat as uncacheable (PCH use).
    pub fn forced_includes(&self) -> Vec<&str> {
        self.values_of(&["-include", "--include"])
    }

    /// The files the preprocessor reads before the source: `-include` and `-imacros`, each
    /// as `-include F`, `-includeF`, `--include F` or `--include=F`, in order, as given.
    pub fn forced_reads(&self) -> Vec<&str> {
        self.values_of(&["-include", "--include", "-imacros", "--imacros"])
    }

    /// The values of the options `names`, separate, joined or after `=` (long ones).
    fn values_of(&self, names: &[&str]) -> Vec<&str> {
        let mut v = Vec::new();
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            for &name in names {
                if a == name {
                    v.extend(it.next().map(String::as_str));
                    break;
                }
                // Not `-include-pch` (refused earlier) nor `--include-directory`.
                if let Some(f) = joined_value(a, name) {
                    v.push(f);
                    break;
                }
            }
        }
        v
    }

    /// The arguments for a preprocessor-only run (the caller adds `-E` and its own `-M…`
    /// options): `args` without the words in [`compile_only`](Self::compile_only). Dependency-
    /// file options are already out of `args`; every other word (including options that merely
    /// start with `-o`, such as clang's `-objcmt-…`) stays, in order.
    pub fn preprocessor_args(&self) -> Vec<String> {
        self.args
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.compile_only.contains(i))
            .map(|(_, a)| a.clone())
            .collect()
    }

    /// The `.dwo` path a separate split-DWARF compile writes (object path with `.dwo`).
    pub fn dwo_path(&self) -> Option<String> {
        (self.split_dwarf == SplitDwarf::Separate).then(|| replace_ext(&self.output, "dwo"))
    }
}

/// Replaces the extension of the file name in `path` (or appends one).
pub(super) fn replace_ext(path: &str, ext: &str) -> String {
    let file_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[file_start..].rfind('.') {
        Some(dot) if dot > 0 => format!("{}.{ext}", &path[..file_start + dot]),
        _ => format!("{path}.{ext}"),
    }
}
