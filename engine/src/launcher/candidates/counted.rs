//! What the pull's first checks count (`super::Search::count_once`): candidates as numbered
//! (holder, first name) pairs, each candidate's and each header's kept, and one record's
//! union of them.
//!
//! A libgit2 record's headers give about 7 000 pairs, of which about 1 100 differ (the
//! headers of one directory share their earlier places): the union takes each once by its
//! number instead of sorting them all.

use super::HashMap;
use super::HashSet;

/// Some candidates, counted: the pairs of those absent, and those that exist.
#[derive(Default)]
pub(super) struct Part {
    pub(super) pairs: Vec<u32>,
    pub(super) existing: Vec<String>,
    /// A holder's listing named the way to a candidate that is not there.
    pub(super) unsure: bool,
}

impl Part {
    /// Adds these candidates' pairs to the union `ids` of `pairs` (for a compile that read
    /// `read`), or `None` when one exists that it did not read (a file it read is no
    /// candidate), or a holder is unsure.
    pub(super) fn add_to(
        &self,
        pairs: &mut Pairs,
        ids: &mut Vec<u32>,
        read: &HashSet<String>,
    ) -> Option<()> {
        if self.unsure || self.existing.iter().any(|c| !read.contains(c)) {
            return None;
        }
        pairs.take(&self.pairs, ids);
        Some(())
    }
}

/// The key of the parts, `(context, header)`, borrowed: hashed as the tuple is.
#[derive(Hash)]
pub(super) struct PartOf<'h>(pub(super) u32, pub(super) &'h str);

impl hashbrown::Equivalent<(u32, String)> for PartOf<'_> {
    fn equivalent(&self, key: &(u32, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// The key of the computed includes' parts, `(context, directory, header)`, borrowed.
#[derive(Hash)]
pub(super) struct ComputedOf<'h>(pub(super) u32, pub(super) u32, pub(super) &'h str);

impl hashbrown::Equivalent<(u32, u32, String)> for ComputedOf<'_> {
    fn equivalent(&self, key: &(u32, u32, String)) -> bool {
        self.0 == key.0 && self.1 == key.1 && self.2 == key.2
    }
}

/// What a candidate outside the compiler's own directories counts as.
#[derive(Clone, Copy)]
pub(super) enum Counted {
    /// Absent: this (holder, first name) pair.
    Absent(u32),
    /// It exists.
    There,
    /// No holder is known to hold it, or its holder's listing names the way to it but not it.
    Unsure,
}

/// What candidates counted as, by path: at most [`MAX_BY_CANDIDATE`] (those after are counted
/// each time).
#[derive(Default)]
pub(super) struct ByCandidate(HashMap<String, Counted>);

/// The most candidates a [`ByCandidate`] keeps: about 100 bytes each, so at most about 7 MB
/// per checking thread (one per core) at any scale.
const MAX_BY_CANDIDATE: usize = 1 << 16;

impl ByCandidate {
    pub(super) fn get(&self, c: &str) -> Option<Counted> {
        self.0.get(c).copied()
    }

    pub(super) fn keep(&mut self, c: &str, counted: Counted) {
        if self.0.len() < MAX_BY_CANDIDATE {
            self.0.insert(c.to_string(), counted);
        }
    }
}

/// Strings numbered in the order first seen.
#[derive(Default)]
pub(super) struct Names {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    pub(super) fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    pub(super) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// (holder, first name) pairs numbered in the order first seen, and the round of the union
/// each was last taken into.
#[derive(Default)]
pub(super) struct Pairs {
    ids: HashMap<(u32, u32), u32>,
    pairs: Vec<(u32, u32)>,
    taken: Vec<u32>,
    round: u32,
}

impl Pairs {
    /// The number of `pair`.
    pub(super) fn id(&mut self, pair: (u32, u32)) -> u32 {
        let next = self.pairs.len() as u32;
        let id = *self.ids.entry(pair).or_insert(next);
        if id == next {
            self.pairs.push(pair);
            self.taken.push(0);
        }
        id
    }

    /// Begins a union: no pair is in it.
    pub(super) fn begin(&mut self) {
        self.round = self.round.wrapping_add(1);
        if self.round == 0 {
            self.taken.fill(0);
            self.round = 1;
        }
    }

    /// Adds to `ids` those of `part` not in the union yet.
    fn take(&mut self, part: &[u32], ids: &mut Vec<u32>) {
        for &id in part {
            let taken = &mut self.taken[id as usize];
            if *taken != self.round {
                *taken = self.round;
                ids.push(id);
            }
        }
    }

    /// The pairs of the union `ids`, sorted.
    pub(super) fn sorted(&self, ids: &[u32]) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = ids.iter().map(|&id| self.pairs[id as usize]).collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Candidates are kept as counted up to the cap; past it they are counted each time.
    #[test]
    fn candidates_are_kept_up_to_the_cap() {
        let mut by = ByCandidate::default();
        for i in 0..MAX_BY_CANDIDATE + 5 {
            by.keep(&format!("/c/{i}"), Counted::Absent(i as u32));
        }
        assert_eq!(by.0.len(), MAX_BY_CANDIDATE);
        assert!(matches!(by.get("/c/7"), Some(Counted::Absent(7))));
        assert!(by.get(&format!("/c/{MAX_BY_CANDIDATE}")).is_none());
    }

    #[test]
    fn a_union_takes_each_pair_once_and_a_new_union_starts_empty() {
        let mut pairs = Pairs::default();
        let a = pairs.id((2, 1));
        let b = pairs.id((0, 5));
        assert_eq!(pairs.id((2, 1)), a);
        let part = Part {
            pairs: vec![a, b, a],
            ..Part::default()
        };
        let read = HashSet::new();
        pairs.begin();
        let mut ids = Vec::new();
        part.add_to(&mut pairs, &mut ids, &read).unwrap();
        part.add_to(&mut pairs, &mut ids, &read).unwrap();
        assert_eq!(pairs.sorted(&ids), [(0, 5), (2, 1)]);
        pairs.begin();
        let mut again = Vec::new();
        let c = pairs.id((1, 1));
        pairs.take(&[c, b], &mut again);
        assert_eq!(pairs.sorted(&again), [(0, 5), (1, 1)]);
        // A candidate that exists and was not read fails the record; one read does not.
        let existing = Part {
            existing: vec!["/x/a.h".into()],
            ..Part::default()
        };
        assert!(existing.add_to(&mut pairs, &mut again, &read).is_none());
        let read: HashSet<String> = ["/x/a.h".to_string()].into_iter().collect();
        assert!(existing.add_to(&mut pairs, &mut again, &read).is_some());
    }
}
