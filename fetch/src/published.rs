//! The published form of action entries (`ac/`) and build manifests (`builds/`): the text as one
//! zstd frame inside a signed envelope ([`crate::signing`]). The signature covers the
//! compressed bytes, so nothing unsigned is ever decompressed, and decompression is capped.
//! A manifest lists every include of every edge, so compression matters: libgit2's 5.6 MB
//! manifest becomes 64 kB (BENCHMARKS.md, store throughput).
//!
//! A signed manifest does not name its configuration or revision: a store could serve an older
//! signed manifest under a newer key. Every record is checked against its content-addressed
//! keys by the launcher, so that costs misses, never a wrong object.

use crate::signing::{self, KeyPair, SignatureError, Trust};
use crate::zframe::{self, Inflate};

/// Largest decompressed action entry a reader accepts.
pub const MAX_ENTRY: u64 = 64 << 20;
/// Largest decompressed build manifest a reader accepts.
pub const MAX_MANIFEST: u64 = 4 << 30;

/// Why published bytes were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The envelope: unsigned, tampered with, untrusted key, truncated.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Signed by a trusted key, but not a zstd frame or larger than the cap.
    #[error("signed payload: {0}")]
    Payload(#[from] Inflate),
}

/// Compresses `text` and signs the frame with `key`.
pub fn seal(key: &KeyPair, text: &[u8]) -> Vec<u8> {
    signing::sign(key, &zframe::compress(text))
}

/// Checks the signature of `envelope` against `trust`, then decompresses (at most `max`).
pub fn open(envelope: &[u8], trust: &Trust, max: u64) -> Result<Vec<u8>, OpenError> {
    let frame = signing::verify(envelope, trust)?;
    Ok(zframe::decompress(frame, max)?)
}
