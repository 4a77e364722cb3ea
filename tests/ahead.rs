//! Hits served before Ninja's first run in an object directory (`engine::ahead`, issue 15):
//! with real CMake, Meson, Ninja and gcc on the example project, a second checkout at another
//! path (its object directory inside the sources where the first had it beside) builds with
//! no launcher run for a compile the cache holds, the same objects, Ninja's own state right
//! (nothing to do after, a changed header rebuilds what includes it), and a damaged Ninja
//! file left to Ninja.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::{cached_ninja, copy_tree, hits_misses, repo_root, require_tool, run_ok, TestSpace};

/// `cached-ninja configure` of `src` into `obj` with CMake or Meson.
fn configure(meson: bool, src: &Path, obj: &Path, cache: &Path) {
    require_tool("ninja", "ninja-build");
    let mut c = Command::new(cached_ninja());
    c.env("CACHED_NINJA_CACHE_DIR", cache)
        .args([
            "configure",
            "--enable-build-backend=cached-ninja",
            "--objdir",
        ])
        .arg(obj)
        .arg("--");
    if meson {
        require_tool("meson", "meson");
        c.args(["meson", "setup", "--buildtype=debug"])
            .arg(obj)
            .arg(src);
    } else {
        require_tool("cmake", "cmake");
        c.args(["cmake", "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Debug", "-S"])
            .arg(src)
            .arg("-B")
            .arg(obj);
    }
    run_ok(&mut c);
}

/// `cached-ninja build -C obj` with the test's cache: its output.
fn build(obj: &Path, cache: &Path) -> Output {
    run_ok(
        Command::new(cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", cache)
            .args(["build", "-C"])
            .arg(obj),
    )
}

/// The compiled objects' bytes, sorted (their paths differ between layouts under Meson).
fn object_bytes(obj: &Path) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = support::objects(obj)
        .into_iter()
        .filter(|(p, _)| !p.contains("CompilerId"))
        .map(|(_, b)| b)
        .collect();
    v.sort();
    v
}

/// The status lines of the edges Ninja ran (`[n/m] description`), from a build's stderr.
fn edges_run(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with('['))
        .map(str::to_string)
        .collect()
}

fn run_shapes(obj: &Path) -> String {
    String::from_utf8_lossy(&run_ok(&mut Command::new(obj.join("shapes"))).stdout).into_owned()
}

fn served_ahead_at_a_new_path(meson: bool) {
    let space = TestSpace::new();
    let root = space.path();
    let cache = root.join("cache");
    let (src, obj) = (root.join("a/src"), root.join("a/obj"));
    copy_tree(&repo_root().join("examples/shapes"), &src);
    configure(meson, &src, &obj, &cache);
    let first = build(&obj, &cache);
    assert_eq!(
        hits_misses(&obj),
        (0, 5),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        !err.contains("served from the cache ahead of Ninja"),
        "an empty cache serves nothing: {err}"
    );

    // Another checkout, its object directory inside the sources.
    let other_src = root.join("elsewhere/tree");
    copy_tree(&src, &other_src);
    let other = other_src.join("build");
    configure(meson, &other_src, &other, &cache);
    let second = build(&other, &cache);
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("cached-ninja build: 5 of 5 compiles served from the cache ahead of Ninja"),
        "{err}"
    );
    let ran = edges_run(&second);
    assert!(
        ran.iter()
            .all(|l| !l.contains(".o") || l.contains("Link") || l.contains("LINK")),
        "Ninja ran a compile the cache held: {ran:#?}"
    );
    assert_eq!(hits_misses(&other), (5, 0), "{err}");
    assert_eq!(object_bytes(&other), object_bytes(&obj));
    assert_eq!(run_shapes(&other), run_shapes(&obj));

    // Ninja's own state is as after a build of its own: nothing to do.
    let dry = run_ok(
        Command::new("ninja")
            .arg("-C")
            .arg(&other)
            .args(["-n", "-d", "explain"]),
    );
    let said =
        String::from_utf8_lossy(&dry.stdout).to_string() + &String::from_utf8_lossy(&dry.stderr);
    assert!(said.contains("no work to do"), "{said}");

    // A changed header rebuilds what includes it: the deps entered are Ninja's.
    let header = other_src.join("geom/geom.h");
    let mut text = std::fs::read_to_string(&header).unwrap();
    text.push_str("#ifdef __cplusplus\n#define circle_area(r) 42.0\n#endif\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&header, text).unwrap();
    let third = build(&other, &cache);
    let (_, misses) = hits_misses(&other);
    assert!(misses >= 1, "{}", String::from_utf8_lossy(&third.stderr));
    assert!(run_shapes(&other).contains("42"), "{}", run_shapes(&other));
}

#[test]
fn cmake_a_first_build_serves_the_caches_hits_before_ninja() {
    served_ahead_at_a_new_path(false);
}

