//! The lookup rule's candidates (`super::shadow`): every place where a new file would have
//! changed what a compile read, grouped by the directory that holds them.
//!
//! A [`Search`] is made once per launch from the command's search directories and grows with
//! the rounds of a miss (each round adds a few passed-over files to the include list,
//! `super::miss`): a round adds the candidates of what is new (headers, the directives of the
//! files added, headers that a new directive makes searched) and drops the files now read. A
//! libgit2 compile reads about 350 files and has about 3 500 candidates; recounting them
//! every round cost more than hashing the headers. After several rounds the set can be larger
//! than one count of the final list would give (a header that a new file's quoted include
//! exempts keeps its candidates): more candidates, so a stricter key, never a wrong hit; and
//! the same on every machine, since it depends on the files alone.

use super::directives::{parent_of, HashSet, Places, Reached, Scanned};
use backend::key::lexical_join as lexical;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::ops::Range;
use std::path::Path;

/// A map keyed by paths (the fast hasher of [`HashSet`]).
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// The candidates of one include list, grouped by the directory holding them: the deepest
/// existing directory on the way to each candidate (a file or directory created there changes
/// its mtime). Within a directory they are in no particular order.
pub(super) type Candidates = BTreeMap<String, Vec<String>>;

/// The search directories of one command, and the candidates found so far.
pub(super) struct Search {
    /// Every search directory in the preprocessor's order, absolute.
    dirs: Vec<String>,
    /// Which of `dirs` are the compiler's own system directories.
    system: Range<usize>,
    /// Those of the compiler's own directories that the command does not also name.
    own: Vec<String>,
    /// `dirs` and the object root: where a searching directive (or `forced`) may have looked.
    roots: Vec<String>,
    /// Forced includes (`-include`, `-imacros`), searched for too.
    forced: Vec<String>,
    /// Every candidate made so far (kept or not).
    made: HashSet<String>,
    /// Files read, as of the last round.
    read: HashSet<String>,
    /// Headers whose earlier-directory candidates are made.
    searched: HashSet<String>,
    out: Candidates,
    holders: Holders,
    listings: Listings,
    /// Where the directives of the files read look first (joined and asked once per launch).
    places: Places,
    /// The candidates in `out` that exist, each looked for once, when it was made.
    present: HashSet<String>,
}

impl Search {
    /// A search over `dirs` (absolute, in order; `system` the compiler's own), for a command
    /// whose object root is `obj` and whose forced includes are `forced`.
    pub(super) fn new(
        dirs: Vec<String>,
        system: Range<usize>,
        obj: &str,
        forced: Vec<String>,
    ) -> Search {
        // The compiler's own directories; its probe lists CPATH's too, which stay project ones.
        let own = dirs[system.clone()]
            .iter()
            .filter(|d| !dirs[..system.start].contains(d) && !dirs[system.end..].contains(d))
            .cloned()
            .collect();
        let mut roots = dirs.clone();
        roots.push(obj.to_string());
        Search {
            dirs,
            system,
            own,
            roots,
            forced,
            made: HashSet::new(),
            read: HashSet::new(),
            searched: HashSet::new(),
            out: Candidates::new(),
            holders: Holders::default(),
            listings: HashMap::new(),
            places: Places::default(),
            present: HashSet::new(),
        }
    }

    /// The search directories, in order.
    pub(super) fn dirs(&self) -> &[String] {
        &self.dirs
    }

    /// The forced includes.
    pub(super) fn forced(&self) -> &[String] {
        &self.forced
    }

    /// The candidates so far.
    pub(super) fn candidates(&self) -> &Candidates {
        &self.out
    }

    /// Adds the candidates of a compile that read `read` (absolute paths, a superset of the
    /// last round's), whose directives are `scanned`.
    pub(super) fn update(&mut self, scanned: &Scanned, read: &HashSet<String>) {
        let mut places = std::mem::take(&mut self.places);
        let reached = Reached::of(scanned, read, &mut places, &mut self.listings);
        let searchable = reached.searchable(&self.roots, &self.forced);
        let mut made: Vec<String> = Vec::new();
        for h in read {
            if !self.read.contains(h) {
                // gcc reads `<header>.gch` instead of a header when it exists (the compile is
                // then uncacheable: one created since the entry was stored must be noticed).
                made.push([h, ".gch"].concat());
            }
            // A header a quoted include found beside its includer, and named by no directive
            // that searched, had no earlier places to look.
            if !self.searched.contains(h) && !reached.beside_only(h, &searchable) {
                self.searched.insert(h.clone());
                self.earlier_than(h, &mut made);
            }
        }
        // A quoted include looks beside its includer first, whatever it found later.
        made.extend(reached.first_looks.iter().map(|p| p.to_string()));
        // A `__has_include` that found nothing: a file in any place it looked makes it true.
        for (beside, name) in &reached.probes {
            let places: Vec<String> = beside
                .iter()
                .copied()
                .chain(self.dirs.iter().map(String::as_str))
                .map(|d| lexical(d, name))
                .collect();
            // One that found a file the compile read is answered by that file's presence.
            if !places.iter().any(|p| read.contains(p)) {
                made.extend(places);
            }
        }
        drop(searchable);
        drop(reached);
        self.places = places;
        for cand in made {
            // Each candidate is hashed into `made` once: a new one is taken in place.
            let hashbrown::hash_set::Entry::Vacant(new) = self.made.entry(cand) else {
                continue;
            };
            let entry = new.insert();
            let cand = entry.get();
            // A file the compile read itself (the header, through a directory listed twice; a
            // wrapper that `#include_next`s it, like libstdc++'s `<stdlib.h>`) is no shadow.
            // Nor is anything in the compiler's own system directories: they change with its
            // installation, not the build, and their `#include_next` wrappers pass over
            // same-named files by design.
            if !read.contains(cand) && !under_any(&self.own, cand) {
                let holder = self.holders.of(parent_of(cand), &self.listings);
                if exists_in(&mut self.listings, holder, cand) {
                    self.present.insert(cand.clone());
                }
                match self.out.get_mut(holder) {
                    Some(list) => list.push(cand.clone()),
                    None => {
                        self.out.insert(holder.to_string(), vec![cand.clone()]);
                    }
                }
            }
        }
        // Files read since the last round (passed over before) are candidates no more.
        for h in read {
            if self.read.contains(h) {
                continue;
            }
            self.read.insert(h.clone());
            if self.made.contains(h) {
                let holder = self.holders.of(parent_of(h), &self.listings);
                if let Some(list) = self.out.get_mut(holder) {
                    list.retain(|c| c != h);
                }
                self.present.remove(h);
            }
        }
    }

