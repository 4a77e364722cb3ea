//! A cache file's check value: the XXH3-128 of its bytes, kept in an extended attribute of the
//! file (`user.cached-ninja.xxh3`), so that a read finds a torn or altered file without hashing
//! it with BLAKE3 again. Set on the temporary file before the rename that puts a file in place,
//! so a file and its value appear together; every file the cache writes has one.
//!
//! Only a check: a blob's name stays its BLAKE3 digest (DESIGN §4) and a sealed file keeps its
//! checksum line. A blob without the attribute (a file system without user attributes, a cache
//! written before it, a copy that dropped it) is checked against its name as before, and a
//! sealed file without a matching value against its checksum line. A blob whose value does not
//! match is corruption, like a name that does not match: the reader drops it and compiles, and
//! the next store writes it again with its value. Why: BLAKE3 of a 70 kB object was a fifth of
//! a hit's instructions, the checksum lines a tenth (BENCHMARKS.md, "A blob's check value").

use std::fs::File;
use std::os::fd::AsRawFd;

/// The attribute's name. A new check function needs a new name.
const NAME: &std::ffi::CStr = c"user.cached-ninja.xxh3";

/// The check value of `bytes`.
pub(super) fn value(bytes: &[u8]) -> [u8; 16] {
    twox_hash::xxh3::hash128(bytes).to_le_bytes()
}

/// Sets `f`'s check value to that of `bytes` (its content). Best effort: a file system without
/// user attributes leaves the blob to be checked against its name.
pub(super) fn set(f: &File, bytes: &[u8]) {
    let v = value(bytes);
    // SAFETY: a valid fd, a NUL-terminated name, a buffer of the length given.
    unsafe { libc::fsetxattr(f.as_raw_fd(), NAME.as_ptr(), v.as_ptr().cast(), v.len(), 0) };
}

/// Whether `f` has a check value and it is that of `bytes` (its content, as just read).
pub(super) fn matches(f: &File, bytes: &[u8]) -> bool {
    get(f).is_some_and(|v| v == value(bytes))
}

/// `f`'s check value, if it has one of the right length.
pub(super) fn get(f: &File) -> Option<[u8; 16]> {
    let mut v = [0u8; 16];
    // SAFETY: a valid fd, a NUL-terminated name, a buffer of the length given.
    let n =
        unsafe { libc::fgetxattr(f.as_raw_fd(), NAME.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
    (n == v.len() as isize).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_differ_with_any_byte_and_round_trip_where_supported() {
        let a = vec![7u8; 70_000];
        let mut b = a.clone();
        b[69_999] = 8;
        assert_ne!(value(&a), value(&b));
        assert_eq!(value(&a), value(&a.clone()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        std::fs::write(&path, &a).unwrap();
        let f = File::open(&path).unwrap();
        assert_eq!(get(&f), None);
        set(&f, &a);
        // Where the file system keeps user attributes (ext4, xfs, btrfs, tmpfs since 6.6).
        if let Some(v) = get(&f) {
            assert_eq!(v, value(&a));
        }
    }
}
