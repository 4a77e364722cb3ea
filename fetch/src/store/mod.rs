//! Remote content-addressed stores: one interface; `file://`, `http(s)://` and `s3://` kinds
//! (DESIGN §4).
//!
//! A store is `get`/`put`/`head` and little else (ccache `remotestorage.hpp`); a failure is a
//! [`StoreError`] naming the operation, the URL and the reason, or a timeout. Layout under the
//! store's prefix:
//!
//! | path | what |
//! |---|---|
//! | `cas/<hash>` | a blob as one zstd frame, named by the BLAKE3 of its *uncompressed* bytes |
//! | `ac/<action key>` | an action entry: a zstd frame inside a signed envelope (`published.rs`) |
//! | `builds/<config>/<revision>` | a build manifest: the same, a signed zstd frame |
//!
//! Names are checked by [`Key`]: a hostile name (`..`, absolute, odd characters) is an error.
//! [`Store::put_blob`] asks `HEAD` first and uploads only what is missing, so repeating it is
//! cheap; [`Store::get_blob`] decompresses with a cap ([`TooLarge`](StoreError::TooLarge) for a
//! zstd bomb, never an out-of-memory) and verifies the hash
//! ([`Corrupt`](StoreError::Corrupt) otherwise). Every outcome increments a named counter in
//! [`StoreCounters`]; callers fall back to a local compile on any error (DESIGN §7).
//!
//! **Kinds, by URL.** `file:///path` ([`file`](mod@file)): plain files, each write a temporary
//! file in the same directory, fsync, rename. `http://host[:port]/prefix` ([`http`](mod@http)):
//! GET/HEAD/PUT as nginx's WebDAV module serves them (`dav_methods PUT;`,
//! `create_full_put_path on;`), with a connect and a whole-request timeout, bounded retries
//! with exponential backoff for 5xx, and connection reuse; `https://` the same over
//! rustls, trusting the system's certificates (or the file `SSL_CERT_FILE` names).
//! `s3://bucket/prefix` ([`s3`](mod@s3)): objects in an S3 bucket through `object_store` (AWS,
//! or Garage, Ceph RGW, MinIO at an endpoint), configured by [`S3Options`] or the usual `AWS_*`
//! variables, with the same timeouts, retries and counters.
//!
//! **Timeouts (bounded waiting, issue 16).** Establishing a connection is bounded by
//! [`StoreConfig::connect_timeout`] (default 1 s); a failure to connect (refused, unreachable, or
//! that timeout) is [`StoreError::Connect`] and is never retried. Once connected, a `HEAD` is
//! bounded by [`StoreConfig::first_byte_timeout`] (default 2 s) and a `GET` by that plus the
//! time its size cap takes at [`StoreConfig::min_rate`] ([`StoreConfig::get_timeout`]); a
//! [`Store::get_as_head`] waits for its answer's head no longer than a `HEAD`
//! ([`StoreConfig::head_timeout`]), whatever its cap: a server that accepts and never answers
//! costs about the first-byte timeout. A body slower than
//! [`StoreConfig::slow_rate`] after [`SLOW_AFTER`] is [`StoreError::Slow`]. A `PUT` (CI's side)
//! is bounded by [`StoreConfig::timeout_for`]: the base
//! [`StoreConfig::timeout`] plus the time the bytes it may move take at
//! [`StoreConfig::min_rate`] (default [`MIN_RATE`], 256 KiB/s). The bytes are the body of a
//! `PUT` and the size cap of a `GET` (the size is not known before the answer), none for a
//! `HEAD`; so a 30 MiB blob may take 10 s + 120 s on a slow link, while a `HEAD` or a `GET`
//! capped at a few kB fails near the base timeout. Only a 5xx is retried: a timeout means the
//! store stalls, and waiting again would double the cost.
//!
//! **Circuit breaker.** Each [`Store`] has a [`Breaker`]: its first hard failure
//! ([`StoreError::is_hard`]) opens it, and every later request fails at once with
//! [`StoreError::Skipped`]. [`Store::breaker`] says what tripped it and what it cost; the
//! caller records it across builds ([`crate::skips`]) and presets it in the next ones.
//!
//! The store moves `ac/` and `builds/` objects as opaque bytes ([`Store::get`],
//! [`Store::get_limited`] with a smaller cap for entries, [`Store::put`]); `published.rs` makes
//! and checks their envelopes. [`Store::get_as_head`] is a `GET` asked where a `HEAD` would do
//! (`as_head.rs`): its answer's head is waited for as a `HEAD`'s (a server that accepts and
//! never answers costs [`StoreConfig::head_timeout`], whatever the size cap), and a failure
//! after the store said the object is there is told apart ([`Found::Unread`]).
//!
//! **Bandwidth.** [`StoreConfig::max_bytes_per_sec`] caps the wire bytes of all threads using
//! one [`Store`], uploads and downloads alike (`pace.rs`; policy `[fetch] bandwidth`).
//!
//! **Blocking by choice.** The launcher and the tests are synchronous, so this uses reqwest's
//! blocking client (it runs its own small runtime on a thread of its own) and the S3 kind
//! `block_on`s a private current-thread runtime. A [`Store`] must therefore not be created,
//! used or dropped on an async runtime's thread; an async caller (the prefetch daemon, later)
//! wraps calls in `tokio::task::spawn_blocking`.

