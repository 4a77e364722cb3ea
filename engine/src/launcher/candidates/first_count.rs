//! The pull's first count of a record's candidates ([`Search::count_once`]): each header's
//! candidates counted once per set of search directories, and each candidate once, against
//! the listings a thread keeps across the records it checks ([`Looked`]).

use super::*;

impl Looked {
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

impl Search {
    /// The first count of a fresh search (the pull's first check of a record): the holders of
    /// the candidates of a compile that read `read` with the first name of each candidate
    /// below its holder, or `None` when a candidate exists, a holder's listing is unsure
    /// (it names the way to a candidate that is not there), or a quoted include was taken as
    /// not run. The same candidates as
    /// [`Search::update`], but each header's are counted once per set of search directories
    /// and kept in `looked` for the next record: the pull checks hundreds of records that
    /// share most headers.
    pub(in crate::launcher) fn count_once(
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
    pub(in crate::launcher) fn counted<'s>(&'s self, pairs: &'s [(u32, u32)]) -> Vec<Holding<'s>> {
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
}
