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
    /// The packager `command` (one evaluated Ninja command) runs: a word (or the value of a
    /// `--flag=` word) whose file name is `dwp`, `<triple>-dwp`, `llvm-dwp` or `llvm-dwp-<N>`,
    /// wherever it stands (after `cmake -E env`, `nice`, `timeout`, quoted with a blank in
    /// its path): a packager missed fails the build. Not the words that name no program run:
    /// the output after `-o` and the directories after `-I`, `-L` or `cd` (a tool *built*
    /// under that name, as LLVM's own build does), a flag without a value (`-I…/tools/llvm-dwp`),
    /// CMake's install component (`-DCMAKE_INSTALL_COMPONENT=llvm-dwp`).
    pub fn of_command(command: &[u8]) -> DwpStep {
        const QUOTES: &[u8] = b"'\"`";
        let separator = |b: &u8| b.is_ascii_whitespace() || b";&|()".contains(b);
        let mut step = DwpStep::None;
        let mut names_no_program = false;
        for word in command.split(separator).map(|w| trim(w, QUOTES)) {
            let after_flag = std::mem::replace(&mut names_no_program, takes_path(word));
            if after_flag || word.is_empty() {
                continue;
            }
            let found = match word.iter().position(|&b| b == b'=') {
                Some(i) if word[..i].ends_with(b"CMAKE_INSTALL_COMPONENT") => DwpStep::None,
                Some(i) => program(trim(&word[i + 1..], QUOTES)),
                None if word.starts_with(b"-") => DwpStep::None,
                None => program(word),
            };
            step = step.max(found);
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

/// Whether the word after `flag` is a path no command runs (a compile's or link's output, a
/// directory searched or entered).
fn takes_path(flag: &[u8]) -> bool {
    const FLAGS: &[&[u8]] = &[
        b"cd",
        b"chdir",
        b"-o",
        b"-I",
        b"-L",
        b"-isystem",
        b"-iquote",
        b"-idirafter",
        b"-MF",
        b"-MT",
        b"-MQ",
    ];
    FLAGS.contains(&flag)
}

/// `word` without `chars` at either end.
fn trim<'a>(word: &'a [u8], chars: &[u8]) -> &'a [u8] {
    let start = word.iter().position(|b| !chars.contains(b));
    let end = word.iter().rposition(|b| !chars.contains(b));
    match (start, end) {
        (Some(s), Some(e)) => &word[s..=e],
        _ => &[],
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
            // A tool of that name built or installed, or its headers searched: no packager.
            (": && c++ -g x.o -o bin/llvm-dwp && :", DwpStep::None),
            ("/usr/bin/c++ -O2 -o \"bin/llvm-dwp\" a.o", DwpStep::None),
            (
                "c++ -I/src/tools/llvm-dwp -I tools/dwp -c a.cpp",
                DwpStep::None,
            ),
            (
                "cd /b/tools/llvm-dwp && cmake -DCMAKE_INSTALL_COMPONENT=\"llvm-dwp\" -P x.cmake",
                DwpStep::None,
            ),
            (
                "cmake -DCMAKE_INSTALL_COMPONENT=llvm-dwp -DCMAKE_INSTALL_DO_STRIP=1 -P x.cmake",
                DwpStep::None,
            ),
            // A packager run after an assignment, a `cd`, through a program that runs
            // another (Meson's wrapper, `cmake -E env`, `nice`, `timeout`), or quoted with a
            // blank in its path (a review found these missed, and the build failed).
            ("cd /o && DWP=1 /usr/bin/dwp -e app", DwpStep::Gnu),
            (
                "meson --internal exe --capture x -- /usr/bin/llvm-dwp -e app",
                DwpStep::Llvm,
            ),
            ("cmake -DDWP=/usr/bin/dwp -P package.cmake", DwpStep::Gnu),
            (
                "cd /o && /usr/bin/cmake -E env FOO=1 /usr/bin/llvm-dwp -e app -o app.dwp",
                DwpStep::Llvm,
            ),
            ("env DWARF=1 llvm-dwp -e app -o app.dwp", DwpStep::Llvm),
            (
                "cd /o && cmake -E chdir /o /usr/bin/dwp -e app -o app.dwp",
                DwpStep::Gnu,
            ),
            ("nice -n 5 dwp -e app -o app.dwp", DwpStep::Gnu),
            ("timeout 600 llvm-dwp -e app", DwpStep::Llvm),
            (
                "cd \"/home/me/my build\" && \"/opt/llvm 17/bin/llvm-dwp\" -e app -o app.dwp",
                DwpStep::Llvm,
            ),
            (
                "meson --internal exe -- '/opt/llvm 17/bin/llvm-dwp' -e app",
                DwpStep::Llvm,
            ),
            ("/opt/llvm\\ 17/bin/llvm-dwp -e app", DwpStep::Llvm),
            (
                "python3 gcc_link_wrapper.py --output=./app --dwp=../../bin/llvm-dwp -- clang++",
                DwpStep::Llvm,
            ),
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
