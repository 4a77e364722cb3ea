//! The properties the `build_manifest`, `action_entry` and `include_manifest` fuzz targets
//! check, shared with the corpus replay (`fetch/tests/fuzz_corpus.rs`) through `#[path]`, so
//! both check the same thing.
#![allow(dead_code)]

use fetch::build_manifest::{check_output_path, BuildManifest, EdgeRecord, Limits};
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

/// Any bytes through `BuildManifest::parse` without a panic; in what parses, every record has
/// outputs, each inside the object root, capped, its path listed once, with sizes that add up
/// within a `u64`; the manifest serialises and parses back to itself; and each record is the
/// one publish writes for the entry a pull makes of it, which the cache reads back as it is.
/// `Ok(true)`: it parsed.
pub fn build_manifest(data: &[u8]) -> Result<bool, String> {
    let Ok(m) = BuildManifest::parse(data) else {
        return Ok(false);
    };
    let cap = Limits::default().max_object_size;
    for (i, r) in m.records.iter().enumerate() {
        if r.outputs.is_empty() {
            return Err(format!("record {i} has no output"));
        }
        let mut total = 0u64;
        for (j, o) in r.outputs.iter().enumerate() {
            if let Err(e) = check_output_path(&o.path) {
                return Err(format!("record {i}: {e}"));
            }
            if o.size > cap || r.outputs[..j].iter().any(|e| e.path == o.path) {
                return Err(format!(
                    "record {i}: output {:?} too large or twice",
                    o.path
                ));
            }
            total = total
                .checked_add(o.size)
                .ok_or_else(|| format!("record {i}: sizes overflow"))?;
        }
        if r.stripped_size().saturating_add(r.debug_size()) > total {
            return Err(format!("record {i}: stripped + debug exceed the outputs"));
        }
        // The entry a pull inserts: publish would write this record for it, and the cache
        // reads it back as it is.
        let entry = r.to_entry();
        match EdgeRecord::of_entry(&r.action_key, &entry) {
            Ok(mine) if mine == *r => {}
            other => return Err(format!("record {i}: publish would write {other:?}")),
        }
        match ActionEntry::decode(entry.encode().as_bytes()) {
            Ok(back) if back == entry => {}
            other => return Err(format!("record {i}: its entry reads back as {other:?}")),
        }
    }
    let bytes = m
        .to_bytes()
        .map_err(|e| format!("a parsed manifest does not serialise: {e}"))?;
    match BuildManifest::parse(&bytes) {
        Ok(again) if again == m => Ok(true),
        again => Err(format!("round trip of {m:?} gave {again:?}")),
    }
}
