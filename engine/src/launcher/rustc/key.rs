//! rustc's identity and a rustc command's source key.

use super::super::identity::stamp_key;
use super::super::launch::Launcher;
use super::super::paths::{OBJ_TOKEN, REG_TOKEN, SRC_TOKEN};
use backend::compile::rustc::RustcCommand;
use backend::key;
use fetch::cache as fcache;
use std::io::Write;

/// Variables Cargo sets that rustc (through `env!`) or the crate's proc-macros may read, and
/// variables that change rustc itself; their values go into the source key, normalised.
/// (`CARGO_PRIMARY_PACKAGE` is not: it differs between `cargo build` and `cargo test -p x` for
/// the same compile; a crate that reads it through `env!` has it in its dep-info.)
const CARGO_ENV_PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_CFG_"];
/// Single variables of the source key (see [`CARGO_ENV_PREFIXES`]).
const CARGO_ENV: &[&str] = &[
    "CARGO_CRATE_NAME",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_BIN_NAME",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
    "RUSTC_BOOTSTRAP",
    "RUST_TARGET_PATH",
    "SOURCE_DATE_EPOCH",
];

/// Variables the linker (through the C driver) reads, in the key of a crate that links.
const LINKER_ENV: [&str; 4] = [
    "LIBRARY_PATH",
    "LD_RUN_PATH",
    "GCC_EXEC_PREFIX",
    "COMPILER_PATH",
];

impl Launcher<'_> {
    /// rustc's identity: a digest of its `-vV` (release, commit, host, LLVM version). Memoised by
    /// the executable's stat stamp when it is rustc itself; a rustup proxy (which picks the
    /// toolchain by directory and environment) is asked every time.
    pub(super) fn rustc_identity(&self, rustc: &str) -> Option<key::Digest> {
        let path = super::super::identity::resolve_program(rustc)?;
        let canon = std::fs::canonicalize(&path).ok()?;
        let md = std::fs::metadata(&canon).ok()?;
        let is_real = canon.file_name().is_some_and(|n| n == "rustc");
        let memo_key = stamp_key(b"cached-ninja rustc memo 2", b"", &md);
        if let Some(d) = self.memo_digest(&memo_key).filter(|_| is_real) {
            return Some(d);
        }
        let r = self.runner.run(rustc, &["-vV".to_string()]).ok()?;
        if r.code != 0 {
            return None;
        }
        let mut h = key::Hasher::new();
        key::KeySink::text(&mut h, "domain", "cached-ninja rustc identity 1");
        key::KeySink::bytes(&mut h, "-vV", &r.stdout);
        let d = h.finish();
        if is_real {
            let _ = self.cache.memo_put(&memo_key, &d.to_hex());
        }
        Some(d)
    }

    /// The digest of a file's bytes, memoised by its stat stamp (`--extern` rlibs are read on
    /// every launch otherwise).
    pub(super) fn file_digest(&self, path: &str) -> Option<key::Digest> {
        let md = std::fs::metadata(path).ok()?;
        let memo_key = stamp_key(b"cached-ninja file digest memo 2", b"", &md);
        if let Some(d) = self.memo_digest(&memo_key) {
            return Some(d);
        }
        let d = key::Digest::of_file(path).ok()?;
        // Only a settled file is memoised (one written this instant may change again within
        // the stamp's resolution).
        let stamp = fcache::StatStamp::of(&md);
        if stamp.is_settled(std::time::SystemTime::now()) {
            let _ = self.cache.memo_put(&memo_key, &d.to_hex());
        }
        Some(d)
    }

    /// The source key of a rustc command; `None` when an input of the key cannot be read.
    /// With `CACHED_NINJA_EXPLAIN`, also appends what it hashed.
    pub(super) fn rustc_source_key(
        &self,
        cmd: &RustcCommand,
        identity: &key::Digest,
    ) -> Option<key::Digest> {
        let source = std::fs::read(&cmd.source).ok()?;
        let args: Vec<String> = cmd.args.iter().map(|a| self.tag_roots(a)).collect();
        let mut tokens = vec![OBJ_TOKEN];
        if self.roots.src().is_some() {
            tokens.push(SRC_TOKEN);
        }
        if self.roots.registry().is_some() {
            tokens.push(REG_TOKEN);
        }
        let mut env = self.cargo_env();
        self.push_found_files(cmd, &mut env)?;
        self.push_machine(cmd, &mut env)?;
        if cmd.links() {
            self.push_linker(cmd, &mut env)?;
        }
        // Paths the command's own remaps (or coverage) leave in the artifacts are this
        // machine's.
        if super::miss::keeps_paths(cmd) {
            let roots = super::inputs::roots_digest(self).to_hex();
            env.push(("(roots, remapped by the command)".to_string(), roots));
        }
        let source_path = self.tag_roots(&cmd.source);
        let input = key::SourceKeyInput {
            compiler: identity,
            lang: "rust",
            prefix_map_tokens: &tokens,
            env: &env,
            args: &args,
            source_path: &source_path,
            source_digest: &key::Digest::of(&source),
        };
        let digest = key::source_key_digest(&input);
        if let Some(path) = &self.explain {
            append_explanation(path, cmd, &input, &digest);
        }
        Some(digest)
    }

    /// The variables of [`CARGO_ENV`] and [`CARGO_ENV_PREFIXES`] set now, their roots tagged,
    /// sorted.
    fn cargo_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                CARGO_ENV.contains(&k.as_str())
                    || CARGO_ENV_PREFIXES.iter().any(|p| k.starts_with(p))
            })
            .map(|(k, v)| (k, self.tag_roots(&v)))
            .collect();
        env.sort();
        env
    }

    /// Adds to `env` the digest of each crate and library `cmd` may load: its `--extern`
    /// crates and what its search directories hold; `None` when one cannot be read.
    fn push_found_files(&self, cmd: &RustcCommand, env: &mut Vec<(String, String)>) -> Option<()> {
        for (name, path) in &cmd.externs {
            env.push((format!("(extern {name})"), self.file_digest(path)?.to_hex()));
        }
        // What search finds by name: the crates of `-L crate=`/`all=` directories (an
        // `extern crate` without `--extern`), and the libraries of the native ones when the
        // command names one (`-l`, `+verbatim` included). A `#[link]` attribute's library
        // joins the entry's inputs after the compile (`bundled_libraries`).
        let mut searched = library_files(cmd, &["crate", "all"]);
        if !cmd.native_libs.is_empty() {
            searched.extend(library_files(cmd, &["native"]));
        }
        for found in searched {
            let name = format!("(native {})", self.tag_roots(&found));
            env.push((name, self.file_digest(&found)?.to_hex()));
        }
        Some(())
    }

    /// Adds to `env` the target `cmd` compiles for beyond its words: this machine's processor
    /// (`target-cpu=native`), a custom target's specification; `None` when that is unreadable.
    fn push_machine(&self, cmd: &RustcCommand, env: &mut Vec<(String, String)>) -> Option<()> {
        // `-C target-cpu=native` compiles for this machine's processor (an artifact made on
        // another one may not run here), as `-march=native` does for C.
        if cmd.args.iter().any(|a| a.ends_with("target-cpu=native")) {
            env.push((
                "(processor)".to_string(),
                super::super::identity::host_processor(),
            ));
        }
        // A custom target's specification: its bytes, not only its name.
        if let Some(spec) = cmd.target.as_deref().and_then(target_spec) {
            env.push((
                "(target spec)".to_string(),
                self.file_digest(&spec)?.to_hex(),
            ));
        }
        Some(())
    }

    /// Adds to `env` the linker of a crate that links and the variables it reads; `None` when
    /// the linker cannot be identified.
    fn push_linker(&self, cmd: &RustcCommand, env: &mut Vec<(String, String)>) -> Option<()> {
        // The linker and its identity (gcc or clang as the C launcher identifies them, else
        // its bytes); the crates it links are the entry's inputs (`super::inputs`).
        let linker = cmd.linker.clone().unwrap_or_else(|| "cc".to_string());
        let id = match self.identity(&linker) {
            Some(id) => id.digest,
            None => {
                let p = super::super::identity::resolve_program(&linker)?;
                self.file_digest(p.to_str()?)?
            }
        };
        env.push(("(linker)".to_string(), id.to_hex()));
        // What the C driver and the linker search by (a library found through another
        // `LIBRARY_PATH` served a stale binary, 2026-12-05) or write in (`LD_RUN_PATH`).
        for var in LINKER_ENV {
            if let Ok(v) = std::env::var(var) {
                env.push((format!("(linker) {var}"), v));
            }
        }
        Some(())
    }
}

