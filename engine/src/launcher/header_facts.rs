//! What a launch learns from a header's bytes (their digest, that the key can hash all of them,
//! their include directives), remembered per version of the file: the compiles of a build that
//! include the same header read and hash it once between them, not once each.
//!
//! A version is the file's settled stat stamp (device, inode, size, both timestamps at least
//! `SETTLE` old: the rule the include manifests' stamps follow). A write changes the ctime,
//! so a remembered version is never another version's: a header edited since is read again.
//! The facts of a directory's headers share one memo ([`FactsByDir`]): a libgit2 miss read
//! about 300 memos, one per header, where 30 directories hold them.
//! Only a header without unkeyed inputs (`backend::compile::unkeyed_input`, or a relative
//! `#line`) is remembered, so a remembered one has none; the others are read at every launch
//! and refused as before.
//! With `stat = false` (`Launcher::trust_stat` off) nothing is remembered or trusted.

use super::directives::{decode_directive, encode_directives, parent_of, scan, Directives};
use super::launch::Launcher;
use backend::compile::{self, Unkeyed};
use fetch::cache::{self as fcache, StatStamp};
use std::cell::RefCell;
use std::hash::BuildHasher;
use std::path::Path;
use std::time::SystemTime;

/// A map keyed by paths and names (hashbrown's fast hasher).
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// What a header's bytes say.
#[derive(Clone)]
pub(super) struct HeaderFacts {
    /// The digest of its bytes.
    pub(super) digest: fcache::Digest,
    /// What in it the key cannot hash, if anything.
    pub(super) unkeyed: Option<Unkeyed>,
    /// Its include directives.
    pub(super) directives: Directives,
}

impl Launcher<'_> {
    /// The facts of the file at `path`, whose metadata a `stat` just gave (`md`): remembered
    /// for that version, else read now (and remembered when settled and keyed). `None` when
    /// it cannot be read, or changed since that `stat`.
    pub(super) fn header_facts(
        &self,
        path: &Path,
        md: &std::fs::Metadata,
        now: SystemTime,
    ) -> Option<HeaderFacts> {
        let stamp = StatStamp::of(md);
        if let Some(facts) = self.remembered_facts(path, &stamp, now) {
            return Some(facts);
        }
        let mut f = std::fs::File::open(path).ok()?;
        let bytes = fcache::read_whole(&mut f, md.len()).ok()?;
        // A header's relative `#line` is not keyed by the roots' spellings as the source's is
        // (`Launcher::key_fields`): the headers are known only after the source key.
        let relative_line = compile::relative_line_name(&bytes);
        let facts = HeaderFacts {
            digest: fcache::Digest::of(&bytes),
            unkeyed: compile::unkeyed_input(&bytes, self.time_pinned.get())
                .or(relative_line.then_some(Unkeyed::RelativeLine)),
            directives: scan(&bytes),
        };
        // The bytes read must be the stamp's version: a file replaced or written since the
        // `stat` is reported unreadable (the caller compiles, and stores nothing).
        if !f.metadata().is_ok_and(|m| StatStamp::of(&m) == stamp) {
            return None;
        }
        // Remembered only when nothing in it is unkeyed, whatever the time macros' pinning.
        if let Some((dir, name)) = self.facts_place(path, &stamp, now) {
            if !relative_line && compile::unkeyed_input(&bytes, false).is_none() {
                self.facts.learn(dir, name, stamp, &facts);
            }
        }
        Some(facts)
    }

    /// The facts remembered for version `stamp` of the file at `path` (settled, and stamps
    /// trusted), if any.
    pub(super) fn remembered_facts(
        &self,
        path: &Path,
        stamp: &StatStamp,
        now: SystemTime,
    ) -> Option<HeaderFacts> {
        let (dir, name) = self.facts_place(path, stamp, now)?;
        self.facts.get(self, &dir, name, stamp)
    }

    /// The directory (absolute) and name under which the facts of version `stamp` of the
    /// file at `path` are remembered, when they may be (settled, stamps trusted, a name
    /// without a newline).
    fn facts_place<'p>(
        &self,
        path: &'p Path,
        stamp: &StatStamp,
        now: SystemTime,
    ) -> Option<(String, &'p str)> {
        if !(self.trust_stat && stamp.is_settled(now)) {
            return None;
        }
        let path = path.to_str()?;
        let (dir, name) = match memchr::memrchr(b'/', path.as_bytes()) {
            Some(i) => (
                backend::key::lexical_join(self.roots.obj(), parent_of(path)),
                &path[i + 1..],
            ),
            None => (self.roots.obj().to_string(), path),
        };
        (!name.is_empty() && !name.contains('\n')).then_some((dir, name))
    }

    /// Writes the facts this launch learned (merged into each directory's memo as it is now,
    /// so that launches writing at once lose little of each other's).
    pub(super) fn keep_facts(&self) {
        let learned = std::mem::take(&mut *self.facts.learned.borrow_mut());
        for (dir, new) in learned {
            let key = dir_key(&dir);
            // The records that decode (one that does not is no facts, as when read).
            let memo = self
                .cache
                .memo_get(&key)
                .map(DirMemo::of)
                .unwrap_or_default();
            let mut known: DirFacts = (memo.records.names(&memo.text))
                .filter_map(|name| Some((name.to_string(), memo.get(name)?)))
                .collect();
            known.extend(new);
            let _ = self.cache.memo_put(&key, &encode(&known));
        }
    }
}

