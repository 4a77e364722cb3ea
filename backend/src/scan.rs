//! Byte-string search for the launcher's hot path, without CPU-feature probing.
//!
//! `memchr::memmem` chooses its SIMD routine at run time. Its first call runs the standard
//! library's feature detection: a dozen or so CPUID instructions, each a trap to the
//! hypervisor in a virtual machine (about 6 µs apiece measured here), so a launch that hits
//! would spend more on the probe than on scanning its source. These portable searchers probe
//! nothing; what a hit scans (`CMakeCache.txt`, for the source root) is tens of KB. What runs
//! only before a compile (`crate::compile::unkeyed_input`) uses `memchr::memmem`.

/// A single-byte searcher that probes no CPU features: SSE2 is in the x86-64 baseline, so
/// its routine is chosen at compile time; elsewhere a word at a time.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
struct One(memchr::arch::x86_64::sse2::memchr::One);

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
impl One {
    fn new(byte: u8) -> One {
        One(memchr::arch::x86_64::sse2::memchr::One::new(byte).expect("SSE2 is in the baseline"))
    }

    fn find(&self, haystack: &[u8]) -> Option<usize> {
        self.0.find(haystack)
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use memchr::arch::all::memchr::One;

/// The position of the first `needle` in `haystack`: candidates by the needle's
/// rarest-looking byte (a word-at-a-time scan), then a comparison; meant for short fixed
/// needles in inputs of tens of KB (a CMake cache key in `CMakeCache.txt`).
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    let (at, &byte) = needle
        .iter()
        .enumerate()
        .max_by_key(|&(i, &b)| (rarity(b), i))
        .expect("not empty");
    let one = One::new(byte);
    let mut from = at;
    while let Some(i) = one.find(&haystack[from.min(haystack.len())..]) {
        let start = from + i - at;
        if haystack[start..].starts_with(needle) {
            return Some(start);
        }
        from += i + 1;
    }
    None
}

/// How rare a byte is in C sources and build files, roughly: blanks and `_` are everywhere,
/// lower case is common, upper case less so, punctuation and digits least.
fn rarity(b: u8) -> u8 {
    match b {
        b'_' | b' ' | b'\n' | b'\t' => 0,
        b'a'..=b'z' => 1,
        b'A'..=b'Z' => 2,
        _ => 3,
    }
}

/// The position of the first `byte` in `haystack`.
pub fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    One::new(byte).find(haystack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_memmem_finds() {
        let hay = b"int x = __LINE__; /* __DATE__ */ asm(\".incbin \\\"f\\\"\");";
        for needle in [&b"__"[..], b"__DATE__", b".incbin", b"absent", b"x", b""] {
            assert_eq!(
                find(hay, needle),
                memchr::memmem::find(hay, needle),
                "{needle:?}"
            );
        }
        assert_eq!(find_byte(b"a\nb", b'\n'), Some(1));
        assert_eq!(find_byte(b"ab", b'\n'), None);
        assert_eq!(find(b"", b"__"), None);
    }
}
