//! What launches here would compute, for all edges at once and with the same code as a
//! launch:
//! - the source key each compile edge gets ([`source_keys`]; issue 15: a pull does not
//!   download CI's objects of sources the developer changed); only the edges that run the
//!   launcher count (`… cached-ninja cc -- <compiler> …`, or zero setup
//!   `cached-ninja <compiler> …`);
//! - the digest and stat stamp of every header CI's include sets name ([`headers_here`]), so
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
//!   them with listings shared by every record it checks; made in step with the downloads
//!   ([`FirstChecks`]), so that a launch finds the memo with the entry.

use super::candidates::Looked;
use super::config::launcher_for;
use super::directives::{self, HashSet, Scanned};
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
use std::time::{Instant, SystemTime};

mod first_checks;
pub use first_checks::{FirstChecks, ENTRY_WAIT};

/// The source key of every launcher edge of `graph` (the object directory `objdir`'s), by its
/// first explicit output as the graph names it (relative to the object root). Edges whose
/// command a launch would run unchanged (unreadable source, unknown compiler) are left out.
pub fn source_keys(objdir: &Path, graph: &Graph) -> HashMap<String, Digest> {
    sources_here(objdir, graph, false, &|| false)
        .0
        .into_iter()
        .map(|(out, s)| (out, s.key))
        .collect()
}

/// Whether some edge of `graph` runs the launcher: rewritten by `generate`, or through the
/// generator's own compiler launcher (zero setup: `CMAKE_C_COMPILER_LAUNCHER=cached-ninja`).
pub fn runs_launcher(graph: &Graph) -> bool {
    graph.edge_ids().any(|e| {
        let command = graph.evaluate_command(e);
        split_simple(&command).is_some_and(|words| compiler_words(&words).is_some())
    })
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
    directives: directives::Directives,
    cmd: CompileCommand,
}

impl SourcesHere {
    /// The source key a launch of the edge making `output` computes.
    pub fn key(&self, output: &str) -> Option<&Digest> {
        self.0.get(output).map(|s| &s.key)
    }

    /// The outputs whose source key here is none of `keys` (a plan's records'): what a build
    /// compiles whatever a pull of that plan brings.
    pub fn outputs_without(&self, keys: &std::collections::HashSet<Digest>) -> Vec<String> {
        let mut outs: Vec<String> = self
            .0
            .iter()
            .filter(|(_, s)| !keys.contains(&s.key))
            .map(|(out, _)| out.clone())
            .collect();
        outs.sort_unstable();
        outs
    }
}

