//! Hostile input: every entry point returns an error, never panics, on truncated files,
//! bad section headers, overlapping sections, wrong machines and non-ELF data.

mod common;

use common::*;
use splitdwarf::{bundle, pair, split, strip_debug, BundleKind, Error};

fn object() -> Vec<u8> {
    let t = temp();
    read(&compile(
        t.path(),
        "clang",
        "lib.c",
        C_LIB,
        "lib.o",
        &["-gsplit-dwarf=single"],
    ))
}

/// Runs every entry point on `data`; returns whether `split` succeeded.
fn all_entry_points(data: &[u8]) -> bool {
    let ok = split(data).is_ok();
    let _ = strip_debug(data);
    let _ = bundle(data, BundleKind::Dwo);
    let _ = bundle(data, BundleKind::Debug);
    let _ = pair(data, data);
    let _ = splitdwarf::skeleton_units(data);
    let _ = splitdwarf::verify(data, data);
    let _ = splitdwarf::bundle_info(data);
    let input = [splitdwarf::PackageInput { name: "x", data }];
    let _ = splitdwarf::package(&splitdwarf::PackageRequest {
        inputs: &input,
        executable: None,
    });
    ok
}

#[test]
fn every_truncation_is_an_error() {
    let obj = object();
    assert!(all_entry_points(&obj));
    for len in 0..obj.len() {
        let cut = &obj[..len];
        assert!(split(cut).is_err(), "truncated to {len} bytes accepted");
        all_entry_points(cut);
    }
}

#[test]
fn non_elf_and_wrong_kind() {
    assert!(matches!(
        split(b"hello world, not an object"),
        Err(Error::NotElf)
    ));
    assert!(matches!(split(b""), Err(Error::NotElf)));
    let mut obj = object();
    obj[16] = 2; // ET_EXEC
    assert!(matches!(split(&obj), Err(Error::NotRelocatable(2))));
    let mut obj = object();
    obj[4] = 7; // bad EI_CLASS
    assert!(matches!(split(&obj), Err(Error::BadIdent(_))));
}

#[test]
fn bad_section_headers() {
    let obj = object();
    let shoff = u64::from_le_bytes(obj[40..48].try_into().unwrap()) as usize;
    let shnum = u16::from_le_bytes(obj[60..62].try_into().unwrap()) as usize;
    // Section table beyond the end.
    let mut bad = obj.clone();
    bad[40..48].copy_from_slice(&(obj.len() as u64 - 10).to_le_bytes());
    assert!(
        matches!(split(&bad), Err(Error::Truncated(_))),
        "{:?}",
        split(&bad).err()
    );
    // Wrong e_shentsize.
    let mut bad = obj.clone();
    bad[58] = 63;
    assert!(matches!(split(&bad), Err(Error::Malformed { .. })));
    // Each section in turn: overlapping the ELF header, past the end, absurd sizes, bad links.
    for i in 1..shnum {
        let h = shoff + i * 64;
        let mut overlap = obj.clone();
        overlap[h + 24..h + 32].copy_from_slice(&8u64.to_le_bytes());
        overlap[h + 32..h + 40].copy_from_slice(&16u64.to_le_bytes());
        let e = split(&overlap).unwrap_err();
        assert!(matches!(e, Error::Overlap(..)), "section {i}: {e}");
        let mut huge = obj.clone();
        huge[h + 32..h + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(
            !all_entry_points(&huge) || obj[h + 4] == 8,
            "section {i} with huge size accepted"
        );
        let mut link = obj.clone();
        link[h + 40..h + 44].copy_from_slice(&0xffffu32.to_le_bytes());
        all_entry_points(&link);
        let mut name = obj.clone();
        name[h..h + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            split(&name).is_err(),
            "section {i} with a bad name accepted"
        );
    }
}

#[test]
fn two_sections_overlapping_each_other() {
    let obj = object();
    let shoff = u64::from_le_bytes(obj[40..48].try_into().unwrap()) as usize;
    // Point section 2 at section 1's bytes with section 1's size (both non-empty in clang's
    // objects: .strtab and .text).
    let (h1, h2) = (shoff + 64, shoff + 128);
    let mut bad = obj.clone();
    let (off1, size1) = (
        obj[h1 + 24..h1 + 32].to_vec(),
        obj[h1 + 32..h1 + 40].to_vec(),
    );
    bad[h2 + 24..h2 + 32].copy_from_slice(&off1);
    bad[h2 + 32..h2 + 40].copy_from_slice(&size1);
    assert!(matches!(split(&bad), Err(Error::Overlap(..))));
}

#[test]
fn wrong_machine_in_a_pair_or_package() {
    let t = temp();
    let dir = t.path();
    compile(
        dir,
        "gcc",
        "lib.c",
        C_LIB,
        "lib.o",
        &["-gsplit-dwarf", "-gdwarf-4"],
    );
    let (o, mut d) = (read(&dir.join("lib.o")), read(&dir.join("lib.dwo")));
    d[18] = 40; // EM_ARM
    assert!(matches!(
        pair(&o, &d),
        Err(Error::WrongMachine {
            expected: 62,
            found: 40
        })
    ));
    let good = read(&dir.join("lib.dwo"));
    let inputs = [
        splitdwarf::PackageInput {
            name: "good.dwo",
            data: &good,
        },
        splitdwarf::PackageInput {
            name: "arm.dwo",
            data: &d,
        },
    ];
    let err = splitdwarf::package(&splitdwarf::PackageRequest {
        inputs: &inputs,
        executable: None,
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("arm.dwo") && err.to_string().contains("wrong machine"),
        "{err}"
    );
}
