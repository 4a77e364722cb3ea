//! Configuration of one launch: the words after `cc`, the roots and the environment.

use super::launch::Launcher;
use super::runner::{RealRunner, Runner};
use backend::key::Roots;
use fetch::cache::LocalCache;
use fetch::objdir::ObjDir;
use fetch::want::FileLink;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Environment variables that change what a compiler does; they go into the source key.
/// (`CCC_OVERRIDE_OPTIONS` edits clang's command line; `GCC_COMPARE_DEBUG` makes gcc compile
/// twice; the `*_INCLUDE_PATH` and `CPATH` lists extend the search path.)
const KEY_ENV: &[&str] = &[
    "CCC_OVERRIDE_OPTIONS",
    "GCC_COMPARE_DEBUG",
    "OBJCPLUS_INCLUDE_PATH",
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "SOURCE_DATE_EPOCH",
    "GCC_EXEC_PREFIX",
    "COMPILER_PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
];

/// Parses `[--src-root DIR] -- <compiler> <args…>`, builds the launcher from the environment
/// and launches; returns the exit code, or an error for the caller to print.
pub fn run_cli(args: Vec<OsString>) -> Result<i32, String> {
    let mut src_root: Option<String> = None;
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
        } else if a == "-h" || a == "--help" {
            println!("usage: cached-ninja cc [--src-root DIR] -- <compiler> <args…>");
            return Ok(0);
        } else {
            break;
        }
    }
    let words = &args[i..];
    if words.is_empty() {
        return Err("usage: cached-ninja cc [--src-root DIR] -- <compiler> <args…>".into());
    }
    run_words(words, src_root)
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
    run_words(&words, None)
}

/// Launches `words` (compiler first) with the source root `src_root` if given, else the one
/// the environment or the object directory names.
fn run_words(words: &[OsString], src_root: Option<String>) -> Result<i32, String> {
    let Some(words) = words
        .iter()
        .map(|w| w.to_str().map(str::to_string))
        .collect::<Option<Vec<String>>>()
    else {
        // Not UTF-8: run it unchanged.
        use std::os::unix::process::CommandExt;
        let e = std::process::Command::new(&words[0])
            .args(&words[1..])
            .exec();
        return Err(format!("cannot run {:?}: {e}", words[0]));
    };
    let cwd = std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?;
    let Some(obj) = cwd.to_str() else {
        return RealRunner
            .exec(&words[0], &words[1..])
            .map_err(|e| e.to_string());
    };
    let src = src_root
        .or_else(|| {
            std::env::var("CACHED_NINJA_SRCDIR")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| ObjDir::new(&cwd).config_value("src-root"))
        // Zero setup: the generator's own record of where the sources are.
        .or_else(|| {
            backend::project::source_root(&cwd).and_then(|p| p.to_str().map(str::to_string))
        });
    let src = src.map(|s| {
        if s.starts_with('/') {
            s
        } else {
            format!("{obj}/{s}")
        }
    });
    let roots = Roots::new(obj, src.as_deref());
    let mut obj_aliases = Vec::new();
    if let Ok(pwd) = std::env::var("PWD") {
        if pwd != roots.obj() && pwd.starts_with('/') && same_file(Path::new(&pwd), &cwd) {
            obj_aliases.push(pwd.trim_end_matches('/').to_string());
        }
    }
    // These make the compiler write a dependency file of its own: run such commands as they are.
    let env_refusal = ["DEPENDENCIES_OUTPUT", "SUNPRO_DEPENDENCIES"]
        .into_iter()
        .find(|k| std::env::var_os(k).is_some())
        .map(str::to_string);
    let env: Vec<(String, String)> = KEY_ENV
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    let mut cache = LocalCache::new(LocalCache::default_root());
    cache.stall_insert = std::env::var("CACHED_NINJA_TEST_STALL_INSERT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_millis);
    let off = |k: &str| std::env::var(k).is_ok_and(|v| v == "0" || v == "false");
    let pull = FileLink::new(ObjDir::new(roots.obj()));
    let launcher = Launcher {
        runner: &RealRunner,
        pull: &pull,
        cache,
        roots,
        obj_aliases,
        date_pinned: env.iter().any(|(k, _)| k == "SOURCE_DATE_EPOCH"),
        env,
        env_refusal,
        trust_stat: !off("CACHED_NINJA_TRUST_STAT"),
        // Off by default (DESIGN §3): with no include manifest nothing can hit, and a
        // preprocessor pass would double the cost of every cold compile.
        preprocessor_fallback: std::env::var("CACHED_NINJA_PREPROCESSOR").is_ok_and(|v| v == "1"),
        max_size: LocalCache::max_size_from_env(),
        explain: std::env::var_os("CACHED_NINJA_EXPLAIN").map(PathBuf::from),
        warned: std::cell::Cell::new(false),
        time_pinned: std::cell::Cell::new(false),
        cpu: std::cell::Cell::new(None),
    };
    Ok(launcher.launch(words))
}

/// Whether `a` and `b` name the same file (device and inode).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}
