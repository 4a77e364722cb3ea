//! What the words of `cached-ninja stats` mean, for `explain`'s text: each uncacheable
//! [`Reason`] and each [`Problem`] a launch survived.

use fetch::stats::{Problem, Reason};

/// What an uncacheable reason means.
pub fn reason_text(r: Reason) -> &'static str {
    match r {
        Reason::NotCompiling => "no -c: a link or another mode",
        Reason::PreprocessOnly => "preprocessing, dependency listing or a syntax check only",
        Reason::SourceCount => "not exactly one source file",
        Reason::Stdio => "input from stdin or output to stdout",
        Reason::PchCreation => "it creates a precompiled header",
        Reason::Profile => "profile generation or coverage (outputs the key cannot name)",
        Reason::Language => "a language the launcher does not model",
        Reason::Option => "an option whose effect on the outputs the key does not capture",
        Reason::Arguments => "arguments that are not UTF-8, or an unreadable response file",
        Reason::Compiler => "the compiler could not be identified",
        Reason::Unreadable => "the source or an included file cannot be read",
        Reason::DateTime => {
            "__DATE__ or __TIME__ without SOURCE_DATE_EPOCH pinning them for this compiler"
        }
        Reason::Timestamp => "__TIMESTAMP__ (the file's time, never pinned)",
        Reason::AsmInclude => "an assembler directive that reads a file (.incbin, .include)",
        Reason::PrecompiledHeader => "a precompiled header (*.gch) where the compile looks",
        Reason::DependencyEnv => {
            "DEPENDENCIES_OUTPUT or SUNPRO_DEPENDENCIES: the compiler writes a file of its own"
        }
        Reason::ComputedProbe => {
            "a __has_include of a macro: no written name says which new file would turn it true"
        }
        Reason::OnceTwins => {
            "two headers with the same bytes under #pragma once: whether both are read depends on their identity, which the key does not cover"
        }
        Reason::DotDotLink => {
            "a path whose .. undoes a symbolic link: the preprocessor looks elsewhere than the lookup rule can follow"
        }
        Reason::RelativeLine => {
            "a header's #line names a relative path, which the prefix maps rewrite in some layouts only"
        }
        Reason::OutputDir => "the output's directory does not exist (the compiler says so)",
        #[allow(unreachable_patterns)] // a reason added later
        _ => "a reason this version does not describe",
    }
}

/// What a survived problem means for the edge.
pub fn problem_text(p: Problem) -> &'static str {
    match p {
        Problem::Corrupt => "a cache file was corrupt: removed, and compiled",
        Problem::UnknownRole => "the entry has an output this compile does not make: compiled",
        Problem::NoDwoPath => "the entry has a .dwo output but the command writes none: compiled",
        Problem::WriteOutput => "an output of the hit could not be written: compiled",
        Problem::WriteDepfile => "the depfile could not be written",
        Problem::NoDepfile => "the compiler wrote no dependency file: not cached",
        Problem::Store => "the outputs could not be stored in the cache",
        Problem::Spawn => "the compiler could not be started",
        Problem::InputChanged => "an input changed while it compiled: used, not cached",
        Problem::Shadowed => "the lookup rule refused the entry: a file now exists where the preprocessor looks before a header the entry's compile read",
        #[allow(unreachable_patterns)] // a problem added later
        _ => "a problem this version does not describe",
    }
}
