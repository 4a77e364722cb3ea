//! The checksum line that ends every entry, manifest and memo: `end <blake3 of what precedes>`.
//! A truncated or altered file fails [`unseal`].

use super::Digest;

/// Appends the checksum line to `body`.
pub fn seal(mut body: String) -> String {
    let d = Digest::of(body.as_bytes());
    body.push_str("end ");
    body.push_str(&d.to_hex());
    body.push('\n');
    body
}

/// Returns the body if the checksum line is present and matches.
pub fn unseal(text: &str) -> Option<&str> {
    let t = text.strip_suffix('\n')?;
    let (body, last) = match t.rfind('\n') {
        Some(i) => (&text[..i + 1], &t[i + 1..]),
        None => ("", t),
    };
    let d = Digest::from_hex(last.strip_prefix("end ")?)?;
    (Digest::of(body.as_bytes()) == d).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_truncation_and_change() {
        let s = seal("a 1\nb 2\n".to_string());
        assert_eq!(unseal(&s), Some("a 1\nb 2\n"));
        assert_eq!(unseal(&s[..s.len() - 5]), None);
        assert_eq!(unseal(&s.replace("b 2", "b 3")), None);
        assert_eq!(unseal(&seal(String::new())), Some(""));
    }
}
