//! A search's reading of the include directives of the files a compile read, kept across the
//! rounds of a miss (`super::super::candidates`): a round takes in the files new to the scan
//! and looks again only at the quoted directives whose place beside their includer the
//! compile has read since. A libgit2 miss goes through five rounds over about 350 files, and
//! reading every directive again each round was a sixth of its instructions.
//!
//! An include directive is *beside* (a quoted include whose place beside its includer the
//! compile read), *passed beside* (a quoted include whose place there holds a file the compile
//! did not read: behind a false conditional) or *searched* (everything else); a
//! `__has_include` test is kept as a probe. Between rounds the compile's files are only added
//! to, so a directive taken in earlier can only become beside, when its place is read: the
//! kept reading is the one a single reading of the last round's files gives
//! (`rounds_read_as_one_reading_of_the_last` checks it). A scan that does not continue the
//! one taken in (another file list, or files no longer read) is read afresh.

use super::super::links::Undone;
use super::super::listings::Listings;
use super::{parent_of, HashSet, Places, Scanned, ScannedFile};
use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};

/// A map keyed by paths and names (the fast hasher of [`HashSet`]).
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// What the directives of a compile's files say about its lookups, kept across rounds.
pub(in crate::launcher) struct Reach {
    /// The search directories and the object root: where a searched name may have been found.
    roots: HashSet<String>,
    /// Forced includes' names, searched for too (as the directory join spells them).
    forced: HashSet<String>,
    /// How many files of the scan are taken in, and a hash of their paths in order: a
    /// search's rounds see one growing scan, and any other starts the reading again.
    taken: usize,
    taken_hash: u64,
    hasher: hashbrown::DefaultHashBuilder,
    /// Headers a quoted include found beside its includer.
    beside: HashSet<String>,
    /// Names as written by directives that searched (as the directory join spells them), with
    /// how many directives did.
    searched: HashMap<String, u32>,
    /// Some name is computed (`#include MACRO`, `..` in a name): nothing is exempt.
    computed: bool,
    /// The directories of the files with a computed include (or none scanned), sorted: the
    /// macro may name a quoted file, looked for beside its includer first.
    computed_in: Vec<String>,
    /// Quoted directives not beside, by their place beside the includer (which the compile
    /// did not read): (file, directive) in the scan, and whether it searched.
    waiting: HashMap<String, Vec<(u32, u32, bool)>>,
    /// Files beside the includer of a quoted include that the compile did not read: the
    /// include was taken as not run (what is found there decides which headers are exempt).
    passed_beside: HashSet<String>,
}

/// What a round found new: the places to look that the files it took in add (borrowed from
/// the scan and from the launch's [`Places`]).
#[derive(Default)]
pub(in crate::launcher) struct Reached<'a> {
    /// Where each searching quoted include looked first (beside its includer), absolute.
    pub(in crate::launcher) first_looks: Vec<&'a str>,
    /// `__has_include` tests: (includer's directory for a quoted test, name as written).
    pub(in crate::launcher) probes: Vec<(Option<&'a str>, &'a str)>,
    /// The file holding each of `probes`.
    pub(in crate::launcher) probe_files: Vec<&'a str>,
    /// Searching directives whose name has a `.` or `..` component: (includer's directory for
    /// a quoted one, name as written). What such a name finds need not lie below the
    /// directory it was found through, so its earlier places are the name joined to each.
    pub(in crate::launcher) dotted: Vec<(Option<&'a str>, &'a str)>,
    /// A directory that a quoted name's `..` undoes beside its includer and that is no plain
    /// directory (`super::super::links`): the compile is not cached.
    pub(in crate::launcher) through_link: Option<String>,
}

impl Reach {
    /// A reading for a search whose directories and object root are `roots` and whose forced
    /// includes are `forced`.
    pub(in crate::launcher) fn new(roots: &[String], forced: &[String]) -> Reach {
        Reach {
            roots: roots.iter().cloned().collect(),
            forced: forced.iter().map(|f| as_joined(f).into_owned()).collect(),
            taken: 0,
            taken_hash: 0,
            hasher: Default::default(),
            beside: HashSet::new(),
            searched: HashMap::new(),
            computed: false,
            computed_in: Vec::new(),
            waiting: HashMap::new(),
            passed_beside: HashSet::new(),
        }
    }

