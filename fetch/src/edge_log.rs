//! What each compile edge's launch did in the last build (`<objdir>/.cached-ninja/edges`), for
//! `cached-ninja explain`: one line per launch, appended with one `O_APPEND` write like the
//! stats (so concurrent launchers never interleave). The last line of an output is its last
//! launch: a build that runs no edge (nothing changed) keeps the lines of the one before.
//! [`trim`] bounds the file (each build starts with it).
//!
//! ```text
//! <outcome> <source key|-> <action key|-> <waited ms> <notes|-> <output path>
//! ```
//!
//! `outcome` is a [`crate::stats::Outcome`] word (`hit`, `miss`, `failed`, `uncacheable`,
//! `error`); the keys are 64 hex digits or `-` when the launch did not get that far; `waited`
//! is the time the launcher waited for a running pull; `notes` are comma-separated words: an
//! `uncacheable` line's [`crate::stats::Reason`], the [`crate::stats::Problem`]s the launch
//! survived (`shadowed`, `corrupt`, …), `debug-deferred`, [`WANTED`] when the launch asked a
//! running pull for its object, and for a compile that writes a `.dwo` the packager of split
//! DWARF the build ran itself ([`PACKAGER`]: `dwp-none`, `dwp-gnu`, `dwp-llvm`; none before
//! 2026-12-06). The path is last (it may hold blanks; a path with a newline is never cached,
//! so never recorded). The format is only ever extended: readers skip lines they cannot read.

use crate::cache::Digest;
use std::io;
use std::path::Path;

/// The note of a launch that asked the running pull for its object (stored: never change it).
pub const WANTED: &str = "wanted";

/// The head of the note naming the packager the build ran itself, `dwp-<name>` (stored).
pub const PACKAGER: &str = "dwp-";

/// One launch of a compile edge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeOutcome {
    /// The outcome word (`crate::stats::Outcome::word`).
    pub outcome: String,
    /// The source key, when the launch computed it.
    pub source_key: Option<Digest>,
    /// The action key the launch served or stored, if any.
    pub action_key: Option<Digest>,
    /// Time spent waiting for a running pull, in milliseconds.
    pub waited_ms: u64,
    /// Reason, problems and notes, in the order they happened.
    pub notes: Vec<String>,
    /// The primary output, as the command names it (relative to the object directory).
    pub output: String,
}

impl EdgeOutcome {
    /// The packager the launch's build ran itself, by its name (`none`, `gnu`, `llvm`), if
    /// the record says.
    pub fn packager(&self) -> Option<&str> {
        self.notes.iter().find_map(|n| n.strip_prefix(PACKAGER))
    }

    /// The line this record is stored as (with its newline).
    pub fn line(&self) -> String {
        let key = |k: &Option<Digest>| k.map_or("-".to_string(), |d| d.to_hex());
        let notes = if self.notes.is_empty() {
            "-".to_string()
        } else {
            self.notes.join(",")
        };
        format!(
            "{} {} {} {} {notes} {}\n",
            self.outcome,
            key(&self.source_key),
            key(&self.action_key),
            self.waited_ms,
            self.output
        )
    }

    /// Parses one line (without its newline); `None` when it is not a record.
    pub fn parse(line: &str) -> Option<EdgeOutcome> {
        let mut f = line.splitn(6, ' ');
        let outcome = f.next()?.to_string();
        let key = |w: &str| match w {
            "-" => Some(None),
            hex => Digest::from_hex(hex).map(Some),
        };
        let source_key = key(f.next()?)?;
        let action_key = key(f.next()?)?;
        let waited_ms = f.next()?.parse().ok()?;
        let notes = match f.next()? {
            "-" => Vec::new(),
            n => n.split(',').map(str::to_string).collect(),
        };
        let output = f.next().filter(|o| !o.is_empty())?.to_string();
        Some(EdgeOutcome {
            outcome,
            source_key,
            action_key,
            waited_ms,
            notes,
            output,
        })
    }
}

/// Appends one record to the object root's log.
pub fn append(obj_root: &Path, record: &EdgeOutcome) -> io::Result<()> {
    let path = crate::objdir::ObjDir::new(obj_root).edge_log_file();
    crate::log_file::append(&path, &record.line())
}

