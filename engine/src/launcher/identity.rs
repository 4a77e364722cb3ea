//! The compiler's identity (family and a digest of its bytes, the driver mode its name
//! selects, triple and version), memoised
//! in the cache's `memo/` by canonical path, size, inode and mtime.
//!
//! The memo key uses the canonical path (`realpath`), so every spelling of one executable
//! (`gcc` on `PATH`, `/usr/bin/gcc`, a symlink, `bin/../bin/gcc`) shares one memo entry.
//! That costs one `realpath` per launch (one `lstat` per path component and a `readlink` per
//! symlink: measured 6 µs for `/usr/bin/gcc`, 10 µs for `/usr/bin/cc`, two levels of links),
//! small next to a hit's wall time and to the `-dumpmachine`/`--version` runs (ms) that each
//! extra memo miss would cost. The compiler is still run by the name it was given, since a driver's
//! behaviour may depend on it.

use super::launch::Launcher;
use super::runner::RunResult;
use backend::compile::CompilerFamily;
use backend::key;
use fetch::cache as fcache;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The identity of a compiler: family and a digest of bytes, triple and version.
#[derive(Clone, Copy)]
pub(super) struct Identity {
    /// gcc or clang (from `--version`).
    pub(super) family: CompilerFamily,
    /// Digest of the executable's bytes, `-dumpmachine` and `--version`.
    pub(super) digest: fcache::Digest,
}

/// The driver mode a compiler's file name selects, as clang's driver reads it: a name ending
/// in `++` (optionally followed by `-<version>`) is C++, one ending in `cl` is `clang-cl`, one
/// ending in `cpp` the preprocessor; anything else is the default mode.
fn driver_mode(name: &[u8]) -> &'static str {
    let name = name.strip_suffix(b".exe").unwrap_or(name);
    // Drop a version suffix such as `-14` or `-12.2`.
    let base = match name.iter().rposition(|&b| b == b'-') {
        Some(i)
            if name[i + 1..]
                .iter()
                .all(|b| b.is_ascii_digit() || *b == b'.') =>
        {
            &name[..i]
        }
        _ => name,
    };
    if base.ends_with(b"++") {
        "c++"
    } else if base.ends_with(b"cl") {
        "cl"
    } else if base.ends_with(b"cpp") {
        "cpp"
    } else {
        "default"
    }
}

/// The memo key of a file's identity: a qualifier and the stat stamp of the file (symlinks
/// followed), whose device and inode name it, so no path is needed; the change time is in it
/// (a file replaced with its old mtime restored still gets a new ctime, so it is hashed again).
pub(super) fn stamp_key(domain: &[u8], qualifier: &[u8], md: &std::fs::Metadata) -> fcache::Digest {
    let mut b = domain.to_vec();
    b.push(0);
    b.extend_from_slice(qualifier);
    for n in [
        md.size(),
        md.ino(),
        md.dev(),
        md.mtime() as u64,
        md.mtime_nsec() as u64,
        md.ctime() as u64,
        md.ctime_nsec() as u64,
    ] {
        b.extend_from_slice(&n.to_le_bytes());
    }
    fcache::Digest::of(&b)
}

/// The tools a launcher identified, kept for its next launches where one launcher serves
/// many (the pass ahead of Ninja, the pull's readings of the sources, a thread each): each
/// compiler's identity was a `PATH` walk, a memo read and its companions' `stat`s, and the
/// assembler's digest another walk and read, per record (a tenth of the pass's system calls).
/// What could not be worked out is asked again.
#[derive(Default)]
pub struct KnownTools {
    /// By the program name the command gave.
    compilers: std::cell::RefCell<std::collections::HashMap<String, Identity>>,
    assembler: std::cell::OnceCell<fcache::Digest>,
}

/// Finds `program` the way `execvp` does.
pub(super) fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

