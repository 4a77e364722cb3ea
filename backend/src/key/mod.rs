//! Cache keys for C and C++ compiles (DESIGN §3).
//!
//! Every key is computed once, by code generic over a [`KeySink`], which has two
//! implementations (n2 `hash.rs` style): [`Hasher`] feeds BLAKE3 and gives the key, and
//! [`Explain`] writes down every field that went in, so `explain` prints exactly what was
//! hashed and never a second guess.
//!
//! - **Source key** = H([`SOURCE_KEY_DOMAIN`], [`KEY_FORMAT_VERSION`], compiler identity,
//!   language, the launcher's prefix-map tokens, relevant environment, the normalised
//!   command, the normalised source path, the source's bytes).
//! - **Action key** = H([`ACTION_KEY_DOMAIN`], version, source key, each included file's
//!   normalised path and content digest, in the order the compiler listed them).
//!
//! Normalisation ([`Roots`]) rewrites absolute paths under the object root to `@obj/…` and
//! under the source root to `@src/…` (the deeper root wins when one contains the other).
//! Relative paths stay as written: they are relative to the object root already, and the
//! compiler embeds them verbatim, so rewriting them could make two commands that produce
//! different objects share a key. Only path-valued options are rewritten; `-D` values are
//! not, since a path in a macro ends up in the object as written.

pub mod preimage;
mod roots;

/// A BLAKE3 digest (keys, content hashes), the same type as `fetch::cache::Digest`.
pub use cn_digest::Digest;
pub use roots::{is_lexical, lexical_join, lexical_join_to, Roots};

/// Version of the key format. Bumping it invalidates every key at once.
/// Must never change meaning: a new format gets a new number. It also stands for the rules an
/// entry passed before it was stored (the unkeyed inputs of `crate::compile::unkeyed_input`):
/// a hit does not check them again, since the key covers everything they read, so a change
/// to those rules bumps it too. 2: `__TIMESTAMP__`, `.incbin`/`.include`, implicit `.gch`.
/// 3: a `__has_include` of a macro. 4: an assembler directive spelled by a C string's pieces
/// or escapes, gas macros beside inline assembly, relative line directives in headers, and
/// what an assembler program's own dependency file names (the launcher's miss).
pub const KEY_FORMAT_VERSION: u32 = 4;
/// Domain string that starts every source key. Must never change.
pub const SOURCE_KEY_DOMAIN: &str = "cached-ninja source key";
/// Domain string that starts every action key. Must never change.
pub const ACTION_KEY_DOMAIN: &str = "cached-ninja action key";

/// Where the fields of a key go: a hash or an explanation.
pub trait KeySink {
    /// Adds a labelled byte string.
    fn bytes(&mut self, label: &str, value: &[u8]);
    /// Adds a labelled digest (the explanation prints it in hex).
    fn digest(&mut self, label: &str, value: &Digest);
    /// Adds a labelled text.
    fn text(&mut self, label: &str, value: &str) {
        self.bytes(label, value.as_bytes());
    }
    /// Adds a labelled number.
    fn number(&mut self, label: &str, value: u64) {
        self.text(label, &value.to_string());
    }
}

/// The hashing sink: every field is the label and the value, each length-prefixed, so no two
/// different field sequences hash alike. The fields are gathered and hashed once at the end
/// (the same digest as feeding them one by one: an action key's hundreds of small fields cost
/// a hit about 20 µs as separate BLAKE3 updates).
pub struct Hasher(Vec<u8>);

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Hasher {
        Hasher(Vec::with_capacity(4096))
    }

    /// The key.
    pub fn finish(&self) -> Digest {
        Digest::of(&self.0)
    }

    fn field(&mut self, label: &str, value: &[u8]) {
        self.0
            .extend_from_slice(&(label.len() as u64).to_le_bytes());
        self.0.extend_from_slice(label.as_bytes());
        self.0
            .extend_from_slice(&(value.len() as u64).to_le_bytes());
        self.0.extend_from_slice(value);
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

impl KeySink for Hasher {
    fn bytes(&mut self, label: &str, value: &[u8]) {
        self.field(label, value);
    }
    fn digest(&mut self, label: &str, value: &Digest) {
        self.field(label, &value.0);
    }
}

/// The explaining sink: one `label: value` line per field.
#[derive(Default)]
pub struct Explain(pub String);

impl KeySink for Explain {
    fn bytes(&mut self, label: &str, value: &[u8]) {
        self.0.push_str(label);
        self.0.push_str(": ");
        match std::str::from_utf8(value) {
            Ok(s) if value.len() <= 256 => self.0.push_str(&format!("{s:?}")),
            _ => self.0.push_str(&format!(
                "<{} bytes, blake3 {}>",
                value.len(),
                Digest::of(value)
            )),
        }
        self.0.push('\n');
    }
    fn digest(&mut self, label: &str, value: &Digest) {
        self.0.push_str(&format!("{label}: {value}\n"));
    }
}

/// Everything a source key covers.
pub struct SourceKeyInput<'a> {
    /// The compiler identity (hash of its bytes and target triple).
    pub compiler: &'a Digest,
    /// Source language name.
    pub lang: &'a str,
    /// The stable tokens the launcher maps the roots to (`-ffile-prefix-map=<root>=<token>`).
    pub prefix_map_tokens: &'a [&'a str],
    /// Environment variables that change what the compiler does, as (name, value).
    pub env: &'a [(String, String)],
    /// The normalised command, without the compiler and without dependency-file options.
    pub args: &'a [String],
    /// The normalised source path.
    pub source_path: &'a str,
    /// The digest of the source's bytes.
    pub source_digest: &'a Digest,
}

