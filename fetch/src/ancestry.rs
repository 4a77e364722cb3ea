//! Ancestors of the working revision (git, Mercurial), nearest first.
//!
//! [`detect`] walks up from a directory to the nearest one holding `.git` (a directory, or the
//! file of a worktree or submodule) or `.hg`; that directory is the repository root and its
//! marker says the VCS. No subprocess runs for that, so a git tree needs no `hg` and vice versa.
//! [`ancestors`] then asks the real tool, as a subprocess, for up to `max` ancestors of the
//! working revision (git's `HEAD`, Mercurial's `.`), itself included, with full hexadecimal ids
//! (40 digits; 64 in a SHA-256 git repository).
//!
//! Decisions:
//! - **Distance** is the length of the shortest parent path from the working revision (0 for
//!   the revision itself), following *every* parent of a merge, not only the first. After a
//!   merge of upstream into a branch, the upstream commit CI built is 1 back, not however far
//!   the branch point is. The list is a breadth-first walk: nondecreasing distance, and among
//!   revisions at one distance, first parents before second ones (so first-parent history wins
//!   ties). git: one `git cat-file --batch` process answers the walk's commit reads, so only
//!   the commits listed are read, however large the history. Mercurial: one
//!   `hg log -r 'reverse(ancestors(., max-1))'` lists every revision within `max-1`
//!   generations with its parents, and the same walk runs in memory.
//! - **Shallow clones** give fewer ancestors, not an error: the walk stops at the shallow
//!   boundary (parents git does not have are not listed). A history shorter than `max` gives
//!   what there is.
//! - **An empty repository** (no commit yet, or Mercurial's working directory at the null
//!   revision) is an [`AncestryError::NoRevision`]: there is nothing a build could be based on.
//! - **Environment.** Variables that point git at another repository or index (`GIT_DIR`,
//!   `GIT_WORK_TREE`, `GIT_COMMON_DIR`, `GIT_INDEX_FILE`; set when running under a git hook)
//!   are removed, and `GIT_NO_LAZY_FETCH=1` keeps a partial clone from downloading. User and
//!   system configuration are *kept* (`GIT_CONFIG_NOSYSTEM` is not set): the commands are
//!   plumbing whose output configuration does not change, and `safe.directory` may live there.
//!   Mercurial runs with `HGPLAIN=1` (no aliases, defaults or localisation) and `-R <root>`.
//! - During an uncommitted merge the working revision is still the checked-out one (`HEAD`;
//!   Mercurial's first working-directory parent `.`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};

/// A version control system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vcs {
    /// git (`.git`).
    Git,
    /// Mercurial (`.hg`).
    Mercurial,
}

impl Vcs {
    /// The tool's command name.
    pub fn tool(self) -> &'static str {
        match self {
            Vcs::Git => "git",
            Vcs::Mercurial => "hg",
        }
    }

    /// The Debian package that provides the tool.
    pub fn package(self) -> &'static str {
        match self {
            Vcs::Git => "git",
            Vcs::Mercurial => "mercurial",
        }
    }
}

impl fmt::Display for Vcs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vcs::Git => "git",
            Vcs::Mercurial => "Mercurial",
        })
    }
}

/// A revision that is an ancestor of (or is) the working revision.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ancestor {
    /// Full hexadecimal revision id.
    pub revision: String,
    /// Shortest number of parent steps from the working revision (0 = itself).
    pub distance: usize,
}

