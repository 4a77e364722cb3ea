//! `cached-ninja generate [-C DIR]`: rewrites the Ninja files of an object directory in place
//! so that compile edges go through the launcher (`backend::rewrite`, DESIGN §2).
//!
//! What it was generated from: each rewritten file's first line records the hash of the
//! generator's original text, and the original is kept in `.cached-ninja/original/<path>`.
//! A run therefore always rewrites from the originals and writes a file only when its bytes
//! change: running it twice changes nothing (not even mtimes). When the generator writes a
//! fresh file (CMake's re-run edge, Meson's `regenerate`), that file has no record and becomes
//! the new original; the generator edge itself runs `cached-ninja generate -q` afterwards, so
//! the rewrite is applied again before ninja reloads the manifest.
//!
//! It also writes `src-root = DIR` to `.cached-ninja/config` for the launcher when it knows
//! the source root (`--src-root`, CMake's `CMakeCache.txt`, Meson's `meson-info.json`).
//! Policy (`cached-ninja.toml`, see `crate::policy`) decides which outputs stay uncached,
//! split-DWARF flags and the cache location/size the rewritten commands pass on.

use crate::policy::Policy;
use anyhow::{bail, Context};
use backend::ninja::load::bytes_to_path;
use backend::rewrite::dwp_step::DwpStep;
use backend::rewrite::{self, compiler::shell_quote, record, RecordingReader};
use clap::Args;
use fetch::objdir::ObjDir;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

