//! The local content-addressed cache (DESIGN §4).
//!
//! Layout under the root (`$CACHED_NINJA_CACHE_DIR`, else `$XDG_CACHE_HOME/cached-ninja`, else
//! `~/.cache/cached-ninja`):
//!
//! | path | what |
//! |---|---|
//! | `cas/ab/<hash>` | blobs, uncompressed, named by the BLAKE3 of their bytes |
//! | `ac/ab/<action key>` | action entries ([`ActionEntry`]) |
//! | `mf/ab/<source key>` | include manifests ([`Manifest`]): the include lists seen for a source key |
//! | `memo/<hash>` | small memos (compiler identities by path, size, mtime, inode) |
//! | `locks/<hash>` | lock files: launchers compiling the same output |
//! | `claims` | one locked byte per blob being downloaded ([`DownloadClaim`]) |
//! | `tmp/` | files being written; renamed into place when complete |
//! | `tmp/partial/<hash>.zst` | the compressed bytes of a blob download cut short, for a range request ([`DownloadClaim`]) |
//!
//! **Atomicity.** Every file is written in `tmp/` and renamed into place (not through
//! [`write_atomic`], the helper for files outside the cache: see `cache/atomic.rs`), so a
//! reader sees a whole file or none; a writer killed mid-insert leaves only a `tmp/` file, named
//! with the writer's pid and start time, which the next `cached-ninja build` (or
//! [`LocalCache::verify`], [`LocalCache::gc`]) removes once the writer is gone. Two writers of one name write equal content (a
//! blob) or equally valid content (an entry), so the last rename winning is harmless.
//!
//! **Verification.** A blob is read whole (mapped when large: [`Blob`]) and checked against the
//! size its entry recorded and its check value (`check`: a hash of its bytes and name kept in
//! an extended attribute, set when it was written, after its name was computed or verified),
//! or, where that is missing or does not match, against its name; entries, manifests and memos
//! end with a checksum line, hashed again only when their check value is missing or does not
//! match. Anything that fails is reported as
//! [`CacheError::Corrupt`]: the caller removes it ([`LocalCache::remove`]) and compiles.
//! [`LocalCache::verify`] checks the whole cache at once (`cached-ninja cache verify`).
//!
//! **Recency.** Reading an entry or blob sets its mtime to now when it is older than
//! [`TOUCH_AFTER`]; [`LocalCache::gc`] evicts the oldest files first (LRU by mtime).

mod atomic;
mod blob;
mod check;
mod download;
mod entry;
mod gc;
mod leftover;
mod manifest;
mod seal;
mod verify;
mod whole;

pub use atomic::{temp_beside, write_atomic, write_atomic_with, Durability};
pub use blob::{Blob, MAP_AT};
/// A BLAKE3 digest: a blob's name, or a key computed elsewhere (the cache does not care how).
pub use cn_digest::Digest;
pub use download::{DownloadClaim, MAX_PARTIAL_AGE, MAX_PARTIAL_BYTES, MIN_PARTIAL_SIZE};
pub use entry::{ActionEntry, Output, Role};
pub use gc::{CacheSummary, GcReport};
pub use leftover::{abandoned_beside, remove_abandoned_beside, TMP_MAX_AGE};
pub use manifest::{IncludeFile, IncludeSet, Manifest, StatStamp, MAX_INCLUDE_SETS, SETTLE};
pub use seal::lines;
pub use verify::{Defect, Problem, VerifyError, VerifyOptions, VerifyReport};
pub use whole::read_whole;

use crate::flock::Held;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The bytes a memo is read in at first: most are smaller (a header's facts, a lookup memo).
const MEMO_GUESS: u64 = 4096;

/// How stale an mtime may get before a read refreshes it (keeps hits cheap).
pub const TOUCH_AFTER: Duration = Duration::from_secs(600);
/// Default size cap when neither policy nor `CACHED_NINJA_CACHE_SIZE` sets one: 10 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 10 << 30;

/// What can go wrong reading the cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A file exists but fails verification (wrong hash, truncated, unparsable).
    #[error("corrupt cache file {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// A blob an entry names is not there (evicted): a plain miss, not worth a warning.
    #[error("cache blob {path} is missing")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file system failed.
    #[error("cache I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl CacheError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            CacheError::Corrupt { path, .. }
            | CacheError::Missing { path }
            | CacheError::Io { path, .. } => path,
        }
    }
}

