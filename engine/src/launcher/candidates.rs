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

use super::directives::{parent_of, HashSet, Places, Reach, Scanned};
use super::links::Undone;
use super::listings::{
    first_component, listed, look_in, rel_below, Below, Holders, Listing, Listings,
};
use backend::key::{is_lexical, lexical_join as lexical};
use counted::{ByCandidate, ComputedOf, Counted, Names, Pairs, Part, PartOf};
use listed_absent::ListedAbsent;
use paths::Paths;
use std::ops::Range;
use std::rc::Rc;

/// A map keyed by paths (the fast hasher of [`HashSet`]).
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// The candidates of one include list, grouped by the directory holding them: the deepest
/// existing directory on the way to each candidate (a file or directory created there changes
/// its mtime). Within a directory they are in no particular order. Each candidate is one
/// string shared with [`Search`]'s set of those made (a libgit2 miss makes about 1 200; about
/// 7 000 more are recorded by first name alone, [`ListedAbsent`], and never made).
type Candidates = HashMap<String, Vec<Rc<str>>>;

/// The search directories of one command, and the candidates found so far.
pub(super) struct Search {
    /// Every search directory in the preprocessor's order, absolute.
    dirs: Vec<String>,
    /// Which of `dirs` are the compiler's own system directories.
    system: Range<usize>,
    /// Those of the compiler's own directories that the command does not also name.
    own: Vec<String>,
    /// Those of `own` that belong to the compiler itself ([`private_to_compiler`]): no
    /// candidates there.
    shielded: Vec<String>,
    /// `dirs` and the object root: where a searching directive (or `forced`) may have looked.
    roots: Vec<String>,
    /// Forced includes (`-include`, `-imacros`), searched for too.
    forced: Vec<String>,
    /// What the directives of the files read so far say.
    reach: Reach,
    /// Every candidate made so far (kept or not).
    made: HashSet<Rc<str>>,
    /// Files read, as of the last round.
    read: HashSet<String>,
    /// Headers whose earlier-directory candidates are made.
    searched: HashSet<String>,
    /// Directories of files with a computed include whose candidates are made for every
    /// header of `read` ([`Search::each_computed_batch`]).
    computed_done: HashSet<String>,
    out: Candidates,
    /// What the file system said (kept by the caller across searches, see [`Looked`]).
    looked: Looked,
    /// The candidates in `out` that exist, each looked for once, when it was made.
    present: HashSet<Rc<str>>,
    /// Earlier places of headers that their search directory's listing finds absent, as
    /// first names below it (never made whole, [`ListedAbsent`]).
    listed_absent: ListedAbsent,
    /// A candidate's way is listed in its holder but the candidate is absent
    /// ([`Below::WayOnly`]): no memo may rest on that holder's stamp.
    unsure: bool,
    /// A directory that a directive's `..` undoes and that is no plain directory
    /// (`super::links`): the lookup cannot be followed, so nothing may be stored or hit.
    through_link: Option<String>,
    /// The directories this search's `..` names undid ([`Search::undone_dirs`]).
    undid: Vec<String>,
}

/// What searches asked of the file system: directory listings (each with its stamp from
/// before the read), holders, and the first places of directives. A launch makes one for its
/// one search; the pull's first checks keep one per thread across the records they check
/// (and from their calls before the pull's announcement to those after), which is sound
/// because a memo trusts a directory only by the stamp taken before its listing (a file
/// created since changes the stamp). What it found is kept as it was found: a candidate's
/// `stat` past a holder that could not be listed is not asked again.
#[derive(Default)]
pub(super) struct Looked {
    holders: Holders,
    listings: Listings,
    /// Where the directives of the files read look first (joined and asked once).
    places: Places,
    /// Whether each directory a `..` undoes is a plain one.
    undone: Undone,
    /// Each set of search directories counted by [`Search::count_once`], numbered.
    contexts: HashMap<(Vec<String>, Range<usize>), u32>,
    /// Per set of search directories and header: its `.gch` candidate, and its candidates in
    /// the directories searched before its own, counted.
    parts: HashMap<(u32, String), [Part; 2]>,
    /// Per set of search directories, directory of a file with a computed include (its name
    /// numbered) and header: the places beside it named like the header below each search
    /// directory, counted (a libgit2 record has two such directories and 340 headers: the
    /// same 1 000 candidates for every record, counted each time, were a fifth of its check).
    computed: HashMap<(u32, u32, String), Part>,
    /// The holders and first names of the parts, and the directories of `computed`, numbered.
    names: Names,
    /// The (holder, first name) pairs of the parts, numbered.
    pairs: Pairs,
    /// What [`Search::count_into`] found for each candidate it counted: a record's quoted
    /// includes' first places, about 640, are mostly other records' too, and each count asked
    /// five maps by name.
    by_candidate: ByCandidate,
}

