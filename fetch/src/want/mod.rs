//! How launchers and a running pull meet (DESIGN §5): while `cached-ninja build` pulls CI's
//! build, it keeps a marker `<objdir>/.cached-ninja/pulling` (`<pid> <wait ms>`). A launcher
//! that misses locally but knows its action key (direct mode found the include set the pull
//! recorded) drops an empty file `<objdir>/.cached-ninja/wants/<action key>`; the pull takes
//! wanted keys before anything else, and the launcher waits up to the marker's budget for the
//! entry to appear in the local cache, then compiles. No daemon, no socket: files in the object
//! directory, so a crashed pull (its pid gone or reused: the marker holds the start time too)
//! simply means nobody waits.
//!
//! The wait is per edge (issue 15): before the marker, the pull writes its queue ([`queue`]:
//! per key the bytes ahead of it, CI's compile time, the policy's `remote_wait`), and while it
//! runs its measured link ([`link_state`]); a launcher waits only while the expected time
//! until its object arrives is below its compile time (or the rule's `remote_wait`), and never
//! longer than the marker's flat budget (`[fetch] wait_ms`) unless a rule says so.
//!
//! While `cached-ninja build` still looks for CI's build (Ninja already runs), the marker
//! says `planning` ([`PlanningMarker`]): a launcher that misses waits, within the same
//! budget, for the plan to land and looks again (the pull records its include sets before it
//! announces itself), so a slow or dead store never holds up Ninja's start or a no-op build.
//! Until a store answered, the marker also holds since when the revisions have been listed or
//! the stores asked ([`PlanWait`]), so launchers can stop waiting for a listing that hangs or a
//! store that accepts connections but never answers.
//!
//! This is a stand-in for DESIGN §5's prefetch daemon.

pub mod link_state;
pub mod queue;

use crate::cache::Digest;
use crate::objdir::ObjDir;
use crate::process::start_time;
use link_state::LinkState;
use queue::Slot;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How launchers and a running pull talk: one side asks for keys and waits, the other serves
/// wanted keys first and gives up on those it cannot bring. [`FileLink`] is the implementation
/// over files in the object directory; a daemon with a socket would be another.
pub trait PullLink: Sync {
    /// The launcher's wait budget while a pull runs for this object directory, else `None`.
    fn running(&self) -> Option<Duration>;
    /// What a launcher may wait for while the build still looks for a pull's plan, else
    /// `None`.
    fn planning(&self) -> Option<PlanWait>;
    /// Asks the running pull for `key` first.
    fn want(&self, key: &Digest) -> io::Result<()>;
    /// Whether the pull gave up on `key` (its launcher then compiles at once).
    fn given_up(&self, key: &Digest) -> bool;
    /// The pull's side: takes the wanted keys, each once.
    fn take_wants(&self) -> Vec<Digest>;
    /// The pull's side: gives up on `key`.
    fn give_up(&self, key: &Digest);
    /// `key`'s place in the running pull's queue, if the pull published one.
    fn slot(&self, key: &Digest) -> Option<Slot>;
    /// The running pull's progress and measured link, if published.
    fn link_state(&self) -> Option<LinkState>;
    /// The pull's side: publishes its progress and measured link.
    fn publish_state(&self, state: &LinkState);
}

/// How long a launcher waits for a plan whose stores were asked and none has answered: a
/// store that answers a `HEAD` within 300 ms (four round trips of 75 ms: TCP, TLS, the
/// request) is waited for within the whole budget; a silent one costs the first compiles at
/// most this much, not its first-byte timeout (2 s by default; issue 16's bound on libgit2 is
/// 0.58 s).
pub const SILENT_PATIENCE: Duration = Duration::from_millis(300);

/// How long a launcher waits for a plan whose revisions are still listed (local work, before
/// any store is asked): Mercurial, a Python program, takes 0.2 s alone and seconds on a loaded
/// machine; a listing that hangs costs the first compiles at most this much.
pub const LISTING_PATIENCE: Duration = Duration::from_secs(5);

/// The search for a pull's plan, as a launcher sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanWait {
    /// The launcher's wait budget.
    pub budget: Duration,
    /// Where the search is.
    pub phase: PlanPhase,
}

/// Where the search for a plan is, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanPhase {
    /// The revisions have been listed for this long (no store asked yet).
    Listing(Duration),
    /// The stores have been asked for this long, and none has answered.
    Asked(Duration),
    /// A store answered: the plan is waited for within the budget.
    Answered,
}

