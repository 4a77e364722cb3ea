//! What in a source or header the key cannot hash (`unkeyed_input`): the time macros,
//! assembler directives that read files, `__has_include` of a macro, and line directives
//! naming relative paths; read through line splices and C strings' pieces and escapes.

/// What in a source or header the key cannot hash (see [`unkeyed_input`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unkeyed {
    /// `__TIMESTAMP__`.
    Timestamp,
    /// `__DATE__` or `__TIME__`, not pinned.
    DateTime,
    /// An assembler `.incbin`.
    Incbin,
    /// An assembler `.include`.
    AsmInclude,
    /// A `__has_include` of a macro: it names no file the lookup could watch.
    ComputedProbe,
    /// A line directive naming a relative path (in a header: [`relative_line_name`]).
    RelativeLine,
}

impl std::fmt::Display for Unkeyed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unkeyed::Timestamp => "__TIMESTAMP__",
            Unkeyed::DateTime => "__DATE__/__TIME__",
            Unkeyed::Incbin => ".incbin",
            Unkeyed::AsmInclude => "an assembler .include",
            Unkeyed::ComputedProbe => "a __has_include of a macro",
            Unkeyed::RelativeLine => "a #line naming a path relative to the object directory",
        })
    }
}

/// What in a source or header makes its object depend on something the key does not hash, or
/// `None`: `__TIMESTAMP__` (the source's modification time: never pinned, gcc 12 ignores
/// `SOURCE_DATE_EPOCH` for it), `__DATE__`/`__TIME__` unless `date_time_pinned` (gcc under
/// `SOURCE_DATE_EPOCH`; clang 14 ignores the variable), and assembler directives that read
/// files the depfile never lists (`.incbin`, `.include` in inline or `.S` assembly), and a
/// `__has_include` whose operand is not a written name (a macro, or a wrapper's parameter):
/// a file created where it looks would turn it true, and no name says where to watch.
pub fn unkeyed_input(bytes: &[u8], date_time_pinned: bool) -> Option<Unkeyed> {
    // A line splice inside a word (`__TI\⏎ME__`, `__has_incl\⏎ude`) is gone before the
    // compiler reads it: such a file is read spliced too (a review found both past the raw
    // scan, 2026-12-05). The lookup's directive scan reads raw text, so a splice inside a
    // `__has_include` test makes it one the lookup cannot follow.
    match spliced(bytes) {
        None => unkeyed_in(bytes, date_time_pinned),
        Some(joined) => unkeyed_in(&joined, date_time_pinned)
            .or_else(|| spliced_probe(bytes, &joined).then_some(Unkeyed::ComputedProbe)),
    }
}

/// `bytes` without their line splices (a backslash before a newline), if they hold one.
fn spliced(bytes: &[u8]) -> Option<Vec<u8>> {
    let splice_at = |i: usize| match bytes.get(i + 1) {
        Some(b'\n') => 2,
        Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => 3,
        _ => 0,
    };
    let mut splices = memchr::memchr_iter(b'\\', bytes).filter(|&i| splice_at(i) > 0);
    let first = splices.next()?;
    let mut out = Vec::with_capacity(bytes.len());
    let mut from = 0;
    for i in std::iter::once(first).chain(splices) {
        if i >= from {
            out.extend_from_slice(&bytes[from..i]);
            from = i + splice_at(i);
        }
    }
    out.extend_from_slice(&bytes[from..]);
    Some(out)
}

/// Whether a line splice of `raw` (`joined` without them) falls inside a `__has_include`
/// test: in its name (the spliced text holds more of them) or before its closing `)`.
fn spliced_probe(raw: &[u8], joined: &[u8]) -> bool {
    let key = b"__has_include";
    let tests = |b: &[u8]| memchr::memmem::find_iter(b, key).count();
    if tests(raw) != tests(joined) {
        return true;
    }
    memchr::memmem::find_iter(raw, key).any(|i| {
        // A test only when a `(` follows (not `defined __has_include && \⏎ …`, a review's
        // false refusal); then up to its `)`.
        let after = &raw[i + key.len()..];
        let after = after.strip_prefix(b"_next").unwrap_or(after);
        let skipped = after
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\\' | b'\r' | b'\n'))
            .count();
        if after.get(skipped) != Some(&b'(') {
            return false;
        }
        let test = &raw[i..];
        let test = &test[..memchr::memchr(b')', test).unwrap_or(test.len())];
        spliced(test).is_some()
    })
}

