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
    first_component, listed, look_in, rel_below, Below, DirStamp, Holders, Listing, Listings,
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

    /// What candidate `c` counts as, from its holder's listing.
    fn count(&mut self, c: &str) -> Counted {
        let holder = self.holders.of(parent_of(c), &self.listings);
        let Some(rel) = rel_below(holder, c) else {
            return Counted::Unsure;
        };
        let first = first_component(rel);
        match look_in(&mut self.listings, holder, c) {
            Below::Absent => {
                let pair = (self.names.id(holder), self.names.id(first));
                Counted::Absent(self.pairs.id(pair))
            }
            Below::There => Counted::There,
            // The way to it is there but not it: a holder that grew deeper since it was found,
            // or a file on the way. Left to the launch's own check.
            Below::WayOnly => Counted::Unsure,
        }
    }

    /// The number of the search directories `dirs` (`system` the compiler's own).
    fn context(&mut self, dirs: &[String], system: &Range<usize>) -> u32 {
        let n = self.contexts.len() as u32;
        *self
            .contexts
            .entry((dirs.to_vec(), system.clone()))
            .or_insert(n)
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

    /// Adds the candidates of a compile that read `read` (absolute paths, a superset of the
    /// last round's), whose directives are `scanned`.
    pub(super) fn update(&mut self, scanned: &Scanned, read: &HashSet<String>) {
        let plan = self.plan(scanned, read);
        // Candidates come in runs with one directory (a name and its `.gch`, the names beside
        // one includer): its holder is looked up once a run, and the run joins `out` at once.
        let mut run = Run::default();
        // About what a round makes (growing the set would hash every candidate again): a
        // header's earlier places and computed places are mostly recorded by first name
        // alone, not made.
        let per_header = 2;
        self.made
            .reserve(plan.more.len() + plan.headers.len() * per_header);
        self.add_made(&plan.more, read, &mut run);
        // Made a few at a time into one buffer (thousands would fill a megabyte of new pages).
        let mut made = Paths::default();
        for (h, gch, earlier) in plan.headers {
            made.clear();
            if gch {
                made.push(&[h, ".gch"]);
            }
            if earlier {
                self.earlier_than(h, true, &mut made);
            }
            self.add_made(&made, read, &mut run);
        }
        self.each_computed_batch(&plan.computed_in, read, |s, made| {
            s.add_made(made, read, &mut run)
        });
        run.flush(&mut self.out);
        // Files read since the last round (passed over before) are candidates no more.
        for h in read {
            if self.read.contains(h) {
                continue;
            }
            self.read.insert(h.clone());
            if self.made.contains(h.as_str()) {
                let holder = self.looked.holders.of(parent_of(h), &self.looked.listings);
                if let Some(list) = self.out.get_mut(holder) {
                    list.retain(|c| **c != **h);
                }
                self.present.remove(h.as_str());
            }
        }
    }

    /// Takes in the candidates `made` of a compile that read `read`: those new to the search
    /// join `run` (and `out` when it is flushed), with what their holders' listings say.
    fn add_made(&mut self, made: &Paths, read: &HashSet<String>, run: &mut Run) {
        for cand in made.iter() {
            // Each candidate is hashed into `made` once, and copied only when new.
            let before = self.made.len();
            let cand = Rc::clone(self.made.get_or_insert_with(cand, |c: &str| Rc::from(c)));
            if self.made.len() == before {
                continue;
            }
            // A file the compile read itself (the header, through a directory listed twice; a
            // wrapper that `#include_next`s it, like libstdc++'s `<stdlib.h>`) is no shadow.
            // Nor is anything in the compiler's own system directories: they change with its
            // installation, not the build, and their `#include_next` wrappers pass over
            // same-named files by design.
            if read.contains(&*cand) || under_any(&self.shielded, &cand) {
                continue;
            }
            let parent = parent_of(&cand);
            if run.parent != parent {
                run.flush(&mut self.out);
                let looked = &mut self.looked;
                // Cleared and pushed: `replace_range(..)` splices, 2.5 % of a miss.
                run.parent.clear();
                run.parent.push_str(parent);
                run.holder.clear();
                run.holder
                    .push_str(looked.holders.of(parent, &looked.listings));
            }
            match look_in(&mut self.looked.listings, &run.holder, &cand) {
                Below::There => {
                    self.present.insert(cand.clone());
                }
                Below::WayOnly => self.unsure = true,
                Below::Absent => {}
            }
            run.cands.push(cand);
        }
    }

    /// Gives `take` the candidates of each directory of `computed_in` (those of files with a
    /// computed include), for a compile that read `read`; those its listing settles are
    /// recorded in `listed_absent` instead. A directory whose candidates an
    /// earlier round made gets those of the headers new since (the others are made already:
    /// a miss of libgit2 goes through five rounds of thousands).
    fn each_computed_batch(
        &mut self,
        computed_in: &[String],
        read: &HashSet<String>,
        mut take: impl FnMut(&mut Self, &Paths),
    ) {
        if computed_in.is_empty() {
            return;
        }
        // A round's read set holds the last one's (files are only added): what a directory's
        // earlier batch made is what this one would make again.
        debug_assert!(self.read.iter().all(|h| read.contains(h)));
        // Each path checked once: names below a lexical header are clean, and are joined to
        // a lexical base by concatenation. Only the headers new since the last round are
        // taken, unless a directory's batch is made for the first time.
        let all = computed_in.iter().any(|d| !self.computed_done.contains(d));
        let lexical_read: Vec<(&String, bool, bool)> = read
            .iter()
            .map(|h| (h, !self.read.contains(h)))
            .filter(|&(_, new)| all || new)
            .map(|(h, new)| (h, is_lexical(h), new))
            .collect();
        let mut made = Paths::default();
        for beside in computed_in {
            made.clear();
            let done = !self.computed_done.insert(beside.clone());
            let beside_lexical = is_lexical(beside);
            let number = beside_lexical.then(|| self.listed_absent.number(beside));
            for &(h, h_lexical, new) in &lexical_read {
                if done && !new {
                    continue;
                }
                let plain = beside_lexical && h_lexical;
                self.computed_places(beside, h, plain, number, read, &mut made);
            }
            take(self, &made);
        }
    }

    /// The places beside `beside` (the directory of a file with a computed include) named
    /// like header `h` below each search directory, but those the compile read (`read`).
    /// `plain` when both are lexical ([`is_lexical`]), so a concatenation joins them: then,
    /// given `beside`'s `number` in `listed_absent`, those its listing settles are recorded
    /// there instead.
    fn computed_places(
        &mut self,
        beside: &str,
        h: &str,
        plain: bool,
        number: Option<usize>,
        read: &HashSet<String>,
        out: &mut Paths,
    ) {
        let sep = if beside.ends_with('/') { "" } else { "/" };
        for d in 0..self.dirs.len() {
            let Some(rel) = rel_below(&self.dirs[d], h) else {
                continue;
            };
            if !plain {
                out.push(&[&lexical(beside, rel)]);
            } else {
                let (looked, shielded) = (&mut self.looked, &self.shielded);
                let absent = &mut self.listed_absent;
                if let Some(j) = number {
                    let first = first_component(rel);
                    let hash = absent.hash(first);
                    if absent.record(j, first, hash, looked, shielded) {
                        continue;
                    }
                }
                out.push(&[beside, sep, rel]);
            }
            if read.contains(out.last()) {
                out.pop();
            }
        }
    }

    /// The first count of a fresh search (the pull's first check of a record): the holders of
    /// the candidates of a compile that read `read` with the first name of each candidate
    /// below its holder, or `None` when a candidate exists, a holder's listing is unsure
    /// (it names the way to a candidate that is not there), or a quoted include was taken as
    /// not run. The same candidates as
    /// [`Search::update`], but each header's are counted once per set of search directories
    /// and kept in `looked` for the next record: the pull checks hundreds of records that
    /// share most headers.
    pub(super) fn count_once(
        &mut self,
        scanned: &Scanned,
        read: &HashSet<String>,
    ) -> Option<Vec<(u32, u32)>> {
        let plan = self.plan(scanned, read);
        // Which directives ran was decided from what the carried places say is beside them,
        // which may be newer than the carried listings: left to the launch's own check (as
        // is a `..` that undoes a link: the launch refuses it).
        if plan.passed_beside || self.through_link.is_some() {
            return None;
        }
        let ctx = self.looked.context(&self.dirs, &self.system);
        self.looked.pairs.begin();
        let mut ids = Vec::new();
        let mut fresh = Part::default();
        for (h, gch, earlier) in plan.headers {
            // Looked up by reference: a clone of every header's name per record was a tenth
            // of the counting.
            let key = PartOf(ctx, h);
            if !self.looked.parts.contains_key(&key) {
                let mut gch_part = Part::default();
                self.count_into(&[h, ".gch"].concat(), &mut gch_part);
                let mut cands = Paths::default();
                self.earlier_than(h, false, &mut cands);
                let mut earlier_part = Part::default();
                for c in cands.iter() {
                    self.count_into(c, &mut earlier_part);
                }
                self.looked
                    .parts
                    .insert((ctx, h.clone()), [gch_part, earlier_part]);
            }
            let [g, e] = &self.looked.parts[&key];
            for part in [(gch, g), (earlier, e)].iter().filter(|p| p.0).map(|p| p.1) {
                part.add_to(&mut self.looked.pairs, &mut ids, read)?;
            }
        }
        for c in plan.more.iter() {
            self.count_into(c, &mut fresh);
        }
        fresh.add_to(&mut self.looked.pairs, &mut ids, read)?;
        for beside in &plan.computed_in {
            let b = self.looked.names.id(beside);
            for h in read {
                let key = ComputedOf(ctx, b, h);
                if !self.looked.computed.contains_key(&key) {
                    let part = self.computed_part(beside, h);
                    self.looked.computed.insert((ctx, b, h.clone()), part);
                }
                let part = &self.looked.computed[&key];
                part.add_to(&mut self.looked.pairs, &mut ids, read)?;
            }
        }
        Some(self.looked.pairs.sorted(&ids))
    }

    /// Counts candidate `c` into `part` (nothing for one in the compiler's own directories).
    fn count_into(&mut self, c: &str, part: &mut Part) {
        if under_any(&self.shielded, c) {
            return;
        }
        let looked = &mut self.looked;
        let counted = match looked.by_candidate.get(c) {
            Some(counted) => counted,
            None => {
                let counted = looked.count(c);
                looked.by_candidate.keep(c, counted);
                counted
            }
        };
        match counted {
            Counted::Absent(pair) => part.pairs.push(pair),
            Counted::There => part.existing.push(c.to_string()),
            Counted::Unsure => part.unsure = true,
        }
    }

    /// The places beside `beside` (the directory of a file with a computed include) named
    /// like header `h` below each search directory, counted ([`Search::computed_places`]'s),
    /// for any compile: those a compile read among them are there, and [`Part::add_to`]
    /// takes them as no shadow. (One read but gone since, or on a way its holder's listing
    /// does not show, gives a pair more, or no memo, where the launch's own count leaves it
    /// out: stricter, never looser. Each header's earlier places are counted so too.)
    fn computed_part(&mut self, beside: &str, h: &str) -> Part {
        // `computed_places`' joins without its buffer, read set and first names: made through
        // it, the buffer and the set of each part cost the pull 1.5 % of its instructions.
        let mut part = Part::default();
        for d in 0..self.dirs.len() {
            if let Some(rel) = rel_below(&self.dirs[d], h) {
                let place = lexical(beside, rel);
                self.count_into(&place, &mut part);
            }
        }
        part
    }

    /// The holders of [`Search::count_once`]'s pairs, each with its listing and the first
    /// names of its candidates, for the lookup memo.
    pub(super) fn counted<'s>(&'s self, pairs: &'s [(u32, u32)]) -> Vec<Holding<'s>> {
        let mut out: Vec<Holding<'s>> = Vec::new();
        for &(h, n) in pairs {
            let dir = self.looked.names.name(h);
            let name = self.looked.names.name(n);
            match out.last_mut() {
                Some(last) if last.dir == dir => last.below.push(name),
                _ => out.push(Holding {
                    dir,
                    ground: self.looked.listing(dir).map(Ground::Listed),
                    below: vec![name],
                }),
            }
        }
        out
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

/// Consecutive candidates in one directory, and their holder ([`Search::update`]).
#[derive(Default)]
struct Run {
    /// The directory of the run's candidates.
    parent: String,
    /// Its holder ([`Holders::of`]).
    holder: String,
    /// The candidates not yet in `out`.
    cands: Vec<Rc<str>>,
}

impl Run {
    /// Adds the run's candidates to their holder's in `out`.
    fn flush(&mut self, out: &mut Candidates) {
        if !self.cands.is_empty() {
            out.entry_ref(self.holder.as_str())
                .or_default()
                .append(&mut self.cands);
        }
    }
}

/// One directory holding candidates, as the lookup memo records it.
pub(super) struct Holding<'a> {
    /// The directory.
    pub(super) dir: &'a str,
    /// What says its candidates are absent (`None`: it could not be listed).
    pub(super) ground: Option<Ground<'a>>,
    /// Its candidates, relative to it (those recorded by first name alone: that name).
    pub(super) below: Vec<&'a str>,
}

/// What a holding directory's candidates were found absent by.
#[derive(Clone, Copy)]
pub(super) enum Ground<'a> {
    /// Its listing in this launch.
    Listed(&'a Listing),
    /// Its stamp now, the same as the one a candidates' record took before its listing,
    /// settled then: its names are those the record saw (any name created or removed since
    /// would have changed the stamp), and it was not listed again.
    Unchanged(DirStamp),
}

impl<'a> Ground<'a> {
    /// The stamp a memo may trust: taken before the names were read, and settled then.
    pub(super) fn settled(self) -> Option<DirStamp> {
        match self {
            Ground::Listed(listing) => listing.settled,
            Ground::Unchanged(stamp) => Some(stamp),
        }
    }

    /// The listing, when the directory was listed in this launch.
    pub(super) fn listing(self) -> Option<&'a Listing> {
        match self {
            Ground::Listed(listing) => Some(listing),
            Ground::Unchanged(_) => None,
        }
    }
}

impl Holding<'_> {
    /// The first component of each candidate below the directory, sorted, each once: a
    /// candidate exists only if its first component is listed there.
    pub(super) fn first_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.below.iter().map(|rel| first_component(rel)).collect();
        names.sort_unstable();
        names.dedup();
        names
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
mod listed_absent;
mod paths;
#[cfg(test)]
mod tests;
