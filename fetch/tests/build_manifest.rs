//! Build manifests (`fetch::build_manifest`): round trip and rejection of hostile input.

use fetch::build_manifest::{
    BuildManifest, EdgeRecord, IncludeHash, Limits, ParseError, Reason, BUILD_MANIFEST_HEADER,
};
use fetch::cache::Digest;

fn record(output: &str) -> EdgeRecord {
    EdgeRecord {
        output: output.to_string(),
        source_key: Digest::of(b"source"),
        action_key: Digest::of(b"action"),
        includes: vec![
            IncludeHash {
                path: "@src/include/a.h".into(),
                digest: Digest::of(b"a.h"),
            },
            IncludeHash {
                path: "/usr/include/stdio.h".into(),
                digest: Digest::of(b"stdio.h"),
            },
        ],
        stripped_size: 12_345,
        debug_size: 67_890,
        compile_ms: 1_500,
    }
}

fn edge_line(output: &str) -> String {
    format!(
        "edge {} {} 1 2 3 {output}",
        Digest::of(b"s"),
        Digest::of(b"a")
    )
}

/// A manifest of `edges` lines (`edge …` or `inc …`) and a matching `end`.
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
    let m = BuildManifest {
        records: vec![
            record("obj/a.o"),
            record("obj/dir with blank/b.o"),
            EdgeRecord {
                includes: vec![],
                ..record("c.o")
            },
        ],
    };
    let bytes = m.to_bytes().unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("cached-ninja build 1\nedge "), "{text}");
    assert!(text.ends_with("\nend 3\n"), "{text}");
    assert_eq!(BuildManifest::parse(&bytes).unwrap(), m);
    let empty = BuildManifest::default();
    assert_eq!(empty.to_bytes().unwrap(), b"cached-ninja build 1\nend 0\n");
    assert_eq!(
        BuildManifest::parse(&empty.to_bytes().unwrap()).unwrap(),
        empty
    );
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
        assert_eq!(e.line, 3);
        assert_eq!(
            e.to_string(),
            format!("build manifest record 1, line 3: output path {path:?} {why}")
        );
    }
    let long = "a/".repeat(2048) + "b.o";
    let e = reject(&text(&[edge_line(&long)]));
    assert!(e.to_string().ends_with("is too long"), "{e}");
    // Also refused when serialising, so a publisher cannot write one.
    let m = BuildManifest {
        records: vec![record("ok.o"), record("../../etc/passwd")],
    };
    let e = m.to_bytes().unwrap_err();
    assert_eq!(e.record, Some(1));
    assert!(e.to_string().contains("has a `..` component"), "{e}");
}

#[test]
fn include_paths_are_normalised_and_may_be_absolute() {
    let inc = |p: &str| format!("inc {} {p}", Digest::of(b"h"));
    let ok = text(&[
        edge_line("a.o"),
        inc("/usr/include/stdio.h"),
        inc("@src/a.h"),
    ]);
    assert_eq!(
        BuildManifest::parse(ok.as_bytes()).unwrap().records[0]
            .includes
            .len(),
        2
    );
    let e = reject(&text(&[edge_line("a.o"), inc("/usr/../etc/shadow")]));
    assert_eq!(
        e.to_string(),
        "build manifest record 0, line 3: include path \"/usr/../etc/shadow\" has a `..` component"
    );
    let e = reject(&format!("{BUILD_MANIFEST_HEADER}\n{}\nend 0\n", inc("a.h")));
    assert_eq!(e.reason, Reason::IncludeBeforeEdge);
}

