//! The [`Launcher`] and one launch: from the compiler command to a hit, a miss or `exec`.

use super::identity::Identity;
use super::lookup::Looked;
use super::marker::Marker;
use super::paths::{OBJ_TOKEN, SRC_TOKEN};
use super::preimage::KeyFields;
use super::runner::{self, Runner};
use backend::compile::{self, CompileCommand};
use backend::key::{self, Roots};
use fetch::cache::{self as fcache, CacheError, LocalCache};
use fetch::edge_log::EdgeOutcome;
use fetch::stats::{self, Outcome, Problem, Reason};
use fetch::want::PullLink;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Everything one launch needs, passed explicitly (no globals).
pub struct Launcher<'r> {
    /// Spawns processes.
    pub runner: &'r dyn Runner,
    /// The talk with a running pull of this object directory.
    pub pull: &'r dyn PullLink,
    /// The local cache.
    pub cache: LocalCache,
    /// The roots.
    pub roots: Roots,
    /// Extra logical paths of the object root (`$PWD`) to map too.
    pub obj_aliases: Vec<String>,
    /// The environment variables that go into the key, as (name, value).
    pub env: Vec<(String, String)>,
    /// Why the environment makes compiles uncacheable (a variable set), if it does.
    pub env_refusal: Option<(Reason, String)>,
    /// Whether `SOURCE_DATE_EPOCH` is set (the compiler decides whether it pins the date).
    pub date_pinned: bool,
    /// Whether this launch's compiler pins `__DATE__`/`__TIME__` (set once it is identified).
    pub time_pinned: std::cell::Cell<bool>,
    /// This launch's compiler family (set once it is identified).
    pub family: std::cell::Cell<Option<compile::CompilerFamily>>,
    /// The distributed compiler a miss's compile is handed to, if any (`super::distribute`).
    pub distribute: Option<super::distribute::Distribution>,
    /// This process ends with its launch: the lookup rule's largest structure is left to the
    /// exit instead of being freed piece by piece (a tenth of a first check's instructions).
    pub one_shot: bool,
    /// A miss waits for a plan the build still looks for (not in Ninja's run of what no record
    /// of the pull covers: `fetch::want::UNCOVERED_ENV`).
    pub plan_wait: bool,
    /// Trust settled stat stamps of headers and directories (`CACHED_NINJA_TRUST_STAT`,
    /// default on).
    pub trust_stat: bool,
    /// Run the preprocessor when no manifest is known (`CACHED_NINJA_PREPROCESSOR=1`; off by
    /// default).
    pub preprocessor_fallback: bool,
    /// Append what each source key hashed to this file (`CACHED_NINJA_EXPLAIN=<file>`).
    pub explain: Option<PathBuf>,
    /// Size cap for the automatic gc.
    pub max_size: u64,
    /// Whether this launch already printed its one warning line (later ones are dropped:
    /// a problem is reported once, not once per place that notices it).
    pub warned: std::cell::Cell<bool>,
    /// What this launch did so far, for the edge log (`fetch::edge_log`): filled in as the
    /// launch goes, appended with each recorded outcome.
    pub edge: std::cell::RefCell<EdgeOutcome>,
    /// A CPU token taken before the last look at the cache (the compile then uses it).
    pub cpu: std::cell::Cell<Option<crate::jobserver::CpuToken>>,
    /// What `generate` recorded of the policy (`None`: no `generate`, or not a Ninja edge).
    pub policy_read: Option<fetch::objdir::PolicyRead>,
    /// The DWARF packager the build runs itself (`generate` recorded it): then a hit writes
    /// its `.dwo` too, and for `llvm-dwp` objects name the real object root.
    pub dwp_step: backend::rewrite::dwp_step::DwpStep,
    /// The directives of the headers this launch's lookup read whole (`super::directives`).
    pub read_scans: super::directives::ReadScans,
    /// The files this launcher's lookups checked lately, when it serves many launches.
    pub recent: super::lookup::Recent,
    /// The compilers and assembler this launcher identified, for its next launches.
    pub known_tools: super::identity::KnownTools,
    /// What is remembered of the headers' bytes, per directory (`super::header_facts`).
    pub facts: super::header_facts::FactsByDir,
    /// The thread's CPU time (µs) when this launch began, where the launcher serves many in one
    /// process ([`Launcher::own_cpu_us`]).
    pub cpu_start: std::cell::Cell<u64>,
    /// Tests only: sleep between writing a materialised output and renaming it into place
    /// (`CACHED_NINJA_TEST_STALL_MATERIALISE_MS`), so a kill can land there.
    pub stall_materialise: Option<std::time::Duration>,
}

