//! The rewrite into cache-aware rules (DESIGN §2): every compile edge of a generated Ninja
//! manifest goes through the launcher, everything else stays as it was.
//!
//! How, and why so:
//! - The rewrite edits the generator's **text** rather than re-emitting the graph, so the
//!   files keep their size and shape (a no-op `ninja` reads about as many bytes as before)
//!   and a reader still recognises CMake's or Meson's output.
//! - For each rule used by at least one compile edge, a **twin rule** `NAME__cached_ninja`
//!   is written just before the original (same file, so same scope), with every binding
//!   copied as written (description, depfile, deps, restat, rspfile, pool…) and the command
//!   `<launcher> <original command> [policy flags]`. Compile edges switch to the twin by
//!   their rule name only; their own bindings, pools and paths are untouched. So `ninja -t
//!   commands` differs from the original by the launcher prefix (and the policy's flags).
//! - A **compile edge** is one whose evaluated command is one simple shell command running
//!   a recognised gcc/clang driver that [`crate::compile::parse`] takes as one cacheable
//!   compile, or rustc with a command the rustc model takes ([`compiler::classify`]), whose
//!   outputs the policy does not exclude, and which has no `command` binding of its own (that
//!   would win over any rule's). The launcher tells rustc from a C compiler by its name.
//! - The **generator edge** (a `generator = 1` edge producing the top-level manifest:
//!   CMake's `RERUN_CMAKE`, Meson's `REGENERATE_BUILD`) gets a twin whose command runs the
//!   hook after the generator, so a regenerated manifest is rewritten again before ninja
//!   reloads it.
//! - Each changed file starts with a [`record`] line naming the hash of its original.
//!
//! The caller supplies the files' original texts in the order the loader read them (see
//! [`RecordingReader`]) and the graph loaded from them; the k-th `build` statement met in
//! load order is edge k, which is checked, not assumed.

pub mod compiler;
pub mod dwp_step;
pub mod record;

use crate::ninja::graph::{EdgeId, Graph, RuleId};
use crate::ninja::parse::{Parser, Statement};
use crate::ninja::FileReader;
use dwp_step::DwpStep;
use std::cell::RefCell;

/// Suffix of twin rules for compile edges.
pub const COMPILE_SUFFIX: &str = "__cached_ninja";
/// Suffix of twin rules for the generator edge.
pub const REGEN_SUFFIX: &str = "__cached_ninja_regen";
/// Suffix of twin rules for compile edges with debug info that get the policy's flags.
pub const FLAGS_SUFFIX: &str = "__cached_ninja_g";
/// What a twin rule does with its original's command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TwinKind {
    /// A compile: the launcher goes in front.
    Compile = 0,
    /// The generator edge: the regenerate hook runs after it.
    Regen = 1,
    /// A compile with debug info: the launcher in front, the policy's flags after.
    CompileWithFlags = 2,
}

impl TwinKind {
    /// All kinds, in the order of their index.
    const ALL: [TwinKind; 3] = [
        TwinKind::Compile,
        TwinKind::Regen,
        TwinKind::CompileWithFlags,
    ];

    /// The suffix of this kind's twin rules.
    fn suffix(self) -> &'static str {
        match self {
            TwinKind::Compile => COMPILE_SUFFIX,
            TwinKind::Regen => REGEN_SUFFIX,
            TwinKind::CompileWithFlags => FLAGS_SUFFIX,
        }
    }

    /// Its index in per-rule tables.
    fn index(self) -> usize {
        self as usize
    }
}

/// What the rewrite adds.
pub struct Options<'a> {
    /// Shell text put before each compile command (e.g. `/opt/bin/cached-ninja cc --`), given
    /// the DWARF packager the build runs itself, as the other edges' commands say
    /// ([`Report::dwp_step`]): so one pass over the edges finds both.
    pub launcher: &'a dyn Fn(DwpStep) -> String,
    /// Shell text appended to each compile command that produces debug info (a `-g…` option
    /// other than a final `-g0`), unless it asks for clang's `-gsplit-dwarf=single` itself:
    /// the policy's split-DWARF flags. Empty for none.
    pub extra_flags: String,
    /// Shell command run after the generator edge's command, empty for no hook.
    pub regenerate_hook: String,
    /// True for an output that policy keeps out of the cache (`cache = false`).
    pub uncached: &'a dyn Fn(&[u8]) -> bool,
}

