//! Build manifests (`fetch::build_manifest`): round trip and rejection of hostile input.

use fetch::build_manifest::{
    BuildManifest, EdgeRecord, IncludeHash, Limits, ParseError, Reason, BUILD_MANIFEST_HEADER,
    BUILD_MANIFEST_VERSION,
};
use fetch::cache::{Digest, Output, Role};
use std::sync::Arc;

fn out(role: Role, path: &str, size: u64) -> Output {
    Output {
        role,
        path: path.into(),
        digest: Digest::of(path.as_bytes()),
        size,
    }
}

/// A split-DWARF C compile: object, `.dwo` and dep-info.
fn record(output: &str) -> EdgeRecord {
    EdgeRecord {
        source_key: Digest::of(b"source"),
        action_key: Digest::of(b"action"),
        outputs: vec![
            out(Role::Object, output, 12_345),
            out(Role::Dwo, &format!("{output}.dwo"), 67_890),
            out(Role::DepInfo, &format!("{output}.d"), 321),
        ],
        includes: vec![
            Arc::new(IncludeHash {
                path: "@src/include/a.h".into(),
                digest: Digest::of(b"a.h"),
            }),
            Arc::new(IncludeHash {
                path: "/usr/include/stdio.h".into(),
                digest: Digest::of(b"stdio.h"),
            }),
        ],
        stdout: None,
        stderr: None,
        cpu_us: 1_400_000,
        wall_us: 1_500_000,
    }
}

/// A `hdr` line of the include table.
fn hdr(path: &str) -> String {
    format!("hdr {} {path}", Digest::of(b"h"))
}

/// An `out` line of role 1 (object).
fn out_line(path: &str) -> String {
    format!("out 1 {} 10 {path}", Digest::of(b"o"))
}

/// An `edge` line and the `out` line of its object (two lines).
fn edge_line(output: &str) -> String {
    format!(
        "edge {} {} 2 3\n{}",
        Digest::of(b"s"),
        Digest::of(b"a"),
        out_line(output)
    )
}

/// A manifest of `lines` (`hdr …`, `edge …`, `out …`, `log …` or `inc …`) and a matching `end`.
fn text(lines: &[String]) -> String {
    let n = lines.iter().filter(|l| l.starts_with("edge ")).count();
    let mut s = format!("{BUILD_MANIFEST_HEADER}\n");
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(&format!("end {n}\n"));
    s
}

fn reject(input: &str) -> ParseError {
    BuildManifest::parse(input.as_bytes()).expect_err("must be rejected")
}

#[test]
fn round_trip() {
    let rust = EdgeRecord {
        outputs: vec![
            out(Role::Rlib, "deps/libx.rlib", 1000),
            out(Role::Rmeta, "deps/libx.rmeta", 100),
            out(Role::DepInfo, "deps/x.d", 10),
        ],
        ..record("unused")
    };
    let m = BuildManifest {
        records: vec![
            record("obj/a.o"),
            record("obj/dir with blank/b.o"),
            EdgeRecord {
                includes: vec![],
                outputs: vec![out(Role::Object, "c.o", 0)],
                stderr: Some((Digest::of(b"warning"), 7)),
                ..record("c.o")
            },
            EdgeRecord {
                stdout: Some((Digest::of(b"out"), 3)),
                stderr: Some((Digest::of(b"err"), 4)),
                ..rust
            },
        ],
    };
    let bytes = m.to_bytes().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let (s, a) = (Digest::of(b"source"), Digest::of(b"action"));
    let first = format!(
        "cached-ninja build 3\nhdr {} @src/include/a.h\nhdr {} /usr/include/stdio.h\n\
         edge {s} {a} 1400000 1500000\nout 1 {} 12345 obj/a.o\nout 2 {} 67890 obj/a.o.dwo\n\
         out 5 {} 321 obj/a.o.d\ninc 0-1\nedge ",
        Digest::of(b"a.h"),
        Digest::of(b"stdio.h"),
        Digest::of(b"obj/a.o"),
        Digest::of(b"obj/a.o.dwo"),
        Digest::of(b"obj/a.o.d"),
    );
    assert!(text.starts_with(&first), "{text}");
    // The headers are listed once; the record without includes has no `inc` line.
    assert_eq!(text.matches("hdr ").count(), 2, "{text}");
    assert_eq!(text.matches("\ninc 0-1\n").count(), 3, "{text}");
    let err = format!(
        "out 1 {} 0 c.o\nlog 2 {} 7\nedge ",
        Digest::of(b"c.o"),
        Digest::of(b"warning")
    );
    assert!(text.contains(&err), "{text}");
    let logs = format!(
        "log 1 {} 3\nlog 2 {} 4\ninc 0-1\nend 4\n",
        Digest::of(b"out"),
        Digest::of(b"err")
    );
    assert!(text.ends_with(&logs), "{text}");
    let back = BuildManifest::parse(&bytes).unwrap();
    assert_eq!(back, m);
    // Records share the table's headers.
    assert!(Arc::ptr_eq(
        &back.records[0].includes[0],
        &back.records[1].includes[0]
    ));
    let empty = BuildManifest::default();
    assert_eq!(empty.to_bytes().unwrap(), b"cached-ninja build 3\nend 0\n");
    assert_eq!(
        BuildManifest::parse(&empty.to_bytes().unwrap()).unwrap(),
        empty
    );
    assert_eq!(
        BUILD_MANIFEST_HEADER,
        format!("cached-ninja build {BUILD_MANIFEST_VERSION}")
    );
}

