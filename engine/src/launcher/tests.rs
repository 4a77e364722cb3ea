//! Unit tests of launches with a fake compiler: miss, hit and header change; failed compiles;
//! each fallback from a hit to a compile and its named counter; the compiler memo; the
//! preprocessor command; the edge log and the preimage a miss records.

use super::launch::Launcher;
use super::runner::{RunResult, Runner};
use backend::key::Roots;
use fetch::cache::{self as fcache, ActionEntry, LocalCache, Output, Role};
use fetch::stats::{self, BuildStats, Problem};
use std::cell::{Cell, RefCell};
use std::io;
use std::path::{Path, PathBuf};

/// A fake gcc (or clang): `-dumpmachine`/`--version` answer, a compile writes an object made
/// of the source and header bytes and a depfile listing `a.c` and `a.h`.
#[derive(Default)]
struct FakeCompiler {
    dir: PathBuf,
    compiles: RefCell<u32>,
    /// Answer `--version` as clang.
    clang: bool,
    /// Exit code of a compile (its object is not written unless 0).
    exit: Cell<i32>,
    /// A compile cannot be started.
    spawn_error: Cell<bool>,
    /// The next `-print-prog-name=cc1` cannot be started (no process left).
    companion_probe_error: Cell<bool>,
    /// `-dumpmachine` runs (the compiler memo's misses).
    probes: Cell<u32>,
    /// The arguments of each preprocessor (`-E`) run.
    preprocessed: RefCell<Vec<Vec<String>>>,
}

impl Runner for FakeCompiler {
    fn run_with_env(
        &self,
        _program: &str,
        args: &[String],
        _env: &[(String, String)],
        _limit: Option<std::time::Duration>,
    ) -> io::Result<RunResult> {
        if args == ["-dumpmachine"] {
            self.probes.set(self.probes.get() + 1);
            return Ok(RunResult {
                stdout: b"x86_64-linux-gnu\n".to_vec(),
                ..Default::default()
            });
        }
        if args == ["--version"] {
            let v: &[u8] = if self.clang {
                b"clang version 1 (fake)\n"
            } else {
                b"gcc (fake) 1\n"
            };
            return Ok(RunResult {
                stdout: v.to_vec(),
                ..Default::default()
            });
        }
        if args.iter().any(|a| a == "-v") && args.iter().any(|a| a == "-E") {
            // The system directories probe of the lookup rule (`shadow`).
            return Ok(RunResult {
                stderr: b"#include <...> search starts here:\n /usr/include\nEnd of search list.\n"
                    .to_vec(),
                ..Default::default()
            });
        }
        if args == ["-print-prog-name=cc1"] && self.companion_probe_error.replace(false) {
            return Err(io::Error::from_raw_os_error(libc::EAGAIN));
        }
        if args.iter().any(|a| a.starts_with("-print-")) {
            // The compiler's companions (`identity`): none in its own directories.
            return Ok(RunResult {
                stdout: b"cc1\n".to_vec(),
                ..Default::default()
            });
        }
        if args.iter().any(|a| a == "--MD") {
            // The probe of an assembler's dependency file (`asm_reads`): this one has none.
            return Ok(RunResult {
                code: 1,
                ..Default::default()
            });
        }
        if args.contains(&"-E".to_string()) {
            self.preprocessed.borrow_mut().push(args.to_vec());
        } else if self.spawn_error.get() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such compiler"));
        }
        let mf = &args[args.iter().position(|a| a == "-MF").unwrap() + 1];
        let header = self.dir.join("a.h");
        std::fs::write(
            mf,
            format!(
                "x: {} {}\n",
                self.dir.join("a.c").display(),
                header.display()
            ),
        )?;
        if args.contains(&"-E".to_string()) {
            return Ok(RunResult::default());
        }
        *self.compiles.borrow_mut() += 1;
        if self.exit.get() != 0 {
            return Ok(RunResult {
                code: self.exit.get(),
                stderr: b"a.c:1: error: bad\n".to_vec(),
                ..Default::default()
            });
        }
        assert!(args.iter().any(|a| a.starts_with("-ffile-prefix-map=")));
        let out = &args[args.iter().position(|a| a == "-o").unwrap() + 1];
        let mut obj = std::fs::read(self.dir.join("a.c"))?;
        obj.extend(std::fs::read(&header)?);
        std::fs::write(self.dir.join(out), obj)?;
        Ok(RunResult {
            stderr: format!("{}/a.c: warning\n", self.dir.display()).into_bytes(),
            ..Default::default()
        })
    }
    fn exec(&self, _: &str, _: &[String]) -> io::Result<i32> {
        Ok(99)
    }
}

