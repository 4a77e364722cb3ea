//! Entries added to `.ninja_log` and `.ninja_deps` against the real Ninja: byte for byte
//! what Ninja writes for the same edge, and what makes Ninja skip the edge.

use backend::ninja::build_log::{self, LogEntry, LogVersion};
use backend::ninja::deps_log::{self, DepsLog};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// A `deps = gcc` compile-like edge (its command writes the output and a depfile naming
/// two inputs, one through `./` so the depfile's paths need canonicalising) and a link.
const BUILD: &str = "rule cc
  command = printf 'obj\\n' > $out && printf '$out: ./$in sub/../a.h\\n' > $out.d
  depfile = $out.d
  deps = gcc
rule link
  command = cat $in > $out
build a.o: cc a.c
build prog: link a.o
";

fn ninja(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("ninja")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ninja runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn project(dir: &Path) {
    std::fs::write(dir.join("build.ninja"), BUILD).unwrap();
    std::fs::write(dir.join("a.c"), "int a;\n").unwrap();
    std::fs::write(dir.join("a.h"), "int b;\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
}

fn mtime_ns(p: &Path) -> i64 {
    let m = std::fs::metadata(p).unwrap();
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

/// What this Ninja's build log version is.
fn log_version() -> LogVersion {
    let v = Command::new("ninja").arg("--version").output().unwrap();
    LogVersion::of_ninja(&String::from_utf8_lossy(&v.stdout)).expect("a Ninja from 1.10 to 1.12")
}

/// The `.o` edge's command as the graph evaluates it for the log.
fn command_of_a(dir: &Path) -> Vec<u8> {
    let m = backend::ninja::load(&dir.join("build.ninja")).unwrap();
    let g = m.graph();
    let e = g.in_edge(g.lookup(b"a.o").unwrap()).unwrap();
    g.try_command_for_log(e).unwrap()
}

/// Writes what the `.o` edge makes, and our entries for it, in `dir`; `with_deps`: its deps.
fn made_before_ninja(dir: &Path, with_deps: bool) {
    std::fs::write(dir.join("a.o"), "obj\n").unwrap();
    let mtime = mtime_ns(&dir.join("a.o"));
    let entry = LogEntry {
        output: b"a.o".to_vec(),
        start_ms: 0,
        end_ms: 1,
        mtime,
        command_hash: build_log::command_hash(&command_of_a(dir)),
    };
    build_log::append(&dir.join(build_log::FILE), log_version(), &[entry]).unwrap();
    if with_deps {
        let mut deps = DepsLog::open(&dir.join(deps_log::FILE)).unwrap();
        deps.record(b"a.o", mtime, &[b"a.c", b"a.h"]).unwrap();
        deps.write().unwrap();
    }
}

#[test]
fn ninja_skips_an_edge_whose_entries_we_added() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    made_before_ninja(dir.path(), true);
    let explained = ninja(dir.path(), &["-d", "explain"]);
    assert!(
        explained.contains("[1/1] cat a.o > prog") && !explained.contains("printf"),
        "Ninja ran the edge we made: {explained}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("prog")).unwrap(),
        "obj\n"
    );
    // Ninja's next run has nothing to do, and its files still read (no "starting over").
    let again = ninja(dir.path(), &["-d", "explain"]);
    assert!(again.contains("no work to do"), "{again}");
    // A changed input makes Ninja run the edge, as for one it ran itself.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(dir.path().join("a.h"), "int c;\n").unwrap();
    let changed = ninja(dir.path(), &["-d", "explain", "-n"]);
    assert!(changed.contains("a.o"), "{changed}");
}

#[test]
fn without_deps_ninja_runs_the_edge() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    made_before_ninja(dir.path(), false);
    let explained = ninja(dir.path(), &["-d", "explain", "-n"]);
    assert!(
        explained.contains("deps for 'a.o' are missing"),
        "{explained}"
    );
}

#[test]
fn our_entries_are_ninjas_byte_for_byte() {
    let ran = tempfile::tempdir().unwrap();
    project(ran.path());
    ninja(ran.path(), &["a.o"]);
    let ninja_log = std::fs::read_to_string(ran.path().join(build_log::FILE)).unwrap();
    let ninja_deps = std::fs::read(ran.path().join(deps_log::FILE)).unwrap();
    // Ninja's line: start, end, mtime, output, hash; ours with its times.
    let line = ninja_log.lines().nth(1).unwrap();
    let f: Vec<&str> = line.split('\t').collect();
    let ours = tempfile::tempdir().unwrap();
    let mtime: i64 = f[2].parse().unwrap();
    let entry = LogEntry {
        output: b"a.o".to_vec(),
        start_ms: f[0].parse().unwrap(),
        end_ms: f[1].parse().unwrap(),
        mtime,
        command_hash: build_log::command_hash(&command_of_a(ran.path())),
    };
    let log = ours.path().join(build_log::FILE);
    build_log::append(&log, log_version(), &[entry]).unwrap();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), ninja_log);
    let mut deps = DepsLog::open(&ours.path().join(deps_log::FILE)).unwrap();
    let mtime = mtime_ns(&ran.path().join("a.o"));
    deps.record(b"a.o", mtime, &[b"a.c", b"a.h"]).unwrap();
    deps.write().unwrap();
    assert_eq!(
        std::fs::read(ours.path().join(deps_log::FILE)).unwrap(),
        ninja_deps
    );
}
