//! The fuzz targets' bodies, shared with `tests/fuzz_corpus.rs` which replays the corpus.
#![allow(dead_code)]

use splitdwarf::{BundleKind, PackageInput, PackageRequest};

/// `split` and `pair` (the object paired with itself and with its own `.dwo`).
pub fn split(data: &[u8]) {
    if let Ok(s) = splitdwarf::split(data) {
        // Objects without debug information split into an empty `.dwo` and pair with nothing.
        if !s.dwo_ids.is_empty() {
            let ids =
                splitdwarf::pair(&s.object, &s.dwo).expect("a split object pairs with its .dwo");
            assert_eq!(ids, s.dwo_ids);
        }
    }
    let _ = splitdwarf::pair(data, data);
}

/// `strip_debug`; our own output must strip again.
pub fn strip(data: &[u8]) {
    if let Ok(s) = splitdwarf::strip_debug(data) {
        splitdwarf::strip_debug(&s).expect("our own output must parse");
    }
}

/// `bundle` must round-trip; the readers take arbitrary bytes.
pub fn bundle(data: &[u8]) {
    for kind in [BundleKind::Dwo, BundleKind::Debug] {
        if let Ok(b) = splitdwarf::bundle(data, kind) {
            assert_eq!(
                splitdwarf::unbundle(&b.stripped, &b.bundle).expect("round trip"),
                data
            );
        }
    }
    let _ = splitdwarf::bundle_info(data);
    let _ = splitdwarf::bundle_dwo(data);
    let _ = splitdwarf::unbundle(&[], data);
}

/// `package` with the input alone, and cut in two with the whole as executable. A panic
/// inside thorin-dwp is caught by `package` (outside the fuzzer, which aborts on any panic);
/// here it must not happen at all.
pub fn package(data: &[u8]) {
    let one = [PackageInput { name: "a", data }];
    no_panic(splitdwarf::package(&PackageRequest {
        inputs: &one,
        executable: None,
    }));
    let (a, b) = data.split_at(data.len() / 2);
    let two = [
        PackageInput { name: "a", data: a },
        PackageInput { name: "b", data: b },
    ];
    no_panic(splitdwarf::package(&PackageRequest {
        inputs: &two,
        executable: Some(data),
    }));
}

fn no_panic(r: splitdwarf::Result<Vec<u8>>) {
    if let Err(e @ splitdwarf::Error::PackagePanic(_)) = r {
        panic!("{e}");
    }
}

/// `skeleton_units` and `verify` (the input as binary and as package).
pub fn verify(data: &[u8]) {
    let _ = splitdwarf::skeleton_units(data);
    let _ = splitdwarf::verify(data, data);
}
