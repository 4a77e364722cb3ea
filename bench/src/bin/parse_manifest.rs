//! `parse_manifest`: load a Ninja manifest with `backend::ninja::load` N times and time each load.
//!
//! ```text
//! parse_manifest [-C DIR] [FILE] [N]      FILE defaults to build.ninja, N to 5
//! ```
//!
//! What is timed is exactly one `backend::ninja::load` call: reading the file (and its
//! `include`/`subninja` files), parsing, and building the graph: the work ninja 1.11 does
//! inside its `.ninja parse` metric (`Parser::Load`: read + lex + parse + path evaluation +
//! graph). Nothing more is evaluated (no commands, no `stat`), so the number compares with
//! that metric. Dropping the manifest is timed apart (`drop`): ninja never frees its graph.
//! Each iteration drops the previous manifest before loading again, so the peak RSS of a run
//! is that of one loaded manifest plus the allocator's slack.
//!
//! Output (parsed by `bench/parse-vs-ninja.sh`, keep it stable):
//! ```text
//! iteration 1: 123.456 ms  drop 12.345 ms  edges 200101  nodes 400202
//! median 123.456 ms  min 120.001 ms  iterations 5  edges 200101  nodes 400202
//! ```

use anyhow::{anyhow, bail, Context};
use bench::{median, millis};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Args {
    dir: Option<PathBuf>,
    file: PathBuf,
    iterations: usize,
}

const USAGE: &str = "usage: parse_manifest [-C DIR] [FILE] [N]";

fn parse_args() -> anyhow::Result<Args> {
    let mut dir = None;
    let mut positional = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-C" {
            dir = Some(PathBuf::from(args.next().context(USAGE)?));
        } else if arg == "-h" || arg == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        } else {
            positional.push(arg);
        }
    }
    let (file, iterations) = match positional.as_slice() {
        [] => (PathBuf::from("build.ninja"), 5),
        [f] => (PathBuf::from(f), 5),
        [f, n] => {
            let n = n.to_str().and_then(|s| s.parse().ok()).filter(|&n| n > 0);
            (
                PathBuf::from(f),
                n.with_context(|| format!("N must be a positive integer\n{USAGE}"))?,
            )
        }
        _ => bail!("too many arguments\n{USAGE}"),
    };
    Ok(Args {
        dir,
        file,
        iterations,
    })
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    if let Some(dir) = &args.dir {
        // Like `ninja -C DIR`: every path of the manifest is relative to DIR.
        std::env::set_current_dir(dir)
            .with_context(|| format!("cannot enter {}", dir.display()))?;
    }
    let mut times = Vec::with_capacity(args.iterations);
    let mut counts = (0, 0);
    for i in 1..=args.iterations {
        let start = Instant::now();
        let manifest = backend::ninja::load(&args.file).map_err(|e| anyhow!("{e}"))?;
        let elapsed = start.elapsed();
        let graph = black_box(&manifest).graph();
        counts = (graph.edge_count(), graph.node_count());
        let start = Instant::now();
        drop(manifest);
        let dropped = start.elapsed();
        println!(
            "iteration {i}: {} ms  drop {} ms  edges {}  nodes {}",
            millis(elapsed),
            millis(dropped),
            counts.0,
            counts.1
        );
        times.push(elapsed);
    }
    let med = median(&times).unwrap_or_default();
    let min = times.iter().copied().min().unwrap_or(Duration::ZERO);
    println!(
        "median {} ms  min {} ms  iterations {}  edges {}  nodes {}",
        millis(med),
        millis(min),
        times.len(),
        counts.0,
        counts.1
    );
    Ok(())
}