impl Launcher<'_> {
    /// A digest remembered in the cache's `memo/` under `memo_key`.
    pub(super) fn memo_digest(&self, memo_key: &fcache::Digest) -> Option<fcache::Digest> {
        self.cache
            .memo_get(memo_key)
            .as_deref()
            .and_then(fcache::Digest::from_hex)
    }

    /// The digest of the assembler gcc runs for this launch (`as`, found on `PATH` the way the
    /// driver finds it when its own directories hold none), memoised by its stat stamp;
    /// `None` when there is none. Another `as` first on `PATH` gives another key.
    pub(super) fn assembler(&self) -> Option<fcache::Digest> {
        if let Some(known) = self.known_tools.assembler.get() {
            return Some(*known);
        }
        let made = self.assembler_now()?;
        Some(*self.known_tools.assembler.get_or_init(|| made))
    }

    /// [`Launcher::assembler`], worked out now.
    fn assembler_now(&self) -> Option<fcache::Digest> {
        let path = resolve_program("as")?;
        // No canonical path is worked out (a `readlink` per component on every launch): the
        // stamp names the file, and every spelling shares the memo.
        let md = std::fs::metadata(&path).ok()?;
        let memo_key = stamp_key(b"cached-ninja assembler memo 2", b"", &md);
        let make = || Some(fcache::Digest::of_file(&path).ok()?.to_hex());
        fcache::Digest::from_hex(&self.cache.memo_or_make(&memo_key, make)?)
    }

    /// Whether `program` (found on `PATH`) answers yes to `ask`, a probe that runs it (the
    /// compiler's assembler takes `--MD`, the linker `--dependency-file`): remembered under
    /// `domain`, `qualifier` and the program's stamp; no when it cannot be found. The probe is
    /// a compile like any other, under a CPU token of `cached-ninja build` (a test saw two
    /// compilers run on one token): the launch's own if it holds one, else one taken before
    /// the memo's lock (a launch that holds a token may wait for that lock: a full test run
    /// hung when the probe took its token inside it), and given back after (a distributed
    /// compile takes its own for the preprocessor).
    pub(super) fn probed(
        &self,
        program: &str,
        domain: &[u8],
        qualifier: &[u8],
        ask: impl FnOnce(&str) -> bool,
    ) -> bool {
        let Some(path) = resolve_program(program) else {
            return false;
        };
        let Ok(md) = std::fs::metadata(&path) else {
            return false;
        };
        let memo_key = stamp_key(domain, qualifier, &md);
        if let Some(v) = self.cache.memo_get(&memo_key) {
            return v == "yes";
        }
        let held = self.cpu.take();
        let had = held.is_some();
        let token = held.unwrap_or_else(crate::jobserver::cpu_token);
        let make = || Some(if ask(path.to_str()?) { "yes" } else { "no" }.to_string());
        let v = self.cache.memo_or_make(&memo_key, make);
        if had {
            self.cpu.set(Some(token));
        }
        v.as_deref() == Some("yes")
    }

    /// The identity of `program`, from the memo or by running it; `None` when not identified.
    pub(super) fn identity(&self, program: &str) -> Option<Identity> {
        if let Some(known) = self.known_tools.compilers.borrow().get(program) {
            return Some(*known);
        }
        let id = self.identity_now(program)?;
        let mut known = self.known_tools.compilers.borrow_mut();
        known.insert(program.to_string(), id);
        Some(id)
    }

    /// [`Launcher::identity`], worked out now.
    fn identity_now(&self, program: &str) -> Option<Identity> {
        let path = resolve_program(program)?;
        // Size, device, inode, mtime and ctime of the real executable (symlinks followed: the
        // stamp names the file, as in [`Launcher::assembler`]).
        let md = std::fs::metadata(&path).ok()?;
        // One executable behaves differently by the name it is run as (`clang` compiles `a.c`
        // as C, `clang++` as C++), so the driver mode that name selects is part of the identity
        // and of its memo key; names that select the same mode (`cc` and `gcc`) share both.
        let driver = driver_mode(path.file_name()?.as_encoded_bytes()).as_bytes();
        let memo_key = stamp_key(b"cached-ninja compiler memo 5", driver, &md);
        let parse_memo = |s: &str| {
            let (first, companions) = s.split_once('\n').unwrap_or((s, ""));
            // A companion changed, appeared or went since: the identity is worked out again.
            if !fcache::lines(companions).all(companion_unchanged) {
                return None;
            }
            let (fam, hex) = first.split_once(' ')?;
            let family = match fam {
                "gcc" => CompilerFamily::Gcc,
                "clang" => CompilerFamily::Clang,
                _ => return None,
            };
            Some(Identity {
                family,
                digest: fcache::Digest::from_hex(hex)?,
            })
        };
        let make = || self.work_out(&path, driver);
        // Made once by one writer for a fresh cache; made again when a companion changed.
        let memo = self.cache.memo_or_make(&memo_key, make)?;
        if let Some(id) = parse_memo(&memo) {
            return Some(id);
        }
        let made = make()?;
        let _ = self.cache.memo_put(&memo_key, &made);
        parse_memo(&made)
    }

    /// The memo text of the identity of the compiler at `path` run in `driver` mode: its
    /// family and digest, then a line per companion file; `None` when not identified.
    fn work_out(&self, path: &std::path::Path, driver: &[u8]) -> Option<String> {
        let prog = path.to_str()?;
        // The executable and its companions are hashed on threads of their own, while the
        // probes run (all at once): on a fresh cache the identity was on the way to a
        // first build's first download (50 ms, most of it hashing `cc1` and `cc1plus`).
        std::thread::scope(|s| {
            let executable = Digesting::start(s, Some(path.to_path_buf()));
            let argss: Vec<Vec<String>> = PROBES.iter().map(|a| vec![a.to_string()]).collect();
            let answers = answers(self.runner.run_each(prog, &argss))?;
            let answer = |probe: &str| answers.iter().find(|a| a.0 == probe)?.1.clone();
            let (machine, version) = (answer("-dumpmachine")?, answer("--version")?);
            let fam = match version.windows(5).any(|w| w == b"clang") {
                true => "clang",
                false => "gcc",
            };
            let companions = match fam {
                // Their roles and bytes, not their paths: a toolchain at another prefix
                // shares the identity.
                "gcc" => companions(&answer),
                _ => Vec::new(),
            };
            let digests: Vec<Digesting<'_>> = companions
                .iter()
                .map(|(path, stamp)| Digesting::start(s, stamp.map(|_| path.into())))
                .collect();
            let mut h = key::Hasher::new();
            key::KeySink::text(&mut h, "domain", "cached-ninja compiler identity 3");
            key::KeySink::digest(&mut h, "executable", &executable.wait()?);
            key::KeySink::bytes(&mut h, "driver-mode", driver);
            key::KeySink::bytes(&mut h, "dumpmachine", &machine);
            key::KeySink::bytes(&mut h, "version", &version);
            let mut lines = String::new();
            for ((path, stamp), d) in companions.iter().zip(digests) {
                let role = path.rsplit('/').next().unwrap_or_default();
                key::KeySink::text(&mut h, "companion", role);
                key::KeySink::digest(&mut h, "companion-content", &d.wait()?);
                lines.push_str(&companion_line(path, stamp.as_ref()));
            }
            Some(format!("{fam} {}\n{lines}", h.finish()))
        })
    }
}

