//! `s3://bucket/prefix`: objects in an S3 bucket (AWS S3, Garage, Ceph RGW, MinIO) through
//! `object_store`'s SigV4 client.
//!
//! **Blocking over async.** `object_store` is async; [`S3Backend`] owns a small current-thread
//! tokio runtime and `block_on`s each call, so the [`Store`](super::Store) stays blocking like
//! the other kinds. An S3 store must therefore not be opened, used or dropped on an async
//! runtime's thread (opening one there is refused with [`StoreError::BadUrl`]; a call there
//! panics): an async caller wraps calls in `tokio::task::spawn_blocking`.
//!
//! **Where and who.** The fields of [`S3Options`] win; an unset one falls back, when the store is
//! opened, to `AWS_ENDPOINT_URL`, `AWS_REGION` then `AWS_DEFAULT_REGION` (else `us-east-1`),
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (the token is taken from
//! the environment only with a key that is too). With an endpoint (Garage, Ceph, MinIO) requests
//! use path-style addresses (`<endpoint>/<bucket>/<key>`) and plain `http://` is allowed if the
//! endpoint says so; without one they go to AWS over HTTPS. With no key at all `object_store`
//! looks for a web-identity token or the instance metadata service (EC2/ECS roles).
//!
//! **Requests.** `get` is one GET whose body is read chunk by chunk under the cap (a blob
//! download cut short asks for the rest with GetObject's `Range`, `get_into`); `head` one
//! HEAD; `put` one PUT, which S3 applies whole (no multipart: entries and frames are small).
//! Timeouts come from [`StoreConfig`]: the client has the connect timeout only, and each call
//! runs under `tokio::time::timeout` of [`StoreConfig::timeout_for`] the bytes it moves (a
//! `PUT`'s body; a `GET` gets [`StoreConfig::get_timeout`] of its cap, a `HEAD`
//! [`StoreConfig::head_timeout`], and a `GET` asked as a `HEAD` the latter for its answer's
//! head, the former for the whole), since `object_store` has no per-request limit, and a body
//! is judged against [`StoreConfig::slow_rate`]. Retries are done here, not by `object_store`
//! (whose own are switched off), with the same rule and counter as the `http://` kind: a 5xx
//! is retried after a growing wait, a failure to connect or a timeout fails at once.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};

use super::as_head::HeadWait;
use super::breaker::{Bodies, SlowGuard};
use super::http::{connect_reason, innermost, with_retries};
use super::{Backend, Key, Spool, StoreConfig, StoreCounters, StoreError};

mod client;
mod errors;

use client::{client_builder, endpoint_of, parse_url, resolve, with_credentials};
use errors::{chain_text, find, status_code, with_s3_code};

/// Where an `s3://` store is and who asks; `None` falls back to the AWS environment variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Options {
    /// Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000` (`AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// Region used for signing (`AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<String>,
    /// Access key id (`AWS_ACCESS_KEY_ID`).
    pub access_key_id: Option<String>,
    /// Secret access key (`AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials (`AWS_SESSION_TOKEN`).
    pub session_token: Option<String>,
}

/// A store in an S3 bucket, driven by a private runtime.
pub struct S3Backend {
    rt: tokio::runtime::Runtime,
    s3: AmazonS3,
    /// `s3://bucket/prefix`, without a trailing slash.
    base: String,
    /// The object prefix inside the bucket (may be empty).
    prefix: String,
    /// The endpoint used, for connection messages.
    endpoint: String,
    cfg: StoreConfig,
    counters: Arc<StoreCounters>,
    /// The bodies being read at once (the slow check judges what they make in all).
    bodies: Bodies,
}

