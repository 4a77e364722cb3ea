//! A key's preimage read back from its explanation ([`super::Explain`]: `label: value` lines),
//! and the first field in which two preimages differ: what `cached-ninja explain` prints for a
//! miss, like a diff of the key's inputs.
//!
//! The lists of a key are compared as what they mean, not line by line: arguments and
//! prefix-map tokens as sequences (one inserted or removed word is named as such, not as a
//! shift of every word after it), environment variables and included files by name (a header
//! is named with its old and new digests). Count fields (`args: 7`) are implied by the lists.

use std::collections::HashMap;

/// One field of a preimage, as the explanation printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The label (`compiler`, `arg`, `include-content`, …).
    pub label: String,
    /// The value: text (unquoted), a hex digest, a number, or `<N bytes, blake3 …>` for a long
    /// or binary value.
    pub value: String,
}

/// The fields of an explanation's text, in order; lines that are not `label: value` are
/// skipped.
pub fn fields(explained: &str) -> Vec<Field> {
    explained
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(label, value)| Field {
            label: label.to_string(),
            value: unquote(value),
        })
        .collect()
}

/// A text value as [`super::Explain`] printed it (Rust's quoted form), back to the text; any
/// other value as it is.
fn unquote(printed: &str) -> String {
    let Some(inner) = printed.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return printed.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let plain = match chars.next() {
            Some('n') => '\n',
            Some('t') => '\t',
            Some('r') => '\r',
            Some('0') => '\0',
            Some(c @ ('\\' | '"' | '\'')) => c,
            Some('u') => {
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let code = u32::from_str_radix(hex.trim_start_matches('{'), 16).ok();
                match code.and_then(char::from_u32) {
                    Some(c) => c,
                    None => return printed.to_string(),
                }
            }
            _ => return printed.to_string(),
        };
        out.push(plain);
    }
    out
}

/// The first input in which two preimages differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The field: `compiler`, `arg`, `env`, `include`, `source-content`, `prefix-map`, …
    pub field: String,
    /// What the field is about: an environment variable's or included file's name.
    pub name: Option<String>,
    /// The value before (absent: added since).
    pub before: Option<String>,
    /// The value now (absent: removed since).
    pub after: Option<String>,
}

/// One part of a preimage: a single field, a sequence, or a list of named values.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Single(String),
    Sequence(Vec<String>),
    Named(Vec<(String, String)>),
}

/// Labels of count fields (implied by their lists).
const COUNTS: &[&str] = &["args", "includes", "env", "prefix-maps"];
/// Labels of sequence items.
const SEQUENCES: &[&str] = &["arg", "prefix-map"];
/// Name labels and the label of the value that follows each, with the part's name.
const NAMED: &[(&str, &str, &str)] = &[
    ("env-name", "env-value", "env"),
    ("include", "include-content", "include"),
];

/// The parts of a preimage, in the order they first appear.
fn parts(fields: &[Field]) -> Vec<(String, Part)> {
    let mut out: Vec<(String, Part)> = Vec::new();
    let mut i = 0;
    while i < fields.len() {
        let f = &fields[i];
        i += 1;
        if COUNTS.contains(&f.label.as_str()) {
            continue;
        }
        if SEQUENCES.contains(&f.label.as_str()) {
            match out.iter_mut().find(|(l, _)| *l == f.label) {
                Some((_, Part::Sequence(v))) => v.push(f.value.clone()),
                _ => out.push((f.label.clone(), Part::Sequence(vec![f.value.clone()]))),
            }
            continue;
        }
        if let Some((_, value_label, part)) = NAMED.iter().find(|(n, _, _)| *n == f.label) {
            let value = match fields.get(i) {
                Some(v) if v.label == *value_label => {
                    i += 1;
                    v.value.clone()
                }
                _ => String::new(),
            };
            let item = (f.value.clone(), value);
            match out.iter_mut().find(|(l, _)| l == part) {
                Some((_, Part::Named(v))) => v.push(item),
                _ => out.push((part.to_string(), Part::Named(vec![item]))),
            }
            continue;
        }
        out.push((f.label.clone(), Part::Single(f.value.clone())));
    }
    out
}

