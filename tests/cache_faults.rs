//! A cache problem is never a build problem: with the local cache on a full or a read-only file
//! system, a compile through the launcher succeeds by compiling, writes its object and depfile
//! where the compiler would, prints one warning line naming the cache, and counts the failed
//! insert; a read-only cache still serves hits. Real gcc, real tmpfs mounts (CI runs as root).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{cached_ninja, require_tool, run, run_ok, TestSpace};

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at));
        assert!(
            out.status.success(),
            "mounting a tmpfs at {} needs root (CI runs as root): {}",
            at.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }

    /// Writes one file until the file system is full to the last byte.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                    break;
                }
            }
        }
        while f.write(&[0]).is_ok_and(|n| n == 1) {}
    }

    fn remount_read_only(&self) {
        run_ok(
            Command::new("mount")
                .args(["-o", "remount,ro"])
                .arg(&self.0),
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A C source with a header, compiled the way a Ninja edge compiles it.
fn compile(space: &TestSpace, cache: &Path, obj: &str) -> Output {
    let src = space.path().join("src");
    let obj = space.path().join(obj);
    std::fs::create_dir_all(&obj).unwrap();
    run(Command::new(cached_ninja())
        .current_dir(&obj)
        .env("CACHED_NINJA_CACHE_DIR", cache)
        .args(["cc", "--src-root"])
        .arg(&src)
        .args(["--", "gcc", "-g", "-O0"])
        .arg(format!("-I{}", src.join("inc").display()))
        .args(["-MD", "-MT", "a.o", "-MF", "a.o.d", "-o", "a.o", "-c"])
        .arg(src.join("a.c")))
}

fn project() -> TestSpace {
    require_tool("gcc", "gcc");
    require_tool("mount", "mount");
    let space = TestSpace::new();
    space.write("src/inc/a.h", "#define A 41\n");
    space.write(
        "src/a.c",
        "#include \"a.h\"\nint a(void) { return A + 1; }\n",
    );
    space
}

/// The compile succeeded by compiling: an object, a depfile naming the header, one warning line
/// naming the cache, and the failed store counted.
fn assert_compiled_despite(space: &TestSpace, obj: &str, out: &Output, cache: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let dir = space.path().join(obj);
    let object = std::fs::read(dir.join("a.o")).unwrap();
    assert_eq!(&object[..4], b"\x7fELF");
    let dep = std::fs::read_to_string(dir.join("a.o.d")).unwrap();
    assert!(dep.starts_with("a.o:") && dep.contains("inc/a.h"), "{dep}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning:")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains(&cache.display().to_string()),
        "{}",
        warnings[0]
    );
    let stats = run_ok(
        Command::new(cached_ninja())
            .args(["stats", "--json", "-C"])
            .arg(&dir),
    );
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(v["problems"]["store"].as_u64(), Some(1), "{v}");
    // Nothing of the compile's own was left beside the object.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".cached-ninja", "a.o", "a.o.d"]);
}

#[test]
fn full_cache_disk_compiles_normally() {
    let space = project();
    let fs = Tmpfs::mount(&space.path().join("cachefs"), "256k");
    let cache = fs.0.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    fs.fill();
    let out = compile(&space, &cache, "obj");
    assert_compiled_despite(&space, "obj", &out, &cache);
}

#[test]
fn read_only_cache_compiles_and_still_hits() {
    let space = project();
    let fs = Tmpfs::mount(&space.path().join("cachefs"), "16m");
    let cache = fs.0.join("cache");
    let first = compile(&space, &cache, "objA");
    assert!(first.status.success());
    // Another source, not yet in the cache.
    space.write("src/inc/a.h", "#define A 42\n");
    fs.remount_read_only();
    let out = compile(&space, &cache, "objB");
    assert_compiled_despite(&space, "objB", &out, &cache);
    // The first version is still served from the read-only cache.
    space.write("src/inc/a.h", "#define A 41\n");
    let out = compile(&space, &cache, "objC");
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (hits, misses) = support::hits_misses(&space.path().join("objC"));
    assert_eq!((hits, misses), (1, 0));
}

/// Four compile edges through the launcher in `space/obj`, by a hand-written `build.ninja`.
fn four_edges(space: &TestSpace) -> PathBuf {
    require_tool("ninja", "ninja-build");
    let launcher = cached_ninja().display().to_string();
    let mut ninja = format!(
        "rule cc\n  command = {launcher} cc -- gcc -MD -MF $out.d -c $in -o $out\n  depfile = $out.d\n  deps = gcc\n"
    );
    for i in 1..=4 {
        space.write(
            &format!("obj/s{i}.c"),
            format!("int f{i}(void) {{ return {i}; }}\n"),
        );
        ninja.push_str(&format!("build s{i}.o: cc s{i}.c\n"));
    }
    space.write("obj/build.ninja", &ninja);
    space.path().join("obj")
}

/// The warning lines of a build's output.
fn warnings(out: &Output) -> Vec<String> {
    let err = String::from_utf8_lossy(&out.stderr);
    let text = format!("{}{err}", String::from_utf8_lossy(&out.stdout));
    text.lines()
        .filter(|l| l.contains("warning:"))
        .map(str::to_string)
        .collect()
}

/// A full cache is one warning line per build, not one per compile: the first miss to fail
/// says so for the build, and the others store nothing and say nothing (each counted). Plain
/// Ninja's builds share the marker for a while; `cached-ninja build` starts afresh.
#[test]
fn a_full_cache_warns_once_per_build() {
    let space = project();
    let obj = four_edges(&space);
    let fs = Tmpfs::mount(&space.path().join("cachefs"), "256k");
    let cache = fs.0.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    fs.fill();
    let ninja = |args: &[&str]| {
        let mut c = Command::new("ninja");
        c.current_dir(&obj)
            .env("CACHED_NINJA_CACHE_DIR", &cache)
            .args(args);
        run_ok(&mut c)
    };
    let remove_objects = || {
        for i in 1..=4 {
            std::fs::remove_file(obj.join(format!("s{i}.o"))).unwrap();
        }
    };
    let out = ninja(&["-j1"]);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains(&cache.display().to_string())
            && w[0].contains("No space left on device")
            && w[0].contains("storing nothing more for the rest of this build"),
        "{}",
        w[0]
    );
    let v = support::stats_json(&obj);
    assert_eq!(
        (v["misses"].as_u64(), v["problems"]["store"].as_u64()),
        (Some(4), Some(4)),
        "{v}"
    );
    for i in 1..=4 {
        let object = std::fs::read(obj.join(format!("s{i}.o"))).unwrap();
        assert_eq!(&object[..4], b"\x7fELF");
    }
    // Plain Ninja again, soon after: the marker still holds, no line.
    remove_objects();
    assert_eq!(warnings(&ninja(&["-j2"])), Vec::<String>::new());
    // A build of ours starts afresh: one line again.
    remove_objects();
    let out = run_ok(
        Command::new(cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", &cache)
            .args(["build", "-C"])
            .arg(&obj),
    );
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("4 compiled, 0 uncacheable, 4 cache errors survived"),
        "{err}"
    );
    // The marker names the full cache: plain Ninja with another cache, right after, stores.
    let roomy = space.path().join("roomy");
    remove_objects();
    let out = run_ok(
        Command::new("ninja")
            .current_dir(&obj)
            .env("CACHED_NINJA_CACHE_DIR", &roomy),
    );
    assert_eq!(warnings(&out), Vec::<String>::new());
    let v = support::stats_json(&obj);
    assert_eq!(
        v["problems"]["store"].as_u64(),
        Some(4),
        "the stats of before: {v}"
    );
    remove_objects();
    run_ok(
        Command::new("ninja")
            .current_dir(&obj)
            .env("CACHED_NINJA_CACHE_DIR", &roomy),
    );
    let v = support::stats_json(&obj);
    assert!(
        v["hits"].as_u64() >= Some(4),
        "stored in the other cache: {v}"
    );
}

/// A pull into a full cache: the build compiles from CI's sources, and says so in one line
/// (the pull's, or a launcher's if one came first); its failed records and its launchers,
/// which then store nothing, say nothing more.
#[test]
fn a_pull_into_a_full_cache_is_one_warning_line() {
    require_tool("mount", "mount");
    let w = support::published::World::shapes();
    let fs = Tmpfs::mount(&w.space.path().join("cachefs"), "256k");
    let cache = fs.0.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    fs.fill();
    w.policy(&w.obj, &w.nginx.url("cn"), "");
    let out = run_ok(
        support::published::cn(&cache)
            .args(["build", "--no-fill", "-C"])
            .arg(&w.obj),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let w_lines: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(w_lines.len(), 1, "{err}");
    assert!(
        w_lines[0].contains(&cache.display().to_string())
            && w_lines[0].contains("No space left on device"),
        "{}",
        w_lines[0]
    );
    assert!(err.contains("5 compiled"), "{err}");
    assert_eq!(support::objects(&w.obj), w.ci_objects, "{err}");
}