impl S3Backend {
    /// Checks the URL, resolves the options and builds the client (no request yet).
    pub fn new(cfg: &StoreConfig, counters: Arc<StoreCounters>) -> Result<Self, StoreError> {
        let url = cfg.url.as_str();
        let bad = |reason: String| StoreError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let (bucket, prefix) = parse_url(url).map_err(|r| bad(r.to_string()))?;
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(bad(
                "an s3:// store is blocking: open and use it outside the async \
                 runtime (e.g. in tokio::task::spawn_blocking)"
                    .into(),
            ));
        }
        let o = resolve(&cfg.s3);
        let region = o.region.as_deref().unwrap_or("us-east-1");
        let b = client_builder(bucket, region, cfg, &o);
        let (b, endpoint) = endpoint_of(b, &o, region).map_err(bad)?;
        let b = with_credentials(b, &o).map_err(bad)?;
        let s3 = b.build().map_err(|e| bad(e.to_string()))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| bad(format!("cannot start the S3 client's runtime: {e}")))?;
        let base = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        Ok(S3Backend {
            rt,
            s3,
            base,
            prefix: prefix.to_string(),
            endpoint,
            cfg: cfg.clone(),
            counters,
            bodies: Bodies::default(),
        })
    }

    fn path(&self, key: &Key) -> Path {
        if self.prefix.is_empty() {
            Path::from(key.as_str())
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Runs one request on the private runtime, limited to `after` in all (else
    /// [`StoreError::Timeout`]; the request is dropped, closing its connection).
    fn call<T>(
        &self,
        op: &'static str,
        url: &str,
        after: Duration,
        f: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        // The timer is made inside the runtime (`timeout` needs its time driver).
        self.rt
            .block_on(async { tokio::time::timeout(after, f).await })
            .unwrap_or_else(|_| {
                Err(StoreError::Timeout {
                    op,
                    url: url.to_string(),
                    after,
                })
            })
    }

    /// Turns an `object_store` failure into the store's error for `op` on `url` (a request
    /// limited to `after`).
    fn error(
        &self,
        op: &'static str,
        url: &str,
        after: Duration,
        e: object_store::Error,
    ) -> StoreError {
        let text = chain_text(&e);
        let url = url.to_string();
        let denied = |status: &str| StoreError::Denied {
            op,
            url: url.clone(),
            reason: with_s3_code(status, &text),
        };
        match &e {
            object_store::Error::PermissionDenied { .. } => return denied("403 Forbidden"),
            object_store::Error::Unauthenticated { .. } => return denied("401 Unauthorized"),
            _ => {}
        }
        if let Some(re) = find::<reqwest::Error>(&e) {
            let timed_out = re.is_timeout()
                || find::<std::io::Error>(&e)
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
            if timed_out && !re.is_connect() {
                return StoreError::Timeout { op, url, after };
            }
            let cause = connect_reason(
                re.is_connect() && timed_out,
                self.cfg.connect_timeout,
                innermost(&e),
            );
            return StoreError::Connect {
                op,
                url,
                reason: format!("{cause} (endpoint {})", self.endpoint),
            };
        }
        if let Some(code) = status_code(&text) {
            let s = reqwest::StatusCode::from_u16(code)
                .map(|s| s.to_string())
                .unwrap_or_else(|_| code.to_string());
            return StoreError::Status {
                op,
                url,
                code,
                status: with_s3_code(&s, &text),
            };
        }
        StoreError::Io {
            op,
            url,
            source: std::io::Error::other(e.to_string()),
        }
    }

    /// One GET of the bytes after those `spool` holds (all of them when it is empty) into it,
    /// at most `limit` in all, within [`StoreConfig::get_timeout`] of what is left.
    fn get_rest(
        &self,
        url: &str,
        path: &Path,
        limit: u64,
        spool: &mut Spool,
    ) -> Result<bool, StoreError> {
        let from = spool.len();
        let after = self.cfg.get_timeout(limit.saturating_sub(from));
        let deadline = tokio::time::Instant::now() + after;
        let options = GetOptions {
            range: (from > 0).then_some(GetRange::Offset(from)),
            ..GetOptions::default()
        };
        let r = self.call_until("GET", url, deadline, after, async {
            match self.s3.get_opts(path, options).await {
                Ok(r) => Ok(Some(r)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.error("GET", url, after, e)),
            }
        })?;
        let Some(r) = r else { return Ok(false) };
        if r.meta.size > limit {
            return Err(StoreError::TooLarge {
                op: "GET",
                url: url.to_string(),
                limit,
            });
        }
        let mut stream = r.into_stream();
        let guard = SlowGuard::new(self.cfg.slow_rate, &self.bodies);
        let mut got = 0u64;
        loop {
            let next = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx));
            let chunk = self.call_until("GET", url, deadline, after, async {
                next.await
                    .transpose()
                    .map_err(|e| self.error("GET", url, after, e))
            })?;
            let Some(chunk) = chunk else { break };
            got += chunk.len() as u64;
            if from + got > limit {
                return Err(StoreError::TooLarge {
                    op: "GET",
                    url: url.to_string(),
                    limit,
                });
            }
            std::io::Write::write_all(spool, &chunk).expect("a spool takes every write");
            guard.check("GET", url, got)?;
        }
        Ok(true)
    }

    /// [`call`](Self::call) ending at `deadline` (the whole request's, `after` from its start).
    fn call_until<T>(
        &self,
        op: &'static str,
        url: &str,
        deadline: tokio::time::Instant,
        after: Duration,
        f: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.rt
            .block_on(async { tokio::time::timeout_at(deadline, f).await })
            .unwrap_or_else(|_| {
                Err(StoreError::Timeout {
                    op,
                    url: url.to_string(),
                    after,
                })
            })
    }

    /// Reads a found object's body, at most `limit` bytes (the request is limited to `after`).
    async fn body(
        &self,
        url: &str,
        r: object_store::GetResult,
        limit: u64,
        after: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let too_large = || StoreError::TooLarge {
            op: "GET",
            url: url.to_string(),
            limit,
        };
        if r.meta.size > limit {
            return Err(too_large());
        }
        let mut stream = r.into_stream();
        let guard = SlowGuard::new(self.cfg.slow_rate, &self.bodies);
        let mut buf = Vec::with_capacity(initial_capacity(limit));
        while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
            let chunk = chunk.map_err(|e| self.error("GET", url, after, e))?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
            guard.check("GET", url, buf.len() as u64)?;
        }
        Ok(buf)
    }
}