/// The first input in which `after` differs from `before` (in the order of `after`'s fields,
/// then the parts only `before` has); `None` when they are the same.
pub fn first_difference(before: &[Field], after: &[Field]) -> Option<Difference> {
    let (b, a) = (parts(before), parts(after));
    let empty_like = |p: &Part| match p {
        Part::Single(_) => None,
        Part::Sequence(_) => Some(Part::Sequence(Vec::new())),
        Part::Named(_) => Some(Part::Named(Vec::new())),
    };
    for (label, now) in &a {
        let old = b.iter().find(|(l, _)| l == label).map(|(_, p)| p);
        let d = match (old, now) {
            (None, Part::Single(v)) => Some(single(label, None, Some(v))),
            (None, p) => diff_part(label, &empty_like(p).expect("a list"), p),
            (Some(o), p) => diff_part(label, o, p),
        };
        if d.is_some() {
            return d;
        }
    }
    for (label, old) in &b {
        if !a.iter().any(|(l, _)| l == label) {
            let d = match old {
                Part::Single(v) => Some(single(label, Some(v), None)),
                p => diff_part(label, p, &empty_like(p).expect("a list")),
            };
            if d.is_some() {
                return d;
            }
        }
    }
    None
}

fn single(label: &str, before: Option<&String>, after: Option<&String>) -> Difference {
    Difference {
        field: label.to_string(),
        name: None,
        before: before.cloned(),
        after: after.cloned(),
    }
}

/// The first difference between two parts of one label.
fn diff_part(label: &str, old: &Part, now: &Part) -> Option<Difference> {
    match (old, now) {
        (Part::Single(o), Part::Single(n)) => (o != n).then(|| single(label, Some(o), Some(n))),
        (Part::Sequence(o), Part::Sequence(n)) => diff_sequence(label, o, n),
        (Part::Named(o), Part::Named(n)) => diff_named(label, o, n),
        // Parts of one label always have one shape; anything else is a plain change.
        _ => Some(single(label, None, None)),
    }
}

/// The first word that differs, named as inserted, removed or changed.
fn diff_sequence(label: &str, old: &[String], now: &[String]) -> Option<Difference> {
    let i = (0..old.len().max(now.len())).find(|&i| old.get(i) != now.get(i))?;
    let (o, n) = (old.get(i), now.get(i));
    // One word inserted (the rest shifted by one) or removed.
    let inserted = old.get(i..) == now.get(i + 1..);
    let removed = now.get(i..) == old.get(i + 1..);
    Some(match (inserted, removed) {
        (true, _) => single(label, None, n),
        (_, true) => single(label, o, None),
        _ => single(label, o, n),
    })
}

