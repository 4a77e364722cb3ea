//! Looking a compile up: direct mode over the include manifest of a source key, else the
//! preprocessor fallback (`-E -M`) for the include list; and recording manifests.

use super::header_facts::HeaderFacts;
use super::launch::Launcher;
use backend::compile::{depfile, CompileCommand};
use backend::key;
use fetch::cache::{self as fcache, ActionEntry, IncludeFile, IncludeSet, StatStamp};
use fetch::stats::Reason;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// What a lookup found of each file it checked, by path as the include set names it here:
/// its digest and settled stamp (`None`: unreadable).
pub(super) type Checked = hashbrown::HashMap<String, Option<(fcache::Digest, Option<StatStamp>)>>;

/// How long the pass ahead of Ninja reuses a file's check ([`Recent`]): far shorter than a
/// compile, which reads its headers over its whole run.
pub(super) const RECENT_FOR: Duration = Duration::from_millis(50);

/// The checks of the files this launcher's lookups checked lately (within [`RECENT_FOR`] of
/// the first of them), reused by its next lookups once [`Recent::reuse`] is called: the pass
/// ahead of Ninja looks at the hundreds of headers its records share once in a while, not
/// once per record (their `statx` was a third of its CPU). The pass may: the build log's time
/// of what it serves is taken before its first lookup, so a header changed while it runs is
/// newer than the entry, and Ninja compiles the edge next time (`crate::ahead`).
#[derive(Default)]
pub struct Recent {
    on: std::cell::Cell<bool>,
    checks: std::cell::RefCell<Option<(Instant, Checked)>>,
}

impl Recent {
    /// This launcher's next lookups reuse what its lookups checked lately.
    pub(super) fn reuse(&self) {
        self.on.set(true);
    }

    /// The checks made since the window began (a new one begun if it is over); `None` unless
    /// [`Recent::reuse`] was called.
    fn now(&self) -> Option<std::cell::RefMut<'_, Checked>> {
        if !self.on.get() {
            return None;
        }
        Some(std::cell::RefMut::map(self.checks.borrow_mut(), |w| {
            if !w.as_ref().is_some_and(|(t, _)| t.elapsed() <= RECENT_FOR) {
                *w = Some((Instant::now(), Checked::new()));
            }
            &mut w.as_mut().expect("just set").1
        }))
    }
}

/// An action entry found in the cache, with its key.
pub(super) type Found = (fcache::Digest, Box<ActionEntry>);

/// What [`Launcher::find`] found.
pub(super) struct Finding {
    /// The entry.
    pub(super) found: Option<Found>,
    /// A cache problem was reported and counted (the caller compiles without looking again).
    pub(super) problem: bool,
    /// A running pull may still bring the entry (it was asked for it).
    pub(super) coming: bool,
}

/// What a lookup found.
pub(super) enum Looked {
    /// The entry.
    Hit(Found),
    /// No entry; `Some(key)` when an include set matched but its entry is not here (yet: a
    /// running pull may bring it, `super::wait`).
    Miss(Option<fcache::Digest>),
}

/// Why a compile's result is not stored.
pub(super) enum NotStored {
    /// An input cannot be read (or its path holds a newline).
    Unreadable,
    /// An input depends on what the key cannot hash: time macros, assembler file reads, an
    /// implicit precompiled header beside it (the counter names which).
    Unkeyed(Reason),
    /// This input changed while the compile ran.
    Changed(String),
}

/// A file of the include list as the compile saw it now.
#[derive(Clone)]
pub(super) struct Seen {
    /// The path, normalised (`@src/…`, `@obj/…`).
    pub(super) norm: String,
    /// The digest of its bytes.
    pub(super) digest: fcache::Digest,
    /// Its stat stamp, when settled (old enough to trust).
    pub(super) stamp: Option<StatStamp>,
    /// Its include directives (`super::directives`), read from the same bytes as the digest:
    /// the lookup rule's record of a miss needs no second read of the headers (a miss's
    /// rounds take them, `Launcher::take_scan_of_seen`).
    pub(super) directives: super::directives::Directives,
}