/// Counts of what the rewrite found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// All edges of the manifest.
    pub edges: usize,
    /// Compile edges now going through the launcher.
    pub compile_edges: usize,
    /// Compile edges that policy keeps out of the cache.
    pub uncached_by_policy: usize,
    /// Edges running a compiler that are not cacheable compiles (links, …).
    pub compiler_other: usize,
    /// Generator edges given the regenerate hook.
    pub generator_edges: usize,
    /// The DWARF packager the build runs itself (`llvm-dwp` over `dwp` when it runs both).
    pub dwp_step: DwpStep,
}

/// One file of the manifest after the rewrite.
#[derive(Clone, Debug)]
pub struct File {
    /// Its path as the manifest names it.
    pub path: Vec<u8>,
    /// The new text (the original when nothing changed).
    pub text: Vec<u8>,
    /// Whether the rewrite changed it (then `text` starts with a [`record`] line).
    pub changed: bool,
}

/// Why a manifest could not be rewritten.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewriteError {
    /// A file does not parse (the loader accepted it, so this is a mismatch of inputs).
    #[error("{}: cannot be parsed again: {reason}", String::from_utf8_lossy(.path))]
    Parse {
        /// The file.
        path: Vec<u8>,
        /// The parser's message.
        reason: String,
    },
    /// Statements and graph disagree (the texts are not the ones the graph was loaded from).
    #[error("{}: statement does not match the loaded graph ({what})", String::from_utf8_lossy(.path))]
    Mismatch {
        /// The file.
        path: Vec<u8>,
        /// What differed.
        what: String,
    },
}

/// A [`FileReader`] that serves given texts (or the file system) and remembers the order
/// of reads, which [`rewrite`] needs.
pub struct RecordingReader<F: Fn(&[u8]) -> std::io::Result<Vec<u8>>> {
    read: F,
    /// (path, text) of every read, in order.
    pub files: RefCell<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl<F: Fn(&[u8]) -> std::io::Result<Vec<u8>>> RecordingReader<F> {
    /// A reader that gets each file's text from `read`.
    pub fn new(read: F) -> Self {
        RecordingReader {
            read,
            files: RefCell::new(Vec::new()),
        }
    }
}

impl<F: Fn(&[u8]) -> std::io::Result<Vec<u8>>> FileReader for RecordingReader<F> {
    fn read(&self, path: &[u8]) -> std::io::Result<Vec<u8>> {
        let text = (self.read)(path)?;
        self.files.borrow_mut().push((path.to_vec(), text.clone()));
        Ok(text)
    }
}

/// Where statements are in the texts: per rule, (file, start of its `rule` line); per
/// edge, (file, offset and length of its rule name).
struct Places {
    rules: Vec<(usize, usize)>,
    edges: Vec<(usize, usize, usize)>,
}

/// Rewrites the manifest whose files (in load order, original texts) are `files` and
/// whose graph is `g`. `files[0]` is the top-level manifest.
pub fn rewrite(
    g: &Graph,
    files: &[(Vec<u8>, Vec<u8>)],
    opts: &Options,
) -> Result<(Vec<File>, Report), RewriteError> {
    let places = locate(g, files)?;
    let top = files.first().map(|f| f.0.as_slice()).unwrap_or_default();
    let mut report = Report {
        edges: g.edge_count(),
        ..Report::default()
    };
    // Per rule and kind (`TwinKind::index`): is a twin needed.
    let mut twin = vec![[false; 3]; g.rules.len()];
    let mut edits: Vec<Vec<Edit>> = vec![Vec::new(); files.len()];
    let mut names = TwinNames::new(g);
    for e in g.edge_ids() {
        let Some(kind) = twin_kind(g, e, top, opts, &mut report) else {
            continue;
        };
        let r = g.rule(e);
        twin[r.index()][kind.index()] = true;
        let (file, at, len) = places.edges[e.index()];
        edits[file].push((at, len, names.get(r, kind)));
    }
    let launcher = (opts.launcher)(report.dwp_step);
    add_twin_rules(&places, &twin, &mut names, (opts, &launcher), &mut edits);
    let out = files
        .iter()
        .zip(edits)
        .map(|((path, original), edits)| apply_edits(path, original, edits))
        .collect();
    Ok((out, report))
}

/// One edit of a text: (offset, length of the bytes replaced, bytes put there).
type Edit = (usize, usize, Vec<u8>);

/// The names of the twin rules, each chosen once, unlike any rule's name.
struct TwinNames<'g> {
    /// The graph whose rules are twinned.
    g: &'g Graph,
    /// The names of the manifest's rules.
    taken: std::collections::HashSet<&'g [u8]>,
    /// Per rule and kind (`TwinKind::index`): its twin's name, once chosen.
    names: Vec<[Option<Vec<u8>>; 3]>,
}

