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
    let mut r = Reader::default();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => {
                i = r.backslashes(b, i);
                continue;
            }
            b'$' if b.get(i + 1) == Some(&b'$') => {
                r.word.push('$');
                i += 2;
                continue;
            }
            b' ' | b'\t' => r.flush(),
            b'\n' | b'\r' => {
                r.flush();
                if r.seen_colon {
                    break;
                }
            }
            b':' if !r.seen_colon
                && matches!(b.get(i + 1), None | Some(b' ' | b'\t' | b'\n' | b'\r')) =>
            {
                if !r.word.is_empty() {
                    r.deps.targets.push(std::mem::take(&mut r.word));
                }
                r.seen_colon = true;
            }
            _ => {
                // This character and the ordinary ones after it, at once (a libgit2 depfile
                // was 10 instructions a byte one character at a time). Every byte that ends
                // the run is ASCII, so the run is whole characters.
                let end = b[i + 1..]
                    .iter()
                    .position(|&c| SPECIAL[c as usize])
                    .map_or(b.len(), |n| i + 1 + n);
                r.word.push_str(&text[i..end]);
                i = end;
                continue;
            }
        }
        i += 1;
    }
    r.flush();
    r.deps
}

/// The bytes [`parse`] looks at: all others are copied into the word as they are.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let special = b"\\$ \t\n\r:";
    while k < special.len() {
        t[special[k] as usize] = true;
        k += 1;
    }
    t
};

/// [`parse`]'s state: the rule so far, whether its colon was read, the word being read.
#[derive(Default)]
struct Reader {
    /// The targets and inputs read so far.
    deps: Deps,
    /// Whether the colon after the targets was read.
    seen_colon: bool,
    /// The word being read.
    word: String,
}

impl Reader {
    /// Ends the word being read: a target (the last ending in the colon), or an input.
    fn flush(&mut self) {
        if self.word.is_empty() {
            return;
        }
        let w = std::mem::take(&mut self.word);
        if !self.seen_colon {
            if let Some(t) = w.strip_suffix(':') {
                if !t.is_empty() {
                    self.deps.targets.push(t.to_string());
                }
                self.seen_colon = true;
            } else {
                self.deps.targets.push(w);
            }
        } else {
            self.deps.inputs.push(w);
        }
    }

    /// Reads the run of backslashes at `b[i]`; where reading goes on.
    fn backslashes(&mut self, b: &[u8], i: usize) -> usize {
        // A run of backslashes means something only before a blank, `#`, a line end (and a
        // lone one before `:`), as gcc writes and Ninja reads: 2n (or 2n+1) before a blank
        // are n backslashes, the blank then ends the word (or, odd, belongs to it);
        // elsewhere they are the path's own.
        let run = b[i..].iter().take_while(|&&c| c == b'\\').count();
        match b.get(i + run).copied() {
            Some(b'\n' | b'\r') => {
                push_backslashes(&mut self.word, run - 1);
                self.deps.ambiguous |= !self.word.is_empty();
                self.flush();
                let eol = i + run;
                eol + if b[eol] == b'\r' && b.get(eol + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                }
            }
            Some(b' ' | b'\t' | b'#') => {
                push_backslashes(&mut self.word, run / 2);
                let at = i + run;
                if run % 2 == 1 {
                    self.word.push(b[at] as char);
                    return at + 1;
                }
                at
            }
            Some(b':') if run == 1 => {
                self.word.push(':');
                i + 2
            }
            _ => {
                push_backslashes(&mut self.word, run);
                i + run
            }
        }
    }
}

fn push_backslashes(word: &mut String, n: usize) {
    word.extend(std::iter::repeat_n('\\', n));
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
    fn backslashes_mean_something_only_before_a_blank_or_hash() {
        let d = parse(r"a.o: x\\y.h a\\ b.h c\\\ d.h e\#f.h g\\\#h.h");
        assert_eq!(
            d.inputs,
            [r"x\\y.h", r"a\", "b.h", r"c\ d.h", "e#f.h", r"g\#h.h"]
        );
        // Written back and read again: the same paths (found by the depfile fuzzer: a run of
        // backslashes inside a path came back halved).
        let paths: Vec<String> = [r"x\\y.h", r"c\ d.h", "e#f.h", r"g\#h.h", "d$e.h", "p q.h"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let again = parse(&render(&["o".to_string()], &paths, false));
        assert_eq!(again.inputs, paths);
        assert!(again.exact());
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

    /// The parser as it was, one character at a time: the oracle of
    /// [`runs_parse_as_characters_did`].
    fn per_character(text: &str) -> Deps {
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
                b'\\' => {
                    // A run of backslashes means something only before a blank, `#`, a line end
                    // (and a lone one before `:`), as gcc writes and Ninja reads: 2n (or 2n+1)
                    // before a blank are n backslashes, the blank then ends the word (or, odd,
                    // belongs to it); elsewhere they are the path's own.
                    let run = b[i..].iter().take_while(|&&c| c == b'\\').count();
                    let next = b.get(i + run).copied();
                    match next {
                        Some(b'\n' | b'\r') => {
                            push_backslashes(&mut word, run - 1);
                            deps.ambiguous |= !word.is_empty();
                            flush(&mut word, &mut deps, &mut seen_colon);
                            let eol = i + run;
                            i = eol
                                + if b[eol] == b'\r' && b.get(eol + 1) == Some(&b'\n') {
                                    2
                                } else {
                                    1
                                };
                        }
                        Some(b' ' | b'\t' | b'#') => {
                            push_backslashes(&mut word, run / 2);
                            i += run;
                            if run % 2 == 1 {
                                word.push(b[i] as char);
                                i += 1;
                            }
                        }
                        Some(b':') if run == 1 => {
                            word.push(':');
                            i += 2;
                        }
                        _ => {
                            push_backslashes(&mut word, run);
                            i += run;
                        }
                    }
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
                    let len = match c {
                        0xf0..=0xff => 4,
                        0xe0..=0xef => 3,
                        0xc0..=0xdf => 2,
                        _ => 1,
                    };
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

    /// Copying runs of ordinary bytes at once parses every text of up to six characters over
    /// an alphabet of each special byte, an ordinary one and a two-byte character as copying
    /// one character at a time did.
    #[test]
    fn runs_parse_as_characters_did() {
        let alphabet = ["a", "\\", " ", ":", "$", "\n", "#", "\u{e9}", "\r", "\t"];
        let mut text = String::new();
        let mut digits = [0usize; 6];
        for len in 0..=6 {
            let total = alphabet.len().pow(len as u32);
            for n in 0..total {
                let mut k = n;
                for d in digits.iter_mut().take(len) {
                    *d = k % alphabet.len();
                    k /= alphabet.len();
                }
                text.clear();
                text.extend(digits[..len].iter().map(|&d| alphabet[d]));
                assert_eq!(parse(&text), per_character(&text), "{text:?}");
            }
        }
    }
}
