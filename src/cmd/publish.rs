//! `cached-ninja publish [-C DIR] [--rev REV] [--config NAME] [--key FILE] [--store URL]`:
//! uploads the current objects of an object directory (every edge whose object on disk is the
//! one its last action made, across incremental builds: `fetch::action_log`), signed, then the
//! build manifest of that revision and configuration (DESIGN §4), and beside it the source
//! keys' preimages this machine recorded (`fetch::preimages`, read by `cached-ninja explain`).
//! `build --publish` runs the same after a successful build. This is what CI runs; developers
//! only read.

use crate::remote::{Remote, RemoteArgs};
use anyhow::{bail, Context};
use clap::Args;
use fetch::publish::{publish, PublishTarget};
use fetch::signing::KeyPair;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options of `cached-ninja publish` (`--prefetch`, the pull's order, means nothing here).
#[derive(Args, Debug, Clone, Default)]
#[command(mut_arg("prefetch", |a| a.hide(true)))]
pub struct PublishArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Revision the build is of (default: the source tree's checked-out revision, git or hg).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// The publisher's secret key file (default: the policy's `[publish] key`).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// What a publish needs before it reads the build: the stores, the key and the revision.
pub struct Publication {
    remote: Remote,
    key: KeyPair,
    revision: String,
}

/// Opens the stores, reads the key and resolves the revision of a publish: `build --publish`
/// does this before it builds, so that a missing key or an unknown revision fails at once.
pub fn prepare(args: &PublishArgs) -> anyhow::Result<Publication> {
    let remote = Remote::open(&args.remote, true)?;
    remote.require_stores(true)?;
    let key_path = args
        .key
        .clone()
        .or_else(|| remote.policy.publish.key.clone())
        .context("no publisher key: pass --key FILE or set `[publish] key = \"FILE\"` in cached-ninja.toml (make one with `cached-ninja key generate`)")?;
    let key = KeyPair::read_secret_file(&key_path)?;
    let revision = match &args.rev {
        Some(r) => given_revision(&remote, r)?,
        None => head_revision(&remote)?,
    };
    Ok(Publication {
        remote,
        key,
        revision,
    })
}

/// Runs `publish`.
pub fn run(args: PublishArgs) -> anyhow::Result<ExitCode> {
    publish_prepared(prepare(&args)?)
}

/// Publishes the build of a prepared publication.
pub fn publish_prepared(p: Publication) -> anyhow::Result<ExitCode> {
    let Publication {
        remote,
        key,
        revision,
    } = p;
    note_unsplit(&remote);
    let log_path = fetch::action_log::path(&remote.objdir);
    let log = fetch::action_log::read(&remote.objdir)
        .with_context(|| format!("cannot read the action log {}", log_path.display()))?;
    if log.is_empty() {
        bail!(
            "nothing to publish: {} names no compile; build first (`cached-ninja build -C {}`)",
            log_path.display(),
            remote.objdir.display()
        );
    }
    let cache = remote.cache();
    let target = PublishTarget {
        config: &remote.config,
        revision: &revision,
        jobs: remote.jobs,
        obj_root: &remote.objdir,
        whole_object: |bundle| {
            let info = splitdwarf::bundle_info(bundle).ok()?;
            Some(fetch::cache::Digest(info.original_hash))
        },
    };
    let mut published = None;
    for store in &remote.stores {
        let bar = bar(log.len() as u64);
        let report = publish(&cache, store, &key, &log, target, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .with_context(|| {
            format!(
                "publishing {} failed; no build manifest was written",
                remote.objdir.display()
            )
        })?;
        bar.finish_and_clear();
        published = Some(report.actions.clone());
        for why in &report.skipped {
            eprintln!("cached-ninja publish: note: skipped {why}");
        }
        if report.debug_in_store > 0 {
            eprintln!(
                "cached-ninja publish: note: {} debug parts were not here but already in the store (objects-only hits)",
                report.debug_in_store
            );
        }
        if report.stale > 0 {
            eprintln!(
                "cached-ninja publish: note: {} older actions of the log are stale (rebuilt since, or evicted)",
                report.stale
            );
        }
        let c = store.counters().snapshot();
        eprintln!(
            "cached-ninja publish: {} edges, {} blobs ({}; {} uploaded, {} already there) signed by {}; manifest {}",
            report.records,
            report.blobs,
            fetch::plan::human_bytes(report.blob_bytes),
            c.uploaded.saturating_sub(report.records as u64 + 1),
            c.already_present,
            key.public(),
            report.manifest_url
        );
        // After the summary: its upload count is the build's.
        publish_preimages(&cache, store, &key, target, &report.actions);
    }
    // What was published is what is current: the log keeps just that (it spans builds).
    if let Some(actions) = published {
        fetch::action_log::rewrite(&remote.objdir, &actions)
            .with_context(|| format!("cannot compact the action log {}", log_path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Publishes the recorded preimages of the source keys of `actions` (`fetch::preimages`) for
/// `cached-ninja explain`; a failure is one note line (the build itself is published).
fn publish_preimages(
    cache: &fetch::cache::LocalCache,
    store: &fetch::store::Store,
    key: &KeyPair,
    target: PublishTarget<'_>,
    actions: &[fetch::cache::Digest],
) {
    let mut seen = std::collections::HashSet::new();
    let mut list = Vec::new();
    for a in actions {
        let Ok(Some(entry)) = cache.get_action(a) else {
            continue;
        };
        if seen.insert(entry.source_key) {
            if let Some(p) = engine::launcher::recorded_preimage(cache, &entry.source_key) {
                list.push((entry.source_key, p));
            }
        }
    }
    let text = fetch::preimages::render(&list);
    let put = fetch::store::Key::preimages(target.config, target.revision)
        .and_then(|k| store.put(&k, &fetch::published::seal(key, text.as_bytes())));
    if let Err(e) = put {
        eprintln!(
            "cached-ninja publish: note: the key preimages (for `cached-ninja explain`) were not uploaded to {}: {e}",
            store.base_url()
        );
    }
}

/// The full id of `--rev REV` in the source tree's repository (developers' pulls look builds
/// up by full ids: `HEAD` or a short hash taken as written would publish a build nobody finds).
/// Outside a repository REV is taken as written, with a note unless it is a full id.
fn given_revision(remote: &Remote, rev: &str) -> anyhow::Result<String> {
    let dir = remote.vcs_dir();
    match fetch::ancestry::resolve(dir, rev) {
        Ok(id) => Ok(id),
        Err(fetch::ancestry::AncestryError::NotARepository { .. }) => {
            if !fetch::ancestry::is_revision_id(rev) {
                eprintln!(
                    "cached-ninja publish: note: {} is in no git or Mercurial repository, so --rev {rev} is published as written; developers' pulls find builds by full commit ids",
                    dir.display()
                );
            }
            Ok(rev.to_string())
        }
        Err(e) => Err(e).with_context(|| {
            format!(
                "--rev {rev}: no such revision in the repository of {}; pass a commit the developers' history holds",
                dir.display()
            )
        }),
    }
}

/// The checked-out revision of the source tree (or the object directory).
fn head_revision(remote: &Remote) -> anyhow::Result<String> {
    let dir = remote.vcs_dir();
    let head = fetch::ancestry::ancestors(dir, 1).with_context(|| {
        format!(
            "cannot tell the revision of {}; pass --rev REV",
            dir.display()
        )
    })?;
    match head.into_iter().next() {
        Some(a) => Ok(a.revision),
        None => bail!("{} has no commit yet; pass --rev REV", dir.display()),
    }
}

/// A progress bar on a terminal, hidden otherwise.
pub fn bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template("[{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

/// Says in one line when the objects published were compiled without split DWARF because the
/// policy names no store (the default is on only where one is named, `Policy::split_dwarf`):
/// a developer whose policy names this store compiles with `-gsplit-dwarf`, so every compile
/// with debug info has another key there and nothing of it is reused.
fn note_unsplit(remote: &Remote) {
    let policy = &remote.policy;
    if policy.split_dwarf.is_some() || !policy.stores.is_empty() {
        return;
    }
    let file = policy.source.as_ref().map_or_else(
        || "no cached-ninja.toml".to_string(),
        |p| p.display().to_string(),
    );
    eprintln!(
        "cached-ninja publish: note: {file} names no store, so compiles with -g were built without split DWARF; a developer whose cached-ninja.toml names this store compiles them with -gsplit-dwarf and reuses none of them: name the store in this policy (then `cached-ninja generate -C {}`), or set `split_dwarf` alike on both sides",
        remote.objdir.display()
    );
}