impl PlanWait {
    /// Whether a launcher stops waiting for the plan now: the revisions listed for
    /// [`LISTING_PATIENCE`], or the stores asked and silent for `silent` (the product's
    /// [`SILENT_PATIENCE`]; tests lengthen it where a slow machine is no silent store).
    pub fn patience_over(&self, silent: Duration) -> bool {
        match self.phase {
            PlanPhase::Listing(t) => t >= LISTING_PATIENCE,
            PlanPhase::Asked(t) => t >= silent,
            PlanPhase::Answered => false,
        }
    }
}

/// The [`PullLink`] over files: `<objdir>/.cached-ninja/pulling` and `wants/`.
#[derive(Clone, Debug)]
pub struct FileLink {
    marker: PathBuf,
    wants: PathBuf,
    queue: PathBuf,
    state: PathBuf,
}

impl FileLink {
    /// The link of an object directory.
    pub fn new(objdir: ObjDir) -> FileLink {
        FileLink {
            marker: objdir.pull_marker_file(),
            wants: objdir.wants_dir(),
            queue: objdir.pull_queue_file(),
            state: objdir.pull_state_file(),
        }
    }

    /// A link whose wants live in `wants` (and whose marker is `wants/../pulling`): for a pull
    /// outside an object directory's layout.
    pub fn in_dir(wants: &Path) -> FileLink {
        FileLink {
            marker: wants.with_file_name("pulling"),
            wants: wants.to_path_buf(),
            queue: wants.with_file_name("pull-queue"),
            state: wants.with_file_name("pull-state"),
        }
    }

    /// The live marker's budget, and the search if it says `planning`.
    fn marker(&self) -> Option<(Duration, Option<PlanWait>)> {
        let text = std::fs::read_to_string(&self.marker).ok()?;
        let mut f = text.split_whitespace();
        let pid: u32 = f.next()?.parse().ok()?;
        let since: u64 = f.next()?.parse().ok()?;
        let budget = Duration::from_millis(f.next()?.parse().ok()?);
        let planning = (f.next() == Some(PLANNING)).then(|| {
            let age = |w: Option<&str>| {
                let t: u64 = w?.parse().ok()?;
                Some(Duration::from_millis(unix_ms().saturating_sub(t)))
            };
            let first = f.next();
            let phase = match (first, age(first), f.next()) {
                (None, ..) => PlanPhase::Answered,
                (Some(_), Some(t), Some(LISTING)) => PlanPhase::Listing(t),
                (Some(_), Some(t), _) => PlanPhase::Asked(t),
                // A word not read (another version's): no longer waited for.
                (Some(_), None, _) => PlanPhase::Asked(Duration::MAX),
            };
            PlanWait { budget, phase }
        });
        (start_time(pid)? == since).then_some((budget, planning))
    }

    fn failed_path(&self, key: &Digest) -> PathBuf {
        self.wants.join(format!("{}.failed", key.to_hex()))
    }
}

impl PullLink for FileLink {
    /// The marker's process must still be the one that wrote it (same pid and start time; a
    /// crashed pull's pid may be reused).
    fn running(&self) -> Option<Duration> {
        match self.marker()? {
            (budget, None) => Some(budget),
            (_, Some(_)) => None,
        }
    }

    fn planning(&self) -> Option<PlanWait> {
        self.marker()?.1
    }

    fn want(&self, key: &Digest) -> io::Result<()> {
        std::fs::write(self.wants.join(key.to_hex()), b"")
    }

    fn given_up(&self, key: &Digest) -> bool {
        self.failed_path(key).exists()
    }

    /// Each key once, whoever removes its file first.
    fn take_wants(&self) -> Vec<Digest> {
        let Ok(rd) = std::fs::read_dir(&self.wants) else {
            return Vec::new();
        };
        rd.filter_map(|e| {
            let e = e.ok()?;
            let d = Digest::from_hex(e.file_name().to_str()?)?;
            std::fs::remove_file(e.path()).ok()?;
            Some(d)
        })
        .collect()
    }

    fn give_up(&self, key: &Digest) {
        let _ = std::fs::write(self.failed_path(key), b"");
    }

    fn slot(&self, key: &Digest) -> Option<Slot> {
        queue::lookup(&self.queue, key)
    }

    fn link_state(&self) -> Option<LinkState> {
        LinkState::read(&self.state)
    }

    fn publish_state(&self, state: &LinkState) {
        let _ = state.write(&self.state);
    }
}

/// Set (to `1`) by `cached-ninja build` on its first run of Ninja beside a pull, which
/// compiles what no record of the pull covers: its launchers do not wait for the plan (8 of
/// the 11 misses of libgit2's race at k = 5 waited about 290 ms each for the pull's
/// announcement). A compile that a record does cover (one the uncovered outputs need) still
/// meets the pull once it is announced.
pub const UNCOVERED_ENV: &str = "CACHED_NINJA_UNCOVERED";