/// Why the ancestors could not be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AncestryError {
    /// The directory cannot be resolved (missing, unreadable).
    #[error("cannot use directory {}: {source}", dir.display())]
    Dir {
        /// The directory as given.
        dir: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Neither the directory nor any parent holds `.git` or `.hg`.
    #[error(
        "{} is not inside a git or Mercurial repository (no .git or .hg in it or any parent \
         directory); the checkout is the object directory's source root: give it with \
         `cached-ninja generate -C <object dir> --src-root <checkout>`",
        dir.display()
    )]
    NotARepository {
        /// The directory, resolved.
        dir: PathBuf,
    },
    /// The VCS tool is not installed.
    #[error(
        "`{tool}` is needed to read the {vcs} repository {} but is not on PATH: install it with \
         `apt-get install -y {package}`",
        root.display()
    )]
    MissingTool {
        /// The repository's VCS.
        vcs: Vcs,
        /// The command, `git` or `hg`.
        tool: &'static str,
        /// The package to install.
        package: &'static str,
        /// The repository root.
        root: PathBuf,
    },
    /// The repository has no working revision: no commit yet (or hg at the null revision).
    #[error(
        "the {vcs} repository {} has no checked-out revision (no commit yet?): there is no \
         ancestor to fetch a build of",
        root.display()
    )]
    NoRevision {
        /// The repository's VCS.
        vcs: Vcs,
        /// The repository root.
        root: PathBuf,
    },
    /// The tool failed or printed something unexpected.
    #[error("`{command}` in {}: {reason}", root.display())]
    Command {
        /// The command line, for the message.
        command: String,
        /// The repository root.
        root: PathBuf,
        /// The tool's own message (its stderr) or what was wrong with its output.
        reason: String,
    },
}

/// Finds the repository `dir` belongs to: its VCS and root (the nearest marker wins).
pub fn detect(dir: &Path) -> Result<(Vcs, PathBuf), AncestryError> {
    let abs = dir.canonicalize().map_err(|source| AncestryError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    for d in abs.ancestors() {
        if d.join(".git").exists() {
            return Ok((Vcs::Git, d.to_path_buf()));
        }
        if d.join(".hg").is_dir() {
            return Ok((Vcs::Mercurial, d.to_path_buf()));
        }
    }
    Err(AncestryError::NotARepository { dir: abs })
}

/// Up to `max` ancestors of the working revision of `dir`'s repository, nearest first.
pub fn ancestors(dir: &Path, max: usize) -> Result<Vec<Ancestor>, AncestryError> {
    let (vcs, root) = detect(dir)?;
    if max == 0 {
        return Ok(Vec::new());
    }
    let tool = Tool { vcs, root: &root };
    match vcs {
        Vcs::Git => git_ancestors(&tool, max),
        Vcs::Mercurial => hg_ancestors(&tool, max),
    }
}

/// The full id of revision `rev` (a branch, tag, `HEAD`, a short hash: whatever the VCS takes)
/// in the repository of `dir`.
pub fn resolve(dir: &Path, rev: &str) -> Result<String, AncestryError> {
    let (vcs, root) = detect(dir)?;
    let tool = Tool { vcs, root: &root };
    let spec = format!("{rev}^{{commit}}");
    let args: Vec<&str> = match vcs {
        Vcs::Git => vec![
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &spec,
        ],
        Vcs::Mercurial => vec!["log", "-r", rev, "-T", "{node}\\n"],
    };
    let out = tool.output(&args)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut ids = text.lines();
    match (ids.next(), ids.next()) {
        (Some(id), None) if out.status.success() && is_revision_id(id) => Ok(id.to_string()),
        _ if out.status.success() || out.stderr.is_empty() => {
            Err(tool.error(&args, format!("{rev:?} names no single revision")))
        }
        _ => Err(tool.failure(&args, &out)),
    }
}

/// Runs one VCS's commands in one repository and turns failures into [`AncestryError`]s.
struct Tool<'a> {
    vcs: Vcs,
    root: &'a Path,
}

