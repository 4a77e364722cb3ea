//! `cached-ninja fetch [--plan] [-C DIR] [--depth N]`: finds the nearest ancestor of the source
//! tree's revision with a CI build manifest in a store (`fetch::ancestry`, `fetch::plan`),
//! prints the plan, and (without `--plan`) pulls its entries into the local cache in the
//! prefetch order (`engine::order`, `fetch::pull`; `none` means the default here). `cached-ninja build` runs the same pull beside Ninja. Both pull
//! objects only (DESIGN §6: `dbgfetch fill` brings the debug parts after the link);
//! `--debug-parts` pulls the debug parts too (to work offline later).
//!
//! Anything bad (a store that is down, a rejected signature, a hostile entry) is reported with
//! the URL and the reason; the edges concerned simply compile locally.

use crate::remote::{Remote, RemoteArgs};
use anyhow::Context;
use clap::Args;
use engine::order::Prefetch;
use engine::pull::{CancelToken, PullSession};
use fetch::objdir::ObjDir;
use fetch::plan::Plan;
use fetch::pull::{PullProgress, PullReport};
use fetch::signing::Trust;
use std::process::ExitCode;

/// The command's name at the head of its warning lines.
const WHO: &str = "cached-ninja fetch";

/// Options of `cached-ninja fetch`.
#[derive(Args, Debug, Clone, Default)]
pub struct FetchArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Only find and print the plan (revision, distance, entries, bytes, then the full revision
    /// and the manifest's URL on lines of their own); download nothing.
    #[arg(long)]
    pub plan: bool,
    /// Ancestors of HEAD looked at (default: the policy's `[fetch] depth`, else 32).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    /// Download the debug parts (split DWARF) too, not only the objects the linker needs.
    #[arg(long)]
    pub debug_parts: bool,
}

/// Runs `fetch`.
pub fn run(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let remote = Remote::open(&args.remote, false)?;
    remote.require_stores(false)?;
    let say = |l: &str| eprintln!("{l}");
    let (plan, trust) = find_plan(WHO, &remote, args.depth, &say, &|| ())?;
    println!("{plan}");
    if args.plan {
        println!("revision {}\nmanifest {}", plan.revision, plan.url);
        return Ok(ExitCode::SUCCESS);
    }
    let mut session = session(&remote, &plan, &trust);
    session.debug_parts |= args.debug_parts;
    // Nobody asks for keys here: "none" (on-demand only) would pull nothing.
    let mode = match remote.prefetch {
        Prefetch::None => Prefetch::default(),
        m => m,
    };
    let order = session.prefetch_order(mode, &remote.edge_policy(&plan.manifest));
    let bar = super::publish::bar(plan.manifest.records.len() as u64);
    let progress = |p: PullProgress| {
        bar.set_position(p.done as u64);
        bar.set_message(fetch::plan::human_bytes(p.bytes));
    };
    let failed = std::sync::Mutex::new(None);
    let ready = |prepared| match prepared_or_why(WHO, &remote, &session, prepared, &say) {
        Ok(()) => true,
        Err(e) => {
            *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
            false
        }
    };
    let report = session.run(
        &CancelToken::new(),
        &progress,
        &order,
        &ready,
        &|_| {},
        &|_| {},
    );
    bar.finish_and_clear();
    if let Some(e) = failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    store_lines(WHO, &remote);
    report_pull(WHO, &report, Some(&remote));
    note_unseen_cache(&remote);
    Ok(ExitCode::SUCCESS)
}

