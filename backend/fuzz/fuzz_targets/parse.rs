//! Fuzz target: any bytes through the loader, evaluation, tools and emitter round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    backend::ninja::fuzzing::check(data);
});
