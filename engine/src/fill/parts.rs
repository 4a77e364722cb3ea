//! The debug part of each object of a link closure: the `.dwo` (or debug bundle) of the action
//! entry that produced the object on disk, from the local cache, else from the remote stores
//! (in policy order; the blob is verified by its digest and kept in the local cache); else the
//! `.dwo` file where the object's skeleton says the compiler wrote it. A part is used only when it holds every split
//! unit the object's skeletons name, so a stale `.dwo` beside a recompiled object is refused.
//!
//! The action entries come from the object directory's action log (`fetch::action_log`): the
//! last entry naming an object path wins, and only while the object on disk has that entry's
//! digest (an object recompiled outside the cache has another). A part found nowhere is
//! reported missing with what each source said.

use super::paths::TokenMap;
use fetch::cache::{ActionEntry, CacheError, Digest, LocalCache, Output, Role};
use fetch::store::Store;
use splitdwarf::{DwoId, SkeletonUnit};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// Where a part came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The local cache's blob of the object's action entry.
    Cache,
    /// A remote store's blob of the object's action entry.
    Store,
    /// The `.dwo` file on disk.
    Disk,
}

/// The split units of one object, ready to package or lay out.
#[derive(Debug)]
pub struct DebugPart {
    /// The object, relative to the object directory.
    pub object: String,
    /// The `.dwo` bytes (a bundle is unpacked).
    pub dwo: Vec<u8>,
    /// The split units it holds.
    pub ids: Vec<DwoId>,
    /// Where it came from.
    pub origin: Origin,
    /// The debug bundle it came from, when the object is a clang `-gsplit-dwarf=single` one
    /// stored stripped: what gives the whole object back (for the loose layout, whose
    /// `DW_AT_dwo_name` names the object itself).
    pub bundle: Option<Vec<u8>>,
}

/// What the search found for one object.
#[derive(Debug)]
pub enum Found {
    /// The object's debug part.
    Part(DebugPart),
    /// The object has no split-DWARF skeleton: nothing to fill.
    NoSkeleton,
    /// No usable debug part: the units it lacks and why.
    Missing {
        /// The object's skeleton units.
        ids: Vec<DwoId>,
        /// Every source tried and what was wrong with it.
        reason: String,
    },
}

/// The action entries of an object directory, by object path.
pub struct EntryIndex {
    by_object: HashMap<String, ActionEntry>,
}

impl EntryIndex {
    /// Reads the action log of `objdir` and the entries it names from `cache`; entries that
    /// are gone or unreadable are left out (their objects then use the file on disk).
    pub fn load(objdir: &Path, cache: &LocalCache) -> EntryIndex {
        let mut by_object = HashMap::new();
        for key in fetch::action_log::read(objdir).unwrap_or_default() {
            let Ok(Some(entry)) = cache.get_action(&key) else {
                continue;
            };
            for o in entry.outputs.iter().filter(|o| o.role.is_object()) {
                by_object.insert(o.path.clone(), entry.clone());
            }
        }
        EntryIndex { by_object }
    }
}

/// Where debug parts are looked for.
pub struct Sources<'a> {
    /// The object directory.
    pub objdir: &'a Path,
    /// Its action entries by object.
    pub index: EntryIndex,
    /// The local cache.
    pub cache: &'a LocalCache,
    /// Remote stores, in the order they are asked.
    pub stores: &'a [Store],
    /// This machine's roots for the prefix-map tokens.
    pub tokens: &'a TokenMap,
}

impl Sources<'_> {
    /// Finds the debug part of `object` (relative to the object directory), linked into a
    /// binary with the skeleton units `linked`.
    pub fn find(&self, object: &str, linked: &[SkeletonUnit]) -> Found {
        find(self, object, linked)
    }
}

fn find(src: &Sources<'_>, object: &str, linked: &[SkeletonUnit]) -> Found {
    let bytes = match std::fs::read(src.objdir.join(object)) {
        Ok(b) => b,
        Err(e) => {
            return Found::Missing {
                ids: Vec::new(),
                reason: format!("cannot read {object}: {e}"),
            }
        }
    };
    let skeletons = match splitdwarf::skeleton_units(&bytes) {
        Ok(s) if s.is_empty() => return Found::NoSkeleton,
        Ok(s) => s,
        Err(e) => {
            return Found::Missing {
                ids: Vec::new(),
                reason: format!("{object}: {e}"),
            }
        }
    };
    let ids: Vec<DwoId> = skeletons.iter().map(|s| s.dwo_id).collect();
    let mut why = Vec::new();
    match from_entry(src, object, &bytes) {
        Ok((dwo, origin, bundle)) => match accept(dwo, &ids) {
            Ok((dwo, got)) => return part(object, dwo, got, origin, bundle),
            Err(e) => why.push(format!("cache: {e}")),
        },
        Err(e) => why.push(e),
    }
    // Where the compiler wrote the `.dwo`: as the linked binary's skeleton says. An object's
    // own string attributes are not relocated yet (its `DW_FORM_strp` offsets are in
    // `.rela.debug_info`: clang's read as the first string, the compile directory).
    let s = ids
        .iter()
        .find_map(|id| linked.iter().find(|u| u.dwo_id == *id))
        .unwrap_or(&skeletons[0]);
    let on_disk = src
        .tokens
        .resolve(s.comp_dir.as_deref().unwrap_or(""), &s.name);
    match std::fs::read(&on_disk) {
        Ok(dwo) => match accept(dwo, &ids) {
            Ok((dwo, got)) => return part(object, dwo, got, Origin::Disk, None),
            Err(e) => why.push(format!("{}: {e}", on_disk.display())),
        },
        Err(e) => why.push(format!("{}: {e}", on_disk.display())),
    }
    Found::Missing {
        ids,
        reason: why.join("; "),
    }
}

