//! Replays the committed fuzz seed corpora (`fetch/fuzz/corpus/<target>/`) through the untrusted
//! parsers with the fuzz targets' checks, so `cargo test` catches what the fuzzers found.
//!
//! `FETCH_FUZZ_CORPUS_UPDATE=1 cargo test -p fetch --test fuzz_corpus` rewrites the seeds.

use fetch::build_manifest::{check_output_path, BuildManifest, Reason, BUILD_MANIFEST_VERSION};
use fetch::cache::{
    ActionEntry, Digest, IncludeFile, IncludeSet, Manifest, Output, Role, StatStamp,
};
use fetch::signing::{sign, verify, KeyPair, Trust, HEADER_LEN};
use std::path::{Path, PathBuf};

#[path = "../fuzz/properties.rs"]
mod properties;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn files(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read seed");
            (p, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

/// The fuzzers' key: `signed_envelope` trusts exactly this one.
fn fuzz_key() -> KeyPair {
    KeyPair::from_seed(&[7; 32])
}

const D: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const E: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn manifest_seeds() -> Vec<(&'static str, String)> {
    let edge = format!("edge {D} {E} 40 56\n");
    let out = |role: u8, size: u64, path: &str| format!("out {role} {E} {size} {path}\n");
    let obj = |path: &str| format!("{edge}{}", out(1, 1200, path));
    let hdr = |p: &str| format!("hdr {E} {p}\n");
    let h = "cached-ninja build 3\n";
    vec![
        ("empty", format!("{h}end 0\n")),
        (
            "two-edges",
            format!(
                "{h}{}{}{}{}inc 0-1\n{}inc 1\nend 2\n",
                hdr("@src/a.h"),
                hdr("/usr/include/stdio.h"),
                obj("obj/a.o"),
                out(2, 3400, "obj/a.dwo"),
                obj("obj/dir with blank/b.o")
            ),
        ),
        (
            "three-outputs",
            format!(
                "{h}{}{}{}log 2 {D} 12\nend 1\n",
                obj("obj/c.o"),
                out(2, 3400, "obj/c.dwo"),
                out(5, 99, "obj/c.o.d")
            ),
        ),
        (
            "rust",
            format!(
                "{h}{edge}{}{}{}log 1 {E} 3\nend 1\n",
                out(3, 5000, "deps/libx.rlib"),
                out(4, 500, "deps/libx.rmeta"),
                out(5, 50, "deps/x.d")
            ),
        ),
        ("dotdot", format!("{h}{}end 1\n", obj("../../etc/passwd"))),
        ("absolute", format!("{h}{}end 1\n", obj("/etc/passwd"))),
        ("inner-dotdot", format!("{h}{}end 1\n", obj("a/../../x"))),
        (
            "second-output-dotdot",
            format!("{h}{}{}end 1\n", obj("a.o"), out(2, 1, "../a.dwo")),
        ),
        (
            "huge-size",
            format!("{h}{edge}{}end 1\n", out(1, 99999999999999, "a.o")),
        ),
        (
            "overflow-size",
            format!(
                "{h}{edge}{}end 1\n",
                out(1, u64::MAX, "a.o").replace("18446744073709551615", "18446744073709551616")
            ),
        ),
        ("no-outputs", format!("{h}{edge}end 1\n")),
        (
            "duplicate-output",
            format!("{h}{}{}end 1\n", obj("a.o"), out(5, 1, "a.o")),
        ),
        ("bad-role", format!("{h}{edge}{}end 1\n", out(8, 1, "a.o"))),
        (
            "output-before-edge",
            format!("{h}{}end 0\n", out(1, 1, "a.o")),
        ),
        (
            "bad-digest",
            format!("{h}edge zz {E} 1 1\n{}end 1\n", out(1, 1, "a.o")),
        ),
        ("no-end", format!("{h}{}", obj("a.o"))),
        ("bad-count", format!("{h}{}end 7\n", obj("a.o"))),
        (
            "include-out-of-table",
            format!("{h}{}{}inc 0-1\nend 1\n", hdr("a.h"), obj("a.o")),
        ),
        (
            "include-dotdot",
            format!(
                "{h}{}{}inc 0\nend 1\n",
                hdr("/usr/../etc/shadow"),
                obj("a.o")
            ),
        ),
        (
            "header-after-edge",
            format!("{h}{}{}end 1\n", obj("a.o"), hdr("a.h")),
        ),
        (
            "huge-range",
            format!(
                "{h}{}{}inc 0-18446744073709551615\nend 1\n",
                hdr("a.h"),
                obj("a.o")
            ),
        ),
        // Other versions: refused, naming both versions.
        (
            "version-1",
            format!("cached-ninja build 1\nedge {D} {E} 1200 3400 56 obj/a.o\nend 1\n"),
        ),
        (
            "version-2",
            format!(
                "cached-ninja build 2\nedge {D} {E} 56\n{}inc {E} a.h\nend 1\n",
                out(1, 1, "a.o")
            ),
        ),
        ("version-4", "cached-ninja build 4\nend 0\n".to_string()),
    ]
}

fn envelope_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let k = fuzz_key();
    let good = sign(&k, b"cached-ninja build 3\nend 0\n");
    let mut tampered = good.clone();
    *tampered.last_mut().expect("payload") ^= 1;
    vec![
        ("signed", good.clone()),
        ("signed-empty", sign(&k, b"")),
        (
            "signed-other-key",
            sign(&KeyPair::from_seed(&[9; 32]), b"x"),
        ),
        ("tampered", tampered),
        ("truncated", good[..HEADER_LEN - 3].to_vec()),
        ("unsigned", b"cached-ninja build 3\nend 0\n".to_vec()),
    ]
}

/// `body` with its `end` checksum line, as the cache seals entries and manifests.
fn sealed(body: &str) -> Vec<u8> {
    format!("{body}end {}\n", Digest::of(body.as_bytes())).into_bytes()
}

fn action_entry_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let out = |role, path: &str, size| Output {
        role,
        path: path.into(),
        digest: Digest::of(path.as_bytes()),
        size,
    };
    let entry = |outputs| ActionEntry {
        source_key: Digest::of(b"source"),
        outputs,
        includes: vec![
            ("@src/a.h".into(), Digest::of(b"a.h")),
            ("/usr/include/stdio.h".into(), Digest::of(b"stdio.h")),
        ],
        stdout: None,
        stderr: Some((Digest::of(b"warning"), 7)),
        cpu_us: 1200,
        wall_us: 3400,
    };
    let object = entry(vec![out(Role::Object, "obj/a.o", 56)]).encode();
    let split = entry(vec![
        out(Role::StrippedObject, "obj/dir with blank/b.o", 10),
        out(Role::DebugBundle, "obj/dir with blank/b.dwp", 20),
    ])
    .encode();
    let h = "cached-ninja action 1\n";
    let src = format!("source {}\n", Digest::of(b"source"));
    let o = |rest: &str| format!("{h}{src}out {rest}\n");
    let d = Digest::of(b"o");
    vec![
        ("empty", ActionEntry::default().encode().into_bytes()),
        ("object", object.clone().into_bytes()),
        ("split", split.into_bytes()),
        ("dotdot", sealed(&o(&format!("1 {d} 5 ../../etc/passwd")))),
        ("absolute", sealed(&o(&format!("1 {d} 5 /etc/passwd")))),
        (
            "huge-size",
            sealed(&o(&format!("1 {d} {} obj/a.o", u64::MAX))),
        ),
        (
            "overflow-size",
            sealed(&o(&format!("1 {d} 99999999999999999999999 obj/a.o"))),
        ),
        // Decoded as `a.h\r` and `obj/a.o\r` but read back without the `\r` (`str::lines`).
        (
            "carriage-return",
            sealed(&format!(
                "{h}{src}out 1 {d} 5 obj/a.o\r\r\ninc {d} a.h\r\r\n"
            )),
        ),
        ("bad-role", sealed(&o(&format!("9 {d} 5 obj/a.o")))),
        ("no-path", sealed(&o(&format!("1 {d} 5 ")))),
        ("truncated", object.as_bytes()[..object.len() - 20].to_vec()),
        ("altered", object.replace("obj/a.o", "obj/b.o").into_bytes()),
        ("unsealed", format!("{h}{src}").into_bytes()),
    ]
}

