//! Where an output's object came from, the record its launch is compared with (CI's record of
//! the last pull, else this object directory's previous object for that output, from the
//! action log), and the first input in which the two keys' preimages differ.

use super::meaning::{problem_text, reason_text};
use super::record::Last;
use crate::remote::Remote;
use backend::key::{self, preimage, Digest};
use fetch::cache::LocalCache;
use fetch::last_pull::LastPull;
use fetch::stats::{Problem, Reason};
use fetch::store::Key;
use serde::Serialize;

/// Everything `explain` says about one output.
#[derive(Serialize)]
pub struct Explained {
    /// The output, as build.ninja names it.
    pub output: String,
    /// The outcome word of its last launch (`hit`, `miss`, `failed`, `uncacheable`, `error`).
    pub outcome: String,
    /// Where the object came from, in words.
    pub origin: String,
    /// The source key, when the launch computed it.
    pub source_key: Option<String>,
    /// The action key served or stored, if any.
    pub action_key: Option<String>,
    /// Time waited for a running pull, ms.
    pub waited_ms: u64,
    /// The launch asked the running pull for its object (the edge log's `wanted` note), rather
    /// than only waiting for the pull's plan.
    pub asked_pull: bool,
    /// Why the command ran without the cache (an `uncacheable` launch).
    pub reason: Option<Named>,
    /// Problems the launch survived (the rule that refused an entry, a corrupt file, …).
    pub problems: Vec<Named>,
    /// The record the launch is compared with (a compile only).
    pub compared_with: Option<Compared>,
    /// The first input that differs from that record.
    pub difference: Option<Difference>,
    /// Why no difference is named, when none is.
    pub note: Option<String>,
}

/// A named reason or problem with its meaning.
#[derive(Serialize)]
pub struct Named {
    /// The word `cached-ninja stats` counts it under.
    pub name: String,
    /// What it means.
    pub text: String,
}

/// The record a compile is compared with.
#[derive(Serialize)]
pub struct Compared {
    /// `ci` (the build manifest the last pull used) or `local` (this object directory's
    /// previous object for the output).
    pub kind: &'static str,
    /// The record in words (CI's revision and manifest URL, or the local action).
    pub what: String,
    /// Its source key.
    pub source_key: String,
    /// Its action key.
    pub action_key: String,
}

/// The first input that differs, as in `backend::key::preimage`.
#[derive(Serialize)]
pub struct Difference {
    /// Which key's preimage: `source` or `action` (the include list).
    pub key: &'static str,
    /// The field (`compiler`, `arg`, `env`, `source-content`, `include`, …).
    pub field: String,
    /// The variable or file the field is about.
    pub name: Option<String>,
    /// The record's value (absent: added since).
    pub before: Option<String>,
    /// This launch's value (absent: removed since).
    pub after: Option<String>,
}

/// The explanation of `last`, with the local cache the launchers use and the policy's stores.
pub fn explain(last: &Last, remote: &Remote) -> anyhow::Result<Explained> {
    let r = &last.record;
    let objdir = fetch::objdir::ObjDir::new(&last.objdir);
    let pulled = fetch::last_pull::read(&objdir).unwrap_or(None);
    let mut reason = None;
    let mut problems = Vec::new();
    for n in &r.notes {
        if let Some(x) = Reason::from_name(n) {
            reason = Some(named(n, reason_text(x)));
        } else if let Some(p) = Problem::from_name(n) {
            problems.push(named(n, problem_text(p)));
        }
    }
    let mut e = Explained {
        output: last.output.clone(),
        outcome: r.outcome.clone(),
        origin: origin(r, pulled.as_ref()),
        source_key: r.source_key.map(|k| k.to_hex()),
        action_key: r.action_key.map(|k| k.to_hex()),
        waited_ms: r.waited_ms,
        asked_pull: r.notes.iter().any(|n| n == fetch::edge_log::WANTED),
        reason,
        problems,
        compared_with: None,
        difference: None,
        note: None,
    };
    let compiled = matches!(r.outcome.as_str(), "miss" | "failed" | "error");
    if let Some(source_key) = r.source_key.filter(|_| compiled) {
        compare(&mut e, last, remote, pulled.as_ref(), &source_key);
    }
    Ok(e)
}

