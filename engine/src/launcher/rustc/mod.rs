//! The rustc model's launch (issue 17): `RUSTC_WRAPPER=cached-ninja` for Cargo (Cargo passes
//! the rustc path first) and `cached-ninja rustc -- rustc <args…>` for Ninja files that run
//! rustc directly. An added model beside C/C++: the command model is
//! `backend::compile::rustc`, the outputs by role are its [`CompileModel`] implementation, and
//! the lookup, hit, store, pull wait and statistics are the launcher's own.
//!
//! ## Roots
//! Under Cargo (`CARGO_PKG_NAME` set): the object root is the target directory (the nearest
//! directory above the outputs holding Cargo's `CACHEDIR.TAG`, else the working directory), the
//! source root is the working directory (Cargo runs rustc in the workspace root for its
//! members) unless that lies in the registry, and the registry's source directory
//! (`$CARGO_HOME/registry/src`) is the third root, `@reg`. From a Ninja file the roots are
//! the C launcher's (`--src-root`, `CACHED_NINJA_SRCDIR`, `.cached-ninja/config`).
//!
//! ## Key
//! Source key: rustc's identity (`-vV`, [`key`]), the normalised arguments, the source, the
//! Cargo variables rustc may read (`CARGO_PKG_*`, `CARGO_CRATE_NAME`, `CARGO_MANIFEST_DIR`,
//! `OUT_DIR`, …, normalised), each `--extern` artifact by content, each `-l` library found in
//! the `-L` directories by content, and for crate types that link, the linker's identity.
//! Action key (learnt on a miss, looked up as C's direct mode): every file in rustc's
//! dep-info with its digest, the variables its `env-dep` lines name (`$env:NAME`), and for
//! crate types that link, every crate file the compile loaded (rustc's `-Z
//! binary-dep-depinfo`, sysroot files left out: the identity covers them).
//!
//! ## Outputs
//! The compile gets `--remap-path-prefix` for each root (to `/cached-ninja/{src,obj,reg}`)
//! with `--remap-path-scope=object`, so artifacts embed tokens while diagnostics keep this
//! machine's paths (stored with placeholders, replayed with the roots of the machine that
//! hits). An artifact that still holds a root's path (a crate that embeds
//! `env!("CARGO_MANIFEST_DIR")` as a string) is keyed with this machine's roots too
//! (`$roots`): it hits only at the same paths. The dep-info file is stored with placeholders
//! and written with this machine's paths.
//!
//! ## Not trusted
//! A proc-macro or build script that reads files or variables rustc does not record (a
//! proc-macro's `std::fs::read`, `std::env::var`) is invisible to the key; such crates should
//! be kept out of the cache by a policy rule (under Cargo, found by [`cargo_policy`]; the CLI
//! binary applies it).

mod inputs;
mod key;
mod link_inputs;
mod miss;

use super::config::{run_words, utf8_words, with_launcher, Family};
use super::launch::Launcher;
use super::lookup::Looked;
use backend::compile::rustc::{self as model, NotCacheable, RustcCommand};
use backend::key::Roots;
use backend::rewrite::dwp_step::DwpStep;
use fetch::cache as fcache;
use fetch::stats::Reason;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub(super) use inputs::pseudo_input_digest;

/// Whether `program` names rustc (`rustc`, `/path/to/rustc`).
pub(super) fn is_rustc(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    name == "rustc" || name == "rustc.exe"
}

/// `RUSTC_WRAPPER=cached-ninja`: `words` is rustc and its arguments. Under Cargo the roots are
/// Cargo's (module docs); otherwise those of a Ninja launch.
pub(super) fn run_wrapper(words: &[OsString]) -> Result<i32, String> {
    if std::env::var_os("CARGO_PKG_NAME").is_none() {
        return run_words(words, None, Some(DwpStep::None), Family::Rustc);
    }
    let words = utf8_words(words)?;
    let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let cwd = cwd.to_string_lossy().into_owned();
    let registry = cargo_home().map(|h| format!("{}/registry/src", h.display()));
    let target = target_dir(&words[1..], &cwd).unwrap_or_else(|| cwd.clone());
    let in_registry = registry
        .as_deref()
        .is_some_and(|r| Path::new(&cwd).starts_with(r));
    let src = (!in_registry).then_some(cwd.as_str());
    let mut roots = Roots::new(&target, src);
    if let Some(r) = &registry {
        roots = roots.with_registry(r);
    }
    // No `generate` rewrote Cargo's calls: no recorded policy to compare (`cargo_policy`).
    Ok(with_launcher(
        roots,
        Path::new(&cwd),
        Default::default(),
        |l| l.launch_rustc(words),
    ))
}

/// The policy of a Cargo rustc call ([`cargo_policy`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CargoPolicy {
    /// The workspace's `cached-ninja.toml`.
    pub file: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// The command's primary output relative to the target directory (what `[[rule]]` globs
    /// match).
    pub output: String,
}