/// The word of a marker written while the plan is looked for (then the phase's words:
/// `<unix ms> listing` since the listing began, `<unix ms>` since the stores were asked, none
/// once one answered; a launcher of before 2026-12-06 reads the first two alike, as the
/// stores' silence).
const PLANNING: &str = "planning";

/// The word after [`PLANNING`] while the revisions are listed.
const LISTING: &str = "listing";

/// The marker of a build still looking for its plan; removed when dropped, unless it became
/// a [`PullMarker`] ([`PlanningMarker::into_pull`]).
pub struct PlanningMarker {
    link: Option<FileLink>,
    wait: Duration,
}

impl PlanningMarker {
    /// Says that this process looks for a plan from now, listing its revisions first;
    /// launchers wait up to `wait` for it.
    pub fn create(obj_root: &Path, wait: Duration) -> io::Result<PlanningMarker> {
        let link = FileLink::new(ObjDir::new(obj_root));
        if let Some(parent) = link.marker.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let listing = format!("{PLANNING} {} {LISTING}", unix_ms());
        write_marker(&link.marker, wait, Some(&listing))?;
        Ok(PlanningMarker {
            link: Some(link),
            wait,
        })
    }

    /// The stores are asked from now: launchers that miss wait for the plan at most
    /// [`SILENT_PATIENCE`] from now while none answers.
    pub fn asking(&self) -> io::Result<()> {
        self.rewrite(&format!("{PLANNING} {}", unix_ms()))
    }

    /// A store answered: launchers that miss now wait for the plan within their budget.
    pub fn answered(&self) -> io::Result<()> {
        self.rewrite(PLANNING)
    }

    /// Rewrites the marker with `word` (none once it became the pull's).
    fn rewrite(&self, word: &str) -> io::Result<()> {
        match &self.link {
            Some(l) => write_marker(&l.marker, self.wait, Some(word)),
            None => Ok(()),
        }
    }

    /// The plan is here: the marker becomes the pull's ([`PullMarker::create`]), with no moment
    /// in between without one. On an error the marker is gone.
    pub fn into_pull(
        mut self,
        obj_root: &Path,
        wait: Duration,
        slots: &mut [(Digest, Slot)],
        rate: Option<u64>,
    ) -> io::Result<PullMarker> {
        let link = self.link.take();
        let pull = PullMarker::create(obj_root, wait, slots, rate);
        if pull.is_err() {
            if let Some(l) = link {
                let _ = std::fs::remove_file(&l.marker);
            }
        }
        pull
    }
}

impl Drop for PlanningMarker {
    fn drop(&mut self) {
        if let Some(l) = &self.link {
            let _ = std::fs::remove_file(&l.marker);
        }
    }
}

/// Writes the marker `<pid> <start time> <wait ms> [word]` of this process to `path`.
fn write_marker(path: &Path, wait: Duration, word: Option<&str>) -> io::Result<()> {
    let pid = std::process::id();
    let since = start_time(pid).unwrap_or(0);
    let text = match word {
        Some(w) => format!("{pid} {since} {} {w}\n", wait.as_millis()),
        None => format!("{pid} {since} {}\n", wait.as_millis()),
    };
    crate::cache::write_atomic(path, text.as_bytes())
}

/// Milliseconds since the Unix epoch (a clock every process of the machine shares).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A running pull's marker; removed (with pending wants) when dropped.
pub struct PullMarker {
    link: FileLink,
}

impl PullMarker {
    /// Announces a pull by this process with its queue (`slots`, in any order) and, when known
    /// before measuring, its link's bytes per second (`rate`); launchers wait up to `wait` for
    /// a wanted entry (a `remote_wait` of a slot replaces it). The queue and the rate are in
    /// place before the marker: a launcher that sees the pull sees them.
    pub fn create(
        obj_root: &Path,
        wait: Duration,
        slots: &mut [(Digest, Slot)],
        rate: Option<u64>,
    ) -> io::Result<PullMarker> {
        let link = FileLink::new(ObjDir::new(obj_root));
        // Wants and failures left by a pull that crashed are not this pull's.
        match std::fs::remove_dir_all(&link.wants) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let _ = std::fs::remove_file(&link.state);
        std::fs::create_dir_all(&link.wants)?;
        queue::write(&link.queue, slots)?;
        if let Some(rate) = rate {
            let state = LinkState {
                rate,
                ..LinkState::default()
            };
            state.write(&link.state)?;
        }
        write_marker(&link.marker, wait, None)?;
        Ok(PullMarker { link })
    }
}

