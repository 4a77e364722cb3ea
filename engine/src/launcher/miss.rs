//! A miss: under the output's lock, compile with our `-MD -MF` and the prefix maps, replay
//! the output, then store blobs, the action entry and the manifest (all atomic).

use super::launch::Launcher;
use super::lookup::{NotStored, Seen};
use super::model::CompileModel;
use super::runner::RunResult;
use backend::compile::{depfile, CompileCommand};
use backend::key;
use fetch::cache::{self as fcache, ActionEntry, Output, Role, StatStamp};
use fetch::stats::{Outcome, Problem, Reason};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Instant, SystemTime};

impl Launcher<'_> {
    /// The miss: compiles with our depfile and prefix maps, replays the output, stores.
    pub(super) fn compile_and_store(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
        start: Instant,
    ) -> i32 {
        // The compiler's own dependency file goes beside the object, not into the cache: a
        // full or read-only cache must leave a plain compile (DESIGN §7).
        let out_abs = Path::new(self.roots.obj()).join(&cmd.output);
        let tmp_dep = fcache::temp_beside(&out_abs, "dep", ".d");
        let mut args = cmd.args.clone();
        args.extend(self.prefix_maps());
        args.extend([
            "-MD".to_string(),
            "-MF".to_string(),
            tmp_dep.to_string_lossy().into_owned(),
        ]);
        // When this launch began, before it read the source for the key.
        let started = SystemTime::now() - start.elapsed();
        let (r, wall_us) = match self.run_compiler(cmd, &args) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("cached-ninja: error: cannot run {}: {e}", cmd.compiler);
                self.record(Outcome::Error(Problem::Spawn), 0, start);
                return 127;
            }
        };
        let dep_text = std::fs::read_to_string(&tmp_dep).ok();
        let _ = std::fs::remove_file(&tmp_dep);
        let finish = |code: i32, outcome: Outcome| {
            let _ = io::stdout().write_all(&r.stdout);
            let _ = io::stderr().write_all(&r.stderr);
            self.record(outcome, 0, start);
            code
        };
        if r.code != 0 {
            // A compile error: nothing to store, and no object whose paths need mapping back.
            return finish(r.code, Outcome::Failed);
        }
        // The object embeds the path tokens: record this machine's mapping for debuggers.
        self.write_gdbinit(true);
        let Some(dep_text) = dep_text else {
            let msg = format!(
                "{} wrote no dependency file for {}; not cached",
                cmd.compiler, cmd.output
            );
            self.fall_back(Problem::NoDepfile, &msg, start);
            return finish(0, Outcome::Miss);
        };
        let deps = depfile::parse(&dep_text);
        if let Some(dep) = &cmd.dep {
            let mut inputs = deps.inputs.clone();
            if inputs.first() != Some(&cmd.source) {
                inputs.insert(0, cmd.source.clone());
            }
            if let Err(e) = self.write_depfile(cmd, dep, &inputs) {
                eprintln!("cached-ninja: error: cannot write {}: {e}", dep.path);
                return finish(1, Outcome::Error(Problem::WriteDepfile));
            }
        }
        // Inputs settle before they are trusted: the source and every header must be as they
        // were when the compile started (the source key hashed the source before it).
        let source_changed = std::fs::metadata(&cmd.source)
            .map(|md| StatStamp::of(&md).changed_since(started))
            .unwrap_or(true);
        let seen = match self.hash_includes(cmd, &deps.inputs, Some(started)) {
            Ok(_) if source_changed => Err(NotStored::Changed(cmd.source.clone())),
            other => other,
        };
        let mut seen = match seen {
            Ok(seen) => seen,
            Err(NotStored::Changed(path)) => {
                let msg = format!(
                    "{path} changed while {} was compiled; the object is used but not cached",
                    cmd.output
                );
                self.fall_back(Problem::InputChanged, &msg, start);
                return finish(0, Outcome::Miss);
            }
            Err(NotStored::Unkeyed(reason)) => return finish(0, Outcome::Uncacheable(reason)),
            Err(NotStored::Unreadable) => {
                return finish(0, Outcome::Uncacheable(Reason::Unreadable))
            }
        };
        self.add_passed_over(cmd, source_key, &mut seen);
        match self.store(cmd, source_key, &seen, &r, wall_us) {
            Ok(()) => {}
            Err(e) => {
                let msg = format!(
                    "cannot store {} in the cache {}: {e}",
                    cmd.output,
                    self.cache.root().display()
                );
                self.fall_back(Problem::Store, &msg, start);
            }
        }
        finish(0, Outcome::Miss)
    }

    /// Adds the lookup's candidates that exist now to the include list (`super::shadow`): the
    /// compile passed them over, so a hit needs them there, unchanged. Part of the entry, this
    /// travels with CI's manifests, where a memo of this machine cannot. Repeated until no new
    /// one appears: a file added here joins the list whose directives the rule reads, so its
    /// own candidates (a `builtin.h` passed over, and the `rfc6234/sha.h` it names) must be in
    /// the list too, or another machine's first check of the entry finds them "new".
    fn add_passed_over(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
        seen: &mut Vec<Seen>,
    ) {
        /// Rounds at most (each adds what the previous additions' directives name).
        const ROUNDS: usize = 8;
        let now = std::time::SystemTime::now();
        let source = std::fs::read(&cmd.source)
            .ok()
            .map(|text| super::directives::scan(&text));
        let mut scanned = self.scan_of_seen(cmd, source.clone(), seen);
        for _ in 0..ROUNDS {
            let headers: Vec<String> = seen
                .iter()
                .map(|s| self.roots.denormalize(&s.norm).into_owned())
                .collect();
            let known: std::collections::HashSet<String> =
                seen.iter().map(|s| s.norm.clone()).collect();
            let before = seen.len();
            for p in self.passed_over(cmd, &scanned, &headers) {
                let norm = self.roots.normalize(&p).into_owned();
                if known.contains(&norm) {
                    continue;
                }
                let (Ok(md), Ok(bytes)) = (std::fs::metadata(&p), std::fs::read(&p)) else {
                    continue;
                };
                let stamp = StatStamp::of(&md);
                seen.push(Seen {
                    norm,
                    digest: fcache::Digest::of(&bytes),
                    stamp: stamp.is_settled(now).then_some(stamp),
                    directives: super::directives::scan(&bytes),
                });
            }
            if seen.len() == before {
                break;
            }
            scanned = self.scan_of_seen(cmd, source.clone(), seen);
        }
        // For the lookup rule's record of this entry and its later first checks elsewhere.
        self.remember_scan(&Self::action_key_of(source_key, seen), &scanned);
    }

    /// The real compile: runs `cmd.compiler` with `args`; returns its result and wall time, µs.
    /// Under `cached-ninja build` it first takes a CPU token (`crate::jobserver`) unless the
    /// launch holds one already, held while the compiler runs; the wait is not part of the
    /// compile time.
    fn run_compiler(&self, cmd: &CompileCommand, args: &[String]) -> io::Result<(RunResult, u64)> {
        let _cpu = self.cpu.take().unwrap_or_else(crate::jobserver::cpu_token);
        let t0 = Instant::now();
        let r = self.runner.run(&cmd.compiler, args)?;
        Ok((r, t0.elapsed().as_micros() as u64))
    }

    /// Stores the outputs, the captured streams (with placeholders), the entry and manifest.
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
        // The primary output must be there; the others are stored when the compile made them.
        for (i, (role, path)) in cmd.made().into_iter().enumerate() {
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
        let action_key = Self::action_key_of(source_key, seen);
        let entry = ActionEntry {
            source_key: *source_key,
            outputs,
            includes: seen.iter().map(|s| (s.norm.clone(), s.digest)).collect(),
            stdout,
            stderr,
            cpu_us: r.cpu_us,
            wall_us,
        };
        self.cache.put_action(&action_key, &entry)?;
        let headers: Vec<String> = seen
            .iter()
            .map(|s| self.roots.denormalize(&s.norm).into_owned())
            .collect();
        self.remember_lookup(cmd, &action_key, &headers);
        self.remember(source_key, &action_key, seen);
        self.log_action(&action_key);
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
}
