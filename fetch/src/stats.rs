//! Per-build statistics: an append-only log in `<object root>/.cached-ninja/stats`.
//!
//! Each launcher appends one line per outcome with a single `write` on an `O_APPEND` file
//! (shorter than `PIPE_BUF`, so concurrent launchers never interleave within a line):
//!
//! ```text
//! <outcome> <saved µs> <spent µs> <cpu µs>
//! ```
//!
//! `outcome` is `hit`, `miss`, `uncacheable` or `error` (a cache problem that the launcher
//! survived by compiling; that compile is also logged, as a `miss`). `saved` is the recorded
//! compile time of the entry minus the time the hit took; `spent` is the launcher's own wall
//! time and `cpu` its own CPU time (user + system, without the compilers it ran). [`BuildStats::read`] sums the log; [`zero`] starts a new build's count.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// File name of the log inside `<object root>/.cached-ninja/`.
pub const STATS_FILE: &str = "stats";

/// What one launcher invocation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Served from the cache.
    Hit,
    /// Compiled (and stored when it succeeded).
    Miss,
    /// Run unchanged without the cache.
    Uncacheable,
    /// A cache problem (corrupt entry, I/O error) that fell back to a compile.
    Error,
}

impl Outcome {
    /// The word in the log.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Uncacheable => "uncacheable",
            Outcome::Error => "error",
        }
    }
}

/// Path of the log for an object root.
pub fn stats_path(obj_root: &Path) -> PathBuf {
    obj_root.join(".cached-ninja").join(STATS_FILE)
}

/// Appends one record.
pub fn record(
    obj_root: &Path,
    outcome: Outcome,
    saved_us: u64,
    spent_us: u64,
    cpu_us: u64,
) -> io::Result<()> {
    let path = stats_path(obj_root);
    let line = format!("{} {saved_us} {spent_us} {cpu_us}\n", outcome.word());
    let open = || OpenOptions::new().create(true).append(true).open(&path);
    let mut f = match open() {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path.parent().expect("has parent"))?;
            open()?
        }
        Err(e) => return Err(e),
    };
    f.write_all(line.as_bytes())
}

/// Empties the log (a new build starts counting).
pub fn zero(obj_root: &Path) -> io::Result<()> {
    match std::fs::remove_file(stats_path(obj_root)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Sums of a build's log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Hits.
    pub hits: u64,
    /// Misses (compiled).
    pub misses: u64,
    /// Run without the cache.
    pub uncacheable: u64,
    /// Cache problems survived.
    pub errors: u64,
    /// Compile time saved by hits, µs.
    pub saved_us: u64,
    /// Time spent in launchers, µs.
    pub spent_us: u64,
    /// CPU time of the launchers themselves (not the compilers), µs.
    pub cpu_us: u64,
}

impl BuildStats {
    /// Reads the log of an object root (all zero when there is none). Malformed lines are
    /// skipped.
    pub fn read(obj_root: &Path) -> io::Result<BuildStats> {
        let text = match std::fs::read_to_string(stats_path(obj_root)) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        Ok(BuildStats::parse(&text))
    }

    /// Sums log text.
    pub fn parse(text: &str) -> BuildStats {
        let mut s = BuildStats::default();
        for line in text.lines() {
            let mut f = line.split(' ');
            let (Some(w), Some(saved), Some(spent)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let (Ok(saved), Ok(spent)) = (saved.parse::<u64>(), spent.parse::<u64>()) else {
                continue;
            };
            match w {
                "hit" => s.hits += 1,
                "miss" => s.misses += 1,
                "uncacheable" => s.uncacheable += 1,
                "error" => s.errors += 1,
                _ => continue,
            }
            s.saved_us += saved;
            s.spent_us += spent;
            s.cpu_us += f.next().and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
        }
        s
    }

    /// Hits over cacheable invocations, in percent.
    pub fn hit_rate(&self) -> f64 {
        let n = self.hits + self.misses;
        if n == 0 {
            0.0
        } else {
            100.0 * self.hits as f64 / n as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_read() {
        let d = tempfile::tempdir().unwrap();
        record(d.path(), Outcome::Hit, 100, 2, 1).unwrap();
        record(d.path(), Outcome::Miss, 0, 50, 3).unwrap();
        record(d.path(), Outcome::Error, 0, 0, 0).unwrap();
        let s = BuildStats::read(d.path()).unwrap();
        assert_eq!(
            (
                s.hits,
                s.misses,
                s.uncacheable,
                s.errors,
                s.saved_us,
                s.spent_us,
                s.cpu_us
            ),
            (1, 1, 0, 1, 100, 52, 4)
        );
        assert_eq!(s.hit_rate(), 50.0);
        zero(d.path()).unwrap();
        assert_eq!(BuildStats::read(d.path()).unwrap(), BuildStats::default());
    }
}