fn part(
    object: &str,
    dwo: Vec<u8>,
    ids: Vec<DwoId>,
    origin: Origin,
    bundle: Option<Vec<u8>>,
) -> Found {
    Found::Part(DebugPart {
        object: object.to_string(),
        dwo,
        ids,
        origin,
        bundle,
    })
}

/// The `.dwo`, where it came from, and the bundle it was in (if it was).
type FromEntry = (Vec<u8>, Origin, Option<Vec<u8>>);

/// The debug blob of the entry that made `object`'s bytes, from the cache or a store.
fn from_entry(src: &Sources<'_>, object: &str, bytes: &[u8]) -> Result<FromEntry, String> {
    let cache_err = |e: String| format!("cache: {e}");
    let entry = src
        .index
        .by_object
        .get(object)
        .ok_or_else(|| cache_err("no action entry names this object".into()))?;
    let digest = Digest::of(bytes);
    if !entry
        .outputs
        .iter()
        .any(|o| o.role.is_object() && o.digest == digest)
    {
        let e = "the object on disk is not the one its last action entry made";
        return Err(cache_err(e.into()));
    }
    let out = entry
        .outputs
        .iter()
        .find(|o| o.role.is_debug())
        .ok_or_else(|| cache_err("the action entry has no debug part".into()))?;
    let (blob, origin) = match src.cache.get_blob(&out.digest, out.size) {
        Ok(b) => (b, Origin::Cache),
        Err(e) => {
            let e = match e {
                CacheError::Missing { .. } => format!("debug blob {} not here", out.digest),
                e => {
                    src.cache.remove_path(e.path());
                    e.to_string()
                }
            };
            (
                from_stores(src, out)
                    .map_err(|s| format!("cache: {e}; {s}"))?
                    .into(),
                Origin::Store,
            )
        }
    };
    let dwo = unpack(out, &blob)?;
    // Only a bundle is kept whole (a mapped `.dwo` is not copied for nothing).
    let bundle = (out.role == Role::DebugBundle).then(|| blob.into_vec());
    Ok((dwo, origin, bundle))
}

/// The blob of `out` from the first store that has it (verified by the store's reader), kept
/// in the local cache. Downloaded as a pull downloads ([`fetch::download::blob`]): once for all
/// processes sharing the cache, resumed when an earlier download was cut short.
fn from_stores(src: &Sources<'_>, out: &Output) -> Result<Vec<u8>, String> {
    if src.stores.is_empty() {
        return Err("no store configured".into());
    }
    let never = AtomicBool::new(false);
    let mut why = Vec::new();
    for st in src.stores {
        match fetch::download::blob(st, src.cache, &out.digest, out.size, &never) {
            Ok(got) => {
                let bytes = match got.bytes() {
                    Some(b) => b.to_vec(),
                    // Another process brought it meanwhile.
                    None => match src.cache.get_blob(&out.digest, out.size) {
                        Ok(b) => b.into_vec(),
                        Err(e) => {
                            why.push(format!("cache: {e}"));
                            continue;
                        }
                    },
                };
                let _ = got.insert(src.cache);
                return Ok(bytes);
            }
            Err(e) => why.push(format!("store: {e}")),
        }
    }
    Err(why.join("; "))
}

/// The `.dwo` of a debug output's blob (a bundle is unpacked).
fn unpack(out: &Output, blob: &[u8]) -> Result<Vec<u8>, String> {
    match out.role {
        Role::DebugBundle => splitdwarf::bundle_dwo(blob)
            .map_err(|e| format!("debug bundle {}: {e}", out.digest))?
            .ok_or_else(|| format!("debug bundle {} holds no .dwo", out.digest)),
        _ => Ok(blob.to_vec()),
    }
}

/// `dwo` when it holds every id of `want`, with the ids it holds.
fn accept(dwo: Vec<u8>, want: &[DwoId]) -> Result<(Vec<u8>, Vec<DwoId>), String> {
    let got = splitdwarf::split_unit_ids(&dwo).map_err(|e| e.to_string())?;
    match want.iter().find(|id| !got.contains(id)) {
        None => Ok((dwo, got)),
        Some(id) => Err(format!(
            "lacks split unit {id} (stale or from another compile)"
        )),
    }
}
