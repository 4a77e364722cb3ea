//! A small, strict reader for ELF relocatable objects: header, section table, symbols.
//!
//! We read the raw structures ourselves instead of going through `object`'s generic
//! `FileHeader` traits because [`crate::rewrite`] must write the very same structures back with
//! a few fields changed; one class/endianness-aware reader and writer pair keeps that simple.
//! Everything is bounds-checked here once, so later stages index without surprises.

use crate::error::{Error, Result};

/// `SHT_*` and friends, from the ELF gABI and LLVM's extensions.
pub(crate) mod consts {
    pub const SHT_SYMTAB: u32 = 2;
    pub const SHT_RELA: u32 = 4;
    pub const SHT_NOBITS: u32 = 8;
    pub const SHT_REL: u32 = 9;
    pub const SHT_GROUP: u32 = 17;
    pub const SHT_SYMTAB_SHNDX: u32 = 18;
    pub const SHT_LLVM_ADDRSIG: u32 = 0x6fff_4c03;
    pub const SHF_INFO_LINK: u64 = 0x40;
    pub const SHF_COMPRESSED: u64 = 0x800;
    pub const ELFCOMPRESS_ZLIB: u32 = 1;
    pub const SHN_LORESERVE: u16 = 0xff00;
    pub const SHN_XINDEX: u16 = 0xffff;
    pub const ET_REL: u16 = 1;
}
use consts::*;

/// Most a zlib stream can expand (deflate's limit is about 1032:1).
const MAX_RATIO_ZLIB: u64 = 1032;
/// Most a zstd frame can expand (RLE blocks: about 32 768:1).
const MAX_RATIO_ZSTD: u64 = 32_768;

/// Class and byte order of one file; every field access goes through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// ELFCLASS64.
    pub is64: bool,
    /// ELFDATA2MSB.
    pub big: bool,
}

