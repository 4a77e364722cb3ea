//! A miss: under the output's lock, compile with our `-MD -MF` and the prefix maps, replay
//! the output, then store blobs, the action entry and the manifest (all atomic).

use super::candidates::Search;
use super::launch::Launcher;
use super::lookup::{NotStored, Seen};
use super::miss_words::Answers;
use super::model::CompileModel;
use super::preimage::{self, KeyFields};
use super::runner::RunResult;
use backend::compile::{depfile, CompileCommand, DepOutput};
use backend::key;
use fetch::cache::{self as fcache, ActionEntry, Output, Role, StatStamp};
use fetch::stats::{Outcome, Problem, Reason};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Instant, SystemTime};

impl Launcher<'_> {
    /// Removes what killed writers left beside `output`: the temporaries of dead writers
    /// (`fetch::cache::leftover`) in its directory, of any output there. A miss lists that
    /// directory once (next to a compile's cost, nothing); a hit never does.
    pub(super) fn sweep_beside(&self, output: &Path) {
        let dir = match output.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fcache::remove_abandoned_beside(dir);
    }

    /// The miss: compiles with our depfile and prefix maps, replays the output, stores.
    pub(super) fn compile_and_store(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
        fields: &KeyFields,
        start: Instant,
    ) -> i32 {
        // A fallback from an entry compiles: the edge log names no entry until one is stored.
        self.edge.borrow_mut().action_key = None;
        // The compiler's own dependency file goes beside the object, not into the cache: a
        // full or read-only cache must leave a plain compile (DESIGN §7).
        let out_abs = Path::new(self.roots.obj()).join(&cmd.output);
        self.sweep_beside(&out_abs);
        let words = self.miss_words(cmd, &out_abs);
        let tmp_dep = &words.tmp_dep;
        // When this launch began, before it read the source for the key.
        let started = SystemTime::now() - start.elapsed();
        let (mut r, mut wall_us, miss) = match self.compile(cmd, &words.args, tmp_dep, start) {
            Ok(c) if c.distributed => (c.result, c.wall_us, Outcome::MissDistributed),
            Ok(c) => (c.result, c.wall_us, Outcome::Miss),
            Err(e) => return self.spawn_failed(&cmd.compiler, &e, start),
        };
        let answers = match self.answers(cmd, &words, miss, (&mut r, &mut wall_us)) {
            Ok(a) => a,
            Err(e) => return self.spawn_failed(&cmd.compiler, &e, start),
        };
        let dep_text = std::fs::read_to_string(tmp_dep).ok();
        let _ = std::fs::remove_file(tmp_dep);
        let finish = |code: i32, outcome: Outcome| self.replay(&r, code, outcome, start);
        let named = (cmd.compiler.as_str(), cmd.output.as_str());
        let dep_text = match self.compiled(r.code, dep_text, named, "dependency file", miss, start)
        {
            Ok(t) => t,
            Err((code, outcome)) => return finish(code, outcome),
        };
        let deps = depfile::parse(&dep_text);
        if let Some(dep) = &cmd.dep {
            if let Err(e) = self.deliver_depfile(cmd, dep, &deps, &dep_text) {
                eprintln!("cached-ninja: error: cannot write {}: {e}", dep.path);
                return finish(1, Outcome::Error(Problem::WriteDepfile));
            }
        }
        // A path the dependency file cannot express exactly: the include list is not known,
        // so nothing is stored (Ninja got the compiler's own file).
        if !deps.exact() {
            return finish(0, Outcome::Uncacheable(Reason::Unreadable));
        }
        let mut search = self.search(cmd);
        let when = (started, miss, start);
        let mut seen = match self.include_list(cmd, &deps.inputs, &answers, &mut search, when) {
            Ok(seen) => seen,
            Err(outcome) => return finish(0, outcome),
        };
        let (search, action_key) = match self.add_passed_over(cmd, source_key, &mut seen, search) {
            Ok(found) => found,
            Err(link) => return finish(0, through_link(&link)),
        };
        // A twin gcc skipped as the same file is in no depfile, only among those passed over
        // (a review found a touch made gcc read it and the hit stale, 2026-12-05).
        if self.once_twins(&seen) {
            return finish(0, Outcome::Uncacheable(Reason::OnceTwins));
        }
        // The cache took no entry earlier in this build: nothing to store.
        if self.storing_off(start) {
            return finish(0, miss);
        }
        match self.store(cmd, (source_key, &action_key), &seen, &r, wall_us, search) {
            Ok(()) => preimage::remember(&self.cache, source_key, fields),
            Err(e) => self.store_failed(&cmd.output, &e, start),
        }
        finish(0, miss)
    }

    /// The include list a miss of `cmd` that read `inputs` is stored under, each file hashed,
    /// or the outcome to finish with when it is not stored. `when`: the compile's start on
    /// the clock files are stamped by, its outcome, and the launch's start.
    fn include_list(
        &self,
        cmd: &CompileCommand,
        inputs: &[String],
        answers: &Answers,
        search: &mut Search,
        (started, miss, start): (SystemTime, Outcome, Instant),
    ) -> Result<Vec<Seen>, Outcome> {
        // Inputs settle before they are trusted: the source and every header must be as they
        // were when the compile started (the source key hashed the source before it).
        let hashed = match answers.asm_read_more {
            true => Err(NotStored::Unkeyed(Reason::AsmInclude)),
            false => self.hash_includes(cmd, inputs, Some(started)),
        };
        // The warning of a time macro that a header's scan names too keeps that name.
        let hashed = match (hashed, answers.timed) {
            (Ok(_), true) => Err(NotStored::Unkeyed(Reason::DateTime)),
            (hashed, _) => hashed,
        };
        let hashed = hashed
            .and_then(|seen| match self.precompiled_header_near(search, inputs) {
                true => Err(NotStored::Unkeyed(Reason::PrecompiledHeader)),
                false => Ok(seen),
            })
            .and_then(|seen| match self.once_twins(&seen) {
                true => Err(NotStored::Unkeyed(Reason::OnceTwins)),
                false => Ok(seen),
            });
        let (source, output) = (&cmd.source, &cmd.output);
        self.settled(hashed, source, output, "object", started, miss, start)
    }

    /// Writes the dependency file Ninja expects at `dep` from the compiler's (`deps`, parsed
    /// from `text`): the compiler's own, retargeted, when it names a path no rewrite can
    /// express exactly.
    fn deliver_depfile(
        &self,
        cmd: &CompileCommand,
        dep: &DepOutput,
        deps: &depfile::Deps,
        text: &str,
    ) -> io::Result<()> {
        if !deps.exact() {
            let targets = self.depfile_targets(cmd, dep);
            let text = depfile::retarget(text, &targets).unwrap_or(text.to_string());
            return std::fs::write(&dep.path, text);
        }
        let mut inputs = deps.inputs.clone();
        if inputs.first() != Some(&cmd.source) {
            inputs.insert(0, cmd.source.clone());
        }
        self.write_depfile(cmd, dep, &inputs)
    }

    /// Adds the lookup's candidates that exist now to the include list (`super::shadow`): the
    /// compile passed them over, so a hit needs them there, unchanged. Part of the entry, this
    /// travels with CI's manifests, where a memo of this machine cannot. Repeated until no new
    /// one appears: a file added here joins the list whose directives the rule reads, so its
    /// own candidates (a `builtin.h` passed over, and the `rfc6234/sha.h` it names) must be in
    /// the list too, or another machine's first check of the entry finds them "new". Returns
    /// the search holding the candidates of the final list (`None` if the rounds ran out
    /// before it settled) and the final list's action key, or the directory a directive's `..`
    /// undid that is no plain directory (`super::links`: then nothing may be stored).
    fn add_passed_over(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
        seen: &mut Vec<Seen>,
        mut search: Search,
    ) -> Result<(Option<Search>, key::Digest), String> {
        /// Rounds at most (each adds what the previous additions' directives name).
        const ROUNDS: usize = 8;
        let now = std::time::SystemTime::now();
        let source = std::fs::read(&cmd.source)
            .ok()
            .map(|text| super::directives::scan(&text));
        // What the compile read, as the lookup rule names it (absolute), grown by each round.
        let (mut scanned, mut read) = self.take_scan_of_seen(cmd, source, seen);
        let mut known: hashbrown::HashSet<String> =
            hashbrown::HashSet::with_capacity(seen.len() * 2);
        known.extend(seen.iter().map(|s| s.norm.clone()));
        // One search for every round (`search`, made before the `.gch` scan, whose listings
        // it keeps): what a round learnt (directories, listings, each header's candidates)
        // holds for the next.
        let mut settled = None;
        for _ in 0..ROUNDS {
            let before = seen.len();
            let found = self.passed_over(&mut search, &scanned, &read);
            if let Some(link) = search.through_link() {
                return Err(link.to_string());
            }
            for p in found {
                let norm = self.roots.normalize(&p).into_owned();
                if !known.insert(norm.clone()) {
                    continue;
                }
                let (Ok(md), Ok(bytes)) = (std::fs::metadata(&p), std::fs::read(&p)) else {
                    continue;
                };
                let stamp = StatStamp::of(&md);
                let directives = super::directives::scan(&bytes);
                scanned.add(p.clone(), directives);
                seen.push(Seen {
                    norm,
                    digest: fcache::Digest::of(&bytes),
                    stamp: stamp.is_settled(now).then_some(stamp),
                    directives: Vec::new().into(), // (in `scanned`, as the others')
                });
                // (A candidate is a lexical path: the rule's names for what it read.)
                debug_assert!(backend::key::is_lexical(&p), "{p}");
                read.insert(p);
            }
            if seen.len() == before {
                settled = Some(search);
                break;
            }
        }
        // For the lookup rule's record of this entry and its later first checks elsewhere.
        let action_key = Self::action_key_of(source_key, seen);
        self.remember_scan(&action_key, &scanned);
        Ok((settled, action_key))
    }

    /// Whether two files of `seen` have the same bytes under different names and say
    /// `#pragma once` (or `_Pragma("once")`): gcc reads such twins once when their size and
    /// mtime match too, clang when they are one inode (a hard or symbolic link), so what the
    /// compile read depends on more than the bytes the key covers (a review served stale
    /// objects after a copy was replaced by a link, 2026-12-05).
    fn once_twins(&self, seen: &[Seen]) -> bool {
        let mut first: hashbrown::HashMap<&fcache::Digest, &str> =
            hashbrown::HashMap::with_capacity(seen.len());
        seen.iter().any(|s| match first.insert(&s.digest, &s.norm) {
            Some(other) if other != s.norm => {
                let path = self.absolute(&s.norm);
                std::fs::read(path).is_ok_and(|b| {
                    let has = |w: &[u8]| memchr::memmem::find(&b, w).is_some();
                    has(b"pragma") && has(b"once")
                })
            }
            _ => false,
        })
    }

    /// Replays a compile's captured output, counts `outcome`; returns `code`.
    pub(super) fn replay(&self, r: &RunResult, code: i32, outcome: Outcome, start: Instant) -> i32 {
        let _ = io::stdout().write_all(&r.stdout);
        let _ = io::stderr().write_all(&r.stderr);
        self.record(outcome, 0, start);
        code
    }

    /// A compiler that could not be started: one error line naming it, counted `spawn`; the
    /// exit code of a command not found.
    pub(super) fn spawn_failed(&self, program: &str, e: &io::Error, start: Instant) -> i32 {
        eprintln!("cached-ninja: error: cannot run {program}: {e}");
        self.record(Outcome::Error(Problem::Spawn), 0, start);
        127
    }

    /// The real compile: runs `program` with `args` (and `env` added); returns its result and
    /// wall time, µs.
    /// Under `cached-ninja build` it first takes a CPU token (`crate::jobserver`) unless the
    /// launch holds one already, held while the compiler runs; the wait is not part of the
    /// compile time.
    pub(super) fn run_compiler(
        &self,
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> io::Result<(RunResult, u64)> {
        let _cpu = self.cpu.take().unwrap_or_else(crate::jobserver::cpu_token);
        let t0 = Instant::now();
        let r = self.runner.run_with_env(program, args, env, None)?;
        Ok((r, t0.elapsed().as_micros() as u64))
    }

    /// Stores the outputs, the captured streams (with placeholders), the entry and manifest
    /// (`keys`: the source key, and the action key of `seen`), and the lookup rule's record of
    /// the entry.
    fn store(
        &self,
        cmd: &CompileCommand,
        keys: (&key::Digest, &key::Digest),
        seen: &[Seen],
        r: &RunResult,
        wall_us: u64,
        search: Option<Search>,
    ) -> io::Result<()> {
        self.store_entry(cmd, keys, seen, r, wall_us)?;
        let action_key = keys.1;
        // The rounds ran out before the list settled: its candidates are counted afresh.
        let search = search.unwrap_or_else(|| {
            let headers: Vec<String> = seen
                .iter()
                .map(|s| self.roots.denormalize(&s.norm).into_owned())
                .collect();
            let mut search = self.search(cmd);
            self.add_candidates(cmd, &mut search, action_key, &headers);
            search
        });
        self.remember_lookup(action_key, search);
        Ok(())
    }

    /// The common end of a miss's compile (C and rustc): a failed one (`code` not 0) is
    /// replayed as it is; a successful one records the debuggers' mapping (its outputs embed
    /// the path tokens) and needs the dependency file it wrote (`dep_text`, called `what`),
    /// else it is used but not cached (`miss`). `Err`: the code and outcome to finish with.
    pub(super) fn compiled(
        &self,
        code: i32,
        dep_text: Option<String>,
        (compiler, output): (&str, &str),
        what: &str,
        miss: Outcome,
        start: Instant,
    ) -> Result<String, (i32, Outcome)> {
        if code != 0 {
            return Err((code, Outcome::Failed));
        }
        self.write_gdbinit(true);
        dep_text.ok_or_else(|| {
            let msg = format!("{compiler} wrote no {what} for {output}; not cached");
            self.fall_back(Problem::NoDepfile, &msg, start);
            (0, miss)
        })
    }

    /// The inputs a miss stores (`hashed`, their digests as they are now), unless they or the
    /// source (hashed before the compile started at `started`) changed meanwhile: then the
    /// `what` at `output` is used but not cached (`miss`). `Err`: the outcome to finish with.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn settled<T>(
        &self,
        hashed: Result<T, NotStored>,
        source: &str,
        output: &str,
        what: &str,
        started: SystemTime,
        miss: Outcome,
        start: Instant,
    ) -> Result<T, Outcome> {
        let source_changed = std::fs::metadata(source)
            .map(|md| StatStamp::of(&md).changed_since(started))
            .unwrap_or(true);
        let hashed = match hashed {
            Ok(_) if source_changed => Err(NotStored::Changed(source.to_string())),
            other => other,
        };
        hashed.map_err(|e| match e {
            NotStored::Changed(path) => {
                let msg = format!(
                    "{path} changed while {output} was compiled; the {what} is used but not cached"
                );
                self.fall_back(Problem::InputChanged, &msg, start);
                miss
            }
            NotStored::Unkeyed(reason) => Outcome::Uncacheable(reason),
            NotStored::Unreadable => Outcome::Uncacheable(Reason::Unreadable),
        })
    }

    /// Stores what `model` made (the outputs by role, the captured streams with placeholders),
    /// the action entry for `inputs` and the source key's manifest, whatever the compiler
    /// (`keys`: the source key, and the action key of `inputs`).
    pub(super) fn store_entry(
        &self,
        model: &dyn CompileModel,
        (source_key, action_key): (&key::Digest, &key::Digest),
        inputs: &[Seen],
        r: &RunResult,
        wall_us: u64,
    ) -> io::Result<()> {
        let mut outputs = Vec::with_capacity(2);
        let mut blob = |role: Role, rel: String, bytes: &[u8]| -> io::Result<()> {
            let digest = self.cache.put_blob(bytes)?;
            outputs.push(Output {
                role,
                path: rel,
                digest,
                size: bytes.len() as u64,
            });
            Ok(())
        };
        let mut put = |role: Role, path: &str| -> io::Result<()> {
            let bytes = std::fs::read(path)?;
            let rel = self.roots.normalize(path);
            let rel = rel.strip_prefix("@obj/").unwrap_or(&rel).to_string();
            if role == Role::Object && model.splits_object() {
                if let Some(b) = super::single::split(&bytes) {
                    blob(Role::StrippedObject, rel.clone(), &b.stripped)?;
                    let bundle_path = format!("{rel}{}", super::single::BUNDLE_SUFFIX);
                    return blob(Role::DebugBundle, bundle_path, &b.bundle);
                }
            }
            if model.marks_roots(role) {
                blob(role, rel, &self.mark(&bytes))
            } else {
                blob(role, rel, &bytes)
            }
        };
        // The primary output must be there; the others are stored when the compile made them.
        for (i, (role, path)) in model.made().into_iter().enumerate() {
            if i == 0 || Path::new(&path).exists() {
                put(role, &path)?;
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
        let entry = ActionEntry {
            source_key: *source_key,
            outputs,
            includes: inputs.iter().map(|s| (s.norm.clone(), s.digest)).collect(),
            stdout,
            stderr,
            cpu_us: r.cpu_us,
            wall_us,
        };
        self.cache.put_action(action_key, &entry)?;
        self.edge.borrow_mut().action_key = Some(*action_key);
        self.remember(source_key, action_key, inputs);
        self.log_action(action_key);
        // Now and then (1 insert in 64) check the size cap.
        if SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_micros())
            % 64
            == 0
        {
            self.cache.gc_if_over(self.max_size);
        }
        Ok(())
    }
}

/// The outcome of a miss whose include list's lookup goes through `link`, a `..` that undoes
/// no plain directory: it cannot be followed, so nothing is stored (said with
/// `CACHED_NINJA_DEBUG`).
fn through_link(link: &str) -> Outcome {
    let why = super::links::why_not_cached(link);
    super::launch::debug_note(format_args!("not cached: {why}"));
    Outcome::Uncacheable(Reason::DotDotLink)
}
