//! The loader: reads files, drives the parser statement by statement, evaluates what ninja
//! evaluates at load time (file variables, edge bindings, paths, pools) and builds the
//! [`Graph`]. `include` shares the scope; `subninja` opens a child scope.
//!
//! Decisions: the graph copies what it keeps (canonical paths, evaluated edge bindings,
//! raw rule bindings) into its own arenas, so a file's buffer is dropped as soon as that
//! file is parsed. Include nesting is limited to [`MAX_INCLUDE_DEPTH`] (ninja has no limit
//! and overflows its stack).

use super::canon;
use super::env::MAX_VALUE_LEN;
use super::error::{strerror, LoadError, SyntaxError};
use super::eval::EvalString;
use super::graph::{Edge, EdgeId, Graph, NodeId, PoolId, Rule, RuleId, Scope, ScopeId, ROOT_SCOPE};
use super::lexer::ParseError;
use super::parse::{Binding, Build, Decl, Include, Parser, Statement};
use std::path::Path;

/// Deepest `include`/`subninja` nesting accepted.
pub const MAX_INCLUDE_DEPTH: usize = 64;

/// Bindings a rule may have (ninja's `Rule::IsReservedBinding`); every one may be read for an edge.
pub(crate) const RESERVED: [&[u8]; 11] = [
    b"command",
    b"depfile",
    b"dyndep",
    b"description",
    b"deps",
    b"generator",
    b"pool",
    b"restat",
    b"rspfile",
    b"rspfile_content",
    b"msvc_deps_prefix",
];

/// Where the loader gets file contents from.
pub trait FileReader {
    /// The whole file at `path` (bytes, as named in the manifest).
    fn read(&self, path: &[u8]) -> std::io::Result<Vec<u8>>;
}

/// Reads from the file system, relative to the current directory.
pub struct RealFs;

impl FileReader for RealFs {
    fn read(&self, path: &[u8]) -> std::io::Result<Vec<u8>> {
        std::fs::read(bytes_to_path(path))
    }
}

/// A path from manifest bytes.
pub fn bytes_to_path(b: &[u8]) -> std::path::PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        std::path::PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }
}

fn path_to_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        p.to_string_lossy().into_owned().into_bytes()
    }
}

/// A loaded manifest: the graph and the warnings ninja would have printed.
pub struct Manifest {
    graph: Graph,
    warnings: Vec<Vec<u8>>,
}

impl Manifest {
    /// The build graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The graph, by value.
    pub fn into_graph(self) -> Graph {
        self.graph
    }

    /// Warnings ninja prints while loading (each after `ninja: warning: `), in order.
    pub fn warnings(&self) -> &[Vec<u8>] {
        &self.warnings
    }
}

/// Loads the manifest at `path` (paths in it are relative to the current directory).
pub fn load(path: &Path) -> Result<Manifest, LoadError> {
    load_with(&path_to_bytes(path), &RealFs)
}

/// Loads the manifest named `path`, reading every file through `reader`.
pub fn load_with(path: &[u8], reader: &dyn FileReader) -> Result<Manifest, LoadError> {
    load_reporting(path, reader, &mut Vec::new())
}

/// Like [`load_with`], also giving the warnings printed before an error (ninja prints
/// each warning as it goes, so they precede the error).
pub fn load_reporting(
    path: &[u8],
    reader: &dyn FileReader,
    warnings: &mut Vec<Vec<u8>>,
) -> Result<Manifest, LoadError> {
    let text = reader.read(path).map_err(|e| LoadError::Read {
        path: path.to_vec(),
        reason: strerror(&e),
    })?;
    let mut loader = Loader {
        graph: Graph::new(),
        reader,
        warnings: Vec::new(),
        scratch: Vec::new(),
    };
    // About one new path per 60 bytes of a generated manifest.
    loader.graph.reserve_nodes(text.len() / 60);
    let result = loader.parse_file(path, &text, ROOT_SCOPE, 0);
    warnings.extend_from_slice(&loader.warnings);
    result?;
    loader.graph.finish();
    Ok(Manifest {
        graph: loader.graph,
        warnings: loader.warnings,
    })
}

struct Loader<'r> {
    graph: Graph,
    reader: &'r dyn FileReader,
    warnings: Vec<Vec<u8>>,
    scratch: Vec<u8>,
}

/// One file being parsed: its name and text, for error positions.
#[derive(Clone, Copy)]
struct File<'t> {
    name: &'t [u8],
    text: &'t [u8],
}

impl File<'_> {
    fn error(&self, pos: usize, reason: impl Into<Vec<u8>>) -> LoadError {
        LoadError::Syntax(Box::new(SyntaxError::at(
            self.name,
            self.text,
            pos,
            reason.into(),
        )))
    }

    fn parse_error(&self, e: ParseError) -> LoadError {
        self.error(e.pos, e.msg)
    }
}

