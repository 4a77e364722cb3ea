//! `blob_digest FILE…`: prints `<blob digest> <file>` per file, the name a store gives the
//! file's bytes (`cas/<digest>`), so `bench/slow-link.sh` can find the compressed size of
//! each object a developer's build needs.

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {path}"))?;
        println!("{} {path}", cn_digest::Digest::of(&bytes).to_hex());
    }
    Ok(())
}
