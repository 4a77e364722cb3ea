//! Writing a binary's debug layout and verifying it (DESIGN §6): `<binary>.dwp` packaged with
//! `splitdwarf` (thorin), or loose `.dwo` files where gdb looks for them. Every file goes
//! through the one atomic write, so a reader (or a fill killed half-way) sees a whole file or
//! none; what is written is read back and verified before it counts as filled.
//!
//! Choice per binary: DWARF 4 binaries get a package for every debugger. gdb 13 crashes on
//! DWARF 5 packages, so DWARF 5 binaries get loose files for `gdb`. lldb 14 looks for a loose
//! `.dwo` only at `DW_AT_comp_dir/DW_AT_dwo_name`, and the launcher's prefix map makes that
//! directory a token (`/cached-ninja/obj`, absent here; `target.source-map` does not apply),
//! so `lldb` always gets a package (measured: loose DWARF 5 files give lldb no variables).
//! Hence no layout serves both debuggers for DWARF 5: `any` gets loose files, which gdb reads
//! and lldb does not, rather than a package gdb crashes on; lldb users set `lldb`.

use super::parts::DebugPart;
use super::paths::loose_place;
use super::status::Stamp;
use super::{Debugger, Layout};
use fetch::cache::{write_atomic, write_atomic_with, Durability};
use splitdwarf::{DwoId, PackageInput, PackageRequest, SkeletonUnit};
use std::collections::{HashMap, HashSet};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The layout that works for `debugger` on a binary with these skeleton units.
pub fn choose(debugger: Debugger, skeletons: &[SkeletonUnit]) -> Layout {
    let dwarf5 = skeletons.iter().any(|s| s.version >= 5);
    match debugger {
        Debugger::Lldb => Layout::Package,
        Debugger::Gdb | Debugger::Any if dwarf5 => Layout::Loose,
        Debugger::Gdb | Debugger::Any => Layout::Package,
    }
}

/// `<binary>.dwp`, where gdb and lldb look for a package.
pub fn package_path(binary: &Path) -> PathBuf {
    let mut s = binary.as_os_str().to_owned();
    s.push(".dwp");
    PathBuf::from(s)
}

