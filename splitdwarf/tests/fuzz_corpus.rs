//! Replays each fuzz target's committed corpus (`fuzz/corpus/<target>/`) as a normal test,
//! plus every truncation of each file, so regressions show up without a nightly toolchain.

#[path = "../fuzz/bodies.rs"]
mod bodies;

use std::path::Path;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        body(&data);
        for len in (0..data.len()).step_by(97) {
            body(&data[..len]);
        }
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
}

#[test]
fn split_corpus() {
    replay("split", bodies::split);
}

#[test]
fn strip_corpus() {
    replay("strip", bodies::strip);
}

#[test]
fn bundle_corpus() {
    replay("bundle", bodies::bundle);
}

#[test]
fn package_corpus() {
    replay("package", bodies::package);
}

#[test]
fn verify_corpus() {
    replay("verify", bodies::verify);
}

/// Found by the `split` target: a compressed debug section whose header claims terabytes is
/// malformed, named in the error, rather than allocated.
#[test]
fn a_compressed_section_claiming_terabytes_is_malformed() {
    let data = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus/split/crash-compressed-size-claim"),
    )
    .unwrap();
    let err = splitdwarf::pair(&data, &data).unwrap_err().to_string();
    assert!(
        err.contains("compressed section") && err.contains("claims"),
        "{err}"
    );
}
