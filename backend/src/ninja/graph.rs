//! The build graph: nodes (files), edges (build statements), rules, pools and scopes, each
//! a `u32` id over a dense vector (the shape of n2's `graph.rs`).
//!
//! An edge's nodes live in one shared vector, outputs first (explicit, then implicit), then
//! inputs (explicit, implicit, order-only), then validations; the edge keeps the counts.
//! Paths are canonical (see [`super::canon`]) and interned: one node per path. Commands are
//! evaluated on demand ([`Graph::evaluate_command`], in `env.rs`), as ninja does.

use hashbrown::HashTable;

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident),*) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The id as an index into its dense vector.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

id_type!(
    /// A file of the graph.
    NodeId,
    /// A build statement.
    EdgeId,
    /// A `rule`.
    RuleId,
    /// A `pool` (0 is the default pool, 1 is `console`).
    PoolId,
    /// A file scope (0 is the top-level file; each `subninja` opens a child).
    ScopeId
);

/// A fast hash of a path (8 bytes at a time, multiply and fold, in the manner of FxHash);
/// paths are not chosen by an adversary who gains from collisions.
fn hash_path(b: &[u8]) -> u64 {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h: u64 = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(26);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(26);
    }
    ((h ^ (h >> 29)).wrapping_mul(K) >> 32) as u32 as u64
}

/// The table's hash of an entry, from the 32 bits kept in it (no string access on rehash).
fn spread(h32: u64) -> u64 {
    h32.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ h32
}

/// The little-endian `u32` at `at` in the arena (0 if out of range).
fn record_u32(strings: &[u8], at: usize) -> u32 {
    match strings.get(at..at + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// The path of the record at `rec`.
fn record_path(strings: &[u8], rec: u32) -> &[u8] {
    let start = rec as usize + 8;
    let len = record_u32(strings, rec as usize + 4) as usize;
    strings.get(start..start + len).unwrap_or(&[])
}

/// "No edge" in [`Node::in_edge`].
const NO_EDGE: u32 = u32::MAX;

/// A range of bytes in the graph's string arena.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub path: Span,
    pub in_edge: u32,
}

/// One edge's data; the counts index into the graph's shared node vector.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub rule: RuleId,
    pub pool: PoolId,
    pub scope: ScopeId,
    /// The edge's own bindings (`bindings_start..+bindings_len` in `Graph::edge_bindings`);
    /// an edge without any uses its file scope as its environment, as ninja does.
    pub bindings_start: u32,
    pub bindings_len: u32,
    pub nodes_start: u32,
    pub outs: u32,
    pub implicit_outs: u32,
    pub ins: u32,
    pub implicit_ins: u32,
    pub order_only_ins: u32,
    pub validations: u32,
    /// The node named by `dyndep` when the edge was loaded (`u32::MAX`: none).
    pub dyndep: u32,
}

/// A rule binding: name and raw value.
pub(crate) type RuleBinding = (Box<[u8]>, Box<[u8]>);

/// A rule: its name and its bindings, unevaluated (raw text as written).
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub name: Box<[u8]>,
    pub bindings: Vec<RuleBinding>,
    /// The scope that defines it and when: (edges loaded before it, creation sequence).
    pub scope: ScopeId,
    pub created: (u32, u32),
}

/// A pool.
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    pub name: Box<[u8]>,
    pub depth: i32,
}

/// A file scope: variables (already evaluated) and rules, with its parent.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    pub parent: Option<ScopeId>,
    /// When the `subninja` opened it: (edges loaded before it, creation sequence).
    pub created: (u32, u32),
    pub vars: hashbrown::HashMap<Box<[u8]>, Box<[u8]>>,
    pub rules: hashbrown::HashMap<Box<[u8]>, RuleId>,
}

