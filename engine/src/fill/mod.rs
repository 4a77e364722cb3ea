//! The debug-info fill (`dbgfetch fill`, DESIGN §6): after a build with split DWARF, every
//! binary it linked gets its split units beside it, packaged or loose, verified, with the
//! coverage recorded per binary.
//!
//! ## One fill
//! 1. Take the object directory's fill lock ([`lock`]): two fills never run at once.
//! 2. Read the graph and list the linked binaries with the objects of their link closures
//!    ([`targets`]).
//! 3. Skip a binary whose record ([`status`]) is final for the file as it is now (same
//!    mtime, size and inode) and whose package, if any, is still there and not older than it;
//!    and, in a build that runs `dwp` or `llvm-dwp` itself, one with a package not older than
//!    it (the build's own: left as it is, with no record).
//! 4. Otherwise remove its `<binary>.dwp` (stale: gdb would trust it and ignore the rest;
//!    the packages of all such binaries go before the first is filled), find each object's
//!    debug part ([`parts`]: the debug blob of the object's action entry from the local cache
//!    or the stores, else the `.dwo` on disk), write the layout [`layout::choose`] picks for
//!    the configured [`Debugger`] with the one atomic write, and verify it: every skeleton
//!    unit's `dwo_id` must have its split unit.
//! 5. If the binary changed meanwhile (relinked while the fill ran), remove what was written
//!    and leave it pending; passes repeat until one changes nothing, so a binary relinked
//!    during a fill is filled again before the fill ends.
//!
//! Interrupted at any point (even `kill -9`), the next fill resumes: records are written after
//! each binary, files are whole or absent, and a binary without a final record is redone.
//!
//! ## Modules
//! - [`targets`]: linked binaries and link closures from the Ninja graph.
//! - [`parts`]: the debug part of an object.
//! - [`layout`]: the package or loose files, and their verification.
//! - [`paths`]: prefix-map tokens back to this machine's roots; loose places; lldb's mapping.
//! - [`autoload`]: the scripts gdb and lldb load by themselves (`<binary>-gdb.gdb`,
//!   `<objdir>/.lldbinit`), sourcing the mappings.
//! - [`status`]: the per-binary record; [`lock`]: one fill at a time;
//!   [`background`]: starting a fill detached at low priority.

pub mod autoload;
pub mod background;
mod binary;
pub mod layout;
pub mod lock;
pub mod parts;
pub mod paths;
pub mod status;
pub mod targets;

use fetch::cache::LocalCache;
use fetch::objdir::ObjDir;
use status::{BinaryStatus, FillState, Stamp};
use std::io;
use std::path::{Path, PathBuf};
use targets::LinkedBinary;

/// Passes over the binaries before a fill gives up on binaries that keep being relinked.
const MAX_PASSES: usize = 5;

/// The debugger the layout must work for (`[debug] debugger` in the policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Debugger {
    /// gdb (13 crashes on DWARF 5 packages).
    #[default]
    Gdb,
    /// lldb.
    Lldb,
    /// Both.
    Any,
}

impl Debugger {
    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Debugger::Gdb => "gdb",
            Debugger::Lldb => "lldb",
            Debugger::Any => "any",
        }
    }

    /// The debugger a word names.
    pub fn parse(s: &str) -> Option<Debugger> {
        match s {
            "gdb" => Some(Debugger::Gdb),
            "lldb" => Some(Debugger::Lldb),
            "any" => Some(Debugger::Any),
            _ => None,
        }
    }
}

/// How a binary's split units are laid out beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One `<binary>.dwp`.
    Package,
    /// `.dwo` files where the skeletons' `DW_AT_dwo_name` points from the binary's directory.
    Loose,
}

impl Layout {
    /// The word stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Package => "dwp",
            Layout::Loose => "loose",
        }
    }

    /// The layout a word names.
    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "dwp" => Some(Layout::Package),
            "loose" => Some(Layout::Loose),
            _ => None,
        }
    }
}

