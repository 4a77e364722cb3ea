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

/// Set by `cached-ninja build` to the jobserver's auth string (`R,W` or `fifo:PATH`).
pub const ENV: &str = "CACHED_NINJA_JOBSERVER";

/// A CPU token held for the duration of one compile (released on drop).
pub struct CpuToken {
    _held: Option<(jobserver::Client, jobserver::Acquired)>,
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
    CpuToken { _held: acquire() }
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
pub fn server(tokens: usize) -> std::io::Result<jobserver::Client> {
    jobserver::Client::new(tokens)
}

/// Exports `client` to a command (ninja): `MAKEFLAGS` and [`ENV`], inherited descriptors.
pub fn export(client: &jobserver::Client, cmd: &mut std::process::Command) {
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
