//! `cached-ninja stats`: what the launchers of a build did (hits, misses, failed compiles,
//! uncacheable with their named reasons, errors with their named problems, hits whose debug
//! part was deferred to `dbgfetch fill`, time saved), from `<object root>/.cached-ninja/stats`
//! (see `fetch::stats`).

use clap::Args;
use fetch::stats::{self, BuildStats, Problem, Reason};
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `cached-ninja stats`.
#[derive(Args)]
pub struct StatsArgs {
    /// The object root (build directory); default the current directory.
    #[arg(short = 'C', long = "dir")]
    pub dir: Option<PathBuf>,
    /// Start counting afresh (forget what earlier builds recorded).
    #[arg(long)]
    pub zero: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints or zeroes the statistics.
pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let dir = match args.dir {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    if !dir.is_dir() {
        anyhow::bail!("object directory {} does not exist", dir.display());
    }
    if args.zero {
        stats::zero(&dir)?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = BuildStats::read(&dir)?;
    if args.json {
        let problems: Vec<String> = Problem::ALL
            .iter()
            .map(|p| format!("\"{}\":{}", p.name(), s.problem(*p)))
            .collect();
        let reasons: Vec<String> = Reason::ALL
            .iter()
            .map(|r| format!("\"{}\":{}", r.name(), s.reason(*r)))
            .collect();
        println!(
            "{{\"hits\":{},\"debug_deferred\":{},\"misses\":{},\"distributed\":{},\"failed\":{},\"uncacheable\":{},\"uncacheable_reasons\":{{{}}},\"errors\":{},\"problems\":{{{}}},\"saved_us\":{},\"spent_us\":{},\"cpu_us\":{}}}",
            s.hits,
            s.debug_deferred,
            s.misses,
            s.distributed,
            s.failed,
            s.uncacheable,
            reasons.join(","),
            s.errors,
            problems.join(","),
            s.saved_us,
            s.spent_us,
            s.cpu_us
        );
    } else {
        println!("hits          {}", s.hits);
        if s.debug_deferred > 0 {
            println!("  {:<13} {}", stats::DEBUG_DEFERRED, s.debug_deferred);
        }
        println!("misses        {}", s.misses);
        if s.distributed > 0 {
            println!("  {:<13} {}", stats::DISTRIBUTED, s.distributed);
        }
        println!("failed        {}", s.failed);
        println!("uncacheable   {}", s.uncacheable);
        for r in Reason::ALL.into_iter().filter(|r| s.reason(*r) > 0) {
            println!("  {:<18} {}", r.name(), s.reason(r));
        }
        println!("errors        {}", s.errors);
        for p in Problem::ALL.into_iter().filter(|p| s.problem(*p) > 0) {
            println!("  {:<13} {}", p.name(), s.problem(p));
        }
        println!("hit rate      {:.1} %", s.hit_rate());
        println!("time saved    {:.1} s", s.saved_us as f64 / 1e6);
        println!("launcher time {:.1} s", s.spent_us as f64 / 1e6);
        println!("launcher CPU  {:.3} s", s.cpu_us as f64 / 1e6);
    }
    Ok(ExitCode::SUCCESS)
}
