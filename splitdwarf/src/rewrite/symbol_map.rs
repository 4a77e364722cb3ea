//! Which symbols of an object survive the removal of sections, their new indices, and the
//! tables that name symbols (the symbol table, its section indices, relocations, LLVM's
//! address-significance table) rewritten with them.

use super::set_u16;
use crate::elf::{consts::*, symbols, Elf};
use crate::error::{Error, Result};

/// Which symbols survive and their new indices.
pub(super) struct SymbolMap {
    pub(super) symtab: Option<usize>,
    /// Old index to new index (`u32::MAX` = removed).
    new: Vec<u32>,
    /// Section in which each removed symbol was defined (for messages).
    home: Vec<u32>,
    raw_shndx: Vec<u16>,
    pub(super) new_locals: u32,
    /// No symbol removed: relocations and addrsig stay as they are.
    pub(super) identity: bool,
    section_names: Vec<String>,
}

impl SymbolMap {
    pub(super) fn build(elf: &Elf<'_>, removed: &[bool]) -> Result<Self> {
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

    pub(super) fn map(&self, old: u32, by: &dyn Fn() -> String) -> Result<u32> {
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

    pub(super) fn rewrite_symtab(&self, elf: &Elf<'_>, new_index: &[u32]) -> Result<Vec<u8>> {
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

    pub(super) fn rewrite_shndx(
        &self,
        elf: &Elf<'_>,
        i: usize,
        new_index: &[u32],
    ) -> Result<Vec<u8>> {
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

    pub(super) fn rewrite_relocs(&self, elf: &Elf<'_>, i: usize, rela: bool) -> Result<Vec<u8>> {
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

    pub(super) fn rewrite_addrsig(&self, d: &[u8], by: &dyn Fn() -> String) -> Result<Vec<u8>> {
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
