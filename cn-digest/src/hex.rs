//! Hex of 32-byte values (digests, keys): the one codec cached-ninja's text formats use.
//!
//! Encoding is lowercase. Decoding takes exactly 64 digits of either case, as both digest
//! types it replaces did; a format that wants one spelling rejects uppercase itself (the
//! build manifest parser and store key checks in `fetch` do).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// 64 lowercase hex digits of `bytes`.
pub fn encode32(bytes: &[u8; 32]) -> String {
    let mut s = String::with_capacity(64);
    for &b in bytes {
        s.push(char::from(DIGITS[(b >> 4) as usize]));
        s.push(char::from(DIGITS[(b & 15) as usize]));
    }
    s
}

/// The 32 bytes that exactly 64 hex digits spell, or `None`.
pub fn decode32(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let h = (b[2 * i] as char).to_digit(16)?;
        let l = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (h * 16 + l) as u8;
    }
    Some(out)
}
