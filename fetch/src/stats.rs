//! Per-build statistics: an append-only log in `<object root>/.cached-ninja/stats`.
//!
//! Each launcher appends one line per outcome with a single `write` on an `O_APPEND` file
//! (shorter than `PIPE_BUF`, so concurrent launchers never interleave within a line):
//!
//! ```text
//! <outcome> <saved µs> <spent µs> <cpu µs> [<problem>|<note>|- [<bytes written>]]
//! ```
//!
//! `outcome` is `hit`, `miss`, `failed` (the compiler ran and exited non-zero: nothing is
//! stored), `uncacheable` or `error`. An `uncacheable` line names its [`Reason`] in a fifth
//! field (lines of older launchers have none). An `error` line names its [`Problem`] there:
//! something went wrong with the cache or around the compile, and the launcher survived it,
//! usually by falling back to a local compile, which is then logged too (as a `miss` or
//! `failed`). `saved` is the recorded compile time of the entry minus the time the hit took;
//! `spent` is the launcher's own wall time and `cpu` its own CPU time (user + system, without
//! the compilers it ran). A `hit` line may carry the note `debug-deferred` in its fifth field:
//! the object was served and its split-DWARF debug part was not in the local cache, so
//! `dbgfetch fill` brings it after the link (DESIGN §6; the expected path of a developer's
//! build, not a problem). A `miss` line may carry the note `distributed`: the compile proper
//! ran on the build's distributed compiler (distcc, icecream), the object was stored as any.
//! A `hit` or `miss` line carries in a sixth field the bytes of the primary output it wrote
//! (the fifth is then `-` when there is no note; lines of before 2026-12-07 have none), so a
//! build's summary need not read the Ninja files again to count them. [`BuildStats::read`]
//! sums the log; [`zero`] starts a new build's count.
//!
//! Compatibility: the format is only ever extended. Readers skip lines with an unknown
//! outcome word and ignore the fields they do not know (the oldest read four, those before
//! 2026-12-07 five), so an older reader skips `failed` lines, reads `error` lines without
//! their problem and a `-` note as none; an `error` line without a problem (written by an
//! older launcher) counts in [`BuildStats::errors`] only. The bytes count the hits' and
//! misses' objects only: a command run unchanged (uncacheable) is replaced by the compiler
//! and writes no line after it.

use std::io;
use std::path::{Path, PathBuf};

/// What one launcher invocation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Served from the cache.
    Hit,
    /// Served from the cache without its debug part (not in the local cache): the object,
    /// depfile and output were materialised, `dbgfetch fill` brings the debug part later.
    HitDebugDeferred,
    /// Compiled successfully (and stored unless an `Error` line says otherwise).
    Miss,
    /// A [`Outcome::Miss`] whose compile proper ran on the distributed compiler.
    MissDistributed,
    /// Compiled, and the compiler exited non-zero (a compile error): nothing stored.
    Failed,
    /// Run without the cache, for this reason.
    Uncacheable(Reason),
    /// A problem the launcher survived, usually by compiling locally instead.
    Error(Problem),
}

/// The named counters of [`Outcome::Error`]: each fallback to a local compile (and each other
/// problem a launcher survives) increments exactly one. The words are stored: never change one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Problem {
    /// A cache file (manifest, action entry, blob) is corrupt, truncated or unreadable: it was
    /// removed and the launcher compiled.
    Corrupt,
    /// An action entry has an output of a role a C/C++ compile does not make: compiled.
    UnknownRole,
    /// An action entry has a `.dwo` output but the command writes none: compiled.
    NoDwoPath,
    /// An output of a hit could not be written: compiled.
    WriteOutput,
    /// The depfile could not be written (on a hit: compiled; after a compile: exit 1).
    WriteDepfile,
    /// The compiler wrote no dependency file: the object is kept but not stored.
    NoDepfile,
    /// The outputs could not be stored in the cache (the compile itself succeeded).
    Store,
    /// The compiler could not be started (exit 127).
    Spawn,
    /// An input (the source or a header) changed while the compile ran: the object is used
    /// for this build but not stored, since it may not match the inputs as hashed.
    InputChanged,
    /// A file now exists where the preprocessor would look before a header the entry's
    /// compile read (a new header shadows an old one): compiled.
    Shadowed,
    /// The distributed compiler failed, was unreachable or returned incomplete outputs:
    /// compiled locally.
    Distribute,
}