#[test]
fn sizes_and_the_main_output_come_from_the_roles() {
    let c = record("obj/a.o");
    assert_eq!((c.stripped_size(), c.debug_size()), (12_345, 67_890));
    assert_eq!(c.output(), "obj/a.o");
    let split = EdgeRecord {
        outputs: vec![
            out(Role::DepInfo, "b.d", 5),
            out(Role::DebugBundle, "b.bundle", 7),
            out(Role::StrippedObject, "b.o", 3),
            out(Role::Dwo, "b.dwo", 11),
        ],
        ..record("x")
    };
    assert_eq!((split.stripped_size(), split.debug_size()), (3, 18));
    assert_eq!(split.output(), "b.o", "the first object output");
    // A Rust compile has no object: its main output is its first, and it counts as neither.
    let rust = EdgeRecord {
        outputs: vec![
            out(Role::Rlib, "libx.rlib", 9),
            out(Role::Rmeta, "libx.rmeta", 1),
        ],
        ..record("x")
    };
    assert_eq!(
        (rust.output(), rust.stripped_size(), rust.debug_size()),
        ("libx.rlib", 0, 0)
    );
    let none = EdgeRecord {
        outputs: vec![],
        ..record("x")
    };
    assert_eq!((none.output(), none.stripped_size()), ("", 0));
}

#[test]
fn output_paths_must_stay_inside_the_object_root() {
    let cases = [
        ("../../etc/passwd", "has a `..` component"),
        ("/etc/passwd", "is absolute"),
        ("a/../../x", "has a `..` component"),
        ("a/../b", "has a `..` component"),
        ("..", "has a `..` component"),
        ("./a.o", "has a `.` component"),
        ("a//b.o", "has an empty component"),
        ("a/", "has an empty component"),
        ("a\0b", "contains a NUL byte"),
        ("a\rb", "contains a line break"),
    ];
    for (path, why) in cases {
        let e = reject(&text(&[edge_line("ok.o"), edge_line(path)]));
        assert_eq!(e.record, Some(1), "{path:?}");
        assert_eq!(e.line, 5);
        assert_eq!(
            e.to_string(),
            format!("build manifest record 1, line 5: output path {path:?} {why}")
        );
        // Also as the second output of an edge.
        let e = reject(&text(&[edge_line("ok.o"), out_line(path)]));
        assert_eq!((e.record, e.line), (Some(0), 4), "{path:?}");
        assert!(e.to_string().ends_with(why), "{e}");
    }
    let long = "a/".repeat(2048) + "b.o";
    let e = reject(&text(&[edge_line(&long)]));
    assert!(e.to_string().ends_with("is too long"), "{e}");
    // Also refused when serialising, so a publisher cannot write one, in any output.
    let mut bad = record("ok.o");
    bad.outputs[2].path = "../../etc/passwd".into();
    let m = BuildManifest {
        records: vec![record("ok.o"), bad],
    };
    let e = m.to_bytes().unwrap_err();
    assert_eq!(e.record, Some(1));
    assert!(e.to_string().contains("has a `..` component"), "{e}");
}

