//! Configuration of one launch: the words after `cc`, the roots and the environment.

use super::launch::Launcher;
use super::runner::{RealRunner, Runner};
use backend::key::Roots;
use backend::rewrite::dwp_step::DwpStep;
use fetch::cache::LocalCache;
use fetch::objdir::{Config, ObjDir, PolicyRead, POLICY_READ};
use fetch::stats::Reason;
use fetch::want::{FileLink, PullLink};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Environment variables that change what a compiler does; they go into the source key.
/// (`CCC_OVERRIDE_OPTIONS` edits clang's command line; `GCC_COMPARE_DEBUG` makes gcc compile
/// twice; the `*_INCLUDE_PATH` and `CPATH` lists extend the search path; `GCC_COLORS` and
/// `GCC_URLS` change the diagnostics a hit replays, and so does `GCC_EXTRA_DIAGNOSTIC_OUTPUT`,
/// fix-it hints in a machine-readable form.)
const KEY_ENV: &[&str] = &[
    "CCC_OVERRIDE_OPTIONS",
    "GCC_COMPARE_DEBUG",
    "OBJCPLUS_INCLUDE_PATH",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "SOURCE_DATE_EPOCH",
    "GCC_COLORS",
    "GCC_URLS",
    "GCC_EXTRA_DIAGNOSTIC_OUTPUT",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
];

/// An environment variable under which compile commands run as they are: its counter and why.
/// `DEPENDENCIES_OUTPUT` and `SUNPRO_DEPENDENCIES` make the compiler write a dependency file of
/// its own, and clang's `CC_PRINT_HEADERS`, `CC_LOG_DIAGNOSTICS`, `CC_PRINT_OPTIONS` and
/// `CC_PRINT_PROC_STAT` a header list, a diagnostics log, its command or its statistics (a
/// hit would write none of them: a review, 2026-12-05); under `GCC_EXEC_PREFIX` and `COMPILER_PATH` the driver finds `cc1` and `as` in
/// directories whose programs the key does not hash (a review found stale objects served
/// after a `cc1` there changed, 2026-12-05).
fn refusing_env() -> Option<(Reason, String)> {
    let set = |k: &&&str| std::env::var_os(k).is_some();
    let own_files = [
        "DEPENDENCIES_OUTPUT",
        "SUNPRO_DEPENDENCIES",
        "CC_PRINT_HEADERS",
        "CC_LOG_DIAGNOSTICS",
        "CC_PRINT_OPTIONS",
        "CC_PRINT_PROC_STAT",
    ];
    if let Some(k) = own_files.iter().find(set) {
        let why = format!("{k} is set (the compiler writes files of its own)");
        return Some((Reason::DependencyEnv, why));
    }
    let k = ["GCC_EXEC_PREFIX", "COMPILER_PATH"].iter().find(set)?;
    let why = format!("{k} is set (the programs the driver finds through it are not keyed)");
    Some((Reason::Option, why))
}

/// Parses `[--src-root DIR] [--dwp-step gnu|llvm] -- <compiler> <args…>` (`--dwp-step`: the
/// build runs that DWARF packager itself, as `generate` found), builds the launcher from the
/// environment and launches; returns the exit code, or an error for the caller to print.
pub fn run_cli(args: Vec<OsString>) -> Result<i32, String> {
    run_cli_as(args, Family::CFamily)
}

/// `cached-ninja rustc [--src-root DIR] -- rustc <args…>`: as [`run_cli`], for a Ninja file
/// that runs rustc directly (GN style).
pub fn run_rustc_cli(args: Vec<OsString>) -> Result<i32, String> {
    run_cli_as(args, Family::Rustc)
}

/// What `cached-ninja cc --help` says after the usage line.
const HELP: &str = "\
Runs one compile through the local cache, as the launcher `generate` writes into build.ninja
(`cached-ninja <compiler> <args…>` is the same with zero setup): a hit writes the cached
outputs, a miss compiles and stores them; while `cached-ninja build` pulls CI's build, a miss
may wait for its object. A problem with the cache is one warning line, then a plain compile.

