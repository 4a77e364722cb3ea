//! One blob from a store into the local cache, downloaded once by all the pulls sharing that
//! cache, and resumed when an earlier download was cut short (issue 16).
//!
//! [`blob`] takes the blob's claim in the cache ([`LocalCache::claim_download`]), waiting at
//! most the time the store gives such a download ([`Store::blob_time_limit`]): a holder that
//! is slower than that is no reason to wait longer, and the blob is then downloaded without
//! the claim (in memory, leaving the holder's partial file alone). Holding the claim, it looks
//! again (another pull may have inserted the blob meanwhile), then downloads, going on from the
//! blob's partial file when one is there ([`Store::get_blob_resuming`]: a range request),
//! inserts the verified blob and removes the partial file. A download that fails keeps its
//! partial file for the next pull, unless the bytes were wrong.

use crate::cache::{Digest, DownloadClaim, Kind, LocalCache, MIN_PARTIAL_SIZE};
use crate::pull::PullError;
use crate::store::{Key, Spool, Store, StoreError};
use std::sync::atomic::AtomicBool;

/// How a blob came to be in the local cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// This call downloaded it (uncompressed bytes).
    Downloaded(u64),
    /// It was there when the claim was taken: another pull brought it.
    Shared,
}

/// Brings blob `d` of `size` bytes from `store` into `cache` (see the module docs); a
/// [`PullError::Cancelled`] when `cancel` was set while it waited for another holder.
pub fn blob(
    store: &Store,
    cache: &LocalCache,
    d: &Digest,
    size: u64,
    cancel: &AtomicBool,
) -> Result<Arrival, PullError> {
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
        if let Some(c) = &claim {
            c.remove_partial();
        }
        return Ok(Arrival::Shared);
    }
    let mut spool = match &claim {
        Some(c) if size >= MIN_PARTIAL_SIZE => partial_spool(c, size),
        _ => Spool::in_memory(),
    };
    let url = || store.url(&Key::blob(d));
    let got = store.get_blob_resuming(d, size, &mut spool);
    let blob = match got {
        Ok(Some(b)) => b,
        Ok(None) => {
            forget(&claim);
            return Err(PullError::Missing { url: url() });
        }
        Err(e) => {
            if matches!(e, StoreError::Corrupt { .. } | StoreError::TooLarge { .. }) {
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
    cache.put_blob(&blob).map_err(local)?;
    forget(&claim);
    Ok(Arrival::Downloaded(size))
}

/// A spool going on from the claim's partial file (in memory only if it cannot be opened).
fn partial_spool(claim: &DownloadClaim, size: u64) -> Spool {
    match claim.open_partial() {
        Ok(f) => Spool::resume(f, crate::store::frame_limit(size)),
        Err(_) => Spool::in_memory(),
    }
}

/// Removes the claim's partial file, if there is a claim.
fn forget(claim: &Option<DownloadClaim>) {
    if let Some(c) = claim {
        c.remove_partial();
    }
}
