//! A time macro no text scan sees: `__TIME__` pasted by the preprocessor (`C(__TI, ME__)`), a
//! review's find (2026-12-05). A local miss asks the compiler to warn of every time macro it
//! expands (`-Wdate-time`, gcc and clang); when it does, the object is not stored, and the
//! compile runs again without the warning so that its diagnostics are the command's own.

use super::launch::Launcher;
use backend::compile::CompileCommand;

/// The words that ask for the warning, never as an error.
pub(super) const WORDS: [&str; 2] = ["-Wdate-time", "-Wno-error=date-time"];

impl Launcher<'_> {
    /// Whether a miss of `cmd` may ask for the warning: time macros are not pinned, the
    /// command says nothing of that warning itself nor silences every warning (`-w`), and it
    /// is not for link-time optimisation (gcc records the words in the object).
    pub(super) fn asks_time_warning(&self, cmd: &CompileCommand) -> bool {
        let own = |a: &String| a == "-w" || a.contains("date-time");
        !self.time_pinned.get() && !cmd.lto() && !cmd.args.iter().any(own)
    }
}

/// Whether `stderr` holds the warning: in gcc's or clang's words, or its option's name as a
/// diagnostic shows it (`[-Wdate-time]`, JSON's `"-Wdate-time"`), not as `-v` echoes the
/// command (a review found every `-v` miss compiled twice).
pub(super) fn warned(stderr: &[u8]) -> bool {
    const MARKS: [&[u8]; 5] = [
        b"[-Wdate-time]",
        b"[-Werror=date-time]",
        b"\"-Wdate-time\"",
        b"might prevent reproducible builds",
        b"expansion of date or time macro is not reproducible",
    ];
    MARKS
        .iter()
        .any(|m| memchr::memmem::find(stderr, m).is_some())
}
