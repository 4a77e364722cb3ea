//! End-to-end tests of the cached-ninja backend (issue 4): `configure`, `generate`, `build` and
//! `demo` on the example project (`examples/shapes`) with real CMake, Meson, Ninja and gcc, and
//! on libgit2.
//!
//! Every test has its own temporary space and its own cache (`CACHED_NINJA_CACHE_DIR`).

mod support;

use std::path::Path;
use std::process::Command;
use support::{
    cached_ninja, copy_tree, hits_misses, ninja_1_13, repo_root, require_tool, run, run_ok,
    TestSpace,
};

/// The generators the example project supports.
#[derive(Clone, Copy, Debug)]
enum Gen {
    Cmake,
    Meson,
}

impl Gen {
    /// The generator command configuring `src` into `obj`.
    fn command(self, src: &Path, obj: &Path) -> Vec<String> {
        let s = src.display().to_string();
        let o = obj.display().to_string();
        match self {
            Gen::Cmake => {
                require_tool("cmake", "cmake");
                vec![
                    "cmake".into(),
                    "-G".into(),
                    "Ninja".into(),
                    "-S".into(),
                    s,
                    "-B".into(),
                    o,
                    "-DCMAKE_BUILD_TYPE=Debug".into(),
                ]
            }
            Gen::Meson => {
                require_tool("meson", "meson");
                vec![
                    "meson".into(),
                    "setup".into(),
                    "--buildtype=debug".into(),
                    o,
                    s,
                ]
            }
        }
    }
}

/// A command with the test's own cache.
fn cmd(program: impl AsRef<std::ffi::OsStr>, cache: &Path) -> Command {
    let mut c = Command::new(program);
    c.env("CACHED_NINJA_CACHE_DIR", cache);
    c
}

/// `cached-ninja configure --enable-build-backend=BACKEND --objdir OBJ -- <generator>`.
fn configure(backend: &str, gen: Gen, src: &Path, obj: &Path, cache: &Path) {
    run_ok(
        cmd(cached_ninja(), cache)
            .arg("configure")
            .arg(format!("--enable-build-backend={backend}"))
            .arg("--objdir")
            .arg(obj)
            .arg("--")
            .args(gen.command(src, obj)),
    );
}

/// Runs ninja in `obj` and returns the descriptions of the edges it ran, sorted.
fn ninja(obj: &Path, cache: &Path) -> Vec<String> {
    require_tool("ninja", "ninja-build");
    let out = run_ok(cmd("ninja", cache).arg("-C").arg(obj).arg("-j2"));
    let mut ran: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.strip_prefix('[')
                .and_then(|l| l.split_once("] "))
                .map(|(_, d)| d.to_string())
        })
        .collect();
    ran.sort();
    ran
}

/// `ninja -t commands` in `obj`, with the object directory's path replaced by `OBJ`.
fn commands(obj: &Path) -> Vec<String> {
    let out = run_ok(
        Command::new("ninja")
            .arg("-C")
            .arg(obj)
            .args(["-t", "commands"]),
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.replace(&obj.display().to_string(), "OBJ"))
        .collect()
}

/// The launcher prefix and regenerate hook of a rewritten command taken away.
fn unrewrite(line: &str) -> String {
    let exe = cached_ninja().display().to_string();
    let prefix = format!("{exe} cc -- ");
    if let Some(rest) = line.strip_prefix(&prefix) {
        return rest.to_string();
    }
    let hook = format!(" ) && {exe} generate -q");
    if let Some(inner) = line.strip_prefix("( ").and_then(|l| l.strip_suffix(&hook)) {
        return inner.to_string();
    }
    line.to_string()
}

/// Appends a comment to `touched`, then rebuilds the plain and the cached object directories:
/// both run exactly the same edges, one of them names `needle`, and the cached one compiles
/// exactly once (one miss, no hit).
fn touch_and_rebuild(touched: &Path, needle: &str, plain: &Path, cached: &Path, cache: &Path) {
    std::thread::sleep(std::time::Duration::from_millis(20));
    let text = std::fs::read_to_string(touched).unwrap();
    std::fs::write(touched, format!("{text}\n/* touched */\n")).unwrap();
    run_ok(
        Command::new(cached_ninja())
            .args(["stats", "--zero", "-C"])
            .arg(cached),
    );
    let plain_ran = ninja(plain, cache);
    let cached_ran = ninja(cached, cache);
    assert_eq!(plain_ran, cached_ran);
    assert!(
        cached_ran.iter().any(|d| d.contains(needle)),
        "{cached_ran:?}"
    );
    assert_eq!(hits_misses(cached), (0, 1));
}