/// The facts of the headers of each directory a launch asked about, read from the
/// directory's memo at the first ask, and those the launch learned, written by
/// [`Launcher::keep_facts`].
#[derive(Default)]
pub struct FactsByDir {
    /// Per directory: its memo as read, and what this launch learned there.
    known: RefCell<HashMap<String, DirMemo>>,
    /// Per directory, the facts learned by this launch and not yet written.
    learned: RefCell<HashMap<String, DirFacts>>,
}

/// Per name of a directory's header, a version and its facts.
type DirFacts = HashMap<String, (StatStamp, HeaderFacts)>;

/// A directory's memo as read, its records decoded when asked for (a libgit2 miss asks for
/// about a sixth of the records its directories' memos hold: `/usr/include`'s gather every
/// header any compile read), and the facts this launch learned there.
#[derive(Default)]
struct DirMemo {
    /// The memo's text ([`encode`]'s form).
    text: String,
    /// Per name, where its record starts in `text` (the last one of a name).
    records: RecordIndex,
    /// Learned by this launch: these take the place of the memo's.
    learned: DirFacts,
}

impl DirMemo {
    /// The memo `text`, its records found; empty if its lines are not records' ([`index`]).
    fn of(text: String) -> DirMemo {
        let records = index(&text).unwrap_or_default();
        DirMemo {
            records,
            text,
            learned: DirFacts::new(),
        }
    }

    /// The version and facts of header `name`, if known.
    fn get(&self, name: &str) -> Option<(StatStamp, HeaderFacts)> {
        if let Some((s, f)) = self.learned.get(name) {
            return Some((*s, f.clone()));
        }
        let mut lines = fcache::lines(&self.text[self.records.get(&self.text, name)?..]);
        let head = lines.next()?;
        decode_record(head, &mut lines).map(|(_, s, f)| (s, f))
    }
}

impl FactsByDir {
    /// The facts of version `stamp` of header `name` in `dir`, if remembered.
    fn get(
        &self,
        launcher: &Launcher<'_>,
        dir: &str,
        name: &str,
        stamp: &StatStamp,
    ) -> Option<HeaderFacts> {
        let mut known = self.known.borrow_mut();
        let memo = known.entry_ref(dir).or_insert_with(|| {
            let text = launcher.cache.memo_get(&dir_key(dir));
            text.map(DirMemo::of).unwrap_or_default()
        });
        let (s, f) = memo.get(name)?;
        (s == *stamp).then_some(f)
    }

    /// Forgets what was read of the memos (tests: a memo planted since is read).
    #[cfg(test)]
    pub(super) fn forget(&self) {
        self.known.borrow_mut().clear();
    }

    /// Records that version `stamp` of header `name` in `dir` has `facts`.
    fn learn(&self, dir: String, name: &str, stamp: StatStamp, facts: &HeaderFacts) {
        let entry = (stamp, facts.clone());
        if let Some(k) = self.known.borrow_mut().get_mut(&dir) {
            k.learned.insert(name.to_string(), entry.clone());
        }
        let mut learned = self.learned.borrow_mut();
        learned
            .entry(dir)
            .or_default()
            .insert(name.to_string(), entry);
    }
}