impl Backend for S3Backend {
    fn url(&self, key: &Key) -> String {
        format!("{}/{key}", self.base)
    }

    /// [`get_as_head`](Backend::get_as_head) with the whole request's limit for its head too.
    fn get(&self, key: &Key, limit: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let wait = HeadWait {
            within: self.cfg.get_timeout(limit),
            heard: &|_| true,
        };
        self.get_as_head(key, limit, &wait)
    }

    /// The head within `wait.within`, the whole request within [`StoreConfig::get_timeout`]
    /// of `limit` from its start.
    fn get_as_head(
        &self,
        key: &Key,
        limit: u64,
        wait: &HeadWait<'_>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (url, path) = (self.url(key), self.path(key));
        let after = self.cfg.get_timeout(limit);
        with_retries(&self.cfg, &self.counters, || {
            let (start, within) = (tokio::time::Instant::now(), wait.within.min(after));
            let r = self.call_until("GET", &url, start + within, within, async {
                match self.s3.get(&path).await {
                    Ok(r) => Ok(Some(r)),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(self.error("GET", &url, after, e)),
                }
            })?;
            let wanted = (wait.heard)(r.is_some());
            let Some(r) = r else { return Ok(None) };
            if !wanted {
                // Dropped unread on the runtime, which then runs the connection's task once
                // (it closes the connection; else that waits for the next request).
                self.rt.block_on(async move {
                    drop(r);
                    tokio::task::yield_now().await;
                });
                return Ok(None);
            }
            let body = self.body(&url, r, limit, after);
            self.call_until("GET", &url, start + after, after, body)
                .map(Some)
        })
    }

    /// A spool holding bytes asks for the rest (GetObject's `Range: bytes=N-`); an answer
    /// that is not that range (or a refusal of it) restarts the spool and gets the whole
    /// object. The body is written to the spool chunk by chunk outside the runtime.
    fn get_into(&self, key: &Key, limit: u64, spool: &mut Spool) -> Result<bool, StoreError> {
        let (url, path) = (self.url(key), self.path(key));
        with_retries(&self.cfg, &self.counters, || {
            let from = spool.len();
            match self.get_rest(&url, &path, limit, spool) {
                // The store is there but did not send that range (416, a whole object, a
                // Content-Range of other bytes): ask for all of it.
                Err(e) if from > 0 && !stalled(&e) => {
                    spool.restart();
                    self.get_rest(&url, &path, limit, spool)
                }
                r => r,
            }
        })
    }