/// The example project in a fresh space: configure plain and cached, compare, build, touch
/// one file, rebuild, then build again at another path from the same cache.
fn example_scenario(gen: Gen) {
    let space = TestSpace::new();
    let root = space.path();
    let src = root.join("src");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let cache = root.join("cache");
    let (plain, cached) = (root.join("plain"), root.join("cached"));
    configure("ninja", gen, &src, &plain, &cache);
    configure("cached-ninja", gen, &src, &cached, &cache);

    // Commands differ only by the launcher prefix (and the hook on the generator edge).
    let before = commands(&plain);
    let after = commands(&cached);
    let prefixed = after.iter().filter(|l| l.contains(" cc -- ")).count();
    assert_eq!(
        prefixed, 5,
        "five compiles go through the launcher:\n{after:#?}"
    );
    let after: Vec<String> = after.iter().map(|l| unrewrite(l)).collect();
    assert_eq!(before, after);

    // First build: the same edges; every compile a miss.
    assert_eq!(ninja(&plain, &cache), ninja(&cached, &cache));
    assert_eq!(hits_misses(&cached), (0, 5));
    let run_shapes = |obj: &Path| run_ok(&mut Command::new(obj.join("shapes"))).stdout;
    assert_eq!(run_shapes(&plain), run_shapes(&cached));

    // Touch one file: exactly the edges plain Ninja runs, and only that one compiles.
    touch_and_rebuild(&src.join("geom/rect.c"), "rect.c", &plain, &cached, &cache);
    assert_eq!(
        ninja(&cached, &cache),
        Vec::<String>::new(),
        "then nothing to do"
    );

    // Another checkout and object directory at another path (same layout, as a developer's
    // machine would have): every compile is a hit.
    let other_src = root.join("elsewhere/src");
    copy_tree(&src, &other_src);
    let other = root.join("elsewhere/obj");
    configure("cached-ninja", gen, &other_src, &other, &cache);
    ninja(&other, &cache);
    assert_eq!(hits_misses(&other), (5, 0));
    assert_eq!(run_shapes(&other), run_shapes(&plain));
}

/// The rewritten files load in Ninja 1.13 too: the same commands as 1.11 prints, a build
/// through the launcher, then nothing to do.
#[test]
fn ninja_1_13_loads_and_builds_the_rewritten_files() {
    let ninja113 = ninja_1_13();
    let version = run_ok(Command::new(&ninja113).arg("--version")).stdout;
    assert!(
        String::from_utf8_lossy(&version).starts_with("1.13."),
        "{} is not ninja 1.13",
        ninja113.display()
    );
    for gen in [Gen::Cmake, Gen::Meson] {
        let space = TestSpace::new();
        let src = space.path().join("src");
        copy_tree(&repo_root().join("examples/shapes"), &src);
        let (obj, cache) = (space.path().join("obj"), space.path().join("cache"));
        configure("cached-ninja", gen, &src, &obj, &cache);
        let with_113 = run_ok(
            Command::new(&ninja113)
                .arg("-C")
                .arg(&obj)
                .args(["-t", "commands"]),
        );
        let with_111 = run_ok(
            Command::new("ninja")
                .arg("-C")
                .arg(&obj)
                .args(["-t", "commands"]),
        );
        assert_eq!(with_113.stdout, with_111.stdout, "{gen:?}: -t commands");
        run_ok(cmd(&ninja113, &cache).arg("-C").arg(&obj).arg("-j2"));
        assert_eq!(
            hits_misses(&obj),
            (0, 5),
            "{gen:?}: five compiles through the launcher"
        );
        let again = run_ok(cmd(&ninja113, &cache).arg("-C").arg(&obj).arg("-j2"));
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("no work to do"),
            "{gen:?}: second run\n{}",
            String::from_utf8_lossy(&again.stdout)
        );
        run_ok(&mut Command::new(obj.join("shapes")));
    }
}

#[test]
fn cmake_example_commands_edges_and_hits() {
    example_scenario(Gen::Cmake);
}

