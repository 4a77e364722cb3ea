//! Writes a [`Graph`] back as one Ninja file that real ninja loads and that means the same:
//! same edges in the same order, same outputs, inputs and validations, same commands and
//! other bindings, same pools and defaults.
//!
//! How: rules are written with their bindings as written (renamed where two scopes used
//! one name). Each edge gets, as its own bindings, the value of every variable its rule
//! refers to that ninja would *not* take from the rule (edge bindings, file variables of
//! any scope), already evaluated, so file scopes disappear. Paths are written canonical;
//! the empty path (ninja makes it of `/`) is written `/`; a path with `|`, which no escape
//! can write, goes through an edge variable.
//!
//! One file has one rule namespace, so [`emit`] renames a rule that a `subninja` defines
//! with a name already used (or named `phony`) to `NAME__cnN`, which shows in
//! `ninja -t targets all`; [`emit_files`] writes such graphs as one file per scope instead.

use super::env::Escape;
use super::eval::Piece;
use super::graph::{EdgeId, Graph, NodeId, RuleId, ScopeId, PHONY_RULE, ROOT_SCOPE};
use super::load::RESERVED;
use std::collections::BTreeSet;

/// The manifest text for `g`, as one file (rules that `subninja` files redefine are
/// renamed; see [`emit_files`] for a layout that keeps their names).
pub fn emit(g: &Graph) -> Vec<u8> {
    let mut out = header(g);
    let names = rule_names(g);
    for (r, name) in names.iter().enumerate() {
        if let Some(name) = name {
            rule_def(g, RuleId(r as u32), name, &mut out);
        }
    }
    let mut refs: Vec<Option<BTreeSet<Vec<u8>>>> = vec![None; g.rules.len()];
    for e in g.edge_ids() {
        let r = g.rule(e);
        let vars = refs[r.index()].get_or_insert_with(|| referenced_vars(g, r));
        let name = names[r.index()].as_deref().unwrap_or(b"phony");
        emit_edge(g, e, name, vars, &mut out);
    }
    defaults(g, &mut out);
    out
}

/// The manifest for `g` as files, the first named `main` (a path ninja will be given).
/// One file when rule names are unique; otherwise each `subninja` scope gets its own file
/// (`MAIN.scopeN.ninja`, named by its absolute path when `main` is absolute), so every
/// rule keeps its name.
pub fn emit_files(g: &Graph, main: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let names = rule_names(g);
    let renamed = names
        .iter()
        .enumerate()
        .any(|(r, n)| n.as_deref().is_some_and(|n| n != &*g.rules[r].name));
    if !renamed {
        return vec![(main.to_vec(), emit(g))];
    }
    super::emit_scoped::emit_scoped(g, main)
}

/// The first lines: `builddir` and the pools.
pub(crate) fn header(g: &Graph) -> Vec<u8> {
    let mut out = b"# Written by cached-ninja (tool emit).\n".to_vec();
    if let Some(dir) = g.scopes[ROOT_SCOPE.index()].vars.get(&b"builddir"[..]) {
        out.extend_from_slice(b"builddir = ");
        escape_value(dir, &mut out);
        out.push(b'\n');
    }
    for p in 2..g.pool_count() {
        let p = super::graph::PoolId(p as u32);
        out.extend_from_slice(b"pool ");
        out.extend_from_slice(g.pool_name(p));
        out.extend_from_slice(format!("\n  depth = {}\n", g.pool_depth(p)).as_bytes());
    }
    out
}

/// A `rule` statement with the rule's bindings as written.
pub(crate) fn rule_def(g: &Graph, r: RuleId, name: &[u8], out: &mut Vec<u8>) {
    rule_def_with(g, r, name, out, |_, v, out| out.extend_from_slice(v));
}

/// A `rule` statement named `name` with rule `r`'s bindings, each value written by
/// `value(binding name, value as written, out)`.
pub(crate) fn rule_def_with(
    g: &Graph,
    r: RuleId,
    name: &[u8],
    out: &mut Vec<u8>,
    mut value: impl FnMut(&[u8], &[u8], &mut Vec<u8>),
) {
    out.extend_from_slice(b"rule ");
    out.extend_from_slice(name);
    out.push(b'\n');
    for (k, v) in &g.rules[r.index()].bindings {
        out.extend_from_slice(b"  ");
        out.extend_from_slice(k);
        out.extend_from_slice(b" = ");
        value(k, v, out);
        out.push(b'\n');
    }
}

/// The `default` statement, if any.
pub(crate) fn defaults(g: &Graph, out: &mut Vec<u8>) {
    let mut line = b"default".to_vec();
    for (i, &n) in g.defaults().iter().enumerate() {
        line.push(b' ');
        let path = g.path(n);
        if path.contains(&b'|') {
            let var = format!("_cn_default{i}");
            out.extend_from_slice(var.as_bytes());
            out.extend_from_slice(b" = ");
            escape_value(path, out);
            out.push(b'\n');
            line.extend_from_slice(format!("${{{var}}}").as_bytes());
        } else {
            escape_path(path, &mut line);
        }
    }
    if !g.defaults().is_empty() {
        out.extend_from_slice(&line);
        out.push(b'\n');
    }
}

/// A unique name per used rule (`None` for unused rules and for `phony`).
fn rule_names(g: &Graph) -> Vec<Option<Vec<u8>>> {
    let mut used = vec![false; g.rules.len()];
    for e in g.edge_ids() {
        used[g.rule(e).index()] = true;
    }
    // The first used rule of each name keeps it; later ones (other scopes) are renamed.
    let mut taken = hashbrown::HashSet::<&[u8]>::new();
    taken.insert(b"phony");
    (0..g.rules.len())
        .map(|r| {
            if !used[r] || r == PHONY_RULE.index() {
                return None;
            }
            let name = &g.rules[r].name;
            if taken.insert(&name[..]) {
                Some(name.to_vec())
            } else {
                Some([&name[..], format!("__cn{r}").as_bytes()].concat())
            }
        })
        .collect()
}

