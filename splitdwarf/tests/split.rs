//! `split` against `objcopy --strip-dwo` / `--extract-dwo` on real clang 14 objects, and
//! `pair` on GCC 12's two-file output.

mod common;

use std::collections::BTreeMap;

use common::*;
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionKind};

/// A comparable description of one section: what it is and what it says.
#[derive(Debug, PartialEq)]
struct SectionView {
    kind: SectionKind,
    flags: String,
    align: u64,
    /// Raw bytes, except for tables whose encoding depends on indices (compared below).
    data: Option<Vec<u8>>,
    relocs: Vec<(u64, String, i64)>,
}

fn view(bytes: &[u8]) -> BTreeMap<String, SectionView> {
    let file = object::File::parse(bytes).expect("parse ELF");
    let mut out = BTreeMap::new();
    for s in file.sections() {
        let name = s.name().unwrap().to_string();
        if matches!(
            name.as_str(),
            ".symtab" | ".strtab" | ".shstrtab" | ".llvm_addrsig"
        ) {
            continue;
        }
        let relocs = s
            .relocations()
            .map(|(off, r)| {
                let target = match r.target() {
                    RelocationTarget::Symbol(i) => {
                        let sym = file.symbol_by_index(i).unwrap();
                        match sym.section_index() {
                            Some(si) if sym.kind() == object::SymbolKind::Section => {
                                format!(
                                    "section {}",
                                    file.section_by_index(si).unwrap().name().unwrap()
                                )
                            }
                            _ => sym.name().unwrap().to_string(),
                        }
                    }
                    other => format!("{other:?}"),
                };
                (off, target, r.addend())
            })
            .collect();
        let mut flags = match s.flags() {
            object::SectionFlags::Elf { sh_flags } => sh_flags,
            _ => 0,
        };
        if name.starts_with(".rel") {
            // LLVM leaves SHF_INFO_LINK off grouped relocation sections and objcopy adds it;
            // it is implied for SHT_REL(A), and we keep the compiler's flags.
            flags &= !u64::from(object::elf::SHF_INFO_LINK);
        }
        let mut data = s.data().ok().map(<[u8]>::to_vec);
        let mut name = name;
        if name == ".group" {
            // Member lists hold section indices: compare member names, keyed by signature.
            let file_data = data.take().unwrap_or_default();
            let members: Vec<String> = file_data
                .chunks(4)
                .skip(1)
                .map(|c| {
                    let i = u32::from_le_bytes(c.try_into().unwrap()) as usize;
                    file.section_by_index(object::SectionIndex(i))
                        .unwrap()
                        .name()
                        .unwrap()
                        .to_string()
                })
                .collect();
            name = format!(".group {members:?}");
        }
        let flags = format!("{flags:#x}");
        out.insert(
            name,
            SectionView {
                kind: s.kind(),
                flags,
                align: s.align(),
                data,
                relocs,
            },
        );
    }
    out
}

/// Asserts that `ours` and `theirs` have the same sections, naming the first differences.
fn same_sections(ours: &[u8], theirs: &[u8], what: &str) {
    let (a, b) = (view(ours), view(theirs));
    let mut diffs = Vec::new();
    for name in a.keys().chain(b.keys()) {
        match (a.get(name), b.get(name)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => diffs.push(format!(
                "{name}: ours {:?} {} {} relocs, objcopy {:?} {} {} relocs",
                x.flags,
                x.align,
                x.relocs.len(),
                y.flags,
                y.align,
                y.relocs.len()
            )),
            (x, _) => diffs.push(format!(
                "{name}: only in {}",
                if x.is_some() { "ours" } else { "objcopy's" }
            )),
        }
    }
    diffs.dedup();
    assert!(
        diffs.is_empty(),
        "{what} differs from objcopy's:\n{}",
        diffs[..diffs.len().min(8)].join("\n")
    );
}

fn symbols(bytes: &[u8]) -> Vec<(String, String, bool, Option<String>)> {
    let file = object::File::parse(bytes).unwrap();
    file.symbols()
        .map(|s| {
            let sec = s.section_index().map(|i| {
                file.section_by_index(i)
                    .unwrap()
                    .name()
                    .unwrap()
                    .to_string()
            });
            (
                s.name().unwrap().to_string(),
                format!("{:?}", s.kind()),
                s.is_global(),
                sec,
            )
        })
        .collect()
}

