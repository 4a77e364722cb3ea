//! The action log of an object root: which action entry each compile of a build used, in the
//! order the compiles finished (`<objdir>/.cached-ninja/actions`, one action key per line).
//!
//! The launcher appends a line for every hit and every stored miss; `cached-ninja build` empties
//! it when a build starts; `cached-ninja publish` reads it to know what the build produced and
//! in which order (the build manifest's order, DESIGN §4). A line is 65 bytes written with one
//! `O_APPEND` write, so concurrent launchers never interleave. Plain `ninja` runs keep
//! appending; the publisher keeps, for each output path, the last action that wrote it.

use crate::cache::Digest;
use std::io;
use std::path::{Path, PathBuf};

/// Name of the log inside `<objdir>/.cached-ninja/`.
pub const ACTION_LOG_FILE: &str = "actions";

/// Path of the log for an object root.
pub fn path(obj_root: &Path) -> PathBuf {
    obj_root.join(".cached-ninja").join(ACTION_LOG_FILE)
}

/// Appends one action key.
pub fn append(obj_root: &Path, key: &Digest) -> io::Result<()> {
    crate::log_file::append(&path(obj_root), &format!("{}\n", key.to_hex()))
}

/// Empties the log (a new build starts).
pub fn clear(obj_root: &Path) -> io::Result<()> {
    crate::log_file::clear(&path(obj_root))
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
        clear(dir.path()).unwrap();
        assert!(read(dir.path()).unwrap().is_empty());
    }
}