/// [`unkeyed_input`] of text without line splices.
fn unkeyed_in(bytes: &[u8], date_time_pinned: bool) -> Option<Unkeyed> {
    // Whole names, not every `__` followed by a look: a system header has thousands of `__`.
    // This runs before a compile only (a hit's key covers what it reads), so the SIMD search
    // and its one-time CPU probe are worth it (`crate::scan` is for the hit path).
    // Three passes over each file, not five: `__TIME` finds both time macros' starts.
    let mut date_time = false;
    let mut rest = bytes;
    while let Some(i) = memchr::memmem::find(rest, b"__TIME") {
        let after = &rest[i + 6..];
        if after.starts_with(b"STAMP__") {
            return Some(Unkeyed::Timestamp);
        }
        date_time |= after.starts_with(b"__");
        rest = after;
    }
    if !date_time_pinned && (date_time || memchr::memmem::find(bytes, b"__DATE__").is_some()) {
        return Some(Unkeyed::DateTime);
    }
    if let Some(what) = asm_file_directive(bytes) {
        return Some(what);
    }
    computed_probe(bytes).then_some(Unkeyed::ComputedProbe)
}

/// An assembler directive that reads a file: `.incbin` or `.include` in any case (gas
/// ignores it), then a blank or the quote of its operand (not `x.include_dirs`). Where inline
/// assembly is written (`asm` in the file), also the spellings a C string makes of it, after
/// a separator (not inside a name like `table.inc"`): its letters cut by a string's end
/// (`"." "include"`), written as escapes (`".incl\x75de"`, `"\x2einclude"`), and any gas
/// macro (`.macro`, `.irp`), whose arguments can paste one. Reviews found each of these
/// served stale objects (2026-12-05). Names the preprocessor pastes (`a##b`) are not seen
/// here; where an assembler program runs, its own dependency file catches them
/// (`engine`'s launcher, on a miss).
fn asm_file_directive(bytes: &[u8]) -> Option<Unkeyed> {
    let directive = |word: &[u8]| match word {
        b"include" => Some(Unkeyed::AsmInclude),
        b"incbin" => Some(Unkeyed::Incbin),
        _ => None,
    };
    let inline_asm = memchr::memmem::find(bytes, b"asm").is_some();
    for i in memchr::memchr_iter(b'.', bytes) {
        let after = &bytes[i + 1..];
        let word_len = after.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let word = after[..word_len].to_ascii_lowercase();
        if matches!(after.get(word_len), Some(b' ' | b'\t' | b'"')) {
            if let Some(what) = directive(&word) {
                return Some(what);
            }
        }
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let escaped = i >= 2 && bytes[i - 2] == b'\\';
        let separated =
            escaped || !before.is_some_and(|b| b.is_ascii_alphanumeric() || b"_-/.".contains(&b));
        if !inline_asm || !separated {
            continue;
        }
        let spelled = spelled_word(after);
        if let Some(what) = directive(&spelled) {
            return Some(what);
        }
        let written = (word == spelled).then(|| &after[word_len..]);
        if gas_macro(&spelled, written) {
            return Some(Unkeyed::AsmInclude);
        }
    }
    if !inline_asm {
        return None;
    }
    memchr::memchr_iter(b'\\', bytes).find_map(|i| match escape(&bytes[i..]) {
        Some((b'.', n)) => {
            let spelled = spelled_word(&bytes[i + n..]);
            let what = directive(&spelled);
            what.or(gas_macro(&spelled, None).then_some(Unkeyed::AsmInclude))
        }
        _ => None,
    })
}

/// Whether `spelled` (after a `.`) starts a gas macro or loop (`.macro`, `.irp`, `.irpc`),
/// whose arguments can paste a directive's name. Written plainly (`rest` follows the word),
/// it must read like one, a blank and then a name (not `.macro = 1` in a designated
/// initializer, a review's false refusal); spelled across a string's pieces or escapes, it
/// counts as it is.
fn gas_macro(spelled: &[u8], rest: Option<&[u8]>) -> bool {
    if !matches!(spelled, b"macro" | b"irp" | b"irpc") {
        return false;
    }
    let Some(rest) = rest else {
        return true;
    };
    let blanks = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let rest = &rest[blanks..];
    // A C string's `\t` is a blank too.
    let (blanks, rest) = match rest.strip_prefix(b"\\t") {
        Some(r) => (blanks + 1, r),
        None => (blanks, rest),
    };
    blanks > 0
        && rest
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
}

