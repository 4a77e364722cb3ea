//! Fuzz target: see `properties::rustc_command`.
#![no_main]

#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = properties::rustc_command(data) {
        panic!("{e}");
    }
});