#[test]
fn meson_a_first_build_serves_the_caches_hits_before_ninja() {
    served_ahead_at_a_new_path(true);
}

/// The example project (CMake) built into `obj` on the cache `cache`, and another object
/// directory `other` of it configured, not built: (cache, obj, other).
fn built_and_another(space: &TestSpace) -> (PathBuf, PathBuf, PathBuf) {
    let root = space.path();
    let cache = root.join("cache");
    let (src, obj) = (root.join("src"), root.join("obj"));
    copy_tree(&repo_root().join("examples/shapes"), &src);
    configure(false, &src, &obj, &cache);
    build(&obj, &cache);
    let other = root.join("obj2");
    configure(false, &src, &other, &cache);
    (cache, obj, other)
}

/// The pass a first build runs beside a pull (`serve-ahead --arrivals`): each output named on
/// its input is served as it comes, nothing a target Ninja builds meanwhile needs is served,
/// and Ninja's logs are written only once the input ends (Ninja's run meanwhile writes them).
#[test]
fn the_pass_serves_each_arrival_as_it_comes_and_writes_ninjas_logs_at_its_end() {
    let space = TestSpace::new();
    let (cache, _obj, other) = built_and_another(&space);
    let version = run_ok(Command::new("ninja").arg("--version"));
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let (rect, circle) = (
        "CMakeFiles/geom.dir/geom/rect.c.o",
        "CMakeFiles/geom.dir/geom/circle.c.o",
    );
    let shapes = "CMakeFiles/report.dir/report/shapes.cpp.o";
    let mut child = Command::new(cached_ninja())
        .current_dir(&other)
        .env("CACHED_NINJA_CACHE_DIR", &cache)
        .args(["serve-ahead", "--ninja-version", &version, "--arrivals"])
        .args(["--built-first", shapes])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    use std::io::Write;
    writeln!(input, "not/an/output.o\n{rect}").unwrap();
    support::published::wait_until("the arrival is served", || other.join(rect).is_file());
    // A target Ninja builds meanwhile, arrived too: not served.
    writeln!(input, "{shapes}\n{circle}").unwrap();
    support::published::wait_until("the next arrival is served", || {
        other.join(circle).is_file()
    });
    // Nothing else yet: the pass waits for arrivals, and writes no log of Ninja's meanwhile.
    assert!(!other
        .join("CMakeFiles/report.dir/report/format.cpp.o")
        .exists());
    assert!(!other.join(".ninja_log").exists());
    assert!(!other.join(".ninja_deps").exists());
    drop(input);
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert_eq!(said.lines().last(), Some("served 4 4"), "{said}");
    assert!(other
        .join("CMakeFiles/report.dir/report/format.cpp.o")
        .is_file());
    assert!(
        !other.join(shapes).exists(),
        "a target Ninja builds was served"
    );
    let log = std::fs::read_to_string(other.join(".ninja_log")).unwrap();
    assert!(log.contains(rect) && !log.contains(shapes), "{log}");
    assert!(other.join(".ninja_deps").is_file());
    // Ninja builds the target the pass left to it, and links; nothing else.
    let ninja = run_ok(
        Command::new("ninja")
            .env("CACHED_NINJA_CACHE_DIR", &cache)
            .arg("-C")
            .arg(&other),
    );
    let ran = String::from_utf8_lossy(&ninja.stdout);
    assert!(ran.contains("shapes.cpp.o"), "{ran}");
    assert!(
        !ran.contains("rect.c.o") && !ran.contains("circle.c.o"),
        "{ran}"
    );
}

#[test]
fn a_damaged_deps_log_is_left_to_ninja() {
    let space = TestSpace::new();
    let (cache, obj, other) = built_and_another(&space);
    std::fs::write(other.join(".ninja_deps"), b"# ninjadeps\n\x04\0\0\0\x09").unwrap();
    let out = build(&other, &cache);
    let err = String::from_utf8_lossy(&out.stderr);
    let warning = "cached-ninja build: warning: ";
    assert!(
        err.lines()
            .any(|l| l.starts_with(warning) && l.contains(".ninja_deps") && l.contains("damaged")),
        "{err}"
    );
    assert!(
        !err.contains("served from the cache ahead of Ninja"),
        "{err}"
    );
    // Ninja cuts its deps log at the damage; the launchers hit.
    assert_eq!(hits_misses(&other), (5, 0), "{err}");
    assert_eq!(run_shapes(&other), run_shapes(&obj));
}

