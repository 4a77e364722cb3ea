//! Fuzz target: any bytes through `signing::verify`; never a panic, and an accepted envelope's
//! payload is exactly the bytes after the header.
#![no_main]

use fetch::signing::{verify, KeyPair, Trust, HEADER_LEN};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut trust = Trust::new();
    trust.add(KeyPair::from_seed(&[7; 32]).public());
    if let Ok(payload) = verify(data, &trust) {
        assert_eq!(payload, &data[HEADER_LEN..]);
    }
    let _ = verify(data, &Trust::new());
});