impl Tool<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.vcs.tool());
        match self.vcs {
            Vcs::Git => {
                for v in [
                    "GIT_DIR",
                    "GIT_WORK_TREE",
                    "GIT_COMMON_DIR",
                    "GIT_INDEX_FILE",
                ] {
                    c.env_remove(v);
                }
                c.env("GIT_NO_LAZY_FETCH", "1").arg("-C").arg(self.root);
            }
            Vcs::Mercurial => {
                c.env("HGPLAIN", "1").arg("-R").arg(self.root);
            }
        }
        c.args(args).stdin(Stdio::null());
        c
    }

    fn error(&self, args: &[&str], reason: impl Into<String>) -> AncestryError {
        AncestryError::Command {
            command: format!("{} {}", self.vcs.tool(), args.join(" ")),
            root: self.root.to_path_buf(),
            reason: reason.into(),
        }
    }

    fn spawn_error(&self, args: &[&str], e: io::Error) -> AncestryError {
        if e.kind() == io::ErrorKind::NotFound {
            AncestryError::MissingTool {
                vcs: self.vcs,
                tool: self.vcs.tool(),
                package: self.vcs.package(),
                root: self.root.to_path_buf(),
            }
        } else {
            self.error(args, format!("cannot run it: {e}"))
        }
    }

    /// Runs to completion; the output whatever the exit status.
    fn output(&self, args: &[&str]) -> Result<Output, AncestryError> {
        self.command(args)
            .output()
            .map_err(|e| self.spawn_error(args, e))
    }

    /// The tool's stderr, trimmed, or the exit status when it printed nothing.
    fn failure(&self, args: &[&str], out: &Output) -> AncestryError {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let reason = if stderr.is_empty() {
            format!("failed ({})", out.status)
        } else {
            stderr
        };
        self.error(args, reason)
    }

    fn no_revision(&self) -> AncestryError {
        AncestryError::NoRevision {
            vcs: self.vcs,
            root: self.root.to_path_buf(),
        }
    }
}

/// Whether `s` is a full revision id (40 or 64 lowercase hex digits), as the stores name builds.
pub fn is_revision_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Breadth-first walk from `start`: `parents` gives a revision's parents in order, or `None`
/// when the revision is not in the repository (a shallow boundary); such revisions are left out.
fn walk(
    start: String,
    max: usize,
    mut parents: impl FnMut(&str) -> Result<Option<Vec<String>>, AncestryError>,
) -> Result<Vec<Ancestor>, AncestryError> {
    let mut out = Vec::new();
    let mut seen = HashSet::from([start.clone()]);
    let mut queue = VecDeque::from([(start, 0)]);
    while let Some((revision, distance)) = queue.pop_front() {
        let Some(ps) = parents(&revision)? else {
            continue;
        };
        out.push(Ancestor { revision, distance });
        if out.len() == max {
            break;
        }
        for p in ps {
            if seen.insert(p.clone()) {
                queue.push_back((p, distance + 1));
            }
        }
    }
    Ok(out)
}

fn git_ancestors(tool: &Tool, max: usize) -> Result<Vec<Ancestor>, AncestryError> {
    let args = ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"];
    let out = tool.output(&args)?;
    if !out.status.success() {
        // `--quiet` makes an unborn HEAD a silent exit 1; other failures print a reason.
        return Err(if out.status.code() == Some(1) && out.stderr.is_empty() {
            tool.no_revision()
        } else {
            tool.failure(&args, &out)
        });
    }
    let head = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !is_revision_id(&head) {
        return Err(tool.error(&args, format!("unexpected output {head:?}")));
    }
    let mut batch = CatFile::spawn(tool)?;
    let r = walk(head, max, |rev| batch.parents(rev));
    batch.finish(r)
}

/// A `git cat-file --batch` process: one commit read per request, answered in order.
struct CatFile<'a, 't> {
    tool: &'a Tool<'t>,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

const CAT_FILE: [&str; 2] = ["cat-file", "--batch"];

impl<'a, 't> CatFile<'a, 't> {
    fn spawn(tool: &'a Tool<'t>) -> Result<Self, AncestryError> {
        let mut child = tool
            .command(&CAT_FILE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| tool.spawn_error(&CAT_FILE, e))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        Ok(CatFile {
            tool,
            child,
            stdin,
            stdout,
        })
    }

