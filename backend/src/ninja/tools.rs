//! `ninja -t commands` and `ninja -t targets all` over a [`Graph`], byte for byte
//! (ninja `ToolCommands`, `PrintCommands`, `CollectTarget`, `ToolTargetsList`).
//!
//! When several nodes are equally close to an unknown target, ninja's "did you mean" picks
//! the first in its hash map's order; `hash_order.rs` replays that order.

use super::canon;
use super::graph::{Graph, NodeId};

/// Why a tool failed, with the text ninja prints after its prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// `ninja: error: …`
    #[error("{}", String::from_utf8_lossy(.0))]
    Error(Vec<u8>),
    /// `ninja: fatal: …`
    #[error("{}", String::from_utf8_lossy(.0))]
    Fatal(Vec<u8>),
}

impl ToolError {
    /// The message, as ninja prints it after `ninja: error: ` or `ninja: fatal: `.
    pub fn message(&self) -> &[u8] {
        match self {
            ToolError::Error(m) | ToolError::Fatal(m) => m,
        }
    }
}

/// `ninja -t targets all`: every output of every edge, `path: rule`, in manifest order.
pub fn targets_all(g: &Graph) -> Vec<u8> {
    let mut out = Vec::new();
    for e in g.edge_ids() {
        let rule = g.rule_name(g.rule(e));
        for &n in g.outputs(e) {
            out.extend_from_slice(g.path(n));
            out.extend_from_slice(b": ");
            out.extend_from_slice(rule);
            out.push(b'\n');
        }
    }
    out
}

/// The nodes named on a command line (ninja `CollectTargetsFromArgs`): the default
/// targets when there are none.
pub fn collect_targets(g: &Graph, args: &[&[u8]]) -> Result<Vec<NodeId>, ToolError> {
    if args.is_empty() {
        return g
            .default_nodes()
            .map_err(|e| ToolError::Error(e.into_bytes()));
    }
    args.iter().map(|a| collect_target(g, a)).collect()
}

/// One target argument (ninja `CollectTarget`), with `foo.c^` meaning "first output of an
/// edge that uses foo.c".
pub fn collect_target(g: &Graph, arg: &[u8]) -> Result<NodeId, ToolError> {
    if arg.is_empty() {
        return Err(ToolError::Error(b"empty path".to_vec()));
    }
    let mut path = arg.to_vec();
    if canon::canonicalize(&mut path).is_err() {
        let mut m = b"path has too many components : ".to_vec();
        m.extend_from_slice(&path);
        return Err(ToolError::Fatal(m));
    }
    let first_dependent = path.last() == Some(&b'^');
    if first_dependent {
        path.pop();
    }
    let quoted = |pre: &[u8], p: &[u8], post: &[u8]| [pre, p, post].concat();
    let Some(node) = g.lookup(&path) else {
        let mut m = quoted(b"unknown target '", &path, b"'");
        if path == b"clean" {
            m.extend_from_slice(b", did you mean 'ninja -t clean'?");
        } else if path == b"help" {
            m.extend_from_slice(b", did you mean 'ninja -h'?");
        } else if let Some(s) = spellcheck(g, &path) {
            m.extend_from_slice(&quoted(b", did you mean '", g.path(s), b"'?"));
        }
        return Err(ToolError::Error(m));
    };
    if !first_dependent {
        return Ok(node);
    }
    // No deps log is loaded for these tools, as in ninja's RUN_AFTER_LOAD tools.
    match g
        .out_edges(node)
        .first()
        .and_then(|&e| g.outputs(e).first())
    {
        Some(&n) => Ok(n),
        None => Err(ToolError::Error(quoted(b"'", &path, b"' has no out edge"))),
    }
}

/// The closest node within edit distance 3 (ninja `State::SpellcheckNode`), ties going to
/// the first in ninja's hash map order.
fn spellcheck(g: &Graph, path: &[u8]) -> Option<NodeId> {
    const MAX: usize = 3;
    let mut best = MAX + 1;
    let mut result = None;
    let order = super::hash_order::iteration_order(g.node_ids().map(|n| g.path(n)));
    for n in order {
        let n = NodeId(n as u32);
        let d = edit_distance(g.path(n), path, MAX);
        if d < best {
            best = d;
            result = Some(n);
        }
    }
    result
}

/// Levenshtein distance with replacements, giving up past `max` (ninja `EditDistance`).
fn edit_distance(s1: &[u8], s2: &[u8], max: usize) -> usize {
    let n = s2.len();
    let mut previous: Vec<usize> = (0..=n).collect();
    let mut current = vec![0; n + 1];
    for y in 1..=s1.len() {
        current[0] = y;
        let mut best_row = y;
        for x in 1..=n {
            let replace = previous[x - 1] + usize::from(s1[y - 1] != s2[x - 1]);
            current[x] = replace.min(current[x - 1].min(previous[x]) + 1);
            best_row = best_row.min(current[x]);
        }
        if best_row > max {
            return max + 1;
        }
        std::mem::swap(&mut current, &mut previous);
    }
    previous[n]
}

/// `ninja -t commands [-s] TARGETS`: appends each command to `out` as ninja prints it
/// (one per line, inputs' commands first, phony edges skipped). On a cycle among rule
/// variables `out` keeps what ninja would have printed before aborting.
pub fn commands(
    g: &Graph,
    targets: &[NodeId],
    only_last: bool,
    out: &mut Vec<u8>,
) -> Result<(), ToolError> {
    let edges = if only_last {
        let mut seen = vec![false; g.edge_count()];
        targets
            .iter()
            .filter_map(|&t| g.in_edge(t))
            .filter(|e| !std::mem::replace(&mut seen[e.index()], true))
            .collect()
    } else {
        g.edges_in_order(targets)
    };
    for e in edges {
        if g.is_phony(e) {
            continue;
        }
        let cmd = g
            .try_evaluate_command(e)
            .map_err(|c| ToolError::Fatal(c.message()))?;
        // `puts` stops at a NUL byte.
        let end = memchr::memchr(0, &cmd).unwrap_or(cmd.len());
        out.extend_from_slice(&cmd[..end]);
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance(b"abc", b"abd", 3), 1);
        assert_eq!(edit_distance(b"", b"ab", 3), 2);
        assert_eq!(edit_distance(b"abcdefgh", b"x", 3), 4);
    }
}
