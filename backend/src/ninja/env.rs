//! Variable lookup: file scopes (ninja `BindingEnv`) and an edge's environment (ninja
//! `EdgeEnv`), with ninja's shadowing order and its rule-variable cycle check.
//!
//! For an edge, `$in`, `$in_newline` and `$out` come first. Otherwise, ninja looks in the
//! edge's environment's *own* bindings, then evaluates the rule's binding, then asks the
//! environment's parent chain. An edge with bindings of its own has its own environment
//! (parent: its file scope); an edge without uses its file scope itself, so there a
//! variable of that same file shadows the rule's binding. We keep that quirk.

use super::eval::{shell_escape_into, EvalString};
use super::graph::{EdgeId, Graph, ScopeId};

/// Why an edge's variable could not be evaluated (ninja aborts with `fatal:`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A cycle among rule variables: ninja's `cycle in rule variables: a -> b -> a`.
    #[error("cycle in rule variables: {}", String::from_utf8_lossy(.0))]
    Cycle(Vec<u8>),
    /// The value grew past [`MAX_VALUE_LEN`] (ninja has no limit and runs out of memory).
    #[error("value of '{}' is longer than {} bytes", String::from_utf8_lossy(.0), MAX_VALUE_LEN)]
    TooLong(Vec<u8>),
}

impl EvalError {
    /// The message ninja prints after `ninja: fatal: `.
    pub fn message(&self) -> Vec<u8> {
        match self {
            EvalError::Cycle(c) => [&b"cycle in rule variables: "[..], c].concat(),
            EvalError::TooLong(_) => self.to_string().into_bytes(),
        }
    }
}

/// Longest value evaluation may produce (a guard against exponential expansion).
pub const MAX_VALUE_LEN: usize = 64 << 20;

/// Whether `$in`/`$out` paths are shell-escaped (`GetBinding`) or not (`GetUnescaped…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Quote for a POSIX shell, as in commands.
    Shell,
    /// Raw paths, as for `depfile`, `dyndep` and `rspfile`.
    None,
}

struct EdgeEnv<'g> {
    graph: &'g Graph,
    edge: EdgeId,
    escape: Escape,
    recursive: bool,
    lookups: Vec<&'g [u8]>,
}

impl Graph {
    /// Value of a variable of a file scope, searching its parents (ninja
    /// `BindingEnv::LookupVariable`), if set.
    pub fn scope_var<'a>(&'a self, mut scope: ScopeId, var: &[u8]) -> Option<&'a [u8]> {
        loop {
            let s = &self.scopes[scope.index()];
            if let Some(v) = s.vars.get(var) {
                return Some(v);
            }
            scope = s.parent?;
        }
    }

    /// An edge's own binding, if it has one named `var`.
    pub(crate) fn edge_own_binding(&self, e: EdgeId, var: &[u8]) -> Option<&[u8]> {
        let d = self.edge(e);
        let start = d.bindings_start as usize;
        let own = self
            .edge_bindings
            .get(start..start + d.bindings_len as usize)?;
        own.iter()
            .rev()
            .find(|(n, _)| self.span(*n) == var)
            .map(|(_, v)| self.span(*v))
    }

    /// True when the edge has bindings of its own (and so its own environment).
    pub(crate) fn edge_has_env(&self, e: EdgeId) -> bool {
        self.edge(e).bindings_len > 0
    }

    /// The rule binding `var` of edge `e`'s rule, raw.
    pub(crate) fn rule_binding(&self, e: EdgeId, var: &[u8]) -> Option<&[u8]> {
        let rule = &self.rules[self.edge(e).rule.index()];
        rule.bindings
            .iter()
            .find(|(n, _)| &**n == var)
            .map(|(_, v)| &**v)
    }

    /// Evaluates binding `var` of an edge, as ninja's `Edge::GetBinding` (and, with
    /// [`Escape::None`], `GetUnescapedDepfile`…) does.
    pub fn try_binding(&self, e: EdgeId, var: &[u8], escape: Escape) -> Result<Vec<u8>, EvalError> {
        let mut env = EdgeEnv {
            graph: self,
            edge: e,
            escape,
            recursive: false,
            lookups: Vec::new(),
        };
        let mut out = Vec::new();
        env.lookup(var, &mut out)?;
        if out.len() > MAX_VALUE_LEN {
            return Err(EvalError::TooLong(var.to_vec()));
        }
        Ok(out)
    }

    /// The edge's command (ninja `EvaluateCommand`), or the cycle among its rule variables.
    pub fn try_evaluate_command(&self, e: EdgeId) -> Result<Vec<u8>, EvalError> {
        self.try_binding(e, b"command", Escape::Shell)
    }

    /// The edge's command, evaluated now (ninja `Edge::EvaluateCommand`). A cycle among
    /// rule variables (where ninja aborts) gives an empty command; see
    /// [`Graph::try_evaluate_command`].
    pub fn evaluate_command(&self, e: EdgeId) -> Vec<u8> {
        self.try_evaluate_command(e).unwrap_or_default()
    }

    /// What Ninja hashes for the edge's build log entry (`EvaluateCommand(true)`): the
    /// command, then `;rspfile=` and the response file's content when it has one.
    pub fn try_command_for_log(&self, e: EdgeId) -> Result<Vec<u8>, EvalError> {
        let mut command = self.try_evaluate_command(e)?;
        let rsp = self.try_binding(e, b"rspfile_content", Escape::Shell)?;
        if !rsp.is_empty() {
            command.extend_from_slice(b";rspfile=");
            command.extend_from_slice(&rsp);
        }
        Ok(command)
    }

    /// Evaluates binding `var` of an edge with shell escaping; empty on a cycle.
    pub fn binding(&self, e: EdgeId, var: &[u8]) -> Vec<u8> {
        self.try_binding(e, var, Escape::Shell).unwrap_or_default()
    }

    /// Appends the paths for `$in`/`$out` with separator `sep`.
    fn path_list(
        &self,
        nodes: &[super::graph::NodeId],
        sep: u8,
        escape: Escape,
        out: &mut Vec<u8>,
    ) {
        let begin = out.len();
        for &n in nodes {
            if out.len() > begin {
                out.push(sep);
            }
            match escape {
                Escape::Shell => shell_escape_into(self.path(n), out),
                Escape::None => out.extend_from_slice(self.path(n)),
            }
        }
    }
}