#[test]
fn absurd_sizes_are_rejected() {
    let (s, a) = (Digest::of(b"s"), Digest::of(b"a"));
    let cap = 64u64 << 30;
    let e = reject(&text(&[format!("edge {s} {a} {} 0 1 a.o", cap + 1)]));
    assert_eq!(
        e.to_string(),
        format!(
            "build manifest record 0, line 2: stripped size {} exceeds the cap of {cap}",
            cap + 1
        )
    );
    let e = reject(&text(&[format!("edge {s} {a} 0 {} 1 a.o", u64::MAX)]));
    assert!(matches!(
        e.reason,
        Reason::TooLarge {
            field: "debug size",
            ..
        }
    ));
    // Exactly at the cap is fine.
    assert!(
        BuildManifest::parse(text(&[format!("edge {s} {a} {cap} {cap} 1 a.o")]).as_bytes()).is_ok()
    );
    let e = reject(&text(&[format!(
        "edge {s} {a} 1 1 99999999999999999999 a.o"
    )]));
    assert_eq!(e.reason, Reason::BadNumber("compile time (ms)"));
    let e = reject(&text(&[format!("edge {s} {a} +1 1 1 a.o")]));
    assert_eq!(e.reason, Reason::BadNumber("stripped size"));
}

#[test]
fn too_many_records_or_includes() {
    let limits = Limits {
        max_records: 3,
        max_includes: 2,
        ..Limits::default()
    };
    let edges: Vec<String> = (0..4).map(|i| edge_line(&format!("o{i}.o"))).collect();
    let e = BuildManifest::parse_with(text(&edges).as_bytes(), &limits).unwrap_err();
    assert_eq!(
        e.to_string(),
        "build manifest record 3, line 5: more than 3 records"
    );
    assert!(BuildManifest::parse_with(text(&edges[..3]).as_bytes(), &limits).is_ok());
    let inc = format!("inc {} a.h", Digest::of(b"h"));
    let lines = [edge_line("a.o"), inc.clone(), inc.clone(), inc];
    let e = BuildManifest::parse_with(text(&lines).as_bytes(), &limits).unwrap_err();
    assert_eq!(
        e.to_string(),
        "build manifest record 0, line 5: more than 2 includes"
    );
    assert_eq!(Limits::default().max_records, 1 << 20);
}

#[test]
fn bad_digests_are_rejected() {
    let good = Digest::of(b"x").to_hex();
    let cases = [
        (format!("edge zz {good} 1 1 1 a.o"), "source key"),
        (
            format!("edge {good} {} 1 1 1 a.o", &good[..63]),
            "action key",
        ),
        (
            format!("edge {} {good} 1 1 1 a.o", good.to_uppercase()),
            "source key",
        ),
    ];
    for (line, field) in cases {
        let e = reject(&text(&[line]));
        assert_eq!(
            e.to_string(),
            format!("build manifest record 0, line 2: {field} is not a digest (64 hex digits)")
        );
    }
    let e = reject(&text(&[edge_line("a.o"), "inc nothex a.h".into()]));
    assert_eq!(e.reason, Reason::BadDigest("include digest"));
}

#[test]
fn structure_errors() {
    let h = BUILD_MANIFEST_HEADER;
    assert_eq!(reject("").reason, Reason::BadHeader);
    assert_eq!(
        reject("cached-ninja build 2\nend 0\n").to_string(),
        "build manifest line 1: first line is not `cached-ninja build 1`"
    );
    assert_eq!(
        BuildManifest::parse(b"\xff\xfe").unwrap_err().reason,
        Reason::NotUtf8
    );
    let one = edge_line("a.o");
    assert_eq!(reject(&format!("{h}\n{one}\n")).reason, Reason::MissingEnd);
    assert_eq!(
        reject(&format!("{h}\n{one}\nend 2\n")).to_string(),
        "build manifest line 3: `end` says 2 records but 1 were read"
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
    assert_eq!(
        reject(&format!("{h}\nend 0")).to_string(),
        "build manifest line 2: last line has no newline (truncated manifest)"
    );
    // Every truncation of a valid manifest is an error, never a panic or a shorter manifest.
    let full = text(&[one.clone(), format!("inc {} a.h", Digest::of(b"h")), one]);
    for n in 0..full.len() {
        assert!(BuildManifest::parse(&full.as_bytes()[..n]).is_err(), "{n}");
    }
}