/// What to fill.
#[derive(Clone, Copy)]
pub struct FillRequest<'a> {
    /// The object directory.
    pub objdir: &'a Path,
    /// The local cache its launchers use.
    pub cache: &'a LocalCache,
    /// Remote stores asked for debug parts the local cache lacks, in order.
    pub stores: &'a [fetch::store::Store],
    /// The debugger the layout must suit.
    pub debugger: Debugger,
    /// Binaries to fill, relative to the object directory; empty: every linked binary.
    pub binaries: &'a [String],
    /// Whether the build packages its `.dwo` files itself (`dwp`, `llvm-dwp`): a binary whose
    /// package is not older than it is the build's, left alone.
    pub packs_dwo: bool,
    /// Wait for a running fill to end instead of returning [`FillError::Busy`].
    pub wait: bool,
    /// For tests only: a pause after a binary's parts are gathered, before its layout is
    /// written (`dbgfetch` reads it from `DBGFETCH_TEST_STALL_MS`), to relink or kill meanwhile.
    pub stall: std::time::Duration,
}

/// Why a fill could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FillError {
    /// Another fill of this object directory runs.
    #[error("another fill of this object directory is running{}; `dbgfetch status` follows it, `dbgfetch stop` ends it", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy {
        /// Its pid, if known.
        pid: Option<u32>,
    },
    /// The object directory's state could not be read or written.
    #[error("{}: {error}", .path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// The build graph could not be read.
    #[error("cannot read the build graph of {}: {error}; is it a configured and built object directory?", .objdir.display())]
    Graph {
        /// The object directory.
        objdir: PathBuf,
        /// The loader's error.
        error: backend::ninja::LoadError,
    },
    /// A binary asked for is not linked by the build.
    #[error("{name} is not a binary the build in {} linked (an executable or shared library output of a link edge, built)", .objdir.display())]
    UnknownBinary {
        /// The name as given.
        name: String,
        /// The object directory.
        objdir: PathBuf,
    },
}

/// Runs one fill; `report` sees each binary's record as it is written. Returns the records of
/// the binaries filled or found up to date.
pub fn fill(
    req: &FillRequest<'_>,
    report: &mut dyn FnMut(&BinaryStatus),
) -> Result<Vec<BinaryStatus>, FillError> {
    let od = ObjDir::new(req.objdir);
    // Before anything is written: a directory that is no object directory, or an unknown
    // binary, is an error that leaves no trace.
    select(req, &od)?;
    let lock_path = od.fill_lock_file();
    let state = |path: &Path| {
        let path = path.to_path_buf();
        move |error| FillError::State { path, error }
    };
    let _lock = lock::acquire(&lock_path, req.wait)
        .map_err(state(&lock_path))?
        .ok_or_else(|| FillError::Busy {
            pid: lock::running_pid(&lock_path),
        })?;
    let tokens = paths::TokenMap {
        obj: req.objdir.to_path_buf(),
        src: od.config_src_root(),
    };
    let lldbinit = od.lldbinit_file();
    fetch::cache::write_atomic(&lldbinit, paths::lldbinit_text(&tokens).as_bytes())
        .map_err(state(&lldbinit))?;
    let status_path = od.fill_status_file();
    // A record that cannot be read is redone, not trusted.
    let mut records = status::read(&status_path).unwrap_or_default();
    let mut done = Vec::new();
    // Binaries tried in this fill, with the file they were tried on: partial and failed ones
    // are tried once per fill, again by the next fill or once relinked.
    let mut tried: Vec<(String, Stamp)> = Vec::new();
    for _ in 0..MAX_PASSES {
        let bins = select(req, &od)?;
        if req.binaries.is_empty() {
            // Binaries the build no longer links have no record.
            let before = records.len();
            records.retain(|r| bins.iter().any(|b| b.path == r.binary));
            if records.len() != before {
                status::write(&status_path, &records).map_err(state(&status_path))?;
            }
        }
        let todo: Vec<&LinkedBinary> = bins
            .iter()
            .filter(|b| !up_to_date(req, find(&records, &b.path)))
            .filter(|b| !(req.packs_dwo && package_not_older(&req.objdir.join(&b.path))))
            .filter(|b| {
                let now = Stamp::of(&req.objdir.join(&b.path)).ok();
                !tried.iter().any(|(p, s)| p == &b.path && Some(*s) == now)
            })
            .collect();
        done = bins.iter().map(|b| b.path.clone()).collect();
        let files: Vec<PathBuf> = bins.iter().map(|b| req.objdir.join(&b.path)).collect();
        autoload::write(&od, &files).map_err(|(path, error)| FillError::State { path, error })?;
        if todo.is_empty() {
            break;
        }
        for b in &todo {
            // Stale packages go first, all of them, before any binary is filled.
            let _ = layout::remove_package(&req.objdir.join(&b.path));
            upsert(&mut records, BinaryStatus::pending(&b.path));
        }
        status::write(&status_path, &records).map_err(state(&status_path))?;
        // Reads the action entries: only when there is something to fill.
        let ctx = binary::Context::new(req, &tokens);
        for b in todo {
            let r = ctx.fill_binary(b);
            if r.state.is_done() {
                tried.push((r.binary.clone(), r.stamp));
            }
            report(&r);
            upsert(&mut records, r);
            status::write(&status_path, &records).map_err(state(&status_path))?;
        }
    }
    Ok(records
        .into_iter()
        .filter(|r| done.contains(&r.binary))
        .collect())
}