/// Appends to the explanation file at `path` what the source key `digest` of `cmd` hashed.
fn append_explanation(
    path: &std::path::Path,
    cmd: &RustcCommand,
    input: &key::SourceKeyInput<'_>,
    digest: &key::Digest,
) {
    let mut e = key::Explain::default();
    key::source_key(&mut e, input);
    let text = format!("== source key {digest} for {}\n{}", cmd.primary(), e.0);
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
}

/// The library files of the command's search directories of the `kinds` (`-L native=`,
/// `crate=`, `all=`; a plain `-L` is `all`), sorted: static libraries (`.a`, `.lib`), shared
/// ones (`.so`) and crates (`.rlib`, `.rmeta`), each regular file. What a `-l` flag (also
/// `+verbatim`, looked up as `liblibfoo.a.a` before), a `#[link]` attribute bundled into an
/// rlib or an `extern crate` found by search loads: a review found each served a stale rlib
/// (2026-12-05). Not `dependency=` directories, which serve only the crates the direct ones
/// name, whose bytes change with them.
pub(super) fn library_files(cmd: &RustcCommand, kinds: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let dirs = cmd
        .search_paths
        .iter()
        .filter(|s| kinds.contains(&s.kind.as_str()));
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(&dir.path) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let library = [".a", ".lib", ".rlib", ".rmeta"]
                .iter()
                .any(|x| name.ends_with(x))
                || name.contains(".so");
            if library && e.path().is_file() {
                found.push(format!("{}/{name}", dir.path.trim_end_matches('/')));
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The file of a custom target's specification `--target` names: a path ending in `.json`,
/// or `<name>.json` in a directory of `RUST_TARGET_PATH`.
fn target_spec(target: &str) -> Option<String> {
    if target.ends_with(".json") {
        return Some(target.to_string());
    }
    let dirs = std::env::var_os("RUST_TARGET_PATH")?;
    std::env::split_paths(&dirs)
        .map(|d| d.join(format!("{target}.json")))
        .find(|p| p.is_file())
        .and_then(|p| p.to_str().map(str::to_string))
}
