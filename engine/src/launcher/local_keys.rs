//! What launches here would compute, for all edges at once and with the same code as a
//! launch:
//! - the source key each compile edge gets ([`source_keys`]; issue 15: a pull does not
//!   download CI's objects of sources the developer changed); only the edges that run the
//!   launcher count (`… cached-ninja cc -- <compiler> …`, or zero setup
//!   `cached-ninja <compiler> …`);
//! - the digest and stat stamp of every header CI's include sets name ([`header_stamps`]), so
//!   the pull records them with the stamps of those unchanged here and each launcher checks a
//!   header with a `stat` instead of reading and hashing it: once per header, not once per
//!   compile that includes it;
//! - the directive scan of each record whose source and headers are here as CI compiled them
//!   ([`remember_scans`]), remembered as a launch remembers its own: a launcher's first check
//!   of a pulled entry reads one memo instead of one per header (about 330 for a libgit2
//!   source, three quarters of its system calls);
//! - with that scan, the first check of the lookup rule itself, written as the launch's first
//!   check would write its memo (`Launcher::first_check_for_pull`): the launch then checks
//!   a few directory stamps instead of counting thousands of candidates, and the pull counts
//!   them with listings shared by every record it checks.

use super::candidates::Looked;
use super::config::launcher_for;
use super::directives::{self, Directive, HashSet, Scanned};
use super::header_facts::HeaderFacts;
use super::launch::Launcher;
use backend::compile::CompileCommand;
use backend::key::Digest;
use backend::ninja::graph::{EdgeId, Graph};
use backend::rewrite::compiler::split_simple;
use fetch::build_manifest::{BuildManifest, EdgeRecord};
use fetch::cache::StatStamp;
use fetch::objdir::ObjDir;
use fetch::pull::KnownStamps;
use fetch::want::FileLink;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::SystemTime;

/// The source key of every launcher edge of `graph` (the object directory `objdir`'s), by its
/// first explicit output as the graph names it (relative to the object root). Edges whose
/// command a launch would run unchanged (unreadable source, unknown compiler) are left out.
pub fn source_keys(objdir: &Path, graph: &Graph) -> HashMap<String, Digest> {
    sources_here(objdir, graph, false)
        .0
        .into_iter()
        .map(|(out, s)| (out, s.key))
        .collect()
}

/// Each launcher edge's source as a launch here reads it, by output (as [`source_keys`]).
#[derive(Default)]
pub struct SourcesHere(HashMap<String, SourceHere>);

/// One edge's source: its key and, scanned from the same bytes, its path and directives
/// (with the command, for the lookup rule's first check).
struct SourceHere {
    key: Digest,
    scan: Option<Scan>,
}

/// A source's path and directives, and the command that compiles it.
struct Scan {
    path: String,
    directives: Vec<Directive>,
    cmd: CompileCommand,
}

impl SourcesHere {
    /// The source key a launch of the edge making `output` computes.
    pub fn key(&self, output: &str) -> Option<&Digest> {
        self.0.get(output).map(|s| &s.key)
    }
}

/// The sources of `graph`'s launcher edges (as [`source_keys`]), each read once; with
/// `scan`, their include directives too (for [`remember_scans`]).
pub fn sources_here(objdir: &Path, graph: &Graph, scan: bool) -> SourcesHere {
    let edges: Vec<EdgeId> = graph.edge_ids().collect();
    let found = with_launchers(objdir, &edges, |launcher, _: &mut (), &e| {
        let out = *graph.explicit_outputs(e).first()?;
        let words = split_simple(&graph.evaluate_command(e))?;
        let (key, scan) = launcher.source_of(compiler_words(&words)?, |path, bytes, cmd| {
            scan.then(|| Scan {
                path,
                directives: directives::scan(bytes),
                cmd: cmd.clone(),
            })
        })?;
        let out = std::str::from_utf8(graph.path(out)).ok()?.to_string();
        Some((out, SourceHere { key, scan }))
    });
    SourcesHere(found.into_iter().collect())
}

/// What a lookup here finds of each file `manifest`'s include sets name (each path once): its
/// facts, and its stat stamp when old enough to trust. Files that cannot be read are absent.
pub struct HeadersHere(HashMap<String, (HeaderFacts, Option<StatStamp>)>);

impl HeadersHere {
    /// The digest and settled stamp of each file that has one (what the pull records).
    pub fn known_stamps(&self) -> KnownStamps {
        let settled = self
            .0
            .iter()
            .filter_map(|(p, (facts, stamp))| Some((p.clone(), (facts.digest, (*stamp)?))));
        KnownStamps(settled.collect())
    }
}

/// The files `manifest`'s include sets name, as a lookup here reads them (each read once, or
/// its facts taken from the memo of its version).
pub fn headers_here(objdir: &Path, manifest: &BuildManifest) -> HeadersHere {
    let mut paths: Vec<&str> = manifest
        .records
        .iter()
        .flat_map(|r| r.includes.iter().map(|i| i.path.as_str()))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let now = SystemTime::now();
    let found = with_launchers(objdir, &paths, |launcher, _: &mut (), &p| {
        Some((p.to_string(), launcher.header_here(p, now)?))
    });
    HeadersHere(found.into_iter().collect())
}

/// The digest and settled stamp that a lookup here finds for each file `manifest`'s include
/// sets name (each path once), for the files that can be read and are old enough to trust.
pub fn header_stamps(objdir: &Path, manifest: &BuildManifest) -> KnownStamps {
    headers_here(objdir, manifest).known_stamps()
}

