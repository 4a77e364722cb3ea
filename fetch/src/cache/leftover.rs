//! Temporary files a killed writer left behind. Every temporary name carries its writer's pid
//! and start time ([`super::atomic`]), so a file whose writer is gone is removed at the next
//! start (`cached-ninja build`, `cached-ninja cache verify`, [`LocalCache::gc`]) instead of
//! after an hour; a name without a writer (an older version's) still goes by age.

use super::atomic::writer_of;
use super::LocalCache;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Age after which a temporary file without a writer in its name is certainly abandoned.
pub const TMP_MAX_AGE: Duration = Duration::from_secs(3600);

/// Whether a temporary file is abandoned: its writer is gone, or, without a writer in its
/// name (`unique`: the part after the name's prefix), it is older than [`TMP_MAX_AGE`].
fn abandoned(unique: &str, path: &Path) -> bool {
    match writer_of(unique) {
        Some(w) => w.is_gone(),
        None => fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|m| {
                SystemTime::now()
                    .duration_since(m)
                    .is_ok_and(|age| age > TMP_MAX_AGE)
            }),
    }
}

/// The part after the prefix of a temporary made beside its destination
/// (`.<name>.cn-<tag>.<unique><suffix>`); `None` for other names.
fn unique_beside(name: &str) -> Option<&str> {
    if !name.starts_with('.') {
        return None;
    }
    let after = &name[name.rfind(".cn-")? + 4..];
    Some(after.split_once('.')?.1)
}

/// Abandoned files in `dir` whose names `unique` recognises as temporaries.
fn abandoned_in(dir: &Path, unique: fn(&str) -> Option<&str>) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = rd
        .flatten()
        .filter_map(|e| {
            // The name first: a launcher's miss lists its output's directory, mostly objects.
            let name = e.file_name();
            let unique = unique(name.to_str()?)?;
            let path = e.path();
            (e.file_type().ok()?.is_file() && abandoned(unique, &path)).then_some(path)
        })
        .collect();
    found.sort();
    found
}

fn remove_all(paths: Vec<PathBuf>) -> usize {
    paths
        .into_iter()
        .filter(|p| fs::remove_file(p).is_ok())
        .count()
}

/// Abandoned temporaries of [`super::write_atomic_with`] and [`super::temp_beside`] in `dir`
/// (not below it), such as the object directory's `.cached-ninja/`.
pub fn abandoned_beside(dir: &Path) -> Vec<PathBuf> {
    abandoned_in(dir, unique_beside)
}

/// Removes [`abandoned_beside`] files; returns how many went.
pub fn remove_abandoned_beside(dir: &Path) -> usize {
    remove_all(abandoned_beside(dir))
}

impl LocalCache {
    /// Abandoned files in the cache's `tmp/`.
    pub fn abandoned_temps(&self) -> Vec<PathBuf> {
        abandoned_in(&self.root().join("tmp"), |name| Some(name))
    }

    /// Removes the cache's [`LocalCache::abandoned_temps`]; returns how many went.
    pub fn remove_abandoned_temps(&self) -> usize {
        remove_all(self.abandoned_temps())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Writer;

    #[test]
    fn only_temporaries_of_gone_writers_or_old_unnamed_ones_are_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::new(dir.path());
        let tmp = dir.path().join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        let me = Writer::this();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let live = format!("{}-{}.0.1", me.pid, me.start);
        let gone = format!("{dead}-{}.0.1.d", me.start);
        let reused = format!("{}-{}.0.1", me.pid, me.start + 7);
        let unnamed_new = "123.0.1".to_string();
        let unnamed_old = "124.0.1".to_string();
        for n in [&live, &gone, &reused, &unnamed_new, &unnamed_old] {
            fs::write(tmp.join(n), b"part").unwrap();
        }
        let f = fs::File::options()
            .write(true)
            .open(tmp.join(&unnamed_old))
            .unwrap();
        f.set_modified(SystemTime::now() - 2 * TMP_MAX_AGE).unwrap();
        let want: Vec<PathBuf> = vec![tmp.join(&gone), tmp.join(&reused), tmp.join(&unnamed_old)];
        let mut want = want;
        want.sort();
        assert_eq!(cache.abandoned_temps(), want);
        assert_eq!(cache.remove_abandoned_temps(), 3);
        assert!(tmp.join(&live).exists() && tmp.join(&unnamed_new).exists());

        let beside = dir.path().join("obj");
        fs::create_dir_all(&beside).unwrap();
        let names = [
            format!(".a.b.o.cn-tmp.{dead}-{}.3.4", me.start),
            format!(".a.o.cn-dep.{}-{}.3.4.d", me.pid, me.start),
            format!("a.o.cn-tmp.{dead}-{}.3.4", me.start),
            format!(".plain.{dead}-{}.3.4", me.start),
        ];
        for n in &names {
            fs::write(beside.join(n), b"x").unwrap();
        }
        assert_eq!(abandoned_beside(&beside), vec![beside.join(&names[0])]);
        assert_eq!(remove_abandoned_beside(&beside), 1);
    }
}
