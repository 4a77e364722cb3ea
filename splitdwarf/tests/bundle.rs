//! Bundles round-trip to the exact original bytes: object = stripped + bundle.

mod common;

use common::*;
use splitdwarf::{bundle, bundle_dwo, bundle_info, unbundle, BundleKind, Error};

fn round_trip(original: &[u8], kind: BundleKind) -> splitdwarf::Bundled {
    let b = bundle(original, kind).expect("bundle");
    let info = bundle_info(&b.bundle).expect("header");
    assert_eq!(info.kind, kind);
    assert_eq!(info.original_len, original.len() as u64);
    assert_eq!(
        unbundle(&b.stripped, &b.bundle).expect("unbundle"),
        original,
        "not byte-identical"
    );
    b
}

#[test]
fn clang_single_dwo_and_debug_bundles_round_trip() {
    let t = temp();
    for (compiler, name, src, flags) in [
        ("clang", "lib.c", C_LIB, "-gdwarf-4"),
        ("clang", "main.c", C_MAIN, "-gdwarf-5"),
        ("clang++", "w.cc", CXX_SRC, "-gdwarf-5"),
    ] {
        let obj = compile(
            t.path(),
            compiler,
            name,
            src,
            "x.o",
            &["-gsplit-dwarf=single", flags],
        );
        let original = read(&obj);
        let b = round_trip(&original, BundleKind::Dwo);
        let split = splitdwarf::split(&original).unwrap();
        assert_eq!(b.stripped, split.object);
        assert_eq!(
            bundle_dwo(&b.bundle).unwrap().as_deref(),
            Some(&split.dwo[..])
        );
        // The patch reuses the stripped object and the .dwo: the bundle is much smaller than
        // the .dwo sections it restores.
        assert!(
            b.bundle.len() < split.dwo.len(),
            "{name}: bundle {} >= dwo {}",
            b.bundle.len(),
            split.dwo.len()
        );
        let d = round_trip(&original, BundleKind::Debug);
        assert_eq!(d.stripped, splitdwarf::strip_debug(&original).unwrap());
        assert_eq!(bundle_dwo(&d.bundle).unwrap(), None);
    }
}

#[test]
fn gcc_objects_debug_bundles_round_trip() {
    let t = temp();
    for flags in [&["-gdwarf-4"][..], &["-gdwarf-5"], &["-gsplit-dwarf"]] {
        let obj = compile(t.path(), "g++", "w.cc", CXX_SRC, "w.o", flags);
        round_trip(&read(&obj), BundleKind::Debug);
    }
}

#[test]
fn wrong_or_damaged_inputs_are_errors() {
    let t = temp();
    let a = read(&compile(
        t.path(),
        "clang",
        "lib.c",
        C_LIB,
        "a.o",
        &["-gsplit-dwarf=single"],
    ));
    let b = read(&compile(
        t.path(),
        "clang",
        "main.c",
        C_MAIN,
        "b.o",
        &["-gsplit-dwarf=single"],
    ));
    let ba = bundle(&a, BundleKind::Dwo).unwrap();
    let bb = bundle(&b, BundleKind::Dwo).unwrap();
    assert!(matches!(
        unbundle(&bb.stripped, &ba.bundle),
        Err(Error::BundleMismatch)
    ));
    // Every truncation and a flipped byte in each region are errors, never panics.
    for len in 0..ba.bundle.len() {
        assert!(
            unbundle(&ba.stripped, &ba.bundle[..len]).is_err(),
            "truncated to {len} accepted"
        );
    }
    for at in (0..ba.bundle.len()).step_by(7) {
        let mut bad = ba.bundle.clone();
        bad[at] ^= 0x5a;
        if let Ok(restored) = unbundle(&ba.stripped, &bad) {
            assert_eq!(restored, a, "corruption at {at} produced different bytes");
        }
    }
}