/// Why a command ran without the cache (the fifth field of an `uncacheable` line). The words
/// are stored: never change one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No `-c`: a link or another mode.
    NotCompiling,
    /// Preprocessing, dependency listing or a syntax check only.
    PreprocessOnly,
    /// Not exactly one source file.
    SourceCount,
    /// Input from stdin or output to stdout, or a source or output that is no regular file
    /// (`/dev/stdin`, a device, an output reached through a symbolic link).
    Stdio,
    /// Creating a precompiled header.
    PchCreation,
    /// Profile generation or coverage (outputs the key cannot name).
    Profile,
    /// A language the launcher does not model (assembler, Objective-C, Fortran, …).
    Language,
    /// An option whose effect on the outputs is not captured (`-save-temps`, `-MG`, …).
    Option,
    /// Arguments that are not UTF-8, or a response file that cannot be read.
    Arguments,
    /// The compiler could not be identified (`--version` failed, or it is no compiler).
    Compiler,
    /// The source or an included file could not be read, or its path holds a newline.
    Unreadable,
    /// `__DATE__`/`__TIME__` without `SOURCE_DATE_EPOCH` pinning them for this compiler.
    DateTime,
    /// `__TIMESTAMP__` (never pinned).
    Timestamp,
    /// An assembler directive that reads a file (`.incbin`, `.include`).
    AsmInclude,
    /// A precompiled header (`*.gch`) where the compile looks.
    PrecompiledHeader,
    /// `DEPENDENCIES_OUTPUT`/`SUNPRO_DEPENDENCIES`: the compiler writes a file of its own.
    DependencyEnv,
    /// rustc's `-C incremental`: its own state directory, which the key cannot see.
    Incremental,
    /// A `__has_include` of a macro: no written name says which new file would turn it true.
    ComputedProbe,
    /// A path whose `..` undoes a symbolic link (the kernel resolves it elsewhere than the
    /// lookup rule's text join).
    DotDotLink,
    /// Two headers read with the same bytes under `#pragma once`: whether the compiler reads
    /// both depends on their identity (inode, mtime), which the key does not cover.
    OnceTwins,
    /// A header's line directive names a relative path, which the prefix maps rewrite in
    /// some layouts only.
    RelativeLine,
    /// The output's directory does not exist: the compiler's own error names the output.
    OutputDir,
}

impl Reason {
    /// Every reason, in the order of [`BuildStats::reasons`].
    pub const ALL: [Reason; 22] = [
        Reason::NotCompiling,
        Reason::PreprocessOnly,
        Reason::SourceCount,
        Reason::Stdio,
        Reason::PchCreation,
        Reason::Profile,
        Reason::Language,
        Reason::Option,
        Reason::Arguments,
        Reason::Compiler,
        Reason::Unreadable,
        Reason::DateTime,
        Reason::Timestamp,
        Reason::AsmInclude,
        Reason::PrecompiledHeader,
        Reason::DependencyEnv,
        Reason::Incremental,
        Reason::ComputedProbe,
        Reason::DotDotLink,
        Reason::OnceTwins,
        Reason::RelativeLine,
        Reason::OutputDir,
    ];

    /// The reason's name (the word in the log).
    pub fn name(self) -> &'static str {
        match self {
            Reason::NotCompiling => "not-compiling",
            Reason::PreprocessOnly => "preprocess-only",
            Reason::SourceCount => "source-count",
            Reason::Stdio => "stdio",
            Reason::PchCreation => "pch-creation",
            Reason::Profile => "profile",
            Reason::Language => "language",
            Reason::Option => "option",
            Reason::Arguments => "arguments",
            Reason::Compiler => "compiler",
            Reason::Unreadable => "unreadable",
            Reason::DateTime => "date-time",
            Reason::Timestamp => "timestamp",
            Reason::AsmInclude => "asm-include",
            Reason::PrecompiledHeader => "precompiled-header",
            Reason::DependencyEnv => "dependency-env",
            Reason::Incremental => "incremental",
            Reason::ComputedProbe => "computed-has-include",
            Reason::DotDotLink => "dotdot-link",
            Reason::OnceTwins => "pragma-once-twins",
            Reason::RelativeLine => "relative-line",
            Reason::OutputDir => "output-dir",
        }
    }

    /// The reason with this name.
    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.name() == name)
    }

    fn index(self) -> usize {
        Reason::ALL
            .iter()
            .position(|r| *r == self)
            .expect("listed in ALL")
    }
}