/// A note for `CACHED_NINJA_DEBUG` (why a command is not cached, where a miss compiled).
pub(super) fn debug_note(msg: std::fmt::Arguments) {
    if std::env::var_os("CACHED_NINJA_DEBUG").is_some() {
        eprintln!("cached-ninja: {msg}");
    }
}

impl Launcher<'_> {
    /// Prints this launch's one warning line (later ones are dropped).
    pub(super) fn warn(&self, msg: &str) {
        if !self.warned.replace(true) {
            eprintln!("cached-ninja: warning: {msg}");
        }
    }

    /// Prints the build's one warning line of a problem a marker says once a build
    /// (`super::marker`), even after this launch's own line.
    pub(super) fn warn_for_build(&self, msg: &str) {
        self.warned.set(true);
        eprintln!("cached-ninja: warning: {msg}");
    }

    /// Appends the outcome of this launch to the object root's stats log and, once the
    /// command's output is known, to its edge log (the last line of an output wins, so a
    /// fallback's `error` line is followed by the compile's, which keeps the problem as a note).
    pub(super) fn record(&self, outcome: Outcome, saved_us: u64, spent: Instant) {
        let obj = Path::new(self.roots.obj());
        let mut edge = self.edge.borrow_mut();
        // What a hit or miss wrote, for the build's summary (one `statx`).
        let wrote = matches!(
            outcome,
            Outcome::Hit | Outcome::HitDebugDeferred | Outcome::Miss | Outcome::MissDistributed
        );
        let written = if wrote && !edge.output.is_empty() {
            std::fs::metadata(obj.join(&edge.output)).map_or(0, |m| m.len())
        } else {
            0
        };
        let _ = stats::record(
            obj,
            outcome,
            saved_us,
            spent.elapsed().as_micros() as u64,
            self.own_cpu_us(),
            written,
        );
        match outcome {
            Outcome::Error(p) => edge.notes.push(p.name().to_string()),
            Outcome::Uncacheable(r) => edge.notes.push(r.name().to_string()),
            Outcome::HitDebugDeferred => edge.notes.push(stats::DEBUG_DEFERRED.to_string()),
            Outcome::MissDistributed => edge.notes.push(stats::DISTRIBUTED.to_string()),
            Outcome::Hit | Outcome::Miss | Outcome::Failed => {}
        }
        if !edge.output.is_empty() {
            edge.outcome = outcome.word().to_string();
            let _ = fetch::edge_log::append(obj, &edge);
        }
    }

    /// This launch's own CPU so far, µs: the process's for a launch that is one (`one_shot`),
    /// else this thread's since [`Launcher::cpu_start`] (hits served in the build's process).
    fn own_cpu_us(&self) -> u64 {
        match self.one_shot {
            true => runner::self_cpu_us(),
            false => runner::thread_cpu_us().saturating_sub(self.cpu_start.get()),
        }
    }

    /// Appends the action this launch used to the object root's action log (what `publish`
    /// uploads, in build order).
    pub(super) fn log_action(&self, key: &fcache::Digest) {
        let _ = fetch::action_log::append(Path::new(self.roots.obj()), key);
    }

    /// A fallback to a local compile (or another problem survived): prints the launch's one
    /// warning line, which names the file and the reason, and counts `problem`.
    pub(super) fn fall_back(&self, problem: Problem, msg: &str, spent: Instant) {
        self.warn(msg);
        self.record(Outcome::Error(problem), 0, spent);
    }

    /// A miss's store that failed with `e`: a cache with no room for new entries (full,
    /// read-only, not ours to write) is marked so that the build's one warning line says so
    /// and its later misses store nothing ([`Launcher::storing_off`]); any other failure
    /// warns for this launch. Counted `store` either way.
    pub(super) fn store_failed(&self, output: &str, e: &io::Error, start: Instant) {
        let msg = format!(
            "cannot store {output} in the cache {}: {e}",
            self.cache.root().display()
        );
        if !fcache::no_room(e) {
            return self.fall_back(Problem::Store, &msg, start);
        }
        if self.unwritable_marker().set() {
            self.warn_for_build(&format!(
                "{msg}; storing nothing more for the rest of this build"
            ));
        }
        self.record(Outcome::Error(Problem::Store), 0, start);
    }

    /// Whether an earlier miss of this build found the cache with no room for new entries:
    /// then this miss stores nothing, silently, and counts `store`.
    pub(super) fn storing_off(&self, start: Instant) -> bool {
        let off = self.unwritable_marker().is_fresh();
        if off {
            self.record(Outcome::Error(Problem::Store), 0, start);
        }
        off
    }

    /// The build's marker of a cache that took no new entry ([`Launcher::store_failed`]).
    fn unwritable_marker(&self) -> Marker {
        super::marker::cache_unwritable(Path::new(self.roots.obj()), self.cache.root())
    }

    /// Reports a bad cache file (unless merely missing) and removes it.
    pub(super) fn drop_corrupt(&self, e: &CacheError) {
        if self.cache_problem() == Problem::Store {
            // Said once a build, like a full cache (the marker stops later misses' stores).
            if self.unwritable_marker().set() {
                self.warn_for_build(&format!(
                    "the cache {} is not a directory: point CACHED_NINJA_CACHE_DIR (or the policy's [cache] dir) at one; compiling without it",
                    self.cache.root().display()
                ));
            }
            return;
        }
        if !matches!(e, CacheError::Missing { .. }) {
            self.warn(&format!("{e}; dropped it, compiling"));
        }
        self.cache.remove_path(e.path());
    }

    /// What a cache read that failed counts as: [`Problem::Corrupt`], or [`Problem::Store`]
    /// when the cache's root is no directory (nothing in it is corrupt: it cannot be used).
    pub(super) fn cache_problem(&self) -> Problem {
        match self.cache.root().is_dir() {
            true => Problem::Corrupt,
            false => Problem::Store,
        }
    }

    /// Runs one compile command (compiler first); returns the exit code.
    pub fn launch(&self, words: Vec<String>) -> i32 {
        let start = Instant::now();
        *self.edge.borrow_mut() = EdgeOutcome::default();
        self.warn_if_policy_edited();
        let words = compile::drop_wrapper(&words).to_vec();
        if words.is_empty() {
            eprintln!("cached-ninja: error: no compiler after the ccache/sccache prefix");
            return 1;
        }
        let (cmd, identity) = match self.parse_compile(&words, start) {
            Ok(parsed) => parsed,
            Err(code) => return code,
        };
        let unchanged =
            |reason: Reason, why: &str| self.run_as_is(&words, reason, why, true, start);
        self.begin_edge(&cmd);
        let out_abs = Path::new(self.roots.obj()).join(&cmd.output);
        // gcc pins __DATE__/__TIME__ under SOURCE_DATE_EPOCH; clang 14 ignores the variable.
        self.time_pinned
            .set(self.date_pinned && identity.family == compile::CompilerFamily::Gcc);
        self.family.set(Some(identity.family));
        let source_bytes = match self.source_for_key(&cmd, &out_abs) {
            Ok(b) => b,
            Err((reason, why)) => return unchanged(reason, &why),
        };
        let fields = self.key_fields(&cmd, &identity, &source_bytes);
        let source_key = self.source_key(&cmd, &fields);
        self.edge.borrow_mut().source_key = Some(source_key);

        // Direct mode, then the preprocessor fallback. A hit that could not be served was
        // counted once (by `serve_hit`) and is not tried again under the lock.
        let preprocess = self.preprocessor_fallback.then_some(&cmd);
        let finding = self.find(&source_key, preprocess, start);
        let (coming, mut hit_failed) = (finding.coming, finding.problem);
        if let Some(entry) = finding.found {
            match self.serve_hit(&cmd, &entry, start) {
                Some(code) => return code,
                None => hit_failed = true,
            }
        }
        if let Some((reason, why)) = self.unkeyed_in(&cmd, &source_bytes) {
            return unchanged(reason, &why);
        }
        // The pull may still bring the object while this compile waits for a CPU (issue 15):
        // the token first, so the look below sees what arrived meanwhile.
        if coming {
            self.cpu.set(Some(crate::jobserver::cpu_token()));
        }
        // Miss: compile under a lock on the output, looking again once we hold it (another
        // launcher or the pull may have stored the entry meanwhile).
        let _lock = self
            .cache
            .lock(&fcache::Digest::of(out_abs.as_os_str().as_encoded_bytes()))
            .ok();
        if _lock.is_some() && !hit_failed {
            if let Some(code) = self.hit_under_lock(&cmd, &source_key, start) {
                return code;
            }
        }
        self.compile_and_store(&cmd, &source_key, &fields, start)
    }

    /// Runs `words` unchanged, uncached because of `why`; records `reason` for a compile
    /// (`compile`) and for any command run in an object directory. Returns the exit code
    /// when the command cannot replace this process.
    fn run_as_is(
        &self,
        words: &[String],
        reason: Reason,
        why: &str,
        compile: bool,
        start: Instant,
    ) -> i32 {
        // A command that is no compile at all is recorded only in an object directory (one with
        // a `build.ninja` or the state directory already): as a zero-setup launcher the binary
        // also runs a generator's probes (`gcc --version`, `-E`) in whatever directory the
        // generator runs, which must not get a `.cached-ninja/`.
        let obj = fetch::objdir::ObjDir::new(self.roots.obj());
        let recorded =
            compile || obj.state_dir().is_dir() || obj.root().join("build.ninja").is_file();
        self.run_unchanged(words, recorded.then_some(reason), why, start)
    }

    /// Runs `words` unchanged, uncached because of `why` (said with `CACHED_NINJA_DEBUG`),
    /// recording `reason` if given; the exit code when the command cannot replace this
    /// process. The C/C++ and the rustc launches both end here.
    pub(super) fn run_unchanged(
        &self,
        words: &[String],
        reason: Option<Reason>,
        why: &str,
        start: Instant,
    ) -> i32 {
        debug_note(format_args!("not cached: {why}"));
        if let Some(r) = reason {
            self.record(Outcome::Uncacheable(r), 0, start);
        }
        match self.runner.exec(&words[0], &words[1..]) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("cached-ninja: error: cannot run {}: {e}", words[0]);
                127
            }
        }
    }

    /// The compile command of `words` and its compiler, or the exit code of running `words`
    /// unchanged (response files that cannot be read, a compiler not identified, a command
    /// that is no cacheable compile).
    fn parse_compile(
        &self,
        words: &[String],
        start: Instant,
    ) -> Result<(CompileCommand, Identity), i32> {
        let as_is = |reason: Reason, why: &str| self.run_as_is(words, reason, why, false, start);
        let expanded = compile::rsp::expand(words, Path::new(self.roots.obj()))
            .map_err(|e| as_is(Reason::Arguments, &e))?;
        let identity = self
            .identity(&words[0])
            .ok_or_else(|| as_is(Reason::Compiler, "compiler not identified"))?;
        let cmd = compile::parse(&expanded, identity.family)
            .map_err(|e| as_is(super::reason::of_uncacheable(&e), &e.to_string()))?;
        Ok((cmd, identity))
    }

    /// Starts this output's record (`fetch::edge_log`): every outcome from here on is
    /// recorded, with the packager the build runs itself when the compile writes a `.dwo`
    /// (`dwp-none`: none): `cached-ninja build` makes again what was made under another
    /// (`super::packager_change`).
    pub(super) fn begin_edge(&self, cmd: &CompileCommand) {
        let mut edge = self.edge.borrow_mut();
        edge.output = cmd.output.clone();
        if cmd.dwo_path().is_some() {
            let step = self.dwp_step.name();
            edge.notes
                .push(format!("{}{step}", fetch::edge_log::PACKAGER));
        }
    }

    /// What the key does not cover that `cmd` depends on (`__TIME__` unpinned, …), with the
    /// reason, if anything.
    fn unkeyed_in(&self, cmd: &CompileCommand, source_bytes: &[u8]) -> Option<(Reason, String)> {
        // An entry was stored only if its source passed this rule, and the key covers the
        // source's bytes, the compiler and `SOURCE_DATE_EPOCH`: a hit need not scan the
        // source again (a change to the rule bumps `backend::key::KEY_FORMAT_VERSION`).
        let pinned = self.time_pinned.get();
        if let Some(what) = compile::unkeyed_input(source_bytes, pinned) {
            return Some((
                super::reason::of_unkeyed(what),
                format!("{what} in the source"),
            ));
        }
        // And in the values the command defines macros to (`-DBUILT=__TIME__`: a review found
        // it cached); not in their names (`-D__TIME__=`, as deterministic builds write).
        let values = cmd.macro_values();
        let what = values
            .iter()
            .find_map(|v| compile::unkeyed_input(v.as_bytes(), pinned))?;
        Some((
            super::reason::of_unkeyed(what),
            format!("{what} in the command"),
        ))
    }

    /// The look again under the output's lock: the exit code of a hit served, else `None`
    /// (a miss, or a cache problem recorded).
    fn hit_under_lock(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
        start: Instant,
    ) -> Option<i32> {
        match self.lookup(source_key, None) {
            Ok(Looked::Hit(entry)) => self.serve_hit(cmd, &entry, start),
            Ok(Looked::Miss(_)) => None,
            Err(()) => {
                self.record(Outcome::Error(self.cache_problem()), 0, start);
                None
            }
        }
    }

    /// The source key a launch of `words` (compiler first) would compute, without running
    /// anything but the compiler's identification (memoised), and from the same bytes of the
    /// source what `also` makes of them with its absolute path (as the lookup rule names it)
    /// and the parsed command;
    /// `None` where the launch would run the command unchanged before computing a key.
    pub(super) fn source_of<T>(
        &self,
        words: &[String],
        also: impl FnOnce(String, &[u8], &CompileCommand) -> T,
    ) -> Option<(key::Digest, T)> {
        let words = compile::drop_wrapper(words);
        let expanded = compile::rsp::expand(words, Path::new(self.roots.obj())).ok()?;
        let identity = self.identity(words.first()?)?;
        let cmd = compile::parse(&expanded, identity.family).ok()?;
        let source = std::fs::read(Path::new(self.roots.obj()).join(&cmd.source)).ok()?;
        let key = self.key_fields(&cmd, &identity, &source).digest();
        let path = key::lexical_join(self.roots.obj(), &cmd.source);
        Some((key, also(path, &source, &cmd)))
    }

    /// The source's bytes for the key, or why the command runs as it is: an output or a
    /// source that is no regular file, a precompiled header for a forced include, a `..`
    /// that undoes a link, a newline in a path, or the environment.
    pub(super) fn source_for_key(
        &self,
        cmd: &CompileCommand,
        out_abs: &Path,
    ) -> Result<Vec<u8>, (Reason, String)> {
        let refuse = |reason: Reason, why: &str| Err((reason, why.to_string()));
        // An output that is a device or a symbolic link would be replaced by a hit's rename
        // (gcc writes through it), and a pipe or device source (`/dev/stdin`) read up by the
        // key: a review found both, 2026-12-05. (A directory there fails the compile either
        // way: a hit says so and compiles.)
        match std::fs::symlink_metadata(out_abs) {
            Ok(m) if !m.is_file() && !m.is_dir() => {
                return refuse(Reason::Stdio, "the output is no regular file");
            }
            // The miss's files beside the output would be named in the compiler's error
            // instead of the output (a review, 2026-12-05).
            Err(_) if out_abs.parent().is_some_and(|d| !d.is_dir()) => {
                return refuse(Reason::OutputDir, "the output's directory does not exist");
            }
            _ => {}
        }
        let bytes = match read_regular(Path::new(&cmd.source)) {
            Ok(Some(b)) => b,
            Ok(None) => return refuse(Reason::Stdio, "the source is no regular file"),
            Err(_) => return refuse(Reason::Unreadable, "source not readable"),
        };
        let precompiled = |f: &&str| {
            [".gch", ".pch"]
                .iter()
                .any(|x| Path::new(&[f, *x].concat()).exists())
        };
        if cmd.forced_includes().iter().any(precompiled) {
            return refuse(Reason::PrecompiledHeader, "precompiled header in use");
        }
        if let Some(link) = self.dotdot_through_link(cmd) {
            return refuse(Reason::DotDotLink, &super::links::why_not_cached(&link));
        }
        if [&cmd.source, &cmd.output].iter().any(|p| p.contains('\n')) {
            return refuse(Reason::Unreadable, "newline in a path");
        }
        if let Some((reason, why)) = &self.env_refusal {
            return refuse(*reason, why);
        }
        Ok(bytes)
    }

    /// The fields of `cmd`'s source key.
    pub(super) fn key_fields(
        &self,
        cmd: &CompileCommand,
        id: &Identity,
        source: &[u8],
    ) -> KeyFields {
        let args = self.roots.normalize_args(&cmd.args);
        let tokens: Vec<&str> = if self.roots.src().is_some() {
            vec![SRC_TOKEN, OBJ_TOKEN]
        } else {
            vec![OBJ_TOKEN]
        };
        let source_path = self.roots.normalize(&cmd.source);
        // gcc runs the assembler it finds: its bytes are part of what the object depends on
        // (clang assembles in process, unless told not to).
        let mut env = self.env.clone();
        if cmd.external_assembler(id.family) {
            let asm = self.assembler().map_or("none".to_string(), |d| d.to_hex());
            env.push(("(assembler)".to_string(), asm));
        }
        // `-march=native` and its kin compile for this machine's processor (an object CI made
        // on another one differs).
        let native = |a: &String| {
            a.ends_with("=native")
                && ["-march=", "-mtune=", "-mcpu="]
                    .iter()
                    .any(|o| a.starts_with(o))
        };
        if cmd.args.iter().any(native) {
            env.push(("(processor)".to_string(), super::identity::host_processor()));
        }
        // A `#line` naming `../src/gram.y` is rewritten by this layout's relative maps only
        // when the source root is spelled that way: the spellings join the key.
        if compile::relative_line_name(source) {
            let spellings = self.roots.relative_spellings().iter();
            let spelled: Vec<&str> = spellings.map(|(_, s)| s.as_str()).collect();
            env.push(("(relative spellings)".to_string(), spelled.join(" ")));
        }
        // Sanitizers record source locations as the command spells them, past the prefix
        // maps: such objects are shared at the same roots only.
        // So do the paths of a command with prefix maps of its own, which the launcher does
        // not override (a review found ours replaced a user's `=.` map, 2026-12-05), and of
        // link-time optimisation: gcc's LTO sections and clang's bitcode `source_filename`
        // hold the source's path and the working directory unmapped (a review served tree
        // A's into tree B's objects, and through ThinLTO's module hash into its binary).
        let past_maps = |a: &String| a.starts_with("-fsanitize=") || a.starts_with("-flto");
        if cmd.args.iter().any(past_maps) || cmd.maps_own_prefixes() {
            let roots = format!("{} {}", self.roots.obj(), self.roots.src().unwrap_or(""));
            env.push(("(roots, for paths past the prefix maps)".to_string(), roots));
        }
        // A build that runs `llvm-dwp` itself gets objects naming the real object root
        // (`Launcher::obj_token`): shared at that root only.
        if self.obj_token() != OBJ_TOKEN {
            env.push((
                "(object root, for llvm-dwp)".to_string(),
                self.obj_token().to_string(),
            ));
        }
        KeyFields {
            compiler: id.digest,
            lang: cmd.lang.name(),
            tokens,
            env,
            args,
            source_path: source_path.into_owned(),
            source_digest: key::Digest::of(source),
        }
    }

    /// The source key of `fields`; with `CACHED_NINJA_EXPLAIN`, also appends what it hashed.
    pub(super) fn source_key(&self, cmd: &CompileCommand, fields: &KeyFields) -> key::Digest {
        let digest = fields.digest();
        if let Some(path) = &self.explain {
            // The explanation sink sees exactly the fields the hash saw.
            let text = format!(
                "== source key {digest} for {}\n{}",
                cmd.output,
                fields.explain()
            );
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()));
        }
        digest
    }
}

/// The bytes of the file at `path` if it is a regular file (`None` for a pipe or a device,
/// which is not read), from the one `fstat` that sizes the read.
fn read_regular(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let mut f = std::fs::File::open(path)?;
    let md = f.metadata()?;
    if !md.is_file() {
        return Ok(None);
    }
    fcache::read_whole(&mut f, md.len()).map(Some)
}
