//! Misses handed to a real distributed compiler (issue 18), then cached: distccd started by
//! each test on loopback (its own port and log), an icecream farm of two nodes in network
//! namespaces of the test's own, the example project and libgit2 built with
//! `cached-ninja build` under a `[distribute]` policy. The server's log counts the compiles it
//! ran; a second build in a fresh directory at another path must hit on every compile; gdb
//! runs the result; a dead engine means local compiles and one warning line.

mod support;

#[path = "distribute/distccd.rs"]
mod distccd;
#[path = "distribute/icecream.rs"]
mod icecream;
#[path = "dbgfetch/project.rs"]
#[allow(dead_code)]
mod project;

use distccd::{free_port, Distccd, SlowLink};
use icecream::Icecream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::{cached_ninja, copy_tree, repo_root, require_tool, run, run_ok, TestSpace};

/// Compiles of the example project (`examples/shapes`): 2 C, 3 C++.
const EXAMPLE_COMPILES: u64 = 5;

/// A CMake project configured for `cached-ninja build` with a policy and a cache of its own.
struct Built {
    obj: PathBuf,
    cache: PathBuf,
}

impl Built {
    /// `src` with `policy` as its `cached-ninja.toml`, configured in `obj` with `cache`.
    fn configure(src: &Path, obj: &Path, cache: &Path, policy: &str, cmake: &[&str]) -> Built {
        std::fs::write(src.join("cached-ninja.toml"), policy).unwrap();
        let b = Built {
            obj: obj.to_path_buf(),
            cache: cache.to_path_buf(),
        };
        support::cmake_configure(&mut b.cn(), src, obj, cmake);
        b
    }

    fn cn(&self) -> Command {
        let mut c = Command::new(cached_ninja());
        // (The hung compilers of `Hung` hang whenever it is set.)
        c.env("CACHED_NINJA_CACHE_DIR", &self.cache)
            .env_remove("DISTCC_FALLBACK");
        c
    }

    /// `cached-ninja build --no-fill -C obj EXTRA…`; must succeed.
    fn build(&self, extra: &[&str]) -> Output {
        let out = run(self
            .cn()
            .args(["build", "--no-fill", "-C"])
            .arg(&self.obj)
            .args(extra));
        assert!(out.status.success(), "build failed:\n{}", text(&out));
        out
    }

