//! A bad network never makes a build wrong and says so once (issue 16). CI builds the example
//! project and publishes it to a real nginx (WebDAV); a developer builds through our
//! fault-injecting proxy in front of it (`tests/support/faultproxy.py`, loopback only):
//! refused connections, a black hole, 500s, resets mid-body, truncated bodies, wrong bytes,
//! a 10 KB/s trickle. Each build completes with CI's objects byte for byte (the same as a
//! `--no-fetch` build), with at most one warning line for the store. A store that failed hard
//! is recorded (`.cached-ninja/stores-down`), and the next build (a no-op) sends it nothing:
//! the proxy's connection log does not grow.

mod support;

use std::process::Output;
use std::time::{Duration, Instant};
use support::published::{cn, finished, wait_until, Proxy, World, PATIENT};
use support::servers;
use support::{edge_log, git, hits_misses, objects, run_ok};

fn world() -> World {
    World::shapes()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn warnings(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.contains("warning"))
        .map(str::to_string)
        .collect()
}

/// Builds through `url`; checks CI's objects and at most one warning line; returns the output.
fn build(w: &World, url: &str) -> Output {
    build_with(w, url, "")
}

/// [`build`] with more policy lines (`[fetch]` ones).
fn build_with(w: &World, url: &str, more: &str) -> Output {
    build_with_env(w, url, more, &[])
}

/// [`build_with`] with more environment variables (test knobs).
fn build_with_env(w: &World, url: &str, more: &str, envs: &[(&str, &str)]) -> Output {
    w.policy(&w.obj, url, more);
    let t = Instant::now();
    let mut cmd = cn(&w.cache);
    let out = run_ok(
        cmd.envs(envs.iter().copied())
            .args(["build", "-C"])
            .arg(&w.obj),
    );
    eprintln!("{}", stderr(&out));
    // A generous bound that cannot flake: the faults here cost seconds at most.
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    assert_eq!(objects(&w.obj), w.ci_objects, "{}", stderr(&out));
    let warn = warnings(&out);
    assert!(
        warn.len() <= 1,
        "at most one warning line:\n{}",
        stderr(&out)
    );
    out
}

/// A store that fails hard: one line naming it, what happened and the time lost; the record
/// for later builds; a second (no-op) build sends it nothing and says it was skipped.
fn hard_fault(mode: &str, only: &str, kind: &str) {
    hard_fault_with(mode, only, kind, "");
}

/// [`hard_fault`] with more policy lines (`[fetch]` ones).
fn hard_fault_with(mode: &str, only: &str, kind: &str, more: &str) {
    let w = world();
    let proxy = Proxy::start(&w, mode, only);
    let url = format!("http://127.0.0.1:{}/cn", proxy.port);
    let out = build_with(&w, &url, more);
    let warn = warnings(&out);
    assert_eq!(warn.len(), 1, "{}", stderr(&out));
    assert!(
        warn[0].contains(&format!("remote {url} {kind}:"))
            && warn[0].contains(" s lost, compiling locally"),
        "{mode}: {}",
        warn[0]
    );
    assert!(
        stderr(&out).contains("s waiting on the network"),
        "{}",
        stderr(&out)
    );
    let down = std::fs::read_to_string(w.obj.join(".cached-ninja/stores-down")).unwrap();
    assert!(down.starts_with(&format!("{url}\t")), "{down}");
    assert!(down.contains(&format!("\t{kind}\t")), "{down}");

    let before = proxy.connections();
    let out = build_with(&w, &url, more);
    let warn = warnings(&out);
    assert_eq!(warn.len(), 1, "{}", stderr(&out));
    assert!(
        warn[0].contains(&format!("remote {url} skipped: {kind}"))
            && warn[0].contains("0.0 s lost"),
        "{}",
        warn[0]
    );
    assert_eq!(proxy.connections(), before, "the skipped store was asked");
}

#[test]
fn refused_connections_compile_locally_and_skip_the_store_next_time() {
    let w = world();
    let url = format!("http://127.0.0.1:{}/cn", servers::free_port());
    let out = build(&w, &url);
    let warn = warnings(&out);
    assert_eq!(warn.len(), 1, "{}", stderr(&out));
    assert!(
        warn[0].contains(&format!("remote {url} unreachable:"))
            && warn[0].contains("Connection refused"),
        "{}",
        warn[0]
    );
    let out = build(&w, &url);
    assert!(
        warnings(&out)[0].contains("skipped: unreachable"),
        "{}",
        stderr(&out)
    );
}

/// The first-byte timeout is shorter than the build here: a black hole that outlasts the
/// build is `launchers_do_not_wait_for_a_store_that_never_answers`.
#[test]
fn black_hole_costs_one_first_byte_timeout_then_nothing() {
    let timeout = "[fetch]\nfirst_byte_timeout_ms = 250\n";
    hard_fault_with("blackhole", "", "unreachable", timeout);
}

#[test]
fn server_errors_trip_the_breaker() {
    hard_fault("500", "", "failing");
}

