//! The record a rewritten file carries of what it was generated from: its first line names
//! the BLAKE3 hash of the original text (as the generator wrote it), so `generate` can tell
//! a rewritten file from a fresh original and find the original's saved copy.
//!
//! The line format must never change (older rewritten files must still be recognised):
//! `# cached-ninja generate: rewritten from original blake3=<64 hex digits>; …\n`.

/// The fixed start of the record line.
pub const PREFIX: &[u8] = b"# cached-ninja generate: rewritten from original blake3=";

/// The BLAKE3 hash of `original`, in hex.
pub fn original_hash(original: &[u8]) -> String {
    blake3::hash(original).to_hex().to_string()
}

/// The record line for a file rewritten from `original`.
pub fn line(original: &[u8]) -> Vec<u8> {
    let mut out = PREFIX.to_vec();
    out.extend_from_slice(original_hash(original).as_bytes());
    out.extend_from_slice(
        b"; the original is kept in .cached-ninja/original/ (do not edit: re-run the generator or `cached-ninja generate`)\n",
    );
    out
}

/// Whether the file at `path` is a rewritten one: reads its record's length only.
pub fn is_rewritten(path: &std::path::Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = Vec::with_capacity(PREFIX.len() + 64);
    let file = std::fs::File::open(path)?;
    file.take((PREFIX.len() + 64) as u64)
        .read_to_end(&mut head)?;
    Ok(recorded_hash(&head).is_some())
}

/// The original's hash recorded in `text`, if `text` is a rewritten file.
pub fn recorded_hash(text: &[u8]) -> Option<&str> {
    let rest = text.strip_prefix(PREFIX)?;
    let hex = rest.get(..64)?;
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    std::str::from_utf8(hex).ok()
}