impl Looked {
    /// The listing of `dir`, if it was listed (and could be).
    fn listing(&self, dir: &str) -> Option<&Listing> {
        self.listings.get(dir).and_then(Option::as_ref)
    }
}

/// What [`Search::plan`] found to add: headers new to the search (`.gch` candidate, earlier
/// candidates) and the directives' own candidates.
#[derive(Default)]
struct Plan<'r> {
    headers: Vec<(&'r String, bool, bool)>,
    more: Paths,
    /// The directories of the files with a computed include (their candidates are made
    /// header by header, [`Search::computed_places`]).
    computed_in: Vec<String>,
    /// A file outside the compiler's own directories made a quoted include be taken as not
    /// run (`Reach::passed_beside`).
    passed_beside: bool,
}

impl Search {
    /// A search over `dirs` (absolute, in order; `system` the compiler's own), for a command
    /// whose object root is `obj` and whose forced includes are `forced`, asking the file
    /// system only what `looked` does not know yet.
    pub(super) fn new(
        dirs: Vec<String>,
        system: Range<usize>,
        obj: &str,
        forced: Vec<String>,
        looked: Looked,
    ) -> Search {
        // The compiler's own directories; its probe lists CPATH's too, which stay project ones.
        let own: Vec<String> = dirs[system.clone()]
            .iter()
            .filter(|d| !dirs[..system.start].contains(d) && !dirs[system.end..].contains(d))
            .cloned()
            .collect();
        let shielded = own
            .iter()
            .filter(|d| private_to_compiler(d))
            .cloned()
            .collect();
        let mut roots = dirs.clone();
        roots.push(obj.to_string());
        let listed_absent = ListedAbsent::new(&dirs);
        let reach = Reach::new(&roots, &forced);
        Search {
            dirs,
            system,
            own,
            shielded,
            roots,
            forced,
            reach,
            made: HashSet::new(),
            read: HashSet::new(),
            searched: HashSet::new(),
            computed_done: HashSet::new(),
            out: Candidates::new(),
            looked,
            present: HashSet::new(),
            listed_absent,
            unsure: false,
            through_link: None,
            undid: Vec::new(),
        }
    }

    /// The directories that this search's directives' `..` undid, sorted, each once: plain
    /// ones unless [`Search::through_link`] names one (the candidates rest on them).
    pub(super) fn undone_dirs(&mut self) -> &[String] {
        self.undid.sort_unstable();
        self.undid.dedup();
        &self.undid
    }

    /// The first directory a directive's `..` undid that is no plain directory, if any.
    pub(super) fn through_link(&self) -> Option<&str> {
        self.through_link.as_deref()
    }

    /// Whether the holders' stamps would show every candidate appearing (none is
    /// [`Below::WayOnly`]): only then may a memo rest on them.
    pub(super) fn sure(&self) -> bool {
        !self.unsure
    }

    /// What this search asked of the file system, for the next one.
    pub(super) fn into_looked(self) -> Looked {
        self.looked
    }

    /// The search directories, in order.
    pub(super) fn dirs(&self) -> &[String] {
        &self.dirs
    }

    /// The forced includes.
    pub(super) fn forced(&self) -> &[String] {
        &self.forced
    }

    /// The candidates made whole so far, by holding directory in its sorted order (those
    /// recorded by first name alone are not among them: [`Search::holders`] has all).
    #[cfg(test)]
    pub(super) fn candidates(&self) -> Vec<(&str, &[Rc<str>])> {
        let mut all: Vec<(&str, &[Rc<str>])> = self
            .out
            .iter()
            .map(|(dir, list)| (dir.as_str(), list.as_slice()))
            .collect();
        all.sort_unstable_by_key(|&(dir, _)| dir);
        all
    }