/// Options of `cached-ninja generate`.
#[derive(Args, Clone, Debug)]
pub struct GenerateArgs {
    /// The object directory holding build.ninja (default: the current directory).
    #[arg(short = 'C', value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The top-level Ninja file, relative to DIR.
    #[arg(short = 'f', value_name = "FILE", default_value = "build.ninja")]
    pub file: PathBuf,
    /// The source root for cache keys (default: from CMakeCache.txt or meson-info, else the
    /// value already in .cached-ninja/config).
    #[arg(long, value_name = "DIR")]
    pub src_root: Option<PathBuf>,
    /// The policy file (default: cached-ninja.toml in DIR, then in the source root).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print nothing unless something goes wrong.
    #[arg(short, long)]
    pub quiet: bool,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Generated {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// The rewrite's counts.
    pub report: rewrite::Report,
}

/// Runs `generate`.
pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let g = generate(&args)?;
    if !args.quiet {
        let r = g.report;
        let dir = args.dir.as_deref().unwrap_or(Path::new("."));
        let what = if g.written.is_empty() {
            "up to date".to_string()
        } else {
            format!("rewrote {} file(s)", g.written.len())
        };
        eprintln!(
            "cached-ninja generate: {}: {what}; {} of {} edges through the launcher, {} kept uncached by policy, {} other compiler commands (links…) left as they were, regenerate hook on {}",
            dir.join(&args.file).display(),
            r.compile_edges,
            r.edges,
            r.uncached_by_policy,
            r.compiler_other,
            r.generator_edges
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Rewrites the object directory's Ninja files; see the module docs.
pub fn generate(args: &GenerateArgs) -> anyhow::Result<Generated> {
    let (dir, top) = object_dir(args)?;
    let src_root = source_root(args, &dir)?;
    let policy = Policy::find(args.policy.as_deref(), &dir, src_root.as_deref())?;
    let policy_file = Policy::locate(args.policy.as_deref(), &dir, src_root.as_deref());
    let Rewritten { out, files, report } = rewrite_manifest(args, &dir, &top, &policy)?;
    let written = write_rewritten(&dir, &out, &files)?;
    if let Some(src) = &src_root {
        write_config(&dir, "src-root", &src.display().to_string())?;
    }
    // A build that runs `dwp` or `llvm-dwp` itself reads every `.dwo` (the launchers write
    // them on every hit; `build` pulls them with the objects).
    write_config(&dir, fetch::objdir::DWP_STEP, report.dwp_step.name())?;
    // `build`, `fetch` and `publish` must read the policy the launchers were made with.
    if let Some(p) = &args.policy {
        let p = p
            .canonicalize()
            .with_context(|| format!("policy file {}", p.display()))?;
        write_config(&dir, "policy", &p.display().to_string())?;
    }
    // Launchers under plain Ninja warn when the policy is edited after this (its rules are
    // applied here, not read by them).
    let policy_file = policy_file.map(|p| p.canonicalize().unwrap_or(p));
    let od = ObjDir::new(&dir);
    od.record_policy_read(policy_file.as_deref())
        .with_context(|| format!("cannot write {}", od.config_file().display()))?;
    Ok(Generated { written, report })
}

/// The object directory `args` name, canonical, and its top-level Ninja file, which must exist.
fn object_dir(args: &GenerateArgs) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().context("no current directory")?,
    };
    let dir = dir
        .canonicalize()
        .with_context(|| format!("object directory {} does not exist", dir.display()))?;
    let top = dir.join(&args.file);
    if !top.is_file() {
        bail!(
            "{} does not exist: run the generator first (e.g. `cached-ninja configure --enable-build-backend=cached-ninja -- cmake -G Ninja …`)",
            top.display()
        );
    }
    Ok((dir, top))
}

/// The source root: `--src-root`, canonical, else the generator's or the one recorded in
/// `dir` (`None`: not known).
fn source_root(args: &GenerateArgs, dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    Ok(match &args.src_root {
        Some(s) => Some(
            s.canonicalize()
                .with_context(|| format!("source root {} does not exist", s.display()))?,
        ),
        None => backend::project::source_root(dir).or_else(|| ObjDir::new(dir).config_src_root()),
    })
}

/// The manifest's files rewritten, beside the generator's.
struct Rewritten {
    /// The new files, in the order they were read.
    out: Vec<rewrite::File>,
    /// The generator's (path, text) of each file read.
    files: Vec<(Vec<u8>, Vec<u8>)>,
    /// The rewrite's counts, with the build's DWARF packager.
    report: rewrite::Report,
}

/// The manifest `top` in `dir` rewritten under `policy`.
fn rewrite_manifest(
    args: &GenerateArgs,
    dir: &Path,
    top: &Path,
    policy: &Policy,
) -> anyhow::Result<Rewritten> {
    let reader = RecordingReader::new(|path: &[u8]| original_text(dir, path));
    let top_bytes = args.file.as_os_str().as_bytes();
    let manifest = backend::ninja::load_with(top_bytes, &reader).map_err(|e| {
        anyhow::anyhow!(
            "{}: {}",
            top.display(),
            String::from_utf8_lossy(&e.to_string().into_bytes())
        )
    })?;
    let files = reader.files.into_inner();
    let cached = |out: &[u8]| !policy.cached(out);
    // A build that packages its `.dwo` files itself (found, or named by the policy): its
    // launchers are told so on their command line, so that Ninja compiles again when that
    // changes (the objects and `.dwo` files an earlier launcher left would not do).
    let prefix = launcher_prefix(policy)?;
    let launcher = |found: DwpStep| match policy.debug.dwp_step.step(found) {
        DwpStep::None => format!("{prefix} cc --"),
        step => format!("{prefix} cc --dwp-step {} --", step.name()),
    };
    let opts = rewrite::Options {
        launcher: &launcher,
        uncached: &cached,
        extra_flags: policy.debug_flags().join(" "),
        regenerate_hook: regenerate_hook(args)?,
    };
    let (out, mut report) = rewrite::rewrite(manifest.graph(), &files, &opts)
        .with_context(|| format!("cannot rewrite {}", top.display()))?;
    report.dwp_step = policy.debug.dwp_step.step(report.dwp_step);
    Ok(Rewritten { out, files, report })
}

/// Writes each of `out` whose bytes changed into `dir`, keeping the generator's original
/// (from `files`) of each one rewritten; returns the paths written.
fn write_rewritten(
    dir: &Path,
    out: &[rewrite::File],
    files: &[(Vec<u8>, Vec<u8>)],
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (file, (_, original)) in out.iter().zip(files) {
        let path = dir.join(bytes_to_path(&file.path));
        let now =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if now == file.text {
            continue;
        }
        if file.changed {
            let keep = original_copy(dir, &file.path).with_context(|| {
                format!(
                    "{}: cannot rewrite a file outside the object directory",
                    path.display()
                )
            })?;
            if std::fs::read(&keep).ok().as_deref() != Some(original.as_slice()) {
                write_atomic(&keep, original)?;
            }
        }
        write_atomic(&path, &file.text)?;
        written.push(path);
    }
    Ok(written)
}

/// The launcher's command up to its subcommand: the policy's cache settings, then our
/// executable (`rewrite_manifest` adds `cc`, the packager and `--`).
fn launcher_prefix(policy: &Policy) -> anyhow::Result<String> {
    let mut prefix = String::new();
    if let Some(d) = &policy.cache.dir {
        prefix.push_str(&format!(
            "CACHED_NINJA_CACHE_DIR={} ",
            shell_quote(&d.to_string_lossy())
        ));
    }
    if let Some(s) = &policy.cache.size {
        prefix.push_str(&format!("CACHED_NINJA_CACHE_SIZE={} ", shell_quote(s)));
    }
    prefix.push_str(&our_exe()?);
    Ok(prefix)
}

/// What the generator edge runs after the generator: `generate` again, with this run's
/// policy and manifest.
fn regenerate_hook(args: &GenerateArgs) -> anyhow::Result<String> {
    let mut hook = format!("{} generate -q", our_exe()?);
    if let Some(p) = &args.policy {
        let p = p
            .canonicalize()
            .with_context(|| format!("policy file {}", p.display()))?;
        hook.push_str(&format!(" --policy {}", shell_quote(&p.to_string_lossy())));
    }
    if args.file != Path::new("build.ninja") {
        hook.push_str(&format!(
            " -f {}",
            shell_quote(&args.file.to_string_lossy())
        ));
    }
    Ok(hook)
}

/// Our executable, quoted for the shell.
fn our_exe() -> anyhow::Result<String> {
    let exe = crate::dispatch::launcher_exe().context("cannot find the cached-ninja executable")?;
    Ok(shell_quote(&exe.to_string_lossy()))
}

/// The generator's text of a manifest file: the file itself, or its kept original when the
/// file is one we rewrote.
fn original_text(dir: &Path, path: &[u8]) -> std::io::Result<Vec<u8>> {
    let full = dir.join(bytes_to_path(path));
    let text = std::fs::read(&full)?;
    let Some(hash) = record::recorded_hash(&text) else {
        return Ok(text);
    };
    let broken = |why: &str| {
        std::io::Error::other(format!(
            "{} was rewritten by cached-ninja but {why}; re-run the generator (cmake/meson) to start afresh",
            full.display()
        ))
    };
    let keep =
        original_copy(dir, path).ok_or_else(|| broken("lies outside the object directory"))?;
    let original = std::fs::read(&keep)
        .map_err(|_| broken(&format!("its original {} is missing", keep.display())))?;
    if record::original_hash(&original) != hash {
        return Err(broken(&format!(
            "its original {} has changed",
            keep.display()
        )));
    }
    Ok(original)
}

/// Where the original of manifest file `path` is kept (`None` outside the object directory).
fn original_copy(dir: &Path, path: &[u8]) -> Option<PathBuf> {
    let rel = bytes_to_path(path);
    if !rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    Some(ObjDir::new(dir).originals_dir().join(rel))
}

/// Sets `key` in `.cached-ninja/config`, keeping other lines.
fn write_config(dir: &Path, key: &str, value: &str) -> anyhow::Result<()> {
    let o = ObjDir::new(dir);
    o.set_config_value(key, value)
        .with_context(|| format!("cannot write {}", o.config_file().display()))
}

/// Writes a file atomically (`fetch::cache::write_atomic`), creating its directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    fetch::cache::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}