/// The linked binaries the request names (with the in-tree shared libraries they link), or
/// all of them.
fn select(req: &FillRequest<'_>, od: &ObjDir) -> Result<Vec<LinkedBinary>, FillError> {
    let graph = targets::load_graph(od.root()).map_err(|error| FillError::Graph {
        objdir: od.root().to_path_buf(),
        error,
    })?;
    let all = targets::linked_binaries(&graph, od.root());
    if req.binaries.is_empty() {
        return Ok(all);
    }
    // By the file: a library may be linked through a symbolic link to it.
    let file = |rel: &str| std::fs::canonicalize(od.root().join(rel)).ok();
    let mut want: Vec<PathBuf> = Vec::new();
    for name in req.binaries {
        let b = all
            .iter()
            .find(|b| &b.path == name)
            .ok_or_else(|| FillError::UnknownBinary {
                name: name.clone(),
                objdir: od.root().to_path_buf(),
            })?;
        want.extend(
            std::iter::once(&b.path)
                .chain(&b.libraries)
                .filter_map(|p| file(p)),
        );
    }
    Ok(all
        .into_iter()
        .filter(|b| file(&b.path).is_some_and(|f| want.contains(&f)))
        .collect())
}

fn find<'r>(records: &'r [BinaryStatus], binary: &str) -> Option<&'r BinaryStatus> {
    records.iter().find(|r| r.binary == binary)
}

fn upsert(records: &mut Vec<BinaryStatus>, r: BinaryStatus) {
    match records.iter_mut().find(|o| o.binary == r.binary) {
        Some(o) => *o = r,
        None => records.push(r),
    }
}

/// Whether `record` says the binary file as it is now is completely filled (or needs no
/// fill) for the requested debugger, with its files in place: the package not older than the
/// binary, or every loose `.dwo`.
fn up_to_date(req: &FillRequest<'_>, record: Option<&BinaryStatus>) -> bool {
    let Some(r) = record else { return false };
    let bin = req.objdir.join(&r.binary);
    let complete = matches!(r.state, FillState::Filled | FillState::NoSplitDwarf);
    if !complete || r.debugger != req.debugger || Stamp::of(&bin).ok() != Some(r.stamp) {
        return false;
    }
    match r.layout {
        Some(Layout::Package) => package_not_older(&bin),
        Some(Layout::Loose) => layout::loose_files_present(req.objdir, &bin),
        None => true,
    }
}

/// Whether `binary` has a `<binary>.dwp` not older than it. In a build that runs `dwp` or
/// `llvm-dwp` itself (`generate` recorded it), one that no final record of a fill accounts
/// for is the build's own package, which the fill leaves as it is.
fn package_not_older(binary: &Path) -> bool {
    let dwp = std::fs::metadata(layout::package_path(binary)).and_then(|m| m.modified());
    let exe = std::fs::metadata(binary).and_then(|m| m.modified());
    matches!((dwp, exe), (Ok(d), Ok(e)) if d >= e)
}

/// Reads the records of `objdir` (for `dbgfetch status`).
pub fn read_status(objdir: &Path) -> Result<Vec<BinaryStatus>, FillError> {
    let path = ObjDir::new(objdir).fill_status_file();
    status::read(&path).map_err(|error| FillError::State { path, error })
}
