//! `cached-ninja cc [--src-root DIR] -- <compiler command…>`: the compile launcher for C and
//! C++ (DESIGN §3, §4). Every rewritten compile edge runs it; it must be correct first, then
//! very fast on a hit.
//!
//! ## Roots
//! - **Object root**: the working directory (the Ninja edge's cwd).
//! - **Source root**, first found of: `--src-root DIR`; env `CACHED_NINJA_SRCDIR`; a line
//!   `src-root = DIR` in `<object root>/.cached-ninja/config` (written by configure). Relative
//!   values are taken relative to the object root. Without one, only the object root is
//!   normalised: everything still works, but a source tree elsewhere gives other keys.
//!   With CMake: `-DCMAKE_C_COMPILER_LAUNCHER="cached-ninja;cc;--src-root;<src>;--"`.
//!
//! ## Path independence
//! The key normalises paths (`@src/…`, `@obj/…`, see `backend::key`), and the compile gets
//! `-ffile-prefix-map=<src root>=`[`SRC_TOKEN`] then `-ffile-prefix-map=<obj root>=`[`OBJ_TOKEN`]
//! (also for `$PWD` when it names the object root by another path, since gcc prefers it for
//! `DW_AT_comp_dir`). gcc tries the last map first and clang the longest, so an object root
//! inside the source root maps to the object token with both. Objects therefore embed only the
//! tokens; the tokens (not the roots) are part of the source key.
//!
//! ## Mapping back for debuggers (DESIGN §6)
//! Each launch records this machine's mapping in `<object root>/.cached-ninja/gdbinit`:
//! `set substitute-path /cached-ninja/src <src root>` (and the object root). `gdb -x
//! <objroot>/.cached-ninja/gdbinit ./binary` (or `source` it) lists the developer's own files.
//! The later fill step can use the same file.
//!
//! ## One launch
//! 1. Expand `@response` files, drop a `ccache`/`sccache` prefix, identify the compiler (a
//!    hash of its bytes, `-dumpmachine` and `--version`, memoised by path, size, mtime, inode
//!    in the cache's `memo/`), parse the command. Anything not cacheable runs unchanged
//!    (`exec`: identical exit status, stdout and stderr).
//! 2. Source key. Direct mode: for each include set of the key's manifest, check the files
//!    (stat stamp or content hash), giving the action key; look up the action entry.
//! 3. No manifest: run the preprocessor (`-E -M`) for the include list, look up, and on a hit
//!    record the manifest, so next time is direct.
//! 4. Hit: verify and materialise outputs atomically, write the depfile with this machine's
//!    paths, replay stdout/stderr (root paths mapped back), exit 0.
//! 5. Miss: under a lock on the output path, compile with our `-MD -MF` and the prefix maps,
//!    then store blobs, the entry and the manifest (all atomic), and write the depfile.
//!
//! ## Environment
//! `CACHED_NINJA_CACHE_DIR` (cache root), `CACHED_NINJA_CACHE_SIZE` (cap, e.g. `10G`),
//! `CACHED_NINJA_SRCDIR` (source root), `CACHED_NINJA_TRUST_STAT=0` (always hash headers),
//! `CACHED_NINJA_PREPROCESSOR=0` (no preprocessor fallback), `CACHED_NINJA_EXPLAIN=<file>`
//! (append each source key's fields, from the same code that hashes them),
//! `CACHED_NINJA_DEBUG` (say why a command is not cached), and for tests only
//! `CACHED_NINJA_TEST_STALL_INSERT_MS` (sleep between writing and renaming a cache file).
//!
//! Direct mode has ccache's known blind spot: a header created *earlier* in the include
//! search path after the manifest was recorded (shadowing a listed one) is not noticed until
//! a listed file changes.
//!
//! A corrupt or truncated cache file is reported once on stderr, removed, and the compile goes
//! on. Outcomes are appended to `<object root>/.cached-ninja/stats` (see `fetch::stats`).

use backend::compile::{self, depfile, CompileCommand, CompilerFamily};
use backend::key::{self, Roots};
use fetch::cache::{
    self as fcache, ActionEntry, CacheError, IncludeFile, IncludeSet, LocalCache, Output, Role,
    StatStamp,
};
use fetch::stats::{self, Outcome};
use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

/// Stable token the source root maps to in objects. Must never change (part of every key).
pub const SRC_TOKEN: &str = "/cached-ninja/src";
/// Stable token the object root maps to in objects. Must never change (part of every key).
pub const OBJ_TOKEN: &str = "/cached-ninja/obj";
/// Placeholder for the source root in stored stdout/stderr.
const SRC_MARK: &str = "\u{1}cn-src\u{1}";
/// Placeholder for the object root in stored stdout/stderr.
const OBJ_MARK: &str = "\u{1}cn-obj\u{1}";
/// Environment variables that change what a compiler does; they go into the source key.
const KEY_ENV: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "SOURCE_DATE_EPOCH",
    "GCC_EXEC_PREFIX",
    "COMPILER_PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
];