impl Problem {
    /// Every problem, in the order of [`BuildStats::problems`].
    pub const ALL: [Problem; 11] = [
        Problem::Corrupt,
        Problem::UnknownRole,
        Problem::NoDwoPath,
        Problem::WriteOutput,
        Problem::WriteDepfile,
        Problem::NoDepfile,
        Problem::Store,
        Problem::Spawn,
        Problem::InputChanged,
        Problem::Shadowed,
        Problem::Distribute,
    ];

    /// The counter's name (the word in the log).
    pub fn name(self) -> &'static str {
        match self {
            Problem::Corrupt => "corrupt",
            Problem::UnknownRole => "unknown-role",
            Problem::NoDwoPath => "no-dwo-path",
            Problem::WriteOutput => "write-output",
            Problem::WriteDepfile => "write-depfile",
            Problem::NoDepfile => "no-depfile",
            Problem::Store => "store",
            Problem::Spawn => "spawn",
            Problem::InputChanged => "input-changed",
            Problem::Shadowed => "shadowed",
            Problem::Distribute => "distribute",
        }
    }

    /// The problem with this name.
    pub fn from_name(name: &str) -> Option<Problem> {
        Problem::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Index into [`BuildStats::problems`].
    fn index(self) -> usize {
        Problem::ALL
            .iter()
            .position(|p| *p == self)
            .expect("listed in ALL")
    }
}

impl Outcome {
    /// The word in the log.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Hit | Outcome::HitDebugDeferred => "hit",
            Outcome::Miss | Outcome::MissDistributed => "miss",
            Outcome::Failed => "failed",
            Outcome::Uncacheable(_) => "uncacheable",
            Outcome::Error(_) => "error",
        }
    }
}

/// The note of a [`Outcome::HitDebugDeferred`] line (stored: never change it).
pub const DEBUG_DEFERRED: &str = "debug-deferred";

/// The note of a [`Outcome::MissDistributed`] line (stored: never change it).
pub const DISTRIBUTED: &str = "distributed";

/// Path of the log for an object root.
pub fn stats_path(obj_root: &Path) -> PathBuf {
    crate::objdir::ObjDir::new(obj_root).stats_file()
}

/// Appends one record; `written`: the bytes of the primary output a hit or miss wrote.
pub fn record(
    obj_root: &Path,
    outcome: Outcome,
    saved_us: u64,
    spent_us: u64,
    cpu_us: u64,
    written: u64,
) -> io::Result<()> {
    let path = stats_path(obj_root);
    let word = outcome.word();
    let note = match outcome {
        Outcome::Error(p) => p.name(),
        Outcome::Uncacheable(r) => r.name(),
        Outcome::HitDebugDeferred => DEBUG_DEFERRED,
        Outcome::MissDistributed => DISTRIBUTED,
        Outcome::Hit | Outcome::Miss | Outcome::Failed => "",
    };
    let line = match (note, written) {
        ("", 0) => format!("{word} {saved_us} {spent_us} {cpu_us}\n"),
        (note, 0) => format!("{word} {saved_us} {spent_us} {cpu_us} {note}\n"),
        ("", n) => format!("{word} {saved_us} {spent_us} {cpu_us} - {n}\n"),
        (note, n) => format!("{word} {saved_us} {spent_us} {cpu_us} {note} {n}\n"),
    };
    crate::log_file::append(&path, &line)
}

/// Empties the log (a new build starts counting).
pub fn zero(obj_root: &Path) -> io::Result<()> {
    crate::log_file::clear(&stats_path(obj_root))
}

