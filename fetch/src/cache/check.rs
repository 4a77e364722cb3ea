//! A cache file's check value: a hash of its bytes and the start of its name, kept in an
//! extended attribute of the file (`user.cached-ninja.check`), so that a read finds a torn or
//! altered file, or a file under another's name, without hashing it with BLAKE3 again. Set on
//! the temporary file before the rename that puts a file in place, so a file and its value
//! appear together; every file the cache writes has one.
//!
//! The value is 24 bytes: twox-hash 1.6's XXH3-128 of the bytes (a draft of XXH3, not the
//! final one: values are only ever compared with values this code made), then the first 8
//! bytes of the digest the file is named by (a blob's BLAKE3, an entry's action key, a
//! manifest's source key, a memo's key).
//!
//! Only a check, never the last word: a blob's name stays its BLAKE3 digest (DESIGN §4) and a
//! sealed file keeps its checksum line. A file whose value is missing or does not match (a file
//! system without user attributes, a cache written before, a copy that dropped the attribute,
//! another check function) is checked as before, against its name or its line; a blob that
//! passes gets its value set again. Why: BLAKE3 of a 70 kB object was a fifth of a hit's
//! instructions, the checksum lines a tenth (BENCHMARKS.md, "A cache file's check value").

use super::Digest;
use std::fs::File;
use std::os::fd::AsRawFd;

/// The attribute's name.
const NAME: &std::ffi::CStr = c"user.cached-ninja.check";

/// A check value.
type Value = [u8; 24];

/// The check value of a file named by `name` holding `bytes`.
fn value(bytes: &[u8], name: &Digest) -> Value {
    let mut v = [0u8; 24];
    v[..16].copy_from_slice(&twox_hash::xxh3::hash128(bytes).to_le_bytes());
    v[16..].copy_from_slice(&name.0[..8]);
    v
}

/// Sets `f`'s check value: it holds `bytes` and is named by `name`. Best effort: a file system
/// without user attributes leaves the file to be checked as before.
pub(super) fn set(f: &File, bytes: &[u8], name: &Digest) {
    let v = value(bytes, name);
    // SAFETY: a valid fd, a NUL-terminated name, a buffer of the length given.
    unsafe { libc::fsetxattr(f.as_raw_fd(), NAME.as_ptr(), v.as_ptr().cast(), v.len(), 0) };
}

/// Whether `f`, named by `name`, has a check value and it is that of `bytes` (its content, as
/// just read from it).
pub(super) fn matches(f: &File, bytes: &[u8], name: &Digest) -> bool {
    get(f).is_some_and(|v| v == value(bytes, name))
}

/// `f`'s check value, if it has one of the right length.
fn get(f: &File) -> Option<Value> {
    let mut v = [0u8; 24];
    // SAFETY: a valid fd, a NUL-terminated name, a buffer of the length given.
    let n =
        unsafe { libc::fgetxattr(f.as_raw_fd(), NAME.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
    (n == v.len() as isize).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_differ_with_any_byte_or_name_and_round_trip() {
        let a = vec![7u8; 70_000];
        let mut b = a.clone();
        b[69_999] = 8;
        let (n, m) = (Digest::of(b"n"), Digest::of(b"m"));
        assert_ne!(value(&a, &n), value(&b, &n));
        assert_ne!(value(&a, &n), value(&a, &m));
        assert_eq!(value(&a, &n), value(&a.clone(), &n));
        // The temporary directory's file system must keep user attributes (ext4, xfs, btrfs,
        // tmpfs since Linux 6.6): without them every file is checked as before.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, &a).unwrap();
        let f = File::open(&path).unwrap();
        assert_eq!(get(&f), None);
        assert!(!matches(&f, &a, &n));
        set(&f, &a, &n);
        assert!(
            matches(&f, &a, &n),
            "{} keeps no user attributes",
            dir.path().display()
        );
        assert!(!matches(&f, &b, &n));
        assert!(!matches(&f, &a, &m));
    }
}