Options (before `--`):
  --src-root DIR       the source root, for keys independent of the checkout's path (default:
                       the object directory's .cached-ninja/config, CACHED_NINJA_SRCDIR, or
                       CMakeCache.txt / meson-info)
  --dwp-step gnu|llvm  the build packages the .dwo files itself (dwp, llvm-dwp); `generate`
                       writes it when it finds such a step

Environment:
  CACHED_NINJA_CACHE_DIR     the cache root (default $XDG_CACHE_HOME/cached-ninja, else
                             ~/.cache/cached-ninja; `generate` sets it to the policy's
                             [cache] dir in the launchers' commands)
  CACHED_NINJA_CACHE_SIZE    its size cap (default 10G)
  CACHED_NINJA_DEBUG         (set) say why a command is not cached
  CACHED_NINJA_TRUST_STAT=0  hash every header and list every directory the lookup
                             watches, instead of trusting settled stat stamps
  CACHED_NINJA_PREPROCESSOR=1  run the preprocessor when no include list is known
  CACHED_NINJA_DISTRIBUTE=distcc|icecc  compile misses on that distributed compiler

`cached-ninja stats` counts hits and misses; `cached-ninja explain OUTPUT` says why one missed.";

fn run_cli_as(args: Vec<OsString>, family: Family) -> Result<i32, String> {
    let usage = match family {
        Family::CFamily => {
            "usage: cached-ninja cc [--src-root DIR] [--dwp-step gnu|llvm] -- <compiler> <args…>"
        }
        Family::Rustc => "usage: cached-ninja rustc [--src-root DIR] -- rustc <args…>",
    };
    let mut src_root: Option<String> = None;
    let mut dwp_step = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i]
            .to_str()
            .ok_or("arguments before `--` must be UTF-8")?;
        if a == "--" {
            i += 1;
            break;
        } else if a == "--src-root" {
            src_root = Some(
                args.get(i + 1)
                    .and_then(|v| v.to_str())
                    .ok_or("--src-root needs a directory")?
                    .to_string(),
            );
            i += 2;
        } else if let Some(v) = a.strip_prefix("--src-root=") {
            src_root = Some(v.to_string());
            i += 1;
        } else if a == "--dwp-step" {
            let word = args.get(i + 1).and_then(|v| v.to_str());
            dwp_step = Some(
                word.and_then(DwpStep::from_word)
                    .ok_or("--dwp-step needs `gnu`, `llvm` or `none`")?,
            );
            i += 2;
        } else if a == "-h" || a == "--help" {
            match family {
                Family::CFamily => println!("{usage}\n\n{HELP}"),
                Family::Rustc => println!("{usage}"),
            }
            return Ok(0);
        } else {
            break;
        }
    }
    let words = &args[i..];
    if words.is_empty() {
        return Err(usage.into());
    }
    run_words(words, src_root, dwp_step, family)
}

/// The zero-setup form, `cached-ninja <compiler> <args…>` (a CMake or Meson compiler launcher,
/// `CC="cached-ninja gcc"`): launches `words`, whose first is the compiler; returns the exit
/// code, or an error for the caller to print.
pub fn run_zero_setup(words: Vec<OsString>) -> Result<i32, String> {
    let program = words.first().ok_or("no compiler given")?;
    if super::identity::resolve_program(&program.to_string_lossy()).is_none() {
        return Err(format!(
            "`{}` is neither a cached-ninja command nor a program on PATH (see `cached-ninja --help`)",
            program.to_string_lossy()
        ));
    }
    if super::rustc::is_rustc(&program.to_string_lossy()) {
        // `RUSTC_WRAPPER=cached-ninja`: Cargo passes the rustc path first.
        return super::rustc::run_wrapper(&words);
    }
    // The generator runs this form itself, so the object directory's Ninja files say which
    // packager the build runs, not a `generate` of the past (its record in the configuration
    // outlives a plain reconfigure of the directory).
    let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let step = super::ninja_facts::ninja_facts(&cwd).map_or(DwpStep::None, |f| f.dwp_step);
    run_words(&words, None, Some(step), Family::CFamily)
}

