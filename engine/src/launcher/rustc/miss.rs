//! A rustc miss: compile with the roots remapped (and, for crate types that link, rustc
//! listing the crate files it loaded), replay the output, then store through the launcher's
//! one store path.

use super::super::launch::Launcher;
use super::super::lookup::{NotStored, Seen};
use super::super::paths::{OBJ_TOKEN, REG_TOKEN, SRC_TOKEN};
use super::super::runner::RunResult;
use backend::compile::rustc::{self as model, RustcCommand};
use backend::key;
use fetch::cache as fcache;
use fetch::stats::Outcome;
use std::path::Path;
use std::time::{Instant, SystemTime};

impl Launcher<'_> {
    /// The `--remap-path-prefix` flags for this machine's roots: the shortest first, since
    /// rustc applies the last one that matches (a target directory inside the workspace maps to
    /// the object token). rustc's default scope (everything): a narrower one such as `object`
    /// keeps the local paths in the crate metadata beside the remapped ones, for diagnostics.
    fn remaps(&self) -> Vec<(String, &'static str)> {
        let mut roots: Vec<(&str, &str)> = vec![(self.roots.obj(), OBJ_TOKEN)];
        if let Some(s) = self.roots.src() {
            roots.push((s, SRC_TOKEN));
        }
        if let Some(r) = self.roots.registry() {
            roots.push((r, REG_TOKEN));
        }
        roots.sort_by_key(|(r, _)| r.len());
        roots.into_iter().map(|(r, t)| (r.to_string(), t)).collect()
    }

    /// `bytes` with the tokens of [`Launcher::remaps`] turned back into this machine's roots:
    /// rustc's diagnostics name files as remapped, a plain compile names them as they are.
    fn untoken(&self, bytes: &[u8]) -> Vec<u8> {
        let Ok(mut text) = String::from_utf8(bytes.to_vec()) else {
            return bytes.to_vec();
        };
        for (root, token) in self.remaps() {
            text = text.replace(token, &root);
        }
        text.into_bytes()
    }

    /// The miss: compiles, replays the output, stores.
    pub(super) fn compile_rustc(
        &self,
        cmd: &RustcCommand,
        source_key: &key::Digest,
        start: Instant,
    ) -> i32 {
        // Unpacked `.dwo` files of an earlier compile of this crate (more codegen units then)
        // would be taken for this compile's.
        for stale in super::split_dwo_files(cmd) {
            let _ = std::fs::remove_file(stale);
        }
        self.sweep_beside(Path::new(cmd.primary()));
        let (mut args, own_dep) = self.miss_args(cmd);
        let graph = self.graph_words(cmd, &mut args);
        let started = SystemTime::now() - start.elapsed();
        let (mut r, wall_us) = match self.run_compiler(&cmd.rustc, &args, &[]) {
            Ok(r) => r,
            Err(e) => return self.spawn_failed(&cmd.rustc, &e, start),
        };
        let linked = self.linked(cmd, &graph);
        let dep_path = own_dep.clone().or(cmd.dep_info().map(str::to_string));
        let dep_text = dep_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        if let Some(d) = &own_dep {
            let _ = std::fs::remove_file(d);
            r.stderr = drop_lines_naming(&r.stderr, d);
        }
        r.stderr = self.untoken(&r.stderr);
        r.stdout = self.untoken(&r.stdout);
        let finish = |code: i32, outcome: Outcome| self.replay(&r, code, outcome, start);
        let named = (cmd.rustc.as_str(), cmd.primary());
        let dep_text =
            match self.compiled(r.code, dep_text, named, "dep-info", Outcome::Miss, start) {
                Ok(t) => t,
                Err((code, outcome)) => return finish(code, outcome),
            };
        let hashed = self.crate_inputs(cmd, &dep_text, linked, started);
        let (output, miss) = (cmd.primary(), Outcome::Miss);
        let settled = self.settled(
            hashed,
            &cmd.source,
            output,
            "artifact",
            started,
            miss,
            start,
        );
        let mut inputs = match settled {
            Ok(i) => i,
            Err(outcome) => return finish(0, outcome),
        };
        if self.embeds_roots(cmd) {
            inputs.push(self.roots_input());
        }
        self.store_crate(cmd, source_key, &inputs, &r, wall_us, start);
        finish(0, Outcome::Miss)
    }

    /// The words of the miss's compile, and the path of the dep-info it asks for itself.
    fn miss_args(&self, cmd: &RustcCommand) -> (Vec<String>, Option<String>) {
        let mut args = cmd.args.clone();
        // A command with remaps of its own keeps them (ours come later and would win: a
        // review found the user's `/src` replaced); its key holds the roots instead.
        if !keeps_paths(cmd) {
            args.extend(
                self.remaps()
                    .into_iter()
                    .map(|(r, t)| format!("--remap-path-prefix={r}={t}")),
            );
        }
        // The dep-info names what the compile read; one is asked for beside the primary output
        // when the command has none (its artifact notification is dropped from the output).
        let own_dep = cmd.dep_info().is_none().then(|| {
            let primary = std::env::current_dir()
                .unwrap_or_default()
                .join(cmd.primary());
            fcache::temp_beside(&primary, "dep", ".d")
                .to_string_lossy()
                .into_owned()
        });
        if let Some(d) = &own_dep {
            // Any `--emit` replaces rustc's default (`link`), which the command relied on.
            if !cmd.args.iter().any(|a| a.starts_with("--emit")) {
                args.push("--emit=link".to_string());
            }
            args.push(format!("--emit=dep-info={d}"));
        }
        (args, own_dep)
    }

    /// The inputs of the finished compile: the files its dep-info `dep_text` names, the native
    /// libraries it may bundle and those its linker read (`linked`), hashed as they are now.
    fn crate_inputs(
        &self,
        cmd: &RustcCommand,
        dep_text: &str,
        linked: Option<Vec<String>>,
        started: SystemTime,
    ) -> Result<Vec<Seen>, NotStored> {
        let mut deps = model::parse_dep_info(dep_text);
        for lib in bundled_libraries(cmd, &deps.files) {
            if !deps.files.contains(&lib) {
                deps.files.push(lib);
            }
        }
        match linked {
            Some(files) => {
                for f in files {
                    if !deps.files.contains(&f) {
                        deps.files.push(f);
                    }
                }
                self.rustc_inputs(cmd, &deps, started)
            }
            // What the linker read is not known: nothing is stored.
            None => Err(NotStored::Unreadable),
        }
    }

    /// Stores the compile's entry for `inputs`; a failure is a warning and a counted fallback.
    fn store_crate(
        &self,
        cmd: &RustcCommand,
        source_key: &key::Digest,
        inputs: &[Seen],
        r: &RunResult,
        wall_us: u64,
        start: Instant,
    ) {
        if self.storing_off(start) {
            return;
        }
        let action_key = Self::action_key_of(source_key, inputs);
        if let Err(e) = self.store_entry(cmd, (source_key, &action_key), inputs, r, wall_us) {
            self.store_failed(cmd.primary(), &e, start);
        }
    }

    /// Whether an artifact (not the dep-info, which is stored with placeholders) holds the
    /// path of a root despite the remaps: a string the crate built from one (`env!`), or a
    /// `--remap-path-scope` of the command that keeps local paths.
    fn embeds_roots(&self, cmd: &RustcCommand) -> bool {
        let roots: Vec<&str> = [
            Some(self.roots.obj()),
            self.roots.src(),
            self.roots.registry(),
        ]
        .into_iter()
        .flatten()
        .filter(|r| *r != "/")
        .collect();
        cmd.outputs
            .iter()
            .filter(|o| o.emit != model::EmitKind::DepInfo)
            .filter_map(|o| std::fs::read(&o.path).ok())
            .any(|bytes| {
                roots
                    .iter()
                    .any(|r| memchr::memmem::find(&bytes, r.as_bytes()).is_some())
            })
    }
}

