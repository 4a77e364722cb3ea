//! A download's bytes as they arrive: in memory, and mirrored to a file when the caller gives
//! one (the local cache's partial file, `cache::DownloadClaim`), so a download cut short can go
//! on from where it stopped with a range request.
//!
//! The mirror is best effort: a write that fails (a full or read-only cache) drops it, and the
//! download goes on in memory; a cache problem is never a download problem. Whatever the file
//! holds is a prefix of what arrived, so it is either a true start of the object or wrong
//! bytes that the digest check of the whole frame catches.

use std::fs::File;
use std::io::{self, Read, Write};

/// The bytes of one object received so far.
#[derive(Debug, Default)]
pub struct Spool {
    bytes: Vec<u8>,
    file: Option<File>,
    received: u64,
}

impl Spool {
    /// A spool in memory only, starting empty.
    pub fn in_memory() -> Spool {
        Spool::default()
    }

    /// A spool that goes on from the bytes `file` holds (opened to read and append); more than
    /// `limit` of them, or an unreadable file, start afresh.
    pub fn resume(mut file: File, limit: u64) -> Spool {
        let mut bytes = Vec::new();
        let ok = Read::by_ref(&mut file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .is_ok();
        let mut spool = Spool {
            bytes,
            file: Some(file),
            received: 0,
        };
        if !ok || spool.len() > limit {
            spool.restart();
        }
        spool
    }

    /// Bytes held (kept from before plus received).
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes held.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Bytes that arrived through this spool (not those it resumed from).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Forgets every byte held (the store sends the whole object, or they did not verify).
    pub fn restart(&mut self) {
        self.bytes.clear();
        if let Some(f) = &self.file {
            if f.set_len(0).is_err() {
                self.file = None;
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        self.received += buf.len() as u64;
        if let Some(f) = &mut self.file {
            if f.write_all(buf).is_err() {
                self.file = None;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_from_the_file_and_mirrors_what_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p");
        std::fs::write(&path, b"head ").unwrap();
        let open = || File::options().read(true).append(true).open(&path).unwrap();
        let mut s = Spool::resume(open(), 100);
        assert_eq!((s.len(), s.received()), (5, 0));
        s.write_all(b"tail").unwrap();
        assert_eq!(s.bytes(), b"head tail");
        assert_eq!(s.received(), 4);
        assert_eq!(std::fs::read(&path).unwrap(), b"head tail");
        s.restart();
        s.write_all(b"whole").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"whole");
        // More than the limit: not resumed.
        let s = Spool::resume(open(), 3);
        assert!(s.is_empty());
        assert!(std::fs::read(&path).unwrap().is_empty());
    }
}
