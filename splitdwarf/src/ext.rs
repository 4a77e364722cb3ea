//! Glue over `object` and `gimli`: the [`DwoId`] newtype and reading unit ids out of objects.

use std::borrow::Cow;
use std::fmt;

use gimli::{AttributeValue, EndianSlice, RunTimeEndian, UnitType};
use object::{Object, ObjectSection};

use crate::error::Result;

/// The 64-bit id that ties a skeleton unit to its split unit (`DW_AT_GNU_dwo_id` in DWARF 4,
/// the unit header's `dwo_id` in DWARF 5). Prints as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DwoId(pub u64);

impl fmt::Display for DwoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for DwoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DwoId({:016x})", self.0)
    }
}

/// One compilation unit that refers to (skeleton) or is (split) a split-DWARF unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnitRef {
    pub dwo_id: DwoId,
    /// `DW_AT_dwo_name` / `DW_AT_GNU_dwo_name` (meaningful in linked files only).
    pub name: Option<String>,
    /// `DW_AT_comp_dir` (meaningful in linked files only).
    pub comp_dir: Option<String>,
    /// The unit header's DWARF version.
    pub version: u16,
}

/// Which sections to read units from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// `.debug_info` etc.: skeleton units.
    Skeleton,
    /// `.debug_info.dwo` etc.: split units.
    Split,
}

/// Reads the split-DWARF units of `file` (type units and ordinary units are skipped).
pub(crate) fn units(file: &object::File<'_>, part: Part) -> Result<Vec<UnitRef>> {
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<Cow<'_, [u8]>> {
        let name = match part {
            Part::Skeleton => Some(id.name()),
            Part::Split => id.dwo_name(),
        };
        match name.and_then(|n| file.section_by_name(n)) {
            Some(s) => uncompressed(&s),
            None => Ok(Cow::Borrowed(&[][..])),
        }
    };
    let owned = gimli::DwarfSections::load(load)?;
    let mut dwarf = owned.borrow(|s| EndianSlice::new(s, endian));
    if part == Part::Split {
        dwarf.file_type = gimli::DwarfFileType::Dwo;
    }
    let mut out = Vec::new();
    let mut headers = dwarf.units();
    while let Some(header) = headers.next()? {
        let from_header = match header.type_() {
            UnitType::Skeleton(id) | UnitType::SplitCompilation(id) => Some(DwoId(id.0)),
            UnitType::Compilation => None,
            _ => continue,
        };
        let version = header.version();
        let unit = dwarf.unit(header)?;
        let mut entries = unit.entries();
        let Some((_, root)) = entries.next_dfs()? else {
            continue;
        };
        let mut id = from_header;
        let mut name = None;
        let mut comp_dir = None;
        let mut attrs = root.attrs();
        while let Some(attr) = attrs.next()? {
            match attr.name() {
                gimli::DW_AT_GNU_dwo_id => {
                    id = match attr.value() {
                        AttributeValue::DwoId(d) => Some(DwoId(d.0)),
                        AttributeValue::Data8(v) | AttributeValue::Udata(v) => Some(DwoId(v)),
                        _ => id,
                    }
                }
                gimli::DW_AT_dwo_name | gimli::DW_AT_GNU_dwo_name => {
                    name = string(&dwarf, &unit, attr.value());
                }
                gimli::DW_AT_comp_dir => comp_dir = string(&dwarf, &unit, attr.value()),
                _ => {}
            }
        }
        if let Some(dwo_id) = id {
            out.push(UnitRef {
                dwo_id,
                name,
                comp_dir,
                version,
            });
        }
    }
    Ok(out)
}

fn string<R: gimli::Reader>(
    dwarf: &gimli::Dwarf<R>,
    unit: &gimli::Unit<R>,
    v: AttributeValue<R>,
) -> Option<String> {
    let s = dwarf.attr_string(unit, v).ok()?;
    Some(s.to_string_lossy().ok()?.into_owned())
}

/// Sorted, deduplicated ids of `units`.
pub(crate) fn ids(units: &[UnitRef]) -> Vec<DwoId> {
    let mut v: Vec<DwoId> = units.iter().map(|u| u.dwo_id).collect();
    v.sort();
    v.dedup();
    v
}

/// A section's bytes, decompressed when compressed; a compressed section that claims more
/// than [`MAX_INFLATION`] times its own size (and over 64 MiB) is malformed rather than
/// allocated (a hostile header may claim terabytes).
pub(crate) fn uncompressed<'d>(section: &impl ObjectSection<'d>) -> Result<Cow<'d, [u8]>> {
    let data = section.compressed_data()?;
    let limit = (data.data.len() as u64)
        .saturating_mul(MAX_INFLATION)
        .max(64 << 20);
    if data.format != object::CompressionFormat::None && data.uncompressed_size > limit {
        return Err(crate::Error::Malformed {
            what: "compressed section",
            detail: format!(
                "{} claims {} bytes from {}",
                section.name().unwrap_or("?"),
                data.uncompressed_size,
                data.data.len()
            ),
        });
    }
    Ok(data.decompress()?)
}

/// The most a compressed debug section is believed to expand (zlib's limit is about 1 032).
const MAX_INFLATION: u64 = 4096;