/// The word a C string spells from `s` on: up to 8 ASCII letters, lower-cased, as written or
/// as escapes (`\x75`, `\165`, `\u0075`), across a string's end joined to the next one
/// (`"`, blanks or comments, `"`).
fn spelled_word(mut s: &[u8]) -> Vec<u8> {
    let mut word = Vec::new();
    while word.len() < 8 {
        let (letter, len) = match s.first() {
            Some(b) if b.is_ascii_alphabetic() => (*b, 1),
            Some(b'\\') => match escape(s) {
                Some((b, n)) if b.is_ascii_alphabetic() => (b, n),
                _ => break,
            },
            Some(b'"') => match next_piece(&s[1..]) {
                Some(rest) => {
                    s = rest;
                    continue;
                }
                None => break,
            },
            _ => break,
        };
        word.push(letter.to_ascii_lowercase());
        s = &s[len..];
    }
    word
}

/// The text of the string piece that follows a string's end in `s`: after blanks and
/// comments, the next `"`; `None` for anything else.
fn next_piece(mut s: &[u8]) -> Option<&[u8]> {
    loop {
        let blanks = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
        s = &s[blanks..];
        if let Some(rest) = s.strip_prefix(b"/*") {
            s = &rest[memchr::memmem::find(rest, b"*/")? + 2..];
        } else if let Some(rest) = s.strip_prefix(b"//") {
            s = &rest[memchr::memchr(b'\n', rest)?..];
        } else {
            return s.strip_prefix(b"\"");
        }
    }
}

/// The ASCII character a C escape at the start of `s` (a `\`) stands for, and its length:
/// `\x` and hex digits, one to three octal digits, `\u` and four or `\U` and eight hex
/// digits; `None` for any other escape or a character past ASCII.
fn escape(s: &[u8]) -> Option<(u8, usize)> {
    let digits = |from: usize, radix: u32, max: usize| {
        let n = s[from..]
            .iter()
            .take(max)
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        let text = std::str::from_utf8(&s[from..from + n]).ok()?;
        let value = u32::from_str_radix(text, radix).ok()?;
        Some((value, from + n))
    };
    let (value, len) = match s.get(1)? {
        b'x' => digits(2, 16, usize::MAX)?,
        b'u' => digits(2, 16, 4).filter(|(_, n)| *n == 6)?,
        b'U' => digits(2, 16, 8).filter(|(_, n)| *n == 10)?,
        b'0'..=b'7' => digits(1, 8, 3)?,
        _ => return None,
    };
    u8::try_from(value)
        .ok()
        .filter(u8::is_ascii)
        .map(|b| (b, len))
}

/// Whether `bytes` hold a line directive naming a path that leaves the working directory
/// (`#line 1 "../src/gram.y"`, as bison writes it; also `# line` and the linemarker
/// `# 1 "../x"` of preprocessed input): the compiler embeds that name through the prefix
/// maps, which rewrite it in a layout whose source root is spelled `../src` and not in one
/// spelled `../other`, whatever the bytes.
pub fn relative_line_name(bytes: &[u8]) -> bool {
    // Every launch asks, a hit too: the portable search, which probes no CPU features.
    let mut from = 0;
    while let Some(i) = crate::scan::find_byte(&bytes[from..], b'#') {
        from += i + 1;
        if line_directive_name(&bytes[from..]).is_some_and(leaves_the_directory) {
            return true;
        }
    }
    false
}