/// Launches `words` (compiler first) with the source root `src_root` if given, else the one
/// the environment or the object directory names, in a build that runs `dwp_step` itself
/// (`None`: the one the object directory says, `super::ninja_facts`).
pub(super) fn run_words(
    words: &[OsString],
    src_root: Option<String>,
    dwp_step: Option<DwpStep>,
    family: Family,
) -> Result<i32, String> {
    let words = utf8_words(words)?;
    let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let Some(obj) = cwd.to_str() else {
        return RealRunner
            .exec(&words[0], &words[1..])
            .map_err(|e| e.to_string());
    };
    // Read once: the source root (below) and what `generate` recorded of the policy, which
    // each launch compares with the file (`super::policy_edit`).
    let config = ObjDir::new(&cwd).config();
    let roots = roots_for(obj, &cwd, src_root, &config);
    let generated = Generated::of(&config, &cwd, dwp_step);
    // A rewritten Ninja file runs every compile as `cached-ninja cc -- …`, rustc too.
    let family = if super::rustc::is_rustc(&words[0]) {
        Family::Rustc
    } else {
        family
    };
    Ok(match family {
        Family::CFamily => with_launcher(roots, &cwd, generated, |l| l.launch(words)),
        Family::Rustc => with_launcher(roots, &cwd, generated, |l| l.launch_rustc(words)),
    })
}

/// The roots of a compile in the object root `obj` (the directory `cwd`, whose `config` is
/// `config`): the source root `src_root` if given, else the one the environment or the object
/// directory names.
fn roots_for(obj: &str, cwd: &Path, src_root: Option<String>, config: &Config) -> Roots {
    let src = src_root
        .or_else(|| {
            std::env::var("CACHED_NINJA_SRCDIR")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| config.value("src-root").map(str::to_string))
        // Zero setup: the generator's own record of where the sources are.
        .or_else(|| {
            backend::project::source_root(cwd).and_then(|p| p.to_str().map(str::to_string))
        });
    let src = src.map(|s| {
        if s.starts_with('/') {
            s
        } else {
            format!("{obj}/{s}")
        }
    });
    Roots::new(obj, src.as_deref())
}

/// The launcher a compile in the object root `obj` (the directory `cwd`) gets from this
/// process's environment, with the source root `src_root` if given, else the one the
/// environment or the object directory names; `pull` is its link to a running pull.
pub(crate) fn launcher_for<'r>(
    obj: &str,
    cwd: &Path,
    src_root: Option<String>,
    pull: &'r dyn PullLink,
) -> Launcher<'r> {
    let config = ObjDir::new(cwd).config();
    let generated = Generated {
        policy_read: None,
        ..Generated::of(&config, cwd, None)
    };
    launcher_of(roots_for(obj, cwd, src_root, &config), cwd, generated, pull)
}

/// What `generate` recorded for its launchers: in the object directory's configuration, and
/// (the DWARF packager) on their command line.
#[derive(Default)]
pub(super) struct Generated {
    /// The policy it read (`super::policy_edit`); `None`: no `generate`, or not compared.
    pub(super) policy_read: Option<PolicyRead>,
    /// The DWARF packager the build runs itself (a launch's `--dwp-step`; the pull's
    /// launchers take the configuration's, which `generate` writes beside it).
    pub(super) dwp_step: DwpStep,
}

impl Generated {
    /// What `config`, the object directory `objdir`'s, holds; the packager `dwp_step` if the
    /// launch was given one, else the object directory's (`super::ninja_facts`).
    pub(super) fn of(config: &Config, objdir: &Path, dwp_step: Option<DwpStep>) -> Generated {
        Generated {
            policy_read: config.value(POLICY_READ).and_then(PolicyRead::parse),
            dwp_step: dwp_step.unwrap_or_else(|| super::ninja_facts::dwp_step_of(objdir, config)),
        }
    }
}

