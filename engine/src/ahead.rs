//! Hits served ahead of Ninja (issue 15). Each launcher edge the build needs whose outputs are
//! all missing and whose entry the local cache holds is served here (the caller, `cached-ninja
//! build`, asks only on Ninja's first build in an object directory, where every output is
//! missing), in one process, with the launch's own code ([`crate::launcher`]'s `serve_ahead`:
//! the same lookup and the same `serve_hit`), and entered in Ninja's build and deps logs as
//! Ninja enters an edge it ran (`backend::ninja::build_log`, `backend::ninja::deps_log`). Ninja
//! then skips those edges: no `sh -c` and no launcher process per hit, which bound a build of
//! hits on two cores.
//!
//! With a pull, a pass serves each record as the pull brings it ([`Meanwhile`]), beside
//! Ninja's run of what no record covers, then the rest; it reads and writes Ninja's logs only
//! at its end, after that run.
//!
//! Only `deps = gcc` edges without a response file are served, and an edge whose outputs or
//! depfile are not all there afterwards gets no entry: Ninja runs it, and its launcher hits
//! again. Whatever goes wrong here, Ninja runs the edge: an entry only ever lets Ninja skip
//! an output that exists, was made for that command and is newer than its inputs.

use crate::fill::targets::load_graph;
use crate::launcher::launch::Launcher;
use crate::launcher::local_keys::{compiler_words, for_items, with_launchers};
use backend::compile::depfile;
use backend::ninja::build_log::{self, LogEntry, LogVersion};
use backend::ninja::deps_log::{self, DepsLog};
use backend::ninja::graph::{EdgeId, Graph};
use backend::ninja::load::bytes_to_path;
use backend::ninja::{canon, Escape, StateError};
use backend::rewrite::compiler::split_simple;
use backend::rewrite::dwp_step::DwpStep;
use fetch::cache::StatStamp;
use fetch::objdir::ObjDir;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// What comes to a pass while it runs, besides what the local cache holds when it starts: the
/// entries a pull brings, and what Ninja builds meanwhile.
#[derive(Clone, Copy)]
pub struct Meanwhile<'a> {
    /// The output of the next record whose entry the local cache received (it waits for
    /// one); `None` once no more will come. No function: none comes.
    pub arrived: Option<&'a (dyn Fn() -> Option<String> + Sync)>,
    /// Targets Ninja builds while the pass runs: no edge they need is served.
    pub built_first: &'a [String],
}

/// Serves ahead what the `targets` (none: Ninja's defaults) need, in the working directory
/// (the object root), for the Ninja whose build log is `version`: each edge whose record
/// arrives `meanwhile` as it arrives, then every other from what the local cache holds; the
/// logs are written at the end (after Ninja's run `meanwhile`). Nothing when the Ninja files
/// set `builddir` (Ninja's logs are then elsewhere).
pub fn serve_here(
    targets: &[String],
    version: LogVersion,
    meanwhile: Meanwhile,
) -> Result<Ahead, AheadError> {
    let graph = &load_graph(Path::new(".")).map_err(|e| AheadError::Load(e.to_string()))?;
    if logs_elsewhere(graph) {
        return Ok(Ahead::default());
    }
    let candidates = candidates_of(graph, targets, meanwhile.built_first)?;
    if candidates.is_empty() {
        return Ok(Ahead::default());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| AheadError::Load(format!("no working directory: {e}")))?;
    // The build log's time for every entry: taken before the first lookup, so that an input
    // changed while the pass runs is newer than the entry, and Ninja runs its edge next time
    // (Ninja 1.12 records a command's start the same way).
    let stamp = stamp_now(&ObjDir::new(&cwd).ahead_stamp_file())?;
    let start = Instant::now();
    // A zero-setup launch takes the packager from the Ninja files (`run_zero_setup`).
    let facts_step = crate::launcher::ninja_facts(&cwd).map_or(DwpStep::None, |f| f.dwp_step);
    let serve = |launcher: &Launcher<'_>, _: &mut (), i: usize| {
        let (e, words) = &candidates[i];
        // Served only with the packager its launch would take (it decides the key and the
        // object's directory tokens).
        if launch_step(words, launcher.dwp_step, facts_step) != Some(launcher.dwp_step) {
            return None;
        }
        make_output_dirs(graph, *e);
        launcher.serve_ahead(compiler_words(words)?).then_some(())?;
        entered(graph, *e)
    };
    let taken = Taken::new(graph, &candidates);
    let mut served = match meanwhile.arrived {
        Some(arrived) => {
            let next = || loop {
                if let Some(i) = taken.take_output(&arrived()?) {
                    return Some(i);
                }
            };
            let served = with_launchers(&cwd, rayon::current_num_threads(), next, serve);
            // Their end, whatever stopped the serving: Ninja's run meanwhile has ended.
            while arrived().is_some() {}
            served
        }
        None => Vec::new(),
    };
    let rest: Vec<usize> = (0..candidates.len()).filter(|&i| taken.take(i)).collect();
    served.extend(for_items(&cwd, &rest, |l, s, &i| serve(l, s, i)));
    served.sort_by_key(|s| s.edge);
    let end_ms = start.elapsed().as_millis() as u32;
    enter(graph, &served, version, (stamp, end_ms))?;
    Ok(Ahead {
        served: served.len(),
        candidates: candidates.len(),
    })
}

