//! Ninja's build log (`.ninja_log`): entries added for outputs made before Ninja runs, in
//! the format of the Ninja that reads them next (versions 5 and 6: Ninja 1.10 to 1.12).
//!
//! Ninja runs an edge whose output has no entry, or one whose command hash differs from the
//! edge's command now, or whose recorded time is older than an input's. An entry written
//! here therefore only ever lets Ninja skip an output that exists, was made by that command
//! and is newer than its inputs; a wrong or unreadable entry makes Ninja run the edge.

use super::state_file::{io_err, StateError};
use std::io::Write;
use std::path::Path;

/// The build log's name in the object directory.
pub const FILE: &str = ".ninja_log";

/// A build log version this module writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogVersion {
    /// Ninja 1.10 and 1.11.
    V5,
    /// Ninja 1.12 (the same lines; Ninja 1.12 drops a version 5 log).
    V6,
}

impl LogVersion {
    /// The version the Ninja that printed `version` (`ninja --version`) reads and writes;
    /// `None` for one whose log this module does not write (1.13 hashes commands otherwise).
    pub fn of_ninja(version: &str) -> Option<LogVersion> {
        let mut parts = version.trim().split(['.', '-', '+']);
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        match (major, minor) {
            (1, 10 | 11) => Some(LogVersion::V5),
            (1, 12) => Some(LogVersion::V6),
            _ => None,
        }
    }

    /// The log's first line.
    fn header(self) -> &'static str {
        match self {
            LogVersion::V5 => "# ninja log v5\n",
            LogVersion::V6 => "# ninja log v6\n",
        }
    }
}

/// One output's entry: when its command ran (ms since the build started), its mtime (as
/// Ninja stats it: nanoseconds) and its command's hash ([`command_hash`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The output, as the Ninja file names it.
    pub output: Vec<u8>,
    /// Start of the command, ms.
    pub start_ms: u32,
    /// End of the command, ms.
    pub end_ms: u32,
    /// The newest of the edge's outputs' mtimes, ns.
    pub mtime: i64,
    /// [`command_hash`] of the edge's command.
    pub command_hash: u64,
}

/// Ninja's hash of an edge's command (`BuildLog::LogEntry::HashCommand`: MurmurHash64A with
/// Ninja's seed) of what [`crate::ninja::Graph::try_command_for_log`] gives.
pub fn command_hash(command: &[u8]) -> u64 {
    const SEED: u64 = 0xDECA_FBAD_DECA_FBAD;
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = SEED ^ (command.len() as u64).wrapping_mul(M);
    let mut chunks = command.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Appends `entries` to the build log at `path`, creating it with `version`'s first line.
/// A log of another version is an error (the Ninja that reads it next would drop it, and our
/// entries with it); so is an output with a tab or a line break (it would not read back).
pub fn append(path: &Path, version: LogVersion, entries: &[LogEntry]) -> Result<(), StateError> {
    if let Some(bad) = entries
        .iter()
        .find(|e| e.output.iter().any(|b| matches!(b, b'\t' | b'\n' | b'\r')))
    {
        return Err(StateError::Unwritable {
            path: path.to_path_buf(),
            what: String::from_utf8_lossy(&bad.output).into_owned(),
        });
    }
    let mut text = Vec::with_capacity(entries.len() * 96);
    match first_line(path)? {
        None => text.extend_from_slice(version.header().as_bytes()),
        Some(line) if line == version.header().trim_end().as_bytes() => {}
        Some(line) => {
            return Err(StateError::OtherVersion {
                path: path.to_path_buf(),
                found: String::from_utf8_lossy(&line).into_owned(),
            })
        }
    }
    for e in entries {
        text.extend_from_slice(format!("{}\t{}\t{}\t", e.start_ms, e.end_ms, e.mtime).as_bytes());
        text.extend_from_slice(&e.output);
        text.extend_from_slice(format!("\t{:x}\n", e.command_hash).as_bytes());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    f.write_all(&text).map_err(|e| io_err(path, e))
}

/// The first line of the file at `path` without its line break; `None` when the file is
/// absent or empty (Ninja writes the first line with the first entry).
fn first_line(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, e)),
    };
    let mut head = Vec::with_capacity(32);
    f.take(32)
        .read_to_end(&mut head)
        .map_err(|e| io_err(path, e))?;
    if head.is_empty() {
        return Ok(None);
    }
    let end = memchr::memchr(b'\n', &head).unwrap_or(head.len());
    head.truncate(end);
    Ok(Some(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_ninjas() {
        // What Ninja 1.11 wrote in `.ninja_log` for these commands (`tests/ninja_state.rs`
        // checks the whole round trip against the real Ninja).
        assert_eq!(command_hash(b"touch a"), 0x9544_b174_230a_39b3);
        let long = b"touch b && echo 0123456789abcdef > /dev/null";
        assert_eq!(command_hash(long), 0x1cef_2c71_b7f6_2775);
        assert_eq!(command_hash(b"touch c;rspfile=x y"), 0xe706_a836_7e57_ad9d);
    }

    #[test]
    fn versions_of_ninja() {
        assert_eq!(LogVersion::of_ninja("1.11.1\n"), Some(LogVersion::V5));
        assert_eq!(LogVersion::of_ninja("1.10.2"), Some(LogVersion::V5));
        assert_eq!(LogVersion::of_ninja("1.12.1"), Some(LogVersion::V6));
        assert_eq!(LogVersion::of_ninja("1.13.0"), None);
        assert_eq!(LogVersion::of_ninja("1.9.0"), None);
        assert_eq!(LogVersion::of_ninja("junk"), None);
    }

    #[test]
    fn a_log_of_another_version_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, "# ninja log v6\n").unwrap();
        let entry = LogEntry {
            output: b"a.o".to_vec(),
            start_ms: 0,
            end_ms: 1,
            mtime: 5,
            command_hash: 0xabc,
        };
        let err = append(&path, LogVersion::V5, std::slice::from_ref(&entry)).unwrap_err();
        assert!(matches!(err, StateError::OtherVersion { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"# ninja log v6\n");
        append(&path, LogVersion::V6, &[entry]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# ninja log v6\n0\t1\t5\ta.o\tabc\n"
        );
    }
}