/// Variables a rule's bindings may read, plus every binding name.
pub(crate) fn referenced_vars(g: &Graph, r: RuleId) -> BTreeSet<Vec<u8>> {
    let mut vars: BTreeSet<Vec<u8>> = RESERVED.iter().map(|v| v.to_vec()).collect();
    for (_, raw) in &g.rules[r.index()].bindings {
        for p in super::eval::EvalString::from_raw(raw, false).pieces() {
            if let Piece::Var(v) = p {
                vars.insert(v.to_vec());
            }
        }
    }
    for special in [&b"in"[..], b"out", b"in_newline"] {
        vars.remove(special);
    }
    vars
}

/// What ninja finds for `var` on edge `e` without evaluating the rule's binding: `None`
/// when the rule's binding (or nothing) answers.
fn non_rule_value<'g>(g: &'g Graph, e: EdgeId, var: &[u8]) -> Option<&'g [u8]> {
    let scope = g.edge(e).scope;
    let parent: Option<ScopeId> = if g.edge_has_env(e) {
        if let Some(v) = g.edge_own_binding(e, var) {
            return Some(v);
        }
        Some(scope)
    } else {
        let s = &g.scopes[scope.index()];
        if let Some(v) = s.vars.get(var) {
            return Some(v);
        }
        s.parent
    };
    if g.rule_binding(e, var).is_some() {
        return None;
    }
    parent.and_then(|p| g.scope_var(p, var))
}

pub(crate) fn emit_edge(
    g: &Graph,
    e: EdgeId,
    rule: &[u8],
    vars: &BTreeSet<Vec<u8>>,
    out: &mut Vec<u8>,
) {
    let mut bindings: Vec<(Vec<u8>, &[u8])> = Vec::new();
    let mut line = b"build".to_vec();
    let mut paths = |nodes: &[NodeId], sep: &[u8], line: &mut Vec<u8>| {
        if !nodes.is_empty() && !sep.is_empty() {
            line.push(b' ');
            line.extend_from_slice(sep);
        }
        for &n in nodes {
            line.push(b' ');
            let p = g.path(n);
            if p.contains(&b'|') {
                let var = format!("_cn_path{}", bindings.len()).into_bytes();
                line.extend_from_slice(b"${");
                line.extend_from_slice(&var);
                line.push(b'}');
                bindings.push((var, p));
            } else {
                escape_path(p, line);
            }
        }
    };
    paths(g.explicit_outputs(e), b"", &mut line);
    paths(g.implicit_outputs(e), b"|", &mut line);
    line.extend_from_slice(b": ");
    line.extend_from_slice(rule);
    // A phony edge that named its own output: ninja dropped that input but kept the edge
    // in the node's out-edges; naming it again makes ninja do the same.
    let mut explicit = g.explicit_inputs(e).to_vec();
    let first = g.phantom_out.partition_point(|p| p.0 < e);
    let phantoms = g.phantom_out.get(first..).unwrap_or(&[]);
    explicit.extend(phantoms.iter().take_while(|p| p.0 == e).map(|p| p.1));
    paths(&explicit, b"", &mut line);
    paths(g.implicit_inputs(e), b"|", &mut line);
    paths(g.order_only_inputs(e), b"||", &mut line);
    paths(g.validations(e), b"|@", &mut line);
    out.extend_from_slice(&line);
    out.push(b'\n');
    for var in vars {
        if let Some(v) = non_rule_value(g, e, var) {
            bindings.push((var.clone(), v));
        }
    }
    // `pool` and `dyndep` took effect when the edge was loaded; a file variable set later
    // changes what they evaluate to now, but not the edge. Keep the edge's meaning.
    let pool = g.pool_name(g.pool(e));
    let dyndep = g.dyndep(e).map_or(&[][..], |n| g.path(n));
    for (name, loaded) in [(&b"pool"[..], pool), (&b"dyndep"[..], dyndep)] {
        let escape = if name == b"pool" {
            Escape::Shell
        } else {
            Escape::None
        };
        let mut now = g.try_binding(e, name, escape).unwrap_or_default();
        if name == b"dyndep" && !now.is_empty() {
            let _ = super::canon::canonicalize(&mut now);
        }
        if now != loaded {
            bindings.retain(|(k, _)| k != name);
            bindings.push((name.to_vec(), loaded));
        }
    }
    for (k, v) in bindings {
        out.extend_from_slice(b"  ");
        out.extend_from_slice(&k);
        out.extend_from_slice(b" = ");
        escape_value(v, out);
        out.push(b'\n');
    }
}

/// Escapes a path for a `build`/`default` line.
pub(crate) fn escape_path(p: &[u8], out: &mut Vec<u8>) {
    if p.is_empty() {
        // Ninja canonicalises `/` to the empty path.
        out.push(b'/');
        return;
    }
    for &c in p {
        match c {
            b'$' | b' ' | b':' => out.extend_from_slice(&[b'$', c]),
            _ => out.push(c),
        }
    }
}

/// Escapes a variable's value (values never hold a newline).
fn escape_value(v: &[u8], out: &mut Vec<u8>) {
    for &c in v {
        match c {
            b'$' | b' ' => out.extend_from_slice(&[b'$', c]),
            _ => out.push(c),
        }
    }
}