/// Sums of a build's log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Hits (with or without their debug part).
    pub hits: u64,
    /// Hits whose debug part was left to `dbgfetch fill` (not in the local cache).
    pub debug_deferred: u64,
    /// Misses (compiled successfully).
    pub misses: u64,
    /// Misses whose compile proper ran on the distributed compiler.
    pub distributed: u64,
    /// Compiles that failed (the compiler exited non-zero).
    pub failed: u64,
    /// Run without the cache.
    pub uncacheable: u64,
    /// Problems survived (all `error` lines, with or without a named problem).
    pub errors: u64,
    /// `error` lines per named problem, indexed like [`Problem::ALL`]; see [`BuildStats::problem`].
    pub problems: [u64; Problem::ALL.len()],
    /// `uncacheable` lines per named reason, indexed like [`Reason::ALL`]; see
    /// [`BuildStats::reason`].
    pub reasons: [u64; Reason::ALL.len()],
    /// Compile time saved by hits, µs.
    pub saved_us: u64,
    /// Time spent in launchers, µs.
    pub spent_us: u64,
    /// CPU time of the launchers themselves (not the compilers), µs.
    pub cpu_us: u64,
    /// Bytes of the primary outputs the hits and misses wrote.
    pub written: u64,
}

impl BuildStats {
    /// Reads the log of an object root (all zero when there is none). Malformed lines are
    /// skipped.
    pub fn read(obj_root: &Path) -> io::Result<BuildStats> {
        let text = match std::fs::read_to_string(stats_path(obj_root)) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        Ok(BuildStats::parse(&text))
    }

