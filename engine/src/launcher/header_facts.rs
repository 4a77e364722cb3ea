//! What a launch learns from a header's bytes (their digest, that the key can hash all of them,
//! their include directives), remembered per version of the file: the compiles of a build that
//! include the same header read and hash it once between them, not once each.
//!
//! A version is the file's settled stat stamp (device, inode, size, both timestamps at least
//! `SETTLE` old: the rule the include manifests' stamps follow). A write changes the ctime,
//! so a remembered version is never another version's: a header edited since is read again.
//! Only a header without unkeyed inputs (`backend::compile::unkeyed_input`, or a relative
//! `#line`) is remembered, so a remembered one has none; the others are read at every launch
//! and refused as before.
//! With `stat = false` (`Launcher::trust_stat` off) nothing is remembered or trusted.

use super::directives::{decode_directive, encode_directives, scan, Directive};
use super::launch::Launcher;
use backend::compile::{self, Unkeyed};
use fetch::cache::{self as fcache, StatStamp};
use std::path::Path;
use std::time::SystemTime;

/// What a header's bytes say.
pub(super) struct HeaderFacts {
    /// The digest of its bytes.
    pub(super) digest: fcache::Digest,
    /// What in it the key cannot hash, if anything.
    pub(super) unkeyed: Option<Unkeyed>,
    /// Its include directives.
    pub(super) directives: Vec<Directive>,
}

impl Launcher<'_> {
    /// The facts of the file at `path`, whose metadata a `stat` just gave (`md`): remembered
    /// for that version, else read now (and remembered when settled and keyed). `None` when
    /// it cannot be read, or changed since that `stat`.
    pub(super) fn header_facts(
        &self,
        path: &Path,
        md: &std::fs::Metadata,
        now: SystemTime,
    ) -> Option<HeaderFacts> {
        let stamp = StatStamp::of(md);
        let memo = self.facts_key(&stamp, now);
        if let Some(facts) = memo.as_ref().and_then(|k| self.facts_at(k)) {
            return Some(facts);
        }
        let mut f = std::fs::File::open(path).ok()?;
        let bytes = fcache::read_whole(&mut f, md.len()).ok()?;
        // A header's relative `#line` is not keyed by the roots' spellings as the source's is
        // (`Launcher::key_fields`): the headers are known only after the source key.
        let relative_line = compile::relative_line_name(&bytes);
        let facts = HeaderFacts {
            digest: fcache::Digest::of(&bytes),
            unkeyed: compile::unkeyed_input(&bytes, self.time_pinned.get())
                .or(relative_line.then_some(Unkeyed::RelativeLine)),
            directives: scan(&bytes),
        };
        // The bytes read must be the stamp's version: a file replaced or written since the
        // `stat` is reported unreadable (the caller compiles, and stores nothing).
        if !f.metadata().is_ok_and(|m| StatStamp::of(&m) == stamp) {
            return None;
        }
        // Remembered only when nothing in it is unkeyed, whatever the time macros' pinning.
        if let Some(k) = memo {
            if !relative_line && compile::unkeyed_input(&bytes, false).is_none() {
                let _ = self.cache.memo_put(&k, &encode(&facts));
            }
        }
        Some(facts)
    }

    /// The facts remembered for the file version `stamp` (settled, and stamps trusted), if any.
    pub(super) fn remembered_facts(
        &self,
        stamp: &StatStamp,
        now: SystemTime,
    ) -> Option<HeaderFacts> {
        self.facts_at(&self.facts_key(stamp, now)?)
    }

    /// The memo key of the file version `stamp`, when its facts may be remembered (settled,
    /// and stamps trusted).
    fn facts_key(&self, stamp: &StatStamp, now: SystemTime) -> Option<fcache::Digest> {
        (self.trust_stat && stamp.is_settled(now)).then(|| memo_key(stamp))
    }

    /// The facts the memo `key` holds, if any.
    fn facts_at(&self, key: &fcache::Digest) -> Option<HeaderFacts> {
        decode(&self.cache.memo_get(key)?)
    }
}

/// The memo key of a file version.
pub(super) fn memo_key(s: &StatStamp) -> fcache::Digest {
    let id = format!(
        "cached-ninja header facts 6\0{} {} {} {} {}",
        s.dev, s.ino, s.size, s.mtime_ns, s.ctime_ns
    );
    fcache::Digest::of(id.as_bytes())
}

/// The memo's text: the digest's hex on the first line, then the directives.
pub(super) fn encode(facts: &HeaderFacts) -> String {
    let mut text = facts.digest.to_hex();
    text.push('\n');
    encode_directives(facts.directives.iter(), &mut text);
    text
}

/// [`encode`]'s text back (with no unkeyed input: only such facts are remembered); `None`
/// if malformed.
fn decode(text: &str) -> Option<HeaderFacts> {
    let mut lines = fcache::lines(text);
    let digest = fcache::Digest::from_hex(lines.next()?)?;
    let directives = lines.map(decode_directive).collect::<Option<Vec<_>>>()?;
    Some(HeaderFacts {
        digest,
        unkeyed: None,
        directives,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_through_their_text() {
        let facts = HeaderFacts {
            digest: fcache::Digest::of(b"x"),
            unkeyed: None,
            directives: vec![
                Some(("a.h".into(), true, false)),
                None,
                Some(("sys/b.h".into(), false, true)),
            ],
        };
        let back = decode(&encode(&facts)).unwrap();
        assert_eq!(back.digest, facts.digest);
        assert_eq!(back.directives, facts.directives);
        assert!(decode("not hex\n").is_none());
        assert!(decode(&format!("{}\nz q a.h", facts.digest.to_hex())).is_none());
    }
}
