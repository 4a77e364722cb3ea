//! The graph a crate that links took, for its entry's inputs: the crate files rustc loaded
//! (`-Zbinary-dep-depinfo`) and what the linker read, every object, archive, shared library
//! and script (`--dependency-file`: GNU ld, gold and lld), so the native libraries a
//! dependency's build script names, `-C link-arg` files and linker scripts, `#[link]`
//! libraries and those found through `LIBRARY_PATH` are inputs of the entry (a review found
//! each served a stale binary, 2026-12-05).

use super::super::launch::Launcher;
use backend::compile::depfile;
use backend::compile::rustc::{CrateType, EmitKind, RustcCommand};
use fetch::cache as fcache;
use std::path::{Path, PathBuf};

/// What a miss asked to learn the graph: the linker's dependency file, and whether rustc
/// lists the crate files it loaded.
pub(super) struct GraphWords {
    linker_dep: Option<PathBuf>,
    crate_files: bool,
}

impl Launcher<'_> {
    /// Adds to `args` the words that ask for the graph `cmd` takes. Crate types that link take
    /// every crate of the graph: the linker's dependency file names each rlib it linked (and
    /// every native library), and a command already in the unstable mode (`-Z` options of its
    /// own, or `RUSTC_BOOTSTRAP=1`) also asks rustc for the crate files it loaded
    /// (`-Zbinary-dep-depinfo`). The launcher never sets `RUSTC_BOOTSTRAP` itself: it makes
    /// rustc a nightly one, which turns on `cfg(target_feature)` for unstable features (a
    /// review's binary took its `x87` path under the launcher only, 2026-12-05) and shows in
    /// `option_env!` and diagnostics. A staticlib (no linker runs) is then not stored.
    pub(super) fn graph_words(&self, cmd: &RustcCommand, args: &mut Vec<String>) -> GraphWords {
        let linker_dep = self.linker_depfile(cmd).map(|(path, words)| {
            args.extend(words);
            path
        });
        let bootstrap = std::env::var("RUSTC_BOOTSTRAP").ok();
        let own_z = cmd.args.iter().any(|a| a.starts_with("-Z"));
        let crate_files = cmd.links() && (own_z || bootstrap.as_deref() == Some("1"));
        if crate_files {
            args.push("-Zbinary-dep-depinfo".to_string());
        }
        GraphWords {
            linker_dep,
            crate_files,
        }
    }

    /// The files the linker read after a compile that asked with `graph`; `None` when what
    /// the graph took is not known. A staticlib, which copies every upstream rlib in and runs
    /// no linker, takes (when rustc did not list what it loaded) every crate its search
    /// directories hold: an upstream rlib may change (its bundled C) while the direct ones'
    /// bytes stay the same.
    pub(super) fn linked(&self, cmd: &RustcCommand, graph: &GraphWords) -> Option<Vec<String>> {
        let staticlib = cmd.crate_types.contains(&CrateType::Staticlib);
        match &graph.linker_dep {
            Some(path) => self.linker_inputs(cmd, path),
            None if staticlib && !graph.crate_files && !runs_linker(cmd) => {
                let kinds = ["dependency", "crate", "all"];
                let mut crates = super::key::library_files(cmd, &kinds);
                crates.retain(|p| p.ends_with(".rlib") || p.ends_with(".rmeta"));
                Some(crates)
            }
            // Crates linked but listed by neither rustc nor a linker: unknown.
            None if cmd.links() && !graph.crate_files => None,
            None => Some(Vec::new()),
        }
    }

    /// The linker's dependency file to ask for (beside the primary output) and the words
    /// that ask; `None` when the command runs no linker, names a linker flavour other than a
    /// C driver's, or its linker takes no `--dependency-file`.
    fn linker_depfile(&self, cmd: &RustcCommand) -> Option<(PathBuf, Vec<String>)> {
        let links = runs_linker(cmd);
        let flavour = cmd.args.iter().any(|a| {
            let value = a.split_once("linker-flavor=").map(|(_, v)| v);
            value.is_some_and(|v| v != "gcc")
        });
        if !links || flavour || !self.linker_takes_depfile(cmd) {
            return None;
        }
        let primary = std::env::current_dir().ok()?.join(cmd.primary());
        let path = fcache::temp_beside(&primary, "ld", ".d");
        // `-Xlinker`, not `-Wl,`: a comma in the target directory's name stays one word (a
        // review's build failed at `…/tgt,x`).
        let words = vec![
            "-Clink-arg=-Xlinker".to_string(),
            format!("-Clink-arg=--dependency-file={}", path.display()),
        ];
        Some((path, words))
    }

    /// The files the linker read, from its dependency file at `path` (removed here): not
    /// rustc's sysroot (its identity covers it), nor this compile's own objects and
    /// temporaries (gone by now). `None` when the file is missing or unclear.
    fn linker_inputs(&self, cmd: &RustcCommand, path: &Path) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(path);
        let _ = std::fs::remove_file(path);
        let deps = depfile::parse(&text.ok()?);
        if !deps.exact() {
            return None;
        }
        let own = |p: &str| p.ends_with(".rcgu.o") || super::inputs::in_sysroot(cmd, p);
        let kept = deps
            .inputs
            .into_iter()
            .filter(|p| !own(p) && Path::new(p).is_file());
        Some(kept.collect())
    }

    /// Whether the linker `cmd` runs (`-C linker`, else `cc`, with any `-fuse-ld=` of its
    /// link arguments) takes `--dependency-file`: asked once per linker and remembered.
    fn linker_takes_depfile(&self, cmd: &RustcCommand) -> bool {
        let linker = cmd.linker.clone().unwrap_or_else(|| "cc".to_string());
        let fuse: Vec<String> = cmd
            .args
            .iter()
            .filter_map(|a| a.find("-fuse-ld=").map(|i| a[i..].to_string()))
            .collect();
        let ask = |program: &str| {
            let dir = std::env::temp_dir();
            let probe = fcache::temp_beside(&dir.join("cn-ld-probe"), "ld", ".d");
            let mut args = fuse.clone();
            args.extend([
                "-Xlinker".to_string(),
                format!("--dependency-file={}", probe.display()),
            ]);
            args.push("-Wl,--version".to_string());
            let ran = self.runner.run(program, &args);
            let _ = std::fs::remove_file(&probe);
            ran.is_ok_and(|r| r.code == 0)
        };
        let domain = b"cached-ninja linker depfile memo 1";
        self.probed(&linker, domain, fuse.join(" ").as_bytes(), ask)
    }
}

/// Whether the command runs a linker: a crate type that links, other than a staticlib, made
/// (`--emit` link).
pub(super) fn runs_linker(cmd: &RustcCommand) -> bool {
    cmd.outputs.iter().any(|o| {
        o.emit == EmitKind::Link
            && o.crate_type
                .is_some_and(|t| t.links() && !matches!(t, CrateType::Staticlib))
    })
}
