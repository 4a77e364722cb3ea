//! The lookup rule's candidates (`super::shadow`): every place where a new file would have
//! changed what a compile read, grouped by the directory that holds them.
//!
//! A [`Search`] is made once per launch from the command's search directories and keeps what
//! does not change between the rounds of a miss (each round adds a few passed-over files to
//! the include list, `super::miss`): each header's earlier-directory candidates, which
//! directories exist, and their listings. A libgit2 compile reads about 350 files and has
//! about 3 500 candidates; recomputing them every round cost more than hashing the headers.

use super::directives::{HashSet, Reached, Scanned};
use backend::key::lexical_join as lexical;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::ops::Range;
use std::path::Path;

/// A map keyed by paths (the fast hasher of [`HashSet`]).
type HashMap<K, V> = hashbrown::HashMap<K, V>;

/// The candidates of one include list, grouped by the directory holding them: the deepest
/// existing directory on the way to each candidate (a file or directory created there changes
/// its mtime).
pub(super) type Candidates = BTreeMap<String, Vec<String>>;

/// The search directories of one command and what this launch learnt about them.
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
    /// Each header's candidates in earlier directories, as made.
    earlier: HashMap<String, Vec<String>>,
    holders: Holders,
    listings: HashMap<String, Option<HashSet<OsString>>>,
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
            earlier: HashMap::new(),
            holders: Holders::default(),
            listings: HashMap::new(),
        }
    }

    /// The candidates of a compile that read `read` (absolute paths), whose directives are
    /// `scanned`.
    pub(super) fn candidates(&mut self, scanned: &Scanned, read: &HashSet<String>) -> Candidates {
        let reached = Reached::of(scanned, read);
        let searchable = reached.searchable(&self.roots, &self.forced);
        let mut more: Vec<String> = Vec::with_capacity(read.len() + reached.first_looks.len());
        let mut searched: Vec<&String> = Vec::with_capacity(read.len());
        for h in read {
            // gcc reads `<header>.gch` instead of a header when it exists (the compile is then
            // uncacheable: one created since the entry was stored must be noticed).
            more.push([h, ".gch"].concat());
            // A header a quoted include found beside its includer, and named by no directive
            // that searched, had no earlier places to look.
            if !reached.beside_only(h, &searchable) {
                searched.push(h);
            }
        }
        for h in &searched {
            if !self.earlier.contains_key(h.as_str()) {
                let list = self.earlier_than(h);
                self.earlier.insert((*h).clone(), list);
            }
        }
        // A quoted include looks beside its includer first, whatever it found later.
        more.extend(reached.first_looks.iter().cloned());
        // A `__has_include` that found nothing: a file in any place it looked makes it true.
        for (beside, name) in &reached.probes {
            let places: Vec<String> = beside
                .iter()
                .chain(self.dirs.iter())
                .map(|d| lexical(d, name))
                .collect();
            // One that found a file the compile read is answered by that file's presence.
            if !places.iter().any(|p| read.contains(p)) {
                more.extend(places);
            }
        }
        let Search {
            earlier,
            holders,
            own,
            ..
        } = self;
        let all = searched
            .iter()
            .flat_map(|h| earlier[h.as_str()].iter())
            .chain(more.iter());
        let mut unique: HashSet<&str> = HashSet::with_capacity(4 * read.len());
        let mut out = Candidates::new();
        for cand in all {
            // A file the compile read itself (the header, through a directory listed twice; a
            // wrapper that `#include_next`s it, like libstdc++'s `<stdlib.h>`) is no shadow.
            // Nor is anything in the compiler's own system directories: they change with its
            // installation, not the build, and their `#include_next` wrappers pass over
            // same-named files by design.
            if !unique.insert(cand) || read.contains(cand) || under_any(own, cand) {
                continue;
            }
            let dir = match cand.rfind('/') {
                Some(0) | None => "/",
                Some(i) => &cand[..i],
            };
            let holder = holders.of(dir);
            match out.get_mut(holder) {
                Some(list) => list.push(cand.clone()),
                None => {
                    out.insert(holder.to_string(), vec![cand.clone()]);
                }
            }
        }
        for v in out.values_mut() {
            v.sort_unstable();
        }
        out
    }

    /// The same relative name in every directory searched before each directory that `h`
    /// lies under (it may have been found in any of them), the compiler's own excepted.
    fn earlier_than(&self, h: &str) -> Vec<String> {
        let mut out = Vec::new();
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
        out
    }

    /// The candidates that exist, reading each holding directory once in this launch instead
    /// of a `stat` per candidate.
    pub(super) fn existing<'c>(&mut self, cands: &'c Candidates) -> Vec<&'c String> {
        let mut found = Vec::new();
        for (holder, list) in cands {
            let names = self.listings.entry_ref(holder.as_str()).or_insert_with(|| {
                std::fs::read_dir(holder)
                    .ok()
                    .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
            });
            let Some(names) = names else {
                continue;
            };
            for c in list {
                let Some(rest) = c
                    .strip_prefix(holder.as_str())
                    .map(|r| r.trim_start_matches('/'))
                else {
                    continue;
                };
                let first = rest.split('/').next().unwrap_or(rest);
                // The first component is listed; deeper ones (created since) need a look.
                if names.contains(std::ffi::OsStr::new(first))
                    && (first.len() == rest.len() || Path::new(c).exists())
                {
                    found.push(c);
                }
            }
        }
        found
    }
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
    /// The deepest existing directory among `dir` and its ancestors (`/` at worst).
    fn of(&mut self, dir: &str) -> &str {
        if !self.of_dir.contains_key(dir) {
            let mut best = dir.to_string();
            while best != "/" && !self.is_dir(&best) {
                best = match best.rfind('/') {
                    Some(0) | None => "/".to_string(),
                    Some(i) => best[..i].to_string(),
                };
            }
            self.of_dir.insert(dir.to_string(), best);
        }
        &self.of_dir[dir]
    }

    fn is_dir(&mut self, path: &str) -> bool {
        if let Some(&known) = self.is_dir.get(path) {
            return known;
        }
        let d = Path::new(path).is_dir();
        self.is_dir.insert(path.to_string(), d);
        d
    }
}
