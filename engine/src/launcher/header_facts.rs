//! What a miss needs from each header's bytes (their digest, and their include directives
//! for the lookup rule), remembered in the cache's `memo/` under the header's path and stat
//! stamp, so the launchers of one build read and hash a shared header once, not once per
//! compile that includes it (libgit2's `repository.c` reads about 350 files, most of them
//! read by every other compile too).
//!
//! Only a header whose stamp is settled (both times at least `SETTLE` before the launch:
//! [`StatStamp::is_settled`]) is remembered or looked up: a later write gives it another
//! change time, so a stamp never names two contents. Only headers with no unkeyed input are
//! remembered (the caller checks before): a header that uses a time macro or an assembler
//! file read is read and judged again every time, whatever the command's time pinning.

use super::directives::{decode_directive, encode_directives, Directive};
use fetch::cache::{Digest, LocalCache, StatStamp};

/// A header's digest and include directives.
pub(super) struct HeaderFacts {
    /// The digest of its bytes.
    pub(super) digest: Digest,
    /// Its include directives (`super::directives::scan`).
    pub(super) directives: Vec<Directive>,
}

/// The facts remembered for `path` at `stamp`, if any (a malformed memo counts as none).
pub(super) fn recall(cache: &LocalCache, path: &str, stamp: &StatStamp) -> Option<HeaderFacts> {
    let text = cache.memo_get(&memo_key(path, stamp))?;
    let mut lines = text.split('\n');
    let digest = Digest::from_hex(lines.next()?)?;
    let directives = lines
        .filter(|l| !l.is_empty())
        .map(decode_directive)
        .collect::<Option<Vec<_>>>()?;
    Some(HeaderFacts { digest, directives })
}

/// Remembers `facts` for `path` at `stamp` (best effort: a memo that cannot be written is
/// only a later launcher's extra read).
pub(super) fn remember(cache: &LocalCache, path: &str, stamp: &StatStamp, facts: &HeaderFacts) {
    let mut text = facts.digest.to_hex();
    text.push('\n');
    encode_directives(&facts.directives, &mut text);
    let _ = cache.memo_put(&memo_key(path, stamp), text.trim_end_matches('\n'));
}

/// The memo's name: the path and every field of the stamp.
fn memo_key(path: &str, stamp: &StatStamp) -> Digest {
    let mut bytes = b"cached-ninja header facts v1\0".to_vec();
    bytes.extend_from_slice(path.as_bytes());
    bytes.push(0);
    for v in [stamp.dev, stamp.ino, stamp.size] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    for v in [stamp.mtime_ns, stamp.ctime_ns] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    Digest::of(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_and_another_stamp_recalls_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path().join("cache"));
        let header = dir.path().join("a.h");
        std::fs::write(
            &header,
            "#include <b.h>\n#if __has_include(\"c.h\")\n#endif\n",
        )
        .unwrap();
        let md = std::fs::metadata(&header).unwrap();
        let stamp = StatStamp::of(&md);
        let path = header.to_str().unwrap();
        let facts = HeaderFacts {
            digest: Digest::of(b"x"),
            directives: super::super::directives::scan(&std::fs::read(&header).unwrap()),
        };
        assert_eq!(facts.directives.len(), 2);
        assert!(recall(&cache, path, &stamp).is_none());
        remember(&cache, path, &stamp, &facts);
        let back = recall(&cache, path, &stamp).unwrap();
        assert_eq!(back.digest, facts.digest);
        assert_eq!(back.directives, facts.directives);
        let later = StatStamp {
            ctime_ns: stamp.ctime_ns + 1,
            ..stamp
        };
        assert!(recall(&cache, path, &later).is_none());
        assert!(recall(&cache, "/elsewhere/a.h", &stamp).is_none());
    }
}
