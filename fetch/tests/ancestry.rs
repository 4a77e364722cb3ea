//! Ancestors of the working revision (`fetch::ancestry`) in real git and Mercurial repositories.

use fetch::ancestry::{ancestors, detect, resolve, Ancestor, AncestryError, Vcs};
use std::path::{Path, PathBuf};
use std::process::Command;

mod servers;

/// Runs `tool args` in `dir` with no user or system configuration; returns trimmed stdout.
fn run(dir: &Path, tool: &str, package: &str, args: &[&str]) -> String {
    let mut c = Command::new(servers::require_tool(tool, package));
    c.current_dir(dir).args(args);
    for v in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_COMMON_DIR",
        "GIT_INDEX_FILE",
    ] {
        c.env_remove(v);
    }
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("HGPLAIN", "1")
        .env("HGRCPATH", "")
        .env("HGUSER", "t <t@example.com>");
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn git(dir: &Path, args: &[&str]) -> String {
    run(dir, "git", "git", args)
}

fn hg(dir: &Path, args: &[&str]) -> String {
    run(dir, "hg", "mercurial", args)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cn-anc-")
        .tempdir()
        .unwrap()
}

/// A new git repository in `dir`.
fn git_init(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
}

/// An empty commit on the current branch; its id.
fn git_commit(dir: &Path, msg: &str) -> String {
    git(dir, &["commit", "-q", "--allow-empty", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A new Mercurial repository in `dir`.
fn hg_init(dir: &Path) {
    hg(dir, &["init"]);
}

/// A commit that changes the file `f`; its id.
fn hg_commit(dir: &Path, msg: &str) -> String {
    std::fs::write(dir.join("f"), msg).unwrap();
    hg(dir, &["commit", "-q", "-A", "-m", msg]);
    hg(dir, &["log", "-r", ".", "-T", "{node}"])
}

fn pairs(a: &[Ancestor]) -> Vec<(String, usize)> {
    a.iter().map(|a| (a.revision.clone(), a.distance)).collect()
}

fn expect(revs: &[(&String, usize)]) -> Vec<(String, usize)> {
    revs.iter().map(|(r, d)| ((*r).clone(), *d)).collect()
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap()
}

#[test]
fn git_linear_history_nearest_first() {
    let t = tempdir();
    git_init(t.path());
    let c: Vec<String> = (0..6)
        .map(|i| git_commit(t.path(), &format!("c{i}")))
        .collect();
    let a = ancestors(t.path(), 4).unwrap();
    assert_eq!(
        pairs(&a),
        expect(&[(&c[5], 0), (&c[4], 1), (&c[3], 2), (&c[2], 3)])
    );
    assert!(a.iter().all(|a| a.revision.len() == 40));
    assert_eq!(git(t.path(), &["rev-parse", "HEAD~3"]), a[3].revision);
    assert!(ancestors(t.path(), 0).unwrap().is_empty());
}

#[test]
fn git_history_shorter_than_max_and_subdirectory() {
    let t = tempdir();
    git_init(t.path());
    let c: Vec<String> = (0..3)
        .map(|i| git_commit(t.path(), &format!("c{i}")))
        .collect();
    let sub = t.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(detect(&sub).unwrap(), (Vcs::Git, canonical(t.path())));
    let a = ancestors(&sub, 10).unwrap();
    assert_eq!(pairs(&a), expect(&[(&c[2], 0), (&c[1], 1), (&c[0], 2)]));
}

/// base ─ m1 ─ m2 (main), base ─ f1 ─ f2 ─ f3 (feature); M = merge of main into feature.
/// Distance is the shortest path over all parents: main's commits are nearer than the branch
/// point; at one distance the first parent's side comes first.
#[test]
fn git_merge_uses_the_shortest_path_over_all_parents() {
    let t = tempdir();
    let d = t.path();
    git_init(d);
    let base = git_commit(d, "base");
    let m1 = git_commit(d, "m1");
    let m2 = git_commit(d, "m2");
    git(d, &["checkout", "-q", "-b", "feature", &base]);
    let f1 = git_commit(d, "f1");
    let f2 = git_commit(d, "f2");
    let f3 = git_commit(d, "f3");
    git(d, &["merge", "-q", "--no-ff", "-m", "merge main", "main"]);
    let m = git(d, &["rev-parse", "HEAD"]);
    assert_eq!(git(d, &["rev-parse", "HEAD^2"]), m2);
    let a = ancestors(d, 100).unwrap();
    assert_eq!(
        pairs(&a),
        expect(&[
            (&m, 0),
            (&f3, 1),
            (&m2, 1),
            (&f2, 2),
            (&m1, 2),
            (&f1, 3),
            (&base, 3),
        ])
    );
    // `max` cuts the same order.
    assert_eq!(pairs(&ancestors(d, 3).unwrap()), pairs(&a[..3]));
}

#[test]
fn git_shallow_clone_gives_fewer_ancestors() {
    let t = tempdir();
    let src = t.path().join("src");
    std::fs::create_dir(&src).unwrap();
    git_init(&src);
    let c: Vec<String> = (0..5).map(|i| git_commit(&src, &format!("c{i}"))).collect();
    let url = format!("file://{}", src.display());
    git(t.path(), &["clone", "-q", "--depth", "2", &url, "dst"]);
    let a = ancestors(&t.path().join("dst"), 10).unwrap();
    assert_eq!(pairs(&a), expect(&[(&c[4], 0), (&c[3], 1)]));
}

/// `--rev` of a publish: a branch, `HEAD`, a tag or a short hash is the full id a
/// developer's pull looks for; a name of nothing is an error naming it.
#[test]
fn a_revision_name_resolves_to_its_full_id() {
    let t = tempdir();
    let g = t.path().join("g");
    std::fs::create_dir(&g).unwrap();
    git_init(&g);
    let first = git_commit(&g, "one");
    let second = git_commit(&g, "two");
    git(&g, &["tag", "v1", &first]);
    for (name, id) in [
        ("HEAD", &second),
        ("main", &second),
        ("v1", &first),
        (&first[..10], &first),
    ] {
        assert_eq!(&resolve(&g, name).unwrap(), id, "{name}");
    }
    let e = resolve(&g, "no-such-branch").unwrap_err().to_string();
    assert!(e.contains("no-such-branch") && e.contains("git"), "{e}");
    assert!(resolve(&g, "--all").is_err());

    let h = t.path().join("h");
    std::fs::create_dir(&h).unwrap();
    hg_init(&h);
    let first = hg_commit(&h, "one");
    let second = hg_commit(&h, "two");
    assert_eq!(resolve(&h, ".").unwrap(), second);
    assert_eq!(resolve(&h, &first[..12]).unwrap(), first);
    assert!(resolve(&h, "no-such-bookmark").is_err());
    assert!(
        resolve(&h, "all()").is_err(),
        "a revset of several is no revision"
    );
}

#[test]
fn git_repository_without_commits_is_an_error() {
    let t = tempdir();
    git_init(t.path());
    let e = ancestors(t.path(), 5).unwrap_err();
    assert!(
        matches!(e, AncestryError::NoRevision { vcs: Vcs::Git, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("no commit yet"), "{e}");
}

#[test]
fn a_directory_in_no_repository_is_named() {
    let t = tempdir();
    let e = ancestors(t.path(), 5).unwrap_err();
    assert!(matches!(e, AncestryError::NotARepository { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "{} is not inside a git or Mercurial repository",
            canonical(t.path()).display()
        )),
        "{msg}"
    );
    let missing = t.path().join("nope");
    let e = detect(&missing).unwrap_err();
    assert!(matches!(e, AncestryError::Dir { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&missing.display().to_string()),
        "{e}"
    );
}

#[test]
fn git_failure_carries_its_message() {
    let t = tempdir();
    // A `.git` file that points nowhere: detection finds it, git refuses it.
    std::fs::write(t.path().join(".git"), "gitdir: /nonexistent/cn-test\n").unwrap();
    let e = ancestors(t.path(), 5).unwrap_err();
    assert!(matches!(e, AncestryError::Command { .. }), "{e:?}");
    assert!(e.to_string().contains("not a git repository"), "{e}");
}

#[test]
fn hg_linear_history_nearest_first() {
    let t = tempdir();
    hg_init(t.path());
    let c: Vec<String> = (0..6)
        .map(|i| hg_commit(t.path(), &format!("c{i}")))
        .collect();
    let sub = t.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    assert_eq!(detect(&sub).unwrap(), (Vcs::Mercurial, canonical(t.path())));
    let a = ancestors(&sub, 4).unwrap();
    assert_eq!(
        pairs(&a),
        expect(&[(&c[5], 0), (&c[4], 1), (&c[3], 2), (&c[2], 3)])
    );
    assert!(a.iter().all(|a| a.revision.len() == 40));
    let all = ancestors(t.path(), 50).unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(
        all[5],
        Ancestor {
            revision: c[0].clone(),
            distance: 5
        }
    );
}

/// The same shape as the git merge test, in Mercurial (anonymous heads).
#[test]
fn hg_merge_uses_the_shortest_path_over_all_parents() {
    let t = tempdir();
    let d = t.path();
    hg_init(d);
    let base = hg_commit(d, "base");
    let m1 = hg_commit(d, "m1");
    let m2 = hg_commit(d, "m2");
    hg(d, &["update", "-q", "-r", &base]);
    let f1 = hg_commit(d, "f1");
    let f2 = hg_commit(d, "f2");
    let f3 = hg_commit(d, "f3");
    // Both sides changed `f`: keep ours.
    hg(d, &["merge", "-q", "--tool", ":local", "-r", &m2]);
    hg(d, &["commit", "-q", "-m", "merge"]);
    let m = hg(d, &["log", "-r", ".", "-T", "{node}"]);
    assert_eq!(hg(d, &["log", "-r", "p2(.)", "-T", "{node}"]), m2);
    let a = ancestors(d, 100).unwrap();
    assert_eq!(
        pairs(&a),
        expect(&[
            (&m, 0),
            (&f3, 1),
            (&m2, 1),
            (&f2, 2),
            (&m1, 2),
            (&f1, 3),
            (&base, 3),
        ])
    );
    assert_eq!(pairs(&ancestors(d, 4).unwrap()), pairs(&a[..4]));
}

#[test]
fn hg_without_a_checked_out_revision_is_an_error() {
    let t = tempdir();
    hg_init(t.path());
    let e = ancestors(t.path(), 5).unwrap_err();
    assert!(
        matches!(
            e,
            AncestryError::NoRevision {
                vcs: Vcs::Mercurial,
                ..
            }
        ),
        "{e:?}"
    );
    hg_commit(t.path(), "c0");
    hg(t.path(), &["update", "-q", "null"]);
    let e = ancestors(t.path(), 5).unwrap_err();
    assert!(matches!(e, AncestryError::NoRevision { .. }), "{e:?}");
}

#[test]
fn the_nearest_repository_wins() {
    let t = tempdir();
    hg_init(t.path());
    let inner = t.path().join("vendor/lib");
    std::fs::create_dir_all(&inner).unwrap();
    git_init(&inner);
    assert_eq!(detect(&inner).unwrap(), (Vcs::Git, canonical(&inner)));
    assert_eq!(
        detect(&t.path().join("vendor")).unwrap(),
        (Vcs::Mercurial, canonical(t.path()))
    );
}

/// Runs [`child_missing_tools`] in a child process whose PATH holds neither git nor hg.
#[test]
fn a_missing_tool_is_named_with_its_package() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_missing_tools", "--nocapture"])
        .env("PATH", "/nonexistent")
        .env("CN_ANCESTRY_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}

#[test]
#[ignore = "run by a_missing_tool_is_named_with_its_package with PATH emptied"]
fn child_missing_tools() {
    assert!(std::env::var_os("CN_ANCESTRY_CHILD").is_some());
    let t = tempdir();
    for (marker, tool, package) in [(".git", "git", "git"), (".hg", "hg", "mercurial")] {
        let d = t.path().join(tool);
        std::fs::create_dir_all(d.join(marker)).unwrap();
        let e = ancestors(&d, 5).unwrap_err();
        assert!(matches!(e, AncestryError::MissingTool { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("`{tool}` is needed")), "{msg}");
        assert!(
            msg.ends_with(&format!("`apt-get install -y {package}`")),
            "{msg}"
        );
    }
}
