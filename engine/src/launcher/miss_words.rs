//! The words a C miss adds to the command and what their answers say: its own dependency file
//! and prefix maps, the time macros' warning (`super::time_warning`), the assembler's
//! dependency file (`super::asm_reads`); and the compile run again without the warning.

use super::launch::Launcher;
use super::runner::RunResult;
use super::time_warning;
use backend::compile::CompileCommand;
use fetch::cache as fcache;
use fetch::stats::Outcome;
use std::io;
use std::path::{Path, PathBuf};

/// What a miss asks of the compiler beyond the command.
pub(super) struct MissWords {
    /// The arguments the compile runs with.
    pub(super) args: Vec<String>,
    /// The same without the time macros' warning, for a compile run again.
    without_time_warning: Vec<String>,
    /// Whether the warning is asked for.
    time_warning: bool,
    /// The compiler's dependency file (beside the object).
    pub(super) tmp_dep: PathBuf,
    /// The assembler's dependency file, if asked for.
    asm_dep: Option<PathBuf>,
}

/// What the compiler's answers to a miss's words say.
pub(super) struct Answers {
    /// The compiler warned of a time macro (the compile ran again without the warning).
    pub(super) timed: bool,
    /// The assembler read a file besides the source.
    pub(super) asm_read_more: bool,
}

impl Launcher<'_> {
    /// The words of a miss of `cmd`, whose object is `out_abs`.
    pub(super) fn miss_words(&self, cmd: &CompileCommand, out_abs: &Path) -> MissWords {
        let tmp_dep = fcache::temp_beside(out_abs, "dep", ".d");
        let mut args = cmd.args.clone();
        // A command with maps of its own keeps them (ours come later and would win); its key
        // holds the roots instead (`Launcher::key_fields`).
        if !cmd.maps_own_prefixes() {
            args.extend(self.prefix_maps());
        }
        let dep = tmp_dep.to_string_lossy().into_owned();
        args.extend(["-MD".to_string(), "-MF".to_string(), dep]);
        let without_time_warning = args.clone();
        let time_warning = self.asks_time_warning(cmd);
        if time_warning {
            args.extend(time_warning::WORDS.map(String::from));
        }
        let asm_dep = self.assembler_depfile(cmd, out_abs).map(|(path, words)| {
            args.extend(words);
            path
        });
        MissWords {
            args,
            without_time_warning,
            time_warning,
            tmp_dep,
            asm_dep,
        }
    }

    /// What the answers to `words` say after a compile (`miss`: local or distributed) gave
    /// `r` in `wall_us`: a compile that warned of a time macro runs again without the
    /// warning, into `r` and `wall_us`. `Err`: that compile could not start (the temporaries
    /// are removed).
    pub(super) fn answers(
        &self,
        cmd: &CompileCommand,
        words: &MissWords,
        miss: Outcome,
        (r, wall_us): (&mut RunResult, &mut u64),
    ) -> io::Result<Answers> {
        // A distributed compile was preprocessed without the warning, and ran its assembler
        // elsewhere: only the text scan knows.
        let local = miss == Outcome::Miss;
        let timed = words.time_warning && local && time_warning::warned(&r.stderr);
        if timed {
            match self.run_compiler(&cmd.compiler, &words.without_time_warning, &[]) {
                Ok((again, us)) => (*r, *wall_us) = (again, *wall_us + us),
                Err(e) => {
                    let _ = std::fs::remove_file(&words.tmp_dep);
                    if let Some(path) = &words.asm_dep {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(e);
                }
            }
        }
        let asm_read_more = match &words.asm_dep {
            Some(path) if local => self.assembler_read_more(cmd, path),
            Some(path) => {
                let _ = std::fs::remove_file(path);
                false
            }
            None => false,
        };
        Ok(Answers {
            timed,
            asm_read_more,
        })
    }
}