/// What a captured run of a process gave.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Exit code (128 + signal when killed).
    pub code: i32,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
    /// CPU time (user + system) of the process and its children, µs.
    pub cpu_us: u64,
}

/// Process spawning, behind a trait so unit tests run a fake compiler.
pub trait Runner {
    /// Runs `program args…` and captures its output.
    fn run(&self, program: &str, args: &[String]) -> io::Result<RunResult>;
    /// Runs `program args…` unchanged with inherited stdio and returns its exit code (the real
    /// runner replaces the process instead and only returns on error).
    fn exec(&self, program: &str, args: &[String]) -> io::Result<i32>;
}

/// The real runner: `std::process`, `exec` for unchanged commands.
pub struct RealRunner;

fn children_cpu_us() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) } != 0 {
        return 0;
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// CPU time (user + system) of this process so far, µs.
fn self_cpu_us() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return 0;
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

impl Runner for RealRunner {
    fn run(&self, program: &str, args: &[String]) -> io::Result<RunResult> {
        let before = children_cpu_us();
        let out = std::process::Command::new(program).args(args).output()?;
        Ok(RunResult {
            code: exit_code(out.status),
            stdout: out.stdout,
            stderr: out.stderr,
            cpu_us: children_cpu_us().saturating_sub(before),
        })
    }

    fn exec(&self, program: &str, args: &[String]) -> io::Result<i32> {
        use std::os::unix::process::CommandExt;
        Err(std::process::Command::new(program).args(args).exec())
    }
}

/// Everything one launch needs, passed explicitly (no globals).
pub struct Launcher<'r> {
    /// Spawns processes.
    pub runner: &'r dyn Runner,
    /// The local cache.
    pub cache: LocalCache,
    /// The roots.
    pub roots: Roots,
    /// Extra logical paths of the object root (`$PWD`) to map too.
    pub obj_aliases: Vec<String>,
    /// The environment variables that go into the key, as (name, value).
    pub env: Vec<(String, String)>,
    /// Whether `SOURCE_DATE_EPOCH` pins `__DATE__`/`__TIME__`.
    pub date_pinned: bool,
    /// Trust stat stamps in manifests (`CACHED_NINJA_TRUST_STAT`, default on).
    pub trust_stat: bool,
    /// Run the preprocessor when no manifest is known (`CACHED_NINJA_PREPROCESSOR`, default on).
    pub preprocessor_fallback: bool,
    /// Append what each source key hashed to this file (`CACHED_NINJA_EXPLAIN=<file>`).
    pub explain: Option<PathBuf>,
    /// Size cap for the automatic gc.
    pub max_size: u64,
    /// Whether this launch already printed its one warning line (later ones are dropped:
    /// a problem is reported once, not once per place that notices it).
    pub warned: std::cell::Cell<bool>,
}

