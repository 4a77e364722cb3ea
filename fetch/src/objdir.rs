//! The one owner of the layout of `<objdir>/.cached-ninja/` and of its `config` file: every
//! crate that writes there (the launcher's stats, action log, gdbinit; the pull's marker and
//! wants; `generate`'s originals and config; the debug-info fill's records, lock and log)
//! asks an [`ObjDir`] for the path.
//!
//! ```text
//! <objdir>/.cached-ninja/
//!   config       `key = value` lines: src-root, policy, policy-read, dwp-step (by `generate`)
//!   ninja-facts  what a zero-setup build's Ninja files say (its own DWARF packager, whether
//!                it runs the launcher), under build.ninja's stat stamp
//!                (engine::launcher::ninja_facts; ninja-facts.lock held while one reads)
//!   stats        the launchers' outcomes of the current build (crate::stats)
//!   actions      the action log, spanning builds (crate::action_log)
//!   edges        what each compile edge's launch did in the last build (crate::edge_log)
//!   last-pull    the CI build the last pull used, keys per output (crate::last_pull)
//!   gdbinit      this machine's token→root mapping for debuggers
//!   pulling      the marker of a running pull (crate::want)
//!   wants/       keys launchers wait on, and those the pull gave up on (crate::want)
//!   pull-queue   the running pull's queue: place and wait budget per record (crate::want::queue)
//!   pull-state   the running pull's progress and measured link (crate::want::link_state)
//!   original/    the generator's Ninja files before the rewrite
//!   lldbinit     this machine's token→root mapping for lldb (written by the fill)
//!   fill-status  what the debug-info fill did per linked binary (engine::fill::status)
//!   fill.lock    held (flock) by the running fill, which writes its pid in it
//!   fill.log     stdout and stderr of a fill started in the background
//!   stores-down  stores whose breaker tripped recently, skipped until a time (crate::skips)
//!   build.lock   held (flock) by the running `cached-ninja build`, which writes its pid in it
//!   token-holders/  one file per launcher holding a CPU token of the running build's jobserver,
//!                named by its pid and start time (engine::jobserver)
//!   distribute-down  the distributed compiler failed during this build: its one warning is
//!                made, later misses compile locally (engine::launcher::distribute)
//!   cache-unwritable  the local cache it names had no room for an entry during this build:
//!                its one warning is made, later misses store nothing (engine::launcher::marker)
//!   policy-warned.<pid>  a launcher under plain Ninja (process <pid>) warned that the policy
//!                was edited since `generate` read it ([`ObjDir::first_in_build`])
//! ```
//!
//! `config` values are taken as written after trimming blanks; a value wrapped in double
//! quotes (a hand edit) loses them. Writers write values bare.

use std::io;
use std::path::{Path, PathBuf};

/// File name of the policy, looked for in the object directory, then in the source root.
pub const POLICY_FILE_NAME: &str = "cached-ninja.toml";

/// Name of the state directory inside an object directory.
pub const STATE_DIR: &str = ".cached-ninja";

/// An object directory (the working directory of Ninja's edges) and the paths of its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjDir {
    root: PathBuf,
}