/// Compares a compile (source key `source_key`) with its record: fills in the record and the
/// first difference, or a note saying why none can be named.
fn compare(
    e: &mut Explained,
    last: &Last,
    remote: &Remote,
    pulled: Option<&LastPull>,
    source_key: &Digest,
) {
    let cache = &remote.cache();
    let Some((compared, ref_source, ref_action)) = reference(last, cache, pulled) else {
        e.note = Some(format!(
            "no record to compare with: the last pull's build has no edge for `{}`, and no earlier object of this directory made it",
            last.output
        ));
        return;
    };
    let ci = pulled.filter(|_| compared.kind == "ci");
    e.compared_with = Some(compared);
    let found = if last.record.action_key == Some(ref_action) {
        Err("the same action key as the record: no input differs (the entry was not here, or was refused: see the problems)".to_string())
    } else if ref_source != *source_key {
        source_difference(remote, cache, ci, &ref_source, source_key)
    } else {
        let before = includes(cache, &ref_source, &ref_action);
        let after = match last.record.action_key {
            Some(a) => includes(cache, source_key, &a),
            None => before.as_ref().map(|b| includes_now(last, b)),
        };
        match (before, after) {
            (Some(b), Some(a)) => Ok(preimage::first_difference(
                &action_fields(source_key, &b),
                &action_fields(source_key, &a),
            )
            .map(|d| difference("action", d))),
            _ => Err(format!(
                "the include lists are not in the local cache {} any more (evicted): the headers cannot be compared",
                cache.root().display()
            )),
        }
    };
    match found {
        Ok(d) => e.difference = d,
        Err(note) => e.note = Some(note),
    }
}

/// The first difference between the source preimages of the record (`before`, recorded here
/// or published with CI's build `ci`) and of this launch (`after`); `Err` says which preimage
/// is missing and why.
fn source_difference(
    remote: &Remote,
    cache: &LocalCache,
    ci: Option<&LastPull>,
    before: &Digest,
    after: &Digest,
) -> Result<Option<Difference>, String> {
    let mut fetch_note = None;
    let old = engine::launcher::recorded_preimage(cache, before).or_else(|| {
        ci_preimage(remote, ci?, before)
            .map_err(|e| fetch_note = Some(e))
            .ok()?
    });
    match (old, engine::launcher::recorded_preimage(cache, after)) {
        (Some(old), Some(new)) => Ok(preimage::first_difference(
            &preimage::fields(&old),
            &preimage::fields(&new),
        )
        .map(|d| difference("source", d))),
        (old, _) => {
            let whose = if old.is_none() {
                "the record's"
            } else {
                "this launch's"
            };
            let why = fetch_note.map_or(String::new(), |n| format!(" ({n})"));
            Err(format!(
                "the source key differs, and {whose} preimage is neither recorded in {} nor published with CI's build{why}: the compiler, an argument, the environment or the source's bytes changed",
                cache.root().display()
            ))
        }
    }
}

fn named(name: &str, text: &str) -> Named {
    Named {
        name: name.to_string(),
        text: text.to_string(),
    }
}

fn difference(key: &'static str, d: preimage::Difference) -> Difference {
    Difference {
        key,
        field: d.field,
        name: d.name,
        before: d.before,
        after: d.after,
    }
}

/// Where the object of the launch `r` came from, in words.
fn origin(r: &fetch::edge_log::EdgeOutcome, pulled: Option<&LastPull>) -> String {
    let ci = |k: &Digest| pulled.filter(|p| p.has_action(k));
    let waited = r.waited_ms > 0;
    match r.outcome.as_str() {
        "hit" => {
            let whose = match r.action_key.as_ref().and_then(ci) {
                Some(p) => format!("CI's object (revision {})", p.revision),
                None => "an object of the local cache".to_string(),
            };
            if waited {
                format!("waited {} ms for the pull, then hit: {whose}", r.waited_ms)
            } else if r.action_key.as_ref().and_then(ci).is_some() {
                format!("hit: {whose}, pulled")
            } else {
                format!("local hit: {whose}")
            }
        }
        "miss" | "failed" => {
            let how = if r.outcome == "failed" {
                "compiled, and the compiler failed"
            } else {
                "compiled"
            };
            if waited {
                format!("{how} after waiting {} ms for the pull", r.waited_ms)
            } else {
                how.to_string()
            }
        }
        "uncacheable" => "compiled without the cache (uncacheable)".to_string(),
        _ => "the launch ended with a problem (see below)".to_string(),
    }
}

