//! `RUSTC_WRAPPER=cached-ninja` on a Cargo workspace of ours (`tests/cargo-ws`: a proc-macro
//! that iterates a `HashMap`, a build script that probes rustc, a `-sys` crate compiling C with
//! the `cc` crate, a library, a binary and a `cdylib`), built with real cargo and rustc.
//!
//! The `cc` crate compiles the C file with the working directory's path in its debug info, and
//! the `-sys` crate's rlib bundles that object: like any C compile it needs a prefix map to be
//! the same at another path, given here through `CFLAGS` (what a user does; ARCHITECTURE.md).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{cached_ninja, copy_tree, repo_root, run, TestSpace};

/// A copy of the workspace at `dir` and the cache every build of a test shares.
struct Workspace {
    dir: PathBuf,
    cache: PathBuf,
    /// More environment for cargo (a profile setting).
    env: Vec<(String, String)>,
}

impl Workspace {
    fn new(space: &TestSpace, rel: &str) -> Workspace {
        let dir = space.path().join(rel);
        copy_tree(&repo_root().join("tests/cargo-ws"), &dir);
        let _ = std::fs::remove_dir_all(dir.join("target"));
        Workspace {
            dir,
            cache: space.path().join("cache"),
            env: Vec::new(),
        }
    }

    /// `cargo ARGS` in the workspace through the launcher; `incremental` as Cargo's setting.
    fn cargo(&self, args: &[&str], incremental: bool) -> Output {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut c = Command::new(cargo);
        c.current_dir(&self.dir)
            .args(args)
            .args(["--locked", "-j2"])
            .env("RUSTC_WRAPPER", cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", &self.cache)
            .env("CARGO_INCREMENTAL", if incremental { "1" } else { "0" })
            .env(
                "CFLAGS",
                format!("-ffile-prefix-map={}=/ws", self.dir.display()),
            )
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CACHED_NINJA_EXPLAIN")
            .envs(self.env.iter().cloned());
        let out = run(&mut c);
        assert!(
            out.status.success(),
            "cargo {args:?} in {}:\n{}",
            self.dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn target(&self) -> PathBuf {
        self.dir.join("target")
    }

    /// The outcome words of the stats log (`hit`, `miss`, `uncacheable <reason>`, …) from line
    /// `from` on.
    fn outcomes(&self, from: usize) -> Vec<String> {
        let text =
            std::fs::read_to_string(self.target().join(".cached-ninja/stats")).unwrap_or_default();
        text.lines()
            .skip(from)
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                match f[0] {
                    "uncacheable" => format!("uncacheable {}", f.get(4).unwrap_or(&"")),
                    w => w.to_string(),
                }
            })
            .collect()
    }

    fn count(&self, from: usize, what: &str) -> usize {
        self.outcomes(from).iter().filter(|o| *o == what).count()
    }
}

/// The crates cargo said it compiled (`Compiling name v…`), sorted.
fn compiled(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Compiling "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// Every file below `target/debug/deps` and the build scripts: relative path → bytes; the
/// dep-info files with the workspace's path replaced (they name this machine's paths).
fn artifacts(ws: &Workspace) -> std::collections::BTreeMap<String, Vec<u8>> {
    let debug = ws.target().join("debug");
    let mut m = std::collections::BTreeMap::new();
    let mut stack = vec![debug.join("deps"), debug.join("build")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                // A build script's `out` directory is its own work, not rustc's.
                if p.file_name().is_some_and(|n| n != "out") {
                    stack.push(p);
                }
                continue;
            }
            let rel = p.strip_prefix(&debug).unwrap().display().to_string();
            let is_rustc_output = rel.starts_with("deps/") || rel.contains("build_script_build");
            if !is_rustc_output {
                continue;
            }
            let mut bytes = std::fs::read(&p).unwrap();
            if rel.ends_with(".d") {
                bytes = String::from_utf8(bytes)
                    .unwrap()
                    .replace(&ws.dir.display().to_string(), "<ws>")
                    .into_bytes();
            }
            m.insert(rel, bytes);
        }
    }
    m
}

/// Cargo's warning lines and the lines that locate them.
fn warnings(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("warning") || l.trim_start().starts_with("-->"))
        .map(str::to_string)
        .collect()
}

