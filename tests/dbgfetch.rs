//! `dbgfetch`: the debug info filled in after a build with split DWARF (DESIGN §6), checked with
//! the real debuggers. Builds go through `cached-ninja configure`/`build` with `--no-fill`
//! (except the test of the background start), then the `.dwo` files beside the objects are
//! removed, as a build that pulled objects only would leave them, and `dbgfetch fill --wait`
//! puts the debug info back from the local cache (or from the disk where a `.dwo` is left).

mod support;

#[path = "dbgfetch/project.rs"]
mod project;

use project::*;
use std::process::Command;
use std::time::{Duration, Instant};
use support::{
    cached_ninja, copy_tree, hits_misses, repo_root, require_tool, run, run_ok, third_party_src,
    TestSpace,
};

#[test]
fn gdb_shows_locals_and_source_after_filling_a_dwarf4_package() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    p.build_objects_only();
    let before = p.gdb("two", "b.c:4");
    assert!(before.contains("No locals."), "before the fill:\n{before}");
    assert!(!before.contains("sum = 42"), "before the fill:\n{before}");

    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert!(p.obj.join("two.dwp").is_file());
    assert_filled(&p, "two", "dwp", 2);
    dwarfdump_verifies(&p.obj.join("two.dwp"));
    assert_gdb_filled(&p.gdb("two", "b.c:4"));
    // A second fill finds everything up to date and leaves the package alone.
    let mtime = std::fs::metadata(p.obj.join("two.dwp"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(p.fill().status.success());
    let again = std::fs::metadata(p.obj.join("two.dwp"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, again);
}

/// lldb after a fill for `debugger = "lldb"` with `policy`'s DWARF version.
fn lldb_after_fill(policy: &str) {
    let space = TestSpace::new();
    let policy = format!("{policy}[debug]\ndebugger = \"lldb\"\n");
    let p = Project::two_files(space.path(), &policy, &space.path().join("cache"));
    p.build_objects_only();
    let before = p.lldb("two", "b.c", 4);
    assert!(!before.contains("sum = 42"), "before the fill:\n{before}");
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    dwarfdump_verifies(&p.obj.join("two.dwp"));
    assert_lldb_filled(&p.lldb("two", "b.c", 4));
}

#[test]
fn lldb_shows_locals_with_a_dwarf5_package() {
    lldb_after_fill("dwarf = 5\n");
}

#[test]
fn lldb_shows_locals_with_a_dwarf4_package() {
    lldb_after_fill("");
}

#[test]
fn gdb_shows_locals_with_dwarf5_loose_files() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "dwarf = 5\n", &space.path().join("cache"));
    p.build_objects_only();
    // Measured (gdb 13.1): without the split units of a DWARF 5 binary gdb cannot even stop
    // at a line of it.
    let before = p.gdb("two", "b.c:4");
    assert!(
        before.contains("Could not find DWO CU"),
        "before the fill:\n{before}"
    );
    assert!(!before.contains("sum = 42"), "before the fill:\n{before}");
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "loose", 2);
    assert!(
        !p.obj.join("two.dwp").exists(),
        "gdb 13 crashes on DWARF 5 packages"
    );
    assert_eq!(files_named(&p.obj, ".dwo").len(), 2);
    assert_gdb_filled(&p.gdb("two", "b.c:4"));
}

#[test]
fn a_relink_after_an_edit_is_refilled() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    p.build_objects_only();
    assert!(p.fill().status.success());
    let edited = B_C.replace(
        "    return sum;",
        "    int extra = sum * 2;\n    return sum + extra - extra;",
    );
    std::fs::write(p.src.join("b.c"), edited).unwrap();
    p.build_objects_only();
    // The package is older than the relinked binary: the fill replaces it.
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    let out = p.gdb("two", "b.c:5");
    assert!(out.contains("extra = 84"), "the new local:\n{out}");
}