#[test]
fn every_edge_has_outputs_each_path_once() {
    let (s, a) = (Digest::of(b"s"), Digest::of(b"a"));
    let bare = format!("edge {s} {a} 2 3");
    let e = reject(&text(&[edge_line("a.o"), bare.clone(), edge_line("c.o")]));
    assert_eq!(
        e.to_string(),
        "build manifest record 1, line 4: edge has no output"
    );
    let e = reject(&text(&[bare]));
    assert_eq!(
        (e.record, e.line, e.reason),
        (Some(0), 2, Reason::NoOutputs)
    );
    let e = reject(&text(&[edge_line("a.o"), out_line("a.o")]));
    assert_eq!(
        e.to_string(),
        "build manifest record 0, line 4: output path \"a.o\" is listed twice"
    );
    let e = reject(&format!(
        "{BUILD_MANIFEST_HEADER}\n{}\nend 0\n",
        out_line("a.o")
    ));
    assert_eq!(e.reason, Reason::OutputBeforeEdge);
    let m = BuildManifest {
        records: vec![EdgeRecord {
            outputs: vec![],
            ..record("a.o")
        }],
    };
    assert_eq!(m.to_bytes().unwrap_err().reason, Reason::NoOutputs);
    let mut twice = record("a.o");
    twice.outputs[1].path = "a.o".into();
    let e = BuildManifest {
        records: vec![twice],
    }
    .to_bytes()
    .unwrap_err();
    assert_eq!(e.reason, Reason::DuplicateOutput("a.o".into()));
}

#[test]
fn output_roles_are_the_stored_numbers() {
    let d = Digest::of(b"o");
    for (n, role) in [
        (1, Role::Object),
        (2, Role::Dwo),
        (3, Role::Rlib),
        (4, Role::Rmeta),
    ]
    .into_iter()
    .chain([
        (5, Role::DepInfo),
        (6, Role::StrippedObject),
        (7, Role::DebugBundle),
        (8, Role::Executable),
        (9, Role::SharedLibrary),
        (10, Role::StaticLibrary),
        (11, Role::RustSplitDebug),
    ]) {
        let m =
            BuildManifest::parse(text(&[edge_line("a.o"), format!("out {n} {d} 1 b")]).as_bytes())
                .unwrap();
        assert_eq!(m.records[0].outputs[1].role, role);
        assert_eq!(role as u8, n, "role numbers never change");
    }
    for bad in ["0", "12", "256", "x", "-1", "+1", "01x"] {
        let e = reject(&text(&[edge_line("a.o"), format!("out {bad} {d} 1 b")]));
        assert_eq!(e.reason, Reason::BadRole(bad.into()), "{bad}");
        assert_eq!(
            e.to_string(),
            format!("build manifest record 0, line 4: unknown output role `{bad}`")
        );
    }
}

#[test]
fn include_paths_are_normalised_and_may_be_absolute() {
    let ok = text(&[
        hdr("/usr/include/stdio.h"),
        hdr("@src/a.h"),
        edge_line("a.o"),
        "inc 1 0".into(),
    ]);
    let m = BuildManifest::parse(ok.as_bytes()).unwrap();
    let paths: Vec<&str> = m.records[0]
        .includes
        .iter()
        .map(|h| h.path.as_str())
        .collect();
    assert_eq!(paths, ["@src/a.h", "/usr/include/stdio.h"]);
    // As the compiler spelt them: clang names libstdc++ through `/usr/bin/../lib/…`, a header
    // includes `"../x.h"`. Only read, and no further than an absolute path reaches.
    let dots = text(&[
        hdr("/usr/bin/../lib/gcc/x86_64-linux-gnu/12/../../../../include/c++/12/vector"),
        hdr("@src/src/hb-ot/../hb.hh"),
        hdr("@src/deps/zlib/./zconf.h"),
        edge_line("a.o"),
        "inc 0 1 2".into(),
    ]);
    let m = BuildManifest::parse(dots.as_bytes()).unwrap();
    assert_eq!(m.records[0].includes.len(), 3);
    let e = reject(&text(&[hdr("/usr//include/x.h"), edge_line("a.o")]));
    assert_eq!(
        e.to_string(),
        "build manifest line 2: include path \"/usr//include/x.h\" has an empty component"
    );
    let e = reject(&format!(
        "{BUILD_MANIFEST_HEADER}\n{}\ninc 0\nend 0\n",
        hdr("a.h")
    ));
    assert_eq!(e.reason, Reason::IncludeBeforeEdge);
}