/// The native libraries a crate that runs no linker (an rlib, a staticlib) may bundle
/// through a `#[link]` attribute (`kind = "static"`): every library file of the native search
/// directories, when a source file of the crate (`files`, its dep-info's) says `link(`. A
/// crate the linker makes has the linker's own list of what it read.
fn bundled_libraries(cmd: &RustcCommand, files: &[String]) -> Vec<String> {
    let attribute = |f: &String| {
        f.ends_with(".rs")
            && std::fs::read(f).is_ok_and(|t| memchr::memmem::find(&t, b"link(").is_some())
    };
    if super::link_inputs::runs_linker(cmd) || !files.iter().any(attribute) {
        return Vec::new();
    }
    super::key::library_files(cmd, &["native", "all"])
}

/// Whether the command remaps paths itself (`--remap-path-prefix`).
pub(super) fn own_remaps(cmd: &RustcCommand) -> bool {
    cmd.args
        .iter()
        .any(|a| a.starts_with("--remap-path-prefix"))
}

/// Whether the launcher's remaps must stay out of the command: it remaps paths itself, or
/// it instruments for coverage, whose mapping names the sources by the remapped paths (a
/// review's coverage report named `/cached-ninja/src`, 2026-12-05). The artifacts then hold
/// this machine's paths, which the key holds too.
pub(super) fn keeps_paths(cmd: &RustcCommand) -> bool {
    own_remaps(cmd) || cmd.args.iter().any(|a| a.contains("instrument-coverage"))
}

/// `bytes` without the lines that name `path` (rustc's JSON artifact notification for the
/// dep-info the launcher asked for).
fn drop_lines_naming(bytes: &[u8], path: &str) -> Vec<u8> {
    if !Path::new(path).is_absolute() || memchr::memmem::find(bytes, path.as_bytes()).is_none() {
        return bytes.to_vec();
    }
    bytes
        .split_inclusive(|b| *b == b'\n')
        .filter(|l| memchr::memmem::find(l, path.as_bytes()).is_none())
        .flatten()
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::drop_lines_naming;

    #[test]
    fn the_launchers_own_dep_info_leaves_the_artifact_notifications() {
        let err = b"{\"artifact\":\"/t/x.d\",\"emit\":\"dep-info\"}\n{\"artifact\":\"/t/.x.cn-dep.1.d\",\"emit\":\"dep-info\"}\nwarning\n";
        assert_eq!(
            drop_lines_naming(err, "/t/.x.cn-dep.1.d"),
            b"{\"artifact\":\"/t/x.d\",\"emit\":\"dep-info\"}\nwarning\n".to_vec()
        );
        assert_eq!(drop_lines_naming(err, "rel.d"), err.to_vec());
    }
}