/// A temp dir with `fakecc`, `a.c` and `a.h`, a fake compiler and a launcher over them.
fn with_launcher(clang: bool, f: impl FnOnce(&Path, &FakeCompiler, &Launcher)) {
    with_launcher_as(clang, false, true, f)
}

/// [`with_launcher`], the launcher appending its key explanations to `explain.txt` if
/// `explain`, and trusting settled stat stamps if `trust_stat`.
fn with_launcher_as(
    clang: bool,
    explain: bool,
    trust_stat: bool,
    f: impl FnOnce(&Path, &FakeCompiler, &Launcher),
) {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    std::fs::write(dir.join("fakecc"), "#!/bin/false\n").unwrap();
    std::fs::write(dir.join("a.c"), "int a;\n").unwrap();
    std::fs::write(dir.join("a.h"), "int h;\n").unwrap();
    let fake = FakeCompiler {
        dir: dir.clone(),
        clang,
        ..Default::default()
    };
    let pull = fetch::want::FileLink::new(fetch::objdir::ObjDir::new(&dir));
    let l = Launcher {
        runner: &fake,
        pull: &pull,
        cache: LocalCache::new(dir.join("cache")),
        roots: Roots::new(dir.to_str().unwrap(), None),
        obj_aliases: vec![],
        env: vec![],
        env_refusal: None,
        date_pinned: false,
        one_shot: false,
        plan_wait: true,
        trust_stat,
        preprocessor_fallback: true,
        max_size: 1 << 30,
        explain: explain.then(|| dir.join("explain.txt")),
        warned: Default::default(),
        time_pinned: Default::default(),
        edge: Default::default(),
        family: Default::default(),
        distribute: None,
        cpu: Default::default(),
        policy_read: None,
        dwp_step: Default::default(),
        read_scans: Default::default(),
        recent: Default::default(),
        known_tools: Default::default(),
        facts: Default::default(),
        cpu_start: std::cell::Cell::new(0),
        stall_materialise: None,
    };
    f(&dir, &fake, &l);
}

/// `fakecc -c a.c -o a.o` in `dir`, then `extra`.
fn command(dir: &Path, extra: &[&str]) -> Vec<String> {
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let mut v = vec![p("fakecc"), "-c".into(), p("a.c"), "-o".into(), p("a.o")];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Rewrites every action entry of the launcher's cache with `f`.
fn rewrite_entries(l: &Launcher, f: impl Fn(&mut ActionEntry)) {
    let mut n = 0;
    for sub in std::fs::read_dir(l.cache.root().join("ac")).unwrap() {
        for file in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let name = file.unwrap().file_name();
            let key = fcache::Digest::from_hex(name.to_str().unwrap()).unwrap();
            let mut e = l.cache.get_action(&key).unwrap().unwrap();
            f(&mut e);
            l.cache.put_action(&key, &e).unwrap();
            n += 1;
        }
    }
    assert!(n > 0, "no action entry to rewrite");
}

/// Launches `cmd` as a fresh process would (no warning printed yet); returns the exit code
/// and whether it printed its warning line.
fn launch(l: &Launcher, cmd: &[String]) -> (i32, bool) {
    l.warned.set(false);
    let code = l.launch(cmd.to_vec());
    (code, l.warned.get())
}

#[test]
fn failed_compile_is_counted_as_failed_without_gdbinit() {
    with_launcher(false, |dir, fake, l| {
        let gdbinit = dir.join(".cached-ninja/gdbinit");
        fake.exit.set(1);
        assert_eq!(launch(l, &command(dir, &[])), (1, false));
        let s = BuildStats::read(dir).unwrap();
        assert_eq!((s.misses, s.failed, s.errors), (0, 1, 0));
        assert!(!gdbinit.exists(), "no object, no mapping to record");
        assert!(!dir.join("cache/ac").exists(), "nothing stored");
        fake.exit.set(0);
        assert_eq!(launch(l, &command(dir, &[])), (0, false));
        let s = BuildStats::read(dir).unwrap();
        assert_eq!((s.misses, s.failed), (1, 1));
        assert!(gdbinit.exists());
    });
}

#[test]
fn compiler_that_cannot_start_is_counted() {
    with_launcher(false, |dir, fake, l| {
        fake.spawn_error.set(true);
        assert_eq!(launch(l, &command(dir, &[])).0, 127);
        let s = BuildStats::read(dir).unwrap();
        assert_eq!((s.misses, s.errors, s.problem(Problem::Spawn)), (0, 1, 1));
    });
}

