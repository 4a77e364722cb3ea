//! The graph's accessors, build order and error fields on small manifests.

use backend::ninja::{load_with, FileReader, Graph, LoadError, NodeId};

struct One(&'static [u8]);

impl FileReader for One {
    fn read(&self, path: &[u8]) -> std::io::Result<Vec<u8>> {
        match path {
            b"build.ninja" => Ok(self.0.to_vec()),
            _ => Err(std::io::Error::from_raw_os_error(2)),
        }
    }
}

fn load(text: &'static [u8]) -> Graph {
    match load_with(b"build.ninja", &One(text)) {
        Ok(m) => m.into_graph(),
        Err(e) => panic!("{e}"),
    }
}

fn paths(g: &Graph, nodes: &[NodeId]) -> Vec<String> {
    nodes
        .iter()
        .map(|&n| String::from_utf8_lossy(g.path(n)).into_owned())
        .collect()
}

#[test]
fn edge_accessors() {
    let g = load(
        b"pool p\n  depth = 3\nrule r\n  command = r $in $out\n  pool = p\n  dyndep = dd\n\
          build o1 o2 | io: r a ./b | i1 || oo1 dd |@ v\nrule s\n  command = s\nbuild v: s\nbuild dd: s\n",
    );
    assert_eq!(g.edge_count(), 3);
    assert_eq!(g.node_count(), 9);
    let e = g.in_edge(g.lookup(b"o1").unwrap()).unwrap();
    assert_eq!(paths(&g, g.outputs(e)), ["o1", "o2", "io"]);
    assert_eq!(paths(&g, g.explicit_outputs(e)), ["o1", "o2"]);
    assert_eq!(paths(&g, g.implicit_outputs(e)), ["io"]);
    assert_eq!(paths(&g, g.inputs(e)), ["a", "b", "i1", "oo1", "dd"]);
    assert_eq!(paths(&g, g.explicit_inputs(e)), ["a", "b"]);
    assert_eq!(paths(&g, g.implicit_inputs(e)), ["i1"]);
    assert_eq!(paths(&g, g.order_only_inputs(e)), ["oo1", "dd"]);
    assert_eq!(paths(&g, g.validations(e)), ["v"]);
    assert_eq!(g.dyndep(e), g.lookup(b"dd"));
    assert_eq!(g.rule_name(g.rule(e)), b"r");
    assert_eq!(g.pool_name(g.pool(e)), b"p");
    assert_eq!(g.pool_depth(g.pool(e)), 3);
    assert_eq!(g.evaluate_command(e), b"r a b o1 o2");
    // dyndep must be an input: here it is only a validation, so loading fails.
    let err = load_with(
        b"build.ninja",
        &One(b"rule r\n  command = r\n  dyndep = dd\nbuild o: r |@ dd\n"),
    );
    assert!(matches!(err, Err(LoadError::Syntax(_))));
}

#[test]
fn build_order_and_roots() {
    let g = load(
        b"rule r\n  command = r $out\nbuild c: r b\nbuild b: r a\nbuild a: r\nbuild d: r a\nbuild all: phony c d\n",
    );
    let all = g.lookup(b"all").unwrap();
    let order: Vec<Vec<u8>> = g
        .edges_in_order(&[all])
        .into_iter()
        .map(|e| g.binding(e, b"out"))
        .collect();
    assert_eq!(order, [&b"a"[..], b"b", b"c", b"d", b"all"]);
    assert_eq!(paths(&g, &g.root_nodes()), ["all"]);
    let a = g.lookup(b"a").unwrap();
    assert_eq!(g.out_edges(a).len(), 2);
    assert!(g.is_phony(g.in_edge(all).unwrap()));
}

#[test]
fn error_fields() {
    let Err(LoadError::Syntax(e)) = load_with(b"build.ninja", &One(b"rule r\n  command = $!\n"))
    else {
        panic!("expected a syntax error");
    };
    assert_eq!(e.file, b"build.ninja");
    assert_eq!((e.line, e.column, e.offset), (2, 12, 19));
    assert_eq!(e.line_text, b"  command = $!");
    assert_eq!(
        String::from_utf8(e.render()).unwrap(),
        "build.ninja:2: bad $-escape (literal $ must be written as $$)\n  command = $!\n            ^ near here"
    );
}

#[test]
fn missing_manifest() {
    let err = load_with(b"nope.ninja", &One(b"")).err().expect("fails");
    assert_eq!(
        err.render(),
        b"loading 'nope.ninja': No such file or directory"
    );
}

#[test]
fn exponential_values_are_cut() {
    let mut text = b"x = xxxxxxxxxxxxxxxx\n".to_vec();
    for _ in 0..40 {
        text.extend_from_slice(b"x = $x$x\n");
    }
    let text: &'static [u8] = Box::leak(text.into_boxed_slice());
    let err = load_with(b"build.ninja", &One(text)).err().expect("fails");
    assert!(err.is_fatal());
}

#[test]
fn self_include_stops() {
    struct SelfInclude;
    impl FileReader for SelfInclude {
        fn read(&self, _: &[u8]) -> std::io::Result<Vec<u8>> {
            Ok(b"x = 1\ninclude build.ninja\n".to_vec())
        }
    }
    let err = load_with(b"build.ninja", &SelfInclude)
        .err()
        .expect("fails");
    let text = String::from_utf8(err.render()).unwrap();
    assert!(text.contains("include nesting too deep"), "{text}");
}
