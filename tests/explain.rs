//! `cached-ninja explain OUTPUT` (issues 13 and 15) on real builds: CMake, Ninja and gcc.
//! A local hit; CI's object pulled from a `file://` store by a developer's build; a miss with a
//! changed header (named, against CI's record and against the previous local object); a miss
//! with a changed flag (the argument named); an uncacheable edge (its reason named); and the
//! errors for an output that is no compile edge, or that nothing built.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{cached_ninja, git, key_file, run, run_ok, TestSpace};

const A_C: &str = "#include \"a.h\"\nint helper(int x);\nint main(void) { return helper(A_VALUE) - 42 + LEVEL; }\n";
const B_C: &str = "#include \"b.h\"\nint helper(int x) { return x + B_STEP; }\n";
const A_H: &str = "#define A_VALUE 41\n";
/// `inc2/b.h`: `inc1` is searched first, so an `inc1/b.h` shadows it.
const B_H: &str = "#define B_STEP 1\n";
const OBJ_A: &str = "CMakeFiles/two.dir/a.c.o";
const OBJ_B: &str = "CMakeFiles/two.dir/b.c.o";
const OBJ_C: &str = "CMakeFiles/two.dir/c.c.o";

/// The CMake project with `LEVEL` defined as `level`.
fn cmake(level: u32) -> String {
    format!(
        "cmake_minimum_required(VERSION 3.13)\nproject(two C)\nadd_executable(two a.c b.c c.c)\ntarget_include_directories(two PRIVATE inc1 inc2)\ntarget_compile_definitions(two PRIVATE LEVEL={level})\n"
    )
}

/// The two-file program at `src`.
fn write_sources(src: &Path) {
    std::fs::create_dir_all(src.join("inc1")).unwrap();
    std::fs::create_dir_all(src.join("inc2")).unwrap();
    for (name, text) in [
        ("a.c", A_C),
        ("b.c", B_C),
        ("a.h", A_H),
        ("inc2/b.h", B_H),
        ("c.c", "int third(void) { return 3; }\n"),
    ] {
        std::fs::write(src.join(name), text).unwrap();
    }
    std::fs::write(src.join("CMakeLists.txt"), cmake(0)).unwrap();
}

/// `cached-ninja` with its own cache.
fn cn(cache: &Path) -> Command {
    let mut c = Command::new(cached_ninja());
    c.env("CACHED_NINJA_CACHE_DIR", cache);
    c
}

fn configure(src: &Path, obj: &Path, cache: &Path) {
    support::cmake_configure(&mut cn(cache), src, obj, &[]);
}

fn build(obj: &Path, cache: &Path) -> Output {
    run_ok(cn(cache).args(["build", "--no-fill", "-C"]).arg(obj))
}

