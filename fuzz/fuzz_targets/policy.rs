//! Fuzz target: any bytes as a policy file (`cached-ninja.toml`), see `properties::policy`.
#![no_main]

#[allow(dead_code)]
#[path = "../../src/policy.rs"]
mod policy;
#[path = "../properties.rs"]
mod properties;

libfuzzer_sys::fuzz_target!(|data: &[u8]| properties::policy(data));
