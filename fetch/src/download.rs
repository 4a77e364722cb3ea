//! One blob from a store into the local cache, downloaded once by all the pulls sharing that
//! cache, and resumed when an earlier download was cut short (issue 16).
//!
//! [`blob`] takes the blob's claim in the cache ([`LocalCache::claim_download`]), waiting at
//! most the time the store gives such a download ([`Store::blob_time_limit`]): a holder that
//! is slower than that is no reason to wait longer, and the blob is then downloaded without
//! the claim (in memory, leaving the holder's partial file alone). Holding the claim, it looks
//! again (another pull may have inserted the blob meanwhile), then downloads, going on from the
//! blob's partial file when one is there ([`Store::get_blob_resuming`]: a range request). The
//! caller inserts the verified blob ([`Fetched::insert`]: the partial file goes, the claim is
//! released) once the other blobs of its record verified too. A download that fails keeps its
//! partial file for the next pull, unless the bytes were wrong or none arrived.

use crate::cache::{Digest, DownloadClaim, Kind, LocalCache, MIN_PARTIAL_SIZE};
use crate::pull::PullError;
use crate::store::{Key, Spool, Store, StoreError};
use std::sync::atomic::AtomicBool;

/// A blob [`blob`] made ready: verified bytes to insert, or found in the cache already. Its
/// download claim is held until it is [`insert`](Fetched::insert)ed or dropped.
#[derive(Debug)]
pub struct Fetched {
    /// The blob's digest, which its bytes were verified against.
    digest: Digest,
    claim: Option<DownloadClaim>,
    /// `None`: it was in the cache when the claim was taken (another pull brought it).
    bytes: Option<Vec<u8>>,
}

impl Fetched {
    /// The verified bytes downloaded; `None` when another pull had brought them.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }

    /// Whether its bytes came from the store (not found in the cache under the claim).
    pub fn downloaded(&self) -> bool {
        self.bytes.is_some()
    }

    /// Inserts the blob (unless it was there), removes its partial download and releases the
    /// claim; returns the bytes this pull downloaded (0 when another pull brought them).
    pub fn insert(self, cache: &LocalCache) -> std::io::Result<u64> {
        let n = match &self.bytes {
            Some(b) => {
                cache.put_verified_blob(&self.digest, b)?;
                b.len() as u64
            }
            None => 0,
        };
        forget(&self.claim);
        Ok(n)
    }
}

/// Downloads blob `d` of `size` bytes from `store` for `cache` (see the module docs), holding
/// its claim until the result is inserted; a [`PullError::Cancelled`] when `cancel` was set
/// while it waited for another holder. Callers taking several claims at once take them in
/// digest order (so two pulls never wait for each other).
pub fn blob(
    store: &Store,
    cache: &LocalCache,
    d: &Digest,
    size: u64,
    cancel: &AtomicBool,
) -> Result<Fetched, PullError> {
    let local = |source| PullError::Local {
        path: cache.root().display().to_string(),
        source,
    };
    let wait = store.blob_time_limit(size);
    let claim = cache.claim_download(d, wait, cancel).map_err(local)?;
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(PullError::Cancelled);
    }
    if cache.path(Kind::Blob, d).exists() {
        return Ok(Fetched {
            digest: *d,
            claim,
            bytes: None,
        });
    }
    let mut spool = match &claim {
        Some(c) if size >= MIN_PARTIAL_SIZE => partial_spool(c, size),
        _ => Spool::in_memory(),
    };
    let url = || store.url(&Key::blob(d));
    let got = store.get_blob_resuming(d, size, &mut spool);
    drop(spool);
    let blob = match got {
        Ok(Some(b)) => b,
        Ok(None) => {
            forget(&claim);
            return Err(PullError::Missing { url: url() });
        }
        Err(e) => {
            if matches!(e, StoreError::Corrupt { .. } | StoreError::TooLarge { .. })
                || partial_is_empty(&claim)
            {
                forget(&claim);
            }
            return Err(e.into());
        }
    };
    if blob.len() as u64 != size {
        forget(&claim);
        return Err(PullError::Mismatch {
            url: url(),
            what: format!("{} bytes, the record says {size}", blob.len()),
        });
    }
    Ok(Fetched {
        digest: *d,
        claim,
        bytes: Some(blob),
    })
}
/// A spool going on from the claim's partial file (in memory only if it cannot be opened).
fn partial_spool(claim: &DownloadClaim, size: u64) -> Spool {
    match claim.open_partial() {
        Ok(f) => Spool::resume(f, crate::store::frame_limit(size)),
        Err(_) => Spool::in_memory(),
    }
}

/// Whether the claim's partial file holds no byte (a download cut before its body began).
fn partial_is_empty(claim: &Option<DownloadClaim>) -> bool {
    claim
        .as_ref()
        .and_then(|c| std::fs::metadata(c.partial_path()).ok())
        .is_some_and(|m| m.len() == 0)
}

/// Removes the claim's partial file, if there is a claim.
fn forget(claim: &Option<DownloadClaim>) {
    if let Some(c) = claim {
        c.remove_partial();
    }
}
