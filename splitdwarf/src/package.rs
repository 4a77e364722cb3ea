//! `package`: a `.dwp` from `.dwo` files, objects with `.dwo` sections, or debug bundles.
//!
//! Built on thorin-dwp (DWARF 4 GNU split DWARF and DWARF 5 packages). thorin reads through
//! a [`thorin::Session`], which we implement over caller-supplied bytes: the library never
//! opens a file. Inputs are decoded and checked in parallel (bundles decompressed, machines
//! compared) before thorin merges them in order, single-threaded (measured: merging partial
//! packages built in parallel costs 80% of a full run, see BENCHMARKS.md "splitdwarf").
//!
//! thorin may panic on hostile input. The inputs it was seen to panic or over-allocate on
//! while fuzzing are rejected beforehand (`check_input`, and the compressed-size check of
//! `Elf::parse_any`); any other panic is caught and reported as [`Error::PackagePanic`], so
//! callers only see errors. The package is streamed to the caller's writer
//! ([`package_to`]) rather than held twice in memory.

use std::collections::HashMap;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use typed_arena::Arena;

use crate::bundle::{bundle_dwo, is_bundle};
use crate::elf::consts::{SHF_COMPRESSED, SHT_NOBITS};
use crate::elf::Elf;
use crate::error::{Error, Result};

/// One input to [`package`].
#[derive(Clone, Copy, Debug)]
pub struct PackageInput<'a> {
    /// Name used in messages (usually the path).
    pub name: &'a str,
    /// A `.dwo` file, an object with `.dwo` sections, or a [`mod@crate::bundle`] of kind `Dwo`.
    pub data: &'a [u8],
}

/// What to package.
#[derive(Clone, Copy, Debug, Default)]
pub struct PackageRequest<'a> {
    /// The split-DWARF inputs, in the order their units go into the package.
    pub inputs: &'a [PackageInput<'a>],
    /// If given, every skeleton unit of this linked binary must be covered by the inputs.
    pub executable: Option<&'a [u8]>,
}

/// Builds the bytes of a `.dwp` file.
pub fn package(req: &PackageRequest<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    package_to(req, &mut out)?;
    Ok(out)
}

/// Builds a `.dwp` file and streams it to `out` (the caller's file, buffered), which saves
/// holding a second copy of a package of hundreds of megabytes in memory.
pub fn package_to(req: &PackageRequest<'_>, out: &mut dyn io::Write) -> Result<()> {
    let decoded: Vec<Result<Option<Vec<u8>>>> = req
        .inputs
        .par_iter()
        .map(|i| {
            let data = if is_bundle(i.data) {
                let dwo = bundle_dwo(i.data)?
                    .ok_or(Error::BadBundle("bundle holds no .dwo (kind debug)"))?;
                Some(dwo)
            } else {
                None
            };
            check_input(&Elf::parse_any(data.as_deref().unwrap_or(i.data))?)?;
            Ok(data)
        })
        .collect();
    let mut inputs: Vec<(&str, &[u8])> = Vec::with_capacity(decoded.len());
    let mut machine = None;
    for (input, d) in req.inputs.iter().zip(&decoded) {
        let data = match d {
            Ok(Some(owned)) => owned.as_slice(),
            Ok(None) => input.data,
            Err(e) => return Err(in_input(input.name, e)),
        };
        let (_, _, m) = Elf::ident(data).map_err(|e| in_input(input.name, &e))?;
        match machine {
            None => machine = Some(m),
            Some(first) if first != m => {
                return Err(in_input(
                    input.name,
                    &Error::WrongMachine {
                        expected: first,
                        found: m,
                    },
                ))
            }
            _ => {}
        }
        inputs.push((input.name, data));
    }
    if let Some(exe) = req.executable {
        Elf::parse_any(exe).map_err(|e| in_input("<executable>", &e))?;
    }
    catch_unwind(AssertUnwindSafe(|| {
        run_thorin(&inputs, req.executable, out)
    }))
    .unwrap_or_else(|_| Err(Error::PackagePanic("the inputs".into())))
}

