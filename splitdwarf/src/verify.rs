//! `verify`: which skeleton units a linked binary has, and which of them a `.dwp` lacks.
//!
//! A package "has" a unit when its `.debug_cu_index` maps the unit's `dwo_id` to a row with a
//! `.debug_info.dwo` contribution (DESIGN §6: a partial package hides everything from gdb, so
//! the fill must know).

use gimli::{IndexSectionId, RunTimeEndian};
use object::Object;

use crate::error::{Error, Result};
use crate::ext::{self, Part};
use crate::DwoId;

/// One skeleton unit of a linked binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkeletonUnit {
    /// Id of the split unit it expects.
    pub dwo_id: DwoId,
    /// `DW_AT_dwo_name` (or the GNU attribute), empty if absent.
    pub name: String,
    /// `DW_AT_comp_dir`, if present.
    pub comp_dir: Option<String>,
    /// The unit's DWARF version (4: GNU split DWARF, 5: standard).
    pub version: u16,
}

/// Result of checking a package against a binary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Every skeleton unit of the binary, in `.debug_info` order.
    pub skeletons: Vec<SkeletonUnit>,
    /// The skeletons whose split unit the package lacks.
    pub missing: Vec<SkeletonUnit>,
    /// Number of compilation units in the package's index.
    pub package_units: u32,
}

/// Lists the skeleton units of a linked binary (or of any ELF file with skeletons).
pub fn skeleton_units(binary: &[u8]) -> Result<Vec<SkeletonUnit>> {
    Elf::parse_any(binary)?;
    let file = object::File::parse(binary)?;
    Ok(ext::units(&file, Part::Skeleton)?
        .into_iter()
        .map(|u| SkeletonUnit {
            dwo_id: u.dwo_id,
            name: u.name.unwrap_or_default(),
            comp_dir: u.comp_dir,
            version: u.version,
        })
        .collect())
}

/// The ids of the split units in a `.dwo` file (or an object with `.dwo` sections).
pub fn split_unit_ids(dwo: &[u8]) -> Result<Vec<DwoId>> {
    Elf::parse_any(dwo)?;
    let file = object::File::parse(dwo)?;
    Ok(ext::ids(&ext::units(&file, Part::Split)?))
}

/// Checks that `dwp` holds a split unit for every skeleton unit of `binary`.
pub fn verify(binary: &[u8], dwp: &[u8]) -> Result<Coverage> {
    let skeletons = skeleton_units(binary)?;
    Elf::parse_any(dwp)?;
    let file = object::File::parse(dwp)?;
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let section = file
        .section_by_name(".debug_cu_index")
        .ok_or(Error::NoCuIndex)?;
    let data = crate::ext::uncompressed(&section)?;
    let index = gimli::DebugCuIndex::new(&data, endian).index()?;
    let mut missing = Vec::new();
    for s in &skeletons {
        let present = match index.find(s.dwo_id.0) {
            Some(row) => index
                .sections(row)?
                .any(|c| c.section == IndexSectionId::DebugInfo),
            None => false,
        };
        if !present {
            missing.push(s.clone());
        }
    }
    Ok(Coverage {
        package_units: index.unit_count(),
        skeletons,
        missing,
    })
}

use crate::elf::Elf;