/// Each way a found entry cannot be served falls back to a compile, prints a warning and
/// counts its named problem exactly once.
#[test]
fn hit_fallbacks_compile_warn_and_count() {
    // An output role a C compile does not make (an entry from another tool or version).
    with_launcher(false, |dir, fake, l| {
        let cmd = command(dir, &[]);
        assert_eq!(launch(l, &cmd), (0, false));
        rewrite_entries(l, |e| {
            let mut o = e.outputs[0].clone();
            o.role = Role::Rlib;
            o.path = "liba.rlib".into();
            e.outputs.push(o);
        });
        assert_eq!(launch(l, &cmd), (0, true));
        assert_eq!(*fake.compiles.borrow(), 2, "compiled instead");
        let s = BuildStats::read(dir).unwrap();
        assert_eq!((s.hits, s.misses, s.errors), (0, 2, 1));
        assert_eq!(s.problem(Problem::UnknownRole), 1);
        assert_eq!(launch(l, &cmd), (0, false), "the new entry serves");
        assert_eq!(BuildStats::read(dir).unwrap().hits, 1);
    });
    // A .dwo output for a command without split DWARF.
    with_launcher(false, |dir, fake, l| {
        let cmd = command(dir, &[]);
        launch(l, &cmd);
        rewrite_entries(l, |e| {
            let mut o = e.outputs[0].clone();
            o.role = Role::Dwo;
            o.path = "a.dwo".into();
            e.outputs.push(o);
        });
        assert_eq!(launch(l, &cmd), (0, true));
        assert_eq!(*fake.compiles.borrow(), 2);
        let s = BuildStats::read(dir).unwrap();
        assert_eq!((s.errors, s.problem(Problem::NoDwoPath)), (1, 1));
    });
    // An output that cannot be written (the .dwo path is a non-empty directory).
    with_launcher(false, |dir, fake, l| {
        let cmd = command(dir, &["-g", "-gsplit-dwarf"]);
        launch(l, &cmd);
        let digest = l.cache.put_blob(b"dwo").unwrap();
        rewrite_entries(l, |e| {
            e.outputs.push(Output {
                role: Role::Dwo,
                path: "a.dwo".into(),
                digest,
                size: 3,
            })
        });
        std::fs::create_dir_all(dir.join("a.dwo/full")).unwrap();
        assert_eq!(launch(l, &cmd), (0, true));
        assert_eq!(*fake.compiles.borrow(), 2);
        let s = BuildStats::read(dir).unwrap();
        assert_eq!(s.problem(Problem::WriteOutput), 1, "{s:?}");
    });
    // A depfile that cannot be written: the hit falls back, the compile then fails the same way.
    with_launcher(false, |dir, fake, l| {
        launch(l, &command(dir, &[]));
        std::fs::write(dir.join("notadir"), "").unwrap();
        let dep = dir.join("notadir/a.d").to_string_lossy().into_owned();
        let cmd = command(dir, &["-MD", "-MF", &dep]);
        assert_eq!(launch(l, &cmd), (1, true));
        assert_eq!(*fake.compiles.borrow(), 2);
        let s = BuildStats::read(dir).unwrap();
        assert_eq!((s.errors, s.problem(Problem::WriteDepfile)), (2, 2));
    });
}

/// The memo is keyed by the real executable: another spelling of it (a symlink, `./`) reuses
/// the identity instead of running the compiler again.
#[test]
fn compiler_memo_is_shared_by_spellings() {
    with_launcher(false, |dir, fake, l| {
        let mut cmd = command(dir, &[]);
        launch(l, &cmd);
        assert_eq!(fake.probes.get(), 1);
        std::os::unix::fs::symlink(dir.join("fakecc"), dir.join("cc-link")).unwrap();
        for spelled in [dir.join("cc-link"), dir.join("./fakecc")] {
            cmd[0] = spelled.to_string_lossy().into_owned();
            assert_eq!(launch(l, &cmd), (0, false));
        }
        assert_eq!(fake.probes.get(), 1, "identified once");
        assert_eq!(BuildStats::read(dir).unwrap().hits, 2);
    });
}

/// A companion's probe that cannot be started leaves the compiler unidentified that time (the
/// compile runs as it is) and nothing memoised: the next launch works the identity out again,
/// in full, and caches.
#[test]
fn a_companion_probe_not_started_is_not_memoised() {
    with_launcher(false, |dir, fake, l| {
        fake.companion_probe_error.set(true);
        let cmd = command(dir, &[]);
        // Run as it is: the fake's `exec` answers 99.
        assert_eq!(launch(l, &cmd).0, 99);
        assert_eq!(fake.probes.get(), 1);
        assert_eq!(launch(l, &cmd), (0, false));
        assert_eq!(
            fake.probes.get(),
            2,
            "worked out again, not taken from a memo"
        );
        assert_eq!(BuildStats::read(dir).unwrap().misses, 1);
        assert_eq!(launch(l, &cmd), (0, false));
        assert_eq!(fake.probes.get(), 2, "memoised once made in full");
        assert_eq!(BuildStats::read(dir).unwrap().hits, 1);
    });
}

