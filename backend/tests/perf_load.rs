//! Load time of a large manifest (ignored by default): set `BIG_NINJA` to a file written
//! by `../shared/bench/synth_manifest.py` and run with `--release -- --ignored --nocapture`.

#[test]
#[ignore]
fn load_big_manifest() {
    let Ok(path) = std::env::var("BIG_NINJA") else {
        eprintln!("BIG_NINJA not set");
        return;
    };
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let m = backend::ninja::load(std::path::Path::new(&path)).expect("loads");
        let g = m.graph();
        println!(
            "load: {:.1} ms, {} nodes, {} edges",
            start.elapsed().as_secs_f64() * 1000.0,
            g.node_count(),
            g.edge_count()
        );
    }
}
