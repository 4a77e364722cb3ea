//! Hits served before Ninja runs (issue 15). In an object directory Ninja has not built in
//! yet (no `.ninja_log`), each launcher edge the build needs whose outputs are all missing
//! and whose entry the local cache holds is served here, in one process, with the launch's
//! own code ([`crate::launcher`]'s `serve_ahead`: the same lookup and the same
//! `serve_hit`), and entered in Ninja's build and deps logs as Ninja enters an edge it ran
//! (`backend::ninja::build_log`, `backend::ninja::deps_log`). Ninja then skips those edges:
//! no `sh -c` and no launcher process per hit, which bound a build of hits on two cores.
//!
//! Only `deps = gcc` edges without a response file are served, and an edge whose outputs or
//! depfile are not all there afterwards gets no entry: Ninja runs it, and its launcher hits
//! again. Whatever goes wrong here, Ninja runs the edge: an entry only ever lets Ninja skip
//! an output that exists, was made for that command and is newer than its inputs.

use crate::launcher::local_keys::{compiler_words, with_launchers};
use backend::compile::depfile;
use backend::ninja::build_log::{self, LogEntry, LogVersion};
use backend::ninja::deps_log::{self, DepsLog};
use backend::ninja::graph::{EdgeId, Graph};
use backend::ninja::load::bytes_to_path;
use backend::ninja::{canon, Escape, StateError};
use backend::rewrite::compiler::split_simple;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What a pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ahead {
    /// Edges served and entered in Ninja's logs.
    pub served: usize,
    /// Edges that could have been (launcher edges with every output missing).
    pub candidates: usize,
}

/// Why no pass was made; Ninja then runs every edge, as without one.
#[derive(Debug, thiserror::Error)]
pub enum AheadError {
    /// The Ninja files do not load.
    #[error("cannot load build.ninja: {0}")]
    Load(String),
    /// One of Ninja's own files cannot take entries.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One edge served: its outputs with their mtimes (ns) and its depfile's inputs, as Ninja
/// names its nodes.
struct Served {
    edge: EdgeId,
    outputs: Vec<(Vec<u8>, i64)>,
    inputs: Vec<Vec<u8>>,
}

/// Serves ahead what the `targets` (none: Ninja's defaults) need, in the working directory
/// (the object root), for the Ninja whose build log is `version`.
pub fn serve_here(targets: &[String], version: LogVersion) -> Result<Ahead, AheadError> {
    if Path::new(build_log::FILE).exists() {
        return Ok(Ahead::default());
    }
    let mut deps = DepsLog::open(Path::new(deps_log::FILE))?;
    let manifest = backend::ninja::load(Path::new("build.ninja"))
        .map_err(|e| AheadError::Load(e.to_string()))?;
    let graph = manifest.graph();
    let Some(wanted) = wanted_nodes(graph, targets) else {
        return Ok(Ahead::default());
    };
    let candidates: Vec<(EdgeId, Vec<String>)> = graph
        .edges_in_order(&wanted)
        .into_iter()
        .filter_map(|e| Some((e, candidate_words(graph, e)?)))
        .collect();
    let start = Instant::now();
    let at = AtomicUsize::new(0);
    let next = || candidates.get(at.fetch_add(1, Ordering::Relaxed));
    let threads = rayon::current_num_threads().min(candidates.len());
    let cwd = std::env::current_dir().map_err(|e| AheadError::Load(e.to_string()))?;
    let mut served = with_launchers(&cwd, threads, next, |launcher, _: &mut (), (e, words)| {
        make_output_dirs(graph, *e);
        launcher.serve_ahead(compiler_words(words)?).then_some(())?;
        entered(graph, *e)
    });
    served.sort_by_key(|s| s.edge);
    let end_ms = start.elapsed().as_millis() as u32;
    let mut entries = Vec::new();
    for s in &served {
        let newest = s.outputs.iter().map(|o| o.1).max().unwrap_or(0);
        let command = graph
            .try_command_for_log(s.edge)
            .map_err(|e| AheadError::Load(String::from_utf8_lossy(&e.message()).into_owned()))?;
        let hash = build_log::command_hash(&command);
        let inputs: Vec<&[u8]> = s.inputs.iter().map(Vec::as_slice).collect();
        for (out, mtime) in &s.outputs {
            deps.record(out, *mtime, &inputs)?;
            entries.push(LogEntry {
                output: out.clone(),
                start_ms: 0,
                end_ms,
                mtime: newest,
                command_hash: hash,
            });
        }
    }
    deps.write()?;
    build_log::append(Path::new(build_log::FILE), version, &entries)?;
    Ok(Ahead {
        served: served.len(),
        candidates: candidates.len(),
    })
}

/// The nodes `targets` name (none: the defaults); `None` where Ninja would stop with an
/// error (it says which).
fn wanted_nodes(graph: &Graph, targets: &[String]) -> Option<Vec<backend::ninja::NodeId>> {
    if targets.is_empty() {
        return graph.default_nodes().ok();
    }
    let args: Vec<&[u8]> = targets.iter().map(|t| t.as_bytes()).collect();
    backend::ninja::tools::collect_targets(graph, &args).ok()
}

/// The compile command of edge `e` if it is one to serve: a launcher edge with `deps = gcc`,
/// no response file, and every output missing.
fn candidate_words(graph: &Graph, e: EdgeId) -> Option<Vec<String>> {
    if graph.is_phony(e)
        || graph.binding(e, b"deps") != b"gcc"
        || !graph.binding(e, b"rspfile").is_empty()
    {
        return None;
    }
    let outputs_missing = graph.outputs(e).iter().all(|&n| {
        let p = bytes_to_path(graph.path(n));
        matches!(std::fs::symlink_metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    });
    if !outputs_missing {
        return None;
    }
    let words = split_simple(&graph.evaluate_command(e))?;
    compiler_words(&words)?;
    Some(words)
}

/// Makes the directories of `e`'s outputs, as Ninja does before it runs an edge.
fn make_output_dirs(graph: &Graph, e: EdgeId) {
    for &n in graph.outputs(e) {
        if let Some(dir) = bytes_to_path(graph.path(n)).parent() {
            if !dir.as_os_str().is_empty() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
    }
}

/// What Ninja would enter for edge `e` now that its launch was served: every output there
/// with its mtime, and the depfile's inputs (canonical), the depfile then removed as Ninja
/// removes it. `None` (no entry: Ninja runs the edge) when anything is not as a run leaves it.
fn entered(graph: &Graph, e: EdgeId) -> Option<Served> {
    let mut outputs = Vec::new();
    for &n in graph.outputs(e) {
        let meta = std::fs::metadata(bytes_to_path(graph.path(n))).ok()?;
        let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
        outputs.push((graph.path(n).to_vec(), mtime));
    }
    let depfile = graph.try_binding(e, b"depfile", Escape::None).ok()?;
    let depfile = bytes_to_path(&depfile);
    let deps = depfile::parse(&std::fs::read_to_string(&depfile).ok()?);
    if !deps.exact() {
        return None;
    }
    let mut inputs = Vec::with_capacity(deps.inputs.len());
    for i in deps.inputs {
        let mut p = i.into_bytes();
        canon::canonicalize(&mut p).ok()?;
        inputs.push(p);
    }
    std::fs::remove_file(&depfile).ok()?;
    Some(Served {
        edge: e,
        outputs,
        inputs,
    })
}
