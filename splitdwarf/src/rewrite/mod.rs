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

use crate::elf::{consts::*, symbols, Elf, Layout, Shdr};
use crate::error::{Error, Result};

/// Largest section alignment we honour when laying out the output (larger is hostile input).
const MAX_ALIGN: u64 = 1 << 24;

/// `SHF_GROUP`: the section is a member of a section group.
const SHF_GROUP: u64 = 0x200;

/// Writes `elf` without the sections for which `remove` returns true.
pub(crate) fn remove_sections(
    elf: &Elf<'_>,
    remove: impl Fn(&Shdr<'_>) -> bool,
) -> Result<Vec<u8>> {
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
    // Groups: drop removed members; a group left empty goes too.
    let mut group_members: Vec<Option<Vec<u32>>> = vec![None; n];
    for (i, s) in secs.iter().enumerate() {
        if s.sh_type == SHT_GROUP && !removed[i] {
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
    }
    let mut in_group = vec![false; n];
    for m in group_members.iter().flatten().flatten() {
        in_group[*m as usize] = true;
    }

    let mut new_index = vec![u32::MAX; n];
    let mut next = 0u32;
    for i in 0..n {
        if !removed[i] {
            new_index[i] = next;
            next += 1;
        }
    }
    let map_sec = |old: u32, by: &dyn Fn() -> String| -> Result<u32> {
        match new_index.get(old as usize) {
            Some(&v) if v != u32::MAX => Ok(v),
            Some(_) => Err(Error::StillReferenced {
                removed: secs[old as usize].display_name(old as usize),
                by: by(),
            }),
            None => Err(Error::malformed(
                "section index",
                format!("{old} out of range in {}", by()),
            )),
        }
    };

    let syms = SymbolMap::build(elf, &removed)?;
    let l = elf.layout;

    // New contents for the sections whose bytes change.
    let mut contents: Vec<Option<Vec<u8>>> = vec![None; n];
    for (i, s) in secs.iter().enumerate() {
        if removed[i] {
            continue;
        }
        let by = || s.display_name(i);
        contents[i] = match s.sh_type {
            SHT_SYMTAB if Some(i) == syms.symtab => Some(syms.rewrite_symtab(elf, &new_index)?),
            SHT_SYMTAB_SHNDX if Some(s.link as usize) == syms.symtab => {
                Some(syms.rewrite_shndx(elf, i, &new_index)?)
            }
            SHT_REL | SHT_RELA if Some(s.link as usize) == syms.symtab && !syms.identity => {
                Some(syms.rewrite_relocs(elf, i, s.sh_type == SHT_RELA)?)
            }
            SHT_GROUP => {
                let mut out = Vec::new();
                l.put_u32(&mut out, l.u32(elf.section_data(i)?, 0).unwrap_or(0));
                for &m in group_members[i].as_deref().unwrap_or(&[]) {
                    l.put_u32(&mut out, map_sec(m, &by)?);
                }
                Some(out)
            }
            SHT_LLVM_ADDRSIG if Some(s.link as usize) == syms.symtab && !syms.identity => {
                Some(syms.rewrite_addrsig(elf.section_data(i)?, &by)?)
            }
            _ => None,
        };
    }

    // Section-name table, appended as the last section.
    let mut shstrtab = vec![0u8];
    let mut name_off = vec![0u32; n];
    for (i, s) in secs.iter().enumerate() {
        if !removed[i] && i != 0 {
            name_off[i] = shstrtab.len() as u32;
            shstrtab.extend_from_slice(s.name);
            shstrtab.push(0);
        }
    }
    let shstr_name = shstrtab.len() as u32;
    shstrtab.extend_from_slice(b".shstrtab\0");

    // Layout: header, kept sections in their original file order, .shstrtab, header table.
    let mut order: Vec<usize> = (1..n).filter(|&i| !removed[i]).collect();
    order.sort_by_key(|&i| (secs[i].offset, i));
    let mut out = elf.data[..l.ehdr_size()].to_vec();
    let mut offsets = vec![0u64; n];
    let mut sizes = vec![0u64; n];
    for &i in &order {
        let s = &secs[i];
        let align = s.addralign.max(1);
        if align > MAX_ALIGN {
            return Err(Error::malformed(
                "section alignment",
                format!("{}: {align}", s.display_name(i)),
            ));
        }
        pad_to(&mut out, align);
        offsets[i] = out.len() as u64;
        match &contents[i] {
            Some(c) => {
                sizes[i] = c.len() as u64;
                out.extend_from_slice(c);
            }
            None => {
                sizes[i] = s.size;
                out.extend_from_slice(elf.section_data(i)?);
            }
        }
    }
    let shstr_off = out.len() as u64;
    out.extend_from_slice(&shstrtab);
    pad_to(&mut out, if l.is64 { 8 } else { 4 });
    let shoff = out.len() as u64;

    let count = next as u64 + 1; // kept sections plus the new .shstrtab
    let shstrndx = next as u64;
    for i in (0..n).filter(|&i| !removed[i]) {
        let s = &secs[i];
        let by = || s.display_name(i);
        let mut h = s.clone();
        if i == 0 {
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
            write_shdr(l, &mut out, &h, 0)?;
            continue;
        }
        h.offset = offsets[i];
        h.size = sizes[i];
        if h.link != 0 {
            h.link = map_sec(h.link, &by)?;
        }
        if (is_rel(s) || s.flags & SHF_INFO_LINK != 0) && s.info != 0 {
            h.info = map_sec(s.info, &by)?;
        } else if Some(i) == syms.symtab {
            h.info = syms.new_locals;
        } else if s.sh_type == SHT_GROUP && Some(s.link as usize) == syms.symtab {
            h.info = syms.map(s.info, &by)?;
        }
        if h.flags & SHF_GROUP != 0 && !in_group[i] {
            h.flags &= !SHF_GROUP;
        }
        write_shdr(l, &mut out, &h, name_off[i])?;
    }
    let sh = Shdr {
        name: b".shstrtab",
        name_off: shstr_name,
        sh_type: 3, // SHT_STRTAB
        flags: 0,
        addr: 0,
        offset: shstr_off,
        size: shstrtab.len() as u64,
        link: 0,
        info: 0,
        addralign: 1,
        entsize: 0,
    };
    write_shdr(l, &mut out, &sh, shstr_name)?;

    // Patch the ELF header: e_shoff, e_shnum, e_shstrndx.
    check_fits(l, shoff)?;
    let (shoff_at, shnum_at) = if l.is64 { (40, 60) } else { (32, 48) };
    l.set_word(&mut out, shoff_at, shoff);
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
    set_u16(l, &mut out, shnum_at, shnum);
    set_u16(l, &mut out, shnum_at + 2, strndx);
    Ok(out)
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

/// Which symbols survive and their new indices.
struct SymbolMap {
    symtab: Option<usize>,
    /// Old index to new index (`u32::MAX` = removed).
    new: Vec<u32>,
    /// Section in which each removed symbol was defined (for messages).
    home: Vec<u32>,
    raw_shndx: Vec<u16>,
    new_locals: u32,
    /// No symbol removed: relocations and addrsig stay as they are.
    identity: bool,
    section_names: Vec<String>,
}

impl SymbolMap {
    fn build(elf: &Elf<'_>, removed: &[bool]) -> Result<Self> {
        let section_names = elf
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| s.display_name(i))
            .collect();
        let mut tabs = elf
            .sections
            .iter()
            .enumerate()
            .filter(|(i, s)| s.sh_type == SHT_SYMTAB && !removed[*i]);
        let symtab = tabs.next().map(|(i, _)| i);
        if tabs.next().is_some() {
            return Err(Error::malformed("symbol table", "more than one SHT_SYMTAB"));
        }
        let empty = SymbolMap {
            symtab,
            new: vec![],
            home: vec![],
            raw_shndx: vec![],
            new_locals: 0,
            identity: true,
            section_names,
        };
        let Some(st) = symtab else { return Ok(empty) };
        let xindex = elf
            .sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.sh_type == SHT_SYMTAB_SHNDX && s.link as usize == st)
            .map(|(i, _)| elf.section_data(i))
            .transpose()?;
        let syms = symbols(elf, st, xindex)?;
        let locals = elf.sections[st].info as usize;
        if locals > syms.len() {
            return Err(Error::malformed(
                "symbol table",
                "sh_info beyond the symbols",
            ));
        }
        let mut m = SymbolMap {
            raw_shndx: syms.iter().map(|s| s.raw_shndx).collect(),
            ..empty
        };
        let mut next = 0u32;
        for (j, s) in syms.iter().enumerate() {
            let special = s.raw_shndx >= SHN_LORESERVE && s.raw_shndx != SHN_XINDEX;
            let gone = !special && s.shndx != 0 && removed[s.shndx as usize];
            if gone && j == 0 {
                return Err(Error::malformed(
                    "symbol table",
                    "symbol 0 is not the null symbol",
                ));
            }
            if gone {
                m.new.push(u32::MAX);
                m.identity = false;
            } else {
                m.new.push(next);
                next += 1;
                if j < locals {
                    m.new_locals += 1;
                }
            }
            m.home.push(s.shndx);
        }
        Ok(m)
    }

    fn map(&self, old: u32, by: &dyn Fn() -> String) -> Result<u32> {
        match self.new.get(old as usize) {
            Some(&v) if v != u32::MAX => Ok(v),
            Some(_) => {
                let home = self.home[old as usize] as usize;
                Err(Error::StillReferenced {
                    removed: self.section_names[home].clone(),
                    by: format!("{} (symbol {old})", by()),
                })
            }
            None => Err(Error::malformed(
                "symbol index",
                format!("{old} out of range in {}", by()),
            )),
        }
    }

    fn rewrite_symtab(&self, elf: &Elf<'_>, new_index: &[u32]) -> Result<Vec<u8>> {
        let l = elf.layout;
        let st = self.symtab.unwrap_or(0);
        let d = elf.section_data(st)?;
        let sz = l.sym_size();
        let mut out = Vec::with_capacity(d.len());
        for (j, &nj) in self.new.iter().enumerate() {
            if nj == u32::MAX {
                continue;
            }
            let start = out.len();
            out.extend_from_slice(&d[j * sz..(j + 1) * sz]);
            let raw = self.raw_shndx[j];
            if raw != 0 && raw < SHN_LORESERVE {
                let v = new_index[raw as usize] as u16;
                set_u16(l, &mut out, start + if l.is64 { 6 } else { 14 }, v);
            }
        }
        Ok(out)
    }

    fn rewrite_shndx(&self, elf: &Elf<'_>, i: usize, new_index: &[u32]) -> Result<Vec<u8>> {
        let l = elf.layout;
        let d = elf.section_data(i)?;
        let mut out = Vec::with_capacity(d.len());
        for (j, &nj) in self.new.iter().enumerate() {
            if nj == u32::MAX {
                continue;
            }
            let v = if self.raw_shndx[j] == SHN_XINDEX {
                new_index[self.home[j] as usize]
            } else {
                0
            };
            l.put_u32(&mut out, v);
        }
        Ok(out)
    }

    fn rewrite_relocs(&self, elf: &Elf<'_>, i: usize, rela: bool) -> Result<Vec<u8>> {
        let l = elf.layout;
        let sz = l.rel_size(rela);
        let mut out = elf.table(i, sz)?.to_vec();
        let by = || elf.sections[i].display_name(i);
        let word = if l.is64 { 8 } else { 4 };
        for k in 0..out.len() / sz {
            let at = k * sz + word;
            let info = l.word(&out, at).unwrap_or(0);
            let sym = if l.is64 {
                (info >> 32) as u32
            } else {
                (info >> 8) as u32
            };
            let n = self.map(sym, &by)?;
            let v = if l.is64 {
                (u64::from(n) << 32) | (info & 0xffff_ffff)
            } else {
                (u64::from(n) << 8) | (info & 0xff)
            };
            if !l.is64 && n > 0x00ff_ffff {
                return Err(Error::malformed(
                    "relocation",
                    "symbol index too large for ELF32",
                ));
            }
            l.set_word(&mut out, at, v);
        }
        Ok(out)
    }

    fn rewrite_addrsig(&self, d: &[u8], by: &dyn Fn() -> String) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(d.len());
        let mut pos = 0;
        while pos < d.len() {
            let mut v: u64 = 0;
            let mut shift = 0;
            loop {
                let b = *d.get(pos).ok_or_else(|| {
                    Error::malformed(".llvm_addrsig", format!("truncated in {}", by()))
                })?;
                pos += 1;
                if shift < 64 {
                    v |= u64::from(b & 0x7f) << shift;
                }
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            let old =
                u32::try_from(v).map_err(|_| Error::malformed(".llvm_addrsig", "symbol index"))?;
            // An address-significance entry for a removed symbol is simply dropped.
            if let Some(&n) = self.new.get(old as usize) {
                if n != u32::MAX {
                    let mut n = u64::from(n);
                    loop {
                        let b = (n & 0x7f) as u8;
                        n >>= 7;
                        out.push(if n == 0 { b } else { b | 0x80 });
                        if n == 0 {
                            break;
                        }
                    }
                }
            } else {
                return Err(Error::malformed(
                    ".llvm_addrsig",
                    format!("symbol {old} out of range"),
                ));
            }
        }
        Ok(out)
    }
}
