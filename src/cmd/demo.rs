//! `cached-ninja demo`: the main job in one command. It builds the example project
//! (`examples/shapes`, embedded in the binary) the way CI would and publishes it, signed, to a
//! local `file://` store; then builds it the way a developer would: a clone of CI's checkout at
//! another path with one commit on top (one source file changed), its own empty cache and a fresh
//! object directory. `cached-ninja build` finds CI's build of the ancestor commit, pulls it
//! beside Ninja and compiles only the changed file. It prints what was reused and compiled (from
//! the launcher's stats) and runs the program.
//!
//! Both builds go through the example's own autoconf-style `configure` with
//! `--enable-build-backend=cached-ninja --with-generator=ninja` (its `build.ninja.in`), so the
//! demo needs only git, a C and C++ compiler and Ninja; it says precisely what is missing.
//! Everything lives under the work directory (default `$TMPDIR/cached-ninja-demo`): `store/` is the
//! remote store, `ci/cache` and `dev/cache` the two machines' caches, never the user's.

use anyhow::{bail, Context};
use clap::Args;
use fetch::signing::KeyPair;
use fetch::stats::BuildStats;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Options of `cached-ninja demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Work directory (default: `cached-ninja-demo` in the system's temporary directory);
    /// emptied first if it holds an earlier demo, refused if it holds anything else.
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,
}

/// The example project, embedded: (path, contents, executable).
const FILES: &[(&str, &str, bool)] = &[
    (
        "configure",
        include_str!("../../examples/shapes/configure"),
        true,
    ),
    (
        "gen-ninja.sh",
        include_str!("../../examples/shapes/gen-ninja.sh"),
        true,
    ),
    (
        "build.ninja.in",
        include_str!("../../examples/shapes/build.ninja.in"),
        false,
    ),
    (
        "CMakeLists.txt",
        include_str!("../../examples/shapes/CMakeLists.txt"),
        false,
    ),
    (
        "meson.build",
        include_str!("../../examples/shapes/meson.build"),
        false,
    ),
    (
        "geom/geom.h",
        include_str!("../../examples/shapes/geom/geom.h"),
        false,
    ),
    (
        "geom/circle.c",
        include_str!("../../examples/shapes/geom/circle.c"),
        false,
    ),
    (
        "geom/rect.c",
        include_str!("../../examples/shapes/geom/rect.c"),
        false,
    ),
    (
        "report/report.hpp",
        include_str!("../../examples/shapes/report/report.hpp"),
        false,
    ),
    (
        "report/shapes.cpp",
        include_str!("../../examples/shapes/report/shapes.cpp"),
        false,
    ),
    (
        "report/format.cpp",
        include_str!("../../examples/shapes/report/format.cpp"),
        false,
    ),
    (
        "app/main.cpp",
        include_str!("../../examples/shapes/app/main.cpp"),
        false,
    ),
];

/// The file the developer changes, and how.
const CHANGED: &str = "report/format.cpp";
const CHANGE_FROM: &str = "%-12s area %8.3f  perimeter %8.3f\\n";
const CHANGE_TO: &str = "%-12s area %6.2f  perimeter %6.2f  (developer build)\\n";

/// Marks a work directory as the demo's, so a rerun may empty it.
const MARK: &str = ".cached-ninja-demo";

/// A step of the demo was interrupted (Ctrl-C): not a failure to report.
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Fails unless `status` (of `what`) is a success; a step that exited 130 (Ctrl-C) is
/// [`Interrupted`].
fn succeeded(status: std::process::ExitStatus, what: &str) -> anyhow::Result<()> {
    use std::os::unix::process::ExitStatusExt;
    if status.code() == Some(130) || status.signal() == Some(2) {
        return Err(Interrupted.into());
    }
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs the demo; interrupted, it says so and exits 130, as the build it ran did.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    match demo(args) {
        Err(e) if e.is::<Interrupted>() => {
            eprintln!("cached-ninja demo: interrupted");
            Ok(ExitCode::from(130))
        }
        r => r,
    }
}

/// The demo: CI's build published, then the developer's built from it and run.
fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    check_tools()?;
    let work = args
        .work
        .unwrap_or_else(|| std::env::temp_dir().join("cached-ninja-demo"));
    let work = prepare_work(&work)?;
    let store = format!("file://{}", work.join("store").display());
    let exe = crate::dispatch::launcher_exe().context("cannot find the cached-ninja executable")?;
    println!("cached-ninja demo in {} (store: {store})", work.display());
    let key = ci_build(&exe, &work, &store)?;
    let (dev, s) = developer_build(&exe, &work, &store, &key)?;
    fill_debug_info(&dev)?;
    let program = dev.join("obj/shapes");
    println!("\n== Running {}", program.display());
    let status = Command::new(&program)
        .status()
        .with_context(|| format!("cannot run {}", program.display()))?;
    succeeded(status, &program.display().to_string())?;
    if s.misses != 1 || s.hits < 4 {
        bail!(
            "expected 1 compile and 4 reused objects, got {} and {}",
            s.misses,
            s.hits
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The demo's first step, CI: build at one path, publish to the store, signed; returns the
/// publisher's key.
fn ci_build(exe: &Path, work: &Path, store: &str) -> anyhow::Result<KeyPair> {
    let ci = work.join("ci");
    write_project(&ci.join("src"), false)?;
    git(&ci.join("src"), &["init", "-q"])?;
    commit(&ci.join("src"), "CI's revision")?;
    let key = KeyPair::generate();
    let key_file = work.join("ci.key");
    key.write_secret_file(&key_file)?;
    let t = Instant::now();
    // CI's policy names the store it publishes to, as a developer's does: both then compile
    // with split DWARF (the default where a store is named), so their keys match.
    std::fs::create_dir_all(ci.join("obj"))?;
    std::fs::write(
        ci.join("obj").join(crate::policy::FILE_NAME),
        format!("[[store]]\nurl = \"{store}\"\nwrite = true\n"),
    )?;
    configure(exe, &ci)?;
    cached_ninja(
        exe,
        &ci,
        &[
            "--no-fill",
            "--no-fetch",
            "--publish",
            "--store",
            store,
            "--key",
            &key_file.display().to_string(),
        ],
    )?;
    let s = BuildStats::read(&ci.join("obj"))?;
    println!(
        "\n== CI build ({}): compiled {} objects and published them in {:.1} s",
        ci.display(),
        s.misses,
        t.elapsed().as_secs_f64()
    );
    Ok(key)
}

/// The second step, the developer: a clone one commit ahead, one file changed, a fresh cache
/// and object directory, trusting CI's key; returns its directory and the build's stats.
fn developer_build(
    exe: &Path,
    work: &Path,
    store: &str,
    key: &KeyPair,
) -> anyhow::Result<(PathBuf, BuildStats)> {
    let dev = work.join("dev");
    std::fs::create_dir_all(&dev)?;
    git(&dev, &["clone", "-q", "../ci/src", "src"])?;
    write_project(&dev.join("src"), true)?;
    commit(&dev.join("src"), "developer's change")?;
    println!(
        "\n== Developer build ({}): {CHANGED} changed, fresh cache and object directory",
        dev.display()
    );
    let t = Instant::now();
    let policy = format!(
        "[[store]]\nurl = \"{store}\"\n[trust]\npublishers = [\"{}\"]\n",
        key.public()
    );
    std::fs::create_dir_all(dev.join("obj"))?;
    std::fs::write(dev.join("obj").join(crate::policy::FILE_NAME), policy)?;
    configure(exe, &dev)?;
    cached_ninja(exe, &dev, &["--no-fill"])?;
    let s = BuildStats::read(&dev.join("obj"))?;
    println!(
        "   reused {} objects from CI's build, compiled {} ({} run without the cache), in {:.1} s; compile time saved {:.2} s",
        s.hits,
        s.misses,
        s.uncacheable,
        t.elapsed().as_secs_f64(),
        s.saved_us as f64 / 1e6
    );
    Ok((dev, s))
}

/// Runs git in `dir` with a fixed identity (the demo's own, not the user's).
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "cached-ninja demo")
        .env("GIT_AUTHOR_EMAIL", "demo@cached-ninja.invalid")
        .env("GIT_COMMITTER_NAME", "cached-ninja demo")
        .env("GIT_COMMITTER_EMAIL", "demo@cached-ninja.invalid")
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run git (install it: apt-get install -y git)")?;
    if !status.success() {
        bail!(
            "git {} in {} failed ({status})",
            args.join(" "),
            dir.display()
        );
    }
    Ok(())
}

/// Commits everything in `dir`.
fn commit(dir: &Path, message: &str) -> anyhow::Result<()> {
    git(dir, &["add", "-A"])?;
    git(dir, &["commit", "-q", "-m", message])
}

/// Fails with an install hint for each missing tool.
fn check_tools() -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for (tool, alternatives, package) in [
        ("ninja", &["ninja"][..], "ninja-build"),
        ("a C compiler", &["cc", "gcc", "clang"][..], "gcc"),
        ("a C++ compiler", &["c++", "g++", "clang++"][..], "g++"),
        ("ar", &["ar"][..], "binutils"),
        ("git", &["git"][..], "git"),
    ] {
        if !alternatives.iter().any(|t| on_path(t)) {
            missing.push(format!(
                "{tool} ({} not found on PATH): install it with `apt-get install -y {package}`",
                alternatives.join(", ")
            ));
        }
    }
    if !missing.is_empty() {
        bail!("the demo needs:\n  {}", missing.join("\n  "));
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Empties (or creates) the work directory and returns its absolute path.
fn prepare_work(work: &Path) -> anyhow::Result<PathBuf> {
    if work.exists() {
        let empty = std::fs::read_dir(work)
            .with_context(|| format!("cannot read {}", work.display()))?
            .next()
            .is_none();
        if !empty && !work.join(MARK).exists() {
            bail!(
                "{} exists and is not a demo work directory: choose another with --work",
                work.display()
            );
        }
        std::fs::remove_dir_all(work)
            .with_context(|| format!("cannot empty {}", work.display()))?;
    }
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    std::fs::write(work.join(MARK), "")?;
    Ok(work.canonicalize()?)
}

/// Writes the example project to `src`, with the developer's change if `changed`.
fn write_project(src: &Path, changed: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for (rel, text, exec) in FILES {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(src))?;
        let text = if changed && *rel == CHANGED {
            text.replace(CHANGE_FROM, CHANGE_TO)
        } else {
            text.to_string()
        };
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        if *exec {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(())
}

/// `<side>/obj`: `../src/configure --enable-build-backend=cached-ninja` with `<side>/cache`.
fn configure(exe: &Path, side: &Path) -> anyhow::Result<()> {
    let obj = side.join("obj");
    std::fs::create_dir_all(&obj)?;
    let configure = side.join("src/configure");
    let status = Command::new("sh")
        .arg(&configure)
        .args([
            "--enable-build-backend=cached-ninja",
            "--with-generator=ninja",
        ])
        .current_dir(&obj)
        .env("CACHED_NINJA", exe)
        .env("CACHED_NINJA_CACHE_DIR", side.join("cache"))
        .status()
        .with_context(|| format!("cannot run {}", configure.display()))?;
    succeeded(status, &configure.display().to_string())
}

/// The debug-info fill of `<side>/obj` in the foreground (`dbgfetch fill --wait`): the demo's
/// builds do not leave one running in the background, which would still be writing into the
/// work directory when the demo ends (or when a second demo empties it). A fill that leaves a
/// binary partial is a warning: the program was built and runs.
fn fill_debug_info(side: &Path) -> anyhow::Result<()> {
    let obj = side.join("obj");
    let dbgfetch = crate::dispatch::sibling("dbgfetch")
        .context("dbgfetch is missing beside this binary (cargo build --release builds both)")?;
    println!("\n== Debug info: dbgfetch fill --wait -C {}", obj.display());
    let status = Command::new(&dbgfetch)
        .args(["fill", "--wait", "-C"])
        .arg(&obj)
        .env("CACHED_NINJA_CACHE_DIR", side.join("cache"))
        .status()
        .with_context(|| format!("cannot run {}", dbgfetch.display()))?;
    let done = succeeded(status, "dbgfetch fill");
    if done.as_ref().is_err_and(|e| e.is::<Interrupted>()) {
        return done;
    }
    if done.is_err() {
        eprintln!(
            "cached-ninja demo: warning: the debug-info fill in {} did not complete ({status}); `dbgfetch status -C {}` says why",
            obj.display(),
            obj.display()
        );
    }
    Ok(())
}

/// `cached-ninja build -C <side>/obj <extra…>` with `<side>/cache`.
fn cached_ninja(exe: &Path, side: &Path, extra: &[&str]) -> anyhow::Result<()> {
    let obj = side.join("obj");
    let status = Command::new(exe)
        .arg("build")
        .arg("-C")
        .arg(&obj)
        .args(extra)
        .env("CACHED_NINJA_CACHE_DIR", side.join("cache"))
        .status()
        .context("cannot run cached-ninja build")?;
    succeeded(status, &format!("the build in {}", obj.display()))
}
