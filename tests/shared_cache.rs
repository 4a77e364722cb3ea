//! Builds sharing one local cache download each blob once, and a download cut short resumes
//! with a range request (issue 16, "Sharing a cache"). CI publishes to a real nginx; the
//! developer's builds and pulls go through our fault-injecting proxy in front of it
//! (`tests/support/faultproxy.py`); what reached the store is read from nginx's access log
//! (`$connection $request_method $uri $status $http_range`).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::published::{cn, finished, wait_until, Proxy, World, PATIENT};
use support::{hits_misses, objects, run, run_ok};

/// nginx's log lines of blob `GET`s from line `from` on: (uri, status, range).
fn blob_gets(w: &World, from: usize) -> Vec<(String, u16, String)> {
    let log = std::fs::read_to_string(w.nginx.dir().join("access.log")).unwrap();
    log.lines()
        .skip(from)
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .filter(|f| f[1] == "GET" && f[2].contains("/cas/"))
        .map(|f| (f[2].to_string(), f[3].parse().unwrap(), f[4..].join(" ")))
        .collect()
}

fn log_len(w: &World) -> usize {
    let log = std::fs::read_to_string(w.nginx.dir().join("access.log")).unwrap();
    log.lines().count()
}

/// Two builds of different object directories sharing one cache, with the pull running in
/// both, made to overlap: build A's blob requests are held at the proxy until build B's pull
/// has started and had a second to ask for the same blobs. B waits for A's claims instead of
/// asking the store, so nginx serves each blob once; both builds are all hits, with CI's
/// objects (a `--no-fetch` build's).
#[test]
fn two_builds_sharing_a_cache_download_each_blob_once() {
    let w = World::shapes();
    let obj2 = w.another_objdir("obj2");
    let gate = w.space.path().join("gate");
    let gate_arg = gate.display().to_string();
    let proxy = Proxy::start_with(&w, "hold", "/cas/", &["--gate", &gate_arg]);
    // Launchers wait for the pull; A's held requests get time for their first byte.
    let more = "[fetch]\nwait_ms = 30000\nfirst_byte_timeout_ms = 30000\n";
    for obj in [&w.obj, &obj2] {
        w.policy(obj, &proxy.url(), more);
    }
    let before = log_len(&w);
    let a = w.spawn_build_with(&w.obj, &[PATIENT]);
    let asked = |p: &Proxy| p.log_lines().iter().filter(|l| l.contains("/cas/")).count();
    wait_until("build A asks for a blob", || asked(&proxy) > 0);
    let b = w.spawn_build_with(&obj2, &[PATIENT]);
    let pulling = obj2.join(".cached-ninja/pulling");
    // The marker says `planning` while B still looks for CI's build.
    wait_until("build B's pull starts", || {
        std::fs::read_to_string(&pulling).is_ok_and(|t| !t.contains("planning"))
    });
    std::thread::sleep(Duration::from_secs(1));
    std::fs::write(&gate, "").unwrap();
    let (a, b) = (finished(a), finished(b));

    let gets = blob_gets(&w, before);
    let mut per_blob: BTreeMap<&str, usize> = BTreeMap::new();
    for (uri, _, _) in &gets {
        *per_blob.entry(uri).or_default() += 1;
    }
    assert!(per_blob.len() >= 5, "{gets:?}");
    assert!(per_blob.values().all(|&n| n == 1), "{gets:?}");
    assert_eq!(asked(&proxy), per_blob.len(), "{:?}", proxy.log_lines());
    for (obj, out) in [(&w.obj, &a), (&obj2, &b)] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(objects(obj), w.ci_objects, "{err}");
        assert_eq!(hits_misses(obj), (5, 0), "{}", support::edge_log(obj));
    }
}

/// `n` translation units with 40 000 bytes of incompressible data each (objects of about
/// 40 KB, large enough to keep a partial download) and a `main.c`.
fn big_objects(n: usize) -> impl FnOnce(&Path) {
    move |src: &Path| {
        std::fs::create_dir_all(src).unwrap();
        let units: Vec<String> = (0..n).map(|i| format!("t{i}.c")).collect();
        let cmake = format!(
            "cmake_minimum_required(VERSION 3.10)\nproject(big C)\n\
             add_executable(big main.c {})\n",
            units.join(" ")
        );
        std::fs::write(src.join("CMakeLists.txt"), cmake).unwrap();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut main = String::new();
        let mut sum = String::from("0");
        for i in 0..n {
            let bytes: Vec<String> = (0..40_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x as u8).to_string()
                })
                .collect();
            let unit = format!(
                "const unsigned char t{i}[] = {{{}}};\nint f{i}(int k) {{ return t{i}[k]; }}\n",
                bytes.join(",")
            );
            std::fs::write(src.join(format!("t{i}.c")), unit).unwrap();
            main.push_str(&format!("int f{i}(int);\n"));
            sum.push_str(&format!(" + f{i}(argc)"));
        }
        main.push_str(&format!(
            "int main(int argc, char **argv) {{ (void)argv; return {sum}; }}\n"
        ));
        std::fs::write(src.join("main.c"), main).unwrap();
    }
}