impl ObjDir {
    /// The object directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> ObjDir {
        ObjDir { root: root.into() }
    }

    /// The object directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<objdir>/.cached-ninja`.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR)
    }

    fn state(&self, name: &str) -> PathBuf {
        self.state_dir().join(name)
    }

    /// The `key = value` file `generate` writes.
    pub fn config_file(&self) -> PathBuf {
        self.state("config")
    }

    /// What a zero-setup build's Ninja files say (its DWARF packager, whether it runs the
    /// launcher) under the stamp of its `build.ninja` (`engine::launcher::ninja_facts`).
    pub fn ninja_facts_file(&self) -> PathBuf {
        self.state("ninja-facts")
    }

    /// Held (flock) by the launch reading the Ninja files for [`ObjDir::ninja_facts_file`].
    pub fn ninja_facts_lock_file(&self) -> PathBuf {
        self.state("ninja-facts.lock")
    }

    /// The launchers' outcomes of the current build.
    pub fn stats_file(&self) -> PathBuf {
        self.state("stats")
    }

    /// The action log.
    pub fn action_log_file(&self) -> PathBuf {
        self.state("actions")
    }

    /// What each compile edge's launch did in the last build.
    pub fn edge_log_file(&self) -> PathBuf {
        self.state("edges")
    }

    /// The CI build the last pull used.
    pub fn last_pull_file(&self) -> PathBuf {
        self.state("last-pull")
    }

    /// The token→root mapping for gdb.
    pub fn gdbinit_file(&self) -> PathBuf {
        self.state("gdbinit")
    }

    /// The token→root mapping for lldb (`target.source-map`).
    pub fn lldbinit_file(&self) -> PathBuf {
        self.state("lldbinit")
    }

    /// `<objdir>/.lldbinit`: what lldb started in the object directory reads (with
    /// `target.load-cwd-lldbinit`); it sources [`ObjDir::lldbinit_file`].
    pub fn cwd_lldbinit_file(&self) -> PathBuf {
        self.root.join(".lldbinit")
    }

    /// The debug-info fill's record of each linked binary.
    pub fn fill_status_file(&self) -> PathBuf {
        self.state("fill-status")
    }

    /// The lock file of the debug-info fill (holds the running fill's pid).
    pub fn fill_lock_file(&self) -> PathBuf {
        self.state("fill.lock")
    }

    /// The log of a debug-info fill started in the background.
    pub fn fill_log_file(&self) -> PathBuf {
        self.state("fill.log")
    }

    /// The stores skipped for a while after a hard failure ([`crate::skips`]).
    pub fn stores_down_file(&self) -> PathBuf {
        self.state("stores-down")
    }

    /// The lock file of `cached-ninja build` (one build per object directory).
    pub fn build_lock_file(&self) -> PathBuf {
        self.state("build.lock")
    }

    /// The records of the CPU tokens launchers of the running build hold.
    pub fn token_holders_dir(&self) -> PathBuf {
        self.state("token-holders")
    }

    /// The marker of a distributed compiler that failed during this build.
    pub fn distribute_down_file(&self) -> PathBuf {
        self.state("distribute-down")
    }

    /// The marker of a local cache that could not take a new entry during this build (full,
    /// read-only, not ours to write).
    pub fn cache_unwritable_file(&self) -> PathBuf {
        self.state("cache-unwritable")
    }

    /// Written as hits are served before Ninja runs (`engine::ahead`): its mtime is the time
    /// their build log entries record, taken before any of them was looked up.
    pub fn ahead_stamp_file(&self) -> PathBuf {
        self.state("ahead-stamp")
    }

    /// The marker of a running pull.
    pub fn pull_marker_file(&self) -> PathBuf {
        self.state("pulling")
    }

    /// The directory of wanted (and given up) action keys.
    pub fn wants_dir(&self) -> PathBuf {
        self.state("wants")
    }

    /// The running pull's queue: each record's place and wait budget (`fetch::want::queue`).
    pub fn pull_queue_file(&self) -> PathBuf {
        self.state("pull-queue")
    }

    /// The running pull's progress and measured link (`fetch::want::link_state`).
    pub fn pull_state_file(&self) -> PathBuf {
        self.state("pull-state")
    }

    /// Where the generator's Ninja files are kept before the rewrite.
    pub fn originals_dir(&self) -> PathBuf {
        self.state("original")
    }

    /// The value of `key` in the config file, if set.
    pub fn config_value(&self, key: &str) -> Option<String> {
        self.config().value(key).map(str::to_string)
    }

    /// The config file as it is now, read once (empty when there is none).
    pub fn config(&self) -> Config {
        Config {
            text: std::fs::read_to_string(self.config_file()).unwrap_or_default(),
        }
    }

    /// The configured source root, absolute (a relative value is taken from the object
    /// directory).
    pub fn config_src_root(&self) -> Option<PathBuf> {
        self.config_value("src-root").map(|v| self.root.join(v))
    }

    /// Sets `key` to `value` in the config file, keeping the other keys; writes only on a
    /// change, atomically.
    pub fn set_config_value(&self, key: &str, value: &str) -> io::Result<()> {
        let path = self.config_file();
        let old = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut text: String = old
            .lines()
            .filter(|l| l.split_once('=').is_none_or(|(k, _)| k.trim() != key))
            .map(|l| format!("{l}\n"))
            .collect();
        text.push_str(&format!("{key} = {value}\n"));
        if text == old {
            return Ok(());
        }
        std::fs::create_dir_all(self.state_dir())?;
        crate::cache::write_atomic(&path, text.as_bytes())
    }
}

