//! A miss's rounds ([`Search::update`]): the candidates of what each round of the include
//! list adds, taken in with what their holders' listings say.

use super::*;

impl Search {
    /// Adds the candidates of a compile that read `read` (absolute paths, a superset of the
    /// last round's), whose directives are `scanned`.
    pub(in crate::launcher) fn update(&mut self, scanned: &Scanned, read: &HashSet<String>) {
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
