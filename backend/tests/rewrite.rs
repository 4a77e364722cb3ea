//! Unit tests of `backend::rewrite`: twin rules, which edges switch, the record line, the
//! generator hook, policy exclusion, and the compile-command classifier.

use backend::compile::CompilerFamily;
use backend::ninja::load_with;
use backend::rewrite::compiler::{
    classify, compiler_family, has_debug_info, split_simple, splits_dwarf_single, CommandKind,
};
use backend::rewrite::dwp_step::DwpStep;
use backend::rewrite::{record, rewrite, File, Options, RecordingReader, Report};
use std::collections::HashMap;

/// Rewrites the in-memory files (the first is the top-level manifest).
fn run(
    files: &[(&str, &str)],
    uncached: &dyn Fn(&[u8]) -> bool,
    flags: &str,
) -> (Vec<File>, Report) {
    let map: HashMap<Vec<u8>, Vec<u8>> = files
        .iter()
        .map(|(p, t)| (p.as_bytes().to_vec(), t.as_bytes().to_vec()))
        .collect();
    let reader = RecordingReader::new(|p: &[u8]| {
        map.get(p)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    });
    let m = load_with(files[0].0.as_bytes(), &reader).expect("original loads");
    let read = reader.files.into_inner();
    let opts = Options {
        launcher: &|step| match step {
            DwpStep::None => "/bin/cn cc --".into(),
            step => format!("/bin/cn cc --dwp-step {} --", step.name()),
        },
        extra_flags: flags.into(),
        regenerate_hook: "/bin/cn generate -q".into(),
        uncached,
    };
    let (out, report) = rewrite(m.graph(), &read, &opts).expect("rewrite");
    // The result must load too, and mean the same but for the prefix.
    let new: HashMap<Vec<u8>, Vec<u8>> = out
        .iter()
        .map(|f| (f.path.clone(), f.text.clone()))
        .collect();
    let reader = RecordingReader::new(|p: &[u8]| Ok(new[p].clone()));
    let g2 = load_with(files[0].0.as_bytes(), &reader).expect("rewritten loads");
    assert_eq!(g2.graph().edge_count(), m.graph().edge_count());
    (out, report)
}

const NEVER: &dyn Fn(&[u8]) -> bool = &|_| false;

const CMAKE_LIKE: &str = "\
rule CC
  depfile = $DEP_FILE
  deps = gcc
  command = /usr/bin/cc $FLAGS -MD -MT $out -MF $DEP_FILE -o $out -c $in
  description = Building C object $out
rule LINK
  command = cd . && /usr/bin/cc $in -o $out
rule RERUN
  command = /usr/bin/cmake --regenerate-during-build -S/src -B/obj
  generator = 1
pool heavy
  depth = 1
build a.o: CC ../a.c
  DEP_FILE = a.o.d
  FLAGS = -g -O2
build b.o: CC ../b.c
  DEP_FILE = b.o.d
  FLAGS = -O2
  pool = heavy
build app: LINK a.o b.o
build build.ninja: RERUN ../CMakeLists.txt
";

#[test]
fn compile_edges_use_a_twin_rule_and_others_stay() {
    let (out, report) = run(&[("build.ninja", CMAKE_LIKE)], NEVER, "");
    let text = String::from_utf8(out[0].text.clone()).unwrap();
    assert!(out[0].changed);
    assert_eq!(
        record::recorded_hash(&out[0].text),
        Some(record::original_hash(CMAKE_LIKE.as_bytes()).as_str())
    );
    assert!(text.contains(
        "rule CC__cached_ninja\n  depfile = $DEP_FILE\n  deps = gcc\n  command = /bin/cn cc -- /usr/bin/cc $FLAGS -MD -MT $out -MF $DEP_FILE -o $out -c $in\n  description = Building C object $out\n"
    ), "{text}");
    assert!(text.contains("build a.o: CC__cached_ninja ../a.c\n"));
    assert!(text.contains(
        "build b.o: CC__cached_ninja ../b.c\n  DEP_FILE = b.o.d\n  FLAGS = -O2\n  pool = heavy\n"
    ));
    assert!(text.contains("build app: LINK a.o b.o\n"));
    assert!(text.contains("build build.ninja: RERUN__cached_ninja_regen ../CMakeLists.txt\n"));
    assert!(text.contains(
        "  command = ( /usr/bin/cmake --regenerate-during-build -S/src -B/obj ) && /bin/cn generate -q\n  generator = 1\n"
    ));
    assert_eq!(
        report,
        Report {
            edges: 4,
            compile_edges: 2,
            uncached_by_policy: 0,
            compiler_other: 0,
            generator_edges: 1,
            dwp_step: DwpStep::None,
        }
    );
    // Everything but the record line and the inserted rules is the original, byte for byte.
    assert_eq!(strip(&text), CMAKE_LIKE);
}

/// A build that packages its `.dwo` files itself: the launcher's prefix names the packager the
/// other edges run, found in the same pass (a rule after the compiles' as well).
#[test]
fn the_launcher_prefix_names_the_packager_the_build_runs() {
    let manifest = format!(
        "{CMAKE_LIKE}rule DWP\n  command = /usr/bin/dwp -e $in -o $out\nbuild app.dwp: DWP app\n"
    );
    let (out, report) = run(&[("build.ninja", &manifest)], NEVER, "");
    let text = String::from_utf8(out[0].text.clone()).unwrap();
    assert_eq!(report.dwp_step, DwpStep::Gnu);
    assert!(
        text.contains("  command = /bin/cn cc --dwp-step gnu -- /usr/bin/cc $FLAGS"),
        "{text}"
    );
    assert!(!text.contains("/bin/cn cc -- "), "{text}");
    assert_eq!(strip(&text), manifest);
}

