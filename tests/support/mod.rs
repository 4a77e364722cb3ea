//! Shared helpers for the end-to-end tests: the binaries under test, real tools, temp spaces.
//!
//! Every test that needs a system tool calls [`require_tool`]: if the tool is missing the test
//! fails with a one-line hint naming the Debian package, so nothing is skipped silently.
#![allow(dead_code)]

/// The real servers of the store tests (nginx, s3s-fs), shared with `fetch`'s tests; they
/// bring the one `require_tool` (tests/tools) with them.
#[path = "../../fetch/tests/servers/mod.rs"]
pub mod servers;

/// CI's published build behind nginx, a developer's checkout, the fault-injecting proxy.
pub mod published;

#[allow(unused_imports)] // not every test binary needs all of them
pub use servers::{require_tool, run, run_ok};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Gives the process `c` starts the default action of SIGINT, SIGTERM and SIGHUP, as a
/// terminal's foreground job has them, whatever this test run inherited: a run started from
/// a script's background job ignores SIGINT, and so would the build (rightly), where a test
/// means to stop it.
pub fn signals_as_in_a_terminal(c: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: signal(2) only, between fork and exec.
    unsafe {
        c.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

/// Whether the process `pid` ends (is gone, or a zombie its new parent has not reaped yet)
/// within `limit`.
pub fn ends_within(pid: u32, limit: std::time::Duration) -> bool {
    let stat = format!("/proc/{pid}/stat");
    let running = || {
        std::fs::read_to_string(&stat).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    };
    let deadline = std::time::Instant::now() + limit;
    while running() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    !running()
}

/// Path of the `cached-ninja` binary built for these tests.
pub fn cached_ninja() -> PathBuf {
    // Another build of the launcher (`CN_TEST_LAUNCHER`, with `cached-ninja-cli` beside it):
    // to check that a new test fails on the code before its fix.
    std::env::var_os("CN_TEST_LAUNCHER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cached-ninja")))
}

/// Root of this repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository (design, conformance corpus, reference scripts).
pub fn shared_dir() -> PathBuf {
    repo_root().join("../shared")
}

/// A fresh temporary directory, removed when dropped (kept if `CN_KEEP_TEMP` is set).
pub struct TestSpace {
    dir: tempfile::TempDir,
}

impl TestSpace {
    /// Creates an empty space.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cn-test-")
            .tempdir()
            .expect("create temp dir");
        TestSpace { dir }
    }

    /// The space's root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `rel` inside the space, creating parent directories.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&p, contents).expect("write test file");
        p
    }

    /// Writes an executable file (a script standing in for a tool) at `rel`.
    pub fn write_script(&self, rel: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.write(rel, text);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }
}

impl Drop for TestSpace {
    fn drop(&mut self) {
        if std::env::var_os("CN_KEEP_TEMP").is_some() {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            eprintln!("kept test space {}", kept.keep().display());
        }
    }
}

/// Source tree of a third-party project vendored by a package of the Rust package registry
/// (`libgit2`, `harfbuzz`, `dav1d`).
pub fn third_party_src(name: &str) -> PathBuf {
    let script = repo_root().join("tests/support/third-party-src.sh");
    let out = run_ok(Command::new("bash").arg(script).arg(name));
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
}

/// Copies a directory tree (files and subdirectories) from `from` into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// The files in the cache `cache`'s `tmp/`: the temporaries of inserts not renamed yet.
pub fn cache_temporaries(cache: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache.join("tmp"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}

/// `cached-ninja stats --json` of an object directory's last build.
pub fn stats_json(obj: &Path) -> serde_json::Value {
    let out = run_ok(
        Command::new(cached_ninja())
            .args(["stats", "--json", "-C"])
            .arg(obj),
    );
    serde_json::from_slice(&out.stdout).expect("stats json")
}

/// (hits, misses) of an object directory's last build (`cached-ninja stats --json`).
pub fn hits_misses(obj: &Path) -> (u64, u64) {
    let v = stats_json(obj);
    (v["hits"].as_u64().unwrap(), v["misses"].as_u64().unwrap())
}

/// What each compile edge's last launch in `obj` did (the edge log: outcome, keys,
/// time waited for the pull, notes), for failure messages.
pub fn edge_log(obj: &Path) -> String {
    std::fs::read_to_string(fetch::objdir::ObjDir::new(obj).edge_log_file()).unwrap_or_default()
}

/// A new publisher key file `dir/name` (`cached-ninja key generate`); its path and public key.
pub fn key_file(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = run_ok(
        Command::new(cached_ninja())
            .args(["key", "generate", "--out"])
            .arg(&path),
    );
    let public = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (path, public)
}

/// `git ARGS` in `dir` with a fixed identity and no system or user configuration; its
/// standard output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = run_ok(
        Command::new(require_tool("git", "git"))
            .current_dir(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "ci")
            .env("GIT_AUTHOR_EMAIL", "ci@example.org")
            .env("GIT_COMMITTER_NAME", "ci")
            .env("GIT_COMMITTER_EMAIL", "ci@example.org")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The object files (`*.o`) below an object directory: relative path → bytes.
pub fn objects(obj: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut m = std::collections::BTreeMap::new();
    let mut stack = vec![obj.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "o") {
                let rel = p.strip_prefix(obj).unwrap().display().to_string();
                m.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    m
}

/// Runs `c` (a `cached-ninja` command with its environment) as `configure
/// --enable-build-backend=cached-ninja --objdir OBJ -- cmake -G Ninja -DCMAKE_BUILD_TYPE=Debug
/// EXTRA -S SRC -B OBJ`.
pub fn cmake_configure(c: &mut Command, src: &Path, obj: &Path, extra: &[&str]) -> Output {
    require_tool("cmake", "cmake");
    require_tool("ninja", "ninja-build");
    run_ok(
        c.args([
            "configure",
            "--enable-build-backend=cached-ninja",
            "--objdir",
        ])
        .arg(obj)
        .args(["--", "cmake", "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug"])
        .args(extra)
        .arg("-S")
        .arg(src)
        .arg("-B")
        .arg(obj),
    )
}

/// Ninja 1.13 (not in Debian 12): `CACHED_NINJA_TEST_NINJA_1_13`, else where `.ci/run` puts the
/// binary of PyPI's `ninja` package, in a prefix of its own so it never shadows Debian's 1.11.
pub fn ninja_1_13() -> std::path::PathBuf {
    let path = std::env::var_os("CACHED_NINJA_TEST_NINJA_1_13")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/opt/ninja-1.13/bin/ninja".into());
    assert!(
        path.is_file(),
        "missing ninja 1.13 at {}: install it with `python3 -m pip install --target /opt/ninja-1.13 'ninja>=1.13,<1.14'` (or run `bash .ci/run`)",
        path.display()
    );
    path
}