/// A launcher keeps the compiler's identity it worked out for its next launches (the pass
/// ahead of Ninja serves hundreds with one per thread): not even the memo is read again.
#[test]
fn a_launcher_keeps_the_identity_it_worked_out() {
    with_launcher(false, |dir, fake, l| {
        let cmd = command(dir, &[]);
        assert_eq!(launch(l, &cmd), (0, false));
        assert_eq!(fake.probes.get(), 1);
        std::fs::remove_dir_all(dir.join("cache/memo")).unwrap();
        assert_eq!(launch(l, &cmd), (0, false));
        assert_eq!(
            fake.probes.get(),
            1,
            "kept by the launcher, not asked again"
        );
        assert!(l.assembler().is_some());
        std::fs::remove_dir_all(dir.join("cache/memo")).unwrap();
        let kept = l.assembler();
        assert!(
            !dir.join("cache/memo").exists(),
            "no memo read or made again"
        );
        assert_eq!(kept, l.assembler());
    });
}

/// The preprocessor command comes from the command model: the output and `-c` go, the
/// user's dependency-file options are not there, options that merely start with `-o` stay.
#[test]
fn preprocessor_command_from_the_model() {
    with_launcher(true, |dir, fake, l| {
        let dep = dir.join("a.d").to_string_lossy().into_owned();
        let cmd = command(
            dir,
            &["-objcmt-migrate-literals", "-MD", "-MF", &dep, "-MT", "x.o"],
        );
        assert_eq!(launch(l, &cmd), (0, false));
        let runs = fake.preprocessed.borrow();
        assert_eq!(runs.len(), 1);
        let args = &runs[0];
        let n = |w: &str| args.iter().filter(|a| *a == w).count();
        assert_eq!(n("-objcmt-migrate-literals"), 1, "{args:?}");
        assert_eq!(
            (n("-c"), n("-MD"), n("-MT"), n("-MF"), n("-o")),
            (0, 0, 0, 1, 1)
        );
        assert_eq!(args[args.len() - 2..], ["-o", "/dev/null"], "{args:?}");
        assert!(std::fs::read_to_string(&dep).unwrap().starts_with("x.o:"));
    });
}

#[test]
fn miss_then_hit_then_header_change() {
    with_launcher_as(false, true, true, |dir, fake, l| {
        let cmd = command(dir, &[]);
        let (cc, a_c) = (cmd[0].clone(), cmd[2].clone());
        let a_o = dir.join("a.o");
        assert_eq!(l.launch(cmd.clone()), 0);
        assert_eq!(*fake.compiles.borrow(), 1);
        std::fs::remove_file(&a_o).unwrap();
        assert_eq!(l.launch(cmd.clone()), 0, "hit");
        assert_eq!(*fake.compiles.borrow(), 1);
        assert_eq!(std::fs::read(&a_o).unwrap(), b"int a;\nint h;\n");
        std::fs::write(dir.join("a.h"), "int h2;\n").unwrap();
        assert_eq!(l.launch(cmd.clone()), 0);
        assert_eq!(*fake.compiles.borrow(), 2, "a header change misses");
        assert_eq!(std::fs::read(&a_o).unwrap(), b"int a;\nint h2;\n");
        // Uncacheable commands go to exec unchanged.
        assert_eq!(l.launch(vec![cc, a_c]), 99);
        let s = stats::BuildStats::read(dir).unwrap();
        assert_eq!((s.hits, s.misses, s.uncacheable), (1, 2, 1));
        let explained = std::fs::read_to_string(dir.join("explain.txt")).unwrap();
        assert!(explained.contains("arg: \"-c\""), "{explained}");
        // Captured output is stored with placeholders and replayed with this machine's roots.
        let marked = l.mark(format!("{}/a.c: warning", dir.display()).as_bytes());
        assert!(!String::from_utf8_lossy(&marked).contains(dir.to_str().unwrap()));
        assert_eq!(
            l.unmark(&marked),
            format!("{}/a.c: warning", dir.display()).into_bytes()
        );
    });
}

/// The pass ahead of Ninja reuses its lookups' checks of the headers for a moment only: a
/// header changed is seen by its lookups once the window is over.
#[test]
fn the_pass_sees_a_changed_header_once_its_recent_checks_are_over() {
    with_launcher_as(false, true, true, |dir, fake, l| {
        let cmd = command(dir, &[]);
        let a_o = dir.join("a.o");
        assert_eq!(l.launch(cmd.clone()), 0);
        std::fs::remove_file(&a_o).unwrap();
        assert!(l.serve_ahead(&cmd), "a hit served ahead");
        assert_eq!(*fake.compiles.borrow(), 1);
        std::fs::write(dir.join("a.h"), "int h2;\n").unwrap();
        std::thread::sleep(super::lookup::RECENT_FOR + std::time::Duration::from_millis(20));
        std::fs::remove_file(&a_o).unwrap();
        assert!(!l.serve_ahead(&cmd), "the changed header is seen");
        assert!(!a_o.exists());
    });
}

