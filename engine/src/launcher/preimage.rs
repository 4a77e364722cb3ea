//! A source key's preimage: the fields one launch hashed (`backend::key::source_key`), kept
//! owned so the same fields give the key on every launch and, on a miss only, their
//! explanation, stored in the local cache's `memo/` under the key. `cached-ninja explain`
//! diffs two recorded preimages to name the first field that differs (a compiler identity, an
//! argument, an environment variable, the source's bytes). A hit stores nothing: its key is
//! one that a miss recorded before, here or, for CI's keys, on CI's machine (not published).

use backend::key::{self, Digest, SourceKeyInput};
use fetch::cache::LocalCache;

/// Domain of the memo name of a preimage (never change it: recorded preimages are found by it).
const MEMO_DOMAIN: &[u8] = b"cached-ninja source key preimage 1";

/// The owned fields of one source key.
pub(super) struct KeyFields {
    pub(super) compiler: Digest,
    pub(super) lang: &'static str,
    pub(super) tokens: Vec<&'static str>,
    pub(super) env: Vec<(String, String)>,
    pub(super) args: Vec<String>,
    pub(super) source_path: String,
    pub(super) source_digest: Digest,
}

impl KeyFields {
    /// The fields as the key code takes them.
    pub(super) fn input(&self) -> SourceKeyInput<'_> {
        SourceKeyInput {
            compiler: &self.compiler,
            lang: self.lang,
            prefix_map_tokens: &self.tokens,
            env: &self.env,
            args: &self.args,
            source_path: &self.source_path,
            source_digest: &self.source_digest,
        }
    }

    /// The key.
    pub(super) fn digest(&self) -> Digest {
        key::source_key_digest(&self.input())
    }

    /// What the key hashed, one `label: value` line per field (`backend::key::Explain`).
    pub(super) fn explain(&self) -> String {
        let mut e = key::Explain::default();
        key::source_key(&mut e, &self.input());
        e.0
    }
}

/// The memo name of `source_key`'s preimage.
fn memo_name(source_key: &Digest) -> Digest {
    let mut bytes = MEMO_DOMAIN.to_vec();
    bytes.extend_from_slice(&source_key.0);
    Digest::of(&bytes)
}

/// Records `fields` (whose key is `source_key`) unless already recorded; errors are ignored
/// (the explanation is then less precise, the build is unaffected).
pub(super) fn remember(cache: &LocalCache, source_key: &Digest, fields: &KeyFields) {
    let name = memo_name(source_key);
    if cache.memo_get(&name).is_none() {
        let _ = cache.memo_put(&name, &fields.explain());
    }
}

/// The recorded preimage of `source_key` (`label: value` lines), if a miss on this machine
/// with this cache stored one.
pub fn recorded(cache: &LocalCache, source_key: &Digest) -> Option<String> {
    cache.memo_get(&memo_name(source_key))
}
