//! The pull's prefetch order (DESIGN §5, issue 15): after the keys launchers want (which
//! `fetch::dispatch` always serves first), the records policy boosts (`[[rule]] priority`,
//! higher first), then the rest in the order of a [`Prefetch`] mode:
//!
//! - **critical path** (the default): the longest remaining path through the build graph
//!   first, each compile edge weighted by CI's recorded compile time (`compile ms` of its
//!   record), other edges (archives, links) by nothing (the manifest does not time them); ties
//!   go in reverse build order. In a flat C build (every compile feeds the link) this is the
//!   most expensive compiles first: the objects a local compile would take longest to make.
//! - **reverse**: the reverse of CI's build order, so the download and a build running forward
//!   meet in the middle (what the pull did before issue 15).
//! - **none**: no prefetch; launchers fetch what they need (on-demand only), for comparison.
//!
//! It also makes the queue launchers read ([`fetch::want::queue`]): each record's bytes ahead
//! in this order, CI's compile time and the policy's `remote_wait`.

use backend::ninja::graph::Graph;
use fetch::build_manifest::EdgeRecord;
use fetch::cache::Digest;
use fetch::want::queue::Slot;
use std::collections::HashMap;
use std::time::Duration;

/// How the prefetch orders what is not wanted or boosted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prefetch {
    /// Longest remaining critical path first, weighted by CI's compile times.
    #[default]
    CriticalPath,
    /// The reverse of CI's build order.
    Reverse,
    /// Nothing: only what launchers ask for.
    None,
}

impl std::str::FromStr for Prefetch {
    type Err = String;

    fn from_str(s: &str) -> Result<Prefetch, String> {
        match s {
            "critical-path" => Ok(Prefetch::CriticalPath),
            "reverse" => Ok(Prefetch::Reverse),
            "none" => Ok(Prefetch::None),
            _ => Err(format!(
                "{s:?}: expected \"critical-path\", \"reverse\" or \"none\""
            )),
        }
    }
}

/// What the policy says about one record (`[[rule]]` matched by its output).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgePolicy {
    /// Prefetched before the rest when above 0 (higher first), after it when below.
    pub priority: i32,
    /// How long its launcher may wait for it, replacing its compile time as the limit.
    pub remote_wait: Option<Duration>,
}

/// Record indices of `records` in prefetch order; `policy` is per record (missing: none),
/// `graph` the object directory's build graph (`None`: each record's compile time alone).
pub fn prefetch_order(
    records: &[EdgeRecord],
    policy: &[EdgePolicy],
    mode: Prefetch,
    graph: Option<&Graph>,
) -> Vec<usize> {
    let priority = |i: usize| policy.get(i).map_or(0, |p| p.priority);
    let mut order: Vec<usize> = (0..records.len()).rev().collect();
    match mode {
        Prefetch::None => return Vec::new(),
        Prefetch::Reverse => {}
        Prefetch::CriticalPath => {
            let path = remaining_path(records, graph);
            // Stable: equal paths stay in reverse build order.
            order.sort_by_key(|&i| std::cmp::Reverse(path[i]));
        }
    }
    order.sort_by_key(|&i| std::cmp::Reverse(priority(i)));
    order
}

/// Per record, the longest path (ms of CI's compile times) from its edge to the end of the
/// build through `graph`; a record whose output the graph lacks counts its own time only.
pub fn remaining_path(records: &[EdgeRecord], graph: Option<&Graph>) -> Vec<u64> {
    let own: Vec<u64> = records.iter().map(|r| r.compile_ms()).collect();
    let Some(g) = graph else { return own };
    let mut weight = vec![0u64; g.edge_count()];
    let mut edge_of = vec![None; records.len()];
    for (i, r) in records.iter().enumerate() {
        if let Some(e) = g.lookup(r.output().as_bytes()).and_then(|n| g.in_edge(n)) {
            weight[e.index()] = weight[e.index()].max(r.compile_ms());
            edge_of[i] = Some(e);
        }
    }
    let targets = g.default_nodes().unwrap_or_default();
    // Producers before consumers: walking it backwards sees every consumer first.
    let mut rest = vec![0u64; g.edge_count()];
    for e in g.edges_in_order(&targets).into_iter().rev() {
        let after = g
            .outputs(e)
            .iter()
            .flat_map(|&o| g.out_edges(o))
            .map(|c| rest[c.index()])
            .max()
            .unwrap_or(0);
        rest[e.index()] = weight[e.index()] + after;
    }
    edge_of
        .iter()
        .zip(own)
        .map(|(e, own)| e.map_or(own, |e| rest[e.index()].max(own)))
        .collect()
}

