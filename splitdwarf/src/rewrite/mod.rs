//! Removing sections from a relocatable object while keeping it linkable.
//!
//! This is the machinery under `split` and `strip`. Removing a section means: drop its header
//! and bytes, drop relocation sections that apply to it, drop symbols defined in it, renumber
//! the remaining sections and symbols everywhere they are referenced (section headers' `sh_link`
//! and `sh_info`, `st_shndx`, `SHT_SYMTAB_SHNDX`, relocations' symbol indices, `SHT_GROUP`
//! member lists and signature symbols, LLVM's `.llvm_addrsig`) and write a fresh `.shstrtab`
//! like `objcopy` does. Anything that would still point at a removed section is an error, not a
//! silently broken object. Kept sections keep their bytes, flags and alignment, so the linker
//! sees the same code and data (tests compare linked segments byte for byte).

mod symbol_map;

use crate::elf::{consts::*, Elf, Layout, Shdr};
use crate::error::{Error, Result};
use symbol_map::SymbolMap;

/// Largest section alignment we honour when laying out the output (larger is hostile input).
const MAX_ALIGN: u64 = 1 << 24;

/// `SHF_GROUP`: the section is a member of a section group.
const SHF_GROUP: u64 = 0x200;

/// Writes `elf` without the sections for which `remove` returns true.
pub(crate) fn remove_sections(
    elf: &Elf<'_>,
    remove: impl Fn(&Shdr<'_>) -> bool,
) -> Result<Vec<u8>> {
    let plan = Removal::plan(elf, remove)?;
    let syms = SymbolMap::build(elf, &plan.removed)?;
    let contents = plan.new_contents(&syms)?;
    let names = SectionNames::of(elf, &plan.removed);
    let l = elf.layout;
    // Layout: header, kept sections in their original file order, .shstrtab, header table.
    let mut out = elf.data[..l.ehdr_size()].to_vec();
    let placed = plan.place(&mut out, &contents)?;
    let shstr_off = out.len() as u64;
    out.extend_from_slice(&names.table);
    pad_to(&mut out, if l.is64 { 8 } else { 4 });
    let shoff = out.len() as u64;
    plan.write_headers(&mut out, &syms, &placed, &names)?;
    let sh = Shdr {
        name: b".shstrtab",
        name_off: names.own,
        sh_type: 3, // SHT_STRTAB
        flags: 0,
        addr: 0,
        offset: shstr_off,
        size: names.table.len() as u64,
        link: 0,
        info: 0,
        addralign: 1,
        entsize: 0,
    };
    write_shdr(l, &mut out, &sh, names.own)?;
    patch_ehdr(l, &mut out, shoff, plan.kept)?;
    Ok(out)
}

/// Which sections go, and the indices of those that stay.
struct Removal<'e, 'd> {
    elf: &'e Elf<'d>,
    /// Per old index: whether the section goes.
    removed: Vec<bool>,
    /// Per kept group: its members that stay.
    group_members: Vec<Option<Vec<u32>>>,
    /// Per old index: whether a kept group holds it.
    in_group: Vec<bool>,
    /// Old index to new index (`u32::MAX` = removed).
    new_index: Vec<u32>,
    /// How many sections stay (the null section included; the new `.shstrtab` is not).
    kept: u32,
}

impl<'e, 'd> Removal<'e, 'd> {
    /// The sections `remove` names, with the relocations that apply to them, the old name
    /// table and groups left empty.
    fn plan(elf: &'e Elf<'d>, remove: impl Fn(&Shdr<'_>) -> bool) -> Result<Self> {
        let n = elf.sections.len();
        let secs = &elf.sections;
        let mut removed: Vec<bool> = secs
            .iter()
            .enumerate()
            .map(|(i, s)| i != 0 && remove(s))
            .collect();
        // Relocation sections follow their target; the old section-name table is replaced.
        for (i, s) in secs.iter().enumerate() {
            if is_rel(s) && s.info != 0 && removed.get(s.info as usize).copied().unwrap_or(false) {
                removed[i] = true;
            }
        }
        let linked = |t: usize, removed: &[bool]| {
            secs.iter()
                .enumerate()
                .any(|(i, s)| !removed[i] && i != t && s.link as usize == t)
        };
        if elf.shstrndx != 0 && !linked(elf.shstrndx, &removed) {
            removed[elf.shstrndx] = true;
        }
        let group_members = kept_group_members(elf, &mut removed)?;
        let mut in_group = vec![false; n];
        for m in group_members.iter().flatten().flatten() {
            in_group[*m as usize] = true;
        }
        let mut new_index = vec![u32::MAX; n];
        let mut kept = 0u32;
        for i in 0..n {
            if !removed[i] {
                new_index[i] = kept;
                kept += 1;
            }
        }
        Ok(Removal {
            elf,
            removed,
            group_members,
            in_group,
            new_index,
            kept,
        })
    }

    /// The new index of section `old`, referenced by what `by` names; an error when it goes.
    fn map_sec(&self, old: u32, by: &dyn Fn() -> String) -> Result<u32> {
        match self.new_index.get(old as usize) {
            Some(&v) if v != u32::MAX => Ok(v),
            Some(_) => Err(Error::StillReferenced {
                removed: self.elf.sections[old as usize].display_name(old as usize),
                by: by(),
            }),
            None => Err(Error::malformed(
                "section index",
                format!("{old} out of range in {}", by()),
            )),
        }
    }

    /// New contents for the kept sections whose bytes change (symbols, their indices,
    /// relocations, groups, address-significance tables); `None` for the others.
    fn new_contents(&self, syms: &SymbolMap) -> Result<Vec<Option<Vec<u8>>>> {
        let (elf, l) = (self.elf, self.elf.layout);
        let mut contents: Vec<Option<Vec<u8>>> = vec![None; elf.sections.len()];
        for (i, s) in elf.sections.iter().enumerate() {
            if self.removed[i] {
                continue;
            }
            let by = || s.display_name(i);
            contents[i] = match s.sh_type {
                SHT_SYMTAB if Some(i) == syms.symtab => {
                    Some(syms.rewrite_symtab(elf, &self.new_index)?)
                }
                SHT_SYMTAB_SHNDX if Some(s.link as usize) == syms.symtab => {
                    Some(syms.rewrite_shndx(elf, i, &self.new_index)?)
                }
                SHT_REL | SHT_RELA if Some(s.link as usize) == syms.symtab && !syms.identity => {
                    Some(syms.rewrite_relocs(elf, i, s.sh_type == SHT_RELA)?)
                }
                SHT_GROUP => {
                    let mut out = Vec::new();
                    l.put_u32(&mut out, l.u32(elf.section_data(i)?, 0).unwrap_or(0));
                    for &m in self.group_members[i].as_deref().unwrap_or(&[]) {
                        l.put_u32(&mut out, self.map_sec(m, &by)?);
                    }
                    Some(out)
                }
                SHT_LLVM_ADDRSIG if Some(s.link as usize) == syms.symtab && !syms.identity => {
                    Some(syms.rewrite_addrsig(elf.section_data(i)?, &by)?)
                }
                _ => None,
            };
        }
        Ok(contents)
    }

    /// Appends the kept sections' bytes to `out` in their original file order, each aligned
    /// as before; where each went.
    fn place(&self, out: &mut Vec<u8>, contents: &[Option<Vec<u8>>]) -> Result<Placed> {
        let secs = &self.elf.sections;
        let n = secs.len();
        let mut order: Vec<usize> = (1..n).filter(|&i| !self.removed[i]).collect();
        order.sort_by_key(|&i| (secs[i].offset, i));
        let mut placed = Placed {
            offsets: vec![0; n],
            sizes: vec![0; n],
        };
        for &i in &order {
            let s = &secs[i];
            let align = s.addralign.max(1);
            if align > MAX_ALIGN {
                return Err(Error::malformed(
                    "section alignment",
                    format!("{}: {align}", s.display_name(i)),
                ));
            }
            pad_to(out, align);
            placed.offsets[i] = out.len() as u64;
            let (bytes, size) = match &contents[i] {
                Some(c) => (c.as_slice(), c.len() as u64),
                None => (self.elf.section_data(i)?, s.size),
            };
            placed.sizes[i] = size;
            out.extend_from_slice(bytes);
        }
        Ok(placed)
    }

    /// Appends the kept sections' headers, their links, infos and flags renumbered (the new
    /// `.shstrtab`'s header is the caller's).
    fn write_headers(
        &self,
        out: &mut Vec<u8>,
        syms: &SymbolMap,
        placed: &Placed,
        names: &SectionNames,
    ) -> Result<()> {
        let l = self.elf.layout;
        let count = u64::from(self.kept) + 1; // kept sections plus the new .shstrtab
        let shstrndx = u64::from(self.kept);
        for (i, s) in self.elf.sections.iter().enumerate() {
            if self.removed[i] {
                continue;
            }
            let by = || s.display_name(i);
            let mut h = s.clone();
            if i == 0 {
                // Counts past SHN_LORESERVE live in the null section's header.
                h.size = if count >= u64::from(SHN_LORESERVE) {
                    count
                } else {
                    0
                };
                h.link = if shstrndx >= u64::from(SHN_LORESERVE) {
                    shstrndx as u32
                } else {
                    0
                };
                write_shdr(l, out, &h, 0)?;
                continue;
            }
            h.offset = placed.offsets[i];
            h.size = placed.sizes[i];
            if h.link != 0 {
                h.link = self.map_sec(h.link, &by)?;
            }
            if (is_rel(s) || s.flags & SHF_INFO_LINK != 0) && s.info != 0 {
                h.info = self.map_sec(s.info, &by)?;
            } else if Some(i) == syms.symtab {
                h.info = syms.new_locals;
            } else if s.sh_type == SHT_GROUP && Some(s.link as usize) == syms.symtab {
                h.info = syms.map(s.info, &by)?;
            }
            if h.flags & SHF_GROUP != 0 && !self.in_group[i] {
                h.flags &= !SHF_GROUP;
            }
            write_shdr(l, out, &h, names.offsets[i])?;
        }
        Ok(())
    }
}

/// Per kept section group (by old index): its members that stay. A group whose members all
/// go is marked in `removed` too.
fn kept_group_members(elf: &Elf<'_>, removed: &mut [bool]) -> Result<Vec<Option<Vec<u32>>>> {
    let n = elf.sections.len();
    let mut group_members: Vec<Option<Vec<u32>>> = vec![None; n];
    for (i, s) in elf.sections.iter().enumerate() {
        if s.sh_type != SHT_GROUP || removed[i] {
            continue;
        }
        let d = elf.table(i, 4)?;
        let mut kept = Vec::new();
        for w in 1..d.len() / 4 {
            let m = elf.layout.u32(d, w * 4).unwrap_or(0);
            if m as usize >= n || m == 0 {
                return Err(Error::malformed(
                    "section group",
                    format!("{}: member {m}", s.display_name(i)),
                ));
            }
            if !removed[m as usize] {
                kept.push(m);
            }
        }
        if kept.is_empty() {
            removed[i] = true;
        } else {
            group_members[i] = Some(kept);
        }
    }
    Ok(group_members)
}

/// Where each kept section's bytes went in the output (by old index).
struct Placed {
    offsets: Vec<u64>,
    sizes: Vec<u64>,
}

/// The new section-name table: the kept sections' names, then its own.
struct SectionNames {
    table: Vec<u8>,
    /// Per old index: the name's offset in `table`.
    offsets: Vec<u32>,
    /// The offset of `.shstrtab` itself.
    own: u32,
}

impl SectionNames {
    /// The names of `elf`'s sections not `removed`.
    fn of(elf: &Elf<'_>, removed: &[bool]) -> Self {
        let mut table = vec![0u8];
        let mut offsets = vec![0u32; elf.sections.len()];
        for (i, s) in elf.sections.iter().enumerate() {
            if !removed[i] && i != 0 {
                offsets[i] = table.len() as u32;
                table.extend_from_slice(s.name);
                table.push(0);
            }
        }
        let own = table.len() as u32;
        table.extend_from_slice(b".shstrtab\0");
        SectionNames {
            table,
            offsets,
            own,
        }
    }
}

/// Sets the ELF header's `e_shoff` to `shoff`, and `e_shnum` and `e_shstrndx` for `kept`
/// sections plus the new `.shstrtab` (escaped to the null section's header past
/// `SHN_LORESERVE`).
fn patch_ehdr(l: Layout, out: &mut [u8], shoff: u64, kept: u32) -> Result<()> {
    let count = u64::from(kept) + 1;
    let shstrndx = u64::from(kept);
    check_fits(l, shoff)?;
    let (shoff_at, shnum_at) = if l.is64 { (40, 60) } else { (32, 48) };
    l.set_word(out, shoff_at, shoff);
    let shnum = if count >= u64::from(SHN_LORESERVE) {
        0
    } else {
        count as u16
    };
    let strndx = if shstrndx >= u64::from(SHN_LORESERVE) {
        SHN_XINDEX
    } else {
        shstrndx as u16
    };
    set_u16(l, out, shnum_at, shnum);
    set_u16(l, out, shnum_at + 2, strndx);
    Ok(())
}

fn is_rel(s: &Shdr<'_>) -> bool {
    s.sh_type == SHT_REL || s.sh_type == SHT_RELA
}

fn pad_to(out: &mut Vec<u8>, align: u64) {
    let rem = out.len() as u64 % align;
    if rem != 0 {
        out.resize(out.len() + (align - rem) as usize, 0);
    }
}

fn set_u16(l: Layout, buf: &mut [u8], off: usize, v: u16) {
    let b = if l.big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    };
    buf[off..off + 2].copy_from_slice(&b);
}

fn check_fits(l: Layout, v: u64) -> Result<()> {
    if !l.is64 && v > u64::from(u32::MAX) {
        return Err(Error::malformed("ELF32 output", "larger than 4 GiB"));
    }
    Ok(())
}

fn write_shdr(l: Layout, out: &mut Vec<u8>, h: &Shdr<'_>, name: u32) -> Result<()> {
    for v in [h.flags, h.addr, h.offset, h.size, h.addralign, h.entsize] {
        check_fits(l, v)?;
    }
    l.put_u32(out, name);
    l.put_u32(out, h.sh_type);
    l.put_word(out, h.flags);
    l.put_word(out, h.addr);
    l.put_word(out, h.offset);
    l.put_word(out, h.size);
    l.put_u32(out, h.link);
    l.put_u32(out, h.info);
    l.put_word(out, h.addralign);
    l.put_word(out, h.entsize);
    Ok(())
}
