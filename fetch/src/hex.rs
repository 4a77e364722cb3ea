//! Lowercase hex of 32-byte values (digests, keys): the one codec the crate's text formats use.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// 64 lowercase hex digits of `bytes`.
pub(crate) fn encode32(bytes: &[u8; 32]) -> String {
    let mut s = String::with_capacity(64);
    for &b in bytes {
        s.push(char::from(DIGITS[(b >> 4) as usize]));
        s.push(char::from(DIGITS[(b & 15) as usize]));
    }
    s
}

/// The 32 bytes that 64 hex digits spell, or `None`.
pub(crate) fn decode32(s: &str) -> Option<[u8; 32]> {
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