    /// Appends the same relative name as `h` in every directory searched before each
    /// directory that `h` lies under (it may have been found in any of them), the compiler's
    /// own excepted.
    fn earlier_than(&self, h: &str, out: &mut Vec<String>) {
        for (k, d) in self.dirs.iter().enumerate() {
            let Some(rel) = h.strip_prefix(d.as_str()).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            for (j, e) in self.dirs[..k].iter().enumerate() {
                if !self.system.contains(&j) {
                    out.push([e, "/", rel].concat());
                }
            }
        }
    }

    /// Whether directory `dir` holds a name ending with `suffix` (a directory that cannot be
    /// listed holds none).
    pub(super) fn lists_name_ending(&mut self, dir: &str, suffix: &[u8]) -> bool {
        listed(&mut self.listings, dir)
            .is_some_and(|names| names.iter().any(|n| n.as_encoded_bytes().ends_with(suffix)))
    }

    /// The candidates that exist, sorted (each holding directory is read once in a launch,
    /// instead of a `stat` per candidate).
    pub(super) fn existing(&self) -> Vec<String> {
        let mut found: Vec<String> = self.present.iter().cloned().collect();
        found.sort_unstable();
        found
    }
}

/// The listings of a launch, each directory read once.
pub(super) type Listings = HashMap<String, Option<HashSet<OsString>>>;

/// The names in directory `dir`, read on the first ask and kept in `listings`.
pub(super) fn listed<'l>(listings: &'l mut Listings, dir: &str) -> Option<&'l HashSet<OsString>> {
    listings
        .entry_ref(dir)
        .or_insert_with(|| listing(dir))
        .as_ref()
}

/// Whether candidate `c`, held by directory `holder`, exists: `holder`'s listing names its
/// first component below `holder`.
fn exists_in(listings: &mut Listings, holder: &str, c: &str) -> bool {
    let Some(names) = listed(listings, holder) else {
        return false;
    };
    c.strip_prefix(holder)
        .map(|r| r.trim_start_matches('/'))
        .is_some_and(|rel| exists_below(names, holder, rel))
}

/// The names in directory `dir`, `None` if it cannot be listed.
pub(super) fn listing(dir: &str) -> Option<HashSet<OsString>> {
    let rd = std::fs::read_dir(dir).ok()?;
    Some(rd.flatten().map(|e| e.file_name()).collect())
}

/// Whether `rel` below directory `holder`, whose listing is `names`, exists: its first
/// component is listed, and a deeper one (created since) is looked at.
pub(super) fn exists_below(names: &HashSet<OsString>, holder: &str, rel: &str) -> bool {
    // A byte loop: names are short, and `split`'s searcher cost more than the lookup.
    let first = match rel.bytes().position(|b| b == b'/') {
        Some(i) => &rel[..i],
        None => rel,
    };
    names.contains(std::ffi::OsStr::new(first))
        && (first.len() == rel.len() || Path::new(&[holder, "/", rel].concat()).exists())
}

/// Whether `path` lies under one of `dirs`.
fn under_any(dirs: &[String], path: &str) -> bool {
    dirs.iter().any(|d| {
        path.strip_prefix(d.as_str())
            .is_some_and(|r| r.starts_with('/'))
    })
}

/// The deepest existing directory on the way to each candidate's directory, each directory
/// asked of the file system once (hundreds of candidates share a few tens of directories).
#[derive(Default)]
struct Holders {
    of_dir: HashMap<String, String>,
    is_dir: HashMap<String, bool>,
}

impl Holders {
    /// The deepest existing directory among `dir` and its ancestors (`/` at worst); a
    /// directory whose parent this launch has listed (`listings`) without naming it, or whose
    /// parent is absent, is known absent without a `stat`.
    fn of(&mut self, dir: &str, listings: &Listings) -> &str {
        if !self.of_dir.contains_key(dir) {
            let mut best = dir.to_string();
            while best != "/" && !self.is_dir(&best, listings) {
                best = match best.rfind('/') {
                    Some(0) | None => "/".to_string(),
                    Some(i) => best[..i].to_string(),
                };
            }
            self.of_dir.insert(dir.to_string(), best);
        }
        &self.of_dir[dir]
    }

    fn is_dir(&mut self, path: &str, listings: &Listings) -> bool {
        if let Some(&known) = self.is_dir.get(path) {
            return known;
        }
        // Absent without a `stat` when the parent's listing does not name it, or (the parent
        // not listed) when the parent is no directory.
        let possible = match path.rfind('/') {
            Some(i) if i > 0 => match listings.get(&path[..i]) {
                Some(Some(names)) => names.contains(std::ffi::OsStr::new(&path[i + 1..])),
                _ => self.is_dir(&path[..i], listings),
            },
            _ => true,
        };
        let d = possible && Path::new(path).is_dir();
        self.is_dir.insert(path.to_string(), d);
        d
    }
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
