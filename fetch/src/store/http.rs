//! `http[s]://host/prefix`: plain GET/HEAD/PUT (nginx WebDAV), with timeouts and bounded retries.
//!
//! One blocking `reqwest` client per store keeps connections alive between requests. Each
//! request has its own whole-request limit, [`StoreConfig::timeout_for`] the bytes it moves (a
//! `PUT`'s body, a `GET`'s cap): [`StoreConfig::get_timeout`] for a `GET` (the first-byte
//! timeout plus the bytes), [`StoreConfig::first_byte_timeout`] for a `HEAD`,
//! [`StoreConfig::timeout_for`] for a `PUT`. (reqwest's read timeout would bound each wait for
//! bytes, but its blocking client panics on it while reading a body: no runtime in the
//! caller's thread.) A `GET` asked as a `HEAD` ([`super::Store::get_as_head`]) also has its
//! answer's head bounded by [`StoreConfig::head_timeout`]: the blocking client has one limit
//! for head and body, so it is sent from a thread of its own and its head waited for on a
//! channel; given up on, that thread ends at the request's own limit. A body is read in
//! chunks and judged against [`StoreConfig::slow_rate`]. A 5xx
//! is retried after `backoff`, `2×backoff`, … (at most [`MAX_BACKOFF`]) up to `retries` times;
//! a failure to connect (refused, unreachable, connect timeout) or a timeout is not: the server
//! is down, out of reach or stalled; fail fast and compile.
//! A blob download that was cut short goes on with `Range: bytes=N-` ([`Backend::get_into`]).
//! Redirects are not followed: a 3xx is an error. `https://` goes over rustls and trusts the
//! system's certificate store, or only the file `SSL_CERT_FILE` names when it is set.

use std::io::{Read, Write};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;

use super::as_head::HeadWait;
use super::breaker::{Bodies, SlowGuard};
use super::{Backend, Key, Spool, StoreConfig, StoreCounters, StoreError};

/// Bytes read from a body at a time (between two rate checks).
const CHUNK: usize = 64 << 10;

/// Cap on one wait between retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A store reached over HTTP.
pub struct HttpBackend {
    client: Client,
    base: String,
    cfg: StoreConfig,
    counters: Arc<StoreCounters>,
    /// The bodies being read at once (the slow check judges what they make in all).
    bodies: Bodies,
}