impl Layout {
    pub fn ehdr_size(self) -> usize {
        if self.is64 {
            64
        } else {
            52
        }
    }
    pub fn shdr_size(self) -> usize {
        if self.is64 {
            64
        } else {
            40
        }
    }
    pub fn sym_size(self) -> usize {
        if self.is64 {
            24
        } else {
            16
        }
    }
    pub fn rel_size(self, rela: bool) -> usize {
        match (self.is64, rela) {
            (true, false) => 16,
            (true, true) => 24,
            (false, false) => 8,
            (false, true) => 12,
        }
    }
    fn bytes<const N: usize>(data: &[u8], off: usize) -> Option<[u8; N]> {
        data.get(off..off.checked_add(N)?)?.try_into().ok()
    }
    pub fn u16(self, d: &[u8], off: usize) -> Option<u16> {
        let b = Self::bytes::<2>(d, off)?;
        Some(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
    pub fn u32(self, d: &[u8], off: usize) -> Option<u32> {
        let b = Self::bytes::<4>(d, off)?;
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    pub fn u64(self, d: &[u8], off: usize) -> Option<u64> {
        let b = Self::bytes::<8>(d, off)?;
        Some(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    /// A class-sized word (u32 in ELF32, u64 in ELF64).
    pub fn word(self, d: &[u8], off: usize) -> Option<u64> {
        if self.is64 {
            self.u64(d, off)
        } else {
            self.u32(d, off).map(u64::from)
        }
    }
    pub fn put_u32(self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    pub fn put_u64(self, out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
    /// Writes a class-sized word; in ELF32 the value must fit (callers check).
    pub fn put_word(self, out: &mut Vec<u8>, v: u64) {
        if self.is64 {
            self.put_u64(out, v)
        } else {
            self.put_u32(out, v as u32)
        }
    }
    /// Overwrites a u32 at `off` in `buf` (in bounds by construction).
    pub fn set_u32(self, buf: &mut [u8], off: usize, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        buf[off..off + 4].copy_from_slice(&b);
    }
    /// Overwrites a class-sized word at `off` in `buf`.
    pub fn set_word(self, buf: &mut [u8], off: usize, v: u64) {
        if self.is64 {
            let b = if self.big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            buf[off..off + 8].copy_from_slice(&b);
        } else {
            self.set_u32(buf, off, v as u32)
        }
    }
}

/// One section header, decoded.
#[derive(Clone, Debug)]
pub(crate) struct Shdr<'a> {
    pub name: &'a [u8],
    pub name_off: u32,
    pub sh_type: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub addralign: u64,
    pub entsize: u64,
}

impl Shdr<'_> {
    /// Printable name for messages.
    pub fn display_name(&self, index: usize) -> String {
        format!("[{index}] {}", String::from_utf8_lossy(self.name))
    }
    /// Whether section `index` (this one) occupies bytes in the file. Every type but
    /// `SHT_NOBITS` does, `SHT_NULL` included (object readers return its bytes); section 0's
    /// size field may hold the extended section count instead.
    pub fn has_file_bytes(&self, index: usize) -> bool {
        index != 0 && self.sh_type != SHT_NOBITS && self.size > 0
    }
}

/// A parsed and validated ELF relocatable object borrowing its bytes.
#[derive(Debug)]
pub(crate) struct Elf<'a> {
    pub data: &'a [u8],
    pub layout: Layout,
    pub shstrndx: usize,
    pub sections: Vec<Shdr<'a>>,
}

fn trunc(what: impl Into<String>) -> Error {
    Error::Truncated(what.into())
}

impl<'a> Elf<'a> {
    /// Parses the identification and header of any ELF file (no section table).
    pub fn ident(data: &[u8]) -> Result<(Layout, u16, u16)> {
        if data.len() < 16 || &data[..4] != b"\x7fELF" {
            return Err(Error::NotElf);
        }
        let is64 = match data[4] {
            1 => false,
            2 => true,
            _ => return Err(Error::BadIdent("EI_CLASS")),
        };
        let big = match data[5] {
            1 => false,
            2 => true,
            _ => return Err(Error::BadIdent("EI_DATA")),
        };
        if data[6] != 1 {
            return Err(Error::BadIdent("EI_VERSION"));
        }
        let l = Layout { is64, big };
        if data.len() < l.ehdr_size() {
            return Err(trunc("ELF header"));
        }
        let e_type = l.u16(data, 16).ok_or_else(|| trunc("ELF header"))?;
        let machine = l.u16(data, 18).ok_or_else(|| trunc("ELF header"))?;
        Ok((l, e_type, machine))
    }

    /// Parses and validates a relocatable object.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Self::parse_with(data, true)
    }

    /// Parses the section table of any ELF file (executables, packages) without the checks
    /// that only hold for objects we rewrite (type, program headers, overlaps).
    pub fn parse_any(data: &'a [u8]) -> Result<Self> {
        Self::parse_with(data, false)
    }

    fn parse_with(data: &'a [u8], strict: bool) -> Result<Self> {
        let (l, e_type, _machine) = Self::ident(data)?;
        if strict && e_type != ET_REL {
            return Err(Error::NotRelocatable(e_type));
        }
        let mut table = SectionTable::from_header(data, l, strict)?;
        let table_end = table.resolve_extended()?;
        let mut elf = Elf {
            data,
            layout: l,
            shstrndx: table.shstrndx as usize,
            sections: table.headers()?,
        };
        if strict {
            elf.check_overlaps(table.shoff, table_end)?;
        }
        elf.resolve_names()?;
        elf.check_compressed()?;
        Ok(elf)
    }

    /// Sets every section's name from the section name table.
    fn resolve_names(&mut self) -> Result<()> {
        let names = self.section_data(self.shstrndx)?;
        for (i, s) in self.sections.iter_mut().enumerate() {
            let start = s.name_off as usize;
            let rest = names.get(start..).ok_or_else(|| {
                Error::malformed("section name", format!("offset of section {i}"))
            })?;
            let len = rest.iter().position(|&b| b == 0).ok_or_else(|| {
                Error::malformed("section name", format!("section {i}: unterminated"))
            })?;
            s.name = &rest[..len];
        }
        Ok(())
    }

    /// Rejects compressed sections whose declared size is beyond what their compressed bytes
    /// can expand to, before `object` allocates that size (a fuzzer found 16 GiB requests).
    fn check_compressed(&self) -> Result<()> {
        let l = self.layout;
        for (i, s) in self.sections.iter().enumerate() {
            let d = self.section_data(i)?;
            let (kind, size) = if s.flags & SHF_COMPRESSED != 0 {
                let size = if l.is64 {
                    l.u64(d, 8)
                } else {
                    l.u32(d, 4).map(u64::from)
                };
                (l.u32(d, 0), size)
            } else if s.name.starts_with(b".zdebug") && d.starts_with(b"ZLIB") {
                let size = d
                    .get(4..12)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes);
                (Some(ELFCOMPRESS_ZLIB), size)
            } else {
                continue;
            };
            let ratio = match kind {
                Some(ELFCOMPRESS_ZLIB) => MAX_RATIO_ZLIB,
                _ => MAX_RATIO_ZSTD,
            };
            let limit = (d.len() as u64)
                .saturating_mul(ratio)
                .saturating_add(1 << 16);
            match size {
                Some(n) if n <= limit => {}
                _ => {
                    let what = format!("{}: declared size beyond its data", s.display_name(i));
                    return Err(Error::malformed("compressed section", what));
                }
            }
        }
        Ok(())
    }

    /// Rejects sections that overlap each other, the ELF header or the section table.
    fn check_overlaps(&self, shoff: u64, table_end: u64) -> Result<()> {
        let mut spans: Vec<(u64, u64, String)> = vec![
            (0, self.layout.ehdr_size() as u64, "ELF header".into()),
            (shoff, table_end, "section header table".into()),
        ];
        for (i, s) in self.sections.iter().enumerate() {
            if s.has_file_bytes(i) {
                spans.push((s.offset, s.offset + s.size, format!("[{i}]")));
            }
        }
        spans.sort_by_key(|s| (s.0, s.1));
        for w in spans.windows(2) {
            if w[1].0 < w[0].1 {
                return Err(Error::Overlap(w[0].2.clone(), w[1].2.clone()));
            }
        }
        Ok(())
    }

    /// The file bytes of section `i` (empty for `SHT_NOBITS`).
    pub fn section_data(&self, i: usize) -> Result<&'a [u8]> {
        let s = self
            .sections
            .get(i)
            .ok_or_else(|| Error::malformed("section index", i.to_string()))?;
        if !s.has_file_bytes(i) {
            return Ok(&[]);
        }
        // Bounds were checked in `parse`.
        Ok(&self.data[s.offset as usize..(s.offset + s.size) as usize])
    }

    /// Checks that a table section's size is a whole number of `entsize`-byte entries.
    pub fn table(&self, i: usize, entsize: usize) -> Result<&'a [u8]> {
        let d = self.section_data(i)?;
        if d.len() % entsize != 0 {
            let name = self.sections[i].display_name(i);
            return Err(Error::malformed(
                "table section",
                format!("{name}: size not a multiple of {entsize}"),
            ));
        }
        Ok(d)
    }
}

