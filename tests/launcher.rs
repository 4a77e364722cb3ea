//! End-to-end tests of `cached-ninja cc` with the real gcc and clang (DESIGN §3, §4, §6).
//!
//! Every test has its own temporary space and its own cache directory
//! (`CACHED_NINJA_CACHE_DIR`); outcomes are read from the object root's stats log.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::{cached_ninja, require_tool, run, run_ok, TestSpace};

/// Counts of one object root's stats log: (hits, misses, uncacheable, errors).
fn counts(obj: &Path) -> (u32, u32, u32, u32) {
    let text = std::fs::read_to_string(obj.join(".cached-ninja/stats")).unwrap_or_default();
    let mut c = (0, 0, 0, 0);
    for l in text.lines() {
        match l.split(' ').next() {
            Some("hit") => c.0 += 1,
            Some("miss") => c.1 += 1,
            Some("uncacheable") => c.2 += 1,
            Some("error") => c.3 += 1,
            _ => {}
        }
    }
    c
}

/// A small C project: a source tree with a header, and the launcher's command for it.
struct Project {
    space: TestSpace,
    cc: String,
}

impl Project {
    fn new(cc: &str) -> Project {
        require_tool(cc, if cc == "gcc" { "gcc" } else { "clang" });
        let space = TestSpace::new();
        space.write(
            "srcA/inc/used.h",
            "#define FACTOR 2\nstatic inline int twice(int x) { return x * FACTOR; }\n",
        );
        space.write("srcA/inc/unused.h", "int unused_decl;\n");
        space.write(
            "srcA/main.c",
            "#include <stdio.h>\n#include \"used.h\"\nint helper(int x);\nint main(void) {\n  printf(\"%d\\n\", helper(twice(3)));\n  return 0;\n}\n",
        );
        space.write(
            "srcA/helper.c",
            "#include \"used.h\"\nint helper(int x) {\n  int doubled = twice(x);\n  return doubled + LEVEL;\n}\n",
        );
        Project {
            space,
            cc: cc.to_string(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.space.path().join(rel)
    }

    fn cache(&self) -> PathBuf {
        self.path("cache")
    }

    /// Runs the launcher in `obj` for `file` of source tree `src` with extra flags.
    fn compile_with(
        &self,
        src: &str,
        obj: &str,
        file: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Output {
        let src = self.path(src);
        let obj = self.path(obj);
        std::fs::create_dir_all(&obj).unwrap();
        let stem = file.trim_end_matches(".c");
        let mut c = Command::new(cached_ninja());
        c.current_dir(&obj)
            .env("CACHED_NINJA_CACHE_DIR", self.cache())
            .arg("cc")
            .arg("--src-root")
            .arg(&src)
            .arg("--")
            .arg(&self.cc)
            .args(["-g", "-O0", "-DLEVEL=1"])
            .arg(format!("-I{}", src.join("inc").display()))
            .args(extra)
            .args([
                "-MD",
                "-MT",
                &format!("{stem}.o"),
                "-MF",
                &format!("{stem}.o.d"),
                "-o",
                &format!("{stem}.o"),
                "-c",
            ])
            .arg(src.join(file));
        for (k, v) in env {
            c.env(k, v);
        }
        run(&mut c)
    }

    fn compile(&self, src: &str, obj: &str, file: &str, extra: &[&str]) -> Output {
        let out = self.compile_with(src, obj, file, extra, &[]);
        assert!(
            out.status.success(),
            "compile failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The blob, action-entry and manifest files of the cache.
    fn cache_files(&self, dir: &str) -> Vec<PathBuf> {
        let mut v = Vec::new();
        let Ok(rd) = std::fs::read_dir(self.cache().join(dir)) else {
            return v;
        };
        for e in rd.flatten() {
            for f in std::fs::read_dir(e.path()).unwrap().flatten() {
                v.push(f.path());
            }
        }
        v
    }
}

fn hit_miss_and_key_changes(cc: &str) {
    let p = Project::new(cc);
    let obj = p.path("objA");
    p.compile("srcA", "objA", "main.c", &[]);
    assert_eq!(counts(&obj), (0, 1, 0, 0), "first compile misses");
    let first = std::fs::read(obj.join("main.o")).unwrap();
    let dep_first = std::fs::read_to_string(obj.join("main.o.d")).unwrap();
    std::fs::remove_file(obj.join("main.o")).unwrap();
    std::fs::remove_file(obj.join("main.o.d")).unwrap();
    let out = p.compile("srcA", "objA", "main.c", &[]);
    assert_eq!(counts(&obj), (1, 1, 0, 0), "second compile hits");
    assert!(out.stderr.is_empty() && out.stdout.is_empty());
    assert_eq!(
        std::fs::read(obj.join("main.o")).unwrap(),
        first,
        "the hit gives the same object"
    );
    assert_eq!(
        std::fs::read_to_string(obj.join("main.o.d")).unwrap(),
        dep_first,
        "and the same depfile"
    );
    assert!(dep_first.starts_with("main.o:"), "{dep_first}");
    assert!(
        dep_first.contains(&format!("{}/inc/used.h", p.path("srcA").display())),
        "{dep_first}"
    );
    assert!(dep_first.contains("/usr/include/stdio.h"), "{dep_first}");

    // An unrelated header changes: still a hit. The used header changes: a miss.
    p.space.write("srcA/inc/unused.h", "int unused_decl2;\n");
    p.compile("srcA", "objA", "main.c", &[]);
    assert_eq!(counts(&obj), (2, 1, 0, 0), "unrelated header: hit");
    p.space.write(
        "srcA/inc/used.h",
        "#define FACTOR 3\nstatic inline int twice(int x) { return x * FACTOR; }\n",
    );
    p.compile("srcA", "objA", "main.c", &[]);
    assert_eq!(counts(&obj), (2, 2, 0, 0), "used header changed: miss");
    assert_ne!(std::fs::read(obj.join("main.o")).unwrap(), first);
    p.compile("srcA", "objA", "main.c", &[]);
    assert_eq!(counts(&obj), (3, 2, 0, 0));
    // Changing it back finds the first entry again (the manifest keeps several include sets).
    p.space.write(
        "srcA/inc/used.h",
        "#define FACTOR 2\nstatic inline int twice(int x) { return x * FACTOR; }\n",
    );
    p.compile("srcA", "objA", "main.c", &[]);
    assert_eq!(counts(&obj), (4, 2, 0, 0));
    assert_eq!(std::fs::read(obj.join("main.o")).unwrap(), first);

    // A -D change: miss.
    p.compile("srcA", "objA", "main.c", &["-DEXTRA=1"]);
    assert_eq!(counts(&obj), (4, 3, 0, 0), "-D change: miss");

    // Another object directory at another path: hit. Another source tree too: hit.
    p.compile("srcA", "objB/deeper", "main.c", &[]);
    assert_eq!(
        counts(&p.path("objB/deeper")),
        (1, 0, 0, 0),
        "other object dir: hit"
    );
    support::copy_tree(&p.path("srcA"), &p.path("elsewhere/srcC"));
    p.compile("elsewhere/srcC", "objC", "main.c", &[]);
    let objc = p.path("objC");
    assert_eq!(counts(&objc), (1, 0, 0, 0), "other source tree: hit");
    assert_eq!(std::fs::read(objc.join("main.o")).unwrap(), first);
    let dep_c = std::fs::read_to_string(objc.join("main.o.d")).unwrap();
    assert!(
        dep_c.contains(&format!(
            "{}/inc/used.h",
            p.path("elsewhere/srcC").display()
        )),
        "{dep_c}"
    );
    assert!(
        !dep_c.contains("srcA"),
        "the depfile has this machine's paths: {dep_c}"
    );

    // The objects embed neither tree's nor either object directory's absolute path.
    let root = p.space.path().to_str().unwrap().as_bytes().to_vec();
    for o in [obj.join("main.o"), objc.join("main.o")] {
        let bytes = std::fs::read(&o).unwrap();
        assert!(
            !bytes.windows(root.len()).any(|w| w == root),
            "{} embeds a test path",
            o.display()
        );
        assert!(bytes.windows(17).any(|w| w == b"/cached-ninja/src"));
    }
}

#[test]
fn gcc_hit_miss_and_key_changes() {
    hit_miss_and_key_changes("gcc");
}

#[test]
fn clang_hit_miss_and_key_changes() {
    hit_miss_and_key_changes("clang");
}

#[test]
fn split_dwarf_dwo_is_cached() {
    for (cc, flag, dwo) in [
        ("gcc", "-gsplit-dwarf", true),
        ("clang", "-gsplit-dwarf", true),
        ("clang", "-gsplit-dwarf=single", false),
    ] {
        let p = Project::new(cc);
        p.compile("srcA", "objA", "helper.c", &[flag]);
        let obj = p.path("objA");
        assert_eq!(obj.join("helper.dwo").exists(), dwo, "{cc} {flag}");
        let dwo_bytes = std::fs::read(obj.join("helper.dwo")).ok();
        p.compile("srcA", "objB", "helper.c", &[flag]);
        assert_eq!(counts(&p.path("objB")), (1, 0, 0, 0), "{cc} {flag}");
        assert_eq!(
            std::fs::read(p.path("objB/helper.dwo")).ok(),
            dwo_bytes,
            "{cc} {flag}"
        );
    }
}

#[test]
fn a_header_path_the_depfile_cannot_express_is_not_cached() {
    // `#include "x\"` names the file `x\`; gcc ends the depfile's line with it, which reads as
    // a line continuation: the include list would name `x` (which exists too) and a change to
    // `x\` would then hit the old object.
    let p = Project::new("gcc");
    p.space.write("srcA/x\\", "int weird = 1;\n");
    p.space.write("srcA/x", "int weird = 7;\n");
    p.space.write(
        "srcA/odd.c",
        "#include \"x\\\"\nint get(void) { return weird; }\n",
    );
    let obj = p.path("objA");
    let weird = |obj: &Path| {
        let out = run_ok(
            Command::new("objdump")
                .args(["-s", "-j", ".data"])
                .arg(obj.join("odd.o")),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    p.compile("srcA", "objA", "odd.c", &[]);
    assert!(weird(&obj).contains(" 01000000 "), "{}", weird(&obj));
    // Ninja gets the compiler's own dependency file (its targets the command's).
    let dep = std::fs::read_to_string(obj.join("odd.o.d")).unwrap();
    assert!(
        dep.starts_with("odd.o: ") && dep.trim_end().ends_with("x\\"),
        "{dep}"
    );
    p.space.write("srcA/x\\", "int weird = 2;\n");
    p.compile("srcA", "objA", "odd.c", &[]);
    assert!(weird(&obj).contains(" 02000000 "), "{}", weird(&obj));
    assert_eq!(counts(&obj), (0, 0, 2, 0));
    assert!(p.cache_files("ac").is_empty(), "nothing stored");
}

#[test]
fn time_macros_are_not_cached() {
    let p = Project::new("gcc");
    p.space.write(
        "srcA/stamp.c",
        "const char *stamp = __DATE__ \" \" __TIME__;\n",
    );
    p.space
        .write("srcA/inc/when.h", "#define WHEN __TIMESTAMP__\n");
    p.space.write(
        "srcA/viaheader.c",
        "#include \"when.h\"\nconst char *w = WHEN;\n",
    );
    for _ in 0..2 {
        p.compile("srcA", "objA", "stamp.c", &[]);
        p.compile("srcA", "objA", "viaheader.c", &[]);
    }
    assert!(p.path("objA/stamp.o").exists() && p.path("objA/viaheader.o").exists());
    let (hits, misses, uncacheable, errors) = counts(&p.path("objA"));
    assert_eq!((hits, errors), (0, 0));
    assert_eq!(uncacheable, 4, "misses {misses}");
    assert!(p.cache_files("ac").is_empty(), "nothing stored");
    // `cached-ninja stats` names why: the source's own time macros, the header's timestamp.
    let v = support::stats_json(&p.path("objA"));
    let reasons = &v["uncacheable_reasons"];
    assert_eq!(
        (reasons["date-time"].as_u64(), reasons["timestamp"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
}

#[test]
fn uncacheable_commands_run_unchanged() {
    require_tool("gcc", "gcc");
    let s = TestSpace::new();
    s.write("bad.c", "int main(void) { return undefined_thing; }\n");
    s.write("ok.c", "#define X 1\nint x = X;\n");
    let cache = s.path().join("cache");
    let cases: Vec<Vec<&str>> = vec![
        vec!["gcc", "-c", "bad.c", "-o", "bad.o"], // cacheable, fails
        vec!["gcc", "-E", "ok.c"],                 // preprocess only
        vec!["gcc", "ok.c", "-o", "ok"],           // link (no -c)
        vec!["gcc", "-c", "ok.c", "missing.c"],    // two sources
        vec!["gcc", "-c", "nonexistent.c", "-o", "n.o"],
    ];
    for args in cases {
        let direct = run(Command::new(args[0]).args(&args[1..]).current_dir(s.path()));
        let launched = run(Command::new(cached_ninja())
            .current_dir(s.path())
            .env("CACHED_NINJA_CACHE_DIR", &cache)
            .args(["cc", "--"])
            .args(&args));
        assert_eq!(launched.status.code(), direct.status.code(), "{args:?}");
        assert_eq!(launched.stdout, direct.stdout, "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&launched.stderr),
            String::from_utf8_lossy(&direct.stderr),
            "{args:?}"
        );
    }
    // A ccache prefix is dropped; @response files are read.
    s.write("args.rsp", "-c ok.c -o viarsp.o");
    let out = run_ok(
        Command::new(cached_ninja())
            .current_dir(s.path())
            .env("CACHED_NINJA_CACHE_DIR", &cache)
            .args(["cc", "--", "ccache", "gcc", "@args.rsp"]),
    );
    assert!(out.stderr.is_empty());
    assert!(s.path().join("viarsp.o").exists());
    assert_eq!(counts(s.path()).1, 1, "the response-file compile is a miss");
    let v = support::stats_json(s.path());
    assert_eq!(
        (
            v["failed"].as_u64(),
            v["misses"].as_u64(),
            v["errors"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "bad.c is a failed compile, not a miss: {v}"
    );
    // Each command run unchanged is counted with its reason.
    let reasons = &v["uncacheable_reasons"];
    for (reason, n) in [
        ("preprocess-only", 1),
        ("not-compiling", 1),
        ("source-count", 1),
        ("unreadable", 1),
    ] {
        assert_eq!(reasons[reason].as_u64(), Some(n), "{reason}: {v}");
    }
    assert_eq!(v["uncacheable"].as_u64(), Some(4), "{v}");
}

/// A hit that cannot be served (its outputs cannot be written) falls back to a compile with
/// one warning line naming the file, and counts a named problem in `cached-ninja stats`.
#[test]
fn unwritable_hit_outputs_fall_back_and_count() {
    let p = Project::new("gcc");
    p.compile("srcA", "objA", "main.c", &[]);
    // The object path is a non-empty directory: the hit cannot write it, and gcc then fails.
    std::fs::create_dir_all(p.path("objB/main.o/full")).unwrap();
    let out = p.compile_with("srcA", "objB", "main.c", &[], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning: ")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].contains("cannot write ") && warnings[0].contains("main.o"),
        "{err}"
    );
    let v = support::stats_json(&p.path("objB"));
    assert_eq!(v["problems"]["write-output"].as_u64(), Some(1), "{v}");
    assert_eq!(
        (v["hits"].as_u64(), v["failed"].as_u64()),
        (Some(0), Some(1)),
        "{v}"
    );
    // The depfile path is a directory: the hit falls back, and the compile cannot write it.
    std::fs::create_dir_all(p.path("objC/main.o.d/full")).unwrap();
    let out = p.compile_with("srcA", "objC", "main.c", &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write main.o.d"), "{err}");
    let v = support::stats_json(&p.path("objC"));
    assert_eq!(v["problems"]["write-depfile"].as_u64(), Some(2), "{v}");
    let table = run_ok(
        Command::new(cached_ninja())
            .args(["stats", "-C"])
            .arg(p.path("objC")),
    );
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("  write-depfile 2"), "{table}");
}

#[test]
fn racing_launchers_make_one_entry() {
    let p = Project::new("gcc");
    let obj = p.path("objA");
    std::fs::create_dir_all(&obj).unwrap();
    let src = p.path("srcA");
    let children: Vec<_> = (0..64)
        .map(|_| {
            Command::new(cached_ninja())
                .current_dir(&obj)
                .env("CACHED_NINJA_CACHE_DIR", p.cache())
                .args(["cc", "--src-root"])
                .arg(&src)
                .args(["--", "gcc", "-g", "-DLEVEL=1"])
                .arg(format!("-I{}/inc", src.display()))
                .args(["-MD", "-MF", "main.o.d", "-o", "main.o", "-c"])
                .arg(src.join("main.c"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(p.cache_files("ac").len(), 1, "one action entry");
    assert_eq!(p.cache_files("cas").len(), 1, "one blob (the object)");
    let (hits, misses, _, errors) = counts(&obj);
    assert_eq!((hits + misses, errors), (64, 0));
    assert!(misses >= 1);
    // The object in place is the one in the cache, whole, and so is its depfile.
    let blob = std::fs::read(&p.cache_files("cas")[0]).unwrap();
    assert_eq!(std::fs::read(obj.join("main.o")).unwrap(), blob);
    let dep = std::fs::read_to_string(obj.join("main.o.d")).unwrap();
    assert!(
        dep.starts_with("main.o:") && dep.contains("main.c"),
        "{dep}"
    );
    // No temporary file is left: not in the cache's tmp/, not beside the outputs.
    let names = |d: &Path| -> Vec<String> {
        std::fs::read_dir(d).map_or(Vec::new(), |rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
    };
    assert!(
        names(&p.cache().join("tmp")).is_empty(),
        "{:?}",
        names(&p.cache().join("tmp"))
    );
    let mut left = names(&obj);
    left.retain(|n| n != ".cached-ninja");
    left.sort();
    assert_eq!(
        left,
        ["main.o", "main.o.d"],
        "only the outputs in the object directory"
    );
}

#[test]
fn killed_insert_leaves_no_visible_entry() {
    let p = Project::new("gcc");
    // Warm the compiler memo with another source so the stalled insert is the object's.
    p.compile("srcA", "objA", "helper.c", &[]);
    let before_cas = p.cache_files("cas").len();
    let before_ac = p.cache_files("ac").len();
    let src = p.path("srcA");
    let obj = p.path("objA");
    let mut child = Command::new(cached_ninja())
        .current_dir(&obj)
        .env("CACHED_NINJA_CACHE_DIR", p.cache())
        .env("CACHED_NINJA_TEST_STALL_INSERT_MS", "20000")
        .args(["cc", "--src-root"])
        .arg(&src)
        .args(["--", "gcc", "-g", "-DLEVEL=1"])
        .arg(format!("-I{}/inc", src.display()))
        .args(["-o", "main.o", "-c"])
        .arg(src.join("main.c"))
        .spawn()
        .unwrap();
    let tmp = p.cache().join("tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let pending = std::fs::read_dir(&tmp)
            .map(|rd| {
                rd.flatten()
                    .any(|e| !e.file_name().to_string_lossy().ends_with(".d"))
            })
            .unwrap_or(false);
        if pending {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the launcher never started its insert"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        p.cache_files("cas").len(),
        before_cas,
        "no blob became visible"
    );
    assert_eq!(
        p.cache_files("ac").len(),
        before_ac,
        "no entry became visible"
    );
    // The next launch compiles and stores normally; the one after hits.
    p.compile("srcA", "objA", "main.c", &[]);
    p.compile("srcA", "objA", "main.c", &[]);
    let (hits, _, _, errors) = counts(&obj);
    assert_eq!((hits, errors), (1, 0));
}

#[test]
fn corrupt_cache_files_are_detected_and_recompiled() {
    let p = Project::new("clang");
    let obj = p.path("objA");
    p.compile("srcA", "objA", "main.c", &[]);
    let good = std::fs::read(obj.join("main.o")).unwrap();
    let blob = p
        .cache_files("cas")
        .into_iter()
        .find(|b| std::fs::read(b).unwrap() == good)
        .unwrap();
    // Flip one byte of the blob.
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 0x40;
    std::fs::write(&blob, &bad).unwrap();
    let out = p.compile("srcA", "objA", "main.c", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("corrupt").count(), 1, "reported once: {err}");
    assert_eq!(
        std::fs::read(obj.join("main.o")).unwrap(),
        good,
        "recompiled"
    );
    assert_eq!(counts(&obj), (0, 2, 0, 1));
    // Stored again: the next launch hits, silently.
    let out = p.compile("srcA", "objA", "main.c", &[]);
    assert!(out.stderr.is_empty());
    assert_eq!(counts(&obj), (1, 2, 0, 1));
    // A truncated blob and a truncated action entry are detected the same way.
    std::fs::write(&blob, &good[..100]).unwrap();
    let out = p.compile("srcA", "objA", "main.c", &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt"));
    let entry = p.cache_files("ac").pop().unwrap();
    let text = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, &text[..text.len() / 2]).unwrap();
    let out = p.compile("srcA", "objA", "main.c", &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt"));
    assert_eq!(std::fs::read(obj.join("main.o")).unwrap(), good);
    assert_eq!(counts(&obj), (1, 4, 0, 3));
}

#[test]
fn stats_and_cache_commands() {
    let p = Project::new("gcc");
    p.compile("srcA", "objA", "main.c", &[]);
    p.compile("srcA", "objA", "main.c", &[]);
    let out = run_ok(
        Command::new(cached_ninja())
            .args(["stats", "--json", "-C"])
            .arg(p.path("objA")),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["hits"].as_u64(), v["misses"].as_u64()),
        (Some(1), Some(1))
    );
    // What a download cut short leaves for resumption (`tmp/partial/<blob>.zst`).
    let partial = p
        .cache()
        .join("tmp/partial")
        .join(format!("{}.zst", "ab".repeat(32)));
    std::fs::create_dir_all(partial.parent().unwrap()).unwrap();
    std::fs::write(&partial, vec![7u8; 3000]).unwrap();
    let out = run_ok(
        Command::new(cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", p.cache())
            .args(["cache", "stats"]),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("action entries    1"), "{text}");
    assert!(text.contains("partial downloads 1 (2.9 KiB)"), "{text}");
    let out = run_ok(
        Command::new(cached_ninja())
            .env("CACHED_NINJA_CACHE_DIR", p.cache())
            .args(["cache", "gc", "--max-size", "1"]),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("files removed"));
    assert!(
        p.cache_files("cas").is_empty(),
        "a 1-byte cap evicts everything"
    );
    assert!(!partial.exists(), "partial downloads count against the cap");
    // After eviction the launcher simply compiles again.
    p.compile("srcA", "objA", "main.c", &[]);
    run_ok(
        Command::new(cached_ninja())
            .args(["stats", "--zero", "-C"])
            .arg(p.path("objA")),
    );
    assert_eq!(counts(&p.path("objA")), (0, 0, 0, 0));
}

/// gdb on a binary linked from hits in a second location lists the second tree's sources,
/// through the mapping the launcher recorded in `<objdir>/.cached-ninja/gdbinit`.
#[test]
fn gdb_lists_sources_of_the_second_tree() {
    require_tool("gdb", "gdb");
    for cc in ["gcc", "clang"] {
        let p = Project::new(cc);
        for f in ["main.c", "helper.c"] {
            p.compile("srcA", "objA", f, &[]);
        }
        support::copy_tree(&p.path("srcA"), &p.path("other/srcB"));
        for f in ["main.c", "helper.c"] {
            p.compile("other/srcB", "objB", f, &[]);
        }
        let objb = p.path("objB");
        assert_eq!(counts(&objb), (2, 0, 0, 0), "{cc}: both objects are hits");
        run_ok(
            Command::new(cc)
                .current_dir(&objb)
                .args(["main.o", "helper.o", "-o", "prog"]),
        );
        // The first tree disappears: only the second can serve the listing.
        std::fs::remove_dir_all(p.path("srcA")).unwrap();
        let gdb = |with_map: bool| {
            let mut c = Command::new("gdb");
            c.current_dir(&objb).args(["-nx", "-batch"]);
            if with_map {
                c.arg("-x").arg(objb.join(".cached-ninja/gdbinit"));
            }
            c.args(["-ex", "list helper", "-ex", "info source", "./prog"]);
            let out = run_ok(&mut c);
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr)
        };
        let without = gdb(false);
        assert!(
            !without.contains("int doubled = twice(x);"),
            "{cc}: without the mapping gdb cannot read:\n{without}"
        );
        let with = gdb(true);
        assert!(with.contains("int doubled = twice(x);"), "{cc}:\n{with}");
        assert!(
            with.contains(&p.path("other/srcB").display().to_string()),
            "{cc}: gdb names the second tree:\n{with}"
        );
    }
}

/// libgit2 (CMake, Debug, `CMAKE_C_COMPILER_LAUNCHER`) built in directory A, then in a fresh
/// directory B at another path from a copy of the sources at another path: every compile edge
/// of B hits, the objects are the same, and the binaries behave the same.
#[test]
fn libgit2_second_directory_hits_every_compile() {
    for (tool, pkg) in [("cmake", "cmake"), ("ninja", "ninja-build"), ("cc", "gcc")] {
        require_tool(tool, pkg);
    }
    let src_a = support::third_party_src("libgit2");
    let space = TestSpace::new();
    let src_b = space.path().join("elsewhere/libgit2");
    support::copy_tree(&src_a, &src_b);
    let cache = space.path().join("cache");
    let build = |src: &Path, obj: &Path| {
        std::fs::create_dir_all(obj).unwrap();
        let launcher = format!(
            "-DCMAKE_C_COMPILER_LAUNCHER={};cc;--src-root;{};--",
            cached_ninja().display(),
            src.display()
        );
        run_ok(
            Command::new("cmake")
                .current_dir(obj)
                .args([
                    "-G",
                    "Ninja",
                    "-DCMAKE_BUILD_TYPE=Debug",
                    "-DBUILD_TESTS=OFF",
                    &launcher,
                ])
                .arg(src),
        );
        run_ok(
            Command::new("ninja")
                .current_dir(obj)
                .args(["-j2"])
                .env("CACHED_NINJA_CACHE_DIR", &cache),
        );
        let commands = run_ok(
            Command::new("ninja")
                .current_dir(obj)
                .args(["-t", "commands"]),
        );
        String::from_utf8_lossy(&commands.stdout)
            .lines()
            .filter(|l| l.contains(" cc --src-root "))
            .count() as u32
    };
    let obj_a = space.path().join("A");
    let obj_b = space.path().join("some/other/place/B");
    let edges_a = build(&src_a, &obj_a);
    assert!(edges_a > 150, "{edges_a} compile edges");
    assert_eq!(counts(&obj_a), (0, edges_a, 0, 0));
    let edges_b = build(&src_b, &obj_b);
    assert_eq!(edges_b, edges_a);
    assert_eq!(
        counts(&obj_b),
        (edges_b, 0, 0, 0),
        "100 % of B's compile edges hit"
    );

    // Same objects, same behaviour.
    let find = run_ok(
        Command::new("find")
            .current_dir(&obj_a)
            .args([".", "-name", "*.o"]),
    );
    let objects: Vec<String> = String::from_utf8_lossy(&find.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(objects.len() as u32, edges_a);
    for o in &objects {
        assert_eq!(
            std::fs::read(obj_a.join(o)).unwrap(),
            std::fs::read(obj_b.join(o)).unwrap(),
            "{o}"
        );
    }
    space.write("hello.txt", "hello\n");
    let behave = |obj: &Path| {
        let git2 = obj.join("git2");
        let hash = run_ok(
            Command::new(&git2)
                .arg("hash-object")
                .arg(space.path().join("hello.txt")),
        )
        .stdout;
        let repo = obj.join("repo");
        run_ok(Command::new(&git2).arg("init").arg(&repo));
        let head = std::fs::read_to_string(repo.join(".git/HEAD")).unwrap();
        let help = run_ok(Command::new(&git2).arg("--help")).stdout;
        (hash, head, help)
    };
    let (a, b) = (behave(&obj_a), behave(&obj_b));
    assert_eq!(
        String::from_utf8_lossy(&a.0).trim(),
        "ce013625030ba8dba906f756967f9e9ca394464a"
    );
    assert_eq!(a, b);
}

/// The source root also comes from `CACHED_NINJA_SRCDIR` or `<objdir>/.cached-ninja/config`.
#[test]
fn source_root_from_env_or_config() {
    let p = Project::new("gcc");
    support::copy_tree(&p.path("srcA"), &p.path("srcB"));
    let run_in = |src: &str, obj: &str, env: Option<&str>| {
        let src = p.path(src);
        let obj = p.path(obj);
        std::fs::create_dir_all(&obj).unwrap();
        let mut c = Command::new(cached_ninja());
        c.current_dir(&obj)
            .env("CACHED_NINJA_CACHE_DIR", p.cache())
            .env_remove("CACHED_NINJA_SRCDIR")
            .args(["cc", "--", "gcc", "-g", "-DLEVEL=1"])
            .arg(format!("-I{}/inc", src.display()))
            .args(["-o", "main.o", "-c"])
            .arg(src.join("main.c"));
        if let Some(e) = env {
            c.env("CACHED_NINJA_SRCDIR", p.path(e));
        }
        run_ok(&mut c);
        counts(&obj)
    };
    assert_eq!(run_in("srcA", "objA", Some("srcA")), (0, 1, 0, 0));
    p.space.write(
        "objB/.cached-ninja/config",
        format!("src-root = {}\n", p.path("srcB").display()),
    );
    assert_eq!(
        run_in("srcB", "objB", None),
        (1, 0, 0, 0),
        "config file names the root"
    );
    assert_eq!(
        run_in("srcB", "objC", None),
        (0, 1, 0, 0),
        "no root: absolute paths stay in the key"
    );
}

/// A precompiled header in use (`-include x.h` with `x.h.gch` beside it) is not cached.
#[test]
fn precompiled_header_use_runs_unchanged() {
    require_tool("gcc", "gcc");
    let s = TestSpace::new();
    s.write("pre.h", "#define PRE 41\n");
    s.write("use.c", "int v = PRE + 1;\n");
    run_ok(Command::new("gcc").current_dir(s.path()).args([
        "-x",
        "c-header",
        "pre.h",
        "-o",
        "pre.h.gch",
    ]));
    let out = run_ok(
        Command::new(cached_ninja())
            .current_dir(s.path())
            .env("CACHED_NINJA_CACHE_DIR", s.path().join("cache"))
            .args([
                "cc", "--", "gcc", "-include", "pre.h", "-c", "use.c", "-o", "use.o",
            ]),
    );
    assert!(out.stderr.is_empty());
    assert!(s.path().join("use.o").exists());
    assert_eq!(counts(s.path()), (0, 0, 1, 0));
}

#[test]
fn driver_name_is_part_of_the_key() {
    // `clang` and `clang++` are one executable, but `clang++ -c f.c` compiles C++ (with a
    // deprecation warning): it must not be served the object `clang -c f.c` stored.
    require_tool("clang++", "clang");
    let space = TestSpace::new();
    space.write("src/f.c", "int f(int x) { return x + 1; }\n");
    let cache = space.path().join("cache");
    let object_of = |driver: &str, obj: &str| {
        let dir = space.path().join(obj);
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = Command::new(cached_ninja());
        c.current_dir(&dir)
            .env("CACHED_NINJA_CACHE_DIR", &cache)
            .args(["cc", "--src-root"])
            .arg(space.path().join("src"))
            .args(["--", driver, "-c", "-o", "f.o"])
            .arg(space.path().join("src/f.c"));
        run_ok(&mut c);
        std::fs::read(dir.join("f.o")).unwrap()
    };
    let has = |bytes: &[u8], sym: &[u8]| bytes.windows(sym.len()).any(|w| w == sym);
    let c_object = object_of("clang", "objA");
    assert!(!has(&c_object, b"_Z1fi"), "clang compiled f.c as C");
    let cxx_object = object_of("clang++", "objB");
    assert!(
        has(&cxx_object, b"_Z1fi"),
        "clang++ must produce the C++ (mangled) object"
    );
    let (hits, misses, _, _) = counts(&space.path().join("objB"));
    assert_eq!((hits, misses), (0, 1), "clang++ after clang is a miss");
}

/// A header that changes while its compile runs (the compiler has read the old one): the
/// object is used for this build but not stored, so the next compile of the new header is a
/// miss, not a hit on the old object (DESIGN §3: inputs settle before they are trusted).
#[test]
fn header_changed_during_the_compile_is_not_stored() {
    let mut p = Project::new("gcc");
    let (ready, go) = (p.path("compiled"), p.path("go"));
    // A compile of `main.c` (not the launcher's `-dumpmachine`/`--version` probes, nor its
    // assembler probe's `-c /dev/null`) runs gcc to the end (it read the old header), then
    // waits for the test's edit.
    let slow = p.space.write(
        "slowcc",
        format!(
            "#!/bin/sh\ngcc \"$@\" || exit $?\ncase \" $* \" in *\" -c \"*main.c*) ;; *) exit 0 ;; esac\n: > '{}'\nwhile [ ! -e '{}' ]; do sleep 0.01; done\n",
            ready.display(),
            go.display()
        ),
    );
    run_ok(Command::new("chmod").arg("+x").arg(&slow));
    p.cc = slow.to_string_lossy().into_owned();
    let obj = p.path("objA");
    std::thread::scope(|s| {
        let first = s.spawn(|| p.compile("srcA", "objA", "main.c", &[]));
        while !ready.exists() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        p.space.write(
            "srcA/inc/used.h",
            "#define FACTOR 3\nstatic inline int twice(int x) { return x * FACTOR; }\n",
        );
        std::fs::write(&go, b"").unwrap();
        let out = first.join().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("used.h changed while main.o was compiled"),
            "one warning naming the header: {err}"
        );
    });
    assert_eq!(support::stats_json(&obj)["problems"]["input-changed"], 1);
    let stale = std::fs::read(obj.join("main.o")).unwrap();
    // The same command again, with the new header: a compile, and a different object.
    p.compile("srcA", "objA", "main.c", &[]);
    let (hits, misses, _, _) = counts(&obj);
    assert_eq!(
        (hits, misses),
        (0, 2),
        "no hit on the object of the old header"
    );
    assert!(
        std::fs::read(obj.join("main.o")).unwrap() != stale,
        "the new header gives a new object"
    );
    // Settled now: stored, and the next compile hits.
    p.compile("srcA", "objA", "main.c", &[]);
    assert_eq!(counts(&obj).0, 1);
}