/// Kinds of named files in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `cas/`: blobs.
    Blob,
    /// `ac/`: action entries.
    Action,
    /// `mf/`: include manifests.
    Manifest,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Blob => "cas",
            Kind::Action => "ac",
            Kind::Manifest => "mf",
        }
    }
}

/// A local cache rooted at one directory. Cheap to create: no I/O until used.
#[derive(Clone, Debug)]
pub struct LocalCache {
    root: PathBuf,
    /// Test hook: sleep this long between writing a temporary file and renaming it.
    pub stall_insert: Option<Duration>,
}

impl LocalCache {
    /// A cache at `root`.
    pub fn new(root: impl Into<PathBuf>) -> LocalCache {
        LocalCache {
            root: root.into(),
            stall_insert: None,
        }
    }

    /// The default root: `$CACHED_NINJA_CACHE_DIR`, `$XDG_CACHE_HOME/cached-ninja` or
    /// `~/.cache/cached-ninja`.
    pub fn default_root() -> PathBuf {
        if let Some(d) = std::env::var_os("CACHED_NINJA_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(d).join("cached-ninja");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
        PathBuf::from(home).join(".cache/cached-ninja")
    }

    /// The size cap from `CACHED_NINJA_CACHE_SIZE` (`500M`, `10G`, bytes), else the default.
    pub fn max_size_from_env() -> u64 {
        std::env::var("CACHED_NINJA_CACHE_SIZE")
            .ok()
            .and_then(|s| parse_size(&s))
            .unwrap_or(DEFAULT_MAX_SIZE)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of a named file.
    pub fn path(&self, kind: Kind, name: &Digest) -> PathBuf {
        let hex = name.to_hex();
        let mut p = self.root.join(kind.dir());
        p.push(&hex[..2]);
        p.push(&hex);
        p
    }

    /// Writes `bytes` to a fresh temporary file in `tmp/` and returns its path.
    fn write_tmp(&self, bytes: &[u8], name: &Digest) -> io::Result<PathBuf> {
        let tmp = self.root.join("tmp");
        let (path, mut f) = match atomic::create_unique(&tmp, "", "") {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&tmp)?;
                atomic::create_unique(&tmp, "", "")?
            }
            r => r?,
        };
        if let Err(e) = f.write_all(bytes) {
            drop(f);
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        check::set(&f, bytes, name);
        Ok(path)
    }

    /// Writes `bytes` atomically at `dest`, the file named by `name`: a temporary file in
    /// `tmp/`, with its check value (`check`), then a rename.
    fn put_file(&self, dest: &Path, bytes: &[u8], name: &Digest) -> io::Result<()> {
        let tmp = self.write_tmp(bytes, name)?;
        if let Some(d) = self.stall_insert {
            std::thread::sleep(d);
        }
        let r = match fs::rename(&tmp, dest) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dest.parent().expect("cache paths have a parent"))?;
                fs::rename(&tmp, dest)
            }
            r => r,
        };
        if r.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        r
    }

    /// Reads a whole named sealed file, refreshing its mtime when stale, and whether its check
    /// value matched its bytes (`check`: then its checksum line need not be checked).
    /// `Ok(None)` if absent.
    fn read_sealed(
        &self,
        path: &Path,
        name: &Digest,
    ) -> Result<Option<(Vec<u8>, bool)>, CacheError> {
        self.open_file(path, |f, len| {
            let bytes = read_whole(f, len)?;
            let checked = check::matches(f, &bytes, name);
            Ok((bytes, checked))
        })
    }

    /// Opens a named file, refreshes its mtime when stale and gives it, with its size, to
    /// `read`. `Ok(None)` if absent.
    fn open_file<T>(
        &self,
        path: &Path,
        read: impl FnOnce(&mut File, u64) -> io::Result<T>,
    ) -> Result<Option<T>, CacheError> {
        let io_err = |source| CacheError::Io {
            path: path.to_owned(),
            source,
        };
        let mut f = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(e)),
        };
        let md = f.metadata().map_err(io_err)?;
        let got = read(&mut f, md.len()).map_err(io_err)?;
        let now = SystemTime::now();
        if md
            .modified()
            .is_ok_and(|m| now.duration_since(m).is_ok_and(|age| age > TOUCH_AFTER))
        {
            let _ = f.set_modified(now);
        }
        Ok(Some(got))
    }

    /// Stores a blob (no-op when present) and returns its digest.
    pub fn put_blob(&self, bytes: &[u8]) -> io::Result<Digest> {
        let d = Digest::of(bytes);
        let dest = self.path(Kind::Blob, &d);
        if !dest.exists() {
            self.put_file(&dest, bytes, &d)?;
        }
        Ok(d)
    }

    /// Stores `bytes` as blob `d`, which the caller has just verified they hash to (a
    /// download: `store::blob::decode`), without hashing them again or looking first: under
    /// the blob's download claim nobody else downloads it, and an insert racing a launcher's
    /// own store of it puts the same bytes in place atomically.
    pub(crate) fn put_verified_blob(&self, d: &Digest, bytes: &[u8]) -> io::Result<()> {
        self.put_file(&self.path(Kind::Blob, d), bytes, d)
    }

    /// Reads and verifies a blob of known digest and size.
    pub fn get_blob(&self, d: &Digest, size: u64) -> Result<Blob, CacheError> {
        let path = self.path(Kind::Blob, d);
        // Its check value when it matches (`check`), else its name; the right bytes with no
        // value or a stale one get it, on the file just read (a file of this name has these
        // bytes, whoever wrote it last).
        let read = |f: &mut File, len| {
            let bytes = Blob::of_file(f, len)?;
            let sound = bytes.len() as u64 == size
                && (check::matches(f, &bytes, d) || {
                    let named = Digest::of(&bytes) == *d;
                    if named {
                        check::set(f, &bytes, d);
                    }
                    named
                });
            Ok((bytes, sound))
        };
        let Some((bytes, sound)) = self.open_file(&path, read)? else {
            return Err(CacheError::Missing { path });
        };
        if sound {
            return Ok(bytes);
        }
        let reason = match bytes.len() as u64 {
            n if n != size => format!("size {n} instead of {size}"),
            _ => "content does not match its hash".into(),
        };
        Err(CacheError::Corrupt { path, reason })
    }

    /// Reads an action entry; `Ok(None)` if absent.
    pub fn get_action(&self, key: &Digest) -> Result<Option<ActionEntry>, CacheError> {
        let path = self.path(Kind::Action, key);
        match self.read_sealed(&path, key)? {
            None => Ok(None),
            Some((b, checked)) => ActionEntry::decode_checked(&b, checked)
                .map(Some)
                .map_err(|reason| CacheError::Corrupt { path, reason }),
        }
    }

    /// Stores an action entry atomically.
    pub fn put_action(&self, key: &Digest, entry: &ActionEntry) -> io::Result<()> {
        self.put_file(
            &self.path(Kind::Action, key),
            entry.encode().as_bytes(),
            key,
        )
    }

    /// Reads the include manifest of a source key; `Ok(None)` if absent.
    pub fn get_manifest(&self, source_key: &Digest) -> Result<Option<Manifest>, CacheError> {
        let path = self.path(Kind::Manifest, source_key);
        match self.read_sealed(&path, source_key)? {
            None => Ok(None),
            Some((b, checked)) => Manifest::decode_checked(&b, checked)
                .map(Some)
                .map_err(|reason| CacheError::Corrupt { path, reason }),
        }
    }

    /// Stores the include manifest of a source key atomically.
    pub fn put_manifest(&self, source_key: &Digest, m: &Manifest) -> io::Result<()> {
        self.put_file(
            &self.path(Kind::Manifest, source_key),
            m.encode().as_bytes(),
            source_key,
        )
    }

    /// Removes a named file (after it failed verification). Absent is fine.
    pub fn remove(&self, kind: Kind, name: &Digest) {
        let _ = fs::remove_file(self.path(kind, name));
    }

    /// Removes the file a [`CacheError`] is about, if it is inside this cache.
    pub fn remove_path(&self, path: &Path) {
        if path.starts_with(&self.root) {
            let _ = fs::remove_file(path);
        }
    }

    /// A small memo (text) stored under a digest of its inputs; `None` if absent or unreadable.
    pub fn memo_get(&self, key: &Digest) -> Option<String> {
        // Memos are small: a guessed size spares the `statx` that `fs::read` spends on it.
        let mut f = File::open(self.memo_path(key)).ok()?;
        let bytes = read_whole(&mut f, MEMO_GUESS).ok()?;
        let checked = check::matches(&f, &bytes, key);
        let text = String::from_utf8(bytes).ok()?;
        seal::unseal_checked(&text, checked)
            .and_then(|b| b.strip_suffix('\n'))
            .map(str::to_string)
    }

    /// Stores a memo atomically.
    pub fn memo_put(&self, key: &Digest, value: &str) -> io::Result<()> {
        let dest = self.memo_path(key);
        // One copy, of its final size (a candidates' record is tens of KB).
        let mut body = String::with_capacity(value.len() + 1 + seal::LINE_LEN);
        body.push_str(value);
        body.push('\n');
        self.put_file(&dest, seal::seal(body).as_bytes(), key)
    }

    /// Removes the memo under `key`, if there is one.
    pub fn memo_remove(&self, key: &Digest) {
        let _ = fs::remove_file(self.memo_path(key));
    }

    /// Where the memo under `key` is.
    pub(crate) fn memo_path(&self, key: &Digest) -> PathBuf {
        self.root.join("memo").join(key.to_hex())
    }

    /// The memo under `key`, else what `make` gives, stored under it: made by one writer at a
    /// time, so launchers and pull threads that all start without it (a fresh cache) wait for
    /// the first instead of each running the same probe. `None` when `make` gives nothing.
    pub fn memo_or_make(
        &self,
        key: &Digest,
        make: impl FnOnce() -> Option<String>,
    ) -> Option<String> {
        if let Some(v) = self.memo_get(key) {
            return Some(v);
        }
        // A cache where no lock can be taken (read-only): each launch makes its own.
        let _lock = self.lock(key).ok();
        if let Some(v) = self.memo_get(key) {
            return Some(v);
        }
        let v = make()?;
        let _ = self.memo_put(key, &v);
        Some(v)
    }

    /// Takes an exclusive lock named by `name` (blocks until free); released on drop.
    pub fn lock(&self, name: &Digest) -> io::Result<Held> {
        let held = crate::flock::lock(self.lock_file(name)?, crate::flock::Wait::Block)?;
        Ok(held.expect("a blocking lock is taken or fails"))
    }

    /// Takes the lock [`lock`](Self::lock) takes if it is free now; `Ok(None)` if another
    /// holder (this process or another) has it.
    pub fn try_lock(&self, name: &Digest) -> io::Result<Option<Held>> {
        held_if_free(self.lock_file(name)?)
    }

    /// Opens (creating) the lock file `locks/<name>`.
    fn lock_file(&self, name: &Digest) -> io::Result<File> {
        let path = self.lock_path(name);
        let dir = path.parent().expect("locks/");
        let open = || open_lock(&path);
        match open() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir)?;
                open()
            }
            r => r,
        }
    }

    /// The lock file of `name`: `locks/<name>`.
    fn lock_path(&self, name: &Digest) -> PathBuf {
        self.root.join("locks").join(name.to_hex())
    }

    /// A temporary path inside `tmp/` (same file system as the cache) that nothing else uses.
    pub fn tmp_path(&self, suffix: &str) -> io::Result<PathBuf> {
        let tmp = self.root.join("tmp");
        fs::create_dir_all(&tmp)?;
        Ok(tmp.join(atomic::unique_name("", suffix)))
    }
}

/// Opens (creating, never truncating) the lock file at `path`, whose directory exists.
fn open_lock(path: &Path) -> io::Result<File> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// `file` with its exclusive lock taken, if that lock is free now (`Ok(None)`: another holder,
/// this process or another, has it).
fn held_if_free(file: File) -> io::Result<Option<Held>> {
    crate::flock::lock(file, crate::flock::Wait::No)
}

/// Whether a failed write says the cache has no room for new entries for a while: a full disk
/// or quota, a read-only file system. (Permission errors can be one shard directory's, such
/// as one a `sudo` build made: those fail their own entry only.)
pub fn no_room(e: &io::Error) -> bool {
    let room = [libc::ENOSPC, libc::EDQUOT, libc::EROFS];
    e.raw_os_error().is_some_and(|n| room.contains(&n))
}

/// Parses a size such as `500M`, `10G`, `1.5G`, `123456` (binary units).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1u64 << 10),
        'm' | 'M' => (&s[..s.len() - 1], 1 << 20),
        'g' | 'G' => (&s[..s.len() - 1], 1 << 30),
        't' | 'T' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v >= 0.0).then_some((v * mult as f64) as u64)
}
