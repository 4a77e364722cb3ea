//! Debug bundles: the debug part of an object, self-describing and zstd-compressed, such
//! that `unbundle(stripped, bundle)` gives back the original object byte for byte.
//!
//! Layout (little-endian; these numbers must never change — bump [`FORMAT_VERSION`] instead):
//!
//! ```text
//! 0   magic "CNDBGBDL"          8  format version u8, kind u8, 6 reserved zero bytes
//! 16  original_len u64          24 stripped_len u64         32 dwo_len u64
//! 40  dwo_frame_len u64         48 patch_frame_len u64
//! 56  BLAKE3(original) [32]     88 BLAKE3(stripped) [32]
//! 120 dwo frame                 …  patch frame
//! ```
//!
//! The *dwo frame* is the standalone `.dwo` (empty for [`BundleKind::Debug`]), so dbgfetch can
//! package a bundle without its stripped object. The *patch frame* is the original object
//! compressed with `stripped ++ dwo` as zstd reference prefix ("patch-from"): kept sections
//! and `.dwo` contents become long matches, so the patch costs little beyond what changed.
//! Decompression checks both hashes, so a bundle paired with the wrong object is an error.

use zstd::zstd_safe::{self, CCtx, CParameter, DCtx, DParameter};

use crate::error::{Error, Result};
use crate::{split, strip};

/// Current bundle format version.
pub const FORMAT_VERSION: u8 = 1;
const MAGIC: &[u8; 8] = b"CNDBGBDL";
const HEADER_LEN: usize = 120;
/// zstd level for both frames: fast, and the patch is dominated by long matches anyway.
const LEVEL: i32 = 3;
/// Largest window zstd accepts on 64-bit targets.
const MAX_WINDOW_LOG: u32 = 31;

/// Which part of the object the bundle holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BundleKind {
    /// The `.dwo` sections of a `-gsplit-dwarf=single` object (stripped = [`split::split`]).
    Dwo = 1,
    /// All debug sections (stripped = [`strip::strip_debug`]).
    Debug = 2,
}

/// A bundle's decoded header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleInfo {
    /// What the bundle holds.
    pub kind: BundleKind,
    /// Size of the original object.
    pub original_len: u64,
    /// Size of the stripped object it pairs with.
    pub stripped_len: u64,
    /// Size of the embedded `.dwo` (0 for [`BundleKind::Debug`]).
    pub dwo_len: u64,
    /// BLAKE3 of the original object.
    pub original_hash: [u8; 32],
    /// BLAKE3 of the stripped object.
    pub stripped_hash: [u8; 32],
    dwo_frame: std::ops::Range<usize>,
    patch_frame: std::ops::Range<usize>,
}

/// A stripped object and the bundle that completes it.
#[derive(Debug)]
pub struct Bundled {
    /// What the linker needs.
    pub stripped: Vec<u8>,
    /// The rest, see the module docs.
    pub bundle: Vec<u8>,
}

/// Splits `object` into a stripped object and a debug bundle.
pub fn bundle(object: &[u8], kind: BundleKind) -> Result<Bundled> {
    let (stripped, dwo) = match kind {
        BundleKind::Dwo => {
            let s = split::split(object)?;
            (s.object, s.dwo)
        }
        BundleKind::Debug => (strip::strip_debug(object)?, Vec::new()),
    };
    let dwo_frame = if dwo.is_empty() {
        Vec::new()
    } else {
        compress(&dwo, &[])?
    };
    let mut prefix = Vec::with_capacity(stripped.len() + dwo.len());
    prefix.extend_from_slice(&stripped);
    prefix.extend_from_slice(&dwo);
    let patch = compress(object, &prefix)?;

    let mut out = Vec::with_capacity(HEADER_LEN + dwo_frame.len() + patch.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[FORMAT_VERSION, kind as u8, 0, 0, 0, 0, 0, 0]);
    for v in [
        object.len(),
        stripped.len(),
        dwo.len(),
        dwo_frame.len(),
        patch.len(),
    ] {
        out.extend_from_slice(&(v as u64).to_le_bytes());
    }
    out.extend_from_slice(blake3::hash(object).as_bytes());
    out.extend_from_slice(blake3::hash(&stripped).as_bytes());
    out.extend_from_slice(&dwo_frame);
    out.extend_from_slice(&patch);
    Ok(Bundled {
        stripped,
        bundle: out,
    })
}

/// Whether `data` starts like a bundle.
pub fn is_bundle(data: &[u8]) -> bool {
    data.starts_with(MAGIC)
}