/// `cached-ninja explain --json -C obj output`.
fn explain_json(obj: &Path, cache: &Path, output: &str) -> Value {
    let out = run_ok(
        cn(cache)
            .args(["explain", "--json", "-C"])
            .arg(obj)
            .arg(output),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `cached-ninja explain -C obj output`, its text.
fn explain_text(obj: &Path, cache: &Path, output: &str) -> String {
    let out = run_ok(cn(cache).args(["explain", "-C"]).arg(obj).arg(output));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The difference `explain` names for a compile (`e`'s outcome `miss`), checked to be compared
/// with a record of `kind` (`ci`, `local`) and to be in `key`'s preimage (`source`, `action`)
/// at `field`.
fn difference<'a>(e: &'a Value, kind: &str, key: &str, field: &str) -> &'a Value {
    assert_eq!(e["outcome"], "miss", "{e}");
    assert_eq!(e["compared_with"]["kind"], kind, "{e}");
    let d = &e["difference"];
    assert_eq!(
        (d["key"].as_str(), d["field"].as_str()),
        (Some(key), Some(field)),
        "{e}"
    );
    d
}

#[test]
fn local_hit_changed_header_changed_flag_uncacheable_and_errors() {
    let space = TestSpace::new();
    let (src, obj, cache) = (
        space.path().join("src"),
        space.path().join("obj"),
        space.path().join("cache"),
    );
    write_sources(&src);
    configure(&src, &obj, &cache);
    build(&obj, &cache);
    let first = explain_json(&obj, &cache, OBJ_A);
    assert_eq!(first["outcome"], "miss", "{first}");
    assert_eq!(first["origin"], "compiled", "{first}");
    assert!(
        first["note"].as_str().unwrap().contains("no record"),
        "{first}"
    );

    // A local hit: the object removed, the edge runs again and hits. The absolute path works.
    std::fs::remove_file(obj.join(OBJ_A)).unwrap();
    build(&obj, &cache);
    let abs = obj.join(OBJ_A).display().to_string();
    let hit = explain_json(&obj, &cache, &abs);
    assert_eq!(hit["outcome"], "hit", "{hit}");
    assert!(
        hit["origin"].as_str().unwrap().starts_with("local hit"),
        "{hit}"
    );
    assert_eq!(hit["source_key"], first["source_key"], "{hit}");
    assert_eq!(hit["action_key"], first["action_key"], "{hit}");

    // A changed header: a miss, and the header is named against the previous object.
    std::fs::write(src.join("a.h"), "#define A_VALUE 40\n").unwrap();
    build(&obj, &cache);
    let header = explain_json(&obj, &cache, OBJ_A);
    let d = difference(&header, "local", "action", "include");
    assert_eq!(
        header["compared_with"]["action_key"], first["action_key"],
        "{header}"
    );
    assert_eq!(d["name"], "@src/a.h", "{header}");
    assert_ne!(d["before"], d["after"], "{header}");
    let text = explain_text(&obj, &cache, OBJ_A);
    assert!(
        text.contains("header \"@src/a.h\" has other content"),
        "{text}"
    );
    // b.c's edge did not run: its last launch is still the first build's.
    assert_eq!(explain_json(&obj, &cache, OBJ_B)["outcome"], "miss");

    // A changed flag: CMake regenerates, both edges compile, the argument is named.
    std::fs::write(src.join("CMakeLists.txt"), cmake(1)).unwrap();
    build(&obj, &cache);
    let flag = explain_json(&obj, &cache, OBJ_B);
    let d = difference(&flag, "local", "source", "arg");
    assert_eq!(
        (d["before"].as_str(), d["after"].as_str()),
        (Some("-DLEVEL=0"), Some("-DLEVEL=1")),
        "{flag}"
    );
    let text = explain_text(&obj, &cache, OBJ_B);
    assert!(
        text.contains("argument \"-DLEVEL=0\" is now \"-DLEVEL=1\""),
        "{text}"
    );

    // The lookup rule (issue 13): a new header where the preprocessor looks first refuses the
    // entry; explain names the rule and the header read now.
    std::fs::remove_file(obj.join(OBJ_B)).unwrap();
    std::fs::write(src.join("inc1/b.h"), "#define B_STEP 3\n").unwrap();
    build(&obj, &cache);
    let shadowed = explain_json(&obj, &cache, OBJ_B);
    assert_eq!(shadowed["problems"][0]["name"], "shadowed", "{shadowed}");
    let d = difference(&shadowed, "local", "action", "include");
    assert_eq!(d["name"], "@src/inc1/b.h", "{shadowed}");
    assert_eq!(d["before"], Value::Null, "{shadowed}");
    let text = explain_text(&obj, &cache, OBJ_B);
    assert!(
        text.contains("problem:     shadowed (the lookup rule refused"),
        "{text}"
    );

    // An uncacheable edge names its reason.
    std::fs::write(
        src.join("b.c"),
        "#include \"b.h\"\nconst char *built = __DATE__;\nint helper(int x) { return x + B_STEP; }\n",
    )
    .unwrap();
    build(&obj, &cache);
    let unc = explain_json(&obj, &cache, OBJ_B);
    assert_eq!(unc["outcome"], "uncacheable", "{unc}");
    assert_eq!(unc["reason"]["name"], "date-time", "{unc}");
    let text = explain_text(&obj, &cache, OBJ_B);
    assert!(text.contains("uncacheable: date-time (__DATE__"), "{text}");

    // Errors name the output and say what to do.
    let link = run(cn(&cache).args(["explain", "-C"]).arg(&obj).arg("two"));
    let err = String::from_utf8_lossy(&link.stderr);
    assert!(!link.status.success());
    assert!(err.contains("`two` is not a compile edge"), "{err}");
    let none = run(cn(&cache)
        .args(["explain", "-C"])
        .arg(&obj)
        .arg("nothing.o"));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(!none.status.success());
    assert!(err.contains("`nothing.o` is not an output of"), "{err}");
    assert!(err.contains("build.ninja"), "{err}");
}

/// The policy a developer uses: CI's `file://` store and its publisher key.
fn developer_policy(store: &Path, public: &str) -> String {
    format!(
        "[[store]]\nurl = \"file://{}\"\n[trust]\npublishers = [\"{public}\"]\n",
        store.display()
    )
}

/// CI's build at `root/ci`, published to the file store `root/store`.
struct Ci {
    src: PathBuf,
    store: PathBuf,
    public: String,
    rev: String,
}

/// CI builds its commit and publishes it to a file store.
fn publish_ci(root: &Path) -> Ci {
    let ci_src = root.join("ci/src");
    write_sources(&ci_src);
    git(&ci_src, &["init", "-q"]);
    git(&ci_src, &["add", "-A"]);
    git(&ci_src, &["commit", "-qm", "ci"]);
    let rev = git(&ci_src, &["rev-parse", "HEAD"]);
    let (ci_obj, ci_cache) = (root.join("ci/obj"), root.join("ci/cache"));
    configure(&ci_src, &ci_obj, &ci_cache);
    let (key, public) = key_file(root, "ci.key");
    let store = root.join("store");
    run_ok(
        cn(&ci_cache)
            .args(["build", "--no-fetch", "--publish", "--store"])
            .arg(format!("file://{}", store.display()))
            .arg("--key")
            .arg(&key)
            .arg("-C")
            .arg(&ci_obj),
    );
    Ci {
        src: ci_src,
        store,
        public,
        rev,
    }
}

/// A clone of CI's sources at `dev_src`, with one more commit made by `change`.
fn clone_ci(ci: &Ci, dev_src: &Path, change: impl FnOnce(&Path)) {
    git(
        dev_src.parent().unwrap(),
        &[
            "clone",
            "-q",
            &ci.src.display().to_string(),
            &dev_src.display().to_string(),
        ],
    );
    change(dev_src);
    std::fs::write(dev_src.join("NOTES"), "local work\n").unwrap();
    git(dev_src, &["add", "-A"]);
    git(dev_src, &["commit", "-qm", "local"]);
}

#[test]
fn pulled_object_and_a_miss_against_cis_record() {
    let space = TestSpace::new();
    let root = space.path();
    let ci = publish_ci(root);
    let (store, public, rev) = (&ci.store, &ci.public, &ci.rev);

    // A developer at another path, one commit ahead that changes b.h and c.c's flags, with an
    // empty cache.
    let dev_src = root.join("dev/src");
    std::fs::create_dir_all(root.join("dev")).unwrap();
    clone_ci(&ci, &dev_src, |src| {
        std::fs::write(src.join("inc2/b.h"), "#define B_STEP 2\n").unwrap();
        let mut cmake_text = cmake(0);
        cmake_text
            .push_str("set_source_files_properties(c.c PROPERTIES COMPILE_DEFINITIONS EXTRA=1)\n");
        std::fs::write(src.join("CMakeLists.txt"), cmake_text).unwrap();
    });
    let (obj, cache) = (root.join("dev/obj"), root.join("dev/cache"));
    configure(&dev_src, &obj, &cache);
    std::fs::write(
        obj.join("cached-ninja.toml"),
        developer_policy(store, public),
    )
    .unwrap();
    let out = build(&obj, &cache);
    let err = String::from_utf8_lossy(&out.stderr);
    // The policy was written after `configure`: the build's first line says so; then the
    // ancestor.
    let mut lines = err.lines();
    assert!(
        lines.next().is_some_and(|l| l.contains("changed since")),
        "{err}"
    );
    assert!(
        lines.next().is_some_and(|l| l.starts_with("ancestor ")),
        "{err}"
    );

    // a.c: CI's object, pulled (or waited for).
    let a = explain_json(&obj, &cache, OBJ_A);
    assert_eq!(a["outcome"], "hit", "{a}\n{err}");
    let origin = a["origin"].as_str().unwrap();
    assert!(
        origin.contains(&format!("CI's object (revision {rev})")),
        "{a}"
    );
    assert!(
        origin.starts_with("hit: CI's object") || origin.starts_with("waited "),
        "{a}"
    );
    // b.c: compiled; compared with CI's record, the changed header is named.
    let b = explain_json(&obj, &cache, OBJ_B);
    let d = difference(&b, "ci", "action", "include");
    assert_eq!(b["source_key"], b["compared_with"]["source_key"], "{b}");
    assert_eq!(d["name"], "@src/inc2/b.h", "{b}");
    let text = explain_text(&obj, &cache, OBJ_B);
    assert!(
        text.contains(&format!("CI's build of revision {rev}")),
        "{text}"
    );
    assert!(
        text.contains("header \"@src/inc2/b.h\" has other content"),
        "{text}"
    );
    // c.c: compiled; its source key differs from CI's, and CI's published preimage names the
    // argument the developer added.
    let c = explain_json(&obj, &cache, OBJ_C);
    let d = difference(&c, "ci", "source", "arg");
    assert_ne!(c["source_key"], c["compared_with"]["source_key"], "{c}");
    assert_eq!(
        (d["before"].as_str(), d["after"].as_str()),
        (None, Some("-DEXTRA=1")),
        "{c}"
    );
    let text = explain_text(&obj, &cache, OBJ_C);
    assert!(text.contains("argument \"-DEXTRA=1\" was added"), "{text}");
}

/// CI publishes; a developer's unchanged clone builds with the store paced to `bandwidth` and
/// launchers waiting up to `wait_ms` for the pull: CI's build, the developer's object
/// directory and cache, and the build's standard error. The pull prefetches nothing
/// (`prefetch = "none"`): each launcher asks for its key and waits its whole budget, whatever
/// the queue would predict, so the waits these tests explain happen every time.
fn paced_developer_build(
    root: &Path,
    bandwidth: &str,
    wait_ms: u64,
) -> (Ci, PathBuf, PathBuf, String) {
    let ci = publish_ci(root);
    let dev_src = root.join("dev/src");
    std::fs::create_dir_all(root.join("dev")).unwrap();
    clone_ci(&ci, &dev_src, |_| {});
    let (obj, cache) = (root.join("dev/obj"), root.join("dev/cache"));
    configure(&dev_src, &obj, &cache);
    let policy = format!(
        "{}[fetch]\nbandwidth = \"{bandwidth}\"\nslow_rate = \"1\"\nwait_ms = {wait_ms}\nprefetch = \"none\"\n",
        developer_policy(&ci.store, &ci.public)
    );
    std::fs::write(obj.join("cached-ninja.toml"), policy).unwrap();
    let out = build(&obj, &cache);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (ci, obj, cache, err)
}

/// A pull slower than the launchers (the store paced to 2 KB/s): they ask for their keys and
/// wait, and explain says how long before the hit.
#[test]
fn a_launcher_that_waited_for_the_pull_says_so() {
    let space = TestSpace::new();
    let (ci, obj, cache, err) = paced_developer_build(space.path(), "2K", 60_000);
    let mut waited = 0;
    for o in [OBJ_A, OBJ_B, OBJ_C] {
        let e = explain_json(&obj, &cache, o);
        assert_eq!(e["outcome"], "hit", "{e}\n{err}");
        let origin = e["origin"].as_str().unwrap();
        assert!(
            origin.contains(&format!("CI's object (revision {})", ci.rev)),
            "{e}"
        );
        if e["waited_ms"].as_u64().unwrap() > 0 {
            let ms = e["waited_ms"].as_u64().unwrap();
            assert!(
                origin.starts_with(&format!("waited {ms} ms for the pull, then hit")),
                "{e}"
            );
            waited += 1;
        }
    }
    assert!(waited > 0, "no launcher waited for the 2 KB/s pull\n{err}");
}

/// A launcher that asked the running pull for its object (the edge log's `wanted` note) is
/// said to have asked, in the JSON and in the text; one that did not ask is not.
#[test]
fn a_launcher_that_asked_the_pull_says_so() {
    let space = TestSpace::new();
    let (_ci, obj, cache, err) = paced_developer_build(space.path(), "2K", 60_000);
    let log = support::edge_log(&obj);
    let mut asked = 0;
    for o in [OBJ_A, OBJ_B, OBJ_C] {
        // `<outcome> <source key> <action key> <waited ms> <notes,…|-> <output>`
        let line = log
            .lines()
            .rev()
            .find(|l| l.split_whitespace().last() == Some(o))
            .unwrap_or_else(|| panic!("no edge-log line for {o}\n{log}"));
        let notes = line.split_whitespace().nth(4).unwrap_or("-");
        let wanted = notes.split(',').any(|n| n == fetch::edge_log::WANTED);
        let e = explain_json(&obj, &cache, o);
        assert_eq!(e["asked_pull"].as_bool(), Some(wanted), "{e}\n{line}");
        let text = explain_text(&obj, &cache, o);
        assert_eq!(text.contains("asked the running pull"), wanted, "{text}");
        asked += usize::from(wanted);
    }
    assert!(asked > 0, "no launcher asked the 2 KB/s pull\n{log}\n{err}");
}

/// A pull far slower than the launchers' budget (the store paced to 1 KB/s, 100 ms of waiting):
/// they wait, give up and compile, and explain says so; the compile made CI's action key, so
/// no input differs from CI's record.
#[test]
fn a_launcher_that_gave_up_waiting_compiled_and_says_so() {
    let space = TestSpace::new();
    let (_ci, obj, cache, err) = paced_developer_build(space.path(), "1K", 100);
    let a = explain_json(&obj, &cache, OBJ_A);
    assert_eq!(a["outcome"], "miss", "{a}\n{err}");
    let ms = a["waited_ms"].as_u64().unwrap();
    assert!(ms >= 100, "{a}");
    assert_eq!(
        a["origin"],
        format!("compiled after waiting {ms} ms for the pull"),
        "{a}"
    );
    assert_eq!(a["compared_with"]["kind"], "ci", "{a}");
    assert_eq!(a["action_key"], a["compared_with"]["action_key"], "{a}");
    assert!(
        a["note"]
            .as_str()
            .unwrap()
            .starts_with("the same action key"),
        "{a}"
    );
}