/// Remembers the directive scan of every record of `manifest` whose source key here is the
/// record's and whose headers here have the record's digests (so the scan is of exactly the
/// bytes its action key covers), as a launch that read them would (`Launcher::scanned`);
/// a scan already remembered is kept. With it, makes the record's first check of the lookup
/// rule (`Launcher::first_check_for_pull`). The records of `order` first, in that order (the
/// pull's: the first objects to arrive have theirs first), then the rest. Stops early when
/// `stop` is set. Returns how many scans were written or found.
pub fn remember_scans(
    objdir: &Path,
    manifest: &BuildManifest,
    order: &[usize],
    sources: &SourcesHere,
    headers: &HeadersHere,
    stop: &AtomicBool,
) -> usize {
    let records = &manifest.records;
    let mut ordered: Vec<&EdgeRecord> = order.iter().filter_map(|&i| records.get(i)).collect();
    if ordered.len() < records.len() {
        let listed: std::collections::HashSet<usize> = order.iter().copied().collect();
        let rest = (0..records.len()).filter(|i| !listed.contains(i));
        ordered.extend(rest.map(|i| &records[i]));
    }
    with_launchers(objdir, &ordered, |launcher, looked: &mut Looked, r| {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        let source = sources
            .0
            .get(r.output())
            .filter(|s| s.key == r.source_key)?;
        let scan = source.scan.as_ref()?;
        let mut seen = HashSet::new();
        let mut files = Vec::with_capacity(r.includes.len());
        for inc in &r.includes {
            let (facts, _) = headers
                .0
                .get(&inc.path)
                .filter(|(f, _)| f.digest == inc.digest)?;
            let file = launcher.absolute(&inc.path);
            if seen.insert(file.clone()) {
                files.push((file, facts.directives.clone()));
            }
        }
        let scanned = Scanned::of_parts(
            (scan.path.clone(), Some(scan.directives.clone())),
            files.into_iter(),
        );
        launcher.remember_scan_once(&r.action_key, &scanned);
        launcher.first_check_for_pull(&scan.cmd, &r.action_key, &scanned, &seen, looked);
        Some(())
    })
    .len()
}

/// `each` of `items` with a launcher of the object directory `objdir`, as a launch there
/// would be: CPU work (reading and hashing), so on rayon's threads, one launcher and one
/// `S` (what the thread carries from item to item) each, taking the items in their order
/// (the first ones are done first); the `None`s left out.
fn with_launchers<T: Sync, R: Send, S: Default>(
    objdir: &Path,
    items: &[T],
    each: impl Fn(&Launcher<'_>, &mut S, &T) -> Option<R> + Sync,
) -> Vec<R> {
    let objdir = &object_root(objdir);
    let Some(obj) = objdir.to_str() else {
        return Vec::new();
    };
    let next = AtomicUsize::new(0);
    let threads = rayon::current_num_threads().min(items.len());
    if threads == 0 {
        return Vec::new();
    }
    let found = Mutex::new(Vec::with_capacity(items.len()));
    rayon::scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| {
                let link = FileLink::new(ObjDir::new(objdir));
                let launcher = launcher_for(obj, objdir, None, &link);
                let mut mine = Vec::new();
                let mut carried = S::default();
                while let Some(t) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                    mine.extend(each(&launcher, &mut carried, t));
                }
                launcher.keep_facts();
                found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .append(&mut mine);
            });
        }
    });
    found.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// A launch's object root: its working directory, absolute and without symbolic links (`-C
/// out` given relative would not normalise the commands' absolute paths into it, and every
/// key naming one would differ from the launch's: the pull then left out nearly every record
/// of libgit2 as "changed here").
fn object_root(objdir: &Path) -> PathBuf {
    std::fs::canonicalize(objdir).unwrap_or_else(|_| objdir.to_path_buf())
}

/// The compiler command a launcher command runs: after `cached-ninja cc [--dwp-step X] --`
/// (the step is the configuration's too: `launcher_for`), or after `cached-ninja` alone (zero
/// setup); leading `NAME=value` words are skipped. `None` for an edge that does not run the
/// launcher (and for `cc` with `--src-root`, which this does not follow).
fn compiler_words(words: &[String]) -> Option<&[String]> {
    let first = words.iter().position(|w| !is_assignment(w))?;
    let w = &words[first..];
    if w[0].rsplit('/').next() != Some("cached-ninja") {
        return None;
    }
    let after = |at: usize| (w.get(at).map(String::as_str) == Some("--")).then(|| &w[at + 1..]);
    match w.get(1).map(String::as_str) {
        Some("cc") if w.get(2).map(String::as_str) == Some("--dwp-step") => after(4),
        Some("cc") => after(2),
        None => None,
        Some(_) => Some(&w[1..]),
    }
}

/// Whether `w` is a shell variable assignment (`NAME=value`).
fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_compiler_command_of_a_launcher_edge() {
        let w = words("CACHED_NINJA_CACHE_DIR=/c /bin/cached-ninja cc -- gcc -c a.c -o a.o");
        assert_eq!(compiler_words(&w).unwrap(), &w[4..]);
        let w = words("cached-ninja gcc -c a.c -o a.o");
        assert_eq!(compiler_words(&w).unwrap(), &w[1..]);
        let w = words("/bin/cached-ninja cc --dwp-step llvm -- gcc -c a.c -o a.o");
        assert_eq!(compiler_words(&w).unwrap(), &w[5..]);
        for other in [
            "gcc -c a.c -o a.o",
            "cached-ninja cc --src-root s -- gcc",
            "cached-ninja cc --dwp-step llvm gcc",
            "cached-ninja cc",
            "X=1",
        ] {
            assert_eq!(compiler_words(&words(other)), None, "{other}");
        }
    }
}
