//! The search directories of a compile in the preprocessor's order (the lookup rule's,
//! `super::shadow`): the source's directory, `-iquote`, `-I` and its long forms, the
//! `-iprefix` family, the environment's lists, the compiler's own system directories (its
//! `-E -v` probe, memoised) and `-idirafter`; and whether any of them, the source or a
//! forced include undoes a symbolic link with `..` (`super::links`).

use super::launch::Launcher;
use super::links::Undone;
use super::listings::rel_below;
use super::shadow::parent;
use backend::compile::{CompileCommand, Lang};
use backend::key::lexical_join as lexical;
use fetch::cache as fcache;

impl Launcher<'_> {
    /// The search directories of `cmd` in the preprocessor's order, absolute, and where the
    /// compiler's own system directories lie among them; the directories after those
    /// (`-idirafter`) follow.
    pub(super) fn search_dirs(
        &self,
        cmd: &CompileCommand,
    ) -> (Vec<String>, std::ops::Range<usize>) {
        let named = self.named_dirs(cmd, None);
        let mut all = named.before;
        // A sysroot the command names is the project's, not the compiler's installation: its
        // directories are watched like the command's own, and so are those the probe found
        // absent, first (their place among the others is not printed; earlier is the safe
        // side). A header created in one gave a stale hit (a review, 2026-12-05).
        let obj = self.roots.obj();
        let sysroots: Vec<String> = cmd.sysroots().iter().map(|r| lexical(obj, r)).collect();
        let under = |d: &String| sysroots.iter().any(|r| d == r || rel_below(r, d).is_some());
        let probed = self.system_dirs(cmd);
        let (watched, own): (Vec<String>, Vec<String>) =
            probed.present.into_iter().partition(under);
        all.extend(probed.absent.into_iter().filter(under));
        all.extend(watched);
        let start = all.len();
        all.extend(own);
        let system = start..all.len();
        all.extend(named.after);
        (all, system)
    }

    /// The first directory that a `..` in the paths of `cmd` undoes and that is not a plain
    /// directory (`super::links`): in the source's path, a search directory the command or
    /// the environment names, or a forced include. Then the compile is not cached.
    pub(super) fn dotdot_through_link(&self, cmd: &CompileCommand) -> Option<String> {
        const ENV: [&str; 3] = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"];
        let dotted = |s: &str| s.contains("..");
        // (The key's environment holds these lists, read once per launch.)
        let env_dotted = || {
            let listed = |k: &String| ENV.contains(&k.as_str());
            self.env.iter().any(|(k, v)| listed(k) && dotted(v))
        };
        if !dotted(&cmd.source) && !cmd.args.iter().any(|a| dotted(a)) && !env_dotted() {
            return None;
        }
        let mut undone = Undone::default();
        let obj = self.roots.obj();
        let forced = cmd.forced_reads();
        let paths = std::iter::once(cmd.source.as_str()).chain(forced.iter().copied());
        let found = paths
            .filter_map(|p| undone.through_link(obj, p, true))
            .next();
        found.or_else(|| self.named_dirs(cmd, Some(&mut undone)).through_link)
    }

    /// The search directories `cmd` and the environment name (absolute), around the place of
    /// the compiler's own, and with `undone` the first directory one of them undoes with a
    /// `..` that is not a plain directory (asked of it).
    fn named_dirs(&self, cmd: &CompileCommand, undone: Option<&mut Undone>) -> NamedDirs {
        let mut join = DirJoiner {
            obj: self.roots.obj(),
            undone,
            through_link: None,
        };
        let mut lists = NamedLists::new(join.join(&parent(&cmd.source)));
        let mut words = cmd.args.iter();
        while let Some(a) = words.next() {
            lists.add(a, &mut words, &mut join);
        }
        let mut before = lists.quote;
        before.extend(lists.angle);
        before.extend(lists.angle_late);
        before.extend(join.env_dirs("CPATH"));
        before.extend(lists.system);
        let lang_env = match cmd.lang {
            Lang::Cxx | Lang::PreprocessedCxx => "CPLUS_INCLUDE_PATH",
            _ => "C_INCLUDE_PATH",
        };
        before.extend(join.env_dirs(lang_env));
        NamedDirs {
            before,
            after: lists.after,
            through_link: join.through_link,
        }
    }

    /// The compiler's system include directories for `cmd`'s language (`-E -v`): those it
    /// searches and those it would if they existed; memoised per compiler and language.
    fn system_dirs(&self, cmd: &CompileCommand) -> ProbedDirs {
        let lang = match cmd.lang {
            Lang::Cxx | Lang::PreprocessedCxx => "c++",
            _ => "c",
        };
        // Options that move the system directories run the probe too, with their values
        // (`-isysroot DIR`: the probe ran `-isysroot -E` once, 2026-12-05).
        let moving: Vec<String> = cmd
            .toolchain_words()
            .into_iter()
            .map(String::from)
            .collect();
        let compiler = std::fs::canonicalize(
            super::identity::resolve_program(&cmd.compiler).unwrap_or_default(),
        )
        .unwrap_or_default();
        // The probe lists the environment's directories too (`search_dirs` reads them itself,
        // but a probe made under one `CPATH` must not speak for another).
        let env: Vec<String> = ["CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"]
            .iter()
            .map(|v| std::env::var(v).map_or_else(|_| "unset".into(), |d| format!("={d}")))
            .collect();
        let memo_key = fcache::Digest::of(
            format!(
                "cached-ninja system dirs 5\0{}\0{lang}\0{}\0{}",
                compiler.display(),
                moving.join("\0"),
                env.join("\0")
            )
            .as_bytes(),
        );
        let make = || {
            let mut args: Vec<String> = vec!["-x".into(), lang.into()];
            args.extend(moving);
            args.extend(["-E", "-v", "/dev/null", "-o", "/dev/null"].map(String::from));
            let r = self.runner.run(&cmd.compiler, &args).ok()?;
            let text = String::from_utf8_lossy(&r.stderr);
            // Absent ones, each line `?dir` in the memo.
            let absent = text.lines().filter_map(|l| {
                let d = l.strip_prefix("ignoring nonexistent directory \"")?;
                let d = d.strip_suffix('"')?;
                Some(format!("?{d}"))
            });
            let mut dirs: Vec<String> = text
                .lines()
                .skip_while(|l| !l.starts_with("#include <...> search starts here:"))
                .skip(1)
                .take_while(|l| !l.starts_with("End of search list."))
                .map(|l| {
                    l.trim()
                        .trim_end_matches(" (framework directory)")
                        .to_string()
                })
                .collect();
            dirs.extend(absent);
            Some(dirs.join("\n"))
        };
        let text = self.cache.memo_or_make(&memo_key, make).unwrap_or_default();
        // Relative ones are kept as printed and joined to this launch's working directory:
        // an environment list's (`CPATH=:dir` lists `.`; taken from `/` it made every file
        // the compiler's own, a wrong hit, 2026-12-05) and a relative sysroot's (dropped
        // before, a review's wrong hit).
        let obj = self.roots.obj();
        let mut probed = ProbedDirs::default();
        for line in text.lines() {
            match line.strip_prefix('?') {
                Some(d) => probed.absent.push(lexical(obj, d)),
                None => probed.present.push(lexical(obj, line)),
            }
        }
        probed
    }
}