fn check_against_objcopy(compiler: &str, lang_src: (&str, &str), flags: &[&str]) {
    let t = temp();
    let dir = t.path();
    let mut all = vec!["-gsplit-dwarf=single"];
    all.extend_from_slice(flags);
    let obj = compile(dir, compiler, lang_src.0, lang_src.1, "in.o", &all);
    let original = read(&obj);
    let split = splitdwarf::split(&original).expect("split");
    assert_eq!(split.dwo_ids.len(), 1);

    tool(dir, "objcopy", &["--strip-dwo", "in.o", "ref.o"]);
    tool(dir, "objcopy", &["--extract-dwo", "in.o", "ref.dwo"]);
    let (ref_o, ref_dwo) = (read(&dir.join("ref.o")), read(&dir.join("ref.dwo")));
    same_sections(
        &split.object,
        &ref_o,
        &format!("{compiler} {flags:?} stripped object"),
    );
    same_sections(&split.dwo, &ref_dwo, &format!("{compiler} {flags:?} .dwo"));
    // objcopy keeps every symbol when stripping .dwo sections (they have none); so do we.
    assert_eq!(symbols(&split.object), symbols(&ref_o));
    assert!(split.object.len() < original.len() && !split.dwo.is_empty());

    // The .dwo's unit is the one the skeleton names, and it pairs like GCC's files do.
    assert_eq!(
        splitdwarf::pair(&split.object, &split.dwo).expect("pair"),
        split.dwo_ids
    );
}

#[test]
fn clang_c_dwarf4_matches_objcopy() {
    check_against_objcopy("clang", ("lib.c", C_LIB), &["-gdwarf-4"]);
}

#[test]
fn clang_c_dwarf5_matches_objcopy() {
    check_against_objcopy("clang", ("lib.c", C_LIB), &["-gdwarf-5"]);
}

#[test]
fn clang_cxx_dwarf4_matches_objcopy() {
    check_against_objcopy("clang++", ("w.cc", CXX_SRC), &["-gdwarf-4"]);
}

#[test]
fn clang_cxx_dwarf5_type_units_match_objcopy() {
    check_against_objcopy(
        "clang++",
        ("w.cc", CXX_SRC),
        &["-gdwarf-5", "-fdebug-types-section"],
    );
}

#[test]
fn object_without_dwo_sections_is_a_clear_error() {
    let t = temp();
    let obj = compile(t.path(), "clang", "lib.c", C_LIB, "lib.o", &[]);
    let err = splitdwarf::split(&read(&obj)).unwrap_err();
    assert!(matches!(err, splitdwarf::Error::NoDwoSections), "{err}");
    // An empty translation unit has no debug information at all: nothing to split out, and
    // the .dwo is an ELF file without sections, as objcopy writes it.
    let empty = compile(
        t.path(),
        "clang",
        "empty.c",
        "\n",
        "empty.o",
        &["-gsplit-dwarf=single"],
    );
    let s = splitdwarf::split(&read(&empty)).expect("split an empty object");
    assert!(s.dwo_ids.is_empty());
    tool(
        t.path(),
        "objcopy",
        &["--extract-dwo", "empty.o", "ref.dwo"],
    );
    same_sections(&s.dwo, &read(&t.path().join("ref.dwo")), "empty .dwo");
}

#[test]
fn gcc_two_file_output_pairs() {
    for (flags, lang) in [
        (&["-gdwarf-4"][..], ("lib.c", C_LIB, "gcc")),
        (&["-gdwarf-5"][..], ("w.cc", CXX_SRC, "g++")),
    ] {
        let t = temp();
        let dir = t.path();
        let mut all = vec!["-gsplit-dwarf"];
        all.extend_from_slice(flags);
        let a = compile(dir, lang.2, lang.0, lang.1, "a.o", &all);
        let ids = splitdwarf::pair(&read(&a), &read(&dir.join("a.dwo"))).expect("pair");
        assert_eq!(ids.len(), 1);
        // Another translation unit's .dwo does not pair.
        compile(dir, "gcc", "main.c", C_MAIN, "b.o", &all);
        let err = splitdwarf::pair(&read(&a), &read(&dir.join("b.dwo"))).unwrap_err();
        assert!(
            matches!(err, splitdwarf::Error::DwoIdMismatch { .. }),
            "{err}"
        );
    }
}
