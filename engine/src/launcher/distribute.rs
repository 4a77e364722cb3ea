//! A miss's compile handed to a distributed compiler (distcc or icecream), the engine the
//! build's `[distribute]` policy names; `cached-ninja build` passes it in [`ENV`] with the
//! engine's own settings (`DISTCC_HOSTS`, …) in the environment.
//!
//! The compile runs in two phases ([`CompileCommand::compile_args_of_preprocessed`]): the
//! preprocessor here, holding a CPU token (`crate::jobserver`) and writing the depfile the miss
//! needs, then the compile proper of its output by the engine, without a token: the wait on
//! the network holds no local CPU. The engine gets a preprocessed file, so it does no local
//! preprocessing of its own. What comes back is verified (exit 0, the object and every output
//! the command makes are there and ELF) before the miss stores it, exactly as a local
//! compile's outputs; the key was made before the compile and does not change.
//!
//! A failing or unreachable engine (distcc's own exit codes 100–127, no icecream daemon, an
//! output missing) means a local compile. The first such launch of a build creates the
//! `distribute-down` marker ([`ObjDir::distribute_down_file`]) and prints the build's one
//! warning line; later misses see the marker and compile locally at once (`super::marker`:
//! `cached-ninja build` removes it when a build starts; without it, it holds five minutes).
//! Any other non-zero exit (a compile error, a remote compiler that differs) is compiled
//! again here, so the build sees the local compiler's own verdict and diagnostics.
//!
//! What each engine returns (measured with Debian's distcc 3.4 and icecream 1.4):
//! - **Split DWARF**: distcc's server writes the `.dwo` into its temporary directory and
//!   returns the object alone, whose skeleton then names `/tmp/distccd_….dwo`: with distcc a
//!   command that writes a `.dwo` compiles locally. icecream returns the `.dwo` beside the
//!   object, with the same `dwo_name`.
//! - **gcc with distcc** preprocesses with `-fdirectives-only` and compiles with it: macros
//!   expand in the compile proper, so the debug info's lines and columns are a local
//!   compile's (fully preprocessed C++ moves `DW_AT_decl_column`s); the objects differ from a
//!   local compile's only in `DW_AT_producer`, which names the flag.
//! - **icecream** compiles locally, on its own and silently, a command with `-x cpp-output`
//!   (and drops `-fdirectives-only` from what it is given): it gets a fully preprocessed file
//!   whose suffix (`.i`, `.ii`) names the language. Same code and line table as a local
//!   compile; C++ `DW_AT_decl_column`s may differ. icecream also compiles on this machine
//!   itself when its scheduler says so or a remote attempt fails; it runs with
//!   `ICECC_DEBUG=debug`, whose trace (`<building_local>`, dropped from the replayed output)
//!   says so: such a miss is stored and counted as a local one (it ran outside the jobserver).
//! - **clang** takes `DW_AT_comp_dir` of a preprocessed compile from the directory it runs in
//!   (the engine's temporary one on the server), which no prefix map names: the compile proper
//!   gets `-fdebug-compilation-dir=/cached-ninja/obj`, the token the local compile's map gives.
//!   gcc takes it from the preprocessor's output (objects byte-identical to a local compile).

use super::launch::{debug_note, Launcher};
use super::marker::Marker;
use super::model::CompileModel;
use super::runner::RunResult;
use backend::compile::{CompileCommand, CompilerFamily, Lang, SplitDwarf};
use fetch::cache as fcache;
use fetch::objdir::ObjDir;
use fetch::stats::{Outcome, Problem};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// The engine a miss's compile is handed to: `distcc` or `icecc` (unset: compile here).
pub const ENV: &str = "CACHED_NINJA_DISTRIBUTE";

/// The limit on one compile by the engine, in seconds (default [`DEFAULT_LIMIT`]).
pub const LIMIT_ENV: &str = "CACHED_NINJA_DISTRIBUTE_TIMEOUT_S";

/// The engine's limit when [`LIMIT_ENV`] is unset: distcc's own default I/O timeout.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(300);

/// A distributed compiler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// distcc: the client sends preprocessed sources to `DISTCC_HOSTS`.
    Distcc,
    /// icecream: the client asks the local `iceccd`, whose scheduler picks a node.
    Icecc,
}

impl Engine {
    /// The engine `name` names (`distcc`, `icecc`).
    pub fn from_name(name: &str) -> Option<Engine> {
        match name {
            "distcc" => Some(Engine::Distcc),
            "icecc" => Some(Engine::Icecc),
            _ => None,
        }
    }

    /// The engine [`ENV`] names, if any.
    pub fn from_env() -> Option<Engine> {
        Engine::from_name(&std::env::var(ENV).ok()?)
    }