#[test]
fn include_lists_point_into_the_table() {
    let table = [hdr("a.h"), hdr("b.h"), hdr("c.h")];
    let with = |inc: &[&str]| {
        let mut lines = table.to_vec();
        lines.push(edge_line("a.o"));
        lines.extend(inc.iter().map(|l| l.to_string()));
        text(&lines)
    };
    let m = BuildManifest::parse(with(&["inc 2 0-1"]).as_bytes()).unwrap();
    let paths: Vec<&str> = m.records[0]
        .includes
        .iter()
        .map(|h| h.path.as_str())
        .collect();
    assert_eq!(paths, ["c.h", "a.h", "b.h"]);
    let e = reject(&with(&["inc 0-3"]));
    assert_eq!(
        e.to_string(),
        "build manifest record 0, line 7: include index 3 is not in the table of 3 headers"
    );
    assert_eq!(
        reject(&with(&["inc 2-1"])).reason,
        Reason::BadRange("2-1".into())
    );
    assert_eq!(
        reject(&with(&["inc 0", "inc 1"])).reason,
        Reason::Repeated("include list")
    );
    assert_eq!(
        reject(&with(&["inc x"])).reason,
        Reason::BadNumber("include index")
    );
    // The table comes first.
    let late = text(&[edge_line("a.o"), hdr("a.h")]);
    assert_eq!(reject(&late).reason, Reason::HeaderAfterEdge);
    let small = Limits {
        max_headers: 2,
        ..Limits::default()
    };
    let e = BuildManifest::parse_with(with(&[]).as_bytes(), &small).unwrap_err();
    assert_eq!((e.line, e.reason), (4, Reason::TooManyHeaders(2)));
}

#[test]
fn captured_streams_are_one_per_kind() {
    let d = Digest::of(b"w");
    let m = text(&[
        edge_line("a.o"),
        format!("log 2 {d} 9"),
        format!("log 1 {d} 1"),
    ]);
    let r = &BuildManifest::parse(m.as_bytes()).unwrap().records[0];
    assert_eq!((r.stdout, r.stderr), (Some((d, 1)), Some((d, 9))));
    let twice = text(&[
        edge_line("a.o"),
        format!("log 2 {d} 9"),
        format!("log 2 {d} 9"),
    ]);
    assert_eq!(reject(&twice).reason, Reason::Repeated("captured stderr"));
    let bad = text(&[edge_line("a.o"), format!("log 3 {d} 9")]);
    assert_eq!(reject(&bad).reason, Reason::BadStream("3".into()));
    let huge = text(&[edge_line("a.o"), format!("log 1 {d} {}", (64u64 << 20) + 1)]);
    assert!(matches!(
        reject(&huge).reason,
        Reason::TooLarge {
            field: "captured output size",
            ..
        }
    ));
    let e = reject(&format!("{BUILD_MANIFEST_HEADER}\nlog 1 {d} 1\nend 0\n"));
    assert_eq!(e.reason, Reason::LogBeforeEdge);
}