/// The memo key of the facts of directory `dir`'s headers.
pub(super) fn dir_key(dir: &str) -> fcache::Digest {
    fcache::Digest::of(format!("cached-ninja header facts 7\0{dir}").as_bytes())
}

/// The memo's text: per header, a line `h <dev> <ino> <size> <mtime> <ctime> <digest>
/// <count> <name>`, then its `count` directives.
pub(super) fn encode(facts: &DirFacts) -> String {
    let mut text = String::new();
    for (name, (s, f)) in facts {
        let head = format!(
            "h {} {} {} {name}\n",
            s.words(),
            f.digest,
            f.directives.len()
        );
        text.push_str(&head);
        encode_directives(f.directives.iter(), &mut text);
    }
    text
}

/// [`encode`]'s text back whole (with no unkeyed input: only such facts are remembered);
/// `None` if malformed. The tests' oracle of [`DirMemo`], which decodes a record when asked.
#[cfg(test)]
fn decode(text: &str) -> Option<DirFacts> {
    let mut out = DirFacts::new();
    let mut lines = fcache::lines(text);
    while let Some(head) = lines.next() {
        let (name, stamp, facts) = decode_record(head, &mut lines)?;
        out.insert(name.to_string(), (stamp, facts));
    }
    Some(out)
}

/// The record whose `h` line is `head`, its directives the next lines of `lines`: the
/// header's name, version and facts; `None` if malformed.
fn decode_record<'t>(
    head: &'t str,
    lines: &mut impl Iterator<Item = &'t str>,
) -> Option<(&'t str, StatStamp, HeaderFacts)> {
    let (stamp, digest, count, name) = head_fields(head)?;
    let stamp = StatStamp::from_words(stamp)?;
    let digest = fcache::Digest::from_hex(digest)?;
    let directives = lines
        .take(count)
        .map(decode_directive)
        .collect::<Option<Vec<_>>>()?;
    if directives.len() != count {
        return None;
    }
    let facts = HeaderFacts {
        digest,
        unkeyed: None,
        directives: directives.into(),
    };
    Some((name, stamp, facts))
}

/// The fields of a record's `h` line: its stamp's five words, its digest, the count of its
/// directives and the header's name (which may hold spaces); `None` if malformed.
fn head_fields(head: &str) -> Option<(&str, &str, usize, &str)> {
    let rest = head.strip_prefix("h ")?;
    let mut spaces = memchr::memchr_iter(b' ', rest.as_bytes());
    let stamp_end = spaces.nth(4)?;
    let digest_end = spaces.next()?;
    let (count, name) = rest[digest_end + 1..].split_once(' ')?;
    let count = count.parse().ok()?;
    Some((
        &rest[..stamp_end],
        &rest[stamp_end + 1..digest_end],
        count,
        name,
    ))
}

/// Where each record of [`encode`]'s `text` starts, by name (the last of a name); `None` if
/// a line is not where a record's is or a record's directives are cut short. The records
/// themselves are checked when decoded.
fn index(text: &str) -> Option<RecordIndex> {
    let mut out = RecordIndex::default();
    let mut lines = fcache::lines(text);
    let at = |s: &str| s.as_ptr() as usize - text.as_ptr() as usize;
    while let Some(head) = lines.next() {
        let (_, _, count, name) = head_fields(head)?;
        if lines.by_ref().take(count).count() != count {
            return None;
        }
        out.insert(text, at(head), at(name)..at(name) + name.len());
    }
    Some(out)
}

/// Where each record of a memo's text starts, by the header's name: the names are ranges of
/// the text, not copies (a miss of libgit2's `attrcache.c` indexes 490 records and reads 297).
#[derive(Default)]
struct RecordIndex {
    hasher: hashbrown::DefaultHashBuilder,
    /// (where the record starts, where its name lies) in the text.
    table: hashbrown::HashTable<(usize, std::ops::Range<usize>)>,
}

