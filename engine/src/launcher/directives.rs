//! How a compile reached its headers, as far as the lookup rule (`super::shadow`) needs it:
//! the include directives and `__has_include` tests in the text of every file it read.
//!
//! A header can be exempt from earlier-directory candidates only if every directive that can
//! name it is a quoted include written beside it (the preprocessor looks beside the includer
//! first and stops there). A directive that searched (an angle include, or a quoted one whose
//! includer has no such file beside it) and a `__has_include` that found nothing name places
//! where a new file would change what the compile reads. The scan is textual and ignores
//! conditionals, so it errs towards more candidates (a false miss, never a wrong hit), except
//! that a quoted include whose file exists beside its includer but was not read cannot have
//! run (it would have found that file) and searched nowhere; an include of a macro
//! (`#include MACRO`) makes every header non-exempt.

use backend::key::lexical_join as lexical;
use std::collections::HashSet;

/// What the directives of the files a compile read say about its lookups.
#[derive(Default)]
pub(super) struct Reached {
    /// Headers a quoted include found beside its includer.
    beside: HashSet<String>,
    /// Names as written by directives that searched the include path.
    searched: Vec<String>,
    /// Where each searching quoted include looked first (beside its includer), absolute.
    pub(super) first_looks: Vec<String>,
    /// `__has_include` tests: (includer's directory for a quoted test, name as written).
    pub(super) probes: Vec<(Option<String>, String)>,
    /// Some name is computed (`#include MACRO`, `..` in a name): nothing is exempt.
    computed: bool,
}

impl Reached {
    /// Scans `source` and `read` (absolute paths; `read` holds the headers).
    pub(super) fn of(source: &str, read: &HashSet<String>) -> Reached {
        let mut r = Reached::default();
        for file in std::iter::once(source).chain(read.iter().map(String::as_str)) {
            let Ok(text) = std::fs::read(file) else {
                r.computed = true;
                continue;
            };
            let dir = parent(file);
            for d in scan(&text) {
                let Some((name, quoted, probe)) = d else {
                    r.computed = true;
                    continue;
                };
                if name.split('/').any(|c| c == ".." || c == ".") {
                    r.computed = true;
                }
                let beside = lexical(&dir, &name);
                if probe {
                    r.probes.push((quoted.then(|| dir.clone()), name));
                } else if quoted && read.contains(&beside) {
                    r.beside.insert(beside);
                } else if quoted && std::path::Path::new(&beside).exists() {
                    // Not read, though a quoted include would have found it: a directive
                    // behind a false conditional (or a file new since: a candidate).
                    r.first_looks.push(beside);
                } else {
                    if quoted {
                        r.first_looks.push(beside);
                    }
                    r.searched.push(name);
                }
            }
        }
        r
    }

    /// The paths a searching directive (or a forced include of the command, `extra`) could
    /// have found in the search directories `dirs`: a header is one of them or was never
    /// searched for.
    pub(super) fn searchable(&self, dirs: &[String], extra: &[String]) -> HashSet<String> {
        let mut out = HashSet::new();
        for n in self.searched.iter().chain(extra) {
            for d in dirs {
                out.insert(lexical(d, n));
            }
        }
        out
    }

    /// Whether `header` can only have been found beside a quoted includer (no earlier
    /// directory was searched for it), given [`Reached::searchable`].
    pub(super) fn beside_only(&self, header: &str, searchable: &HashSet<String>) -> bool {
        !self.computed && self.beside.contains(header) && !searchable.contains(header)
    }
}

/// The directory part of an absolute path.
fn parent(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// The directives of `text`: `Some((name, quoted, is_probe))`, or `None` for a computed one.
fn scan(text: &[u8]) -> Vec<Option<(String, bool, bool)>> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let l = trim(line);
        let Some(rest) = l.strip_prefix(b"#") else {
            continue;
        };
        let rest = trim(rest);
        for kw in [&b"include_next"[..], b"include", b"import"] {
            if let Some(arg) = rest.strip_prefix(kw) {
                out.push(name_of(trim(arg)));
                break;
            }
        }
    }
    let key = b"__has_include";
    let mut at = 0;
    while let Some(i) = find(&text[at..], key) {
        let mut rest = &text[at + i + key.len()..];
        at += i + key.len();
        rest = rest.strip_prefix(b"_next").unwrap_or(rest);
        if let Some(arg) = trim(rest).strip_prefix(b"(") {
            out.push(name_of(trim(arg)).map(|(n, q, _)| (n, q, true)));
        }
    }
    out
}

/// `"name"` or `<name>` at the start of `arg`; `None` for anything else (a macro).
fn name_of(arg: &[u8]) -> Option<(String, bool, bool)> {
    let (close, quoted) = match arg.first()? {
        b'"' => (b'"', true),
        b'<' => (b'>', false),
        _ => return None,
    };
    let end = arg[1..].iter().position(|&b| b == close)?;
    let name = std::str::from_utf8(&arg[1..1 + end]).ok()?;
    Some((name.to_string(), quoted, false))
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_of_a_file() {
        let text = b"#include \"a.h\"\n  #  include_next <b/c.h>\n#include MACRO\n#if __has_include(<d.h>) && __has_include_next ( \"e.h\" )\n#endif\n#if defined(__has_include)\n";
        let got = scan(text);
        assert_eq!(
            got,
            vec![
                Some(("a.h".to_string(), true, false)),
                Some(("b/c.h".to_string(), false, false)),
                None,
                Some(("d.h".to_string(), false, true)),
                Some(("e.h".to_string(), true, true)),
            ]
        );
    }
}
