//! Where an S3 store is and who asks it: the URL split and checked, the options completed from
//! the AWS environment, and `object_store`'s client built with the endpoint and the key.

use super::S3Options;
use crate::store::StoreConfig;
use object_store::aws::AmazonS3Builder;
use object_store::{ClientOptions, RetryConfig};

/// A client builder for `bucket` in `region`, limited to the connect timeout of `cfg` and
/// retrying nothing itself; plain `http://` allowed when the endpoint of `o` says so.
pub(super) fn client_builder(
    bucket: &str,
    region: &str,
    cfg: &StoreConfig,
    o: &S3Options,
) -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_client_options(
            // The whole-request limit is per call (`S3Backend::call`), scaled to its bytes.
            ClientOptions::new()
                .with_timeout_disabled()
                .with_connect_timeout(cfg.connect_timeout)
                .with_allow_http(o.endpoint.as_deref().is_some_and(is_http)),
        )
        .with_retry(RetryConfig {
            max_retries: 0,
            ..RetryConfig::default()
        })
}

/// `b` sending to the endpoint of `o` with path-style addresses, and the endpoint used (AWS's
/// for `region` when `o` names none); `Err`: why the endpoint is refused.
pub(super) fn endpoint_of(
    mut b: AmazonS3Builder,
    o: &S3Options,
    region: &str,
) -> Result<(AmazonS3Builder, String), String> {
    let endpoint = match &o.endpoint {
        Some(e) => {
            if !is_http(e) && !e.starts_with("https://") {
                return Err(format!(
                    "S3 endpoint {e:?} must start with http:// or https:// \
                     (set in the store options or AWS_ENDPOINT_URL)"
                ));
            }
            b = b
                .with_endpoint(e.trim_end_matches('/'))
                .with_virtual_hosted_style_request(false);
            e.trim_end_matches('/').to_string()
        }
        // object_store's default for AWS: path-style on the regional endpoint.
        None => format!("https://s3.{region}.amazonaws.com"),
    };
    Ok((b, endpoint))
}

/// `b` signing with the key of `o` (and its session token), if `o` has one; `Err`: a key id
/// without its secret or the other way round.
pub(super) fn with_credentials(
    mut b: AmazonS3Builder,
    o: &S3Options,
) -> Result<AmazonS3Builder, String> {
    match (&o.access_key_id, &o.secret_access_key) {
        (Some(id), Some(secret)) => {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
            if let Some(t) = &o.session_token {
                b = b.with_token(t);
            }
        }
        (None, None) => {}
        _ => {
            return Err("an S3 access key id needs its secret and the other way \
                     round (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
                .into())
        }
    }
    Ok(b)
}

/// Splits `s3://bucket/prefix` into the bucket and the prefix (without outer slashes).
pub(super) fn parse_url(url: &str) -> Result<(&str, &str), &'static str> {
    let rest = url.strip_prefix("s3://").ok_or("not s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
    if !bucket_ok {
        return Err(
            "expected s3://bucket/prefix with a bucket name of 3-63 characters \
                    of [a-z0-9.-]",
        );
    }
    let segment_ok = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if !prefix.is_empty() && !prefix.split('/').all(segment_ok) {
        return Err(
            "each segment of the prefix is characters of [A-Za-z0-9._-], \
                    not starting with '.'",
        );
    }
    Ok((bucket, prefix))
}

/// The options with every unset field taken from the AWS environment variables.
pub(super) fn resolve(o: &S3Options) -> S3Options {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let from_env = o.access_key_id.is_none() && o.secret_access_key.is_none();
    S3Options {
        endpoint: o.endpoint.clone().or_else(|| env("AWS_ENDPOINT_URL")),
        region: o
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION")),
        access_key_id: o.access_key_id.clone().or_else(|| env("AWS_ACCESS_KEY_ID")),
        secret_access_key: o
            .secret_access_key
            .clone()
            .or_else(|| env("AWS_SECRET_ACCESS_KEY")),
        session_token: o
            .session_token
            .clone()
            .or_else(|| from_env.then(|| env("AWS_SESSION_TOKEN")).flatten()),
    }
}

/// Whether `endpoint` is plain HTTP.
fn is_http(endpoint: &str) -> bool {
    endpoint.starts_with("http://")
}
