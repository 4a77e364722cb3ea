//! A hit: verify and materialise the outputs atomically, write the depfile with this
//! machine's paths, replay stdout/stderr with the roots mapped back.
//!
//! Objects first (DESIGN §6): a debug output (`.dwo`, debug bundle) whose blob is not in the
//! local cache (a developer's pull brings objects only) does not stop the hit. The object is
//! served, a `.dwo` left at that path by an earlier compile is removed (it would not match the
//! object), and the hit is counted `debug-deferred`: `dbgfetch fill` gets the part from the
//! stores after the link. Finding the blob missing is the `open` the read does anyway.
//! A clang `-gsplit-dwarf=single` entry's bundle goes back into its object (`super::single`).
//! Not in a build that runs `dwp` or `llvm-dwp` itself (`Launcher::dwp_step`): its packager
//! reads every `.dwo`, so a missing one makes the hit a plain miss.

use super::launch::Launcher;
use super::lookup::Found;
use super::model::CompileModel;
use super::shadow::Refusal;
use backend::compile::{self, depfile, CompileCommand};
use fetch::cache::{self as fcache, ActionEntry, CacheError, Role};
use fetch::stats::{Outcome, Problem};
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

/// What a materialised entry gives back: the captured streams (roots mapped back) and the
/// debug outputs deferred to the fill.
pub(super) struct Served {
    /// Captured stdout.
    pub(super) out: Vec<u8>,
    /// Captured stderr.
    pub(super) err: Vec<u8>,
    /// Paths of debug outputs whose blob is not in the local cache.
    pub(super) deferred: Vec<String>,
}

/// An output of a hit to write: where, its bytes, its role.
type OutputFile = (PathBuf, fcache::Blob, Role);

