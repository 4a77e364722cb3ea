//! Fuzz target: see `properties::depfile`.
#![no_main]

#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = properties::depfile(data) {
        panic!("{e}");
    }
});