fn include_manifest_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let stamp = StatStamp {
        dev: 2049,
        ino: 1234567,
        size: 4096,
        mtime_ns: 1_700_000_000_123_456_789,
        ctime_ns: -5,
    };
    let file = |p: &str, stamp| IncludeFile {
        path: p.into(),
        digest: Digest::of(p.as_bytes()),
        stamp,
    };
    let two = Manifest {
        sets: vec![
            IncludeSet {
                action_key: Digest::of(b"1"),
                files: vec![
                    file("@src/a b.h", Some(stamp)),
                    file("/usr/include/stdio.h", None),
                ],
            },
            IncludeSet {
                action_key: Digest::of(b"2"),
                files: vec![],
            },
        ],
    }
    .encode();
    let h = "cached-ninja manifest 1\n";
    let set = format!("set {}\n", Digest::of(b"1"));
    let d = Digest::of(b"f");
    vec![
        ("empty", Manifest::default().encode().into_bytes()),
        ("two-sets", two.clone().into_bytes()),
        (
            "huge-stamp",
            sealed(&format!(
                "{h}{set}f {d} 1 2 99999999999999999999999 4 5 a.h\n"
            )),
        ),
        // Found by the fuzzer: a negative size read as i64 and cast did not decode again.
        (
            "negative-stamp-size",
            sealed(&format!("{h}{set}f {d} 2049 1 -4096 1 -5 a.h\n")),
        ),
        (
            "max-stamp",
            sealed(&format!(
                "{h}{set}f {d} {m} {m} {m} {} {} a.h\n",
                i64::MIN,
                i64::MAX,
                m = u64::MAX
            )),
        ),
        // Decoded as `a.h\r` but read back without the `\r` (`str::lines`).
        (
            "carriage-return",
            sealed(&format!("{h}{set}f {d} - - - - - a.h\r\r\n")),
        ),
        (
            "file-before-set",
            sealed(&format!("{h}f {d} - - - - - a.h\n")),
        ),
        ("short-file", sealed(&format!("{h}{set}f {d} 1 2 3\n"))),
        ("bad-digest", sealed(&format!("{h}set zz\n"))),
        ("truncated", two.as_bytes()[..two.len() - 20].to_vec()),
        ("unsealed", format!("{h}{set}").into_bytes()),
    ]
}

