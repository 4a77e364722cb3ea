//! What the lookup rule asks of the file system (`super::candidates`): directory listings,
//! each with the directory's stamp from before the read, and the deepest existing directory on
//! the way to each candidate (its holder).

use super::directives::HashSet;
use std::ffi::OsString;
use std::path::Path;

/// A map keyed by paths (the fast hasher of [`HashSet`]).
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// A directory's identity and last change: device, inode, mtime and ctime in ns (the device
/// tells apart snapshots of one file system, which keep inode numbers).
pub(super) type DirStamp = (u64, u64, i64, i64);

/// Appends `stamp` as the memos write it: `<dev> <ino> <mtime> <ctime>`.
pub(super) fn push_stamp(out: &mut String, (dev, ino, m, c): DirStamp) {
    let mut n = itoa::Buffer::new();
    out.push_str(n.format(dev));
    out.push(' ');
    out.push_str(n.format(ino));
    out.push(' ');
    out.push_str(n.format(m));
    out.push(' ');
    out.push_str(n.format(c));
}

/// A directory's stamp and the directory (`<dev> <ino> <mtime ns> <ctime ns> <dir>`), as the
/// lookup memo's `d` lines and the candidates' record's `H` lines write them.
pub(super) fn parse_stamped(text: &str) -> Option<(DirStamp, &str)> {
    let mut f = text.splitn(5, ' ');
    let stamp = (
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
    );
    Some((stamp, f.next()?))
}

/// The stamp of directory `dir` now.
pub(super) fn dir_stamp(dir: &str) -> Option<DirStamp> {
    Some(stamp_of(&std::fs::metadata(dir).ok()?))
}

fn stamp_of(md: &std::fs::Metadata) -> DirStamp {
    use std::os::unix::fs::MetadataExt;
    (
        md.dev(),
        md.ino(),
        md.mtime() * 1_000_000_000 + md.mtime_nsec(),
        md.ctime() * 1_000_000_000 + md.ctime_nsec(),
    )
}

/// The names in one directory, read once.
pub(super) struct Listing {
    /// The names.
    pub(super) names: HashSet<OsString>,
    /// The directory's stamp taken before the names were read, when it was settled then
    /// (`StatStamp::is_settled`, the include manifests' rule): a file created after the read
    /// changes a stamp that old, so a memo may trust it.
    pub(super) settled: Option<DirStamp>,
}

/// The listings of a launch (or of the pull's checks), each directory read once.
pub(super) type Listings = HashMap<String, Option<Listing>>;

/// The names in directory `dir`, read on the first ask and kept in `listings`.
pub(super) fn listed<'l>(listings: &'l mut Listings, dir: &str) -> Option<&'l HashSet<OsString>> {
    listings
        .entry_ref(dir)
        .or_insert_with(|| listing(dir))
        .as_ref()
        .map(|l| &l.names)
}

/// What `holder`'s listing says of candidate `c` below it. A holder that cannot be listed
/// (searchable but not readable: the compiler still opens files in it) has the candidate
/// itself looked at, and no memo rests on it.
pub(super) fn look_in(listings: &mut Listings, holder: &str, c: &str) -> Below {
    let Some(rel) = rel_below(holder, c) else {
        return Below::Absent;
    };
    match listed(listings, holder) {
        Some(names) => look_below(names, holder, rel),
        None => look_past_listing(holder, rel),
    }
}

/// `path` relative to directory `dir` when it lies below it (`dir` may be `/`).
pub(super) fn rel_below<'p>(dir: &str, path: &'p str) -> Option<&'p str> {
    let rel = path.strip_prefix(dir)?;
    let rel = if dir.ends_with('/') {
        rel
    } else {
        rel.strip_prefix('/')?
    };
    (!rel.is_empty()).then_some(rel)
}

/// The first component of a relative path: what a listing of its directory names.
pub(super) fn first_component(rel: &str) -> &str {
    // A byte loop: names are short, and `split`'s searcher cost more than the lookup.
    match rel.bytes().position(|b| b == b'/') {
        Some(i) => &rel[..i],
        None => rel,
    }
}

/// What a directory's listing says of a path below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Below {
    /// Its first component is not listed, or it is a directory right in the holder: absent
    /// (to the preprocessor), and the holder's stamp changes when it appears.
    Absent,
    /// It exists.
    There,
    /// Its first component is listed but it is not there (a file or dangling link on the
    /// way or at its place, a directory deeper than the holder, or one at its place deeper):
    /// absent now, but it could appear without changing the holder's stamp, so no memo may
    /// rest on that stamp.
    WayOnly,
}

/// The stamp of a directory whose metadata is `md`, when it is settled at `now`
/// (`StatStamp::is_settled`: a name created in the same tick might not change a younger one).
pub(super) fn settled_stamp(
    md: &std::fs::Metadata,
    now: std::time::SystemTime,
) -> Option<DirStamp> {
    fetch::cache::StatStamp::of(md)
        .is_settled(now)
        .then(|| stamp_of(md))
}

