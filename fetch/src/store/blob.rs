//! Blob frames: zstd compression on upload; capped decompression and BLAKE3 check on download.

use super::StoreError;
use crate::cache::Digest;
use crate::zframe::{Decoders, Inflate};

pub use crate::zframe::compress;

/// The most compressed bytes a frame of at most `max_size` decompressed bytes can take (the
/// zstd bound, rounded up generously), so a download is capped before decompressing.
pub fn frame_limit(max_size: u64) -> u64 {
    max_size
        .saturating_add(max_size / 128)
        .saturating_add(64 << 10)
}

/// Where a frame came from, for the error messages.
pub struct Origin<'a> {
    /// `GET`.
    pub op: &'static str,
    /// The object's URL.
    pub url: &'a str,
}

/// Decompresses `frame` with a context of `decoders`, refusing more than `max_size` bytes,
/// and checks the result is `want`.
pub fn decode(
    decoders: &Decoders,
    at: &Origin<'_>,
    frame: &[u8],
    want: &Digest,
    max_size: u64,
) -> Result<Vec<u8>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        op: at.op,
        url: at.url.to_string(),
        reason,
    };
    let out = decoders.decompress(frame, max_size).map_err(|e| match e {
        Inflate::Invalid(_) => corrupt(e.to_string()),
        Inflate::TooLarge(limit) => StoreError::TooLarge {
            op: at.op,
            url: at.url.to_string(),
            limit,
        },
    })?;
    let got = Digest::of(&out);
    if got != *want {
        return Err(corrupt(format!("hash mismatch (got {got})")));
    }
    Ok(out)
}