/// The quoted name of the line directive whose text after `#` is `after`: `line` and a
/// number, or a number alone (a linemarker), then `"`, blanks between; `None` for any other.
fn line_directive_name(after: &[u8]) -> Option<&[u8]> {
    let blanks = |s: &[u8]| s.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    let mut s = &after[blanks(after)..];
    if let Some(rest) = s.strip_prefix(b"line") {
        let n = blanks(rest);
        s = &rest[n..];
        if n == 0 {
            return None;
        }
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let n = blanks(&s[digits..]);
    if digits == 0 || n == 0 {
        return None;
    }
    s[digits + n..].strip_prefix(b"\"")
}

/// Whether a quoted `name` (the bytes after its opening quote) leaves the directory it is
/// relative to: `..` first, after any `./`.
fn leaves_the_directory(mut name: &[u8]) -> bool {
    while let Some(rest) = name.strip_prefix(b"./") {
        name = rest;
    }
    name.starts_with(b"../") || name.starts_with(b"..\"")
}

/// Whether `bytes` hold a `__has_include` or `__has_include_next` test of something other
/// than a `<name>` or `"name"` (blanks and line continuations between are skipped); a
/// fallback definition (`#define __has_include(x) 0`) tests nothing.
fn computed_probe(bytes: &[u8]) -> bool {
    let key = b"__has_include";
    fn skip(s: &[u8]) -> &[u8] {
        let at = s
            .iter()
            .position(|b| !b.is_ascii_whitespace() && *b != b'\\');
        at.map_or(&[][..], |i| &s[i..])
    }
    memchr::memmem::find_iter(bytes, key).any(|i| {
        let before = &bytes[..i];
        let blank = before.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
        if blank.is_some_and(|j| before[..=j].ends_with(b"define")) {
            return false;
        }
        let after = &bytes[i + key.len()..];
        let after = after.strip_prefix(b"_next").unwrap_or(after);
        skip(after)
            .strip_prefix(b"(")
            .is_some_and(|arg| !matches!(skip(arg).first(), Some(b'<' | b'"')))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn time_macros() {
        use super::{unkeyed_input as u, Unkeyed};
        assert_eq!(
            u(b"const char *d = __DATE__;", false),
            Some(Unkeyed::DateTime)
        );
        assert_eq!(u(b"x ___TIMESTAMP__", false), Some(Unkeyed::Timestamp));
        assert_eq!(u(b"__FILE__ __LINE__ DATE__ _TIME_", false), None);
    }

    #[test]
    fn relative_line_names() {
        use super::relative_line_name as r;
        assert!(r(b"#line 1 \"../src/gram.y\"\nint x;"));
        assert!(r(b"#line\t12  \"./../a/b.y\""));
        assert!(r(b"int x;\n  #  line 7 \"../g.y\""));
        assert!(r(b"# 1 \"../src/x.c\"\n# 1 \"<built-in>\""));
        assert!(r(b"#line 3 \"..\""));
        assert!(!r(b"#line 1 \"/abs/gram.y\"\n#line 2 \"gram.y\""));
        assert!(!r(b"int line = 1;"));
        assert!(!r(
            b"#include \"../x.h\"\n#define S \"../y\"\nconst char *p = \"./../z\";"
        ));
        assert!(!r(b"#line \"../x\"\n#lines 2 \"../x\"\n# 2x \"../x\""));
        assert!(!r(b"#line 1 \"..hidden/x\""));
    }

    /// The name of what [`super::unkeyed_input`] finds in `b` (`None`: nothing).
    fn u(b: &[u8], pinned: bool) -> Option<String> {
        super::unkeyed_input(b, pinned).map(|u| u.to_string())
    }

    #[test]
    fn unkeyed_inputs_time_macros_and_splices() {
        assert_eq!(u(b"__TIMESTAMP__", true).as_deref(), Some("__TIMESTAMP__"));
        // Spliced inside a word (either line ending), and a splice in a `__has_include` test.
        assert_eq!(u(b"int t = __TI\\\nME__;", true), None);
        assert_eq!(
            u(b"int t = __TI\\\r\nME__;", false).as_deref(),
            Some("__DATE__/__TIME__")
        );
        assert_eq!(
            u(b"char *s = __TIMES\\\nTAMP__;", true).as_deref(),
            Some("__TIMESTAMP__")
        );
        let probe = Some("a __has_include of a macro");
        assert_eq!(u(b"#if __has_incl\\\nude(\"n.h\")", true).as_deref(), probe);
        assert_eq!(u(b"#if __has_include(\"n\\\n.h\")", true).as_deref(), probe);
        assert_eq!(
            u(
                b"#if __has_include(<a.h>) && \\\n  X\n#define M(a) \\\n a",
                true
            ),
            None
        );
        let defined = b"#if defined __has_include && \\\n __has_include(<stdio.h>)\n";
        assert_eq!(u(defined, true), None);
        assert_eq!(u(b"__DATE__", false).as_deref(), Some("__DATE__/__TIME__"));
        assert_eq!(u(b"__DATE__ __TIME__", true), None);
    }

    #[test]
    fn unkeyed_inputs_asm_directives() {
        assert_eq!(
            u(b"asm(\".incbin \\\"x.bin\\\"\");", true).as_deref(),
            Some(".incbin")
        );
        assert_eq!(
            u(b"  .include \"m.inc\"\n", true).as_deref(),
            Some("an assembler .include")
        );
        assert_eq!(u(b"#include <stdio.h>\nint x;", false), None);
        let incbin = b"asm(\".INCBIN \\\"x.bin\\\"\");";
        assert_eq!(u(incbin, true).as_deref(), Some(".incbin"));
        let include = b"asm(\"\\t.Include \\\"v.s\\\"\");";
        assert_eq!(u(include, true).as_deref(), Some("an assembler .include"));
        // Cut by a string's end or an escape (either directive: one counter).
        for spelled in [
            &b"asm(\".inc\" \"bin \\\"x.bin\\\"\");"[..],
            b"asm(\".inc\" \"lude \\\"v.s\\\"\");",
            b"asm(\".incl\\x75\" \"de \\\"v.s\\\"\");",
            b"asm(\".\" \"include \\\"v.s\\\"\");",
            b"asm(\".in\"\n  \"clude \\\"v.s\\\"\");",
            b"asm(\"\\x2einclude \\\"v.s\\\"\");",
            b"asm(\"\\056incbin \\\"x.bin\\\"\");",
            b"asm(\"\\56\\151ncbin \\\"x.bin\\\"\");",
            b"asm(\"\\u002eINCLUDE \\\"v.s\\\"\");",
            b"asm(\".irp d,include\\n.\\\\d \\\"v.s\\\"\\n.endr\");",
            b"__asm__(\".macro m a,b\\n.\\\\a\\\\b \\\"v.s\\\"\\n.endm\");",
            b"asm(\".\" /* c */ \"include \\\"v.s\\\"\");",
            b"asm(\".mac\" \"ro m a,b\\n.endm\");",
            b"asm(\"\\x2eirp d,include\\n.endr\");",
        ] {
            assert!(
                u(spelled, true).is_some(),
                "{}",
                String::from_utf8_lossy(spelled)
            );
        }
    }

    #[test]
    fn unkeyed_inputs_no_asm_directive() {
        // A file named `*.inc`, or a C string where no inline assembly is, is no directive;
        // nor are other words and escapes beside inline assembly.
        assert_eq!(u(b"if (!strcmp(ext, \".inc\")) return 1;", true), None);
        for plain in [
            &b"asm(\"nop\"); const char *e = \".inc\", *d = \".\" \"x\";"[..],
            b"asm(\"nop\"); const char *s = \"\\x2e\\x41\\n\\0\", *t = \"a.\" \"include\";",
            b"asm(\"nop\"); const char *m = \".includes\" \"\\xffinclude\";",
            b"asm(\"nop\"); struct s x = { .macro = 1, .irp_count = 2 }; char *f = \".macro %s\\n\";",
        ] {
            assert_eq!(u(plain, true), None, "{}", String::from_utf8_lossy(plain));
        }
        assert_eq!(
            u(b"#include \"table.inc\"\n#include \"a/b.inc\"", true),
            None
        );
    }

    #[test]
    fn unkeyed_inputs_computed_probes() {
        let computed = Some("a __has_include of a macro");
        assert_eq!(u(b"#if __has_include(PROBE)", true).as_deref(), computed);
        assert_eq!(
            u(b"#define HAS(h) __has_include_next (h)", true).as_deref(),
            computed
        );
        assert_eq!(
            u(b"#if __has_include( \\\n MACRO)", true).as_deref(),
            computed
        );
        for written in [
            &b"#if __has_include(<a.h>) && __has_include_next ( \"b.h\" )"[..],
            b"#if defined(__has_include)\n#ifdef __has_include\n",
            b"#if __has_include__(<gcc9.h>)",
            b"#ifndef __has_include\n#  define  __has_include(x) 0\n#endif",
        ] {
            assert_eq!(u(written, true), None);
        }
    }
}
