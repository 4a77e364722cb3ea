//! A policy edited after `generate` (issue 16): under plain Ninja the launchers follow the
//! rules `generate` applied (which edges are cached, the debug-info flags) and read no policy,
//! so an edit would change nothing, silently. Every launch, hit or miss, compares the file
//! with what `generate` recorded (`fetch::objdir::PolicyRead`, from the config the launch
//! reads anyway for the source root): one `statx` of the policy file. Only on a difference
//! does it look for the build's Ninja process and warn, once per Ninja process
//! (`fetch::objdir::ObjDir::first_in_build`, with [`ninja_pid`]).
//! `cached-ninja build` reads the policy itself (and names an edited one in one note) and
//! sets [`BUILD_ENV`] for its Ninja: its launchers skip the check.

use super::launch::Launcher;
use fetch::objdir::ObjDir;
use std::path::Path;

/// Set by `cached-ninja build` in its Ninja's environment.
pub const BUILD_ENV: &str = "CACHED_NINJA_BUILD";

impl Launcher<'_> {
    /// Under plain Ninja, warns once per build when the policy was edited since `generate`.
    pub(super) fn warn_if_policy_edited(&self) {
        let Some(read) = &self.policy_read else {
            return;
        };
        if std::env::var_os(BUILD_ENV).is_some() {
            return;
        }
        let obj = Path::new(self.roots.obj());
        let Some(policy) = read.edited(obj, self.roots.src().map(Path::new)) else {
            return;
        };
        let objdir = ObjDir::new(obj);
        if objdir.first_in_build("policy-warned", ninja_pid()) {
            eprintln!(
                "cached-ninja: warning: {} was edited after `cached-ninja generate` read it; this build follows the rules generate applied then (plain Ninja reads no policy): run `cached-ninja generate -C {}` to apply and check it",
                policy.display(),
                objdir.root().display()
            );
        }
    }
}

/// The Ninja process running this launch: the nearest ancestor named `ninja*` (Ninja runs a
/// command through `/bin/sh -c`, which forks for a compound one), else the parent.
fn ninja_pid() -> u32 {
    let parent = std::os::unix::process::parent_id();
    let mut pid = parent;
    for _ in 0..4 {
        let Some((name, ppid)) = fetch::process::name_and_parent(pid) else {
            break;
        };
        if name.starts_with("ninja") {
            return pid;
        }
        pid = ppid;
    }
    parent
}