#[test]
fn absurd_sizes_are_rejected() {
    let (s, a, d) = (Digest::of(b"s"), Digest::of(b"a"), Digest::of(b"o"));
    let edge = format!("edge {s} {a} 1 1");
    let cap = 64u64 << 30;
    let e = reject(&text(&[edge.clone(), format!("out 1 {d} {} a.o", cap + 1)]));
    assert_eq!(
        e.to_string(),
        format!(
            "build manifest record 0, line 3: output \"a.o\" of {} bytes exceeds the cap of {cap}",
            cap + 1
        )
    );
    let e = reject(&text(&[
        edge_line("a.o"),
        format!("out 2 {d} {} a.dwo", u64::MAX),
    ]));
    assert!(
        matches!(&e.reason, Reason::OutputTooLarge { path, .. } if path == "a.dwo"),
        "{e}"
    );
    // Exactly at the cap is fine, in every output.
    let at_cap = text(&[
        edge.clone(),
        format!("out 1 {d} {cap} a.o"),
        format!("out 2 {d} {cap} a.dwo"),
    ]);
    let m = BuildManifest::parse(at_cap.as_bytes()).unwrap();
    assert_eq!(
        (m.records[0].stripped_size(), m.records[0].debug_size()),
        (cap, cap)
    );
    let e = reject(&text(&[
        format!("edge {s} {a} 1 99999999999999999999"),
        out_line("a.o"),
    ]));
    assert_eq!(e.reason, Reason::BadNumber("compile time (µs)"));
    let e = reject(&text(&[
        format!("edge {s} {a} 1 {}", 7 * 24 * 3600 * 1_000_000u64 + 1),
        out_line("a.o"),
    ]));
    assert!(
        matches!(
            e.reason,
            Reason::TooLarge {
                field: "compile time (µs)",
                ..
            }
        ),
        "{e}"
    );
    let e = reject(&text(&[
        format!("edge {s} {a} {} 1", 7 * 24 * 3600 * 1_000_000u64 + 1),
        out_line("a.o"),
    ]));
    assert!(
        matches!(
            e.reason,
            Reason::TooLarge {
                field: "CPU time (µs)",
                ..
            }
        ),
        "{e}"
    );
    let e = reject(&text(&[edge.clone(), format!("out 1 {d} +1 a.o")]));
    assert_eq!(e.reason, Reason::BadNumber("output size"));
    let e = reject(&text(&[format!("{edge} 4"), out_line("a.o")]));
    assert_eq!(
        e.reason,
        Reason::BadNumber("compile time (µs)"),
        "no field after the time"
    );
    // Sizes that add up past 2^64 (only reachable with raised caps) are an error, not a wrap.
    let loose = Limits {
        max_object_size: u64::MAX,
        ..Limits::default()
    };
    let half = u64::MAX / 2 + 1;
    let lines = [
        edge,
        format!("out 1 {d} {half} a.o"),
        format!("out 2 {d} {half} b.o"),
    ];
    let e = BuildManifest::parse_with(text(&lines).as_bytes(), &loose).unwrap_err();
    assert_eq!((e.line, e.reason), (4, Reason::SizeOverflow));
}

#[test]
fn too_many_records_includes_or_outputs() {
    let limits = Limits {
        max_records: 3,
        max_includes: 2,
        max_outputs: 2,
        ..Limits::default()
    };
    let edges: Vec<String> = (0..4).map(|i| edge_line(&format!("o{i}.o"))).collect();
    let e = BuildManifest::parse_with(text(&edges).as_bytes(), &limits).unwrap_err();
    assert_eq!(
        e.to_string(),
        "build manifest record 3, line 8: more than 3 records"
    );
    assert!(BuildManifest::parse_with(text(&edges[..3]).as_bytes(), &limits).is_ok());
    let lines = [hdr("a.h"), edge_line("a.o"), "inc 0 0 0".into()];
    let e = BuildManifest::parse_with(text(&lines).as_bytes(), &limits).unwrap_err();
    assert_eq!(
        e.to_string(),
        "build manifest record 0, line 5: more than 2 includes"
    );
    let lines = [edge_line("a.o"), out_line("b.o"), out_line("c.o")];
    let e = BuildManifest::parse_with(text(&lines).as_bytes(), &limits).unwrap_err();
    assert_eq!(
        e.to_string(),
        "build manifest record 0, line 5: more than 2 outputs"
    );
    assert_eq!(Limits::default().max_records, 1 << 20);
    assert_eq!(Limits::default().max_outputs, 64);
    // The default cap holds when serialising too.
    let mut many = record("a.o");
    many.outputs = (0..65)
        .map(|i| out(Role::DepInfo, &format!("{i}.d"), 1))
        .collect();
    let e = BuildManifest {
        records: vec![many],
    }
    .to_bytes()
    .unwrap_err();
    assert_eq!(e.reason, Reason::TooManyOutputs(64));
}