/// The trust set and the nearest ancestor build of `remote`'s source tree (`say` takes the
/// warning lines, which begin with `who`; `asking` is called once the revisions are listed,
/// before any store is asked).
pub fn find_plan(
    who: &str,
    remote: &Remote,
    depth: Option<usize>,
    say: &dyn Fn(&str),
    asking: &dyn Fn(),
) -> anyhow::Result<(Plan, Trust)> {
    let trust = remote.trust()?;
    let depth = depth.or(remote.policy.fetch.depth).unwrap_or(32).max(1);
    let dir = remote.vcs_dir();
    let ancestors = fetch::ancestry::ancestors(dir, depth)
        .with_context(|| format!("cannot list the revisions of {}", dir.display()))?;
    asking();
    let plan = fetch::plan::find(&fetch::plan::PlanRequest {
        stores: &remote.stores,
        config: &remote.config,
        ancestors: &ancestors,
        trust: &trust,
        parallelism: remote.jobs,
        whole_history: ancestors.len() < depth,
    })?;
    // A store whose breaker tripped has its own line (`build`'s store lines).
    for e in plan.probe_errors.iter().filter(|e| !e.is_hard()) {
        say(&format!(
            "{who}: warning: {e}; a nearer build there may have been missed"
        ));
    }
    Ok((plan, trust))
}

/// The pull session of `plan` for `remote`'s object directory: objects only, unless the
/// build packages its `.dwo` files itself (`dwp`, `llvm-dwp`: it reads them before its link
/// is done, so they come with the objects). `CACHED_NINJA_TEST_ENTRY_WAIT_MS` lengthens the
/// wait of a pulled entry for its first check, for a test that must not depend on timing.
pub fn session<'a>(remote: &'a Remote, plan: &'a Plan, trust: &'a Trust) -> PullSession<'a> {
    let objdir = ObjDir::new(&remote.objdir);
    let entry_wait = engine::test_knobs::millis("CACHED_NINJA_TEST_ENTRY_WAIT_MS")
        .unwrap_or(engine::launcher::local_keys::ENTRY_WAIT);
    PullSession {
        store: &remote.stores[plan.store],
        plan,
        trust,
        cache: remote.cache(),
        cache_cap: remote.cache_size(),
        jobs: remote.jobs,
        debug_parts: remote.packs_dwo(),
        objdir,
        link_rate: remote.bandwidth(),
        entry_wait,
        sources: None,
    }
}

/// Says in one line when the policy's `[cache] dir` is not the cache plain Ninja's launchers
/// here use: those the generator runs itself (zero setup, no `generate`) read no policy.
fn note_unseen_cache(remote: &Remote) {
    let Some(dir) = &remote.policy.cache.dir else {
        return;
    };
    let od = ObjDir::new(&remote.objdir);
    let theirs = fetch::cache::LocalCache::default_root();
    if od.config_value(fetch::objdir::POLICY_READ).is_some() || theirs == *dir {
        return;
    }
    eprintln!(
        "{WHO}: note: the policy's [cache] dir {} is not the cache of the launchers plain `ninja` runs in {} ({}, read no policy): build with `cached-ninja build -C {}`, or give them CACHED_NINJA_CACHE_DIR={}",
        dir.display(),
        remote.objdir.display(),
        theirs.display(),
        remote.objdir.display(),
        dir.display()
    );
}

/// How recording the include sets of the plan in the local cache went (`prepared`, told by
/// [`PullSession::run`] before it serves launchers), as the error to report; a plan larger
/// than the cache's cap is a warning line to `say`, beginning with `who`.
pub fn prepared_or_why(
    who: &str,
    remote: &Remote,
    session: &PullSession,
    prepared: std::io::Result<()>,
    say: &dyn Fn(&str),
) -> anyhow::Result<()> {
    prepared.with_context(|| {
        format!(
            "cannot write include manifests in the local cache {}",
            session.cache.root().display()
        )
    })?;
    if let Some((need, cap)) = session.over_cap() {
        say(&format!(
            "{who}: warning: the build's objects ({}) exceed the local cache's size cap ({}); the least recently used will be evicted: raise `[cache] size` in {}",
            fetch::plan::human_bytes(need),
            fetch::plan::human_bytes(cap),
            remote.policy_name()
        ));
    }
    Ok(())
}