/// `cargo test`'s verdict lines (without timings), sorted: the harness prints its tests in
/// the order they finish.
fn test_results(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("test ") || l.starts_with("running "))
        .map(|l| l.split("; finished").next().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn every_rustc_invocation_hits_at_another_path() {
    let space = TestSpace::new();
    let a = Workspace::new(&space, "a/ws");
    let b = Workspace::new(&space, "elsewhere/deeper/ws");
    let build_a = a.cargo(&["build"], false);
    let tests_a = a.cargo(&["test"], false);
    let misses_a = a.count(0, "miss");
    // 11 compiles for the build (3 registry crates, 2 build scripts, 6 crates), 9 test harnesses.
    assert_eq!(misses_a, 20, "{:?}", a.outcomes(0));
    assert_eq!(a.count(0, "hit"), 0, "{:?}", a.outcomes(0));

    let build_b = b.cargo(&["build"], false);
    let tests_b = b.cargo(&["test"], false);
    let outcomes = b.outcomes(0);
    // rustc's diagnostics (Cargo's JSON messages, rendered by Cargo) are replayed on a hit.
    let (warn_a, warn_b) = (warnings(&build_a), warnings(&build_b));
    assert!(
        warn_a
            .iter()
            .any(|l| l.contains("unused variable: `unused_on_purpose`")),
        "{warn_a:?}"
    );
    assert!(
        warn_a.iter().any(|l| l.contains("--> wscore/src/lib.rs:")),
        "{warn_a:?}"
    );
    assert_eq!(warn_a, warn_b);
    // Every rustc invocation that compiles a crate (none is incremental here) hits.
    assert_eq!(b.count(0, "hit"), misses_a, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| o == "hit"),
        "only hits in B: {outcomes:?}"
    );
    // The same bytes: the proc-macro's HashMap order (random per process) came from A's compile.
    let (art_a, art_b) = (artifacts(&a), artifacts(&b));
    assert_eq!(
        art_a.keys().collect::<Vec<_>>(),
        art_b.keys().collect::<Vec<_>>()
    );
    for (k, v) in &art_a {
        assert!(&art_b[k] == v, "{k} differs between A and B");
    }
    assert!(art_a.keys().any(|k| k.ends_with(".rlib")));
    assert!(art_a
        .keys()
        .any(|k| k.starts_with("deps/libcdy") && k.ends_with(".so")));
    assert!(art_a.keys().any(|k| k.starts_with("deps/libhashmac")));
    let results = test_results(&tests_a);
    assert!(
        results
            .iter()
            .any(|l| l.contains("test tests::positions ... ok")),
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .any(|l| l.contains("probe_saw_this_rustc ... ok")),
        "{results:?}"
    );
    assert_eq!(results, test_results(&tests_b));
    // The binary built from cached artifacts runs, and the dep-info names B's files.
    let app = run(&mut Command::new(b.target().join("debug/app")));
    assert_eq!(String::from_utf8_lossy(&app.stdout), "answer 10\n");
    // gdb maps the artifacts' path tokens to B's tree with the launcher's gdbinit.
    let gdb = run(Command::new(support::require_tool("gdb", "gdb"))
        .current_dir(space.path())
        .arg("-batch")
        .arg("-x")
        .arg(b.target().join(".cached-ninja/gdbinit"))
        .args(["-ex", "list wscore::answer", "-ex", "info source"])
        .arg(b.target().join("debug/app")));
    let gdb = String::from_utf8_lossy(&gdb.stdout);
    assert!(
        gdb.contains(&format!("Located in {}/wscore/src/lib.rs", b.dir.display()))
            && gdb.contains("unused_on_purpose"),
        "{gdb}"
    );
    let dep = std::fs::read_to_string(dep_info(&b, "wscore")).unwrap();
    assert!(dep.contains(&b.dir.display().to_string()), "{dep}");
    assert!(!dep.contains(&a.dir.display().to_string()), "{dep}");
    assert!(!dep.contains('\u{1}'), "{dep}");
}

/// The dep-info file of a crate in the workspace's `deps`.
fn dep_info(ws: &Workspace, krate: &str) -> PathBuf {
    std::fs::read_dir(ws.target().join("debug/deps"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{krate}-")) && n.ends_with(".d")
        })
        .unwrap_or_else(|| panic!("no dep-info of {krate}"))
}

/// Appends `text` to a file of the workspace.
fn append(ws: &Workspace, rel: &str, text: &str) {
    let p: &Path = &ws.dir.join(rel);
    let mut s = std::fs::read_to_string(p).unwrap();
    s.push_str(text);
    std::fs::write(p, s).unwrap();
}