    /// `cached-ninja stats --json` of the last build.
    fn stats(&self) -> serde_json::Value {
        let out = run_ok(self.cn().args(["stats", "--json", "-C"]).arg(&self.obj));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The policy that hands misses to `distccd` (no split DWARF: distcc compiles such edges
/// locally, see `split_dwarf_compiles_stay_local_with_distcc_and_the_fill_completes`).
fn distcc_policy(addr: &str, slots: usize) -> String {
    format!("[distribute]\nengine = \"distcc\"\nhosts = \"{addr}/{slots}\"\n")
}

/// The example project's sources copied to `<root>/<at>`.
fn example_at(root: &Path, at: &str) -> PathBuf {
    let src = root.join(at);
    copy_tree(&repo_root().join("examples/shapes"), &src);
    src
}

/// gdb on `binary` stopped at `circle_area`: its argument and its source line.
fn gdb_at_circle_area(obj: &Path) -> String {
    require_tool("gdb", "gdb");
    let out = run(Command::new("gdb")
        .args(["-batch", "-nx", "-x"])
        .arg(obj.join(".cached-ninja/gdbinit"))
        .args(["-ex", "break circle_area", "-ex", "run"])
        .args(["-ex", "info args", "-ex", "list"])
        .arg(obj.join("shapes")));
    text(&out)
}

#[test]
fn example_misses_compile_on_distcc_are_cached_and_hit_elsewhere() {
    let space = TestSpace::new();
    let root = space.path();
    let daemon = Distccd::start(&root.join("distccd"), 4, None);
    let policy = distcc_policy(&daemon.addr, 4);
    let cache = root.join("cache");
    let src = example_at(root, "src");
    let b = Built::configure(&src, &root.join("obj"), &cache, &policy, &[]);
    let out = b.build(&[]);
    assert!(
        text(&out).contains("misses compile on distcc (4 remote slots)"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("warning"), "{}", text(&out));
    let s = b.stats();
    assert_eq!(s["misses"], EXAMPLE_COMPILES, "{s}");
    assert_eq!(s["distributed"], EXAMPLE_COMPILES, "{s}");
    assert_eq!(
        daemon.compiles() as u64,
        EXAMPLE_COMPILES,
        "{}",
        daemon.log_text()
    );

    // gdb works on what distcc compiled (full DWARF in the objects), sources mapped back.
    let g = gdb_at_circle_area(&b.obj);
    assert!(g.contains("r = 1\n"), "args:\n{g}");
    assert!(g.contains("return PI * r * r;"), "source:\n{g}");

    // The objects are those a local compile makes, byte for byte (gcc and g++).
    let local = Built::configure(
        &example_at(root, "local/src"),
        &root.join("local/obj"),
        &root.join("local-cache"),
        "",
        &[],
    );
    local.build(&[]);
    let local_obj = local.obj.clone();
    // The objects are a local compile's: the same code and debug info, but for
    // `DW_AT_producer`, which names gcc's `-fdirectives-only`.
    let (remote, local) = (support::objects(&b.obj), support::objects(&local.obj));
    assert_eq!(remote.len() as u64, EXAMPLE_COMPILES);
    assert_eq!(
        remote.keys().collect::<Vec<_>>(),
        local.keys().collect::<Vec<_>>()
    );
    for name in remote.keys() {
        let (r, l) = (b.obj.join(name), local_obj.join(name));
        assert_eq!(disassembly(&r), disassembly(&l), "{name}");
        assert_eq!(debug_info(&r), debug_info(&l), "{name}");
    }

    // Cached: a fresh directory at another path hits on every compile, with distccd gone.
    drop(daemon);
    let other = Built::configure(
        &example_at(root, "dev/elsewhere/src"),
        &root.join("dev/elsewhere/obj"),
        &cache,
        &policy,
        &[],
    );
    other.build(&[]);
    assert_eq!(support::hits_misses(&other.obj), (EXAMPLE_COMPILES, 0));
    let run_shapes = |obj: &Path| run_ok(&mut Command::new(obj.join("shapes"))).stdout;
    assert_eq!(run_shapes(&other.obj), run_shapes(&b.obj));
}

/// `objdump -d` of an object without its file name line.
fn disassembly(object: &Path) -> String {
    let out = run_ok(Command::new("objdump").arg("-d").arg(object));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `readelf -wi` of an object without `DW_AT_producer` and without the offsets of strings
/// (which move when the producer's length does).
fn debug_info(object: &Path) -> String {
    let out = run_ok(Command::new("readelf").arg("-wi").arg(object));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.contains("DW_AT_producer"))
        .map(
            |l| match (l.find("(indirect string, offset: 0x"), l.find("): ")) {
                (Some(a), Some(b)) if b > a => format!("{}{}", &l[..a], &l[b + 3..]),
                _ => l.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_dead_engine_means_local_compiles_and_one_warning_line() {
    let space = TestSpace::new();
    let root = space.path();
    // Nothing listens on this port: distcc cannot connect.
    let addr = format!("127.0.0.1:{}", free_port());
    let src = example_at(root, "src");
    let b = Built::configure(
        &src,
        &root.join("obj"),
        &root.join("cache"),
        &distcc_policy(&addr, 4),
        &[],
    );
    let out = b.build(&[]);
    assert_all_local_with_one_warning(&b, &text(&out), "distcc exited 116");
    assert_eq!(b.stats()["failed"], 0);
    run_ok(&mut Command::new(b.obj.join("shapes")));

    // A client that is not installed is the same: local compiles, one warning.
    let b2 = Built::configure(
        &example_at(root, "src2"),
        &root.join("obj2"),
        &root.join("cache2"),
        &distcc_policy(&addr, 4),
        &[],
    );
    let out = run(b2
        .cn()
        .args(["build", "--no-fill", "-C"])
        .arg(&b2.obj)
        .env("PATH", tools_but_distcc(root)));
    assert!(out.status.success(), "{}", text(&out));
    assert_all_local_with_one_warning(&b2, &text(&out), "cannot run distcc");
}

/// A directory for `PATH` with what a build runs by name (ninja, the assembler and linker),
/// and no distcc.
fn tools_but_distcc(root: &Path) -> PathBuf {
    let bin = root.join("bin-without-distcc");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "ninja",
        "as",
        "ld",
        "ld.bfd",
        "x86_64-linux-gnu-as",
        "x86_64-linux-gnu-ld",
    ] {
        if let Some(found) = std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
        {
            std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
        }
    }
    bin
}

/// With one CPU token (`-j1`), compiles waiting on the network run side by side: distcc
/// reaches distccd through a link that holds each connection a second before passing it on,
/// and the link records how many were open at once.
#[test]
fn a_distributed_compile_holds_no_cpu_token_while_it_waits_on_the_network() {
    let space = TestSpace::new();
    let root = space.path();
    let daemon = Distccd::start(&root.join("distccd"), 8, None);
    let link = SlowLink::start(&daemon.addr, std::time::Duration::from_secs(1));
    let b = Built::configure(
        &example_at(root, "src"),
        &root.join("obj"),
        &root.join("cache"),
        &distcc_policy(&link.addr, 8),
        &[],
    );
    b.build(&["-j1"]);
    assert_eq!(b.stats()["distributed"], EXAMPLE_COMPILES);
    assert_eq!(daemon.compiles() as u64, EXAMPLE_COMPILES);
    assert!(
        link.most_at_once() > 1,
        "with one CPU token, compiles waiting on the network overlap: {} at once",
        link.most_at_once()
    );
}

/// distcc returns no `.dwo` (its server writes it into a temporary directory and the
/// skeleton names that): split-DWARF compiles stay local, and the fill then makes the debug
/// info complete, as gdb shows.
#[test]
fn split_dwarf_compiles_stay_local_with_distcc_and_the_fill_completes() {
    let space = TestSpace::new();
    let root = space.path();
    let daemon = Distccd::start(&root.join("distccd"), 4, None);
    let p = project::Project::two_files(root, &distcc_policy(&daemon.addr, 4), &root.join("cache"));
    p.build_objects_only();
    assert_eq!(daemon.compiles(), 0, "{}", daemon.log_text());
    let out = p.fill();
    assert!(out.status.success(), "{}", project::text(&out));
    project::assert_gdb_filled(&p.gdb("two", "b.c:4"));
}

#[test]
fn libgit2_misses_compile_on_distcc_are_cached_and_hit_elsewhere() {
    let space = TestSpace::new();
    let root = space.path();
    let daemon = Distccd::start(&root.join("distccd"), 4, None);
    let policy = distcc_policy(&daemon.addr, 4);
    let cache = root.join("cache");
    let lib = support::third_party_src("libgit2");
    let src = root.join("libgit2");
    copy_tree(&lib, &src);
    let args = ["-DBUILD_TESTS=OFF", "-DBUILD_CLI=OFF"];
    let b = Built::configure(&src, &root.join("obj"), &cache, &policy, &args);
    b.build(&[]);
    let s = b.stats();
    let misses = s["misses"].as_u64().unwrap();
    assert!(misses > 150, "{s}");
    assert_eq!(s["distributed"], misses, "{s}");
    assert_eq!(daemon.compiles() as u64, misses);

    // gdb reads the library's debug info and finds its sources through the mapping.
    let lib = std::fs::read_dir(&b.obj)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("libgit2.so.")
        })
        .expect("libgit2.so built");
    let g = text(&run(Command::new("gdb")
        .args(["-batch", "-nx", "-x"])
        .arg(b.obj.join(".cached-ninja/gdbinit"))
        .args(["-ex", "info line git_libgit2_version"])
        .args(["-ex", "list git_libgit2_version"])
        .arg(&lib)));
    assert!(g.contains("libgit2.c"), "{g}");
    assert!(g.contains("int git_libgit2_version("), "{g}");

    drop(daemon);
    let other_src = root.join("dev/elsewhere/libgit2");
    copy_tree(&src, &other_src);
    let other = Built::configure(
        &other_src,
        &root.join("dev/elsewhere/obj"),
        &cache,
        &policy,
        &args,
    );
    other.build(&[]);
    assert_eq!(support::hits_misses(&other.obj), (misses, 0));
}

/// icecream returns the `.dwo` of a split-DWARF compile: the example project's misses compile
/// on the farm's other node, the debug info is complete after the fill (objects only, then
/// `dbgfetch fill`), a fresh directory elsewhere hits on every compile; libgit2's misses too;
/// with the local daemon stopped the build compiles locally with one warning. (One farm for
/// all: it takes minutes to accept its first job.)
#[test]
fn example_and_libgit2_misses_compile_on_icecream_with_split_dwarf_and_the_fill_completes() {
    let space = TestSpace::new();
    let root = space.path();
    let mut farm = Icecream::start(&root.join("icecream"));
    farm.wait_ready(std::time::Duration::from_secs(600));
    let before = farm.remote_compiles();
    let policy = "split_dwarf = true\n[distribute]\nengine = \"icecc\"\nslots = 2\n";
    let cache = root.join("cache");
    let b = Built::configure(
        &example_at(root, "src"),
        &root.join("obj"),
        &cache,
        policy,
        &[],
    );
    let out = on_node_a(&farm, &b);
    assert!(!out.contains("warning"), "{out}");
    assert_eq!(b.stats()["distributed"], EXAMPLE_COMPILES, "{out}");
    assert_eq!((farm.remote_compiles() - before) as u64, EXAMPLE_COMPILES);
    let dwos = project::files_named(&b.obj, ".dwo");
    assert_eq!(
        dwos.len() as u64,
        EXAMPLE_COMPILES,
        "icecream returned the .dwo files"
    );

    // Objects only (as a developer's pull leaves them), then the fill: gdb sees it all.
    for dwo in dwos {
        std::fs::remove_file(dwo).unwrap();
    }
    let fill = run(Command::new(project::dbgfetch())
        .env("CACHED_NINJA_CACHE_DIR", &cache)
        .args(["fill", "--wait", "-C"])
        .arg(&b.obj));
    assert!(fill.status.success(), "{}", text(&fill));
    let g = gdb_at_circle_area(&b.obj);
    assert!(g.contains("r = 1\n"), "args:\n{g}");
    assert!(g.contains("return PI * r * r;"), "source:\n{g}");
    assert!(!g.contains("Could not find DWO"), "{g}");

    // Cached: elsewhere, every compile hits.
    let other = Built::configure(
        &example_at(root, "dev/elsewhere/src"),
        &root.join("dev/elsewhere/obj"),
        &cache,
        policy,
        &[],
    );
    on_node_a(&farm, &other);
    assert_eq!(support::hits_misses(&other.obj), (EXAMPLE_COMPILES, 0));

    // libgit2's misses on the farm too, then hits elsewhere.
    let before = farm.remote_compiles();
    let src = root.join("libgit2");
    copy_tree(&support::third_party_src("libgit2"), &src);
    let args = ["-DBUILD_TESTS=OFF", "-DBUILD_CLI=OFF"];
    let lib = Built::configure(&src, &root.join("libgit2-obj"), &cache, policy, &args);
    on_node_a(&farm, &lib);
    let s = lib.stats();
    let misses = s["misses"].as_u64().unwrap();
    assert!(misses > 150, "{s}");
    // icecream may keep a job on the asking machine (its scheduler's choice); such a job is
    // counted local: what counts as distributed is exactly what node B compiled.
    let distributed = s["distributed"].as_u64().unwrap();
    assert_eq!((farm.remote_compiles() - before) as u64, distributed, "{s}");
    assert!(distributed * 10 >= misses * 9, "{s}");
    let other_src = root.join("dev/elsewhere/libgit2");
    copy_tree(&src, &other_src);
    let other = Built::configure(
        &other_src,
        &root.join("dev/elsewhere/libgit2-obj"),
        &cache,
        policy,
        &args,
    );
    on_node_a(&farm, &other);
    assert_eq!(support::hits_misses(&other.obj), (misses, 0));

    // The local daemon gone: local compiles, one warning line.
    farm.stop_local_daemon();
    let down = Built::configure(
        &example_at(root, "down/src"),
        &root.join("down/obj"),
        &root.join("down/cache"),
        policy,
        &[],
    );
    assert_all_local_with_one_warning(&down, &on_node_a(&farm, &down), "no icecream daemon");
}

/// `cached-ninja build` of `b` run on the farm's node A; must succeed. Its output.
fn on_node_a(farm: &Icecream, b: &Built) -> String {
    let out = run(farm
        .command(&cached_ninja())
        .env("CACHED_NINJA_CACHE_DIR", &b.cache)
        .args(["build", "--no-fill", "-C"])
        .arg(&b.obj));
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// A remote compile slower than `timeout_s` is killed: local compiles, one warning line.
#[test]
fn an_engine_slower_than_its_limit_means_local_compiles() {
    let space = TestSpace::new();
    let root = space.path();
    let daemon = Distccd::start(&root.join("distccd"), 4, None);
    let link = SlowLink::start(&daemon.addr, std::time::Duration::from_secs(30));
    let policy = format!("{}timeout_s = 1\n", distcc_policy(&link.addr, 4));
    let b = Built::configure(
        &example_at(root, "src"),
        &root.join("obj"),
        &root.join("cache"),
        &policy,
        &[],
    );
    assert_all_local_with_one_warning(&b, &text(&b.build(&[])), "within 1 s (killed)");
    assert_eq!(daemon.compiles(), 0);
}

/// An engine's compile that outlives its limit is killed with everything it started: here the
/// compiler distcc runs on this machine (`localhost`) hangs holding distcc's output pipes.
/// Killing distcc alone left it, and the launcher waited for the pipes (300 s).
#[test]
fn an_engine_run_past_its_limit_is_killed_with_what_it_started() {
    let space = TestSpace::new();
    let root = space.path();
    let hung = Hung::compilers(&space);
    let policy = format!("{}timeout_s = 1\n", distcc_policy("localhost", 4));
    let b = Built::configure(
        &example_at(root, "src"),
        &root.join("obj"),
        &root.join("cache"),
        &policy,
        &hung.cmake_args().each_ref().map(String::as_str),
    );
    let build = b
        .cn()
        .args(["build", "--no-fill", "-C"])
        .arg(&b.obj)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(build.wait_with_output()));
    let out = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the build waited for a hung compile past the engine's limit")
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_all_local_with_one_warning(&b, &text(&out), "within 1 s (killed)");
    hung.assert_all_ended();
}

/// Ctrl-C during an engine's compile stops what the compile started: it runs in a process
/// group of its own, to which the launcher passes the signal on.
#[test]
fn ctrl_c_during_an_engine_run_stops_what_it_started() {
    let space = TestSpace::new();
    let root = space.path();
    let hung = Hung::compilers(&space);
    let b = Built::configure(
        &example_at(root, "src"),
        &root.join("obj"),
        &root.join("cache"),
        &distcc_policy("localhost", 4),
        &hung.cmake_args().each_ref().map(String::as_str),
    );
    let mut build = b.cn();
    build
        .args(["build", "--no-fill", "-C"])
        .arg(&b.obj)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut build = support::signals_as_in_a_terminal(&mut build)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while hung.pids().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!hung.pids().is_empty(), "no compile started on distcc");
    // SAFETY: kill(2) of our unreaped child.
    unsafe { libc::kill(build.id() as libc::pid_t, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = build.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the build did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    hung.assert_all_ended();
}

/// Compilers (`cc`, `c++`) that, run by distcc, record their pid and hang holding its pipes;
/// run by anyone else, they are gcc and g++. Dropping kills what is still hung.
struct Hung {
    bin: PathBuf,
    pids: PathBuf,
}

impl Hung {
    /// The compilers in `<space>/hung-bin`, recording to `<space>/hung-pids`.
    fn compilers(space: &TestSpace) -> Hung {
        require_tool("distcc", "distcc");
        let hung = Hung {
            bin: space.path().join("hung-bin"),
            pids: space.path().join("hung-pids"),
        };
        for (name, real) in [("cc", "gcc"), ("c++", "g++")] {
            let script = format!(
                "#!/bin/sh\nif [ -n \"$DISTCC_FALLBACK\" ]; then echo $$ >> '{}'; exec sleep 300; fi\nexec {real} \"$@\"\n",
                hung.pids.display()
            );
            space.write_script(&format!("hung-bin/{name}"), &script);
        }
        hung
    }

    /// CMake's arguments that make them the project's compilers.
    fn cmake_args(&self) -> [String; 2] {
        [
            format!("-DCMAKE_C_COMPILER={}", self.bin.join("cc").display()),
            format!("-DCMAKE_CXX_COMPILER={}", self.bin.join("c++").display()),
        ]
    }

    /// The pids recorded so far.
    fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(&self.pids)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// At least one compile hung, and every one has ended.
    fn assert_all_ended(&self) {
        let pids = self.pids();
        assert!(!pids.is_empty(), "no compile ran on distcc");
        for pid in pids {
            assert!(
                support::ends_within(pid, Duration::from_secs(20)),
                "the hung compiler {pid} outlived its launcher"
            );
        }
    }
}

impl Drop for Hung {
    /// Kills those still hung (a failed test), checking that each pid is still a hung one.
    fn drop(&mut self) {
        for pid in self.pids() {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline == b"sleep\x00300\x00" {
                // SAFETY: kill(2) of the hung compiler just seen under this pid.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

/// The build of the example project `b` printed `out`: one warning line, naming `why` and
/// saying the build compiles locally, and every compile a local miss.
fn assert_all_local_with_one_warning(b: &Built, out: &str, why: &str) {
    let warnings: Vec<&str> = out.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "one warning line:\n{out}");
    assert!(
        warnings[0].contains(why) && warnings[0].contains("compiling locally"),
        "{}",
        warnings[0]
    );
    let s = b.stats();
    assert_eq!(
        (s["misses"].as_u64(), s["distributed"].as_u64()),
        (Some(EXAMPLE_COMPILES), Some(0)),
        "{s}"
    );
}