/// Entry point from `main`: `args` are the words after `cc`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let code = match run_cli(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cached-ninja: error: {e}");
            1
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn run_cli(args: Vec<OsString>) -> Result<i32, String> {
    let mut src_root: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i]
            .to_str()
            .ok_or("arguments before `--` must be UTF-8")?;
        if a == "--" {
            i += 1;
            break;
        } else if a == "--src-root" {
            src_root = Some(
                args.get(i + 1)
                    .and_then(|v| v.to_str())
                    .ok_or("--src-root needs a directory")?
                    .to_string(),
            );
            i += 2;
        } else if let Some(v) = a.strip_prefix("--src-root=") {
            src_root = Some(v.to_string());
            i += 1;
        } else if a == "-h" || a == "--help" {
            println!("usage: cached-ninja cc [--src-root DIR] -- <compiler> <args…>");
            return Ok(0);
        } else {
            break;
        }
    }
    let words = &args[i..];
    if words.is_empty() {
        return Err("usage: cached-ninja cc [--src-root DIR] -- <compiler> <args…>".into());
    }
    let Some(words) = words
        .iter()
        .map(|w| w.to_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
    else {
        // Not UTF-8: run it unchanged.
        use std::os::unix::process::CommandExt;
        let e = std::process::Command::new(&words[0])
            .args(&words[1..])
            .exec();
        return Err(format!("cannot run {:?}: {e}", words[0]));
    };
    let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let Some(obj) = cwd.to_str() else {
        return RealRunner
            .exec(&words[0], &words[1..])
            .map_err(|e| e.to_string());
    };
    let src = src_root
        .or_else(|| {
            std::env::var("CACHED_NINJA_SRCDIR")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| config_src_root(&cwd));
    let src = src.map(|s| {
        if s.starts_with('/') {
            s
        } else {
            format!("{obj}/{s}")
        }
    });
    let roots = Roots::new(obj, src.as_deref());
    let mut obj_aliases = Vec::new();
    if let Ok(pwd) = std::env::var("PWD") {
        if pwd != roots.obj() && pwd.starts_with('/') && same_file(Path::new(&pwd), &cwd) {
            obj_aliases.push(pwd.trim_end_matches('/').to_string());
        }
    }
    let env: Vec<(String, String)> = KEY_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    let mut cache = LocalCache::new(LocalCache::default_root());
    cache.stall_insert = std::env::var("CACHED_NINJA_TEST_STALL_INSERT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis);
    let off = |k: &str| std::env::var(k).is_ok_and(|v| v == "0" || v == "false");
    let launcher = Launcher {
        runner: &RealRunner,
        cache,
        roots,
        obj_aliases,
        date_pinned: env.iter().any(|(k, _)| k == "SOURCE_DATE_EPOCH"),
        env,
        trust_stat: !off("CACHED_NINJA_TRUST_STAT"),
        preprocessor_fallback: !off("CACHED_NINJA_PREPROCESSOR"),
        max_size: LocalCache::max_size_from_env(),
        explain: std::env::var_os("CACHED_NINJA_EXPLAIN").map(PathBuf::from),
        warned: std::cell::Cell::new(false),
    };
    Ok(launcher.launch(words))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// `src-root = DIR` from `<obj>/.cached-ninja/config`.
fn config_src_root(obj: &Path) -> Option<String> {
    let text = std::fs::read_to_string(obj.join(".cached-ninja/config")).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "src-root").then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The identity of a compiler: family and a digest of bytes, triple and version.
struct Identity {
    family: CompilerFamily,
    digest: fcache::Digest,
}

/// Finds `program` the way `execvp` does.
fn resolve_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Converts between the two crates' digest types (both are BLAKE3, 32 bytes).
fn kd(d: &fcache::Digest) -> key::Digest {
    key::Digest(d.0)
}
fn fd(d: &key::Digest) -> fcache::Digest {
    fcache::Digest(d.0)
}

/// An action entry found in the cache, with its key.
type Found = (fcache::Digest, Box<ActionEntry>);

/// A file of the include list as the compile saw it now.
struct Seen {
    norm: String,
    digest: fcache::Digest,
    stamp: Option<StatStamp>,
}

impl Launcher<'_> {
    fn warn(&self, msg: &str) {
        if !self.warned.replace(true) {
            eprintln!("cached-ninja: warning: {msg}");
        }
    }

    fn record(&self, outcome: Outcome, saved_us: u64, spent: Instant) {
        let _ = stats::record(
            Path::new(self.roots.obj()),
            outcome,
            saved_us,
            spent.elapsed().as_micros() as u64,
            self_cpu_us(),
        );
    }

    /// Runs one compile command (compiler first); returns the exit code.
    pub fn launch(&self, words: Vec<String>) -> i32 {
        let start = Instant::now();
        let mut words = words;
        while words
            .first()
            .is_some_and(|w| matches!(w.rsplit('/').next(), Some("ccache" | "sccache")))
        {
            words.remove(0);
        }
        if words.is_empty() {
            eprintln!("cached-ninja: error: no compiler after the ccache/sccache prefix");
            return 1;
        }
        let unchanged = |why: &str| -> i32 {
            if std::env::var_os("CACHED_NINJA_DEBUG").is_some() {
                eprintln!("cached-ninja: not cached: {why}");
            }
            self.record(Outcome::Uncacheable, 0, start);
            match self.runner.exec(&words[0], &words[1..]) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("cached-ninja: error: cannot run {}: {e}", words[0]);
                    127
                }
            }
        };
        let expanded = match compile::rsp::expand(&words, Path::new(self.roots.obj())) {
            Ok(w) => w,
            Err(e) => return unchanged(&e),
        };
        let identity = match self.identity(&words[0]) {
            Some(i) => i,
            None => return unchanged("compiler not identified"),
        };
        let cmd = match compile::parse(&expanded, identity.family) {
            Ok(c) => c,
            Err(e) => return unchanged(&e.to_string()),
        };
        let source_bytes = match std::fs::read(&cmd.source) {
            Ok(b) => b,
            Err(_) => return unchanged("source not readable"),
        };
        if !self.date_pinned && compile::uses_time_macros(&source_bytes) {
            return unchanged("__DATE__/__TIME__ in the source");
        }
        if cmd
            .forced_includes()
            .iter()
            .any(|f| Path::new(&format!("{f}.gch")).exists())
        {
            return unchanged("precompiled header in use");
        }
        if [&cmd.source, &cmd.output].iter().any(|p| p.contains('\n')) {
            return unchanged("newline in a path");
        }
        let source_key = self.source_key(&cmd, &identity, &source_bytes);

        // Direct mode, then the preprocessor fallback.
        match self.lookup(&cmd, &source_key) {
            Ok(Some(entry)) => {
                if let Some(code) = self.serve_hit(&cmd, &entry, start) {
                    return code;
                }
            }
            Ok(None) => {}
            Err(()) => self.record(Outcome::Error, 0, start),
        }

        // Miss: compile under a lock on the output, looking again once we hold it.
        let out_abs = Path::new(self.roots.obj()).join(&cmd.output);
        let _lock = self
            .cache
            .lock(&fcache::Digest::of(out_abs.as_os_str().as_encoded_bytes()))
            .ok();
        if _lock.is_some() {
            if let Ok(Some(entry)) = self.lookup_direct(&source_key) {
                if let Some(code) = self.serve_hit(&cmd, &entry, start) {
                    return code;
                }
            }
        }
        self.compile_and_store(&cmd, &source_key, start)
    }

    fn identity(&self, program: &str) -> Option<Identity> {
        let path = resolve_program(program)?;
        // `metadata` follows symlinks: size, inode and mtime are the real executable's.
        let md = std::fs::metadata(&path).ok()?;
        let canon = &path;
        let memo_key = {
            let mut b = b"cached-ninja compiler memo 1\0".to_vec();
            b.extend_from_slice(canon.as_os_str().as_encoded_bytes());
            for n in [
                md.size(),
                md.ino(),
                md.dev(),
                md.mtime() as u64,
                md.mtime_nsec() as u64,
            ] {
                b.extend_from_slice(&n.to_le_bytes());
            }
            fcache::Digest::of(&b)
        };
        let parse_memo = |s: &str| {
            let (fam, hex) = s.split_once(' ')?;
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
        if let Some(id) = self
            .cache
            .memo_get(&memo_key)
            .as_deref()
            .and_then(parse_memo)
        {
            return Some(id);
        }
        let bytes = std::fs::read(canon).ok()?;
        let prog = path.to_str()?;
        let machine = self.runner.run(prog, &["-dumpmachine".to_string()]).ok()?;
        let version = self.runner.run(prog, &["--version".to_string()]).ok()?;
        if machine.code != 0 || version.code != 0 {
            return None;
        }
        let family = if version.stdout.windows(5).any(|w| w == b"clang") {
            CompilerFamily::Clang
        } else {
            CompilerFamily::Gcc
        };
        let mut h = key::Hasher::new();
        key::KeySink::text(&mut h, "domain", "cached-ninja compiler identity 1");
        key::KeySink::digest(&mut h, "executable", &key::Digest::of(&bytes));
        key::KeySink::bytes(&mut h, "dumpmachine", &machine.stdout);
        key::KeySink::bytes(&mut h, "version", &version.stdout);
        let digest = fd(&h.finish());
        let fam = if family == CompilerFamily::Clang {
            "clang"
        } else {
            "gcc"
        };
        let _ = self.cache.memo_put(&memo_key, &format!("{fam} {digest}"));
        Some(Identity { family, digest })
    }

    fn source_key(&self, cmd: &CompileCommand, id: &Identity, source: &[u8]) -> key::Digest {
        let args = self.roots.normalize_args(&cmd.args);
        let tokens: Vec<&str> = if self.roots.src().is_some() {
            vec![SRC_TOKEN, OBJ_TOKEN]
        } else {
            vec![OBJ_TOKEN]
        };
        let source_path = self.roots.normalize(&cmd.source);
        let input = key::SourceKeyInput {
            compiler: &kd(&id.digest),
            lang: cmd.lang.name(),
            prefix_map_tokens: &tokens,
            env: &self.env,
            args: &args,
            source_path: &source_path,
            source_digest: &key::Digest::of(source),
        };
        let digest = key::source_key_digest(&input);
        if let Some(path) = &self.explain {
            // The explanation sink sees exactly the fields the hash saw.
            let mut e = key::Explain::default();
            key::source_key(&mut e, &input);
            let text = format!("== source key {digest} for {}\n{}", cmd.output, e.0);
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()));
        }
        digest
    }

    /// Looks the compile up: direct mode, else (no manifest) the preprocessor.
    /// `Err(())` means a cache problem was reported and the caller should compile.
    fn lookup(&self, cmd: &CompileCommand, source_key: &key::Digest) -> Result<Option<Found>, ()> {
        match self.cache.get_manifest(&fd(source_key)) {
            Ok(Some(m)) => self.lookup_in(source_key, m),
            Ok(None) if self.preprocessor_fallback => self.lookup_preprocessed(cmd, source_key),
            Ok(None) => Ok(None),
            Err(e) => {
                self.drop_corrupt(&e);
                Err(())
            }
        }
    }

    fn drop_corrupt(&self, e: &CacheError) {
        if !matches!(e, CacheError::Missing { .. }) {
            self.warn(&format!("{e}; dropped it, compiling"));
        }
        self.cache.remove_path(e.path());
    }

    /// Direct mode: the manifest's include sets, checked against the files on disk.
    fn lookup_direct(&self, source_key: &key::Digest) -> Result<Option<Found>, ()> {
        match self.cache.get_manifest(&fd(source_key)) {
            Ok(Some(m)) => self.lookup_in(source_key, m),
            Ok(None) => Ok(None),
            Err(e) => {
                self.drop_corrupt(&e);
                Err(())
            }
        }
    }

    /// Checks the include sets of `manifest` in order; the first that matches the files on
    /// disk and has an action entry is the hit.
    fn lookup_in(
        &self,
        source_key: &key::Digest,
        mut manifest: fcache::Manifest,
    ) -> Result<Option<Found>, ()> {
        let now = SystemTime::now();
        let mut seen: HashMap<String, Option<(fcache::Digest, Option<StatStamp>)>> = HashMap::new();
        for si in 0..manifest.sets.len() {
            let set = &manifest.sets[si];
            let mut ok = true;
            let mut restamp = false;
            let mut stamps: Vec<Option<StatStamp>> = Vec::with_capacity(set.files.len());
            for f in &set.files {
                let real = self.roots.denormalize(&f.path);
                let cur = match seen.get(real.as_ref()) {
                    Some(v) => *v,
                    None => {
                        let v = self.current(&real, f, now);
                        seen.insert(real.to_string(), v);
                        v
                    }
                };
                match cur {
                    Some((d, stamp)) if d == f.digest => {
                        // Rewrite the manifest only for a new settled stamp (a file that is
                        // too young keeps being hashed, without a write per launch).
                        if stamp.is_some() && stamp != f.stamp {
                            restamp = true;
                        }
                        stamps.push(stamp.or(f.stamp));
                    }
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            let includes: Vec<(&str, key::Digest)> = set
                .files
                .iter()
                .map(|f| (f.path.as_str(), kd(&f.digest)))
                .collect();
            let action_key = key::action_key_digest(source_key, &includes);
            if fd(&action_key) != set.action_key {
                continue;
            }
            let found_key = set.action_key;
            match self.cache.get_action(&found_key) {
                Ok(Some(entry)) => {
                    if restamp || si != 0 {
                        let mut set = manifest.sets[si].clone();
                        for (f, s) in set.files.iter_mut().zip(stamps) {
                            f.stamp = s;
                        }
                        manifest.add_front(set);
                        let _ = self.cache.put_manifest(&fd(source_key), &manifest);
                    }
                    return Ok(Some((found_key, Box::new(entry))));
                }
                Ok(None) => continue,
                Err(e) => {
                    self.drop_corrupt(&e);
                    return Err(());
                }
            }
        }
        Ok(None)
    }

    /// The digest of a file now (trusting a matching stat stamp), and its stamp when settled.
    fn current(
        &self,
        real: &str,
        known: &IncludeFile,
        now: SystemTime,
    ) -> Option<(fcache::Digest, Option<StatStamp>)> {
        let md = std::fs::metadata(real).ok()?;
        let stamp = StatStamp::of(&md);
        if self.trust_stat && known.stamp == Some(stamp) {
            return Some((known.digest, Some(stamp)));
        }
        let bytes = std::fs::read(real).ok()?;
        let settled = stamp.is_settled(now).then_some(stamp);
        Some((fcache::Digest::of(&bytes), settled))
    }

    /// Hashes the include list a compiler reported (paths as the compiler wrote them).
    /// `None` when a file cannot be read or uses time macros (then nothing is stored).
    fn hash_includes(&self, cmd: &CompileCommand, inputs: &[String]) -> Option<Vec<Seen>> {
        let now = SystemTime::now();
        let skip = usize::from(inputs.first() == Some(&cmd.source));
        let mut out = Vec::with_capacity(inputs.len());
        for p in &inputs[skip..] {
            if p.contains('\n') {
                return None;
            }
            let mut f = std::fs::File::open(p).ok()?;
            let md = f.metadata().ok()?;
            let mut bytes = Vec::with_capacity(md.len() as usize);
            io::Read::read_to_end(&mut f, &mut bytes).ok()?;
            if !self.date_pinned && compile::uses_time_macros(&bytes) {
                return None;
            }
            let stamp = StatStamp::of(&md);
            out.push(Seen {
                norm: self.roots.normalize(p).into_owned(),
                digest: fcache::Digest::of(&bytes),
                stamp: stamp.is_settled(now).then_some(stamp),
            });
        }
        Some(out)
    }

    fn remember(&self, source_key: &key::Digest, action_key: &key::Digest, seen: &[Seen]) {
        let mut m = match self.cache.get_manifest(&fd(source_key)) {
            Ok(Some(m)) => m,
            _ => Default::default(),
        };
        let files = seen
            .iter()
            .map(|s| IncludeFile {
                path: s.norm.clone(),
                digest: s.digest,
                stamp: s.stamp,
            })
            .collect();
        m.add_front(IncludeSet {
            action_key: fd(action_key),
            files,
        });
        let _ = self.cache.put_manifest(&fd(source_key), &m);
    }

    fn action_key_of(source_key: &key::Digest, seen: &[Seen]) -> key::Digest {
        let includes: Vec<(&str, key::Digest)> = seen
            .iter()
            .map(|s| (s.norm.as_str(), kd(&s.digest)))
            .collect();
        key::action_key_digest(source_key, &includes)
    }

    /// The preprocessor fallback: `-E -M` gives the include list without compiling.
    fn lookup_preprocessed(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
    ) -> Result<Option<Found>, ()> {
        let Ok(tmp) = self.cache.tmp_path(".d") else {
            return Ok(None);
        };
        let tmp_s = tmp.to_string_lossy().into_owned();
        let mut args = Vec::with_capacity(cmd.args.len() + 8);
        let mut i = 0;
        while i < cmd.args.len() {
            let a = &cmd.args[i];
            if a == "-o" {
                i += 2;
                continue;
            }
            if a.starts_with("-o") || a == "-c" || a.starts_with("-gsplit-dwarf") {
                i += 1;
                continue;
            }
            args.push(a.clone());
            i += 1;
        }
        args.extend(["-E", "-M", "-MF", &tmp_s, "-o", "/dev/null"].map(String::from));
        let r = self.runner.run(&cmd.compiler, &args);
        let text = std::fs::read_to_string(&tmp).ok();
        let _ = std::fs::remove_file(&tmp);
        let (Ok(r), Some(text)) = (r, text) else {
            return Ok(None);
        };
        if r.code != 0 {
            return Ok(None);
        }
        let deps = depfile::parse(&text);
        let Some(seen) = self.hash_includes(cmd, &deps.inputs) else {
            return Ok(None);
        };
        let action_key = Self::action_key_of(source_key, &seen);
        match self.cache.get_action(&fd(&action_key)) {
            Ok(Some(entry)) => {
                self.remember(source_key, &action_key, &seen);
                Ok(Some((fd(&action_key), Box::new(entry))))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.drop_corrupt(&e);
                Err(())
            }
        }
    }

    /// Materialises a hit; `None` when a blob failed verification (reported; compile instead).
    fn serve_hit(
        &self,
        cmd: &CompileCommand,
        (action_key, entry): &Found,
        start: Instant,
    ) -> Option<i32> {
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::with_capacity(2);
        for o in &entry.outputs {
            let dest = match o.role {
                Role::Object => cmd.output.clone(),
                Role::Dwo => cmd.dwo_path()?,
                _ => return None,
            };
            match self.cache.get_blob(&o.digest, o.size) {
                Ok(b) => files.push((PathBuf::from(dest), b)),
                Err(e) => {
                    self.drop_corrupt(&e);
                    self.cache.remove(fcache::Kind::Action, action_key);
                    if !matches!(e, CacheError::Missing { .. }) {
                        self.record(Outcome::Error, 0, start);
                    }
                    return None;
                }
            }
        }
        let stream = |s: &Option<(fcache::Digest, u64)>| -> Result<Vec<u8>, ()> {
            match s {
                None => Ok(Vec::new()),
                Some((d, n)) => self
                    .cache
                    .get_blob(d, *n)
                    .map(|b| self.unmark(&b))
                    .map_err(|e| {
                        self.drop_corrupt(&e);
                    }),
            }
        };
        let (Ok(out), Ok(err)) = (stream(&entry.stdout), stream(&entry.stderr)) else {
            self.cache.remove(fcache::Kind::Action, action_key);
            self.record(Outcome::Error, 0, start);
            return None;
        };
        for (dest, bytes) in &files {
            if let Err(e) = fcache::write_atomic(dest, bytes) {
                self.warn(&format!("cannot write {}: {e}; compiling", dest.display()));
                return None;
            }
        }
        if let Some(dep) = &cmd.dep {
            let mut inputs = Vec::with_capacity(entry.includes.len() + 1);
            inputs.push(cmd.source.clone());
            inputs.extend(
                entry
                    .includes
                    .iter()
                    .map(|(p, _)| self.roots.denormalize(p).into_owned()),
            );
            if let Err(e) = self.write_depfile(cmd, dep, &inputs) {
                self.warn(&format!("cannot write {}: {e}; compiling", dep.path));
                return None;
            }
        }
        self.write_gdbinit(false);
        let _ = io::stdout().write_all(&out);
        let _ = io::stderr().write_all(&err);
        let saved = entry
            .wall_us
            .saturating_sub(start.elapsed().as_micros() as u64);
        self.record(Outcome::Hit, saved, start);
        Some(0)
    }

    fn write_depfile(
        &self,
        cmd: &CompileCommand,
        dep: &compile::DepOutput,
        inputs: &[String],
    ) -> io::Result<()> {
        let targets = if dep.targets.is_empty() {
            vec![compile::args::quote_make(&cmd.output)]
        } else {
            dep.targets.clone()
        };
        // Ninja reads the depfile only after the edge finished: no reader sees it half written.
        std::fs::write(&dep.path, depfile::render(&targets, inputs, dep.phony))
    }

    /// The prefix-map flags for this machine's roots (source first, object last: see the docs).
    fn prefix_maps(&self) -> Vec<String> {
        let mut v = Vec::with_capacity(3);
        if let Some(src) = self.roots.src() {
            v.push(format!("-ffile-prefix-map={src}={SRC_TOKEN}"));
        }
        for alias in &self.obj_aliases {
            v.push(format!("-ffile-prefix-map={alias}={OBJ_TOKEN}"));
        }
        v.push(format!(
            "-ffile-prefix-map={}={OBJ_TOKEN}",
            self.roots.obj()
        ));
        v
    }

    fn compile_and_store(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
        start: Instant,
    ) -> i32 {
        let tmp_dep = self.cache.tmp_path(".d").ok();
        let mut args = cmd.args.clone();
        args.extend(self.prefix_maps());
        if let Some(t) = &tmp_dep {
            args.extend([
                "-MD".to_string(),
                "-MF".to_string(),
                t.to_string_lossy().into_owned(),
            ]);
        }
        let t0 = Instant::now();
        let r = match self.runner.run(&cmd.compiler, &args) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("cached-ninja: error: cannot run {}: {e}", cmd.compiler);
                return 127;
            }
        };
        let wall_us = t0.elapsed().as_micros() as u64;
        let dep_text = tmp_dep.as_ref().and_then(|t| {
            let s = std::fs::read_to_string(t).ok();
            let _ = std::fs::remove_file(t);
            s
        });
        self.write_gdbinit(true);
        let finish = |code: i32, outcome: Outcome| {
            let _ = io::stdout().write_all(&r.stdout);
            let _ = io::stderr().write_all(&r.stderr);
            self.record(outcome, 0, start);
            code
        };
        if r.code != 0 {
            return finish(r.code, Outcome::Miss);
        }
        let Some(dep_text) = dep_text else {
            self.warn("the compiler wrote no dependency file; not cached");
            return finish(0, Outcome::Error);
        };
        let deps = depfile::parse(&dep_text);
        if let Some(dep) = &cmd.dep {
            let mut inputs = deps.inputs.clone();
            if inputs.first() != Some(&cmd.source) {
                inputs.insert(0, cmd.source.clone());
            }
            if let Err(e) = self.write_depfile(cmd, dep, &inputs) {
                eprintln!("cached-ninja: error: cannot write {}: {e}", dep.path);
                return finish(1, Outcome::Error);
            }
        }
        let Some(seen) = self.hash_includes(cmd, &deps.inputs) else {
            return finish(0, Outcome::Uncacheable);
        };
        match self.store(cmd, source_key, &seen, &r, wall_us) {
            Ok(()) => {}
            Err(e) => self.warn(&format!(
                "cannot store in the cache {}: {e}",
                self.cache.root().display()
            )),
        }
        finish(0, Outcome::Miss)
    }

    fn store(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
        seen: &[Seen],
        r: &RunResult,
        wall_us: u64,
    ) -> io::Result<()> {
        let mut outputs = Vec::with_capacity(2);
        let mut put = |role: Role, path: &str| -> io::Result<()> {
            let bytes = std::fs::read(path)?;
            let digest = self.cache.put_blob(&bytes)?;
            let rel = self.roots.normalize(path);
            let rel = rel.strip_prefix("@obj/").unwrap_or(&rel).to_string();
            outputs.push(Output {
                role,
                path: rel,
                digest,
                size: bytes.len() as u64,
            });
            Ok(())
        };
        put(Role::Object, &cmd.output)?;
        if let Some(dwo) = cmd.dwo_path() {
            if Path::new(&dwo).exists() {
                put(Role::Dwo, &dwo)?;
            }
        }
        let stream = |bytes: &[u8]| -> io::Result<Option<(fcache::Digest, u64)>> {
            if bytes.is_empty() {
                return Ok(None);
            }
            let marked = self.mark(bytes);
            Ok(Some((self.cache.put_blob(&marked)?, marked.len() as u64)))
        };
        let stdout = stream(&r.stdout)?;
        let stderr = stream(&r.stderr)?;
        let action_key = Self::action_key_of(source_key, seen);
        let entry = ActionEntry {
            source_key: fd(source_key),
            outputs,
            includes: seen.iter().map(|s| (s.norm.clone(), s.digest)).collect(),
            stdout,
            stderr,
            cpu_us: r.cpu_us,
            wall_us,
        };
        self.cache.put_action(&fd(&action_key), &entry)?;
        self.remember(source_key, &action_key, seen);
        // Now and then (1 insert in 64) check the size cap.
        if SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_micros())
            % 64
            == 0
            && self.cache.summary().total_size() > self.max_size
        {
            self.cache.gc(self.max_size);
        }
        Ok(())
    }

    /// Replaces this machine's roots in captured output by placeholders (deeper root first).
    fn mark(&self, bytes: &[u8]) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return bytes.to_vec();
        };
        let mut pairs = vec![(self.roots.obj(), OBJ_MARK)];
        if let Some(s) = self.roots.src() {
            pairs.push((s, SRC_MARK));
        }
        pairs.sort_by_key(|(r, _)| std::cmp::Reverse(r.len()));
        let mut t = text.to_string();
        for (root, mark) in pairs {
            if root != "/" {
                t = t.replace(root, mark);
            }
        }
        t.into_bytes()
    }

    /// The inverse of [`Launcher::mark`] with this machine's roots.
    fn unmark(&self, bytes: &[u8]) -> Vec<u8> {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return bytes.to_vec();
        };
        if !text.contains('\u{1}') {
            return bytes.to_vec();
        }
        let t = text.replace(OBJ_MARK, self.roots.obj());
        let t = match self.roots.src() {
            Some(s) => t.replace(SRC_MARK, s),
            None => t,
        };
        t.into_bytes()
    }

    /// Records the token→root mapping for debuggers in `<obj>/.cached-ninja/gdbinit`.
    fn write_gdbinit(&self, full_check: bool) {
        let mut text = String::from(
            "# written by cached-ninja cc: this machine's paths for the tokens in objects\n",
        );
        if let Some(src) = self.roots.src() {
            text.push_str(&format!("set substitute-path {SRC_TOKEN} {src}\n"));
        }
        text.push_str(&format!(
            "set substitute-path {OBJ_TOKEN} {}\n",
            self.roots.obj()
        ));
        let path = Path::new(self.roots.obj()).join(".cached-ninja/gdbinit");
        // Launches that hit only check the length (one `stat`); a compile compares the content.
        let same = if full_check {
            std::fs::read(&path).is_ok_and(|old| old == text.as_bytes())
        } else {
            std::fs::metadata(&path).is_ok_and(|m| m.len() == text.len() as u64)
        };
        if same {
            return;
        }
        let _ = std::fs::create_dir_all(path.parent().expect("has parent"));
        let _ = fcache::write_atomic(&path, text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// A fake gcc: `-dumpmachine`/`--version` answer, a compile writes an object made of the
    /// source and header bytes and a depfile listing `a.c` and `a.h`.
    struct FakeCompiler {
        dir: PathBuf,
        compiles: RefCell<u32>,
    }

    impl Runner for FakeCompiler {
        fn run(&self, _program: &str, args: &[String]) -> io::Result<RunResult> {
            if args == ["-dumpmachine"] {
                return Ok(RunResult {
                    stdout: b"x86_64-linux-gnu\n".to_vec(),
                    ..Default::default()
                });
            }
            if args == ["--version"] {
                return Ok(RunResult {
                    stdout: b"gcc (fake) 1\n".to_vec(),
                    ..Default::default()
                });
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

    #[test]
    fn miss_then_hit_then_header_change() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().to_path_buf();
        std::fs::write(dir.join("fakecc"), "#!/bin/false\n").unwrap();
        std::fs::write(dir.join("a.c"), "int a;\n").unwrap();
        std::fs::write(dir.join("a.h"), "int h;\n").unwrap();
        let fake = FakeCompiler {
            dir: dir.clone(),
            compiles: RefCell::new(0),
        };
        let l = Launcher {
            runner: &fake,
            cache: LocalCache::new(dir.join("cache")),
            roots: Roots::new(dir.to_str().unwrap(), None),
            obj_aliases: vec![],
            env: vec![],
            date_pinned: false,
            trust_stat: true,
            preprocessor_fallback: true,
            max_size: 1 << 30,
            explain: Some(dir.join("explain.txt")),
            warned: Default::default(),
        };
        let cc = dir.join("fakecc").to_string_lossy().into_owned();
        let a_c = dir.join("a.c").to_string_lossy().into_owned();
        let a_o = dir.join("a.o").to_string_lossy().into_owned();
        let cmd: Vec<String> = vec![
            cc.clone(),
            "-c".into(),
            a_c.clone(),
            "-o".into(),
            a_o.clone(),
        ];
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
        let s = stats::BuildStats::read(&dir).unwrap();
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
    }
}