/// Rejects inputs that thorin-dwp 0.9 would panic on rather than report (found by fuzzing):
/// split-DWARF sections without file bytes, and a DWARF 5 `.debug_str_offsets.dwo` too short
/// for its header.
fn check_input(elf: &Elf<'_>) -> Result<()> {
    let mut version = None;
    let mut str_offsets = None;
    for (i, s) in elf.sections.iter().enumerate() {
        if !s.name.ends_with(b".dwo") {
            continue;
        }
        if s.sh_type == SHT_NOBITS && s.size != 0 {
            let what = format!("{}: SHT_NOBITS split-DWARF section", s.display_name(i));
            return Err(Error::malformed("package input", what));
        }
        let compressed = s.flags & SHF_COMPRESSED != 0;
        let d = elf.section_data(i)?;
        match s.name {
            b".debug_info.dwo" if !compressed => {
                let l = elf.layout;
                version = match l.u32(d, 0) {
                    Some(0xffff_ffff) => l.u16(d, 12).map(|v| (v, 16)),
                    Some(_) => l.u16(d, 4).map(|v| (v, 8)),
                    None => None,
                };
            }
            b".debug_str_offsets.dwo" if !compressed => str_offsets = Some(d.len()),
            _ => {}
        }
    }
    if let (Some((v, header)), Some(len)) = (version, str_offsets) {
        if v >= 5 && len < header {
            let what = ".debug_str_offsets.dwo shorter than its DWARF 5 header";
            return Err(Error::malformed("package input", what));
        }
    }
    Ok(())
}

fn in_input(name: &str, e: &Error) -> Error {
    Error::Malformed {
        what: "package input",
        detail: format!("{name}: {e}"),
    }
}

const EXECUTABLE: &str = "\0executable";

fn run_thorin(
    inputs: &[(&str, &[u8])],
    executable: Option<&[u8]>,
    out: &mut dyn io::Write,
) -> Result<()> {
    let mut files = HashMap::new();
    for (i, (_, data)) in inputs.iter().enumerate() {
        files.insert(PathBuf::from(format!("\0input{i}")), *data);
    }
    if let Some(exe) = executable {
        files.insert(PathBuf::from(EXECUTABLE), exe);
    }
    let sess = Session {
        data: Arena::new(),
        relocations: Arena::new(),
        files,
    };
    let mut dwp = thorin::DwarfPackage::new(&sess);
    for (i, (name, _)) in inputs.iter().enumerate() {
        dwp.add_input_object(Path::new(&format!("\0input{i}")))
            .map_err(|source| Error::Package {
                input: (*name).to_string(),
                source,
            })?;
    }
    if executable.is_some() {
        dwp.add_executable(
            Path::new(EXECUTABLE),
            thorin::MissingReferencedObjectBehaviour::Skip,
        )
        .map_err(|source| Error::Package {
            input: "<executable>".into(),
            source,
        })?;
    }
    let obj = dwp.finish().map_err(|source| Error::Package {
        input: "<package>".into(),
        source,
    })?;
    let mut stream = object::write::StreamingBuffer::new(out);
    obj.emit(&mut stream).map_err(Error::WriteObject)?;
    stream.result().map_err(Error::Io)?;
    stream.into_inner().flush().map_err(Error::Io)
}

/// Caller-supplied bytes for thorin; allocations live in arenas as long as the session.
struct Session<'i, R> {
    data: Arena<Vec<u8>>,
    relocations: Arena<R>,
    files: HashMap<PathBuf, &'i [u8]>,
}

impl<'i, R> thorin::Session<R> for Session<'i, R> {
    fn alloc_data(&self, data: Vec<u8>) -> &[u8] {
        self.data.alloc(data)
    }

    fn alloc_relocation(&self, data: R) -> &R {
        self.relocations.alloc(data)
    }

    fn read_input<'s>(&'s self, path: &Path) -> io::Result<&'s [u8]> {
        self.files
            .get(path)
            .copied()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}