    /// The parents of commit `rev`, or `None` if git does not have it (shallow boundary).
    fn parents(&mut self, rev: &str) -> Result<Option<Vec<String>>, AncestryError> {
        let io_err = |e: io::Error| self.tool.error(&CAT_FILE, format!("pipe: {e}"));
        let stdin = self.stdin.as_mut().expect("open until finish");
        writeln!(stdin, "{rev}")
            .and_then(|()| stdin.flush())
            .map_err(io_err)?;
        let mut header = String::new();
        self.stdout.read_line(&mut header).map_err(io_err)?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        match fields.as_slice() {
            [_, "missing"] => Ok(None),
            [_, "commit", size] => {
                let size: u64 = size
                    .parse()
                    .map_err(|_| self.tool.error(&CAT_FILE, format!("bad header {header:?}")))?;
                let mut body = Vec::new();
                (&mut self.stdout)
                    .take(size + 1)
                    .read_to_end(&mut body)
                    .map_err(io_err)?;
                if body.len() as u64 != size + 1 {
                    return Err(self.tool.error(&CAT_FILE, "output cut short"));
                }
                Ok(Some(commit_parents(&body)))
            }
            _ if header.is_empty() => Err(self.tool.error(&CAT_FILE, "exited early")),
            _ => Err(self.tool.error(
                &CAT_FILE,
                format!("unexpected answer {:?}", header.trim_end()),
            )),
        }
    }

    /// Closes the pipe and reaps the process; a failure it printed replaces a pipe error.
    fn finish<T>(mut self, r: Result<T, AncestryError>) -> Result<T, AncestryError> {
        drop(self.stdin.take());
        if r.is_err() {
            let _ = self.child.kill();
        }
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait();
        let stderr = stderr.trim();
        match (r, status) {
            (Err(_), _) if !stderr.is_empty() => Err(self.tool.error(&CAT_FILE, stderr)),
            (Ok(_), Ok(st)) if !st.success() => Err(self.tool.error(
                &CAT_FILE,
                if stderr.is_empty() {
                    format!("failed ({st})")
                } else {
                    stderr.to_string()
                },
            )),
            (r, _) => r,
        }
    }
}

/// The `parent` ids of a raw commit object (header lines up to the first blank line).
fn commit_parents(body: &[u8]) -> Vec<String> {
    body.split(|&b| b == b'\n')
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix(b"parent "))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

fn hg_ancestors(tool: &Tool, max: usize) -> Result<Vec<Ancestor>, AncestryError> {
    let revset = format!("reverse(ancestors(., {}))", max - 1);
    let args = ["log", "-r", &revset, "-T", "{node} {p1node} {p2node}\\n"];
    let out = tool.output(&args)?;
    if !out.status.success() {
        return Err(tool.failure(&args, &out));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    const NULL: &str = "0000000000000000000000000000000000000000";
    let mut graph: HashMap<&str, Vec<String>> = HashMap::new();
    let mut first = None;
    for line in text.lines() {
        let ids: Vec<&str> = line.split(' ').collect();
        if ids.len() != 3 || !ids.iter().all(|id| is_revision_id(id)) {
            return Err(tool.error(&args, format!("unexpected line {line:?}")));
        }
        // Revision numbers grow from parents to children: the first line is `.` itself.
        first.get_or_insert(ids[0]);
        let parents = ids[1..].iter().filter(|p| **p != NULL);
        graph.insert(ids[0], parents.map(|p| p.to_string()).collect());
    }
    match first {
        Some(dot) if dot != NULL => walk(dot.to_string(), max, |rev| {
            // Revisions beyond `max - 1` generations are not listed; the walk stops before them.
            Ok(graph.get(rev).cloned())
        }),
        _ => Err(tool.no_revision()),
    }
}