#[test]
fn a_change_recompiles_exactly_its_dependents() {
    let space = TestSpace::new();
    let ws = Workspace::new(&space, "ws");
    ws.cargo(&["build"], false);
    let lines = ws.outcomes(0).len();

    // A library change: the crates downstream of it compile (misses, never a stale hit).
    append(
        &ws,
        "probe/src/lib.rs",
        "\n/// New.\npub fn added() -> u32 { 7 }\n",
    );
    let out = ws.cargo(&["build"], false);
    assert_eq!(compiled(&out), ["app", "cdy", "probe", "wscore"]);
    assert_eq!(ws.count(lines, "miss"), 4, "{:?}", ws.outcomes(lines));
    assert_eq!(ws.count(lines, "hit"), 0, "{:?}", ws.outcomes(lines));
    let lines = ws.outcomes(0).len();

    // A proc-macro change invalidates its dependents.
    let p = ws.dir.join("hashmac/src/lib.rs");
    let original = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, original.replace("_ => None", "_ => None::<usize>")).unwrap();
    let out = ws.cargo(&["build"], false);
    assert_eq!(compiled(&out), ["app", "cdy", "hashmac", "wscore"]);
    assert_eq!(ws.count(lines, "miss"), 4, "{:?}", ws.outcomes(lines));
    assert_eq!(ws.count(lines, "hit"), 0, "{:?}", ws.outcomes(lines));
    let lines = ws.outcomes(0).len();

    // Back to the first version: the same crates again, each from the cache.
    std::fs::write(&p, original).unwrap();
    let out = ws.cargo(&["build"], false);
    assert_eq!(compiled(&out), ["app", "cdy", "hashmac", "wscore"]);
    assert_eq!(ws.count(lines, "hit"), 4, "{:?}", ws.outcomes(lines));
    let app = run(&mut Command::new(ws.target().join("debug/app")));
    assert_eq!(String::from_utf8_lossy(&app.stdout), "answer 10\n");
    let lines = ws.outcomes(0).len();

    // A change to the C of the -sys crate: its rlib bundles another library while its Rust
    // metadata stays the same, so wscore may hit, but every crate that links it must not (the
    // crates a link loads are part of its key): the binary runs the new C.
    let c = ws.dir.join("cfoo-sys/c/foo.c");
    std::fs::write(&c, "int cfoo_triple(int x) { return 4 * x; }\n").unwrap();
    ws.cargo(&["build"], false);
    let app = run(&mut Command::new(ws.target().join("debug/app")));
    assert_eq!(String::from_utf8_lossy(&app.stdout), "answer 13\n");
    // cfoo_sys, app and cdy compile; wscore (metadata unchanged) is served.
    assert_eq!(ws.count(lines, "miss"), 3, "{:?}", ws.outcomes(lines));
}

#[test]
fn incremental_compiles_run_as_they_are_and_are_counted() {
    let space = TestSpace::new();
    let ws = Workspace::new(&space, "ws");
    let out = ws.cargo(&["build"], true);
    // Cargo compiles the workspace's members (six crates, two build scripts) incrementally;
    // the registry's crates (cc and its two dependencies) are not.
    assert_eq!(
        ws.count(0, "uncacheable incremental"),
        8,
        "{:?}",
        ws.outcomes(0)
    );
    assert_eq!(ws.count(0, "miss"), 3, "{:?}", ws.outcomes(0));
    assert!(ws.target().join("debug/incremental").is_dir());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Finished"));
}