#[test]
fn a_missing_debug_part_is_reported_and_the_rest_works() {
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let p = Project::two_files(space.path(), "", &cache);
    run_ok(p.cn().args(["build", "--no-fill", "-C"]).arg(&p.obj));
    // b.c's debug part: gone from the disk and from the cache.
    let b_dwo = p.obj.join("CMakeFiles/two.dir/b.c.dwo");
    let bytes = std::fs::read(&b_dwo).unwrap();
    for blob in files_named(&cache.join("cas"), "") {
        if std::fs::read(&blob).is_ok_and(|b| b == bytes) {
            std::fs::remove_file(blob).unwrap();
        }
    }
    for dwo in files_named(&p.obj, ".dwo") {
        std::fs::remove_file(dwo).unwrap();
    }
    let out = p.fill();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = p.status("two");
    assert_eq!(s["state"], "partial", "{s}");
    assert_eq!(
        (s["filled"].as_u64(), s["units"].as_u64()),
        (Some(1), Some(2))
    );
    let missing = &s["missing"][0];
    assert_eq!(missing["name"], "CMakeFiles/two.dir/b.c.dwo", "{s}");
    assert!(missing["reason"].as_str().unwrap().contains("b.c.o"), "{s}");
    let human = text(&run_ok(
        Command::new(dbgfetch()).args(["status", "-C"]).arg(&p.obj),
    ));
    assert!(
        human.contains("partial") && human.contains("b.c.dwo"),
        "{human}"
    );
    // a.c's unit works.
    let out = p.gdb("two", "a.c:4");
    assert!(out.contains("answer = 41"), "{out}");
}

#[test]
fn a_fill_killed_and_started_again_leaves_a_correct_layout() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    p.build_objects_only();
    for delay_ms in [0, 2, 5, 10, 20, 40] {
        let mut child = Command::new(dbgfetch())
            .env("CACHED_NINJA_CACHE_DIR", &p.cache)
            .args(["fill", "--wait", "-C"])
            .arg(&p.obj)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Whatever the kill left, gdb never sees a package that is not whole.
        let dwp = p.obj.join("two.dwp");
        if dwp.exists() {
            dwarfdump_verifies(&dwp);
        }
    }
    // What a write killed before its rename leaves behind.
    std::fs::write(p.obj.join(".two.dwp.cn-tmp.999999.0.0"), b"partial").unwrap();
    std::fs::remove_file(p.obj.join("two.dwp")).ok();
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    assert!(files_named(&p.obj, ".0.0").is_empty(), "leftover removed");
    assert_gdb_filled(&p.gdb("two", "b.c:4"));
}

#[test]
fn a_fill_killed_after_a_relink_leaves_no_stale_package() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    p.build_objects_only();
    assert!(p.fill().status.success());
    let edited = B_C.replace(
        "    return sum;",
        "    int extra = sum * 2;\n    return extra / 2;",
    );
    std::fs::write(p.src.join("b.c"), edited).unwrap();
    p.build_objects_only();
    // The package of the old binary is still there until a fill runs; this one is killed while
    // it holds the new binary's parts, before it writes anything.
    assert!(p.obj.join("two.dwp").exists());
    let mut fill = stalled_fill(&p, 60_000);
    running_fill(&p);
    let start = Instant::now();
    while p.status("two")["state"] != "pending" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            p.status("two")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = fill.kill(); // SIGKILL
    let _ = fill.wait();
    assert!(
        !p.obj.join("two.dwp").exists(),
        "a stale package is never left"
    );
    assert_eq!(p.status("two")["state"], "pending");
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    let out = p.gdb("two", "b.c:5");
    assert!(out.contains("extra = 84"), "{out}");
}

#[test]
fn build_starts_the_fill_in_the_background() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    // The fill pauses 10 s before writing: the build's output pipes still end with the build,
    // and the build returns while the binary is still unfilled.
    let out = run_ok(
        p.cn()
            .env("DBGFETCH_TEST_STALL_MS", "10000")
            .args(["build", "-C"])
            .arg(&p.obj),
    );
    assert_ne!(
        p.status("two")["state"],
        "filled",
        "the build waited for the fill"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dbgfetch: filling debug info in the background")
            && err.contains("dbgfetch status"),
        "{err}"
    );
    // Detached at the lowest CPU priority: its own session, nice 19.
    let pid = running_fill(&p);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap().split(' ').collect();
    assert_eq!(fields[3], pid.to_string(), "session leader: {stat}");
    assert_eq!(fields[16], "19", "nice: {stat}");
    let start = Instant::now();
    while p.status("two")["state"] != "filled" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{}",
            p.status("two")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(p.obj.join("two.dwp").is_file());
    let log = std::fs::read_to_string(p.obj.join(".cached-ninja/fill.log")).unwrap();
    assert!(log.contains("filled"), "{log}");
}

