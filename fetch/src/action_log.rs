//! The action log of an object root: which action entry each compile of a build used, in the
//! order the compiles finished (`<objdir>/.cached-ninja/actions`, one action key per line).
//!
//! The launcher appends a line for every hit and every stored miss; `cached-ninja publish` reads
//! it to know what the builds of this object root produced and in which order (the build
//! manifest's order, DESIGN §4), keeping for each output the last action, and only if its object
//! is still the file on disk. The log spans builds, because an incremental build runs only the
//! edges that changed while a manifest must name them all. A line is 65 bytes written with one
//! `O_APPEND` write, so concurrent launchers never interleave. [`rewrite`] compacts it (publish
//! does, to what it published), [`trim`] bounds it (each build starts with it); both replace
//! the file, so a launcher running at that moment may lose its line (its edge is then missing
//! from the next manifest until it runs again). An edge removed from build.ninja whose object
//! is still on disk stays published: harmless, it only costs a download.

use crate::cache::Digest;
use std::io;
use std::path::{Path, PathBuf};

/// Path of the log for an object root.
pub fn path(obj_root: &Path) -> PathBuf {
    crate::objdir::ObjDir::new(obj_root).action_log_file()
}

/// Appends one action key.
pub fn append(obj_root: &Path, key: &Digest) -> io::Result<()> {
    crate::log_file::append(&path(obj_root), &format!("{}\n", key.to_hex()))
}

/// Empties the log.
pub fn clear(obj_root: &Path) -> io::Result<()> {
    crate::log_file::clear(&path(obj_root))
}

/// Replaces the log with `keys`, atomically.
pub fn rewrite(obj_root: &Path, keys: &[Digest]) -> io::Result<()> {
    let text: String = keys.iter().map(|k| format!("{}\n", k.to_hex())).collect();
    crate::cache::write_atomic(&path(obj_root), text.as_bytes())
}

/// Keeps the log under `max_bytes`: when larger, each key is kept once (at its last position).
pub fn trim(obj_root: &Path, max_bytes: u64) -> io::Result<()> {
    match std::fs::metadata(path(obj_root)) {
        Ok(md) if md.len() > max_bytes => rewrite(obj_root, &read(obj_root)?),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The keys in the order they were appended, each once (at its last position); lines that are
/// not a key (a torn line after a crash) are skipped. An absent log is empty.
pub fn read(obj_root: &Path) -> io::Result<Vec<Digest>> {
    let text = match std::fs::read_to_string(path(obj_root)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let keys: Vec<Digest> = text.lines().filter_map(Digest::from_hex).collect();
    let mut last = std::collections::HashMap::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        last.insert(*k, i);
    }
    Ok(keys
        .iter()
        .enumerate()
        .filter(|(i, k)| last[k] == *i)
        .map(|(_, k)| *k)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::io::Write;

    #[test]
    fn keeps_last_position_and_skips_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b] = [Digest::of(b"a"), Digest::of(b"b")];
        assert!(read(dir.path()).unwrap().is_empty());
        for k in [&a, &b, &a] {
            append(dir.path(), k).unwrap();
        }
        let mut f = OpenOptions::new()
            .append(true)
            .open(path(dir.path()))
            .unwrap();
        f.write_all(b"0123").unwrap();
        assert_eq!(read(dir.path()).unwrap(), vec![b, a]);
        trim(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            std::fs::metadata(path(dir.path())).unwrap().len(),
            3 * 65 + 4
        );
        trim(dir.path(), 100).unwrap();
        assert_eq!(
            std::fs::read_to_string(path(dir.path())).unwrap(),
            format!("{b}\n{a}\n")
        );
        clear(dir.path()).unwrap();
        assert!(read(dir.path()).unwrap().is_empty());
    }
}