mod as_head;
mod blob;
mod breaker;
mod counters;
mod error;
pub mod file;
pub mod http;
mod key;
mod pace;
pub mod s3;
mod spool;

pub use as_head::Found;
pub use blob::frame_limit;
pub use breaker::{Breaker, Trip, TripKind, SLOW_AFTER};
pub use counters::{ErrorCounts, StoreCounters, StoreCounts};
pub use error::StoreError;
pub use key::{Key, MAX_SEGMENT};
pub use s3::S3Options;
pub use spool::Spool;

use std::sync::Arc;
use std::time::Duration;

use crate::cache::Digest;

/// How to reach a store: a request struct with sensible defaults from [`StoreConfig::new`].
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `file:///path`, `http[s]://host[:port]/prefix` or `s3://bucket/prefix`.
    pub url: String,
    /// Limit on establishing a connection (HTTP, S3).
    pub connect_timeout: Duration,
    /// Limit on waiting for the answer's first byte, and (HTTP) on any later wait for more
    /// bytes: a server that accepts and never answers costs this much.
    pub first_byte_timeout: Duration,
    /// A store whose bodies deliver below this many bytes per second together (judged once a
    /// body has been read for [`SLOW_AFTER`]) is [`StoreError::Slow`] and trips the breaker
    /// (0: never judged).
    pub slow_rate: u64,
    /// Limit on one whole request without a body to speak of (HTTP, S3); a request moving `n`
    /// bytes gets more time, see [`StoreConfig::timeout_for`].
    pub timeout: Duration,
    /// Slowest transfer, in bytes per second, a request is given time for on top of `timeout`
    /// (default [`MIN_RATE`]; 0: no extra time, `timeout` bounds every request whole).
    pub min_rate: u64,
    /// How many times a 5xx is retried (HTTP, S3; a failure to connect or a timeout is not).
    pub retries: u32,
    /// First wait before a retry; doubled each time (HTTP, S3).
    pub backoff: Duration,
    /// Largest raw object [`Store::get`] accepts.
    pub max_entry_size: u64,
    /// Endpoint, region and credentials of an `s3://` store (unset: `AWS_*` variables).
    pub s3: S3Options,
    /// Bandwidth cap in bytes per second over all threads, both directions (`None`: none).
    pub max_bytes_per_sec: Option<u64>,
    /// `http://` only: speak HTTP/2 from the first byte (a server configured for it in clear
    /// text, nginx `listen … http2`), so all requests share one connection. `https://`
    /// negotiates HTTP/2 by itself where the server offers it.
    pub http2_prior_knowledge: bool,
}

impl StoreConfig {
    /// Defaults: connect 1 s, first byte 2 s, slow below 64 KiB/s, request 10 s plus the
    /// bytes at 256 KiB/s, 2 retries of a 5xx from 200 ms, entries up to 64 MiB.
    pub fn new(url: impl Into<String>) -> StoreConfig {
        StoreConfig {
            url: url.into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            first_byte_timeout: DEFAULT_FIRST_BYTE_TIMEOUT,
            slow_rate: DEFAULT_SLOW_RATE,
            timeout: Duration::from_secs(10),
            min_rate: MIN_RATE,
            retries: 2,
            backoff: Duration::from_millis(200),
            max_entry_size: 64 << 20,
            s3: S3Options::default(),
            max_bytes_per_sec: None,
            http2_prior_knowledge: false,
        }
    }

    /// The limit on a `HEAD`: the first byte is the whole answer.
    pub fn head_timeout(&self) -> Duration {
        self.timeout.min(self.first_byte_timeout)
    }

    /// The limit on a whole `GET` capped at `limit` bytes: the first-byte timeout plus `limit`
    /// at [`min_rate`](Self::min_rate).
    pub fn get_timeout(&self, limit: u64) -> Duration {
        let base = self.timeout.min(self.first_byte_timeout);
        self.timeout_for(limit) - self.timeout + base
    }

