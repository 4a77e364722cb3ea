//! The inputs a rustc compile read, for its action key: the files of its dep-info, the crate
//! files it loaded, and two kinds of pseudo-input the lookup checks like files: `$env:NAME`
//! (a variable read through `env!`/`option_env!`, by its normalised value) and `$roots` (this
//! machine's roots, for an artifact that embeds them).

use super::super::launch::Launcher;
use super::super::lookup::{NotStored, Seen};
use backend::compile::rustc::{DepInfo, RustcCommand};
use backend::key;
use fetch::cache::StatStamp;
use std::time::SystemTime;

/// Prefix of a variable's pseudo-input path.
const ENV_INPUT: &str = "$env:";
/// Path of the roots' pseudo-input.
const ROOTS_INPUT: &str = "$roots";

/// The digest a pseudo-input (`$env:NAME`, `$roots`) has now on this machine; `None` for a
/// path that is none (a real file).
pub(in crate::launcher) fn pseudo_input_digest(
    launcher: &Launcher<'_>,
    path: &str,
) -> Option<key::Digest> {
    if let Some(name) = path.strip_prefix(ENV_INPUT) {
        return Some(env_digest(launcher, std::env::var(name).ok().as_deref()));
    }
    (path == ROOTS_INPUT).then(|| roots_digest(launcher))
}

/// The digest of a variable's value with the roots tagged (`None`: unset).
fn env_digest(launcher: &Launcher<'_>, value: Option<&str>) -> key::Digest {
    match value {
        Some(v) => key::Digest::of(format!("={}", launcher.tag_roots(v)).as_bytes()),
        None => key::Digest::of(b"unset"),
    }
}

/// The digest of this machine's roots.
pub(super) fn roots_digest(launcher: &Launcher<'_>) -> key::Digest {
    let r = &launcher.roots;
    let text = format!(
        "{}\0{}\0{}",
        r.obj(),
        r.src().unwrap_or(""),
        r.registry().unwrap_or("")
    );
    key::Digest::of(text.as_bytes())
}

/// Whether a dep-info path is a file of rustc's own sysroot (`…/lib/rustlib/…`): covered by
/// rustc's identity, and at another path on every machine. Not under a command that names a
/// sysroot of its own (`--sysroot`): its crates are the project's (a review changed one and
/// was served the old binary, 2026-12-05).
pub(super) fn in_sysroot(cmd: &RustcCommand, path: &str) -> bool {
    path.contains("/lib/rustlib/") && !cmd.args.iter().any(|a| a.starts_with("--sysroot"))
}

impl Launcher<'_> {
    /// The inputs of a finished compile: each file of `deps` but the crate root (hashed in
    /// the source key) and rustc's sysroot, then each variable it read. A file changed since
    /// `since` is [`NotStored::Changed`].
    pub(super) fn rustc_inputs(
        &self,
        cmd: &RustcCommand,
        deps: &DepInfo,
        since: SystemTime,
    ) -> Result<Vec<Seen>, NotStored> {
        let now = SystemTime::now();
        let mut out = Vec::with_capacity(deps.files.len() + deps.env.len());
        let own = |p: &String| *p == cmd.source || in_sysroot(cmd, p);
        for p in deps.files.iter().filter(|p| !own(p)) {
            if p.contains('\n') || p.starts_with('$') {
                return Err(NotStored::Unreadable);
            }
            let md = std::fs::metadata(p).map_err(|_| NotStored::Unreadable)?;
            let stamp = StatStamp::of(&md);
            if stamp.changed_since(since) {
                return Err(NotStored::Changed(p.clone()));
            }
            let bytes = std::fs::read(p).map_err(|_| NotStored::Unreadable)?;
            out.push(Seen {
                norm: self.roots.normalize(p).into_owned(),
                digest: key::Digest::of(&bytes),
                stamp: stamp.is_settled(now).then_some(stamp),
                directives: Vec::new().into(),
            });
        }
        for (name, value) in &deps.env {
            out.push(Seen {
                norm: format!("{ENV_INPUT}{name}"),
                digest: env_digest(self, value.as_deref()),
                stamp: None,
                directives: Vec::new().into(),
            });
        }
        Ok(out)
    }

    /// The pseudo-input that ties an entry to this machine's roots (an artifact that embeds
    /// one of them).
    pub(super) fn roots_input(&self) -> Seen {
        Seen {
            norm: ROOTS_INPUT.to_string(),
            digest: roots_digest(self),
            stamp: None,
            directives: Vec::new().into(),
        }
    }
}