impl HttpBackend {
    /// Checks the URL and builds the client (spawns reqwest's I/O thread; no request yet).
    pub fn new(cfg: &StoreConfig, counters: Arc<StoreCounters>) -> Result<Self, StoreError> {
        let url = cfg.url.as_str();
        let bad = |reason: String| StoreError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| bad("not http:// or https://".into()))?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() || rest.contains(['?', '#']) {
            return Err(bad("expected http[s]://host[:port]/prefix".into()));
        }
        let mut builder = Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none());
        if cfg.http2_prior_knowledge && url.starts_with("http://") {
            builder = builder.http2_prior_knowledge();
        }
        let client = builder.build().map_err(|e| bad(e.to_string()))?;
        Ok(HttpBackend {
            client,
            base: url.trim_end_matches('/').to_string(),
            cfg: cfg.clone(),
            counters,
            bodies: Bodies::default(),
        })
    }

    /// Sends one request limited to `after` in all, turning transport failures into
    /// [`StoreError`]s.
    fn send(
        &self,
        op: &'static str,
        url: &str,
        req: RequestBuilder,
        after: Duration,
    ) -> Result<Response, StoreError> {
        req.timeout(after)
            .send()
            .map_err(|e| self.transport(op, url, &e, after))
    }

    /// [`send`](Self::send) on a thread of its own, its answer's head waited for at most
    /// `within` (else [`StoreError::Timeout`] after `within`; the thread is left to end at
    /// `after`): reqwest's blocking client has one limit for the head and the body together.
    fn send_within(
        &self,
        op: &'static str,
        url: &str,
        req: RequestBuilder,
        after: Duration,
        within: Duration,
    ) -> Result<Response, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("store-get-head".into())
            .spawn(move || {
                let _ = tx.send(req.timeout(after).send());
            });
        if let Err(source) = spawned {
            let url = url.to_string();
            return Err(StoreError::Io { op, url, source });
        }
        match rx.recv_timeout(within) {
            Ok(r) => r.map_err(|e| self.transport(op, url, &e, after)),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(StoreError::Timeout {
                op,
                url: url.to_string(),
                after: within,
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::Io {
                op,
                url: url.to_string(),
                source: std::io::Error::other("the request's thread ended without an answer"),
            }),
        }
    }

    /// A `GET` of `key` (at most `limit`), each try's answer had from `send` (given the URL);
    /// `heard` told whether the object is there before its body is read (which it may decline:
    /// `Ok(None)`); retried as any.
    fn get_sent(
        &self,
        key: &Key,
        limit: u64,
        send: impl Fn(&str) -> Result<Response, StoreError>,
        heard: &dyn Fn(bool) -> bool,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let url = self.url(key);
        let after = self.cfg.get_timeout(limit);
        with_retries(&self.cfg, &self.counters, || {
            let resp = send(&url)?;
            match resp.status() {
                StatusCode::NOT_FOUND => {
                    heard(false);
                    Ok(None)
                }
                // A body not wanted: the answer dropped unread closes its connection.
                s if s.is_success() && !heard(true) => Ok(None),
                s if s.is_success() => self.body(&url, resp, limit, after).map(Some),
                s => Err(status("GET", &url, s)),
            }
        })
    }

    /// A failure to connect (even by timeout) is [`StoreError::Connect`]; a request that timed
    /// out later is [`StoreError::Timeout`] after `after`.
    fn transport(
        &self,
        op: &'static str,
        url: &str,
        e: &reqwest::Error,
        after: Duration,
    ) -> StoreError {
        let connect = |reason| StoreError::Connect {
            op,
            url: url.to_string(),
            reason,
        };
        if e.is_connect() {
            return connect(connect_reason(
                e.is_timeout(),
                self.cfg.connect_timeout,
                innermost(e),
            ));
        }
        if e.is_timeout() {
            return StoreError::Timeout {
                op,
                url: url.to_string(),
                after,
            };
        }
        connect(innermost(e))
    }

    /// Reads a 2xx body, at most `limit` bytes (the request was limited to `after`).
    fn body(
        &self,
        url: &str,
        resp: Response,
        limit: u64,
        after: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let mut buf = Vec::new();
        self.body_into(url, resp, limit, after, &mut buf)?;
        Ok(buf)
    }

    /// Reads a 2xx body into `out` as it arrives, at most `limit` bytes (the request was
    /// limited to `after`); returns how many.
    fn body_into(
        &self,
        url: &str,
        resp: Response,
        limit: u64,
        after: Duration,
        out: &mut dyn Write,
    ) -> Result<u64, StoreError> {
        let too_large = || StoreError::TooLarge {
            op: "GET",
            url: url.to_string(),
            limit,
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let guard = SlowGuard::new(self.cfg.slow_rate, &self.bodies);
        let mut body = resp.take(limit.saturating_add(1));
        let mut chunk = vec![0u8; CHUNK];
        let mut got = 0u64;
        loop {
            let n = body.read(&mut chunk).map_err(|e| {
                // The blocking client reports its whole-request timeout as `TimedOut`.
                let inner = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>());
                match inner {
                    Some(re) => self.transport("GET", url, re, after),
                    None if e.kind() == std::io::ErrorKind::TimedOut => StoreError::Timeout {
                        op: "GET",
                        url: url.to_string(),
                        after,
                    },
                    None => StoreError::Io {
                        op: "GET",
                        url: url.to_string(),
                        source: e,
                    },
                }
            })?;
            if n == 0 {
                break;
            }
            got += n as u64;
            if got > limit {
                return Err(too_large());
            }
            out.write_all(&chunk[..n])
                .map_err(|source| StoreError::Io {
                    op: "GET",
                    url: url.to_string(),
                    source,
                })?;
            guard.check("GET", url, got)?;
        }
        Ok(got)
    }
}

impl Backend for HttpBackend {
    fn url(&self, key: &Key) -> String {
        format!("{}/{key}", self.base)
    }

    fn get(&self, key: &Key, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let after = self.cfg.get_timeout(limit);
        let send = |url: &str| self.send("GET", url, self.client.get(url), after);
        self.get_sent(key, limit, send, &|_| true)
    }

    /// The head within `wait.within`, the whole request within [`StoreConfig::get_timeout`]
    /// of `limit` from its start.
    fn get_as_head(
        &self,
        key: &Key,
        limit: u64,
        wait: &HeadWait<'_>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let after = self.cfg.get_timeout(limit);
        let send =
            |url: &str| self.send_within("GET", url, self.client.get(url), after, wait.within);
        self.get_sent(key, limit, send, wait.heard)
    }

    /// A spool holding bytes asks for the rest (`Range: bytes=N-`): a `206` from `N` goes on
    /// from them, a `200` (a server without ranges) restarts the spool, and a `416` (the spool
    /// holds the whole object already, or more) leaves it to the caller's check.
    fn get_into(&self, key: &Key, limit: u64, spool: &mut Spool) -> Result<bool, StoreError> {
        let url = self.url(key);
        with_retries(&self.cfg, &self.counters, || {
            let from = spool.len();
            let after = self.cfg.get_timeout(limit.saturating_sub(from));
            let mut req = self.client.get(&url);
            if from > 0 {
                req = req.header(RANGE, format!("bytes={from}-"));
            }
            let resp = self.send("GET", &url, req, after)?;
            let rest = match resp.status() {
                StatusCode::NOT_FOUND => return Ok(false),
                StatusCode::RANGE_NOT_SATISFIABLE if from > 0 => return Ok(true),
                StatusCode::PARTIAL_CONTENT if from > 0 => {
                    if range_start(&resp) != Some(from) {
                        spool.restart();
                        return Err(StoreError::Corrupt {
                            op: "GET",
                            url: url.clone(),
                            reason: format!("asked for bytes from {from}, sent others"),
                        });
                    }
                    limit.saturating_sub(from)
                }
                s if s.is_success() => {
                    spool.restart();
                    limit
                }
                s => return Err(status("GET", &url, s)),
            };
            self.body_into(&url, resp, rest, after, spool).map(|_| true)
        })
    }