/// The partial downloads in `cache`: path and digest (hex).
fn partials(cache: &Path) -> Vec<(PathBuf, String)> {
    let Ok(rd) = std::fs::read_dir(cache.join("tmp/partial")) else {
        return Vec::new();
    };
    let mut v: Vec<(PathBuf, String)> = rd
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let hex = name.strip_suffix(".zst").expect("<hash>.zst").to_string();
            (p, hex)
        })
        .collect();
    v.sort();
    v
}

/// A pull whose blob bodies are cut in the middle (the proxy sends half of each, then closes)
/// keeps what arrived, never as a blob. The next pull asks nginx for the rest of each
/// (`Range: bytes=N-`, 206); a partial file whose bytes were corrupted since is downloaded
/// again whole (200). Then a build is all hits with CI's objects, and no partial file is left.
#[test]
fn an_interrupted_pull_resumes_with_a_range_request() {
    let w = World::new(big_objects(4));
    let proxy = Proxy::start(&w, "truncate", "/cas/");
    w.policy(&w.obj, &w.nginx.url("cn"), "");
    let fetch = |url: &str| {
        let mut c = cn(&w.cache);
        c.args(["fetch", "--store", url, "-C"]).arg(&w.obj);
        c
    };
    let out = run(&mut fetch(&proxy.url()));
    let err = String::from_utf8_lossy(&out.stderr);
    let cut = partials(&w.cache);
    assert!(!cut.is_empty(), "no partial download kept:\n{err}");
    for (path, hex) in &cut {
        let len = std::fs::metadata(path).unwrap().len();
        assert!(len > 0, "{}", path.display());
        let blob = w.cache.join("cas").join(&hex[..2]).join(hex);
        assert!(!blob.exists(), "a partial download became a blob: {hex}");
    }
    // One partial file's bytes go bad.
    let (bad_path, bad) = &cut[0];
    let wrong: Vec<u8> = std::fs::read(bad_path)
        .unwrap()
        .iter()
        .map(|b| !b)
        .collect();
    std::fs::write(bad_path, wrong).unwrap();
    let lens: Vec<u64> = cut
        .iter()
        .map(|(p, _)| std::fs::metadata(p).unwrap().len())
        .collect();

    let before = log_len(&w);
    run_ok(&mut fetch(&w.nginx.url("cn")));
    let gets = blob_gets(&w, before);
    for ((_, hex), len) in cut.iter().zip(&lens) {
        let mine: Vec<(u16, &str)> = gets
            .iter()
            .filter(|g| g.0.ends_with(&format!("/cas/{hex}")))
            .map(|g| (g.1, g.2.as_str()))
            .collect();
        let range = format!("bytes={len}-");
        if hex == bad {
            assert_eq!(mine, [(206, range.as_str()), (200, "-")], "{gets:?}");
        } else {
            assert_eq!(mine, [(206, range.as_str())], "{gets:?}");
        }
    }
    assert!(partials(&w.cache).is_empty(), "{:?}", partials(&w.cache));

    let out = run_ok(cn(&w.cache).args(["build", "--no-fill", "-C"]).arg(&w.obj));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(objects(&w.obj), w.ci_objects, "{err}");
    assert_eq!(hits_misses(&w.obj), (5, 0), "{}", support::edge_log(&w.obj));
}

/// A pull killed (`kill -9`, as a Ctrl-C or the end of the build would stop it) in the middle
/// of trickling bodies keeps what had arrived; the next pull asks for the rest of each
/// (`Range: bytes=N-` from exactly what was kept) and brings the right blobs.
#[test]
fn a_killed_pull_resumes_from_what_it_kept() {
    let w = World::new(big_objects(2));
    let proxy = Proxy::start(&w, "trickle", "/cas/");
    w.policy(&w.obj, &w.nginx.url("cn"), "[fetch]\nslow_rate = \"0\"\n");
    let mut pull = cn(&w.cache)
        .args(["fetch", "--store", &proxy.url(), "-C"])
        .arg(&w.obj)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    wait_until("a partial download with bytes in it", || {
        partials(&w.cache).iter().any(|(p, _)| size(p) > 0)
    });
    pull.kill().unwrap();
    pull.wait().unwrap();
    let kept: Vec<(String, u64)> = partials(&w.cache)
        .iter()
        .map(|(p, hex)| (hex.clone(), size(p)))
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(!kept.is_empty());

    let before = log_len(&w);
    run_ok(cn(&w.cache).args(["fetch", "-C"]).arg(&w.obj));
    let gets = blob_gets(&w, before);
    for (hex, len) in &kept {
        let mine: Vec<(u16, &str)> = gets
            .iter()
            .filter(|g| g.0.ends_with(&format!("/cas/{hex}")))
            .map(|g| (g.1, g.2.as_str()))
            .collect();
        assert_eq!(mine, [(206, format!("bytes={len}-").as_str())], "{gets:?}");
    }
    let out = run_ok(cn(&w.cache).args(["build", "--no-fill", "-C"]).arg(&w.obj));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(objects(&w.obj), w.ci_objects, "{err}");
    assert_eq!(hits_misses(&w.obj), (3, 0), "{}", support::edge_log(&w.obj));
}