/// The last record of `output` (as the command names it), if any.
pub fn last(obj_root: &Path, output: &str) -> io::Result<Option<EdgeOutcome>> {
    let text = read(obj_root)?;
    Ok(text
        .lines()
        .rev()
        .filter_map(EdgeOutcome::parse)
        .find(|r| r.output == output))
}

/// The last record of each output, in the order of those records.
pub fn last_of_each(obj_root: &Path) -> io::Result<Vec<EdgeOutcome>> {
    let text = read(obj_root)?;
    Ok(keep_last(
        text.lines().filter_map(EdgeOutcome::parse).collect(),
    ))
}

/// The log's text (empty when there is none).
fn read(obj_root: &Path) -> io::Result<String> {
    let path = crate::objdir::ObjDir::new(obj_root).edge_log_file();
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        read => read,
    }
}

/// The last of `records` of each output, in their order.
fn keep_last(records: Vec<EdgeOutcome>) -> Vec<EdgeOutcome> {
    let mut last = std::collections::HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        last.insert(r.output.clone(), i);
    }
    let kept = records.into_iter().enumerate();
    kept.filter(|(i, r)| last[&r.output] == *i)
        .map(|(_, r)| r)
        .collect()
}

/// Keeps the log under `max_bytes`: when larger, only each output's last line is kept
/// (replaced atomically; a launcher appending at that moment may lose its line).
pub fn trim(obj_root: &Path, max_bytes: u64) -> io::Result<()> {
    let path = crate::objdir::ObjDir::new(obj_root).edge_log_file();
    let text = match std::fs::metadata(&path) {
        Ok(md) if md.len() > max_bytes => std::fs::read_to_string(&path)?,
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let records = text.lines().filter_map(EdgeOutcome::parse).collect();
    let kept: String = keep_last(records).iter().map(EdgeOutcome::line).collect();
    crate::cache::write_atomic(&path, kept.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objdir::ObjDir as ObjDirPath;

    #[test]
    fn round_trip_and_last_line_wins() {
        let d = tempfile::tempdir().unwrap();
        let mut r = EdgeOutcome {
            outcome: "miss".into(),
            source_key: Some(Digest::of(b"s")),
            action_key: None,
            waited_ms: 12,
            notes: vec!["shadowed".into()],
            output: "dir with blank/a.o".into(),
        };
        assert_eq!(EdgeOutcome::parse(r.line().trim_end()), Some(r.clone()));
        append(d.path(), &r).unwrap();
        r.outcome = "hit".into();
        r.notes.clear();
        append(d.path(), &r).unwrap();
        let other = EdgeOutcome {
            outcome: "uncacheable".into(),
            notes: vec!["date-time".into()],
            output: "b.o".into(),
            ..Default::default()
        };
        append(d.path(), &other).unwrap();
        assert_eq!(
            last(d.path(), "dir with blank/a.o").unwrap(),
            Some(r.clone())
        );
        assert_eq!(last_of_each(d.path()).unwrap(), [r.clone(), other.clone()]);
        assert_eq!(last(d.path(), "b.o").unwrap(), Some(other));
        assert_eq!(last(d.path(), "c.o").unwrap(), None);
        // A torn or foreign line is skipped.
        assert_eq!(EdgeOutcome::parse("hit zz - 0 - a.o"), None);
        assert_eq!(EdgeOutcome::parse("hit - - 0 -"), None);
        trim(d.path(), 10).unwrap();
        let kept = std::fs::read_to_string(ObjDirPath::new(d.path()).edge_log_file()).unwrap();
        assert_eq!(kept.lines().count(), 2, "{kept}");
        assert_eq!(last(d.path(), "dir with blank/a.o").unwrap(), Some(r));
    }

    #[test]
    fn the_packager_is_read_from_its_note() {
        let mut r = EdgeOutcome {
            outcome: "hit".into(),
            notes: vec!["debug-deferred".into()],
            output: "a.o".into(),
            ..Default::default()
        };
        assert_eq!(r.packager(), None);
        r.notes.push(format!("{PACKAGER}gnu"));
        let read = EdgeOutcome::parse(r.line().trim_end()).unwrap();
        assert_eq!(read.packager(), Some("gnu"));
        assert_eq!(last_of_each(Path::new("/nonexistent")).unwrap(), []);
    }
}