/// The edges to serve of what `targets` need (the launcher edges whose outputs are all
/// missing; none that waits for a command of the build, nor one Ninja runs meanwhile for
/// `built_first`), with their commands' words; none where Ninja would refuse the targets.
fn candidates_of(
    graph: &Graph,
    targets: &[String],
    built_first: &[String],
) -> Result<Vec<(EdgeId, Vec<String>)>, AheadError> {
    let Some(wanted) = wanted_nodes(graph, targets) else {
        return Ok(Vec::new());
    };
    let built_first: HashSet<EdgeId> = match built_first {
        // Nothing writes the deps log meanwhile: a damaged one is found before anything is
        // served (it is read again at the end).
        [] => {
            DepsLog::open(Path::new(deps_log::FILE))?;
            HashSet::new()
        }
        first => match wanted_nodes(graph, first) {
            Some(nodes) => edges_run_for(graph, nodes),
            None => return Ok(Vec::new()),
        },
    };
    let made_here = MadeHere::new(graph);
    Ok(graph
        .edges_in_order(&wanted)
        .into_iter()
        .filter(|&e| !made_here.feeds(e) && !built_first.contains(&e))
        .filter_map(|e| Some((e, candidate_words(graph, Path::new("."), e)?)))
        .collect())
}

/// Enters the edges `served` in Ninja's deps log and build log (of `version`), as Ninja
/// enters an edge it ran, with the log's `(mtime, end_ms)` for every line.
fn enter(
    graph: &Graph,
    served: &[Served],
    version: LogVersion,
    (stamp, end_ms): (i64, u32),
) -> Result<(), AheadError> {
    let mut deps = DepsLog::open(Path::new(deps_log::FILE))?;
    let mut entries = Vec::new();
    for s in served {
        let command = graph.try_command_for_log(s.edge).map_err(|e| {
            let out = graph
                .outputs(s.edge)
                .first()
                .map(|&n| graph.path(n))
                .unwrap_or_default();
            AheadError::Load(format!(
                "the command of {}: {}",
                String::from_utf8_lossy(out),
                String::from_utf8_lossy(&e.message())
            ))
        })?;
        let hash = build_log::command_hash(&command);
        let inputs: Vec<&[u8]> = s.inputs.iter().map(Vec::as_slice).collect();
        for (out, mtime) in &s.outputs {
            deps.record(out, *mtime, &inputs)?;
            entries.push(LogEntry {
                output: out.clone(),
                start_ms: 0,
                end_ms,
                mtime: stamp,
                command_hash: hash,
            });
        }
    }
    deps.write()?;
    build_log::append(Path::new(build_log::FILE), version, &entries)?;
    Ok(())
}

/// The edges Ninja runs to build `nodes`: what they need, and the validations of those
/// (`|@`, which Ninja builds too) with what they need.
fn edges_run_for(graph: &Graph, mut nodes: Vec<backend::ninja::NodeId>) -> HashSet<EdgeId> {
    let mut run = HashSet::new();
    while !nodes.is_empty() {
        let new: Vec<EdgeId> = graph
            .edges_in_order(&nodes)
            .into_iter()
            .filter(|&e| run.insert(e))
            .collect();
        nodes = new
            .iter()
            .flat_map(|&e| graph.validations(e).iter().copied())
            .collect();
    }
    run
}

