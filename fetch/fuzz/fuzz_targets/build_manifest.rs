//! Fuzz target: any bytes through `BuildManifest::parse`; never a panic, and whatever parses
//! keeps every output inside the object root and serialises and parses back to itself
//! (`fetch/fuzz/properties.rs`, shared with the corpus replay).
#![no_main]

#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = properties::build_manifest(data) {
        panic!("{e}");
    }
});