/// Each launch's outcome, keys and problems are in the edge log (`cached-ninja explain`); a
/// miss records its source key's preimage, a hit reads nothing of it.
#[test]
fn edge_log_and_preimage() {
    with_launcher(false, |dir, fake, l| {
        let cmd = command(dir, &[]);
        let out = dir.join("a.o").display().to_string();
        let last = || fetch::edge_log::last(dir, &out).unwrap().unwrap();
        assert_eq!(l.launch(cmd.clone()), 0);
        let miss = last();
        assert_eq!((miss.outcome.as_str(), miss.waited_ms), ("miss", 0));
        let (s, a) = (miss.source_key.unwrap(), miss.action_key.unwrap());
        let pre = super::preimage::recorded(&l.cache, &s).unwrap();
        assert!(pre.contains("arg: \"-c\"\n"), "{pre}");
        assert!(
            pre.starts_with("domain: \"cached-ninja source key\"\n"),
            "{pre}"
        );
        std::fs::remove_file(dir.join("a.o")).unwrap();
        assert_eq!(l.launch(cmd.clone()), 0);
        let hit = last();
        assert_eq!(hit.outcome, "hit");
        assert_eq!((hit.source_key, hit.action_key), (Some(s), Some(a)));
        assert!(hit.notes.is_empty(), "{hit:?}");
        // A header change misses with another action key; a compiler that cannot start is an
        // `error` launch naming its problem, with no action key.
        std::fs::write(dir.join("a.h"), "int h2;\n").unwrap();
        assert_eq!(l.launch(cmd.clone()), 0);
        let changed = last();
        assert_eq!(changed.source_key, Some(s));
        assert_ne!(changed.action_key, Some(a));
        fake.spawn_error.set(true);
        std::fs::write(dir.join("a.h"), "int h3;\n").unwrap();
        assert_eq!(l.launch(cmd.clone()), 127);
        let failed = last();
        assert_eq!(
            (failed.outcome.as_str(), failed.action_key),
            ("error", None)
        );
        assert_eq!(failed.notes, vec!["spawn".to_string()]);
    });
}

/// What the pull records of a header (`header_here`): its digest as a launch in the object
/// root reads it, a relative path taken from the object root whatever this process's working
/// directory, with its stamp once settled; nothing for a missing file or a pseudo-input.
#[test]
fn a_header_here_is_read_from_the_object_root_with_its_stamp_once_settled() {
    with_launcher(false, |dir, _, l| {
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(10);
        let md = std::fs::metadata(dir.join("a.h")).unwrap();
        let (digest, stamp) = (fcache::Digest::of(b"int h;\n"), fcache::StatStamp::of(&md));
        let here = |p: &str, now| l.header_here(p, now).map(|(f, s)| (f.digest, s));
        assert_ne!(std::env::current_dir().unwrap(), dir);
        assert_eq!(here("a.h", later), Some((digest, Some(stamp))));
        let absolute = dir.join("a.h");
        assert_eq!(
            here(absolute.to_str().unwrap(), later),
            Some((digest, Some(stamp)))
        );
        assert_eq!(
            here("a.h", std::time::SystemTime::now()),
            Some((digest, None))
        );
        assert_eq!(here("missing.h", later), None);
        assert_eq!(here("$CARGO_PKG_NAME", later), None);
    });
}