/// The sources of `graph`'s launcher edges (as [`source_keys`]), each read once; with
/// `scan`, their include directives too (for [`remember_scans`]). Once `stopped` says so no
/// more are read (what was read is then partial, for no use).
pub fn sources_here(
    objdir: &Path,
    graph: &Graph,
    scan: bool,
    stopped: &(dyn Fn() -> bool + Sync),
) -> SourcesHere {
    let edges: Vec<EdgeId> = graph.edge_ids().collect();
    let found = for_items_until(objdir, &edges, stopped, |launcher, _: &mut (), &e| {
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

/// What a lookup here finds of each file `manifest`'s include sets name (each path once).
/// Files that cannot be read are absent.
pub struct HeadersHere(HashMap<String, HeaderHere>);

/// What a lookup here finds of one file an include set names.
struct HeaderHere {
    facts: HeaderFacts,
    /// Its stat stamp, when old enough to trust.
    stamp: Option<StatStamp>,
    /// Its path as the lookup rule names it (`Launcher::absolute`): made once, not once per
    /// record that includes it.
    absolute: String,
}

impl HeadersHere {
    /// The digest and settled stamp of each file that has one (what the pull records).
    pub fn known_stamps(&self) -> KnownStamps {
        let settled = self
            .0
            .iter()
            .filter_map(|(p, h)| Some((p.clone(), (h.facts.digest, h.stamp?))));
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
    let found = for_items(objdir, &paths, |launcher, _: &mut (), &p| {
        let (facts, stamp) = launcher.header_here(p, now)?;
        let absolute = launcher.absolute(p);
        Some((
            p.to_string(),
            HeaderHere {
                facts,
                stamp,
                absolute,
            },
        ))
    });
    HeadersHere(found.into_iter().collect())
}

/// Remembers the directive scan of every record of `manifest` whose source key here is the
/// record's and whose headers here have the record's digests (so the scan is of exactly the
/// bytes its action key covers), as a launch that read them would (`Launcher::scanned`);
/// a scan already remembered is kept. With it, makes the record's first check of the lookup
/// rule (`Launcher::first_check_for_pull`). The records in the order `checks` hands them out
/// (see [`FirstChecks`]), until all are taken, `stop` is set or it is `until`. Returns how
/// many scans were written or found.
pub fn remember_scans(
    objdir: &Path,
    manifest: &BuildManifest,
    checks: &FirstChecks,
    sources: &SourcesHere,
    headers: &HeadersHere,
    stop: &AtomicBool,
    until: Option<Instant>,
) -> usize {
    let records = &manifest.records;
    let late = || until.is_some_and(|t| Instant::now() >= t);
    let next = || {
        if stop.load(Ordering::Relaxed) || late() {
            return None;
        }
        checks.take()
    };
    let threads = rayon::current_num_threads().min(records.len());
    let found = with_launchers_carrying(
        objdir,
        threads,
        &checks.looked,
        next,
        |launcher, looked, i| {
            let checked = first_check(launcher, looked, &records[i], sources, headers);
            checks.done(i);
            checked
        },
    );
    found.len()
}

/// [`remember_scans`] of one record.
fn first_check(
    launcher: &Launcher<'_>,
    looked: &mut Looked,
    r: &EdgeRecord,
    sources: &SourcesHere,
    headers: &HeadersHere,
) -> Option<()> {
    let source = sources
        .0
        .get(r.output())
        .filter(|s| s.key == r.source_key)?;
    let scan = source.scan.as_ref()?;
    let mut seen = HashSet::with_capacity(r.includes.len());
    let mut files = Vec::with_capacity(r.includes.len());
    for inc in &r.includes {
        let h = headers
            .0
            .get(&inc.path)
            .filter(|h| h.facts.digest == inc.digest)?;
        if seen.insert(h.absolute.clone()) {
            files.push((h.absolute.clone(), h.facts.directives.clone()));
        }
    }
    let scanned = Scanned::of_parts(
        (scan.path.clone(), Some(scan.directives.clone())),
        files.into_iter(),
    );
    launcher.remember_scan_once(&r.action_key, &scanned);
    launcher.first_check_for_pull(&scan.cmd, &r.action_key, &scanned, &seen, looked);
    Some(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the threads of [`with_launchers`] carry from item to item, kept from one call to the
/// next: a thread takes one an earlier call left (or a new one) and leaves it when done.
struct Carried<S>(Mutex<Vec<S>>);

impl<S> Default for Carried<S> {
    fn default() -> Self {
        Carried(Mutex::new(Vec::new()))
    }
}

impl<S: Default> Carried<S> {
    fn take(&self) -> S {
        lock(&self.0).pop().unwrap_or_default()
    }

    fn leave(&self, s: S) {
        lock(&self.0).push(s);
    }
}

impl<S> Carried<S> {
    /// Every state left, taken out (dropped by the caller, outside the lock).
    fn take_all(&self) -> Vec<S> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// `each` of the items `next` hands out, with a launcher of the object directory `objdir`, as
/// a launch there would be: CPU work (reading and hashing), so on rayon's threads (`threads`
/// of them), one launcher and one `S` (what the thread carries from item to item) each; the
/// `None`s left out.
pub(crate) fn with_launchers<T, R: Send, S: Default + Send>(
    objdir: &Path,
    threads: usize,
    next: impl Fn() -> Option<T> + Sync,
    each: impl Fn(&Launcher<'_>, &mut S, T) -> Option<R> + Sync,
) -> Vec<R> {
    with_launchers_carrying(objdir, threads, &Carried::default(), next, each)
}

/// [`with_launchers`], each thread's `S` taken from `carried` (a new one when none is left)
/// and left there when it is done, for a later call.
fn with_launchers_carrying<T, R: Send, S: Default + Send>(
    objdir: &Path,
    threads: usize,
    carried: &Carried<S>,
    next: impl Fn() -> Option<T> + Sync,
    each: impl Fn(&Launcher<'_>, &mut S, T) -> Option<R> + Sync,
) -> Vec<R> {
    let objdir = &object_root(objdir);
    let Some(obj) = objdir.to_str() else {
        return Vec::new();
    };
    if threads == 0 {
        return Vec::new();
    }
    let found = Mutex::new(Vec::new());
    rayon::scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| {
                let link = FileLink::new(ObjDir::new(objdir));
                let launcher = launcher_for(obj, objdir, None, &link);
                let mut mine = Vec::new();
                let mut mine_carried = carried.take();
                while let Some(t) = next() {
                    mine.extend(each(&launcher, &mut mine_carried, t));
                }
                carried.leave(mine_carried);
                launcher.keep_facts();
                lock(&found).append(&mut mine);
            });
        }
    });
    found.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// `each` of `items` with [`with_launchers`], taken in their order (the first ones first).
pub(crate) fn for_items<T: Sync, R: Send, S: Default + Send>(
    objdir: &Path,
    items: &[T],
    each: impl Fn(&Launcher<'_>, &mut S, &T) -> Option<R> + Sync,
) -> Vec<R> {
    for_items_until(objdir, items, &|| false, each)
}

/// [`for_items`], but no item is taken once `stopped` says so.
fn for_items_until<T: Sync, R: Send, S: Default + Send>(
    objdir: &Path,
    items: &[T],
    stopped: &(dyn Fn() -> bool + Sync),
    each: impl Fn(&Launcher<'_>, &mut S, &T) -> Option<R> + Sync,
) -> Vec<R> {
    let at = AtomicUsize::new(0);
    let next = || match stopped() {
        true => None,
        false => items.get(at.fetch_add(1, Ordering::Relaxed)),
    };
    let threads = rayon::current_num_threads().min(items.len());
    with_launchers(objdir, threads, next, each)
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
pub(crate) fn compiler_words(words: &[String]) -> Option<&[String]> {
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
mod tests;