/// The graph of one manifest.
pub struct Graph {
    pub(crate) nodes: Vec<Node>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) edge_nodes: Vec<NodeId>,
    /// Names and values of edges' own bindings, in the string arena.
    pub(crate) edge_bindings: Vec<(Span, Span)>,
    pub(crate) strings: Vec<u8>,
    /// Interned paths: (offset of the path's record in `strings`, 32-bit hash of the path).
    /// A record is the node id and the length (4 bytes each, little endian), then the
    /// bytes: one cache line answers a probe.
    pub(crate) paths: HashTable<(u32, u32)>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) pools: Vec<Pool>,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) defaults: Vec<NodeId>,
    /// `out_edges` of node `n` are `out_list[out_start[n]..out_start[n + 1]]`.
    pub(crate) out_start: Vec<u32>,
    pub(crate) out_list: Vec<EdgeId>,
    /// Inputs dropped from phony edges that named their own output: ninja keeps such an
    /// edge in the node's `out_edges`.
    pub(crate) phantom_out: Vec<(EdgeId, NodeId)>,
}

/// The built-in `phony` rule.
pub const PHONY_RULE: RuleId = RuleId(0);
/// The default pool (unlimited).
pub const DEFAULT_POOL: PoolId = PoolId(0);
/// The built-in `console` pool.
pub const CONSOLE_POOL: PoolId = PoolId(1);
/// The scope of the top-level file.
pub const ROOT_SCOPE: ScopeId = ScopeId(0);

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl Graph {
    /// An empty graph with ninja's built-ins: the `phony` rule and the `console` pool.
    pub fn new() -> Self {
        let mut root = Scope::default();
        root.rules.insert(Box::from(&b"phony"[..]), PHONY_RULE);
        Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            edge_nodes: Vec::new(),
            edge_bindings: Vec::new(),
            strings: Vec::new(),
            paths: HashTable::new(),
            rules: vec![Rule {
                name: Box::from(&b"phony"[..]),
                bindings: Vec::new(),
                scope: ROOT_SCOPE,
                created: (0, 0),
            }],
            pools: vec![
                Pool {
                    name: Box::default(),
                    depth: 0,
                },
                Pool {
                    name: Box::from(&b"console"[..]),
                    depth: 1,
                },
            ],
            scopes: vec![root],
            defaults: Vec::new(),
            out_start: Vec::new(),
            out_list: Vec::new(),
            phantom_out: Vec::new(),
        }
    }

    /// Bytes of a span of the string arena.
    pub(crate) fn span(&self, s: Span) -> &[u8] {
        let start = s.start as usize;
        self.strings
            .get(start..start + s.len as usize)
            .unwrap_or(&[])
    }

    pub(crate) fn edge(&self, e: EdgeId) -> &Edge {
        &self.edges[e.index()]
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    /// All node ids, in the order the files were first named.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    /// All edge ids, in manifest order.
    pub fn edge_ids(&self) -> impl Iterator<Item = EdgeId> {
        (0..self.edges.len() as u32).map(EdgeId)
    }

    /// A node's canonical path.
    pub fn path(&self, n: NodeId) -> &[u8] {
        self.span(self.nodes[n.index()].path)
    }

    /// The node of a canonical path, if the manifest names it.
    pub fn lookup(&self, path: &[u8]) -> Option<NodeId> {
        let h = hash_path(path);
        let strings = &self.strings;
        self.paths
            .find(spread(h), |&(rec, h2)| {
                h2 as u64 == h && record_path(strings, rec) == path
            })
            .map(|&(rec, _)| NodeId(record_u32(strings, rec as usize)))
    }

    /// Makes room for about `n` nodes.
    pub(crate) fn reserve_nodes(&mut self, n: usize) {
        self.paths.reserve(n, |&(_, h)| spread(h as u64));
        self.nodes.reserve(n);
    }

    /// The edge that produces a node, if any.
    pub fn in_edge(&self, n: NodeId) -> Option<EdgeId> {
        let e = self.nodes[n.index()].in_edge;
        (e != NO_EDGE).then_some(EdgeId(e))
    }

    /// Edges that take a node as an input (explicit, implicit or order-only).
    pub fn out_edges(&self, n: NodeId) -> &[EdgeId] {
        let i = n.index();
        match (self.out_start.get(i), self.out_start.get(i + 1)) {
            (Some(&a), Some(&b)) => self.out_list.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    fn edge_slice(&self, e: EdgeId, from: u32, len: u32) -> &[NodeId] {
        let start = self.edge(e).nodes_start as usize + from as usize;
        self.edge_nodes
            .get(start..start + len as usize)
            .unwrap_or(&[])
    }

    /// All outputs of an edge: explicit, then implicit.
    pub fn outputs(&self, e: EdgeId) -> &[NodeId] {
        self.edge_slice(e, 0, self.edge(e).outs)
    }

    /// Explicit outputs (what `$out` names).
    pub fn explicit_outputs(&self, e: EdgeId) -> &[NodeId] {
        let d = self.edge(e);
        self.edge_slice(e, 0, d.outs - d.implicit_outs)
    }

    /// Implicit outputs (after `|` on the output side).
    pub fn implicit_outputs(&self, e: EdgeId) -> &[NodeId] {
        let d = self.edge(e);
        self.edge_slice(e, d.outs - d.implicit_outs, d.implicit_outs)
    }

    /// All inputs of an edge: explicit, implicit, then order-only.
    pub fn inputs(&self, e: EdgeId) -> &[NodeId] {
        let d = self.edge(e);
        self.edge_slice(e, d.outs, d.ins)
    }

    /// Explicit inputs (what `$in` names).
    pub fn explicit_inputs(&self, e: EdgeId) -> &[NodeId] {
        let d = self.edge(e);
        self.edge_slice(e, d.outs, d.ins - d.implicit_ins - d.order_only_ins)
    }

    /// Implicit inputs (after `|`).
    pub fn implicit_inputs(&self, e: EdgeId) -> &[NodeId] {
        let d = self.edge(e);
        let explicit = d.ins - d.implicit_ins - d.order_only_ins;
        self.edge_slice(e, d.outs + explicit, d.implicit_ins)
    }

    /// Order-only inputs (after `||`).
    pub fn order_only_inputs(&self, e: EdgeId) -> &[NodeId] {
        let d = self.edge(e);
        self.edge_slice(e, d.outs + d.ins - d.order_only_ins, d.order_only_ins)
    }

    /// Validations (after `|@`).
    pub fn validations(&self, e: EdgeId) -> &[NodeId] {
        let d = self.edge(e);
        self.edge_slice(e, d.outs + d.ins, d.validations)
    }

    /// The dyndep file of an edge (its `dyndep` binding, evaluated when it was loaded).
    pub fn dyndep(&self, e: EdgeId) -> Option<NodeId> {
        let d = self.edge(e).dyndep;
        (d != NO_EDGE).then_some(NodeId(d))
    }

    /// The edge's rule.
    pub fn rule(&self, e: EdgeId) -> RuleId {
        self.edge(e).rule
    }

    /// A rule's name.
    pub fn rule_name(&self, r: RuleId) -> &[u8] {
        &self.rules[r.index()].name
    }

    /// True for edges of the built-in `phony` rule.
    pub fn is_phony(&self, e: EdgeId) -> bool {
        self.edge(e).rule == PHONY_RULE
    }

    /// The edge's pool.
    pub fn pool(&self, e: EdgeId) -> PoolId {
        self.edge(e).pool
    }

    /// A pool's name (empty for the default pool).
    pub fn pool_name(&self, p: PoolId) -> &[u8] {
        &self.pools[p.index()].name
    }

    /// A pool's depth (0 for the default pool: unlimited).
    pub fn pool_depth(&self, p: PoolId) -> i32 {
        self.pools[p.index()].depth
    }

    /// Number of pools, the built-in default and `console` pools included.
    pub fn pool_count(&self) -> usize {
        self.pools.len()
    }

    /// The targets of `default` statements, in order (repeats kept).
    pub fn defaults(&self) -> &[NodeId] {
        &self.defaults
    }

    /// Outputs that no edge takes as an input, in edge order (ninja's `RootNodes`).
    pub fn root_nodes(&self) -> Vec<NodeId> {
        let mut roots = Vec::new();
        for e in self.edge_ids() {
            roots.extend(
                self.outputs(e)
                    .iter()
                    .filter(|&&n| self.out_edges(n).is_empty()),
            );
        }
        roots
    }

    /// What ninja builds without targets (ninja's `DefaultNodes`), or its error text.
    pub fn default_nodes(&self) -> Result<Vec<NodeId>, String> {
        if !self.defaults.is_empty() {
            return Ok(self.defaults.clone());
        }
        let roots = self.root_nodes();
        if !self.edges.is_empty() && roots.is_empty() {
            return Err("could not determine root nodes of build graph".into());
        }
        Ok(roots)
    }

    /// Edges needed for `targets`, each after the edges producing its inputs, in the order
    /// `ninja -t commands` lists them (depth first over inputs; validations not followed).
    /// The order ninja *runs* them in is [`Graph::run_order`].
    pub fn edges_in_order(&self, targets: &[NodeId]) -> Vec<EdgeId> {
        let mut seen = vec![false; self.edges.len()];
        let mut order = Vec::new();
        // (edge, index of the next input to visit)
        let mut stack: Vec<(EdgeId, usize)> = Vec::new();
        for &t in targets {
            let Some(e) = self.in_edge(t) else { continue };
            if std::mem::replace(&mut seen[e.index()], true) {
                continue;
            }
            stack.push((e, 0));
            while let Some(top) = stack.last_mut() {
                let (e, i) = *top;
                match self.inputs(e).get(i) {
                    Some(&input) => {
                        top.1 += 1;
                        if let Some(dep) = self.in_edge(input) {
                            if !std::mem::replace(&mut seen[dep.index()], true) {
                                stack.push((dep, 0));
                            }
                        }
                    }
                    None => {
                        order.push(e);
                        stack.pop();
                    }
                }
            }
        }
        order
    }

    /// Interns a canonical path, returning its node.
    pub(crate) fn intern(&mut self, path: &[u8]) -> NodeId {
        let h = hash_path(path);
        let Graph {
            paths,
            nodes,
            strings,
            ..
        } = self;
        let entry = paths.entry(
            spread(h),
            |&(rec, h2)| h2 as u64 == h && record_path(strings, rec) == path,
            |&(_, h2)| spread(h2 as u64),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(o) => {
                NodeId(record_u32(strings, o.get().0 as usize))
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                let id = nodes.len() as u32;
                let rec = strings.len() as u32;
                strings.extend_from_slice(&id.to_le_bytes());
                strings.extend_from_slice(&(path.len() as u32).to_le_bytes());
                strings.extend_from_slice(path);
                nodes.push(Node {
                    path: Span {
                        start: rec + 8,
                        len: path.len() as u32,
                    },
                    in_edge: NO_EDGE,
                });
                v.insert((rec, h as u32));
                NodeId(id)
            }
        }
    }

    /// Stores bytes in the string arena.
    pub(crate) fn store(&mut self, bytes: &[u8]) -> Span {
        let start = self.strings.len() as u32;
        self.strings.extend_from_slice(bytes);
        Span {
            start,
            len: bytes.len() as u32,
        }
    }

    /// Builds the `out_edges` index; called once when loading is done.
    pub(crate) fn finish(&mut self) {
        let mut counts = vec![0u32; self.nodes.len() + 1];
        for e in 0..self.edges.len() {
            for &n in self.inputs(EdgeId(e as u32)) {
                counts[n.index() + 1] += 1;
            }
        }
        for &(_, n) in &self.phantom_out {
            counts[n.index() + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut fill = counts.clone();
        let mut list = vec![EdgeId(0); counts.last().copied().unwrap_or(0) as usize];
        let mut phantoms = self.phantom_out.iter().peekable();
        for e in 0..self.edges.len() {
            let e = EdgeId(e as u32);
            let extra = std::iter::from_fn(|| phantoms.next_if(|p| p.0 == e).map(|p| p.1));
            for n in self.inputs(e).iter().copied().chain(extra) {
                let slot = &mut fill[n.index()];
                list[*slot as usize] = e;
                *slot += 1;
            }
        }
        self.out_start = counts;
        self.out_list = list;
    }
}