    /// The client program.
    fn program(self) -> &'static str {
        match self {
            Engine::Distcc => "distcc",
            Engine::Icecc => "icecc",
        }
    }

    /// Environment for the client: distcc must fail rather than compile locally itself (a
    /// local compile is ours to make, under a CPU token); icecream, which cannot be told so,
    /// must say on stderr when it did ([`Engine::kept_here`]).
    fn env(self) -> Vec<(String, String)> {
        match self {
            Engine::Distcc => vec![
                ("DISTCC_FALLBACK".into(), "0".into()),
                ("DISTCC_SKIP_LOCAL_RETRY".into(), "1".into()),
            ],
            // Without the caret workaround, a remote compile that warns is not compiled again
            // here (for the source lines under the carets, which a preprocessed input lacks).
            Engine::Icecc => vec![
                ("ICECC_DEBUG".into(), "debug".into()),
                ("ICECC_CARET_WORKAROUND".into(), "0".into()),
            ],
        }
    }

    /// Whether the client compiled on this machine itself (its scheduler's choice, a job it
    /// does not send, a remote failure), by its trace on `stderr`.
    fn kept_here(self, stderr: &[u8]) -> bool {
        self == Engine::Icecc && memchr::memmem::find(stderr, b"<building_local>").is_some()
    }

    /// Why `cmd` cannot be handed to this engine, if it cannot.
    fn refuses(self, cmd: &CompileCommand) -> Option<&'static str> {
        if cmd.maps_own_prefixes() {
            return Some("the command maps path prefixes itself");
        }
        (self == Engine::Distcc && cmd.split_dwarf == SplitDwarf::Separate)
            .then_some("distcc does not return .dwo files")
    }

    /// Whether exit code `code` is the engine's own failure rather than the compiler's.
    fn failed_itself(self, code: i32) -> bool {
        match self {
            Engine::Distcc => (100..=127).contains(&code),
            Engine::Icecc => false,
        }
    }

    /// Checks that the engine can take jobs: icecream's client needs the local daemon (without
    /// it, it compiles locally itself, outside the jobserver).
    fn reachable(self) -> Result<(), String> {
        match self {
            Engine::Distcc => Ok(()),
            Engine::Icecc => icecc_daemon(),
        }
    }
}

/// Connects to the local icecream daemon where its client looks for it.
fn icecc_daemon() -> Result<(), String> {
    let mut sockets = vec![
        "/var/run/icecc/iceccd.socket".to_string(),
        "/var/run/iceccd.socket".to_string(),
    ];
    if let Ok(home) = std::env::var("HOME") {
        sockets.push(format!("{home}/.iceccd.socket"));
    }
    if sockets
        .iter()
        .any(|s| std::os::unix::net::UnixStream::connect(s).is_ok())
    {
        return Ok(());
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 10245));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
        .map(drop)
        .map_err(|_| {
            format!(
                "no icecream daemon answers ({} or 127.0.0.1:10245): start iceccd",
                sockets.join(", ")
            )
        })
}

/// The distributed compiler of a launch and its limit per compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Distribution {
    /// The engine.
    pub engine: Engine,
    /// How long one compile on it may take before it is killed and compiled here.
    pub limit: Duration,
}

impl Distribution {
    /// The one [`ENV`] and [`LIMIT_ENV`] name, if any.
    pub fn from_env() -> Option<Distribution> {
        let limit = std::env::var(LIMIT_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&s: &u64| s > 0)
            .map_or(DEFAULT_LIMIT, Duration::from_secs);
        Some(Distribution {
            engine: Engine::from_env()?,
            limit,
        })
    }
}

/// Why the engine's result is not used.
enum Verdict {
    /// The engine failed: the build's warning, local compiles from now on.
    Down(String),
    /// This compile only goes local (a compile error, another compiler's verdict).
    CompileHere(String),
}

/// The engine's run of `cmd`, judged: its result when it may be stored, and whether it ran
/// remotely (or the client compiled it here itself).
fn judge(
    d: Distribution,
    cmd: &CompileCommand,
    run: io::Result<RunResult>,
) -> Result<(RunResult, bool), Verdict> {
    let name = d.engine.program();
    let r = match run {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
            return Err(Verdict::Down(format!(
                "{name} gave no result for {} within {} s (killed)",
                cmd.output,
                d.limit.as_secs()
            )))
        }
        Err(e) => {
            return Err(Verdict::Down(format!(
                "cannot run {name}: {e} (install it, or drop [distribute] from the policy)"
            )))
        }
    };
    let own = without_engine_lines(&r.stderr);
    let said = if own.is_empty() {
        &r.stderr[..]
    } else {
        &own[..]
    };
    let why = format!(
        "{name} exited {} compiling {}: {}",
        r.code,
        cmd.output,
        first_line(said)
    );
    if d.engine.failed_itself(r.code) {
        return Err(Verdict::Down(why));
    }
    if r.code != 0 {
        return Err(Verdict::CompileHere(why));
    }
    outputs_complete(cmd).map_err(|missing| Verdict::Down(format!("{name} returned {missing}")))?;
    let remote = !d.engine.kept_here(&r.stderr);
    Ok((r, remote))
}