impl Launcher<'_> {
    /// Materialises a hit; `None` when it cannot be served. Then the caller compiles, and
    /// this has already counted the reason (a named [`Problem`]) and printed one warning line
    /// naming the file; the one exception is a blob that is merely missing (evicted), which is
    /// a plain miss (see `fetch::cache::CacheError::Missing`), unless it is a debug part:
    /// that one is deferred to the fill (module docs).
    pub(super) fn serve_hit(
        &self,
        cmd: &CompileCommand,
        (action_key, entry): &Found,
        start: Instant,
    ) -> Option<i32> {
        // The depfile's inputs with this machine's paths: the source, then the headers.
        let mut inputs = Vec::with_capacity(entry.includes.len() + 1);
        inputs.push(cmd.source.clone());
        inputs.extend(
            entry
                .includes
                .iter()
                .map(|(p, _)| self.roots.denormalize(p).into_owned()),
        );
        if let Some(refusal) = self.shadowing(cmd, action_key, &inputs[1..]) {
            let msg = match refusal {
                Refusal::Shadowed(new) => format!(
                    "{new} now exists where the preprocessor looks before a header the cached {} read; compiling",
                    cmd.output
                ),
                Refusal::ThroughLink(link) => format!(
                    "an include of the cached {}: {}; compiling",
                    cmd.output,
                    super::links::why_not_cached(&link)
                ),
            };
            self.fall_back(Problem::Shadowed, &msg, start);
            return None;
        }
        let served = self.materialise(cmd, action_key, entry, start)?;
        if let Some(dep) = &cmd.dep {
            if let Err(e) = self.write_depfile(cmd, dep, &inputs) {
                let msg = format!("cannot write {}: {e}; compiling", dep.path);
                self.fall_back(Problem::WriteDepfile, &msg, start);
                return None;
            }
        }
        // An earlier compile's `.dwo` would not match this object: never leave it beside (a
        // `=single` object's debug part goes into the object itself, written above).
        for stale in served.deferred.iter().filter(|d| **d != cmd.output) {
            let _ = std::fs::remove_file(stale);
        }
        self.write_gdbinit(false);
        self.finish_hit(&served, entry, action_key, start);
        Some(0)
    }

    /// The end of every hit: replays the captured streams, counts the hit and logs the action.
    pub(super) fn finish_hit(
        &self,
        served: &Served,
        entry: &ActionEntry,
        action_key: &fcache::Digest,
        start: Instant,
    ) {
        let _ = io::stdout().write_all(&served.out);
        let _ = io::stderr().write_all(&served.err);
        self.edge.borrow_mut().action_key = Some(*action_key);
        let saved = entry
            .wall_us
            .saturating_sub(start.elapsed().as_micros() as u64);
        let outcome = if served.deferred.is_empty() {
            Outcome::Hit
        } else {
            Outcome::HitDebugDeferred
        };
        self.record(outcome, saved, start);
        self.log_action(action_key);
    }

    /// Verifies and writes every output of an entry where `model` puts its role (atomically;
    /// roles the model stores with the roots marked get this machine's roots back) and reads
    /// the captured streams. `None` when it cannot be served: the reason was counted and one
    /// warning line printed, as for [`Launcher::serve_hit`].
    pub(super) fn materialise(
        &self,
        model: &dyn CompileModel,
        action_key: &fcache::Digest,
        entry: &ActionEntry,
        start: Instant,
    ) -> Option<Served> {
        let (mut files, deferred) = self.output_blobs(model, action_key, entry, start)?;
        if let Err(why) = rejoin_single(&mut files) {
            self.cache.remove(fcache::Kind::Action, action_key);
            let msg = format!(
                "cache entry {}: {why}; dropped it, compiling",
                self.entry_path(action_key)
            );
            self.fall_back(Problem::Corrupt, &msg, start);
            return None;
        }
        let (out, err) = self.streams(action_key, entry, start)?;
        self.write_outputs(&files, start)?;
        Some(Served { out, err, deferred })
    }

    /// The path of the action entry `action_key`, for messages.
    fn entry_path(&self, action_key: &fcache::Digest) -> String {
        self.cache
            .path(fcache::Kind::Action, action_key)
            .display()
            .to_string()
    }

    /// Each output of `entry` with where `model` puts it and its bytes (roots given back),
    /// and the paths of debug outputs whose blob is not here (`dbgfetch fill` brings them);
    /// `None` when an output has no place in this compile or a blob is bad (counted, the
    /// entry dropped).
    fn output_blobs(
        &self,
        model: &dyn CompileModel,
        action_key: &fcache::Digest,
        entry: &ActionEntry,
        start: Instant,
    ) -> Option<(Vec<OutputFile>, Vec<String>)> {
        let mut files: Vec<OutputFile> = Vec::with_capacity(entry.outputs.len());
        let mut deferred: Vec<String> = Vec::new();
        for o in &entry.outputs {
            let Some(dest) = model.dest(o) else {
                let (problem, msg) = match o.role {
                    Role::Dwo => (
                        Problem::NoDwoPath,
                        format!(
                            "cache entry {} has a .dwo output but the command for {} writes none; compiling",
                            self.entry_path(action_key),
                            model.primary_output()
                        ),
                    ),
                    role => (
                        Problem::UnknownRole,
                        format!(
                            "cache entry {} has an output of role {role:?} ({}), not made by this compile of {}; compiling",
                            self.entry_path(action_key),
                            o.path,
                            model.primary_output()
                        ),
                    ),
                };
                self.fall_back(problem, &msg, start);
                return None;
            };
            match self.cache.get_blob(&o.digest, o.size) {
                Ok(b) if model.marks_roots(o.role) => {
                    files.push((PathBuf::from(dest), self.unmark(&b).into(), o.role))
                }
                Ok(b) => files.push((PathBuf::from(dest), b, o.role)),
                // A build that packages its `.dwo` files itself reads them after the link:
                // the part is needed now (a plain miss).
                Err(CacheError::Missing { .. }) if o.role.is_debug() && !self.packs_dwo() => {
                    deferred.push(dest)
                }
                Err(e) => {
                    self.drop_bad_entry(action_key, &[&e], start);
                    return None;
                }
            }
        }
        Some((files, deferred))
    }

    /// The captured stdout and stderr of `entry` (roots given back); `None` when a blob is
    /// bad (counted, the entry dropped).
    fn streams(
        &self,
        action_key: &fcache::Digest,
        entry: &ActionEntry,
        start: Instant,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let stream = |s: &Option<(fcache::Digest, u64)>| -> Result<Vec<u8>, CacheError> {
            match s {
                None => Ok(Vec::new()),
                Some((d, n)) => self.cache.get_blob(d, *n).map(|b| self.unmark(&b)),
            }
        };
        match (stream(&entry.stdout), stream(&entry.stderr)) {
            (Ok(out), Ok(err)) => Some((out, err)),
            (out, err) => {
                let errors: Vec<&CacheError> = [out.as_ref().err(), err.as_ref().err()]
                    .into_iter()
                    .flatten()
                    .collect();
                self.drop_bad_entry(action_key, &errors, start);
                None
            }
        }
    }

    /// Drops the entry `action_key` whose blobs gave `errors` (and the corrupt blobs); a
    /// blob that is bad, not only missing, is counted as corruption.
    fn drop_bad_entry(&self, action_key: &fcache::Digest, errors: &[&CacheError], start: Instant) {
        for e in errors {
            self.drop_corrupt(e);
        }
        self.cache.remove(fcache::Kind::Action, action_key);
        if errors
            .iter()
            .any(|e| !matches!(e, CacheError::Missing { .. }))
        {
            self.record(Outcome::Error(Problem::Corrupt), 0, start);
        }
    }

    /// Writes each of `files` at its path, atomically; `None` when one cannot be written
    /// (counted, one warning line).
    fn write_outputs(&self, files: &[OutputFile], start: Instant) -> Option<()> {
        for (dest, bytes, role) in files {
            // Unsynced: an object the cache holds can always be materialised again.
            let write = |f: &mut std::fs::File| {
                if role.is_executable() {
                    use std::os::unix::fs::PermissionsExt;
                    f.set_permissions(std::fs::Permissions::from_mode(0o755))?;
                }
                f.write_all(bytes)?;
                if let Some(d) = self.stall_materialise {
                    std::thread::sleep(d);
                }
                Ok(())
            };
            if let Err(e) = fcache::write_atomic_with(dest, fcache::Durability::Unsynced, write) {
                let msg = format!("cannot write {}: {e}; compiling", dest.display());
                self.fall_back(Problem::WriteOutput, &msg, start);
                return None;
            }
        }
        Some(())
    }

    /// The targets of the dependency file `dep` of `cmd`: its `-MT`/`-MQ`, else the output.
    pub(super) fn depfile_targets(
        &self,
        cmd: &CompileCommand,
        dep: &compile::DepOutput,
    ) -> Vec<String> {
        if dep.targets.is_empty() {
            vec![compile::args::quote_make(&cmd.output)]
        } else {
            dep.targets.clone()
        }
    }

    /// Writes the depfile Ninja asked for, with this machine's paths (hit and miss).
    pub(super) fn write_depfile(
        &self,
        cmd: &CompileCommand,
        dep: &compile::DepOutput,
        inputs: &[String],
    ) -> io::Result<()> {
        let targets = self.depfile_targets(cmd, dep);
        // Ninja reads the depfile only after the edge finished: no reader sees it half written.
        // An old one is unlinked, not truncated: ext4 flushes a file truncated to zero when it
        // is closed (`auto_da_alloc`), which cost a hit about 0.1 ms.
        let text = depfile::render(&targets, inputs, dep.phony);
        match std::fs::remove_file(&dep.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        std::fs::write(&dep.path, text)
    }
}

/// Joins a `=single` object's debug bundle, when it is here, with its stripped object: the
/// object is written whole, as the compiler made it ([`super::single`]). `Err`: why not.
fn rejoin_single(files: &mut Vec<OutputFile>) -> Result<(), String> {
    let Some(i) = files.iter().position(|f| f.2 == Role::DebugBundle) else {
        return Ok(());
    };
    let (dest, bundle, _) = files.remove(i);
    let object = files
        .iter_mut()
        .find(|f| f.0 == dest && f.2 == Role::StrippedObject)
        .ok_or("a debug bundle without its stripped object")?;
    object.1 = super::single::rejoin(&object.1, &bundle)
        .map_err(|e| format!("its debug bundle does not complete its object: {e}"))?
        .into();
    Ok(())
}