#[test]
fn example_project_is_filled_through_its_static_archives() {
    require_tool("g++", "g++");
    let space = TestSpace::new();
    let src = space.path().join("shapes");
    copy_tree(&repo_root().join("examples/shapes"), &src);
    let p = Project::configure(space.path(), src, "", &space.path().join("cache"));
    p.build_objects_only();
    assert!(p.gdb("shapes", "format.cpp:10").contains("No locals."));
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    // main.cpp, and through libreport.a and libgeom.a the four library sources.
    assert_filled(&p, "shapes", "dwp", 5);
    let out = p.gdb("shapes", "format.cpp:10");
    assert!(out.contains("line = \""), "locals:\n{out}");
    assert!(out.contains("out += line;"), "source lines:\n{out}");
}

#[test]
fn a_second_tree_that_hit_the_cache_is_filled_for_its_own_paths() {
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let a = Project::two_files(&space.path().join("a"), "", &cache);
    run_ok(a.cn().args(["build", "--no-fill", "-C"]).arg(&a.obj));
    let b_root = space.path().join("b");
    copy_tree(&a.src, &b_root.join("src"));
    let b = Project::configure(&b_root, b_root.join("src"), "", &cache);
    b.build_objects_only();
    assert_eq!(
        hits_misses(&b.obj),
        (2, 0),
        "every compile of the second tree hits"
    );
    // Only the second tree is left: what gdb lists comes from its sources.
    std::fs::remove_dir_all(space.path().join("a")).unwrap();
    let out = b.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&b, "two", "dwp", 2);
    assert_gdb_filled(&b.gdb("two", "b.c:4"));
}

#[test]
fn debug_parts_missing_locally_come_from_the_store() {
    let space = TestSpace::new();
    let cache = space.path().join("cache");
    let p = Project::two_files(space.path(), "", &cache);
    let key = space.path().join("ci.key");
    run_ok(
        Command::new(cached_ninja())
            .args(["key", "generate", "--out"])
            .arg(&key),
    );
    let store = space.path().join("store");
    let url = format!("file://{}", store.display());
    run_ok(
        p.cn()
            .args([
                "build",
                "--no-fetch",
                "--publish",
                "--rev",
                "r1",
                "--store",
                &url,
                "--key",
            ])
            .arg(&key)
            .arg("-C")
            .arg(&p.obj),
    );
    // Objects only here: the `.dwo` files and their cache blobs gone.
    let mut digests = Vec::new();
    for dwo in files_named(&p.obj, ".dwo") {
        for blob in cache_blobs_of(&cache, &std::fs::read(&dwo).unwrap()) {
            digests.push(blob.file_name().unwrap().to_string_lossy().into_owned());
            std::fs::remove_file(blob).unwrap();
        }
        std::fs::remove_file(dwo).unwrap();
    }
    assert_eq!(digests.len(), 2);
    let policy = |url: &str| format!("split_dwarf = true\n[[store]]\nurl = \"{url}\"\n");

    // The store down: both units reported with the store's error, nothing beside the binary.
    std::fs::write(
        p.src.join("cached-ninja.toml"),
        policy("http://127.0.0.1:9/cn"),
    )
    .unwrap();
    let out = p.fill();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = p.status("two");
    assert_eq!(
        (s["state"].as_str(), s["filled"].as_u64()),
        (Some("failed"), Some(0)),
        "{s}"
    );
    assert!(
        s["missing"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("store"),
        "{s}"
    );
    assert!(!p.obj.join("two.dwp").exists());

    // A corrupt blob in the store: refused (the digest does not match), the other unit filled.
    std::fs::write(p.src.join("cached-ninja.toml"), policy(&url)).unwrap();
    let bad = store.join("cas").join(&digests[0]);
    let good_bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, b"not a zstd frame").unwrap();
    let out = p.fill();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let s = p.status("two");
    assert_eq!(
        (s["state"].as_str(), s["filled"].as_u64()),
        (Some("partial"), Some(1)),
        "{s}"
    );

    // The store whole again: everything filled from it.
    std::fs::write(&bad, good_bytes).unwrap();
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    assert!(p.status("two")["fetched"].as_u64().unwrap() > 0);
    assert_gdb_filled(&p.gdb("two", "b.c:4"));
}

#[test]
fn two_fills_never_run_at_once_and_stop_ends_one() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    p.build_objects_only();
    // Stalled longer than anything below takes: `stop` ends it.
    let mut first = stalled_fill(&p, 60_000);
    let pid = running_fill(&p);
    assert_eq!(pid, u64::from(first.id()));
    // A second fill waits for the first; `stop` ends the first, the second then fills.
    let second = stalled_fill(&p, 0);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(running_fill(&p), pid, "the second fill waits for the lock");
    assert!(!p.obj.join("two.dwp").exists());
    let out = run_ok(Command::new(dbgfetch()).args(["stop", "-C"]).arg(&p.obj));
    assert!(
        text(&out).contains(&format!("stopped the fill (pid {pid})")),
        "{}",
        text(&out)
    );
    assert!(!first.wait().unwrap().success());
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    let out = run_ok(Command::new(dbgfetch()).args(["stop", "-C"]).arg(&p.obj));
    assert!(text(&out).contains("no fill running"), "{}", text(&out));
}