/// A Cargo rustc call's policy: the workspace's `cached-ninja.toml` (in the target directory's
/// parent, else in the target directory); `None` when not under Cargo, not rustc, the command
/// compiles no crate the model takes, or there is no policy file.
pub fn cargo_policy(words: &[OsString]) -> Option<CargoPolicy> {
    let (target, output) = cargo_output(words)?;
    let dirs = [target.parent(), Some(target.as_path())];
    let file = dirs
        .into_iter()
        .flatten()
        .map(|d| d.join(fetch::objdir::POLICY_FILE_NAME))
        .find(|p| p.is_file())?;
    Some(CargoPolicy {
        file,
        target,
        output,
    })
}

/// Under Cargo (`RUSTC_WRAPPER`, `words` rustc first): the target directory and the command's
/// primary output relative to it; `None` when not under Cargo, not rustc, or the command
/// compiles no crate the model takes.
fn cargo_output(words: &[OsString]) -> Option<(PathBuf, String)> {
    std::env::var_os("CARGO_PKG_NAME")?;
    let words = utf8_words(words).ok()?;
    if !is_rustc(words.first()?) {
        return None;
    }
    let cwd = std::env::current_dir().ok()?;
    let mut all = vec![words[0].clone()];
    all.extend(model::expand_argfiles(&words[1..], &cwd).ok()?);
    let cmd = model::parse_rustc(&all).ok()?;
    let target = PathBuf::from(target_dir(&all[1..], &cwd.to_string_lossy())?);
    let output = cwd.join(cmd.primary());
    let rel = output.strip_prefix(&target).ok()?;
    Some((target, rel.to_string_lossy().into_owned()))
}

/// `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// Cargo's target directory for a command: the nearest directory above its `--out-dir` (or
/// `-o`'s directory) that holds Cargo's `CACHEDIR.TAG`.
fn target_dir(args: &[String], cwd: &str) -> Option<String> {
    let mut dir = None;
    for (i, a) in args.iter().enumerate() {
        if a == "--out-dir" || a == "-o" {
            dir = args.get(i + 1).cloned();
        } else if let Some(d) = a.strip_prefix("--out-dir=") {
            dir = Some(d.to_string());
        }
    }
    let dir = Path::new(cwd).join(dir?);
    dir.ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(|d| d.to_string_lossy().into_owned())
}

/// The outputs of a rustc command by role.
pub(super) fn role_of(o: &model::RustOutput) -> fcache::Role {
    use fcache::Role;
    use model::{CrateType, EmitKind};
    match (o.emit, o.crate_type) {
        (EmitKind::Link, Some(CrateType::Rlib)) => Role::Rlib,
        (EmitKind::Link, Some(CrateType::Bin)) => Role::Executable,
        (EmitKind::Link, Some(CrateType::Staticlib)) => Role::StaticLibrary,
        (EmitKind::Link, _) => Role::SharedLibrary,
        (EmitKind::Metadata, _) => Role::Rmeta,
        (EmitKind::DepInfo, _) => Role::DepInfo,
        (EmitKind::Obj, _) => Role::Object,
    }
}

/// The statistics counter of a command the model does not cache (`None`: not counted, such as
/// Cargo's `-vV` and `--print` probes).
fn reason_of(e: &NotCacheable) -> Option<Reason> {
    match e {
        NotCacheable::NotCompiling => None,
        NotCacheable::Incremental => Some(Reason::Incremental),
        NotCacheable::Source => Some(Reason::SourceCount),
        NotCacheable::Option(_) => Some(Reason::Option),
        NotCacheable::Arguments(_) => Some(Reason::Arguments),
    }
}

