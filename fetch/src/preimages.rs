//! The source keys' preimages of a published build (`keys/<config>/<revision>`, signed like a
//! manifest: [`crate::published`]): what CI's launchers hashed for each source key, so that
//! `cached-ninja explain` on a developer's machine names the input (an argument, the compiler,
//! an environment variable, the source) in which a source key differs from CI's record.
//! Published beside the build manifest, read only by `explain`: no build waits for it.
//!
//! ```text
//! cached-ninja key preimages 1
//! == source key <64 hex>
//! <label>: <value>        one line per field (`backend::key::Explain`)
//! ```

use crate::cache::Digest;
use std::collections::HashMap;

/// First line of the text.
const HEADER: &str = "cached-ninja key preimages 1";
/// The line that starts each key's fields.
const KEY_LINE: &str = "== source key ";

/// The text of `preimages` (source key, its `label: value` lines).
pub fn render(preimages: &[(Digest, String)]) -> String {
    let mut t = format!("{HEADER}\n");
    for (key, fields) in preimages {
        t.push_str(&format!("{KEY_LINE}{key}\n"));
        for line in fields.lines().filter(|l| !l.starts_with(KEY_LINE)) {
            t.push_str(line);
            t.push('\n');
        }
    }
    t
}

/// The preimages of a text (source key → `label: value` lines); `None` when the text is not
/// this format.
pub fn parse(text: &str) -> Option<HashMap<Digest, String>> {
    let mut lines = text.lines();
    (lines.next()? == HEADER).then_some(())?;
    let mut out: HashMap<Digest, String> = HashMap::new();
    let mut current: Option<Digest> = None;
    for l in lines {
        if let Some(hex) = l.strip_prefix(KEY_LINE) {
            current = Some(Digest::from_hex(hex)?);
            out.entry(current?).or_default();
        } else {
            let fields = out.get_mut(&current?)?;
            fields.push_str(l);
            fields.push('\n');
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (a, b) = (Digest::of(b"a"), Digest::of(b"b"));
        let list = vec![
            (a, "compiler: 00\narg: \"-O2\"\n".to_string()),
            (b, "arg: \"-g\"\n".to_string()),
        ];
        let back = parse(&render(&list)).unwrap();
        assert_eq!(back[&a], list[0].1);
        assert_eq!(back[&b], list[1].1);
        assert_eq!(parse("something else\n"), None);
        assert_eq!(parse(&format!("{HEADER}\narg: \"-g\"\n")), None);
    }
}
