//! Reading a whole file whose size a `stat` already gave (or a guess of it).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// The whole of an open file whose size was `len` when stat'ed (or is guessed to be about
/// that): two `read`s for a file that did not grow (more if it did), without the `fstat` and
/// `lseek` that `File`'s own `read_to_end` spends on learning the size again, nor its 8 KiB
/// first reads of a reader without a size, nor zeroing the buffer first (4 % of a miss's
/// instructions, which reads hundreds of headers). A launch reads its cache files this way.
pub fn read_whole(f: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes: Vec<u8> = Vec::with_capacity(len as usize + 1);
    loop {
        if bytes.len() == bytes.capacity() {
            bytes.reserve(bytes.len());
        }
        let spare = bytes.spare_capacity_mut();
        // SAFETY: `read` writes at most `spare.len()` bytes into the vector's unused capacity
        // and says how many; only those become part of the vector.
        let k = unsafe { libc::read(f.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
        match k {
            0 => break,
            // SAFETY: the `k` bytes after the length were just written by `read`.
            k if k > 0 => unsafe { bytes.set_len(bytes.len() + k as usize) },
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::read_whole;
    use std::io::Write;

    /// The bytes come back whether the size given is right, too small (the file grew since
    /// its stat) or too large (it shrank).
    #[test]
    fn reads_the_whole_file_whatever_size_was_stated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let text: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&text)
            .unwrap();
        for len in [text.len() as u64, 0, 10, 99_999, 1 << 20] {
            let mut f = std::fs::File::open(&path).unwrap();
            assert_eq!(read_whole(&mut f, len).unwrap(), text, "stated {len}");
        }
        std::fs::write(&path, b"").unwrap();
        let mut f = std::fs::File::open(&path).unwrap();
        assert!(read_whole(&mut f, 0).unwrap().is_empty());
    }
}