/// The text without the record line, the twin rules and the twin suffixes.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut in_twin = false;
    for line in text.lines().skip(1) {
        if line.starts_with("# cached-ninja: twin") {
            in_twin = true;
            continue;
        }
        if in_twin && line.starts_with("rule ") && !line.contains("__cached_ninja") {
            in_twin = false;
        }
        if !in_twin {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.replace("__cached_ninja_regen", "")
        .replace("__cached_ninja", "")
}

#[test]
fn policy_excludes_outputs_and_adds_flags_to_debug_compiles_only() {
    let excl = |o: &[u8]| o == b"b.o";
    let (out, report) = run(
        &[("build.ninja", CMAKE_LIKE)],
        &excl,
        "-gsplit-dwarf -gdwarf-4",
    );
    let text = String::from_utf8(out[0].text.clone()).unwrap();
    assert_eq!(report.compile_edges, 1);
    assert_eq!(report.uncached_by_policy, 1);
    assert!(
        text.contains("build a.o: CC__cached_ninja_g ../a.c\n"),
        "{text}"
    );
    assert!(text.contains("-c $in -gsplit-dwarf -gdwarf-4\n"));
    assert!(text.contains("build b.o: CC ../b.c\n"));
}

#[test]
fn nothing_to_do_leaves_the_file_alone() {
    let plain = "rule cp\n  command = cp $in $out\nbuild b: cp a\n";
    let (out, report) = run(&[("build.ninja", plain)], NEVER, "");
    assert!(!out[0].changed);
    assert_eq!(out[0].text, plain.as_bytes());
    assert_eq!(report.compile_edges, 0);
}

#[test]
fn rules_in_included_files_get_their_twin_there() {
    let rules = "rule CC\n  command = gcc -c $in -o $out\n";
    let main = "include rules.ninja\nbuild x.o: CC x.c\nsubninja sub.ninja\nbuild y.o: CC y.c\n";
    let sub = "rule CC\n  command = clang -c $in -o $out\nbuild z.o: CC z.c\n";
    let (out, report) = run(
        &[
            ("build.ninja", main),
            ("rules.ninja", rules),
            ("sub.ninja", sub),
        ],
        NEVER,
        "",
    );
    assert_eq!(report.compile_edges, 3);
    let by = |p: &str| {
        String::from_utf8(
            out.iter()
                .find(|f| f.path == p.as_bytes())
                .unwrap()
                .text
                .clone(),
        )
        .unwrap()
    };
    assert!(by("rules.ninja").contains(
        "rule CC__cached_ninja\n  command = /bin/cn cc -- gcc -c $in -o $out\nrule CC\n"
    ));
    assert!(by("sub.ninja").contains("rule CC__cached_ninja\n  command = /bin/cn cc -- clang -c"));
    assert!(by("build.ninja").contains("build x.o: CC__cached_ninja x.c\n"));
    assert!(by("build.ninja").contains("build y.o: CC__cached_ninja y.c\n"));
}

#[test]
fn a_taken_twin_name_gets_a_number() {
    let text = "rule CC\n  command = gcc -c $in -o $out\nrule CC__cached_ninja\n  command = true\nbuild x.o: CC x.c\n";
    let (out, _) = run(&[("build.ninja", text)], NEVER, "");
    assert!(String::from_utf8_lossy(&out[0].text).contains("build x.o: CC__cached_ninja_2 x.c\n"));
}

#[test]
fn classifier() {
    assert_eq!(
        classify(b"/usr/bin/cc -O2 -o a.o -c a.c"),
        CommandKind::Compile(CompilerFamily::Gcc)
    );
    assert_eq!(
        classify(b"ccache clang++-14 -c 'a b.cc' -o x.o"),
        CommandKind::Compile(CompilerFamily::Clang)
    );
    assert!(matches!(
        classify(b"cc -o app a.o b.o"),
        CommandKind::CompilerOther(_)
    ));
    assert_eq!(classify(b"cd x && cc -c a.c"), CommandKind::Other);
    assert_eq!(classify(b"python3 gen.py"), CommandKind::Other);
    assert_eq!(
        compiler_family("x86_64-linux-gnu-g++-12"),
        Some(CompilerFamily::Gcc)
    );
    assert_eq!(compiler_family("/usr/bin/ncc"), None);
    assert_eq!(
        split_simple(br#"a 'b c' "d\"e" f\ g"#).unwrap(),
        ["a", "b c", "d\"e", "f g"]
    );
    assert_eq!(split_simple(b"a $(b)"), None);
    assert!(has_debug_info(b"cc -g -c a.c"));
    assert!(!has_debug_info(b"cc -g -g0 -c a.c"));
    assert!(!has_debug_info(b"cc -O2 -c a.c"));
    assert!(splits_dwarf_single(b"clang -g -gsplit-dwarf=single -c a.c"));
    assert!(!splits_dwarf_single(
        b"clang -g -gsplit-dwarf=single -gsplit-dwarf -c a.c"
    ));
    assert!(!splits_dwarf_single(
        b"clang -g -gsplit-dwarf=single -gno-split-dwarf -c a.c"
    ));
    assert!(!splits_dwarf_single(b"clang -g -c a.c"));
}

#[test]
fn an_edge_with_its_own_command_is_left_alone() {
    let text = "rule CC\n  command = gcc -c $in -o $out\nbuild x.o: CC x.c\n  command = gcc -c x.c -o x.o\nbuild y.o: CC y.c\n";
    let (out, report) = run(&[("build.ninja", text)], NEVER, "");
    let text = String::from_utf8_lossy(&out[0].text);
    assert!(
        text.contains("build x.o: CC x.c\n") && text.contains("build y.o: CC__cached_ninja y.c\n")
    );
    assert_eq!(report.compile_edges, 1);
}
