//! Checked object names under a store's prefix: `cas/<hash>`, `ac/<key>`, `builds/<cfg>/<rev>`,
//! `keys/<cfg>/<rev>` (the source keys' preimages of a build, `crate::preimages`).
//!
//! Every segment is 1 to [`MAX_SEGMENT`] characters of `[A-Za-z0-9._-]`, is not `.` or `..`
//! and does not start with `.` (temporary files of the file store do); anything else is a
//! [`StoreError::BadKey`], so a hostile name can never leave the prefix or smuggle `?`, `%`, `/`.

use std::fmt;

use super::StoreError;
use crate::cache::Digest;

/// Longest allowed segment of a key.
pub const MAX_SEGMENT: usize = 128;

/// A checked path relative to the store prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// `cas/<64 hex>`: the blob named by `d` (always valid).
    pub fn blob(d: &Digest) -> Key {
        Key(format!("cas/{}", d.to_hex()))
    }

    /// `ac/<key>`: an action entry.
    pub fn action(key: &str) -> Result<Key, StoreError> {
        check_segment(key, key)?;
        Ok(Key(format!("ac/{key}")))
    }

    /// `builds/<config>/<rev>`: a build manifest.
    pub fn build(config: &str, rev: &str) -> Result<Key, StoreError> {
        let whole = format!("builds/{config}/{rev}");
        check_segment(&whole, config)?;
        check_segment(&whole, rev)?;
        Ok(Key(whole))
    }

    /// `keys/<config>/<rev>`: the source keys' preimages of a build (`crate::preimages`).
    pub fn preimages(config: &str, rev: &str) -> Result<Key, StoreError> {
        let whole = format!("keys/{config}/{rev}");
        check_segment(&whole, config)?;
        check_segment(&whole, rev)?;
        Ok(Key(whole))
    }

    /// Parses a whole relative path (`cas/…`, `ac/…` or `builds/…/…`).
    pub fn parse(path: &str) -> Result<Key, StoreError> {
        let bad = |reason| StoreError::BadKey {
            key: path.to_string(),
            reason,
        };
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["cas", h] => Digest::from_hex(h)
                .filter(|d| d.to_hex() == *h)
                .map(|d| Key::blob(&d))
                .ok_or_else(|| bad("a blob name is 64 lowercase hex digits")),
            ["ac", k] => Key::action(k).map_err(|_| bad(SEGMENT_RULE)),
            ["builds", c, r] => Key::build(c, r).map_err(|_| bad(SEGMENT_RULE)),
            ["keys", c, r] => Key::preimages(c, r).map_err(|_| bad(SEGMENT_RULE)),
            _ => Err(bad(
                "expected cas/<hash>, ac/<key> or builds/<config>/<revision>",
            )),
        }
    }

    /// The relative path, e.g. `ac/0f3…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const SEGMENT_RULE: &str =
    "each segment is 1-128 characters of [A-Za-z0-9._-], not starting with '.'";

fn check_segment(whole: &str, s: &str) -> Result<(), StoreError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_SEGMENT
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadKey {
            key: whole.to_string(),
            reason: SEGMENT_RULE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_layout_and_refuses_hostile_names() {
        let h = Digest::of(b"x").to_hex();
        assert_eq!(
            Key::parse(&format!("cas/{h}")).unwrap().as_str(),
            format!("cas/{h}")
        );
        assert_eq!(Key::parse("ac/abc-1.2_3").unwrap().as_str(), "ac/abc-1.2_3");
        assert_eq!(
            Key::build("linux-x64", "deadbeef").unwrap().as_str(),
            "builds/linux-x64/deadbeef"
        );
        assert_eq!(
            Key::parse("keys/linux-x64/deadbeef").unwrap(),
            Key::preimages("linux-x64", "deadbeef").unwrap()
        );
        assert!(Key::parse("keys/../x").is_err());
        for bad in [
            "",
            "ac",
            "ac/",
            "ac/..",
            "ac/.",
            "ac/.hidden",
            "ac/a/b",
            "/etc/passwd",
            "../ac/x",
            "ac/a b",
            "ac/a%2f",
            "ac/a?x",
            "ac/\u{e9}",
            "builds/x",
            "builds/../x",
            "cas/xyz",
            &format!("cas/{}", h.to_uppercase()),
            "mf/abc",
            &format!("ac/{}", "a".repeat(129)),
        ] {
            assert!(
                matches!(Key::parse(bad), Err(StoreError::BadKey { .. })),
                "{bad:?}"
            );
        }
        assert!(Key::action("../x").is_err());
        assert!(Key::build("a", "..").is_err());
    }
}
