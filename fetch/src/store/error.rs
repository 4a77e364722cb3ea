//! The one error type of the remote stores: every message names the operation, the URL and why.

use std::io;
use std::time::Duration;

/// What can go wrong talking to a store. `op` is `GET`, `HEAD` or `PUT`; `url` is the full
/// address of the object (`file:///…` for a file store).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store URL cannot be used (unknown scheme, relative path, no host).
    #[error("store URL {url}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A key or path that could escape the prefix or has characters outside the allowed set.
    #[error("invalid store key {key:?}: {reason}")]
    BadKey {
        /// The key as given.
        key: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The server answered with an error status (after the retries for a 5xx).
    #[error("{op} {url}: {status}")]
    Status {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// The numeric code (5xx are retried).
        code: u16,
        /// Status code and reason, e.g. `500 Internal Server Error`.
        status: String,
    },
    /// The server refused the credentials or the access (401/403), e.g. a wrong S3 secret.
    #[error(
        "{op} {url}: access denied ({reason}): check the store's credentials (for S3 the \
         access key and secret, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and the \
         bucket's policy"
    )]
    Denied {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// Status and the server's error code, e.g. `403 Forbidden, SignatureDoesNotMatch`.
        reason: String,
    },
    /// The request did not finish within the configured timeout (after the retries).
    #[error("{op} {url}: timed out after {after:?}")]
    Timeout {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// The configured whole-request (or connect) timeout.
        after: Duration,
    },
    /// No connection could be made (refused, unreachable, DNS) or it broke mid-request.
    #[error("{op} {url}: connection failed: {reason}")]
    Connect {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// The innermost cause, e.g. `Connection refused (os error 111)`.
        reason: String,
    },
    /// The object is there but wrong: undecodable zstd frame or a hash that does not match.
    #[error("{op} {url}: {reason}")]
    Corrupt {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// What did not match, e.g. `hash mismatch (got 3f…)`.
        reason: String,
    },
    /// The object (compressed or decompressed) is larger than the cap: a bomb or a wrong object.
    #[error("{op} {url}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// Not sent: the store's breaker tripped on an earlier hard failure in this build, or an
    /// earlier build recorded one a short while ago ([`super::Breaker`]).
    #[error("{op} {url}: not asked, the store is skipped: {reason}")]
    Skipped {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// What tripped the breaker.
        reason: String,
    },
    /// The store delivered slower than [`super::StoreConfig::slow_rate`] (its bodies
    /// together): it is alive but slower than compiling.
    #[error("{op} {url}: too slow: the store delivered {rate} B/s over {:.1} s ({bodies} downloads at once), below the slow rate of {min} B/s", over.as_secs_f64())]
    Slow {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// Bytes per second the store's bodies delivered together.
        rate: u64,
        /// The bodies being read when it was judged.
        bodies: u64,
        /// The time measured over.
        over: Duration,
        /// The configured slow rate.
        min: u64,
    },
    /// A local file system error (file store), a failure reading a response body, or an S3
    /// answer that could not be used (e.g. a redirect to another region).
    #[error("{op} {url}: {source}")]
    Io {
        /// The method.
        op: &'static str,
        /// The object's URL.
        url: String,
        /// The error.
        source: io::Error,
    },
}

impl StoreError {
    /// Whether this failure means the store cannot serve this build, so its breaker trips: no
    /// connection (refused, reset, broken mid-body), a stall past the first-byte or request
    /// timeout, refused credentials, server errors after the retries, a transfer below the
    /// slow rate, or a store already skipped. Missing, corrupt or oversized objects are not:
    /// they concern one object.
    pub fn is_hard(&self) -> bool {
        match self {
            StoreError::Connect { .. }
            | StoreError::Timeout { .. }
            | StoreError::Denied { .. }
            | StoreError::Slow { .. }
            | StoreError::Skipped { .. } => true,
            StoreError::Status { code, .. } => *code >= 500,
            // A body read that broke (HTTP, S3); a file store's local error is as final.
            StoreError::Io { .. } => true,
            StoreError::BadUrl { .. }
            | StoreError::BadKey { .. }
            | StoreError::Corrupt { .. }
            | StoreError::TooLarge { .. } => false,
        }
    }
}