/// A header's facts (`header_facts`): remembered for a settled version in its directory's
/// memo and taken from it after (a planted digest comes back), read again when the file
/// changes, not remembered while too young to trust nor when it holds time macros, and a
/// malformed memo is read past.
#[test]
fn header_facts_are_remembered_per_settled_version() {
    use super::header_facts::{dir_key, encode, HeaderFacts};
    with_launcher(false, |dir, _, l| {
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(10);
        let h = dir.join("a.h");
        let md = std::fs::metadata(&h).unwrap();
        let stamp = fcache::StatStamp::of(&md);
        let key = dir_key(dir.to_str().unwrap());
        let now = std::time::SystemTime::now();
        let young = l.header_facts(&h, &md, now).unwrap();
        l.keep_facts();
        assert_eq!(young.digest, fcache::Digest::of(b"int h;\n"));
        assert!(l.cache.memo_get(&key).is_none(), "too young to remember");
        let facts = l.header_facts(&h, &md, later).unwrap();
        l.keep_facts();
        assert_eq!(facts.digest, fcache::Digest::of(b"int h;\n"));
        assert!(l.cache.memo_get(&key).unwrap().contains(" a.h\n"));

        let planted = HeaderFacts {
            digest: fcache::Digest::of(b"planted"),
            unkeyed: None,
            directives: vec![Some(("p.h".into(), true, false))].into(),
        };
        let plant = |text: &str| {
            l.cache.memo_put(&key, text).unwrap();
            l.facts.forget();
        };
        plant(&encode(
            &[("a.h".to_string(), (stamp, planted.clone()))]
                .into_iter()
                .collect(),
        ));
        let from_memo = l.header_facts(&h, &md, later).unwrap();
        assert_eq!(from_memo.digest, planted.digest);
        assert_eq!(from_memo.directives, planted.directives);
        plant("h not a stamp");
        assert_eq!(
            l.header_facts(&h, &md, later).unwrap().digest,
            fcache::Digest::of(b"int h;\n")
        );

        // Another version (same size, a later write) has another stamp: read anew.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&h, "int g;\n").unwrap();
        let md2 = std::fs::metadata(&h).unwrap();
        assert_ne!(fcache::StatStamp::of(&md2), stamp);
        let edited = l.header_facts(&h, &md2, later).unwrap();
        assert_eq!(edited.digest, fcache::Digest::of(b"int g;\n"));

        let t = dir.join("t.h");
        std::fs::write(&t, "const char *d = __DATE__;\n").unwrap();
        let md = std::fs::metadata(&t).unwrap();
        let facts = l.header_facts(&t, &md, later).unwrap();
        l.keep_facts();
        assert!(facts.unkeyed.is_some());
        assert!(
            !l.cache.memo_get(&key).unwrap().contains(" t.h\n"),
            "unkeyed: never remembered"
        );
    });
}

/// The lookup rule's memo of an entry (`write_memo`) trusts a directory's stamp only when it
/// was settled before the directory was listed (a file created after the listing changes a
/// stamp that old; one taken after the listing could already include it). A directory
/// changed just now is recorded by the first names of its candidates and listed again by
/// every check. A holder that could not be listed, or one not settled that holds a present
/// candidate, leaves no memo.
#[test]
fn the_lookup_memo_trusts_only_stamps_settled_before_the_listing() {
    use super::candidates::Holding;
    use super::listings::listing;
    with_launcher(false, |dir, _, l| {
        let holder = dir.join("inc");
        std::fs::create_dir(&holder).unwrap();
        let h = holder.to_str().unwrap().to_string();
        fn holding<'a>(h: &'a str, listed: Option<&'a super::listings::Listing>) -> Holding<'a> {
            Holding {
                dir: h,
                ground: listed.map(super::candidates::Ground::Listed),
                below: vec!["x.h", "sub/y.h", "sub/z.h"],
            }
        }
        let holds = |key: &fcache::Digest| {
            let memo = l.cache.memo_get(&l.memo_key(key)).expect("a memo");
            Launcher::memo_holds(&memo, &mut Vec::new(), true)
        };

        // Changed just now: its candidates' first names, listed by every check.
        let key = fcache::Digest::of(b"an action");
        let fresh = listing(&h).unwrap();
        assert!(fresh.settled.is_none());
        l.write_memo(&key, &[holding(&h, Some(&fresh))], &[], &[]);
        let memo = l.cache.memo_get(&l.memo_key(&key)).unwrap();
        assert_eq!(memo, format!("l {h}\nn sub\nn x.h\n"));
        assert!(holds(&key), "nothing there yet");
        std::fs::write(holder.join("other.h"), "").unwrap();
        assert!(holds(&key), "a name no candidate starts with");
        std::fs::write(holder.join("x.h"), "").unwrap();
        assert!(!holds(&key), "a candidate created since");
        std::fs::remove_file(holder.join("x.h")).unwrap();
        std::fs::create_dir(holder.join("sub")).unwrap();
        assert!(!holds(&key), "a directory on the way to candidates");
        std::fs::remove_dir(holder.join("sub")).unwrap();

        // Settled before its listing: the stamp from before the listing.
        std::thread::sleep(fcache::SETTLE + std::time::Duration::from_millis(100));
        let settled = listing(&h).unwrap();
        assert!(settled.settled.is_some());
        std::fs::write(holder.join("x.h"), "").unwrap(); // after the listing
        let late = fcache::Digest::of(b"a late file");
        l.write_memo(&late, &[holding(&h, Some(&settled))], &[], &[]);
        let memo = l.cache.memo_get(&l.memo_key(&late)).unwrap();
        assert!(
            memo.starts_with("d ") && memo.ends_with(&format!(" {h}\n")),
            "{memo}"
        );
        assert!(!holds(&late), "the file created after the listing is seen");
        std::fs::remove_file(holder.join("x.h")).unwrap();

        // No memo: a holder that could not be listed; present in one not settled.
        let none = fcache::Digest::of(b"not listed");
        l.write_memo(&none, &[holding(&h, None)], &[], &[]);
        assert_eq!(l.cache.memo_get(&l.memo_key(&none)), None);
        let fresh = listing(&h).unwrap();
        let present = fcache::Digest::of(b"present");
        let there = vec![format!("{h}/sub/y.h")];
        l.write_memo(&present, &[holding(&h, Some(&fresh))], &[], &there);
        assert_eq!(l.cache.memo_get(&l.memo_key(&present)), None);
    });
}