/// What the miss's compile gave.
pub(super) struct Compiled {
    /// The run (both phases' output and CPU time when distributed).
    pub result: RunResult,
    /// Wall time of the compile, µs.
    pub wall_us: u64,
    /// Whether another machine compiled it.
    pub distributed: bool,
}

impl Launcher<'_> {
    /// The miss's compile: on the engine when one is set and takes `cmd`, else (and after any
    /// failure of the engine) here with `local_args`, which write the depfile `tmp_dep`.
    pub(super) fn compile(
        &self,
        cmd: &CompileCommand,
        local_args: &[String],
        tmp_dep: &Path,
        start: Instant,
    ) -> io::Result<Compiled> {
        if let Some(d) = self.distribute {
            if let Some(c) = self.try_engine(d, cmd, tmp_dep, start) {
                return Ok(c);
            }
        }
        let (result, wall_us) = self.run_compiler(&cmd.compiler, local_args, &[])?;
        Ok(Compiled {
            result,
            wall_us,
            distributed: false,
        })
    }

    /// The two-phase compile on `engine`; `None` means compile here.
    fn try_engine(
        &self,
        d: Distribution,
        cmd: &CompileCommand,
        tmp_dep: &Path,
        start: Instant,
    ) -> Option<Compiled> {
        let engine = d.engine;
        if let Some(why) = engine.refuses(cmd) {
            debug_note(format_args!("compiling {} here: {why}", cmd.output));
            return None;
        }
        let down = Marker::at(ObjDir::new(self.roots.obj()).distribute_down_file());
        if down.is_fresh() {
            return None;
        }
        if let Err(why) = engine.reachable() {
            self.engine_down(&down, &why, start);
            return None;
        }
        let t0 = Instant::now();
        let out_abs = Path::new(self.roots.obj()).join(&cmd.output);
        let suffix = match cmd.lang {
            Lang::C | Lang::PreprocessedC => ".i",
            Lang::Cxx | Lang::PreprocessedCxx => ".ii",
        };
        let pre = fcache::temp_beside(&out_abs, "pre", suffix);
        let pre_name = pre.to_string_lossy().into_owned();
        let preprocessed = self.preprocess(engine, cmd, &pre_name, tmp_dep);
        let remote = preprocessed
            .as_ref()
            .map(|_| self.run_engine(d, cmd, &pre_name));
        let _ = std::fs::remove_file(&pre);
        let (pre_run, remote) = (preprocessed?, remote?);
        let (remote, ran_remotely) = match judge(d, cmd, remote) {
            Ok(r) => r,
            Err(Verdict::Down(why)) => {
                self.engine_down(&down, &why, start);
                return None;
            }
            Err(Verdict::CompileHere(why)) => {
                debug_note(format_args!("compiling {} here: {why}", cmd.output));
                return None;
            }
        };
        if !ran_remotely {
            debug_note(format_args!(
                "{} compiled {} here itself",
                engine.program(),
                cmd.output
            ));
        }
        let mut stderr = pre_run.stderr;
        stderr.extend(without_engine_lines(&remote.stderr));
        let mut stdout = pre_run.stdout;
        stdout.extend(remote.stdout);
        Some(Compiled {
            result: RunResult {
                code: 0,
                stdout,
                stderr,
                cpu_us: pre_run.cpu_us + remote.cpu_us,
                signal: None,
            },
            wall_us: t0.elapsed().as_micros() as u64,
            distributed: ran_remotely,
        })
    }

    /// The preprocessor into `pre`, writing the depfile `tmp_dep`, under a CPU token; `None`
    /// when it fails (the local compile then says why).
    fn preprocess(
        &self,
        engine: Engine,
        cmd: &CompileCommand,
        pre: &str,
        tmp_dep: &Path,
    ) -> Option<RunResult> {
        let mut args = cmd.preprocessor_args();
        args.extend(self.prefix_maps());
        args.extend(self.directives_only(engine));
        args.extend(["-E", "-MD", "-MF"].into_iter().map(String::from).chain([
            tmp_dep.to_string_lossy().into_owned(),
            "-o".into(),
            pre.into(),
        ]));
        // The launch's own token if it holds one (a second would wait for itself at -j1).
        let _cpu = self.cpu.take().unwrap_or_else(crate::jobserver::cpu_token);
        let r = self.runner.run(&cmd.compiler, &args).ok()?;
        (r.code == 0).then_some(r)
    }

    /// The compile proper of `pre` on the engine, without a CPU token, within its limit.
    fn run_engine(
        &self,
        d: Distribution,
        cmd: &CompileCommand,
        pre: &str,
    ) -> io::Result<RunResult> {
        let engine = d.engine;
        // A stale output must not pass for a returned one.
        for (_, path) in cmd.made() {
            let _ = std::fs::remove_file(path);
        }
        let mut args = vec![cmd.compiler.clone()];
        args.extend(cmd.compile_args_of_preprocessed(pre, engine == Engine::Distcc));
        args.extend(self.prefix_maps());
        args.extend(self.directives_only(engine));
        if self.family.get() == Some(CompilerFamily::Clang) {
            args.push(format!("-fdebug-compilation-dir={}", self.obj_token()));
        }
        self.runner
            .run_with_env(engine.program(), &args, &engine.env(), Some(d.limit))
    }

    /// gcc's `-fdirectives-only` for both phases with distcc (see the module docs).
    fn directives_only(&self, engine: Engine) -> Option<String> {
        (engine == Engine::Distcc && self.family.get() == Some(CompilerFamily::Gcc))
            .then(|| "-fdirectives-only".to_string())
    }

    /// The engine failed: the build's one warning line (when this launch is the first to
    /// say so), the `distribute` counter, and a local compile next.
    fn engine_down(&self, marker: &Marker, why: &str, start: Instant) {
        if marker.set() {
            self.warn_for_build(&format!(
                "{why}; compiling locally for the rest of this build"
            ));
        }
        self.record(Outcome::Error(Problem::Distribute), 0, start);
    }
}