/// The candidates of a pass, each served once: as its record arrives, or after.
struct Taken<'c> {
    /// Candidate by output path.
    by_output: HashMap<&'c [u8], usize>,
    taken: Vec<AtomicBool>,
}

impl<'c> Taken<'c> {
    fn new(graph: &'c Graph, candidates: &[(EdgeId, Vec<String>)]) -> Taken<'c> {
        let by_output = candidates
            .iter()
            .enumerate()
            .flat_map(|(i, (e, _))| graph.outputs(*e).iter().map(move |&n| (graph.path(n), i)));
        Taken {
            by_output: by_output.collect(),
            taken: candidates.iter().map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Takes candidate `i`, if no one has yet.
    fn take(&self, i: usize) -> bool {
        !self.taken[i].swap(true, Ordering::AcqRel)
    }

    /// Takes the candidate with output `output`, if there is one no one has taken yet.
    fn take_output(&self, output: &str) -> Option<usize> {
        let &i = self.by_output.get(output.as_bytes())?;
        self.take(i).then_some(i)
    }
}

/// The outputs of the edges `targets` (none: Ninja's defaults) need in the object directory
/// `objdir`, as the Ninja files name them; `None` when no pass can be made there: the files
/// do not load, set `builddir` (Ninja's logs are then elsewhere), or name no such targets.
pub fn needed_outputs(objdir: &Path, targets: &[String]) -> Option<HashSet<String>> {
    let graph = &load_graph(objdir).ok()?;
    if logs_elsewhere(graph) {
        return None;
    }
    let wanted = wanted_nodes(graph, targets)?;
    let outputs = graph.edges_in_order(&wanted).into_iter().flat_map(|e| {
        let outs = graph.outputs(e).iter();
        outs.map(|&n| String::from_utf8_lossy(graph.path(n)).into_owned())
    });
    Some(outputs.collect())
}

/// Whether the Ninja files set `builddir`: Ninja's logs are then there, not in the object
/// directory, and no pass is made.
fn logs_elsewhere(graph: &Graph) -> bool {
    let builddir = graph.scope_var(backend::ninja::graph::ROOT_SCOPE, b"builddir");
    builddir.is_some_and(|d| !d.is_empty())
}

/// Writes the stamp file at `path` and returns its mtime (ns): the file system's time now.
fn stamp_now(path: &Path) -> Result<i64, AheadError> {
    let io = |e| AheadError::State(backend::ninja::state_file::io_err(path, e));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, b"").map_err(io)?;
    let meta = std::fs::metadata(path).map_err(io)?;
    Ok(StatStamp::of(&meta).mtime_ns)
}

/// The packager a launch of `words` takes (`config`: the configuration's, as `cc` without
/// `--dwp-step` and this pass's launchers take it; `facts`: the Ninja files', as the
/// zero-setup form takes it); `None` for a `--dwp-step` the launch would refuse.
fn launch_step(words: &[String], config: DwpStep, facts: DwpStep) -> Option<DwpStep> {
    match (
        words.get(1).map(String::as_str),
        words.get(2).map(String::as_str),
    ) {
        (Some("cc"), Some("--dwp-step")) => words.get(3).and_then(|w| DwpStep::from_word(w)),
        (Some("cc"), _) => Some(config),
        _ => Some(facts),
    }
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

/// Which nodes a command of the build makes, directly or through phony edges: an edge with
/// such an input (order-only too) is not served ahead, since Ninja would run that command
/// first and the compile's lookup could find another file then (a generated header).
struct MadeHere<'g> {
    graph: &'g Graph,
    /// Per node: 0 not known yet, 1 made by no command, 2 made by one.
    known: std::cell::RefCell<Vec<u8>>,
}

impl<'g> MadeHere<'g> {
    fn new(graph: &'g Graph) -> MadeHere<'g> {
        MadeHere {
            graph,
            known: std::cell::RefCell::new(vec![0; graph.node_count()]),
        }
    }

    /// Whether some input of edge `e` is made by a command (through phony edges).
    fn feeds(&self, e: EdgeId) -> bool {
        self.graph.inputs(e).iter().any(|&n| self.made(n))
    }

    /// Whether node `n` is made by a command, directly or through phony edges.
    fn made(&self, n: backend::ninja::NodeId) -> bool {
        match self.known.borrow()[n.index()] {
            1 => return false,
            2 => return true,
            _ => {}
        }
        // Marked first: a cycle (which Ninja refuses) ends here.
        self.known.borrow_mut()[n.index()] = 1;
        let made = match self.graph.in_edge(n) {
            None => false,
            Some(p) if self.graph.is_phony(p) => self.feeds(p),
            Some(_) => true,
        };
        self.known.borrow_mut()[n.index()] = if made { 2 } else { 1 };
        made
    }
}

/// The compile command of edge `e` if it is one to serve: the launcher itself first (no
/// `NAME=value` before it, which the launch would run under), `deps = gcc`, no response file,
/// and every output missing (in the object root `root`).
fn candidate_words(graph: &Graph, root: &Path, e: EdgeId) -> Option<Vec<String>> {
    if graph.is_phony(e)
        || graph.binding(e, b"deps") != b"gcc"
        || !graph.binding(e, b"rspfile").is_empty()
    {
        return None;
    }
    let outputs_missing = graph.outputs(e).iter().all(|&n| {
        let p = root.join(bytes_to_path(graph.path(n)));
        matches!(std::fs::symlink_metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    });
    if !outputs_missing {
        return None;
    }
    let words = split_simple(&graph.evaluate_command(e))?;
    if words.first()?.rsplit('/').next() != Some("cached-ninja") {
        return None;
    }
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
        // A path the build log cannot hold on one line gets no entry.
        if graph
            .path(n)
            .iter()
            .any(|b| matches!(b, b'\t' | b'\n' | b'\r'))
        {
            return None;
        }
        let meta = std::fs::metadata(bytes_to_path(graph.path(n))).ok()?;
        outputs.push((graph.path(n).to_vec(), StatStamp::of(&meta).mtime_ns));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The edges of `text` (a `build.ninja` in a temporary directory, where `have` exist)
    /// that would be served ahead, by first output.
    fn candidates_of(text: &str, have: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("build.ninja"), text).unwrap();
        for f in have {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let manifest = backend::ninja::load(&dir.path().join("build.ninja")).unwrap();
        let graph = manifest.graph();
        let made = MadeHere::new(graph);
        graph
            .edge_ids()
            .filter(|&e| !made.feeds(e) && candidate_words(graph, dir.path(), e).is_some())
            .map(|e| String::from_utf8_lossy(graph.path(graph.outputs(e)[0])).into_owned())
            .collect()
    }

    #[test]
    fn ninjas_run_of_a_target_takes_the_validations_of_what_it_builds() {
        let dir = tempfile::tempdir().unwrap();
        let text = "rule cc
  command = cc $in -o $out
build a.o: cc a.c |@ check
build check: cc v.o
build v.o: cc v.c
build other.o: cc o.c
";
        std::fs::write(dir.path().join("build.ninja"), text).unwrap();
        let manifest = backend::ninja::load(&dir.path().join("build.ninja")).unwrap();
        let graph = manifest.graph();
        let nodes = wanted_nodes(graph, &["a.o".to_string()]).unwrap();
        let mut run: Vec<String> = edges_run_for(graph, nodes)
            .into_iter()
            .map(|e| String::from_utf8_lossy(graph.path(graph.outputs(e)[0])).into_owned())
            .collect();
        run.sort();
        assert_eq!(run, ["a.o", "check", "v.o"]);
    }

    #[test]
    fn an_edge_that_waits_for_a_command_is_not_served_ahead() {
        let text = "rule cc
  command = cached-ninja cc -- gcc -MD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
rule gen
  command = touch $out
rule env
  command = CPATH=x cached-ninja cc -- gcc -MD -MF $out.d -c $in -o $out
  depfile = $out.d
  deps = gcc
build gen.h: gen
build order: phony || gen.h
build plain.o: cc plain.c
build waits.o: cc waits.c || order
build through_phony_of_nothing.o: cc p.c || nothing
build nothing: phony
build made.o: cc made.c | gen.h
build exists.o: cc e.c
build under_env.o: env u.c
";
        let picked = candidates_of(text, &["exists.o"]);
        assert_eq!(picked, ["plain.o", "through_phony_of_nothing.o"]);
    }
}
