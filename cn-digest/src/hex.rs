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
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { sse2::decode32(b) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    decode32_by_table(b)
}

/// [`decode32`] a digit at a time, by table.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // the tests' reference there
fn decode32_by_table(b: &[u8; 64]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    // A table per digit and one check at the end.
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let (h, l) = (VALUES[pair[0] as usize], VALUES[pair[1] as usize]);
        bad |= h | l;
        *o = (h << 4) | (l & 15);
    }
    (bad & 0xf0 == 0).then_some(out)
}

/// Sixteen digits at a time with SSE2 (in the x86-64 baseline, so no CPU feature is probed):
/// digests are decoded by the hundred on a hit, every line of an include manifest, and the
/// table's 700 instructions per digest were 7 % of a first check.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// [`super::decode32`] of `b`.
    ///
    /// # Safety
    /// The CPU has SSE2 (every x86-64 does).
    #[target_feature(enable = "sse2")]
    pub(super) unsafe fn decode32(b: &[u8; 64]) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        let mut valid = 0xffff;
        for half in 0..2 {
            let at = b.as_ptr().add(32 * half);
            let (v0, ok0) = values(_mm_loadu_si128(at.cast()));
            let (v1, ok1) = values(_mm_loadu_si128(at.add(16).cast()));
            valid &= ok0 & ok1;
            // Each 16-bit lane holds a pair: high digit in its low byte, low digit above.
            let pair = |v| {
                let high = _mm_slli_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00ff)), 4);
                _mm_or_si128(high, _mm_srli_epi16(v, 8))
            };
            let bytes = _mm_packus_epi16(pair(v0), pair(v1));
            _mm_storeu_si128(out.as_mut_ptr().add(16 * half).cast(), bytes);
        }
        (valid == 0xffff).then_some(out)
    }

    /// The values of 16 digits, and a mask with a bit set per byte that is one (either case).
    #[target_feature(enable = "sse2")]
    unsafe fn values(v: __m128i) -> (__m128i, i32) {
        let between = |x, lo: u8, hi: u8| {
            // Signed compares: bytes of 0x80 and over are below `lo`, so never digits.
            let above = _mm_cmpgt_epi8(x, _mm_set1_epi8(lo as i8 - 1));
            let below = _mm_cmplt_epi8(x, _mm_set1_epi8(hi as i8 + 1));
            _mm_and_si128(above, below)
        };
        let digit = between(v, b'0', b'9');
        // Setting bit 5 makes `A`-`F` into `a`-`f`; nothing else lands there.
        let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
        let letter = between(lower, b'a', b'f');
        let digit_value = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        let letter_value = _mm_sub_epi8(lower, _mm_set1_epi8((b'a' - 10) as i8));
        let value = _mm_or_si128(
            _mm_and_si128(digit, digit_value),
            _mm_and_si128(letter, letter_value),
        );
        (value, _mm_movemask_epi8(_mm_or_si128(digit, letter)))
    }
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
    fn decodes_like_the_table_whatever_byte_is_at_any_place() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 73 + 11) as u8);
        for hex in [encode32(&bytes), encode32(&bytes).to_uppercase()] {
            let good: [u8; 64] = hex.as_bytes().try_into().unwrap();
            for at in 0..64 {
                for byte in 0..=255u8 {
                    let mut b = good;
                    b[at] = byte;
                    let want = decode32_by_table(&b);
                    assert_eq!(want.is_some(), VALUES[byte as usize] < 16);
                    // The string form where the bytes are UTF-8; the bytes themselves always.
                    if let Ok(s) = std::str::from_utf8(&b) {
                        assert_eq!(decode32(s), want, "{at} {byte:#x}");
                    }
                    #[cfg(target_arch = "x86_64")]
                    assert_eq!(unsafe { sse2::decode32(&b) }, want, "{at} {byte:#x}");
                }
            }
        }
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