    /// Takes in the files of `scanned` new since the last round, for a compile that read
    /// `read` (absolute paths, a superset of the last round's); `places` is the launch's memo
    /// of where they look, `undone` of the directories a `..` undoes.
    pub(in crate::launcher) fn take_in<'a>(
        &mut self,
        scanned: &'a Scanned,
        read: &HashSet<String>,
        places: &'a mut Places,
        listings: &mut Listings,
        undone: &mut Undone,
    ) -> Reached<'a> {
        let files = &scanned.0;
        let mut paths = self.continue_or_restart(files);
        // Those read stay read (`Search::update`'s contract): else what is kept is stale.
        debug_assert!(self.beside.iter().all(|b| read.contains(b)));
        self.found_beside_since(files, read);
        let new = &files[self.taken..];
        places.fill(new, read, listings);
        let places = &*places;
        let mut r = Reached::default();
        for (f, (file, directives)) in (self.taken..).zip(new) {
            let dir = parent_of(file);
            let Some(directives) = directives else {
                self.computed = true;
                self.computed_in.push(dir.to_string());
                continue;
            };
            for (d, (directive, place)) in directives.iter().zip(places.of(file)).enumerate() {
                let Some((name, quoted, probe)) = directive else {
                    self.computed = true;
                    self.computed_in.push(dir.to_string());
                    continue;
                };
                let (name, quoted) = (name.as_str(), *quoted);
                self.computed |= place.dotted;
                // Asked of every record (the answers are kept): the lookup memo lists the
                // directories each one rests on.
                if quoted && place.dotted && r.through_link.is_none() {
                    r.through_link = undone.through_link(dir, name, false);
                }
                let at = place.beside.as_str();
                let waiting = |searched| (f as u32, d as u32, searched);
                if *probe {
                    r.probes.push((quoted.then_some(dir), name));
                    r.probe_files.push(file);
                } else if quoted && read.contains(at) {
                    self.beside.get_or_insert_with(at, |p: &str| p.to_string());
                } else if quoted && place.exists == Some(true) {
                    // Not read, though a quoted include would have found it: a directive
                    // behind a false conditional (or a file new since: a candidate).
                    r.first_looks.push(at);
                    self.passed_beside
                        .get_or_insert_with(at, |p: &str| p.to_string());
                    self.waiting.entry_ref(at).or_default().push(waiting(false));
                } else {
                    if quoted {
                        r.first_looks.push(at);
                        self.waiting.entry_ref(at).or_default().push(waiting(true));
                    }
                    if place.dotted {
                        r.dotted.push((quoted.then_some(dir), name));
                    }
                    *self
                        .searched
                        .entry_ref(as_joined(name).as_ref())
                        .or_insert(0) += 1;
                }
            }
        }
        new.iter().for_each(|f| f.0.hash(&mut paths));
        self.taken_hash = paths.finish();
        self.taken = files.len();
        self.computed_in.sort_unstable();
        self.computed_in.dedup();
        r
    }

    /// A hasher holding the paths taken in, in order, when `files` continues the scan taken
    /// in; else, the reading started again, an empty one.
    fn continue_or_restart(&mut self, files: &[ScannedFile]) -> impl Hasher {
        let mut paths = self.hasher.build_hasher();
        files
            .iter()
            .take(self.taken)
            .for_each(|f| f.0.hash(&mut paths));
        if self.taken > 0 && (files.len() < self.taken || paths.finish() != self.taken_hash) {
            *self = Reach {
                roots: std::mem::take(&mut self.roots),
                forced: std::mem::take(&mut self.forced),
                ..Reach::new(&[], &[])
            };
            paths = self.hasher.build_hasher();
        }
        paths
    }

    /// Moves the directives taken in earlier whose place beside their includer the compile
    /// has read since (`read`) to beside: they found it there.
    fn found_beside_since(&mut self, files: &[ScannedFile], read: &HashSet<String>) {
        let (searched, beside, passed) = (
            &mut self.searched,
            &mut self.beside,
            &mut self.passed_beside,
        );
        self.waiting.retain(|place, directives| {
            if !read.contains(place) {
                return true;
            }
            for &(f, d, _) in directives.iter().filter(|w| w.2) {
                if let Some(Some((name, _, _))) =
                    files[f as usize].1.as_ref().map(|ds| &ds[d as usize])
                {
                    forget_one(searched, &as_joined(name));
                }
            }
            passed.remove(place.as_str());
            beside.insert(place.clone());
            false
        });
    }

    /// The directories of the files with a computed include (or none scanned), sorted.
    pub(in crate::launcher) fn computed_in(&self) -> &[String] {
        &self.computed_in
    }

    /// The places beside includers of quoted includes taken as not run.
    pub(in crate::launcher) fn passed_beside(&self) -> impl Iterator<Item = &str> {
        self.passed_beside.iter().map(String::as_str)
    }

    /// Whether `header` can only have been found beside a quoted includer (no earlier
    /// directory was searched for it).
    pub(in crate::launcher) fn beside_only(&self, header: &str) -> bool {
        !self.computed && self.beside.contains(header) && !self.searchable(header)
    }

    /// Whether `path` (absolute, normalised) is a search directory (or the object root) joined
    /// to a name a directive or forced include searched for: asked per header, split at each
    /// `/`, never spelled out (that would be every name times every directory).
    fn searchable(&self, path: &str) -> bool {
        path.match_indices('/').any(|(i, _)| {
            let (dir, name) = (if i == 0 { "/" } else { &path[..i] }, &path[i + 1..]);
            (self.searched.contains_key(name) || self.forced.contains(name))
                && self.roots.contains(dir)
        })
    }
}

/// A name as the directory join would spell it (no empty components).
fn as_joined(name: &str) -> Cow<'_, str> {
    if name.split('/').any(str::is_empty) {
        let parts: Vec<&str> = name.split('/').filter(|c| !c.is_empty()).collect();
        Cow::Owned(parts.join("/"))
    } else {
        Cow::Borrowed(name)
    }
}

/// Counts one directive fewer searching for `name`.
fn forget_one(searched: &mut HashMap<String, u32>, name: &str) {
    if let Some(n) = searched.get_mut(name) {
        *n -= 1;
        if *n == 0 {
            searched.remove(name);
        }
    }
}

#[cfg(test)]
mod tests;