impl<'g> TwinNames<'g> {
    /// No name chosen yet for any rule of `g`.
    fn new(g: &'g Graph) -> Self {
        TwinNames {
            g,
            taken: g.rules.iter().map(|r| &*r.name).collect(),
            names: vec![[None, None, None]; g.rules.len()],
        }
    }

    /// The name of rule `r`'s twin of `kind`.
    fn get(&mut self, r: RuleId, kind: TwinKind) -> Vec<u8> {
        let (g, taken) = (self.g, &self.taken);
        self.names[r.index()][kind.index()]
            .get_or_insert_with(|| {
                let suffix = kind.suffix();
                let base = [&g.rules[r.index()].name[..], suffix.as_bytes()].concat();
                let mut name = base.clone();
                let mut n = 2;
                while taken.contains(&name[..]) {
                    name = [&base[..], format!("_{n}").as_bytes()].concat();
                    n += 1;
                }
                name
            })
            .clone()
    }
}

/// The twin edge `e` switches to, `None` to leave it as it is; counts it in `report` (and
/// raises its packager).
fn twin_kind(
    g: &Graph,
    e: EdgeId,
    top: &[u8],
    opts: &Options,
    report: &mut Report,
) -> Option<TwinKind> {
    if g.is_phony(e) {
        return None;
    }
    // An edge's own `command` would win over any rule's: leave such an edge alone.
    if g.edge_own_binding(e, b"command").is_some() {
        // The packager the build runs itself, from the commands of the edges left as they are.
        report.dwp_step = report
            .dwp_step
            .max(DwpStep::of_command(&g.evaluate_command(e)));
        return None;
    }
    if is_generator_edge(g, e, top) {
        if opts.regenerate_hook.is_empty() {
            return None;
        }
        report.generator_edges += 1;
        return Some(TwinKind::Regen);
    }
    compile_twin_kind(g, e, opts, report)
}

/// The twin of an edge other than the generator's: a compile's, `None` for anything else.
fn compile_twin_kind(
    g: &Graph,
    e: EdgeId,
    opts: &Options,
    report: &mut Report,
) -> Option<TwinKind> {
    let command = g.evaluate_command(e);
    let rustc = match compiler::classify(&command) {
        compiler::CommandKind::Compile(_) => false,
        compiler::CommandKind::Rustc => true,
        compiler::CommandKind::CompilerOther(_) | compiler::CommandKind::RustcOther => {
            report.compiler_other += 1;
            report.dwp_step = report.dwp_step.max(DwpStep::of_command(&command));
            return None;
        }
        compiler::CommandKind::Other => {
            report.dwp_step = report.dwp_step.max(DwpStep::of_command(&command));
            return None;
        }
    };
    if g.outputs(e).iter().any(|&o| (opts.uncached)(g.path(o))) {
        report.uncached_by_policy += 1;
        return None;
    }
    report.compile_edges += 1;
    // The policy's flags are gcc/clang flags (split DWARF): never for rustc.
    // A compile that keeps its split DWARF in the object (clang `=single`) keeps its own
    // flags: the launcher splits that object (objects first without a second file).
    if !rustc
        && !opts.extra_flags.is_empty()
        && compiler::has_debug_info(&command)
        && !compiler::splits_dwarf_single(&command)
    {
        Some(TwinKind::CompileWithFlags)
    } else {
        Some(TwinKind::Compile)
    }
}

/// Adds to `edits` every twin rule `twin` asks for, just before the rule it copies, with the
/// launcher's prefix `launcher`.
fn add_twin_rules(
    places: &Places,
    twin: &[[bool; 3]],
    names: &mut TwinNames,
    (opts, launcher): (&Options, &str),
    edits: &mut [Vec<Edit>],
) {
    for (r, kinds) in twin.iter().enumerate() {
        for (kind, &wanted) in TwinKind::ALL.into_iter().zip(kinds) {
            if wanted {
                let rid = RuleId(r as u32);
                let (file, at) = places.rules[r];
                let name = names.get(rid, kind);
                let text = twin_rule(names.g, rid, &name, kind, (opts, launcher));
                edits[file].push((at, 0, text));
            }
        }
    }
}

/// The file at `path` after `edits` of its `original` text.
fn apply_edits(path: &[u8], original: &[u8], mut edits: Vec<Edit>) -> File {
    if edits.is_empty() {
        return File {
            path: path.to_vec(),
            text: original.to_vec(),
            changed: false,
        };
    }
    edits.sort_by_key(|e| (e.0, e.1));
    let mut text = record::line(original);
    text.reserve(original.len() + edits.len() * 16);
    let mut pos = 0;
    for (at, len, insert) in edits {
        text.extend_from_slice(&original[pos..at]);
        text.extend_from_slice(&insert);
        pos = at + len;
    }
    text.extend_from_slice(&original[pos..]);
    File {
        path: path.to_vec(),
        text,
        changed: true,
    }
}

