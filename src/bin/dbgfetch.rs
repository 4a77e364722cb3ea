//! `dbgfetch`: fills debug information in beside the binaries a build with split DWARF linked
//! (DESIGN §6). The work is `engine::fill`; this binary parses the command line, reads the
//! policy (`[debug] debugger`, `[cache] dir`) and prints.

#[path = "../error_text.rs"]
mod error_text;
#[allow(dead_code)] // the policy's other parts serve `cached-ninja`
#[path = "../policy.rs"]
mod policy;
#[allow(dead_code)] // the publish and pull parts serve `cached-ninja`
#[path = "../remote.rs"]
mod remote;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use engine::fill::status::{BinaryStatus, FillState};
use engine::fill::{self, Debugger, FillRequest};
use fetch::objdir::ObjDir;
use policy::DebuggerPolicy;
use remote::{Remote, RemoteArgs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Fills in the debug information of the binaries a cached-ninja build linked with split
/// DWARF: `<binary>.dwp` (or loose `.dwo` files for DWARF 5 and gdb) beside each binary,
/// verified, from the local cache's debug parts, the policy's stores, or the `.dwo` files of
/// local compiles.
#[derive(Parser)]
#[command(name = "dbgfetch", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill the debug info of the linked binaries (all of them, or those named), in the
    /// background unless --wait.
    Fill(FillArgs),
    /// Per binary: state, units filled / units, bytes, layout, missing units and why.
    Status(StatusArgs),
    /// Stop the running fill of the object directory (it resumes with the next fill).
    Stop(DirArg),
}

#[derive(Args)]
struct DirArg {
    /// The object directory (default: the current directory).
    #[arg(short = 'C', value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(Args)]
struct FillArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Fill in the foreground and return when done (after waiting for a running fill);
    /// the exit status is 1 when a binary is left partial or failed.
    #[arg(long)]
    wait: bool,
    /// Binaries to fill, as the build names them (relative to the object directory) or by a
    /// path to the file; default: every linked binary.
    #[arg(value_name = "BINARY")]
    binaries: Vec<PathBuf>,
}

#[derive(Args)]
struct StatusArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Print JSON instead of lines.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // A closed standard output (`dbgfetch status | head -1`) ends the command quietly: SIGPIPE
    // gets its default action back (Rust ignores it, and `println!` then panics).
    // SAFETY: setting a signal's disposition to the default, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Fill(a) => fill_cmd(a),
        Command::Status(a) => status_cmd(a),
        Command::Stop(a) => stop_cmd(a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dbgfetch: error: {}", error_text::one_line(&e));
            ExitCode::from(2)
        }
    }
}

impl DirArg {
    fn objdir(&self) -> anyhow::Result<PathBuf> {
        let d = match &self.dir {
            Some(d) => d.clone(),
            None => std::env::current_dir().context("no current directory")?,
        };
        std::fs::canonicalize(&d)
            .with_context(|| format!("object directory {}: not found", d.display()))
    }
}

