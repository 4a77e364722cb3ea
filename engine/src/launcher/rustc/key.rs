//! rustc's identity and a rustc command's source key.

use super::super::identity::stamp_key;
use super::super::launch::Launcher;
use super::super::paths::{OBJ_TOKEN, REG_TOKEN, SRC_TOKEN};
use backend::compile::rustc::RustcCommand;
use backend::key;
use fetch::cache as fcache;
use std::io::Write;
use std::path::Path;

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
        let d = key::Digest::of(&std::fs::read(path).ok()?);
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
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| {
                CARGO_ENV.contains(&k.as_str())
                    || CARGO_ENV_PREFIXES.iter().any(|p| k.starts_with(p))
            })
            .map(|(k, v)| (k, self.tag_roots(&v)))
            .collect();
        env.sort();
        for (name, path) in &cmd.externs {
            env.push((format!("(extern {name})"), self.file_digest(path)?.to_hex()));
        }
        for lib in &cmd.native_libs {
            if let Some(found) = self.native_lib(cmd, &lib.name) {
                env.push((
                    format!("(native {})", lib.name),
                    self.file_digest(&found)?.to_hex(),
                ));
            }
        }
        if cmd.links() {
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
        }
        // Paths the command's own remaps leave in the artifacts are this machine's.
        if super::miss::own_remaps(cmd) {
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
            let mut e = key::Explain::default();
            key::source_key(&mut e, &input);
            let text = format!("== source key {digest} for {}\n{}", cmd.primary(), e.0);
            let _ = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()));
        }
        Some(digest)
    }

    /// The file a `-l name` finds in the command's `-L` directories (`lib<name>.a`, then
    /// `lib<name>.so`); `None` for a library of the system (found by the linker's own search).
    fn native_lib(&self, cmd: &RustcCommand, name: &str) -> Option<String> {
        cmd.search_paths
            .iter()
            .filter(|s| matches!(s.kind.as_str(), "native" | "all"))
            .flat_map(|s| {
                ["a", "so"].map(|ext| format!("{}/lib{name}.{ext}", s.path.trim_end_matches('/')))
            })
            .find(|p| Path::new(p).is_file())
    }
}