fn quoted(prefix: &str, what: &[u8], suffix: &str) -> Vec<u8> {
    let mut v = prefix.as_bytes().to_vec();
    v.extend_from_slice(what);
    v.extend_from_slice(suffix.as_bytes());
    v
}

impl Loader<'_> {
    fn parse_file(
        &mut self,
        name: &[u8],
        text: &[u8],
        scope: ScopeId,
        depth: usize,
    ) -> Result<(), LoadError> {
        if text.len() > (u32::MAX / 4) as usize {
            return Err(LoadError::Fatal(quoted("", name, ": file too large")));
        }
        let file = File { name, text };
        let mut parser = Parser::new(text);
        while let Some(stmt) = parser.next_statement().map_err(|e| file.parse_error(e))? {
            match stmt {
                Statement::Let(b) => self.file_let(b, scope)?,
                Statement::Rule(d) => self.rule(file, d, scope)?,
                Statement::Pool(d) => self.pool(file, d, scope)?,
                Statement::Build(b) => self.build(file, b, scope)?,
                Statement::Default(d) => {
                    for (path, pos) in d.paths {
                        self.eval_path(file, path, pos, scope, None)?;
                        let Some(node) = self.graph.lookup(&self.scratch) else {
                            return Err(
                                file.error(pos, quoted("unknown target '", &self.scratch, "'"))
                            );
                        };
                        self.graph.defaults.push(node);
                    }
                    if let Some(e) = d.deferred {
                        return Err(file.parse_error(e));
                    }
                }
                Statement::Include(inc) => self.include(file, inc, scope, depth)?,
            }
        }
        Ok(())
    }

    fn eval_in_scope(
        &self,
        value: EvalString,
        scope: ScopeId,
        out: &mut Vec<u8>,
    ) -> Result<(), LoadError> {
        let g = &self.graph;
        let mut too_long = false;
        value.evaluate_into(out, |v, out| {
            let value = g.scope_var(scope, v).unwrap_or(&[]);
            too_long |= out.len() + value.len() > MAX_VALUE_LEN;
            if !too_long {
                out.extend_from_slice(value);
            }
        });
        if too_long || out.len() > MAX_VALUE_LEN {
            return Err(too_long_error(value));
        }
        Ok(())
    }

    fn file_let(&mut self, b: Binding, scope: ScopeId) -> Result<(), LoadError> {
        let mut value = Vec::new();
        self.eval_in_scope(b.value, scope, &mut value)?;
        if b.name == b"ninja_required_version" {
            if let Some(w) = super::version::check(&value)? {
                self.warnings.push(w);
            }
        }
        self.graph.scopes[scope.index()]
            .vars
            .insert(b.name.into(), value.into());
        Ok(())
    }

    fn rule(&mut self, file: File, d: Decl, scope: ScopeId) -> Result<(), LoadError> {
        if self.graph.scopes[scope.index()].rules.contains_key(d.name) {
            return Err(file.error(d.name_pos, quoted("duplicate rule '", d.name, "'")));
        }
        let mut bindings: Vec<super::graph::RuleBinding> = Vec::new();
        let mut empty = std::collections::HashMap::new();
        for b in &d.block.bindings {
            if !RESERVED.contains(&b.name) {
                return Err(file.error(b.pos, quoted("unexpected variable '", b.name, "'")));
            }
            empty.insert(b.name, b.value.is_empty());
            match bindings.iter_mut().find(|(n, _)| &**n == b.name) {
                Some(slot) => slot.1 = b.value.raw().into(),
                None => bindings.push((b.name.into(), b.value.raw().into())),
            }
        }
        if let Some(e) = d.block.deferred {
            return Err(file.parse_error(e));
        }
        let is_empty = |n: &[u8]| empty.get(n).copied().unwrap_or(true);
        if is_empty(b"rspfile") != is_empty(b"rspfile_content") {
            return Err(file.error(
                d.block.end_pos,
                "rspfile and rspfile_content need to be both specified",
            ));
        }
        if is_empty(b"command") {
            return Err(file.error(d.block.end_pos, "expected 'command =' line"));
        }
        let id = RuleId(self.graph.rules.len() as u32);
        let created = self.creation_point();
        self.graph.rules.push(Rule {
            name: d.name.into(),
            bindings,
            scope,
            created,
        });
        self.graph.scopes[scope.index()]
            .rules
            .insert(d.name.into(), id);
        Ok(())
    }

    fn pool(&mut self, file: File, d: Decl, scope: ScopeId) -> Result<(), LoadError> {
        if self.graph.pools.iter().any(|p| &*p.name == d.name) {
            return Err(file.error(d.name_pos, quoted("duplicate pool '", d.name, "'")));
        }
        let mut depth: i32 = -1;
        for b in &d.block.bindings {
            if b.name != b"depth" {
                return Err(file.error(b.pos, quoted("unexpected variable '", b.name, "'")));
            }
            let mut value = Vec::new();
            self.eval_in_scope(b.value, scope, &mut value)?;
            depth = super::version::atol(&value) as i32;
            if depth < 0 {
                return Err(file.error(b.pos, "invalid pool depth"));
            }
        }
        if let Some(e) = d.block.deferred {
            return Err(file.parse_error(e));
        }
        if depth < 0 {
            return Err(file.error(d.block.end_pos, "expected 'depth =' line"));
        }
        self.graph.pools.push(super::graph::Pool {
            name: d.name.into(),
            depth,
        });
        Ok(())
    }

    /// (edges so far, rules and scopes so far): orders rules and scopes among edges.
    fn creation_point(&self) -> (u32, u32) {
        let g = &self.graph;
        (
            g.edges.len() as u32,
            (g.rules.len() + g.scopes.len()) as u32,
        )
    }

    fn lookup_rule(&self, mut scope: ScopeId, name: &[u8]) -> Option<RuleId> {
        loop {
            let s = &self.graph.scopes[scope.index()];
            if let Some(&r) = s.rules.get(name) {
                return Some(r);
            }
            scope = s.parent?;
        }
    }

    /// Evaluates a path into `self.scratch` and canonicalises it; for an edge's paths the
    /// edge's own bindings come first. The caller interns or looks it up.
    fn eval_path(
        &mut self,
        file: File,
        path: EvalString,
        pos: usize,
        scope: ScopeId,
        edge: Option<EdgeId>,
    ) -> Result<(), LoadError> {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        {
            let g = &self.graph;
            let mut too_long = false;
            path.evaluate_into(&mut out, |v, out| {
                let own = edge
                    .filter(|&e| g.edge_has_env(e))
                    .and_then(|e| g.edge_own_binding(e, v));
                let value = own.or_else(|| g.scope_var(scope, v)).unwrap_or(&[]);
                too_long |= out.len() + value.len() > MAX_VALUE_LEN;
                if !too_long {
                    out.extend_from_slice(value);
                }
            });
            if too_long || out.len() > MAX_VALUE_LEN {
                self.scratch = out;
                return Err(too_long_error(path));
            }
        }
        if out.is_empty() {
            self.scratch = out;
            return Err(file.error(pos, "empty path"));
        }
        let result = canon::canonicalize(&mut out);
        self.scratch = out;
        if result.is_err() {
            return Err(LoadError::Fatal(quoted(
                "path has too many components : ",
                &self.scratch,
                "",
            )));
        }
        Ok(())
    }

    fn build(&mut self, file: File, b: Build, scope: ScopeId) -> Result<(), LoadError> {
        let Some(rule) = self.lookup_rule(scope, b.rule) else {
            return Err(file.error(b.rule_pos, quoted("unknown build rule '", b.rule, "'")));
        };
        if let Some(e) = b.block.deferred {
            return Err(file.parse_error(e));
        }
        // The edge's own bindings, evaluated in the file scope (not in each other).
        let bindings_start = self.graph.edge_bindings.len() as u32;
        let mut value = Vec::new();
        for binding in &b.block.bindings {
            value.clear();
            self.eval_in_scope(binding.value, scope, &mut value)?;
            let name = self.graph.store(binding.name);
            let v = self.graph.store(&value);
            self.graph.edge_bindings.push((name, v));
        }
        let id = EdgeId(self.graph.edges.len() as u32);
        self.graph.edges.push(Edge {
            rule,
            pool: PoolId(0),
            scope,
            bindings_start,
            bindings_len: b.block.bindings.len() as u32,
            nodes_start: self.graph.edge_nodes.len() as u32,
            outs: 0,
            implicit_outs: 0,
            ins: 0,
            implicit_ins: 0,
            order_only_ins: 0,
            validations: 0,
            dyndep: u32::MAX,
        });
        let pos = b.block.end_pos;
        let pool_name = self.graph.binding(id, b"pool");
        if !pool_name.is_empty() {
            let Some(p) = self.graph.pools.iter().position(|p| *p.name == *pool_name) else {
                return Err(file.error(pos, quoted("unknown pool name '", &pool_name, "'")));
            };
            self.graph.edges[id.index()].pool = PoolId(p as u32);
        }
        for &out in &b.outs {
            self.eval_path(file, out, pos, scope, Some(id))?;
            let node = self.graph.intern(&self.scratch);
            let slot = &mut self.graph.nodes[node.index()].in_edge;
            if *slot != u32::MAX {
                return Err(file.error(pos, quoted("multiple rules generate ", &self.scratch, "")));
            }
            *slot = id.0;
            self.graph.edge_nodes.push(node);
        }
        for &input in b.ins.iter().chain(&b.validations) {
            self.eval_path(file, input, pos, scope, Some(id))?;
            let node = self.graph.intern(&self.scratch);
            self.graph.edge_nodes.push(node);
        }
        let edge = &mut self.graph.edges[id.index()];
        edge.outs = b.outs.len() as u32;
        edge.implicit_outs = b.implicit_outs as u32;
        edge.ins = b.ins.len() as u32;
        edge.implicit_ins = b.implicit as u32;
        edge.order_only_ins = b.order_only as u32;
        edge.validations = b.validations.len() as u32;
        self.phony_cycle(id);
        self.dyndep(file, id, pos)
    }

    /// ninja's `-w phonycycle=warn` (its default): `build a: phony a` drops the self-input.
    fn phony_cycle(&mut self, id: EdgeId) {
        let g = &self.graph;
        let d = *g.edge(id);
        if !(g.is_phony(id) && d.outs == 1 && d.implicit_outs == 0 && d.implicit_ins == 0) {
            return;
        }
        let out = g.outputs(id)[0];
        let ins = g.inputs(id).to_vec();
        let explicit = (d.ins - d.order_only_ins) as usize;
        let kept: Vec<NodeId> = ins.iter().copied().filter(|&n| n != out).collect();
        if kept.len() == ins.len() {
            return;
        }
        let removed_explicit = ins[..explicit].iter().filter(|&&n| n == out).count() as u32;
        let removed_oo = (ins.len() - kept.len()) as u32 - removed_explicit;
        let mut w = b"phony target '".to_vec();
        w.extend_from_slice(g.path(out));
        w.extend_from_slice(b"' names itself as an input; ignoring [-w phonycycle=warn]");
        self.warnings.push(w);
        let removed = ins.len() - kept.len();
        self.graph
            .phantom_out
            .extend(std::iter::repeat_n((id, out), removed));
        let start = (d.nodes_start + d.outs) as usize;
        let tail: Vec<NodeId> = self.graph.edge_nodes[start + ins.len()..].to_vec();
        self.graph.edge_nodes.truncate(start);
        self.graph.edge_nodes.extend_from_slice(&kept);
        self.graph.edge_nodes.extend_from_slice(&tail);
        let edge = &mut self.graph.edges[id.index()];
        edge.ins = kept.len() as u32;
        // Ninja's counts stay as they were; its explicit count shrinks. Keep ours consistent.
        edge.order_only_ins -= removed_oo.min(edge.order_only_ins);
    }

    fn dyndep(&mut self, file: File, id: EdgeId, pos: usize) -> Result<(), LoadError> {
        let Ok(mut dyndep) = self
            .graph
            .try_binding(id, b"dyndep", super::env::Escape::None)
        else {
            return Ok(());
        };
        if dyndep.is_empty() {
            return Ok(());
        }
        if canon::canonicalize(&mut dyndep).is_err() {
            return Err(LoadError::Fatal(quoted(
                "path has too many components : ",
                &dyndep,
                "",
            )));
        }
        let node = self.graph.intern(&dyndep);
        self.graph.edges[id.index()].dyndep = node.0;
        if !self.graph.inputs(id).contains(&node) {
            return Err(file.error(pos, quoted("dyndep '", &dyndep, "' is not an input")));
        }
        Ok(())
    }

    fn include(
        &mut self,
        file: File,
        inc: Include,
        scope: ScopeId,
        depth: usize,
    ) -> Result<(), LoadError> {
        let mut path = Vec::new();
        self.eval_in_scope(inc.path, scope, &mut path)?;
        if depth + 1 > MAX_INCLUDE_DEPTH {
            return Err(file.error(
                inc.pos,
                quoted("loading '", &path, "': include nesting too deep"),
            ));
        }
        let text = match self.reader.read(&path) {
            Ok(t) => t,
            Err(e) => {
                let reason = quoted("loading '", &path, &format!("': {}", strerror(&e)));
                return Err(file.error(inc.pos, reason));
            }
        };
        let child = if inc.new_scope {
            let created = self.creation_point();
            self.graph.scopes.push(Scope {
                parent: Some(scope),
                created,
                ..Scope::default()
            });
            ScopeId(self.graph.scopes.len() as u32 - 1)
        } else {
            scope
        };
        self.parse_file(&path, &text, child, depth + 1)?;
        match inc.deferred {
            Some(e) => Err(file.parse_error(e)),
            None => Ok(()),
        }
    }
}

fn too_long_error(value: EvalString) -> LoadError {
    let raw = value.raw();
    let shown = raw.get(..40).unwrap_or(raw);
    LoadError::Fatal(quoted(
        "value of '",
        shown,
        &format!("' is longer than {MAX_VALUE_LEN} bytes"),
    ))
}