#[test]
fn reset_mid_body_trips_the_breaker() {
    hard_fault("reset", "/cas/", "unreachable");
}

#[test]
fn truncated_bodies_trip_the_breaker() {
    hard_fault("truncate", "/cas/", "unreachable");
}

#[test]
fn a_trickling_store_is_given_up_as_slow() {
    hard_fault("trickle", "/cas/", "slow");
}

#[test]
fn wrong_bytes_are_rejected_per_object_in_one_line() {
    let w = world();
    let proxy = Proxy::start(&w, "wrong", "/cas/");
    let url = format!("http://127.0.0.1:{}/cn", proxy.port);
    let out = build(&w, &url);
    let warn = warnings(&out);
    assert_eq!(warn.len(), 1, "{}", stderr(&out));
    assert!(warn[0].contains("compile locally"), "{}", warn[0]);
    assert!(
        !w.obj.join(".cached-ninja/stores-down").exists(),
        "corrupt objects are not a dead store"
    );
}

#[test]
fn a_healthy_proxy_changes_nothing() {
    let w = world();
    let proxy = Proxy::start(&w, "pass", "");
    let url = format!("http://127.0.0.1:{}/cn", proxy.port);
    let out = build_with_env(&w, &url, "", &[PATIENT]);
    assert!(warnings(&out).is_empty(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("5 from the local cache (5 entries pulled"),
        "{}",
        stderr(&out)
    );
}

/// The build ends when Ninja ends: a pull whose blobs are held at the proxy until after the
/// test (launchers waiting 0.2 s, each request given ten minutes) is cancelled when the last
/// edge is done, and the build returns; the marker is gone and what the pull did not bring
/// was compiled. (With blobs trickled at 10 KB/s the pull could end first on a loaded
/// machine; with the default 2 s a trickled request timed out first, and its warning failed
/// the test.)
#[test]
fn the_build_does_not_wait_for_a_pull_after_ninja() {
    let w = world();
    let never = w.space.path().join("never").display().to_string();
    let proxy = Proxy::start_with(&w, "hold", "/cas/", &["--gate", &never]);
    let url = format!("http://127.0.0.1:{}/cn", proxy.port);
    let fetch = "[fetch]\nwait_ms = 200\nfirst_byte_timeout_ms = 600000\n";
    let out = build_with(&w, &url, fetch);
    let err = stderr(&out);
    assert!(
        err.contains("pull stopped when Ninja finished (") && err.contains("/5 records handled)"),
        "{err}"
    );
    assert!(warnings(&out).is_empty(), "{err}");
    assert!(!w.obj.join(".cached-ninja/pulling").exists());
    assert!(
        !w.obj.join(".cached-ninja/stores-down").exists(),
        "not a failure"
    );
}

/// The pids of the children of process `pid`.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A proxy that holds the plan's requests of `method` (all: "") whose path contains `only`
/// until `gate` exists, in the policy of the developer's object directory (with a first-byte
/// timeout and a wait budget of a minute).
fn plan_held_until(w: &World, gate: &std::path::Path, only: &str, method: &str) -> Proxy {
    let gate_arg = gate.display().to_string();
    let args = ["--gate", &gate_arg, "--method", method];
    let proxy = Proxy::start_with(w, "hold", only, &args);
    w.policy(
        &w.obj,
        &proxy.url(),
        "[fetch]\nfirst_byte_timeout_ms = 60000\nwait_ms = 60000\n",
    );
    proxy
}

/// The plan's manifest is held at the proxy (the store answered the search's requests: the
/// `GET`s of the working revision and its parent, 404s, and the `HEAD` that found CI's
/// revision two commits back): Ninja starts anyway, its launchers miss and wait for the plan
/// (the marker says `planning`, no longer with the search's start: a store answered); once the
/// manifest comes, the pull brings every object and nothing is compiled. (Before, Ninja started
/// only after the plan was found.) Only the manifest of CI's revision is held, and it is two
/// commits back (a second local commit): a `GET` asked as a `HEAD`, the working revision's or
/// its parent's, would have to be let through within a `HEAD`'s limit (10 s).
#[test]
fn launchers_wait_for_a_plan_looked_for_beside_ninja() {
    let w = world();
    let gate = w.space.path().join("gate");
    git(
        &w.dev,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "a second local commit",
        ],
    );
    let ci_revision = git(&w.dev, &["rev-parse", "HEAD~2"]);
    let _proxy = plan_held_until(&w, &gate, &format!("/{ci_revision}"), "GET");
    let build = w.spawn_build(&w.obj);
    let launchers = || children(build.id()).into_iter().flat_map(children).count();
    let marker =
        || std::fs::read_to_string(w.obj.join(".cached-ninja/pulling")).unwrap_or_default();
    wait_until("the store answers while its manifest is held", || {
        marker().trim_end().ends_with(" planning")
    });
    wait_until("Ninja runs launchers while the plan is held", || {
        launchers() > 0
    });
    // Well past the patience with a silent store: they still wait.
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        marker().trim_end().ends_with(" planning"),
        "the manifest is held: no pull yet"
    );
    std::fs::write(&gate, "").unwrap();
    let out = finished(build);
    let err = stderr(&out);
    assert_eq!(objects(&w.obj), w.ci_objects, "{err}");
    assert_eq!(hits_misses(&w.obj), (5, 0), "{}", edge_log(&w.obj));
    assert!(err.contains("CI's build looked for in "), "{err}");
    assert!(!w.obj.join(".cached-ninja/pulling").exists());
}