#[test]
fn bad_digests_are_rejected() {
    let good = Digest::of(b"x").to_hex();
    let cases = [
        (
            format!("edge zz {good} 1 1\n{}", out_line("a.o")),
            "source key",
            2,
        ),
        (
            format!("edge {good} {} 1 1\n{}", &good[..63], out_line("a.o")),
            "action key",
            2,
        ),
        (
            format!(
                "edge {} {good} 1 1\n{}",
                good.to_uppercase(),
                out_line("a.o")
            ),
            "source key",
            2,
        ),
        (
            format!(
                "edge {good} {good} 1 1\nout 1 {} 1 a.o",
                good.to_uppercase()
            ),
            "output digest",
            3,
        ),
        (
            format!("edge {good} {good} 1 1\nout 1 xyz 1 a.o"),
            "output digest",
            3,
        ),
    ];
    for (lines, field, line) in cases {
        let e = reject(&text(&[lines]));
        assert_eq!(
            e.to_string(),
            format!(
                "build manifest record 0, line {line}: {field} is not a digest (64 hex digits)"
            )
        );
    }
    let e = reject(&text(&["hdr nothex a.h".into(), edge_line("a.o")]));
    assert_eq!((e.line, e.reason), (2, Reason::BadDigest("include digest")));
}

#[test]
fn structure_errors() {
    let h = BUILD_MANIFEST_HEADER;
    assert_eq!(reject("").reason, Reason::BadHeader);
    for bad in [
        "cached-ninja build",
        "cached-ninja build x",
        "cached-ninja build +2",
        "cached-ninja action 2",
    ] {
        assert_eq!(
            reject(&format!("{bad}\nend 0\n")).to_string(),
            "build manifest line 1: first line is not `cached-ninja build <version>`",
            "{bad}"
        );
    }
    // Another version, older or newer: both numbers in the message.
    for found in [1, 2, 4, 99] {
        let e = reject(&format!("cached-ninja build {found}\nend 0\n"));
        assert_eq!(
            e.reason,
            Reason::UnsupportedVersion {
                found,
                supported: 3
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "build manifest line 1: format version {found} is not supported (this \
                 cached-ninja reads version 3); the publisher and this client must use the same \
                 format: upgrade the older one"
            )
        );
    }
    assert_eq!(
        BuildManifest::parse(b"\xff\xfe").unwrap_err().reason,
        Reason::NotUtf8
    );
    let one = edge_line("a.o");
    assert_eq!(reject(&format!("{h}\n{one}\n")).reason, Reason::MissingEnd);
    assert_eq!(
        reject(&format!("{h}\n{one}\nend 2\n")).to_string(),
        "build manifest line 4: `end` says 2 records but 1 were read"
    );
    assert_eq!(
        reject(&format!("{h}\nend 0\nedge\n")).reason,
        Reason::DataAfterEnd
    );
    assert_eq!(
        reject(&format!("{h}\nrm -rf /\nend 0\n")).reason,
        Reason::UnknownLine("rm".into())
    );
    assert_eq!(
        reject(&format!("{h}\nedge {}\nend 1\n", Digest::of(b"s"))).reason,
        Reason::MissingField("action key")
    );
    let d = Digest::of(b"o");
    assert_eq!(
        reject(&text(&[one.clone(), format!("out 1 {d} 5")])).reason,
        Reason::MissingField("output path")
    );
    assert_eq!(
        reject(&format!("{h}\nend 0")).to_string(),
        "build manifest line 2: last line has no newline (truncated manifest)"
    );
    // Every truncation of a valid manifest is an error, never a panic or a shorter manifest.
    let full = text(&[
        hdr("a.h"),
        hdr("b.h"),
        one.clone(),
        out_line("a.dwo"),
        format!("log 2 {} 1", Digest::of(b"w")),
        "inc 0-1".into(),
        edge_line("b.o"),
        "inc 1".into(),
    ]);
    assert!(BuildManifest::parse(full.as_bytes()).is_ok());
    for n in 0..full.len() {
        assert!(BuildManifest::parse(&full.as_bytes()[..n]).is_err(), "{n}");
    }
}