#[test]
fn seeds_are_current() {
    let update = std::env::var_os("FETCH_FUZZ_CORPUS_UPDATE").is_some();
    let m = manifest_seeds()
        .into_iter()
        .map(|(n, t)| (corpus("build_manifest").join(n), t.into_bytes()));
    let e = envelope_seeds()
        .into_iter()
        .map(|(n, b)| (corpus("signed_envelope").join(n), b));
    let a = action_entry_seeds()
        .into_iter()
        .map(|(n, b)| (corpus("action_entry").join(n), b));
    let i = include_manifest_seeds()
        .into_iter()
        .map(|(n, b)| (corpus("include_manifest").join(n), b));
    for (path, bytes) in m.chain(e).chain(a).chain(i) {
        if update {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, &bytes).expect("write seed");
        }
        let on_disk = std::fs::read(&path).unwrap_or_default();
        // Signatures are deterministic (ed25519), so the committed seeds must match exactly.
        assert!(
            on_disk == bytes,
            "{} is stale; rerun with FETCH_FUZZ_CORPUS_UPDATE=1",
            path.display()
        );
    }
}

#[test]
fn build_manifest_corpus_replays() {
    let mut accepted = 0;
    for (path, bytes) in files("build_manifest") {
        match properties::build_manifest(&bytes) {
            Ok(parsed) => accepted += usize::from(parsed),
            Err(e) => panic!("{}: {e}", path.display()),
        }
        // Cheap mutations, as a fuzzer's first steps: every prefix, every line dropped or doubled.
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let mut variants: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        for i in 0..lines.len() {
            let mut dropped = lines.clone();
            dropped.remove(i);
            variants.push(dropped.concat());
            let mut doubled = lines.clone();
            doubled.insert(i, lines[i]);
            variants.push(doubled.concat());
        }
        for v in variants {
            if let Err(e) = properties::build_manifest(&v) {
                panic!(
                    "{} mutated to {:?}: {e}",
                    path.display(),
                    String::from_utf8_lossy(&v)
                );
            }
        }
    }
    assert!(accepted >= 4, "the valid seeds parse");
    // The seeds of other versions are refused for their version, not for their layout.
    for (name, found) in [("version-1", 1), ("version-2", 2), ("version-4", 4)] {
        let bytes = std::fs::read(corpus("build_manifest").join(name)).expect("seed");
        let e = BuildManifest::parse(&bytes).unwrap_err();
        assert_eq!(
            e.reason,
            Reason::UnsupportedVersion {
                found,
                supported: BUILD_MANIFEST_VERSION
            }
        );
    }
}

#[test]
fn signed_envelope_corpus_replays() {
    let mut trust = Trust::new();
    trust.add(fuzz_key().public());
    let mut accepted = 0;
    for (_, bytes) in files("signed_envelope") {
        if let Ok(payload) = verify(&bytes, &trust) {
            accepted += 1;
            assert_eq!(payload, &bytes[HEADER_LEN..]);
        }
        assert!(verify(&bytes, &Trust::new()).is_err());
    }
    assert!(accepted >= 2, "the validly signed seeds verify");
}

/// Replays a corpus through a shared property (`fetch/fuzz/properties.rs`), as the target
/// does: each file as it is and resealed. Returns how many inputs decoded.
fn replay(target: &str, property: fn(&[u8]) -> Result<bool, String>) -> usize {
    let mut accepted = 0;
    for (path, bytes) in files(target) {
        for data in [bytes.clone(), properties::resealed(&bytes)] {
            match property(&data) {
                Ok(decoded) => accepted += usize::from(decoded),
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
    }
    accepted
}

#[test]
fn action_entry_corpus_replays() {
    assert!(
        replay("action_entry", properties::action_entry) >= 2,
        "the valid seeds decode"
    );
    assert!(check_output_path("../../etc/passwd").is_err());
}

#[test]
fn include_manifest_corpus_replays() {
    assert!(
        replay("include_manifest", properties::include_manifest) >= 2,
        "the valid seeds decode"
    );
}