/// A `generator` edge that produces the top-level manifest.
fn is_generator_edge(g: &Graph, e: EdgeId, top: &[u8]) -> bool {
    !g.binding(e, b"generator").is_empty() && g.outputs(e).iter().any(|&o| g.path(o) == top)
}

/// The text of a twin of rule `r`, compiles behind `launcher`.
fn twin_rule(
    g: &Graph,
    r: RuleId,
    name: &[u8],
    kind: TwinKind,
    (opts, launcher): (&Options, &str),
) -> Vec<u8> {
    let mut out = b"# cached-ninja: twin of the next rule\n".to_vec();
    crate::ninja::emit::rule_def_with(g, r, name, &mut out, |k, v, out| {
        if k != b"command" {
            out.extend_from_slice(v);
            return;
        }
        match kind {
            TwinKind::Compile | TwinKind::CompileWithFlags => {
                out.extend_from_slice(&ninja_escape(launcher));
                out.push(b' ');
                out.extend_from_slice(v);
                if kind == TwinKind::CompileWithFlags {
                    out.push(b' ');
                    out.extend_from_slice(&ninja_escape(&opts.extra_flags));
                }
            }
            TwinKind::Regen => {
                out.extend_from_slice(b"( ");
                out.extend_from_slice(v);
                out.extend_from_slice(b" ) && ");
                out.extend_from_slice(&ninja_escape(&opts.regenerate_hook));
            }
        }
    });
    out
}

/// Escapes text for a Ninja binding value (`$` is the only special byte there).
fn ninja_escape(s: &str) -> Vec<u8> {
    s.replace('$', "$$").into_bytes()
}

/// Finds every rule and build statement in the texts, in load order.
fn locate(g: &Graph, files: &[(Vec<u8>, Vec<u8>)]) -> Result<Places, RewriteError> {
    let mut places = Places {
        rules: vec![(0, 0)], // the built-in phony rule
        edges: Vec::with_capacity(g.edge_count()),
    };
    let mut next = 0;
    walk(g, files, &mut next, &mut places)?;
    if places.edges.len() != g.edge_count() || places.rules.len() != g.rules.len() {
        let path = files.first().map(|f| f.0.clone()).unwrap_or_default();
        return Err(RewriteError::Mismatch {
            path,
            what: format!(
                "{} build statements for {} edges, {} rules for {}",
                places.edges.len(),
                g.edge_count(),
                places.rules.len(),
                g.rules.len()
            ),
        });
    }
    Ok(places)
}

fn walk(
    g: &Graph,
    files: &[(Vec<u8>, Vec<u8>)],
    next: &mut usize,
    places: &mut Places,
) -> Result<(), RewriteError> {
    let file = *next;
    *next += 1;
    let Some((path, text)) = files.get(file) else {
        return Err(RewriteError::Mismatch {
            path: Vec::new(),
            what: "more includes than files read".into(),
        });
    };
    let mismatch = |what: String| RewriteError::Mismatch {
        path: path.clone(),
        what,
    };
    let base = text.as_ptr() as usize;
    let mut parser = Parser::new(text);
    loop {
        let st = parser.next_statement().map_err(|e| RewriteError::Parse {
            path: path.clone(),
            reason: format!("{e:?}"),
        })?;
        match st {
            None => return Ok(()),
            Some(Statement::Rule(d)) => {
                let r = places.rules.len();
                if g.rules.get(r).map(|x| &*x.name) != Some(d.name) {
                    return Err(mismatch(format!(
                        "rule {}",
                        String::from_utf8_lossy(d.name)
                    )));
                }
                let name_at = d.name.as_ptr() as usize - base;
                let line = text[..name_at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                places.rules.push((file, line));
            }
            Some(Statement::Build(b)) => {
                let e = EdgeId(places.edges.len() as u32);
                if e.index() >= g.edge_count() || g.rule_name(g.rule(e)) != b.rule {
                    return Err(mismatch(format!(
                        "build statement {} with rule {}",
                        e.index(),
                        String::from_utf8_lossy(b.rule)
                    )));
                }
                places
                    .edges
                    .push((file, b.rule.as_ptr() as usize - base, b.rule.len()));
            }
            Some(Statement::Include(_)) => walk(g, files, next, places)?,
            Some(_) => {}
        }
    }
}
