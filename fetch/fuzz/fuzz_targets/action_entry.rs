//! Fuzz target: any bytes through `ActionEntry::decode`; never a panic, and whatever decodes
//! encodes and decodes back to the same entry, with `check_output_path` (what `pull` applies)
//! taking each output path without a panic. The input is also tried with its last line
//! replaced by the right `end` checksum line, so mutations get past the seal to the parser.
#![no_main]

use fetch::build_manifest::check_output_path;
use fetch::cache::{ActionEntry, Digest};

/// `data` with its last line replaced by the checksum line of what precedes it.
fn resealed(data: &[u8]) -> Vec<u8> {
    let t = data.strip_suffix(b"\n").unwrap_or(data);
    let body = &data[..t.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
    let mut out = body.to_vec();
    out.extend_from_slice(format!("end {}\n", Digest::of(body)).as_bytes());
    out
}

fn check(data: &[u8]) {
    if let Ok(e) = ActionEntry::decode(data) {
        for o in &e.outputs {
            let _ = check_output_path(&o.path);
        }
        let text = e.encode();
        assert_eq!(ActionEntry::decode(text.as_bytes()).expect("redecode"), e);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    check(data);
    check(&resealed(data));
});
