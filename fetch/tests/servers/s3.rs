//! s3s-fs (an S3 server over a directory) on a loopback port, with one bucket and credentials.
//!
//! s3s-fs keeps bucket `b`'s object `k` in the file `<root>/b/k`, so a test can read or corrupt
//! what the store wrote. Self-contained (std, tempfile, fetch): the root end-to-end tests include
//! this file through `#[path]` too.

use super::{free_port, wait_until_listening};
use fetch::store::{S3Options, StoreConfig};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The bucket every server serves.
pub const BUCKET: &str = "cn-test";
/// The access key the server accepts.
pub const ACCESS_KEY: &str = "cached-ninja-test";
/// The secret that goes with [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "cached-ninja-test-secret";

/// A running s3s-fs with the bucket [`BUCKET`]; killed on drop.
pub struct S3Server {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl S3Server {
    /// Starts s3s-fs on a free loopback port and waits until it listens.
    pub fn start() -> S3Server {
        let bin = s3s_fs();
        let dir = tempfile::Builder::new().prefix("cn-s3-").tempdir().unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let log_path = dir.path().join("s3s-fs.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let port = free_port();
        let mut child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&root)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        wait_until_listening(&mut child, port, "s3s-fs", &log_path);
        S3Server { child, dir, port }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://<bucket>/<prefix>`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{BUCKET}/{prefix}")
    }

    /// A store config for `prefix`: endpoint and credentials set, short timeouts.
    pub fn config(&self, prefix: &str) -> StoreConfig {
        let mut c = StoreConfig::new(self.url(prefix));
        c.connect_timeout = Duration::from_secs(2);
        c.timeout = Duration::from_secs(5);
        c.backoff = Duration::from_millis(10);
        c.s3 = S3Options {
            endpoint: Some(self.endpoint()),
            region: Some("us-east-1".into()),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
            session_token: None,
        };
        c
    }

    /// The file holding the object `key` (`<prefix>/cas/…`) of the bucket.
    pub fn file(&self, key: &str) -> PathBuf {
        self.dir.path().join("data").join(BUCKET).join(key)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The s3s-fs binary: `$CACHED_NINJA_S3S_FS`, PATH, then the usual install roots.
fn s3s_fs() -> PathBuf {
    if let Some(p) = std::env::var_os("CACHED_NINJA_S3S_FS") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fixed = ["/opt/s3s-fs/bin", "/work/s3s/root/bin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(fixed)
        .map(|d| d.join("s3s-fs"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "missing tool s3s-fs: install it with cargo install s3s-fs@0.14.1 --locked \
                 --features binary --root /opt/s3s-fs (or run bash .ci/run)"
            )
        })
}