#[test]
fn ctrl_c_while_hits_are_served_ahead_stops_the_build_cleanly() {
    let space = TestSpace::new();
    let (cache, obj, other) = built_and_another(&space);
    // Each file the pass writes into the cache (the lookup's memos) stalls before its rename:
    // Ctrl-C lands while the pass holds a temporary.
    std::fs::remove_dir_all(cache.join("memo")).unwrap();
    let mut c = Command::new(cached_ninja());
    let child = support::signals_as_in_a_terminal(&mut c)
        .env("CACHED_NINJA_CACHE_DIR", &cache)
        .env("CACHED_NINJA_TEST_STALL_INSERT_MS", "60000")
        .args(["build", "--no-fill", "-C"])
        .arg(&other)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    support::published::wait_until("the pass writes into the cache", || {
        !support::cache_temporaries(&cache).is_empty()
    });
    // The temporary is the pass's (its name starts with its writer's pid), not a launcher's.
    let writers: Vec<String> = support::cache_temporaries(&cache)
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let pid: String = name.chars().take_while(char::is_ascii_digit).collect();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            String::from_utf8_lossy(&cmdline).replace('\0', " ")
        })
        .collect();
    assert!(
        writers.iter().any(|w| w.contains("serve-ahead")),
        "{writers:?}"
    );
    run_ok(Command::new("kill").args(["-INT", &child.id().to_string()]));
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        err.contains("no partial object or cache entry is left"),
        "{err}"
    );
    assert_eq!(
        support::cache_temporaries(&cache),
        Vec::<PathBuf>::new(),
        "{err}"
    );
    assert_eq!(
        edges_run(&out),
        Vec::<String>::new(),
        "Ninja ran after Ctrl-C: {err}"
    );
    assert!(
        !err.contains("served from the cache ahead of Ninja"),
        "the pass finished: {err}"
    );
    // The next build completes, with the same program.
    build(&other, &cache);
    assert_eq!(run_shapes(&other), run_shapes(&obj));
}

/// CI's build of the example project published, and the developer's checkout with `rect.c`
/// changed, its policy naming CI's store.
fn rect_changed() -> support::published::World {
    let w = support::published::World::shapes();
    let rect = w.dev.join("geom/rect.c");
    let mut text = std::fs::read_to_string(&rect).unwrap();
    text.push_str("/* changed by the developer */\n");
    std::fs::write(&rect, text).unwrap();
    w.policy(&w.obj, &w.nginx.url("cn"), "");
    w
}

/// The developer's first build of `targets` (none: the defaults), pulling from CI's store.
fn build_pulling(w: &support::published::World, targets: &[&str]) -> Output {
    run_ok(
        support::published::cn(&w.cache)
            .env(support::published::PATIENT.0, support::published::PATIENT.1)
            .args(["build", "--no-fill", "-C"])
            .arg(&w.obj)
            .args(targets),
    )
}

/// With a pull (issue 15): the first build compiles the developer's change while the pull
/// downloads CI's objects, serves those before Ninja, and Ninja then only archives and links.
#[test]
fn a_first_build_with_a_pull_compiles_the_change_and_serves_the_rest_ahead() {
    let w = rect_changed();
    let out = build_pulling(&w, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cached-ninja build: 4 of 4 compiles served from the cache ahead of Ninja"),
        "{err}"
    );
    let compiles: Vec<String> = edges_run(&out)
        .into_iter()
        .filter(|l| l.contains("Building"))
        .collect();
    assert_eq!(compiles.len(), 1, "{compiles:#?}\n{err}");
    assert!(compiles[0].contains("rect.c.o"), "{compiles:#?}");
    assert_eq!(hits_misses(&w.obj), (4, 1), "{err}");
    // Compiled in Ninja's first run, which no record covers: it did not wait for the plan.
    let edges = fetch::edge_log::last_of_each(&w.obj).unwrap();
    let rect = edges.iter().find(|e| e.output.contains("rect.c")).unwrap();
    assert_eq!(
        (rect.outcome.as_str(), rect.waited_ms),
        ("miss", 0),
        "{}",
        support::edge_log(&w.obj)
    );
    for (path, bytes) in &w.ci_objects {
        if !path.contains("rect.c") {
            assert_eq!(&std::fs::read(w.obj.join(path)).unwrap(), bytes, "{path}");
        }
    }
    let dry = run_ok(
        Command::new("ninja")
            .arg("-C")
            .arg(&w.obj)
            .args(["-n", "-d", "explain"]),
    );
    assert!(String::from_utf8_lossy(&dry.stdout).contains("no work to do"));
    run_ok(&mut Command::new(w.obj.join("shapes")));
}

/// With targets named, the pass serves what they need from the cache and Ninja builds only
/// them: a changed source they do not need is not compiled.
#[test]
fn a_first_build_of_one_target_compiles_nothing_else() {
    let w = rect_changed();
    let out = build_pulling(&w, &["CMakeFiles/report.dir/report/shapes.cpp.o"]);
    let err = String::from_utf8_lossy(&out.stderr);
    let target = w.obj.join("CMakeFiles/report.dir/report/shapes.cpp.o");
    assert!(target.is_file(), "{err}");
    assert!(
        !w.obj.join("CMakeFiles/geom.dir/geom/rect.c.o").exists(),
        "a source the target does not need was compiled: {err}"
    );
    assert!(!w.obj.join("libreport.a").exists(), "{err}");
}