impl Drop for PullMarker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.link.marker);
        let _ = std::fs::remove_dir_all(&self.link.wants);
        let _ = std::fs::remove_file(&self.link.queue);
        let _ = std::fs::remove_file(&self.link.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lives_with_its_process_and_its_start_time() {
        let dir = tempfile::tempdir().unwrap();
        let obj = dir.path();
        let o = ObjDir::new(obj);
        let link = FileLink::new(o.clone());
        let wants_dir = |_| o.wants_dir();
        let marker_path = |_| o.pull_marker_file();
        let running = |_| link.running();
        std::fs::create_dir_all(wants_dir(obj)).unwrap();
        std::fs::write(wants_dir(obj).join("old.failed"), b"").unwrap();
        let m = PullMarker::create(obj, Duration::from_millis(1234), &mut [], None).unwrap();
        assert_eq!(running(obj), Some(Duration::from_millis(1234)));
        assert!(
            !wants_dir(obj).join("old.failed").exists(),
            "a crashed pull's files go"
        );
        let key = Digest::of(b"k");
        link.want(&key).unwrap();
        assert_eq!(link.take_wants(), vec![key]);
        assert!(link.take_wants().is_empty(), "taken once");
        link.give_up(&key);
        assert!(link.given_up(&key));
        // Our pid, another start time: a reused pid of a crashed pull.
        let text = std::fs::read_to_string(marker_path(obj)).unwrap();
        let f: Vec<&str> = text.split_whitespace().collect();
        let forged = format!("{} {} {}\n", f[0], f[1].parse::<u64>().unwrap() + 1, f[2]);
        std::fs::write(marker_path(obj), forged).unwrap();
        assert_eq!(running(obj), None);
        drop(m);
        assert!(!marker_path(obj).exists() && !wants_dir(obj).exists());
        assert_eq!(running(obj), None);
    }

    #[test]
    fn a_planning_marker_is_no_pull_and_becomes_one() {
        let dir = tempfile::tempdir().unwrap();
        let obj = dir.path().join("obj");
        let link = FileLink::new(ObjDir::new(&obj));
        let wait = Duration::from_millis(700);
        let planning = PlanningMarker::create(&obj, wait).unwrap();
        let phase = || link.planning().map(|p| (p.budget, p.phase));
        // Listing the revisions: no store asked yet; the listing's own patience applies.
        let Some((budget, PlanPhase::Listing(listed))) = phase() else {
            panic!("listing: {:?}", link.planning())
        };
        assert_eq!((budget, link.running()), (wait, None));
        assert!(!link.planning().unwrap().patience_over(SILENT_PATIENCE));
        let long_listed = PlanWait {
            budget,
            phase: PlanPhase::Listing(listed + LISTING_PATIENCE),
        };
        assert!(long_listed.patience_over(SILENT_PATIENCE));
        planning.asking().unwrap();
        let Some((_, PlanPhase::Asked(silent))) = phase() else {
            panic!("asked, no answer: {:?}", link.planning())
        };
        std::thread::sleep(Duration::from_millis(30));
        let Some((_, PlanPhase::Asked(later))) = phase() else {
            panic!("still no answer: {:?}", link.planning())
        };
        assert!(later >= silent + Duration::from_millis(30), "{later:?}");
        let long_silent = PlanWait {
            budget,
            phase: PlanPhase::Asked(SILENT_PATIENCE),
        };
        assert!(long_silent.patience_over(SILENT_PATIENCE));
        planning.answered().unwrap();
        let answered = PlanWait {
            budget: wait,
            phase: PlanPhase::Answered,
        };
        assert_eq!((link.planning(), link.running()), (Some(answered), None));
        assert!(!answered.patience_over(SILENT_PATIENCE));
        let pull = planning.into_pull(&obj, wait, &mut [], Some(1000)).unwrap();
        assert_eq!(
            link.link_state().map(|s| s.rate),
            Some(1000),
            "the rate known before"
        );
        assert_eq!((link.planning(), link.running()), (None, Some(wait)));
        drop(pull);
        assert_eq!((link.planning(), link.running()), (None, None));
        // A word after `planning` not read (another version's) is not waited for.
        let path = ObjDir::new(&obj).pull_marker_file();
        write_marker(&path, wait, Some("planning junk")).unwrap();
        assert!(link.planning().unwrap().patience_over(SILENT_PATIENCE));
        std::fs::remove_file(&path).unwrap();
        // A plan that never came: the marker goes with its value.
        drop(PlanningMarker::create(&obj, wait).unwrap());
        assert!(!ObjDir::new(&obj).pull_marker_file().exists());
        assert_eq!(link.planning(), None);
    }
}
