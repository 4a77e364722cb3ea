//! The property the `policy` fuzz target checks, shared with its corpus replay
//! (`tests/fuzz_corpus.rs`) through `#[path]`.

use super::policy::Policy;
use std::path::Path;

/// Any text through the policy parser without a panic; what parses answers every question the
/// commands ask of it without a panic.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Policy::parse(text, Path::new("/p/cached-ninja.toml")) else {
        return;
    };
    for out in ["a.o", "x/y/z.o", "", "debug/deps/libx-1.rlib", "a/../b.o"] {
        let _ = p.cached(out.as_bytes());
        let _ = p.edge_policy(out);
    }
    let _ = p.split_dwarf();
}