#[test]
fn a_binary_relinked_while_it_is_filled_is_filled_again() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    p.build_objects_only();
    let fill = stalled_fill(&p, 1500);
    running_fill(&p);
    let edited = B_C.replace(
        "    return sum;",
        "    int later = sum + 1;\n    return later - 1;",
    );
    std::fs::write(p.src.join("b.c"), edited).unwrap();
    p.build_objects_only();
    let out = fill.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    let out = p.gdb("two", "b.c:5");
    assert!(
        out.contains("later = 43"),
        "the relinked binary's local:\n{out}"
    );
}

#[test]
fn a_shared_library_built_in_the_tree_gets_its_own_package() {
    let space = TestSpace::new();
    let src = space.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.c"), A_C).unwrap();
    std::fs::write(src.join("b.c"), B_C).unwrap();
    std::fs::write(
        src.join("CMakeLists.txt"),
        "cmake_minimum_required(VERSION 3.13)\nproject(shared C)\n\
         add_library(helper SHARED b.c)\nadd_executable(app a.c)\n\
         target_link_libraries(app PRIVATE helper)\n",
    )
    .unwrap();
    let p = Project::configure(space.path(), src, "", &space.path().join("cache"));
    p.build_objects_only();
    // Naming the program fills the in-tree library it links too.
    let out = run(Command::new(dbgfetch())
        .env("CACHED_NINJA_CACHE_DIR", &p.cache)
        .args(["fill", "--wait", "-C"])
        .arg(&p.obj)
        .arg(p.obj.join("app")));
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "app", "dwp", 1);
    assert_filled(&p, "libhelper.so", "dwp", 1);
    assert!(p.obj.join("libhelper.so.dwp").is_file());
    assert_gdb_filled(&p.gdb("app", "b.c:4"));
    let out = p.gdb("app", "a.c:4");
    assert!(out.contains("answer = 41"), "{out}");
}

#[test]
fn libgit2_is_filled_and_gdb_reads_its_locals() {
    let space = TestSpace::new();
    let src = space.path().join("libgit2");
    copy_tree(&third_party_src("libgit2"), &src);
    // The CLI is statically linked, the library is a shared one with versioned symbolic links.
    let args = [
        "-DBUILD_TESTS=OFF",
        "-DBUILD_CLI=ON",
        "-DUSE_SSH=OFF",
        "-DUSE_HTTPS=OFF",
        "-DUSE_GSSAPI=OFF",
        "-DUSE_BUNDLED_ZLIB=ON",
    ];
    let cache = space.path().join("cache");
    let p = Project::configure_with(space.path(), src, "", &cache, &args);
    p.build_objects_only();
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    let status = run_ok(
        Command::new(dbgfetch())
            .args(["status", "--json", "-C"])
            .arg(&p.obj),
    );
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let mut names: Vec<&str> = v["binaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["binary"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["git2", "libgit2.so.1.9.1"],
        "one record per file, links skipped"
    );
    for b in &names {
        let s = p.status(b);
        assert_eq!(s["state"], "filled", "{s}");
        assert!(s["units"].as_u64().unwrap() > 100, "{s}");
        dwarfdump_verifies(&p.obj.join(format!("{b}.dwp")));
    }
    let out = p.gdb("git2", "libgit2.c:59");
    assert!(out.contains("init_fns = {"), "locals:\n{out}");
    assert!(
        out.contains("return git_runtime_init(init_fns"),
        "source lines:\n{out}"
    );
}

