//! One zstd frame: compression for uploads, capped decompression for downloads (a bomb is an
//! error at the cap, never an out-of-memory).

use std::io::Read;

/// zstd level for uploads: fast to write, and CI is the only writer.
pub const LEVEL: i32 = 3;

/// Compresses `bytes` into one zstd frame.
pub fn compress(bytes: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(bytes, LEVEL).expect("zstd compression of an in-memory buffer")
}

/// Why a frame could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Inflate {
    /// Not a (complete) zstd frame.
    #[error("invalid zstd frame: {0}")]
    Invalid(String),
    /// More than the cap.
    #[error("larger than the limit of {0} bytes")]
    TooLarge(u64),
}

/// Decompresses `frame`, refusing more than `max` bytes.
pub fn decompress(frame: &[u8], max: u64) -> Result<Vec<u8>, Inflate> {
    let decoder = zstd::stream::read::Decoder::with_buffer(frame)
        .map_err(|e| Inflate::Invalid(e.to_string()))?;
    let mut out = Vec::new();
    decoder
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Inflate::Invalid(e.to_string()))?;
    if out.len() as u64 > max {
        return Err(Inflate::TooLarge(max));
    }
    Ok(out)
}
