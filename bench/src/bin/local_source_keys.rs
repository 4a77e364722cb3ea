//! `local_source_keys`: what the pull's "changed here" check costs (issue 15): loading an object
//! directory's `build.ninja` and computing the source key of every launcher edge with the
//! launch's own code (`engine::launcher::local_keys::source_keys`), timed apart, N times.
//!
//! ```text
//! local_source_keys OBJDIR [N] [--keys]   (run with the environment a build would have, e.g.
//!                                          CACHED_NINJA_CACHE_DIR, so the compiler memo is
//!                                          the build's; --keys prints `<output> <key>` lines)
//! ```
//! Prints `load_ms L keys_ms K edges E keys N` per iteration; the first iteration may identify
//! the compilers (a memo miss), later ones read the memo.

use anyhow::Context;
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(
        args.first()
            .context("usage: local_source_keys OBJDIR [N]")?,
    );
    let n: usize = args.get(1).map_or(Ok(3), |s| s.parse())?;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let graph = engine::fill::targets::load_graph(dir)?;
        let load = t.elapsed();
        let t = Instant::now();
        let keys = engine::launcher::local_keys::source_keys(dir, &graph);
        let k = t.elapsed();
        if args.iter().any(|a| a == "--keys") {
            let mut sorted: Vec<_> = keys.iter().collect();
            sorted.sort();
            for (out, key) in sorted {
                println!("{out} {}", key.to_hex());
            }
        }
        println!(
            "load_ms {:.1} keys_ms {:.1} edges {} keys {}",
            load.as_secs_f64() * 1e3,
            k.as_secs_f64() * 1e3,
            graph.edge_count(),
            keys.len()
        );
    }
    Ok(())
}
