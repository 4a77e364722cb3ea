//! A hit: verify and materialise the outputs atomically, write the depfile with this
//! machine's paths, replay stdout/stderr with the roots mapped back.

use super::launch::Launcher;
use super::lookup::Found;
use backend::compile::{self, depfile, CompileCommand};
use fetch::cache::{self as fcache, CacheError, Role};
use fetch::stats::Outcome;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

impl Launcher<'_> {
    /// Materialises a hit; `None` when a blob failed verification (reported; compile instead).
    pub(super) fn serve_hit(
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

    /// Writes the depfile Ninja asked for, with this machine's paths (hit and miss).
    pub(super) fn write_depfile(
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
}
