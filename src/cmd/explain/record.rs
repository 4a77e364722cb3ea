//! The output's last launch, from the object directory's edge log (`fetch::edge_log`); when
//! there is none, an error that says why, from `build.ninja`: no edge makes that output, it is
//! not a compile, it does not run through the launcher, or it was not launched yet.

use anyhow::Context;
use backend::ninja;
use backend::rewrite::compiler::{classify, CommandKind};
use backend::rewrite::{COMPILE_SUFFIX, FLAGS_SUFFIX};
use fetch::edge_log::{self, EdgeOutcome};
use std::path::{Path, PathBuf};

/// An output and its last launch.
pub struct Last {
    /// The object directory, absolute.
    pub objdir: PathBuf,
    /// The output as the launch recorded it (as build.ninja names it).
    pub output: String,
    /// The launch.
    pub record: EdgeOutcome,
}

/// The last launch of `output` in the object directory `dir`.
pub fn find(dir: &Path, output: &Path) -> anyhow::Result<Last> {
    let objdir = dir.canonicalize().with_context(|| {
        format!(
            "cannot open the object directory {}: give the build directory with -C",
            dir.display()
        )
    })?;
    let asked = output.to_string_lossy().into_owned();
    let relative = relative_to(&objdir, dir, output);
    let absolute = objdir.join(&relative).display().to_string();
    for name in [relative.clone(), asked, absolute] {
        let record = edge_log::last(&objdir, &name).with_context(|| {
            format!(
                "cannot read {}",
                fetch::objdir::ObjDir::new(&objdir)
                    .edge_log_file()
                    .display()
            )
        })?;
        if let Some(record) = record {
            return Ok(Last {
                objdir,
                output: relative,
                record,
            });
        }
    }
    Err(why_nothing(&objdir, &relative))
}

/// `output` relative to the object directory when it lies inside it (`dir` as given or
/// canonical), else as given.
fn relative_to(objdir: &Path, dir: &Path, output: &Path) -> String {
    let rel = [dir, objdir]
        .iter()
        .find_map(|d| output.strip_prefix(d).ok())
        .unwrap_or(output);
    let s = rel.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Why nothing is recorded for `output`: what build.ninja says about it.
fn why_nothing(objdir: &Path, output: &str) -> anyhow::Error {
    let edges = fetch::objdir::ObjDir::new(objdir).edge_log_file();
    let manifest = objdir.join("build.ninja");
    let graph = match load(objdir) {
        Ok(m) => m,
        Err(e) => return e,
    };
    let g = graph.graph();
    let Some(node) = g.lookup(output.as_bytes()) else {
        return anyhow::anyhow!(
            "`{output}` is not an output of {}: give the path as build.ninja names it (relative to {}) or absolute",
            manifest.display(),
            objdir.display()
        );
    };
    let Some(edge) = g.in_edge(node) else {
        return anyhow::anyhow!(
            "`{output}` is a source in {}, made by no edge: explain covers compile edges",
            manifest.display()
        );
    };
    let rule = String::from_utf8_lossy(g.rule_name(g.rule(edge))).into_owned();
    if rule.ends_with(COMPILE_SUFFIX) || rule.ends_with(FLAGS_SUFFIX) {
        return anyhow::anyhow!(
            "nothing is recorded for `{output}` in {}: it has not run through the launcher since this version recorded launches; build it (`cached-ninja build -C {}`) and ask again",
            edges.display(),
            objdir.display()
        );
    }
    match classify(&g.evaluate_command(edge)) {
        CommandKind::Compile(_) => anyhow::anyhow!(
            "`{output}` is a compile edge (rule `{rule}`) that does not run through the launcher: {} is not rewritten, or the policy says `cache = false` for it; run `cached-ninja generate -C {}`",
            manifest.display(),
            objdir.display()
        ),
        _ => anyhow::anyhow!(
            "`{output}` is not a compile edge (rule `{rule}` in {}): explain covers compile edges only",
            manifest.display()
        ),
    }
}

/// The object directory's `build.ninja`, loaded from there (its includes are relative to it).
fn load(objdir: &Path) -> Result<ninja::Manifest, anyhow::Error> {
    let manifest = objdir.join("build.ninja");
    std::env::set_current_dir(objdir)
        .with_context(|| format!("cannot enter {}", objdir.display()))?;
    let mut warnings = Vec::new();
    ninja::load_reporting(b"build.ninja", &ninja::load::RealFs, &mut warnings).map_err(|e| {
        anyhow::anyhow!(
            "nothing is recorded for this output and {} cannot be read: {}",
            manifest.display(),
            String::from_utf8_lossy(&e.render())
        )
    })
}
