//! ed25519 signatures of published data: signed envelopes, trust sets, key files (DESIGN §4).
//!
//! A **signed envelope** wraps any bytes (an action entry, a build manifest). Binary layout,
//! integers little-endian:
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"CNSIG\x00\x00\x01"  (ENVELOPE_MAGIC; the last byte is the version)
//! 8       32    publisher's public key (its key id)
//! 40      64    ed25519 signature over DOMAIN ‖ payload
//! 104     8     payload length n (u64)
//! 112     n     payload
//! ```
//!
//! Nothing may follow the payload. The signed message is [`DOMAIN`] followed by the payload, so
//! a signature made here cannot be replayed as a signature of some other protocol's message.
//! Bytes that do not start with the magic are *unsigned* ([`SignatureError::Unsigned`]).
//!
//! Keys: [`KeyPair`] (secret key file, 0600, written atomically) and [`PublicKey`], whose string
//! form `ed25519:<64 hex digits>` is what `[trust] publishers = [...]` in policy lists.

mod keys;

pub use keys::{KeyError, KeyPair, PublicKey, SECRET_KEY_HEADER};

use ed25519_dalek::{Signature, Signer};
use std::collections::BTreeSet;

/// First 8 bytes of every signed envelope. Must never change; a new layout gets a new last byte.
pub const ENVELOPE_MAGIC: [u8; 8] = *b"CNSIG\x00\x00\x01";
/// Prefix of the signed message. Must never change (every published signature covers it).
pub const DOMAIN: &[u8] = b"cached-ninja signed data v1\0";
/// Size of the envelope header before the payload.
pub const HEADER_LEN: usize = 8 + 32 + 64 + 8;

/// Why a signed envelope was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The bytes carry no signature at all.
    #[error("data is unsigned: no cached-ninja signature envelope")]
    Unsigned,
    /// A cached-ninja envelope of a version this build does not know.
    #[error("signed envelope has unsupported version {0}")]
    UnsupportedVersion(u8),
    /// Fewer bytes than the header or the declared payload needs.
    #[error("signed envelope truncated: {have} bytes, need {need}")]
    Truncated {
        /// Bytes present.
        have: u64,
        /// Bytes the header says there must be.
        need: u64,
    },
    /// Bytes after the declared payload.
    #[error("signed envelope has {0} unexpected bytes after the payload")]
    TrailingBytes(u64),
    /// The key field is not a valid ed25519 public key.
    #[error("signed envelope holds an invalid ed25519 public key")]
    InvalidKey,
    /// Signed by a well-formed key that the trust set does not hold.
    #[error("signed by {0}, which is not a trusted publisher")]
    UntrustedKey(String),
    /// The signature does not match the payload (tampered or corrupt data).
    #[error("signature by {0} does not match the payload (tampered or corrupt data)")]
    BadSignature(String),
}

/// The public keys whose signatures are accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trust {
    keys: BTreeSet<PublicKey>,
}

impl Trust {
    /// An empty trust set (rejects everything).
    pub fn new() -> Trust {
        Trust::default()
    }

    /// A trust set from `ed25519:<hex>` strings (policy's `[trust] publishers`).
    pub fn from_strings<S: AsRef<str>>(keys: &[S]) -> Result<Trust, KeyError> {
        let mut t = Trust::new();
        for k in keys {
            t.add(k.as_ref().parse()?);
        }
        Ok(t)
    }

    /// Trusts `key`.
    pub fn add(&mut self, key: PublicKey) {
        self.keys.insert(key);
    }

    /// Whether `key` is trusted.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.keys.contains(key)
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The message a signature covers: [`DOMAIN`] ‖ payload.
fn message(payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(DOMAIN.len() + payload.len());
    m.extend_from_slice(DOMAIN);
    m.extend_from_slice(payload);
    m
}

/// Wraps `payload` in an envelope signed by `key`.
pub fn sign(key: &KeyPair, payload: &[u8]) -> Vec<u8> {
    let sig = key.signing_key().sign(&message(payload));
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&ENVELOPE_MAGIC);
    out.extend_from_slice(&key.public().to_bytes());
    out.extend_from_slice(&sig.to_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks `envelope` (untrusted bytes) and returns its payload if a trusted key signed it.
pub fn verify<'a>(envelope: &'a [u8], trust: &Trust) -> Result<&'a [u8], SignatureError> {
    let magic_len = ENVELOPE_MAGIC.len();
    let prefix = &ENVELOPE_MAGIC[..magic_len - 1];
    if envelope.len() < magic_len {
        // A strict prefix of the magic is a cut-off envelope; anything else is plain data.
        return Err(if !envelope.is_empty() && prefix.starts_with(envelope) {
            truncated(envelope.len(), HEADER_LEN as u64)
        } else {
            SignatureError::Unsigned
        });
    }
    if &envelope[..magic_len - 1] != prefix {
        return Err(SignatureError::Unsigned);
    }
    if envelope[magic_len - 1] != ENVELOPE_MAGIC[magic_len - 1] {
        return Err(SignatureError::UnsupportedVersion(envelope[magic_len - 1]));
    }
    if envelope.len() < HEADER_LEN {
        return Err(truncated(envelope.len(), HEADER_LEN as u64));
    }
    let key_bytes: [u8; 32] = envelope[8..40].try_into().expect("32 bytes");
    let sig_bytes: [u8; 64] = envelope[40..104].try_into().expect("64 bytes");
    let len = u64::from_le_bytes(envelope[104..112].try_into().expect("8 bytes"));
    let rest = (envelope.len() - HEADER_LEN) as u64;
    if len > rest {
        return Err(truncated(
            envelope.len(),
            (HEADER_LEN as u64).saturating_add(len),
        ));
    }
    if len < rest {
        return Err(SignatureError::TrailingBytes(rest - len));
    }
    let payload = &envelope[HEADER_LEN..];
    let key = PublicKey::from_bytes(&key_bytes).map_err(|_| SignatureError::InvalidKey)?;
    if !trust.contains(&key) {
        return Err(SignatureError::UntrustedKey(key.to_string()));
    }
    let sig = Signature::from_bytes(&sig_bytes);
    key.verifying_key()
        .verify_strict(&message(payload), &sig)
        .map_err(|_| SignatureError::BadSignature(key.to_string()))?;
    Ok(payload)
}

fn truncated(have: usize, need: u64) -> SignatureError {
    SignatureError::Truncated {
        have: have as u64,
        need,
    }
}
