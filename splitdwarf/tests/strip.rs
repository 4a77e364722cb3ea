//! `strip_debug` on real objects: no debug section is left, and the stripped objects link to
//! a binary whose loadable segments are byte-identical to the one linked from the originals
//! (gcc + GNU ld and clang + lld; C and C++; plain and split DWARF).

mod common;

use std::path::Path;

use common::*;
use object::{Object, ObjectSection, ObjectSegment};

/// The file bytes of every PT_LOAD segment, with its address.
fn loadable(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let file = object::File::parse(bytes).expect("parse binary");
    file.segments()
        .map(|s| {
            let mut data = s.data().expect("segment data").to_vec();
            if s.file_range().0 == 0 && data.len() >= 64 {
                // The ELF header is mapped too; e_shoff, e_shnum and e_shstrndx describe the
                // (unloaded) section headers, which differ by the debug sections' count.
                data[40..48].fill(0);
                data[60..64].fill(0);
            }
            (s.address(), data)
        })
        .collect()
}

fn strip_file(dir: &Path, name: &str) -> String {
    let stripped = splitdwarf::strip_debug(&read(&dir.join(name))).expect("strip");
    let file = object::File::parse(&*stripped).expect("stripped object parses");
    for s in file.sections() {
        let n = s.name().unwrap();
        assert!(
            !n.starts_with(".debug") && !n.starts_with(".rela.debug"),
            "{name}: {n} left"
        );
    }
    let out = format!("stripped-{name}");
    std::fs::write(dir.join(&out), stripped).unwrap();
    out
}

fn check(cc: &str, cxx: &str, linker: &str, debug: &[&str]) {
    let t = temp();
    let dir = t.path();
    compile(dir, cc, "main.c", C_MAIN, "main.o", debug);
    compile(dir, cc, "lib.c", C_LIB, "lib.o", debug);
    compile(dir, cxx, "w.cc", CXX_SRC, "w.o", debug);
    let objs = ["main.o", "lib.o", "w.o"];
    let stripped: Vec<String> = objs.iter().map(|o| strip_file(dir, o)).collect();
    let link = |inputs: &[&str], out: &str| {
        let fuse = format!("-fuse-ld={linker}");
        let mut args = vec![fuse.as_str(), "-Wl,--build-id=none"];
        args.extend_from_slice(inputs);
        args.extend_from_slice(&["-o", out]);
        tool(dir, cxx, &args);
        read(&dir.join(out))
    };
    let full = link(&objs, "full");
    let refs: Vec<&str> = stripped.iter().map(String::as_str).collect();
    let lean = link(&refs, "lean");
    assert!(
        lean.len() < full.len(),
        "{cc} {debug:?}: stripped link not smaller"
    );
    let (a, b) = (loadable(&full), loadable(&lean));
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len(), "{cc} {linker} {debug:?}: segment count");
    for ((addr_a, data_a), (addr_b, data_b)) in a.iter().zip(&b) {
        assert_eq!(addr_a, addr_b, "{cc} {linker} {debug:?}: segment address");
        assert!(
            data_a == data_b,
            "{cc} {linker} {debug:?}: segment at {addr_a:#x} differs"
        );
    }
    let out = run_ok(&mut std::process::Command::new(dir.join("lean")));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "9");
}

#[test]
fn gcc_ld_dwarf4_and_5() {
    check("gcc", "g++", "bfd", &["-gdwarf-4"]);
    check("gcc", "g++", "bfd", &["-gdwarf-5"]);
    // Type units in COMDAT groups: groups lose their debug members (or vanish when empty).
    check("gcc", "g++", "bfd", &["-gdwarf-4", "-fdebug-types-section"]);
}

#[test]
fn gcc_ld_split_dwarf() {
    check("gcc", "g++", "bfd", &["-gsplit-dwarf", "-gdwarf-4"]);
}

#[test]
fn clang_lld_dwarf4_and_5() {
    require_tool("ld.lld", "lld");
    check("clang", "clang++", "lld", &["-gdwarf-4"]);
    check(
        "clang",
        "clang++",
        "lld",
        &["-gdwarf-5", "-fdebug-types-section"],
    );
}

#[test]
fn clang_lld_split_single() {
    require_tool("ld.lld", "lld");
    check(
        "clang",
        "clang++",
        "lld",
        &["-gsplit-dwarf=single", "-gdwarf-5"],
    );
}
