//! `cached-ninja cache verify`: every file of the local cache checked against what it claims,
//! and with `repair` what fails removed, so the next lookup of it is a clean miss.
//!
//! Checked: each blob's bytes against its name; each action entry's and include manifest's
//! checksum and syntax; each memo's checksum; that each entry's blobs exist with the sizes it
//! records; names that are no cache file's; temporary files whose writer is gone
//! ([`super::leftover`]). A missing debug part (`.dwo`, debug bundle) is no defect: a pull
//! leaves those in the store until the debug-info fill asks for them. The local cache holds no
//! signed data (a pull verifies signatures before it stores), so there are none to check.
//!
//! Files are read, never touched: verifying does not change which files eviction takes first.

use super::{ActionEntry, Digest, Kind, LocalCache, Manifest};
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What is wrong with one file of the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Defect {
    /// Its bytes fail their check (hash, checksum line, syntax); the reason says which.
    Corrupt(String),
    /// It could not be read.
    Unreadable(String),
    /// An action entry whose blob (an output or a captured stream) is missing or corrupt.
    BlobGone {
        /// The blob's path.
        blob: PathBuf,
    },
    /// A temporary file whose writer is gone.
    Abandoned,
    /// A name no cache file has here (not a digest, or under another digest's directory).
    Stray,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Defect::Corrupt(reason) => write!(f, "corrupt: {reason}"),
            Defect::Unreadable(e) => write!(f, "unreadable: {e}"),
            Defect::BlobGone { blob } => {
                write!(f, "entry's blob {} is missing or corrupt", blob.display())
            }
            Defect::Abandoned => write!(f, "partial temporary file of a writer that is gone"),
            Defect::Stray => write!(f, "not a cache file name"),
        }
    }
}

/// One file that failed, and whether it was removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub defect: Defect,
    /// Whether `repair` removed it.
    pub removed: bool,
}

/// What a verify run found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Blobs checked.
    pub blobs: usize,
    /// Action entries checked.
    pub actions: usize,
    /// Include manifests checked.
    pub manifests: usize,
    /// Memos checked.
    pub memos: usize,
    /// The files that failed, by path.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing was wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why a verify run could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A directory of the cache could not be listed.
    #[error("cannot list cache directory {path}: {source} (check its permissions)")]
    List {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A file that failed could not be removed.
    #[error(
        "cannot remove {path}: {source} (check the cache's permissions, or remove it by hand)"
    )]
    Remove {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// How to verify.
#[derive(Clone, Copy, Debug)]
pub struct VerifyOptions {
    /// Remove what fails.
    pub repair: bool,
    /// Files read and hashed at once.
    pub jobs: usize,
}

/// The kinds of sealed or named files verify reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Named(Kind),
    Memo,
}

/// The verdict on one file's bytes.
enum Verdict {
    Blob(Digest, u64),
    Action(ActionEntry),
    Fine,
    Vanished,
    Bad(Defect),
}

impl LocalCache {
    /// Checks every file of the cache; `progress(done, total)` follows the files read.
    pub fn verify(
        &self,
        opts: VerifyOptions,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<VerifyReport, VerifyError> {
        let mut report = VerifyReport::default();
        let mut files = Vec::new();
        for kind in [Kind::Blob, Kind::Action, Kind::Manifest] {
            self.list_named(kind, &mut files, &mut report.problems)?;
        }
        list_flat(&self.root().join("memo"), &mut files, &mut report.problems)?;

        let done = AtomicUsize::new(0);
        let verdicts = crate::parallel::map_slice(&files, opts.jobs, None, |_, (class, path)| {
            let v = check(*class, path);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, files.len());
            Ok::<_, std::convert::Infallible>(v)
        });
        let verdicts = crate::parallel::infallible(verdicts);

        let mut blobs: HashMap<Digest, u64> = HashMap::new();
        let mut entries = Vec::new();
        for ((class, path), verdict) in files.into_iter().zip(verdicts.into_iter().flatten()) {
            match class {
                Class::Named(Kind::Blob) => report.blobs += 1,
                Class::Named(Kind::Action) => report.actions += 1,
                Class::Named(Kind::Manifest) => report.manifests += 1,
                Class::Memo => report.memos += 1,
            }
            match verdict {
                Verdict::Blob(d, size) => {
                    blobs.insert(d, size);
                }
                Verdict::Action(e) => entries.push((path, e)),
                Verdict::Fine | Verdict::Vanished => {}
                Verdict::Bad(defect) => report.problems.push(problem(path, defect)),
            }
        }
        for (path, entry) in entries {
            if let Some(defect) = self.blobs_of(&entry, &blobs) {
                report.problems.push(problem(path, defect));
            }
        }
        for path in self.abandoned_temps() {
            report.problems.push(problem(path, Defect::Abandoned));
        }
        report.problems.sort_by(|a, b| a.path.cmp(&b.path));
        if opts.repair {
            for p in &mut report.problems {
                match fs::remove_file(&p.path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => {
                        return Err(VerifyError::Remove {
                            path: p.path.clone(),
                            source: e,
                        })
                    }
                    _ => p.removed = true,
                }
            }
        }
        Ok(report)
    }

