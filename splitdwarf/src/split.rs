//! `split`: one clang `-gsplit-dwarf=single` object into a skeleton object and a `.dwo`;
//! `pair`: check that GCC's two files (`.o` + `.dwo`) belong together.
//!
//! The two outputs are what `objcopy --strip-dwo` and `objcopy --extract-dwo` produce, section
//! by section: the same kept sections with the same bytes, flags and alignment, and a fresh
//! `.shstrtab`. Unlike objcopy, `.llvm_addrsig` stays valid (objcopy zeroes its `sh_link`,
//! which makes lld ignore it), and the skeleton and split unit ids are checked to agree.

use rayon::prelude::*;

use crate::elf::{Elf, Shdr};
use crate::error::{Error, Result};
use crate::ext::{self, Part};
use crate::rewrite::remove_sections;
use crate::DwoId;

/// The two halves of a split object.
#[derive(Debug)]
pub struct Split {
    /// The object without its `.dwo` sections (what the linker needs; skeleton units stay).
    pub object: Vec<u8>,
    /// A standalone `.dwo` file holding only the `.dwo` sections.
    pub dwo: Vec<u8>,
    /// The `dwo_id` of every split compilation unit, sorted (empty for an object without
    /// any debug information, whose `.dwo` then has no sections).
    pub dwo_ids: Vec<DwoId>,
}

/// Whether a section is a split-DWARF section (objcopy's rule: the name ends in `.dwo`).
pub(crate) fn is_dwo_section(s: &Shdr<'_>) -> bool {
    s.name.ends_with(b".dwo")
}

/// Splits one object compiled with `-gsplit-dwarf=single`.
pub fn split(object: &[u8]) -> Result<Split> {
    let elf = Elf::parse(object)?;
    let ids = if elf.sections.iter().any(is_dwo_section) {
        matching_ids(object, object)?
    } else if !elf.sections.iter().any(|s| s.name == b".debug_info") {
        // No debug information at all (an empty translation unit): nothing to split out,
        // and the `.dwo` is an ELF file without sections, as objcopy writes it.
        Vec::new()
    } else {
        // Debug information but no `.dwo` sections: GCC's two-file output (see `pair`) or
        // not split DWARF at all.
        return Err(Error::NoDwoSections);
    };
    let stripped = remove_sections(&elf, is_dwo_section)?;
    let dwo = remove_sections(&elf, |s| !is_dwo_section(s))?;
    Ok(Split {
        object: stripped,
        dwo,
        dwo_ids: ids,
    })
}

/// Splits many objects in parallel; results are in input order.
pub fn split_all(objects: &[&[u8]]) -> Vec<Result<Split>> {
    objects.par_iter().map(|o| split(o)).collect()
}

/// Checks that GCC's `object` and `dwo` belong together (same machine, same `dwo_id`s).
pub fn pair(object: &[u8], dwo: &[u8]) -> Result<Vec<DwoId>> {
    let (_, _, m1) = Elf::ident(object)?;
    let (_, _, m2) = Elf::ident(dwo)?;
    if m1 != m2 {
        return Err(Error::WrongMachine {
            expected: m1,
            found: m2,
        });
    }
    matching_ids(object, dwo)
}

/// Skeleton ids of `object` and split ids of `dwo`, required equal and non-empty.
fn matching_ids(object: &[u8], dwo: &[u8]) -> Result<Vec<DwoId>> {
    let skel = ext::ids(&ext::units(&object::File::parse(object)?, Part::Skeleton)?);
    let split = ext::ids(&ext::units(&object::File::parse(dwo)?, Part::Split)?);
    if skel.is_empty() {
        return Err(Error::NoSkeleton);
    }
    if skel != split {
        return Err(Error::DwoIdMismatch {
            object: skel,
            dwo: split,
        });
    }
    Ok(skel)
}