impl ObjDir {
    /// Records that `generate` read `policy` (`None`: it found none) with the file's stamp, so
    /// a launcher can tell an edit since: a plain `ninja` build follows the rules `generate`
    /// applied, not the file.
    pub fn record_policy_read(&self, policy: Option<&Path>) -> io::Result<()> {
        let value = match policy {
            Some(p) => format!("{} {}", stamp(&std::fs::metadata(p)?), p.display()),
            None => "none".to_string(),
        };
        self.set_config_value(POLICY_READ, &value)
    }

    /// The policy file edited since `generate` read it (changed or removed; or, where it found
    /// none, one in the object directory or `src_root` now); `None` also when `generate`
    /// recorded nothing (zero setup).
    pub fn policy_edited(&self, src_root: Option<&Path>) -> Option<PathBuf> {
        PolicyRead::parse(self.config().value(POLICY_READ)?)?.edited(&self.root, src_root)
    }

    /// Whether this is the first call for `tag` during the build that Ninja process
    /// `ninja_pid` runs: creates `<tag>.<pid>` in the state directory (removing the markers of
    /// earlier builds); `false` when the marker exists or cannot be made.
    pub fn first_in_build(&self, tag: &str, ninja_pid: u32) -> bool {
        let marker = self.state(&format!("{tag}.{ninja_pid}"));
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
            .is_ok();
        if created {
            let mine = marker.file_name().map(|n| n.to_os_string());
            let Ok(rd) = std::fs::read_dir(self.state_dir()) else {
                return true;
            };
            for e in rd.flatten() {
                let name = e.file_name();
                let earlier = name
                    .to_str()
                    .is_some_and(|n| n.strip_prefix(tag).is_some_and(|r| r.starts_with('.')));
                if earlier && Some(&name) != mine.as_ref() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        created
    }
}

/// The config key under which `generate` records the policy it read ([`PolicyRead`]).
pub const POLICY_READ: &str = "policy-read";

/// The config key under which `generate` records the DWARF packager the build runs itself
/// (`none`, `gnu` or `llvm`; `backend::rewrite::dwp_step`).
pub const DWP_STEP: &str = "dwp-step";

/// What `generate` recorded of the policy file it read (config `policy-read`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyRead {
    /// It found no policy file.
    None,
    /// It read `path`, whose size, modification time (ns) and inode were `stamp`.
    File {
        /// The file's stamp when read (a field that was not a number: `u64::MAX`).
        stamp: [u64; 3],
        /// The file.
        path: PathBuf,
    },
}

impl PolicyRead {
    /// Parses a recorded `policy-read` value (`none`, or `<size> <mtime> <inode> <path>`).
    pub fn parse(value: &str) -> Option<PolicyRead> {
        if value == "none" {
            return Some(PolicyRead::None);
        }
        let mut f = value.splitn(4, ' ');
        let stamp = [f.next()?, f.next()?, f.next()?].map(|n| n.parse().unwrap_or(u64::MAX));
        let path = PathBuf::from(f.next()?);
        Some(PolicyRead::File { stamp, path })
    }