/// The candidates' record writes a holder settled before its listing with its stamp (`H`),
/// and a first check elsewhere that finds the same stamp takes the record's `f` lines without
/// listing the holder; one whose stamp moved (a name created since, even with the mtime put
/// back) or another directory is listed, and what was created is seen. An unsettled holder
/// is written `h`, listed by every check.
#[test]
fn a_holder_unchanged_since_the_candidates_record_is_not_listed_again() {
    use super::candidates::{Ground, Holding, Looked, Search};
    use super::listings::{dir_stamp, listing};
    with_launcher(false, |dir, _, l| {
        let holder = dir.join("inc");
        std::fs::create_dir(&holder).unwrap();
        std::fs::write(holder.join("there.h"), "").unwrap();
        let h = holder.to_str().unwrap().to_string();
        let search = || {
            let obj = dir.to_str().unwrap();
            Search::new(vec![h.clone()], 0..0, obj, vec![], Looked::default())
        };
        let action = fcache::Digest::of(b"an action");
        let check_as = |action: &fcache::Digest, record: &str, present: &[String]| {
            let s = search();
            l.cache
                .memo_put(&l.candidates_key(action, &s), record)
                .unwrap();
            l.first_check_recorded(action, &s, present)
        };
        let check = |record: &str, present: &[String]| check_as(&action, record, present);
        let record = |listed: &super::listings::Listing| {
            let s = search();
            let holding = Holding {
                dir: &h,
                ground: Some(Ground::Listed(listed)),
                below: vec!["new.h", "there.h"],
            };
            l.remember_candidates(&action, &s, &[], &[holding]);
            l.cache.memo_get(&l.candidates_key(&action, &s)).unwrap()
        };

        // Changed just now: no stamp in the record, so the holder is listed.
        let fresh = listing(&h).unwrap();
        // (Written with the roots normalised: `@obj`, the object root.)
        assert_eq!(record(&fresh), "h @obj/inc\nn there.h\nf new.h\n");
        std::thread::sleep(fcache::SETTLE + std::time::Duration::from_millis(100));
        let settled = listing(&h).unwrap();
        let (dev, ino, m, c) = settled.settled.expect("settled");
        let stamp = format!("{dev} {ino} {m} {c}");
        let stamped = format!("H {stamp} {h}");
        let written = format!("H {stamp} @obj/inc\nn there.h\nf new.h\n");
        assert_eq!(record(&settled), written);
        assert_eq!(
            check(&record(&settled), &[]),
            Some(Some(format!("{h}/there.h")))
        );
        let there = [format!("{h}/there.h")];
        assert_eq!(check(&record(&settled), &there), Some(None), "passed over");
        let memo = l.cache.memo_get(&l.memo_key(&action)).unwrap();
        assert!(memo.starts_with(&format!("d {stamp} {h}\n")), "{memo}");

        // The same stamp: the record's `f` line is taken as written (a record that lied
        // about `there.h` shows it was not listed); another stamp or none: listed.
        assert_eq!(check(&format!("{stamped}\nf there.h\n"), &[]), Some(None));
        assert_eq!(check(&format!("H 1 2 3 4 {h}\nf there.h\n"), &[]), None);
        assert_eq!(check(&format!("h {h}\nf there.h\n"), &[]), None);
        assert_eq!(
            check(&format!("H {ino} {m} {c} {h}\nf new.h\n"), &[]),
            None,
            "malformed: the stamp of an older binary"
        );
        // An `n` line under an unchanged holder is still looked at: a file on its way
        // leaves no memo to rest on the stamp.
        let way = fcache::Digest::of(b"a file on the way");
        assert_eq!(
            check_as(&way, &format!("{stamped}\nn there.h/x.h\n"), &[]),
            Some(None)
        );
        assert_eq!(l.cache.memo_get(&l.memo_key(&way)), None);

        // Another directory with the same mtime (a copy that kept it) is listed.
        let copy = dir.join("copy");
        std::fs::create_dir(&copy).unwrap();
        std::fs::write(copy.join("there.h"), "").unwrap();
        let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(m as u64);
        let set_mtime = |d: &Path| {
            let times = std::fs::FileTimes::new().set_modified(mtime);
            std::fs::File::open(d).unwrap().set_times(times).unwrap();
        };
        set_mtime(&copy);
        let c2 = copy.to_str().unwrap();
        assert_eq!(check(&format!("H {stamp} {c2}\nf there.h\n"), &[]), None);

        // A header created since the record moves the stamp: listed, and seen; so it is
        // when the mtime is put back (`touch -d`, `rsync -a`): the ctime moved.
        std::fs::write(holder.join("new.h"), "").unwrap();
        assert_ne!(dir_stamp(&h), Some((dev, ino, m, c)));
        assert_eq!(check(&format!("{stamped}\nf new.h\n"), &[]), None);
        assert_eq!(check(&format!("{stamped}\nf other.h\n"), &[]), Some(None));
        set_mtime(&holder);
        assert_eq!(dir_stamp(&h).map(|s| s.2), Some(m), "the mtime put back");
        assert_eq!(check(&format!("{stamped}\nf new.h\n"), &[]), None);
    });
}