/// The compiler's system include directories, as its probe printed them.
#[derive(Default)]
struct ProbedDirs {
    /// Those it searches, in order.
    present: Vec<String>,
    /// Those it would search if they existed ("ignoring nonexistent directory").
    absent: Vec<String>,
}

/// The search directories a command and the environment name ([`Launcher::named_dirs`]).
struct NamedDirs {
    /// Those searched before the compiler's own system directories, in order.
    before: Vec<String>,
    /// Those searched after them (`-idirafter` and its kin).
    after: Vec<String>,
    /// The first directory a `..` of theirs undoes that is not a plain directory.
    through_link: Option<String>,
}

/// Makes the directories a command and the environment name absolute, and notes the first
/// one that a `..` of theirs undoes through a link.
struct DirJoiner<'a> {
    /// The object directory, which relative directories are taken from.
    obj: &'a str,
    /// What is asked whether a `..` undoes a link (`None`: nothing is asked).
    undone: Option<&'a mut Undone>,
    /// The first directory joined so far whose `..` undoes something that is not a plain
    /// directory.
    through_link: Option<String>,
}

impl DirJoiner<'_> {
    /// `v` taken from the object directory, after noting whether its `..` undoes a link.
    fn join(&mut self, v: &str) -> String {
        if let (None, Some(u)) = (&self.through_link, self.undone.as_deref_mut()) {
            self.through_link = u.through_link(self.obj, v, true);
        }
        lexical(self.obj, v)
    }

    /// The directories of the environment's list `name` (unset: none), absolute.
    fn env_dirs(&mut self, name: &str) -> Vec<String> {
        std::env::var(name)
            .map(|v| {
                // An empty element is the working directory (gcc and clang).
                v.split(':')
                    .map(|d| match d {
                        "" => self.obj.to_string(),
                        d => self.join(d),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The directories a command's words name, list by list, each in the order named.
struct NamedLists {
    /// The source's directory, then `-iquote`'s.
    quote: Vec<String>,
    /// `-I`'s and `--include-directory`'s.
    angle: Vec<String>,
    /// `-iwithprefixbefore`'s: gcc's and clang's drivers pass every `-I` before the `-i…`
    /// options, so such a directory is searched after all of them, wherever it stands.
    angle_late: Vec<String>,
    /// `-isystem`'s.
    system: Vec<String>,
    /// `-idirafter`'s, `-iwithprefix`'s and `--include-directory-after`'s.
    after: Vec<String>,
    /// `-iprefix`'s prefix for `-iwithprefix` (where `-idirafter` puts a directory) and
    /// `-iwithprefixbefore` (where `-I` does).
    prefix: String,
}

impl NamedLists {
    /// Only `source_dir`, the source's directory, named yet.
    fn new(source_dir: String) -> Self {
        NamedLists {
            quote: vec![source_dir],
            angle: Vec::new(),
            angle_late: Vec::new(),
            system: Vec::new(),
            after: Vec::new(),
            prefix: String::new(),
        }
    }

    /// Adds the directory the word `a` names (with its value, or the next of `words`) to its
    /// list, or keeps the prefix `-iprefix` names; any other word names none.
    fn add(&mut self, a: &str, words: &mut std::slice::Iter<'_, String>, join: &mut DirJoiner<'_>) {
        if a.starts_with("--include-directory-after") {
            let v = option_value(a, "--include-directory-after", words);
            self.after.extend(v.map(|v| join.join(&v)));
            return;
        }
        if a == "--include-directory" || a.starts_with("--include-directory=") {
            let v = option_value(a, "--include-directory", words);
            self.angle.extend(v.map(|v| join.join(&v)));
            return;
        }
        if a.starts_with("-iprefix") {
            self.prefix = option_value(a, "-iprefix", words).unwrap_or_default();
            return;
        }
        if a.starts_with("-iwithprefixbefore") {
            let v = option_value(a, "-iwithprefixbefore", words).unwrap_or_default();
            self.angle_late
                .push(join.join(&[self.prefix.as_str(), &v].concat()));
            return;
        }
        if a.starts_with("-iwithprefix") {
            let v = option_value(a, "-iwithprefix", words).unwrap_or_default();
            self.after
                .push(join.join(&[self.prefix.as_str(), &v].concat()));
            return;
        }
        self.add_short(a, words, join);
    }

    /// Adds the directory of an `-iquote`, `-isystem`, `-idirafter` or `-I` word `a` (its
    /// value, or the next of `words`) to its list.
    fn add_short(
        &mut self,
        a: &str,
        words: &mut std::slice::Iter<'_, String>,
        join: &mut DirJoiner<'_>,
    ) {
        for (opt, list) in [
            ("-iquote", &mut self.quote),
            ("-isystem", &mut self.system),
            ("-idirafter", &mut self.after),
            ("-I", &mut self.angle),
        ] {
            let value = if a == opt {
                words.next().cloned()
            } else {
                a.strip_prefix(opt)
                    .filter(|v| !v.is_empty() && !v.starts_with('-'))
                    .map(str::to_string)
            };
            if let Some(v) = value {
                list.push(join.join(&v));
                break;
            }
        }
    }
}

/// The value of the option `opt` that the word `a` starts with: the next of `words` when `a`
/// is `opt` alone, else the rest of `a` (after an `=`), unless empty.
fn option_value(a: &str, opt: &str, words: &mut std::slice::Iter<'_, String>) -> Option<String> {
    if a == opt {
        words.next().cloned()
    } else {
        a.strip_prefix(opt)
            .map(|v| v.strip_prefix('=').unwrap_or(v).to_string())
            .filter(|v| !v.is_empty())
    }
}
