//! Hex of 32-byte values (digests, keys): the one codec cached-ninja's text formats use.
//!
//! Encoding is lowercase. Decoding takes exactly 64 digits of either case, as both digest
//! types it replaces did; a format that wants one spelling rejects uppercase itself (the
//! build manifest parser and store key checks in `fetch` do).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// 64 lowercase hex digits of `bytes`.
pub fn encode32(bytes: &[u8; 32]) -> String {
    digits32(bytes).as_str().to_string()
}

/// 64 lowercase hex digits of `bytes`, on the stack (`Display` writes them without a `String`:
/// a manifest or entry writes one per header).
pub fn digits32(bytes: &[u8; 32]) -> Digits32 {
    // Digits into an array: `String::push` per digit checks capacity and encodes a `char`.
    let mut digits = [0u8; 64];
    for (pair, &b) in digits.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[(b >> 4) as usize];
        pair[1] = DIGITS[(b & 15) as usize];
    }
    Digits32(digits)
}

/// The hex digits [`digits32`] gives.
pub struct Digits32([u8; 64]);

impl Digits32 {
    /// The digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

/// The value of each byte as a hex digit, `0xff` for a byte that is none.
const VALUES: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// The 32 bytes that exactly 64 hex digits spell, or `None`.
pub fn decode32(s: &str) -> Option<[u8; 32]> {
    let b: &[u8; 64] = s.as_bytes().try_into().ok()?;
    let mut out = [0u8; 32];
    // A table per digit and one check at the end (digests are decoded by the thousand on a
    // hit: every line of an include manifest).
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let (h, l) = (VALUES[pair[0] as usize], VALUES[pair[1] as usize]);
        bad |= h | l;
        *o = (h << 4) | (l & 15);
    }
    (bad & 0xf0 == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_every_byte_as_two_lowercase_digits() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 8 + 7) as u8);
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(encode32(&bytes), want);
        assert_eq!(encode32(&[0xff; 32]), "f".repeat(64));
        assert_eq!(digits32(&bytes).as_str(), want);
    }

    #[test]
    fn decodes_either_case_and_rejects_anything_else() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let hex = encode32(&bytes);
        assert_eq!(decode32(&hex), Some(bytes));
        assert_eq!(decode32(&hex.to_uppercase()), Some(bytes));
        assert_eq!(decode32(&hex[..63]), None);
        assert_eq!(decode32(&format!("{hex}0")), None);
        for bad in [b'g', b'G', b' ', b'/', b':', b'@', b'`', 0xc3] {
            let mut b = hex.clone().into_bytes();
            b[17] = bad;
            if let Ok(s) = String::from_utf8(b) {
                assert_eq!(decode32(&s), None, "{s}");
            }
        }
    }
}
