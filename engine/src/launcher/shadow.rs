//! The lookup, not only its result (DESIGN §3): an include list is valid only while no file
//! exists where the preprocessor would have looked before it found each header. A header
//! created in an earlier `-I` directory, beside the source for a quoted include, or in an
//! earlier system directory would change what the compile reads; ccache's direct mode misses
//! it, we must not.
//!
//! For each header of an entry found under one of the command's search directories (`-iquote`,
//! `-I`, `CPATH`, `-isystem`, `C_INCLUDE_PATH`/`CPLUS_INCLUDE_PATH`, the compiler's own system
//! directories, `-idirafter`, in that order, after the source's own directory), the
//! *candidates* are the same relative name in every directory searched before that one. Three
//! more kinds come from the text of the files read (`super::directives`): beside the includer
//! of every quoted include that searched (it looks there first), every place a
//! `__has_include` that found nothing looked, and `<header>.gch` beside every header (gcc
//! reads it instead). A hit needs every candidate still absent, or present already when the
//! entry was stored (a same-named file passed over legitimately, or behind a conditional):
//! those join the entry's include list (`super::miss`), so they must still be there, unchanged.
//!
//! Checking hundreds of candidates per hit would cost more than the hit, so a memo per entry
//! and object directory records each directory holding candidates: by the stat stamp taken
//! before its listing when it was settled then (a file created in it since changes that
//! stamp), else by the first names of its candidates, listed again by every check (see
//! [`Launcher::write_memo`]). An entry without a memo here is checked in full once, against
//! the candidates present at its store (recorded with the roots normalised, so another layout
//! on this machine reads them); the pull makes that check for the records it pulls
//! ([`Launcher::first_check_for_pull`]), so their launches find a memo. Files the compile read itself
//! are never candidates, and neither is anything in the directories of the compiler's own
//! installation (its headers and the C++ library's: they change with it, and libstdc++'s
//! `#include_next` wrappers are passed over by design); its other system directories
//! (`/usr/local/include`, `/usr/include/<triple>`) are searched for candidates like the
//! project's (`candidates::private_to_compiler`). A header only a quoted include beside it names (no directive that
//! searched names it) has no earlier candidates: the preprocessor stopped beside its includer.
//! Gaps: the scan ignores conditionals, so a searching directive behind a false one adds
//! candidates (a false miss when such a file exists and the entry has no record of it here).

use super::candidates::{Ground, Holding, Looked, Search};
use super::directives::{HashSet, Scanned};
use super::launch::Launcher;
use super::links::Undone;
use super::listings::{
    dir_stamp, first_component, listing, look_below, look_past_listing, parse_stamped, push_stamp,
    rel_below, settled_stamp, Below, DirStamp, Listing,
};
use backend::compile::CompileCommand;
use backend::key::lexical_join as lexical;
use fetch::cache as fcache;
use std::path::Path;

mod memo;

