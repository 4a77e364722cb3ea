//! The check the `parse` fuzz target (and the corpus replay test) runs on any bytes.

use super::{emit, load_with, tools, FileReader, Graph};

/// Serves `build.ninja` (the input) and `sub.ninja` (the input again), so `include` and
/// `subninja` of either name work; any other file is missing.
struct Inputs<'a> {
    data: &'a [u8],
    emitted: Option<Vec<u8>>,
    /// Reads so far: bounded, or two `subninja build.ninja` lines would take forever.
    reads: std::cell::Cell<usize>,
}

/// Most files one check reads.
const MAX_READS: usize = 32;

impl FileReader for Inputs<'_> {
    fn read(&self, path: &[u8]) -> std::io::Result<Vec<u8>> {
        self.reads.set(self.reads.get() + 1);
        if self.reads.get() > MAX_READS {
            return Err(std::io::Error::from_raw_os_error(24));
        }
        match (path, &self.emitted) {
            (b"emitted.ninja", Some(e)) => Ok(e.clone()),
            (b"build.ninja" | b"sub.ninja", _) => Ok(self.data.to_vec()),
            _ => Err(std::io::Error::from_raw_os_error(2)),
        }
    }
}

fn outputs(g: &Graph) -> (Vec<u8>, Result<Vec<u8>, tools::ToolError>) {
    let commands = tools::collect_targets(g, &[]).and_then(|nodes| {
        let mut out = Vec::new();
        tools::commands(g, &nodes, false, &mut out).map(|()| out)
    });
    (tools::targets_all(g), commands)
}

/// Loads `data` as a manifest; when it loads, evaluates every command, emits the graph,
/// loads that and panics if it does not mean the same. Must never panic otherwise.
pub fn check(data: &[u8]) {
    let inputs = Inputs {
        data,
        emitted: None,
        reads: Default::default(),
    };
    let Ok(m) = load_with(b"build.ninja", &inputs) else {
        return;
    };
    let g = m.graph();
    for e in g.edge_ids() {
        let _ = g.try_evaluate_command(e);
    }
    let all: Vec<_> = g.node_ids().collect();
    let _ = g.run_order(&all);
    let _ = g.edges_in_order(&all);
    let before = outputs(g);
    let emitted = emit::emit(g);
    let inputs = Inputs {
        data,
        emitted: Some(emitted),
        reads: Default::default(),
    };
    let again = match load_with(b"emitted.ninja", &inputs) {
        Ok(m) => m,
        Err(e) => panic!("emitted manifest does not load: {e}"),
    };
    let after = outputs(again.graph());
    assert!(before.0 == after.0, "targets differ after emit");
    if let (Ok(a), Ok(b)) = (&before.1, &after.1) {
        assert!(a == b, "commands differ after emit");
    }
}
