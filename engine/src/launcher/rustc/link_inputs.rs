//! What the linker read for a crate that links: every object, archive, shared library and
//! script (`-Wl,--dependency-file`: GNU ld, gold and lld), so the native libraries a
//! dependency's build script names, `-C link-arg` files and linker scripts, `#[link]`
//! libraries and those found through `LIBRARY_PATH` are inputs of the entry (a review found
//! each served a stale binary, 2026-12-05).

use super::super::identity::{resolve_program, stamp_key};
use super::super::launch::Launcher;
use backend::compile::depfile;
use backend::compile::rustc::{CrateType, EmitKind, RustcCommand};
use fetch::cache as fcache;
use std::path::{Path, PathBuf};

impl Launcher<'_> {
    /// The linker's dependency file to ask for (beside the primary output) and the words
    /// that ask; `None` when the command runs no linker, names a linker flavour other than a
    /// C driver's, or its linker takes no `--dependency-file`.
    pub(super) fn linker_depfile(&self, cmd: &RustcCommand) -> Option<(PathBuf, Vec<String>)> {
        let linked = |t: Option<CrateType>| {
            t.is_some_and(|t| t.links() && !matches!(t, CrateType::Staticlib))
        };
        let links = cmd
            .outputs
            .iter()
            .any(|o| o.emit == EmitKind::Link && linked(o.crate_type));
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
    pub(super) fn linker_inputs(&self, path: &Path) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(path);
        let _ = std::fs::remove_file(path);
        let deps = depfile::parse(&text.ok()?);
        if !deps.exact() {
            return None;
        }
        let own = |p: &str| p.ends_with(".rcgu.o") || super::inputs::in_sysroot(p);
        let kept = deps
            .inputs
            .into_iter()
            .filter(|p| !own(p) && Path::new(p).is_file());
        Some(kept.collect())
    }

    /// Whether the linker `cmd` runs (`-C linker`, else `cc`, with any `-fuse-ld=` of its
    /// link arguments) takes `-Wl,--dependency-file`: asked once per linker and remembered.
    fn linker_takes_depfile(&self, cmd: &RustcCommand) -> bool {
        let linker = cmd.linker.clone().unwrap_or_else(|| "cc".to_string());
        let Some(program) = resolve_program(&linker) else {
            return false;
        };
        let Ok(md) = std::fs::metadata(&program) else {
            return false;
        };
        let fuse: Vec<String> = cmd
            .args
            .iter()
            .filter_map(|a| a.find("-fuse-ld=").map(|i| a[i..].to_string()))
            .collect();
        let memo_key = stamp_key(
            b"cached-ninja linker depfile memo 1",
            fuse.join(" ").as_bytes(),
            &md,
        );
        let make = || {
            let dir = std::env::temp_dir();
            let probe = fcache::temp_beside(&dir.join("cn-ld-probe"), "ld", ".d");
            let mut args = fuse.clone();
            args.extend([
                "-Xlinker".to_string(),
                format!("--dependency-file={}", probe.display()),
            ]);
            args.push("-Wl,--version".to_string());
            let token = self.cpu.take().unwrap_or_else(crate::jobserver::cpu_token);
            let ran = self.runner.run(program.to_str()?, &args);
            self.cpu.set(Some(token));
            let _ = std::fs::remove_file(&probe);
            Some(
                if ran.is_ok_and(|r| r.code == 0) {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
            )
        };
        self.cache.memo_or_make(&memo_key, make).as_deref() == Some("yes")
    }
}