impl Launcher<'_> {
    /// The include directives of the files a compile read, remembered under the action key
    /// of that include list with the roots normalised (their contents are in the key), else
    /// read and scanned.
    fn scanned(
        &self,
        action_key: &fcache::Digest,
        source: &str,
        read: &HashSet<String>,
    ) -> Scanned {
        let known = self
            .cache
            .memo_get(&scan_memo_key(action_key))
            .and_then(|text| Scanned::decode(&text, |p| self.roots.denormalize(p).into_owned()));
        if let Some(s) = known.filter(|s| s.covers(source, read)) {
            return s;
        }
        let now = std::time::SystemTime::now();
        let of_file = |f: &str| {
            // A stamp the lookup just trusted names the version without another `stat`.
            let known = self.read_scans.stamp_of(f);
            if let Some(facts) = known.and_then(|s| self.remembered_facts(Path::new(f), &s, now)) {
                return Some(facts.directives);
            }
            let md = std::fs::metadata(f).ok()?;
            Some(self.header_facts(Path::new(f), &md, now)?.directives)
        };
        let s = Scanned::read(source, read, &self.read_scans, of_file);
        self.keep_facts();
        self.remember_scan(action_key, &s);
        s
    }

    /// Remembers `scanned` under the action key of its include list (when every file was read).
    pub(super) fn remember_scan(&self, action_key: &fcache::Digest, scanned: &Scanned) {
        if scanned.complete() {
            let text = scanned.encode(|p| self.roots.normalize(p).into_owned());
            let _ = self.cache.memo_put(&scan_memo_key(action_key), &text);
        }
    }

    /// The absolute path by which the lookup rule names the file an include set names `norm`.
    pub(super) fn absolute(&self, norm: &str) -> String {
        lexical(self.roots.obj(), &self.roots.denormalize(norm))
    }

    /// Remembers `scanned`, a scan made outside a launch (the pull's, of files whose bytes
    /// are those `action_key` covers), unless a scan is remembered for it already.
    pub(super) fn remember_scan_once(&self, action_key: &fcache::Digest, scanned: &Scanned) {
        if self.cache.memo_get(&scan_memo_key(action_key)).is_none() {
            self.remember_scan(action_key, scanned);
        }
    }

    /// The directive scan of the source and of `seen`, whose bytes the compile's hashing
    /// already read (so the lookup rule reads no header twice), their directives taken from
    /// `seen`; `source` is the source's own scan, `None` when it could not be read. With it,
    /// the paths of `seen` as the lookup rule names them (absolute).
    pub(super) fn take_scan_of_seen(
        &self,
        cmd: &CompileCommand,
        source: Option<super::directives::Directives>,
        seen: &mut [super::lookup::Seen],
    ) -> (Scanned, HashSet<String>) {
        let mut paths = HashSet::with_capacity(seen.len() * 2);
        let headers = seen.iter_mut().filter_map(|s| {
            let path = lexical(self.roots.obj(), &self.roots.denormalize(&s.norm));
            paths
                .insert(path.clone())
                .then(|| (path, std::mem::take(&mut s.directives)))
        });
        let source = (lexical(self.roots.obj(), &cmd.source), source);
        let scanned = Scanned::of_parts(source, headers);
        (scanned, paths)
    }

    /// The lookup's search for `cmd`: its search directories and forced includes.
    pub(super) fn search(&self, cmd: &CompileCommand) -> Search {
        self.search_knowing(cmd, Looked::default())
    }

    /// [`Launcher::search`], asking the file system only what `looked` does not know yet.
    pub(super) fn search_knowing(&self, cmd: &CompileCommand, looked: Looked) -> Search {
        let (dirs, system) = self.search_dirs(cmd);
        // Forced includes are searched for too (from the working directory, then the chain).
        let forced: Vec<String> = cmd.forced_reads().into_iter().map(String::from).collect();
        Search::new(dirs, system, self.roots.obj(), forced, looked)
    }

    /// Adds the candidates of `headers` (as the compile named them) to `search`, their
    /// directive scan from the memo of action `key` (else the files are read).
    pub(super) fn add_candidates(
        &self,
        cmd: &CompileCommand,
        search: &mut Search,
        key: &fcache::Digest,
        headers: &[String],
    ) {
        let read: HashSet<String> = headers
            .iter()
            .map(|h| lexical(self.roots.obj(), h))
            .collect();
        let source = lexical(self.roots.obj(), &cmd.source);
        let scanned = self.scanned(key, &source, &read);
        search.update(&scanned, &read);
    }

    /// Whether a `*.gch` file or directory lies in a directory the compile searched (the
    /// directories of `search`) or in the directory of any input: gcc reads `<header>.gch`
    /// instead of a header when it exists, and its depfile then lists neither, so the object
    /// would depend on a file the key never saw. Each directory is listed once per launch
    /// (the candidates of `search` read the same listings). The compiler's own directories,
    /// which hold no candidates, are listed only when [`no_gch_key`]'s memo is not there:
    /// they held 71 % of the names a libgit2 miss listed, for this check alone. A directory
    /// that exists and cannot be listed counts as holding one.
    pub(super) fn precompiled_header_near(&self, search: &mut Search, inputs: &[String]) -> bool {
        let mut dirs = search.dirs().to_vec();
        dirs.extend(inputs.iter().map(|p| lexical(self.roots.obj(), &parent(p))));
        dirs.sort();
        dirs.dedup();
        let (own, project): (Vec<String>, Vec<String>) =
            dirs.into_iter().partition(|d| search.is_own(d));
        if project
            .iter()
            .any(|d| search.may_hold_name_ending(d, b".gch"))
        {
            return true;
        }
        // Taken before the listings: a name created after them changes a stamp.
        let key = no_gch_key(&own, self.trust_stat);
        if key
            .as_ref()
            .is_some_and(|k| self.cache.memo_get(k).is_some())
        {
            return false;
        }
        if own.iter().any(|d| search.may_hold_name_ending(d, b".gch")) {
            return true;
        }
        if let Some(k) = key {
            let _ = self.cache.memo_put(&k, "no .gch");
        }
        false
    }

    /// The candidates of the headers a compile read (`read`, absolute) that exist now and are
    /// files: passed over by this compile (behind a false conditional, or later in the search
    /// order than what it found), with `search` grown by their candidates (for
    /// [`Launcher::remember_lookup`] when the list is final). `scanned` is the directive scan
    /// of the source and these files.
    pub(super) fn passed_over(
        &self,
        search: &mut Search,
        scanned: &Scanned,
        read: &HashSet<String>,
    ) -> Vec<String> {
        search.update(scanned, read);
        let mut found = search.existing();
        found.retain(|p| Path::new(p.as_str()).is_file());
        found
    }

    /// Records, after a compile stored `action_key`, the candidates that exist now (passed
    /// over legitimately) and the stamps of the directories holding candidates; `search` holds
    /// the candidates of the entry's include list.
    pub(super) fn remember_lookup(&self, action_key: &fcache::Digest, mut search: Search) {
        let present = search.existing();
        let undone = search.undone_dirs().to_vec();
        // Made once for both records (each holder's candidates, relative to it).
        let holders: Vec<Holding> = search.holders().collect();
        if search.sure() {
            self.write_memo(action_key, &holders, &undone, &present);
        }
        // The same, independent of this layout, for another object directory's first check.
        // None present (most compiles) reads as no memo: a file created in the cache costs a
        // miss about 130 µs, a removal of none a few.
        if present.is_empty() {
            self.cache.memo_remove(&present_key(action_key));
        } else {
            let shared: String = present
                .iter()
                .map(|p| format!("{}\n", self.roots.normalize(p)))
                .collect();
            let _ = self.cache.memo_put(&present_key(action_key), &shared);
        }
        self.remember_candidates(action_key, &search, &undone, &holders);
        drop(holders);
        self.leave(search);
    }

    /// Frees `search`, or leaves it to the process's exit when the process ends with this
    /// launch (thousands of paths freed one by one cost more than the exit).
    fn leave(&self, search: Search) {
        if self.one_shot {
            std::mem::forget(search);
        }
    }

    /// Records the candidates of `search` with the roots normalised (holders), so that another
    /// object directory's first check of the entry lists a few tens of directories instead of
    /// counting thousands of candidates again. Below each holder: `n <name>` for a candidate
    /// whose first component the holder's listing names (it exists, or something is on its
    /// way), else only `f <first component>`, once for all the candidates it starts (a tenth
    /// of the bytes: 165 KB were 15 KB for a libgit2 compile, on average). Another check
    /// finds those absent while their first component is still not there, and counts in full
    /// otherwise. A holder settled before its listing is written `H <stamp> <dir>` instead of
    /// `h <dir>`: a check that finds the same stamp there (the same directory, no name
    /// created or removed since: this tree's sources, the system's headers) takes its `f`
    /// lines as written without listing it (its `n` lines are still looked at).
    /// `undone` are the directories a directive's `..` undid (another tree's first check
    /// counts the candidates, and refuses the entry, where one is no plain directory), and
    /// `holders` are `search`'s.
    pub(super) fn remember_candidates(
        &self,
        action_key: &fcache::Digest,
        search: &Search,
        undone: &[String],
        holders: &[Holding],
    ) {
        let mut text = String::new();
        // One line, `false` (nothing recorded: the first check counts) for a name with a
        // newline.
        let mut line = |tag: &str, name: &str| {
            text.extend([tag, name, "\n"]);
            !name.contains('\n')
        };
        for dir in undone {
            if !line("u ", &self.roots.normalize(dir)) {
                return;
            }
        }
        for holder in holders {
            // (A holder not listed here has its candidates written `n`: looked at by every
            // check.)
            let listing = holder.ground.and_then(Ground::listing);
            // A holder settled before its listing is recorded with that stamp: a first check
            // that finds the same stamp there takes the `f` lines below as they are, unlisted.
            // (Stamps not trusted here: none recorded for another check to trust.)
            let head = match listing.and_then(|l| l.settled).filter(|_| self.trust_stat) {
                Some(stamp) => {
                    let mut head = "H ".to_string();
                    push_stamp(&mut head, stamp);
                    head.push(' ');
                    head
                }
                None => "h ".to_string(),
            };
            if !line(&head, &self.roots.normalize(holder.dir)) {
                return;
            }
            // Whether the listing names each first component, asked once per component (a
            // holder's thousands of candidates start with a few hundred): those it does not
            // name are written once each, in the order first met.
            let mut listed: hashbrown::HashMap<&str, bool> = hashbrown::HashMap::new();
            let mut firsts: Vec<&str> = Vec::new();
            for rel in &holder.below {
                let first = first_component(rel);
                let named = *listed.entry(first).or_insert_with(|| {
                    let named =
                        listing.map_or(true, |l| l.names.contains(std::ffi::OsStr::new(first)));
                    if !named {
                        firsts.push(first);
                    }
                    named
                });
                if named && !line("n ", rel) {
                    return;
                }
            }
            for first in firsts {
                if !line("f ", first) {
                    return;
                }
            }
        }
        let key = self.candidates_key(action_key, search);
        let _ = self.cache.memo_put(&key, &text);
    }

    /// The key of [`Launcher::remember_candidates`]'s record: the action and its search
    /// directories, normalised.
    pub(super) fn candidates_key(
        &self,
        action_key: &fcache::Digest,
        search: &Search,
    ) -> fcache::Digest {
        let mut id = format!("cached-ninja lookup candidates 4\0{action_key}");
        for d in search.dirs().iter().chain(search.forced()) {
            id.push('\0');
            id.push_str(&self.roots.normalize(d));
        }
        fcache::Digest::of(id.as_bytes())
    }

    /// A first check from [`Launcher::remember_candidates`]'s record: `Some(found)`, the
    /// first candidate that exists now and is not in `present` (else `None`, and the memo is
    /// written unless a candidate's way is listed without it, [`Below::WayOnly`]), or `None`
    /// when there is no record, a holder is not a directory here, a first component recorded
    /// as absent (`f`) is there now, or a directory a `..` undid is no plain one here (then
    /// the candidates are counted). A holder whose recorded stamp it still has is not listed.
    pub(super) fn first_check_recorded(
        &self,
        action_key: &fcache::Digest,
        search: &Search,
        present: &[String],
    ) -> Option<Option<String>> {
        let text = self
            .cache
            .memo_get(&self.candidates_key(action_key, search))?;
        let mut holders: Vec<(String, Seen, Vec<&str>)> = Vec::new();
        let mut undone: Vec<String> = Vec::new();
        let mut sure = true;
        for line in fcache::lines(&text) {
            if let Some(dir) = line.strip_prefix("u ") {
                let dir = self.roots.denormalize(dir).into_owned();
                if !Undone::is_plain_now(&dir) {
                    return None;
                }
                undone.push(dir);
            } else if let Some(h) = line.strip_prefix("h ") {
                let dir = self.roots.denormalize(h).into_owned();
                let seen = Seen::Listed(listing(&dir)?);
                holders.push((dir, seen, Vec::new()));
            } else if let Some(stamped) = line.strip_prefix("H ") {
                let (stamp, h) = parse_stamped(stamped)?;
                let dir = self.roots.denormalize(h).into_owned();
                // The same stamp here: the same directory, with no name created or removed
                // since the record's listing (settled before it), so its `f` lines hold.
                let seen = match dir_stamp(&dir) {
                    Some(now) if now == stamp && self.trust_stat => Seen::Unchanged(stamp),
                    _ => Seen::Listed(listing(&dir)?),
                };
                holders.push((dir, seen, Vec::new()));
            } else if let Some(first) = line.strip_prefix("f ") {
                // Candidates absent while their first component is: one there now (new since
                // the record) leaves the check to the full count.
                let (_, seen, rels) = holders.last_mut()?;
                if let Seen::Listed(l) = seen {
                    if l.names.contains(std::ffi::OsStr::new(first)) {
                        return None;
                    }
                }
                rels.push(first);
            } else if let Some(rel) = line.strip_prefix("n ") {
                let (dir, seen, rels) = holders.last_mut()?;
                let joined = |p: &String| rel_below(dir, p) == Some(rel);
                // (Under an unchanged holder, `rel`'s first component is still listed: that
                // is why it is an `n` line.)
                let below = match seen {
                    Seen::Listed(l) => look_below(&l.names, dir, rel),
                    Seen::Unchanged(_) => look_past_listing(dir, rel),
                };
                match below {
                    Below::There if !present.iter().any(joined) => {
                        return Some(Some([dir, "/", rel].concat()));
                    }
                    Below::WayOnly => sure = false,
                    _ => {}
                }
                rels.push(rel);
            } else {
                return None;
            }
        }
        if sure {
            let holding: Vec<Holding> = holders
                .iter()
                .map(|(dir, seen, rels)| Holding {
                    dir,
                    ground: Some(seen.ground()),
                    below: rels.clone(),
                })
                .collect();
            self.write_memo(action_key, &holding, &undone, present);
        }
        Some(None)
    }

    /// Why the lookup that found the entry's headers no longer holds: the first candidate
    /// that exists now and did not when the entry was stored here, or a directive's `..`
    /// that undoes a link; `None` when it still holds.
    pub(super) fn shadowing(
        &self,
        cmd: &CompileCommand,
        action_key: &fcache::Digest,
        headers: &[String],
    ) -> Option<Refusal> {
        let memo = self.cache.memo_get(&self.memo_key(action_key));
        let mut present: Vec<String> = Vec::new();
        match &memo {
            Some(text) => {
                if Self::memo_holds(text, &mut present, self.trust_stat) {
                    return None;
                }
            }
            // First check here: the candidates that existed when the entry was stored, in
            // whatever layout that was (passed over then, so passed over now; no memo: none).
            None => {
                if let Some(text) = self.cache.memo_get(&present_key(action_key)) {
                    present = fcache::lines(&text)
                        .map(|l| self.roots.denormalize(l).into_owned())
                        .collect();
                }
            }
        }
        let mut search = self.search(cmd);
        if memo.is_none() {
            if let Some(found) = self.first_check_recorded(action_key, &search, &present) {
                return found.map(Refusal::Shadowed);
            }
        }
        self.add_candidates(cmd, &mut search, action_key, headers);
        if let Some(link) = search.through_link() {
            return Some(Refusal::ThroughLink(link.to_string()));
        }
        let found = search.existing().into_iter().find(|c| !present.contains(c));
        if found.is_none() && search.sure() {
            let undone = search.undone_dirs().to_vec();
            let holders: Vec<Holding> = search.holders().collect();
            self.write_memo(action_key, &holders, &undone, &present);
        }
        self.leave(search);
        found.map(Refusal::Shadowed)
    }

    /// The first check of a pulled entry, made by the pull with the scan it remembered
    /// (`super::local_keys`): when no candidate of `headers` (absolute) exists, the lookup memo
    /// is written as a launch's first check would write it, so the launch only checks the
    /// memo. Nothing is written when a memo is here already or a candidate exists (the launch
    /// then checks in full and compiles). What was asked of the file system is kept in
    /// `looked` for the next record.
    pub(super) fn first_check_for_pull(
        &self,
        cmd: &CompileCommand,
        action_key: &fcache::Digest,
        scanned: &Scanned,
        headers: &HashSet<String>,
        looked: &mut Looked,
    ) {
        if self.cache.memo_get(&self.memo_key(action_key)).is_some() {
            return;
        }
        let mut search = self.search_knowing(cmd, std::mem::take(looked));
        if let Some(pairs) = search.count_once(scanned, headers) {
            let undone = search.undone_dirs().to_vec();
            self.write_memo(action_key, &search.counted(&pairs), &undone, &[]);
        }
        *looked = search.into_looked();
    }
}

