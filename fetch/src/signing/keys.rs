//! Key pairs, public key strings (`ed25519:<hex>`) and secret key files.
//!
//! A secret key file is text, mode 0600:
//!
//! ```text
//! cached-ninja ed25519 secret key 1
//! <64 hex digits: the 32-byte ed25519 seed>
//! ```

use crate::hex::{decode32 as unhex32, encode32 as hex};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// First line of a secret key file. Must never change; a new layout gets a new number.
pub const SECRET_KEY_HEADER: &str = "cached-ninja ed25519 secret key 1";
/// Prefix of a public key's string form. Must never change (policy files hold it).
const PUBLIC_PREFIX: &str = "ed25519:";

/// What can go wrong with keys and key files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A public key string that is not `ed25519:<64 hex digits>` of a valid key.
    #[error("invalid public key {text:?}: {reason}")]
    InvalidPublicKey {
        /// The string given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A secret key file that cannot be parsed.
    #[error("invalid secret key file {path}: {reason}")]
    InvalidSecretKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Refused to replace an existing key file.
    #[error("key file {0} already exists; refusing to overwrite it")]
    Exists(PathBuf),
    /// I/O on a key file.
    #[error("key file {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (not a chained source: the message holds it once).
        error: io::Error,
    },
}

/// An ed25519 public key: a publisher's identity and key id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The key from its 32 bytes, if they are a valid ed25519 point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPublicKey {
            text: hex(bytes),
            reason: "not a valid ed25519 point",
        })?;
        Ok(PublicKey(*bytes))
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    pub(super) fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey::from_bytes(&self.0).expect("checked when constructed")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", hex(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<PublicKey, KeyError> {
        let bad = |reason| KeyError::InvalidPublicKey {
            text: s.chars().take(100).collect(),
            reason,
        };
        let h = s
            .trim()
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or_else(|| bad("expected `ed25519:<64 hex digits>`"))?;
        let bytes = unhex32(h).ok_or_else(|| bad("expected 64 hex digits after `ed25519:`"))?;
        PublicKey::from_bytes(&bytes).map_err(|_| bad("not a valid ed25519 point"))
    }
}

/// A publisher's key pair (the secret half is wiped from memory on drop).
pub struct KeyPair {
    signing: SigningKey,
}

impl KeyPair {
    /// A new key pair from the operating system's random generator.
    pub fn generate() -> KeyPair {
        KeyPair {
            signing: SigningKey::generate(&mut rand_core::OsRng),
        }
    }

    /// The key pair of a 32-byte seed (tests; the secret key file holds the seed).
    pub fn from_seed(seed: &[u8; 32]) -> KeyPair {
        KeyPair {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    pub(super) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// Writes the secret key file at `path` (mode 0600, atomically); never replaces a file.
    ///
    /// The key is written to a temporary file in the same directory, then hard-linked to
    /// `path` (which fails if `path` exists, unlike a rename) and the temporary name removed.
    pub fn write_secret_file(&self, path: &Path) -> Result<(), KeyError> {
        let io_err = |error| KeyError::Io {
            path: path.to_path_buf(),
            error,
        };
        if path.is_dir() {
            return Err(io_err(io::Error::other(
                "a directory; give a file name in it",
            )));
        }
        if path.symlink_metadata().is_ok() {
            return Err(KeyError::Exists(path.to_path_buf()));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().ok_or_else(|| {
            io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file name",
            ))
        })?;
        // Unique per process and moment, so a stale temporary of a crashed run never collides.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!(
            ".{}.tmp.{}.{nanos}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let text = format!("{SECRET_KEY_HEADER}\n{}\n", hex(self.signing.as_bytes()));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            // Named by the key file, not the temporary one (whose directory is the same).
            .map_err(io_err)?;
        let result = f
            .write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .and_then(|()| fs::hard_link(&tmp, path));
        drop(f);
        let _ = fs::remove_file(&tmp);
        match result {
            // The new name is durable once its directory is.
            Ok(()) => fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(KeyError::Exists(path.to_path_buf()))
            }
            Err(e) => Err(io_err(e)),
        }
    }

    /// Reads a secret key file; refuses one that others can read (mode beyond 0600).
    pub fn read_secret_file(path: &Path) -> Result<KeyPair, KeyError> {
        let io_err = |error| KeyError::Io {
            path: path.to_path_buf(),
            error,
        };
        let bad = |reason: String| KeyError::InvalidSecretKeyFile {
            path: path.to_path_buf(),
            reason,
        };
        let meta = fs::metadata(path).map_err(io_err)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "permissions {mode:o} let others read it; expected 600"
            )));
        }
        if meta.len() > 4096 {
            return Err(bad("larger than a key file".into()));
        }
        let text = fs::read_to_string(path).map_err(io_err)?;
        let mut lines = text.lines();
        if lines.next() != Some(SECRET_KEY_HEADER) {
            return Err(bad(format!("first line is not `{SECRET_KEY_HEADER}`")));
        }
        let seed = lines
            .next()
            .and_then(unhex32)
            .ok_or_else(|| bad("second line is not 64 hex digits".into()))?;
        if lines.any(|l| !l.trim().is_empty()) {
            return Err(bad("unexpected lines after the key".into()));
        }
        Ok(KeyPair::from_seed(&seed))
    }
}