/// What a compiler's identity asks it, at once: its triple, its version, then where gcc's
/// driver finds the companions it runs or reads ([`companions`]).
const PROBES: [&str; 6] = [
    "-dumpmachine",
    "--version",
    "-print-prog-name=cc1",
    "-print-prog-name=cc1plus",
    "-print-prog-name=as",
    "-print-libgcc-file-name",
];

/// A probe and its answer (`None`: it exited with an error).
type Answer = (&'static str, Option<Vec<u8>>);

/// Each of [`PROBES`] with its answer, from their `results` in order; `None` when one could
/// not be run at all (no process or pipe left, say) or was killed by a signal (the kernel's
/// out-of-memory killer, a `ulimit`): the identity is then not worked out, and not memoised,
/// this time. Taken as a failed probe, a companion left out made another compiler's
/// identity, memoised: every later key missed.
fn answers(results: Vec<std::io::Result<RunResult>>) -> Option<Vec<Answer>> {
    let answer = |r: std::io::Result<RunResult>| {
        let r = r.ok().filter(|r| r.signal.is_none())?;
        Some((r.code == 0).then_some(r.stdout))
    };
    let answers: Option<Vec<Option<Vec<u8>>>> = results.into_iter().map(answer).collect();
    Some(PROBES.into_iter().zip(answers?).collect())
}

/// The files gcc's driver runs or reads for a compile from its own directories, from its
/// `answer` to each of the last four [`PROBES`] (`None`: it failed), with their stamps
/// (`None`: absent): `cc1`, `cc1plus` and `as` where it finds them there, and its `specs`
/// (where it would read one when there is none). The same driver's bytes at another path read
/// others (a review's relocated gcc read another `specs` and was served the object of the
/// first, 2026-12-05).
fn companions(
    answer: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<(String, Option<fcache::StatStamp>)> {
    let stamp = |p: &str| std::fs::metadata(p).ok().map(|m| fcache::StatStamp::of(&m));
    // A bare name: not in the driver's directories (found on `PATH`, or absent).
    let found = |probe: &str| {
        let text = String::from_utf8(answer(probe)?).ok()?;
        Some(text.trim().to_string()).filter(|p| p.contains('/'))
    };
    let mut out = Vec::new();
    for name in ["cc1", "cc1plus", "as"] {
        if let Some(p) = found(&format!("-print-prog-name={name}")) {
            let s = stamp(&p);
            out.push((p, s));
        }
    }
    // gcc reads `specs` from its library directory when there is one there.
    if let Some(lib) = found("-print-libgcc-file-name") {
        let dir = std::path::Path::new(&lib).parent().map(|d| d.join("specs"));
        if let Some(p) = dir.and_then(|d| d.to_str().map(str::to_string)) {
            let s = stamp(&p);
            out.push((p, s));
        }
    }
    out.retain(|(p, _)| !p.contains('\n') && !p.contains('\t'));
    out
}

/// A file's digest being made on a thread of a scope ([`Digesting::start`]), or made.
enum Digesting<'s> {
    Thread(std::thread::ScopedJoinHandle<'s, Option<key::Digest>>),
    Made(Option<key::Digest>),
}

impl<'s> Digesting<'s> {
    /// The digest of the file at `path` (`None`: an absent file, digested as `absent`) on a
    /// thread of `s`, or here when no thread can be made.
    fn start(s: &'s std::thread::Scope<'s, '_>, path: Option<PathBuf>) -> Digesting<'s> {
        let Some(path) = path else {
            return Digesting::Made(Some(key::Digest::of(b"absent")));
        };
        let there = path.clone();
        match std::thread::Builder::new().spawn_scoped(s, move || key::Digest::of_file(there).ok())
        {
            Ok(thread) => Digesting::Thread(thread),
            Err(_) => Digesting::Made(key::Digest::of_file(path).ok()),
        }
    }

    /// The digest; `None` when the file could not be read (or its thread failed).
    fn wait(self) -> Option<key::Digest> {
        match self {
            Digesting::Thread(t) => t.join().ok().flatten(),
            Digesting::Made(d) => d,
        }
    }
}

/// A line of the compiler memo naming a companion file: its path, a tab, its stamp (`-`:
/// absent).
fn companion_line(path: &str, stamp: Option<&fcache::StatStamp>) -> String {
    match stamp {
        Some(s) => format!("{path}\t{}\n", s.words()),
        None => format!("{path}\t-\n"),
    }
}

/// Whether the companion a [`companion_line`] names is as it was (one `statx`; no text made:
/// every hit checks them).
fn companion_unchanged(line: &str) -> bool {
    let Some((path, was)) = line.split_once('\t') else {
        return false;
    };
    let now = std::fs::metadata(path)
        .ok()
        .map(|m| fcache::StatStamp::of(&m));
    now == fcache::StatStamp::from_words(was) && (now.is_some() || was == "-")
}

/// This machine's processor as `-march=native` sees it: the digest of the processors'
/// vendor, family, model and feature flags in `/proc/cpuinfo` (on Arm, also implementer, part
/// and variant: gcc picks `-mcpu` from them, from every core of a big.LITTLE machine), each
/// distinct line once (`unknown` where unreadable).
pub(super) fn host_processor() -> String {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return "unknown".to_string();
    };
    let wanted = [
        "vendor_id",
        "cpu family",
        "model",
        "model name",
        "flags",
        "Features",
        "CPU implementer",
        "CPU architecture",
        "CPU variant",
        "CPU part",
        "CPU revision",
    ];
    let mut lines: Vec<&str> = info
        .lines()
        .filter(|l| {
            let name = l.split(':').next().unwrap_or("").trim();
            wanted.contains(&name)
        })
        .collect();
    lines.sort_unstable();
    lines.dedup();
    fetch::cache::Digest::of(lines.join("\n").as_bytes()).to_hex()
}

#[cfg(test)]
mod tests {
    use super::{answers, companions, driver_mode, Digesting, RunResult, PROBES};

    /// A probe that exits with an error has no answer; one that could not be run at all, or
    /// was killed, makes no answers (the identity is not worked out, nor memoised without that
    /// companion).
    #[test]
    fn a_probe_not_run_makes_no_answers() {
        let ran = |code: i32| {
            Ok(RunResult {
                code,
                stdout: b"x\n".to_vec(),
                ..Default::default()
            })
        };
        let got = answers((0..PROBES.len()).map(|i| ran(i as i32 % 2)).collect()).unwrap();
        assert_eq!(got.len(), PROBES.len());
        for (i, (probe, answer)) in got.iter().enumerate() {
            assert_eq!(*probe, PROBES[i]);
            assert_eq!(answer.is_some(), i % 2 == 0, "{probe}");
        }
        let mut results: Vec<_> = (0..PROBES.len()).map(|_| ran(0)).collect();
        results[3] = Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
        assert!(answers(results).is_none());
        // Killed by a signal (128 + 9): not an answer of the compiler's either.
        let mut results: Vec<_> = (0..PROBES.len()).map(|_| ran(0)).collect();
        results[4] = Ok(RunResult {
            code: 137,
            signal: Some(libc::SIGKILL),
            ..Default::default()
        });
        assert!(answers(results).is_none());
    }

    /// gcc's companions come from the answers to their own probes, whatever the order the
    /// probes ran in; a bare name (not in the driver's directories) or a failed probe gives
    /// none, and `specs` is looked for beside the library gcc names.
    #[test]
    fn companions_from_the_answers_to_their_probes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        std::fs::write(format!("{d}/cc1"), "x").unwrap();
        let answers = [
            ("-print-prog-name=cc1", Some(format!("{d}/cc1\n"))),
            ("-print-prog-name=cc1plus", None),
            ("-print-prog-name=as", Some("as\n".to_string())),
            ("-print-libgcc-file-name", Some(format!("{d}/libgcc.a\n"))),
        ];
        let answer = |probe: &str| {
            let found = answers.iter().find(|a| a.0 == probe)?;
            found.1.clone().map(String::into_bytes)
        };
        let got = companions(&answer);
        let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, [format!("{d}/cc1"), format!("{d}/specs")]);
        assert!(
            got[0].1.is_some() && got[1].1.is_none(),
            "cc1 is there, specs is not"
        );
    }

    /// A file's digest made on a thread is the file's, an absent companion's is `absent`'s,
    /// and a file that cannot be read gives none.
    #[test]
    fn digests_made_beside() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"bytes").unwrap();
        std::thread::scope(|s| {
            let of = |p| Digesting::start(s, p).wait();
            assert_eq!(
                of(Some(f.clone())),
                Some(backend::key::Digest::of(b"bytes"))
            );
            assert_eq!(of(None), Some(backend::key::Digest::of(b"absent")));
            assert_eq!(of(Some(dir.path().join("gone"))), None);
        });
    }

    #[test]
    fn driver_modes() {
        for (name, mode) in [
            ("clang", "default"),
            ("clang-14", "default"),
            ("gcc", "default"),
            ("cc", "default"),
            ("x86_64-linux-gnu-gcc-12", "default"),
            ("clang++", "c++"),
            ("clang++-14", "c++"),
            ("g++", "c++"),
            ("c++", "c++"),
            ("clang-cl", "cl"),
            ("clang-cpp", "cpp"),
        ] {
            assert_eq!(driver_mode(name.as_bytes()), mode, "{name}");
        }
    }
}