fn fill_cmd(a: FillArgs) -> anyhow::Result<ExitCode> {
    let objdir = a.dir.objdir()?;
    let names: Vec<String> = a.binaries.iter().map(|b| build_name(&objdir, b)).collect();
    // Said here, not only in the background fill's log.
    if !objdir.join("build.ninja").is_file() {
        bail!(
            "{} holds no build.ninja: pass the object directory of a build (-C DIR)",
            objdir.display()
        );
    }
    if !a.wait {
        let exe = std::env::current_exe().context("cannot find the dbgfetch executable")?;
        let pid = fill::background::spawn(&exe, &objdir, &names)
            .with_context(|| format!("cannot start a fill in {}", objdir.display()))?;
        eprintln!(
            "dbgfetch: filling debug info in the background (pid {pid}); `dbgfetch status -C {}` to follow",
            objdir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let remote = Remote::open(
        &RemoteArgs {
            dir: Some(objdir.clone()),
            ..RemoteArgs::default()
        },
        false,
    )?;
    for why in &remote.unusable {
        eprintln!("dbgfetch: warning: {why}; not using that store");
    }
    let cache = remote.cache();
    let req = FillRequest {
        objdir: &objdir,
        cache: &cache,
        stores: &remote.stores,
        debugger: debugger(remote.policy.debug.debugger),
        binaries: &names,
        packs_dwo: remote.packs_dwo(),
        wait: true,
        stall: Duration::from_millis(
            std::env::var("DBGFETCH_TEST_STALL_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        ),
    };
    let records = fill::fill(&req, &mut |r| println!("{}", line(r)))?;
    let complete = records
        .iter()
        .all(|r| matches!(r.state, FillState::Filled | FillState::NoSplitDwarf));
    Ok(if complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A binary argument as the build names it: relative to the object directory.
fn build_name(objdir: &Path, b: &Path) -> String {
    if let Ok(abs) = std::fs::canonicalize(b) {
        if let Ok(rel) = abs.strip_prefix(objdir) {
            return rel.to_string_lossy().into_owned();
        }
    }
    b.to_string_lossy().into_owned()
}

fn debugger(p: DebuggerPolicy) -> Debugger {
    match p {
        DebuggerPolicy::Gdb => Debugger::Gdb,
        DebuggerPolicy::Lldb => Debugger::Lldb,
        DebuggerPolicy::Any => Debugger::Any,
    }
}

/// Missing units listed per binary in the human form.
const MISSING_SHOWN: usize = 10;

/// One binary's record as a line.
fn line(r: &BinaryStatus) -> String {
    let mut s = format!(
        "{:<14} {}/{} units  {:>10} ({} fetched)  {:<5}  {}",
        r.state.as_str(),
        r.filled,
        r.units,
        fetch::plan::human_bytes(r.bytes),
        fetch::plan::human_bytes(r.fetched),
        r.layout.map_or("-", |l| l.as_str()),
        r.binary
    );
    for m in r.missing.iter().take(MISSING_SHOWN) {
        let line = format!("\n    missing {} {}: {}", m.dwo_id, m.name, m.reason);
        s.push_str(&line);
    }
    if r.missing.len() > MISSING_SHOWN {
        let more = r.missing.len() - MISSING_SHOWN;
        s.push_str(&format!(
            "\n    … and {more} more missing units (`--json` lists all)"
        ));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!("\n    error: {e}"));
    }
    s
}

fn status_cmd(a: StatusArgs) -> anyhow::Result<ExitCode> {
    let objdir = a.dir.objdir()?;
    let records = fill::read_status(&objdir)?;
    let running = fill::lock::running_pid(&ObjDir::new(&objdir).fill_lock_file());
    if a.json {
        let v = serde_json::json!({
            "objdir": objdir,
            "running": running,
            "binaries": records.iter().map(json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    match running {
        Some(pid) => println!("fill running (pid {pid})"),
        None => println!("no fill running"),
    }
    if records.is_empty() {
        println!("nothing filled yet in {}", objdir.display());
    }
    for r in &records {
        println!("{}", line(r));
    }
    Ok(ExitCode::SUCCESS)
}

fn json(r: &BinaryStatus) -> serde_json::Value {
    serde_json::json!({
        "binary": r.binary,
        "state": r.state.as_str(),
        "layout": r.layout.map(|l| l.as_str()),
        "units": r.units,
        "filled": r.filled,
        "bytes": r.bytes,
        "fetched": r.fetched,
        "debugger": r.debugger.as_str(),
        "missing": r.missing.iter().map(|m| serde_json::json!({
            "dwo_id": m.dwo_id, "name": m.name, "reason": m.reason,
        })).collect::<Vec<_>>(),
        "error": r.error,
    })
}

fn stop_cmd(a: DirArg) -> anyhow::Result<ExitCode> {
    let objdir = a.objdir()?;
    let lock = ObjDir::new(&objdir).fill_lock_file();
    let Some(pid) = fill::lock::running_pid(&lock) else {
        println!("no fill running in {}", objdir.display());
        return Ok(ExitCode::SUCCESS);
    };
    // SAFETY: sending a signal to a pid; no memory is involved.
    if unsafe { libc::kill(pid as i32, libc::SIGTERM) } != 0 {
        bail!(
            "cannot stop the fill (pid {pid}): {}",
            std::io::Error::last_os_error()
        );
    }
    let start = Instant::now();
    while fill::lock::running_pid(&lock) == Some(pid) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("stopped the fill (pid {pid}); `dbgfetch fill` resumes it");
    Ok(ExitCode::SUCCESS)
}