/// The section header table as the ELF header places it.
struct SectionTable<'a> {
    /// The whole file.
    data: &'a [u8],
    /// Its class and byte order.
    layout: Layout,
    /// `e_shoff`: where the table starts.
    shoff: u64,
    /// `e_shentsize`: the size of one header.
    shentsize: u64,
    /// `e_shnum`: the number of headers (0 in the ELF header when section 0 holds it).
    shnum: u64,
    /// `e_shstrndx`: the section name table (`SHN_XINDEX` when section 0 holds it).
    shstrndx: u64,
}

impl<'a> SectionTable<'a> {
    /// Reads the table's place from the ELF header (after [`Elf::ident`]).
    fn from_header(data: &'a [u8], l: Layout, strict: bool) -> Result<Self> {
        let h = |off32: usize, off64: usize, word: bool| -> Result<u64> {
            let off = if l.is64 { off64 } else { off32 };
            let v = if word {
                l.word(data, off)
            } else {
                l.u16(data, off).map(u64::from)
            };
            v.ok_or_else(|| trunc("ELF header"))
        };
        let phnum = h(44, 56, false)?;
        if strict && phnum != 0 {
            return Err(Error::malformed(
                "ELF header",
                "relocatable object with program headers",
            ));
        }
        let shoff = h(32, 40, true)?;
        let shentsize = h(46, 58, false)?;
        let shnum = h(48, 60, false)?;
        let shstrndx = h(50, 62, false)?;
        if shoff == 0 {
            return Err(Error::malformed("ELF header", "no section header table"));
        }
        if shentsize != l.shdr_size() as u64 {
            return Err(Error::malformed(
                "ELF header",
                format!("e_shentsize {shentsize}"),
            ));
        }
        Ok(SectionTable {
            data,
            layout: l,
            shoff,
            shentsize,
            shnum,
            shstrndx,
        })
    }

