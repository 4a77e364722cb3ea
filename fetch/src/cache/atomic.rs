//! Atomic file writes: the one helper of the workspace ([`write_atomic`]) and the unique
//! temporary names it and the cache's `tmp/` inserts use.
//!
//! Decision: the cache's own inserts ([`super::LocalCache`]) do not go through
//! [`write_atomic`]. DESIGN §4 puts their temporary files in the cache's `tmp/` directory,
//! where [`super::leftover`] finds and removes what a killed writer left, and they are
//! not fsynced: every read verifies a file's hash and size, so a file torn by a power loss is
//! a miss, while an fsync per blob would slow a pull of tens of thousands of objects.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::process::Writer;

/// Attempts at a fresh temporary name before giving up (a name is taken only when a dead
/// process with the same pid left a file behind).
const NAME_ATTEMPTS: u32 = 16;

/// A name no other live writer uses:
/// `<prefix><pid>-<start time>.<counter>.<nanoseconds><suffix>`. The writer's pid and start
/// time ([`Writer`]) let the next start remove what a killed writer left
/// ([`super::leftover`]) without mistaking a reused pid for it.
pub(super) fn unique_name(prefix: &str, suffix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}{}.{}.{nanos}{suffix}",
        Writer::this().name(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The writer a [`unique_name`] names, given what follows its prefix; `None` for other names
/// (and the pid-only names of older versions).
pub(super) fn writer_of(unique: &str) -> Option<Writer> {
    let (writer, rest) = unique.split_once('.')?;
    let (counter, _) = rest.split_once('.')?;
    if counter.is_empty() || !counter.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Writer::from_name(writer)
}

/// Creates a new file with a unique name in `dir` (never an existing one), named
/// `<prefix><unique><suffix>`.
pub(super) fn create_unique(dir: &Path, prefix: &str, suffix: &str) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..NAME_ATTEMPTS {
        let path = dir.join(unique_name(prefix, suffix));
        match File::create_new(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// A path beside `dest`, on its file system, that no other live writer uses:
/// `.<name>.cn-<tag>.<unique><suffix>` (hidden, and recognisable as a leftover like the
/// temporaries of [`write_atomic_with`]). For a file another program writes and the caller
/// reads and removes, such as the compiler's dependency file on a miss: beside the object it
/// lands on the object directory's disk, never on a full or read-only cache.
pub fn temp_beside(dest: &Path, tag: &str, suffix: &str) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned());
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{}.cn-{tag}.", name.as_deref().unwrap_or("out"));
    dir.join(unique_name(&prefix, suffix))
}

/// How much an atomic write promises after a crash of the machine (a killed process never
/// leaves a partial file visible either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The data is on disk before the rename: after a power loss `dest` is the old file or the
    /// whole new one. For what nothing else can recreate (policy, config, keys, published data).
    Synced,
    /// No fsync, and `dest` is unlinked before the rename (on ext4 a rename over an existing
    /// file flushes it at once, `auto_da_alloc`, which costs more than a whole cache hit): for
    /// outputs a launcher materialises from the cache, which a build can always make again.
    Unsynced,
}

/// Replaces `dest` with `bytes` atomically and durably ([`Durability::Synced`]); see
/// [`write_atomic_with`].
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(dest, Durability::Synced, |f| f.write_all(bytes))
}

/// The one atomic write of the workspace: `fill` writes a uniquely named temporary file in
/// `dest`'s directory, which is fsynced (with [`Durability::Synced`]) and renamed over `dest`
/// (never unlinking `dest` first, unless [`Durability::Unsynced`]); the temporary file is
/// removed on every error path, so readers see the old file or the new one, never a part.
///
/// The directory must exist. It is not fsynced: after a crash `dest` may be the old file.
pub fn write_atomic_with(
    dest: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let name = dest.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", dest.display()),
        )
    })?;
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A leading dot and a marker: hidden from globs, and recognisable as a leftover.
    let prefix = format!(".{}.cn-tmp.", name.to_string_lossy());
    let (tmp, mut f) = create_unique(dir, &prefix, "")?;
    let r = fill(&mut f)
        .and_then(|()| match durability {
            Durability::Synced => f.sync_all(),
            Durability::Unsynced => Ok(()),
        })
        .and_then(|()| {
            drop(f);
            if durability == Durability::Unsynced {
                let _ = fs::remove_file(dest);
            }
            fs::rename(&tmp, dest)
        });
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn temporary_names_carry_their_writer() {
        let me = Writer::this();
        for (prefix, suffix) in [("", ""), ("", ".d"), (".a.b.o.cn-tmp.", "")] {
            let name = unique_name(prefix, suffix);
            assert_eq!(writer_of(&name[prefix.len()..]), Some(me), "{name}");
        }
        assert_eq!(
            writer_of("1234.5.678"),
            None,
            "pid only: an older version's name"
        );
        assert_eq!(writer_of("x-1.2.3"), None);
        assert_eq!(writer_of("12-34.x.5"), None);
    }

    #[test]
    fn replaces_the_destination_by_rename_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a b.o");
        write_atomic(&dest, b"first").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"first");
        // A reader holding the old file keeps reading the old bytes: it was renamed over, not
        // truncated or rewritten in place.
        let old = File::open(&dest).unwrap();
        let old_ino = fs::metadata(&dest).unwrap().ino();
        write_atomic(&dest, b"second, longer").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"second, longer");
        assert_ne!(fs::metadata(&dest).unwrap().ino(), old_ino);
        assert_eq!(old.metadata().unwrap().len(), 5);
        assert_eq!(names(dir.path()), vec!["a b.o"]);
    }

    #[test]
    fn errors_leave_no_temporary_file_and_keep_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a directory fails after the temporary file was written.
        let dest = dir.path().join("taken");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("inside"), b"x").unwrap();
        let e = write_atomic(&dest, b"bytes").unwrap_err();
        assert!(e.kind() != io::ErrorKind::NotFound, "{e}");
        assert_eq!(names(dir.path()), vec!["taken"]);
        assert_eq!(fs::read(dest.join("inside")).unwrap(), b"x");
        // No directory: nothing is created.
        let missing = dir.path().join("no/such/dir/f");
        assert_eq!(
            write_atomic(&missing, b"x").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert!(write_atomic(Path::new("/"), b"x").is_err());
    }

    #[test]
    fn concurrent_writers_of_one_file_never_show_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        let a = vec![b'a'; 256 << 10];
        let b = vec![b'b'; 256 << 10];
        write_atomic(&dest, &a).unwrap();
        std::thread::scope(|s| {
            for bytes in [&a, &b] {
                let dest = &dest;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_atomic(dest, bytes).unwrap();
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..200 {
                    let got = fs::read(&dest).unwrap();
                    assert!(got == a || got == b, "partial file of {} bytes", got.len());
                }
            });
        });
        assert_eq!(names(dir.path()), vec!["f"]);
    }
}