/// A policy rule at the workspace root keeps a crate out of the cache: its rustc runs as it is
/// (like a Ninja edge `generate` left alone: not counted, no entry), the others are cached.
#[test]
fn a_policy_rule_keeps_a_crate_out_of_the_cache() {
    let space = TestSpace::new();
    let a = Workspace::new(&space, "a/ws");
    let b = Workspace::new(&space, "b/ws");
    let rule = "[[rule]]\nglob = \"**/libcdy.so\"\ncache = false\n";
    for ws in [&a, &b] {
        std::fs::write(ws.dir.join("cached-ninja.toml"), rule).unwrap();
    }
    a.cargo(&["build"], false);
    // 11 compiles for the build (3 registry crates, 2 build scripts, 6 crates), less `cdy`.
    assert_eq!(a.count(0, "miss"), 10, "{:?}", a.outcomes(0));
    assert_eq!(a.outcomes(0).len(), 10, "{:?}", a.outcomes(0));
    let edges = |ws: &Workspace| {
        std::fs::read_to_string(ws.target().join(".cached-ninja/edges")).unwrap_or_default()
    };
    assert!(!edges(&a).contains("libcdy"), "{}", edges(&a));
    assert!(edges(&a).contains("libwscore"), "{}", edges(&a));
    b.cargo(&["build"], false);
    assert_eq!(b.count(0, "hit"), 10, "{:?}", b.outcomes(0));
    assert_eq!(b.outcomes(0).len(), 10, "{:?}", b.outcomes(0));
    assert!(!edges(&b).contains("libcdy"), "{}", edges(&b));
    let cdylib = std::fs::read_dir(b.target().join("debug/deps"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("libcdy") && n.ends_with(".so")
        });
    assert!(cdylib, "cdy was built in B");

    // A policy that cannot be read: a warning, and every crate cached (`cdy` for the first
    // time: the one miss).
    let c = Workspace::new(&space, "c/ws");
    std::fs::write(c.dir.join("cached-ninja.toml"), "[[rule]\n").unwrap();
    let out = c.cargo(&["build"], false);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("invalid policy file").count(), 1, "{err}");
    assert_eq!(c.count(0, "hit"), 10, "{:?}", c.outcomes(0));
    assert_eq!(c.count(0, "miss"), 1, "{:?}", c.outcomes(0));
    assert!(edges(&c).contains("libcdy.so"), "{}", edges(&c));
}

/// The `.dwo` and `.dwp` files below `target/debug`: relative path → bytes.
fn split_debug_files(ws: &Workspace) -> std::collections::BTreeMap<String, Vec<u8>> {
    let debug = ws.target().join("debug");
    let mut m = std::collections::BTreeMap::new();
    let mut stack = vec![debug.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "dwo" || x == "dwp") {
                let rel = p.strip_prefix(&debug).unwrap().display().to_string();
                m.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    m
}

/// `-C split-debuginfo=packed` and `unpacked` (Cargo's `split-debuginfo` profile setting): the
/// `.dwp` beside each linked artifact and the `.dwo` per codegen unit come from the cache at
/// another path, byte for byte; with `packed`, gdb stops in the crate and prints its locals
/// from the cached `.dwp`.
#[test]
fn split_debuginfo_is_cached_packed_and_unpacked() {
    let space = TestSpace::new();
    for mode in ["packed", "unpacked"] {
        let ws = |rel: &str| {
            let mut w = Workspace::new(&space, &format!("{mode}/{rel}"));
            w.cache = space.path().join(format!("cache-{mode}"));
            w.env = vec![(
                "CARGO_PROFILE_DEV_SPLIT_DEBUGINFO".to_string(),
                mode.to_string(),
            )];
            w
        };
        let (a, b) = (ws("a/ws"), ws("elsewhere/b/ws"));
        a.cargo(&["build"], false);
        assert_eq!(a.count(0, "miss"), 11, "{mode}: {:?}", a.outcomes(0));
        b.cargo(&["build"], false);
        assert_eq!(b.count(0, "hit"), 11, "{mode}: {:?}", b.outcomes(0));
        assert_eq!(b.outcomes(0).len(), 11, "{mode}: {:?}", b.outcomes(0));
        let (da, db) = (split_debug_files(&a), split_debug_files(&b));
        let ext = if mode == "packed" { ".dwp" } else { ".dwo" };
        assert!(
            da.keys()
                .any(|k| k.starts_with("deps/app-") && k.ends_with(ext)),
            "{mode}: {:?}",
            da.keys()
        );
        assert_eq!(
            da.keys().collect::<Vec<_>>(),
            db.keys().collect::<Vec<_>>(),
            "{mode}"
        );
        for (k, v) in &da {
            assert!(&db[k] == v, "{mode}: {k} differs between A and B");
        }
        if mode == "packed" {
            let gdb = run(Command::new(support::require_tool("gdb", "gdb"))
                .current_dir(space.path())
                .arg("-batch")
                .arg("-x")
                .arg(b.target().join(".cached-ninja/gdbinit"))
                .args(["-ex", "break wscore::answer", "-ex", "run"])
                .args(["-ex", "next", "-ex", "next", "-ex", "info locals"])
                .arg(b.target().join("debug/app")));
            let text = String::from_utf8_lossy(&gdb.stdout);
            assert!(
                text.contains("pos = 3") && text.contains("unused_on_purpose = 1"),
                "{text}"
            );
        }
    }
}
