//! Replays the committed fuzz seed corpora (`fetch/fuzz/corpus/<target>/`) through the untrusted
//! parsers with the fuzz targets' checks, so `cargo test` catches what the fuzzers found.
//!
//! `FETCH_FUZZ_CORPUS_UPDATE=1 cargo test -p fetch --test fuzz_corpus` rewrites the seeds.

use fetch::build_manifest::BuildManifest;
use fetch::signing::{sign, verify, KeyPair, Trust, HEADER_LEN};
use std::path::{Path, PathBuf};

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
    let edge = |out: &str| format!("edge {D} {E} 1200 3400 56 {out}\n");
    let inc = |p: &str| format!("inc {E} {p}\n");
    let h = "cached-ninja build 1\n";
    vec![
        ("empty", format!("{h}end 0\n")),
        (
            "two-edges",
            format!(
                "{h}{}{}{}{}end 2\n",
                edge("obj/a.o"),
                inc("@src/a.h"),
                inc("/usr/include/stdio.h"),
                edge("obj/dir with blank/b.o")
            ),
        ),
        ("dotdot", format!("{h}{}end 1\n", edge("../../etc/passwd"))),
        ("absolute", format!("{h}{}end 1\n", edge("/etc/passwd"))),
        ("inner-dotdot", format!("{h}{}end 1\n", edge("a/../../x"))),
        (
            "huge-size",
            format!("{h}edge {D} {E} 99999999999999 0 1 a.o\nend 1\n"),
        ),
        ("bad-digest", format!("{h}edge zz {E} 1 1 1 a.o\nend 1\n")),
        ("no-end", format!("{h}{}", edge("a.o"))),
        ("bad-count", format!("{h}{}end 7\n", edge("a.o"))),
    ]
}

fn envelope_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let k = fuzz_key();
    let good = sign(&k, b"cached-ninja build 1\nend 0\n");
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
        ("unsigned", b"cached-ninja build 1\nend 0\n".to_vec()),
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
    for (path, bytes) in m.chain(e) {
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
        if let Ok(m) = BuildManifest::parse(&bytes) {
            accepted += 1;
            for r in &m.records {
                assert!(!r.output.starts_with('/'), "{}", path.display());
                assert!(r.output.split('/').all(|c| c != ".." && !c.is_empty()));
            }
            let again = m.to_bytes().expect("a parsed manifest serialises");
            assert_eq!(BuildManifest::parse(&again).expect("reparse"), m);
        }
    }
    assert!(accepted >= 2, "the valid seeds parse");
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