/// With `CACHED_NINJA_TRUST_STAT=0` no directory stamp is trusted or recorded: a record's `H`
/// holder is listed, the memo written lists a settled holder by its candidates' first names,
/// and the record written has no stamp.
#[test]
fn stamps_not_trusted_list_every_holder() {
    use super::candidates::{Ground, Holding, Looked, Search};
    use super::listings::listing;
    with_launcher_as(false, false, false, |dir, _, l| {
        let holder = dir.join("inc");
        std::fs::create_dir(&holder).unwrap();
        std::fs::write(holder.join("there.h"), "").unwrap();
        let h = holder.to_str().unwrap().to_string();
        std::thread::sleep(fcache::SETTLE + std::time::Duration::from_millis(100));
        let settled = listing(&h).unwrap();
        let (dev, ino, m, c) = settled.settled.expect("settled");
        let obj = dir.to_str().unwrap();
        let s = Search::new(vec![h.clone()], 0..0, obj, vec![], Looked::default());
        let action = fcache::Digest::of(b"an action");
        let record = format!("H {dev} {ino} {m} {c} {h}\nf there.h\n");
        l.cache
            .memo_put(&l.candidates_key(&action, &s), &record)
            .unwrap();
        assert_eq!(l.first_check_recorded(&action, &s, &[]), None, "listed");
        let holding = Holding {
            dir: &h,
            ground: Some(Ground::Listed(&settled)),
            below: vec!["x.h"],
        };
        l.write_memo(&action, &[holding], &[], &[]);
        let memo = l.cache.memo_get(&l.memo_key(&action)).unwrap();
        assert_eq!(memo, format!("l {h}\nn x.h\n"));
        // Nor is a stamp recorded for another check to trust.
        let holding = Holding {
            dir: &h,
            ground: Some(Ground::Listed(&settled)),
            below: vec!["x.h"],
        };
        l.remember_candidates(&action, &s, &[], &[holding]);
        let record = l.cache.memo_get(&l.candidates_key(&action, &s)).unwrap();
        assert_eq!(record, "h @obj/inc\nf x.h\n");
    });
}

/// A memo that fails still gives its present candidates to the full check that follows (else
/// that check takes them for new and misses); an `n` line counts only after its `l` line.
#[test]
fn a_failed_memo_still_gives_its_present_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut present = Vec::new();
    let memo = format!("d 1 2 3 4 {d}\nx {d}/a.h\nx {d}/b.h");
    assert!(!Launcher::memo_holds(&memo, &mut present, true));
    assert_eq!(present, [format!("{d}/a.h"), format!("{d}/b.h")]);
    std::fs::write(dir.path().join("there.h"), "").unwrap();
    let listed = format!("l {d}\nn absent.h");
    assert!(Launcher::memo_holds(&listed, &mut Vec::new(), true));
    assert!(!Launcher::memo_holds(
        &format!("{listed}\nn there.h"),
        &mut Vec::new(),
        true
    ));
    let (dev, ino, m, c) = super::listings::dir_stamp(d).unwrap();
    let stamped = format!("d {dev} {ino} {m} {c} {d}");
    assert!(Launcher::memo_holds(&stamped, &mut Vec::new(), true));
    assert!(
        !Launcher::memo_holds(&stamped, &mut Vec::new(), false),
        "stamps not trusted (CACHED_NINJA_TRUST_STAT=0)"
    );
    let after_d = format!("l {d}\n{stamped}\nn absent.h");
    assert!(!Launcher::memo_holds(&after_d, &mut Vec::new(), true));
    assert!(!Launcher::memo_holds("n absent.h", &mut Vec::new(), true));
}