#[test]
fn meson_example_commands_edges_and_hits() {
    example_scenario(Gen::Meson);
}

/// Generating twice changes nothing; the generator's re-run edge applies the rewrite again.
fn idempotent_and_regenerated(gen: Gen, touch: &str) {
    let space = TestSpace::new();
    let root = space.path();
    let src = root.join("src");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let cache = root.join("cache");
    let obj = root.join("obj");
    configure("cached-ninja", gen, &src, &obj, &cache);
    let top = obj.join("build.ninja");
    let snapshot = |p: &Path| {
        (
            std::fs::read(p).unwrap(),
            std::fs::metadata(p).unwrap().modified().unwrap(),
        )
    };
    let first = snapshot(&top);
    let out = run_ok(
        cmd(cached_ninja(), &cache)
            .arg("generate")
            .arg("-C")
            .arg(&obj),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("up to date"));
    assert_eq!(snapshot(&top), first, "second generate changed build.ninja");
    ninja(&obj, &cache);

    // Make the generator regenerate build.ninja: the rewrite must come back by itself.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let f = src.join(touch);
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, format!("{text}\n# touched\n")).unwrap();
    ninja(&obj, &cache);
    let again = std::fs::read(&top).unwrap();
    assert!(
        again.starts_with(b"# cached-ninja generate: rewritten"),
        "not rewritten after regenerate"
    );
    assert_eq!(
        commands(&obj)
            .iter()
            .filter(|l| l.contains(" cc -- "))
            .count(),
        5
    );
    assert_eq!(
        ninja(&obj, &cache),
        Vec::<String>::new(),
        "no-op after regenerate"
    );
}

#[test]
fn cmake_generate_is_idempotent_and_survives_regeneration() {
    idempotent_and_regenerated(Gen::Cmake, "CMakeLists.txt");
}

#[test]
fn meson_generate_is_idempotent_and_survives_regeneration() {
    idempotent_and_regenerated(Gen::Meson, "meson.build");
}

