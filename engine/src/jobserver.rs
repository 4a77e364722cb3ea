//! CPU tokens for compiles (DESIGN §5): `cached-ninja build` runs Ninja with many more jobs
//! than cores (most jobs of a cached build are hits or downloads) and hands out one token per
//! core through a GNU make jobserver, exported to Ninja's children in `MAKEFLAGS`. A launcher
//! holds a token only while a compiler really runs ([`cpu_token`]), so at most that many
//! compilers run at once. A compile handed to a distributed compiler holds one while it
//! preprocesses here, not while it waits for the remote compile
//! (`crate::launcher::distribute`).
//!
//! Unlike a make child, a launcher has no implicit token: every compile takes one from the
//! pipe. It therefore only takes part when `cached-ninja build` started the build, which it
//! says in [`ENV`] (the same `--jobserver-auth` value as `MAKEFLAGS`); under a plain `ninja`
//! or a `make` that runs ninja, compiles run without tokens, as before.
//!
//! A token read from the pipe is lost with its reader: a launcher killed with `kill -9` while
//! it compiles never writes it back, and with every token lost the build's other compiles
//! would wait for ever. So a launcher records the token it holds, a file named by its pid and
//! start time (`fetch::process::Writer`) in the directory [`HOLDERS_ENV`] names, removed
//! before the token is released; the build's [`TokenKeeper`] gives back the token of each
//! record whose writer is gone. What is left: a kill in the few system calls between reading
//! the token and creating the record (or between removing it and writing the token back)
//! still loses that token.

/// The jobserver a build serves its CPU tokens from ([`server`]).
pub use jobserver::Client;

use fetch::process::Writer;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Set by `cached-ninja build` to the jobserver's auth string (`R,W` or `fifo:PATH`).
pub const ENV: &str = "CACHED_NINJA_JOBSERVER";

/// Set by `cached-ninja build`: the directory of the records of held tokens.
pub const HOLDERS_ENV: &str = "CACHED_NINJA_TOKEN_HOLDERS";

/// How often the [`TokenKeeper`] looks for tokens of dead launchers.
const KEEPER_EVERY: Duration = Duration::from_millis(200);

/// A CPU token held for the duration of one compile (released on drop).
pub struct CpuToken {
    /// The record of the held token, removed (on drop) before the token is released.
    record: Option<PathBuf>,
    _held: Option<(jobserver::Client, jobserver::Acquired)>,
}

impl Drop for CpuToken {
    fn drop(&mut self) {
        if let Some(r) = &self.record {
            let _ = std::fs::remove_file(r);
        }
    }
}

impl CpuToken {
    /// Whether a token is held (false outside `cached-ninja build`).
    #[allow(dead_code)]
    pub fn held(&self) -> bool {
        self._held.is_some()
    }
}

/// Waits for a CPU token of the build's jobserver, if `cached-ninja build` set one up;
/// otherwise returns at once with no token. A jobserver that cannot be used (closed
/// descriptors, a changed `MAKEFLAGS`) is ignored: the compile runs without a token.
pub fn cpu_token() -> CpuToken {
    let held = acquire();
    let record = held.as_ref().and_then(|_| {
        let dir = PathBuf::from(std::env::var_os(HOLDERS_ENV)?);
        let path = dir.join(Writer::this().name());
        std::fs::File::create(&path).ok().map(|_| path)
    });
    CpuToken {
        record,
        _held: held,
    }
}

fn acquire() -> Option<(jobserver::Client, jobserver::Acquired)> {
    let auth = std::env::var(ENV).ok()?;
    let flags = std::env::var("MAKEFLAGS").ok()?;
    if !flags
        .split(' ')
        .any(|w| w == format!("--jobserver-auth={auth}"))
    {
        return None;
    }
    // SAFETY: the descriptors named in MAKEFLAGS were inherited from `cached-ninja build`
    // (checked above through ENV), and `check_pipe` verifies they are a pipe or fifo.
    let client = unsafe { jobserver::Client::from_env_ext(true) }
        .client
        .ok()?;
    let token = client.acquire().ok()?;
    Some((client, token))
}

/// A jobserver with `tokens` CPU tokens, for `cached-ninja build`.
pub fn server(tokens: usize) -> std::io::Result<Client> {
    Client::new(tokens)
}

/// Exports `client` to a command (ninja): `MAKEFLAGS` and [`ENV`], inherited descriptors, and
/// `holders`, the directory of the records of held tokens ([`HOLDERS_ENV`]).
pub fn export(client: &jobserver::Client, holders: &Path, cmd: &mut std::process::Command) {
    cmd.env(HOLDERS_ENV, holders);
    client.configure_make(cmd);
    let auth = cmd
        .get_envs()
        .find(|(k, _)| *k == "MAKEFLAGS")
        .and_then(|(_, v)| v?.to_str())
        .and_then(|v| {
            v.split(' ')
                .find_map(|w| w.strip_prefix("--jobserver-auth="))
        })
        .unwrap_or_default()
        .to_string();
    cmd.env(ENV, auth);
}

/// Gives back the tokens of launchers that died holding one, while it lives (a thread of
/// `cached-ninja build`; stopped on drop).
pub struct TokenKeeper {
    /// Dropped to stop the keeper at once (its wait ends when the channel closes).
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenKeeper {
    /// Starts keeping `client`'s tokens recorded in `holders`, which it empties first (the
    /// records of an earlier build's launchers name another jobserver's tokens).
    pub fn start(client: &jobserver::Client, holders: &Path) -> std::io::Result<TokenKeeper> {
        let _ = std::fs::remove_dir_all(holders);
        std::fs::create_dir_all(holders)?;
        let (client, holders) = (client.clone(), holders.to_path_buf());
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("token-keeper".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(KEEPER_EVERY)
                {
                    give_back_lost(&client, &holders);
                }
            })?;
        Ok(TokenKeeper {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for TokenKeeper {
    fn drop(&mut self) {
        // A build ends when Ninja does: the keeper's wait is cut short, not slept out.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes back to `client` one token per record in `holders` whose launcher is gone (the
/// record removed first, so a token is given back once); returns how many.
fn give_back_lost(client: &jobserver::Client, holders: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(holders) else {
        return 0;
    };
    let mut given = 0;
    for e in rd.flatten() {
        let name = e.file_name();
        let gone = name
            .to_str()
            .and_then(Writer::from_name)
            .is_some_and(|w| w.is_gone());
        if gone && std::fs::remove_file(e.path()).is_ok() && client.release_raw().is_ok() {
            given += 1;
        }
    }
    given
}