    fn head(&self, key: &Key) -> Result<bool, StoreError> {
        let url = self.url(key);
        with_retries(&self.cfg, &self.counters, || {
            let after = self.cfg.head_timeout();
            let resp = self.send("HEAD", &url, self.client.head(&url), after)?;
            match resp.status() {
                StatusCode::NOT_FOUND => Ok(false),
                s if s.is_success() => Ok(true),
                s => Err(status("HEAD", &url, s)),
            }
        })
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let url = self.url(key);
        let after = self.cfg.timeout_for(bytes.len() as u64);
        with_retries(&self.cfg, &self.counters, || {
            let req = self.client.put(&url).body(bytes.to_vec());
            let resp = self.send("PUT", &url, req, after)?;
            match resp.status() {
                s if s.is_success() => Ok(()),
                s => Err(status("PUT", &url, s)),
            }
        })
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `cfg.retries` are spent, waiting
/// `backoff`, `2×backoff`, … (at most [`MAX_BACKOFF`]) and counting each retry.
pub(super) fn with_retries<T>(
    cfg: &StoreConfig,
    counters: &StoreCounters,
    mut attempt: impl FnMut() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut wait = cfg.backoff;
    for _ in 0..cfg.retries {
        match attempt() {
            Err(e) if retryable(&e) => {
                counters.retry();
                std::thread::sleep(wait.min(MAX_BACKOFF));
                wait = wait.saturating_mul(2);
            }
            r => return r,
        }
    }
    attempt()
}

/// The first byte of a `206` answer's `Content-Range: bytes N-M/T`.
fn range_start(resp: &Response) -> Option<u64> {
    let v = resp.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let (start, _) = v.strip_prefix("bytes ")?.split_once('-')?;
    start.trim().parse().ok()
}

fn status(op: &'static str, url: &str, s: StatusCode) -> StoreError {
    StoreError::Status {
        op,
        url: url.to_string(),
        code: s.as_u16(),
        status: s.to_string(),
    }
}

/// The reason of a failure to connect: the cause, or the connect timeout that ran out.
pub(super) fn connect_reason(timed_out: bool, connect_timeout: Duration, cause: String) -> String {
    if timed_out {
        format!("no connection within {connect_timeout:?} ({cause})")
    } else {
        cause
    }
}

/// A 5xx of a connected request may pass; everything else will fail again or cost too much
/// to find out: a failure to connect (the server is down or out of reach) and a timeout (it
/// stalls; a second wait would double the cost, issue 16).
pub(super) fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Status { code, .. } => (500..600).contains(code),
        _ => false,
    }
}

/// The innermost cause of an error chain (e.g. `Connection refused (os error 111)`).
pub(super) fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A connect timeout (a black-holed server) is one `Connect` error, not retried: the store
    // contract test `unreachable_server_is_tried_once`, against HTTP and S3.

    #[test]
    fn only_server_errors_are_retried() {
        let (op, url) = ("GET", String::from("http://x/ac/k"));
        let status = |code| StoreError::Status {
            op,
            url: url.clone(),
            code,
            status: String::new(),
        };
        assert!(retryable(&status(503)));
        assert!(!retryable(&status(404)));
        assert!(!retryable(&StoreError::Timeout {
            op,
            url: url.clone(),
            after: Duration::from_secs(1),
        }));
        assert!(!retryable(&StoreError::Connect {
            op,
            url: url.clone(),
            reason: connect_reason(true, Duration::from_secs(3), "timed out".into()),
        }));
    }

    #[test]
    fn request_limits_grow_with_the_bytes_moved() {
        let mut cfg = StoreConfig::new("http://x/c");
        assert_eq!(cfg.timeout_for(0), Duration::from_secs(10));
        assert_eq!(cfg.timeout_for(30 << 20), Duration::from_secs(10 + 120));
        assert_eq!(cfg.timeout_for(1), Duration::from_millis(10_001));
        // A GET starts from the first-byte timeout, a HEAD is nothing else.
        assert_eq!(cfg.get_timeout(0), Duration::from_secs(2));
        assert_eq!(cfg.get_timeout(30 << 20), Duration::from_secs(2 + 120));
        assert_eq!(cfg.head_timeout(), Duration::from_secs(2));
        cfg.timeout = Duration::from_secs(1);
        assert_eq!(
            cfg.get_timeout(0),
            Duration::from_secs(1),
            "never above timeout"
        );
        cfg.timeout = Duration::from_secs(10);
        cfg.min_rate = 0;
        assert_eq!(cfg.timeout_for(30 << 20), Duration::from_secs(10));
        assert_eq!(cfg.get_timeout(30 << 20), Duration::from_secs(2));
    }
}