/// One warning line for the failed records (the first one's reason, the count), then a
/// summary line.
/// Records that failed because their store failed (a hard failure, its breaker tripped; the
/// pull then stopped) are counted only: the store's own line ([`store_lines`]) says it once.
/// So are those the local cache had no room for, once a launcher or the pull of the build of
/// `remote` said so ([`Remote::cache_unwritable`]).
pub fn report_pull(who: &str, r: &PullReport, remote: Option<&Remote>) {
    use fetch::pull::{PullError, PullFailure};
    let no_room = |f: &PullFailure| match &f.error {
        PullError::Local { source, .. } => fetch::cache::no_room(source),
        _ => false,
    };
    let room_said = r.failed.iter().any(no_room)
        && remote.is_some_and(|remote| remote.cache_unwritable().is_fresh());
    let store_said = |f: &PullFailure| matches!(&f.error, PullError::Store(e) if e.is_hard());
    let said_elsewhere = |f: &PullFailure| store_said(f) || (room_said && no_room(f));
    let own = |f: &&PullFailure| !said_elsewhere(f);
    let shown: Vec<_> = r.failed.iter().filter(own).collect();
    match shown.as_slice() {
        [] => {}
        [f] => eprintln!(
            "{who}: warning: {}: {}; it compiles locally",
            f.output, f.error
        ),
        [f, ..] => eprintln!(
            "{who}: warning: {} records not usable, they compile locally; the first: {}: {}",
            shown.len(),
            f.output,
            f.error
        ),
    }
    let left = match r.debug_left {
        0 => String::new(),
        n => format!(
            "; debug parts left for `dbgfetch fill`: {}",
            fetch::plan::human_bytes(n)
        ),
    };
    let changed = match r.skipped {
        0 => String::new(),
        n => format!(", {n} left out (their source, flags or compiler changed here)"),
    };
    eprintln!(
        "{who}: {} entries fetched ({}), {} already here, {} failed{changed}{left}",
        r.fetched,
        fetch::plan::human_bytes(r.bytes),
        r.present,
        r.failed.len()
    );
}

/// One warning line per store whose breaker is open: what happened and what it cost; then
/// records fresh trips for later builds (`fetch::skips`).
pub fn store_lines(who: &str, remote: &Remote) {
    let now = std::time::SystemTime::now();
    for s in &remote.stores {
        let Some(t) = s.breaker().trip() else {
            continue;
        };
        let url = s.base_url();
        if t.carried {
            let ago = now.duration_since(t.at).unwrap_or_default();
            eprintln!(
                "{who}: warning: remote {url} skipped: {} {} ago ({}); 0.0 s lost, compiling locally; asked again in {}",
                t.kind.word(),
                human_secs(ago),
                t.reason,
                human_secs(remote.skip_hold().saturating_sub(ago))
            );
        } else {
            eprintln!(
                "{who}: warning: remote {url} {}: {}: {:.1} s lost, compiling locally; skipped by builds for the next {}",
                t.kind.word(),
                t.reason,
                t.lost.as_secs_f64(),
                human_secs(remote.skip_hold())
            );
        }
    }
    remote.record_failed(who);
}

/// One line per store that had not answered in `t` when Ninja finished, if that was long
/// enough for launchers to stop waiting for it (a store that fails later is not known dead:
/// nothing is recorded).
pub fn silent_lines(who: &str, remote: &Remote, t: std::time::Duration) {
    if t < fetch::want::SILENT_PATIENCE {
        return;
    }
    for s in remote
        .stores
        .iter()
        .filter(|s| s.breaker().trip().is_none())
    {
        eprintln!(
            "{who}: warning: remote {} silent: no answer in {:.1} s, Ninja finished first; at most {:.1} s lost, compiled locally",
            s.base_url(),
            t.as_secs_f64(),
            fetch::want::SILENT_PATIENCE.as_secs_f64()
        );
    }
}

/// `42 s`, `4 min`.
fn human_secs(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s < 120 {
        format!("{s} s")
    } else {
        format!("{} min", s / 60)
    }
}