/// Feeds a source key's fields to `sink`.
pub fn source_key<S: KeySink>(sink: &mut S, input: &SourceKeyInput<'_>) {
    sink.text("domain", SOURCE_KEY_DOMAIN);
    sink.number("version", KEY_FORMAT_VERSION as u64);
    sink.digest("compiler", input.compiler);
    sink.text("lang", input.lang);
    sink.number("prefix-maps", input.prefix_map_tokens.len() as u64);
    for t in input.prefix_map_tokens {
        sink.text("prefix-map", t);
    }
    sink.number("env", input.env.len() as u64);
    for (k, v) in input.env {
        sink.text("env-name", k);
        sink.text("env-value", v);
    }
    sink.number("args", input.args.len() as u64);
    for a in input.args {
        sink.text("arg", a);
    }
    sink.text("source", input.source_path);
    sink.digest("source-content", input.source_digest);
}

/// Feeds an action key's fields to `sink`: the source key and the include list.
pub fn action_key<S: KeySink>(sink: &mut S, source_key: &Digest, includes: &[(&str, Digest)]) {
    sink.text("domain", ACTION_KEY_DOMAIN);
    sink.number("version", KEY_FORMAT_VERSION as u64);
    sink.digest("source-key", source_key);
    sink.number("includes", includes.len() as u64);
    for (path, d) in includes {
        sink.text("include", path);
        sink.digest("include-content", d);
    }
}

/// The source key of `input`.
pub fn source_key_digest(input: &SourceKeyInput<'_>) -> Digest {
    let mut h = Hasher::new();
    source_key(&mut h, input);
    h.finish()
}

/// The action key of a source key and its include list.
pub fn action_key_digest(source_key: &Digest, includes: &[(&str, Digest)]) -> Digest {
    let mut h = Hasher::new();
    action_key(&mut h, source_key, includes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(args: &'a [String], c: &'a Digest, s: &'a Digest) -> SourceKeyInput<'a> {
        SourceKeyInput {
            compiler: c,
            lang: "c",
            prefix_map_tokens: &["/cached-ninja/src"],
            env: &[],
            args,
            source_path: "@src/a.c",
            source_digest: s,
        }
    }

    #[test]
    fn hash_and_explanation_cover_the_same_fields() {
        let args = vec!["-c".to_string(), "@src/a.c".to_string()];
        let (c, s) = (Digest::of(b"gcc"), Digest::of(b"int x;"));
        let k1 = source_key_digest(&input(&args, &c, &s));
        let mut e = Explain::default();
        source_key(&mut e, &input(&args, &c, &s));
        assert!(e.0.contains("arg: \"@src/a.c\"\n"), "{}", e.0);
        assert!(e.0.contains(&format!("source-content: {s}\n")));
        // Any field change changes the key; field boundaries are unambiguous.
        let args2 = vec!["-c@src/a.c".to_string()];
        assert_ne!(k1, source_key_digest(&input(&args2, &c, &s)));
        let s2 = Digest::of(b"int y;");
        assert_ne!(k1, source_key_digest(&input(&args, &c, &s2)));
        let a1 = action_key_digest(&k1, &[("@src/a.h", s)]);
        assert_ne!(a1, action_key_digest(&k1, &[("@src/a.h", s2)]));
        assert_ne!(a1, action_key_digest(&k1, &[("@src/b.h", s)]));
        assert_ne!(a1, action_key_digest(&k1, &[]));
    }

    #[test]
    fn hex_round_trip() {
        let d = Digest::of(b"x");
        assert_eq!(Digest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Digest::from_hex("zz"), None);
    }
}