    /// Takes the counts section 0 holds for large files and checks the table lies in the
    /// file; returns the offset of its end.
    fn resolve_extended(&mut self) -> Result<u64> {
        let first = self.header(0)?;
        if self.shnum == 0 {
            self.shnum = first.size;
        }
        if self.shstrndx == u64::from(SHN_XINDEX) {
            self.shstrndx = u64::from(first.link);
        }
        let (shnum, shstrndx) = (self.shnum, self.shstrndx);
        let table_len = shnum
            .checked_mul(self.shentsize)
            .ok_or_else(|| trunc("section header table"))?;
        let table_end = self
            .shoff
            .checked_add(table_len)
            .ok_or_else(|| trunc("section header table"))?;
        if table_end > self.data.len() as u64 {
            return Err(trunc("section header table"));
        }
        if shstrndx >= shnum {
            return Err(Error::malformed(
                "ELF header",
                format!("e_shstrndx {shstrndx} >= {shnum}"),
            ));
        }
        Ok(table_end)
    }

    /// Decodes section header `i`, its name not yet resolved.
    fn header(&self, i: u64) -> Result<Shdr<'a>> {
        let (l, data) = (self.layout, self.data);
        let base = i
            .checked_mul(self.shentsize)
            .and_then(|o| o.checked_add(self.shoff))
            .and_then(|o| usize::try_from(o).ok())
            .ok_or_else(|| trunc("section header table"))?;
        let get = |o32: usize, o64: usize, word: bool| -> Result<u64> {
            let off = base.saturating_add(if l.is64 { o64 } else { o32 });
            let v = if word {
                l.word(data, off)
            } else {
                l.u32(data, off).map(u64::from)
            };
            v.ok_or_else(|| trunc(format!("section header {i}")))
        };
        Ok(Shdr {
            name: &[],
            name_off: get(0, 0, false)? as u32,
            sh_type: get(4, 4, false)? as u32,
            flags: get(8, 8, true)?,
            addr: get(12, 16, true)?,
            offset: get(16, 24, true)?,
            size: get(20, 32, true)?,
            link: get(24, 40, false)? as u32,
            info: get(28, 44, false)? as u32,
            addralign: get(32, 48, true)?,
            entsize: get(36, 56, true)?,
        })
    }

    /// Decodes every section header, checking that each section's bytes lie in the file.
    fn headers(&self) -> Result<Vec<Shdr<'a>>> {
        let mut sections = Vec::with_capacity(self.shnum as usize);
        for i in 0..self.shnum {
            let s = self.header(i)?;
            if s.has_file_bytes(i as usize) {
                let end = s.offset.checked_add(s.size);
                // Not `is_none_or`: that is newer than Rust 1.80.
                let in_file = end.is_some_and(|e| e <= self.data.len() as u64);
                if !in_file {
                    return Err(trunc(format!("section {i} contents")));
                }
            }
            sections.push(s);
        }
        Ok(sections)
    }
}

/// One symbol-table entry, decoded; `shndx` is already resolved through `SHT_SYMTAB_SHNDX`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sym {
    pub raw_shndx: u16,
    pub shndx: u32,
}

/// Reads the section index of every symbol in symbol table `symtab`.
pub(crate) fn symbols(elf: &Elf<'_>, symtab: usize, xindex: Option<&[u8]>) -> Result<Vec<Sym>> {
    let l = elf.layout;
    let d = elf.table(symtab, l.sym_size())?;
    let n = d.len() / l.sym_size();
    if let Some(x) = xindex {
        if x.len() < n * 4 {
            return Err(Error::malformed(
                "SHT_SYMTAB_SHNDX",
                "shorter than the symbol table",
            ));
        }
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let off = i * l.sym_size() + if l.is64 { 6 } else { 14 };
        let raw_shndx = l.u16(d, off).ok_or_else(|| trunc("symbol"))?;
        let shndx = if raw_shndx == SHN_XINDEX {
            let x = xindex
                .ok_or_else(|| Error::malformed("symbol", "SHN_XINDEX without SHT_SYMTAB_SHNDX"))?;
            l.u32(x, i * 4).ok_or_else(|| trunc("SHT_SYMTAB_SHNDX"))?
        } else {
            u32::from(raw_shndx)
        };
        let special = raw_shndx >= SHN_LORESERVE && raw_shndx != SHN_XINDEX;
        if !special && shndx as usize >= elf.sections.len() {
            return Err(Error::malformed(
                "symbol",
                format!("symbol {i} in section {shndx} (out of range)"),
            ));
        }
        out.push(Sym { raw_shndx, shndx });
    }
    Ok(out)
}
