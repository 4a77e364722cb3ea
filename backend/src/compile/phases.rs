//! A compile in two phases, as a distributed compiler runs it: the preprocessor here
//! ([`CompileCommand::preprocessor_args`] with `-E`), then the compile proper of its output,
//! possibly on another machine ([`CompileCommand::compile_args_of_preprocessed`]).

use super::args::{CompileCommand, Lang};

/// Options that only the preprocessor reads and whose value is the next word when not joined.
pub(super) const PREPROCESSOR_WITH_VALUE: &[&str] = &[
    "-D",
    "-U",
    "-I",
    "-isystem",
    "-iquote",
    "-idirafter",
    "-include",
    "-imacros",
    "-iprefix",
    "-iwithprefix",
    "-iwithprefixbefore",
    "-isysroot",
    "-imultilib",
    "-Xpreprocessor",
];

/// Options that only the preprocessor reads, without a value.
const PREPROCESSOR_FLAGS: &[&str] = &["-nostdinc", "-nostdinc++", "-undef", "-H"];

impl CompileCommand {
    /// The arguments that compile the preprocessor's output `preprocessed` (a `.i`/`.ii` file)
    /// into the same outputs as `args`: `args` without the preprocessor's own options (clang
    /// warns that they are unused, which `-Werror` makes an error), the source replaced by
    /// `preprocessed`. With `name_language` its language is named (`-x cpp-output` or
    /// `-x c++-cpp-output`); without, every `-x` is dropped and the file's suffix (`.i`, `.ii`)
    /// names it (icecream runs commands with other `-x` values locally).
    pub fn compile_args_of_preprocessed(
        &self,
        preprocessed: &str,
        name_language: bool,
    ) -> Vec<String> {
        let lang = match self.lang {
            Lang::C | Lang::PreprocessedC => Lang::PreprocessedC,
            Lang::Cxx | Lang::PreprocessedCxx => Lang::PreprocessedCxx,
        };
        let mut out = Vec::with_capacity(self.args.len() + 2);
        let mut i = 0;
        while i < self.args.len() {
            let a = &self.args[i];
            if i == self.source_index {
                if name_language {
                    out.extend(["-x".to_string(), lang.name().to_string()]);
                }
                out.push(preprocessed.to_string());
            } else if !name_language && a.starts_with("-x") {
                i += usize::from(a == "-x"); // and its value
            } else if PREPROCESSOR_WITH_VALUE.contains(&a.as_str()) {
                i += 1; // and its value
            } else if !is_preprocessor_only(a) {
                out.push(a.clone());
            }
            i += 1;
        }
        out
    }
}

/// Whether the single word `a` is a preprocessor option (joined value or a plain flag).
fn is_preprocessor_only(a: &str) -> bool {
    if PREPROCESSOR_FLAGS.contains(&a) || a.starts_with("-Wp,") {
        return true;
    }
    // Joined forms (`-DX=1`, `-Iinc`, `-includefoo.h`), but not options that merely share a
    // prefix (`-include-pch` is refused earlier, `-idirafter` is listed whole).
    PREPROCESSOR_WITH_VALUE
        .iter()
        .filter(|o| o.len() == 2 || o.starts_with("-i"))
        .any(|o| {
            a.len() > o.len()
                && a.starts_with(o)
                && (o.len() == 2 || !a[o.len()..].starts_with('-'))
        })
}

#[cfg(test)]
mod tests {
    use crate::compile::{parse, CompilerFamily};

    fn compile_of(words: &[&str], pre: &str) -> Vec<String> {
        compile_naming(words, pre, true)
    }

    fn compile_naming(words: &[&str], pre: &str, name_language: bool) -> Vec<String> {
        let w: Vec<String> = words.iter().map(|s| s.to_string()).collect();
        parse(&w, CompilerFamily::Gcc)
            .unwrap()
            .compile_args_of_preprocessed(pre, name_language)
    }

    #[test]
    fn preprocessor_options_are_dropped_and_the_source_replaced() {
        let args = compile_of(
            &[
                "gcc",
                "-DX=1",
                "-D",
                "Y",
                "-Iinc",
                "-I",
                "other",
                "-isystem",
                "/s",
                "-include",
                "cfg.h",
                "-O2",
                "-g",
                "-Wall",
                "-c",
                "src/a.c",
                "-o",
                "a.o",
                "-Wp,-DZ",
                "-nostdinc",
                "-std=c11",
            ],
            "a.i",
        );
        assert_eq!(
            args,
            [
                "-O2",
                "-g",
                "-Wall",
                "-c",
                "-x",
                "cpp-output",
                "a.i",
                "-o",
                "a.o",
                "-std=c11"
            ]
        );
    }

    #[test]
    fn cxx_becomes_preprocessed_cxx_after_an_explicit_language() {
        let args = compile_of(&["g++", "-x", "c++", "-c", "a.cc", "-o", "a.o"], "a.ii");
        assert_eq!(
            args,
            [
                "-x",
                "c++",
                "-c",
                "-x",
                "c++-cpp-output",
                "a.ii",
                "-o",
                "a.o"
            ]
        );
    }

    #[test]
    fn without_naming_the_language_every_x_goes() {
        let words = ["g++", "-x", "c++", "-c", "a.cc", "-o", "a.o"];
        assert_eq!(
            compile_naming(&words, "a.ii", false),
            ["-c", "a.ii", "-o", "a.o"]
        );
    }
}