/// gdb and lldb find the developer's sources without flags (issue 16): after a fill,
/// `<binary>-gdb.gdb` beside the binary and `<objdir>/.lldbinit` source the mappings, and the
/// README's one-time setup (a line in `~/.gdbinit`, one in `~/.lldbinit`) is all they need.
#[test]
fn debuggers_find_the_sources_without_flags() {
    let space = TestSpace::new();
    let p = Project::two_files(space.path(), "", &space.path().join("cache"));
    p.build_objects_only();
    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert!(p.obj.join("two-gdb.gdb").is_file());
    assert!(p.obj.join(".lldbinit").is_file());
    require_tool("gdb", "gdb");
    let gdb = |home: &std::path::Path| {
        std::fs::create_dir_all(home).unwrap();
        text(&run(Command::new("gdb")
            .current_dir(space.path())
            .env("HOME", home)
            .args(["-batch", "-ex", "break b.c:4", "-ex", "run"])
            .args(["-ex", "info locals", "-ex", "list"])
            .arg(p.obj.join("two"))))
    };
    // Without the one-time setup gdb declines the script: no source lines.
    let declined = gdb(&space.path().join("home-bare"));
    assert!(!declined.contains("int sum = x + step;"), "{declined}");
    let home = space.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join(".gdbinit"),
        format!("add-auto-load-safe-path {}\n", p.obj.display()),
    )
    .unwrap();
    assert_gdb_filled(&gdb(&home));

    require_tool("lldb", "lldb");
    std::fs::write(
        home.join(".lldbinit"),
        "settings set target.load-cwd-lldbinit true\n",
    )
    .unwrap();
    let lldb = text(&run(Command::new("lldb")
        .current_dir(&p.obj)
        .env("HOME", &home)
        .args(["-b", "-o", "b b.c:4", "-o", "run", "-o", "frame variable"])
        .args(["-o", "source list -f b.c -l 1 -c 6", "two"])));
    assert!(
        lldb.contains("step = 1") && lldb.contains("sum = 42"),
        "{lldb}"
    );
    assert!(lldb.contains("int sum = x + step;"), "{lldb}");
}

/// b.c with a function inlined at `-O0` (`always_inline`): its frame exists only in the split
/// units, so only a tool that reads them names it.
const INLINED_B_C: &str = "static inline __attribute__((always_inline)) int twice(int v) {\n    int doubled = v * 2;\n    return doubled;\n}\nint helper(int x) {\n    int step = 1;\n    int sum = twice(x) + step;\n    return sum;\n}\n";

/// `addr2line -f -i -e BINARY ADDR` with `tool`, its lines.
fn addr2line(tool: &str, package: &str, binary: &std::path::Path, addr: &str) -> Vec<String> {
    let out = run_ok(
        Command::new(require_tool(tool, package))
            .args(["-f", "-i", "-e"])
            .arg(binary)
            .arg(addr),
    );
    text(&out).lines().map(str::to_string).collect()
}

/// addr2line after the fill (issue 14). LLVM's reads the package: the inlined function's
/// frame and line come from the split units, which it names before the fill only as the
/// outer function. GNU addr2line (binutils 2.40) reads no split DWARF at all: it names the
/// function from the symbol table and the line from the skeleton's line table, the same
/// before and after. Neither maps the prefix-map token back (`/cached-ninja/src/b.c`): the
/// base name and line are asserted (README, "Debugging").
#[test]
fn addr2line_names_inlined_frames_through_the_filled_package() {
    let space = TestSpace::new();
    let p = Project::two_files_with(space.path(), INLINED_B_C, "", &space.path().join("cache"));
    p.build_objects_only();
    let binary = p.obj.join("two");
    // The address of the inlined body's line (the skeleton's line table has it).
    require_tool("gdb", "gdb");
    let info = text(&run_ok(
        Command::new("gdb")
            .args(["-batch", "-nx", "-ex", "info line b.c:2"])
            .arg(&binary),
    ));
    let addr = info
        .split_whitespace()
        .skip_while(|w| *w != "address")
        .nth(1)
        .unwrap_or_else(|| panic!("{info}"))
        .to_string();
    let before = addr2line("llvm-addr2line", "llvm", &binary, &addr);
    assert!(!before.iter().any(|l| l == "twice"), "{before:?}");

    let out = p.fill();
    assert!(out.status.success(), "{}", text(&out));
    assert_filled(&p, "two", "dwp", 2);
    let llvm = addr2line("llvm-addr2line", "llvm", &binary, &addr);
    assert_eq!(llvm.len(), 4, "{llvm:?}");
    assert_eq!((llvm[0].as_str(), llvm[2].as_str()), ("twice", "helper"));
    assert!(
        llvm[1].ends_with("/b.c:2") && llvm[3].ends_with("/b.c:7"),
        "{llvm:?}"
    );
    assert!(llvm[1].starts_with("/cached-ninja/src/"), "{llvm:?}");
    let gnu = addr2line("addr2line", "binutils", &binary, &addr);
    assert_eq!(gnu.len(), 2, "{gnu:?}");
    assert!(gnu[0] == "helper" && gnu[1].ends_with("/b.c:2"), "{gnu:?}");
}
