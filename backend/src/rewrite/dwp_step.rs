//! Build steps that package split-DWARF `.dwo` files themselves: `dwp` or `llvm-dwp` run by
//! the build (a CMake post-build command, a Meson custom target, a GN link wrapper's
//! `--dwp=`). Such a build reads the `.dwo` of every object it links, so its launchers write
//! the `.dwo` on every hit (objects first, DESIGN §6, does not apply), and `llvm-dwp` finds
//! each one through its unit's `DW_AT_comp_dir`, which must then be the real object root.

/// Which DWARF packager a build runs itself, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum DwpStep {
    /// None: debug parts may follow the link (`dbgfetch fill`).
    #[default]
    None,
    /// GNU `dwp`: finds a `.dwo` by its name, from its working directory.
    Gnu,
    /// `llvm-dwp`: joins a `.dwo`'s name to its unit's compilation directory.
    Llvm,
}

impl DwpStep {
    /// The packager `command` (one evaluated Ninja command) runs: a program whose file name
    /// is `dwp`, `<triple>-dwp`, `llvm-dwp` or `llvm-dwp-<N>`, or the value of a `--flag=`
    /// word naming one (a link wrapper's `--dwp=`). A program is a command's first word, or
    /// the first after `;`, `&`, `|`, `(`, a quote or `--`; so a tool *built* under that name
    /// (`-o bin/llvm-dwp`, `-I tools/llvm-dwp`, as LLVM's own build) runs no packager.
    pub fn of_command(command: &[u8]) -> DwpStep {
        let mut step = DwpStep::None;
        let mut starts = true;
        for token in Tokens(command) {
            let Token::Word(word) = token else {
                starts = true;
                continue;
            };
            let value = word.iter().position(|&b| b == b'=').map(|i| &word[i + 1..]);
            match (starts, value) {
                // `VAR=value` before a program leaves it to come.
                (true, Some(_)) if !word.starts_with(b"-") => continue,
                (_, Some(v)) => step = step.max(program(v)),
                (true, None) => step = step.max(program(word)),
                (false, None) => {}
            }
            starts = word == b"--";
        }
        step
    }

    /// The packager any command of `graph` runs: for an object directory `generate` never saw
    /// (zero setup), whose configuration holds no [`DwpStep::name`].
    pub fn of_graph(graph: &crate::ninja::Graph) -> DwpStep {
        let edges = graph.edge_ids().filter(|&e| !graph.is_phony(e));
        let steps = edges.map(|e| DwpStep::of_command(&graph.evaluate_command(e)));
        steps.max().unwrap_or_default()
    }

    /// The word the object directory's configuration holds (`fetch::objdir::DWP_STEP`).
    pub fn name(self) -> &'static str {
        match self {
            DwpStep::None => "none",
            DwpStep::Gnu => "gnu",
            DwpStep::Llvm => "llvm",
        }
    }

    /// The step a word ([`DwpStep::name`]) names.
    pub fn from_word(word: &str) -> Option<DwpStep> {
        match word {
            "none" => Some(DwpStep::None),
            "gnu" => Some(DwpStep::Gnu),
            "llvm" => Some(DwpStep::Llvm),
            _ => None,
        }
    }
}

/// A command's words and the separators before its programs.
enum Token<'a> {
    Word(&'a [u8]),
    Separator,
}

/// The [`Token`]s of a command, split at blanks.
struct Tokens<'a>(&'a [u8]);

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let separator = |b: u8| b";&|()'\"`".contains(&b);
        let rest = self.0.trim_ascii_start();
        let first = *rest.first()?;
        if separator(first) {
            self.0 = &rest[1..];
            return Some(Token::Separator);
        }
        let end = rest
            .iter()
            .position(|&b| b.is_ascii_whitespace() || separator(b))
            .unwrap_or(rest.len());
        self.0 = &rest[end..];
        Some(Token::Word(&rest[..end]))
    }
}

/// The packager that the program path `word` names, by its file name.
fn program(word: &[u8]) -> DwpStep {
    let name = word.rsplit(|&b| b == b'/').next().unwrap_or(word);
    if let Some(rest) = name.strip_prefix(b"llvm-dwp") {
        let version = |r: &[u8]| r.iter().all(|b| b.is_ascii_digit() || *b == b'.');
        return match rest {
            [] => DwpStep::Llvm,
            [b'-', v @ ..] if !v.is_empty() && version(v) => DwpStep::Llvm,
            _ => DwpStep::None,
        };
    }
    if name == b"dwp" || (name.ends_with(b"-dwp") && name.len() > 4) {
        return DwpStep::Gnu;
    }
    DwpStep::None
}

#[cfg(test)]
mod tests {
    use super::DwpStep;

    #[test]
    fn finds_the_packager_a_command_runs() {
        let cases: &[(&str, DwpStep)] = &[
            (
                ": && cc -o app a.o && cd /o && dwp -e app -o app.dwp && :",
                DwpStep::Gnu,
            ),
            (
                "cd /o && /usr/bin/x86_64-linux-gnu-dwp -e app",
                DwpStep::Gnu,
            ),
            ("llvm-dwp-14 -e app -o app.dwp", DwpStep::Llvm),
            (
                "/usr/lib/llvm-14/bin/llvm-dwp a.dwo b.dwo -o x.dwp",
                DwpStep::Llvm,
            ),
            (
                "python3 link.py --dwp=../../llvm/bin/llvm-dwp --output=app",
                DwpStep::Llvm,
            ),
            ("sh -c 'dwp -e app'", DwpStep::Gnu),
            ("cc -o app a.o", DwpStep::None),
            ("cp app.dwp out/app.dwp", DwpStep::None),
            ("llvm-dwpx -e app", DwpStep::None),
            ("echo -dwp", DwpStep::None),
            // A tool of that name built, or its headers searched: no packager run.
            (": && c++ -g x.o -o bin/llvm-dwp && :", DwpStep::None),
            (
                "c++ -I/src/tools/llvm-dwp -I tools/dwp -c a.cpp",
                DwpStep::None,
            ),
            ("cp bin/dwp out/dwp", DwpStep::None),
            // A packager run after an assignment, a `cd`, or through Meson's wrapper.
            ("cd /o && DWP=1 /usr/bin/dwp -e app", DwpStep::Gnu),
            (
                "meson --internal exe --capture x -- /usr/bin/llvm-dwp -e app",
                DwpStep::Llvm,
            ),
            ("cmake -DDWP=/usr/bin/dwp -P package.cmake", DwpStep::Gnu),
        ];
        for (command, want) in cases {
            assert_eq!(DwpStep::of_command(command.as_bytes()), *want, "{command}");
        }
    }

    #[test]
    fn the_configuration_word_round_trips() {
        for s in [DwpStep::None, DwpStep::Gnu, DwpStep::Llvm] {
            assert_eq!(DwpStep::from_word(s.name()), Some(s));
        }
        assert_eq!(DwpStep::from_word("thorin"), None);
    }
}
