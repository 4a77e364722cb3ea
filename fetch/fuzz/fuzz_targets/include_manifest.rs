//! Fuzz target: any bytes through `Manifest::decode` (include manifests); never a panic, and
//! whatever decodes encodes and decodes back to the same manifest. The input is also tried
//! with its last line replaced by the right `end` checksum line, so mutations get past the
//! seal to the parser.
#![no_main]

use fetch::cache::{Digest, Manifest};

/// `data` with its last line replaced by the checksum line of what precedes it.
fn resealed(data: &[u8]) -> Vec<u8> {
    let t = data.strip_suffix(b"\n").unwrap_or(data);
    let body = &data[..t.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
    let mut out = body.to_vec();
    out.extend_from_slice(format!("end {}\n", Digest::of(body)).as_bytes());
    out
}

fn check(data: &[u8]) {
    if let Ok(m) = Manifest::decode(data) {
        let text = m.encode();
        assert_eq!(Manifest::decode(text.as_bytes()).expect("redecode"), m);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check(data);
    check(&resealed(data));
});
