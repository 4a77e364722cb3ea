//! The one BLAKE3 digest type of cached-ninja, and its hex codec.
//!
//! Cache keys (`backend::key`, DESIGN §3) and the content-addressed cache (`fetch::cache`,
//! DESIGN §4) name things by the same 32-byte BLAKE3 digest. `backend` must not know about
//! `fetch` and `fetch` must not depend on `backend` (DESIGN §2), so the type lives here, below
//! both, and each re-exports it where it has always been. The crate is named `cn-digest`, not
//! `digest`, because RustCrypto's `digest` is already in the dependency graph.
//!
//! [`hex`]: lowercase hex of 32-byte values, also used for ed25519 keys in `fetch::signing`.
#![deny(missing_docs)]

pub mod hex;

use std::fmt;

/// A BLAKE3 digest (keys, blob names, content hashes). Prints as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// The digest of the file at `path`, read in pieces: a compiler's executable (tens of
    /// MB) is never whole in memory, whose fresh pages cost more than the hashing.
    pub fn of_file(path: impl AsRef<std::path::Path>) -> std::io::Result<Digest> {
        let mut h = blake3::Hasher::new();
        h.update_reader(std::fs::File::open(path)?)?;
        Ok(Digest(*h.finalize().as_bytes()))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode32(&self.0)
    }

    /// Parses exactly 64 hex digits (see [`hex::decode32`] for what it accepts).
    pub fn from_hex(s: &str) -> Option<Digest> {
        hex::decode32(s).map(Digest)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(hex::digits32(&self.0).as_str())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let d = Digest::of(b"x");
        assert_eq!(d.to_hex().len(), 64);
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(d.to_string(), d.to_hex());
        assert_eq!(format!("{d:?}"), format!("Digest({})", d.to_hex()));
        assert_eq!(Digest::from_hex("zz"), None);
        assert_eq!(Digest::from_hex(&d.to_hex()[..63]), None);
        assert_eq!(Digest::from_hex(&format!("{}0", d.to_hex())), None);
    }

    #[test]
    fn a_file_digests_as_its_bytes() {
        let dir = std::env::temp_dir().join(format!("cn-digest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        // Over blake3's read buffer (64 KiB), not a multiple of it.
        let bytes: Vec<u8> = (0..200_001u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(Digest::of_file(&path).unwrap(), Digest::of(&bytes));
        assert!(Digest::of_file(dir.join("absent")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
