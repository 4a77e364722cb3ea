//! The crash campaign's fast subset (issue 16): `bench/crash-campaign.py` with 20 rounds, each
//! a `kill -9` at a random moment of a launcher (compile, insert, materialise), of
//! `cached-ninja build` (its start, pull or Ninja), of `publish` or of `dbgfetch fill`; after
//! each, `cache verify` finds nothing corrupt or partial but the killed writer's temporaries,
//! no process is left in the object directories, the next build's objects equal CI's, and a
//! second verify is clean. Any failed check fails the test. The seed is fixed
//! (`CRASH_SEED` overrides it); the moments still vary with the machine's load. And what the
//! campaign found: a launcher's compiler dies with it.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::{cached_ninja, repo_root, require_tool, run};

#[test]
fn twenty_kills_hurt_neither_the_cache_nor_the_next_build() {
    for (tool, package) in [
        ("python3", "python3"),
        ("gcc", "gcc"),
        ("g++", "g++"),
        ("cmake", "cmake"),
        ("ninja", "ninja-build"),
        ("objcopy", "binutils"),
    ] {
        require_tool(tool, package);
    }
    let seed = std::env::var("CRASH_SEED").unwrap_or_else(|_| "16".into());
    let out = run(Command::new("python3")
        .arg(repo_root().join("bench/crash-campaign.py"))
        .args(["--kills", "20", "--time-limit", "50", "--seed", &seed])
        .env("CN", cached_ninja())
        .env("DBGFETCH", env!("CARGO_BIN_EXE_dbgfetch")));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the campaign failed:\n{report}");
    assert!(report.contains("failures: 0"), "{report}");
    assert!(
        !report.contains(" total         0 "),
        "no round ran:\n{report}"
    );
}

/// Found by the campaign: `kill -9` of a launcher left its compiler running (a wrapper that
/// slept, then compiled and wrote the object after the build had ended). The compiler now
/// dies with its launcher.
#[test]
fn a_compiler_dies_with_its_killed_launcher() {
    require_tool("gcc", "gcc");
    let space = support::TestSpace::new();
    let hold = space.path().join("compiler.pid");
    let gcc = space.write_script(
        "bin/gcc",
        "#!/bin/sh\ncase \" $* \" in *\" -c \"*)\n  if [ -n \"$HOLD\" ]; then echo $$ > \"$HOLD.tmp\"; mv \"$HOLD.tmp\" \"$HOLD\"; exec sleep 60; fi ;;\nesac\nexec gcc \"$@\"\n",
    );
    let src = space.write("src/a.c", "int a(void) { return 1; }\n");
    let obj = space.path().join("obj");
    std::fs::create_dir_all(&obj).unwrap();
    let mut launcher = Command::new(cached_ninja())
        .current_dir(&obj)
        .env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"))
        .env("HOLD", &hold)
        .args(["cc", "--src-root"])
        .arg(src.parent().unwrap())
        .arg("--")
        .arg(&gcc)
        .args(["-c", "-o", "a.o"])
        .arg(&src)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !hold.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    launcher.kill().unwrap(); // SIGKILL
    launcher.wait().unwrap();
    let pid = std::fs::read_to_string(&hold).expect("the compiler never started");
    assert!(
        support::ends_within(pid.trim().parse().unwrap(), Duration::from_secs(20)),
        "the compiler (pid {}) outlived its launcher",
        pid.trim()
    );
    assert!(!obj.join("a.o").exists());
}