    fn head(&self, key: &Key) -> Result<bool, StoreError> {
        let (url, path) = (self.url(key), self.path(key));
        let after = self.cfg.head_timeout();
        with_retries(&self.cfg, &self.counters, || {
            self.call("HEAD", &url, after, async {
                match self.s3.head(&path).await {
                    Ok(_) => Ok(true),
                    Err(object_store::Error::NotFound { .. }) => Ok(false),
                    Err(e) => Err(self.error("HEAD", &url, after, e)),
                }
            })
        })
    }

    fn put(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        let (url, path) = (self.url(key), self.path(key));
        let payload = PutPayload::from(bytes.to_vec());
        let after = self.cfg.timeout_for(bytes.len() as u64);
        with_retries(&self.cfg, &self.counters, || {
            self.call("PUT", &url, after, async {
                self.s3
                    .put(&path, payload.clone())
                    .await
                    .map(drop)
                    .map_err(|e| self.error("PUT", &url, after, e))
            })
        })
    }
}

/// Whether `e` says the store cannot be reached or is too slow (so asking again costs more).
fn stalled(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Connect { .. }
            | StoreError::Timeout { .. }
            | StoreError::Denied { .. }
            | StoreError::Slow { .. }
            | StoreError::Skipped { .. }
    )
}

/// Room to reserve for a body: the cap, but never more than 1 MiB up front.
fn initial_capacity(limit: u64) -> usize {
    limit.min(1 << 20) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_and_checked() {
        assert_eq!(parse_url("s3://bucket/a/b/"), Ok(("bucket", "a/b")));
        assert_eq!(parse_url("s3://my-bucket.x"), Ok(("my-bucket.x", "")));
        assert_eq!(parse_url("s3://bucket/"), Ok(("bucket", "")));
        for bad in [
            "s3://",
            "s3://b",
            "s3://Bucket/x",
            "s3://bucket/a/../b",
            "s3://bucket/a//b",
            "s3://bucket/a?x",
            "s3://bucket/a%2f",
            "http://bucket/x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unset_options_come_from_the_aws_variables() {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_REGION", ""),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
            ("AWS_ACCESS_KEY_ID", "env-id"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-token"),
        ];
        let saved: Vec<_> = vars.iter().map(|(k, _)| std::env::var_os(k)).collect();
        for (k, v) in vars {
            std::env::set_var(k, v);
        }
        let from_env = resolve(&S3Options::default());
        let explicit = S3Options {
            endpoint: Some("https://minio.example".into()),
            region: Some("r".into()),
            access_key_id: Some("id".into()),
            secret_access_key: Some("secret".into()),
            session_token: None,
        };
        let kept = resolve(&explicit);
        for ((k, _), v) in vars.iter().zip(saved) {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            from_env,
            S3Options {
                endpoint: some("http://127.0.0.1:1"),
                region: some("eu-west-3"),
                access_key_id: some("env-id"),
                secret_access_key: some("env-secret"),
                session_token: some("env-token"),
            }
        );
        // Explicit keys never pick up a token that belongs to other keys.
        assert_eq!(kept, explicit);
    }

    #[test]
    fn opening_on_an_async_runtime_is_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _in = rt.enter();
        let mut cfg = StoreConfig::new("s3://bucket/p");
        cfg.s3.endpoint = Some("http://127.0.0.1:1".into());
        let e = S3Backend::new(&cfg, Arc::default()).err().unwrap();
        assert!(e.to_string().contains("outside the async runtime"), "{e}");
    }

    #[test]
    fn statuses_and_s3_codes_are_found_in_messages() {
        let t = "Generic S3 error: Error performing GET http://x/b/k in 1ms - Server returned \
                 non-2xx status code: 503 Service Unavailable: <Error><Code>SlowDown</Code>";
        assert_eq!(status_code(t), Some(503));
        assert_eq!(
            with_s3_code("503 Service Unavailable", t),
            "503 Service Unavailable, SlowDown"
        );
        assert_eq!(status_code("no status here"), None);
        assert_eq!(with_s3_code("403 Forbidden", "empty body"), "403 Forbidden");
    }
}