    /// Lists `<kind>/<xx>/<digest>` files; misplaced names are problems.
    fn list_named(
        &self,
        kind: Kind,
        files: &mut Vec<(Class, PathBuf)>,
        problems: &mut Vec<Problem>,
    ) -> Result<(), VerifyError> {
        let top = self.root().join(kind.dir());
        for (path, is_dir) in read_dir(&top)? {
            let prefix = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let is_prefix = prefix.len() == 2 && prefix.bytes().all(|b| b.is_ascii_hexdigit());
            if !is_dir || !is_prefix {
                if !is_dir {
                    problems.push(problem(path, Defect::Stray));
                }
                continue;
            }
            for (file, is_dir) in read_dir(&path)? {
                if is_dir {
                    continue;
                }
                let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
                match Digest::from_hex(name) {
                    Some(d) if d.to_hex() == name && name.starts_with(prefix) => {
                        files.push((Class::Named(kind), file))
                    }
                    _ => problems.push(problem(file, Defect::Stray)),
                }
            }
        }
        Ok(())
    }

    /// What is wrong with an entry's blobs, given the blobs that verified.
    fn blobs_of(&self, entry: &ActionEntry, good: &HashMap<Digest, u64>) -> Option<Defect> {
        let streams = [entry.stdout, entry.stderr].into_iter().flatten();
        let outputs = entry
            .outputs
            .iter()
            .map(|o| (o.digest, o.size, o.role.is_debug()));
        for (d, size, optional) in streams.map(|(d, n)| (d, n, false)).chain(outputs) {
            let path = self.path(Kind::Blob, &d);
            // A blob may have arrived after the listing (a pull stores blobs before entries).
            let have =
                good.get(&d)
                    .copied()
                    .or_else(|| match check(Class::Named(Kind::Blob), &path) {
                        Verdict::Blob(_, n) => Some(n),
                        _ => None,
                    });
            match have {
                Some(n) if n != size => {
                    return Some(Defect::Corrupt(format!(
                        "records {size} bytes for blob {}, which has {n}",
                        path.display()
                    )))
                }
                Some(_) => {}
                None if optional && !path.exists() => {}
                None => return Some(Defect::BlobGone { blob: path }),
            }
        }
        None
    }
}

fn problem(path: PathBuf, defect: Defect) -> Problem {
    Problem {
        path,
        defect,
        removed: false,
    }
}

/// The entries of `dir` (absent: none) with whether each is a directory.
fn read_dir(dir: &Path) -> Result<Vec<(PathBuf, bool)>, VerifyError> {
    let list_err = |source| VerifyError::List {
        path: dir.to_owned(),
        source,
    };
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(list_err(e)),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(list_err)?;
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        out.push((e.path(), is_dir));
    }
    out.sort();
    Ok(out)
}

/// Lists the memos of `memo/`; names that are not digests are problems.
fn list_flat(
    dir: &Path,
    files: &mut Vec<(Class, PathBuf)>,
    problems: &mut Vec<Problem>,
) -> Result<(), VerifyError> {
    for (path, is_dir) in read_dir(dir)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match (is_dir, Digest::from_hex(name)) {
            (true, _) => {}
            (false, Some(d)) if d.to_hex() == name => files.push((Class::Memo, path)),
            (false, _) => problems.push(problem(path, Defect::Stray)),
        }
    }
    Ok(())
}

/// Reads one file and checks it as what its place says it is.
fn check(class: Class, path: &Path) -> Verdict {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Verdict::Vanished,
        Err(e) => return Verdict::Bad(Defect::Unreadable(e.to_string())),
    };
    let corrupt = |reason: String| Verdict::Bad(Defect::Corrupt(reason));
    match class {
        Class::Named(Kind::Blob) => {
            let d = Digest::of(&bytes);
            let named = path.file_name().and_then(|n| n.to_str());
            if named == Some(d.to_hex().as_str()) {
                Verdict::Blob(d, bytes.len() as u64)
            } else {
                corrupt("content does not match its name (hash)".into())
            }
        }
        Class::Named(Kind::Action) => match ActionEntry::decode(&bytes) {
            Ok(e) => Verdict::Action(e),
            Err(reason) => corrupt(reason),
        },
        Class::Named(Kind::Manifest) => match Manifest::decode(&bytes) {
            Ok(_) => Verdict::Fine,
            Err(reason) => corrupt(reason),
        },
        Class::Memo => {
            let sealed = std::str::from_utf8(&bytes)
                .ok()
                .and_then(super::seal::unseal)
                .is_some();
            if sealed {
                Verdict::Fine
            } else {
                corrupt("checksum missing or wrong (truncated or altered)".into())
            }
        }
    }
}
