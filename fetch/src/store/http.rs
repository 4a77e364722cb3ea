//! `http[s]://host/prefix`: plain GET/HEAD/PUT (nginx WebDAV), with timeouts and bounded retries.
//!
//! One blocking `reqwest` client per store keeps connections alive between requests. A 5xx
//! or a timeout is retried after `backoff`, `2×backoff`, … (at most [`MAX_BACKOFF`] each) up to
//! `retries` times; a refused connection is not (the server is down: fail fast and compile).
//! Redirects are not followed: a 3xx is an error. `https://` goes over rustls and trusts the
//! system's certificate store, or only the file `SSL_CERT_FILE` names when it is set.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::StatusCode;

use super::{Backend, Key, StoreConfig, StoreCounters, StoreError};

/// Cap on one wait between retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A store reached over HTTP.
pub struct HttpBackend {
    client: Client,
    base: String,
    cfg: StoreConfig,
    counters: Arc<StoreCounters>,
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
        let client = Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(HttpBackend {
            client,
            base: url.trim_end_matches('/').to_string(),
            cfg: cfg.clone(),
            counters,
        })
    }

    /// Sends one request, turning transport failures into [`StoreError`]s.
    fn send(
        &self,
        op: &'static str,
        url: &str,
        req: RequestBuilder,
    ) -> Result<Response, StoreError> {
        req.send().map_err(|e| self.transport(op, url, &e))
    }

    fn transport(&self, op: &'static str, url: &str, e: &reqwest::Error) -> StoreError {
        if e.is_timeout() {
            let after = if e.is_connect() {
                self.cfg.connect_timeout
            } else {
                self.cfg.timeout
            };
            return StoreError::Timeout {
                op,
                url: url.to_string(),
                after,
            };
        }
        StoreError::Connect {
            op,
            url: url.to_string(),
            reason: innermost(e),
        }
    }

    /// Reads a 2xx body, at most `limit` bytes.
    fn body(&self, url: &str, resp: Response, limit: u64) -> Result<Vec<u8>, StoreError> {
        let too_large = || StoreError::TooLarge {
            op: "GET",
            url: url.to_string(),
            limit,
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut buf = Vec::new();
        resp.take(limit.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| {
                // The blocking client reports its whole-request timeout as `TimedOut`.
                let inner = e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>());
                match inner {
                    Some(re) => self.transport("GET", url, re),
                    None if e.kind() == std::io::ErrorKind::TimedOut => StoreError::Timeout {
                        op: "GET",
                        url: url.to_string(),
                        after: self.cfg.timeout,
                    },
                    None => StoreError::Io {
                        op: "GET",
                        url: url.to_string(),
                        source: e,
                    },
                }
            })?;
        if buf.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(buf)
    }
}

impl Backend for HttpBackend {
    fn url(&self, key: &Key) -> String {
        format!("{}/{key}", self.base)
    }

    fn get(&self, key: &Key, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let url = self.url(key);
        with_retries(&self.cfg, &self.counters, || {
            let resp = self.send("GET", &url, self.client.get(&url))?;
            match resp.status() {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => self.body(&url, resp, limit).map(Some),
                s => Err(status("GET", &url, s)),
            }
        })
    }

    fn head(&self, key: &Key) -> Result<bool, StoreError> {
        let url = self.url(key);
        with_retries(&self.cfg, &self.counters, || {
            let resp = self.send("HEAD", &url, self.client.head(&url))?;
            match resp.status() {
                StatusCode::NOT_FOUND => Ok(false),
                s if s.is_success() => Ok(true),
                s => Err(status("HEAD", &url, s)),
            }
        })
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let url = self.url(key);
        with_retries(&self.cfg, &self.counters, || {
            let req = self.client.put(&url).body(bytes.to_vec());
            let resp = self.send("PUT", &url, req)?;
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
    attempt: impl Fn() -> Result<T, StoreError>,
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

fn status(op: &'static str, url: &str, s: StatusCode) -> StoreError {
    StoreError::Status {
        op,
        url: url.to_string(),
        code: s.as_u16(),
        status: s.to_string(),
    }
}

/// 5xx and timeouts may pass; everything else will fail again.
fn retryable(e: &StoreError) -> bool {
    match e {
        StoreError::Status { code, .. } => (500..600).contains(code),
        StoreError::Timeout { .. } => true,
        _ => false,
    }
}

/// The innermost cause of an error chain (e.g. `Connection refused (os error 111)`).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