#[test]
fn unknown_backend_is_an_error_listing_the_valid_ones() {
    let out = run(Command::new(cached_ninja()).args([
        "configure",
        "--enable-build-backend=make",
        "--",
        "true",
    ]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'make'") && err.contains("cached-ninja") && err.contains("ninja"),
        "{err}"
    );
}

#[test]
fn cmake_without_ninja_generator_is_refused() {
    let out = run(Command::new(cached_ninja()).args([
        "configure",
        "--enable-build-backend=cached-ninja",
        "--",
        "cmake",
        "-S",
        "x",
        "-B",
        "y",
    ]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CMake needs -G Ninja"));
}

#[test]
fn policy_keeps_globbed_outputs_out_of_the_cache() {
    let space = TestSpace::new();
    let root = space.path();
    let src = root.join("src");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    std::fs::write(
        src.join("cached-ninja.toml"),
        "split_dwarf = true\n[[rule]]\nglob = \"**/rect.c.o\"\ncache = false\n",
    )
    .unwrap();
    let cache = root.join("cache");
    let obj = root.join("obj");
    configure("cached-ninja", Gen::Cmake, &src, &obj, &cache);
    let cmds = commands(&obj);
    let rect = cmds.iter().find(|l| l.contains("rect.c.o -c")).unwrap();
    assert!(!rect.contains(" cc -- "), "{rect}");
    let circle = cmds.iter().find(|l| l.contains("circle.c.o -c")).unwrap();
    assert!(
        circle.contains(" cc -- ") && circle.ends_with(" -gsplit-dwarf -gdwarf-4"),
        "{circle}"
    );

    std::fs::write(src.join("cached-ninja.toml"), "splitdwarf = true\n").unwrap();
    let out = run(cmd(cached_ninja(), &cache)
        .arg("generate")
        .arg("-C")
        .arg(&obj));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cached-ninja.toml") && err.contains("splitdwarf"),
        "{err}"
    );

    // The local cache's location and size come from the policy too.
    std::fs::write(
        src.join("cached-ninja.toml"),
        "[cache]\ndir = \"store\"\nsize = \"1G\"\n",
    )
    .unwrap();
    run_ok(
        cmd(cached_ninja(), &cache)
            .arg("generate")
            .arg("-C")
            .arg(&obj),
    );
    let store = src.join("store");
    let circle = commands(&obj)
        .into_iter()
        .find(|l| l.contains("circle.c.o -c"))
        .unwrap();
    assert!(
        circle.starts_with(&format!(
            "CACHED_NINJA_CACHE_DIR={} CACHED_NINJA_CACHE_SIZE=1G ",
            store.display()
        )),
        "{circle}"
    );
    ninja(&obj, &cache);
    assert_eq!(hits_misses(&obj), (0, 5));
    assert!(
        store.read_dir().unwrap().next().is_some(),
        "objects in the policy's store"
    );
    assert!(!cache.exists(), "nothing in the environment's cache");
}

/// The example configured with the `ninja` generator (gen-ninja.sh) into `root/obj`, with
/// `CC`/`CXX` from `compilers` if given.
fn configure_plain_generator(
    root: &Path,
    cache: &Path,
    compilers: Option<(&Path, &Path)>,
) -> std::path::PathBuf {
    let src = root.join("src");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let obj = root.join("obj");
    std::fs::create_dir_all(&obj).unwrap();
    let mut c = cmd("sh", cache);
    c.arg(src.join("configure"))
        .arg("--with-generator=ninja")
        .current_dir(&obj)
        .env("CACHED_NINJA", cached_ninja());
    if let Some((cc, cxx)) = compilers {
        c.env("CC", cc).env("CXX", cxx);
    }
    run_ok(&mut c);
    obj
}

#[test]
fn build_prints_plain_lines_and_a_summary_when_not_a_terminal() {
    require_tool("ninja", "ninja-build");
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let obj = configure_plain_generator(space.path(), &cache, None);
    let out = run_ok(cmd(cached_ninja(), &cache).args(["build", "-C"]).arg(&obj));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[1/8] ") && err.contains("[8/8] LINK shapes"),
        "{err}"
    );
    assert!(
        err.contains("cached-ninja build: 8/8 edges run; 0 hits, 5 compiled, 0 uncacheable"),
        "{err}"
    );
    // The bytes written are the compiled objects' (the launchers count them).
    let objects = support::objects(&obj);
    assert_eq!(objects.len(), 5, "{:?}", objects.keys());
    let bytes: u64 = objects.values().map(|o| o.len() as u64).sum();
    let written = format!("; {} of objects written;", fetch::plan::human_bytes(bytes));
    assert!(err.contains(&written), "{written}\n{err}");
    let out = run_ok(cmd(cached_ninja(), &cache).args(["build", "-C"]).arg(&obj));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0/0 edges run; 0 hits, 0 compiled"), "{err}");
    assert!(err.contains("; 0 B of objects written;"), "{err}");
    // Served from the cache, the same objects count again.
    for o in objects.keys() {
        std::fs::remove_file(obj.join(o)).unwrap();
    }
    let out = run_ok(cmd(cached_ninja(), &cache).args(["build", "-C"]).arg(&obj));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(" 5 hits, 0 compiled") && err.contains(&written),
        "{written}\n{err}"
    );
}