impl Launcher<'_> {
    /// Runs one rustc command (rustc first); returns the exit code.
    pub(super) fn launch_rustc(&self, words: Vec<String>) -> i32 {
        let start = Instant::now();
        self.warn_if_policy_edited();
        let run_as_is =
            |reason: Option<Reason>, why: &str| self.run_unchanged(&words, reason, why, start);
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let expanded = match model::expand_argfiles(&words[1..], &cwd) {
            Ok(a) => a,
            Err(e) => return run_as_is(reason_of(&e), &e.to_string()),
        };
        let mut all = vec![words[0].clone()];
        all.extend(expanded);
        let cmd = match model::parse_rustc(&all) {
            Ok(c) => c,
            Err(e) => return run_as_is(reason_of(&e), &e.to_string()),
        };
        // Without `--crate-name`, the outputs are named from the file, unless the source
        // names the crate itself (a review's stale `o/foo` was served for `#![crate_name =
        // "bar"]`, 2026-12-05): not modelled, so run as it is.
        if names_its_crate(&cmd) {
            return run_as_is(Some(Reason::Option), "#![crate_name] without --crate-name");
        }
        // The edge log's line for `cached-ninja explain`, as for a C compile.
        *self.edge.borrow_mut() = fetch::edge_log::EdgeOutcome {
            output: cmd.primary().to_string(),
            ..Default::default()
        };
        let Some(identity) = self.rustc_identity(&cmd.rustc) else {
            return run_as_is(Some(Reason::Compiler), "rustc not identified (-vV failed)");
        };
        let Some(source_key) = self.rustc_source_key(&cmd, &identity) else {
            return run_as_is(
                Some(Reason::Unreadable),
                "an input of the key is unreadable",
            );
        };
        self.edge.borrow_mut().source_key = Some(source_key);
        let finding = self.find(&source_key, None, start);
        let mut hit_failed = finding.problem;
        if let Some((key, entry)) = &finding.found {
            match self.materialise(&cmd, key, entry, start) {
                Some(served) => {
                    self.write_gdbinit(false);
                    self.finish_hit(&served, entry, key, start);
                    return 0;
                }
                None => hit_failed = true,
            }
        }
        let out_abs = cwd.join(cmd.primary());
        let _lock = self
            .cache
            .lock(&fcache::Digest::of(out_abs.as_os_str().as_encoded_bytes()))
            .ok();
        if _lock.is_some() && !hit_failed {
            if let Ok(Looked::Hit((key, entry))) = self.lookup(&source_key, None) {
                if let Some(served) = self.materialise(&cmd, &key, &entry, start) {
                    self.write_gdbinit(false);
                    self.finish_hit(&served, &entry, &key, start);
                    return 0;
                }
            }
        }
        self.compile_rustc(&cmd, &source_key, start)
    }
}

/// Whether the crate may be named by its source (`#![crate_name]`) where the command names it
/// not (`--crate-name`); an unreadable source counts as one that may.
fn names_its_crate(cmd: &RustcCommand) -> bool {
    if cmd.args.iter().any(|a| a.starts_with("--crate-name")) {
        return false;
    }
    std::fs::read(&cmd.source).map_or(true, |text| {
        memchr::memmem::find(&text, b"crate_name").is_some()
    })
}

/// The crate's outputs for the hit and miss paths.
impl super::model::CompileModel for RustcCommand {
    fn primary_output(&self) -> &str {
        self.primary()
    }

    fn dest(&self, o: &fcache::Output) -> Option<String> {
        if o.role != fcache::Role::RustSplitDebug {
            return self
                .outputs
                .iter()
                .find(|x| role_of(x) == o.role)
                .map(|x| x.path.clone());
        }
        // Several files of this role: by the recorded file name, when it is one this command
        // writes (never a path of the entry's choosing).
        let name = o.path.rsplit('/').next()?;
        if let Some(dwp) = self.dwp_files().into_iter().find(|p| file_name(p) == name) {
            return Some(dwp);
        }
        let dir = self.dwo_dir()?;
        self.is_dwo_name(name).then(|| join(dir, name))
    }

    fn made(&self) -> Vec<(fcache::Role, String)> {
        let mut made: Vec<(fcache::Role, String)> = self
            .outputs
            .iter()
            .map(|o| (role_of(o), o.path.clone()))
            .collect();
        let debug = self.dwp_files().into_iter().chain(split_dwo_files(self));
        made.extend(debug.map(|p| (fcache::Role::RustSplitDebug, p)));
        made
    }

    fn marks_roots(&self, role: fcache::Role) -> bool {
        role == fcache::Role::DepInfo
    }
}

/// The `.dwo` files of `-C split-debuginfo=unpacked` for `cmd` now in its output directory,
/// sorted (the miss removes those of earlier compiles first, so these are its own).
pub(super) fn split_dwo_files(cmd: &RustcCommand) -> Vec<String> {
    let Some(dir) = cmd.dwo_dir() else {
        return Vec::new();
    };
    let listed = std::fs::read_dir(if dir.is_empty() { "." } else { dir });
    let mut names: Vec<String> = listed
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| cmd.is_dwo_name(n))
        .collect();
    names.sort();
    names.into_iter().map(|n| join(dir, &n)).collect()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", dir.trim_end_matches('/'))
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_target_directory_is_found_by_its_tag() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("ws/target");
        std::fs::create_dir_all(t.join("debug/deps")).unwrap();
        std::fs::write(
            t.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55",
        )
        .unwrap();
        let ws = dir.path().join("ws").display().to_string();
        let args = |d: &str| vec!["--out-dir".to_string(), d.to_string()];
        let found = target_dir(&args("target/debug/deps"), &ws);
        assert_eq!(found, Some(t.display().to_string()));
        let abs = format!("{}/debug/build/x-1/out", t.display());
        std::fs::create_dir_all(&abs).unwrap();
        assert_eq!(target_dir(&args(&abs), "/"), Some(t.display().to_string()));
        assert_eq!(target_dir(&[], &ws), None);
        assert!(is_rustc("/r/bin/rustc") && is_rustc("rustc") && !is_rustc("rustc-wrapper"));
    }
}
