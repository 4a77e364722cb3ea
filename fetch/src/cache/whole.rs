//! Reading a whole file whose size a `stat` already gave.

use std::fs::File;
use std::io::{self, Read};

/// The whole of an open file whose size was `len` when stat'ed: two `read`s for a file that
/// did not grow (more if it did), without the `fstat` and `lseek` that `File`'s own
/// `read_to_end` spends on learning the size again, nor its 8 KiB first reads of a reader
/// without a size. A launch reads hundreds of headers and a few cache files this way.
pub fn read_whole(f: &mut File, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; len as usize + 1];
    let mut n = 0;
    loop {
        match f.read(&mut bytes[n..]) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                if n == bytes.len() {
                    bytes.resize(2 * n, 0);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(n);
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
