//! Blob frames: zstd compression on upload; capped decompression and BLAKE3 check on download.

use std::io::Read;

use super::StoreError;
use crate::cache::Digest;

/// zstd level for uploads: fast to write, and CI is the only writer.
pub const LEVEL: i32 = 3;

/// Compresses `bytes` into one zstd frame.
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, LEVEL).expect("zstd compression of an in-memory buffer")
}

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

/// Decompresses `frame`, refusing more than `max_size` bytes, and checks the result is `want`.
pub fn decode(
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
    let decoder = zstd::stream::read::Decoder::with_buffer(frame)
        .map_err(|e| corrupt(format!("invalid zstd frame: {e}")))?;
    let mut out = Vec::new();
    decoder
        .take(max_size.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| corrupt(format!("invalid zstd frame: {e}")))?;
    if out.len() as u64 > max_size {
        return Err(StoreError::TooLarge {
            op: at.op,
            url: at.url.to_string(),
            limit: max_size,
        });
    }
    let got = Digest::of(&out);
    if got != *want {
        return Err(corrupt(format!("hash mismatch (got {got})")));
    }
    Ok(out)
}
