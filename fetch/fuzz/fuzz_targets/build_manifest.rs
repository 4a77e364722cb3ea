//! Fuzz target: any bytes through `BuildManifest::parse`; never a panic, and whatever parses
//! serialises and parses back to the same manifest with every output path inside the root.
#![no_main]

use fetch::build_manifest::BuildManifest;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = BuildManifest::parse(data) {
        for r in &m.records {
            assert!(!r.output.starts_with('/'));
            assert!(r.output.split('/').all(|c| c != ".." && !c.is_empty()));
        }
        let bytes = m.to_bytes().expect("a parsed manifest serialises");
        assert_eq!(BuildManifest::parse(&bytes).expect("reparse"), m);
    }
});
