//! The order in which ninja 1.11 runs edges with `-j1` on a clean tree (every source file
//! present, no output yet): ninja's `DependencyScan` and `Plan`, without the disk.
//! Used to estimate build order (DESIGN §5: the prefetch queue runs in its reverse).
//!
//! The model: an edge that is not phony is dirty (its outputs are missing). A phony edge is
//! dirty when it has no inputs, or a non-order-only input comes from a dirty edge; a clean
//! phony edge whose inputs are ready is done before the build starts, and one waiting for
//! inputs finishes as soon as they are. Ninja wants the edges behind the targets and the
//! validations of every edge its scan visits. Its ready set is ordered by edge id, `-j1`
//! runs one command at a time, and a dirty phony edge finishes when taken.
//!
//! Assumption (no disk here): a phony edge's output does not exist as a file. Cycles,
//! which ninja rejects, leave their edges out.

use super::graph::{EdgeId, Graph, NodeId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Not in the plan.
    No,
    /// In the plan only to pass readiness on (a clean phony edge).
    Nothing,
    /// To run.
    Start,
}

impl Graph {
    /// Edges ninja 1.11 runs for `targets` with `-j1` on a clean tree, in order (dirty
    /// phony edges included: they take their turn but run nothing).
    pub fn run_order(&self, targets: &[NodeId]) -> Vec<EdgeId> {
        let (dirty, mut ready) = self.scan(targets);
        let want = self.plan(targets, &dirty, &ready);
        let mut waiting = vec![0u32; self.edge_count()];
        let mut heap = BinaryHeap::new();
        for e in self.edge_ids().filter(|e| want[e.index()] != Want::No) {
            let n = self
                .inputs(e)
                .iter()
                .filter(|&&i| self.in_edge(i).is_some_and(|p| !ready[p.index()]))
                .count();
            waiting[e.index()] = n as u32;
            if n == 0 && want[e.index()] == Want::Start {
                heap.push(Reverse(e));
            }
        }
        let mut order = Vec::new();
        let mut finished: Vec<EdgeId> = Vec::new();
        while let Some(Reverse(e)) = heap.pop() {
            order.push(e);
            finished.push(e);
            // ninja's EdgeFinished / NodeFinished, with clean phony edges cascading.
            while let Some(done) = finished.pop() {
                ready[done.index()] = true;
                for &out in self.outputs(done) {
                    for &next in self.out_edges(out) {
                        if want[next.index()] == Want::No || next == done {
                            continue;
                        }
                        let w = &mut waiting[next.index()];
                        if *w == 0 {
                            continue;
                        }
                        *w -= 1;
                        if *w == 0 {
                            match want[next.index()] {
                                Want::Start => heap.push(Reverse(next)),
                                _ => finished.push(next),
                            }
                        }
                    }
                }
            }
        }
        order
    }

    /// ninja's `RecomputeDirty` on a clean tree: (dirty, outputs ready) per edge.
    fn scan(&self, targets: &[NodeId]) -> (Vec<bool>, Vec<bool>) {
        let n = self.edge_count();
        let (mut dirty, mut ready) = (vec![false; n], vec![true; n]);
        // 0: unvisited, 1: in progress, 2: done.
        let mut state = vec![0u8; n];
        let mut stack: Vec<(EdgeId, usize)> = Vec::new();
        let mut roots: Vec<NodeId> = targets.to_vec();
        while let Some(root) = roots.pop() {
            let Some(e) = self.in_edge(root) else {
                continue;
            };
            if state[e.index()] != 0 {
                continue;
            }
            state[e.index()] = 1;
            stack.push((e, 0));
            while let Some(&mut (e, ref mut i)) = stack.last_mut() {
                if let Some(&input) = self.inputs(e).get(*i) {
                    *i += 1;
                    if let Some(p) = self.in_edge(input).filter(|p| state[p.index()] == 0) {
                        state[p.index()] = 1;
                        stack.push((p, 0));
                    }
                    continue;
                }
                stack.pop();
                state[e.index()] = 2;
                roots.extend_from_slice(self.validations(e));
                let d = self.edge(e);
                let regular = (d.ins - d.order_only_ins) as usize;
                let ins = self.inputs(e);
                let input_dirty = ins[..regular.min(ins.len())]
                    .iter()
                    .any(|&i| self.in_edge(i).is_some_and(|p| dirty[p.index()]));
                let phony = self.is_phony(e);
                dirty[e.index()] = !phony || input_dirty || ins.is_empty();
                let inputs_ready = ins.iter().all(|&i| {
                    self.in_edge(i)
                        .is_none_or(|p| ready[p.index()] && state[p.index()] == 2)
                });
                ready[e.index()] =
                    inputs_ready && !(dirty[e.index()] && !(phony && ins.is_empty()));
            }
        }
        (dirty, ready)
    }

    /// ninja's `Plan::AddTarget` for the targets and the validations the scan found.
    fn plan(&self, targets: &[NodeId], dirty: &[bool], ready: &[bool]) -> Vec<Want> {
        let mut want = vec![Want::No; self.edge_count()];
        let mut added = vec![false; self.edge_count()];
        // Adds the edges producing `nodes` and their inputs, once each, unless already built.
        let mut add = |mut nodes: Vec<NodeId>| {
            while let Some(n) = nodes.pop() {
                let Some(e) = self.in_edge(n) else { continue };
                if ready[e.index()] || std::mem::replace(&mut added[e.index()], true) {
                    continue;
                }
                want[e.index()] = if dirty[e.index()] {
                    Want::Start
                } else {
                    Want::Nothing
                };
                nodes.extend_from_slice(self.inputs(e));
            }
        };
        add(targets.to_vec());
        // The validations of every edge the scan visits become targets too.
        let mut seen = vec![false; self.edge_count()];
        let mut stack: Vec<NodeId> = targets.to_vec();
        let mut extra = Vec::new();
        while let Some(n) = stack.pop() {
            let Some(e) = self.in_edge(n) else { continue };
            if std::mem::replace(&mut seen[e.index()], true) {
                continue;
            }
            stack.extend_from_slice(self.inputs(e));
            for &v in self.validations(e) {
                extra.push(v);
                stack.push(v);
            }
        }
        add(extra);
        want
    }
}
