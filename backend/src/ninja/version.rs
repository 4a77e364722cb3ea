//! `ninja_required_version` (ninja `CheckNinjaVersion`) and C's `atol`, as ninja uses them.

use super::error::LoadError;

/// The ninja version we mean the same as.
pub const NINJA_VERSION: &str = "1.11.1";

/// Checks a `ninja_required_version` value: a warning to print, or ninja's fatal error.
pub fn check(version: &[u8]) -> Result<Option<Vec<u8>>, LoadError> {
    let (bin_major, bin_minor) = parse_version(NINJA_VERSION.as_bytes());
    let (major, minor) = parse_version(version);
    if bin_major > major {
        let mut w = format!(
            "ninja executable version ({NINJA_VERSION}) greater than build file ninja_required_version ("
        )
        .into_bytes();
        w.extend_from_slice(version);
        w.extend_from_slice(b"); versions may be incompatible.");
        return Ok(Some(w));
    }
    if (bin_major == major && bin_minor < minor) || bin_major < major {
        let mut w = format!(
            "ninja version ({NINJA_VERSION}) incompatible with build file ninja_required_version version ("
        )
        .into_bytes();
        w.extend_from_slice(version);
        w.extend_from_slice(b").");
        return Err(LoadError::Fatal(w));
    }
    Ok(None)
}

/// C's `atol` (glibc: `strtol` saturating), for pool depths.
pub fn atol(s: &[u8]) -> i64 {
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
    {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((d - b'0') as i64);
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// ninja's `ParseVersion`: `major.minor` by `atoi`.
fn parse_version(v: &[u8]) -> (i64, i64) {
    let atoi = |s: &[u8]| atol(s) as i32 as i64;
    match memchr::memchr(b'.', v) {
        None => (atoi(v), 0),
        Some(dot) => (atoi(&v[..dot]), atoi(&v[dot + 1..])),
    }
}
