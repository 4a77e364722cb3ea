//! Filling one binary: its debug parts gathered, its layout written and verified, its record.

use super::layout::{self, choose};
use super::parts::{DebugPart, EntryIndex, Found, Origin, Sources};
use super::paths::TokenMap;
use super::status::{BinaryStatus, FillState, MissingUnit, Stamp};
use super::targets::LinkedBinary;
use super::{FillRequest, Layout};
use splitdwarf::{DwoId, SkeletonUnit};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Threads reading and hashing objects and their debug parts.
const READ_JOBS: usize = 4;

/// What every binary of one pass shares.
pub struct Context<'a> {
    req: &'a FillRequest<'a>,
    sources: Sources<'a>,
}

/// The debug parts of a closure and, per unit without one, why.
struct Gathered {
    parts: Vec<DebugPart>,
    why: HashMap<DwoId, String>,
}

impl<'a> Context<'a> {
    /// The context of a pass (reads the action log's entries once).
    pub fn new(req: &'a FillRequest<'a>, tokens: &'a TokenMap) -> Context<'a> {
        Context {
            req,
            sources: Sources {
                objdir: req.objdir,
                index: EntryIndex::load(req.objdir, req.cache),
                cache: req.cache,
                stores: req.stores,
                tokens,
            },
        }
    }

    /// Fills `b` and returns its record (pending when it was relinked meanwhile).
    pub fn fill_binary(&self, b: &LinkedBinary) -> BinaryStatus {
        let path = self.req.objdir.join(&b.path);
        let mut r = BinaryStatus::pending(&b.path);
        let fail = |mut r: BinaryStatus, e: String| {
            r.state = FillState::Failed;
            r.error = Some(e);
            r
        };
        let Ok(before) = Stamp::of(&path) else {
            return fail(r, format!("cannot stat {}", path.display()));
        };
        r.stamp = before;
        // Whatever package is there is not known to fit this binary: gdb must not see it.
        if let Err(e) = layout::remove_package(&path) {
            return fail(
                r,
                format!("cannot remove the stale package of {}: {e}", b.path),
            );
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => return fail(r, format!("cannot read {}: {e}", path.display())),
        };
        let skeletons = match splitdwarf::skeleton_units(&bytes) {
            Ok(s) => s,
            Err(e) => return fail(r, format!("{}: {e}", path.display())),
        };
        r.debugger = self.req.debugger;
        r.units = skeletons.len() as u32;
        if skeletons.is_empty() {
            r.state = FillState::NoSplitDwarf;
            return r;
        }
        let g = self.gather(b, &skeletons);
        std::thread::sleep(self.req.stall);
        r.bytes = g.parts.iter().map(|p| p.dwo.len() as u64).sum();
        r.fetched = g
            .parts
            .iter()
            .filter(|p| p.origin == Origin::Store)
            .map(|p| p.dwo.len() as u64)
            .sum();
        let lay = choose(self.req.debugger, &skeletons);
        let written = self.write(lay, &path, &bytes, &skeletons, &g);
        if Stamp::of(&path).ok() != Some(before) {
            // Relinked while we filled: what was written may not fit; the next pass redoes it.
            let _ = layout::remove_package(&path);
            return BinaryStatus::pending(&b.path);
        }
        let (covered, mut why) = match written {
            Ok(w) => w,
            Err(e) => return fail(r, e),
        };
        why.extend(g.why);
        r.layout = Some(lay);
        record_coverage(&mut r, &skeletons, &covered, &why);
        r
    }

    /// The debug parts of `b`'s objects that hold units of the binary, each unit once.
    fn gather(&self, b: &LinkedBinary, skeletons: &[SkeletonUnit]) -> Gathered {
        let wanted: HashSet<DwoId> = skeletons.iter().map(|s| s.dwo_id).collect();
        let found = fetch::parallel::infallible(fetch::parallel::map_slice(
            &b.objects,
            READ_JOBS,
            None,
            |_, o| Ok(self.sources.find(o, skeletons)),
        ));
        let mut g = Gathered {
            parts: Vec::new(),
            why: HashMap::new(),
        };
        let mut have: HashSet<DwoId> = HashSet::new();
        for (object, f) in b.objects.iter().zip(found.into_iter().flatten()) {
            match f {
                Found::Part(p) => {
                    let useful = p
                        .ids
                        .iter()
                        .any(|i| wanted.contains(i) && !have.contains(i));
                    if useful {
                        have.extend(p.ids.iter().copied());
                        g.parts.push(p);
                    }
                }
                Found::NoSkeleton => {}
                Found::Missing { ids, reason } => {
                    for id in ids {
                        g.why.insert(id, format!("{object}: {reason}"));
                    }
                }
            }
        }
        g
    }

    /// Writes the layout; returns the units it covers and why others are not.
    #[allow(clippy::type_complexity)]
    fn write(
        &self,
        lay: Layout,
        path: &Path,
        bytes: &[u8],
        skeletons: &[SkeletonUnit],
        g: &Gathered,
    ) -> Result<(HashSet<DwoId>, HashMap<DwoId, String>), String> {
        match lay {
            Layout::Package => {
                let dwos: Vec<(&str, &[u8])> = g
                    .parts
                    .iter()
                    .map(|p| (p.object.as_str(), p.dwo.as_slice()))
                    .collect();
                Ok((layout::write_package(path, bytes, &dwos)?, HashMap::new()))
            }
            Layout::Loose => {
                let mut part_of: HashMap<DwoId, &DebugPart> = HashMap::new();
                for p in &g.parts {
                    for id in &p.ids {
                        part_of.insert(*id, p);
                    }
                }
                layout::write_loose(self.req.objdir, path, skeletons, &part_of)
            }
        }
    }
}

/// Sets the record's counts, missing units and state from what the layout covers.
fn record_coverage(
    r: &mut BinaryStatus,
    skeletons: &[SkeletonUnit],
    covered: &HashSet<DwoId>,
    why: &HashMap<DwoId, String>,
) {
    r.filled = skeletons
        .iter()
        .filter(|s| covered.contains(&s.dwo_id))
        .count() as u32;
    r.missing = skeletons
        .iter()
        .filter(|s| !covered.contains(&s.dwo_id))
        .map(|s| MissingUnit {
            dwo_id: s.dwo_id.to_string(),
            name: s.name.clone(),
            reason: why.get(&s.dwo_id).cloned().unwrap_or_else(|| {
                "no object of the link closure holds this unit's skeleton".to_string()
            }),
        })
        .collect();
    r.state = match (r.filled, r.missing.is_empty()) {
        (_, true) => FillState::Filled,
        (0, false) => FillState::Failed,
        _ => FillState::Partial,
    };
}