/// A compiler wrapper that records how many compiles run at once, then runs gcc/g++. With
/// `CN_TEST_PEERS=n` each compile first waits (at most 3 s) until n run at once, so that a
/// slow machine starting them apart does not hide the parallelism the tokens allow.
fn counting_compiler(dir: &Path, name: &str, real: &str, runs: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    let script = format!(
        "#!/bin/sh\ncase \" $* \" in *\" -c \"*) ;; *) exec {real} \"$@\" ;; esac\ncase \" $* \" in *\" -E \"*) exec {real} \"$@\" ;; esac\nmkdir {runs}/run.$$\nn=0\nwhile [ $(ls {runs} | wc -l) -lt ${{CN_TEST_PEERS:-1}} ] && [ $n -lt 30 ]; do sleep 0.1; n=$((n+1)); done\nls {runs} | wc -l > {runs}.seen.$$\nsleep 0.4\n{real} \"$@\"; rc=$?\nrmdir {runs}/run.$$\nexit $rc\n",
        runs = runs.display()
    );
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The most compiles seen running at once.
fn max_seen(runs: &Path) -> usize {
    let parent = runs.parent().unwrap();
    let prefix = format!("{}.seen.", runs.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_name()
                .to_string_lossy()
                .starts_with(&prefix)
                .then(|| std::fs::read_to_string(e.path()).ok())?
        })
        .filter_map(|t| t.trim().parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn build_runs_no_more_compilers_than_tokens() {
    require_tool("ninja", "ninja-build");
    require_tool("gcc", "gcc");
    require_tool("g++", "g++");
    for (tokens, expect_max) in [(1usize, 1usize), (3, 3)] {
        let space = TestSpace::new();
        let root = space.path();
        let cache = root.join("cache");
        let runs = root.join("runs");
        std::fs::create_dir_all(&runs).unwrap();
        let cc = counting_compiler(&root.join("bin"), "cc", "gcc", &runs);
        let cxx = counting_compiler(&root.join("bin"), "c++", "g++", &runs);
        let obj = configure_plain_generator(root, &cache, Some((&cc, &cxx)));
        run_ok(
            cmd(cached_ninja(), &cache)
                .env("CN_TEST_PEERS", expect_max.min(2).to_string())
                .args(["build", "--ninja-jobs", "8", "-j"])
                .arg(tokens.to_string())
                .arg("-C")
                .arg(&obj),
        );
        let seen = max_seen(&runs);
        assert!(
            seen >= 1 && seen <= expect_max,
            "{tokens} tokens: {seen} compilers at once"
        );
        if tokens == 3 {
            assert!(
                seen >= 2,
                "the wrapper must see parallel compiles when tokens allow ({seen})"
            );
        }
    }
}

#[test]
fn ctrl_c_stops_cleanly_and_the_next_build_resumes() {
    use std::os::unix::process::CommandExt;
    require_tool("ninja", "ninja-build");
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let obj = configure_plain_generator(space.path(), &cache, None);
    let mut build = cmd(cached_ninja(), &cache);
    // Ninja's launchers, not the hits served before it (`tests/ahead.rs` interrupts those).
    let child = support::signals_as_in_a_terminal(&mut build)
        .args(["build", "--no-serve-ahead", "-j", "2", "-C"])
        .arg(&obj)
        .env("CACHED_NINJA_TEST_STALL_INSERT_MS", "3000")
        .process_group(0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C lands while a launcher holds a temporary file it has not renamed into the cache
    // (each insert stalls 3 s), not after a fixed time a slow machine may not have started by.
    let tmp = cache.join("tmp");
    support::published::wait_until("a launcher inserts into the cache", || {
        std::fs::read_dir(&tmp).is_ok_and(|mut d| d.next().is_some())
    });
    // SAFETY: signals the process group of the child we just started.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    // No partial object: every object left is a whole ELF file.
    for dir in ["geom", "report", "app"] {
        for e in std::fs::read_dir(obj.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "o") {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    bytes.starts_with(b"\x7fELF") && bytes.len() > 64,
                    "partial object {}",
                    p.display()
                );
            }
        }
    }
    // The next build resumes and gives the right program; a third build in a fresh
    // directory from the same cache gives it too (no corrupt entry).
    run_ok(cmd(cached_ninja(), &cache).args(["build", "-C"]).arg(&obj));
    let expect = "circle r=1   area    3.142  perimeter    6.283\nrect 2x3     area    6.000  perimeter   10.000\n";
    assert_eq!(
        String::from_utf8_lossy(&run_ok(&mut Command::new(obj.join("shapes"))).stdout),
        expect
    );
    let again = TestSpace::new();
    let obj2 = configure_plain_generator(again.path(), &cache, None);
    run_ok(cmd(cached_ninja(), &cache).args(["build", "-C"]).arg(&obj2));
    assert_eq!(
        String::from_utf8_lossy(&run_ok(&mut Command::new(obj2.join("shapes"))).stdout),
        expect
    );
}

#[test]
fn demo_reuses_ci_objects_and_runs_the_program() {
    require_tool("ninja", "ninja-build");
    let space = TestSpace::new();
    let work = space.path().join("demo");
    let out = run_ok(
        Command::new(cached_ninja())
            .args(["demo", "--work"])
            .arg(&work)
            .env_remove("CACHED_NINJA_CACHE_DIR"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("compiled 5 objects and published them"),
        "{text}"
    );
    assert!(
        text.contains("reused 4 objects from CI's build, compiled 1 "),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(1 commit back)"),
        "the developer's build found CI's: {err}"
    );
    assert!(
        text.contains("(developer build)"),
        "the program's output:\n{text}"
    );
    assert!(
        work.join("store/builds/default").is_dir(),
        "the demo's own store holds CI's build manifest"
    );
    // A second run empties its work directory and does it again; a foreign one is refused.
    run_ok(
        Command::new(cached_ninja())
            .args(["demo", "--work"])
            .arg(&work),
    );
    let foreign = space.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "x").unwrap();
    let out = run(Command::new(cached_ninja())
        .args(["demo", "--work"])
        .arg(&foreign));
    assert!(!out.status.success() && foreign.join("keep.txt").exists());
}

/// A build of the demo stopped by SIGINT (sent to the build alone) makes the demo say
/// "interrupted" and exit 130 like the build, not report a failed build and exit 1 (a review
/// of the command line).
#[test]
fn a_demo_whose_build_is_interrupted_says_so() {
    require_tool("ninja", "ninja-build");
    let space = TestSpace::new();
    let work = space.path().join("demo");
    let mut demo = Command::new(cached_ninja());
    demo.args(["demo", "--work"])
        .arg(&work)
        .env_remove("CACHED_NINJA_CACHE_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut demo = support::signals_as_in_a_terminal(&mut demo)
        .spawn()
        .unwrap();
    // CI's build: `cached-ninja build -C <work>/ci/obj …`, a child of the demo.
    let ci_obj = work.join("ci/obj").display().to_string();
    let build = loop {
        let found = Command::new("pgrep")
            .args(["-f", &format!("build -C {ci_obj}")])
            .output()
            .unwrap();
        let pids = String::from_utf8_lossy(&found.stdout).into_owned();
        if let Some(pid) = pids.split_whitespace().next() {
            break pid.to_string();
        }
        assert!(demo.try_wait().unwrap().is_none(), "the demo ended first");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    run_ok(Command::new("kill").args(["-INT", &build]));
    let out = demo.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("cached-ninja demo: interrupted"), "{err}");
    // Not the demo's "… failed (exit status: 130)" (a SIGINT that reaches the build while it
    // spawns can make Rust's runtime say "assertion failed" in the child: not the demo's).
    assert!(!err.contains("failed ("), "{err}");
}

/// libgit2 with CMake: plain and cached object directories built from one copy of the sources;
/// after touching one file, the cached build runs exactly the edges plain Ninja runs and
/// compiles only that file; a fresh object directory elsewhere then hits on every compile.
#[test]
fn libgit2_cmake_touch_one_file() {
    require_tool("cmake", "cmake");
    require_tool("ninja", "ninja-build");
    let space = TestSpace::new();
    let root = space.path();
    let src = root.join("libgit2");
    copy_tree(&support::third_party_src("libgit2"), &src);
    let cache = root.join("cache");
    let configure_libgit2 = |backend: &str, src: &Path, obj: &Path| {
        run_ok(
            cmd(cached_ninja(), &cache)
                .arg("configure")
                .arg(format!("--enable-build-backend={backend}"))
                .arg("--objdir")
                .arg(obj)
                .args([
                    "--",
                    "cmake",
                    "-G",
                    "Ninja",
                    "-DCMAKE_BUILD_TYPE=Debug",
                    "-DBUILD_TESTS=OFF",
                    "-S",
                ])
                .arg(src)
                .arg("-B")
                .arg(obj),
        );
    };
    let (plain, cached) = (root.join("plain"), root.join("cached"));
    configure_libgit2("ninja", &src, &plain);
    configure_libgit2("cached-ninja", &src, &cached);
    let before = commands(&plain);
    let after: Vec<String> = commands(&cached).iter().map(|l| unrewrite(l)).collect();
    assert_eq!(
        before, after,
        "ninja -t commands differs beyond the launcher prefix"
    );

    assert_eq!(ninja(&plain, &cache), ninja(&cached, &cache));
    let (hits, misses) = hits_misses(&cached);
    assert_eq!(hits, 0);
    assert!(misses > 150, "{misses} compiles");

    touch_and_rebuild(
        &src.join("src/libgit2/hashsig.c"),
        "hashsig.c",
        &plain,
        &cached,
        &cache,
    );

    let other_src = root.join("dev/libgit2");
    copy_tree(&src, &other_src);
    let other = root.join("dev/obj");
    configure_libgit2("cached-ninja", &other_src, &other);
    ninja(&other, &cache);
    assert_eq!(hits_misses(&other), (misses, 0));
}
