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
    let mut scan = Scan::new(family, rest.len());
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        let next = rest.get(i + 1).map(String::as_str);
        // Dependency-file options leave the key (DESIGN §3).
        i += match scan.dep.option(a, next)? {
            Some(used) => used,
            None => scan.word(a, next)?,
        };
    }
    scan.finish(compiler)
}

/// What [`parse`] has seen of a command's words so far.
struct Scan {
    family: CompilerFamily,
    /// The words kept: all but the dependency-file options.
    args: Vec<String>,
    /// Whether `-c` was seen.
    compiling: bool,
    /// The object's name (`-o`).
    output: Option<String>,
    /// The language `-x` gives the words after it.
    lang_x: Option<Lang>,
    /// The words naming inputs: index in `args`, name, language.
    sources: Vec<(usize, String, Option<Lang>)>,
    /// The dependency-file options.
    dep: DepOptions,
    split: SplitDwarf,
    /// Indices in `args` of the words that apply to the compile step only.
    compile_only: Vec<usize>,
}

/// The dependency-file options of a command (`-MD`, `-MF`, `-MT`, …).
#[derive(Default)]
struct DepOptions {
    /// Whether a dependency file is written (`-MD`, `-MMD`, `-Wp,-MD,…`).
    on: bool,
    /// Its name (`-MF`).
    file: Option<String>,
    /// Its targets (`-MT`, `-MQ` quoted).
    targets: Vec<String>,
    /// Whether each header gets a phony target (`-MP`).
    phony: bool,
}

impl DepOptions {
    /// Takes `a` (with `next`, its separate value) if it is a dependency-file option: how
    /// many words it used; `None` for any other word.
    fn option(&mut self, a: &str, next: Option<&str>) -> Result<Option<usize>, Uncacheable> {
        match a {
            "-MD" | "-MMD" => {
                self.on = true;
                return Ok(Some(1));
            }
            "-MP" => {
                self.phony = true;
                return Ok(Some(1));
            }
            "-MF" | "-MT" | "-MQ" => {
                let Some(v) = next else {
                    return Err(Uncacheable::Arguments(format!("{a} without a value")));
                };
                match a {
                    "-MF" => self.file = Some(v.to_string()),
                    "-MT" => self.targets.push(v.to_string()),
                    _ => self.targets.push(quote_make(v)),
                }
                return Ok(Some(2));
            }
            _ => {}
        }
        if let Some(v) = a.strip_prefix("-MF").filter(|v| !v.is_empty()) {
            self.file = Some(v.to_string());
            return Ok(Some(1));
        }
        if let Some(v) = a.strip_prefix("-MT").filter(|v| !v.is_empty()) {
            self.targets.push(v.to_string());
            return Ok(Some(1));
        }
        if let Some(v) = a.strip_prefix("-MQ").filter(|v| !v.is_empty()) {
            self.targets.push(quote_make(v));
            return Ok(Some(1));
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
            self.on = true;
            self.file = Some(v.to_string());
            return Ok(Some(1));
        }
        Ok(None)
    }
}

impl Scan {
    fn new(family: CompilerFamily, words: usize) -> Scan {
        Scan {
            family,
            args: Vec::with_capacity(words),
            compiling: false,
            output: None,
            lang_x: None,
            sources: Vec::new(),
            dep: DepOptions::default(),
            split: SplitDwarf::Off,
            compile_only: Vec::new(),
        }
    }

    /// Takes the word `a` (with `next`, the word after it), kept in the arguments: an option,
    /// with its separate value if it has one, or an input. How many words it used.
    fn word(&mut self, a: &str, next: Option<&str>) -> Result<usize, Uncacheable> {
        if let Some(r) = refused::option(a, next) {
            return Err(r);
        }
        if a == "-c" {
            self.compiling = true;
            self.compile_only.push(self.args.len());
        } else if a == "-" {
            return Err(Uncacheable::Stdio);
        } else if a == "-o"
            || (a.starts_with("-o")
                && a.len() > 2
                && !(self.family == CompilerFamily::Clang && clang_o_option(a)))
        {
            self.output_option(a, next)?;
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
            self.lang_x = match Lang::from_x(v) {
                None => None,
                Some(Ok(l)) => Some(l),
                Some(Err(e)) => return Err(e),
            };
        } else if a.starts_with("-gsplit-dwarf") || a == "-gno-split-dwarf" {
            self.compile_only.push(self.args.len());
            self.split = match a {
                "-gno-split-dwarf" => SplitDwarf::Off,
                "-gsplit-dwarf=single" => SplitDwarf::Single,
                "-gsplit-dwarf" | "-gsplit-dwarf=split" => SplitDwarf::Separate,
                _ => return Err(Uncacheable::Option(a.to_string())),
            };
        } else if !a.starts_with('-') || a.len() == 1 {
            self.input(a)?;
        }
        self.args.push(a.to_string());
        // An option with a separate value: copy the value too, so it is never taken for a source.
        if SEPARATE_VALUE.contains(&a) || PREPROCESSOR_WITH_VALUE.contains(&a) {
            if let Some(v) = next {
                if let Some(r) = refused::passed_on(a, v) {
                    return Err(r);
                }
                self.args.push(v.to_string());
                return Ok(2);
            }
        }
        Ok(1)
    }

    /// `-o FILE` or `-oFILE` (`a`, with `next` after it): the object's name.
    fn output_option(&mut self, a: &str, next: Option<&str>) -> Result<(), Uncacheable> {
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
        self.output = Some(v.to_string());
        self.compile_only.push(self.args.len());
        if a == "-o" {
            self.compile_only.push(self.args.len() + 1);
        }
        Ok(())
    }

    /// The word `a` names an input: noted with its language (`-x`'s, else its extension's).
    fn input(&mut self, a: &str) -> Result<(), Uncacheable> {
        // An empty word names no file (found by the fuzzer).
        if a.is_empty() {
            return Err(Uncacheable::Arguments("an empty file name".into()));
        }
        let lang = match self.lang_x {
            Some(l) => Some(l),
            None => match Lang::from_path(a) {
                Some(Ok(l)) => Some(l),
                Some(Err(e)) => return Err(e),
                None => None,
            },
        };
        self.sources.push((self.args.len(), a.to_string(), lang));
        Ok(())
    }

    /// The command run by `compiler` these words make, if it is one compile the cache can
    /// serve.
    fn finish(self, compiler: &str) -> Result<CompileCommand, Uncacheable> {
        if !self.compiling {
            return Err(Uncacheable::NotCompiling);
        }
        let [(source_index, source, lang)] =
            <[_; 1]>::try_from(self.sources).map_err(|_| Uncacheable::SourceCount)?;
        let Some(lang) = lang else {
            return Err(Uncacheable::Language);
        };
        if self.family == CompilerFamily::Gcc && self.split == SplitDwarf::Single {
            return Err(Uncacheable::Option("-gsplit-dwarf=single".into()));
        }
        if let Some(r) = refused::for_compiler(&self.args, self.family, &self.split) {
            return Err(r);
        }
        let output = self.output.unwrap_or_else(|| {
            let file = source.rsplit('/').next().unwrap_or(&source);
            replace_ext(file, "o")
        });
        let dep = self.dep.on.then(|| DepOutput {
            path: self.dep.file.unwrap_or_else(|| replace_ext(&output, "d")),
            targets: self.dep.targets,
            phony: self.dep.phony,
        });
        Ok(CompileCommand {
            compiler: compiler.to_string(),
            args: self.args,
            source_index,
            source,
            output,
            lang,
            dep,
            split_dwarf: self.split,
            compile_only: self.compile_only,
        })
    }
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
mod tests;