/// The queue launchers read: per record its key and [`Slot`] (bytes ahead of it in `order`,
/// its `sizes` entry, CI's compile time, the policy's wait).
pub fn slots(
    records: &[EdgeRecord],
    sizes: &[u64],
    order: &[usize],
    policy: &[EdgePolicy],
) -> Vec<(Digest, Slot)> {
    let mut ahead: HashMap<usize, u64> = HashMap::with_capacity(order.len());
    let mut sum = 0u64;
    for &i in order {
        ahead.insert(i, sum);
        sum += sizes[i];
    }
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let slot = Slot {
                ahead: ahead.get(&i).copied(),
                bytes: sizes[i],
                compile: Duration::from_millis(r.compile_ms()),
                remote_wait: policy.get(i).and_then(|p| p.remote_wait),
            };
            (r.action_key, slot)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use fetch::cache::{Output, Role};

    struct Text(&'static [u8]);

    impl backend::ninja::load::FileReader for Text {
        fn read(&self, _: &[u8]) -> std::io::Result<Vec<u8>> {
            Ok(self.0.to_vec())
        }
    }

    fn record(n: u8, out: &str, ms: u64) -> EdgeRecord {
        EdgeRecord {
            source_key: Digest::of(&[n, 0]),
            action_key: Digest::of(&[n, 1]),
            outputs: vec![Output {
                role: Role::Object,
                path: out.into(),
                digest: Digest::of(&[n, 2]),
                size: 100 * n as u64,
            }],
            includes: Vec::new(),
            stdout: None,
            stderr: None,
            cpu_us: ms * 1000,
            wall_us: ms * 1000,
        }
    }

    /// A generated tool's object feeds a generator whose header every later compile needs:
    /// its path is the longest, though its own compile is the cheapest.
    #[test]
    fn critical_path_goes_through_the_graph_then_boosts_lead() {
        let ninja = b"rule cc\n  command = cc $in\nrule link\n  command = ld $in\nrule gen\n  command = gen\n\
build tool.o: cc tool.c\nbuild tool: link tool.o\nbuild gen.h: gen | tool\n\
build a.o: cc a.c || gen.h\nbuild b.o: cc b.c || gen.h\nbuild app: link a.o b.o\n";
        let graph = backend::ninja::load_with(b"build.ninja", &Text(ninja))
            .unwrap()
            .into_graph();
        let records = vec![
            record(1, "tool.o", 10),
            record(2, "a.o", 300),
            record(3, "b.o", 200),
            record(4, "c.o", 250),
        ];
        let path = remaining_path(&records, Some(&graph));
        assert_eq!(path, vec![310, 300, 200, 250]);
        let none = [EdgePolicy::default(); 4];
        let order =
            |mode, policy: &[EdgePolicy]| prefetch_order(&records, policy, mode, Some(&graph));
        assert_eq!(order(Prefetch::CriticalPath, &none), vec![0, 1, 3, 2]);
        assert_eq!(order(Prefetch::Reverse, &none), vec![3, 2, 1, 0]);
        assert!(order(Prefetch::None, &none).is_empty());
        let mut boosted = none;
        boosted[2].priority = 5;
        boosted[1].priority = -1;
        assert_eq!(order(Prefetch::CriticalPath, &boosted), vec![2, 0, 3, 1]);
        // The queue: bytes ahead in that order, own size, compile time.
        let sizes = [10, 20, 30, 40];
        let q = slots(&records, &sizes, &[2, 0, 3, 1], &boosted);
        let ahead: Vec<_> = q.iter().map(|(_, s)| s.ahead).collect();
        assert_eq!(ahead, vec![Some(30), Some(80), Some(0), Some(40)]);
        assert_eq!(q[1].1.compile, Duration::from_millis(300));
        assert_eq!(slots(&records, &sizes, &[], &none)[0].1.ahead, None);
    }
}