impl RecordIndex {
    /// Records that the record starting at `start` of `text` is that of the name at `name`
    /// (in place of an earlier one of that name).
    fn insert(&mut self, text: &str, start: usize, name: std::ops::Range<usize>) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(&text[name.clone()]);
        let same = |(_, n): &(usize, std::ops::Range<usize>)| text[n.clone()] == text[name.clone()];
        match self.table.find_mut(hash, same) {
            Some(slot) => *slot = (start, name),
            None => {
                let rehash =
                    |(_, n): &(usize, std::ops::Range<usize>)| hasher.hash_one(&text[n.clone()]);
                self.table.insert_unique(hash, (start, name), rehash);
            }
        }
    }

    /// Where the record of `name` starts in `text` (the one indexed), if there is one.
    fn get(&self, text: &str, name: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(name);
        let found = self.table.find(hash, |(_, n)| &text[n.clone()] == name)?;
        Some(found.0)
    }

    /// The names indexed, in `text` (the one indexed).
    fn names<'t>(&'t self, text: &'t str) -> impl Iterator<Item = &'t str> + 't {
        self.table.iter().map(move |(_, n)| &text[n.clone()])
    }

    /// How many names are indexed.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_through_their_text() {
        let facts = HeaderFacts {
            digest: fcache::Digest::of(b"x"),
            unkeyed: None,
            directives: vec![
                Some(("a.h".into(), true, false)),
                None,
                Some(("sys/b.h".into(), false, true)),
            ]
            .into(),
        };
        let stamp = StatStamp {
            dev: 1,
            ino: u64::MAX,
            size: 7,
            mtime_ns: -5,
            ctime_ns: 1 << 62,
        };
        let mut dir = DirFacts::new();
        dir.insert("a name.h".into(), (stamp, facts.clone()));
        dir.insert(
            "empty.h".into(),
            (
                stamp,
                HeaderFacts {
                    directives: Vec::new().into(),
                    ..facts.clone()
                },
            ),
        );
        let back = decode(&encode(&dir)).unwrap();
        assert_eq!(back.len(), 2);
        let (s, f) = &back["a name.h"];
        assert_eq!(*s, stamp);
        assert_eq!(f.digest, facts.digest);
        assert_eq!(f.directives, facts.directives);
        assert!(back["empty.h"].1.directives.is_empty());
        assert!(decode("not a line\n").is_none());
        let text = encode(&dir);
        let cut = &text[..text.rfind("c\n").unwrap()];
        assert!(decode(cut).is_none(), "a directive short");
        assert!(decode(&text.replace("i q a.h", "z q a.h")).is_none());
    }

    /// A memo read record by record gives what the whole decode gives, for every name; one
    /// whose lines are not records' is empty, and a malformed record is no facts.
    #[test]
    fn records_decoded_when_asked_match_the_whole_decode() {
        let stamp = |n: u64| StatStamp {
            dev: 1,
            ino: n,
            size: n * 3,
            mtime_ns: -(n as i64),
            ctime_ns: 1 << 40,
        };
        let mut dir = DirFacts::new();
        for n in 0..40u64 {
            let directives = (0..n % 5)
                .map(|k| (k != 2).then(|| (format!("d{k} x.h"), k % 2 == 0, k == 3)))
                .collect();
            let facts = HeaderFacts {
                digest: fcache::Digest::of(&n.to_le_bytes()),
                unkeyed: None,
                directives,
            };
            dir.insert(format!("h{n} with space.h"), (stamp(n), facts));
        }
        // A name written twice: the later record is the one kept.
        let text = encode(&dir) + "h 1 2 3 4 5 " + &"0".repeat(64) + " 0 h7 with space.h\n";
        let whole = decode(&text).unwrap();
        let memo = DirMemo::of(text.clone());
        assert_eq!(memo.records.len(), whole.len());
        for (name, (s, f)) in &whole {
            let (s2, f2) = memo.get(name).unwrap();
            assert_eq!(
                (s2, f2.digest, &f2.directives),
                (*s, f.digest, &f.directives)
            );
        }
        assert!(memo.get("absent.h").is_none());
        assert_eq!(DirMemo::of("not a record\n".into()).records.len(), 0);
        let cut = &text[..text.rfind("c\n").unwrap()];
        assert_eq!(
            DirMemo::of(cut.to_string()).records.len(),
            0,
            "a directive short"
        );
        // A directive of h3's record made malformed (the first such line in the text could
        // be h7's first record, which the later one replaces: one run in 32 found none broken).
        let at = text.find(" h3 with space.h\n").unwrap();
        let bad = text[..at].to_string() + &text[at..].replacen("i q d0 x.h", "z q d0 x.h", 1);
        let memo = DirMemo::of(bad.clone());
        let broken = whole.keys().filter(|n| memo.get(n).is_none()).count();
        assert!(broken >= 1 && decode(&bad).is_none());
    }
}