/// Every output the command makes is there and is an ELF file, or what is wrong.
fn outputs_complete(cmd: &CompileCommand) -> Result<(), String> {
    for (_, path) in cmd.made() {
        let mut magic = [0u8; 4];
        let read = std::fs::File::open(&path).and_then(|mut f| {
            use std::io::Read;
            f.read_exact(&mut magic)
        });
        match read {
            Err(_) => return Err(format!("no {path}")),
            Ok(()) if &magic != b"\x7fELF" => return Err(format!("{path}, which is not ELF")),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// The first line of `bytes`, for a message.
fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines().next().unwrap_or("").trim().to_string()
}

/// `stderr` without the engine's own lines (`distcc[pid] …`, `ICECC[pid] …`): what is kept
/// and replayed is the compiler's output.
fn without_engine_lines(stderr: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stderr.len());
    for line in stderr.split_inclusive(|&b| b == b'\n') {
        if !(line.starts_with(b"distcc[") || line.starts_with(b"ICECC[")) {
            out.extend_from_slice(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_by_name() {
        assert_eq!(Engine::from_name("distcc"), Some(Engine::Distcc));
        assert_eq!(Engine::from_name("icecc"), Some(Engine::Icecc));
        assert_eq!(Engine::from_name("distcc "), None);
    }

    #[test]
    fn distcc_keeps_split_dwarf_local_and_icecc_takes_it() {
        let cmd = |w: &[&str]| {
            let w: Vec<String> = w.iter().map(|s| s.to_string()).collect();
            backend::compile::parse(&w, CompilerFamily::Gcc).unwrap()
        };
        let split = cmd(&["gcc", "-g", "-gsplit-dwarf", "-c", "a.c", "-o", "a.o"]);
        let plain = cmd(&["gcc", "-g", "-c", "a.c", "-o", "a.o"]);
        assert!(Engine::Distcc.refuses(&split).is_some());
        assert_eq!(Engine::Distcc.refuses(&plain), None);
        assert_eq!(Engine::Icecc.refuses(&split), None);
    }

    #[test]
    fn icecream_says_when_it_compiled_here() {
        let here = b"ICECC[7] 2026-12-03 10:00:00: <building_local>\n";
        assert!(Engine::Icecc.kept_here(here));
        assert!(!Engine::Icecc.kept_here(b"ICECC[7] x: Have to use host 10.0.0.2\n"));
        assert!(!Engine::Distcc.kept_here(here));
    }

    #[test]
    fn engine_lines_are_dropped_from_the_output() {
        let e = b"distcc[12] (dcc_x) Warning: y\na.c:1:1: warning: z\nICECC[3] x\n";
        assert_eq!(without_engine_lines(e), b"a.c:1:1: warning: z\n");
    }
}