/// Why [`Launcher::shadowing`] refuses an entry.
pub(super) enum Refusal {
    /// This candidate exists now.
    Shadowed(String),
    /// A directive's `..` undoes this directory, which is no plain one (`super::links`).
    ThroughLink(String),
}

/// The key of the memo of an include list's directive scan (`Launcher::scanned`).
fn scan_memo_key(scan_key: &fcache::Digest) -> fcache::Digest {
    fcache::Digest::of(format!("cached-ninja directives 2\0{scan_key}").as_bytes())
}

/// The key of the layout-independent record of an entry's candidates present at its store.
fn present_key(action_key: &fcache::Digest) -> fcache::Digest {
    fcache::Digest::of(format!("cached-ninja lookup present 1\0{action_key}").as_bytes())
}

/// How a first check through the candidates' record found one holding directory.
enum Seen {
    /// Listed now.
    Listed(Listing),
    /// Its stamp the record's ([`Ground::Unchanged`]): not listed.
    Unchanged(DirStamp),
}

impl Seen {
    /// What the memo written after the check rests on.
    fn ground(&self) -> Ground<'_> {
        match self {
            Seen::Listed(l) => Ground::Listed(l),
            Seen::Unchanged(stamp) => Ground::Unchanged(*stamp),
        }
    }
}

/// The key of the memo that directories `dirs` hold no `*.gch` name, from their stamps
/// (absent ones too: one created later changes the key); `None` when one is not settled
/// ([`settled_stamp`]) or stamps are not trusted.
fn no_gch_key(dirs: &[String], trust_stat: bool) -> Option<fcache::Digest> {
    if !trust_stat {
        return None;
    }
    let now = std::time::SystemTime::now();
    let mut id = String::from("cached-ninja no gch 1");
    for d in dirs {
        let stamp = match std::fs::metadata(d) {
            Ok(md) => Some(settled_stamp(&md, now)?),
            Err(_) => None,
        };
        id.push_str(&format!("\0{d}\0{stamp:?}"));
    }
    Some(fcache::Digest::of(id.as_bytes()))
}

pub(super) fn parent(path: &str) -> String {
    match memchr::memrchr(b'/', path.as_bytes()) {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}
