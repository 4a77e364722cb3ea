//! Candidates that the listing of the directory they are named below settles alone
//! ([`ListedAbsent`]), kept as first names instead of paths.
//!
//! Most of a miss's candidates are a header's name below a search directory before its own
//! (`Search::update`), or below the directory of a file with a computed include, and most
//! of those are absent by the listing of that directory: it does not name the first
//! component of the header's name. Such a candidate is only ever read as (holder, first
//! name) (the lookup memo's `n` lines and the candidates' record's `f` lines,
//! `super::super::shadow`), and its holder is that directory itself, the deepest existing
//! directory on its way. So it is recorded as that pair: no path built, hashed, copied or
//! looked up again (a libgit2 miss's instructions fell by 30 %). Any other candidate is made
//! whole, as before.

use super::{under_any, Looked};
use crate::launcher::listings::{first_component, listed, rel_below};
use backend::key::is_lexical;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// First names found absent below directories by their listings, per directory: the search
/// directories (numbered as in the search), then those of files with a computed include.
pub(super) struct ListedAbsent {
    /// The directories, by number.
    dirs: Vec<String>,
    /// The number of each directory added after the search directories.
    added: hashbrown::HashMap<String, usize>,
    /// Per directory: whether its listing alone settles a candidate below it, once asked
    /// ([`ListedAbsent::settles`]).
    settles: Vec<Option<bool>>,
    /// Per directory that settles: the first components below it of the compiler's own
    /// directories that lie below it (`/usr/include`'s `c++`): a candidate starting
    /// with one is made whole, as it may lie in one (and then is no candidate).
    shielded_firsts: Vec<Vec<String>>,
    /// Per directory: the first names below it its listing does not name.
    firsts: Vec<HashTable<Box<str>>>,
    /// The hasher of `firsts`' names: a name is hashed once for every directory it is
    /// recorded below ([`ListedAbsent::hash`]).
    hasher: hashbrown::DefaultHashBuilder,
}

impl ListedAbsent {
    /// None recorded, for the search directories `dirs`.
    pub(super) fn new(dirs: &[String]) -> ListedAbsent {
        let n = dirs.len();
        ListedAbsent {
            dirs: dirs.to_vec(),
            added: hashbrown::HashMap::new(),
            settles: vec![None; n],
            shielded_firsts: vec![Vec::new(); n],
            firsts: (0..n).map(|_| HashTable::new()).collect(),
            hasher: Default::default(),
        }
    }

    /// The hash of a first name, for [`ListedAbsent::record`].
    pub(super) fn hash(&self, first: &str) -> u64 {
        self.hasher.hash_one(first)
    }

    /// The number of directory `dir` (that of a file with a computed include), added when new.
    pub(super) fn number(&mut self, dir: &str) -> usize {
        if let Some(&j) = self.added.get(dir) {
            return j;
        }
        let j = self.dirs.len();
        self.dirs.push(dir.to_string());
        self.settles.push(None);
        self.shielded_firsts.push(Vec::new());
        self.firsts.push(HashTable::new());
        self.added.insert(dir.to_string(), j);
        j
    }

    /// Whether a candidate below directory number `j` whose first component below it is
    /// `first` (a plain name: neither `.` nor `..`; `hash` its [`ListedAbsent::hash`]) is
    /// absent by that directory's listing alone, recorded if so. `false` means the candidate
    /// is to be made whole: the listing names `first`, `first` leads to one of the compiler's
    /// own directories, or the directory is not a candidate's holder by itself
    /// ([`ListedAbsent::settles`]).
    pub(super) fn record(
        &mut self,
        j: usize,
        first: &str,
        hash: u64,
        looked: &mut Looked,
        shielded: &[String],
    ) -> bool {
        debug_assert_eq!(hash, self.hash(first), "{first}: another name's hash");
        if !self.settles(j, looked, shielded) {
            return false;
        }
        let dir = &self.dirs[j];
        if self.firsts[j].find(hash, |f| **f == *first).is_some() {
            return true;
        }
        if self.shielded_firsts[j].iter().any(|s| s == first) {
            return false;
        }
        let named = looked
            .listing(dir)
            .map_or(true, |l| l.names.contains(std::ffi::OsStr::new(first)));
        if !named {
            let hasher = &self.hasher;
            self.firsts[j].insert_unique(hash, first.into(), |f| hasher.hash_one(&**f));
        }
        !named
    }

    /// Whether candidates below directory number `j` may be settled by its listing: it is a
    /// plain absolute path (candidates are joined to it by concatenation), not in one of the
    /// compiler's own directories (`shielded`, which hold no candidates), listed, and its own
    /// holder (an existing directory).
    fn settles(&mut self, j: usize, looked: &mut Looked, shielded: &[String]) -> bool {
        if let Some(known) = self.settles[j] {
            return known;
        }
        let dir = self.dirs[j].as_str();
        let ok = dir != "/"
            && is_lexical(dir)
            && !shielded.iter().any(|s| s == dir)
            && !under_any(shielded, dir)
            && listed(&mut looked.listings, dir).is_some()
            && looked.holders.of(dir, &looked.listings) == dir;
        if ok {
            // (A libgit2 miss records up to a few hundred names below a search directory.)
            self.firsts[j] = HashTable::with_capacity(128);
            let below = shielded.iter().filter_map(|s| rel_below(dir, s));
            self.shielded_firsts[j] = below.map(|r| first_component(r).to_string()).collect();
        }
        self.settles[j] = Some(ok);
        ok
    }

    /// The first names recorded, with their directory.
    pub(super) fn by_dir(&self) -> impl Iterator<Item = (&str, &HashTable<Box<str>>)> {
        let dirs = self.dirs.iter().map(String::as_str);
        dirs.zip(&self.firsts).filter(|(_, f)| !f.is_empty())
    }
}