/// A launcher killed while it materialises a hit leaves its temporary beside the object
/// (`.a.o.cn-tmp.<pid>-<start>.…`). Hits never look for such files (they cost a directory
/// listing); the next miss in that directory removes the dead writer's, and keeps a live
/// writer's.
#[test]
fn a_miss_sweeps_what_a_killed_launcher_left_beside_its_object() {
    require_tool("gcc", "gcc");
    let space = support::TestSpace::new();
    let src = space.write("src/a.c", "int a(void) { return 1; }\n");
    space.write("src/b.c", "int b(void) { return 2; }\n");
    let obj = space.path().join("obj");
    std::fs::create_dir_all(&obj).unwrap();
    let launch = |source: &str, stall: bool| {
        let mut c = Command::new(cached_ninja());
        c.current_dir(&obj)
            .env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"))
            .args(["cc", "--src-root"])
            .arg(src.parent().unwrap())
            .args(["--", "gcc", "-c", "-o"])
            .arg(format!("{source}.o"))
            .arg(src.with_file_name(format!("{source}.c")));
        if stall {
            c.env("CACHED_NINJA_TEST_STALL_MATERIALISE_MS", "60000");
        }
        c
    };
    let temporaries = || {
        let mut v: Vec<String> = std::fs::read_dir(&obj)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".cn-"))
            .collect();
        v.sort();
        v
    };
    assert!(launch("a", false).status().unwrap().success()); // the miss that stores
    std::fs::remove_file(obj.join("a.o")).unwrap();
    let mut killed = launch("a", true).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while temporaries().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    killed.kill().unwrap(); // SIGKILL, mid-materialise
    killed.wait().unwrap();
    let left = temporaries();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(".a.o.cn-tmp."), "{left:?}");
    assert!(!obj.join("a.o").exists(), "a partial object became visible");

    // A live writer's temporary (this test's own pid and start time) must stay.
    let me = fetch::process::Writer::this();
    let live = format!(".b.o.cn-tmp.{}-{}.0.1", me.pid, me.start);
    std::fs::write(obj.join(&live), b"being written").unwrap();

    // A hit leaves them alone.
    assert!(launch("a", false).status().unwrap().success());
    assert_eq!(temporaries(), {
        let mut v = vec![left[0].clone(), live.clone()];
        v.sort();
        v
    });
    // The next miss in the directory (another object's) removes the dead writer's only.
    assert!(launch("b", false).status().unwrap().success());
    assert_eq!(temporaries(), vec![live]);
    let (hits, misses) = support::hits_misses(&obj);
    assert_eq!((hits, misses), (1, 2));
}

/// A launcher killed with `kill -9` while it holds the build's only CPU token: the build gives
/// the token back (the launcher's record names a writer that is gone), so the compiles waiting
/// for it run and the build ends, instead of waiting for ever.
#[test]
fn the_token_of_a_killed_launcher_comes_back() {
    require_tool("gcc", "gcc");
    require_tool("ninja", "ninja-build");
    let space = support::TestSpace::new();
    let hold = space.path().join("launcher.pid");
    // The compile of hold.c records its launcher (the compiler's parent) and waits.
    let gcc = space.write_script(
        "bin/gcc",
        "#!/bin/sh\ncase \" $* \" in *hold.c*) echo $PPID > \"$HOLD.tmp\"; mv \"$HOLD.tmp\" \"$HOLD\"; exec sleep 60 ;; esac\nexec gcc \"$@\"\n",
    );
    let obj = space.path().join("obj");
    for name in ["hold", "a", "b", "c"] {
        space.write(
            &format!("obj/{name}.c"),
            format!("int {name}(void) {{ return 1; }}\n"),
        );
    }
    // a, b and c start once hold.c's compile holds the token (`gate` waits for it), so they
    // need the token it holds.
    space.write(
        "obj/build.ninja",
        format!(
            "rule cc\n  command = {cn} cc -- {gcc} -c $in -o $out\n\
             rule gate\n  command = while [ ! -s {hold} ]; do sleep 0.02; done; touch $out\n\
             build hold.o: cc hold.c\nbuild gate: gate\n\
             build a.o: cc a.c || gate\nbuild b.o: cc b.c || gate\nbuild c.o: cc c.c || gate\n",
            cn = cached_ninja().display(),
            gcc = gcc.display(),
            hold = hold.display(),
        ),
    );
    let mut build = Command::new(cached_ninja())
        .env("CACHED_NINJA_CACHE_DIR", space.path().join("cache"))
        .env("HOLD", &hold)
        .args([
            "build",
            "-j1",
            "--ninja-jobs",
            "4",
            "--no-fetch",
            "--no-fill",
            "-C",
        ])
        .arg(&obj)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&hold).map_or(true, |s| s.trim().is_empty())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let launcher: i32 = std::fs::read_to_string(&hold)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Let a, b and c start and wait for the token.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!obj.join("a.o").exists(), "a compiled without the token");
    unsafe { libc::kill(launcher, libc::SIGKILL) };

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = build.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        // Ninja dies with the build (and its commands with Ninja).
        let _ = build.kill();
        let _ = build.wait();
    }
    assert!(
        status.is_some(),
        "the build waited for ever for the lost token"
    );
    for o in ["a.o", "b.o", "c.o"] {
        assert!(obj.join(o).exists(), "{o} was not compiled");
    }
    assert!(!status.unwrap().success(), "hold.o's launcher was killed");
}