    /// Sums log text.
    pub fn parse(text: &str) -> BuildStats {
        let mut s = BuildStats::default();
        for line in text.lines() {
            let mut f = line.split(' ');
            let (Some(w), Some(saved), Some(spent)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let (Ok(saved), Ok(spent)) = (saved.parse::<u64>(), spent.parse::<u64>()) else {
                continue;
            };
            match w {
                "hit" => s.hits += 1,
                "miss" => s.misses += 1,
                "failed" => s.failed += 1,
                "uncacheable" => s.uncacheable += 1,
                "error" => s.errors += 1,
                _ => continue,
            }
            s.saved_us += saved;
            s.spent_us += spent;
            s.cpu_us += f.next().and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
            let named = f.next();
            if w == "error" {
                if let Some(p) = named.and_then(Problem::from_name) {
                    s.problems[p.index()] += 1;
                }
            } else if w == "uncacheable" {
                if let Some(r) = named.and_then(Reason::from_name) {
                    s.reasons[r.index()] += 1;
                }
            } else if w == "hit" && named == Some(DEBUG_DEFERRED) {
                s.debug_deferred += 1;
            } else if w == "miss" && named == Some(DISTRIBUTED) {
                s.distributed += 1;
            }
            s.written += f.next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
        s
    }

    /// How many `error` lines named `p`.
    pub fn problem(&self, p: Problem) -> u64 {
        self.problems[p.index()]
    }

    /// How many `uncacheable` lines named `r`.
    pub fn reason(&self, r: Reason) -> u64 {
        self.reasons[r.index()]
    }

    /// Hits over cacheable invocations, in percent.
    pub fn hit_rate(&self) -> f64 {
        let n = self.hits + self.misses;
        if n == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / n as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_read() {
        let d = tempfile::tempdir().unwrap();
        record(d.path(), Outcome::Hit, 100, 2, 1, 0).unwrap();
        record(d.path(), Outcome::Miss, 0, 50, 3, 0).unwrap();
        record(d.path(), Outcome::Error(Problem::Spawn), 0, 0, 0, 0).unwrap();
        record(d.path(), Outcome::Failed, 0, 7, 0, 0).unwrap();
        let s = BuildStats::read(d.path()).unwrap();
        assert_eq!((s.failed, s.problem(Problem::Spawn)), (1, 1));
        assert_eq!(s.debug_deferred, 0);
        assert_eq!(
            (
                s.hits,
                s.misses,
                s.uncacheable,
                s.errors,
                s.saved_us,
                s.spent_us,
                s.cpu_us
            ),
            (1, 1, 0, 1, 100, 59, 4)
        );
        assert_eq!(s.hit_rate(), 50.0);
        zero(d.path()).unwrap();
        assert_eq!(BuildStats::read(d.path()).unwrap(), BuildStats::default());
    }

    /// Logs written by older launchers still read the same, and the new lines only extend
    /// the format (an older reader skips `failed`, and reads `error` without its problem).
    #[test]
    fn old_and_new_lines() {
        let old = "hit 5 1 1\nmiss 0 9\nerror 0 1 1\nbogus 1 1 1\n";
        let s = BuildStats::parse(old);
        assert_eq!((s.hits, s.misses, s.errors, s.spent_us), (1, 1, 1, 11));
        assert_eq!(s.problems, [0; Problem::ALL.len()]);
        let s = BuildStats::parse("error 0 1 1 unknown-role\nerror 0 1 1 from-the-future\n");
        assert_eq!((s.errors, s.problem(Problem::UnknownRole)), (2, 1));
        for p in Problem::ALL {
            assert_eq!(Problem::from_name(p.name()), Some(p));
        }
        // An `uncacheable` line of an older launcher has no reason; a newer one names it.
        let s = BuildStats::parse(
            "uncacheable 0 1 1\nuncacheable 0 1 1 date-time\nuncacheable 0 1 1 from-the-future\n",
        );
        assert_eq!((s.uncacheable, s.reason(Reason::DateTime)), (3, 1));
        assert_eq!(s.reasons.iter().sum::<u64>(), 1);
        for r in Reason::ALL {
            assert_eq!(Reason::from_name(r.name()), Some(r));
        }
    }

    /// A hit whose debug part is deferred counts as a hit and as `debug-deferred`, and an
    /// older reader (four fields) reads it as a plain hit.
    #[test]
    fn debug_deferred_hits() {
        let d = tempfile::tempdir().unwrap();
        record(d.path(), Outcome::HitDebugDeferred, 10, 2, 1, 0).unwrap();
        record(d.path(), Outcome::Hit, 10, 2, 1, 0).unwrap();
        let text = std::fs::read_to_string(stats_path(d.path())).unwrap();
        assert_eq!(text.lines().next(), Some("hit 10 2 1 debug-deferred"));
        let s = BuildStats::read(d.path()).unwrap();
        assert_eq!((s.hits, s.debug_deferred, s.errors), (2, 1, 0));
    }

    /// The bytes a hit or miss wrote are summed from a sixth field, after its note or a `-`,
    /// which readers of before take as no note.
    #[test]
    fn written_bytes() {
        let d = tempfile::tempdir().unwrap();
        record(d.path(), Outcome::Hit, 10, 2, 1, 700).unwrap();
        record(d.path(), Outcome::MissDistributed, 0, 2, 1, 50).unwrap();
        record(d.path(), Outcome::HitDebugDeferred, 10, 2, 1, 6).unwrap();
        record(d.path(), Outcome::Error(Problem::Store), 0, 2, 1, 0).unwrap();
        let text = std::fs::read_to_string(stats_path(d.path())).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "hit 10 2 1 - 700");
        assert_eq!(lines[1], "miss 0 2 1 distributed 50");
        assert_eq!(lines[3], "error 0 2 1 store");
        let s = BuildStats::read(d.path()).unwrap();
        assert_eq!(
            (s.hits, s.debug_deferred, s.misses, s.distributed),
            (2, 1, 1, 1)
        );
        assert_eq!(
            (s.written, s.errors, s.problem(Problem::Store)),
            (756, 1, 1)
        );
        assert_eq!(BuildStats::parse("hit 5 1 1\nmiss 0 9 1 - x\n").written, 0);
    }

    /// A distributed miss counts as a miss and as `distributed`; an older reader (four
    /// fields) reads it as a plain miss.
    #[test]
    fn distributed_misses() {
        let s = BuildStats::parse("miss 0 2 1 distributed\nmiss 0 2 1\nerror 0 1 1 distribute\n");
        assert_eq!((s.misses, s.distributed), (2, 1));
        assert_eq!(s.problem(Problem::Distribute), 1);
    }
}