/// The record to compare with, its source key and its action key: CI's record for the output
/// in the last pull, else the newest other action of the action log that made the output.
fn reference(
    last: &Last,
    cache: &LocalCache,
    pulled: Option<&LastPull>,
) -> Option<(Compared, Digest, Digest)> {
    if let Some(p) = pulled {
        if let Some(k) = p.outputs.get(&last.output) {
            let c = Compared {
                kind: "ci",
                what: format!("CI's build of revision {} ({})", p.revision, p.url),
                source_key: k.source_key.to_hex(),
                action_key: k.action_key.to_hex(),
            };
            return Some((c, k.source_key, k.action_key));
        }
    }
    let log = fetch::action_log::read(&last.objdir).ok()?;
    log.iter()
        .rev()
        .filter(|k| Some(**k) != last.record.action_key)
        .find_map(|k| {
            let entry = cache.get_action(k).ok()??;
            entry
                .outputs
                .iter()
                .any(|o| o.path == last.output)
                .then(|| {
                    let c = Compared {
                        kind: "local",
                        what: format!("the previous object of `{}` in this directory", last.output),
                        source_key: entry.source_key.to_hex(),
                        action_key: k.to_hex(),
                    };
                    (c, entry.source_key, *k)
                })
        })
}

/// CI's preimage of `source_key`, from the preimages published with the build the last pull
/// used (`fetch::preimages`); `Ok(None)` when they do not have it, `Err` says what failed.
fn ci_preimage(
    remote: &Remote,
    pulled: &LastPull,
    source_key: &Digest,
) -> Result<Option<String>, String> {
    let key = Key::preimages(&pulled.config, &pulled.revision).map_err(|e| e.to_string())?;
    let store = remote
        .stores
        .iter()
        .find(|s| s.base_url() == pulled.store.trim_end_matches('/'))
        .ok_or_else(|| format!("the store {} is not in the policy any more", pulled.store))?;
    let url = store.url(&key);
    let bytes = match store.get(&key) {
        Ok(Some(b)) => b,
        Ok(None) => return Err(format!("{url} does not exist: CI published no preimages")),
        Err(e) => return Err(format!("{url}: {e}")),
    };
    let trust = remote.trust().map_err(|e| format!("{e:#}"))?;
    let text = fetch::published::open(&bytes, &trust, fetch::published::MAX_MANIFEST)
        .map_err(|e| format!("{url}: {e}"))?;
    let map = std::str::from_utf8(&text)
        .ok()
        .and_then(fetch::preimages::parse)
        .ok_or_else(|| format!("{url} is not a preimage list of this version"))?;
    Ok(map.get(source_key).cloned())
}

/// The include list of an action: its entry's, else the source key's include manifest's set.
fn includes(cache: &LocalCache, source: &Digest, action: &Digest) -> Option<Vec<(String, Digest)>> {
    if let Ok(Some(e)) = cache.get_action(action) {
        return Some(e.includes);
    }
    let m = cache.get_manifest(source).ok()??;
    let set = m.sets.into_iter().find(|s| s.action_key == *action)?;
    Some(set.files.into_iter().map(|f| (f.path, f.digest)).collect())
}

/// `list`'s files as they are on disk now (a compile that stored nothing has no list of its
/// own: what it would have been compared on is the record's files now).
fn includes_now(last: &Last, list: &[(String, Digest)]) -> Vec<(String, Digest)> {
    let obj = last.objdir.to_string_lossy();
    let src = crate::remote::src_root(&last.objdir);
    let roots = key::Roots::new(&obj, src.as_deref().and_then(|p| p.to_str()));
    list.iter()
        .map(|(p, _)| {
            let bytes = std::fs::read(roots.denormalize(p).as_ref()).unwrap_or_default();
            (p.clone(), Digest::of(&bytes))
        })
        .collect()
}

/// The fields of an action key's preimage (the same code as the key).
fn action_fields(source_key: &Digest, list: &[(String, Digest)]) -> Vec<preimage::Field> {
    let refs: Vec<(&str, Digest)> = list.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    let mut e = key::Explain::default();
    key::action_key(&mut e, source_key, &refs);
    preimage::fields(&e.0)
}