impl<'g> EdgeEnv<'g> {
    fn lookup(&mut self, var: &[u8], out: &mut Vec<u8>) -> Result<(), EvalError> {
        let g = self.graph;
        let e = self.edge;
        match var {
            b"in" | b"in_newline" => {
                let sep = if var == b"in" { b' ' } else { b'\n' };
                g.path_list(g.explicit_inputs(e), sep, self.escape, out);
                return Ok(());
            }
            b"out" => {
                g.path_list(g.explicit_outputs(e), b' ', self.escape, out);
                return Ok(());
            }
            _ => {}
        }
        let rule_value = g.rule_binding(e, var);
        if self.recursive {
            if let Some(i) = self.lookups.iter().position(|&l| l == var) {
                let mut cycle = Vec::new();
                for l in &self.lookups[i..] {
                    cycle.extend_from_slice(l);
                    cycle.extend_from_slice(b" -> ");
                }
                cycle.extend_from_slice(var);
                return Err(EvalError::Cycle(cycle));
            }
        }
        let record = self.recursive && rule_value.is_some();
        let scope = g.edge(e).scope;
        // `var` may borrow from a rule binding being evaluated, so take the graph's copy.
        let name: &'g [u8] = match rule_value {
            Some(_) => rule_name_of(g, e, var),
            None => &[],
        };
        if record {
            self.lookups.push(name);
        }
        self.recursive = true;
        let result = self.fallback(var, rule_value, scope, out);
        if record {
            self.lookups.pop();
        }
        result
    }

    /// ninja's `BindingEnv::LookupWithFallback` on the edge's environment.
    fn fallback(
        &mut self,
        var: &[u8],
        rule_value: Option<&'g [u8]>,
        scope: ScopeId,
        out: &mut Vec<u8>,
    ) -> Result<(), EvalError> {
        let g = self.graph;
        let e = self.edge;
        let parent = if g.edge_has_env(e) {
            if let Some(v) = g.edge_own_binding(e, var) {
                out.extend_from_slice(v);
                return Ok(());
            }
            Some(scope)
        } else {
            let s = &g.scopes[scope.index()];
            if let Some(v) = s.vars.get(var) {
                out.extend_from_slice(v);
                return Ok(());
            }
            s.parent
        };
        if let Some(raw) = rule_value {
            return self.evaluate(raw, out);
        }
        if let Some(v) = parent.and_then(|p| g.scope_var(p, var)) {
            out.extend_from_slice(v);
        }
        Ok(())
    }

    fn evaluate(&mut self, raw: &'g [u8], out: &mut Vec<u8>) -> Result<(), EvalError> {
        let s = EvalString::from_raw(raw, false);
        if memchr::memchr(b'$', raw).is_none() {
            out.extend_from_slice(raw);
            return Ok(());
        }
        for piece in s.pieces() {
            match piece {
                super::eval::Piece::Text(t) => out.extend_from_slice(t),
                super::eval::Piece::Var(v) => self.lookup(v, out)?,
            }
            if out.len() > MAX_VALUE_LEN {
                return Err(EvalError::TooLong(raw.get(..40).unwrap_or(raw).to_vec()));
            }
        }
        Ok(())
    }
}

/// The rule's own copy of a binding name (so the lookup stack can borrow the graph).
fn rule_name_of<'g>(g: &'g Graph, e: EdgeId, var: &[u8]) -> &'g [u8] {
    let rule = &g.rules[g.edge(e).rule.index()];
    rule.bindings
        .iter()
        .find(|(n, _)| &**n == var)
        .map_or(&[][..], |(n, _)| &**n)
}
