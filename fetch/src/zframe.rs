//! One zstd frame: compression for uploads, capped decompression for downloads (a bomb is an
//! error at the cap, never an out-of-memory).

use std::io::Read;
use std::sync::Mutex;

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

/// Largest window (log2, 16 MiB) a frame may ask of the decoder. Our uploads use [`LEVEL`]
/// (a window of at most 2^21 bytes); without this a hostile frame could make the decoder
/// allocate zstd's own maximum (128 MiB or more) per thread before anything is checked.
pub const WINDOW_LOG_MAX: u32 = 24;

/// Decompresses `frame`, refusing more than `max` bytes and windows over 2^[`WINDOW_LOG_MAX`].
pub fn decompress(frame: &[u8], max: u64) -> Result<Vec<u8>, Inflate> {
    Decoders::default().decompress(frame, max)
}

/// Decompression contexts kept for reuse by one session's downloads (a `Store`'s): a new
/// one costs a CPUID (a trap on a virtual machine) and fresh pages, about 9 µs a blob.
#[derive(Default)]
pub struct Decoders(Mutex<Vec<zstd::bulk::Decompressor<'static>>>);

impl std::fmt::Debug for Decoders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoders")
    }
}

impl Decoders {
    /// Contexts kept at most (about 100 KB each); more decodes at once make their own.
    const MOST_KEPT: usize = 16;

    /// [`decompress`] with a context of this pool.
    pub fn decompress(&self, frame: &[u8], max: u64) -> Result<Vec<u8>, Inflate> {
        if let Some(out) = self.decompress_declared(frame, max) {
            return Ok(out);
        }
        decompress_stream(frame, max)
    }

    /// The frame decoded in one call into a buffer of the size its header declares, when
    /// that is at most `max` and 2^[`WINDOW_LOG_MAX`]: no window buffer, no growing output (a
    /// pull of 40 000 blobs spent more on those than on decoding). `None` for anything else,
    /// which the stream decoder then decodes or refuses, saying why.
    fn decompress_declared(&self, frame: &[u8], max: u64) -> Option<Vec<u8>> {
        let size = zstd::zstd_safe::get_frame_content_size(frame).ok()??;
        if size > max.min(1 << WINDOW_LOG_MAX) {
            return None;
        }
        let pooled = self.0.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut d = match pooled {
            Some(d) => d,
            None => zstd::bulk::Decompressor::new().ok()?,
        };
        let mut out = Vec::with_capacity(size as usize);
        let decoded = d.decompress_to_buffer(frame, &mut out);
        // A context is reset at the start of each frame, so a failed one is fine to keep.
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < Self::MOST_KEPT {
            kept.push(d);
        }
        drop(kept);
        decoded.ok().map(|_| out)
    }
}

/// [`decompress`] by the stream decoder, which holds the cap and the window limit itself.
fn decompress_stream(frame: &[u8], max: u64) -> Result<Vec<u8>, Inflate> {
    let invalid = |e: std::io::Error| {
        let msg = e.to_string();
        if msg.contains("too much memory") {
            Inflate::Invalid(format!(
                "{msg} (the frame's window is over the limit of 2^{WINDOW_LOG_MAX} bytes)"
            ))
        } else {
            Inflate::Invalid(msg)
        }
    };
    let mut decoder = zstd::stream::read::Decoder::with_buffer(frame).map_err(invalid)?;
    decoder.window_log_max(WINDOW_LOG_MAX).map_err(invalid)?;
    let mut out = Vec::new();
    decoder
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(invalid)?;
    if out.len() as u64 > max {
        return Err(Inflate::TooLarge(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One frame of `data` with a window of 2^`window_log` (long-distance matching on).
    fn frame_with_window(data: &[u8], window_log: u32) -> Vec<u8> {
        use zstd::zstd_safe::CParameter;
        let mut c = zstd::bulk::Compressor::new(1).unwrap();
        c.set_parameter(CParameter::EnableLongDistanceMatching(true))
            .unwrap();
        c.set_parameter(CParameter::WindowLog(window_log)).unwrap();
        c.compress(data).unwrap()
    }

    #[test]
    fn frames_asking_for_a_large_window_are_refused() {
        // 17 MiB: the frame's window (its content size, or 2^25) is over 16 MiB.
        let data: Vec<u8> = (0..17u32 << 20).map(|i| (i % 251) as u8).collect();
        let big = frame_with_window(&data, 27);
        let e = decompress(&big, 64 << 20).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("invalid zstd frame: "), "{msg}");
        assert!(
            msg.contains("window is over the limit of 2^24 bytes"),
            "{msg}"
        );
        // zstd itself (no window limit given) decodes it: the frame is fine, only too wide.
        assert_eq!(zstd::decode_all(&big[..]).unwrap(), data);

        // The same data under a 16 MiB window, and our own frames, still decode.
        let ok = frame_with_window(&data, 24);
        assert_eq!(decompress(&ok, 64 << 20).unwrap(), data);
        assert_eq!(decompress(&compress(&data), 64 << 20).unwrap(), data);
        let small = frame_with_window(b"a small entry", 27);
        assert_eq!(decompress(&small, 100).unwrap(), b"a small entry");
    }

    #[test]
    fn a_declared_size_decodes_in_one_call_and_the_cap_still_holds() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 97) as u8).collect();
        let frame = compress(&data);
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&frame).ok(),
            Some(Some(data.len() as u64))
        );
        assert_eq!(
            Decoders::default().decompress_declared(&frame, 300_000),
            Some(data.clone())
        );
        assert_eq!(decompress(&frame, 300_000).unwrap(), data);
        // Over the cap: not in one call, and refused by the stream decoder.
        assert_eq!(
            Decoders::default().decompress_declared(&frame, 299_999),
            None
        );
        assert_eq!(decompress(&frame, 299_999), Err(Inflate::TooLarge(299_999)));
        // A frame whose header declares no size goes to the stream decoder.
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), LEVEL).unwrap();
        std::io::Write::write_all(&mut e, &data).unwrap();
        let undeclared = e.finish().unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&undeclared).ok(),
            Some(None)
        );
        assert_eq!(
            Decoders::default().decompress_declared(&undeclared, 1 << 20),
            None
        );
        assert_eq!(decompress(&undeclared, 1 << 20).unwrap(), data);
        // A frame cut short, or with a byte flipped, is refused with the stream's reason.
        let cut = &frame[..frame.len() - 9];
        assert_eq!(Decoders::default().decompress_declared(cut, 1 << 20), None);
        assert!(matches!(decompress(cut, 1 << 20), Err(Inflate::Invalid(_))));
        // A pool's context that failed on one frame decodes the next.
        let pool = Decoders::default();
        assert!(pool.decompress(cut, 1 << 20).is_err());
        assert_eq!(pool.0.lock().unwrap().len(), 1);
        assert_eq!(pool.decompress(&frame, 1 << 20).unwrap(), data);
        assert_eq!(pool.0.lock().unwrap().len(), 1, "reused, not made anew");
    }
}