    /// The limit on a whole request that moves up to `bytes` (a `PUT`'s body, a `GET`'s size
    /// cap): [`timeout`](Self::timeout) plus `bytes` at [`min_rate`](Self::min_rate), rounded up
    /// to the millisecond.
    pub fn timeout_for(&self, bytes: u64) -> Duration {
        if self.min_rate == 0 {
            return self.timeout;
        }
        let ms = bytes.saturating_mul(1000).div_ceil(self.min_rate);
        self.timeout.saturating_add(Duration::from_millis(ms))
    }
}

/// Default of [`StoreConfig::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Default of [`StoreConfig::first_byte_timeout`].
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(2);

/// Default of [`StoreConfig::slow_rate`]: 64 KiB/s from the store in all (its bodies together),
/// far below any link worth waiting for and far above a trickle.
pub const DEFAULT_SLOW_RATE: u64 = 64 << 10;

/// Default of [`StoreConfig::min_rate`]: 256 KiB/s, a slow but usable link. A request moving
/// `n` bytes may take `timeout + n / MIN_RATE` (a 64 MiB cap adds 256 s, a 4 KiB one 16 ms).
pub const MIN_RATE: u64 = 256 << 10;

/// The transport of one kind of store: raw bytes at checked keys.
trait Backend: Send + Sync {
    /// The full URL of `key`, for messages.
    fn url(&self, key: &Key) -> String;
    /// The object's bytes (at most `limit`, else [`StoreError::TooLarge`]); `None` if absent.
    fn get(&self, key: &Key, limit: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// [`get`](Self::get), its answer's head (status and headers) waited for at most
    /// `wait.within` (else [`StoreError::Timeout`]) and told to `wait.heard` before the body
    /// is read ([`Store::get_as_head`]).
    fn get_as_head(
        &self,
        key: &Key,
        limit: u64,
        wait: &as_head::HeadWait<'_>,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Whether the object exists.
    fn head(&self, key: &Key) -> Result<bool, StoreError>;
    /// Writes the object whole (readers never see a part).
    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError>;
    /// Appends the object's bytes after those `spool` holds (a range request where the kind
    /// has one; else, or when the store sends the whole object, the spool restarts), at most
    /// `limit` in all; `false` if absent. What ends up in the spool is verified by the caller.
    fn get_into(&self, key: &Key, limit: u64, spool: &mut Spool) -> Result<bool, StoreError> {
        let Some(bytes) = self.get(key, limit)? else {
            return Ok(false);
        };
        spool.restart();
        std::io::Write::write_all(spool, &bytes).expect("a spool takes every write");
        Ok(true)
    }
}

/// One remote store with its counters.
pub struct Store {
    backend: Box<dyn Backend>,
    counters: Arc<StoreCounters>,
    breaker: Breaker,
    max_entry_size: u64,
    pace: Option<pace::Pace>,
    cfg: StoreConfig,
    decoders: crate::zframe::Decoders,
}

impl Store {
    /// Opens the store `cfg.url` names; no request is made yet.
    pub fn open(cfg: &StoreConfig) -> Result<Store, StoreError> {
        let counters = Arc::new(StoreCounters::default());
        let backend: Box<dyn Backend> = if cfg.url.starts_with("file:") {
            Box::new(file::FileBackend::new(&cfg.url)?.with_timeout(cfg.first_byte_timeout))
        } else if cfg.url.starts_with("http://") || cfg.url.starts_with("https://") {
            Box::new(http::HttpBackend::new(cfg, Arc::clone(&counters))?)
        } else if cfg.url.starts_with("s3://") {
            Box::new(s3::S3Backend::new(cfg, Arc::clone(&counters))?)
        } else {
            return Err(StoreError::BadUrl {
                url: cfg.url.clone(),
                reason: "expected file:///path, http[s]://host/prefix or s3://bucket/prefix".into(),
            });
        };
        Ok(Store {
            backend,
            counters,
            breaker: Breaker::default(),
            max_entry_size: cfg.max_entry_size,
            pace: cfg.max_bytes_per_sec.map(pace::Pace::new),
            cfg: cfg.clone(),
            decoders: Default::default(),
        })
    }

    /// The counters of this store (shared; read with [`StoreCounters::snapshot`]).
    pub fn counters(&self) -> &Arc<StoreCounters> {
        &self.counters
    }

    /// The breaker: whether (and why) this store is skipped.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The store's URL (without a key).
    pub fn base_url(&self) -> String {
        let key = Key::build("x", "x").expect("valid key");
        let url = self.url(&key);
        let base = url.strip_suffix(key.as_str()).unwrap_or(&url);
        base.trim_end_matches('/').to_string()
    }

    /// The full URL of `key`.
    pub fn url(&self, key: &Key) -> String {
        self.backend.url(key)
    }

    /// Runs one request unless the breaker is open, and trips it on a hard failure.
    fn guarded<T>(
        &self,
        op: &'static str,
        key: &Key,
        request: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.breaker.check(op, || self.url(key))?;
        let r = request();
        self.breaker.ended(&r);
        r
    }

    /// Whether `key` exists.
    pub fn head(&self, key: &Key) -> Result<bool, StoreError> {
        self.guarded("HEAD", key, || self.backend.head(key))
            .map_err(|e| self.counters.error(e))
    }

    /// The raw bytes at `key` (up to `max_entry_size`); `None` if absent.
    pub fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_limited(key, self.max_entry_size)
    }

    /// The raw bytes at `key`, at most `limit` (and never more than `max_entry_size`) else
    /// [`StoreError::TooLarge`]; `None` if absent. For objects known to be small (action
    /// entries): a wrong or hostile object is refused early, and the request's time limit
    /// ([`StoreConfig::timeout_for`]) stays near the base timeout.
    pub fn get_limited(&self, key: &Key, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let r = self.guarded("GET", key, || {
            self.backend.get(key, limit.min(self.max_entry_size))
        });
        self.paced(&r);
        self.count_get(r)
    }

    /// Writes raw bytes at an `ac/` or `builds/` key (blobs go through [`Self::put_blob`]).
    pub fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        if key.as_str().starts_with("cas/") {
            return Err(self.counters.error(StoreError::BadKey {
                key: key.to_string(),
                reason: "blobs are written by put_blob (zstd, named by their hash)",
            }));
        }
        self.put_counted(key, bytes)
    }