impl Launcher<'_> {
    /// Looks the compile up: direct mode over the source key's manifest, else (no manifest,
    /// and `preprocess` given) the preprocessor fallback for that command.
    /// `Err(())` means a cache problem was reported and the caller should compile.
    pub(super) fn lookup(
        &self,
        source_key: &key::Digest,
        preprocess: Option<&CompileCommand>,
    ) -> Result<Looked, ()> {
        match (self.cache.get_manifest(source_key), preprocess) {
            (Ok(Some(m)), _) => self.lookup_in(source_key, m),
            (Ok(None), Some(cmd)) => Ok(match self.lookup_preprocessed(cmd, source_key)? {
                Some(found) => Looked::Hit(found),
                None => Looked::Miss(None),
            }),
            (Ok(None), None) => Ok(Looked::Miss(None)),
            (Err(e), _) => {
                self.drop_corrupt(&e);
                Err(())
            }
        }
    }

    /// [`Launcher::lookup`] (again after the plan, when a miss met a build still looking for
    /// one), then, when an include set matched but its entry is not here, a wait for a running
    /// pull (CI's entry may be on its way: a pull brings wanted keys first).
    pub(super) fn find(
        &self,
        source_key: &key::Digest,
        preprocess: Option<&CompileCommand>,
        start: std::time::Instant,
    ) -> Finding {
        let none = Finding {
            found: None,
            problem: false,
            coming: false,
        };
        let mut looked = self.lookup(source_key, preprocess);
        if matches!(looked, Ok(Looked::Miss(_))) && self.wait_for_plan() {
            looked = self.lookup(source_key, preprocess);
        }
        self.keep_facts();
        match looked {
            Ok(Looked::Hit(entry)) => Finding {
                found: Some(entry),
                ..none
            },
            Ok(Looked::Miss(Some(key))) => Finding {
                coming: self.pull.running().is_some(),
                found: self.wait_for_pull(&key),
                ..none
            },
            Ok(Looked::Miss(None)) => none,
            Err(()) => {
                self.record(fetch::stats::Outcome::Error(self.cache_problem()), 0, start);
                Finding {
                    problem: true,
                    ..none
                }
            }
        }
    }

    /// Checks the include sets of `manifest` in order; the first that matches the files on
    /// disk and has an action entry is the hit.
    fn lookup_in(
        &self,
        source_key: &key::Digest,
        mut manifest: fcache::Manifest,
    ) -> Result<Looked, ()> {
        let now = SystemTime::now();
        let mut absent = None;
        // hashbrown's hasher: SipHash over hundreds of paths was 2 % of a first check.
        let mut seen = Checked::new();
        let mut recent = self.recent.now();
        for si in 0..manifest.sets.len() {
            let set = &manifest.sets[si];
            let mut ok = true;
            let mut restamp = false;
            let mut stamps: Vec<Option<StatStamp>> = Vec::with_capacity(set.files.len());
            for f in &set.files {
                let real = self.roots.denormalize(&f.path);
                let cur = match seen.get(real.as_ref()) {
                    Some(v) => *v,
                    None => {
                        let lately = recent.as_ref().and_then(|r| r.get(real.as_ref()).copied());
                        let v = lately.unwrap_or_else(|| self.current(&real, f, now));
                        if let Some(r) = recent.as_mut().filter(|_| lately.is_none()) {
                            r.insert(real.to_string(), v);
                        }
                        seen.insert(real.to_string(), v);
                        v
                    }
                };
                match cur {
                    Some((d, stamp)) if d == f.digest => {
                        // Rewrite the manifest only for a new settled stamp (a file that is
                        // too young keeps being hashed, without a write per launch).
                        if stamp.is_some() && stamp != f.stamp {
                            restamp = true;
                        }
                        stamps.push(stamp.or(f.stamp));
                    }
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            let includes: Vec<(&str, key::Digest)> = set
                .files
                .iter()
                .map(|f| (f.path.as_str(), f.digest))
                .collect();
            let action_key = key::action_key_digest(source_key, &includes);
            if action_key != set.action_key {
                continue;
            }
            let found_key = set.action_key;
            match self.cache.get_action(&found_key) {
                Ok(Some(entry)) => {
                    if restamp || si != 0 {
                        let mut set = manifest.sets[si].clone();
                        for (f, s) in set.files.iter_mut().zip(stamps) {
                            f.stamp = s;
                        }
                        manifest.add_front(set);
                        let _ = self.cache.put_manifest(source_key, &manifest);
                    }
                    // A first check of this entry takes the stamps seen here.
                    self.read_scans.keep_checked(seen);
                    return Ok(Looked::Hit((found_key, Box::new(entry))));
                }
                Ok(None) => {
                    absent.get_or_insert(found_key);
                    continue;
                }
                Err(e) => {
                    self.drop_corrupt(&e);
                    return Err(());
                }
            }
        }
        Ok(Looked::Miss(absent))
    }

    /// The facts of the file an include set names `norm` (normalised) as a lookup here would
    /// read them now, and its stat stamp when settled (`now`); `None` when it cannot be read.
    /// For a process whose working directory is not the object root (the pull): a relative
    /// path is taken from the object root, as a launch takes it.
    pub(super) fn header_here(
        &self,
        norm: &str,
        now: SystemTime,
    ) -> Option<(HeaderFacts, Option<StatStamp>)> {
        let real = self.roots.denormalize(norm);
        if real.starts_with('$') {
            return None; // rustc's pseudo-inputs are no files
        }
        let path = Path::new(self.roots.obj()).join(real.as_ref());
        let md = std::fs::metadata(&path).ok()?;
        let stamp = StatStamp::of(&md);
        let facts = self.header_facts(&path, &md, now)?;
        Some((facts, stamp.is_settled(now).then_some(stamp)))
    }

    /// The digest of a file now (trusting a matching stat stamp), and its stamp when settled.
    fn current(
        &self,
        real: &str,
        known: &IncludeFile,
        now: SystemTime,
    ) -> Option<(fcache::Digest, Option<StatStamp>)> {
        // rustc's pseudo-inputs: a variable it read, the roots an artifact embeds.
        if real.starts_with('$') {
            if let Some(d) = super::rustc::pseudo_input_digest(self, real) {
                return Some((d, None));
            }
        }
        let md = std::fs::metadata(real).ok()?;
        let stamp = StatStamp::of(&md);
        if self.trust_stat && known.stamp == Some(stamp) {
            return Some((known.digest, Some(stamp)));
        }
        let facts = self.header_facts(Path::new(real), &md, now)?;
        // A first check of the entry this lookup finds takes these directives, not a read.
        let path = backend::key::lexical_join(self.roots.obj(), real);
        self.read_scans.keep(path, facts.directives);
        let settled = stamp.is_settled(now).then_some(stamp);
        Some((facts.digest, settled))
    }

    /// Hashes the include list a compiler reported (paths as the compiler wrote them).
    /// With `since` (when the compile started), a file changed after it is
    /// [`NotStored::Changed`]: the compile may have read another version than the one hashed.
    pub(super) fn hash_includes(
        &self,
        cmd: &CompileCommand,
        inputs: &[String],
        since: Option<SystemTime>,
    ) -> Result<Vec<Seen>, NotStored> {
        let seen = self.hash_each(cmd, inputs, since);
        self.keep_facts();
        seen
    }

    /// [`Launcher::hash_includes`]'s work, the facts learned not yet written.
    fn hash_each(
        &self,
        cmd: &CompileCommand,
        inputs: &[String],
        since: Option<SystemTime>,
    ) -> Result<Vec<Seen>, NotStored> {
        let now = SystemTime::now();
        let skip = usize::from(inputs.first() == Some(&cmd.source));
        let mut out: Vec<Seen> = Vec::with_capacity(inputs.len());
        // gcc's depfile names a header again for each inclusion it could not skip (54 of
        // `repository.c`'s 384 names): the list keeps them (the key covers it as it is), but
        // each path is looked at once.
        let mut first: hashbrown::HashMap<&str, usize> =
            hashbrown::HashMap::with_capacity(inputs.len());
        for p in &inputs[skip..] {
            if let Some(&i) = first.get(p.as_str()) {
                // (Its directives are the first one's: the lookup rule reads those.)
                let again = Seen {
                    norm: out[i].norm.clone(),
                    directives: Vec::new().into(),
                    ..out[i]
                };
                out.push(again);
                continue;
            }
            first.insert(p, out.len());
            if p.contains('\n') {
                return Err(NotStored::Unreadable);
            }
            let md = std::fs::metadata(p).map_err(|_| NotStored::Unreadable)?;
            let stamp = StatStamp::of(&md);
            if since.is_some_and(|t| stamp.changed_since(t)) {
                return Err(NotStored::Changed(p.clone()));
            }
            let facts = self
                .header_facts(Path::new(p), &md, now)
                .ok_or(NotStored::Unreadable)?;
            if let Some(u) = facts.unkeyed {
                return Err(NotStored::Unkeyed(super::reason::of_unkeyed(u)));
            }
            // A lookup (no `since`) checks each header's own `.gch`; a store scans every
            // searched directory (`Launcher::precompiled_header_near`), which covers it.
            if since.is_none() && Path::new(&format!("{p}.gch")).exists() {
                return Err(NotStored::Unkeyed(Reason::PrecompiledHeader));
            }
            out.push(Seen {
                norm: self.roots.normalize(p).into_owned(),
                digest: facts.digest,
                stamp: stamp.is_settled(now).then_some(stamp),
                directives: facts.directives,
            });
        }
        Ok(out)
    }

    /// Records `seen` as the newest include set of the source key's manifest.
    pub(super) fn remember(
        &self,
        source_key: &key::Digest,
        action_key: &key::Digest,
        seen: &[Seen],
    ) {
        let mut m = match self.cache.get_manifest(source_key) {
            Ok(Some(m)) => m,
            _ => Default::default(),
        };
        let files = seen
            .iter()
            .map(|s| IncludeFile {
                path: s.norm.clone(),
                digest: s.digest,
                stamp: s.stamp,
            })
            .collect();
        m.add_front(IncludeSet {
            action_key: *action_key,
            files,
        });
        let _ = self.cache.put_manifest(source_key, &m);
    }

    /// The action key: the source key and the include list with its digests.
    pub(super) fn action_key_of(source_key: &key::Digest, seen: &[Seen]) -> key::Digest {
        let includes: Vec<(&str, key::Digest)> =
            seen.iter().map(|s| (s.norm.as_str(), s.digest)).collect();
        key::action_key_digest(source_key, &includes)
    }

    /// The preprocessor fallback: `-E -M` gives the include list without compiling.
    fn lookup_preprocessed(
        &self,
        cmd: &CompileCommand,
        source_key: &key::Digest,
    ) -> Result<Option<Found>, ()> {
        let Ok(tmp) = self.cache.tmp_path(".d") else {
            return Ok(None);
        };
        let tmp_s = tmp.to_string_lossy().into_owned();
        // The model knows which words name the output and which only matter to the compile
        // proper; the user's dependency-file options are already out of `cmd.args`.
        let mut args = cmd.preprocessor_args();
        args.extend(["-E", "-M", "-MF", &tmp_s, "-o", "/dev/null"].map(String::from));
        let r = self.runner.run(&cmd.compiler, &args);
        let text = std::fs::read_to_string(&tmp).ok();
        let _ = std::fs::remove_file(&tmp);
        let (Ok(r), Some(text)) = (r, text) else {
            return Ok(None);
        };
        if r.code != 0 {
            return Ok(None);
        }
        let deps = depfile::parse(&text);
        let Ok(seen) = self.hash_includes(cmd, &deps.inputs, None) else {
            return Ok(None);
        };
        let action_key = Self::action_key_of(source_key, &seen);
        match self.cache.get_action(&action_key) {
            Ok(Some(entry)) => {
                self.remember(source_key, &action_key, &seen);
                Ok(Some((action_key, Box::new(entry))))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.drop_corrupt(&e);
                Err(())
            }
        }
    }
}
