//! The emitter's layout for graphs whose `subninja` files redefine rule names: one file per
//! file scope, each opened by `subninja` where the original opened it, so that rules keep
//! their names (which `ninja -t targets all` prints).
//!
//! Rules, scopes and edges are replayed in load order: a rule or scope remembers how many
//! edges were loaded before it. Scopes nest as a depth-first walk, so a stack of open files
//! suffices. Variables need no scopes: edges carry their values (see `emit.rs`).

use super::emit::{defaults, emit, emit_edge, escape_path, header, referenced_vars};
use super::graph::{Graph, RuleId, ScopeId, ROOT_SCOPE};
use std::collections::BTreeSet;

/// Something to write, in load order.
#[derive(Clone, Copy)]
enum Event {
    Rule(RuleId),
    Scope(ScopeId),
    Edge(u32),
}

/// The files for `g`; the first is `main`.
pub(crate) fn emit_scoped(g: &Graph, main: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut events: Vec<((u32, u32), Event)> = Vec::new();
    for (r, rule) in g.rules.iter().enumerate().skip(1) {
        events.push((rule.created, Event::Rule(RuleId(r as u32))));
    }
    for (s, scope) in g.scopes.iter().enumerate().skip(1) {
        events.push((scope.created, Event::Scope(ScopeId(s as u32))));
    }
    for e in 0..g.edge_count() as u32 {
        events.push(((e, u32::MAX), Event::Edge(e)));
    }
    events.sort_by_key(|(key, _)| *key);

    let mut files: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut stack: Vec<(ScopeId, Vec<u8>, Vec<u8>)> = vec![(ROOT_SCOPE, main.to_vec(), header(g))];
    let mut refs: Vec<Option<BTreeSet<Vec<u8>>>> = vec![None; g.rules.len()];
    for (_, event) in events {
        let scope = match event {
            Event::Rule(r) => g.rules[r.index()].scope,
            Event::Scope(s) => g.scopes[s.index()].parent.unwrap_or(ROOT_SCOPE),
            Event::Edge(e) => g.edge(super::graph::EdgeId(e)).scope,
        };
        while stack.last().is_some_and(|(s, _, _)| *s != scope) && stack.len() > 1 {
            if let Some((_, name, text)) = stack.pop() {
                files.push((name, text));
            }
        }
        let Some((top, _, out)) = stack.last_mut() else {
            break;
        };
        if *top != scope {
            // Not a depth-first walk after all: fall back to one file.
            return vec![(main.to_vec(), emit(g))];
        }
        match event {
            Event::Rule(r) => super::emit::rule_def(g, r, &g.rules[r.index()].name, out),
            Event::Scope(s) => {
                let name = [main, format!(".scope{}.ninja", s.0).as_bytes()].concat();
                out.extend_from_slice(b"subninja ");
                escape_path(&name, out);
                out.push(b'\n');
                let text = b"# Written by cached-ninja (tool emit): a subninja scope.\n".to_vec();
                stack.push((s, name, text));
            }
            Event::Edge(e) => {
                let e = super::graph::EdgeId(e);
                let r = g.rule(e);
                let vars = refs[r.index()].get_or_insert_with(|| referenced_vars(g, r));
                emit_edge(g, e, &g.rules[r.index()].name, vars, out);
            }
        }
    }
    while stack.len() > 1 {
        if let Some((_, name, text)) = stack.pop() {
            files.push((name, text));
        }
    }
    let Some((_, name, mut text)) = stack.pop() else {
        return vec![(main.to_vec(), emit(g))];
    };
    defaults(g, &mut text);
    files.insert(0, (name, text));
    files
}