/// The listing of directory `dir`, `None` if it cannot be listed, wholly (a name missed would
/// be taken as absent).
pub(super) fn listing(dir: &str) -> Option<Listing> {
    let md = std::fs::metadata(dir).ok()?;
    let settled = settled_stamp(&md, std::time::SystemTime::now());
    let rd = std::fs::read_dir(dir).ok()?;
    let names: Vec<OsString> = rd
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .ok()?;
    // Sized once, not grown (and rehashed) name by name.
    let mut set = HashSet::with_capacity(names.len());
    set.extend(names);
    Some(Listing {
        names: set,
        settled,
    })
}

/// What the listing `names` of directory `holder` says of `rel` below it: its first component
/// is listed, then the path is looked at. The preprocessor passes over a directory and a
/// dangling link named like the header (a review found both gave stale hits once replaced
/// or completed, 2026-12-05): a directory right in `holder` counts as absent (replacing it
/// changes `holder`'s stamp), a deeper one, a link to one and a dangling link as
/// [`Below::WayOnly`].
pub(super) fn look_below(names: &HashSet<OsString>, holder: &str, rel: &str) -> Below {
    if !names.contains(std::ffi::OsStr::new(first_component(rel))) {
        return Below::Absent;
    }
    look_past_listing(holder, rel)
}

/// What the file system says of `rel` below `holder`, whose listing names `rel`'s first
/// component ([`look_below`]'s second step).
pub(super) fn look_past_listing(holder: &str, rel: &str) -> Below {
    let first = first_component(rel);
    let path = [holder, "/", rel].concat();
    // (A link to a directory elsewhere can become a file without the holder changing.)
    let right_here = || {
        first.len() == rel.len()
            && std::fs::symlink_metadata(&path).is_ok_and(|m| !m.file_type().is_symlink())
    };
    match std::fs::metadata(&path) {
        Ok(md) if md.is_dir() && right_here() => Below::Absent,
        Ok(md) if md.is_dir() => Below::WayOnly,
        Ok(_) => Below::There,
        Err(_) => Below::WayOnly,
    }
}

/// The deepest existing directory on the way to each candidate's directory, each directory
/// asked of the file system once (hundreds of candidates share a few tens of directories).
#[derive(Default)]
pub(super) struct Holders {
    of_dir: HashMap<String, String>,
    is_dir: HashMap<String, bool>,
}

impl Holders {
    /// The deepest existing directory among `dir` and its ancestors (`/` at worst); a
    /// directory whose parent this launch has listed (`listings`) without naming it, or whose
    /// parent is absent, is known absent without a `stat`.
    pub(super) fn of(&mut self, dir: &str, listings: &Listings) -> &str {
        let is_dir = &mut self.is_dir;
        self.of_dir.entry_ref(dir).or_insert_with(|| {
            let mut best = dir;
            while best != "/" && !is_dir_memo(is_dir, best, listings) {
                best = match memchr::memrchr(b'/', best.as_bytes()) {
                    Some(0) | None => "/",
                    Some(i) => &best[..i],
                };
            }
            best.to_string()
        })
    }
}

/// Whether `path` is a directory, asked once and kept in `known`.
fn is_dir_memo(known: &mut HashMap<String, bool>, path: &str, listings: &Listings) -> bool {
    if let Some(&known) = known.get(path) {
        return known;
    }
    // Absent without a `stat` when the parent's listing does not name it, or (the parent
    // not listed) when the parent is no directory.
    let possible = match memchr::memrchr(b'/', path.as_bytes()) {
        Some(i) if i > 0 => match listings.get(&path[..i]) {
            Some(Some(l)) => l.names.contains(std::ffi::OsStr::new(&path[i + 1..])),
            _ => is_dir_memo(known, &path[..i], listings),
        },
        _ => true,
    };
    let d = possible && Path::new(path).is_dir();
    known.insert(path.to_string(), d);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A holder is the deepest existing directory on the way, with the parent listed or not;
    /// a file is no holder, and a directory the listing predates is still found by `stat`.
    #[test]
    fn holders_are_the_deepest_existing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        std::fs::create_dir_all(format!("{d}/a/b")).unwrap();
        std::fs::write(format!("{d}/a/f"), "").unwrap();
        let mut listings = Listings::new();
        listed(&mut listings, &format!("{d}/a"));
        std::fs::create_dir(format!("{d}/a/late")).unwrap();
        let mut h = Holders::default();
        for (ask, want) in [
            ("a/b", "a/b"),
            ("a/b/x/y", "a/b"),
            ("a/x/y/z", "a"),
            ("a/f/x", "a"),
            ("q/r", ""),
        ] {
            let want = if want.is_empty() {
                d.clone()
            } else {
                format!("{d}/{want}")
            };
            assert_eq!(h.of(&format!("{d}/{ask}"), &listings), want, "{ask}");
        }
        // Not named by the listing taken before it was made: absent for this launch, as a
        // candidate made then would be (the memo's directory stamps catch it later).
        assert_eq!(h.of(&format!("{d}/a/late/x"), &listings), format!("{d}/a"));
        let mut fresh = Holders::default();
        let none = Listings::new();
        assert_eq!(
            fresh.of(&format!("{d}/a/late/x"), &none),
            format!("{d}/a/late")
        );
    }
}