/// Which compile model a launch uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// gcc and clang (`cached-ninja cc`).
    CFamily,
    /// rustc (`cached-ninja rustc`, a Ninja file that runs rustc directly).
    Rustc,
}

/// `words` as UTF-8 strings; a command that is not UTF-8 is run unchanged (`exec`: this
/// returns only the error of starting it).
pub(super) fn utf8_words(words: &[OsString]) -> Result<Vec<String>, String> {
    match words
        .iter()
        .map(|w| w.to_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
    {
        Some(w) => Ok(w),
        None => {
            use std::os::unix::process::CommandExt;
            let e = std::process::Command::new(&words[0])
                .args(&words[1..])
                .exec();
            Err(format!("cannot run {:?}: {e}", words[0]))
        }
    }
}

/// Builds the launcher for `roots` (this process's working directory: `cwd`) from the
/// environment and what `generate` recorded, and runs `f` with it.
pub(super) fn with_launcher<T>(
    roots: Roots,
    cwd: &Path,
    generated: Generated,
    f: impl FnOnce(&Launcher) -> T,
) -> T {
    let pull = FileLink::new(ObjDir::new(roots.obj()));
    let mut launcher = launcher_of(roots, cwd, generated, &pull);
    launcher.one_shot = true;
    // Ninja's run of what no record of the build's pull covers: no plan to wait for.
    launcher.plan_wait = !std::env::var_os(fetch::want::UNCOVERED_ENV).is_some_and(|v| v == "1");
    f(&launcher)
}

/// The launcher for `roots` (the object root seen from this process as `cwd`) from this
/// process's environment; `pull` is its link to a running pull.
fn launcher_of<'r>(
    roots: Roots,
    cwd: &Path,
    generated: Generated,
    pull: &'r dyn PullLink,
) -> Launcher<'r> {
    let mut obj_aliases = Vec::new();
    if let Ok(pwd) = std::env::var("PWD") {
        let obj = Path::new(roots.obj());
        if pwd != roots.obj()
            && pwd.starts_with('/')
            && obj == cwd
            && same_file(Path::new(&pwd), obj)
        {
            obj_aliases.push(pwd.trim_end_matches('/').to_string());
        }
    }
    let env_refusal = refusing_env();
    let env: Vec<(String, String)> = KEY_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    let mut cache = LocalCache::new(LocalCache::default_root());
    cache.stall_insert = crate::test_knobs::millis("CACHED_NINJA_TEST_STALL_INSERT_MS");
    let off = |k: &str| std::env::var(k).is_ok_and(|v| v == "0" || v == "false");
    Launcher {
        runner: &RealRunner,
        pull,
        cache,
        roots,
        obj_aliases,
        date_pinned: env.iter().any(|(k, _)| k == "SOURCE_DATE_EPOCH"),
        env,
        env_refusal,
        one_shot: false,
        plan_wait: true,
        trust_stat: !off("CACHED_NINJA_TRUST_STAT"),
        // Off by default (DESIGN §3): with no include manifest nothing can hit, and a
        // preprocessor pass would double the cost of every cold compile.
        preprocessor_fallback: std::env::var("CACHED_NINJA_PREPROCESSOR").is_ok_and(|v| v == "1"),
        max_size: LocalCache::max_size_from_env(),
        explain: std::env::var_os("CACHED_NINJA_EXPLAIN").map(PathBuf::from),
        warned: std::cell::Cell::new(false),
        edge: Default::default(),
        time_pinned: std::cell::Cell::new(false),
        family: std::cell::Cell::new(None),
        distribute: super::distribute::Distribution::from_env(),
        cpu: std::cell::Cell::new(None),
        policy_read: generated.policy_read,
        dwp_step: generated.dwp_step,
        read_scans: Default::default(),
        recent: Default::default(),
        known_tools: Default::default(),
        facts: Default::default(),
        cpu_start: std::cell::Cell::new(0),
        stall_materialise: crate::test_knobs::millis("CACHED_NINJA_TEST_STALL_MATERIALISE_MS"),
    }
}

/// Whether `a` and `b` name the same file (device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}