/// A full build with a store that accepts connections and never answers (the search's
/// `HEAD`s are held): launchers that miss wait for the plan only briefly, not for the store's
/// first-byte timeout or their wait budget (a minute each), and compile; the marker says since
/// when the store has been silent; one line names the silent store, nothing is recorded (it
/// is not known dead).
#[test]
fn launchers_do_not_wait_for_a_store_that_never_answers() {
    let w = world();
    let _proxy = plan_held_until(&w, &w.space.path().join("never"), "/builds/", "");
    let t = Instant::now();
    let build = w.spawn_build(&w.obj);
    let path = w.obj.join(".cached-ninja/pulling");
    // The marker says `planning` while the revisions are listed, then since when the stores
    // are asked.
    let asked = || {
        let m = std::fs::read_to_string(&path).unwrap_or_default();
        (m.split_whitespace().count() == 5).then_some(m)
    };
    wait_until("the stores asked", || asked().is_some());
    let marker = asked().unwrap();
    let out = finished(build);
    // A bound that cannot flake: waiting for the store would take the minute.
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    let words: Vec<&str> = marker.split_whitespace().collect();
    assert!(
        words.len() == 5 && words[3] == "planning" && words[4].parse::<u64>().is_ok(),
        "the stores' asking is in the marker: {marker}"
    );
    let err = stderr(&out);
    assert_eq!(objects(&w.obj), w.ci_objects, "{err}");
    assert_eq!(hits_misses(&w.obj), (0, 5), "{}", edge_log(&w.obj));
    assert!(
        err.contains("Ninja finished before CI's build was found"),
        "{err}"
    );
    let warn = warnings(&out);
    assert_eq!(warn.len(), 1, "{err}");
    assert!(
        warn[0].contains(" silent: no answer in ")
            && warn[0].contains("Ninja finished first; at most 0.3 s lost, compiled locally"),
        "{}",
        warn[0]
    );
    assert!(!w.obj.join(".cached-ninja/stores-down").exists());
}

/// A no-op build with a store that never answers returns when Ninja does: it does not wait
/// for the plan (here a first-byte timeout of a minute), and says so.
#[test]
fn a_no_op_build_does_not_wait_for_a_silent_store() {
    let w = world();
    run_ok(
        cn(&w.cache)
            .args(["build", "--no-fetch", "--no-fill", "-C"])
            .arg(&w.obj),
    );
    let _proxy = plan_held_until(&w, &w.space.path().join("never"), "/builds/", "");
    let t = Instant::now();
    let out = finished(w.spawn_build(&w.obj));
    // A bound that cannot flake: the store's answer would take the minute.
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    let err = stderr(&out);
    assert!(err.contains("0/0 edges run"), "{err}");
    assert!(
        err.contains("Ninja finished before CI's build was found"),
        "{err}"
    );
    assert!(warnings(&out).is_empty(), "{err}");
    assert!(
        !w.obj.join(".cached-ninja/stores-down").exists(),
        "nothing is known of the store"
    );
}

/// A `file://` store on a mount that hangs (a dead NFS server mounted hard): its reads block.
/// Simulated by the store's blobs replaced with FIFOs, which block a plain `open`. The store
/// read them without a bound and no breaker tripped: every launcher waited its whole budget
/// for the stuck pull, and the build said nothing (a review, 2026-12-05). Now a read that is
/// no regular file, or that blocks past the first-byte timeout, fails the store hard: one
/// warning line, local compiles, the store recorded as down.
#[test]
fn a_file_store_whose_reads_hang_is_given_up() {
    let w = world();
    let store = w.nginx.file("cn");
    let cas = store.join("cas");
    let blobs: Vec<_> = walk(&cas);
    assert!(
        !blobs.is_empty(),
        "CI published no blobs under {}",
        cas.display()
    );
    for b in &blobs {
        std::fs::remove_file(b).unwrap();
        let fifo = std::ffi::CString::new(b.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(
            unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) },
            0,
            "{}",
            b.display()
        );
    }
    let url = format!("file://{}", store.display());
    let out = build_with(&w, &url, "[fetch]\nfirst_byte_timeout_ms = 250\n");
    let warn = warnings(&out);
    assert_eq!(warn.len(), 1, "{}", stderr(&out));
    assert!(warn[0].contains(&url), "{}", warn[0]);
    let down = std::fs::read_to_string(w.obj.join(".cached-ninja/stores-down"));
    assert!(down.is_ok_and(|d| d.contains(&url)), "not recorded as down");
}

/// Every file below `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
