//! The properties the `action_entry` and `include_manifest` fuzz targets check, shared with the
//! corpus replay (`fetch/tests/fuzz_corpus.rs`) through `#[path]`, so both check the same thing.
#![allow(dead_code)]

use fetch::build_manifest::check_output_path;
use fetch::cache::{ActionEntry, Digest, Manifest};

/// `data` with its last line replaced by the checksum line of what precedes it, so mutated
/// inputs get past the seal to the parser.
pub fn resealed(data: &[u8]) -> Vec<u8> {
    let t = data.strip_suffix(b"\n").unwrap_or(data);
    let body = &data[..t.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
    let mut out = body.to_vec();
    out.extend_from_slice(format!("end {}\n", Digest::of(body)).as_bytes());
    out
}

/// Any bytes through `ActionEntry::decode` without a panic; what decodes takes
/// `check_output_path` (what `pull` applies) on each output without a panic, and encodes and
/// decodes back to itself. `Ok(true)`: it decoded.
pub fn action_entry(data: &[u8]) -> Result<bool, String> {
    let Ok(e) = ActionEntry::decode(data) else {
        return Ok(false);
    };
    for o in &e.outputs {
        let _ = check_output_path(&o.path);
    }
    match ActionEntry::decode(e.encode().as_bytes()) {
        Ok(again) if again == e => Ok(true),
        again => Err(format!("round trip of {e:?} gave {again:?}")),
    }
}

/// Any bytes through `Manifest::decode` without a panic; what decodes encodes and decodes back
/// to itself. `Ok(true)`: it decoded.
pub fn include_manifest(data: &[u8]) -> Result<bool, String> {
    let Ok(m) = Manifest::decode(data) else {
        return Ok(false);
    };
    match Manifest::decode(m.encode().as_bytes()) {
        Ok(again) if again == m => Ok(true),
        again => Err(format!("round trip of {m:?} gave {again:?}")),
    }
}
