//! `sweep_beside DIR N…`: what a launcher's miss pays to sweep the directory of its output
//! (`fetch::cache::remove_abandoned_beside`): for each N, DIR is filled with N objects and N
//! depfiles (no temporaries: the usual case) and the sweep is timed 2 000 times; prints the
//! median and the 90th percentile in µs. DIR is emptied first and left empty.

use anyhow::Context;
use std::path::Path;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().context("usage: sweep_beside DIR N…")?;
    let dir = Path::new(&dir);
    for n in args {
        let n: usize = n.parse().with_context(|| format!("not a count: {n}"))?;
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for i in 0..n {
            std::fs::write(dir.join(format!("source_file_{i}.c.o")), b"o")?;
            std::fs::write(dir.join(format!("source_file_{i}.c.o.d")), b"d")?;
        }
        let mut us: Vec<f64> = (0..2000)
            .map(|_| {
                let t = Instant::now();
                fetch::cache::remove_abandoned_beside(dir);
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        us.sort_by(f64::total_cmp);
        println!(
            "{} files: median {:.1} µs, p90 {:.1} µs",
            2 * n,
            us[us.len() / 2],
            us[us.len() * 9 / 10]
        );
    }
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
