//! The checksum line that ends every entry, manifest and memo: `end <blake3 of what precedes>`.
//! A truncated or altered file fails [`unseal`]. [`lines`] splits what it returns.

use super::Digest;

/// The length of the checksum line (`end `, 64 hex digits, a newline).
pub(super) const LINE_LEN: usize = 4 + 64 + 1;

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
    unseal_checked(text, false)
}

/// [`unseal`], but where the file's check value already matched the whole `text`
/// (`super::check`, `checked`) the checksum line is only split off, not hashed again: the value
/// was set when the file was written whole, sealed.
pub fn unseal_checked(text: &str, checked: bool) -> Option<&str> {
    let t = text.strip_suffix('\n')?;
    let (body, last) = match t.rfind('\n') {
        Some(i) => (&text[..i + 1], &t[i + 1..]),
        None => ("", t),
    };
    let hex = last.strip_prefix("end ")?;
    if checked && hex.len() == 64 {
        return Some(body);
    }
    let d = Digest::from_hex(hex)?;
    (Digest::of(body.as_bytes()) == d).then_some(body)
}

/// The lines of `text` split on `\n` only, like `str::split_terminator('\n')` (`str::lines`
/// also drops a `\r` before it, which would change a path ending in `\r`, a legal file name).
/// One `memchr` scan over the text instead of a searcher set up per line, which cost a hit
/// more than parsing its fields (callgrind: 190 instructions per line of a memo). On x86-64
/// the SSE2 scan, which is in the baseline: `memchr`'s own choice would first run the
/// standard library's CPU-feature detection, CPUID instructions a virtual machine traps, 3 % of
/// a hit (`backend::scan` says more); the portable scan (a word at a time) was 9 % of a first
/// check.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let newline = newline();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let end = newline
            .find(&text.as_bytes()[start..])
            .map_or(text.len(), |i| start + i);
        let line = &text[start..end];
        start = end + 1;
        Some(line)
    })
}

/// A search for `\n` that probes no CPU feature: SSE2 on x86-64, a word at a time elsewhere.
#[cfg(target_arch = "x86_64")]
fn newline() -> memchr::arch::x86_64::sse2::memchr::One {
    memchr::arch::x86_64::sse2::memchr::One::new(b'\n').expect("SSE2 is in the x86-64 baseline")
}

/// A search for `\n` that probes no CPU feature: SSE2 on x86-64, a word at a time elsewhere.
#[cfg(not(target_arch = "x86_64"))]
fn newline() -> memchr::arch::all::memchr::One {
    memchr::arch::all::memchr::One::new(b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_split_terminator() {
        let mut texts: Vec<String> = ["", "\n", "a", "a\n", "a\nb", "a\n\nb\n", "x\r\ny\r", "\n\n"]
            .map(String::from)
            .to_vec();
        // Lines around the vector width (16 bytes), and long ones.
        for n in [15, 16, 17, 31, 32, 33, 100, 1000] {
            let line = "x".repeat(n);
            texts.push(format!("{line}\n{line}\n\n{line}"));
            texts.push(format!("{line}\n"));
        }
        for text in &texts {
            let ours: Vec<&str> = lines(text).collect();
            let std: Vec<&str> = text.split_terminator('\n').collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn detects_truncation_and_change() {
        let s = seal("a 1\nb 2\n".to_string());
        assert_eq!(unseal(&s), Some("a 1\nb 2\n"));
        assert_eq!(unseal(&s[..s.len() - 5]), None);
        assert_eq!(unseal(&s.replace("b 2", "b 3")), None);
        assert_eq!(unseal(&seal(String::new())), Some(""));
        assert_eq!(s.len(), "a 1\nb 2\n".len() + LINE_LEN);
    }
}