    /// Uploads `bytes` as a zstd frame at `cas/<blake3>` unless a `HEAD` finds it there.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest, StoreError> {
        let d = Digest::of(bytes);
        let key = Key::blob(&d);
        if self.head(&key)? {
            self.counters.already_present();
            return Ok(d);
        }
        self.put_counted(&key, &blob::compress(bytes))?;
        Ok(d)
    }

    /// Downloads, decompresses (at most `max_size` bytes) and verifies the blob `d`.
    pub fn get_blob(&self, d: &Digest, max_size: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_blob_resuming(d, max_size, &mut Spool::in_memory())
    }

    /// [`get_blob`](Self::get_blob) going on from the compressed bytes `spool` holds (a
    /// download cut short): the store is asked for the rest where it can send a range (HTTP,
    /// S3), and a frame that then fails to verify is downloaded once more, whole.
    pub fn get_blob_resuming(
        &self,
        d: &Digest,
        max_size: u64,
        spool: &mut Spool,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let resumed = !spool.is_empty();
        let mut r = self.get_frame(d, max_size, spool);
        if resumed
            && matches!(
                r,
                Err(StoreError::Corrupt { .. } | StoreError::TooLarge { .. })
            )
        {
            spool.restart();
            r = self.get_frame(d, max_size, spool);
        }
        self.count_get(r)
    }

    /// The longest a download of a blob of up to `max_size` bytes may take: the first-byte
    /// timeout plus its largest frame at [`StoreConfig::min_rate`].
    pub fn blob_time_limit(&self, max_size: u64) -> Duration {
        self.cfg.get_timeout(blob::frame_limit(max_size))
    }

    /// One request for the frame of `d` into `spool`, then its check.
    fn get_frame(
        &self,
        d: &Digest,
        max_size: u64,
        spool: &mut Spool,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = Key::blob(d);
        let before = spool.received();
        let found = self.guarded("GET", &key, || {
            self.backend
                .get_into(&key, blob::frame_limit(max_size), spool)
        });
        self.paced_len((spool.received() - before) as usize);
        if !found? {
            return Ok(None);
        }
        let url = self.backend.url(&key);
        let at = blob::Origin {
            op: "GET",
            url: &url,
        };
        blob::decode(&self.decoders, &at, spool.bytes(), d, max_size).map(Some)
    }

    /// Waits for the bandwidth cap after a download.
    fn paced(&self, r: &Result<Option<Vec<u8>>, StoreError>) {
        if let Ok(Some(b)) = r {
            self.paced_len(b.len());
        }
    }

    fn paced_len(&self, n: usize) {
        if let Some(p) = &self.pace {
            p.take(n as u64);
        }
    }

    fn put_counted(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        self.paced_len(bytes.len());
        self.guarded("PUT", key, || self.backend.put(key, bytes))
            .map_err(|e| self.counters.error(e))?;
        self.counters.uploaded();
        Ok(())
    }

    fn count_get(
        &self,
        r: Result<Option<Vec<u8>>, StoreError>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match r {
            Ok(Some(b)) => {
                self.counters.fetched();
                Ok(Some(b))
            }
            Ok(None) => {
                self.counters.not_found();
                Ok(None)
            }
            Err(e) => Err(self.counters.error(e)),
        }
    }
}
