//! Fuzz target: any bytes through `Manifest::decode`, the include manifests (see
//! `properties::include_manifest`), as given and with its last line resealed so mutations get
//! past the seal to the parser.
#![no_main]

#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for d in [data.to_vec(), properties::resealed(data)] {
        if let Err(e) = properties::include_manifest(&d) {
            panic!("{e}");
        }
    }
});