/// The first name whose value differs or that only one side has.
fn diff_named(
    label: &str,
    old: &[(String, String)],
    now: &[(String, String)],
) -> Option<Difference> {
    let old_map: HashMap<&str, &str> = old.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let now_map: HashMap<&str, &str> = now.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let named = |name: &str, before: Option<&str>, after: Option<&str>| Difference {
        field: label.to_string(),
        name: Some(name.to_string()),
        before: before.map(str::to_string),
        after: after.map(str::to_string),
    };
    for (k, v) in now {
        match old_map.get(k.as_str()) {
            Some(o) if o == v => {}
            o => return Some(named(k, o.copied(), Some(v))),
        }
    }
    for (k, v) in old {
        if !now_map.contains_key(k.as_str()) {
            return Some(named(k, Some(v), None));
        }
    }
    // Same names and values in another order (the key hashes them in order).
    let order = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    (old != now).then(|| Difference {
        field: format!("{label}-order"),
        name: None,
        before: Some(order(old).join(" ")),
        after: Some(order(now).join(" ")),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{action_key, source_key, Digest, Explain, SourceKeyInput};
    use super::*;

    fn explain(args: &[&str], env: &[(&str, &str)], compiler: &Digest) -> Vec<Field> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let input = SourceKeyInput {
            compiler,
            lang: "c",
            prefix_map_tokens: &["/cached-ninja/obj"],
            env: &env,
            args: &args,
            source_path: "@src/a.c",
            source_digest: &Digest::of(b"int a;"),
        };
        let mut e = Explain::default();
        source_key(&mut e, &input);
        fields(&e.0)
    }

    #[test]
    fn names_the_argument_the_variable_and_the_compiler() {
        let gcc = Digest::of(b"gcc");
        let base = explain(&["-O1", "-DX=1", "-c", "@src/a.c"], &[], &gcc);
        assert_eq!(first_difference(&base, &base), None);
        let changed = explain(&["-O1", "-DX=2", "-c", "@src/a.c"], &[], &gcc);
        let d = first_difference(&base, &changed).unwrap();
        assert_eq!(d.field, "arg");
        assert_eq!(
            (d.before.as_deref(), d.after.as_deref()),
            (Some("-DX=1"), Some("-DX=2"))
        );
        let added = explain(&["-O1", "-g", "-DX=1", "-c", "@src/a.c"], &[], &gcc);
        let d = first_difference(&base, &added).unwrap();
        assert_eq!((d.before, d.after.as_deref()), (None, Some("-g")));
        let d = first_difference(&added, &base).unwrap();
        assert_eq!((d.before.as_deref(), d.after), (Some("-g"), None));
        let env = explain(
            &["-O1", "-DX=1", "-c", "@src/a.c"],
            &[("CPATH", "/x")],
            &gcc,
        );
        let d = first_difference(&base, &env).unwrap();
        assert_eq!(
            (d.field.as_str(), d.name.as_deref()),
            ("env", Some("CPATH"))
        );
        let clang = explain(
            &["-O1", "-DX=1", "-c", "@src/a.c"],
            &[],
            &Digest::of(b"clang"),
        );
        let d = first_difference(&base, &clang).unwrap();
        assert_eq!(d.field, "compiler");
        assert_eq!(d.after, Some(Digest::of(b"clang").to_hex()));
    }

    #[test]
    fn text_values_read_back_as_written() {
        for s in [
            "-DX=\"a b\"",
            "tab\there\nnew",
            "\u{1b}[0m",
            "back\\slash",
            "é",
        ] {
            assert_eq!(unquote(&format!("{s:?}")), s);
        }
        assert_eq!(unquote("0123abcd"), "0123abcd");
        assert_eq!(unquote("\"bad \\q\""), "\"bad \\q\"");
    }

    #[test]
    fn names_the_header() {
        let s = Digest::of(b"source key");
        let (h1, h2) = (Digest::of(b"v1"), Digest::of(b"v2"));
        let fields_of = |incs: &[(&str, Digest)]| {
            let mut e = Explain::default();
            action_key(&mut e, &s, incs);
            fields(&e.0)
        };
        let before = fields_of(&[("@src/a.h", h1), ("@src/b.h", h1)]);
        let after = fields_of(&[("@src/a.h", h1), ("@src/b.h", h2)]);
        let d = first_difference(&before, &after).unwrap();
        assert_eq!(d.field, "include");
        assert_eq!(d.name.as_deref(), Some("@src/b.h"));
        assert_eq!((d.before, d.after), (Some(h1.to_hex()), Some(h2.to_hex())));
        let fewer = fields_of(&[("@src/a.h", h1)]);
        let d = first_difference(&before, &fewer).unwrap();
        assert_eq!((d.name.as_deref(), d.after), (Some("@src/b.h"), None));
        let swapped = fields_of(&[("@src/b.h", h1), ("@src/a.h", h1)]);
        assert_eq!(
            first_difference(&before, &swapped).unwrap().field,
            "include-order"
        );
    }
}
