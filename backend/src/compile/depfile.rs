//! Makefile dependency fragments: read what `-MD -MF` wrote, write what Ninja reads.
//!
//! Reading follows the subset of Make syntax that gcc and clang emit and Ninja's
//! `depfile_parser` accepts: words separated by blanks, `\` + newline continues a line,
//! `\ ` and `\#` escape, `$$` is `$`, a word ending in `:` ends the targets.

/// The first rule of a dependency file: its targets and its prerequisites, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deps {
    /// Words before the colon.
    pub targets: Vec<String>,
    /// Words after the colon, in the order the compiler listed them (the source first).
    pub inputs: Vec<String>,
    /// A line continuation (`\` + newline) right after a word: a path that ends with a
    /// backslash reads the same as one continued, so what the compiler meant is not known.
    pub ambiguous: bool,
}

impl Deps {
    /// Whether the inputs are known exactly and each can be written back ([`render`]) as
    /// the same path: no ambiguous continuation, no input ending with a backslash or holding
    /// a line break. A cache must not trust an include list that fails this.
    pub fn exact(&self) -> bool {
        !self.ambiguous
            && self
                .inputs
                .iter()
                .all(|p| !p.ends_with('\\') && !p.contains(['\n', '\r']))
    }
}

/// Parses the first rule of `text`. Later rules (`-MP` phony targets) are ignored.
pub fn parse(text: &str) -> Deps {
    let mut deps = Deps::default();
    let mut seen_colon = false;
    let mut word = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    let flush = |word: &mut String, deps: &mut Deps, seen_colon: &mut bool| {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        if !*seen_colon {
            if let Some(t) = w.strip_suffix(':') {
                if !t.is_empty() {
                    deps.targets.push(t.to_string());
                }
                *seen_colon = true;
            } else {
                deps.targets.push(w);
            }
        } else {
            deps.inputs.push(w);
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' if i + 1 < b.len() && (b[i + 1] == b'\n' || b[i + 1] == b'\r') => {
                deps.ambiguous |= !word.is_empty();
                flush(&mut word, &mut deps, &mut seen_colon);
                i += if b[i + 1] == b'\r' && b.get(i + 2) == Some(&b'\n') {
                    3
                } else {
                    2
                };
                continue;
            }
            b'\\' if i + 1 < b.len() && matches!(b[i + 1], b' ' | b'#' | b'\\' | b':') => {
                // `\\` stays a single backslash only before a blank; elsewhere keep both.
                if b[i + 1] == b'\\' {
                    word.push('\\');
                } else {
                    word.push(b[i + 1] as char);
                }
                i += 2;
                continue;
            }
            b'$' if b.get(i + 1) == Some(&b'$') => {
                word.push('$');
                i += 2;
                continue;
            }
            b' ' | b'\t' => flush(&mut word, &mut deps, &mut seen_colon),
            b'\n' | b'\r' => {
                flush(&mut word, &mut deps, &mut seen_colon);
                if seen_colon {
                    break;
                }
            }
            b':' if !seen_colon
                && matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\n' | b'\r')) =>
            {
                if !word.is_empty() {
                    deps.targets.push(std::mem::take(&mut word));
                }
                seen_colon = true;
            }
            _ => {
                // Copy one UTF-8 character.
                let len = utf8_len(c);
                word.push_str(
                    std::str::from_utf8(&b[i..(i + len).min(b.len())]).unwrap_or("\u{fffd}"),
                );
                i += len;
                continue;
            }
        }
        i += 1;
    }
    flush(&mut word, &mut deps, &mut seen_colon);
    deps
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

/// Escapes a path for a dependency file the way gcc does (`$` → `$$`, blanks and `#` → `\`).
pub fn escape(path: &str) -> String {
    super::args::quote_make(path)
}

/// `text` (a dependency file as the compiler wrote it) with the targets of its first rule
/// replaced by `targets` and everything after them kept byte for byte: for inputs that
/// [`render`] cannot write back exactly ([`Deps::exact`]), so that Ninja reads them as it
/// would without the launcher. `None` when the text has no rule.
pub fn retarget(text: &str, targets: &[String]) -> Option<String> {
    let b = text.as_bytes();
    let colon = (0..b.len()).find(|&i| {
        b[i] == b':'
            && (i == 0 || b[i - 1] != b'\\')
            && matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\n' | b'\r'))
    })?;
    Some(format!("{}{}", targets.join(" "), &text[colon..]))
}

/// Writes a dependency file: `targets: inputs…`, one input per continued line, and with
/// `phony` a `header:` rule for each input after the first (gcc's `-MP`). Targets are written
/// as given (already quoted), inputs are escaped.
pub fn render(targets: &[String], inputs: &[String], phony: bool) -> String {
    let copies = 1 + usize::from(phony);
    let mut s =
        String::with_capacity(64 + copies * inputs.iter().map(|i| i.len() + 4).sum::<usize>());
    s.push_str(&targets.join(" "));
    s.push(':');
    for i in inputs {
        s.push_str(" \\\n ");
        super::args::push_quoted_make(&mut s, i);
    }
    s.push('\n');
    if phony {
        for i in inputs.iter().skip(1) {
            s.push('\n');
            super::args::push_quoted_make(&mut s, i);
            s.push_str(":\n");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gcc_output() {
        let d = parse(
            "obj/a.o: /src/a.c /usr/include/stdio.h \\\n /src/my\\ dir/b.h c$$d.h\n\n/src/x.h:\n",
        );
        assert_eq!(d.targets, vec!["obj/a.o"]);
        assert_eq!(
            d.inputs,
            vec![
                "/src/a.c",
                "/usr/include/stdio.h",
                "/src/my dir/b.h",
                "c$d.h"
            ]
        );
    }

    #[test]
    fn round_trip() {
        let inputs: Vec<String> = ["a.c", "my dir/b.h", "c$d.h"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let text = render(&["out.o".to_string()], &inputs, true);
        assert_eq!(
            parse(&text),
            Deps {
                targets: vec!["out.o".into()],
                inputs: inputs.clone(),
                ambiguous: false,
            }
        );
        assert!(text.contains("\nmy\\ dir/b.h:\n"));
        assert!(parse(&text).exact());
    }

    #[test]
    fn retarget_keeps_the_inputs_byte_for_byte() {
        let text = "o/a.o: a.c x\\\n y.h\n\ny.h:\n";
        assert_eq!(
            retarget(text, &["obj/a.o".to_string()]).unwrap(),
            "obj/a.o: a.c x\\\n y.h\n\ny.h:\n"
        );
        assert_eq!(retarget("no rule here\n", &["a".to_string()]), None);
    }

    #[test]
    fn a_path_ending_in_a_backslash_is_not_exact() {
        // gcc continues lines with ` \`: a backslash glued to a word may end the path.
        let d = parse("a.o: a.c x\\\n y.h\n");
        assert!(d.ambiguous && !d.exact(), "{d:?}");
        assert!(parse("a.o: a.c \\\n y.h\n").exact());
        // Written back, a trailing backslash would read as a continuation.
        let d = parse("a.o: a.c x\\\\ y.h\n");
        assert_eq!(d.inputs, ["a.c", "x\\", "y.h"]);
        assert!(!d.exact());
    }

    #[test]
    fn windows_free_colon_in_word_and_crlf() {
        let d = parse("a.o : x:y.h \\\r\n z.h\r\n");
        assert_eq!(d.targets, vec!["a.o"]);
        assert_eq!(d.inputs, vec!["x:y.h", "z.h"]);
    }
}