/// Removes `<binary>.dwp` and what a killed fill's atomic writes left beside it.
pub fn remove_package(binary: &Path) -> io::Result<()> {
    let dwp = package_path(binary);
    match std::fs::remove_file(&dwp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let (Some(dir), Some(name)) = (dwp.parent(), dwp.file_name()) else {
        return Ok(());
    };
    let prefix = format!(".{}.cn-tmp.", name.to_string_lossy());
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    for e in std::fs::read_dir(dir)?.flatten() {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}

/// Packages `dwos` (name, bytes) into `<binary>.dwp` and verifies it against the binary;
/// returns the units the package covers. Nothing to package leaves no package.
pub fn write_package(
    binary: &Path,
    binary_bytes: &[u8],
    dwos: &[(&str, &[u8])],
) -> Result<HashSet<DwoId>, String> {
    let dest = package_path(binary);
    if dwos.is_empty() {
        remove_package(binary).map_err(|e| format!("cannot remove {}: {e}", dest.display()))?;
        return Ok(HashSet::new());
    }
    let inputs: Vec<PackageInput<'_>> = dwos
        .iter()
        .map(|&(name, data)| PackageInput { name, data })
        .collect();
    let req = PackageRequest {
        inputs: &inputs,
        executable: None,
    };
    write_atomic_with(&dest, Durability::Synced, |f| {
        let mut w = BufWriter::new(f);
        splitdwarf::package_to(&req, &mut w).map_err(io::Error::other)?;
        w.flush()
    })
    .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    let checked = std::fs::read(&dest)
        .map_err(|e| e.to_string())
        .and_then(|dwp| splitdwarf::verify(binary_bytes, &dwp).map_err(|e| e.to_string()));
    match checked {
        Ok(c) => {
            let missing: HashSet<DwoId> = c.missing.iter().map(|m| m.dwo_id).collect();
            Ok(c.skeletons
                .iter()
                .map(|s| s.dwo_id)
                .filter(|id| !missing.contains(id))
                .collect())
        }
        Err(e) => {
            let _ = remove_package(binary);
            Err(format!("{} does not verify: {e}; removed", dest.display()))
        }
    }
}

/// Writes each skeleton's split unit as a loose `.dwo` where gdb looks (see
/// [`loose_place`]), removes any `<binary>.dwp` (gdb would read only that), and verifies
/// each file; returns the units covered and, per unit that could not be placed, why.
pub fn write_loose(
    objdir: &Path,
    binary: &Path,
    skeletons: &[SkeletonUnit],
    part_of: &HashMap<DwoId, &DebugPart>,
) -> Result<(HashSet<DwoId>, HashMap<DwoId, String>), String> {
    remove_package(binary)
        .map_err(|e| format!("cannot remove {}: {e}", package_path(binary).display()))?;
    let mut covered = HashSet::new();
    let mut unplaced = HashMap::new();
    for s in skeletons {
        let Some(part) = part_of.get(&s.dwo_id) else {
            continue;
        };
        let Some(place) = loose_place(objdir, binary, &s.name) else {
            let why = format!("dwo name {:?} points outside the object directory", s.name);
            unplaced.insert(s.dwo_id, why);
            continue;
        };
        let object = objdir.join(&part.object);
        let placed = if same_file(&place, &object) {
            // clang `=single`: the skeleton names the object itself as its `.dwo`.
            restore_whole_object(&object, part)
        } else {
            place_file(&place, &part.dwo)
        };
        if let Err(e) = placed {
            unplaced.insert(s.dwo_id, format!("cannot write {}: {e}", place.display()));
            continue;
        }
        let ok = std::fs::read(&place)
            .ok()
            .and_then(|b| splitdwarf::split_unit_ids(&b).ok())
            .is_some_and(|ids| ids.contains(&s.dwo_id));
        if ok {
            covered.insert(s.dwo_id);
        } else {
            unplaced.insert(s.dwo_id, format!("{} does not verify", place.display()));
        }
    }
    Ok((covered, unplaced))
}

/// Whether every skeleton unit of the binary at `binary` has its loose `.dwo` file (present,
/// not checked further: the fill that wrote them verified them).
pub fn loose_files_present(objdir: &Path, binary: &Path) -> bool {
    let Ok(bytes) = std::fs::read(binary) else {
        return false;
    };
    let Ok(skeletons) = splitdwarf::skeleton_units(&bytes) else {
        return false;
    };
    !package_path(binary).exists()
        && skeletons
            .iter()
            .all(|s| loose_place(objdir, binary, &s.name).is_some_and(|p| p.is_file()))
}

/// Whether `a` and `b` name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Writes a clang `-gsplit-dwarf=single` object whole again at `object` (its `.dwo` sections
/// are the loose file gdb reads there), from the stripped object on disk and its debug
/// bundle; the stripped object's mtime and mode are kept, so Ninja sees nothing to redo (the
/// link output is the same: linkers drop `.dwo` sections). Nothing is written when the
/// whole object is there already, or when the file changed while it was rebuilt.
fn restore_whole_object(object: &Path, part: &DebugPart) -> io::Result<()> {
    let md = std::fs::metadata(object)?;
    let before = Stamp::of(object)?;
    let current = std::fs::read(object)?;
    if current == part.dwo {
        return Ok(());
    }
    let bundle = part.bundle.as_deref().ok_or_else(|| {
        io::Error::other("the object is its own .dwo and no debug bundle completes it")
    })?;
    // Fails unless the file is the stripped object this bundle pairs with.
    let whole = splitdwarf::unbundle(&current, bundle).map_err(io::Error::other)?;
    write_atomic_with(object, Durability::Synced, |f| {
        f.write_all(&whole)?;
        f.set_permissions(md.permissions())?;
        f.set_modified(md.modified()?)?;
        // A compile that wrote the object meanwhile wins: nothing is renamed over it.
        match Stamp::of(object) {
            Ok(now) if now == before => Ok(()),
            _ => Err(io::Error::other(
                "changed while its debug part was put back",
            )),
        }
    })
}

/// Writes `bytes` at `place` unless it already holds them.
pub(super) fn place_file(place: &Path, bytes: &[u8]) -> io::Result<()> {
    if std::fs::read(place).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(dir) = place.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_atomic(place, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(version: u16) -> Vec<SkeletonUnit> {
        vec![SkeletonUnit {
            dwo_id: DwoId(1),
            name: "a.dwo".into(),
            comp_dir: None,
            version,
        }]
    }

    #[test]
    fn layout_per_debugger_and_dwarf_version() {
        assert_eq!(choose(Debugger::Gdb, &units(4)), Layout::Package);
        assert_eq!(choose(Debugger::Gdb, &units(5)), Layout::Loose);
        assert_eq!(choose(Debugger::Any, &units(5)), Layout::Loose);
        assert_eq!(choose(Debugger::Lldb, &units(5)), Layout::Package);
        assert_eq!(choose(Debugger::Lldb, &units(4)), Layout::Package);
    }

    #[test]
    fn removing_a_package_takes_what_killed_writes_left() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("app");
        std::fs::write(package_path(&bin), b"old").unwrap();
        std::fs::write(dir.path().join(".app.dwp.cn-tmp.1.0.0"), b"torn").unwrap();
        std::fs::write(dir.path().join(".other.dwp.cn-tmp.1.0.0"), b"not ours").unwrap();
        remove_package(&bin).unwrap();
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec![".other.dwp.cn-tmp.1.0.0".to_string()]);
        remove_package(&bin).unwrap();
    }
}