    /// The policy file edited since it was read (changed or removed; or, where none was
    /// found, one in the object directory `objdir` or `src_root` now). One `statx` when a
    /// file was read (a launcher's hit pays that), one per place looked when none was.
    pub fn edited(&self, objdir: &Path, src_root: Option<&Path>) -> Option<PathBuf> {
        match self {
            PolicyRead::None => {
                let dirs = std::iter::once(objdir).chain(src_root);
                dirs.map(|d| d.join(POLICY_FILE_NAME)).find(|p| p.is_file())
            }
            PolicyRead::File { stamp, path } => match std::fs::metadata(path) {
                Ok(md) if *stamp == stamp_fields(&md) => None,
                _ => Some(path.clone()),
            },
        }
    }
}

/// The `config` file's text, read once.
#[derive(Clone, Debug, Default)]
pub struct Config {
    text: String,
}

impl Config {
    /// The value of `key`, if set.
    pub fn value(&self, key: &str) -> Option<&str> {
        config_lines(&self.text).find_map(|(k, v)| (k == key).then_some(v))
    }
}

/// A file's size, modification time (ns) and inode: what tells an edit.
fn stamp_fields(md: &std::fs::Metadata) -> [u64; 3] {
    use std::os::unix::fs::MetadataExt;
    let mtime = (md.mtime() as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(md.mtime_nsec() as u64);
    [md.size(), mtime, md.ino()]
}

fn stamp(md: &std::fs::Metadata) -> String {
    let [size, mtime, ino] = stamp_fields(md);
    format!("{size} {mtime} {ino}")
}

/// The `(key, value)` pairs of a config file's text.
fn config_lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|l| {
        let (k, v) = l.split_once('=')?;
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(v);
        Some((k.trim(), v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_edits_since_generate_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let (obj, src) = (dir.path().join("obj"), dir.path().join("src"));
        std::fs::create_dir_all(&obj).unwrap();
        std::fs::create_dir_all(&src).unwrap();
        let o = ObjDir::new(&obj);
        // Nothing recorded (zero setup): nothing to compare.
        assert_eq!(o.policy_edited(Some(&src)), None);
        o.record_policy_read(None).unwrap();
        assert_eq!(o.policy_edited(Some(&src)), None);
        let in_src = src.join(POLICY_FILE_NAME);
        std::fs::write(&in_src, "[fetch]\n").unwrap();
        assert_eq!(o.policy_edited(Some(&src)), Some(in_src.clone()));
        o.record_policy_read(Some(&in_src)).unwrap();
        assert_eq!(o.policy_edited(Some(&src)), None);
        std::fs::write(&in_src, "[fetch]\njobs = 2\n").unwrap();
        assert_eq!(o.policy_edited(Some(&src)), Some(in_src.clone()));
        o.record_policy_read(Some(&in_src)).unwrap();
        std::fs::remove_file(&in_src).unwrap();
        assert_eq!(o.policy_edited(Some(&src)), Some(in_src));
    }

    #[test]
    fn first_in_build_once_per_ninja_process() {
        let dir = tempfile::tempdir().unwrap();
        let o = ObjDir::new(dir.path());
        std::fs::create_dir_all(o.state_dir()).unwrap();
        assert!(o.first_in_build("policy-warned", 41));
        assert!(!o.first_in_build("policy-warned", 41));
        // The next build's first call, and the marker of the earlier one is gone.
        assert!(o.first_in_build("policy-warned", 42));
        assert!(!o.state_dir().join("policy-warned.41").exists());
        assert!(!o.first_in_build("policy-warned", 42));
    }

    #[test]
    fn config_round_trip_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let o = ObjDir::new(dir.path());
        assert_eq!(o.config_value("src-root"), None);
        o.set_config_value("src-root", "../src").unwrap();
        o.set_config_value("policy", "/p/cached-ninja.toml")
            .unwrap();
        o.set_config_value("src-root", "/abs/src").unwrap();
        assert_eq!(o.config_value("src-root").as_deref(), Some("/abs/src"));
        assert_eq!(
            o.config_value("policy").as_deref(),
            Some("/p/cached-ninja.toml")
        );
        assert_eq!(o.config_src_root(), Some(PathBuf::from("/abs/src")));
    }

    #[test]
    fn quoted_and_relative_values() {
        let dir = tempfile::tempdir().unwrap();
        let o = ObjDir::new(dir.path());
        std::fs::create_dir_all(o.state_dir()).unwrap();
        std::fs::write(o.config_file(), "src-root = \"..\"\n  policy=x.toml \n").unwrap();
        assert_eq!(o.config_value("src-root").as_deref(), Some(".."));
        assert_eq!(o.config_value("policy").as_deref(), Some("x.toml"));
        assert_eq!(o.config_src_root(), Some(dir.path().join("..")));
    }
}
