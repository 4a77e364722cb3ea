//! Objects first (issue 14, DESIGN §6): with split DWARF a developer's build downloads and
//! materialises only what the linker needs; the debug parts stay in the store until
//! `dbgfetch fill` brings them after the link. Checked from a real nginx's access log (every
//! request with its body size), with the program run and gdb reading the locals after the fill.
//! Also a hit whose debug blob is not in the local cache (no network): served, counted
//! `debug-deferred`, no fallback, and the fill then gets the part from the store.
//! clang `-gsplit-dwarf=single` (one file per compile): the developer downloads the stripped
//! objects only, links the binary CI linked from whole objects, and gdb (DWARF 4 package, and
//! DWARF 5 loose: the whole object written back, Ninja clean) and lldb read it after the fill.

mod support;

#[path = "dbgfetch/project.rs"]
#[allow(dead_code)] // shared with tests/dbgfetch.rs, which uses all of it
mod project;

use fetch::cache::Digest;
use project::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use support::servers::nginx::{conf, Nginx};
use support::{cached_ninja, copy_tree, git, key_file, require_tool, run_ok, TestSpace};

/// nginx with WebDAV PUT logging `$request_method $uri $status $body_bytes_sent`.
fn nginx() -> Nginx {
    Nginx::start_with(|dir, port| {
        conf(
            dir,
            "$request_method $uri $status $body_bytes_sent",
            &format!("listen 127.0.0.1:{port};"),
        )
    })
}