/// Decodes and checks a bundle's header.
pub fn bundle_info(bundle: &[u8]) -> Result<BundleInfo> {
    if !is_bundle(bundle) {
        return Err(Error::BadBundle("wrong magic"));
    }
    if bundle.len() < HEADER_LEN {
        return Err(Error::BadBundle("truncated header"));
    }
    if bundle[8] != FORMAT_VERSION {
        return Err(Error::BadBundle("unsupported format version"));
    }
    let kind = match bundle[9] {
        1 => BundleKind::Dwo,
        2 => BundleKind::Debug,
        _ => return Err(Error::BadBundle("unknown kind")),
    };
    let u = |at: usize| u64::from_le_bytes(bundle[at..at + 8].try_into().unwrap_or_default());
    let (original_len, stripped_len, dwo_len, dwo_frame_len, patch_len) =
        (u(16), u(24), u(32), u(40), u(48));
    let h = |at: usize| -> [u8; 32] { bundle[at..at + 32].try_into().unwrap_or_default() };
    let body = (bundle.len() - HEADER_LEN) as u64;
    if dwo_frame_len.checked_add(patch_len) != Some(body) {
        return Err(Error::BadBundle("frame lengths do not match the file size"));
    }
    let dwo_end = HEADER_LEN + dwo_frame_len as usize;
    Ok(BundleInfo {
        kind,
        original_len,
        stripped_len,
        dwo_len,
        original_hash: h(56),
        stripped_hash: h(88),
        dwo_frame: HEADER_LEN..dwo_end,
        patch_frame: dwo_end..bundle.len(),
    })
}

/// The standalone `.dwo` inside a [`BundleKind::Dwo`] bundle (`None` for other kinds).
pub fn bundle_dwo(bundle: &[u8]) -> Result<Option<Vec<u8>>> {
    let info = bundle_info(bundle)?;
    if info.kind != BundleKind::Dwo {
        return Ok(None);
    }
    let frame = &bundle[info.dwo_frame.clone()];
    decompress(frame, &[], info.dwo_len, frame.len() as u64).map(Some)
}

/// Rebuilds the original object from its stripped object and bundle, byte for byte.
pub fn unbundle(stripped: &[u8], bundle: &[u8]) -> Result<Vec<u8>> {
    let info = bundle_info(bundle)?;
    if stripped.len() as u64 != info.stripped_len
        || *blake3::hash(stripped).as_bytes() != info.stripped_hash
    {
        return Err(Error::BundleMismatch);
    }
    let dwo = bundle_dwo(bundle)?.unwrap_or_default();
    let mut prefix = Vec::with_capacity(stripped.len() + dwo.len());
    prefix.extend_from_slice(stripped);
    prefix.extend_from_slice(&dwo);
    let patch = &bundle[info.patch_frame.clone()];
    let original = decompress(
        patch,
        &prefix,
        info.original_len,
        prefix.len() as u64 + patch.len() as u64,
    )?;
    if *blake3::hash(&original).as_bytes() != info.original_hash {
        return Err(Error::BadBundle("restored object does not match its hash"));
    }
    Ok(original)
}

fn zerr(code: usize) -> Error {
    Error::Zstd(zstd_safe::get_error_name(code).to_string())
}

fn window_log(total: usize) -> Result<u32> {
    let log = usize::BITS - total.max(1 << 10).next_power_of_two().leading_zeros() - 1;
    if log > MAX_WINDOW_LOG {
        return Err(Error::Zstd("input too large for one zstd window".into()));
    }
    Ok(log.max(10))
}

fn compress(data: &[u8], prefix: &[u8]) -> Result<Vec<u8>> {
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::CompressionLevel(LEVEL))
        .map_err(zerr)?;
    if !prefix.is_empty() {
        let wlog = window_log(prefix.len() + data.len())?;
        cctx.set_parameter(CParameter::WindowLog(wlog))
            .map_err(zerr)?;
        cctx.set_parameter(CParameter::EnableLongDistanceMatching(true))
            .map_err(zerr)?;
        cctx.ref_prefix(prefix).map_err(zerr)?;
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
    cctx.compress2(&mut out, data).map_err(zerr)?;
    Ok(out)
}

/// Decompresses one frame of exactly `len` bytes; `budget` bounds what a hostile header may
/// claim (zstd cannot expand beyond ~32 000:1, references to the prefix aside).
fn decompress(frame: &[u8], prefix: &[u8], len: u64, budget: u64) -> Result<Vec<u8>> {
    if len > budget.saturating_mul(32 * 1024).saturating_add(1 << 20) {
        return Err(Error::BadBundle("declared size impossible for its frame"));
    }
    let len = usize::try_from(len).map_err(|_| Error::BadBundle("declared size too large"))?;
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| Error::BadBundle("declared size too large"))?;
    let mut dctx = DCtx::create();
    dctx.set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))
        .map_err(zerr)?;
    if !prefix.is_empty() {
        dctx.ref_prefix(prefix).map_err(zerr)?;
    }
    dctx.decompress(&mut out, frame).map_err(zerr)?;
    if out.len() != len {
        return Err(Error::BadBundle("frame size differs from the header"));
    }
    Ok(out)
}
