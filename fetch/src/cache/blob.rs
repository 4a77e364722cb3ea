//! A blob's bytes as read from the local cache: mapped when large, so that a hit hashes and
//! writes out an object straight from the page cache (no copy into the process, no fresh
//! pages to zero), read when small (a mapping costs more than a read of a few pages).
//!
//! A mapping is safe to hold: cache files are never changed in place (written whole under a
//! temporary name and renamed, removed by unlinking), so its bytes are fixed while it lives.
//! Its pages are read in at once (`MADV_POPULATE_READ`, Linux 5.14 and later), which reports a
//! read error as an error where touching the pages would raise `SIGBUS` and kill the launch; a
//! kernel without it, or any other system, reads the blob instead.

use std::fs::File;
use std::io;
use std::ops::Deref;

/// Blobs at least this large are mapped. Measured on hits of libgit2's `llhttp/api.c` (a 70 kB
/// object: 0.90–0.93 of a read) and `index_map.c` (35 kB: 0.98); BENCHMARKS.md, "A hit's
/// object mapped".
pub const MAP_AT: u64 = 32 * 1024;

/// A blob's bytes.
pub enum Blob {
    /// Read into memory (small blobs, or bytes made by the caller).
    Read(Vec<u8>),
    /// Mapped from its cache file.
    Mapped(memmap2::Mmap),
}

impl Blob {
    /// The bytes of `f` (`len` long, as its metadata said): mapped from [`MAP_AT`] bytes on.
    pub fn of_file(f: &mut File, len: u64) -> io::Result<Blob> {
        #[cfg(target_os = "linux")]
        if len >= MAP_AT {
            // SAFETY: cache files are never changed in place (module docs).
            if let Ok(m) = unsafe { memmap2::Mmap::map(&*f) } {
                if m.advise(memmap2::Advice::PopulateRead).is_ok() {
                    return Ok(Blob::Mapped(m));
                }
            }
        }
        super::read_whole(f, len).map(Blob::Read)
    }

    /// The bytes as an owned vector (copied when mapped).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Blob::Read(v) => v,
            Blob::Mapped(m) => m.to_vec(),
        }
    }
}

impl Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Blob::Read(v) => v,
            Blob::Mapped(m) => m,
        }
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Blob {
        Blob::Read(v)
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self {
            Blob::Read(_) => "read",
            Blob::Mapped(_) => "mapped",
        };
        write!(f, "Blob({how}, {} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    #[cfg(target_os = "linux")]
    fn small_files_are_read_and_large_ones_mapped_with_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for (len, mapped) in [
            (0u64, false),
            (100, false),
            (MAP_AT, true),
            (3 * MAP_AT + 7, true),
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let path = dir.path().join(format!("b{len}"));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(&bytes)
                .unwrap();
            let mut f = File::open(&path).unwrap();
            let b = Blob::of_file(&mut f, len).unwrap();
            assert_eq!(matches!(b, Blob::Mapped(_)), mapped, "{len}");
            assert_eq!(&*b, &bytes[..]);
            assert_eq!(b.into_vec(), bytes);
        }
    }
}
