//! Append-only log files of an object root (`.cached-ninja/stats`, `.cached-ninja/actions`):
//! one `O_APPEND` write per line, so concurrent launchers never interleave.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// Appends `line` (with its newline) to `path`, creating the file and its directory.
pub(crate) fn append(path: &Path, line: &str) -> io::Result<()> {
    let open = || OpenOptions::new().create(true).append(true).open(path);
    let mut f = match open() {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path.parent().expect("a log file has a parent"))?;
            open()?
        }
        Err(e) => return Err(e),
    };
    f.write_all(line.as_bytes())
}

/// Removes `path`; absent is fine.
pub(crate) fn clear(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