/// The access log's lines, as (method, uri, status, bytes sent).
fn requests(n: &Nginx) -> Vec<(String, String, u16, u64)> {
    let log = std::fs::read_to_string(n.dir().join("access.log")).unwrap_or_default();
    log.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// The two-file program's sources at `src` with `policy` as its `cached-ninja.toml`.
fn write_sources(src: &Path, policy: &str) {
    std::fs::create_dir_all(src).unwrap();
    std::fs::write(src.join("a.c"), A_C).unwrap();
    std::fs::write(src.join("b.c"), B_C).unwrap();
    std::fs::write(src.join("CMakeLists.txt"), CMAKE).unwrap();
    std::fs::write(src.join("cached-ninja.toml"), policy).unwrap();
}

/// `cached-ninja configure` of `src` into `obj` with `cache` (the policy is the source's).
fn configure(src: &Path, obj: &Path, cache: &Path) -> Project {
    require_tool("gcc", "gcc");
    configure_with(src, obj, cache, &Compiler::default())
}

/// The C compiler and its own flags a project is configured with (CMake's default: `cc`).
#[derive(Default)]
struct Compiler {
    /// `CMAKE_C_COMPILER`, when not the default.
    cc: Option<&'static str>,
    /// More `CMAKE_C_FLAGS`.
    flags: &'static str,
}

/// [`configure`] with `compiler`.
fn configure_with(src: &Path, obj: &Path, cache: &Path, compiler: &Compiler) -> Project {
    let p = Project {
        src: src.to_path_buf(),
        obj: obj.to_path_buf(),
        cache: cache.to_path_buf(),
    };
    // A flag naming the object directory (as CMake's include of a generated header would):
    // a key that took it for another path would differ from CI's.
    let flags = format!("-DCMAKE_C_FLAGS=-I{}/gen {}", obj.display(), compiler.flags);
    let mut args = vec![flags];
    if let Some(cc) = compiler.cc {
        args.push(format!("-DCMAKE_C_COMPILER={cc}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    support::cmake_configure(&mut p.cn(), src, obj, &args);
    p
}

/// The store URIs (`/cn/cas/<hex>`) of the `.dwo` files under `obj`.
fn dwo_uris(obj: &Path) -> BTreeSet<String> {
    files_named(obj, ".dwo")
        .iter()
        .map(|f| {
            format!(
                "/cn/cas/{}",
                Digest::of(&std::fs::read(f).unwrap()).to_hex()
            )
        })
        .collect()
}

/// CI's commit of the two-file program in `space/ci`, built and published to `n` by a policy
/// that names the store and trusts CI's new key (no `split_dwarf` line: a policy that names a
/// store splits DWARF by default).
fn ci_publishes(space: &TestSpace, n: &Nginx) -> Project {
    require_tool("gcc", "gcc");
    ci_publishes_with(space, n, "", &Compiler::default())
}

/// [`ci_publishes`] with `more` policy text and `compiler`.
fn ci_publishes_with(space: &TestSpace, n: &Nginx, more: &str, compiler: &Compiler) -> Project {
    let (key, public) = key_file(space.path(), "ci.key");
    let policy = format!(
        "[[store]]\nurl = \"{}\"\nwrite = true\n[trust]\npublishers = [\"{public}\"]\n[publish]\nkey = \"{}\"\n{more}",
        n.url("cn"),
        key.display()
    );
    let ci_src = space.path().join("ci/src");
    write_sources(&ci_src, &policy);
    git(&ci_src, &["init", "-q"]);
    git(&ci_src, &["add", "-A"]);
    git(&ci_src, &["commit", "-qm", "ci"]);
    let ci = configure_with(
        &ci_src,
        &space.path().join("ci/obj"),
        &space.path().join("ci/cache"),
        compiler,
    );
    let out = run_ok(ci.cn().args(["build", "--publish", "-C"]).arg(&ci.obj));
    // CI's first build finds nothing published from its one-commit history: a note, no
    // warning (it used to say "warning: no build manifest … (up to 0 commits back)").
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("warning"), "{err}");
    assert!(
        err.contains("nothing published for configuration `default` from this history yet"),
        "{err}"
    );
    ci
}

#[test]
fn a_developer_build_downloads_no_debug_part_and_the_fill_brings_them() {
    let space = TestSpace::new();
    let n = nginx();
    // CI: builds and publishes its commit.
    let ci = ci_publishes(&space, &n);
    let ci_src = ci.src.clone();
    let dwo = dwo_uris(&ci.obj);
    assert_eq!(dwo.len(), 2, "CI compiled with split DWARF by default");
    let published = requests(&n);
    for uri in &dwo {
        assert!(
            published.iter().any(|r| r.0 == "PUT" && &r.1 == uri),
            "CI uploads the debug parts too: {uri}\n{published:?}"
        );
    }

    // A developer at another path, one commit ahead, with an empty cache.
    let dev_src = space.path().join("dev/src");
    git(
        space.path(),
        &[
            "clone",
            "-q",
            &ci_src.display().to_string(),
            &dev_src.display().to_string(),
        ],
    );
    std::fs::write(dev_src.join("NOTES"), "local work\n").unwrap();
    git(&dev_src, &["add", "NOTES"]);
    git(&dev_src, &["commit", "-qm", "local"]);
    let dev = configure(
        &dev_src,
        &space.path().join("dev/obj"),
        &space.path().join("dev/cache"),
    );
    let out = run_ok(dev.cn().args(["build", "--no-fill", "-C"]).arg(&dev.obj));
    let build_log = requests(&n)[published.len()..].to_vec();
    let gets: Vec<&String> = build_log
        .iter()
        .filter(|r| r.0 == "GET")
        .map(|r| &r.1)
        .collect();
    assert!(
        gets.iter().any(|u| u.starts_with("/cn/cas/")),
        "the build pulled objects: {gets:?}\n{}",
        text(&out)
    );
    for uri in &dwo {
        assert!(
            !gets.contains(&uri),
            "a debug part was downloaded before the link: {uri}\n{gets:?}"
        );
    }
    let s = support::stats_json(&dev.obj);
    assert_eq!(
        (
            s["hits"].as_u64(),
            s["misses"].as_u64(),
            s["errors"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "{s}"
    );
    assert_eq!(s["debug_deferred"].as_u64(), Some(2), "{s}");
    assert!(files_named(&dev.obj, ".dwo").is_empty());
    let human = String::from_utf8_lossy(
        &run_ok(
            Command::new(cached_ninja())
                .args(["stats", "-C"])
                .arg(&dev.obj),
        )
        .stdout,
    )
    .into_owned();
    assert!(human.contains("debug-deferred 2"), "{human}");
    let ran = Command::new(dev.obj.join("two")).status().unwrap();
    assert!(ran.success(), "the program runs: {ran}");
    assert!(dev.gdb("two", "b.c:4").contains("No locals."));

    // The fill brings exactly the debug parts from the store.
    let before_fill = requests(&n).len();
    let out = dev.fill();
    assert!(out.status.success(), "{}", text(&out));
    let fill_log = requests(&n)[before_fill..].to_vec();
    for uri in &dwo {
        assert!(
            fill_log
                .iter()
                .any(|r| r.0 == "GET" && &r.1 == uri && r.2 == 200),
            "the fill fetched {uri}: {fill_log:?}"
        );
    }
    assert_filled(&dev, "two", "dwp", 2);
    assert_gdb_filled(&dev.gdb("two", "b.c:4"));
}

#[test]
fn a_hit_whose_debug_blob_is_not_here_serves_the_object_and_the_fill_gets_it_from_the_store() {
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let store = space.path().join("store");
    let (key, public) = key_file(space.path(), "ci.key");
    let policy = format!(
        "[[store]]\nurl = \"file://{}\"\nwrite = true\n[trust]\npublishers = [\"{public}\"]\n[publish]\nkey = \"{}\"\n",
        store.display(),
        key.display()
    );
    let a_src = space.path().join("a/src");
    write_sources(&a_src, &policy);
    let a = configure(&a_src, &space.path().join("a/obj"), &cache);
    run_ok(
        a.cn()
            .args(["build", "--no-fetch", "--publish", "--rev", "r1", "-C"])
            .arg(&a.obj),
    );
    // The debug blobs leave the local cache (as if pulled objects-only, or evicted).
    for dwo in files_named(&a.obj, ".dwo") {
        let bytes = std::fs::read(&dwo).unwrap();
        let blobs = cache_blobs_of(&cache, &bytes);
        assert_eq!(blobs.len(), 1, "{}", dwo.display());
        std::fs::remove_file(&blobs[0]).unwrap();
    }
    // A second tree at another path, same cache; a stale `.dwo` waits where b.c's goes.
    let b_src = space.path().join("b/src");
    copy_tree(&a_src, &b_src);
    let b = configure(&b_src, &space.path().join("b/obj"), &cache);
    let stale = b.obj.join("CMakeFiles/two.dir/b.c.dwo");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, b"an older compile's split units").unwrap();
    let out = run_ok(
        b.cn()
            .args(["build", "--no-fetch", "--no-fill", "-C"])
            .arg(&b.obj),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("warning"),
        "the expected path prints nothing:\n{err}"
    );
    let s = support::stats_json(&b.obj);
    assert_eq!(
        (
            s["hits"].as_u64(),
            s["misses"].as_u64(),
            s["errors"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "served, no fallback: {s}"
    );
    assert_eq!(s["debug_deferred"].as_u64(), Some(2), "{s}");
    assert!(
        !stale.exists(),
        "a .dwo that does not match the object is removed"
    );
    assert!(Command::new(b.obj.join("two")).status().unwrap().success());
    let out = b.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&b, "two", "dwp", 2);
    assert!(
        b.status("two")["fetched"].as_u64().unwrap() > 0,
        "from the store"
    );
    assert_gdb_filled(&b.gdb("two", "b.c:4"));
}

/// The store URI (`/cn/cas/<hex>`) of the object under `obj` whose name ends in `suffix`.
fn object_uri(obj: &Path, suffix: &str) -> String {
    let files = files_named(obj, suffix);
    assert_eq!(files.len(), 1, "{suffix}: {files:?}");
    let d = Digest::of(&std::fs::read(&files[0]).unwrap());
    format!("/cn/cas/{}", d.to_hex())
}

#[test]
fn the_object_of_a_source_changed_here_is_not_downloaded() {
    let space = TestSpace::new();
    let n = nginx();
    let ci = ci_publishes(&space, &n);
    let ci_src = ci.src.clone();
    let (a_o, b_o) = (object_uri(&ci.obj, "a.c.o"), object_uri(&ci.obj, "b.c.o"));
    let published = requests(&n).len();

    // A developer one commit ahead who changed b.c.
    let dev_src = space.path().join("dev/src");
    let (from, to) = (ci_src.display().to_string(), dev_src.display().to_string());
    git(space.path(), &["clone", "-q", &from, &to]);
    let b = B_C.replace("int step = 1;", "int step = 1; /* changed here */");
    std::fs::write(dev_src.join("b.c"), b).unwrap();
    git(&dev_src, &["commit", "-qam", "local"]);
    let dev = configure(
        &dev_src,
        &space.path().join("dev/obj"),
        &space.path().join("dev/cache"),
    );
    // `-C` relative to the working directory, as people type it: the launchers' keys (made
    // in the object directory) and the pull's "changed here" keys must agree.
    let out = run_ok(
        dev.cn()
            .current_dir(space.path().join("dev"))
            .args(["fetch", "-C", "obj"]),
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains("1 entries fetched")
            && err.contains("1 left out (their source, flags or compiler changed here)"),
        "{err}"
    );
    let gets: Vec<String> = requests(&n)[published..]
        .iter()
        .filter(|r| r.0 == "GET")
        .map(|r| r.1.clone())
        .collect();
    assert!(
        gets.contains(&a_o),
        "the unchanged source's object came: {gets:?}"
    );
    assert!(
        !gets.contains(&b_o),
        "the changed source's object came: {gets:?}"
    );
    assert!(
        !gets.iter().any(|u| u.starts_with("/cn/ac/")),
        "no action entry is asked for: {gets:?}"
    );
    // The build hits on a.c and compiles b.c; nothing more is downloaded.
    let before = requests(&n).len();
    run_ok(dev.cn().args(["build", "--no-fill", "-C"]).arg(&dev.obj));
    let s = support::stats_json(&dev.obj);
    assert_eq!(
        (s["hits"].as_u64(), s["misses"].as_u64()),
        (Some(1), Some(1)),
        "{s}"
    );
    let later: Vec<_> = requests(&n)[before..]
        .iter()
        .filter(|r| r.0 == "GET" && r.1.starts_with("/cn/cas/"))
        .cloned()
        .collect();
    assert!(
        later.is_empty(),
        "an object already here is not downloaded again: {later:?}"
    );
}

/// Whether an object holds split units (clang `=single` keeps them inside).
fn has_dwo_sections(object: &[u8]) -> bool {
    splitdwarf::split_unit_ids(object).is_ok_and(|ids| !ids.is_empty())
}

/// The store URIs (`/cn/cas/<hex>`) of the files at `paths`.
fn uris_of(paths: &[std::path::PathBuf]) -> BTreeSet<String> {
    paths
        .iter()
        .map(|f| {
            let d = Digest::of(&std::fs::read(f).unwrap());
            format!("/cn/cas/{}", d.to_hex())
        })
        .collect()
}

/// The blobs (`/cn/cas/…`) fetched whole from `n` since request `from`.
fn blobs_got(n: &Nginx, from: usize) -> BTreeSet<String> {
    requests(n)[from..]
        .iter()
        .filter(|r| r.0 == "GET" && r.1.starts_with("/cn/cas/") && r.2 == 200)
        .map(|r| r.1.clone())
        .collect()
}

/// A developer's clone of `ci_src` at another path, one commit ahead, configured with
/// `compiler` and an empty cache.
fn developer(space: &TestSpace, ci_src: &Path, compiler: &Compiler) -> Project {
    let dev_src = space.path().join("dev/src");
    let (from, to) = (ci_src.display().to_string(), dev_src.display().to_string());
    git(space.path(), &["clone", "-q", &from, &to]);
    std::fs::write(dev_src.join("NOTES"), "local work\n").unwrap();
    git(&dev_src, &["add", "NOTES"]);
    git(&dev_src, &["commit", "-qm", "local"]);
    configure_with(
        &dev_src,
        &space.path().join("dev/obj"),
        &space.path().join("dev/cache"),
        compiler,
    )
}

/// CI's and a developer's builds of the two-file program with clang `-gsplit-dwarf=single`.
struct SingleSplit {
    n: Nginx,
    ci: Project,
    dev: Project,
    /// The URIs of the developer's objects (all it downloaded before the fill).
    objects: BTreeSet<String>,
    // Last: the trees go after the server.
    _space: TestSpace,
}

/// CI compiles the two-file program with clang and `flags` (`-gsplit-dwarf=single …`) and
/// publishes it (`more`: policy text); a developer at another path with an empty cache builds
/// one commit ahead (`--no-fill`). Checks what the build downloaded and linked.
fn single_split_build(flags: &'static str, more: &str) -> SingleSplit {
    require_tool("clang", "clang");
    let space = TestSpace::new();
    let n = nginx();
    let compiler = Compiler {
        cc: Some("clang"),
        flags,
    };
    let ci = ci_publishes_with(&space, &n, more, &compiler);
    // CI compiled: its objects are the compiler's own, one file each, `.dwo` sections inside.
    let ci_objects = files_named(&ci.obj, ".c.o");
    assert_eq!(ci_objects.len(), 2, "{ci_objects:?}");
    for o in &ci_objects {
        assert!(has_dwo_sections(&std::fs::read(o).unwrap()), "{o:?}");
    }
    assert!(files_named(&ci.obj, ".dwo").is_empty(), "=single kept");
    let published = requests(&n).len();

    let dev = developer(&space, &ci.src, &compiler);
    let out = run_ok(dev.cn().args(["build", "--no-fill", "-C"]).arg(&dev.obj));
    let s = support::stats_json(&dev.obj);
    let counts = (
        s["hits"].as_u64(),
        s["misses"].as_u64(),
        s["errors"].as_u64(),
    );
    assert_eq!(counts, (Some(2), Some(0), Some(0)), "{s}\n{}", text(&out));
    assert_eq!(s["debug_deferred"].as_u64(), Some(2), "{s}");
    // Before the link finished, the build downloaded the stripped objects and nothing else.
    let dev_objects = files_named(&dev.obj, ".c.o");
    let objects = uris_of(&dev_objects);
    assert_eq!(blobs_got(&n, published), objects, "{:?}", requests(&n));
    let (mut stripped, mut whole) = (0, 0);
    for (d, c) in dev_objects.iter().zip(&ci_objects) {
        let (d, c) = (std::fs::read(d).unwrap(), std::fs::read(c).unwrap());
        assert!(!has_dwo_sections(&d), "a stripped object");
        stripped += d.len();
        whole += c.len();
    }
    assert!(stripped < whole, "{stripped} bytes downloaded of {whole}");
    // The link of stripped objects is the link of the compiler's own objects, byte for byte.
    assert_eq!(
        std::fs::read(dev.obj.join("two")).unwrap(),
        std::fs::read(ci.obj.join("two")).unwrap(),
        "the developer's binary differs from CI's"
    );
    assert!(Command::new(dev.obj.join("two"))
        .status()
        .unwrap()
        .success());
    SingleSplit {
        n,
        ci,
        dev,
        objects,
        _space: space,
    }
}

/// `dbgfetch fill --wait` of the developer's tree: succeeds, and downloads the two debug
/// bundles (no object again).
fn fill_fetches_the_bundles(b: &SingleSplit) {
    let before = requests(&b.n).len();
    let out = b.dev.fill();
    assert!(out.status.success(), "{}", text(&out));
    let got = blobs_got(&b.n, before);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.is_disjoint(&b.objects), "{got:?}");
}

#[test]
fn clang_single_split_objects_are_pulled_stripped_and_gdb_reads_a_dwarf4_package() {
    let b = single_split_build("-gsplit-dwarf=single -gdwarf-4", "");
    assert!(b.dev.gdb("two", "b.c:4").contains("No locals."));
    fill_fetches_the_bundles(&b);
    assert_filled(&b.dev, "two", "dwp", 2);
    dwarfdump_verifies(&b.dev.obj.join("two.dwp"));
    assert_gdb_filled(&b.dev.gdb("two", "b.c:4"));

    // An edit compiled here: the whole object stays on disk and is its own debug part.
    let edited = B_C.replace(
        "    return sum;",
        "    int extra = sum * 2;\n    return sum + extra - extra;",
    );
    std::fs::write(b.dev.src.join("b.c"), edited).unwrap();
    run_ok(
        b.dev
            .cn()
            .args(["build", "--no-fill", "-C"])
            .arg(&b.dev.obj),
    );
    let b_o = b.dev.obj.join("CMakeFiles/two.dir/b.c.o");
    assert!(has_dwo_sections(&std::fs::read(&b_o).unwrap()));
    let out = b.dev.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&b.dev, "two", "dwp", 2);
    let out = b.dev.gdb("two", "b.c:5");
    assert!(out.contains("extra = 84"), "the new local:\n{out}");

    // CI's own cache has the bundles: a hit there writes the compiler's whole object again.
    let objects = files_named(&b.ci.obj, ".c.o");
    let whole: Vec<Vec<u8>> = objects.iter().map(|o| std::fs::read(o).unwrap()).collect();
    for o in &objects {
        std::fs::remove_file(o).unwrap();
    }
    let args = ["build", "--no-fetch", "--no-fill", "-C"];
    run_ok(b.ci.cn().args(args).arg(&b.ci.obj));
    let s = support::stats_json(&b.ci.obj);
    assert_eq!(
        (s["hits"].as_u64(), s["debug_deferred"].as_u64()),
        (Some(2), Some(0)),
        "{s}"
    );
    for (o, w) in objects.iter().zip(&whole) {
        assert_eq!(&std::fs::read(o).unwrap(), w, "{o:?}");
    }
}

#[test]
fn clang_single_split_objects_are_pulled_stripped_and_lldb_reads_a_dwarf5_package() {
    let b = single_split_build(
        "-gsplit-dwarf=single -gdwarf-5",
        "[debug]\ndebugger = \"lldb\"\n",
    );
    assert!(!b.dev.lldb("two", "b.c", 4).contains("sum = 42"));
    fill_fetches_the_bundles(&b);
    assert_filled(&b.dev, "two", "dwp", 2);
    dwarfdump_verifies(&b.dev.obj.join("two.dwp"));
    assert_lldb_filled(&b.dev.lldb("two", "b.c", 4));
}

/// gdb with DWARF 5 gets loose files; a `=single` skeleton names its object as the `.dwo`,
/// so the fill writes the whole object back there, with its mtime: Ninja has nothing to do.
#[test]
fn clang_single_split_loose_files_are_the_whole_objects_and_ninja_stays_clean() {
    let b = single_split_build("-gsplit-dwarf=single -gdwarf-5", "");
    let objects = files_named(&b.dev.obj, ".c.o");
    let mtimes: Vec<_> = objects
        .iter()
        .map(|o| std::fs::metadata(o).unwrap().modified().unwrap())
        .collect();
    fill_fetches_the_bundles(&b);
    assert_filled(&b.dev, "two", "loose", 2);
    assert!(!b.dev.obj.join("two.dwp").exists());
    for (o, mtime) in objects.iter().zip(&mtimes) {
        let ci = b.ci.obj.join(o.strip_prefix(&b.dev.obj).unwrap());
        assert_eq!(
            std::fs::read(o).unwrap(),
            std::fs::read(ci).unwrap(),
            "the compiler's own object again: {o:?}"
        );
        assert_eq!(&std::fs::metadata(o).unwrap().modified().unwrap(), mtime);
    }
    let dry = run_ok(Command::new("ninja").arg("-n").arg("-C").arg(&b.dev.obj));
    assert!(text(&dry).contains("no work to do"), "{}", text(&dry));
    // The link command run again on the whole objects gives the binary linked from stripped
    // ones, byte for byte.
    let cmds = run_ok(
        Command::new("ninja")
            .args(["-t", "commands", "two"])
            .current_dir(&b.dev.obj),
    );
    let link = text(&cmds)
        .lines()
        .last()
        .unwrap()
        .replace(" -o two ", " -o two.whole ");
    assert!(link.contains("-o two.whole"), "{link}");
    run_ok(
        Command::new("sh")
            .args(["-c", &link])
            .current_dir(&b.dev.obj),
    );
    assert_eq!(
        std::fs::read(b.dev.obj.join("two.whole")).unwrap(),
        std::fs::read(b.dev.obj.join("two")).unwrap()
    );
    assert_gdb_filled(&b.dev.gdb("two", "b.c:4"));
}