    /// What a compile that read `read` (absolute paths, a superset of the last round's), whose
    /// directives are `scanned`, adds: each header new to this search, with whether its
    /// earlier places are candidates too (else only its `.gch`), and the candidates its
    /// directives make.
    fn plan<'r>(&mut self, scanned: &Scanned, read: &'r HashSet<String>) -> Plan<'r> {
        let mut places = std::mem::take(&mut self.looked.places);
        let looked = &mut self.looked;
        // Only what is new this round: the places of earlier rounds' directives are made (or
        // counted) already.
        let reached = self.reach.take_in(
            scanned,
            read,
            &mut places,
            &mut looked.listings,
            &mut looked.undone,
        );
        if self.through_link.is_none() {
            self.through_link = reached.through_link.clone();
        }
        self.note_dotted_links(reached.dotted.iter().chain(&reached.probes));
        self.undid.extend(self.looked.undone.take_asked());
        // (Not the compiler's own directories, which hold no candidates: gcc's `<stdint.h>`
        // names a `"stdint-gcc.h"` beside it that hosted compiles never read.)
        let passed_beside = self.reach.passed_beside().any(|p| !under_any(&self.own, p));
        let mut plan = Plan {
            passed_beside,
            ..Plan::default()
        };
        for h in read {
            // gcc reads `<header>.gch` instead of a header when it exists (the compile is
            // then uncacheable: one created since the entry was stored must be noticed).
            let gch = !self.read.contains(h);
            // A header a quoted include found beside its includer, and named by no directive
            // that searched, had no earlier places to look.
            let earlier = !self.searched.contains(h) && !self.reach.beside_only(h);
            if earlier {
                self.searched.insert(h.clone());
            }
            if gch || earlier {
                plan.headers.push((h, gch, earlier));
            }
        }
        // A quoted include looks beside its includer first, whatever it found later.
        for p in &reached.first_looks {
            plan.more.push(&[p]);
        }
        // A computed include (`#include MACRO`) may name a quoted file: beside its includer,
        // every header read by its name below each search directory (a review found a header
        // created there served the old object, 2026-12-05). The source's own directory is a
        // search directory already.
        // (Thousands in a libgit2 compile: made header by header where they are used.)
        plan.computed_in = self.reach.computed_in().to_vec();
        // A name with `..` found through a search directory: the name joined to every place
        // it was looked for, but for what the compile read (a file that exists in a later
        // place is passed over, and joins the include list when stored).
        for &(beside, name) in &reached.dotted {
            let places = self.looked_for(beside, name);
            plan.more.extend(places.filter(|p| !read.contains(p)));
        }
        // A forced include is looked for in the working directory (the object root) first.
        if let Some(obj) = self.roots.last() {
            let cwd = self.forced.iter().map(|f| lexical(obj, f));
            plan.more.extend(cwd.filter(|p| !read.contains(p)));
        }
        // A `__has_include` that found nothing: a file in any place it looked makes it true.
        for (&(beside, name), &file) in reached.probes.iter().zip(&reached.probe_files) {
            let places: Vec<String> = self.looked_for(beside, name).collect();
            // One that found a file the compile read is answered by that file's presence; not
            // the file testing (a `__has_include_next` in `a/foo.h` of `<foo.h>` looks only
            // after `a`, where the file is not).
            if !places.iter().any(|p| read.contains(p) && p != file) {
                plan.more.extend(places);
            }
        }
        drop(reached);
        self.looked.places = places;
        plan
    }

    /// Notes the first directory that a name with `..` undoes and that is no plain directory,
    /// the name joined to each place it was looked for (`names`: each with the directory of
    /// its quoted includer, if any, then each search directory).
    fn note_dotted_links<'n>(
        &mut self,
        names: impl Iterator<Item = &'n (Option<&'n str>, &'n str)>,
    ) {
        for &(beside, name) in names {
            if !name.split('/').any(|c| c == "..") {
                continue;
            }
            for d in beside
                .into_iter()
                .chain(self.dirs.iter().map(String::as_str))
            {
                if self.through_link.is_some() {
                    break;
                }
                // (A search directory that does not exist is skipped by the compiler.)
                if beside.is_some_and(|b| b == d) || std::path::Path::new(d).is_dir() {
                    self.through_link = self.looked.undone.through_link(d, name, false);
                }
            }
        }
    }

    /// Every place a directive looked for `name`: beside its includer (`beside`, a quoted
    /// one's directory), then in each search directory.
    fn looked_for<'s>(
        &'s self,
        beside: Option<&'s str>,
        name: &'s str,
    ) -> impl Iterator<Item = String> + 's {
        let dirs = beside
            .into_iter()
            .chain(self.dirs.iter().map(String::as_str));
        dirs.map(move |d| lexical(d, name))
    }

    /// Appends the same relative name as `h`, and its `.gch`, in every directory searched
    /// before each directory that `h` lies under (it may have been found in any of them), the
    /// compiler's own excepted; `by_first_name`: those that their search directory's listing
    /// finds absent by their first name are recorded in `listed_absent` instead.
    fn earlier_than(&mut self, h: &str, by_first_name: bool, out: &mut Paths) {
        // (A name with `.` or `..` components is made whole: joined, it names another place.)
        let clean = by_first_name && is_lexical(h);
        let mut gch = String::new();
        for k in 0..self.dirs.len() {
            // `rel_below` also answers for `/` itself (`-I/`).
            let Some(rel) = rel_below(&self.dirs[k], h) else {
                continue;
            };
            let first = first_component(rel);
            // The `.gch`'s first component: its own name when it is right in the directory.
            gch.clear();
            gch.push_str(if first.len() == rel.len() { rel } else { first });
            if first.len() == rel.len() {
                gch.push_str(".gch");
            }
            // Each name hashed once for all the directories before this one.
            let hashes = match clean {
                true => (
                    self.listed_absent.hash(first),
                    self.listed_absent.hash(&gch),
                ),
                false => (0, 0),
            };
            for j in 0..k {
                let e = &self.dirs[j];
                if self.system.contains(&j) && private_to_compiler(e) {
                    continue;
                }
                let (looked, shielded) = (&mut self.looked, &self.shielded);
                let absent = &mut self.listed_absent;
                let sep = if e.ends_with('/') { "" } else { "/" };
                if !(clean && absent.record(j, first, hashes.0, looked, shielded)) {
                    out.push(&[e, sep, rel]);
                }
                // gcc takes `<name>.gch` in a directory before `<name>` in a later one.
                if !(clean && absent.record(j, &gch, hashes.1, looked, shielded)) {
                    out.push(&[e, sep, rel, ".gch"]);
                }
            }
        }
    }

    /// Whether directory `dir` is (or lies below) one of the compiler's own directories that
    /// the command does not also name.
    pub(super) fn is_own(&self, dir: &str) -> bool {
        self.own.iter().any(|o| o == dir) || under_any(&self.own, dir)
    }

    /// Whether directory `dir` may hold a name ending with `suffix`: its listing names one, or
    /// it exists and cannot be listed (one that does not exist holds none).
    pub(super) fn may_hold_name_ending(&mut self, dir: &str, suffix: &[u8]) -> bool {
        match listed(&mut self.looked.listings, dir) {
            Some(names) => names.iter().any(|n| n.as_encoded_bytes().ends_with(suffix)),
            None => std::path::Path::new(dir).is_dir(),
        }
    }

    /// Each directory holding candidates, with its listing (`None`: it could not be listed)
    /// and the names of its candidates relative to it (or their first names alone), for the
    /// lookup memo.
    pub(super) fn holders(&self) -> impl Iterator<Item = Holding<'_>> {
        // The candidates made whole, and the first names recorded alone (a search directory
        // listed twice, or holding both kinds, is one holder).
        let mut below: HashMap<&str, Vec<&str>> = HashMap::new();
        for (dir, list) in &self.out {
            let rels = list.iter().filter_map(|c| rel_below(dir, c));
            below.entry_ref(dir.as_str()).or_default().extend(rels);
        }
        for (dir, firsts) in self.listed_absent.by_dir() {
            let names = firsts.iter().map(|f| &**f);
            below.entry_ref(dir).or_default().extend(names);
        }
        let mut all: Vec<(&str, Vec<&str>)> = below.into_iter().collect();
        all.sort_unstable_by_key(|&(dir, _)| dir);
        all.into_iter().map(|(dir, below)| Holding {
            dir,
            ground: self.looked.listing(dir).map(Ground::Listed),
            below,
        })
    }

    /// The candidates that exist, sorted (each holding directory is read once in a launch,
    /// instead of a `stat` per candidate).
    pub(super) fn existing(&self) -> Vec<String> {
        let mut found: Vec<String> = self.present.iter().map(|c| c.to_string()).collect();
        found.sort_unstable();
        found
    }
}

/// Whether a system directory belongs to the compiler's installation itself: its own
/// headers (`…/lib/gcc/<triple>/<version>/include`, `…/lib/clang/<version>/include`) and the
/// C++ library's (`…/include/c++/<version>`), which change with it, and whose
/// `#include_next` wrappers pass over same-named files by design. The other system
/// directories (`/usr/local/include`, `/usr/include/<triple>`) hold what is installed on the
/// machine: a header there that shadows a later one differs between CI's machine and a
/// developer's (a review's `/usr/local/include/zlib.h` was served CI's object of
/// `/usr/include/zlib.h`, 2026-12-05), so their candidates count like the project's.
fn private_to_compiler(dir: &str) -> bool {
    dir.split('/').any(|c| matches!(c, "gcc" | "clang" | "c++"))
}

/// Whether `path` lies under one of `dirs`.
fn under_any(dirs: &[String], path: &str) -> bool {
    dirs.iter().any(|d| rel_below(d, path).is_some())
}

mod counted;
mod first_count;
mod holding;
mod listed_absent;
mod paths;
mod rounds;
#[cfg(test)]
mod tests;

pub(super) use holding::{Ground, Holding};
